import time
from pathlib import Path

import pytest

from lib.leaderboard import sources


def test_local_dataset_folder(shared_dir: Path) -> None:
    src = sources.local_source(shared_dir / "mteb-results")
    assert [f.name for f in src.files] == ["train-00000-of-00001.parquet"]
    assert src.revision.startswith("local-")
    assert src.label.endswith("mteb-results")


def test_single_parquet_file(results_parquet: list[Path]) -> None:
    src = sources.local_source(results_parquet[0])
    assert src.files == (results_parquet[0].resolve(),)


def test_missing_path_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(sources.SourceError, match="EMS_MTEB_RESULTS"):
        sources.local_source(tmp_path / "nope")


def test_folder_without_parquet(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(sources.SourceError, match="No parquet files"):
        sources.local_source(tmp_path)


def test_non_parquet_file(tmp_path: Path) -> None:
    f = tmp_path / "results.csv"
    f.write_text("a,b\n")
    with pytest.raises(sources.SourceError, match="not a parquet file"):
        sources.local_source(f)


def test_env_variable_is_used(monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(shared_dir / "mteb-results"))
    assert sources.resolve_source().files[0].name.startswith("train-")


def test_hub_download_fails_fast_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Offline mode (as on this machine): a clear error, quickly, naming the way out.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path))
    t0 = time.monotonic()
    with pytest.raises(sources.SourceError, match="EMS_MTEB_RESULTS") as err:
        sources.hub_source(timeout_s=5)
    assert time.monotonic() - t0 < 30
    assert "mteb/results" in str(err.value)


def test_hub_unreachable_endpoint_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Not in offline mode, but nothing answers: a refused connection on loopback.
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # the port is now closed: connections are refused at once
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path))
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "ENDPOINT", f"http://127.0.0.1:{port}", raising=False)
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", False, raising=False)
    t0 = time.monotonic()
    with pytest.raises(sources.SourceError, match="Could not download"):
        sources.hub_source(timeout_s=3)
    assert time.monotonic() - t0 < 30


# --- source order and the bundled snapshot (issue 12) -----------------------------------


def _hub_down(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []

    def down(*_a: object, **_k: object) -> sources.ResultsSource:
        calls.append(1)
        raise sources.HubUnavailableError("Could not download mteb/results (ConnectError: no route)",
                                          "ConnectError: no route")

    monkeypatch.setattr(sources, "hub_source", down)
    return calls


def test_no_copy_and_no_hub_falls_back_to_the_dated_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMS_MTEB_RESULTS", raising=False)
    calls = _hub_down(monkeypatch)
    src = sources.resolve_source()
    assert calls == [1]  # the hub was asked first
    assert src.kind == "snapshot"
    assert src.files == (sources.SNAPSHOT_DIR / "mteb-results-2026-08-20.parquet",)
    assert src.data_date is not None and src.data_date.isoformat() == "2026-08-20"
    line = src.describe()
    assert line.startswith("results: the bundled snapshot, mteb/results@f4cc6c8b365a (dated 2026-08-20)")
    assert "the hub did not answer (ConnectError: no route)" in line
    assert "\n" not in line


def test_hub_answering_wins_over_the_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EMS_MTEB_RESULTS", raising=False)
    f = tmp_path / "train-0.parquet"
    f.write_bytes(b"PAR1")
    hub = sources.ResultsSource((f,), "mteb/results@abc", "abc", "hub")
    monkeypatch.setattr(sources, "hub_source", lambda *a, **k: hub)
    assert sources.resolve_source() is hub


def test_explicit_or_env_copy_is_never_silently_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _hub_down(monkeypatch)
    with pytest.raises(sources.SourceError, match="does not exist"):
        sources.resolve_source(tmp_path / "typo")
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(tmp_path / "typo"))
    with pytest.raises(sources.SourceError, match="does not exist"):
        sources.resolve_source()
    assert calls == []  # neither asked the hub nor fell back


def test_env_copy_is_labelled_as_such(monkeypatch: pytest.MonkeyPatch, shared_dir: Path) -> None:
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(shared_dir / "mteb-results"))
    src = sources.resolve_source()
    assert src.kind == "env" and src.data_date is None  # the shared copy has no snapshot.json
    assert src.describe().startswith("results: EMS_MTEB_RESULTS, ")
    assert "date unknown" in src.describe()


def test_snapshot_facts_match_its_file(shared_dir: Path) -> None:
    # Independent check of snapshot.json: count the parquet's rows and model results with DuckDB,
    # and compare the file with the shared copy it was taken from, byte for byte.
    import hashlib
    import json

    import duckdb

    meta = json.loads((sources.SNAPSHOT_DIR / "snapshot.json").read_text())
    f = sources.SNAPSHOT_DIR / meta["file"]
    rows, results = duckdb.sql(
        f"SELECT count(*), count(DISTINCT (model_name, model_revision)) FROM read_parquet('{f}')"
    ).fetchall()[0]
    assert (rows, results) == (meta["rows"], meta["model_results"]) == (1_293_183, 901)
    assert meta["date"] in meta["file"]  # a dated copy
    shared = shared_dir / "mteb-results" / "data" / "train-00000-of-00001.parquet"
    assert hashlib.sha256(f.read_bytes()).digest() == hashlib.sha256(shared.read_bytes()).digest()
    source_md = (sources.SNAPSHOT_DIR / "SOURCE.md").read_text()
    for fact in (meta["results_commit"], meta["date"], meta["mteb_version"], "1,293,183", "FloresBitextMining"):
        assert fact in source_md


def test_snapshot_with_bad_date_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "x.parquet").write_bytes(b"PAR1")
    (tmp_path / "snapshot.json").write_text('{"date": "August"}')
    with pytest.raises(sources.SourceError, match="no valid date"):
        sources.local_source(tmp_path)
