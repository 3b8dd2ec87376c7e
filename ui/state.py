"""Session-state keys shared by more than one module, declared once."""

from __future__ import annotations

#: The reason the automatic first-start load failed in this session (so it is not retried on
#: every rerun; the user retries with a button).
FIRST_LOAD_ERROR = "ems_first_load_error"
#: Model names the decision wizard and the leaderboard put on the shortlist.
SHORTLIST = "ems_shortlist"
