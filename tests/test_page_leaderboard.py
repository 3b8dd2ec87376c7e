from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import store


def _app(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("EMS_DB", str(db))
    return AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)


def test_shows_mtebs_table_with_provenance(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db).run()
    assert not at.exception
    assert at.selectbox(key="lb_benchmark").value == "MTEB(eng, v2)"
    df = at.dataframe[0].value
    assert len(df) == 317
    top = df.set_index("Rank (Borda)")
    assert top.loc[1, "Model"] == "jcorners/ingot-8b-r3"
    assert round(top.loc[1, "Mean (Task)"], 2) == 75.98  # shown x100
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "mteb 2.26.24" in sidebar and "1,293,183 results" in sidebar


def test_switching_benchmark_recomputes(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db).run()
    at.selectbox(key="lb_benchmark").select("MTEB(Multilingual, v2)").run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 426
    assert "BitextMining" in df.columns


def test_empty_database_explains_how_to_get_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = _app(monkeypatch, tmp_path / "empty.duckdb").run()
    assert not at.exception
    text = at.info[0].value
    assert "python -m lib refresh" in text and "EMS_MTEB_RESULTS" in text
    assert not at.dataframe


def test_load_button_with_bad_source_shows_error_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "empty2.duckdb"
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(tmp_path / "missing-copy"))
    at = _app(monkeypatch, db).run()
    at.button[0].click().run()
    assert not at.exception
    assert any("does not exist" in e.value for e in at.error)
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM mteb_results").fetchone() == (0,)


def test_load_button_loads_local_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_dir: Path) -> None:
    db = tmp_path / "load.duckdb"
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(shared_dir / "mteb-results"))
    at = _app(monkeypatch, db).run()
    at.button[0].click().run(timeout=300)
    assert not at.exception
    at.run()
    assert len(at.dataframe[0].value) == 317


def test_page_render_never_imports_mteb(lb_db: Path) -> None:
    import subprocess
    import sys

    store.close(lb_db)
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(root / 'app.py')!r}, default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "assert len(at.dataframe[0].value) == 317\n"
        "print('mteb' in sys.modules, 'torch' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "EMS_DB": str(lb_db)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False False"
