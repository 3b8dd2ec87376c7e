"""AppTest of team mode: the sign-in screen and nothing else, the set-up screen, signed-in routing,
the opt-out, and the pages' ownership filter and limit messages for a signed-in person.

``EMS_TEAM_MODE=1`` turns sign-in on (as a non-loopback ``server.address`` does; that decision is
tests/test_team.py's, the real server's tests/e2e/test_team_e2e.py's). ``at.user`` plays the
identity Streamlit reads from its signed cookie.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import store, team
from lib.evaluation import runs
from tests.conftest import wait_for_jobs

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
DEMO = ROOT / "data" / "demo"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "c" * 48,
    "client_id": "ems",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9400/.well-known/openid-configuration",
}
ALICE = {"is_logged_in": True, "sub": "sub-alice", "email": "alice@example.com", "name": "Alice"}
BOB = {"is_logged_in": True, "sub": "sub-bob", "email": "bob@example.com"}


@pytest.fixture
def team_db(lb_db_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EMS_DB", str(lb_db_copy))
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("EMS_TEAM_MODE", "1")
    monkeypatch.delenv("EMS_ALLOW_ANONYMOUS", raising=False)
    yield lb_db_copy
    store.close(lb_db_copy)


def _app(user: dict[str, object] | None = None, secrets: dict[str, object] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if secrets is not None:
        at.secrets["auth"] = secrets
    if user is not None:
        at.user = user
    return at.run()


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("title", "markdown", "caption", "error", "info", "warning", "success")
                     for e in getattr(at, kind))


def test_signed_out_sees_only_the_sign_in_screen(team_db: Path) -> None:
    at = _app(user={"is_logged_in": False}, secrets=AUTH)
    assert not at.exception
    assert [t.value for t in at.title] == ["Embedding Model Selection"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "Sign in" in at.markdown[0].value and "yours alone unless you share them" in at.markdown[0].value
    # Nothing of the app: no sidebar (data source, database path), no tables, no page.
    assert len(at.sidebar.children) == 0 and not at.dataframe and not at.selectbox
    assert "Database" not in _texts(at) and str(team_db) not in _texts(at)


def test_without_auth_set_up_the_server_says_what_is_missing_and_shows_nothing(team_db: Path) -> None:
    at = _app(user={"is_logged_in": False})  # no [auth] in the secrets
    assert [t.value for t in at.title] == ["Sign-in is not set up"]
    shown = at.error[0].value.replace("\\", "")  # Markdown escapes of the brackets
    assert "Everyone must sign in" in shown and "there is no [auth] section in .streamlit/secrets.toml" in shown
    assert "EMS_ALLOW_ANONYMOUS=1" in at.markdown[0].value and "docs/TEAM.md" in at.markdown[0].value
    assert not at.button and len(at.sidebar.children) == 0
    # An [auth] section Streamlit could not use is refused the same way, naming the problem.
    at = _app(user={"is_logged_in": False}, secrets={**AUTH, "cookie_secret": "short"})
    assert "[auth] cookie_secret is 5 characters" in at.error[0].value.replace("\\", "") and not at.button


def test_signed_in_person_gets_the_app_and_sign_out(team_db: Path) -> None:
    at = _app(user=ALICE, secrets=AUTH)
    assert not at.exception
    side = "\n".join(str(c.value) for c in at.sidebar.caption)
    assert "Signed in as **alice@example.com**" in side and "MTEB data" in side
    assert any(b.label == "Sign out" for b in at.sidebar.button)
    assert team.display_names(team_db) == {"sub-alice": "alice@example.com"}


def test_the_documented_opt_out_serves_without_sign_in(team_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_ALLOW_ANONYMOUS", "1")
    at = _app(user={"is_logged_in": False})
    assert not at.exception
    assert "Sign in" not in [b.label for b in at.button]
    assert any("MTEB data" in str(c.value) for c in at.sidebar.caption)
    assert not any("Signed in as" in str(c.value) for c in at.sidebar.caption)


def _start(db: Path, run_id: str, user: str, status: str = "running") -> None:
    runs.start_run(db, run_id=run_id, dataset={"name": f"{run_id}-data", "source": str(DEMO), "split": "test",
                                               "fingerprint": "f", "n_docs": 1, "n_queries": 1, "n_qrels": 1},
                   k=10, models=["bm25"], config={}, environment={}, user_id=user)
    if status == "failed":
        runs.fail_run(db, run_id, "boom")


def test_runs_page_lists_own_and_shared_and_a_private_id_in_the_url_is_not_found(team_db: Path) -> None:
    _start(team_db, "alice-private", "sub-alice", "failed")
    _start(team_db, "alice-shared", "sub-alice", "failed")
    team.set_shared(team_db, "run", "alice-shared", team.Viewer("sub-alice", "a", local=False), True)
    team.remember_user(team_db, team.Viewer("sub-alice", "alice@example.com", local=False))
    page = str(ROOT / "pages" / "runs.py")
    at = AppTest.from_file(page, default_timeout=120)
    at.user = BOB
    at.query_params["run"] = "alice-private"
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["No evaluation run with id 'alice-private'."]
    at2 = AppTest.from_file(page, default_timeout=120)
    at2.user = BOB
    at2.query_params["run"] = "no-such-run"
    at2.run()
    assert [e.value for e in at2.error] == ["No evaluation run with id 'no-such-run'."]  # the very same words
    assert list(at.selectbox(key="runs_open").options) == [o for o in at.selectbox(key="runs_open").options
                                                           if "alice-shared-data" in o]
    assert len(at.selectbox(key="runs_open").options) == 1
    assert any("Shared with the team by **alice@example.com**" in c.value for c in at.caption)
    assert list(at.selectbox(key="runs_delete").options) == []  # nothing of Bob's to delete
    # Alice: both, her own toggle, and the URL follows the open run.
    at = AppTest.from_file(page, default_timeout=120)
    at.user = ALICE
    at.query_params["run"] = "alice-private"
    at.run()
    assert not at.error and len(at.selectbox(key="runs_open").options) == 2
    assert at.toggle[0].label == "Share with team" and at.toggle[0].value is False
    at.toggle[0].set_value(True).run()
    assert runs.list_runs(team_db).set_index("run_id").at["alice-private", "shared"]


def test_job_limit_message_on_the_evaluate_page(team_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_MAX_JOBS_PER_USER", "1")
    _start(team_db, "alice-busy", "sub-alice")  # one of hers is still running
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=120)
    at.user = ALICE
    at.run()
    at.button(key="ev_demo").click().run()
    at.multiselect[0].set_value(["bm25"])
    at.form_submit_button[0].click().run()
    wait_for_jobs(team_db)  # the evaluation is a job; the run limit refuses it when it starts
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert "The evaluation did not run:" in shown and "you already have 1 evaluation(s) running" in shown
    assert "EMS_MAX_JOBS_PER_USER=1" in shown
    assert runs.row_counts(team_db)["eval_runs"] == 1  # nothing stored for the refused run


def test_uploads_go_to_the_persons_folder_within_their_quota(team_db: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_MAX_UPLOAD_MB_PER_USER", "1")
    page = str(ROOT / "pages" / "evaluate.py")
    files = [("corpus.jsonl", (DEMO / "corpus.jsonl").read_bytes(), "application/jsonl"),
             ("queries.jsonl", (DEMO / "queries.jsonl").read_bytes(), "application/jsonl"),
             ("test.tsv", (DEMO / "qrels" / "test.tsv").read_bytes(), "text/tab-separated-values")]
    at = AppTest.from_file(page, default_timeout=120)
    at.user = ALICE
    at.run()
    at.file_uploader(key="ev_files").set_value(files)
    at.run()
    at.button(key="ev_use_files").click().run()
    assert not at.error, [e.value for e in at.error]
    alice_root = team.upload_root(team.Viewer("sub-alice", "", local=False), tmp_path / "cache" / "uploads")
    assert alice_root.is_dir() and team.folder_bytes(alice_root) > 0
    assert sorted(p.name for p in (tmp_path / "cache" / "uploads").iterdir()) == [alice_root.name]
    assert at.selectbox(key="ev_saved_ds").options[0].endswith("· yours")
    # Over the quota: a clear message, nothing written.
    before = team.folder_bytes(alice_root)
    at.file_uploader(key="ev_files").set_value([("pairs.csv", b"query,document\n" + b"q,d\n" * 300_000, "text/csv")])
    at.run()
    at.button(key="ev_use_files").click().run()
    shown = " ".join(e.value for e in at.error)
    assert "over the 1 MB each person may keep on this server (EMS_MAX_UPLOAD_MB_PER_USER=1)" in shown
    assert team.folder_bytes(alice_root) == before
    # Bob sees none of it.
    at = AppTest.from_file(page, default_timeout=120)
    at.user = BOB
    at.run()
    assert not any(getattr(s, "key", None) == "ev_saved_ds" for s in at.selectbox)
