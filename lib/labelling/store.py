"""Label sets, pools and judgements in DuckDB (tables from ``lib/migrations/0004_labelling.sql``).

A *label set* is a frozen copy of documents and queries (from a
:class:`lib.evaluation.datasets.Collection`, or synthetic queries); its *pool* records
which system retrieved which document for which query at which rank; *judgements* are
grades 0 / 1 / 2 (not / partly / highly relevant) by a named judge of kind ``human``,
``llm`` or ``synthetic`` (the source document of a synthetic query).

Every judgement is one row written in its own transaction the moment it is made, so a
reload, a second tab or a killed server loses nothing. A judge's grade of a pair is their
latest row; :func:`undo` deletes that judge's latest row (the grade before it, if any,
is back); :func:`next_query` resumes at the first query with a pooled pair the judge has
not graded. Candidates are shown in an order shuffled per (set, judge, query) that is the
same after a reload, and without the systems that retrieved them (blind judging).

Multi-row writes (a set, a pool, an import) run in one :func:`lib.store.transaction`:
on any error nothing of them is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib import store
from lib.errors import UserError

GRADES = (0, 1, 2)
GRADE_NAMES = {0: "not relevant", 1: "partly relevant", 2: "highly relevant"}
KINDS = ("human", "llm", "synthetic")
#: Default precedence when several judges graded a pair (see :func:`resolved_grades`).
KIND_PRIORITY = ("human", "synthetic", "llm")
_MAX_JUDGE_CHARS = 100

DbPath = str | Path | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class QueryRecord:
    """One query of a set.

    Attributes:
        query_id: Id (unique in the set).
        text: The query.
        synthetic: Written by a chat model from ``source_doc``.
        source_doc: The document it was written from (synthetic queries only).
        generator: Model and prompt version that wrote it.
    """

    query_id: str
    text: str
    synthetic: bool = False
    source_doc: str | None = None
    generator: str | None = None


@dataclass(frozen=True)
class LabelSet:
    """A label set's identity and size.

    Attributes:
        set_id: Id (``name-xxxxxx``).
        name: Display name.
        created_at: UTC creation time.
        source: Where the documents came from.
        fingerprint: Of the documents and queries.
        query_source: ``file``, ``pasted``, ``synthetic`` or ``none``.
        notes: What the reader decided.
        n_docs: Documents.
        n_queries: Queries.
        n_synthetic: Synthetic queries among them.
        systems: Pooled systems, in pooling order, with their depth.
    """

    set_id: str
    name: str
    created_at: dt.datetime
    source: str
    fingerprint: str
    query_source: str
    notes: tuple[str, ...]
    n_docs: int
    n_queries: int
    n_synthetic: int
    systems: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Judgement:
    """One stored judgement.

    Attributes:
        id: Row id (increasing in the order judgements were made).
        set_id: The set.
        query_id: The query.
        doc_id: The document.
        judge: Who judged (a person's name, or the LLM judge's name).
        kind: ``human``, ``llm`` or ``synthetic``.
        grade: 0, 1 or 2.
        created_at: UTC time.
        model: The chat model (LLM judges).
        prompt_version: The prompt version (LLM judges).
        raw_score: The model's own score (LLM judges: UMBRELA's 0–3).
    """

    id: int
    set_id: str
    query_id: str
    doc_id: str
    judge: str
    kind: str
    grade: int
    created_at: dt.datetime
    model: str | None = None
    prompt_version: str | None = None
    raw_score: int | None = None


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return (s or "set")[:40]


def check_judge(judge: str) -> str:
    """A judge name, stripped and checked.

    Args:
        judge: The name as typed.

    Returns:
        The cleaned name.

    Raises:
        UserError: If it is empty, too long or holds control characters.
    """
    name = (judge or "").strip()
    if not name:
        raise UserError("give a judge name (who is judging), e.g. --judge alice")
    if len(name) > _MAX_JUDGE_CHARS:
        raise UserError(f"judge name is longer than {_MAX_JUDGE_CHARS} characters")
    if not name.isprintable():
        raise UserError("judge name holds control characters; use plain text")
    return name


def _insert_frame(cur: Any, table: str, frame: pd.DataFrame) -> None:
    """Bulk insert from a registered DataFrame (values never enter SQL text)."""
    if frame.empty:
        return
    view = f"_ins_{table}"
    cols = list(frame.columns)
    cur.register(view, frame)
    try:
        cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {view}")
    finally:
        cur.unregister(view)


# --------------------------------------------------------------------------- sets


def create_set(
    db: DbPath,
    *,
    name: str,
    source: str,
    fingerprint: str,
    docs: Sequence[tuple[str, str]],
    queries: Sequence[QueryRecord],
    query_source: str,
    notes: Sequence[str] = (),
    user_id: str | None = None,
) -> str:
    """Store a new label set (documents and queries) in one transaction.

    Args:
        db: DuckDB file (None → ``EMS_DB``).
        name: Display name.
        source: Where the documents came from.
        fingerprint: Of documents and queries.
        docs: (id, text) per document, validated.
        queries: The queries (may be empty).
        query_source: ``file``, ``pasted``, ``synthetic`` or ``none``.
        notes: Notes to keep.
        user_id: Who the set belongs to (:mod:`lib.team`; None: nobody recorded).

    Returns:
        The new set id.

    Raises:
        UserError: If there are no documents or a query id repeats.
    """
    with store.transaction(db) as cur:
        return insert_set(cur, name=name, source=source, fingerprint=fingerprint, docs=docs,
                          queries=queries, query_source=query_source, notes=notes, user_id=user_id)


def insert_set(
    cur: Any,
    *,
    name: str,
    source: str,
    fingerprint: str,
    docs: Sequence[tuple[str, str]],
    queries: Sequence[QueryRecord],
    query_source: str,
    notes: Sequence[str] = (),
    user_id: str | None = None,
) -> str:
    """:func:`create_set` on an open transaction (to write a set and more atomically).

    Args:
        cur: A cursor inside :func:`lib.store.transaction`.
        name: Display name.
        source: Where the documents came from.
        fingerprint: Of documents and queries.
        docs: (id, text) per document.
        queries: The queries.
        query_source: How the queries were given.
        notes: Notes to keep.
        user_id: Who the set belongs to.

    Returns:
        The new set id.

    Raises:
        UserError: If there are no documents or a query id repeats.
    """
    if not docs:
        raise UserError("a label set needs at least one document")
    if len({q.query_id for q in queries}) != len(queries):
        raise UserError("query ids repeat; each query needs its own id")
    set_id = f"{_slug(name)}-{uuid.uuid4().hex[:6]}"
    doc_frame = pd.DataFrame({
        "set_id": set_id, "doc_id": [d for d, _ in docs], "position": range(len(docs)),
        "text": [t for _, t in docs],
    })
    q_frame = pd.DataFrame({
        "set_id": [set_id] * len(queries),
        "query_id": [q.query_id for q in queries], "position": list(range(len(queries))),
        "text": [q.text for q in queries], "synthetic": [q.synthetic for q in queries],
        "source_doc": [q.source_doc for q in queries], "generator": [q.generator for q in queries],
    })
    cur.execute(
        "INSERT INTO label_sets (set_id, name, created_at, source, fingerprint, query_source, notes, user_id,"
        " shared) VALUES (?, ?, ?, ?, ?, ?, ?, ?, false)",
        [set_id, name, _now(), source, fingerprint, query_source, json.dumps(list(notes)), user_id],
    )
    _insert_frame(cur, "label_docs", doc_frame)
    _insert_frame(cur, "label_queries", q_frame)
    return set_id


def get_set(db: DbPath, set_id: str) -> LabelSet:
    """A set's identity and size.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        The set.

    Raises:
        UserError: If there is no such set.
    """
    with store.connect(db) as cur:
        rows = cur.execute(
            "SELECT set_id, name, created_at, source, fingerprint, query_source, notes,"
            " (SELECT count(*) FROM label_docs d WHERE d.set_id = s.set_id),"
            " (SELECT count(*) FROM label_queries q WHERE q.set_id = s.set_id),"
            " (SELECT count(*) FROM label_queries q WHERE q.set_id = s.set_id AND q.synthetic)"
            " FROM label_sets s WHERE set_id = ?",
            [set_id],
        ).fetchall()
        systems = cur.execute(
            "SELECT system, depth FROM label_pool_systems WHERE set_id = ? ORDER BY position", [set_id]
        ).fetchall()
    if not rows:
        known = list_sets(db)["set_id"].head(5).tolist()
        hint = f" (known: {', '.join(known)})" if known else " (none yet: create one with `label pool`)"
        raise UserError(f"no label set {set_id!r}{hint}")
    r = rows[0]
    return LabelSet(
        set_id=r[0], name=r[1], created_at=r[2], source=r[3], fingerprint=r[4], query_source=r[5],
        notes=tuple(json.loads(r[6])), n_docs=int(r[7]), n_queries=int(r[8]), n_synthetic=int(r[9]),
        systems=tuple((str(s), int(d)) for s, d in systems),
    )


def list_sets(db: DbPath = None) -> pd.DataFrame:
    """All label sets, newest first.

    Args:
        db: DuckDB file.

    Returns:
        Columns set_id, name, created_at, source, query_source, user_id, shared (whose set it is:
        filter with :func:`lib.team.visible`).
    """
    with store.connect(db) as cur:
        return cur.execute(
            "SELECT set_id, name, created_at, source, query_source, user_id, coalesce(shared, false) AS shared"
            " FROM label_sets"
            " ORDER BY created_at DESC, set_id"
        ).df()


def documents(db: DbPath, set_id: str) -> list[tuple[str, str]]:
    """(id, text) per document, in input order.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        The documents.
    """
    with store.connect(db) as cur:
        rows = cur.execute(
            "SELECT doc_id, text FROM label_docs WHERE set_id = ? ORDER BY position", [set_id]
        ).fetchall()
    return [(str(d), str(t)) for d, t in rows]


def queries(db: DbPath, set_id: str) -> pd.DataFrame:
    """The set's queries in input order.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        Columns query_id, text, synthetic, source_doc, generator.
    """
    with store.connect(db) as cur:
        return cur.execute(
            "SELECT query_id, text, synthetic, source_doc, generator FROM label_queries"
            " WHERE set_id = ? ORDER BY position",
            [set_id],
        ).df()


def query_text(db: DbPath, set_id: str, query_id: str) -> str:
    """One query's text.

    Args:
        db: DuckDB file.
        set_id: The set.
        query_id: The query.

    Returns:
        The text.

    Raises:
        UserError: If the set has no such query.
    """
    with store.connect(db) as cur:
        rows = cur.execute("SELECT text FROM label_queries WHERE set_id = ? AND query_id = ?",
                           [set_id, query_id]).fetchall()
    if not rows:
        raise UserError(f"label set {set_id!r} has no query {query_id!r}")
    return str(rows[0][0])


# --------------------------------------------------------------------------- pool


def add_pool(
    db: DbPath, set_id: str, system: str, identity: str, depth: int, hits: pd.DataFrame
) -> None:
    """Store one system's contribution to the pool (replacing an earlier one), atomically.

    Args:
        db: DuckDB file.
        set_id: The set.
        system: The model spec.
        identity: JSON of the model's identity.
        depth: Ranks pooled.
        hits: Columns query_id, doc_id, rank (1-based), score.
    """
    with store.transaction(db) as cur:
        insert_pool(cur, set_id, system, identity, depth, hits)


def insert_pool(cur: Any, set_id: str, system: str, identity: str, depth: int, hits: pd.DataFrame) -> None:
    """:func:`add_pool` on an open transaction.

    Args:
        cur: A cursor inside :func:`lib.store.transaction`.
        set_id: The set.
        system: The model spec.
        identity: JSON of the model's identity.
        depth: Ranks pooled.
        hits: Columns query_id, doc_id, rank (1-based), score.
    """
    frame = hits[["query_id", "doc_id", "rank", "score"]].assign(set_id=set_id, system=system)
    cur.execute("DELETE FROM label_pool WHERE set_id = ? AND system = ?", [set_id, system])
    existing = cur.execute(
        "SELECT position FROM label_pool_systems WHERE set_id = ? AND system = ?", [set_id, system]
    ).fetchall()
    cur.execute("DELETE FROM label_pool_systems WHERE set_id = ? AND system = ?", [set_id, system])
    if existing:
        position = int(existing[0][0])
    else:
        row = cur.execute(
            "SELECT coalesce(max(position) + 1, 0) FROM label_pool_systems WHERE set_id = ?", [set_id]
        ).fetchall()
        position = int(row[0][0])
    cur.execute(
        "INSERT INTO label_pool_systems (set_id, system, position, depth, identity, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [set_id, system, position, depth, identity, _now()],
    )
    _insert_frame(cur, "label_pool", frame)


def pool(db: DbPath, set_id: str) -> pd.DataFrame:
    """The merged pool: one row per (query, document).

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        Columns query_id, doc_id, systems (list of specs), best_rank, in query order then
        best rank.
    """
    with store.connect(db) as cur:
        return cur.execute(
            "SELECT p.query_id, p.doc_id, list(p.system ORDER BY s.position) AS systems,"
            " min(p.rank) AS best_rank"
            " FROM label_pool p JOIN label_queries q USING (set_id, query_id)"
            " JOIN label_pool_systems s USING (set_id, system)"
            " WHERE p.set_id = ? GROUP BY p.query_id, p.doc_id, q.position"
            " ORDER BY q.position, best_rank, p.doc_id",
            [set_id],
        ).df()


def pool_hits(db: DbPath, set_id: str) -> pd.DataFrame:
    """Every (query, document, system, rank) row of the pool.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        Columns query_id, doc_id, system, rank, score.
    """
    with store.connect(db) as cur:
        return cur.execute(
            "SELECT query_id, doc_id, system, rank, score FROM label_pool WHERE set_id = ?"
            " ORDER BY query_id, system, rank",
            [set_id],
        ).df()


# --------------------------------------------------------------------------- judgements


def _row_to_judgement(r: Sequence[Any]) -> Judgement:
    return Judgement(
        id=int(r[0]), set_id=r[1], query_id=r[2], doc_id=r[3], judge=r[4], kind=r[5],
        grade=int(r[6]), created_at=r[7], model=r[8], prompt_version=r[9],
        raw_score=None if r[10] is None else int(r[10]),
    )


_J_COLS = ("id, set_id, query_id, doc_id, judge, kind, grade, created_at, model, prompt_version,"
           " raw_score")


def _check_grade(grade: object) -> int:
    if isinstance(grade, bool) or not isinstance(grade, int) or grade not in GRADES:
        raise UserError(f"grade must be 0, 1 or 2 (not / partly / highly relevant), got {grade!r}")
    return grade


def record_judgement(
    db: DbPath,
    set_id: str,
    query_id: str,
    doc_id: str,
    judge: str,
    grade: int,
    *,
    kind: str = "human",
    model: str | None = None,
    prompt_version: str | None = None,
    raw_score: int | None = None,
) -> Judgement:
    """Save one judgement at once (its own transaction).

    Args:
        db: DuckDB file.
        set_id: The set.
        query_id: A query of the set.
        doc_id: A document of the set.
        judge: Who judged.
        grade: 0, 1 or 2.
        kind: ``human``, ``llm`` or ``synthetic``.
        model: Chat model (LLM judges).
        prompt_version: Prompt version (LLM judges).
        raw_score: The model's own score.

    Returns:
        The stored judgement.

    Raises:
        UserError: For an unknown set, query or document, a bad grade, kind or judge name.
    """
    judge = check_judge(judge)
    _check_grade(grade)
    if kind not in KINDS:
        raise UserError(f"kind must be one of {', '.join(KINDS)}")
    with store.transaction(db) as cur:
        found = cur.execute(
            "SELECT (SELECT count(*) FROM label_queries WHERE set_id = ? AND query_id = ?),"
            " (SELECT count(*) FROM label_docs WHERE set_id = ? AND doc_id = ?)",
            [set_id, query_id, set_id, doc_id],
        ).fetchall()[0]
        if not found[0]:
            raise UserError(f"label set {set_id!r} has no query {query_id!r}")
        if not found[1]:
            raise UserError(f"label set {set_id!r} has no document {doc_id!r}")
        row = cur.execute(
            "INSERT INTO label_judgements (set_id, query_id, doc_id, judge, kind, grade, created_at, model,"
            f" prompt_version, raw_score) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_J_COLS}",
            [set_id, query_id, doc_id, judge, kind, grade, _now(), model, prompt_version, raw_score],
        ).fetchall()[0]
    return _row_to_judgement(row)


def record_judgements(db: DbPath, set_id: str, rows: pd.DataFrame, judge: str, *, kind: str = "human") -> int:
    """Save many judgements (an import) in one transaction: all or nothing.

    Args:
        db: DuckDB file.
        set_id: The set.
        rows: Columns query_id, doc_id, grade (and optionally model, prompt_version, raw_score).
        judge: Who judged.
        kind: ``human``, ``llm`` or ``synthetic``.

    Returns:
        Rows stored.

    Raises:
        UserError: If a row names an unknown query or document or has a bad grade.
    """
    with store.transaction(db) as cur:
        return insert_judgements(cur, set_id, rows, judge, kind=kind)


def insert_judgements(cur: Any, set_id: str, rows: pd.DataFrame, judge: str, *, kind: str = "human") -> int:
    """:func:`record_judgements` on an open transaction.

    Args:
        cur: A cursor inside :func:`lib.store.transaction`.
        set_id: The set.
        rows: Columns query_id, doc_id, grade (and optionally model, prompt_version, raw_score).
        judge: Who judged.
        kind: ``human``, ``llm`` or ``synthetic``.

    Returns:
        Rows stored.

    Raises:
        UserError: If a row names an unknown query or document or has a bad grade.
    """
    judge = check_judge(judge)
    if kind not in KINDS:
        raise UserError(f"kind must be one of {', '.join(KINDS)}")
    frame = rows.copy()
    for c in ("model", "prompt_version", "raw_score"):
        if c not in frame.columns:
            frame[c] = None
    bad = frame[~frame["grade"].isin(GRADES)]
    if not bad.empty:
        raise UserError(f"grade must be 0, 1 or 2; got {bad['grade'].iloc[0]!r}")
    frame = frame.assign(set_id=set_id, judge=judge, kind=kind, created_at=_now())
    frame["grade"] = frame["grade"].astype("int64")
    frame["raw_score"] = frame["raw_score"].astype("Int64")
    cols = ["set_id", "query_id", "doc_id", "judge", "kind", "grade", "created_at", "model",
            "prompt_version", "raw_score"]
    cur.register("_imp", frame[cols])
    try:
        missing = cur.execute(
            "SELECT i.query_id, i.doc_id, q.query_id IS NULL, d.doc_id IS NULL FROM _imp i"
            " LEFT JOIN label_queries q ON q.set_id = i.set_id AND q.query_id = i.query_id"
            " LEFT JOIN label_docs d ON d.set_id = i.set_id AND d.doc_id = i.doc_id"
            " WHERE q.query_id IS NULL OR d.doc_id IS NULL LIMIT 1"
        ).fetchall()
        if missing:
            q, d, no_q, _ = missing[0]
            what = f"query {q!r}" if no_q else f"document {d!r}"
            raise UserError(f"label set {set_id!r} has no {what}; nothing was imported")
        cur.execute(f"INSERT INTO label_judgements ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _imp")
    finally:
        cur.unregister("_imp")
    return len(frame)


def undo(db: DbPath, set_id: str, judge: str) -> Judgement | None:
    """Delete the judge's latest judgement in the set (their earlier grade, if any, is back).

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: Who is undoing.

    Returns:
        The deleted judgement, or None when the judge has none.
    """
    judge = check_judge(judge)
    with store.transaction(db) as cur:
        rows = cur.execute(
            f"SELECT {_J_COLS} FROM label_judgements WHERE set_id = ? AND judge = ? ORDER BY id DESC LIMIT 1",
            [set_id, judge],
        ).fetchall()
        if not rows:
            return None
        cur.execute("DELETE FROM label_judgements WHERE id = ?", [rows[0][0]])
    return _row_to_judgement(rows[0])


_LATEST = (
    "SELECT * FROM (SELECT j.*, row_number() OVER (PARTITION BY query_id, doc_id, judge ORDER BY id DESC) AS rn"
    " FROM label_judgements j WHERE set_id = ?) WHERE rn = 1"
)


def latest_judgements(db: DbPath, set_id: str, judges: Iterable[str] | None = None) -> pd.DataFrame:
    """Each judge's current grade per pair (their latest judgement).

    Args:
        db: DuckDB file.
        set_id: The set.
        judges: Only these judges (default all).

    Returns:
        Columns id, query_id, doc_id, judge, kind, grade, model, prompt_version, raw_score,
        created_at.
    """
    with store.connect(db) as cur:
        df = cur.execute(
            "SELECT id, query_id, doc_id, judge, kind, grade, model, prompt_version, raw_score, created_at"
            f" FROM ({_LATEST}) ORDER BY id",
            [set_id],
        ).df()
    if judges is not None:
        df = df[df["judge"].isin(list(judges))].reset_index(drop=True)
    return df


def judges(db: DbPath, set_id: str) -> pd.DataFrame:
    """Who judged in the set.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        Columns judge, kind, model, prompt_version, n_pairs (pairs with a current grade).
    """
    with store.connect(db) as cur:
        return cur.execute(
            "SELECT judge, any_value(kind) AS kind, any_value(model) AS model,"
            " any_value(prompt_version) AS prompt_version, count(*) AS n_pairs"
            f" FROM ({_LATEST}) GROUP BY judge ORDER BY min(id)",
            [set_id],
        ).df()


def progress(db: DbPath, set_id: str) -> pd.DataFrame:
    """Judging progress on the pool, per judge.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        Columns judge, kind, judged (pooled pairs graded), total (pool size), share,
        queries_done (queries whose whole pool is graded), n_queries (queries with a pool),
        outside_pool (pairs graded that are not pooled).
    """
    with store.connect(db) as cur:
        df = cur.execute(
            "WITH p AS (SELECT DISTINCT query_id, doc_id FROM label_pool WHERE set_id = ?),"
            f" l AS ({_LATEST}),"
            " per_q AS (SELECT l.judge, p.query_id, count(*) AS n FROM p JOIN l USING (query_id, doc_id)"
            "           GROUP BY l.judge, p.query_id),"
            " sizes AS (SELECT query_id, count(*) AS n FROM p GROUP BY query_id)"
            " SELECT l.judge, any_value(l.kind) AS kind,"
            "  count(*) FILTER (WHERE p.query_id IS NOT NULL) AS judged,"
            "  (SELECT count(*) FROM p) AS total,"
            "  (SELECT count(*) FROM per_q JOIN sizes USING (query_id) WHERE per_q.judge = l.judge"
            "     AND per_q.n = sizes.n) AS queries_done,"
            "  (SELECT count(*) FROM sizes) AS n_queries,"
            "  count(*) FILTER (WHERE p.query_id IS NULL) AS outside_pool"
            " FROM l LEFT JOIN p USING (query_id, doc_id) GROUP BY l.judge ORDER BY min(l.id)",
            [set_id, set_id],
        ).df()
    df["share"] = df["judged"] / df["total"].where(df["total"] > 0)
    return df[["judge", "kind", "judged", "total", "share", "queries_done", "n_queries", "outside_pool"]]


def judge_progress(db: DbPath, set_id: str, judge: str) -> tuple[int, int]:
    """One judge's progress on the pool, cheaply (what a judging page shows after every click).

    The same numbers as :func:`progress`'s ``judged`` and ``total`` for that judge, without
    the per-query and per-judge breakdown.

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: The judge.

    Returns:
        (pooled pairs the judge has graded, pooled pairs).
    """
    with store.connect(db) as cur:
        row = cur.execute(
            "WITH p AS (SELECT DISTINCT query_id, doc_id FROM label_pool WHERE set_id = ?),"
            " j AS (SELECT DISTINCT query_id, doc_id FROM label_judgements WHERE set_id = ? AND judge = ?)"
            " SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM p JOIN j USING (query_id, doc_id))",
            [set_id, set_id, judge],
        ).fetchall()[0]
    return int(row[1]), int(row[0])


def next_query(db: DbPath, set_id: str, judge: str, exclude: Iterable[str] = ()) -> str | None:
    """Where the judge resumes: the first query (input order) with a pooled pair they have not graded.

    Args:
        db: DuckDB file.
        set_id: The set.
        judge: Who is judging.
        exclude: Query ids to pass over (skipped in this session).

    Returns:
        The query id, or None when every pooled pair is graded (or skipped).
    """
    judge = check_judge(judge)
    skip = list(exclude)
    with store.connect(db) as cur:
        rows = cur.execute(
            "SELECT q.query_id FROM label_queries q"
            " WHERE q.set_id = ? AND NOT list_contains(?::VARCHAR[], q.query_id) AND EXISTS ("
            "   SELECT 1 FROM label_pool p WHERE p.set_id = q.set_id AND p.query_id = q.query_id"
            "   AND NOT EXISTS (SELECT 1 FROM label_judgements j WHERE j.set_id = p.set_id"
            "                   AND j.query_id = p.query_id AND j.doc_id = p.doc_id AND j.judge = ?))"
            " ORDER BY q.position LIMIT 1",
            [set_id, skip, judge],
        ).fetchall()
    return str(rows[0][0]) if rows else None


def shuffle_key(set_id: str, judge: str, query_id: str, doc_id: str) -> str:
    """The stable blind order of a candidate (the same after a reload, different per judge).

    Args:
        set_id: The set.
        judge: The judge.
        query_id: The query.
        doc_id: The document.

    Returns:
        A hex key; candidates are shown in increasing key order.
    """
    return hashlib.sha256(f"{set_id}\x1f{judge}\x1f{query_id}\x1f{doc_id}".encode()).hexdigest()


def candidates(db: DbPath, set_id: str, query_id: str, judge: str) -> pd.DataFrame:
    """One query's pooled documents for blind judging, in the judge's shuffled order.

    No system names or ranks are returned, so a page cannot show which model found what.

    Args:
        db: DuckDB file.
        set_id: The set.
        query_id: The query.
        judge: Who is judging (their current grades are included).

    Returns:
        Columns doc_id, text, grade (the judge's current grade, or <NA>).
    """
    judge = check_judge(judge)
    with store.connect(db) as cur:
        df = cur.execute(
            "WITH l AS (SELECT query_id, doc_id, grade FROM (SELECT j.*, row_number() OVER"
            "   (PARTITION BY doc_id ORDER BY id DESC) AS rn FROM label_judgements j"
            "   WHERE set_id = ? AND query_id = ? AND judge = ?) WHERE rn = 1)"
            " SELECT DISTINCT p.doc_id, d.text, l.grade FROM label_pool p"
            " JOIN label_docs d ON d.set_id = p.set_id AND d.doc_id = p.doc_id"
            " LEFT JOIN l ON l.doc_id = p.doc_id"
            " WHERE p.set_id = ? AND p.query_id = ?",
            [set_id, query_id, judge, set_id, query_id],
        ).df()
    df["grade"] = df["grade"].astype("Int64")
    keys = [shuffle_key(set_id, judge, query_id, d) for d in df["doc_id"]]
    return df.assign(_k=keys).sort_values("_k").drop(columns="_k").reset_index(drop=True)


def resolved_grades(
    db: DbPath, set_id: str, judges_: Sequence[str] | None = None
) -> pd.DataFrame:
    """One grade per judged pair, choosing between judges.

    With ``judges_`` the first judge in that list who graded a pair decides it. Without,
    people decide over synthetic sources over LLMs (:data:`KIND_PRIORITY`), and within a
    kind the most recent judgement wins.

    Args:
        db: DuckDB file.
        set_id: The set.
        judges_: Judges in order of precedence (others are ignored), or None.

    Returns:
        Columns query_id, doc_id, grade, judge, kind.
    """
    df = latest_judgements(db, set_id)
    if judges_ is not None:
        order = {j: i for i, j in enumerate(judges_)}
        unknown = [j for j in judges_ if j not in set(df["judge"])]
        if unknown:
            raise UserError(f"label set {set_id!r} has no judgements by {', '.join(map(repr, unknown))}")
        df = df[df["judge"].isin(order)].assign(_p=df["judge"].map(order), _t=0)
    else:
        prio = {k: i for i, k in enumerate(KIND_PRIORITY)}
        df = df.assign(_p=df["kind"].map(prio), _t=-df["id"])
    df = df.sort_values(["query_id", "doc_id", "_p", "_t"]).drop_duplicates(["query_id", "doc_id"])
    return df[["query_id", "doc_id", "grade", "judge", "kind"]].reset_index(drop=True)


def delete_set(db: DbPath, set_id: str) -> None:
    """Delete a set with its pool and judgements, atomically (the LLM cache is kept).

    Args:
        db: DuckDB file.
        set_id: The set.
    """
    get_set(db, set_id)
    with store.transaction(db) as cur:
        for table in ("label_judgements", "label_pool", "label_pool_systems", "label_queries", "label_docs",
                      "label_sets"):
            cur.execute(f"DELETE FROM {table} WHERE set_id = ?", [set_id])
