"""The bad-input corpus: every odd or broken file a user might give the app (issue 9).

Each case in ``CASES`` is one file — committed under ``tests/bad_inputs/`` when small, made
by a generator below when it would be huge or is a crafted zip — and goes through both
ways in:

* the CLI, ``python -m lib evaluate --data PATH --model bm25`` (in-process ``main()`` for
  every case, real subprocesses for a handful): exit code 2, exactly one ``error: …`` line
  on stderr, no traceback;
* the upload path of the Evaluate page (``lib.evaluation.uploads.save_*`` with ``Upload``
  objects, and a few through an AppTest of the page itself): a ``UserError`` naming the
  user's file.

Bad files must get their own specific message (the substring, line and field in the
table) and leave no trace: DuckDB row counts unchanged and nothing left in the uploads
folder. "Odd but valid" files (UTF-8 BOM, CRLF, extra columns, formula-like text, a zip
with one folder, …) must load, with the right values.

A role-file (``corpus/…``, ``queries/…``, ``qrels/…``) is combined with the valid files in
``bad_inputs/base``; ``pairs/…`` and ``zip/…`` files are whole datasets.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import store
from lib.__main__ import main
from lib.errors import UserError
from lib.evaluation import datasets, runs
from lib.evaluation import uploads as up
from lib.evaluation.datasets import Dataset

ROOT = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "bad_inputs"
BASE = BAD / "base"
PAGE = str(ROOT / "pages" / "evaluate.py")
LIMITS = datasets.Limits()
CAP = 200 * 1024 * 1024  # the app's cap: server.maxUploadSize in .streamlit/config.toml

# ----------------------------------------------------------------------------- generators
# Files too big to commit or easier to read as code than as bytes. Each writes its file
# into the given folder and returns the path; results are cached for the session.


def _base_members(prefix: str = "") -> dict[str, bytes]:
    return {
        f"{prefix}corpus.jsonl": (BASE / "corpus.jsonl").read_bytes(),
        f"{prefix}queries.jsonl": (BASE / "queries.jsonl").read_bytes(),
        f"{prefix}qrels/test.tsv": (BASE / "qrels" / "test.tsv").read_bytes(),
    }


def _zip(path: Path, members: dict[str, bytes], **info: object) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name)
            zi.compress_type = zipfile.ZIP_DEFLATED
            for k, v in info.items():
                setattr(zi, k, v)
            zf.writestr(zi, data)
    return path


def _long_line(d: Path) -> Path:
    # One valid record, then a single 50 MB line (no newline inside).
    p = d / "long_line_50mb.jsonl"
    with p.open("wb") as fh:
        fh.write(b'{"_id": "d1", "text": "Cats purr."}\n{"_id": "d2", "text": "')
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b'"}\n')
    return p


def _many_docs(d: Path) -> Path:
    # One more tiny document than the limit (ids d1…d3 included so the qrels resolve).
    p = d / "many_docs.tsv"
    with p.open("w", encoding="utf-8") as fh:
        fh.write("_id\ttext\n")
        step = 200_000
        for start in range(1, LIMITS.max_documents + 2, step):
            stop = min(start + step, LIMITS.max_documents + 2)
            fh.write("".join(f"d{i}\tx\n" for i in range(start, stop)))
    return p


def _too_large(d: Path) -> Path:
    # A sparse file: its size is over the limit, its disk use is nothing.
    p = d / "too_large.jsonl"
    with p.open("wb") as fh:
        fh.write(b'{"_id": "d1", "text": "Cats purr."}\n')
        fh.truncate(LIMITS.max_file_bytes + 1)
    return p


def _xlsx(d: Path) -> Path:
    return _zip(d / "pairs.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def _bomb_size(d: Path) -> Path:
    # A real zip bomb: 600 MB of spaces deflated to ~0.6 MB, over the per-file limit.
    p = d / "bomb_size.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("queries.jsonl", (BASE / "queries.jsonl").read_bytes())
        zi = zipfile.ZipInfo("corpus.jsonl")
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(zi, "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(600):
                fh.write(chunk)
    return p


def _bomb_ratio(d: Path) -> Path:
    # Under the size limit, but 100 MB from ~100 kB: refused on the compression ratio.
    members = _base_members()
    members["corpus.jsonl"] = members["corpus.jsonl"] + b"\n" * (100 << 20)
    return _zip(d / "bomb_ratio.zip", members)


def _nested_one_folder(d: Path) -> Path:
    return _zip(d / "nested_one_folder.zip", _base_members("mini/"))


def _nested_deep(d: Path) -> Path:
    return _zip(d / "nested_deep.zip", _base_members("home/me/mini/"))


def _two_datasets(d: Path) -> Path:
    return _zip(d / "two_datasets.zip", {**_base_members("alpha/"), **_base_members("beta/")})


def _no_dataset(d: Path) -> Path:
    return _zip(d / "no_dataset.zip", {"notes.txt": b"hello", "data/docs.jsonl": b"{}"})


def _traversal(d: Path) -> Path:
    members = _base_members()
    members["../corpus.jsonl"] = members.pop("corpus.jsonl")
    return _zip(d / "traversal.zip", members)


def _absolute(d: Path) -> Path:
    return _zip(d / "absolute_path.zip", {**_base_members(), "/etc/cron.d/evil": b"* * * * * root true"})


def _patch_header(path: Path, local_offset: int, central_offset: int, value: int) -> Path:
    """Overwrite one 2-byte field in every local and central-directory header."""
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", local_offset), (b"PK\x01\x02", central_offset)):
        at = data.find(sig)
        while at >= 0:
            struct.pack_into("<H", data, at + offset, value)
            at = data.find(sig, at + 4)
    path.write_bytes(bytes(data))
    return path


def _stored_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in _base_members().items():
            zf.writestr(name, data)
    return path


def _encrypted(d: Path) -> Path:
    # zipfile cannot encrypt; bit 0 of the flags ("encrypted") is what readers act on.
    return _patch_header(_stored_zip(d / "encrypted.zip"), 6, 8, 0x1)


def _unsupported_method(d: Path) -> Path:
    # Method 9 is Deflate64 (Windows Explorer writes it for big files); zipfile cannot read it.
    return _patch_header(_stored_zip(d / "unsupported_method.zip"), 8, 10, 9)


def _corrupt_member(d: Path) -> Path:
    # Stored, then one byte of the corpus flipped: the CRC check fails when it is read.
    p = _stored_zip(d / "corrupt_member.zip")
    raw = bytearray(p.read_bytes())
    raw[raw.find(b"Cats purr")] = ord("K")
    p.write_bytes(bytes(raw))
    return p


def _many_members(d: Path) -> Path:
    p = d / "many_members.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in _base_members().items():
            zf.writestr(name, data)
        for i in range(LIMITS.max_zip_members - 2):
            zf.writestr(f"extra/{i}.txt", b"")
    return p


def _duplicate_member(d: Path) -> Path:
    p = d / "duplicate_member.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for name, data in _base_members().items():
            zf.writestr(name, data)
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("corpus.jsonl", b'{"_id": "d1", "text": "other"}\n')
    return p


def _zip_in_zip(d: Path) -> Path:
    inner = _zip(d / "inner.zip", _base_members())
    return _zip(d / "zip_in_zip.zip", {"dataset.zip": inner.read_bytes()})


def _macos_junk(d: Path) -> Path:
    junk = {"__MACOSX/mini/._corpus.jsonl": b"\x00\x05\x16\x07", "mini/.DS_Store": b"\x00\x00\x00\x01Bud1"}
    return _zip(d / "macos_junk.zip", {**_base_members("mini/"), **junk})


def _backslash_names(d: Path) -> Path:
    members = {k.replace("/", "\\"): v for k, v in _base_members("mini/").items()}
    return _zip(d / "backslash_names.zip", members)


def _bad_member(d: Path) -> Path:
    members = _base_members()
    members["corpus.jsonl"] = (BAD / "corpus" / "latin1.jsonl").read_bytes()
    return _zip(d / "bad_member.zip", members)


def _two_corpora(d: Path) -> Path:
    members = _base_members()
    members["corpus.csv"] = (BAD / "corpus" / "extra_column.csv").read_bytes()
    return _zip(d / "two_corpora.zip", members)


def _missing_qrels(d: Path) -> Path:
    members = _base_members()
    del members["qrels/test.tsv"]
    return _zip(d / "missing_qrels.zip", members)


def _empty_zip(d: Path) -> Path:
    return _zip(d / "empty.zip", {})


GENERATORS: dict[str, Callable[[Path], Path]] = {
    "corpus/long_line_50mb.jsonl": _long_line,
    "corpus/many_docs.tsv": _many_docs,
    "corpus/too_large.jsonl": _too_large,
    "pairs/pairs.xlsx": _xlsx,
    "zip/nested_one_folder.zip": _nested_one_folder,
    "zip/nested_deep.zip": _nested_deep,
    "zip/two_datasets.zip": _two_datasets,
    "zip/no_dataset.zip": _no_dataset,
    "zip/bomb_size.zip": _bomb_size,
    "zip/bomb_ratio.zip": _bomb_ratio,
    "zip/traversal.zip": _traversal,
    "zip/absolute_path.zip": _absolute,
    "zip/encrypted.zip": _encrypted,
    "zip/unsupported_method.zip": _unsupported_method,
    "zip/corrupt_member.zip": _corrupt_member,
    "zip/many_members.zip": _many_members,
    "zip/duplicate_member.zip": _duplicate_member,
    "zip/zip_in_zip.zip": _zip_in_zip,
    "zip/macos_junk.zip": _macos_junk,
    "zip/backslash_names.zip": _backslash_names,
    "zip/bad_member.zip": _bad_member,
    "zip/two_corpora.zip": _two_corpora,
    "zip/missing_qrels.zip": _missing_qrels,
    "zip/empty.zip": _empty_zip,
}

# ----------------------------------------------------------------------------- the table


def _texts(ds: Dataset) -> dict[str, str]:
    return dict(zip(ds.doc_ids, ds.doc_texts, strict=True))


def _bom_csv(ds: Dataset) -> None:
    assert ds.doc_ids == ("d1", "d2", "d3", "d4")  # not "\ufeffd1", not a missing _id column
    assert _texts(ds)["d4"] == "Café A café serves coffee."


def _crlf(ds: Dataset) -> None:
    assert ds.doc_ids == ("d1", "d2", "d3", "d4")
    assert all("\r" not in t for t in ds.doc_texts)
    assert _texts(ds)["d1"] == "Cats Cats purr when they are content."


def _extra_column(ds: Dataset) -> None:
    assert ds.doc_ids == ("d1", "d2", "d3")
    assert _texts(ds)["d2"] == "Dogs Dogs bark at strangers."  # the url column is ignored


def _formula_queries(ds: Dataset) -> None:
    assert dict(zip(ds.query_ids, ds.query_texts, strict=True)) == {
        "q1": '=HYPERLINK("http://evil.example","click")',
        "q2": "+cmd|' /C calc'!A0",
        "q3": "-2+3",
    }


def _crlf_bom_qrels(ds: Dataset) -> None:
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 2}}


def _partial_qrels(ds: Dataset) -> None:
    assert ds.query_ids == ("q1", "q2")
    assert ds.dropped_queries == 1  # q3 has no judgement: not scored, reported


FORMULA_QUERIES = ('=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "plain question")


def _formula_pairs(ds: Dataset) -> None:
    assert ds.query_texts == FORMULA_QUERIES
    assert ds.doc_texts == ("Cats purr when they are content.", "Dogs bark at strangers.", "@SUM(A1:A9)", "=1+1")
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 1}, "q4": {"d4": 1}}


def _bom_crlf_pairs(ds: Dataset) -> None:
    assert ds.query_texts == ("why do cats purr", "barking dogs")
    assert ds.doc_texts == ("Cats purr.", "Dogs bark.")


def _base_dataset(ds: Dataset) -> None:
    assert ds.doc_ids == ("d1", "d2", "d3", "d4")
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 2}}


def _nested_zip(ds: Dataset) -> None:
    _base_dataset(ds)
    assert ds.name == "mini"


@dataclass(frozen=True)
class Case:
    """One input: where it is, and what must happen.

    Attributes:
        path: Relative to ``tests/bad_inputs`` (or a key of ``GENERATORS``).
        message: A substring of the specific error; None for an odd-but-valid file.
        line: The line the message must name.
        field: The field the message must name.
        check: For valid files: assertions on the loaded dataset.
        upload_message: When the upload path words it differently (it checks the
            extension before the engine sees the file).
        upload: False when the file cannot be uploaded at all (bigger than Streamlit's cap).
    """

    path: str
    message: str | None
    line: int | None = None
    field: str | None = None
    check: Callable[[Dataset], None] | None = None
    upload_message: str | None = None
    upload: bool = True

    @property
    def role(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def id(self) -> str:
        return self.path


CASES: list[Case] = [
    # ---- corpus files (with the base queries and qrels)
    Case("corpus/latin1.jsonl", "not valid UTF-8 (byte 0xe9 at position 28; it looks like Latin-1 / Windows-1252)", 4),
    Case("corpus/shift_jis.jsonl", "it looks like Shift-JIS", 2),
    Case("corpus/utf16le_nobom.jsonl", "looks like UTF-16 text without a byte-order mark"),
    Case("corpus/utf16_bom.jsonl", "the file is UTF-16 text (it starts with a UTF-16 byte-order mark)"),
    Case("corpus/utf8_bom.csv", None, check=_bom_csv),
    Case("corpus/crlf.jsonl", None, check=_crlf),
    Case("corpus/invalid_json.jsonl", "the line ends before the object is complete (a missing '}'", 2),
    Case("corpus/bad_escape.jsonl", "invalid JSON at column 26: Invalid \\escape", 2),
    Case("corpus/pretty_printed.jsonl", "this looks like pretty-printed JSON", 1),
    Case("corpus/json_array.jsonl", "each line must be a JSON object, got a JSON array", 1),
    Case("corpus/not_object.jsonl", "each line must be a JSON object, got a string", 2),
    Case("corpus/missing_text.jsonl", "missing (expected one of: text)", 3, "text"),
    Case("corpus/no_id_column.csv", "no document id column (expected one of: _id, id); the header has: title, text",
         1, "_id"),
    Case("corpus/semicolon.csv", "the file seems to be separated by semicolons, not commas", 1, "_id"),
    Case("corpus/extra_cell.csv", "4 columns, but the header has 3 (_id, title, text)", 3),
    Case("corpus/missing_cell.csv", "2 columns, but the header has 3 (_id, title, text)", 2),
    Case("corpus/extra_column.csv", None, check=_extra_column),
    Case("corpus/duplicate_id.jsonl", "duplicate document id 'd2' (first on line 2)", 4, "_id"),
    Case("corpus/duplicate_column.csv", "column 'text' appears twice in the header", 1),
    Case("corpus/empty.jsonl", "the file is empty (0 bytes)"),
    Case("corpus/blank_lines.jsonl", "the file has no content (only blank lines or spaces)"),
    Case("corpus/header_only.csv", "has a header row but no data rows", 1),
    Case("corpus/whitespace_text.jsonl", "document 'd3' has no title or text (only spaces)", 3, "text"),
    Case("corpus/nul_byte.jsonl", "contains a NUL byte (0x00) at position 28", 2),
    Case("corpus/binary_junk.jsonl", "this looks like a binary file, not text"),
    Case("corpus/gzipped.jsonl", "this is gzip-compressed, not a UTF-8 text file; decompress it first"),
    Case("corpus/bare_cr.jsonl", "contains a carriage return (CR) inside the line", 1),
    Case("corpus/deeply_nested.jsonl", "invalid JSON: nested too deeply", 2),
    Case("corpus/huge_number.jsonl", "invalid JSON: a number is too long to read", 2),
    Case("corpus/id_is_list.jsonl", "must be a string, got a list", 2, "_id"),
    Case("corpus/unclosed_quote.csv", 'a quoted field starting here is never closed', 3),
    Case("corpus/stray_quote.csv", "text after a closing quote", 3),
    Case("corpus/empty_id.jsonl", "document id is empty", 3, "_id"),
    Case("corpus/long_line_50mb.jsonl", "the line is longer than the limit of 1,000,000 characters", 2),
    Case("corpus/many_docs.tsv", "holds 2,000,001 documents; the limit is 2,000,000"),
    # 512 MB cannot be uploaded: Streamlit's 200 MB cap refuses it first (tested below).
    Case("corpus/too_large.jsonl", "536,870,913 bytes; the limit is 536,870,912", upload=False),
    # ---- queries files
    Case("queries/duplicate_id.jsonl", "duplicate query id 'q1' (first on line 1)", 4, "_id"),
    Case("queries/wrong_field.jsonl", "missing (expected one of: text, query)", 1, "text"),
    Case("queries/whitespace_text.jsonl", "query 'q2' has no text (only spaces)", 2, "text"),
    Case("queries/header_only.tsv", "has a header row but no data rows", 1),
    Case("queries/latin1.tsv", "not valid UTF-8 (byte 0x9c at position 6; it looks like Latin-1 / Windows-1252)", 4),
    Case("queries/id_is_float.jsonl", "must be a string, got a decimal number", 1, "_id"),
    Case("queries/formula.csv", None, check=_formula_queries),
    # ---- qrels files
    Case("qrels/unknown_query.tsv", "query id 'q9' is not in queries.jsonl", 3, "query-id"),
    Case("qrels/unknown_doc.tsv", "document id 'd99' is not in corpus.jsonl", 3, "corpus-id"),
    Case("qrels/non_numeric_score.tsv", "relevance 'high' is not a number", 2, "score"),
    Case("qrels/negative_score.tsv", "relevance -1 is negative; use 0 for 'not relevant'", 3, "score"),
    Case("qrels/nan_score.tsv", "relevance 'nan' is not a finite number", 2, "score"),
    Case("qrels/fractional_score.tsv", "relevance '0.5' must be an integer grade", 2, "score"),
    Case("qrels/huge_score.tsv", "relevance 1e30 is too large", 2, "score"),
    Case("qrels/no_positive.tsv", "no query has a positive judgement (score > 0)"),
    Case("qrels/header_only.tsv", "has a header row but no judgements"),
    Case("qrels/empty.tsv", "the file is empty (0 bytes)"),
    Case("qrels/five_columns.tsv", "expected 3 tab-separated columns (query-id, corpus-id, score), got 5", 1),
    Case("qrels/duplicate_pair.tsv", "judgement ('q1', 'd1') repeats line 2", 4),
    Case("qrels/crlf_bom.tsv", None, check=_crlf_bom_qrels),
    Case("qrels/partial.tsv", None, check=_partial_qrels),
    Case("qrels/bool_score.jsonl", "relevance must be a number, got true/false", 1, "score"),
    Case("qrels/missing_column.csv", "no document id column (expected one of: corpus-id", 1, "corpus-id"),
    # ---- pairs files (a whole dataset each)
    Case("pairs/formula.csv", None, check=_formula_pairs),
    Case("pairs/missing_document_column.csv", "no document column (expected one of: document", 1, "document"),
    Case("pairs/empty_query.csv", "query text is empty", 3, "query"),
    Case("pairs/conflicting_ids.csv", "query id 'q1' has a different text than on line 2", 3),
    Case("pairs/latin1.csv", "it looks like Latin-1 / Windows-1252", 3),
    Case("pairs/header_only.csv", "has a header row but no data rows", 1),
    Case("pairs/bom_crlf.tsv", None, check=_bom_crlf_pairs),
    Case("pairs/pairs.xlsx", "spreadsheet files are not read; save the sheet as CSV UTF-8",
         upload_message="got '.xlsx' — save the sheet as CSV UTF-8"),
    # ---- zips (a whole dataset each)
    Case("zip/not_a_zip.zip", "not a valid zip file"),
    Case("zip/nested_one_folder.zip", None, check=_nested_zip),
    Case("zip/nested_deep.zip", "the dataset sits too deep in the zip (home/me/mini/)"),
    Case("zip/two_datasets.zip", "the zip holds more than one dataset (alpha/, beta/)"),
    Case("zip/no_dataset.zip", "no corpus.jsonl (or .csv/.tsv) in the zip; it holds: notes.txt, data/docs.jsonl"),
    Case("zip/bomb_size.zip", "629,145,600 bytes uncompressed; the limit is 536,870,912 (refused before unpacking)"),
    Case("zip/bomb_ratio.zip", "refusing a possible zip bomb"),
    Case("zip/traversal.zip", "unsafe path '../corpus.jsonl'"),
    Case("zip/absolute_path.zip", "unsafe path '/etc/cron.d/evil'"),
    Case("zip/encrypted.zip", "is password-protected"),
    Case("zip/unsupported_method.zip", "uses a compression method this app cannot read (method 9)"),
    Case("zip/corrupt_member.zip", "the zip member is damaged (Bad CRC-32"),
    Case("zip/many_members.zip", "the zip holds 10,001 entries; the limit is 10,000"),
    Case("zip/duplicate_member.zip", "the zip holds 'corpus.jsonl' twice"),
    Case("zip/zip_in_zip.zip", "the zip holds another zip (dataset.zip) but no corpus file"),
    Case("zip/macos_junk.zip", None, check=_nested_zip),
    Case("zip/backslash_names.zip", None, check=_nested_zip),
    Case("zip/bad_member.zip", "corpus.jsonl, line 4: not valid UTF-8", 4),
    Case("zip/two_corpora.zip", "holds both corpus.jsonl and corpus.csv"),
    Case("zip/missing_qrels.zip", "missing qrels/test.tsv"),
    Case("zip/empty.zip", "no corpus.jsonl (or .csv/.tsv) in the zip; it holds: nothing"),
]

BAD_CASES = [c for c in CASES if c.message is not None]
VALID_CASES = [c for c in CASES if c.message is None]
UPLOAD_CASES = [c for c in CASES if c.upload]
FILES = sorted({c.path for c in CASES})


def test_corpus_is_complete() -> None:
    """Every committed file is in the table and every table entry exists (or is generated)."""
    committed = {p.relative_to(BAD).as_posix() for p in BAD.rglob("*") if p.is_file()}
    committed -= {"README.md"} | {p for p in committed if p.startswith("base/")}
    assert committed | set(GENERATORS) == set(FILES)
    assert not committed & set(GENERATORS)
    assert len(FILES) >= 40
    assert len({c.path for c in BAD_CASES}) >= 40


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The path of a case's file, generating big or crafted files once per session."""
    folder = tmp_path_factory.mktemp("generated")
    made: dict[str, Path] = {}

    def get(path: str) -> Path:
        if path not in GENERATORS:
            return BAD / path
        if path not in made:
            made[path] = GENERATORS[path](folder)
        return made[path]

    return get


def _cli_target(case: Case, file: Path, tmp: Path) -> Path:
    """What ``--data`` gets: the file itself, or a BEIR folder with the file in its role."""
    if case.role in ("pairs", "zip"):
        return file
    folder = tmp / "dataset"
    (folder / "qrels").mkdir(parents=True)
    ext = file.suffix
    roles = {
        "corpus": (folder / f"corpus{ext}", BASE / "corpus.jsonl", folder / "corpus.jsonl"),
        "queries": (folder / f"queries{ext}", BASE / "queries.jsonl", folder / "queries.jsonl"),
        "qrels": (folder / "qrels" / f"test{ext}", BASE / "qrels" / "test.tsv", folder / "qrels" / "test.tsv"),
    }
    for role, (bad_at, base, base_at) in roles.items():
        # Symlinks: the sparse 512 MB file is never copied.
        os.symlink(file if role == case.role else base, bad_at if role == case.role else base_at)
    return folder


def _cli_file_name(case: Case, file: Path) -> str:
    """The file name the CLI's message must start with."""
    if case.role == "corpus":
        return f"corpus{file.suffix}"
    if case.role == "queries":
        return f"queries{file.suffix}"
    if case.role == "qrels":
        return f"test{file.suffix}"
    return file.name


def _all_counts(db: Path) -> dict[str, int]:
    """Rows in every table of the database (evaluation runs and the leaderboard alike)."""
    counts = dict(runs.row_counts(db))
    with store.connect(db) as cur:
        tables = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        for t in tables:
            row = cur.execute(f'SELECT count(*) FROM "{t}"').fetchone()
            counts[t] = int(row[0]) if row else 0
    return counts


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding one real stored run, so 'unchanged' is checked on non-empty tables."""
    from lib.evaluation import engine

    path = tmp_path_factory.mktemp("bad-db") / "bad.duckdb"
    cfg = engine.EvaluationConfig(models=("bm25",), sweep=False, bootstrap_resamples=20, paired_resamples=20)
    engine.evaluate(BASE, cfg, db_path=path)
    counts = _all_counts(path)
    assert counts["eval_runs"] == 1 and sum(counts.values()) > 1
    return path


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder for this test; returns the uploads folder inside it."""
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache"))
    return up.uploads_dir()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) if folder.exists() else []


def _assert_specific(case: Case, msg: str, file_name: str, message: str | None = None) -> None:
    expected = message or case.message
    assert expected is not None
    assert expected in msg, msg
    assert file_name in msg, msg
    if case.line is not None:
        assert f", line {case.line}" in msg, msg
    if case.field is not None:
        assert f"field '{case.field}'" in msg, msg
    assert "Traceback" not in msg and "\n" not in msg


# ----------------------------------------------------------------------------- CLI path


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", BAD_CASES, ids=lambda c: f"{c.id}:{c.message[:20] if c.message else ''}")
def test_cli_refuses_with_a_specific_message(
    case: Case, generated: Callable[[str], Path], db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = generated(case.path)
    before = _all_counts(db)
    target = _cli_target(case, file, tmp_path)
    code, out, err = _cli(["evaluate", "--data", str(target), "--model", "bm25", "--db", str(db)], capsys)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    _assert_specific(case, lines[0], _cli_file_name(case, file))
    assert _all_counts(db) == before


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_cli_loads_odd_but_valid_files(
    case: Case, generated: Callable[[str], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = generated(case.path)
    target = _cli_target(case, file, tmp_path)
    assert case.check is not None
    case.check(datasets.load_dataset(target))
    argv = ["evaluate", "--data", str(target), "--model", "bm25", "--db", str(tmp_path / "ok.duckdb"),
            "--format", "json", "--no-sweep", "--bootstrap", "20"]
    code, out, err = _cli(argv, capsys)
    assert code == 0, err
    result = json.loads(out)
    ds = datasets.load_dataset(target)
    assert result["dataset"]["fingerprint"] == ds.fingerprint
    assert result["dataset"]["n_docs"] == len(ds.doc_ids)
    assert runs.row_counts(tmp_path / "ok.duckdb")["eval_runs"] == 1


# A handful through a real `python -m lib` process: exit status, stderr, no traceback.
SUBPROCESS_CASES = [
    "corpus/latin1.jsonl",
    "corpus/long_line_50mb.jsonl",
    "queries/duplicate_id.jsonl",
    "qrels/negative_score.tsv",
    "zip/bomb_size.zip",
    "zip/traversal.zip",
]


@pytest.mark.parametrize("path", SUBPROCESS_CASES)
def test_cli_subprocess(path: str, generated: Callable[[str], Path], db: Path, tmp_path: Path) -> None:
    case = next(c for c in BAD_CASES if c.path == path)
    file = generated(path)
    before = _all_counts(db)
    store.close(db)  # one process per DuckDB file: let the CLI open it
    target = _cli_target(case, file, tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--data", str(target), "--model", "bm25", "--db", str(db)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: "), proc.stderr
    _assert_specific(case, proc.stderr.strip(), _cli_file_name(case, file))
    assert _all_counts(db) == before


# ----------------------------------------------------------------------------- upload path


def _save(case: Case, file: Path) -> Dataset:
    """What the Evaluate page does with the user's files (one call per way of uploading)."""
    upload = up.Upload(file.name, file.read_bytes())
    if case.role == "zip":
        return up.save_zip(upload, max_bytes=CAP)
    if case.role == "pairs":
        return up.save_pairs(upload, max_bytes=CAP)
    parts = {
        "corpus": up.Upload("corpus.jsonl", (BASE / "corpus.jsonl").read_bytes()),
        "queries": up.Upload("queries.jsonl", (BASE / "queries.jsonl").read_bytes()),
        "qrels": up.Upload("test.tsv", (BASE / "qrels" / "test.tsv").read_bytes()),
    }
    parts[case.role] = upload
    return up.save_files(parts["corpus"], parts["queries"], parts["qrels"], name="mydata", max_bytes=CAP)


@pytest.mark.parametrize("case", [c for c in BAD_CASES if c.upload],
                         ids=lambda c: f"{c.id}:{c.message[:20] if c.message else ''}")
def test_upload_refuses_and_leaves_nothing(
    case: Case, generated: Callable[[str], Path], db: Path, uploads: Path
) -> None:
    file = generated(case.path)
    before = _all_counts(db)
    with pytest.raises(UserError) as err:
        _save(case, file)
    msg = str(err.value)
    _assert_specific(case, msg, file.name, case.upload_message)
    assert str(uploads) not in msg and ".incoming-" not in msg  # the user's names, not our copies
    assert _leftovers(uploads) == []
    assert _all_counts(db) == before


@pytest.mark.parametrize("case", VALID_CASES, ids=lambda c: c.id)
def test_upload_keeps_odd_but_valid_files(case: Case, generated: Callable[[str], Path], uploads: Path) -> None:
    assert case.check is not None
    ds = _save(case, generated(case.path))
    case.check(ds)
    # Kept under its content hash, with no staging folder left; the run's source reloads.
    kept = _leftovers(uploads)
    assert kept and not any(".incoming-" in p for p in kept)
    assert Path(ds.source).exists() and str(uploads) in ds.source
    assert datasets.load_dataset(ds.source).fingerprint == ds.fingerprint
    # The same upload again is stored once.
    assert _save(case, generated(case.path)).source == ds.source
    assert _leftovers(uploads) == kept


def test_upload_over_the_cap_is_refused_before_writing(uploads: Path) -> None:
    # The page passes Streamlit's server.maxUploadSize (tests/test_page_evaluate.py checks that).
    big = up.Upload("pairs.csv", b"query,document\n" + b"q,d\n" * 300_000)
    with pytest.raises(UserError, match=r"pairs\.csv: 1,200,015 bytes; uploads are limited to 1 MB"):
        up.save_pairs(big, max_bytes=1024 * 1024)
    assert _leftovers(uploads) == []


def test_staging_left_by_a_killed_process_is_swept(uploads: Path, generated: Callable[[str], Path]) -> None:
    uploads.mkdir(parents=True)
    stale, fresh = uploads / ".incoming-stale", uploads / ".incoming-fresh"
    for d in (stale, fresh):
        (d / "x").mkdir(parents=True)
    os.utime(stale, (1_000_000_000, 1_000_000_000))  # dated 2001: certainly not in progress
    with pytest.raises(UserError):
        _save(next(c for c in BAD_CASES if c.path == "pairs/latin1.csv"), generated("pairs/latin1.csv"))
    assert not stale.exists()
    assert fresh.exists()  # may be another session's upload in progress


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["a.jsonl", "b.jsonl"], "got 2 files"),
        (["one.jsonl", "two.jsonl", "three.tsv"], "Three files need names that say what they are"),
        (["pairs.xlsx"], "got '.xlsx' — save the sheet as CSV UTF-8"),
        (["corpus.parquet", "queries.jsonl", "qrels.tsv"], "corpus.parquet: expected a .jsonl / .csv / .tsv file"),
    ],
)
def test_upload_combinations_that_make_no_sense(names: list[str], message: str, uploads: Path) -> None:
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        up.save_any([up.Upload(n, b"x") for n in names], max_bytes=CAP)
    assert _leftovers(uploads) == []


# ----------------------------------------------------------------------------- the page

APPTEST_CASES = [
    "corpus/latin1.jsonl",
    "corpus/json_array.jsonl",
    "qrels/negative_score.tsv",
    "pairs/latin1.csv",
    "zip/traversal.zip",
    "zip/bomb_ratio.zip",
    "zip/two_datasets.zip",
]


def _page_upload(at: AppTest, files: list[tuple[str, bytes]]) -> AppTest:
    at.file_uploader(key="ev_files").set_value([(n, b, "application/octet-stream") for n, b in files])
    at.run()
    at.button(key="ev_use_files").click()
    return at.run()


def _page_files(case: Case, file: Path) -> list[tuple[str, bytes]]:
    if case.role in ("pairs", "zip"):
        return [(file.name, file.read_bytes())]
    parts = {
        "corpus": ("corpus.jsonl", (BASE / "corpus.jsonl").read_bytes()),
        "queries": ("queries.jsonl", (BASE / "queries.jsonl").read_bytes()),
        "qrels": ("qrels.tsv", (BASE / "qrels" / "test.tsv").read_bytes()),
    }
    # The page tells the three files apart by name.
    parts[case.role] = (f"{case.role}_{file.name}", file.read_bytes())
    return list(parts.values())


def _unescape(md: str) -> str:
    return md.replace("\\", "")


@pytest.mark.parametrize("path", APPTEST_CASES)
def test_page_shows_the_specific_message(
    path: str, generated: Callable[[str], Path], db: Path, uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMS_DB", str(db))
    case = next(c for c in BAD_CASES if c.path == path)
    file = generated(path)
    before = _all_counts(db)
    at = _page_upload(AppTest.from_file(PAGE, default_timeout=60).run(), _page_files(case, file))
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1
    msg = _unescape(at.error[0].value)
    assert msg.startswith("**These files cannot be used:** ")
    name = file.name if case.role in ("pairs", "zip") else f"{case.role}_{file.name}"
    _assert_specific(case, msg, name)
    assert not at.success  # no dataset was accepted
    assert at.form_submit_button[0].disabled  # nothing to run
    assert _leftovers(uploads) == []
    assert _all_counts(db) == before


def test_page_formula_cells_load_and_show_as_plain_text(
    generated: Callable[[str], Path], uploads: Path
) -> None:
    file = generated("pairs/formula.csv")
    at = _page_upload(AppTest.from_file(PAGE, default_timeout=60).run(), [(file.name, file.read_bytes())])
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "4 documents" in at.success[0].value and "4 queries" in at.success[0].value
    queries = next(df.value for df in at.dataframe if list(df.value["text"]) == list(FORMULA_QUERIES))
    assert queries["text"].iloc[0] == '=HYPERLINK("http://evil.example","click")'  # as typed, not defused
    docs = next(df.value for df in at.dataframe if "@SUM(A1:A9)" in list(df.value.get("text", [])))
    assert list(docs["text"])[-1] == "=1+1"
    assert _leftovers(uploads)  # a valid upload is kept


def test_page_escapes_markdown_in_file_names(uploads: Path) -> None:
    name = "[click me](http://evil.example) *bold*.csv"
    at = _page_upload(AppTest.from_file(PAGE, default_timeout=60).run(), [(name, b"query,document\n")])
    msg = at.error[0].value
    assert "\\[click me\\](http://evil.example) \\*bold\\*.csv" in msg  # rendered literally, not as a link
    assert "has a header row but no data rows" in msg
    assert _leftovers(uploads) == []


def test_page_valid_bom_and_crlf_upload(generated: Callable[[str], Path], uploads: Path) -> None:
    file = generated("pairs/bom_crlf.tsv")
    at = _page_upload(AppTest.from_file(PAGE, default_timeout=60).run(), [(file.name, file.read_bytes())])
    assert not at.error and not at.exception
    assert "2 documents" in at.success[0].value and "2 queries" in at.success[0].value


def test_upload_message_names_the_users_other_file(uploads: Path) -> None:
    # A judgement pointing at an unknown query names the user's queries file, not our staged copy.
    corpus = up.Upload("my_docs_corpus.jsonl", (BASE / "corpus.jsonl").read_bytes())
    queries = up.Upload("my_queries.jsonl", (BASE / "queries.jsonl").read_bytes())
    qrels = up.Upload("judgements_qrels.tsv", b"query-id\tcorpus-id\tscore\nnope\td1\t1\n")
    with pytest.raises(UserError) as err:
        up.save_files(corpus, queries, qrels, name="mine", max_bytes=CAP)
    msg = str(err.value)
    assert "judgements_qrels.tsv" in msg and "is not in my_queries.jsonl" in msg, msg
