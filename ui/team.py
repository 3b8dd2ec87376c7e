"""Ownership on the pages: listings filtered for this session's viewer, "Share with team", delete.

The rules are :mod:`lib.team`'s (own rows plus shared ones; owner-only share and delete;
another person's private row is "not found" like a missing one); this module draws them.
Run ids in URLs (``/runs?run=…``, ``/report?run=…``) go through :func:`run_from_url`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from lib import report, team
from lib.errors import UserError
from lib.evaluation import datasets, uploads
from lib.fmt import md_plain
from ui import auth, data


def viewer() -> team.Viewer:
    """Whom this session acts for (see :func:`ui.auth.viewer`)."""
    return auth.viewer()


def _owners(frame: pd.DataFrame, who: team.Viewer) -> list[str]:
    names = team.display_names(data.db_path())
    return [team.owner_label(who, o, names) for o in frame["user_id"]]


def runs_overview() -> pd.DataFrame:
    """:func:`lib.report.runs_overview` for this viewer: their runs and shared ones, with ``owner``."""
    who = viewer()
    shown = team.visible(report.runs_overview(data.db_path()), who)
    return shown.assign(owner=_owners(shown, who)) if not shown.empty else shown.assign(owner=[])


def run_from_url(ids: Sequence[str]) -> str | None:
    """The run named by ``?run=…`` when this viewer may see it; otherwise the "no such run" error.

    Another person's private run gets exactly the message a missing run gets.
    """
    wanted = st.query_params.get("run")
    if not wanted:
        return None
    if wanted in ids:
        return str(wanted)
    st.error(md_plain(f"No evaluation run with id {wanted!r}."))
    return None


def share_toggle(kind: str, item_id: str, shared: bool, mine: bool, owner: str, key: str) -> None:
    """"Share with team" for the owner; who shared it, for everyone else."""
    if not mine:
        st.caption(f"Shared with the team by **{md_plain(owner)}** (only they can change or delete it).")
        return
    new = st.toggle("Share with team", value=bool(shared), key=f"{key}_{item_id}",
                    help="Everyone who signs in to this server can then open it (read-only). Only you can "
                         "unshare or delete it.")
    if new != bool(shared):
        try:
            team.set_shared(data.db_path(), kind, item_id, viewer(), new)
        except UserError as exc:
            st.error(md_plain(exc))
            return
        st.toast("Shared with the team" if new else "Private again")
        st.rerun()


def run_controls(overview: pd.DataFrame, run_id: str) -> None:
    """Share toggle (or who shared it) under an opened run."""
    row = overview[overview["run_id"] == run_id]
    if not row.empty:
        r = row.iloc[0]
        share_toggle("run", run_id, bool(r["shared"]), bool(r["mine"]), str(r["owner"]), "runs_share")


def delete_run(run_id: str) -> None:
    """Delete a run of this viewer's (lib refuses anyone else's)."""
    team.delete_run(data.db_path(), run_id, viewer())


# --------------------------------------------------------------------------- label sets


def label_sets() -> pd.DataFrame:
    """The label sets this viewer may see (with ``mine`` and ``owner``)."""
    who = viewer()
    sets = team.visible_label_sets(data.db_path(), who)
    return sets.assign(owner=_owners(sets, who)) if not sets.empty else sets.assign(owner=[])


def label_set_controls(sets: pd.DataFrame, set_id: str) -> None:
    """Share toggle and (owner only) delete for the chosen label set."""
    row = sets[sets["set_id"] == set_id]
    if row.empty:
        return
    r = row.iloc[0]
    c1, c2 = st.columns([3, 1])
    with c1:
        share_toggle("label_set", set_id, bool(r["shared"]), bool(r["mine"]), str(r["owner"]), "lab_share")
    if bool(r["mine"]) and c2.button("Delete this set", key=f"lab_delete_{set_id}", icon=":material/delete:",
                                     help="Deletes its documents, queries, pool and every judgement."):
        team.delete_label_set(data.db_path(), set_id, viewer())
        st.query_params.pop("set", None)
        st.session_state.pop("lab_set", None)
        st.toast(f"Deleted label set {set_id}")
        st.rerun()


# --------------------------------------------------------------------------- uploaded datasets


def save_uploads(files: Sequence[Any], max_bytes: int, save: Any) -> Any:
    """Stage uploads into this viewer's own folder within their quota, and register the result.

    ``save(uploads, root)`` does the staging (:mod:`lib.evaluation.uploads`); its result is
    recorded as the viewer's dataset (private until shared).
    """
    who = viewer()
    ups = [uploads.as_upload(f) for f in files if f is not None]
    with team.upload_guard(who, sum(len(u.data) for u in ups)) as root:
        kept = save(ups, root)
        team.record_dataset(data.db_path(), who, kept, root)
    return kept


def datasets_panel(disabled: bool = False) -> datasets.Dataset | None:
    """"Your datasets": earlier uploads (and the team's shared ones) to use again, share or delete.

    Returns:
        The dataset chosen with "Use", or None.
    """
    who = viewer()
    found = team.visible_datasets(data.db_path(), who)  # documents kept for labelling count to the quota too
    if found.empty:
        return None
    names = team.display_names(data.db_path())
    keys = [f"{r.user_id}\x1f{r.dataset_id}" for r in found.itertuples()]
    rows = dict(zip(keys, found.itertuples(), strict=True))

    def label(k: str) -> str:
        r = rows[k]
        whose = "yours" if r.mine else f"shared by {team.owner_label(who, r.user_id, names)}"
        what = "" if r.kind == "evaluation" else " (documents for labelling)"
        return (f"{r.name}{what} · {r.n_docs:,} docs · {r.n_queries:,} queries · {r.n_bytes / 2**20:,.1f} MB · "
                f"{whose}")

    with st.expander(f"Your datasets ({int(found['mine'].sum())}) and the team's shared ones", expanded=False):
        chosen = st.selectbox("Dataset", keys, format_func=label, key="ev_saved_ds", disabled=disabled)
        r = rows[str(chosen)]
        c1, c2, c3 = st.columns([1, 2, 1])
        picked = None
        if c1.button("Use", key="ev_saved_use", disabled=disabled or r.kind != "evaluation",
                     icon=":material/dataset:"):
            try:
                picked = team.load_dataset(data.db_path(), str(r.user_id), str(r.dataset_id), who)
            except UserError as exc:
                st.error(md_plain(exc))
        with c2:
            if r.mine:
                new = st.toggle("Share with team", value=bool(r.shared), key=f"ev_ds_share_{r.dataset_id}",
                                disabled=disabled, help="Colleagues can then evaluate on it (read-only).")
                if new != bool(r.shared):
                    team.set_dataset_shared(data.db_path(), str(r.dataset_id), who, new)
                    st.rerun()
            else:
                st.caption("Shared with the team (only its owner can change or delete it).")
        if r.mine and c3.button("Delete", key="ev_saved_delete", disabled=disabled, icon=":material/delete:"):
            team.delete_dataset(data.db_path(), str(r.dataset_id), who)
            st.toast(f"Deleted {r.name}")
            st.rerun()
    return picked
