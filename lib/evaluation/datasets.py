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
``kind``: ``encoding`` (not UTF-8; the message names the likely encoding), ``binary`` (a
zip/gzip/PDF/… or NUL bytes under a text name), ``empty_file`` (no bytes, only blank lines,
or only a header), ``too_large``, ``line_too_long``, ``parse`` (JSON/CSV syntax, bare CR
line endings, damaged zip members), ``missing_field``, ``empty_text``, ``duplicate_id``,
``dangling_qrel``, ``bad_score`` (not a finite, non-negative integer grade),
``no_judgements``, ``missing_file``, ``too_many``, ``ambiguous`` (two candidate files or
datasets), ``unsafe_zip`` (a member path leaving the zip's folder) and ``zip_bomb``.
Validation finishes before anything is stored, so an invalid input never leaves a trace in
the database.

Odd but valid input is accepted: a UTF-8 byte-order mark (what Excel writes) is stripped,
CRLF line endings are read like LF, extra columns are ignored, and a zip whose files sit in
one folder (``scifact/corpus.jsonl``) loads. Files are streamed line by line with a byte cap
per line, so a single 50 MB line is refused after reading a few MB; zip members are checked
against the limits (size, compression ratio) before a byte is decompressed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TypeVar

from lib.config import get_settings
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
        max_documents: Most documents in a corpus (default: the ``EMS_MAX_DOCUMENTS`` setting,
            2,000,000 unless set; read when the limits are made).
        max_queries: Most queries.
        max_zip_members: Most files inside a zip.
    """

    max_file_bytes: int = 512 * 1024 * 1024
    max_line_chars: int = 1_000_000
    max_documents: int = field(default_factory=lambda: get_settings().max_documents)
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
        # One printable line: messages quote file names and ids from the user's data, which
        # may hold newlines or terminal escape codes (the CLI prints exactly one line).
        super().__init__(_printable(f"{where}: {message}"))
        self.kind = kind
        self.path = path
        self.line = line
        self.field = field


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


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


    def restrict(self, keep: Sequence[int], name: str) -> Dataset:
        """The same queries and judgements over fewer documents (a quick estimate's corpus).

        Args:
            keep: Indices of the documents to keep, in corpus order.
            name: The new dataset's name.

        Returns:
            A new :class:`Dataset` with its own fingerprint; judgements of removed documents are dropped.
        """
        docs = [(self.doc_ids[i], self.doc_texts[i]) for i in keep]
        kept = {d for d, _ in docs}
        qrels = {q: {d: g for d, g in self.qrels[q].items() if d in kept} for q in self.query_ids}
        return _build(name, self.source, docs, list(zip(self.query_ids, self.query_texts, strict=True)), qrels,
                      split=self.split, dropped=self.dropped_queries, notes=self.notes)


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
    """One file (or zip member): the name to use in messages and how to open it.

    Sources are opened, not read: every reader streams lines, so a huge file costs one
    bounded buffer rather than its whole size in memory (several times over, once decoded).
    """

    label: str
    size: int
    opener: Callable[[], IO[bytes]]

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.label).suffix.lower()

    def open(self) -> IO[bytes]:
        return self.opener()


def _too_large(label: str, size: int, limits: Limits) -> DatasetError:
    return DatasetError(
        "too_large",
        label,
        f"{size:,} bytes; the limit is {limits.max_file_bytes:,}. Use a smaller sample of your data.",
    )


def _read_file(path: Path, limits: Limits) -> _Source:
    if not path.is_file():
        raise DatasetError("missing_file", str(path), "file not found")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _too_large(str(path), size, limits)
    return _Source(str(path), size, lambda: path.open("rb"))


# The first bytes of formats people save by mistake under a text name.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)",
     "upload a BEIR zip as the whole dataset, or save a spreadsheet as CSV UTF-8"),
    (b"\x1f\x8b", "gzip-compressed", "decompress it first (gunzip)"),
    (b"BZh", "bzip2-compressed", "decompress it first"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it first"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and upload the files"),
    (b"%PDF", "a PDF document", "export the text as CSV or JSONL"),
    (b"\x89PNG", "a PNG image", "upload text data"),
    (b"\xff\xd8\xff", "a JPEG image", "upload text data"),
    (b"PAR1", "a Parquet file", "export it as JSONL or CSV"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.xls/.doc)", "save it as CSV UTF-8"),
    (b"SQLite format 3\x00", "a SQLite database", "export the tables as CSV or JSONL"),
    (b"\x7fELF", "a program", "upload text data"),
)
# Byte-order marks of encodings we do not read (longest first: UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
_SNIFF_BYTES = 8192
# Control bytes that text files do not contain (tab, LF, FF and CR are fine).
_CONTROL = frozenset(range(32)) - {9, 10, 12, 13}


def _sniff(src: _Source) -> None:
    """Refuse, with a reason, files that are not UTF-8 text at all (before parsing them).

    A parser fed UTF-16 or a gzip file reports a confusing error on line 1; naming the
    real format tells the user what to do.
    """
    with src.open() as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head:
        raise DatasetError("empty_file", src.label, "the file is empty (0 bytes)")
    for bom, enc in _BOMS:
        if head.startswith(bom):
            raise DatasetError(
                "encoding", src.label,
                f"the file is {enc} text (it starts with a {enc} byte-order mark); save it as UTF-8 and try again",
            )
    for magic, what, hint in _MAGIC:
        if head.startswith(magic):
            raise DatasetError("binary", src.label, f"this is {what}, not a UTF-8 text file; {hint}")
    half = len(head) // 2
    if half >= 2:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        # ASCII text in UTF-16 has a 0x00 beside every character; a stray NUL does not.
        if (odd >= 0.3 * half and even <= 0.05 * half) or (even >= 0.3 * half and odd <= 0.05 * half):
            raise DatasetError(
                "encoding", src.label,
                "this looks like UTF-16 text without a byte-order mark (every other byte is 0x00); "
                "save it as UTF-8 and try again",
            )
    control = sum(1 for b in head if b in _CONTROL)
    if control >= 4 and control >= 0.03 * len(head):
        raise DatasetError(
            "binary", src.label,
            f"this looks like a binary file, not text ({control} control bytes in the first {len(head):,}); "
            "upload UTF-8 JSONL, CSV or TSV",
        )


def _guess_encoding(raw: bytes) -> str:
    """A hint for the usual suspects, from the offending line's bytes."""
    try:
        text = raw.decode("shift_jis")
    except UnicodeDecodeError:
        text = ""
    # Japanese prose is full of hiragana; Latin-1 bytes almost never decode to it.
    if any("\u3040" <= ch <= "\u309f" for ch in text):
        return "it looks like Shift-JIS"
    try:
        raw.decode("cp1252")  # undefined only at 0x81, 0x8d, 0x8f, 0x90, 0x9d
    except UnicodeDecodeError:
        return "it may be in a legacy encoding"
    return "it looks like Latin-1 / Windows-1252"


def _raw_lines(src: _Source, limits: Limits) -> Iterator[tuple[int, str]]:
    """Every line with its 1-based number, decoded and checked, terminator removed.

    Lines are read with a byte cap, so a 50 MB line is refused after reading a few MB,
    not after loading it. A UTF-8 byte-order mark and CRLF endings are accepted.
    """
    # A UTF-8 character takes at most 4 bytes: a line capped at this many bytes without a
    # newline has more than max_line_chars characters whatever its content.
    cap = 4 * limits.max_line_chars + 2
    n = 0
    try:
        _sniff(src)
        with src.open() as fh:
            while raw := fh.readline(cap):
                n += 1
                if len(raw) == cap and not raw.endswith(b"\n"):
                    raise DatasetError(
                        "line_too_long", src.label,
                        f"the line is longer than the limit of {limits.max_line_chars:,} characters "
                        "(one record per line; is this really JSONL/CSV?)",
                        line=n,
                    )
                if n == 1 and raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM):]  # a BOM is how Excel marks UTF-8: accept it
                body = raw.rstrip(b"\r\n")
                if b"\x00" in body:
                    raise DatasetError(
                        "binary", src.label,
                        f"contains a NUL byte (0x00) at position {body.index(0) + 1}; remove it and try again",
                        line=n,
                    )
                if b"\r" in body:
                    raise DatasetError(
                        "parse", src.label,
                        "contains a carriage return (CR) inside the line; the file may use old Mac line "
                        "endings — save it with LF or CRLF line endings",
                        line=n,
                    )
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DatasetError(
                        "encoding", src.label,
                        f"not valid UTF-8 (byte 0x{body[exc.start]:02x} at position {exc.start + 1}; "
                        f"{_guess_encoding(body)}). Save the file as UTF-8 and try again.",
                        line=n,
                    ) from exc
                if len(text) > limits.max_line_chars:
                    raise DatasetError(
                        "line_too_long", src.label,
                        f"line has {len(text):,} characters; the limit is {limits.max_line_chars:,}",
                        line=n,
                    )
                yield n, text
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        # A damaged member only shows when it is decompressed (CRC is checked at its end).
        raise DatasetError(
            "parse", src.label, f"the zip member is damaged ({exc}); re-create the zip and try again"
        ) from exc
    except OSError as exc:
        raise DatasetError("missing_file", src.label, f"cannot be read ({exc.strerror or exc})") from exc


def _lines(src: _Source, limits: Limits) -> Iterator[tuple[int, str]]:
    """Non-blank lines with 1-based numbers; a file of only blank lines is an error."""
    any_line = False
    for n, line in _raw_lines(src, limits):
        if line.strip():
            any_line = True
            yield n, line
    if not any_line:
        raise DatasetError("empty_file", src.label, "the file has no content (only blank lines or spaces)")


def _json_line(src: _Source, n: int, line: str) -> dict[str, object]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        if line.strip() in ("[", "{"):
            msg = ("invalid JSON: this looks like pretty-printed JSON; JSON Lines needs one complete object "
                   "per line")
        elif exc.pos >= len(line.rstrip()):
            msg = "invalid JSON: the line ends before the object is complete (a missing '}' or '\"'?)"
        else:
            msg = f"invalid JSON at column {exc.colno}: {exc.msg}"
        raise DatasetError("parse", src.label, msg, line=n) from exc
    except RecursionError as exc:
        raise DatasetError("parse", src.label, "invalid JSON: nested too deeply", line=n) from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise DatasetError("parse", src.label, "invalid JSON: a number is too long to read", line=n) from exc
    if isinstance(obj, list):
        raise DatasetError(
            "parse", src.label,
            "each line must be a JSON object, got a JSON array (is this a .json file rather than JSON Lines?)",
            line=n,
        )
    if not isinstance(obj, dict):
        raise DatasetError(
            "parse", src.label, f"each line must be a JSON object, got {_json_type(obj)}", line=n
        )
    return obj


# What each reader needs from a CSV/TSV header: (what, accepted column names).
_Required = Sequence[tuple[str, tuple[str, ...]]]


def _csv_error(src: _Source, exc: csv.Error, start: int, limits: Limits) -> DatasetError:
    text = str(exc)
    if "unexpected end of data" in text:
        msg = 'a quoted field starting here is never closed (a " without its partner)'
    elif "expected after" in text:
        msg = 'text after a closing quote; a " inside a quoted field must be doubled ("")'
    elif "field larger than field limit" in text:
        msg = (f"a field is longer than {limits.max_line_chars:,} characters "
               '(or a " opens a quoted field that is never closed)')
    else:
        msg = f"CSV error: {text}"
    return DatasetError("parse", src.label, msg, line=start)


def _records(
    src: _Source, limits: Limits, required: _Required = ()
) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows as dicts with line numbers, from JSONL, CSV or TSV (streamed)."""
    if src.suffix in (".jsonl", ".json"):
        for n, line in _lines(src, limits):
            yield n, _json_line(src, n, line)
        return
    if src.suffix not in (".csv", ".tsv", ".txt"):
        raise DatasetError("parse", src.label, "unsupported file type; use .jsonl, .csv or .tsv")
    delim = "\t" if src.suffix in (".tsv", ".txt") else ","
    # csv reads quoted newlines itself; it gets every line (blank ones too) so that its
    # line_num is the file's line number.
    reader = csv.reader((t + "\n" for _, t in _raw_lines(src, limits)), delimiter=delim, strict=True)
    # The module-wide limit (131,072) would cut a long document; ours is the line limit.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_line_chars))
    header: list[str] | None = None
    header_line = done = rows = 0
    while True:
        start = done + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _csv_error(src, exc, start, limits) from exc
        done = reader.line_num
        if not any(c.strip() for c in row):
            continue
        if header is None:
            header, header_line = [c.strip() for c in row], start
            _check_header(src, header, required, start, delim)
            continue
        if len(row) != len(header):
            raise DatasetError(
                "parse", src.label,
                f"{len(row)} columns, but the header has {len(header)} ({', '.join(header)})",
                line=start,
            )
        rows += 1
        yield start, dict(zip(header, row, strict=True))
    if header is None:
        raise DatasetError("empty_file", src.label, "the file has no content (only blank lines or spaces)")
    if rows == 0:
        raise DatasetError("empty_file", src.label, "has a header row but no data rows", line=header_line)


def _check_header(src: _Source, header: list[str], required: _Required, line: int, delim: str) -> None:
    """Check a CSV/TSV header once, instead of reporting a missing field on every row."""
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise DatasetError("parse", src.label, f"column {name!r} appears twice in the header", line=line)
        seen.add(name)
    for what, names in required:
        if any(name in seen for name in names):
            continue
        hint = ""
        if len(header) == 1:
            other = next((d for d in (";", "\t", ",") if d != delim and d in header[0]), None)
            if other is not None:
                sep = {";": "semicolons", "\t": "tabs", ",": "commas"}
                hint = (f" — the header is a single column: the file seems to be separated by {sep[other]}, "
                        f"not {sep[delim]}")
        raise DatasetError(
            "missing_field", src.label,
            f"no {what} column (expected one of: {', '.join(names)}); the header has: {', '.join(header)}{hint}",
            line=line, field=names[0],
        )


def _field(
    src: _Source, n: int, row: Mapping[str, object], names: tuple[str, ...], *, required: bool
) -> str | None:
    for name in names:
        if name in row and row[name] is not None:
            value = row[name]
            if isinstance(value, bool) or not isinstance(value, str | int):
                raise DatasetError(
                    "parse", src.label, f"must be a string, got {_json_type(value)}", line=n, field=name
                )
            return str(value)
    if required:
        raise DatasetError(
            "missing_field", src.label, f"missing (expected one of: {', '.join(names)})", line=n, field=names[0]
        )
    return None


def _json_type(value: object) -> str:
    return {bool: "true/false", list: "a list", dict: "an object", float: "a decimal number", str: "a string",
            int: "a number", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _count_records(src: _Source, limits: Limits) -> int | None:
    """Records in the file, counted in bulk before parsing (None when a count is not exact).

    Parsing costs microseconds per row, so a corpus far over the limit would take many
    seconds to refuse; counting non-blank lines in 1 MB chunks takes milliseconds. A
    JSONL record is one line; a CSV/TSV record is one line unless quoted fields span lines,
    so a file with quotes is left to the parser (which checks the limit row by row too).
    """
    cap = 4 * limits.max_line_chars + 2
    count, pending = 0, b""
    try:
        with src.open() as fh:
            while chunk := fh.read(1 << 20):
                if src.suffix != ".jsonl" and b'"' in chunk:
                    return None
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                if len(pending) > cap:
                    return None  # an over-long line: the parser reports it with its number
                count += sum(1 for line in lines if line.strip())
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        return None  # the parser reports a damaged or unreadable file with a clear message
    count += 1 if pending.strip() else 0
    return count if src.suffix == ".jsonl" else max(count - 1, 0)  # minus the header row


def _check_count(src: _Source, limits: Limits, limit: int, what: str) -> None:
    # Files smaller than two bytes per allowed record cannot exceed it: skip the extra pass.
    if src.size < 2 * limit:
        return
    total = _count_records(src, limits)
    if total is not None and total > limit:
        raise DatasetError(
            "too_many", src.label, f"holds {total:,} {what}; the limit is {limit:,}{_setting_hint(what)}. "
            "Use a sample of your data.",
        )


def _setting_hint(what: str) -> str:
    """Where the document limit comes from, so a user with the memory for more knows what to raise."""
    return " (raise it with the EMS_MAX_DOCUMENTS setting)" if what == "documents" else ""


_DOC_COLUMNS: _Required = (("document id", _ID_FIELDS), ("text", ("text",)))
_QUERY_COLUMNS: _Required = (("query id", _ID_FIELDS), ("text", ("text", "query")))
_QREL_COLUMNS: _Required = (("query id", _QREL_Q), ("document id", _QREL_D))
_PAIR_COLUMNS: _Required = (("query", _PAIR_QUERY), ("document", _PAIR_DOC))


def _read_docs(src: _Source, limits: Limits) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    docs: list[tuple[str, str]] = []
    _check_count(src, limits, limits.max_documents, "documents")
    for n, row in _records(src, limits, _DOC_COLUMNS):
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
                "empty_text", src.label, f"document {did!r} has no title or text (only spaces)",
                line=n, field="text",
            )
        docs.append((did, full))
        if len(docs) > limits.max_documents:
            raise DatasetError(
                "too_many", src.label,
                f"more than {limits.max_documents:,} documents{_setting_hint('documents')}; "
                "use a sample of your corpus", line=n,
            )
    return docs


def _read_queries(src: _Source, limits: Limits) -> list[tuple[str, str, int]]:
    seen: dict[str, int] = {}
    out: list[tuple[str, str, int]] = []
    _check_count(src, limits, limits.max_queries, "queries")
    for n, row in _records(src, limits, _QUERY_COLUMNS):
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
                "empty_text", src.label, f"query {qid!r} has no text (only spaces)", line=n, field="text"
            )
        out.append((qid, text, n))
        if len(out) > limits.max_queries:
            raise DatasetError(
                "too_many", src.label, f"more than {limits.max_queries:,} queries; use a sample", line=n
            )
    return out


# Relevance grades are small integers (TREC/BEIR use 0–3); anything far larger is a
# column mix-up (a rank, a score ×100, an id), and pytrec_eval stores grades as C ints.
_MAX_GRADE = 1000


def _parse_score(src: _Source, n: int, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise DatasetError(
            "bad_score", src.label, f"relevance must be a number, got {_json_type(raw)}", line=n, field="score"
        )
    text = str(raw).strip()
    try:
        value = float(text)
    except ValueError as exc:
        what = "is empty" if not text else f"{text!r} is not a number"
        raise DatasetError("bad_score", src.label, f"relevance {what}", line=n, field="score") from exc
    if not math.isfinite(value):
        raise DatasetError(
            "bad_score", src.label, f"relevance {text!r} is not a finite number", line=n, field="score"
        )
    if value != int(value):
        raise DatasetError(
            "bad_score", src.label, f"relevance {text!r} must be an integer grade (0, 1, 2, …)",
            line=n, field="score",
        )
    if value < 0:
        raise DatasetError(
            "bad_score", src.label,
            f"relevance {text} is negative; use 0 for 'not relevant' (or leave the pair out)",
            line=n, field="score",
        )
    if value > _MAX_GRADE:
        raise DatasetError(
            "bad_score", src.label,
            f"relevance {text} is too large (grades are small integers such as 0, 1, 2; at most {_MAX_GRADE})",
            line=n, field="score",
        )
    return int(value)


def _read_qrels(src: _Source, limits: Limits) -> list[tuple[str, str, int, int]]:
    """(query id, doc id, score, line) rows; TSV header optional, TREC 4-column accepted."""
    rows: list[tuple[str, str, int, int]] = []
    header = False
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
                header = True
                continue
            if not parts[0] or not parts[1]:
                raise DatasetError("missing_field", src.label, "empty id", line=n,
                                   field="query-id" if not parts[0] else "corpus-id")
            rows.append((parts[0], parts[1], _parse_score(src, n, parts[2]), n))
    else:
        for n, row in _records(src, limits, _QREL_COLUMNS):
            q = _field(src, n, row, _QREL_Q, required=True)
            d = _field(src, n, row, _QREL_D, required=True)
            assert q is not None and d is not None
            rows.append((q, d, _parse_score(src, n, row.get("score", 1)), n))
    if not rows:
        what = "has a header row but no judgements" if header else "no relevance judgements found"
        raise DatasetError("no_judgements", src.label, what)
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
                f"query id {q!r} is not in {PurePosixPath(q_src.label).name}", line=n, field="query-id",
            )
        if d not in doc_ids:
            raise DatasetError(
                "dangling_qrel", qrel_src.label,
                f"document id {d!r} is not in {PurePosixPath(doc_src.label).name}", line=n, field="corpus-id",
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
            "no_judgements", qrel_src.label,
            "no query has a positive judgement (score > 0), so nothing can be scored",
        )
    qrels = {q: qrels[q] for q, _ in kept}
    return _build(name, source, docs, kept, qrels, split=split, dropped=len(queries) - len(kept))


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
    for n, row in _records(src, lim, _PAIR_COLUMNS):
        qt = (_field(src, n, row, _PAIR_QUERY, required=True) or "").strip()
        dt_raw = _field(src, n, row, _PAIR_DOC, required=True) or ""
        title = _field(src, n, row, ("title",), required=False)
        dt = (title + " " + dt_raw).strip() if title else dt_raw.strip()
        if not qt:
            raise DatasetError("empty_text", src.label, "query text is empty", line=n, field="query")
        if not dt:
            raise DatasetError("empty_text", src.label, "document text is empty", line=n, field="document")
        qid = _field(src, n, row, ("query_id", "query-id", "qid"), required=False)
        did = _field(src, n, row, ("doc_id", "corpus-id", "corpus_id", "document_id"), required=False)
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
            raise DatasetError(
                "too_many", src.label,
                f"more than {lim.max_documents:,} documents{_setting_hint('documents')} or "
                f"{lim.max_queries:,} queries; use a sample",
                line=n,
            )
    return _build(name, source, docs, queries, qrels, split="pairs")


# Where BEIR files sit: corpus.<ext>, queries.<ext>, qrels/<split>.<ext> or qrels.<ext>.
_Opener = Callable[[], _Source]


def _find(src_label: str, names: Mapping[str, _Opener], stem: str) -> str | None:
    hits = [stem + ext for ext in _TEXT_EXTS if stem + ext in names]
    if len(hits) > 1:
        raise DatasetError(
            "ambiguous", src_label, f"holds both {' and '.join(hits)}; keep one of them and try again"
        )
    return hits[0] if hits else None


def _from_members(
    members: Mapping[str, _Opener], label: str, name: str, split: str, lim: Limits
) -> Dataset:
    """Resolve BEIR-layout members (relative posix names → how to open each)."""
    corpus = _find(label, members, "corpus")
    queries = _find(label, members, "queries")
    qrels: str | None = None
    for cand in (f"qrels/{split}.tsv", f"qrels/{split}.csv", f"qrels/{split}.jsonl"):
        if cand in members:
            qrels = cand
            break
    qrels = qrels or _find(label, members, "qrels")
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
        raise DatasetError("missing_file", label, f"missing {', '.join(missing)}{hint}")
    assert corpus and queries and qrels
    return _from_sources(
        name, label, members[corpus](), members[queries](), members[qrels](), split, lim
    )


# Text compresses about 3–10:1 with deflate; a member claiming far more is a zip bomb.
_MAX_ZIP_RATIO = 200
_RATIO_FLOOR = 1024 * 1024  # tiny members (a run of spaces) may compress better; harmless
_ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_ZIP_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


def _is_junk(name: str) -> bool:
    base = PurePosixPath(name).name
    return name.startswith("__MACOSX/") or base.startswith("._") or base in _ZIP_JUNK


def _zip_names(zf: zipfile.ZipFile, label: str, lim: Limits) -> dict[str, zipfile.ZipInfo]:
    """Every file member by normalised name, after the safety checks (nothing is read yet)."""
    infos = zf.infolist()
    if len(infos) > lim.max_zip_members:
        raise DatasetError(
            "too_many", label, f"the zip holds {len(infos):,} entries; the limit is {lim.max_zip_members:,}"
        )
    out: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        # Some Windows tools write backslashes; the zip format says "/".
        name = info.filename.replace("\\", "/")
        parts = PurePosixPath(name).parts
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in parts:
            # We never extract to disk, but a zip built to escape its folder is hostile.
            raise DatasetError(
                "unsafe_zip", label,
                f"the zip holds an unsafe path {info.filename!r} (it points outside the zip's folder); "
                "refusing to read it",
            )
        if info.is_dir() or name.endswith("/"):
            continue
        if name in out:
            raise DatasetError(
                "ambiguous", label, f"the zip holds {name!r} twice; re-create the zip and try again"
            )
        if info.file_size > lim.max_file_bytes:
            raise DatasetError(
                "too_large", f"{label}/{name}",
                f"{info.file_size:,} bytes uncompressed; the limit is {lim.max_file_bytes:,} "
                "(refused before unpacking)",
            )
        if info.file_size > _RATIO_FLOOR and info.file_size > _MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise DatasetError(
                "zip_bomb", f"{label}/{name}",
                f"would unpack {info.compress_size:,} bytes to {info.file_size:,} "
                f"(ratio {info.file_size // max(info.compress_size, 1):,}:1); refusing a possible zip bomb",
            )
        out[name] = info
    return out


def _zip_root(names: list[str], label: str) -> str:
    """The folder inside the zip holding the dataset ('' for the top)."""
    roots = sorted(
        {str(PurePosixPath(n).parent) for n in names if PurePosixPath(n).name in ("corpus.jsonl", "corpus.csv",
                                                                                   "corpus.tsv")}
    )
    if not roots:
        inner = [n for n in names if n.lower().endswith(".zip")]
        if inner:
            raise DatasetError(
                "missing_file", label,
                f"the zip holds another zip ({inner[0]}) but no corpus file; unzip it and upload the inner zip",
            )
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        raise DatasetError(
            "missing_file", label,
            f"no corpus.jsonl (or .csv/.tsv) in the zip; it holds: {shown or 'nothing'}",
        )
    if len(roots) > 1:
        shown = ", ".join((r + "/") if r != "." else "(top level)" for r in roots)
        raise DatasetError(
            "ambiguous", label,
            f"the zip holds more than one dataset ({shown}); zip one dataset at a time",
        )
    root = "" if roots[0] == "." else roots[0]
    # One folder is what zipping a dataset folder gives; deeper nesting is usually a zip of
    # a bigger tree, where guessing which part is meant goes wrong.
    if len(PurePosixPath(root).parts) > 1:
        raise DatasetError(
            "ambiguous", label,
            f"the dataset sits too deep in the zip ({root}/); zip the dataset folder itself so that corpus, "
            "queries and qrels are at the top of the zip or inside one folder",
        )
    return root


_Built = TypeVar("_Built")
#: Builds the result from a dataset's members: (members, label, name, split, limits) → result.
_Builder = Callable[[Mapping[str, "_Opener"], str, str, str, Limits], _Built]


def _read_zip(path: Path, split: str, lim: Limits, build: _Builder[_Built]) -> _Built:
    label = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise DatasetError("parse", label, "not a valid zip file (is it damaged, or not a zip?)") from exc
    with zf:
        members = _zip_names(zf, label, lim)
        names = [n for n in members if not _is_junk(n)]
        root = _zip_root(names, label)
        prefix = root + "/" if root else ""
        wanted: dict[str, _Opener] = {}
        for full in names:
            if not full.startswith(prefix):
                continue
            rel = full[len(prefix):]
            if not (rel.startswith("qrels/") or rel.startswith(("corpus.", "queries.", "qrels."))):
                continue
            info = members[full]
            if info.flag_bits & 0x1:
                raise DatasetError(
                    "parse", f"{label}/{full}", "is password-protected; zip it again without a password"
                )
            if info.compress_type not in _ZIP_METHODS:
                raise DatasetError(
                    "parse", f"{label}/{full}",
                    f"uses a compression method this app cannot read (method {info.compress_type}); "
                    "zip it again with standard (deflate) compression",
                )
            wanted[rel] = _member_opener(zf, info, f"{label}/{full}")
        return build(wanted, label, PurePosixPath(root).name or path.stem, split, lim)


def _member_opener(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> _Opener:
    def opener() -> _Source:
        return _Source(label, info.file_size, lambda: zf.open(info))

    return opener


def _folder_members(p: Path, lim: Limits) -> dict[str, _Opener]:
    def opener(child: Path) -> _Opener:
        return lambda: _read_file(child, lim)

    members: dict[str, _Opener] = {}
    for child in p.iterdir():
        if child.is_file():
            members[child.name] = opener(child)
    qdir = p / "qrels"
    if qdir.is_dir():
        for child in qdir.iterdir():
            if child.is_file():
                members[f"qrels/{child.name}"] = opener(child)
    return members


#: Spreadsheet formats people upload by mistake: refused with a "save as CSV" hint (here and in ui/).
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_COMPRESSED = (".gz", ".bz2", ".xz", ".7z", ".rar", ".tar", ".tgz")


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
        members = _folder_members(p, lim)
        if not any(m.startswith("corpus.") for m in members):
            inner = sorted(c.name for c in p.iterdir() if c.is_dir() and any(c.glob("corpus.*")))
            if inner:
                raise DatasetError(
                    "missing_file", str(p),
                    f"no corpus file here, but the folder {inner[0]} has one; point at that folder instead",
                )
        return _from_members(members, str(p), p.resolve().name, split, lim)
    if not p.exists():
        raise DatasetError("missing_file", str(p), "no such file or folder")
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return _read_zip(p, split, lim, _from_members)
    if suffix in (*_TEXT_EXTS, ".json"):
        return load_pairs(p, limits=lim)
    if suffix in SPREADSHEETS:
        raise DatasetError(
            "parse", str(p), "spreadsheet files are not read; save the sheet as CSV UTF-8 and use that file"
        )
    if suffix in _COMPRESSED:
        raise DatasetError("parse", str(p), "compressed files are read only as .zip; unpack it or zip the folder")
    raise DatasetError(
        "parse", str(p),
        "expected a BEIR folder, a .zip of one, or a .csv/.tsv/.jsonl file of (query, document) pairs",
    )


# --------------------------------------------------------------------------- inputs without judgements


@dataclass(frozen=True)
class Collection:
    """Documents, and perhaps queries, without relevance judgements: what labelling starts from.

    Attributes:
        name: A short display name (folder or file stem).
        source: Where the documents were read from.
        doc_ids: Document ids, in file order.
        doc_texts: Text per document (title joined as mteb does, as in :class:`Dataset`).
        query_ids: Query ids, in input order (empty when only documents were given).
        query_texts: Their texts.
        query_source: ``file`` (a queries file), ``pasted`` (lines typed or pasted) or ``none``.
        fingerprint: sha256 over ids and texts.
        notes: What the reader decided (qrels ignored, duplicate pasted lines dropped, …).
    """

    name: str
    source: str
    doc_ids: tuple[str, ...]
    doc_texts: tuple[str, ...]
    query_ids: tuple[str, ...]
    query_texts: tuple[str, ...]
    query_source: str
    fingerprint: str
    notes: tuple[str, ...] = ()


def _query_lines(lines: Sequence[str], label: str, lim: Limits) -> tuple[list[tuple[str, str]], list[str]]:
    """Queries from lines (one per line; blank lines skipped; repeats dropped with a note)."""
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    repeats = 0
    for n, raw in enumerate(lines, start=1):
        if not isinstance(raw, str):
            raise DatasetError("parse", label, f"expected text, got {_json_type(raw)}", line=n)
        text = raw.removeprefix("\ufeff").strip() if n == 1 else raw.strip()
        if not text:
            continue
        if "\x00" in text:
            raise DatasetError("binary", label, "contains a NUL byte (0x00); remove it and try again", line=n)
        if len(text) > lim.max_line_chars:
            raise DatasetError(
                "line_too_long", label,
                f"line has {len(text):,} characters; the limit is {lim.max_line_chars:,}", line=n,
            )
        if text in seen:
            repeats += 1
            continue
        seen[text] = n
        out.append((f"q{len(out) + 1}", text))
        if len(out) > lim.max_queries:
            raise DatasetError("too_many", label, f"more than {lim.max_queries:,} queries; use a sample", line=n)
    if not out:
        raise DatasetError("empty_file", label, "no queries: every line is blank")
    notes = [f"{repeats} repeated query line(s) dropped"] if repeats else []
    return out, notes


def _queries_file(src: _Source, lim: Limits) -> list[tuple[str, str]]:
    """A queries file: JSONL/CSV/TSV with ids and texts, or ``.txt`` with one query per line."""
    if src.suffix == ".txt":
        lines = [text for _, text in _raw_lines(src, lim)]
        return _query_lines(lines, src.label, lim)[0]
    return [(q, t) for q, t, _ in _read_queries(src, lim)]


def _collection(
    name: str, source: str, docs: list[tuple[str, str]], queries: list[tuple[str, str]],
    query_source: str, notes: list[str],
) -> Collection:
    return Collection(
        name=name, source=source,
        doc_ids=tuple(d for d, _ in docs), doc_texts=tuple(t for _, t in docs),
        query_ids=tuple(q for q, _ in queries), query_texts=tuple(t for _, t in queries),
        query_source=query_source if queries else "none",
        fingerprint=_fingerprint(docs, queries, {}),
        notes=tuple(notes),
    )


def load_collection(
    path: str | Path,
    *,
    queries_file: str | Path | None = None,
    query_lines: Sequence[str] | None = None,
    folder_queries: bool = True,
    limits: Limits | None = None,
) -> Collection:
    """Read documents, and optionally queries, that have no relevance judgements yet.

    Documents come from a BEIR folder or ``.zip`` (its ``corpus.<ext>``; a ``qrels``
    folder is ignored, with a note) or a single corpus file (``.jsonl``/``.csv``/``.tsv``
    with ``_id``, optional ``title``, ``text``). Queries come from, in this order:
    ``query_lines`` (typed or pasted, one per line), ``queries_file`` (JSONL/CSV/TSV with
    ids, or ``.txt`` one per line), or the folder's own ``queries.<ext>`` when
    ``folder_queries`` is true. Without any, the collection has documents only (for
    synthetic queries). The readers, limits and errors are those of :func:`load_dataset`.

    Args:
        path: A BEIR folder, a ``.zip`` of one, or a corpus file.
        queries_file: A queries file.
        query_lines: Queries as lines of text (blank lines skipped, repeats dropped).
        folder_queries: Use the folder's or zip's ``queries.<ext>`` when no queries are given.
        limits: Size limits.

    Returns:
        The validated collection.

    Raises:
        DatasetError: On any invalid content (file, line and field in the message), or
            when both ``queries_file`` and ``query_lines`` are given.
    """
    lim = limits or Limits()
    if queries_file is not None and query_lines is not None:
        raise DatasetError("ambiguous", str(queries_file), "give queries as a file or as lines, not both")
    notes: list[str] = []
    explicit: list[tuple[str, str]] | None = None
    source_kind = "none"
    if query_lines is not None:
        explicit, notes = _query_lines(list(query_lines), "pasted queries", lim)
        source_kind = "pasted"
    elif queries_file is not None:
        explicit = _queries_file(_read_file(Path(queries_file), lim), lim)
        source_kind = "file"

    def build(members: Mapping[str, _Opener], label: str, name: str, _split: str, lim_: Limits) -> Collection:
        corpus = _find(label, members, "corpus")
        if corpus is None:
            raise DatasetError("missing_file", label, "missing corpus.jsonl (or .csv/.tsv)")
        docs = _read_docs(members[corpus](), lim_)
        found, kind = explicit, source_kind
        if found is None and folder_queries:
            qname = _find(label, members, "queries")
            if qname is not None:
                found = [(q, t) for q, t, _ in _read_queries(members[qname](), lim_)]
                kind = "file"
        if any(m.startswith("qrels") for m in members):
            notes.append("relevance judgements (qrels) in the input were ignored: labelling starts from the documents")
        return _collection(name, label, docs, found or [], kind, notes)

    p = Path(path).expanduser()
    if p.is_dir():
        return build(_folder_members(p, lim), str(p), p.resolve().name, "test", lim)
    if not p.exists():
        raise DatasetError("missing_file", str(p), "no such file or folder")
    suffix = p.suffix.lower()
    if suffix == ".zip":
        return _read_zip(p, "test", lim, build)
    if suffix in _TEXT_EXTS:
        docs = _read_docs(_read_file(p, lim), lim)
        return _collection(p.stem, str(p), docs, explicit or [], source_kind, notes)
    if suffix in SPREADSHEETS:
        raise DatasetError(
            "parse", str(p), "spreadsheet files are not read; save the sheet as CSV UTF-8 and use that file"
        )
    raise DatasetError(
        "parse", str(p), "expected a BEIR folder, a .zip of one, or a corpus .jsonl/.csv/.tsv file (_id, text)"
    )


def dataset_from_records(
    name: str,
    source: str,
    docs: Sequence[tuple[str, str]],
    queries: Sequence[tuple[str, str]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    split: str = "test",
    notes: Sequence[str] = (),
) -> Dataset:
    """A :class:`Dataset` from records already validated elsewhere (a labelled set).

    Judgements must name known queries and documents with grades ≥ 0; queries without
    a positive judgement are dropped (counted in ``dropped_queries``), as when reading files.

    Args:
        name: Display name.
        source: Where it came from (e.g. ``label:SET``).
        docs: (id, text) per document.
        queries: (id, text) per query.
        qrels: ``{query_id: {doc_id: grade}}``.
        split: Recorded split name.
        notes: Provenance notes kept on the dataset.

    Returns:
        The dataset.

    Raises:
        DatasetError: If a judgement names an unknown query or document, or no query has
            a positive judgement.
    """
    doc_ids = {d for d, _ in docs}
    q_ids = {q for q, _ in queries}
    for q, row in qrels.items():
        if q not in q_ids:
            raise DatasetError("dangling_qrel", source, f"query id {q!r} has judgements but no text")
        for d, g in row.items():
            if d not in doc_ids:
                raise DatasetError("dangling_qrel", source, f"document id {d!r} is judged but not in the corpus")
            if g < 0:
                raise DatasetError("bad_score", source, f"grade {g} of ({q!r}, {d!r}) is negative")
    positive = {q for q, row in qrels.items() if any(v > 0 for v in row.values())}
    kept = [(q, t) for q, t in queries if q in positive]
    if not kept:
        raise DatasetError(
            "no_judgements", source, "no query has a positive judgement (grade > 0), so nothing can be scored"
        )
    return _build(
        name, source, list(docs), kept, {q: dict(qrels[q]) for q, _ in kept}, split=split,
        dropped=len(queries) - len(kept), notes=tuple(notes),
    )


def read_table(
    path: str | Path, columns: Sequence[tuple[str, tuple[str, ...]]], *, limits: Limits | None = None
) -> Iterator[tuple[int, dict[str, object]]]:
    """Rows of a CSV, TSV or JSONL file with their line numbers, through the dataset readers' checks.

    The same encoding, binary, size, line-length, CSV-quoting and header checks (and
    :class:`DatasetError` messages) as the dataset files, for other tables users upload
    (e.g. judgements).

    Args:
        path: The file.
        columns: Required columns as (what, accepted names), checked on the header.
        limits: Size limits.

    Yields:
        (line number, row as a dict).

    Raises:
        DatasetError: On any invalid content.
    """
    lim = limits or Limits()
    src = _read_file(Path(path), lim)
    yield from _records(src, lim, columns)
