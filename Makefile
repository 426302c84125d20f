# Every target installs what it needs on first use (uv, then the locked environment).
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: install run test test-fast lint format dev bench clean

$(UV):
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the nightly job on the bundled sample
	$(UV) run --frozen quotaboard run $(ARGS)

test: $(STAMP)  ## every test, slow ones included
	$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: $(STAMP)  ## skip tests marked slow
	$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	cd dbt && ../$(VENV)/bin/sqlfluff lint models tests

format: $(STAMP)
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

dev: $(STAMP)  ## Dagster UI and daemon on the same home
	$(UV) run --frozen quotaboard dev $(ARGS)

clean:
	rm -rf data dbt/target dbt/logs
