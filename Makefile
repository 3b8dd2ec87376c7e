# Two commands on a fresh machine: `make run` (install + start the app) and
# `make test` (install + every check CI runs). Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test lint typecheck pytest refresh bench clean

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m streamlit run app.py --server.port $(PORT)

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
