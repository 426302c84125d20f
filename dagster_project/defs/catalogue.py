"""``published/docs``: the dbt docs site as the metric catalogue, one static page.

After the publish, ``dbt docs generate --static`` runs against the working database (as_of and
memory limit as the dbt build had them) into ``<home>/dbt/docs-target``, and its
``static_index.html`` (manifest and catalog inlined: it opens from disk, no server) replaces
``<home>/published/docs/index.html`` (``QuotaboardPaths.docs_page``) by a temp file + rename
(``dagster_project.atomic``), like every published file.

DuckDB has one writer per file: dbt opens the working database in a child process, so this
asset opens no connection of its own while dbt runs (the publish before it has closed its
connection; the in-process executor runs one step at a time).
"""

import json
import shutil
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from dagster_project.atomic import copy_file_atomic
from dagster_project.keys import CATALOGUE_KEY, PUBLISHED_KEY, run_as_of
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_warehouse

from .transform.assets import _environ

STATIC_PAGE = "static_index.html"


def docs_target_path(paths: QuotaboardPaths) -> Path:
    """dbt's target folder for the docs of this home (apart from the build's artifacts)."""
    target = paths.home / "dbt" / "docs-target"
    target.mkdir(parents=True, exist_ok=True)
    build_parse = paths.home / "dbt" / "target" / "partial_parse.msgpack"
    # Same project, profile and vars as the build: its partial parse saves a full parse.
    if build_parse.exists():
        shutil.copyfile(build_parse, target / "partial_parse.msgpack")
    return target


@dg.asset(
    key=CATALOGUE_KEY,
    group_name="published",
    deps=[PUBLISHED_KEY],
    description=(
        "published/docs/index.html: the dbt docs site (dbt docs generate --static), every "
        "mart, column and metric definition in one file that opens without a server."
    ),
)
def metric_catalogue(
    context: dg.AssetExecutionContext, paths: QuotaboardPaths, dbt: DbtCliResource
) -> dg.MaterializeResult:
    as_of = run_as_of(context, paths)
    memory_limit = settings_from_warehouse(paths.warehouse_path).get("duckdb_memory_limit") or ""
    target = docs_target_path(paths)
    with _environ(
        QUOTABOARD_WAREHOUSE_PATH=str(paths.warehouse_path),
        QUOTABOARD_DUCKDB_MEMORY_LIMIT=str(memory_limit),
    ):
        dbt.cli(
            ["docs", "generate", "--static", "--vars", json.dumps({"as_of": as_of})],
            target_path=target,
        ).wait()
    page = target / STATIC_PAGE
    if not page.exists():
        raise dg.Failure(f"dbt docs generate --static wrote no {page}")
    published = paths.docs_page
    copy_file_atomic(page, published)
    context.log.info(f"published the metric catalogue {published}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published)),
            "bytes": published.stat().st_size,
            "as_of": as_of,
        }
    )
