"""The dbt project as Dagster assets: one ``dbt build`` per run (models, then their tests).

Before dbt starts, the working database gets every table dbt reads as a source, even when a
loader was not part of the run (``create_empty_tables``: raw, config and the history master);
the connection is closed before dbt opens the file (one writer at a time). The run's as_of
(``dagster_project.keys.run_as_of``) reaches dbt as the environment variable
``QUOTABOARD_AS_OF``, not as ``--vars``: vars that change every night void dbt's partial
parse (a full parse of the whole project each night). The models read it, and the run id
(``QUOTABOARD_RUN_ID``), through the ``run_env_var`` macro, only when they run, so a new
value re-parses no file at all.
"""

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.faults import BETWEEN_DBT_MODELS, fault_point
from dagster_project.ingest.schema import create_empty_tables
from dagster_project.keys import run_as_of
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_warehouse

from .partial_parse import seed_partial_parse
from .project import dbt_project
from .translator import QuotaboardTranslator

UNIT_TESTS_ENV = "QUOTABOARD_DBT_UNIT_TESTS"

DBT_PROJECT = dbt_project()


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _target_path(paths: QuotaboardPaths) -> Path:
    """dbt's target folder of this home: ``<home>/dbt/target`` (artifacts of the last run).

    One folder per home, not one per run: runs of a home are serialised by the run lock, and a
    stable path (with the same profile and vars) lets dbt re-use its partial parse."""
    target = paths.home / "dbt" / "target"
    target.mkdir(parents=True, exist_ok=True)
    return target


def _unit_test_args() -> list[str]:
    """dbt unit tests check the models' logic on fixed inputs, not the data: they run in the
    test suite (``tests/test_pipeline.py``), not in every nightly build, unless
    ``QUOTABOARD_DBT_UNIT_TESTS=1``."""
    if os.environ.get(UNIT_TESTS_ENV, "").strip().lower() in ("1", "true", "yes"):
        return []
    return ["--exclude-resource-type", "unit_test"]


def prepare_warehouse(paths: QuotaboardPaths) -> None:
    """Every table dbt reads as a source, created empty if missing (``create_empty_tables``)."""
    paths.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(paths.warehouse_path))
    try:
        create_empty_tables(conn)
    finally:
        conn.close()


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=QuotaboardTranslator(),
    name="dbt_models",
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, paths: QuotaboardPaths
) -> Iterator:
    prepare_warehouse(paths)
    as_of = run_as_of(context, paths)
    settings = settings_from_warehouse(paths.warehouse_path)
    memory_limit = settings.get("duckdb_memory_limit") or ""
    context.log.info(f"dbt build with as_of={as_of} on {paths.warehouse_path}")
    with _environ(
        QUOTABOARD_WAREHOUSE_PATH=str(paths.warehouse_path),
        QUOTABOARD_DUCKDB_MEMORY_LIMIT=str(memory_limit),
        # fct_post_close_changes.first_seen_run_id of a difference first seen by this run. An
        # environment variable, not a var: a var that changes every run would void dbt's
        # partial parse of the whole project (only the model reading it is parsed again).
        QUOTABOARD_RUN_ID=context.run.run_id,
        QUOTABOARD_AS_OF=as_of,
    ):
        target = _target_path(paths)
        project_target = Path(DBT_PROJECT.project_dir) / DBT_PROJECT.target_path
        context.log.info(
            seed_partial_parse(project_target, target, Path(DBT_PROJECT.profiles_dir), os.environ)
        )
        invocation = dbt.cli(
            ["build", *_unit_test_args()],
            context=context,
            target_path=target,
        )
        for event in invocation.stream():
            yield event
            if isinstance(event, dg.Output | dg.AssetMaterialization):
                fault_point(BETWEEN_DBT_MODELS)  # one model built, the next not yet


MART_KEYS: list[dg.AssetKey] = sorted(
    (k for k in dbt_models.keys if k.path[0] == "marts"), key=lambda k: k.to_user_string()
)
