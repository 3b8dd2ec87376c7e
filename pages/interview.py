"""Interview prep: the articles' five misconceptions and three interview questions, each shown on real data.

Thin page: widgets → ui.interview (cached reads, demo runs) → lib.interview → render
(ui.interview_sections). The text comes from ``data/interview.json`` (sections, quiz and the
page's prose, filled by ``lib.interview.content``); every number is computed by the app — from
the leaderboard data, the demo dataset with the two offline models, stored runs and the cost
model. Model-based demos run when their button is pressed and are kept for the server's
lifetime (and their vectors in the embedding cache), so a second visit is instant.
A quiz mode keeps the score in ``st.session_state``.
"""

from __future__ import annotations

import streamlit as st

from lib.articles import EXPLAINED, RAG_GUIDE
from lib.errors import UserError
from ui import ensure_router
from ui import interview as iv
from ui import interview_sections as sections

ensure_router()

ss = st.session_state

st.title("Interview prep")
try:
    c = iv.interview_content()
except UserError as exc:
    st.error(f"The interview content is invalid: {exc}")
    st.stop()
st.caption(c.text("intro", explained=EXPLAINED.short, rag_guide=RAG_GUIDE.short))

ids = [s.id for s in c.sections]
ss.setdefault(sections.MODE, sections.WALK)
if ss.get(sections.SECTION) not in ids:
    ss[sections.SECTION] = ids[0]
mode = st.radio(
    "Mode", [sections.WALK, sections.QUIZ], horizontal=True, key=sections.MODE, label_visibility="collapsed"
)

if mode == sections.QUIZ:
    sections.quiz_mode()
else:
    sections.walkthrough()
