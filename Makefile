# Every target installs what it needs on first use (uv, then the locked environment).
SHELL := /bin/bash
# uv from PATH, else the uv module of the machine's python3 (installed on first use).
UV ?= $(or $(shell command -v uv 2>/dev/null),python3 -m uv)
VENV := .venv
STAMP := $(VENV)/.synced

.PHONY: install run test test-slow test-all lint format dev clean regenerate

$(STAMP): pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --compile-bytecode
	@# dbt's parse of the project (dbt/target/dagster/), which every run and test starts from
	$(UV) run --frozen python -m dagster_project.defs.transform.project
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the nightly job on the bundled sample
	$(UV) run --frozen quotaboard run $(ARGS)

test: $(STAMP)  ## the test suite without the tests marked slow (quick to iterate on)
	$(UV) run --frozen pytest -m "not slow" $(PYTEST_ARGS)

# The slow tests run on every core (pytest-xdist), each test file on one worker so that its
# module fixtures (a sample run, a scenario's warehouse) are built once. TEST_WORKERS=0 runs
# them in this process.
TEST_WORKERS ?= auto

test-slow: $(STAMP)  ## only the tests marked slow (CI runs these too)
	$(UV) run --frozen pytest -m slow -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

test-all: test test-slow

lint: $(STAMP)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	cd dbt && ../$(VENV)/bin/sqlfluff lint models tests

format: $(STAMP)
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

regenerate: $(STAMP)  ## rewrite what the metric registry, the dbt docs and the guards drive (commit the result)
	$(UV) run --frozen python -m dagster_project.quality.suites
	$(UV) run --frozen python -m dagster_project.semantic_layer
	$(UV) run --frozen python -m dagster_project.quality.inventory
	$(UV) run --frozen python -m dagster_project.metric_docs

spark-build: $(STAMP)  ## the marts built on local Apache Spark by the same dbt project (docs/spark.md)
	$(UV) run --frozen python -m dagster_project.spark_build $(ARGS)

dev: $(STAMP)  ## Dagster UI and daemon on the same home
	$(UV) run --frozen quotaboard dev $(ARGS)

bench: $(STAMP)  ## benchmark: plain-pass floor, full rebuild, no-op, one-day (benchmarks/README.md)
	$(UV) run --frozen python benchmarks/bench.py $(ARGS)

.PHONY: mutate
mutate: $(STAMP)  ## the mutation check: do the fast tests kill each mutant of mutation/mutants.yml? (docs/testing.md; not part of test)
	$(UV) run --frozen python mutation/run.py $(ARGS)

clean:
	rm -rf data dbt/target dbt/logs
