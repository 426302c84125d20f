"""``raw/<object>`` (10 CRM objects) and ``raw/rejected_rows``: CRM landing files loaded
incrementally into the raw schema (see ``dagster_project.ingest.crm``).

An object's load warnings (a file that repeats its header line) are logged as warnings and
recorded as its materialization's ``warnings`` metadata, which ``quotaboard run`` prints
(``run_report.load_warnings``)."""

import dagster as dg

from dagster_project.defs.config import CONFIG_KEYS
from dagster_project.defs.extract.salesforce import SALESFORCE_KEY
from dagster_project.ingest.crm import CrmLoadStats, load_crm
from dagster_project.ingest.files import LandingError
from dagster_project.ingest.manifest import LoadStats
from dagster_project.ingest.schema import CRM_OBJECTS, RAW_SCHEMA, REJECTED_ROWS_TABLE
from dagster_project.ingest.warehouse import open_warehouse
from dagster_project.resources import QuotaboardPaths
from dagster_project.retries import LOADER_RETRY_POLICY, is_transient

CRM_KEYS: dict[str, dg.AssetKey] = {
    obj: dg.AssetKey(["raw", table]) for obj, (table, _, _) in CRM_OBJECTS.items()
}
REJECTED_ROWS_KEY = dg.AssetKey(["raw", REJECTED_ROWS_TABLE])


@dg.multi_asset(
    name="crm_raw_tables",
    specs=[
        *(
            dg.AssetSpec(
                key,
                group_name="raw",
                deps=[*CONFIG_KEYS.values(), SALESFORCE_KEY],
                description=f"raw.{key.path[-1]}: Salesforce {obj} rows as text, as landed.",
            )
            for obj, key in CRM_KEYS.items()
        ),
        dg.AssetSpec(
            REJECTED_ROWS_KEY,
            group_name="raw",
            deps=[*CONFIG_KEYS.values(), SALESFORCE_KEY],
            description="raw.rejected_rows: landing lines that could not be read as rows.",
        ),
    ],
    retry_policy=LOADER_RETRY_POLICY,
)
def crm_raw_tables(context: dg.AssetExecutionContext, paths: QuotaboardPaths):
    with open_warehouse(paths.warehouse_path) as conn:
        try:
            stats = load_crm(conn, paths.landing)
        except LandingError as e:
            raise dg.Failure(
                description=f"CRM landing data in {paths.landing} cannot be loaded:\n{e}",
                metadata={"errors": dg.MetadataValue.json(e.errors)},
                allow_retries=is_transient(e),
            ) from None
        totals = {
            obj: conn.execute(f'SELECT count(*) FROM {RAW_SCHEMA}."{table}"').fetchone()[0]
            for obj, (table, _, _) in CRM_OBJECTS.items()
        }
        rejected = conn.execute(
            f"SELECT object_name, count(*) FROM {RAW_SCHEMA}.{REJECTED_ROWS_TABLE} GROUP BY 1"
        ).fetchall()
    overall = LoadStats()
    warned: list[str] = []
    for obj, key in CRM_KEYS.items():
        st = stats.get(obj, CrmLoadStats())
        overall.add(st)
        warned += st.warnings
        metadata = {**st.as_metadata(), "rows_total": totals[obj]}
        if st.warnings:
            metadata["warnings"] = dg.MetadataValue.json(st.warnings)
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    for note in overall.notes:
        if note in warned:
            context.log.warning(note)
        else:
            context.log.info(note)
    yield dg.MaterializeResult(
        asset_key=REJECTED_ROWS_KEY,
        metadata={
            "rows_rejected_this_run": overall.rows_rejected,
            "rows_total": sum(n for _, n in rejected),
            "by_object": dg.MetadataValue.json(dict(rejected)),
        },
    )


assets = [crm_raw_tables]
