"""Label in a real browser: documents + pasted queries → pool → 10 grades by keyboard → reload → evaluate.

The page's progress line must count each key press, a reload must show the same progress
and resume at the same candidate, and — read directly with lib.labelling once the server
(the file's one writer) has stopped — the database must hold exactly the ten grades given,
for the documents shown, in order. Screenshots go to artifacts/screenshots/label-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lib.labelling import store as lstore
from tests.e2e.conftest import goto_page, wait_for_script
from tests.lbfiles import copy_app_db

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"
QUERIES = ["how do I reset my password", "the VPN keeps disconnecting", "refund for a duplicate charge"]
KEYS = ["2", "0", "1", "0", "0", "2", "1", "0", "0", "1"]


def _progress(page: Any) -> tuple[int, int]:
    text = page.get_by_text(re.compile(r"of [\d,]+ pairs judged by alice")).first.inner_text()
    m = re.search(r"([\d,]+) of ([\d,]+) pairs judged", text)
    assert m, text
    return int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))


def _current_doc(page: Any) -> str:
    text = page.get_by_text(re.compile(r"^Candidate \d+ of \d+")).first.inner_text()
    return text.rsplit("document", 1)[-1].strip().strip("`")


def test_pool_judge_by_keyboard_reload_evaluate(
    streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    db = copy_app_db(lb_db, tmp_path / "label-e2e.duckdb")  # leaderboard loaded: no first-start load to wait for
    server = streamlit_server({"EMS_DB": str(db)})
    app_url = server.url
    goto_page(page, app_url, "label")
    page.get_by_role("heading", name="Label your data").wait_for()

    # Documents through the real file chooser, queries pasted one per line.
    page.get_by_text("Upload your own").click()
    wait_for_script(page)
    with page.expect_file_chooser() as chooser:
        page.locator('[data-testid="stFileUploaderDropzone"] button').first.click()
    chooser.value.set_files(str(DEMO / "corpus.jsonl"))
    page.get_by_text("corpus.jsonl").first.wait_for()
    wait_for_script(page)
    paste = page.get_by_label("…or paste queries, one per line")
    paste.fill("\n".join(QUERIES))
    page.get_by_label("Set name").fill("northwind-e2e")
    page.get_by_label("Set name").press("Enter")
    wait_for_script(page)
    screenshot(page, "label-1-inputs")
    page.get_by_role("button", name="Check documents and queries").click()
    page.get_by_text("149 documents · 3 queries (pasted)").wait_for()
    wait_for_script(page)

    # Pool: BM25 + MiniLM at depth 10 (the defaults), with progress while it runs.
    page.get_by_role("button", name="Pool candidates").click()
    page.get_by_text("Pooling the top 10 of 2 retriever(s)").first.wait_for()
    page.get_by_text("pairs to judge").first.wait_for(timeout=180_000)
    wait_for_script(page, 180_000)
    sid = re.search(r"[?&]set=([^&]+)", page.url).group(1)  # type: ignore[union-attr]
    pooled = page.get_by_text(re.compile(r"[\d,]+ pairs to judge")).first.inner_text()
    size = int(re.search(r"([\d,]+) pairs to judge", pooled).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert 30 <= size <= 60  # 3 queries x two top-10s, merged
    screenshot(page, "label-2-pooled")

    page.get_by_role("textbox", name="Your name (the judge)").fill("alice")
    page.get_by_role("textbox", name="Your name (the judge)").press("Enter")
    wait_for_script(page)
    assert _progress(page) == (0, size)
    page.get_by_role("heading", name="Label your data").click()  # focus leaves the text field
    seen = []
    for n, key in enumerate(KEYS, start=1):
        seen.append(_current_doc(page))
        page.keyboard.press(key)
        page.get_by_text(f"{n} of {size} pairs judged by alice").wait_for()
        wait_for_script(page)
        if n == 5:
            screenshot(page, "label-3-judging", full_page=False)
    assert len(set(seen)) == len(seen)  # a new candidate after every key
    next_doc = _current_doc(page)

    # Reload: the URL names the set and the judge; progress and position come back from the database.
    assert f"set={sid}" in page.url and "judge=alice" in page.url
    page.reload(wait_until="domcontentloaded")
    wait_for_script(page)
    page.get_by_text(f"10 of {size} pairs judged by alice").wait_for()
    assert _current_doc(page) == next_doc
    screenshot(page, "label-4-after-reload")

    # Hand the labels to the Evaluate page and run it there.
    page.get_by_role("button", name="Evaluate with these labels").click()
    page.get_by_role("heading", name="Evaluate on your data").wait_for()
    wait_for_script(page)
    page.get_by_text("relevance judgements").first.wait_for()
    page.get_by_role("button", name="Run evaluation").click()
    page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
    wait_for_script(page, 180_000)
    page.get_by_text(re.compile("judged@10, the share of each model")).first.wait_for()
    screenshot(page, "label-5-evaluated")

    server.stop()  # the database's one writer; now the test may read it
    assert len(lstore.pool(db, sid)) == size
    mine = lstore.latest_judgements(db, sid, ["alice"])
    assert list(mine["doc_id"]) == seen and [str(g) for g in mine["grade"]] == KEYS
    assert set(mine["kind"]) == {"human"}
