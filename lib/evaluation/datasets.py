"""Load and validate an evaluation dataset: corpus, queries and relevance judgements.

Accepted inputs (:func:`load_dataset` picks the reader from the path):

* a BEIR folder or ``.zip`` of one: ``corpus.jsonl`` (``_id``, optional ``title``,
  ``text``), ``queries.jsonl`` (``_id``, ``text``), ``qrels/<split>.tsv``
  (``query-id``, ``corpus-id``, ``score``; header optional; TREC's four-column form
  ``qid 0 docid rel`` also works). ``corpus``/``queries`` may also be ``.csv``/``.tsv``
  and qrels ``.csv``/``.jsonl`` or a single ``qrels.<ext>`` beside them;
* three separate files through :func:`load_files` (CSV, TSV or JSONL each);
* one CSV/TSV/JSONL of (query, relevant document) pairs (:func:`load_pairs`), from which
  corpus, queries and qrels are built (columns ``query`` and ``document``, or the
  aliases listed in ``_PAIR_QUERY`` / ``_PAIR_DOC``; optional ``query_id``, ``doc_id``,
  ``title``).

Documents are embedded as ``(title + " " + text).strip()`` when a title exists, else
``text.strip()`` — exactly what mteb does, so scores are comparable with MTEB.

Every problem raises :class:`DatasetError` naming the file, line and field, with a
``kind`` (``encoding``, ``too_large``, ``line_too_long``, ``parse``, ``missing_field``,
``empty_text``, ``duplicate_id``, ``dangling_qrel``, ``bad_score``, ``no_judgements``,
``missing_file``, ``too_many``). Validation finishes before anything is stored, so an
invalid input never leaves a trace in the database.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lib.errors import UserError

_ID_FIELDS = ("_id", "id")
_QREL_Q = ("query-id", "query_id", "qid", "query")
_QREL_D = ("corpus-id", "corpus_id", "doc_id", "docid", "doc-id", "document_id")
_PAIR_QUERY = ("query", "question", "anchor", "query_text")
_PAIR_DOC = ("document", "relevant_document", "positive", "passage", "doc", "text", "answer")
_TEXT_EXTS = (".jsonl", ".csv", ".tsv")


@dataclass(frozen=True)
class Limits:
    """Size limits checked while reading (defaults suit an interactive app).

    Attributes:
        max_file_bytes: Largest accepted file (or zip member), in bytes.
        max_line_chars: Longest accepted line, in characters.
        max_documents: Most documents in a corpus.
        max_queries: Most queries.
        max_zip_members: Most files inside a zip.
    """

    max_file_bytes: int = 512 * 1024 * 1024
    max_line_chars: int = 1_000_000
    max_documents: int = 2_000_000
    max_queries: int = 200_000
    max_zip_members: int = 10_000


class DatasetError(UserError):
    """An input file is invalid; the message names the file, line and field.

    Attributes:
        kind: A short machine-readable category (see the module docstring).
        path: The file (or zip member) at fault.
        line: 1-based line number, or None when the problem is not on one line.
        field: The field at fault, or None.
    """

    def __init__(
        self,
        kind: str,
        path: str,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        where = path + (f", line {line}" if line is not None else "")
        where += f", field '{field}'" if field else ""
        super().__init__(f"{where}: {message}")
        self.kind = kind
        self.path = path
        self.line = line
        self.field = field


@dataclass(frozen=True)
class Dataset:
    """A validated retrieval dataset, ready to embed.

    Attributes:
        name: A short display name (folder or file stem).
        source: Where it was read from.
        doc_ids: Document ids, in file order.
        doc_texts: Text to embed per document (title joined as mteb does).
        query_ids: Query ids that have at least one positive judgement, in file order.
        query_texts: Their texts.
        qrels: ``{query_id: {doc_id: relevance}}`` for those queries.
        fingerprint: sha256 over the canonical content (ids, texts, judgements).
        dropped_queries: Queries in the file without any positive judgement (not used).
    """

    name: str
    source: str
    doc_ids: tuple[str, ...]
    doc_texts: tuple[str, ...]
    query_ids: tuple[str, ...]
    query_texts: tuple[str, ...]
    qrels: Mapping[str, Mapping[str, int]]
    fingerprint: str
    dropped_queries: int = 0
    split: str = "test"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_qrels(self) -> int:
        """Number of (query, document) judgements."""
        return sum(len(v) for v in self.qrels.values())

    def subset(self, query_ids: list[str], extra_docs: int = 0) -> Dataset:
        """A smaller dataset: the given queries, their judged documents and distractors.

        Args:
            query_ids: Queries to keep (must exist).
            extra_docs: How many other documents (the first ones in file order) to add.

        Returns:
            A new validated :class:`Dataset` with its own fingerprint.
        """
        keep_q = [q for q in self.query_ids if q in set(query_ids)]
        qtext = dict(zip(self.query_ids, self.query_texts, strict=True))
        judged = {d for q in keep_q for d in self.qrels[q]}
        docs: list[tuple[str, str]] = []
        added = 0
        for d, t in zip(self.doc_ids, self.doc_texts, strict=True):
            if d in judged:
                docs.append((d, t))
            elif added < extra_docs:
                docs.append((d, t))
                added += 1
        qrels = {q: dict(self.qrels[q]) for q in keep_q}
        return _build(
            f"{self.name}-subset",
            self.source,
            docs,
            [(q, qtext[q]) for q in keep_q],
            qrels,
            split=self.split,
        )


def _fingerprint(
    docs: list[tuple[str, str]], queries: list[tuple[str, str]], qrels: Mapping[str, Mapping[str, int]]
) -> str:
    h = hashlib.sha256()
    for part in (docs, queries):
        for i, t in part:
            h.update(i.encode() + b"\x1f" + t.encode() + b"\x1e")
        h.update(b"\x1d")
    for q in sorted(qrels):
        for d in sorted(qrels[q]):
            h.update(f"{q}\x1f{d}\x1f{qrels[q][d]}\x1e".encode())
    return h.hexdigest()


def _build(
    name: str,
    source: str,
    docs: list[tuple[str, str]],
    queries: list[tuple[str, str]],
    qrels: dict[str, dict[str, int]],
    *,
    split: str,
    dropped: int = 0,
    notes: tuple[str, ...] = (),
) -> Dataset:
    return Dataset(
        name=name,
        source=source,
        doc_ids=tuple(d for d, _ in docs),
        doc_texts=tuple(t for _, t in docs),
        query_ids=tuple(q for q, _ in queries),
        query_texts=tuple(t for _, t in queries),
        qrels=qrels,
        fingerprint=_fingerprint(docs, queries, qrels),
        dropped_queries=dropped,
        split=split,
        notes=notes,
    )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Source:
    """One file's bytes and the name to use in messages."""

    label: str
    data: bytes

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.label).suffix.lower()


def _read_file(path: Path, limits: Limits) -> _Source:
    if not path.is_file():
        raise DatasetError("missing_file", str(path), "file not found")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise DatasetError(
            "too_large",
            str(path),
            f"file is {size:,} bytes; the limit is {limits.max_file_bytes:,}. "
            "Use a smaller sample of your data.",
        )
    return _Source(str(path), path.read_bytes())


def _decode(src: _Source) -> str:
    try:
        return src.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = src.data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(
            "encoding",
            src.label,
            f"not valid UTF-8 (byte 0x{src.data[exc.start]:02x} at offset {exc.start}). "
            "Save the file as UTF-8 and try again.",
            line=line,
        ) from exc


def _lines(src: _Source, limits: Limits) -> Iterator[tuple[int, str]]:
    """Non-empty lines with 1-based numbers, after encoding and length checks."""
    text = _decode(src)
    if not text.strip():
        raise DatasetError("parse", src.label, "the file is empty")
    for n, line in enumerate(text.splitlines(), start=1):
        if len(line) > limits.max_line_chars:
            raise DatasetError(
                "line_too_long",
                src.label,
                f"line has {len(line):,} characters; the limit is {limits.max_line_chars:,}",
                line=n,
            )
        if line.strip():
            yield n, line


def _records(src: _Source, limits: Limits, *, header_optional: bool = False) -> Iterator[
    tuple[int, dict[str, object]]
]:
    """Rows as dicts with line numbers, from JSONL, CSV or TSV."""
    if src.suffix == ".jsonl" or src.suffix == ".json":
        for n, line in _lines(src, limits):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError("parse", src.label, f"invalid JSON: {exc.msg}", line=n) from exc
            if not isinstance(obj, dict):
                raise DatasetError("parse", src.label, "each line must be a JSON object", line=n)
            yield n, obj
        return
    if src.suffix not in (".csv", ".tsv", ".txt"):
        raise DatasetError(
            "parse", src.label, "unsupported file type; use .jsonl, .csv or .tsv"
        )
    delim = "\t" if src.suffix in (".tsv", ".txt") else ","
    numbered = list(_lines(src, limits))
    # csv needs whole text for quoted newlines; map csv line numbers back to file lines.
    text = _decode(src)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    header: list[str] | None = None
    try:
        for row in reader:
            n = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if header is None:
                header = [c.strip() for c in row]
                continue
            if len(row) != len(header):
                raise DatasetError(
                    "parse",
                    src.label,
                    f"{len(row)} columns, but the header has {len(header)} ({', '.join(header)})",
                    line=n,
                )
            yield n, dict(zip(header, row, strict=True))
    except csv.Error as exc:
        raise DatasetError("parse", src.label, f"CSV error: {exc}", line=reader.line_num) from exc
    if header is None and numbered:
        raise DatasetError("parse", src.label, "no header row")


def _field(
    src: _Source, n: int, row: Mapping[str, object], names: tuple[str, ...], *, required: bool
) -> str | None:
    for name in names:
        if name in row and row[name] is not None:
            value = row[name]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise DatasetError(
                    "parse", src.label, f"must be a string, got {type(value).__name__}",
                    line=n, field=name,
                )
            return str(value)
    if required:
        raise DatasetError(
            "missing_field",
            src.label,
            f"missing (expected one of: {', '.join(names)})",
            line=n,
            field=names[0],
        )
    return None


def _read_docs(src: _Source, limits: Limits) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    docs: list[tuple[str, str]] = []
    for n, row in _records(src, limits):
        did = _field(src, n, row, _ID_FIELDS, required=True)
        assert did is not None
        if not did.strip():
            raise DatasetError("missing_field", src.label, "document id is empty", line=n, field="_id")
        if did in seen:
            raise DatasetError(
                "duplicate_id", src.label,
                f"duplicate document id {did!r} (first on line {seen[did]})", line=n, field="_id",
            )
        seen[did] = n
        text = _field(src, n, row, ("text",), required=True) or ""
        title = _field(src, n, row, ("title",), required=False)
        # The same join as mteb, so scores compare with MTEB's.
        full = (title + " " + text).strip() if title else text.strip()
        if not full:
            raise DatasetError(
                "empty_text", src.label, f"document {did!r} has no title or text",
                line=n, field="text",
            )
        docs.append((did, full))
        if len(docs) > limits.max_documents:
            raise DatasetError(
                "too_many", src.label, f"more than {limits.max_documents:,} documents", line=n
            )
    return docs


def _read_queries(src: _Source, limits: Limits) -> list[tuple[str, str, int]]:
    seen: dict[str, int] = {}
    out: list[tuple[str, str, int]] = []
    for n, row in _records(src, limits):
        qid = _field(src, n, row, _ID_FIELDS, required=True)
        assert qid is not None
        if not qid.strip():
            raise DatasetError("missing_field", src.label, "query id is empty", line=n, field="_id")
        if qid in seen:
            raise DatasetError(
                "duplicate_id", src.label,
                f"duplicate query id {qid!r} (first on line {seen[qid]})", line=n, field="_id",
            )
        seen[qid] = n
        text = (_field(src, n, row, ("text", "query"), required=True) or "").strip()
        if not text:
            raise DatasetError(
                "empty_text", src.label, f"query {qid!r} has no text", line=n, field="text"
            )
        out.append((qid, text, n))
        if len(out) > limits.max_queries:
            raise DatasetError(
                "too_many", src.label, f"more than {limits.max_queries:,} queries", line=n
            )
    return out


def _parse_score(src: _Source, n: int, raw: str) -> int:
    try:
        value = float(raw)
    except ValueError as exc:
        raise DatasetError(
            "bad_score", src.label, f"relevance {raw!r} is not a number", line=n, field="score"
        ) from exc
    if value != int(value):
        raise DatasetError(
            "bad_score", src.label, f"relevance {raw!r} must be an integer grade",
            line=n, field="score",
        )
    return int(value)


def _read_qrels(src: _Source, limits: Limits) -> list[tuple[str, str, int, int]]:
    """(query id, doc id, score, line) rows; TSV header optional, TREC 4-column accepted."""
    rows: list[tuple[str, str, int, int]] = []
    if src.suffix in (".tsv", ".txt"):
        first = True
        for n, line in _lines(src, limits):
            is_first, first = first, False
            parts = line.split("\t") if "\t" in line else line.split()
            parts = [p.strip() for p in parts]
            if len(parts) == 4:  # TREC: qid iteration docid rel
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) == 2:
                parts.append("1")
            if len(parts) != 3:
                raise DatasetError(
                    "parse", src.label,
                    f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(parts)}",
                    line=n,
                )
            if is_first and parts[0].lower() in _QREL_Q:
                continue  # header row
            if not parts[0] or not parts[1]:
                raise DatasetError("missing_field", src.label, "empty id", line=n,
                                   field="query-id" if not parts[0] else "corpus-id")
            rows.append((parts[0], parts[1], _parse_score(src, n, parts[2]), n))
    else:
        for n, row in _records(src, limits):
            q = _field(src, n, row, _QREL_Q, required=True)
            d = _field(src, n, row, _QREL_D, required=True)
            assert q is not None and d is not None
            raw = row.get("score", 1)
            rows.append((q, d, _parse_score(src, n, str(raw)), n))
    if not rows:
        raise DatasetError("no_judgements", src.label, "no relevance judgements found")
    return rows


def _assemble(
    name: str,
    source: str,
    doc_src: _Source,
    docs: list[tuple[str, str]],
    q_src: _Source,
    queries: list[tuple[str, str, int]],
    qrel_src: _Source,
    qrel_rows: list[tuple[str, str, int, int]],
    split: str,
) -> Dataset:
    doc_ids = {d for d, _ in docs}
    q_ids = {q for q, _, _ in queries}
    qrels: dict[str, dict[str, int]] = {}
    first: dict[tuple[str, str], int] = {}
    for q, d, s, n in qrel_rows:
        if q not in q_ids:
            raise DatasetError(
                "dangling_qrel", qrel_src.label,
                f"query id {q!r} is not in {q_src.label}", line=n, field="query-id",
            )
        if d not in doc_ids:
            raise DatasetError(
                "dangling_qrel", qrel_src.label,
                f"document id {d!r} is not in {doc_src.label}", line=n, field="corpus-id",
            )
        if (q, d) in first:
            raise DatasetError(
                "duplicate_id", qrel_src.label,
                f"judgement ({q!r}, {d!r}) repeats line {first[(q, d)]}", line=n,
            )
        first[(q, d)] = n
        qrels.setdefault(q, {})[d] = s
    # Queries without any positive judgement cannot be scored (mteb drops them too).
    positive = {q for q, ds in qrels.items() if any(v > 0 for v in ds.values())}
    kept = [(q, t) for q, t, _ in queries if q in positive]
    if not kept:
        raise DatasetError(
            "no_judgements", qrel_src.label, "no query has a positive judgement (score > 0)"
        )
    qrels = {q: qrels[q] for q, _ in kept}
    return _build(
        name, source, docs, kept, qrels, split=split, dropped=len(queries) - len(kept)
    )


# --------------------------------------------------------------------------- entry points


def load_files(
    corpus: str | Path,
    queries: str | Path,
    qrels: str | Path,
    *,
    split: str = "test",
    limits: Limits | None = None,
    name: str | None = None,
) -> Dataset:
    """Read and validate separate corpus, queries and qrels files.

    Args:
        corpus: Corpus file (``.jsonl``, ``.csv`` or ``.tsv``).
        queries: Queries file.
        qrels: Judgements file (``.tsv`` with or without header, ``.csv`` or ``.jsonl``).
        split: Recorded split name.
        limits: Size limits.
        name: Display name (defaults to the corpus file's folder name).

    Returns:
        The dataset.

    Raises:
        DatasetError: On any invalid content.
    """
    lim = limits or Limits()
    c, q, r = (_read_file(Path(p), lim) for p in (corpus, queries, qrels))
    return _from_sources(
        name or Path(corpus).resolve().parent.name, str(Path(corpus).parent), c, q, r, split, lim
    )


def _from_sources(
    name: str, source: str, c: _Source, q: _Source, r: _Source, split: str, lim: Limits
) -> Dataset:
    docs = _read_docs(c, lim)
    queries = _read_queries(q, lim)
    rows = _read_qrels(r, lim)
    return _assemble(name, source, c, docs, q, queries, r, rows, split)


def load_pairs(
    path: str | Path, *, limits: Limits | None = None, name: str | None = None
) -> Dataset:
    """Build a dataset from one file of (query, relevant document) pairs.

    Identical query texts become one query; identical document texts one document.
    Ids come from ``query_id``/``doc_id`` columns when present, else ``q1``, ``d1``, …

    Args:
        path: A ``.csv``, ``.tsv`` or ``.jsonl`` file.
        limits: Size limits.
        name: Display name (defaults to the file stem).

    Returns:
        The dataset (every pair is a judgement with relevance 1).

    Raises:
        DatasetError: On any invalid content.
    """
    lim = limits or Limits()
    src = _read_file(Path(path), lim)
    return _pairs_from_source(src, name or Path(path).stem, str(path), lim)


def _pairs_from_source(src: _Source, name: str, source: str, lim: Limits) -> Dataset:
    q_by_text: dict[str, str] = {}
    d_by_text: dict[str, str] = {}
    q_text_by_id: dict[str, tuple[str, int]] = {}
    d_text_by_id: dict[str, tuple[str, int]] = {}
    queries: list[tuple[str, str]] = []
    docs: list[tuple[str, str]] = []
    qrels: dict[str, dict[str, int]] = {}
    for n, row in _records(src, lim):
        qt = (_field(src, n, row, _PAIR_QUERY, required=True) or "").strip()
        dt_raw = _field(src, n, row, _PAIR_DOC, required=True) or ""
        title = _field(src, n, row, ("title",), required=False)
        dt = (title + " " + dt_raw).strip() if title else dt_raw.strip()
        if not qt:
            raise DatasetError("empty_text", src.label, "query text is empty", line=n, field="query")
        if not dt:
            raise DatasetError(
                "empty_text", src.label, "document text is empty", line=n, field="document"
            )
        qid = _field(src, n, row, ("query_id", "query-id", "qid"), required=False)
        did = _field(src, n, row, ("doc_id", "corpus-id", "corpus_id", "document_id"),
                     required=False)
        if qid is None:
            qid = q_by_text.get(qt) or f"q{len(q_by_text) + 1}"
        if did is None:
            did = d_by_text.get(dt) or f"d{len(d_by_text) + 1}"
        for kind, ident, text, table, out in (
            ("query", qid, qt, q_text_by_id, queries),
            ("document", did, dt, d_text_by_id, docs),
        ):
            if ident in table:
                if table[ident][0] != text:
                    raise DatasetError(
                        "duplicate_id", src.label,
                        f"{kind} id {ident!r} has a different text than on line {table[ident][1]}",
                        line=n,
                    )
            else:
                table[ident] = (text, n)
                out.append((ident, text))
        q_by_text.setdefault(qt, qid)
        d_by_text.setdefault(dt, did)
        qrels.setdefault(qid, {})[did] = 1
        if len(docs) > lim.max_documents or len(queries) > lim.max_queries:
            raise DatasetError("too_many", src.label, "too many documents or queries", line=n)
    if not queries:
        raise DatasetError("no_judgements", src.label, "no pairs found")
    return _build(name, source, docs, queries, qrels, split="pairs")


def _find(names: dict[str, bytes | Path], stem: str) -> str | None:
    for ext in _TEXT_EXTS:
        if stem + ext in names:
            return stem + ext
    return None


def _from_members(
    members: dict[str, bytes | Path], label: str, name: str, split: str, lim: Limits
) -> Dataset:
    """Resolve BEIR-layout members (relative posix names → bytes or file paths)."""
    corpus = _find(members, "corpus")
    queries = _find(members, "queries")
    qrels: str | None = None
    for cand in (f"qrels/{split}.tsv", f"qrels/{split}.csv", f"qrels/{split}.jsonl"):
        if cand in members:
            qrels = cand
            break
    qrels = qrels or _find(members, "qrels")
    missing = [
        what
        for what, hit in (
            ("corpus.jsonl (or .csv/.tsv)", corpus),
            ("queries.jsonl (or .csv/.tsv)", queries),
            (f"qrels/{split}.tsv", qrels),
        )
        if hit is None
    ]
    if missing:
        available = sorted(m for m in members if m.startswith("qrels/"))
        hint = f" (qrels found: {', '.join(available)}; pick one with split)" if available else ""
        raise DatasetError(
            "missing_file", label, f"missing {', '.join(missing)}{hint}"
        )
    assert corpus and queries and qrels

    def src(member: str) -> _Source:
        value = members[member]
        if isinstance(value, Path):
            return _read_file(value, lim)
        return _Source(f"{label}/{member}", value)

    return _from_sources(name, label, src(corpus), src(queries), src(qrels), split, lim)


def _read_zip(path: Path, split: str, lim: Limits) -> Dataset:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise DatasetError("parse", str(path), "not a valid zip file") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > lim.max_zip_members:
            raise DatasetError("too_many", str(path), f"more than {lim.max_zip_members} files")
        names = [i.filename for i in infos if "__MACOSX" not in i.filename]
        # Accept one top-level folder (the usual `scifact.zip` → `scifact/...`).
        prefix = ""
        if not any(n.startswith("corpus.") for n in names):
            tops = {n.split("/", 1)[0] for n in names if "/" in n}
            for top in sorted(tops):
                if any(n.startswith(f"{top}/corpus.") for n in names):
                    prefix = top + "/"
                    break
        wanted = {
            n[len(prefix):]: n
            for n in names
            if n.startswith(prefix)
            and (n[len(prefix):].split("/", 1)[0] in ("qrels",)
                 or n[len(prefix):].startswith(("corpus.", "queries.", "qrels.")))
        }
        members: dict[str, bytes | Path] = {}
        for rel, full in wanted.items():
            size = zf.getinfo(full).file_size
            if size > lim.max_file_bytes:
                raise DatasetError(
                    "too_large", f"{path}/{full}",
                    f"{size:,} bytes uncompressed; the limit is {lim.max_file_bytes:,}",
                )
            members[rel] = zf.read(full)
    return _from_members(members, str(path), (prefix.rstrip("/") or path.stem), split, lim)


def load_dataset(path: str | Path, *, split: str = "test", limits: Limits | None = None) -> Dataset:
    """Read and validate a dataset from a BEIR folder, a zip, or a pairs file.

    Args:
        path: A folder (BEIR layout), a ``.zip`` of one, or a single pairs file
            (``.csv``, ``.tsv``, ``.jsonl``).
        split: Which ``qrels/<split>.tsv`` to use for BEIR layouts.
        limits: Size limits.

    Returns:
        The validated dataset.

    Raises:
        DatasetError: On any invalid content (file, line and field in the message).
    """
    lim = limits or Limits()
    p = Path(path).expanduser()
    if p.is_dir():
        members: dict[str, bytes | Path] = {}
        for child in p.iterdir():
            if child.is_file():
                members[child.name] = child
        qdir = p / "qrels"
        if qdir.is_dir():
            for child in qdir.iterdir():
                if child.is_file():
                    members[f"qrels/{child.name}"] = child
        return _from_members(members, str(p), p.resolve().name, split, lim)
    if not p.exists():
        raise DatasetError("missing_file", str(p), "no such file or folder")
    if p.suffix.lower() == ".zip":
        return _read_zip(p, split, lim)
    if p.suffix.lower() in (*_TEXT_EXTS, ".json"):
        return load_pairs(p, limits=lim)
    raise DatasetError(
        "parse", str(p),
        "expected a BEIR folder, a .zip of one, or a .csv/.tsv/.jsonl file of (query, document) pairs",
    )
