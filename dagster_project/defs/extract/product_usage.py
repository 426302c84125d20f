"""``raw/messages``: product-usage (Segment) messages loaded incrementally into
``raw.messages`` (see ``dagster_project.ingest.messages``)."""

import dagster as dg

from dagster_project.defs.config import CONFIG_KEYS
from dagster_project.defs.extract.salesforce import PRODUCT_USAGE_ARCHIVE_KEY
from dagster_project.ingest.files import LandingError
from dagster_project.ingest.messages import load_messages
from dagster_project.ingest.schema import MESSAGES_TABLE, RAW_SCHEMA
from dagster_project.ingest.warehouse import open_warehouse
from dagster_project.resources import QuotaboardPaths
from dagster_project.retries import LOADER_RETRY_POLICY, is_transient

MESSAGES_KEY = dg.AssetKey(["raw", MESSAGES_TABLE])


@dg.asset(
    key=MESSAGES_KEY,
    group_name="raw",
    deps=[*CONFIG_KEYS.values(), PRODUCT_USAGE_ARCHIVE_KEY],
    description="raw.messages: Segment messages flattened, values as text, as landed.",
    retry_policy=LOADER_RETRY_POLICY,
)
def raw_messages(context: dg.AssetExecutionContext, paths: QuotaboardPaths):
    with open_warehouse(paths.warehouse_path) as conn:
        try:
            stats = load_messages(conn, paths.landing)
        except LandingError as e:
            raise dg.Failure(
                description=f"Product-usage landing data in {paths.landing} cannot be loaded:\n{e}",
                metadata={"errors": dg.MetadataValue.json(e.errors)},
                allow_retries=is_transient(e),
            ) from None
        total, invalid = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT _is_valid_json) "
            f"FROM {RAW_SCHEMA}.{MESSAGES_TABLE}"
        ).fetchone()
    for note in stats.notes:
        context.log.info(note)
    return dg.MaterializeResult(
        metadata={**stats.as_metadata(), "rows_total": total, "invalid_lines_total": invalid}
    )


assets = [raw_messages]
