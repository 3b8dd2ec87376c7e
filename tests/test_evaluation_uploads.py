"""lib.evaluation.uploads: staging, the atomic keep, sweeping, the size cap, message rewriting.

No Streamlit here: uploads are names and bytes, the cap is an argument and the folder is a
``tmp_path``. The bad-input corpus (tests/test_bad_inputs.py) runs every broken file through
the same functions; the page's wiring (Streamlit's cap, UploadedFile) is in
tests/test_page_evaluate.py.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from lib.errors import UserError
from lib.evaluation import datasets
from lib.evaluation import uploads as up

BASE = Path(__file__).resolve().parent / "bad_inputs" / "base"
CAP = 200 * 1024 * 1024


def _base() -> dict[str, bytes]:
    return {
        "corpus.jsonl": (BASE / "corpus.jsonl").read_bytes(),
        "queries.jsonl": (BASE / "queries.jsonl").read_bytes(),
        "test.tsv": (BASE / "qrels" / "test.tsv").read_bytes(),
    }


def _tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# ----------------------------------------------------------------------------- small pieces


def test_as_upload_reads_bytes_and_file_likes(tmp_path: Path) -> None:
    assert up.as_upload(b"abc", name="a.csv") == up.Upload("a.csv", b"abc")
    assert up.as_upload(bytearray(b"abc"), name="a.csv") == up.Upload("a.csv", b"abc")
    buf = io.BytesIO(b"xyz")
    buf.name = "b.tsv"  # type: ignore[attr-defined]
    assert up.as_upload(buf) == up.Upload("b.tsv", b"xyz")  # getvalue(), like Streamlit's UploadedFile
    (tmp_path / "c.jsonl").write_bytes(b"{}\n")
    with (tmp_path / "c.jsonl").open("rb") as fh:
        assert up.as_upload(fh, name="c.jsonl") == up.Upload("c.jsonl", b"{}\n")  # read()
    with pytest.raises(TypeError, match="needs a file name"):
        up.as_upload(b"abc")
    with pytest.raises(TypeError, match="cannot read an upload from int"):
        up.as_upload(42, name="x.csv")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("my data (final).csv", "my-data-final"),
        ("../../etc/passwd", "passwd"),
        ("..zip", "dataset"),  # nothing left: a fixed name
        ("Ünïcode ñame.jsonl", "n-code-ame"),
        ("x" * 80 + ".csv", "x" * 60),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert up.safe_name(name) == safe


def test_digest_is_sha256_of_part_digests() -> None:
    parts = [b"a.csv", b"query,document\n", b""]
    oracle = hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).hexdigest()[:16]
    assert up.digest(parts) == oracle
    # Parts are hashed separately, so moving a byte across a boundary changes the digest.
    assert up.digest([b"ab", b"c"]) != up.digest([b"a", b"bc"])


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("my_corpus.jsonl", "corpus"),
        ("docs.csv", "corpus"),
        ("Queries.JSONL", "queries"),
        ("qrels.tsv", "qrels"),
        ("dev.tsv", "qrels"),
        ("judgments.csv", "qrels"),
        ("notes.txt", None),
        ("corpus/notes.tsv", None),  # only the file's own name counts
    ],
)
def test_role_from_file_name(name: str, role: str | None) -> None:
    assert up.role(name) == role


# ----------------------------------------------------------------------------- sizes


def test_cap_is_inclusive_and_named_in_the_message() -> None:
    mib = 1024 * 1024
    up.check_sizes([up.Upload("ok.csv", b"x" * mib)], max_bytes=mib)  # exactly at the cap: fine
    with pytest.raises(UserError, match=r"^big\.csv: 1,048,577 bytes; uploads are limited to 1 MB\. "):
        up.check_sizes([up.Upload("big.csv", b"x" * (mib + 1))], max_bytes=mib)
    # A cap that is not whole megabytes is given in bytes, never rounded down to "0 MB".
    with pytest.raises(UserError, match=r"uploads are limited to 1,000 bytes\."):
        up.check_sizes([up.Upload("a.csv", b"x" * 1001)], max_bytes=1000)


def test_engine_file_limit_applies_to_plain_files_not_zips(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine checks a zip's members itself; a plain file over its limit is refused up front.
    real = datasets.Limits
    monkeypatch.setattr(up.datasets, "Limits", lambda: real(max_file_bytes=10))
    up.check_sizes([up.Upload("data.zip", b"x" * 11)], max_bytes=CAP)
    with pytest.raises(UserError, match=r"^pairs\.csv: 11 bytes; the limit is 10\.$"):
        up.check_sizes([up.Upload("pairs.csv", b"x" * 11)], max_bytes=CAP)


def test_oversized_upload_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="uploads are limited to"):
        up.save_pairs(up.Upload("p.csv", b"query,document\nq,d\n"), max_bytes=5, root=tmp_path / "u")
    assert not (tmp_path / "u").exists()


# ----------------------------------------------------------------------------- keeping


def test_three_files_are_kept_as_a_beir_folder_under_their_hash(tmp_path: Path) -> None:
    root = tmp_path / "u"
    b = _base()
    ds = up.save_files(up.Upload("my_docs_corpus.jsonl", b["corpus.jsonl"]), up.Upload("q.jsonl", b["queries.jsonl"]),
                       up.Upload("j.tsv", b["test.tsv"]), name="My set", max_bytes=CAP, root=root)
    oracle = up.digest([p for rel, data in sorted({"My-set/corpus.jsonl": b["corpus.jsonl"],
                                                   "My-set/qrels/test.tsv": b["test.tsv"],
                                                   "My-set/queries.jsonl": b["queries.jsonl"]}.items())
                        for p in (rel.encode(), data)])
    assert _tree(root) == [oracle, f"{oracle}/My-set", f"{oracle}/My-set/corpus.jsonl", f"{oracle}/My-set/qrels",
                           f"{oracle}/My-set/qrels/test.tsv", f"{oracle}/My-set/queries.jsonl"]
    assert Path(ds.source) == root / oracle / "My-set"
    # The kept copy is the same data the engine reads from the original files.
    assert ds.fingerprint == datasets.load_dataset(BASE).fingerprint
    assert datasets.load_dataset(ds.source).fingerprint == ds.fingerprint


def test_same_upload_is_kept_once_and_a_different_one_beside_it(tmp_path: Path) -> None:
    root = tmp_path / "u"
    pairs = up.Upload("pairs.csv", b"query,document\nwhat purrs?,Cats purr.\n")
    first = up.save_pairs(pairs, max_bytes=CAP, root=root)
    again = up.save_any([pairs], max_bytes=CAP, root=root)
    assert again.source == first.source and again.fingerprint == first.fingerprint
    assert len([p for p in root.iterdir()]) == 1
    other = up.save_pairs(up.Upload("pairs.csv", b"query,document\nwho barks?,Dogs bark.\n"), max_bytes=CAP,
                          root=root)
    assert other.source != first.source
    assert sorted(p.name for p in root.iterdir()) == sorted({Path(first.source).parent.name,
                                                             Path(other.source).parent.name})


def test_a_zip_is_kept_as_the_zip(tmp_path: Path) -> None:
    root = tmp_path / "u"
    b = _base()
    data = _zip_bytes({"set/corpus.jsonl": b["corpus.jsonl"], "set/queries.jsonl": b["queries.jsonl"],
                       "set/qrels/test.tsv": b["test.tsv"]})
    ds = up.save_any([up.Upload("My Set.zip", data)], max_bytes=CAP, root=root)
    kept = Path(ds.source)
    assert kept.parent.parent == root and kept.name == "My-Set.zip"
    assert kept.read_bytes() == data
    assert ds.fingerprint == datasets.load_dataset(BASE).fingerprint


def test_invalid_upload_leaves_nothing_and_names_the_users_files(tmp_path: Path) -> None:
    root = tmp_path / "u"
    b = _base()
    qrels = up.Upload("judgements_qrels.tsv", b"query-id\tcorpus-id\tscore\nnope\td1\t1\n")
    with pytest.raises(UserError) as err:
        up.save_any([up.Upload("a_corpus.jsonl", b["corpus.jsonl"]), up.Upload("my_queries.jsonl",
                                                                                b["queries.jsonl"]), qrels],
                    max_bytes=CAP, root=root)
    msg = str(err.value)
    assert "judgements_qrels.tsv" in msg and "my_queries.jsonl" in msg, msg
    assert str(root) not in msg and up.STAGING_PREFIX not in msg
    assert _tree(root) == []  # the root exists, empty: no staging folder, nothing kept


def test_losing_the_rename_race_to_the_same_upload_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another session keeps the identical upload between our exists() check and our rename.
    root = tmp_path / "u"
    pairs = up.Upload("pairs.csv", b"query,document\nwhat purrs?,Cats purr.\n")

    def racing_rename(self: Path, target: Path) -> Path:
        shutil.copytree(self, target)  # "the other session" keeps the same bytes first …
        raise OSError("Directory not empty")  # … so our rename fails

    monkeypatch.setattr(Path, "rename", racing_rename)
    ds = up.save_pairs(pairs, max_bytes=CAP, root=root)
    monkeypatch.undo()
    assert Path(ds.source).exists() and up.STAGING_PREFIX not in ds.source
    assert [p.name for p in root.iterdir()] == [Path(ds.source).parent.name]  # our staging folder is gone
    assert datasets.load_dataset(ds.source).fingerprint == ds.fingerprint


def test_a_failed_rename_without_a_winner_is_raised_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "u"

    def failing_rename(self: Path, target: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        up.save_pairs(up.Upload("pairs.csv", b"query,document\nq,d\n"), max_bytes=CAP, root=root)
    monkeypatch.undo()
    assert _tree(root) == []


def test_default_root_is_the_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache"))
    assert up.uploads_dir() == tmp_path / "cache" / "uploads"
    ds = up.save_pairs(up.Upload("p.csv", b"query,document\nq,d\n"), max_bytes=CAP)
    assert Path(ds.source).is_relative_to(tmp_path / "cache" / "uploads")


# ----------------------------------------------------------------------------- sweeping


def test_sweep_removes_only_old_staging_folders(tmp_path: Path) -> None:
    now = 2_000_000_000.0
    old, young, kept = tmp_path / ".incoming-old", tmp_path / ".incoming-young", tmp_path / "0123456789abcdef"
    for d in (old, young, kept):
        (d / "sub").mkdir(parents=True)
    os.utime(old, (now - up.STAGING_MAX_AGE_S - 1, now - up.STAGING_MAX_AGE_S - 1))
    os.utime(young, (now - up.STAGING_MAX_AGE_S + 60, now - up.STAGING_MAX_AGE_S + 60))
    os.utime(kept, (0, 0))  # a kept upload is never swept, however old
    assert up.sweep_staging(tmp_path, now=now) == [old]
    assert not old.exists() and young.exists() and kept.exists()
    assert up.sweep_staging(tmp_path, max_age_s=0, now=now + 1) == [young]


def test_sweep_of_a_missing_root_is_a_no_op(tmp_path: Path) -> None:
    assert up.sweep_staging(tmp_path / "absent") == []


# ----------------------------------------------------------------------------- messages


def test_rewrite_message_puts_back_the_users_names() -> None:
    staged = "/cache/uploads/.incoming-x1/set"
    originals = {f"{staged}/corpus.jsonl": "my corpus.jsonl", f"{staged}/queries.jsonl": "Q.jsonl", staged: "set"}
    msg = (f"{staged}/corpus.jsonl, line 3: duplicate id; qrels line 2: 'q9' is not in queries.jsonl "
           "(see my_queries.jsonl, queries.jsonl.bak)")
    assert up.rewrite_message(msg, originals) == (
        "my corpus.jsonl, line 3: duplicate id; qrels line 2: 'q9' is not in Q.jsonl "
        "(see my_queries.jsonl, queries.jsonl.bak)"  # whole tokens only
    )
    # The longest staged path wins: the folder's own name does not eat its files' paths.
    assert up.rewrite_message(f"{staged}: empty", originals) == "set: empty"
    # A user's name that contains a staged name is not rewritten a second time.
    assert up.rewrite_message(f"{staged}/corpus.jsonl: bad; corpus.jsonl", originals) == (
        "my corpus.jsonl: bad; my corpus.jsonl")
    assert up.rewrite_message("nothing to do", {}) == "nothing to do"
    # Backslashes in a user's name are text, not regex escapes.
    assert up.rewrite_message("queries.jsonl", {f"{staged}/queries.jsonl": r"C:\q\1.jsonl"}) == r"C:\q\1.jsonl"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ([], "got 0 files"),
        (["a.jsonl", "b.jsonl"], "got 2 files"),
        (["corpus.jsonl", "corpus2.jsonl", "qrels.tsv"], "Three files need names that say what they are"),
        (["data.txt"], "data.txt: expected a .csv / .tsv / .jsonl file, got '.txt'"),
        (["noext"], "got 'no extension'"),
        (["sheet.ODS"], "got '.ods' — save the sheet as CSV UTF-8"),
    ],
)
def test_save_any_refuses_what_it_does_not_understand(names: list[str], message: str, tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        up.save_any([up.Upload(n, b"x") for n in names], max_bytes=CAP, root=tmp_path / "u")
    assert message in str(err.value)
    assert _tree(tmp_path / "u") == []
