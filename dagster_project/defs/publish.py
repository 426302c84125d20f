"""``published/warehouse``: the atomic publish of the marts (see ``dagster_project.publish``).

It depends on every dbt mart, so it runs only when ``dbt build`` succeeded: a failed model or
a failed error-severity test stops the run before anything under ``published/`` changes.
"""

import dagster as dg

from dagster_project.keys import PUBLISHED_KEY
from dagster_project.period_close import REOPEN_TAG, parse_reopen
from dagster_project.publish import publish_warehouse
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import settings_from_warehouse

from .transform.assets import MART_KEYS


@dg.asset(
    key=PUBLISHED_KEY,
    group_name="published",
    deps=MART_KEYS,
    description=(
        "published/quotaboard.duckdb (schema marts, DuckDB 1.1 readable) and "
        "published/parquet/<model>.parquet (a link to one complete Parquet set), each "
        "switched by an atomic rename; "
        "fct_attainment_history gains this run's rows."
    ),
)
def published_warehouse(
    context: dg.AssetExecutionContext, paths: QuotaboardPaths
) -> dg.MaterializeResult:
    memory_limit = settings_from_warehouse(paths.warehouse_path).get("duckdb_memory_limit")
    result = publish_warehouse(
        paths.warehouse_path,
        paths.published_dir,
        run_id=context.run.run_id,
        memory_limit=memory_limit or None,
        reopened_periods=parse_reopen(context.run.tags.get(REOPEN_TAG)),
        config_dir=paths.config,
    )
    if result.recovered_publish:
        context.log.warning(
            "completed the switch of a previous publish that was stopped between its renames"
        )
    if result.reconciled_rows:
        context.log.warning(
            f"restored {result.reconciled_rows} history rows from the published file "
            "(a previous publish stopped before committing its history)"
        )
    context.log.info(f"published {result.published_path} ({len(result.tables)} tables)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.published_path)),
            "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
            "as_of": str(result.as_of) if result.as_of else "",
            "tables": dg.MetadataValue.json(result.tables),
            "history_rows_added": result.history_rows_added,
            "history_rows_total": result.history_rows_total,
            "reconciled_rows": result.reconciled_rows,
            "snapshot_rows_added": dg.MetadataValue.json(result.snapshot_rows_added),
            "reopened_periods": ",".join(result.reopened_periods),
            "config_changes_added": result.config_changes_added,
        }
    )
