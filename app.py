"""Router: page config, shared sidebar, navigation. Pages live in ``pages/``."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

st.set_page_config(
    page_title="Embedding Model Selection",
    page_icon="🧭",  # an emoji: a material icon would be fetched from a font CDN (offline: console error)
    layout="wide",
)

HERE = Path(__file__).resolve().parent


# (file, title, icon, section). Pages are listed here once; a page whose file does not
# exist yet is simply not shown.
PAGES = [
    ("pages/leaderboard.py", "Leaderboard", ":material/leaderboard:", "Choose"),
    ("pages/decision.py", "Decision wizard", ":material/account_tree:", "Choose"),
    ("pages/cost.py", "Cost", ":material/payments:", "Choose"),
    ("pages/label.py", "Label your data", ":material/rule:", "Evaluate"),
    ("pages/evaluate.py", "Evaluate on your data", ":material/science:", "Evaluate"),
    ("pages/runs.py", "Runs", ":material/history:", "Evaluate"),
    ("pages/report.py", "Report", ":material/description:", "Evaluate"),
    ("pages/interview.py", "Interview prep", ":material/school:", "Learn"),
]

from ui import auth  # noqa: E402  (after set_page_config by design)

# Team mode (a non-loopback server.address or EMS_TEAM_MODE=1): a signed-out visitor gets the
# sign-in screen, at every page's path, and nothing else is routed; see ui/auth.py and docs/TEAM.md.
viewer = auth.gate([Path(path).stem for path, *_ in PAGES])

sections: dict[str, list[st.Page]] = {}
for i, (path, title, icon, section) in enumerate(PAGES):
    if (HERE / path).exists():
        sections.setdefault(section, []).append(
            st.Page(path, title=title, icon=icon, default=(i == 0))
        )

nav = st.navigation(sections)

from ui import first_start, sidebar  # noqa: E402  (after set_page_config by design)

first_start.ensure_data()  # an empty database loads by itself (snapshot when offline)
sidebar.render()
auth.sidebar(viewer)
nav.run()
