"""lib.team: when sign-in is needed, who owns what, what each person sees, the per-person limits.

Every expectation is written out by hand (which rows a viewer must see, which message a missing
row gets), never computed with the function under test. Databases are tmp_path files.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest

from lib import config, store, team
from lib.__main__ import main
from lib.errors import UserError
from lib.evaluation import engine, runs, uploads
from lib.labelling import store as lstore

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
ALICE = team.Viewer("sub-alice", "alice@example.com", local=False, max_jobs=2, max_upload_bytes=10_000)
BOB = team.Viewer("sub-bob", "bob@example.com", local=False, max_jobs=2, max_upload_bytes=10_000)
LOCAL = team.Viewer("root", "root", local=True)


def _settings(**kw: object) -> config.Settings:
    base = dict(db_path=Path("x"), leaderboard_db=None, mteb_results=None, local_results=None, cache_dir=Path("c"),
                hub_timeout_s=1.0)
    return config.Settings(**{**base, **kw})  # type: ignore[arg-type]


# --------------------------------------------------------------------------- when sign-in is needed


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("0.0.0.0", False), ("::", False), ("", False), (None, False),
    ("192.168.1.20", False), ("10.0.0.5", False), ("app.example.com", False),
])
def test_is_loopback(address: str | None, loopback: bool) -> None:
    assert team.is_loopback(address) is loopback


def test_serving_mode() -> None:
    off = _settings()
    assert team.serving_mode("127.0.0.1", off).sign_in is False
    m = team.serving_mode("0.0.0.0", off)
    assert m.sign_in and m.exposed and not m.anonymous and "everyone must sign in" in m.reason
    # Streamlit's own default (no address) binds every interface: that is exposed, not local.
    assert team.serving_mode(None, off).sign_in is True
    assert team.serving_mode("127.0.0.1", _settings(team_mode=True)).sign_in is True
    opt_out = team.serving_mode("0.0.0.0", _settings(allow_anonymous=True))
    assert (opt_out.sign_in, opt_out.exposed, opt_out.anonymous) == (False, True, True)
    assert "EMS_ALLOW_ANONYMOUS=1" in opt_out.reason
    # The opt-out is for exposed servers; on loopback nothing changes.
    assert team.serving_mode("127.0.0.1", _settings(allow_anonymous=True)).anonymous is False


GOOD_AUTH = {
    "redirect_uri": "https://ems.example.com/oauth2callback",
    "cookie_secret": "x" * 48,
    "client_id": "ems",
    "client_secret": "s3cret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}


def test_auth_problems() -> None:
    assert team.auth_problems(GOOD_AUTH) == []
    assert team.auth_problems(None) == ["there is no [auth] section in .streamlit/secrets.toml"]
    assert team.auth_problems({}) == ["there is no [auth] section in .streamlit/secrets.toml"]
    missing = {k: v for k, v in GOOD_AUTH.items() if k not in ("client_secret", "server_metadata_url")}
    assert team.auth_problems(missing) == ["[auth] has no client_secret", "[auth] has no server_metadata_url"]
    bad = {**GOOD_AUTH, "redirect_uri": "https://ems.example.com/", "cookie_secret": "short"}
    problems = team.auth_problems(bad)
    assert problems[0] == "[auth] redirect_uri must end with /oauth2callback (got 'https://ems.example.com/')"
    assert problems[1].startswith("[auth] cookie_secret is 5 characters; use at least 32")
    assert team.auth_problems({**GOOD_AUTH, "server_metadata_url": "login.example.com"}) == [
        "[auth] server_metadata_url must be an absolute http(s) URL (got 'login.example.com')"]


def test_secrets_files_and_auth_section(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "proj"
    assert team.secrets_files({}, home, root) == [home / ".streamlit" / "secrets.toml",
                                                  root / ".streamlit" / "secrets.toml"]
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    assert team.secrets_files({"STREAMLIT_SECRETS_FILES": f"{a} {b}"}, home, root) == [a, b]
    a.write_text('[auth]\nclient_id = "first"\n')
    b.write_text('OPENAI_API_KEY = "k"\n')
    assert team.read_auth_section([a, b, tmp_path / "missing.toml"]) == {"client_id": "first"}
    b.write_text('[auth]\nclient_id = "second"\n')
    assert team.read_auth_section([a, b]) == {"client_id": "second"}  # the later file wins, as in Streamlit
    assert team.read_auth_section([tmp_path / "missing.toml"]) is None
    b.write_text("[auth\n")
    with pytest.raises(UserError, match=r"b\.toml: not valid TOML"):
        team.read_auth_section([a, b])


# --------------------------------------------------------------------------- who is looking


def test_local_viewer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMS_USER", raising=False)
    monkeypatch.setattr(team.getpass, "getuser", lambda: "osname")
    assert team.local_viewer() == team.Viewer("osname", "osname", local=True)
    monkeypatch.setenv("EMS_USER", "  carol ")
    assert team.local_viewer().user_id == "carol"
    assert team.local_viewer("dave").user_id == "dave"  # --user wins over EMS_USER
    for bad, msg in (("   ", "no user name"), ("a\tb", "control characters"), ("x" * 201, "longer than 200")):
        with pytest.raises(UserError, match=msg):
            team.local_viewer(bad)


def test_signed_in_viewer_uses_sub_and_the_limits() -> None:
    s = _settings(max_jobs_per_user=3, max_upload_mb_per_user=5)
    v = team.signed_in_viewer({"sub": "1234", "email": "eve@example.com", "name": "Eve"}, s)
    assert v == team.Viewer("1234", "eve@example.com", local=False, max_jobs=3, max_upload_bytes=5 * 1024 * 1024)
    assert team.signed_in_viewer({"sub": "1234", "name": "Eve"}, s).display == "Eve"
    assert team.signed_in_viewer({"sub": "1234"}, s).display == "1234"
    for claims in ({}, {"sub": ""}, {"sub": 5, "email": "x@y"}, {"email": "no-sub@example.com"}):
        with pytest.raises(UserError, match="no subject"):
            team.signed_in_viewer(claims, s)


# --------------------------------------------------------------------------- what a viewer sees


ROWS = pd.DataFrame({
    "id": ["a-private", "a-shared", "b-private", "b-shared", "legacy", "legacy-shared", "root-own"],
    "user_id": ["sub-alice", "sub-alice", "sub-bob", "sub-bob", None, float("nan"), "root"],
    "shared": [False, True, False, True, None, True, False],
})


@pytest.mark.parametrize(("who", "expected", "mine"), [
    (ALICE, ["a-private", "a-shared", "b-shared", "legacy-shared"], ["a-private", "a-shared"]),
    (BOB, ["a-shared", "b-private", "b-shared", "legacy-shared"], ["b-private", "b-shared"]),
    # The local user owns what was stored before owners were recorded (NULL / NaN).
    (LOCAL, ["a-shared", "b-shared", "legacy", "legacy-shared", "root-own"], ["legacy", "legacy-shared", "root-own"]),
])
def test_visible_rows(who: team.Viewer, expected: list[str], mine: list[str]) -> None:
    out = team.visible(ROWS, who)
    assert list(out["id"]) == expected
    assert list(out.loc[out["mine"], "id"]) == mine
    assert out["shared"].dtype == bool


def test_visible_on_an_empty_listing_has_the_columns() -> None:
    out = team.visible(ROWS.iloc[0:0], ALICE)
    assert out.empty and "mine" in out.columns


def _start(db: Path, run_id: str, user: str | None, max_running: int = 0) -> None:
    runs.start_run(db, run_id=run_id, dataset={"name": "demo", "source": str(DEMO), "split": "test",
                                               "fingerprint": "f", "n_docs": 1, "n_queries": 1, "n_qrels": 1},
                   k=10, models=["bm25"], config={}, environment={}, user_id=user, max_running=max_running)


def test_another_persons_private_run_is_not_found_like_a_missing_one(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    _start(db, "run-a", ALICE.user_id)
    with pytest.raises(UserError) as missing:
        runs.load_run("no-such-run", db)
    with pytest.raises(UserError) as private:
        team.require(db, "run", "run-a", BOB)
    with pytest.raises(UserError) as missing_for_bob:
        team.require(db, "run", "no-such-run", BOB)
    assert str(missing_for_bob.value) == str(missing.value) == "no evaluation run with id 'no-such-run'"
    assert str(private.value) == "no evaluation run with id 'run-a'"
    assert team.require(db, "run", "run-a", ALICE) is True
    assert team.run_visible_ids(db, BOB) == []
    # Sharing: Bob sees it, cannot unshare or delete it; Alice can.
    with pytest.raises(UserError, match="no evaluation run"):
        team.set_shared(db, "run", "run-a", BOB, True)
    team.set_shared(db, "run", "run-a", ALICE, True)
    assert team.require(db, "run", "run-a", BOB) is False
    assert team.run_visible_ids(db, BOB) == ["run-a"]
    for act in (lambda: team.set_shared(db, "run", "run-a", BOB, False), lambda: team.delete_run(db, "run-a", BOB)):
        with pytest.raises(UserError, match="only the person who made evaluation run run-a"):
            act()
    assert runs.row_counts(db)["eval_runs"] == 1
    team.set_shared(db, "run", "run-a", ALICE, False)
    assert team.run_visible_ids(db, BOB) == []
    assert team.delete_run(db, "run-a", ALICE) is True
    assert runs.row_counts(db)["eval_runs"] == 0
    store.close(db)


def test_runs_stored_before_owners_belong_to_the_local_user(tmp_path: Path) -> None:
    db = tmp_path / "legacy.duckdb"
    _start(db, "old", None)
    assert team.run_visible_ids(db, LOCAL) == ["old"]
    assert team.run_visible_ids(db, ALICE) == []
    team.set_shared(db, "run", "old", LOCAL, True)  # share it before serving the team
    assert team.run_visible_ids(db, ALICE) == ["old"]
    store.close(db)


def test_label_sets_by_owner_and_the_hint_lists_only_visible_sets(tmp_path: Path) -> None:
    db = tmp_path / "sets.duckdb"
    docs = [("d1", "one"), ("d2", "two")]
    a = lstore.create_set(db, name="alice set", source="s", fingerprint="f", docs=docs, queries=[],
                          query_source="none", user_id=ALICE.user_id)
    b = lstore.create_set(db, name="bob set", source="s", fingerprint="f", docs=docs, queries=[],
                          query_source="none", user_id=BOB.user_id)
    assert list(team.visible_label_sets(db, ALICE)["set_id"]) == [a]
    with pytest.raises(UserError) as err:
        team.require_label_set(db, a, BOB)
    assert str(err.value) == f"no label set {a!r} (known: {b})"  # Alice's id is not hinted to Bob
    with pytest.raises(UserError, match=f"no label set '{b}'"):  # not hers, and not shared: not found
        team.set_shared(db, "label_set", b, ALICE, True)
    team.set_shared(db, "label_set", b, BOB, True)
    assert sorted(team.visible_label_sets(db, ALICE)["set_id"]) == sorted([a, b])
    with pytest.raises(UserError, match="only the person who made label set"):
        team.delete_label_set(db, b, ALICE)
    team.delete_label_set(db, b, BOB)
    assert list(lstore.list_sets(db)["set_id"]) == [a]
    store.close(db)


def test_display_names_and_owner_labels(tmp_path: Path) -> None:
    db = tmp_path / "users.duckdb"
    team.remember_user(db, ALICE)
    team.remember_user(db, team.Viewer("sub-alice", "Alice A.", local=False))  # a later sign-in renames
    names = team.display_names(db)
    assert names == {"sub-alice": "Alice A."}
    assert team.owner_label(BOB, "sub-alice", names) == "Alice A."
    assert team.owner_label(ALICE, "sub-alice", names) == "you"
    assert team.owner_label(BOB, "sub-carol", names) == "sub-carol"
    assert team.owner_label(BOB, None, names) == "the local user"
    store.close(db)


# --------------------------------------------------------------------------- limits


def test_job_limit_per_person(tmp_path: Path) -> None:
    db = tmp_path / "jobs.duckdb"
    _start(db, "a1", "sub-alice", max_running=2)
    _start(db, "a2", "sub-alice", max_running=2)
    with pytest.raises(UserError, match=r"already have 2 evaluation\(s\) running.*EMS_MAX_JOBS_PER_USER=2"):
        _start(db, "a3", "sub-alice", max_running=2)
    _start(db, "b1", "sub-bob", max_running=2)  # another person is not held up
    runs.fail_run(db, "a1", "boom")  # a finished (failed) run no longer counts
    _start(db, "a3", "sub-alice", max_running=2)
    _start(db, "a4", "sub-alice", max_running=0)  # 0 = no limit
    assert runs.row_counts(db)["eval_runs"] == 5
    store.close(db)


def test_job_limit_holds_when_tabs_start_at_once(tmp_path: Path) -> None:
    db = tmp_path / "race.duckdb"
    store.schema_version(db)
    started, refused = [], []
    barrier = threading.Barrier(8)

    def one(i: int) -> None:
        barrier.wait()
        try:
            _start(db, f"r{i}", "sub-alice", max_running=2)
            started.append(i)
        except UserError:
            refused.append(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert (len(started), len(refused)) == (2, 6)
    store.close(db)


def test_engine_records_the_viewer_and_refuses_over_the_limit(tmp_path: Path) -> None:
    db = tmp_path / "eng.duckdb"
    cfg = engine.EvaluationConfig(models=("bm25",), sweep=False, bootstrap_resamples=50)
    done = engine.evaluate(DEMO, cfg, db_path=db, viewer=ALICE)
    listing = runs.list_runs(db)
    assert listing.loc[listing["run_id"] == done.run_id, "user_id"].tolist() == ["sub-alice"]
    assert listing["shared"].tolist() == [False]
    one = team.Viewer("sub-alice", "a", local=False, max_jobs=1)
    _start(db, "in-flight", "sub-alice")
    with pytest.raises(UserError, match="EMS_MAX_JOBS_PER_USER=1"):
        engine.evaluate(DEMO, cfg, db_path=db, viewer=one)
    assert runs.row_counts(db)["eval_runs"] == 2  # nothing stored for the refused one
    store.close(db)


def _dataset_upload() -> list[uploads.Upload]:
    return [uploads.Upload(f"{n}{'.jsonl' if n != 'qrels' else '.tsv'}",
                           (DEMO / (f"{n}.jsonl" if n != "qrels" else "qrels/test.tsv")).read_bytes())
            for n in ("corpus", "queries", "qrels")]


def test_uploads_per_person_quota_and_registry(tmp_path: Path) -> None:
    db, base = tmp_path / "up.duckdb", tmp_path / "uploads"
    ra, rb = team.upload_root(ALICE, base), team.upload_root(BOB, base)
    assert ra != rb and ra.parent == rb.parent == base
    assert "alice" not in str(ra) and ra.name.startswith("u-") and len(ra.name) == 18
    files = _dataset_upload()
    size = sum(len(u.data) for u in files)
    roomy = team.Viewer(ALICE.user_id, ALICE.display, local=False, max_upload_bytes=size * 3)
    with team.upload_guard(roomy, size, ra) as root:
        ds = uploads.save_any(files, "northwind", max_bytes=10**8, root=root)
        dsid = team.record_dataset(db, roomy, ds, root)
    assert Path(ds.source).is_relative_to(ra) and (ra / dsid).is_dir()
    kept = team.folder_bytes(ra)
    assert kept >= size
    # Over the quota: refused before a byte is written, with the setting named.
    tight = team.Viewer(ALICE.user_id, ALICE.display, local=False, max_upload_bytes=kept + size - 1)
    with pytest.raises(UserError, match="EMS_MAX_UPLOAD_MB_PER_USER"), team.upload_guard(tight, size, ra):
        pytest.fail("the guard let an upload over the quota through")
    with team.upload_guard(team.Viewer("x", "x", local=True), 10**12, rb):
        pass  # no limit for the local user
    # Bob neither lists nor reads Alice's private dataset — nor can he delete or share it.
    assert team.visible_datasets(db, BOB).empty
    with pytest.raises(UserError, match=f"no dataset '{dsid}'"):
        team.load_dataset(db, ALICE.user_id, dsid, BOB)
    for act in (lambda: team.delete_dataset(db, dsid, BOB, rb), lambda: team.set_dataset_shared(db, dsid, BOB, True)):
        with pytest.raises(UserError, match="no dataset"):
            act()
    team.set_dataset_shared(db, dsid, roomy, True)
    shown = team.visible_datasets(db, BOB, kind="evaluation")
    assert shown[["name", "mine", "shared"]].values.tolist() == [["northwind", False, True]]
    assert team.load_dataset(db, ALICE.user_id, dsid, BOB).fingerprint == ds.fingerprint
    team.delete_dataset(db, dsid, roomy, ra)
    assert not (ra / dsid).exists() and team.visible_datasets(db, roomy).empty
    store.close(db)


def test_a_collection_is_not_offered_as_an_evaluation_dataset(tmp_path: Path) -> None:
    db, root = tmp_path / "c.duckdb", team.upload_root(ALICE, tmp_path / "uploads")
    coll = uploads.save_collection(uploads.Upload("corpus.jsonl", (DEMO / "corpus.jsonl").read_bytes()),
                                   query_lines=["lost laptop"], max_bytes=10**8, root=root)
    dsid = team.record_dataset(db, ALICE, coll, root)
    assert team.visible_datasets(db, ALICE, kind="evaluation").empty
    assert team.visible_datasets(db, ALICE, kind="collection")["dataset_id"].tolist() == [dsid]
    with pytest.raises(UserError, match="label it on"):
        team.load_dataset(db, ALICE.user_id, dsid, ALICE)
    with pytest.raises(UserError, match="not kept in your own folder"):
        team.record_dataset(db, BOB, coll, team.upload_root(BOB, tmp_path / "uploads"))
    store.close(db)


# --------------------------------------------------------------------------- settings and the CLI


def test_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in ("EMS_TEAM_MODE", "EMS_ALLOW_ANONYMOUS", "EMS_USER", "EMS_MAX_JOBS_PER_USER",
              "EMS_MAX_UPLOAD_MB_PER_USER", "EMS_SERVE_ADDRESS", "EMS_SERVE_PORT"):
        monkeypatch.delenv(v, raising=False)
    s = config.get_settings()
    assert (s.team_mode, s.allow_anonymous, s.user, s.max_jobs_per_user, s.max_upload_mb_per_user,
            s.serve_address, s.serve_port) == (False, False, "", 2, 1000, "0.0.0.0", 8501)
    monkeypatch.setenv("EMS_TEAM_MODE", "yes")
    monkeypatch.setenv("EMS_ALLOW_ANONYMOUS", " 1 ")
    monkeypatch.setenv("EMS_MAX_JOBS_PER_USER", "0")
    monkeypatch.setenv("EMS_SERVE_ADDRESS", "10.1.2.3")
    s = config.get_settings()
    assert (s.team_mode, s.allow_anonymous, s.max_jobs_per_user, s.serve_address) == (True, True, 0, "10.1.2.3")
    monkeypatch.setenv("EMS_TEAM_MODE", "maybe")
    with pytest.raises(UserError, match="EMS_TEAM_MODE='maybe': use 1 or 0"):
        config.get_settings()
    monkeypatch.setenv("EMS_TEAM_MODE", "0")
    for bad in ("two", "-1", "1.5"):
        monkeypatch.setenv("EMS_MAX_UPLOAD_MB_PER_USER", bad)
        with pytest.raises(UserError, match=r"EMS_MAX_UPLOAD_MB_PER_USER=.*whole number"):
            config.get_settings()


def test_cli_acts_as_a_named_user(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.duckdb")
    code = main(["evaluate", "--data", str(DEMO), "--model", "bm25", "--no-sweep", "--bootstrap", "50",
                 "--db", db, "--user", "alice", "--format", "json"])
    assert code == 0
    import json

    rid = json.loads(capsys.readouterr().out)["run_id"]
    assert runs.list_runs(db)["user_id"].tolist() == ["alice"]
    out = tmp_path / "r.md"
    assert main(["report", rid, "--out", str(out), "--db", db, "--user", "bob"]) == 2
    assert capsys.readouterr().err == f"error: no evaluation run with id {rid!r}\n"
    assert not out.exists()
    assert main(["report", rid, "--out", str(out), "--db", db, "--user", "alice"]) == 0
    assert out.exists()
    code = main(["label", "pool", "--data", str(DEMO), "--model", "bm25", "--depth", "2", "--db", db,
                 "--user", "alice", "--format", "json"])
    sid = json.loads(capsys.readouterr().out)["set"]
    assert code == 0 and lstore.list_sets(db)["user_id"].tolist() == ["alice"]
    assert main(["label", "list", "--db", db, "--user", "bob", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"sets": []}
    assert main(["label", "status", sid, "--db", db, "--user", "bob"]) == 2
    assert capsys.readouterr().err.startswith(f"error: no label set {sid!r}")
    assert main(["evaluate", "--data", f"label:{sid}", "--model", "bm25", "--db", db, "--user", "bob"]) == 2
    assert capsys.readouterr().err.startswith(f"error: no label set {sid!r}")
    store.close(db)


def test_serve_refuses_without_sign_in_unless_the_opt_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m lib serve`` (``make serve``): the checks only (``--check`` never starts a server)."""
    for v in ("EMS_ALLOW_ANONYMOUS", "EMS_SERVE_ADDRESS", "EMS_SERVE_PORT", "EMS_TEAM_MODE"):
        monkeypatch.delenv(v, raising=False)
    secrets = tmp_path / "secrets.toml"
    monkeypatch.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
    assert main(["serve", "--check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot serve a team on 0.0.0.0:8501 without sign-in: there is no [auth] section")
    assert "EMS_ALLOW_ANONYMOUS=1" in err and str(secrets) in err and err.count("\n") == 1
    secrets.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in {**GOOD_AUTH, "client_id": ""}.items()))
    assert main(["serve", "--check"]) == 2
    assert "[auth] has no client_id" in capsys.readouterr().err
    secrets.write_text("[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in GOOD_AUTH.items()))
    monkeypatch.setenv("EMS_SERVE_PORT", "9123")
    assert main(["serve", "--check", "--address", "127.0.0.1"]) == 0
    out = capsys.readouterr()
    assert out.out.split()[-6:] == ["--server.address", "127.0.0.1", "--server.port", "9123", "--server.headless",
                                    "true"]
    assert "EMS_TEAM_MODE=1: everyone must sign in" in out.err  # behind a proxy on loopback: still sign-in
    secrets.unlink()
    monkeypatch.setenv("EMS_ALLOW_ANONYMOUS", "1")
    assert main(["serve", "--check"]) == 0
    assert "WITHOUT sign-in (EMS_ALLOW_ANONYMOUS=1)" in capsys.readouterr().err
