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
