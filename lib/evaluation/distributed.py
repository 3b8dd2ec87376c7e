"""Corpus encoding on Ray Data (``--engine ray`` / ``EMS_RAY_ADDRESS``): an actor pool, one model per actor.

What runs where:

* **this process (the driver: the app or ``python -m lib evaluate``)** — reads and validates
  the data, looks every document up in the embedding cache, sends only the misses to Ray,
  writes each batch of vectors that comes back as a cache shard and into the document-order
  vectors file (:mod:`lib.evaluation.streaming`), encodes the queries, runs the exact top-k
  with FAISS (:mod:`lib.evaluation.topk`), the metrics and the store.
* **Ray actors** — ``ray.data.from_arrow`` blocks of (index, text) → ``map_batches`` over an
  ``ActorPoolStrategy`` pool; each actor loads the model once from its
  :class:`~lib.evaluation.models.ModelInfo` (:func:`lib.evaluation.models.load`) and encodes
  batches; results stream back through ``iter_batches`` as they are produced, never all
  collected in the driver's memory.

Where Ray is: ``EMS_RAY_ADDRESS`` (``auto`` — a cluster started on this machine with
``ray start --head`` — or ``ray://host:port`` for Ray Client, e.g. a KubeRay head service); the
``lib`` package is shipped to the cluster (``runtime_env`` ``py_modules``), the models' Python
packages and weights must be installed on its nodes. Without an address a local Ray instance
is started in this process (2 CPUs at most, no dashboard, a 512 MB object store, logs in a
``ems-ray-*`` temporary folder). Nothing imports Ray unless the ray engine is asked for.

Sizing (settings, or CLI flags of ``python -m lib evaluate``): ``EMS_RAY_ACTORS`` (default one
per GPU, else one per CPU but one), ``EMS_RAY_BATCH_SIZE`` (texts per actor call and shard,
default 1024), ``EMS_RAY_GPUS_PER_ACTOR`` (default 1 when the cluster has GPUs, else 0); each
actor reserves one CPU.

API models (``openai:…``) are encoded in the driver even on the ray engine: they are remote
already, and the session's API key never leaves this process.

Public API: :func:`connect`, :func:`describe`, :func:`plan`, :func:`stream`, :func:`shutdown`.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lib.config import PROJECT_ROOT, get_settings
from lib.errors import UserError
from lib.evaluation.models.base import Kind, ModelInfo
from lib.evaluation.streaming import Batch, Stream

#: CPUs of the local Ray instance started when no address is set.
LOCAL_CPUS = 2
#: Object store of the local instance (Ray spills to its temporary folder beyond this).
LOCAL_OBJECT_STORE_BYTES = 512 * 1024 * 1024

_lock = threading.Lock()
_started_here: dict[str, str] = {}


def _quiet() -> None:
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast on a cluster that does not answer (``ray.init`` would retry for minutes).

    Raises:
        UserError: If nothing accepts a TCP connection at the address's host and port.
    """
    if address == "auto":
        return  # Ray finds the local cluster itself, and says so at once when there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot reach the Ray cluster at {address} (EMS_RAY_ADDRESS): nothing answers at "
                        f"{host}:{port} within {timeout_s:g} s ({type(exc).__name__}: {exc}); start it with "
                        "`ray start --head`, or unset EMS_RAY_ADDRESS to encode in this process") from exc


def connect(address: str | None = None) -> dict[str, Any]:
    """Connect to the Ray cluster (once per process), or start a local instance.

    Args:
        address: ``auto``, ``ray://host:port`` or ``host:port``; None → ``EMS_RAY_ADDRESS``,
            and when that is unset too, a new local instance on this machine.

    Returns:
        :func:`describe` of the cluster.

    Raises:
        UserError: If the cluster cannot be reached.
    """
    import ray

    with _lock:
        if not ray.is_initialized():
            address = address or get_settings().ray_address
            common: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
            if address:
                _check_reachable(address)
                # The cluster's workers import ``lib`` from this upload, not from a checkout.
                env = {"py_modules": [str(PROJECT_ROOT / "lib")], "excludes": ["**/__pycache__"]}
                try:
                    ray.init(address=address, runtime_env=env, **common)
                except Exception as exc:  # ConnectionError, TimeoutError, RuntimeError, …
                    raise UserError(f"cannot reach the Ray cluster at {address} (EMS_RAY_ADDRESS): "
                                    f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
                _started_here["address"] = address
            else:
                tmp = tempfile.mkdtemp(prefix="ems-ray-")
                ray.init(
                    num_cpus=max(1, min(LOCAL_CPUS, os.cpu_count() or 1)), num_gpus=0, include_dashboard=False,
                    object_store_memory=LOCAL_OBJECT_STORE_BYTES, _temp_dir=tmp,
                    # Workers run on this machine: they import ``lib`` from this checkout.
                    runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(
                        p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}}, **common,
                )
                _started_here.update(address=f"local instance (logs in {tmp})", local="1")
        _quiet()
    return describe()


def describe() -> dict[str, Any]:
    """Where encoding runs, for the run's environment record.

    Returns:
        ``{"address", "ray", "cpus", "gpus", "nodes"}``.
    """
    import ray

    res = ray.cluster_resources()
    return {
        "address": _started_here.get("address", "connected before"),
        "ray": ray.__version__,
        "cpus": float(res.get("CPU", 0)),
        "gpus": float(res.get("GPU", 0)),
        "nodes": len([n for n in ray.nodes() if n.get("Alive")]),
    }


@dataclass(frozen=True)
class Plan:
    """How many actors, with what each reserves.

    Attributes:
        actors: Actors in the pool (one model each).
        gpus_per_actor: GPUs each reserves (0 on a CPU cluster).
        batch_size: Texts per actor call.
    """

    actors: int
    gpus_per_actor: float
    batch_size: int


def plan(actors: int | None = None, batch_size: int | None = None, gpus_per_actor: float | None = None) -> Plan:
    """The actor pool for the connected cluster, checked against its resources.

    Args:
        actors: Pool size (None → ``EMS_RAY_ACTORS``, else one per GPU, else CPUs − 1, at least 1).
        batch_size: Texts per call (None → ``EMS_RAY_BATCH_SIZE``).
        gpus_per_actor: GPUs per actor (None → ``EMS_RAY_GPUS_PER_ACTOR``, else 1 if the cluster has GPUs).

    Returns:
        The plan.

    Raises:
        UserError: If the pool asks for more CPUs or GPUs than the cluster has (Ray would wait forever).
    """
    import ray

    s = get_settings()
    res = ray.cluster_resources()
    cpus, gpus = float(res.get("CPU", 0)), float(res.get("GPU", 0))
    g = gpus_per_actor if gpus_per_actor is not None else s.ray_gpus_per_actor
    if g is None:
        g = 1.0 if gpus >= 1 else 0.0
    n = actors or s.ray_actors
    if not n:
        n = int(gpus // g) if g > 0 else int(cpus) - 1
    n = max(1, n)
    if n > cpus or n * g > gpus + 1e-9:
        raise UserError(
            f"{n} Ray actor(s) with 1 CPU and {g:g} GPU(s) each do not fit the cluster "
            f"({cpus:g} CPUs, {gpus:g} GPUs): lower EMS_RAY_ACTORS / --ray-actors or EMS_RAY_GPUS_PER_ACTOR"
        )
    return Plan(n, g, batch_size or s.ray_batch_size)


def _encoder_class(info: ModelInfo, kind: Kind) -> type:
    """A callable class for ``map_batches``: one model per actor, loaded from ``info``."""

    class ModelActor:
        def __init__(self) -> None:
            from lib.evaluation import models

            model = models.load(info)
            if not isinstance(model, models.Embedder):
                raise TypeError(f"{info.spec} is not a dense model")
            self.model = model

        def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            texts = [str(t) for t in batch["text"]]
            vecs = np.asarray(self.model.encode(texts, kind), dtype=np.float32)
            return {"i": np.asarray(batch["i"], dtype=np.int64), "vec": vecs}

    ModelActor.__qualname__ = ModelActor.__name__ = f"Encode[{info.kind}]"
    return ModelActor


def stream(info: ModelInfo, kind: Kind = "document", *, pool: Plan | None = None) -> Stream:
    """A :data:`~lib.evaluation.streaming.Stream` that encodes on the connected Ray cluster.

    Args:
        info: The resolved model (actors load it themselves).
        kind: ``document`` or ``query``.
        pool: Actor pool (default :func:`plan`).

    Returns:
        The stream; each batch's seconds are the wall time since the previous batch arrived,
        so they add up to the stream's wall time (the cluster's throughput, not one actor's).
    """

    def run(texts: Sequence[str], todo: Sequence[int], batch_size: int) -> Iterator[Batch]:
        if not todo:
            return
        import pyarrow as pa
        import ray
        import ray.data

        p = pool or plan()
        size = p.batch_size or batch_size
        t0 = time.perf_counter()
        blocks = [
            pa.table({"i": pa.array(todo[a : a + size], type=pa.int64()),
                      "text": pa.array([texts[i] for i in todo[a : a + size]], type=pa.large_string())})
            for a in range(0, len(todo), size)
        ]
        source = ray.data.from_arrow(blocks)
        del blocks  # now in the object store
        # A local instance has no preemptible nodes to recover from; on a cluster Ray Data
        # restarts a lost actor (and logs that its constructor lives in the object store).
        restarts: dict[str, Any] = {"max_restarts": 0} if _started_here.get("local") else {}
        with warnings.catch_warnings():
            # ``max_restarts`` has no named parameter yet (Ray 2.60 deprecates passing it this way).
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = source.map_batches(
                _encoder_class(info, kind), batch_size=size, batch_format="numpy",
                compute=ray.data.ActorPoolStrategy(size=p.actors), num_cpus=1,
                num_gpus=p.gpus_per_actor or None, **restarts,
            )
        last = t0
        try:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=1):
                now = time.perf_counter()
                seconds, last = now - last, now
                yield batch["i"], batch["vec"], seconds
        except ray.exceptions.RayError as exc:
            first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            raise RuntimeError(f"encoding on Ray failed: {first}") from exc

    return run


def shutdown() -> None:
    """Disconnect from Ray (a local instance started here stops)."""
    import ray

    with _lock:
        if ray.is_initialized():
            ray.shutdown()
        _started_here.clear()
