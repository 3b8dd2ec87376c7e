"""``engine="ray"``: documents encoded by Ray Data actors (a real local Ray instance, one actor) give the
same metrics and top-10 as the in-process engine, stream into the embedding cache, and fail clearly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import distributed, engine, runs
from lib.evaluation.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
FAST = {"sweep": False, "latency_queries": 1, "bootstrap_resamples": 200, "paired_resamples": 200}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[dict]:
    """One local Ray instance (2 CPUs at most, no dashboard) shared by the module, stopped at its end."""
    saved = os.environ.pop("EMS_RAY_ADDRESS", None)
    try:
        yield distributed.connect()
    finally:
        distributed.shutdown()
        if saved is not None:
            os.environ["EMS_RAY_ADDRESS"] = saved


@pytest.fixture(scope="module")
def scifact_300(scifact_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 300 SciFact documents and the test queries judged against them, as a BEIR folder."""
    out = tmp_path_factory.mktemp("scifact300")
    lines = (scifact_dir / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:300]
    keep = {json.loads(line)["_id"] for line in lines}
    qrels = [r for r in (scifact_dir / "qrels" / "test.tsv").read_text().splitlines()[1:] if r.split("\t")[1] in keep]
    qids = {r.split("\t")[0] for r in qrels}
    queries = [q for q in (scifact_dir / "queries.jsonl").read_text(encoding="utf-8").splitlines()
               if json.loads(q)["_id"] in qids]
    (out / "qrels").mkdir()
    (out / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (out / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")
    return out


def both_engines(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str = "minilm"):
    """The same evaluation in-process and on Ray, each encoding everything itself (separate caches)."""
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache-local"))
    here = engine.evaluate(data, engine.EvaluationConfig(models=(spec,), engine="local", **FAST),
                           db_path=tmp_path / "local.duckdb")
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache-ray"))
    there = engine.evaluate(data, engine.EvaluationConfig(models=(spec,), engine="ray", ray_actors=1, **FAST),
                            db_path=tmp_path / "ray.duckdb")
    return here, there


def assert_same(here, there) -> None:
    a = here.summary.set_index(["model", "metric"])["mean"]
    b = there.summary.set_index(["model", "metric"])["mean"]
    assert a.index.equals(b.index)
    assert float(np.abs(a - b).max()) <= 1e-6
    assert np.array_equal(here.models[0].topk_idx[:, :10], there.models[0].topk_idx[:, :10])
    assert np.allclose(here.models[0].topk_scores, there.models[0].topk_scores, atol=1e-5)


def test_demo_ray_equals_local_and_streams_into_the_cache(local_ray, tmp_path, monkeypatch):
    assert local_ray["cpus"] <= 2 and local_ray["address"].startswith("local instance")
    here, there = both_engines(DEMO, tmp_path, monkeypatch)
    assert_same(here, there)
    ds = here.dataset
    cost = there.models[0].cost
    assert cost.cache_misses == len(ds.doc_ids) + len(ds.query_ids) and cost.docs_per_s > 0
    stored = runs.load_run(there.run_id, tmp_path / "ray.duckdb")
    env = stored.run["environment"]
    env = json.loads(env) if isinstance(env, str) else env
    assert env["ray"]["cpus"] == local_ray["cpus"]
    config = stored.run["config"]
    assert (json.loads(config) if isinstance(config, str) else config)["engine"] == "ray"
    # Every document vector came back from Ray into cache shards: a second run sends nothing to Ray.
    shards = list((tmp_path / "cache-ray" / "embeddings").rglob("*.keys.npy"))
    assert sum(len(np.load(p)) for p in shards) == len(ds.doc_ids) + len(ds.query_ids)
    again = engine.evaluate(DEMO, engine.EvaluationConfig(models=("minilm",), engine="ray", **FAST),
                            db_path=tmp_path / "ray.duckdb")
    assert again.models[0].cost.cache_misses == 0
    assert_same(here, again)


@pytest.mark.slow  # two MiniLM encodes of 300 SciFact documents and an actor start: minutes when busy
def test_scifact_subset_ray_equals_local(local_ray, scifact_300, tmp_path, monkeypatch):
    ds = load_dataset(scifact_300)
    assert len(ds.doc_ids) == 300 and len(ds.query_ids) >= 20
    here, there = both_engines(scifact_300, tmp_path, monkeypatch)
    assert_same(here, there)
    assert here.summary_table().at["minilm", "nDCG@10"] > 0.5  # a real model on real data


def test_only_misses_go_to_ray(local_ray, tmp_path, monkeypatch):
    """Half the corpus cached in-process first: Ray encodes exactly the other half."""
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache"))
    ds = load_dataset(DEMO)
    half = ds.subset(list(ds.query_ids[:20]))
    engine.evaluate(half, engine.EvaluationConfig(models=("hash?dim=64",), engine="local", **FAST),
                    db_path=tmp_path / "e.duckdb")
    sent: list[int] = []
    real = distributed.stream

    def spy(info, kind="document", *, pool=None):
        inner = real(info, kind, pool=pool)

        def run(texts, todo, batch_size):
            sent.extend(todo)
            yield from inner(texts, todo, batch_size)

        return run

    monkeypatch.setattr(distributed, "stream", spy)
    res = engine.evaluate(ds, engine.EvaluationConfig(models=("hash?dim=64",), engine="ray", ray_batch_size=16,
                                                      **FAST), db_path=tmp_path / "e.duckdb")
    cached = set(half.doc_texts)
    assert sorted(ds.doc_texts[i] for i in sent) == sorted(t for t in set(ds.doc_texts) if t not in cached)
    assert res.models[0].cost.cache_hits >= len(half.doc_ids)


def test_a_pool_that_cannot_fit_is_an_error_and_stores_nothing(local_ray, tmp_path):
    db = tmp_path / "n.duckdb"
    before = runs.row_counts(db)
    with pytest.raises(UserError, match=r"99 Ray actor\(s\) .* do not fit the cluster"):
        engine.evaluate(DEMO, engine.EvaluationConfig(models=("hash",), engine="ray", ray_actors=99, **FAST),
                        db_path=db)
    with pytest.raises(UserError, match="GPU"):
        distributed.plan(1, gpus_per_actor=1)  # no GPU here
    with pytest.raises(UserError, match="engine must be one of local, ray"):
        engine.evaluate(DEMO, engine.EvaluationConfig(models=("hash",), engine="spark"), db_path=db)
    assert runs.row_counts(db) == before


def test_cli_engine_flags_and_an_unreachable_cluster(tmp_path):
    """``--engine`` and the address setting through the CLI: one error line, exit 2, nothing stored."""
    env = {**os.environ, "EMS_RAY_ADDRESS": "127.0.0.1:9", "EMS_CACHE_DIR": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "lib", "evaluate", "--data", str(DEMO), "--model", "hash?dim=16",
           "--db", str(tmp_path / "u.duckdb")]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "cannot reach the Ray cluster at 127.0.0.1:9 (EMS_RAY_ADDRESS)" in errors[0]
    # --engine local overrides the setting: the run happens in-process, no Ray needed.
    proc = subprocess.run([*cmd, "--engine", "local", "--no-sweep", "--format", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["dataset"]["n_docs"] == 149
    bad = subprocess.run([*cmd, "--engine", "spark"], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and "invalid choice: 'spark'" in bad.stderr
