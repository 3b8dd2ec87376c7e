"""lib.config: every setting from its environment variable, with its default."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib import config

VARS = ("EMS_DB", "EMS_LEADERBOARD_DB", "EMS_MTEB_RESULTS", "EMS_LOCAL_RESULTS", "EMS_CACHE_DIR", "EMS_HUB_TIMEOUT")


def test_defaults_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in VARS:
        monkeypatch.delenv(v, raising=False)
    s = config.get_settings()
    root = Path(__file__).resolve().parent.parent
    assert s == config.Settings(db_path=root / "data" / "ems.duckdb", leaderboard_db=None, mteb_results=None,
                                local_results=None, cache_dir=root / "data" / "cache", hub_timeout_s=20.0)
    assert config.leaderboard_path() == root / "data" / "leaderboard.duckdb"  # beside the app's database


def test_environment_overrides_and_blank_means_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_DB", f"  {tmp_path / 'x.duckdb'}  ")  # surrounding blanks are ignored
    monkeypatch.setenv("EMS_MTEB_RESULTS", "~/results")
    monkeypatch.setenv("EMS_LOCAL_RESULTS", "")
    monkeypatch.setenv("EMS_CACHE_DIR", "   ")
    monkeypatch.setenv("EMS_HUB_TIMEOUT", "2.5")
    monkeypatch.setenv("HOME", str(tmp_path))
    s = config.get_settings()
    assert s.db_path == tmp_path / "x.duckdb"
    assert s.mteb_results == tmp_path / "results"  # ~ expanded
    assert s.local_results is None and s.cache_dir == config.DATA_DIR / "cache"
    assert s.hub_timeout_s == 2.5
    monkeypatch.setenv("EMS_DB", str(tmp_path / "y.duckdb"))
    assert config.get_settings().db_path == tmp_path / "y.duckdb"  # read each call, never cached


def test_leaderboard_file_is_beside_the_app_database_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMS_LEADERBOARD_DB", raising=False)
    monkeypatch.setenv("EMS_DB", str(tmp_path / "app" / "ems.duckdb"))
    assert config.leaderboard_path() == tmp_path / "app" / "leaderboard.duckdb"
    assert config.leaderboard_path(tmp_path / "other" / "x.duckdb") == tmp_path / "other" / "leaderboard.duckdb"
    monkeypatch.setenv("EMS_LEADERBOARD_DB", str(tmp_path / "lb.duckdb"))  # one file for every app database
    assert config.get_settings().leaderboard_db == tmp_path / "lb.duckdb"
    assert config.leaderboard_path() == config.leaderboard_path(tmp_path / "x.duckdb") == tmp_path / "lb.duckdb"
    monkeypatch.setenv("EMS_LEADERBOARD_DB", "  ")  # blank means the default
    assert config.leaderboard_path() == tmp_path / "app" / "leaderboard.duckdb"


def test_scale_and_ray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in ("EMS_MAX_DOCUMENTS", "EMS_RAY_ADDRESS", "EMS_RAY_ACTORS", "EMS_RAY_BATCH_SIZE",
              "EMS_RAY_GPUS_PER_ACTOR", "EMS_TOPK_BLOCK"):
        monkeypatch.delenv(v, raising=False)
    s = config.get_settings()
    assert (s.max_documents, s.ray_address, s.ray_actors, s.ray_batch_size, s.ray_gpus_per_actor, s.topk_block) == (
        2_000_000, None, None, 1024, None, 65_536)
    monkeypatch.setenv("EMS_MAX_DOCUMENTS", "5_000_000")
    monkeypatch.setenv("EMS_RAY_ADDRESS", " ray://head.example:10001 ")
    monkeypatch.setenv("EMS_RAY_ACTORS", "3")
    monkeypatch.setenv("EMS_RAY_BATCH_SIZE", "256")
    monkeypatch.setenv("EMS_RAY_GPUS_PER_ACTOR", "0.5")
    monkeypatch.setenv("EMS_TOPK_BLOCK", "1000")
    s = config.get_settings()
    assert (s.max_documents, s.ray_address, s.ray_actors, s.ray_batch_size, s.ray_gpus_per_actor, s.topk_block) == (
        5_000_000, "ray://head.example:10001", 3, 256, 0.5, 1000)
    for ok in ("auto", "10.0.0.5:6379"):
        monkeypatch.setenv("EMS_RAY_ADDRESS", ok)
        assert config.get_settings().ray_address == ok


@pytest.mark.parametrize(("var", "value"), [
    ("EMS_MAX_DOCUMENTS", "lots"), ("EMS_MAX_DOCUMENTS", "0"), ("EMS_MAX_DOCUMENTS", "-5"),
    ("EMS_RAY_ACTORS", "1.5"), ("EMS_TOPK_BLOCK", "0"), ("EMS_RAY_GPUS_PER_ACTOR", "-1"),
    ("EMS_RAY_ADDRESS", "my cluster"), ("EMS_RAY_ADDRESS", "http://head:8265"),
])
def test_malformed_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    from lib.errors import UserError

    monkeypatch.setenv(var, value)
    with pytest.raises(UserError, match=var):
        config.get_settings()
