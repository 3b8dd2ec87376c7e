"""Team mode against a real OpenID Connect provider on 127.0.0.1 (``oidc-provider-mock``).

One server for the module: ``streamlit run app.py`` with ``EMS_TEAM_MODE=1`` and a per-test-module
``secrets.toml`` (``STREAMLIT_SECRETS_FILES``) whose ``[auth]`` points at the provider. Two people,
alice and bob, sign in through the provider's authorize page (its "predefined users" buttons). The
database is seeded before the server starts, with lib functions: two bm25 runs on the demo data
owned by alice (one shared), two uploaded datasets of hers (one shared) and a label set of hers.

What must hold: signed out → only the sign-in screen, whatever the URL; bob sees alice's shared
run, dataset and report but not her private ones (pages, ``?run=`` URLs, downloads), and sees her
label set only once she shares it; a forged, tampered or expired ``_streamlit_user`` cookie is
refused (a correctly signed one — the control — is accepted, so the refusals are real); sign-out
returns to the sign-in screen. Separately: bound to 0.0.0.0 without ``[auth]``, the server shows
only "Sign-in is not set up".
"""

from __future__ import annotations

import dataclasses
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib import store, team
from lib.evaluation import datasets, engine, uploads
from lib.labelling import store as lstore
from tests.e2e.conftest import SCRIPT_TIMEOUT_MS, StreamlitServer, checked_tab, launch, wait_for_script
from tests.lbfiles import copy_app_db

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
COOKIE_SECRET = "team-e2e-cookie-secret-" + "k" * 32
USERS = {"alice": {"email": "alice@example.com", "name": "Alice"}, "bob": {"email": "bob@example.com", "name": "Bob"}}
ALICE = team.Viewer("alice", "alice@example.com", local=False)
SIGN_IN_MS = 120_000  # the provider round trip plus the app's first run, on a busy machine


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class Team:
    url: str
    provider: str
    server: StreamlitServer
    private_run: str
    shared_run: str
    label_set: str


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 with alice and bob as predefined users; its base URL."""
    folder = tmp_path_factory.mktemp("oidc")
    port = _free_port()
    claims = [json.dumps({"sub": sub, **c}) for sub, c in USERS.items()]
    cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port),
           *(a for c in claims for a in ("--user-claims", c))]
    with (folder / "out.log").open("wb") as out, (folder / "err.log").open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("oidc-provider-mock did not start: " + (folder / "err.log").read_text()[-2000:])
                time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _secrets(folder: Path, provider_url: str) -> Path:
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its port
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        'client_id = "ems-e2e"\n'
        'client_secret = "ems-e2e-secret"\n'
        f'server_metadata_url = "{provider_url}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path


def _seed(db: Path, cache: Path) -> tuple[str, str, str]:
    """alice's runs, datasets and label set, written with lib functions before the server starts."""
    demo = datasets.load_dataset(DEMO)
    cfg = engine.EvaluationConfig(models=("bm25",), sweep=False, bootstrap_resamples=100)
    private = engine.evaluate(dataclasses.replace(demo, name="alice-private-kb"), cfg, db_path=db, viewer=ALICE).run_id
    shared = engine.evaluate(dataclasses.replace(demo, name="team-shared-kb"), cfg, db_path=db, viewer=ALICE).run_id
    team.set_shared(db, "run", shared, ALICE, True)
    files = [uploads.Upload("corpus.jsonl", (DEMO / "corpus.jsonl").read_bytes()),
             uploads.Upload("queries.jsonl", (DEMO / "queries.jsonl").read_bytes()),
             uploads.Upload("qrels.tsv", (DEMO / "qrels" / "test.tsv").read_bytes())]
    root = team.upload_root(ALICE, cache / "uploads")
    for name, share in (("alice-private-data", False), ("team-shared-data", True)):
        ds = uploads.save_any(files, name, max_bytes=10**8, root=root)
        dsid = team.record_dataset(db, ALICE, ds, root)
        if share:
            team.set_dataset_shared(db, dsid, ALICE, True)
    docs = list(zip(demo.doc_ids[:5], demo.doc_texts[:5], strict=True))
    set_id = lstore.create_set(db, name="alice-label-set", source="demo", fingerprint="f", docs=docs,
                               queries=[lstore.QueryRecord("q1", "lost laptop")], query_source="pasted",
                               user_id=ALICE.user_id)
    store.close(db)
    return private, shared, set_id


@pytest.fixture(scope="module")
def team_app(tmp_path_factory: pytest.TempPathFactory, lb_db: Path, provider: str) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("team")
    # The leaderboard loaded (its file linked beside the copy): no first-start load to wait for.
    db = copy_app_db(lb_db, folder / "team.duckdb")
    cache = folder / "cache"
    private, shared, set_id = _seed(db, cache)
    env = {"EMS_DB": str(db), "EMS_CACHE_DIR": str(cache), "EMS_TEAM_MODE": "1",
           "STREAMLIT_SECRETS_FILES": str(_secrets(folder, provider))}
    server = launch(folder, env, address="127.0.0.1")
    try:
        yield Team(server.url, provider, server, private, shared, set_id)
    finally:
        server.stop()


@pytest.fixture
def contexts(browser: Any, team_app: Team) -> Iterator[list[Any]]:
    """Fresh browser contexts (one per person); console errors on the app's own pages fail the test."""
    made: list[Any] = []
    tabs: list[Any] = []

    def new() -> Any:
        ctx = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        tab = checked_tab(ctx)
        # The provider's pages are not ours: they fetch a stylesheet from a CDN (offline here) and a favicon.
        tab.ignore_console(team_app.provider)
        tab.ignore_console("@picocss/pico")
        made.append(ctx)
        tabs.append(tab)
        return tab

    yield new  # type: ignore[misc]
    problems = [p for t in tabs for p in t.problems()]
    for ctx in made:
        ctx.close()
    if problems:
        pytest.fail("browser problems:\n" + "\n".join(problems), pytrace=False)


def _open(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_for_script(page, SIGN_IN_MS)


def _main(page: Any) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())


def _expect_sign_in_screen(page: Any, t: Team) -> None:
    page.get_by_role("button", name="Sign in").wait_for(timeout=SIGN_IN_MS)
    text = _main(page)
    assert "Embedding Model Selection" in text and "Sign in" in text
    assert page.locator('[data-testid="stSidebar"]').count() == 0  # no navigation, no data source, no database
    for leak in (t.private_run, t.shared_run, "alice-private", "team-shared", "Runs", "Leaderboard"):
        assert leak not in text, (leak, text)


def _sign_in(page: Any, t: Team, who: str) -> None:
    _open(page, t.url)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(re.escape(t.provider) + "/oauth2/authorize"), timeout=SIGN_IN_MS)
    page.get_by_role("button", name=who, exact=True).click()
    page.wait_for_url(re.compile(re.escape(t.url) + "/"), timeout=SIGN_IN_MS)
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=SIGN_IN_MS)
    page.get_by_text(f"Signed in as {USERS[who]['email']}").wait_for(timeout=SIGN_IN_MS)
    wait_for_script(page, SIGN_IN_MS)


def _shown(page: Any, text: str) -> None:
    """Wait until ``text`` is visible (the tables' accessible copies are hidden cells)."""
    page.get_by_text(text).filter(visible=True).first.wait_for(timeout=SCRIPT_TIMEOUT_MS)


def _options(page: Any, key: str) -> list[str]:
    """The option labels of the selectbox with widget key ``key``."""
    wait_for_script(page)
    # A script run that ends just after the click redraws the box closed: open it again then.
    for attempt in range(3):
        page.locator(f".st-key-{key}").get_by_role("button", name="Open").click()
        try:
            page.get_by_role("option").first.wait_for(timeout=10_000 if attempt < 2 else 60_000)
            break
        except Exception:
            if attempt == 2:
                raise
            wait_for_script(page)
    labels = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return [str(x) for x in labels]


def _download(page: Any, label: str, folder: Path) -> str:
    button = page.locator('[data-testid="stDownloadButton"]').get_by_role("button", name=label)
    button.wait_for(timeout=SCRIPT_TIMEOUT_MS)
    with page.expect_download(timeout=SCRIPT_TIMEOUT_MS) as dl:
        button.click()
    path = folder / dl.value.suggested_filename
    dl.value.save_as(str(path))
    return path.read_text(encoding="utf-8")


def test_signed_out_visitor_sees_only_the_sign_in_screen(contexts: Any, team_app: Team, screenshot: Any) -> None:
    page = contexts()
    for path in ("", "runs", f"runs?run={team_app.private_run}", f"report?run={team_app.shared_run}", "evaluate",
                 f"label?set={team_app.label_set}", "leaderboard"):
        _open(page, f"{team_app.url}/{path}")
        _expect_sign_in_screen(page, team_app)
    screenshot(page, "team-1-sign-in")


def test_two_people_see_their_own_and_what_was_shared(contexts: Any, team_app: Team, screenshot: Any,
                                                       tmp_path: Path) -> None:
    t = team_app
    alice, bob = contexts(), contexts()
    _sign_in(alice, t, "alice")
    _sign_in(bob, t, "bob")

    # Runs: alice opens her private run by URL; bob gets exactly the "missing run" message for it.
    _open(alice, f"{t.url}/runs?run={t.private_run}")
    _shown(alice, t.private_run)
    assert "No evaluation run with id" not in _main(alice)
    assert len(_options(alice, "runs_open")) == 2
    screenshot(alice, "team-2-runs-alice")
    _open(bob, f"{t.url}/runs?run={t.private_run}")
    bob.get_by_text(f"No evaluation run with id '{t.private_run}'.").wait_for()
    _open(bob, f"{t.url}/runs?run=20000101-000000-00000000")  # a run that never existed: the same words
    bob.get_by_text("No evaluation run with id '20000101-000000-00000000'.").wait_for()
    _open(bob, f"{t.url}/runs?run={t.private_run}")
    _shown(bob, t.shared_run)  # the shared run is what he can open
    text, dom = _main(bob), bob.content()
    # The private run's id is in the error and nowhere else — not even in the tables' hidden cells.
    assert text.count(t.private_run) == 1 and dom.count(t.private_run) == 1, dom.count(t.private_run)
    assert "alice-private-kb" not in dom
    assert "Shared with the team by alice@example.com" in text
    opts = _options(bob, "runs_open")
    assert len(opts) == 1 and "team-shared-kb" in opts[0]
    screenshot(bob, "team-3-runs-bob")

    # Report: bob's default and only choice is the shared run; his download has nothing of the private one.
    _open(bob, f"{t.url}/report?run={t.private_run}")
    bob.get_by_text(f"No evaluation run with id '{t.private_run}'.").wait_for()
    html = _download(bob, "Download HTML report", tmp_path)
    assert "team-shared-kb" in html and "alice-private-kb" not in html and t.private_run not in html
    _open(alice, f"{t.url}/report?run={t.private_run}")
    html = _download(alice, "Download Markdown", tmp_path)
    assert "alice-private-kb" in html

    # Datasets: alice has both of hers; bob only the shared one.
    for page, expected in ((alice, ["alice-private-data", "team-shared-data"]), (bob, ["team-shared-data"])):
        _open(page, f"{t.url}/evaluate")
        page.get_by_text("and the team's shared ones").click()
        names = sorted(o.split(" · ")[0] for o in _options(page, "ev_saved_ds"))
        assert names == expected
    bob.get_by_role("button", name="Use", exact=True).click()
    bob.get_by_text("team-shared-data: 149 documents").wait_for(timeout=SCRIPT_TIMEOUT_MS)
    screenshot(bob, "team-4-evaluate-bob")

    # Label set: private → bob's link falls back to "new set"; alice shares it → bob opens it.
    _open(bob, f"{t.url}/label?set={t.label_set}")
    bob.get_by_text("1 · Documents and queries").wait_for()
    assert all("alice-label-set" not in o for o in _options(bob, "lab_set"))
    _open(alice, f"{t.url}/label?set={t.label_set}")
    alice.get_by_text("Share with team").click()
    wait_for_script(alice)  # the click's run wrote the flag before the page went idle
    _open(bob, f"{t.url}/label?set={t.label_set}")
    bob.get_by_text("Shared with the team by alice@example.com").wait_for()
    assert "Delete this set" not in _main(bob)
    screenshot(bob, "team-5-label-shared-bob")


def _user_cookie(url: str, secret: str, claims: dict[str, Any], age_s: float = 0) -> dict[str, str]:
    """A ``_streamlit_user`` cookie as Streamlit writes it (itsdangerous, salt = the cookie name)."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time() - age_s)

    value = URLSafeTimedSerializer(secret, salt="_streamlit_user", signer=Then).dumps(
        json.dumps({**claims, "is_logged_in": True, "origin": url}))
    return {"name": "_streamlit_user", "value": value, "url": url}


def test_forged_tampered_and_expired_cookies_are_refused(contexts: Any, team_app: Team) -> None:
    t = team_app
    alice = {"sub": "alice", "email": "alice@example.com", "name": "Alice"}
    good = _user_cookie(t.url, COOKIE_SECRET, alice)
    _payload, stamp, signature = good["value"].rsplit(".", 2)  # itsdangerous: payload.timestamp.signature
    mallory = json.dumps({"sub": "bob", "email": "bob@example.com", "is_logged_in": True, "origin": t.url})
    import base64

    swapped = base64.urlsafe_b64encode(json.dumps(mallory).encode()).decode().rstrip("=")
    cases = {
        "another secret": _user_cookie(t.url, "not-the-server-secret-" + "x" * 32, alice),
        "payload swapped, signature kept": {**good, "value": f"{swapped}.{stamp}.{signature}"},
        # The signature's first character: its last one also holds base64 padding bits, which a decoder
        # ignores, so changing it is a no-op a quarter of the time (CI once signed in with one).
        "one character of the signature changed": {**good, "value": f"{_payload}.{stamp}."
                                                   + ("A" if signature[0] != "A" else "B") + signature[1:]},
        "signed 40 days ago (Streamlit keeps 30 + 1)": _user_cookie(t.url, COOKIE_SECRET, alice, age_s=40 * 86400),
    }
    for why, cookie in cases.items():
        page = contexts()
        page.context.add_cookies([cookie])
        for path in ("", f"runs?run={t.private_run}"):
            _open(page, f"{t.url}/{path}")
            try:
                _expect_sign_in_screen(page, t)
            except Exception as exc:  # (a timeout too: say which cookie)
                raise AssertionError(f"{why}: {exc}") from exc
    # The control: the same construction with the server's secret, signed now, is accepted, so the
    # refusals above are about the forgery and not about how the cookie was built.
    page = contexts()
    page.context.add_cookies([good])
    _open(page, f"{t.url}/runs?run={t.private_run}")
    page.get_by_text("Signed in as alice@example.com").wait_for(timeout=SIGN_IN_MS)
    _shown(page, t.private_run)


def test_sign_out_returns_to_the_sign_in_screen(contexts: Any, team_app: Team) -> None:
    page = contexts()
    _sign_in(page, team_app, "bob")
    page.get_by_role("button", name="Sign out").click()
    # Streamlit clears its cookie, then ends the session at the provider (whose page asks to confirm).
    page.wait_for_url(re.compile(re.escape(team_app.provider) + "/oauth2/end_session"), timeout=SIGN_IN_MS)
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(re.compile(re.escape(team_app.url)), timeout=SIGN_IN_MS)
    wait_for_script(page, SIGN_IN_MS)
    _expect_sign_in_screen(page, team_app)
    assert not [c for c in page.context.cookies() if c["name"].startswith("_streamlit_user")]
    _open(page, f"{team_app.url}/runs?run={team_app.shared_run}")
    _expect_sign_in_screen(page, team_app)


def test_bound_to_every_interface_without_auth_the_server_serves_nothing(tmp_path: Path, lb_db: Path,
                                                                          browser: Any, screenshot: Any) -> None:
    """server.address 0.0.0.0 (no EMS_TEAM_MODE) turns sign-in on; without [auth] only the set-up screen shows.

    The browser connects through 127.0.0.1 only; nothing is sent to another address.
    """
    db = copy_app_db(lb_db, tmp_path / "exposed.duckdb")
    missing = tmp_path / "no-secrets.toml"  # does not exist: no [auth] anywhere Streamlit looks
    server = launch(tmp_path, {"EMS_DB": str(db), "STREAMLIT_SECRETS_FILES": str(missing)}, address="0.0.0.0")
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = checked_tab(ctx)
        for path in ("", "runs", "leaderboard"):
            _open(page, f"{server.url}/{path}")
            page.get_by_role("heading", name="Sign-in is not set up").wait_for()
            text = _main(page)
            assert "EMS_ALLOW_ANONYMOUS=1" in text and "no [auth] section" in text
            assert page.locator('[data-testid="stSidebar"]').count() == 0
            assert page.get_by_role("button", name="Sign in").count() == 0
        screenshot(page, "team-6-not-set-up")
        assert not page.problems(), page.problems()
    finally:
        ctx.close()
        server.stop()
