from pathlib import Path

import pytest

from lib.errors import UserError
from lib.leaderboard import queries
from lib.leaderboard import store as lbstore
from lib.leaderboard.refresh import refresh


def _count(db: Path, sql: str) -> int:
    with lbstore.connect(db) as cur:
        row = cur.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def test_refresh_loads_the_published_rows(lb_db: Path) -> None:
    # SOURCE.md: 1,293,183 rows, 901 model results (name + revision).
    assert _count(lb_db, "SELECT count(*) FROM mteb_results") == 1_293_183
    assert _count(lb_db, "SELECT count(DISTINCT (model_name, model_revision)) FROM mteb_results") == 901
    prov = queries.provenance(lb_db)
    assert prov is not None
    assert prov.mteb_version == "2.26.24"
    assert prov.source.endswith("mteb-results")
    assert prov.n_local_rows > 0
    assert prov.local_results is not None and prov.local_results.endswith("mteb-results-raw")


def test_metadata_comes_from_mteb(lb_db: Path) -> None:
    m = queries.model("intfloat/multilingual-e5-small", lb_db)
    assert m is not None
    assert m["embed_dim"] == 384
    assert m["max_tokens"] == 512
    assert m["license"] == "mit"
    assert m["query_prompt"] == "query: " and m["document_prompt"] == "passage: "
    tasks = queries.benchmark_tasks("MTEB(eng, v2)", lb_db)
    assert len(tasks) == 41
    assert set(tasks["type"]) >= {"Retrieval", "STS", "Classification", "Clustering"}
    benches = queries.benchmarks(lb_db)
    assert "MTEB(Multilingual, v2)" in set(benches["name"])


def test_local_results_replace_published_rows(lb_db: Path) -> None:
    # The raw files are the same results as the published ones: no duplicate cells.
    dup = _count(
        lb_db,
        """
        SELECT count(*) FROM (
            SELECT model_name, model_revision, task_name, split, subset, count(DISTINCT source) n
            FROM mteb_results GROUP BY ALL HAVING n > 1)
        """,
    )
    assert dup == 0
    assert _count(lb_db, "SELECT count(*) FROM mteb_results WHERE source = 'local'") > 1000


def test_refresh_is_idempotent(shared_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "twice.duckdb"
    first = refresh(db, results=shared_dir / "mteb-results")
    second = refresh(db, results=shared_dir / "mteb-results")
    assert first.n_rows == second.n_rows == _count(db, "SELECT count(*) FROM mteb_results")
    assert _count(db, "SELECT count(*) FROM models") == first.n_models
    assert _count(db, "SELECT count(*) FROM refreshes") == 2
    # Each refresh swapped in a new file that kept the history of the one it replaced.
    with lbstore.connect(db) as cur:
        assert cur.execute("SELECT id FROM refreshes ORDER BY id").fetchall() == [(1,), (2,)]
    # A failing refresh (bad local folder) leaves the previous data untouched.
    with pytest.raises(UserError, match="does not exist"):
        refresh(db, results=shared_dir / "mteb-results", local_results=tmp_path / "missing")
    assert _count(db, "SELECT count(*) FROM mteb_results") == first.n_rows
    assert _count(db, "SELECT count(*) FROM refreshes") == 2
    # The leaderboard is a file of its own; the app's database was never created.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leaderboard.duckdb"]


def test_refresh_cli_progress_and_summary(shared_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "cli.duckdb"
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "refresh", "--results", str(shared_dir / "mteb-results"), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reading mteb metadata" in proc.stderr
    assert "1293183 rows" in proc.stdout


def test_refresh_cli_bad_path_is_one_clear_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lib",
            "refresh",
            "--results",
            str(tmp_path / "nowhere"),
            "--db",
            str(tmp_path / "x.duckdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_freshness_names_source_and_date_and_calls_out_stale_data() -> None:
    import datetime as dt

    prov = queries.Provenance(
        refreshed_at=dt.datetime(2026, 12, 1, 9, 0), source="mteb/results@f4cc6c8b365a", source_revision="x",
        local_results=None, mteb_version="2.26.24", n_rows=1, n_local_rows=0, n_models=1, n_benchmarks=1,
        source_kind="snapshot", source_date=dt.date(2026, 8, 20),
    )
    old = queries.freshness(prov, today=dt.date(2026, 12, 1))
    # 2026-08-20 → 2026-12-01: 11 + 30 + 31 + 30 + 1 = 103 days
    assert (old.age_days, old.stale) == (103, True)
    assert old.line == ("MTEB results from the bundled snapshot: mteb/results@f4cc6c8b365a, dated 2026-08-20 "
                        "(103 days old).")
    assert "older than 90 days" in old.warning and "python -m lib refresh" in old.warning
    edge = queries.freshness(prov, today=dt.date(2026, 11, 18))  # exactly 90 days: not yet stale
    assert (edge.age_days, edge.stale, edge.warning) == (90, False, "")
    from dataclasses import replace

    unknown = queries.freshness(replace(prov, source_kind="env", source_date=None), today=dt.date(2026, 12, 1))
    assert not unknown.stale and "date of the results unknown" in unknown.line
    assert unknown.source.startswith("EMS_MTEB_RESULTS: ")


def test_cli_refresh_offline_with_no_arguments_loads_the_snapshot(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_")}
    env.update(EMS_DB=str(tmp_path / "cli.duckdb"), EMS_CACHE_DIR=str(tmp_path / "cache"), HF_HUB_OFFLINE="1")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-m", "lib", "refresh"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("1293183 rows (0 local)")
    assert "the bundled snapshot, mteb/results@f4cc6c8b365a (dated 2026-08-20) — the hub did not answer" in lines[0]
    prov = queries.provenance(tmp_path / "cli.duckdb")
    assert prov is not None and prov.source_kind == "snapshot" and str(prov.source_date) == "2026-08-20"
