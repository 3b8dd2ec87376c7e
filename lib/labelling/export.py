"""A labelled set out: as the evaluator's Dataset, a BEIR folder or zip, a pool CSV; judgements in; judged@k.

* :func:`labelled_dataset` — the set's resolved grades (:func:`lib.labelling.store.
  resolved_grades`) as a :class:`lib.evaluation.datasets.Dataset` with source
  ``label:SET`` and provenance notes (who judged what, pool composition, synthetic bias),
  which :func:`lib.evaluation.engine.evaluate` takes directly. Unjudged documents count as
  not relevant (the TREC convention), which is why :func:`judged_at_k` matters.
* :func:`export_beir` / :func:`beir_zip` — ``corpus.jsonl``, ``queries.jsonl``,
  ``qrels/test.tsv`` and ``provenance.json``; :func:`lib.evaluation.datasets.load_dataset`
  reads it back to the same fingerprint.
* :func:`pool_table` / :func:`import_judgements` — judge outside the app: a CSV of the pool
  (``query_id, doc_id, query, document, grade``; blind, in the shuffled order) and back.
* :func:`judged_at_k` — per model, the share of its top-k that was judged; a model that was
  not pooled is under-rated by unjudged relevant documents, and is flagged.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib import csvsafe
from lib.errors import UserError
from lib.evaluation.datasets import Dataset, DatasetError, dataset_from_records, read_table
from lib.labelling import store as lstore
from lib.labelling.synth import BIAS_NOTE, SOURCE_SYSTEM

PREFIX = "label:"
POOL_COLUMNS = ("query_id", "doc_id", "query", "document", "grade")


def parse_label_data(data: str) -> str | None:
    """The set id in ``label:SET`` (how CLI and pages name a labelled set as data), else None.

    Args:
        data: A ``--data`` value.

    Returns:
        The set id, or None for a path.
    """
    return data[len(PREFIX):].strip() if data.startswith(PREFIX) else None


@dataclass(frozen=True)
class Provenance:
    """Where a labelled set's judgements come from.

    Attributes:
        set_id: The set.
        name: Its name.
        systems: Pooled systems with depth.
        pool_size: Pooled pairs.
        judges: Per judge: kind, model, prompt version, pairs (their current grades),
            and ``decides`` (pairs whose grade in the dataset is theirs).
        n_synthetic: Synthetic queries.
        n_queries: Queries in the set.
        notes: Human-readable lines (also kept in the Dataset's notes).
    """

    set_id: str
    name: str
    systems: tuple[tuple[str, int], ...]
    pool_size: int
    judges: pd.DataFrame
    n_synthetic: int
    n_queries: int
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict.

        Returns:
            The provenance.
        """
        return {
            "set": self.set_id, "name": self.name,
            "pool": {"systems": [{"system": s, "depth": d} for s, d in self.systems], "size": self.pool_size},
            "judges": json.loads(self.judges.to_json(orient="records")),
            "n_synthetic_queries": self.n_synthetic, "n_queries": self.n_queries, "notes": list(self.notes),
        }


def provenance(db: lstore.DbPath, set_id: str, judges: list[str] | None = None) -> Provenance:
    """Who judged what, and how the pool was built.

    Args:
        db: DuckDB file.
        set_id: The set.
        judges: The judges chosen (None: default precedence).

    Returns:
        The provenance.
    """
    info = lstore.get_set(db, set_id)
    who = lstore.judges(db, set_id)
    grades = lstore.resolved_grades(db, set_id, judges)
    decides = grades.groupby("judge").size()
    who = who.assign(decides=who["judge"].map(decides).fillna(0).astype(int))
    pool_size = len(lstore.pool(db, set_id))
    systems = ", ".join(f"{s}@{d}" for s, d in info.systems) or "none"
    notes = [f"labelled set {set_id}: pool of {pool_size:,} pairs from {systems}"]
    for r in who.itertuples():
        extra = f", {r.model} / {r.prompt_version}" if r.kind == "llm" else ""
        notes.append(f"judge {r.judge} ({r.kind}{extra}): {r.n_pairs:,} pairs, decides {r.decides:,}")
    if info.n_synthetic:
        notes.append(f"{info.n_synthetic} of {info.n_queries} queries are synthetic — {BIAS_NOTE}")
    return Provenance(set_id, info.name, info.systems, pool_size, who, info.n_synthetic, info.n_queries,
                      tuple(notes))


def labelled_dataset(db: lstore.DbPath, set_id: str, judges: list[str] | None = None) -> Dataset:
    """The labelled set as a dataset the evaluator uses directly.

    Args:
        db: DuckDB file.
        set_id: The set.
        judges: Judges in order of precedence (None: people, then synthetic sources, then LLMs).

    Returns:
        The dataset (source ``label:SET``, split ``label``, provenance in ``notes``).

    Raises:
        UserError: For an unknown set, or when no query has a positive grade yet.
    """
    prov = provenance(db, set_id, judges)
    grades = lstore.resolved_grades(db, set_id, judges)
    qrels: dict[str, dict[str, int]] = {}
    for q, d, g in zip(grades["query_id"], grades["doc_id"], grades["grade"], strict=True):
        qrels.setdefault(str(q), {})[str(d)] = int(g)
    qs = lstore.queries(db, set_id)
    try:
        return dataset_from_records(
            prov.name, f"{PREFIX}{set_id}", lstore.documents(db, set_id),
            list(zip(qs["query_id"], qs["text"], strict=True)), qrels, split="label", notes=prov.notes,
        )
    except DatasetError as exc:
        if exc.kind == "no_judgements":
            raise UserError(
                f"label set {set_id!r} has no relevant judgement yet (grade 1 or 2): judge some pairs first "
                "(`label status` shows progress)"
            ) from None
        raise


def _beir_files(ds: Dataset, prov: Provenance, all_queries: pd.DataFrame) -> dict[str, str]:
    corpus = "".join(json.dumps({"_id": d, "text": t}, ensure_ascii=False) + "\n"
                     for d, t in zip(ds.doc_ids, ds.doc_texts, strict=True))
    queries = "".join(
        json.dumps({"_id": q, "text": t, **({"synthetic": True, "source_doc": s} if syn else {})},
                   ensure_ascii=False) + "\n"
        for q, t, syn, s in zip(all_queries["query_id"], all_queries["text"], all_queries["synthetic"],
                                all_queries["source_doc"], strict=True)
    )
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(
        f"{q}\t{d}\t{g}\n" for q in ds.query_ids for d, g in sorted(ds.qrels[q].items())
    )
    return {"corpus.jsonl": corpus, "queries.jsonl": queries, "qrels/test.tsv": qrels,
            "provenance.json": json.dumps(prov.to_json(), indent=2, default=str) + "\n"}


def _check_ids(ds: Dataset) -> None:
    for q in ds.query_ids:
        for d in ds.qrels[q]:
            if any(c in f"{q}{d}" for c in "\t\r\n"):
                raise UserError(f"ids with tabs or line breaks cannot be written to qrels/test.tsv: ({q!r}, {d!r})")


def export_beir(db: lstore.DbPath, set_id: str, out: str | Path, judges: list[str] | None = None) -> Path:
    """Write the labelled set as a BEIR folder.

    Args:
        db: DuckDB file.
        set_id: The set.
        out: The folder (created; existing BEIR files in it are replaced).
        judges: Judges in order of precedence.

    Returns:
        The folder.
    """
    ds = labelled_dataset(db, set_id, judges)
    _check_ids(ds)
    files = _beir_files(ds, provenance(db, set_id, judges), lstore.queries(db, set_id))
    root = Path(out).expanduser()
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        tmp = root / (rel + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(root / rel)
    return root


def beir_zip(db: lstore.DbPath, set_id: str, judges: list[str] | None = None) -> bytes:
    """The labelled set as a BEIR zip (one folder named after the set), for a download button.

    Args:
        db: DuckDB file.
        set_id: The set.
        judges: Judges in order of precedence.

    Returns:
        The zip's bytes.
    """
    ds = labelled_dataset(db, set_id, judges)
    _check_ids(ds)
    files = _beir_files(ds, provenance(db, set_id, judges), lstore.queries(db, set_id))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, text in files.items():
            zf.writestr(f"{set_id}/{rel}", text)
    return buf.getvalue()


def pool_table(db: lstore.DbPath, set_id: str, judge: str | None = None) -> pd.DataFrame:
    """The pool for judging outside the app (blind: no systems or ranks).

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: Fill ``grade`` with this judge's current grades (blank otherwise).

    Returns:
        Columns query_id, doc_id, query, document, grade — queries in order, candidates
        shuffled.
    """
    lstore.get_set(db, set_id)
    merged = lstore.pool(db, set_id)
    qs = lstore.queries(db, set_id).set_index("query_id")["text"]
    docs = dict(lstore.documents(db, set_id))
    df = pd.DataFrame({
        "query_id": merged["query_id"], "doc_id": merged["doc_id"],
        "query": merged["query_id"].map(qs), "document": merged["doc_id"].map(docs),
    })
    grades: dict[tuple[str, str], int] = {}
    if judge is not None:
        mine = lstore.latest_judgements(db, set_id, [judge])
        grades = {(q, d): int(g) for q, d, g in zip(mine["query_id"], mine["doc_id"], mine["grade"], strict=True)}
    df["grade"] = pd.array([grades.get((q, d)) for q, d in zip(df["query_id"], df["doc_id"], strict=True)],
                           dtype="Int64")
    order = {q: i for i, q in enumerate(dict.fromkeys(df["query_id"]))}
    keys = [lstore.shuffle_key(set_id, "export", q, d) for q, d in zip(df["query_id"], df["doc_id"], strict=True)]
    df = df.assign(_q=df["query_id"].map(order), _k=keys).sort_values(["_q", "_k"])
    return df.drop(columns=["_q", "_k"]).reset_index(drop=True)


def pool_csv(db: lstore.DbPath, set_id: str, judge: str | None = None) -> str:
    """:func:`pool_table` as spreadsheet-safe CSV (formula-like cells defused).

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: Pre-fill this judge's grades.

    Returns:
        The CSV text.
    """
    return csvsafe.to_csv(pool_table(db, set_id, judge), index=False)


@dataclass(frozen=True)
class ImportReport:
    """What an import stored.

    Attributes:
        judge: The judge.
        stored: Judgements stored.
        blank: Rows without a grade (not judged yet; skipped).
        outside_pool: Stored pairs that are not in the pool.
    """

    judge: str
    stored: int
    blank: int
    outside_pool: int


_Q = ("query_id", "query-id", "qid")
_D = ("doc_id", "corpus-id", "corpus_id", "docid", "document_id")
_G = ("grade", "score", "relevance")


def _undefuse(value: str) -> str:
    """Undo :func:`lib.csvsafe.defuse` on an id a spreadsheet round-tripped (``'=x`` → ``=x``)."""
    if value.startswith("'") and value[1:].startswith(csvsafe.FORMULA_START):
        return value[1:]
    return value


def import_judgements(
    db: lstore.DbPath, set_id: str, path: str | Path, judge: str, *, kind: str = "human"
) -> ImportReport:
    """Store the grades of a CSV/TSV/JSONL file (``query_id, doc_id, grade``), all or nothing.

    Also reads qrels-style headers (``query-id, corpus-id, score``). Blank grades are
    skipped (not judged yet); pairs outside the pool are accepted when the query and the
    document exist in the set (e.g. relevant documents known from elsewhere).

    Args:
        db: DuckDB file.
        set_id: The set.
        path: The file (e.g. the filled-in :func:`pool_csv`).
        judge: Who judged.
        kind: ``human`` (default), ``llm`` or ``synthetic``.

    Returns:
        The report.

    Raises:
        DatasetError: On an unreadable file, a bad grade or a repeated pair (file and line named).
        UserError: For an unknown set, query or document (nothing stored).
    """
    judge = lstore.check_judge(judge)
    lstore.get_set(db, set_id)
    label = str(path)
    rows: list[tuple[str, str, int]] = []
    first: dict[tuple[str, str], int] = {}
    blank = 0
    for n, row in read_table(path, (("query id", _Q), ("document id", _D), ("grade", _G))):
        def get(names: tuple[str, ...], row: dict[str, object] = row) -> str:
            for name in names:
                if name in row and row[name] is not None:
                    return str(row[name]).strip()
            return ""

        q, d, g = _undefuse(get(_Q)), _undefuse(get(_D)), get(_G)
        if not q or not d:
            raise DatasetError("missing_field", label, "empty id", line=n, field="query_id" if not q else "doc_id")
        if g == "":
            blank += 1
            continue
        if g not in ("0", "1", "2", "0.0", "1.0", "2.0"):
            raise DatasetError("bad_score", label, f"grade {g!r} must be 0, 1 or 2 (not / partly / highly relevant)",
                               line=n, field="grade")
        if (q, d) in first:
            raise DatasetError("duplicate_id", label, f"pair ({q!r}, {d!r}) repeats line {first[(q, d)]}", line=n)
        first[(q, d)] = n
        rows.append((q, d, int(float(g))))
    if not rows:
        raise DatasetError("no_judgements", label, f"no grades filled in ({blank} rows left blank)")
    frame = pd.DataFrame(rows, columns=["query_id", "doc_id", "grade"])
    pooled = set(zip(*[lstore.pool(db, set_id)[c] for c in ("query_id", "doc_id")], strict=True))
    outside = sum((q, d) not in pooled for q, d, _ in rows)
    stored = lstore.record_judgements(db, set_id, frame, judge, kind=kind)
    return ImportReport(judge, stored, blank, outside)


def judged_at_k(db: lstore.DbPath, set_id: str, topk: pd.DataFrame, k: int = 10) -> pd.DataFrame:
    """Per model, the share of its top-k documents that were judged (judged@k), and whether it was pooled.

    Args:
        db: DuckDB file.
        set_id: The labelled set.
        topk: Columns model, query_id, doc_ids (ranked lists), e.g. a run's ``topk``.
        k: Cut-off.

    Returns:
        Columns model, judged_at_k, pooled (bool), note — one row per model, in input order.
    """
    judged = lstore.latest_judgements(db, set_id)
    pairs = set(zip(judged["query_id"], judged["doc_id"], strict=True))
    systems = {s for s, _ in lstore.get_set(db, set_id).systems if s != SOURCE_SYSTEM}
    rows = []
    for model, grp in topk.groupby("model", sort=False):
        total = hit = 0
        for q, docs in zip(grp["query_id"], grp["doc_ids"], strict=True):
            top = list(docs)[:k]
            total += len(top)
            hit += sum((q, d) in pairs for d in top)
        share = hit / total if total else float("nan")
        pooled = str(model) in systems
        note = "" if pooled else (
            f"{model} did not contribute to the pool: {1 - share:.0%} of its top-{k} is unjudged and counted "
            "as not relevant, so its scores are a lower bound — pool it (label pool --set) and judge the new pairs"
        )
        rows.append({"model": model, "judged_at_k": share, "pooled": pooled, "note": note})
    return pd.DataFrame(rows, columns=["model", "judged_at_k", "pooled", "note"])


def judged_at_k_for_run(db: lstore.DbPath, run_id: str, k: int = 10) -> pd.DataFrame | None:
    """:func:`judged_at_k` for a stored evaluation run on a labelled set (None for other data).

    Args:
        db: DuckDB file.
        run_id: The run.
        k: Cut-off.

    Returns:
        The table, or None when the run's data is not a label set (or the set is gone).
    """
    from lib.evaluation import runs

    stored = runs.load_run(run_id, db)
    set_id = parse_label_data(str(stored.run.get("dataset_source", "")))
    if set_id is None:
        return None
    try:
        lstore.get_set(db, set_id)
    except UserError:
        return None
    order = {m: i for i, m in enumerate(stored.models["model"])}
    topk = stored.topk.assign(_o=stored.topk["model"].map(order)).sort_values("_o", kind="stable")
    return judged_at_k(db, set_id, topk.drop(columns="_o"), k)
