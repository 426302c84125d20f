"""``landing/salesforce_crm`` and ``landing/product_usage_archive`` (group ``extract``):
bring data from the systems of record into the landing folder, when configured.

Both read ``<config>/sources.yml`` and the environment (``dagster_project.sources``). When a
source is not configured the asset does nothing and says so in its metadata (the file-drop
landing folder is the default input). The raw loaders (``raw/*``, ``raw/messages``) read
what these assets write.
"""

import dagster as dg

from dagster_project.resources import SAMPLE_LANDING, QuotaboardPaths
from dagster_project.retries import LOADER_RETRY_POLICY, is_transient
from dagster_project.sources.object_store import ObjectStoreError, sync_archive
from dagster_project.sources.salesforce import SalesforceExtractError, extract_salesforce
from dagster_project.sources.source_config import SourceConfigError, load_sources_config

SALESFORCE_KEY = dg.AssetKey(["landing", "salesforce_crm"])
PRODUCT_USAGE_ARCHIVE_KEY = dg.AssetKey(["landing", "product_usage_archive"])


def _config(paths: QuotaboardPaths):
    try:
        return load_sources_config(paths.config)
    except SourceConfigError as e:
        raise dg.Failure(
            description=f"Source configuration is invalid: {e}", allow_retries=False
        ) from None


def _check_landing(paths: QuotaboardPaths, source: str) -> None:
    """Never write extracted data into the bundled sample (the default landing folder)."""
    if paths.landing == SAMPLE_LANDING.resolve():
        raise dg.Failure(
            description=f"{source} is configured but the landing folder is the bundled sample "
            f"({paths.landing}): set QUOTABOARD_LANDING (or --landing) to a folder of your own",
            allow_retries=False,
        )


@dg.asset(
    key=SALESFORCE_KEY,
    group_name="extract",
    description="Salesforce objects extracted (queryAll, incremental on SystemModstamp) into "
    "<landing>/crm/<Object>/sf-<timestamp>.csv; does nothing unless Salesforce is configured.",
    retry_policy=LOADER_RETRY_POLICY,
)
def salesforce_crm(context: dg.AssetExecutionContext, paths: QuotaboardPaths):
    cfg = _config(paths).salesforce
    if cfg is None:
        return dg.MaterializeResult(metadata={"status": "not configured"})
    _check_landing(paths, "Salesforce")
    try:
        result = extract_salesforce(cfg, paths.landing, paths.home)
    except SalesforceExtractError as e:
        raise dg.Failure(
            description=f"Salesforce extract failed:\n{e}",
            metadata={"errors": dg.MetadataValue.json(e.errors)},
            allow_retries=is_transient(e),
        ) from None
    for note in result.notes:
        context.log.info(note)
    return dg.MaterializeResult(
        metadata={
            "status": "extracted",
            **cfg.describe(),
            **{k: v for k, v in result.as_metadata().items() if k != "by_object"},
            "by_object": dg.MetadataValue.json(result.as_metadata()["by_object"]),
            "files": dg.MetadataValue.json(result.files),
        }
    )


@dg.asset(
    key=PRODUCT_USAGE_ARCHIVE_KEY,
    group_name="extract",
    description="Product-usage event files mirrored from the object-storage archive "
    "(product_usage.url = s3://bucket/prefix/) into <landing>/product_usage/s3/, by key and "
    "ETag; does nothing when events are dropped in the landing folder (the default).",
    retry_policy=LOADER_RETRY_POLICY,
)
def product_usage_archive(context: dg.AssetExecutionContext, paths: QuotaboardPaths):
    cfg = _config(paths).product_usage
    if not cfg.url:
        return dg.MaterializeResult(metadata={"status": "not configured"})
    _check_landing(paths, "The product-usage archive")
    try:
        result = sync_archive(cfg, paths.landing, paths.home)
    except ObjectStoreError as e:
        raise dg.Failure(
            description=f"Product-usage archive cannot be read: {e}",
            allow_retries=is_transient(e),
        ) from None
    for note in result.notes:
        context.log.info(note)
    meta = result.as_metadata()
    meta["notes"] = dg.MetadataValue.json(meta["notes"])
    return dg.MaterializeResult(metadata={"status": "synced", **meta})


assets = [salesforce_crm, product_usage_archive]
