"""Session-state keys shared by more than one module, declared once."""

from __future__ import annotations

#: The reason the automatic first-start load failed in this session (so it is not retried on
#: every rerun; the user retries with a button).
FIRST_LOAD_ERROR = "ems_first_load_error"
#: Model names the decision wizard and the leaderboard put on the shortlist.
SHORTLIST = "ems_shortlist"
#: Pipeline specs the decision wizard suggests evaluating beside the shortlist (bm25+minilm, minilm?chunk=auto).
PIPELINES = "ems_pipelines"
#: The Evaluate page's dataset (a validated Dataset); the Label page hands a labelled set over here.
EV_DATASET = "ev_dataset"
#: The run the Evaluate page shows.
EV_RUN_ID = "ev_run_id"
#: The background job the Evaluate page follows (also in its URL as ?job=…).
EV_JOB = "ev_job"
#: The labelling job (LLM judging, synthetic questions) the Label page follows.
LAB_JOB = "lab_job"
#: An API key typed in this browser session (never stored); Evaluate and Label share it.
API_KEY_VALUE = "ev_api_key_value"
#: The Cost page's price overrides of this session (list[PriceOverride]); the leaderboard's price
#: filter and Pareto chart and the report price with them.
PRICE_OVERRIDES = "ems_price_overrides"
#: The Cost page's assumptions (lib.cost.CostAssumptions), for the leaderboard and the report.
COST_ASSUMPTIONS = "ems_cost_assumptions"
#: The Cost page's estimates (DataFrame from lib.cost.estimates_frame), for the report.
COST_ESTIMATES = "ems_cost_estimates"
#: Run ids the Evaluate and Runs pages hand to the report.
REPORT_RUNS = "ems_report_runs"
#: Extra report sections by name (e.g. {"decision": markdown} from the decision wizard).
REPORT_SECTIONS = "ems_report_sections"
