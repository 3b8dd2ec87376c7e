"""Copying an app database together with its leaderboard file, for tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_app_db(src: Path, dst: Path) -> Path:
    """Copy app database ``src`` to ``dst`` and give ``dst`` the same leaderboard.

    The leaderboard file is hard-linked (copied across file systems): nothing ever writes it
    in place — a refresh swaps in a new file — so sharing its inode is safe and instant.

    Args:
        src: An app database (it need not exist: a refresh alone never creates it).
        dst: The new app database's path.

    Returns:
        ``dst``.
    """
    from lib import store
    from lib.leaderboard import store as lbstore

    store.close(src)  # flush and release it before copying
    if src.exists():
        shutil.copy(src, dst)
    lb_src, lb_dst = lbstore.resolve_path(src), lbstore.resolve_path(dst)
    if lb_src.exists() and lb_src != lb_dst:
        lbstore.forget(dst)
        lb_dst.unlink(missing_ok=True)
        try:
            os.link(lb_src, lb_dst)
        except OSError:
            shutil.copy(lb_src, lb_dst)
    return dst
