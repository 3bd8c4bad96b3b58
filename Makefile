# One command per routine. Each target creates .venv on first use and installs what it needs.
VENV ?= .venv
# pytest-xdist workers for `make test` (the suite waits on real servers far more than it computes).
TEST_WORKERS ?= 3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: run demo test lint typecheck bench bench-reports mutants install install-dev clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e .
	touch $@

$(DEVSTAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)
install-dev: $(DEVSTAMP)

## Start warroom on 127.0.0.1:8080 with SQLite in ./data (override with WARROOM_* variables).
run: $(STAMP)
	$(VENV)/bin/warroom serve

## The whole loop on this machine, narrated: a service breaks, warroom pages, a runbook repairs it (./warroom-demo).
demo: $(STAMP)
	$(VENV)/bin/warroom demo

## The whole suite: lint, types, import contracts (ARCHITECTURE.md), tests (PostgreSQL half runs when
## WARROOM_TEST_DATABASE_URL is set; -rs says why a test skipped), then the quick form of the mutation check
## (--no-baseline: the suite just ran every listed test unmutated; one per folder still runs as a smoke check).
test: $(DEVSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -rs --durations=30 -n $(TEST_WORKERS)
	$(PY) tests/mutations.py --no-baseline

## Plant each known mistake in a copy of the repo and run the tests that must catch it (~2 min on 2 cores);
## MUTANTS_ARGS="--full" runs their whole test files on both backends, "--list" prints the table.
mutants: $(DEVSTAMP)
	$(PY) tests/mutations.py $(MUTANTS_ARGS)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## API latency on 100k incidents / 1M timeline events, SQLite and PostgreSQL (~3 min; e.g. BENCH_ARGS="--backend sqlite").
bench: $(DEVSTAMP)
	$(PY) bench/api.py $(BENCH_ARGS)

## Reports over 100k incidents / 1M timeline events, each section and the whole report, both backends.
bench-reports: $(DEVSTAMP)
	$(PY) bench/reports.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data
