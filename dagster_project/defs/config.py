"""``config/<table>``: the business configuration, validated, written to ``config.*``.

Runs first: every raw asset depends on these keys, so a configuration error stops the run
before any landing data is read (and before anything is published).

A configuration error is permanent (no retry); an I/O error reading the folder or writing the
working database is retried with backoff (``dagster_project.retries``)."""

import dagster as dg

from dagster_project.ingest.config import ConfigError, load_config, write_config
from dagster_project.ingest.schema import CONFIG_TABLES
from dagster_project.ingest.warehouse import open_warehouse
from dagster_project.period_close import (
    REOPEN_TAG,
    ReopenError,
    parse_reopen,
    prepare_closed_periods,
)
from dagster_project.resources import QuotaboardPaths
from dagster_project.retries import LOADER_RETRY_POLICY

CONFIG_KEYS: dict[str, dg.AssetKey] = {t: dg.AssetKey(["config", t]) for t in CONFIG_TABLES}


@dg.multi_asset(
    name="config_tables",
    specs=[
        dg.AssetSpec(
            key,
            group_name="config",
            description=f"config.{table}: {table} from the config folder, validated.",
        )
        for table, key in CONFIG_KEYS.items()
    ],
    retry_policy=LOADER_RETRY_POLICY,
)
def config_tables(context: dg.AssetExecutionContext, paths: QuotaboardPaths):
    try:
        config = load_config(paths.config)
    except ConfigError as e:
        raise dg.Failure(
            description=f"Invalid configuration in {paths.config}:\n{e}",
            metadata={"errors": dg.MetadataValue.json(e.errors)},
            allow_retries=False,
        ) from None
    memory_limit = config.settings.get("duckdb_memory_limit")
    with open_warehouse(paths.warehouse_path, memory_limit) as conn:
        counts = write_config(conn, config)
        # Closed periods (metrics.md §13), before dbt reads the snapshots.
        try:
            restored, reopened = prepare_closed_periods(
                conn,
                paths.published_path,
                config.settings.get("closed_through"),
                config.settings.get("fiscal_year_start_month") or 1,
                parse_reopen(context.run.tags.get(REOPEN_TAG)),
            )
        except (ReopenError, ValueError) as e:
            raise dg.Failure(
                description=f"Invalid configuration in {paths.config}:\n{e}",
                allow_retries=False,
            ) from None
    if restored:
        context.log.warning(
            f"restored {restored} closed-period snapshot rows from the published file"
        )
    if reopened:
        context.log.warning(f"reopened {', '.join(reopened)}: their snapshots were dropped")
    context.log.info(f"configuration from {paths.config}: {counts}")
    for table, key in CONFIG_KEYS.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"rows": counts[table], "config_dir": str(paths.config)},
        )


assets = [config_tables]
