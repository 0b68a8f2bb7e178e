# tasador: `make run` (environment + local stack + one training batch) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt pyproject.toml | md5sum | cut -c1-12)

# Telemetry off and quiet imports everywhere (see README "Privacy"); state under .tasador/.
export ZENML_ANALYTICS_OPT_IN := false
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export ZENML_LOGGING_VERBOSITY := WARN
export STREAMLIT_BROWSER_GATHER_USAGE_STATS := false
export OMP_WAIT_POLICY ?= PASSIVE
export TASADOR_HOME ?= $(CURDIR)/.tasador
export ZENML_CONFIG_PATH ?= $(TASADOR_HOME)/zenml

.PHONY: help install init run demo screenshots test test-long test-all test-fast ui serve data-api lint lock system-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The pins, then tasador itself, editable (pyproject.toml): `import tasador` works from any folder, no PYTHONPATH.
# Quiet on purpose: `make run` shows tasador's lines (README "Quick start" quotes them); pip still reports errors.
# --no-compile: Python compiles a module to bytecode when it is first imported; compiling every installed file up
# front took two of a warm install's three minutes (BENCHMARKS.md, "CI's time").
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	@echo "Installing the pinned environment into $(VENV) (once; a few minutes)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --quiet --upgrade pip==26.3
	@$(BIN)/python -m pip install --quiet --quiet --progress-bar off --no-compile -r requirements.txt -r requirements-dev.txt -c constraints.txt -e .
	@scripts/activate-env.sh $(VENV)
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP) ## create .venv, install the pinned environment and tasador (editable)

init: install $(TASADOR_HOME)/.local-stack ## initialise ZenML and the local stack (once; keeps the active stack)

# Registered and activated the first time only: afterwards `zenml stack set` decides what runs.
# No `zenml init`: without a .zen folder the active stack lives in ZENML_CONFIG_PATH (.tasador/zenml) alone.
$(TASADOR_HOME)/.local-stack: stacks/local.yaml
	@$(BIN)/python run.py stack apply stacks/local.yaml $(if $(wildcard $@),,--activate)
	@touch $@

run: init ## process the next batch on the active stack (local by default); V=1 shows other tools' notices
	@$(BIN)/python run.py $(if $(V),-v) --pipeline training

demo: init ## the demo scenario's 16 batches (a few minutes): calm, drift, retraining, promotion, rejection
	@$(BIN)/python run.py $(if $(V),-v) demo

screenshots: install system-deps ## the README's screenshots, from the demo's state (after `make demo`)
	$(BIN)/python -m scripts.screenshots

# One pytest worker per core (pytest-xdist), each taking whole files so that a file's services start once.
# TEST_WORKERS=0 runs the suite in one process (the order of the file, easier to read when debugging).
TEST_WORKERS ?= auto
test: install system-deps ## the test suite without the `long` tests, on every core (README's test command; CI runs it)
	$(BIN)/python -m pytest -m "not long" -n $(TEST_WORKERS) --dist loadfile

test-long: install system-deps ## the `long` tests: image builds, Airflow (after `bash airflow/setup.sh`), browser, production stack
	$(BIN)/python -m pytest -m long

test-all: install system-deps ## everything
	$(BIN)/python -m pytest

test-fast: install ## the suite without tests marked slow
	$(BIN)/python -m pytest -m "not slow"

ui: init ## the Streamlit app on http://127.0.0.1:8501
	$(BIN)/streamlit run ui/app.py --server.address 127.0.0.1 --browser.gatherUsageStats false

serve: init ## the BentoML service on http://127.0.0.1:3000 (serves `production`; docs on /docs)
	$(BIN)/bentoml serve --host 127.0.0.1 --port 3000

data-api: install ## the data API on http://127.0.0.1:8800
	$(BIN)/python run.py datasource serve

lint: install ## ruff (lint and format) and mypy (pyproject.toml [tool.mypy])
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

lock: ## refreeze constraints.txt from a fresh environment of the pins
	rm -rf /tmp/tasador-lock && $(PYTHON) -m venv /tmp/tasador-lock
	/tmp/tasador-lock/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	/tmp/tasador-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

system-deps: ## Debian packages some tests use (browser, Prometheus); needs root, skipped otherwise
	@scripts/system-deps.sh

clean: ## remove the local state (.tasador, .zen); keeps .venv
	rm -rf .tasador .zen
