# Two commands on a fresh machine: `make run` (install + start the app) and
# `make test` (install + every check CI runs). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run serve test lint typecheck pytest refresh bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

# Serve a team (docs/TEAM.md): binds EMS_SERVE_ADDRESS (default 0.0.0.0) on EMS_SERVE_PORT (default
# 8501) with sign-in required; refuses with the reason unless .streamlit/secrets.toml has a usable
# [auth] section, or EMS_ALLOW_ANONYMOUS=1 is set on purpose.
serve: install
	$(PY) -m lib serve

refresh: install
	$(PY) -m lib refresh

lint: install
	$(PY) -m ruff check .

typecheck: install
	$(PY) -m mypy lib

pytest: install
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest

test: lint typecheck pytest

bench: install
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache artifacts
