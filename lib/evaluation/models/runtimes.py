"""ONNX Runtime and OpenVINO runtimes for sentence-transformers models (``?backend=``, ``&quantize=``).

sentence-transformers' own ``backend="onnx"|"openvino"`` goes through optimum-onnx /
optimum-intel, and no released version of either imports under the pinned
transformers 5.24 (optimum-onnx 0.1.0 needs transformers<4.58, optimum-intel 2.2.0
needs <5.6 and fails to import ``VisionRotaryEmbedding``). So the transformer's forward
pass is exported here with the libraries optimum itself uses underneath:
``torch.onnx.export`` → ONNX Runtime (int8: ``onnxruntime.quantization.quantize_dynamic``,
the dynamic quantisation sentence-transformers' ``export_dynamic_quantized_onnx_model``
applies) and ``openvino.convert_model`` (int8: ``nncf.compress_weights``, data-free
int8 weights, as no calibration set is available offline). OpenVINO computes in
fp32 unless ``quantize=bf16`` asks for bfloat16: its CPU plugin otherwise picks bf16 by
itself on CPUs with AMX / AVX-512 BF16, which would make "fp32" scores depend on the
machine. Tokenising, prompts,
pooling and normalising stay sentence-transformers' own: only the Transformer
module's forward is replaced.

Exports are made once per model identity + backend + quantisation, under
``<EMS_CACHE_DIR>/exported/<key>/``, written to a temporary folder and renamed into
place so a crash never leaves a half-written export that is then reused.

Public API: :data:`BACKENDS`, :data:`QUANTIZATIONS`, :func:`check`, :func:`export_dir`,
:func:`ensure_export`, :func:`attach`, :func:`cpu_flags`, :func:`cpu_has_bf16`, :data:`EXPORTS`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lib.errors import UserError

#: ``backend=`` values (``torch`` is the default, the plain sentence-transformers model).
BACKENDS = ("torch", "onnx", "openvino")
#: ``quantize=`` values.
QUANTIZATIONS = ("int8", "bf16")
#: Packages each runtime needs, for the error message when one is missing.
_PACKAGES = {"onnx": ("onnx", "onnxruntime"), "openvino": ("onnx", "openvino"), "int8-openvino": ("nncf",)}
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: How many exports this process has made (tests check an export is reused from disk).
EXPORTS: list[str] = []


def check(spec: str, opts: dict[str, str]) -> None:
    """Validate ``backend`` and ``quantize`` of a sentence-transformers spec.

    Args:
        spec: The spec (for the message).
        opts: Its parsed options.

    Raises:
        UserError: On an unknown backend or quantisation, or ``quantize`` without a
            non-torch backend.
    """
    backend = opts.get("backend", "torch")
    if backend not in BACKENDS:
        raise UserError(f"model {spec!r}: backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    quant = opts.get("quantize")
    if quant is None:
        return
    if quant not in QUANTIZATIONS:
        raise UserError(f"model {spec!r}: quantize must be {' or '.join(QUANTIZATIONS)} (got {quant!r})")
    if quant == "bf16" and backend != "openvino":
        raise UserError(
            f"model {spec!r}: quantize=bf16 runs on backend=openvino only "
            f"(e.g. {spec.split('?')[0]}?backend=openvino&quantize=bf16)"
        )
    if backend == "torch":
        raise UserError(
            f"model {spec!r}: quantize={quant} needs backend=onnx or backend=openvino "
            f"(e.g. {spec.split('?')[0]}?backend=onnx&quantize={quant})"
        )


def _require(spec: str, backend: str, quant: str | None) -> None:
    from importlib.util import find_spec

    needed = list(_PACKAGES[backend])
    if quant == "int8" and backend == "openvino":
        needed += _PACKAGES["int8-openvino"]
    missing = [p for p in needed if find_spec(p) is None]
    if missing:
        raise UserError(
            f"model {spec!r}: backend={backend}{'&quantize=' + quant if quant else ''} needs "
            f"{', '.join(missing)}: `pip install -r requirements.txt`"
        )


def export_dir(cache_dir: Path, name: str, revision: str, backend: str, quant: str | None) -> Path:
    """Where the export of one model identity + backend + quantisation lives.

    Args:
        cache_dir: ``EMS_CACHE_DIR``.
        name: The model's canonical name.
        revision: Its weights revision or content fingerprint.
        backend: ``onnx`` or ``openvino``.
        quant: ``int8``, ``bf16`` or None (bf16 runs the fp32 export: it is a runtime setting).

    Returns:
        ``<cache_dir>/exported/<hash>``.
    """
    quant = _exported(quant)
    ident = json.dumps({"name": name, "revision": revision, "backend": backend, "quantize": quant}, sort_keys=True)
    return cache_dir / "exported" / hashlib.sha256(ident.encode()).hexdigest()[:24]


def _exported(quant: str | None) -> str | None:
    """The quantisation baked into the export: bf16 is a runtime setting on the fp32 export."""
    return None if quant == "bf16" else quant


def _input_names(st_model: Any) -> list[str]:
    feats = st_model.tokenizer(["a"], return_tensors="pt")
    return [k for k in _INPUTS if k in feats]


def _export_onnx(st_model: Any, target: Path) -> None:
    import torch

    hf = st_model[0].auto_model
    names = _input_names(st_model)

    class _Forward(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: Any) -> Any:
            return self.model(**dict(zip(names, args, strict=True))).last_hidden_state

    feats = st_model.tokenizer(["an example sentence", "a longer example sentence to trace"],
                               padding=True, return_tensors="pt")
    previous = getattr(hf.config, "_attn_implementation", None)
    try:
        if hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation("eager")  # traceable attention
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes on constant-folded mask code: harmless here
            torch.onnx.export(
                _Forward(hf).eval(), tuple(feats[k] for k in names), str(target),
                input_names=names, output_names=["last_hidden_state"],
                dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*names, "last_hidden_state"]},
                opset_version=17, dynamo=False,
            )
    finally:
        if previous and hasattr(hf, "set_attn_implementation"):
            hf.set_attn_implementation(previous)


def ensure_export(st_model: Any, folder: Path, backend: str, quant: str | None, spec: str) -> Path:
    """Export the model's transformer once (reused from disk afterwards).

    Args:
        st_model: The loaded torch :class:`~sentence_transformers.SentenceTransformer`.
        folder: From :func:`export_dir`.
        backend: ``onnx`` or ``openvino``.
        quant: ``int8``, ``bf16`` (the fp32 export) or None.
        spec: The spec (for messages).

    Returns:
        The model file (``model.onnx`` or ``model.xml``).

    Raises:
        UserError: If a package is missing or the model cannot be exported.
    """
    _require(spec, backend, quant)
    quant = _exported(quant)
    model_file = folder / ("model.onnx" if backend == "onnx" else "model.xml")
    if model_file.exists():
        return model_file
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        fp32 = tmp / "fp32.onnx"
        _export_onnx(st_model, fp32)
        if backend == "onnx":
            if quant == "int8":
                from onnxruntime.quantization import QuantType, quantize_dynamic

                # per-channel int8 weights on the MatMuls: what sentence-transformers'
                # AutoQuantizationConfig.avx512_vnni(is_static=False) asks optimum for
                quantize_dynamic(str(fp32), str(tmp / "model.onnx"), weight_type=QuantType.QInt8,
                                 per_channel=True, op_types_to_quantize=["MatMul", "Attention"])
                fp32.unlink()
            else:
                fp32.rename(tmp / "model.onnx")
        else:
            import openvino as ov

            ov_model = ov.convert_model(str(fp32))
            if quant == "int8":
                import nncf

                ov_model = nncf.compress_weights(ov_model)  # int8 weights, no calibration data
            ov.save_model(ov_model, str(tmp / "model.xml"), compress_to_fp16=False)
            fp32.unlink()
        if folder.exists():  # another process finished first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.rename(folder)
    except UserError:
        raise
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"model {spec!r}: could not export to {backend}: {exc}") from exc
    EXPORTS.append(str(folder))
    return model_file


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from ``/proc/cpuinfo`` (empty where there is none, e.g. macOS).

    Cheap (no runtime import): used to offer ``quantize=bf16`` and printed by the benchmark,
    as int8 and bf16 speed depends on VNNI / AMX / AVX-512 BF16.
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return frozenset(line.partition(":")[2].split())


#: CPU flags OpenVINO's bfloat16 kernels use.
BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def cpu_has_bf16() -> bool:
    """Whether OpenVINO's CPU plugin can compute in bfloat16 on this machine (AMX or AVX-512 BF16)."""
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def _runner(model_file: Path, backend: str, threads: int | None,
            quant: str | None = None) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    if backend == "onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        session = ort.InferenceSession(str(model_file), so, providers=["CPUExecutionProvider"])
        wanted = [i.name for i in session.get_inputs()]
        return lambda feeds: session.run(None, {k: feeds[k] for k in wanted})[0]
    import openvino as ov

    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "bf16" if quant == "bf16" else "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(model_file), "CPU", config)
    wanted = [i.get_any_name() for i in compiled.inputs]
    request = compiled.create_infer_request()

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        out = request.infer({k: feeds[k] for k in wanted})
        return np.asarray(out[compiled.outputs[0]])

    return run


def attach(st_model: Any, model_file: Path, backend: str, threads: int | None = None,
           quant: str | None = None) -> None:
    """Make the model's Transformer module run on ONNX Runtime or OpenVINO.

    ``st_model.encode`` keeps its tokenising, prompts, batching, pooling and
    normalising; only the token embeddings come from the exported model.

    Args:
        st_model: The loaded torch SentenceTransformer.
        model_file: From :func:`ensure_export`.
        backend: ``onnx`` or ``openvino``.
        threads: CPU threads for the runtime (None: its default).
        quant: The spec's ``quantize`` (``bf16`` makes OpenVINO compute in bfloat16).

    Raises:
        UserError: ``quantize=bf16`` on a CPU without bfloat16 support.
    """
    import torch

    module = st_model[0]
    if quant == "bf16" and not cpu_has_bf16():
        raise UserError("quantize=bf16: this CPU has no bfloat16 support (AMX or AVX-512 BF16), OpenVINO "
                        "would compute in fp32 — use backend=openvino, or quantize=int8 for speed")
    run = _runner(model_file, backend, threads, quant)
    out_name = getattr(module, "module_output_name", "token_embeddings")

    def forward(features: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        feeds = {k: v.cpu().numpy().astype(np.int64) for k, v in features.items() if k in _INPUTS}
        features[out_name] = torch.from_numpy(np.ascontiguousarray(run(feeds)))
        return features

    module.forward = forward


def supports(st_model: Any) -> bool:
    """Whether the model is a text Transformer → pooling pipeline these runtimes can take.

    Args:
        st_model: A loaded SentenceTransformer.

    Returns:
        True when the first module is a Transformer over ``last_hidden_state``.
    """
    first = st_model[0]
    cfg = getattr(first, "modality_config", {}) or {}
    text = cfg.get("text", {})
    return (type(first).__name__ == "Transformer" and text.get("method") == "forward"
            and text.get("method_output_name") == "last_hidden_state" and hasattr(first, "auto_model"))
