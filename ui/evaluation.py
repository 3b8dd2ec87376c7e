"""Page helpers for Evaluate, Runs and Report: uploads, model choices, running, results.

Uploads are staged and kept by :mod:`lib.evaluation.uploads` under
``<EMS_CACHE_DIR>/uploads/<content hash>/`` (never into the repository; ``data/cache`` is
git-ignored) in the BEIR layout, so a run's ``dataset_source`` stays readable and the
per-query drill-down can show texts for past runs too; this module only passes Streamlit's
upload cap and ``UploadedFile`` objects in. The API key typed into the page lives in
``st.session_state`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from lib import cost, pricing, report, team
from lib.charts import evaluation as charts
from lib.config import DATA_DIR
from lib.errors import UserError
from lib.evaluation import chunking, datasets, runs, uploads
from lib.evaluation.models import display_label, find_api_key, local_specs, runtime_variants, spec_for
from lib.fmt import md_plain
from lib.labelling import export
from ui import data, state
from ui import team as tm

DEMO_DIR = DATA_DIR / "demo"


def max_upload_bytes() -> int:
    """Streamlit's upload cap (``server.maxUploadSize`` in .streamlit/config.toml, in MB)."""
    return int(st.config.get_option("server.maxUploadSize")) * 1024 * 1024


def save_any(files: Sequence[Any], name: str = "") -> datasets.Dataset:
    """Stage, validate and keep the dropped files under Streamlit's upload cap.

    ``files`` are Streamlit ``UploadedFile`` objects (anything with ``name`` and
    ``getvalue()``); the work is :func:`lib.evaluation.uploads.save_any`'s, which raises
    ``UserError`` naming the user's files.
    """
    cap = max_upload_bytes()  # kept in the signed-in person's own folder, within their quota (ui/team.py)
    return tm.save_uploads(files, cap, lambda ups, root: uploads.save_any(ups, name, max_bytes=cap, root=root))


def demo_dataset() -> datasets.Dataset:
    """The built-in demo dataset (``data/demo``)."""
    return datasets.load_dataset(DEMO_DIR)


def preview(ds: datasets.Dataset, n: int = 5) -> dict[str, pd.DataFrame]:
    """First rows of the documents, queries and judgements for a preview."""
    qrel_rows = [(q, d, r) for q in ds.query_ids[:n] for d, r in ds.qrels[q].items()]
    return {
        "documents": pd.DataFrame({"id": ds.doc_ids[:n], "text": [t[:300] for t in ds.doc_texts[:n]]}),
        "queries": pd.DataFrame({"id": ds.query_ids[:n], "text": ds.query_texts[:n]}),
        "judgements": pd.DataFrame(qrel_rows, columns=["query", "document", "relevance"]),
    }


# --------------------------------------------------------------------------- models


def model_choices() -> tuple[list[str], list[str], dict[str, str]]:
    """(options, default selection, spec → how the app found it) for the model picker."""
    shortlist = [spec_for(m) for m in (st.session_state.get(state.SHORTLIST) or [])]
    pipelines = list(st.session_state.get(state.PIPELINES) or [])  # the wizard's bm25+X, X?chunk=auto
    local = local_specs()
    where: dict[str, str] = {}
    for s in shortlist:
        where[s] = "shortlist"
    for s in pipelines:
        where.setdefault(s, "pipeline the wizard suggests")
    for s in local:
        where.setdefault(s, "on this machine")
    for s in local:  # the same model through ONNX Runtime / OpenVINO (fp32, int8, bf16), exported on first use
        for v in runtime_variants(s):
            where.setdefault(v, "on this machine, " + v.split("backend=", 1)[1].replace("&quantize=", " "))
    where.setdefault("bm25", "lexical baseline")
    for s in ("openai:text-embedding-3-small", "openai:text-embedding-3-large"):
        where.setdefault(s, "API (needs a key)")
    options = list(where)
    default = [*shortlist, *pipelines] or [*local[:1], "bm25"]
    return options, list(dict.fromkeys(default)), where


# --------------------------------------------------------------------------- shared lookups


def leaderboard() -> pd.DataFrame | None:
    """The MTEB(eng, v2) summary table, or None without leaderboard data."""
    if data.data_version() is None:
        return None
    try:
        return data.summary(report.MTEB_BENCHMARK).df
    except UserError:
        return None


def model_meta(names: Sequence[str]) -> dict[str, dict[str, object] | None]:
    """Leaderboard metadata (licence, training data) per mteb name."""
    if data.data_version() is None:
        return {}
    models = data.models()
    out: dict[str, dict[str, object] | None] = {}
    for n in names:
        hit = models[models["name"] == n] if "name" in models.columns else models.iloc[0:0]
        out[n] = hit.iloc[0].to_dict() if not hit.empty else None
    return out


def price_book() -> pricing.PriceBook:
    """Prices with the session's overrides (as the Cost page uses them)."""
    return pricing.load_prices(session_overrides=st.session_state.get(state.PRICE_OVERRIDES, []))


def assumptions() -> cost.CostAssumptions:
    """The Cost page's assumptions, or the defaults."""
    return report.assumptions_from(st.session_state.get(state.COST_ASSUMPTIONS))


@st.cache_data(show_spinner=False, max_entries=16)
def _load_run(run_id: str, db: str, status: str) -> runs.StoredRun:
    del status  # part of the key: a run that finishes is read again
    return runs.load_run(run_id, db)


def load_run(run_id: str) -> runs.StoredRun:
    """A stored run (cached per id and status); another person's private run is "no evaluation run"."""
    team.require(data.db_path(), "run", run_id, tm.viewer())
    listing = runs.list_runs(data.db_path())
    row = listing[listing["run_id"] == run_id]
    status = str(row.iloc[0]["status"]) if not row.empty else "missing"
    return _load_run(run_id, data.db_path(), status)


@st.cache_data(show_spinner=False, max_entries=8)
def _run_dataset(run_id: str, db: str, fingerprint: str) -> datasets.Dataset | None:
    stored = runs.load_run(run_id, db)
    set_id = export.parse_label_data(str(stored.run.get("dataset_source") or ""))
    if set_id is None:
        return report.run_dataset(stored)
    try:  # a labelled set: its texts are in the database (None once it is deleted or judged further)
        ds = export.labelled_dataset(db, set_id)
    except UserError:
        return None
    return ds if ds.fingerprint == fingerprint else None


def label_sets() -> dict[str, str]:
    """Stored label sets this viewer may see (id → a display name), newest first, for the data picker."""
    sets = team.visible_label_sets(data.db_path(), tm.viewer())
    return {str(r.set_id): f"{r.name} ({r.set_id})" for r in sets.itertuples()}


def labelled_dataset(set_id: str) -> datasets.Dataset:
    """A label set as the dataset to evaluate (people, then synthetic sources, then LLMs decide a pair)."""
    team.require_label_set(data.db_path(), set_id, tm.viewer())
    return export.labelled_dataset(data.db_path(), set_id)


def render_label_quality(stored: runs.StoredRun) -> None:
    """For a run on a labelled set: judged@k per model, a note for models outside the pool, synthetic bias."""
    from lib.labelling import store as lstore
    from lib.labelling import synth

    k = min(int(stored.run["k"]), 10) if stored.run.get("k") else 10
    judged = export.judged_at_k_for_run(data.db_path(), str(stored.run["run_id"]), k)
    if judged is None:
        return
    set_id = export.parse_label_data(str(stored.run["dataset_source"])) or ""
    info = lstore.get_set(data.db_path(), set_id)
    if info.n_synthetic:
        st.warning(f"{info.n_synthetic} of {info.n_queries} queries are {synth.BIAS_NOTE}.")
    st.caption(f"Labelled set **{md_plain(set_id)}** — judged@{k}, the share of each model's top {k} that was "
               "judged (unjudged documents count as not relevant): " + "; ".join(
                   f"{md_plain(display_label(str(r.model)))} {r.judged_at_k:.0%}"
                   + ("" if r.pooled else " (not in the pool)") for r in judged.itertuples()) + ".")
    for note in judged["note"]:
        if note:
            st.warning(md_plain(note))


def run_dataset(stored: runs.StoredRun) -> datasets.Dataset | None:
    """The texts behind a run (cached), or None when its source is gone."""
    return _run_dataset(str(stored.run["run_id"]), data.db_path(), str(stored.run["dataset_fingerprint"]))


# --------------------------------------------------------------------------- running


def quick_inputs(restore: dict[str, Any], disabled: bool, gen: int) -> int | None:
    """Inside the run form: the "Quick estimate" switch and its corpus size; the size, or None when off."""
    from lib.evaluation import quick
    from lib.evaluation.models import display_label

    pools = " and ".join(f"{display_label(m)}'s" for m in quick.DEFAULT_POOL_MODELS)
    c1, c2 = st.columns([3, 2])
    on = c1.toggle(
        "Quick estimate", value=restore.get("quick") is not None, disabled=disabled, key=f"ev_quick_{gen}",
        help=f"Score on a reduced corpus: every judged document, {pools} top documents per "
        "query (pooled from the full corpus) and a seeded random fill up to the size. Much faster for slow or "
        "many models; labelled as an estimate wherever the run is shown. The pooling models keep their own "
        "top 10, so they are favoured: confirm a decision with a full run.",
    )
    size = c2.number_input("Documents kept (quick estimate)", min_value=1,
                           value=int(restore.get("quick") or quick.DEFAULT_SIZE), step=100, disabled=disabled,
                           key=f"ev_quick_size_{gen}",
                           help="Corpus size of the quick estimate (used when the switch is on). Judged documents "
                           "and every pooling model's top 10 are always kept, even beyond this size.")
    return int(size) if on else None


def render_time_estimate(ds: datasets.Dataset, specs: Sequence[str], quick_size: int | None = None) -> None:
    """Before a run: each model's expected time on this machine, from earlier runs' throughput."""
    from lib.evaluation import quick, timing

    try:
        speeds = data.measured_speeds()
    except UserError:
        speeds = {}
    n_docs = len(ds.doc_ids) if quick_size is None else min(quick_size, len(ds.doc_ids))
    ests = timing.estimate(specs, n_docs, len(ds.query_ids), speeds)
    if n_docs < len(ds.doc_ids):  # a quick estimate first ranks the full corpus with its pooling models
        pooling = timing.estimate(list(quick.DEFAULT_POOL_MODELS), len(ds.doc_ids), len(ds.query_ids), speeds)
        ests = [*(dataclasses.replace(e, label=f"pooling with {e.label}") for e in pooling), *ests]
    known = [e for e in ests if e.seconds is not None]
    parts = [f"**{md_plain(e.label)}** ~{e.seconds:,.0f} s" if e.seconds is not None
             else f"**{md_plain(e.label)}**: {md_plain(e.basis)}" for e in ests]
    total = sum(e.seconds or 0.0 for e in known)
    st.caption("Expected time on this machine: " + " · ".join(parts)
               + (f" — about {total:,.0f} s in all (less where embeddings are cached)" if known else ""),
               help="\n\n".join(f"{e.label}: {e.basis}" for e in ests if e.seconds is not None) or None)


def run_with_progress(
    ds: datasets.Dataset, specs: Sequence[str], k: int, sweep: bool, api_key: str | None,
    quick_size: int | None = None,
) -> str:
    """Run the engine inside ``st.status`` with a progress bar; return the run id.

    Leaving the page interrupts the script; the engine then records the run as ``failed``
    in its own transaction, so a half run is never shown as done. With ``quick_size`` the
    corpus is reduced first (:func:`lib.evaluation.quick.evaluate`).
    """
    from lib.evaluation import engine, quick

    cfg = engine.EvaluationConfig(models=tuple(specs), k=int(k), sweep=bool(sweep))
    with st.status(f"Evaluating {len(specs)} model(s) on {md_plain(ds.name)}…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        log: list[str] = []

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)
            if not log or log[-1] != message.split(":")[0]:
                log.append(message.split(":")[0])

        try:
            if quick_size is None:
                result = engine.evaluate(ds, cfg, db_path=data.db_path(), progress=progress, api_key=api_key,
                                         viewer=tm.viewer())
            else:
                result = quick.evaluate(ds, cfg, quick_size, db_path=data.db_path(), progress=progress,
                                        api_key=api_key, viewer=tm.viewer())
        except UserError as exc:
            status.update(label=f"Evaluation failed: {md_plain(exc)}", state="error", expanded=True)
            raise
        status.update(label=f"Done in {result.wall_time_s:.1f} s — run {result.run_id}", state="complete",
                      expanded=False)
    return result.run_id


# --------------------------------------------------------------------------- results


def _hit(v: object) -> str:
    return "✓" if v else ""  # not an emoji: they render as boxes without an emoji font


def render_results(stored: runs.StoredRun, key: str) -> None:
    """Metrics table with CIs and tie groups, charts, MTEB comparison and drill-down."""
    r = stored.run
    if r["status"] != "done":
        st.warning(f"Run {r['run_id']} is **{r['status']}**" + (f": {md_plain(r['error'])}" if r.get("error") else "")
                   + " — it has no results.")
        return
    k = int(r["k"])
    metric = f"nDCG@{k}"
    st.caption(
        f"Run `{r['run_id']}` · dataset **{md_plain(r['dataset_name'])}** ({r['n_docs']:,} documents, "
        f"{r['n_queries']:,} queries, {r['n_qrels']:,} judgements) · k = {k} · {float(r['wall_time_s'] or 0):.1f} s"
    )
    render_quick_notice(stored)
    table = report.metrics_display(stored)
    st.subheader("Metrics with 95 % confidence intervals")
    numeric = [c for c in table.columns if c not in ("Model", "Spec", "Group") and not c.endswith("CI")]
    st.dataframe(
        table.drop(columns=["Spec"]),
        hide_index=True,
        width="stretch",
        column_config={
            **{c: st.column_config.NumberColumn(c, format="%.3f") for c in numeric},
            "Group": st.column_config.NumberColumn(
                "Group", help="Tie group on the first metric: models in one group cannot be separated by a paired "
                "test at α = 0.05. Group 1 = best."),
        },
    )
    cut = report.truncation_caption(stored)  # None for runs stored before it was measured
    if cut:
        st.caption(md_plain(cut), help="Tokens counted with each model's own tokenizer (special tokens and the "
                   "document prompt included). A model embeds only its first max_seq_length tokens; evaluate it "
                   "chunked (spec ?chunk=auto) to score each document by its best chunk (MaxP) instead.")
    for line in report.significance_lines(stored, metric):
        st.markdown(f"- {line}")
    runtime = report.backend_delta_lines(stored, metric)
    if runtime:
        st.markdown("**Runtime variants vs torch** (paired test on the same queries):\n"
                    + "\n".join(f"- {md_plain(x)}" for x in runtime))
    render_label_quality(stored)
    book = price_book()
    mt = report.add_costs(report.model_table(stored, metric), book, assumptions())
    lb = leaderboard()
    ranks = report.rank_vs_mteb(mt, lb)
    labels = dict(zip(mt["model"], mt["label"], strict=True))
    figs = charts.figures(mt, stored.sweep, ranks, metric, labels)
    st.subheader("Charts")
    c1, c2 = st.columns(2)
    c1.plotly_chart(figs["metric"], width="stretch", key=f"{key}_fig_metric")
    c2.plotly_chart(figs["latency"], width="stretch", key=f"{key}_fig_latency")
    c3, c4 = st.columns(2)
    c3.plotly_chart(figs["cost"], width="stretch", key=f"{key}_fig_cost")
    options = [
        f"{lab}: {opt.split(' · ', 1)[-1]}" if opt else f"{lab}: {note}"
        for lab, opt, note in zip(mt["label"], mt["cost_option"], mt["cost_note"], strict=True)
    ]
    c3.caption("Cheapest way to run each model under the Cost page's assumptions (its defaults unless you changed "
               "them there) — " + "; ".join(options) + ".")
    c4.plotly_chart(figs["dimensions"], width="stretch", key=f"{key}_fig_dims")
    render_alpha_sweep(stored, metric, labels, key)
    st.subheader("Your data vs MTEB")
    if lb is None:
        st.info("No leaderboard data loaded, so MTEB ranks cannot be shown — load it on the Leaderboard page.")
    else:
        st.caption(report.rank_agreement(ranks))
        c5, c6 = st.columns([3, 2])
        c5.plotly_chart(figs["ranks"], width="stretch", key=f"{key}_fig_ranks")
        c6.dataframe(
            ranks.rename(columns={"label": "Model", "mean": metric, "your_rank": "Your rank",
                                  "mteb_retrieval": "MTEB Retrieval", "mteb_rank": "MTEB rank",
                                  "mteb_position": "MTEB position (all)"}).drop(columns=["mteb_name"]),
            hide_index=True, width="stretch",
            column_config={metric: st.column_config.NumberColumn(format="%.3f"),
                           "MTEB Retrieval": st.column_config.NumberColumn(format="%.3f")},
        )
    render_drilldown(stored, key)


def render_alpha_sweep(stored: runs.StoredRun, metric: str, labels: dict[str, str], key: str) -> None:
    """A score-fusion hybrid's metric over its fusion weight, always with the warning that tuning flatters."""
    lines = report.alpha_sweep_lines(stored, metric)
    if not lines:
        return
    st.subheader("Fusion weight α")
    st.warning(report.ALPHA_SWEEP_WARNING, icon=":material/warning:")
    st.plotly_chart(charts.quality_vs_alpha(stored.fusion_sweep, metric, labels), width="stretch",
                    key=f"{key}_fig_alpha")
    st.markdown("\n".join(f"- {md_plain(x)}" for x in lines))


def render_quick_notice(stored: runs.StoredRun) -> None:
    """For a quick estimate: say so, with the reduction, before any number is shown."""
    from lib.evaluation import quick

    info = quick.info_of(stored.run.get("config"))
    if info is None:
        return
    text = quick.label(info)
    st.warning(f"**{md_plain(text[:1].upper() + text[1:])}.** {md_plain(quick.CAVEAT)} — confirm a decision with a "
               "full run." + (f" Note: {md_plain(info.note)}." if info.note else ""))


def render_drilldown(stored: runs.StoredRun, key: str) -> None:
    """Per-query view: sortable query list, then one query's judged docs and every top-k."""
    k = int(stored.run["k"])
    metric = f"nDCG@{k}"
    st.subheader("Per-query drill-down")
    ds = run_dataset(stored)
    if ds is None:
        st.info("The dataset behind this run is no longer available (or changed), so texts are not shown; "
                "ids and scores still are.")
    how = st.radio(
        "Sort queries by",
        ["disagree", "failures", "id"],
        format_func={"disagree": "where the models disagree most", "failures": "failures (a model scores 0)",
                     "id": "query id"}.get,
        horizontal=True, key=f"{key}_sort",
    )
    table = report.sort_queries(report.disagreement(stored, metric), str(how))
    texts = report.query_texts(ds)
    labels = {m: display_label(str(m)) for m in stored.models["model"]}
    show = table.rename(columns=labels)
    show.insert(1, "query", [texts.get(q, "") for q in table["query_id"]])
    show["best"] = show["best"].map(labels)
    show["worst"] = show["worst"].map(labels)
    st.dataframe(
        show, hide_index=True, width="stretch", height=260,
        column_config={**{v: st.column_config.NumberColumn(f"{v} {metric}", format="%.2f") for v in labels.values()},
                       "spread": st.column_config.NumberColumn("spread", format="%.2f"),
                       "mean": st.column_config.NumberColumn("mean", format="%.2f"),
                       "failures": st.column_config.NumberColumn("models at 0")},
    )
    if table.empty:
        return
    qid = st.selectbox(
        "Open a query", list(table["query_id"]), key=f"{key}_query",
        format_func=lambda q: f"{q} — {texts.get(q, '')[:90]}",
    )
    view = report.drilldown(stored, ds, str(qid), k)
    st.markdown(f"**{md_plain(view.query_id)}** — {md_plain(view.text) if view.text else '(text unavailable)'}")
    if not view.relevant.empty:
        st.caption("Judged relevant (relevance 2 = answers it, 1 = useful context):")
        st.dataframe(view.relevant, hide_index=True, width="stretch")
    cols = st.columns(max(1, len(labels)))
    for col, (model, label) in zip(cols, labels.items(), strict=False):
        sub = view.topk[view.topk["model"] == model]
        hits = int(sub["hit"].sum())
        col.markdown(f"**{label}** — {hits} relevant in top {k}")
        col.dataframe(
            sub.assign(hit=sub["hit"].map(_hit))[["rank", "hit", "doc_id", "score", "text"]],
            hide_index=True, width="stretch",
            column_config={"score": st.column_config.NumberColumn(format="%.3f"),
                           "hit": st.column_config.TextColumn("✓", width="small")},
        )
        missed = view.missed.get(str(model), ())
        if missed:
            col.caption("Missed: " + md_plain(", ".join(missed)))


def with_chunked(specs: Sequence[str], on: bool) -> list[str]:
    """The chosen specs plus, when ``on``, each local sentence-transformers model chunked (``?chunk=auto``)."""
    return chunking.with_chunked_variants(specs, on)


def find_key(session_key: str | None) -> str | None:
    """The API key: typed in this session, else environment / secrets (never stored)."""
    return find_api_key(session_key=session_key)
