"""Streamlit glue for background jobs (lib/jobs.py): submit, a polling progress panel, the jobs table.

A job belongs to the server process, not to the page: the panel below only *reads* its row
every second (``st.fragment(run_every=…)``), so leaving the page, reloading it or opening
another tab changes nothing. The Evaluate page keeps the job it follows in the session and in
the URL (``?job=…``), so a reload follows it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

import lib.job_kinds  # registers the built-in job kinds
from lib import jobs
from lib.errors import UserError
from lib.evaluation import datasets
from lib.fmt import md_plain
from ui import data, state
from ui import team as tm

#: Seconds between two looks at a followed job.
POLL_S = 1.0
STATUS = {"queued": "… queued", "running": "… running", "done": "✓ done", "failed": "✗ failed",
          "cancelled": "✗ cancelled", "interrupted": "✗ interrupted"}


def runner() -> jobs.JobRunner:
    """This server process's job runner for the app's database."""
    return jobs.runner(data.db_path())


def submit_evaluation(ds: datasets.Dataset, specs: Sequence[str], k: int, sweep: bool, api_key: str | None,
                      quick_size: int | None = None, **config: object) -> str:
    """Queue an evaluation job and return its id at once (the API key goes to the job's memory only)."""
    from lib.evaluation import engine

    # Small encode batches: Cancel is honoured between two of them, and progress moves.
    cfg = engine.EvaluationConfig(models=tuple(specs), k=int(k), sweep=bool(sweep), encode_chunk=128,
                                  **config)  # type: ignore[arg-type]
    engine.check_config(cfg)  # a typo is an instant message, not a failed job
    who = tm.viewer()
    jobs.check_limit(data.db_path(), who.user_id, who.max_jobs)
    title = lib.job_kinds.evaluation_title(ds, specs) + (" — quick estimate" if quick_size is not None else "")
    return runner().submit(
        "evaluate", lib.job_kinds.evaluate_params(ds, cfg, quick=None if quick_size is None else {"size": quick_size}),
        title=title, inputs={"dataset": ds, "api_key": api_key, "viewer": who}, user_id=who.user_id,
    )


def _mine() -> str | None:
    """The user id whose jobs this session sees: None (all) for the local user, else the signed-in person."""
    who = tm.viewer()
    return None if who.local else who.user_id


def _get(job_id: str) -> jobs.Job | None:
    """A job this session may see (another person's is 'not found', like a missing one)."""
    job = jobs.get_job(job_id, data.db_path())
    mine = _mine()
    return job if job is not None and (mine is None or job.user_id == mine) else None


def follow(job_id: str) -> None:
    """Follow a job on the Evaluate page (kept in the session and the URL, so a reload finds it)."""
    st.session_state[state.EV_JOB] = job_id
    st.query_params["job"] = job_id


def follow_on_label_page(job_id: str) -> None:
    """Follow a labelling job (LLM judging, synthetic questions) on the Label page."""
    st.session_state[state.LAB_JOB] = job_id


def _follower(kind: str) -> Callable[[str], None]:
    """Who follows a job of this kind after Run again: the Evaluate page, or the Label page."""
    return follow if kind == "evaluate" else follow_on_label_page


def followed() -> str | None:
    """The job the Evaluate page follows.

    From the URL (a reload), else from the session (back from another page), else — the first
    time a session opens the page — the newest evaluation still queued or running (another tab
    or browser opened the page): a running job is never out of sight. The URL is kept in step,
    so a reload follows the same job.
    """
    ss = st.session_state
    from_url = st.query_params.get("job")
    url_job = _get(str(from_url)) if from_url else None
    if url_job is not None and url_job.kind == "evaluate":  # (a labelling job's id is not an evaluation)
        ss[state.EV_JOB] = str(from_url)
    # Only when a session opens the page for the first time: a tab that already has its own job
    # or run never adopts another tab's job (its result would replace the tab's own).
    first_look = not ss.get("ev_jobs_looked")
    ss["ev_jobs_looked"] = True
    if first_look and not ss.get(state.EV_JOB) and not ss.get(state.EV_RUN_ID):
        active = jobs.list_jobs(data.db_path(), kinds=("evaluate",), active_only=True, limit=1, user_id=_mine())
        if active:
            ss[state.EV_JOB] = active[0].job_id
    job_id = ss.get(state.EV_JOB)
    if job_id and st.query_params.get("job") != job_id:
        st.query_params["job"] = job_id
    return job_id


def dataset_of_followed() -> datasets.Dataset | None:
    """The dataset of the evaluation job named in the URL, read again for a session that has none.

    A reload (or a link with ``?job=``) starts a new session: without this its form would have no
    dataset, and after the job's results nothing could be run again until the data was chosen
    again. Data that is gone or changed since is not restored (the page asks for a dataset).
    """
    from_url = st.query_params.get("job") or st.session_state.get(state.EV_JOB)
    # Once per job and session: data that could not be read is not read again on every rerun.
    if not from_url or st.session_state.get("ev_restore_tried") == str(from_url):
        return None
    st.session_state["ev_restore_tried"] = str(from_url)
    job = _get(str(from_url))
    if job is None or job.kind != "evaluate":
        return None
    try:
        return lib.job_kinds.load_job_dataset(job.params["data"], data.db_path())
    except (UserError, KeyError, OSError):
        return None


def unfollow() -> None:
    """Stop following (the job's result is shown, or the job was dismissed)."""
    st.session_state.pop(state.EV_JOB, None)
    if "job" in st.query_params:
        del st.query_params["job"]


def _eta(job: jobs.Job) -> str:
    if job.eta_s is None:
        return ""
    s = round(job.eta_s)
    return f" · about {s // 60} min {s % 60:02d} s left" if s >= 60 else f" · about {s} s left"


def _labelled(stage: str) -> str:
    """``[openai:m?base_url=…] encoding documents`` → ``m: encoding documents`` (the model's display label)."""
    from lib.evaluation.models import display_label

    m = re.match(r"^\[(.+?)\] (.*)$", stage)
    return f"{display_label(m.group(1))}: {m.group(2)}" if m else stage


def _describe(job: jobs.Job) -> str:
    if job.status == "queued":
        return f"Queued — position {job.queue_position} (one job runs at a time on this server)"
    if job.status == "running":
        stage = _labelled(job.stage or "starting")
        return f"{stage}{_eta(job)}" + (" · cancelling…" if job.cancel_requested else "")
    return {"done": "Done", "cancelled": "Cancelled", "interrupted": "Interrupted", "failed": "Failed"}[job.status]


def render_job(job_id: str, *, key: str) -> jobs.Job | None:
    """Draw one job's status, progress, log and buttons (Cancel while active, Run again after).

    After Run again, the page for the job's kind follows the new job (:func:`_follower`).

    Args:
        job_id: The job.
        key: Widget key prefix.

    Returns:
        The job as read now (None if it does not exist).
    """
    job = _get(job_id)
    if job is None:
        st.warning(f"Job {md_plain(job_id)} is not in the database (deleted, or another database).")
        return None
    box = st.container(border=True)
    box.markdown(f"**{md_plain(job.title)}** · {STATUS[job.status]}")
    if job.active:
        box.progress(job.fraction, text=md_plain(_describe(job)))
        if box.button("Cancel", key=f"{key}_cancel_{job_id}", icon=":material/stop:", disabled=job.cancel_requested,
                      help="Stops the job between two batches; the run is stored as cancelled, with no results."):
            runner().cancel(job_id)
            st.rerun(scope="fragment")
    elif job.status != "done":
        reason = md_plain(job.error or "no reason recorded")
        if job.status == "failed" and job.kind == "evaluate":
            box.error(f"**The evaluation did not run:** {reason}")
        elif job.status == "failed":
            box.error(f"**{_describe(job)}:** {reason}")
        else:  # cancelled or interrupted: nothing went wrong with the input; Run again is the way on
            box.warning(f"**{_describe(job)}:** {reason}")
        if box.button("Run again", key=f"{key}_again_{job_id}", icon=":material/replay:",
                      help="Submits the same evaluation again; vectors already computed come from the cache."):
            try:
                who = tm.viewer()
                jobs.check_limit(data.db_path(), who.user_id, who.max_jobs)
                new_id = runner().run_again(job_id, inputs={"api_key": st.session_state.get(state.API_KEY_VALUE)
                                                            or None, "viewer": who}, user_id=who.user_id)
            except Exception as exc:  # a UserError explains itself; anything else is shown, not raised
                box.error(md_plain(str(exc)))
            else:
                _follower(job.kind)(new_id)
                st.rerun()
    if job.log:
        with box.expander("Log", expanded=False):
            st.code("\n".join(job.log), language=None)
    return job


def render_followed(job_id: str) -> None:
    """The Evaluate page's panel for its job: polls while active; when done, shows the run."""

    @st.fragment(run_every=POLL_S)
    def panel() -> None:
        # A timer left from an earlier script run must not draw (or rerun) for a job no longer followed.
        if st.session_state.get(state.EV_JOB) != job_id:
            return
        job = render_job(job_id, key="evjob")
        if job is None or not job.active:
            if job is not None and job.status == "done" and job.result_ref:
                st.session_state[state.EV_RUN_ID] = job.result_ref
                unfollow()
            st.rerun()  # the whole page: results, and no more polling

    job = _get(job_id)
    if job is not None and job.active:
        panel()
    elif job is not None:
        if job.status == "done" and job.result_ref:
            st.session_state[state.EV_RUN_ID] = job.result_ref
            unfollow()
        else:
            render_job(job_id, key="evjob")
    else:
        unfollow()


def jobs_frame(limit: int = 30) -> pd.DataFrame:
    """Recent jobs as a table (newest first)."""
    rows = [{
        "status": STATUS[j.status], "job": j.title, "progress": j.fraction, "stage": _describe(j) if j.active else "",
        "submitted": j.created_at, "run id": j.result_ref or "", "reason": j.error or "", "job id": j.job_id,
    } for j in jobs.list_jobs(data.db_path(), limit=limit, user_id=_mine())]
    return pd.DataFrame(rows)


def render_jobs_panel() -> None:
    """The Runs page's jobs section: active jobs polled every second, the recent ones listed."""

    @st.fragment(run_every=POLL_S)
    def active() -> None:
        current = jobs.list_jobs(data.db_path(), active_only=True, user_id=_mine())
        for job in current:
            render_job(job.job_id, key="runsjob")
        # Rerun the page once when the last job ends (never again from a leftover timer).
        if current:
            st.session_state["runs_jobs_seen_active"] = True
        elif st.session_state.pop("runs_jobs_seen_active", False):
            st.rerun()

    if jobs.list_jobs(data.db_path(), active_only=True, limit=1, user_id=_mine()):
        st.subheader("Jobs running now")
        active()
    recent = jobs_frame()
    if recent.empty:
        return
    with st.expander(f"Recent jobs ({len(recent)})", expanded=False):
        st.dataframe(recent, hide_index=True, width="stretch", column_config={
            "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
            "submitted": st.column_config.DatetimeColumn("submitted (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        })
        again = [j for j in jobs.list_jobs(data.db_path(), limit=30, user_id=_mine()) if j.can_run_again]
        if again:
            pick = st.selectbox("Stopped job", [j.job_id for j in again], key="runs_job_again",
                                format_func=lambda jid: next(f"{j.title} · {j.status}" for j in again
                                                             if j.job_id == jid))
            if pick:
                render_job(str(pick), key="runsagain")
