"""Names the command line, the assets, the schedule, the sensors and the checks share, once.

* **Asset keys** of the published assets, as paths (tuples of strings). ``PUBLISHED_KEY``,
  ``BOARD_KEY`` and ``CATALOGUE_KEY`` are the same keys as ``dg.AssetKey``, built when first
  used (``from dagster_project.keys import PUBLISHED_KEY`` imports Dagster then, not before).
* **Run tags** Quotaboard sets or reads (``quotaboard/...``), and the Dagster tags it sets.
* **The run's as_of**: :func:`resolve_as_of` (the one resolution: the first date given, in
  order of precedence, else today in the company time zone) and :func:`run_as_of` (a Dagster
  step's: its run's ``quotaboard/as_of`` tag, else ``QuotaboardPaths.as_of``, else today).

Importing this module imports nothing but the standard library, so ``quotaboard`` (the command
line) and ``dev.py`` use it without loading Dagster, DuckDB or the dbt manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

    PUBLISHED_KEY: dg.AssetKey
    BOARD_KEY: dg.AssetKey
    CATALOGUE_KEY: dg.AssetKey

# -- asset keys ---------------------------------------------------------------------------
PUBLISHED_PATH: tuple[str, ...] = ("published", "warehouse")  # defs/publish.py
BOARD_PATH: tuple[str, ...] = ("published", "board")  # defs/board.py
CATALOGUE_PATH: tuple[str, ...] = ("published", "docs")  # defs/catalogue.py

_ASSET_KEYS: dict[str, tuple[str, ...]] = {
    "PUBLISHED_KEY": PUBLISHED_PATH,
    "BOARD_KEY": BOARD_PATH,
    "CATALOGUE_KEY": CATALOGUE_PATH,
}


@cache
def asset_key(path: tuple[str, ...]) -> dg.AssetKey:
    """``dg.AssetKey(path)`` (Dagster is imported on the first call)."""
    import dagster as dg

    return dg.AssetKey(list(path))


def __getattr__(name: str) -> Any:
    # PEP 562: PUBLISHED_KEY, BOARD_KEY, CATALOGUE_KEY are built on first use.
    if name in _ASSET_KEYS:
        return asset_key(_ASSET_KEYS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- run tags -----------------------------------------------------------------------------
AS_OF_TAG = "quotaboard/as_of"  # the run's date (schedule, landing sensor, quotaboard run)
WRITER_TAG = "quotaboard/writer"  # the run queue starts one such run at a time (dev.py)
WRITER_TAG_VALUE = "warehouse"
TRIGGER_TAG = "quotaboard/trigger"  # what started the run ("landing_sensor")
SOURCE_TAG = "quotaboard/source"  # "cli" for `quotaboard run`
FULL_REFRESH_TAG = "quotaboard/full_refresh"  # "true" for `quotaboard run --full-refresh`
REUSED_BUILD_TAG = "quotaboard/reused_build_of"  # the run whose verified build is republished

# Dagster's own tags that Quotaboard sets or reads.
MAX_RETRIES_TAG = "dagster/max_retries"
RETRY_ON_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
WILL_RETRY_TAG = "dagster/will_retry"


# -- the run's as_of ----------------------------------------------------------------------
def parse_as_of(value: str) -> str:
    """``value`` as an ISO date (``YYYY-MM-DD``); ValueError when it is not a date."""
    try:
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise ValueError(f"as_of {value!r} is not a date (YYYY-MM-DD)") from None


def company_today(config_dir: Path | str, warehouse_path: Path | str | None = None) -> str:
    """Today in the company time zone: ``timezone`` of the working database's
    ``config.settings`` (when ``warehouse_path`` is given and holds it), else of
    ``<config_dir>/settings.yml``, else UTC."""
    from dagster_project.settings import (
        settings_from_warehouse,
        settings_from_yaml,
        today_in,
        valid_timezone,
    )

    settings = settings_from_warehouse(Path(warehouse_path)) if warehouse_path else {}
    settings = settings or settings_from_yaml(Path(config_dir))
    return today_in(valid_timezone(settings.get("timezone"))).isoformat()


def resolve_as_of(
    *given: str | None,
    config_dir: Path | str,
    warehouse_path: Path | str | None = None,
) -> str:
    """The run's as_of (ISO date): the first of ``given`` (highest precedence first: a run
    tag, ``--as-of``, ``QUOTABOARD_AS_OF``) that is not blank, else :func:`company_today`.
    ValueError when the date given is not a date."""
    for value in given:
        if value and value.strip():
            return parse_as_of(value)
    return company_today(config_dir, warehouse_path)


def run_tags(context: Any) -> Mapping[str, str]:
    """The tags of a Dagster step's run (empty when invoked without a run, as in tests)."""
    try:
        return context.run.tags or {}
    except Exception:  # noqa: BLE001 - direct invocation has no run
        return {}


def run_as_of(context: Any, paths: Any) -> str:
    """A Dagster step's as_of: its run's ``quotaboard/as_of`` tag (the schedule, the landing
    sensor, ``quotaboard run --as-of``), else ``paths.as_of`` (``QuotaboardPaths``: the
    environment's ``QUOTABOARD_AS_OF``), else today in the company time zone (the working
    database's settings, else ``settings.yml``)."""
    return resolve_as_of(
        run_tags(context).get(AS_OF_TAG),
        paths.as_of,
        config_dir=paths.config,
        warehouse_path=paths.warehouse_path,
    )
