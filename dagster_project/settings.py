"""The few settings orchestration needs around dbt: time zone, memory limit, freshness limit.

Read from the working database's ``config.settings`` (written and validated by the config
asset) when it is there, else from ``<config>/settings.yml`` directly (the schedule is defined
before any run has loaded the configuration).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

DEFAULT_TIMEZONE = "UTC"


def settings_from_yaml(config_dir: Path) -> dict:
    path = Path(config_dir) / "settings.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, ValueError):  # ValueError: a date such as 2026-02-30
        return {}
    return data if isinstance(data, dict) else {}


def settings_from_warehouse(warehouse_path: Path) -> dict:
    if not Path(warehouse_path).exists():
        return {}
    with contextlib.suppress(duckdb.Error):
        conn = duckdb.connect(str(warehouse_path), read_only=True)
        try:
            cur = conn.execute("select * from config.settings limit 1")
            row = cur.fetchone()
            if row is not None:
                return dict(zip([d[0] for d in cur.description], row, strict=True))
        finally:
            conn.close()
    return {}


def valid_timezone(name: object) -> str:
    if isinstance(name, str) and name.strip():
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            ZoneInfo(name.strip())
            return name.strip()
    return DEFAULT_TIMEZONE


def company_timezone(config_dir: Path) -> str:
    return valid_timezone(settings_from_yaml(config_dir).get("timezone"))


def today_in(tz: str, now: datetime | None = None) -> date:
    now = now or datetime.now(ZoneInfo("UTC"))
    return now.astimezone(ZoneInfo(tz)).date()


def previous_day_in(tz: str, when: datetime) -> date:
    """The day before ``when``'s date in ``tz`` (what a 02:00 nightly run reports on)."""
    return today_in(tz, when) - timedelta(days=1)


DEFAULT_FRESHNESS_MAX_AGE_HOURS = 26.0


def freshness_max_age_hours(config_dir: Path) -> float:
    """``freshness_max_age_hours`` of ``<config>/settings.yml`` (a positive number; otherwise,
    or when the file or key is missing, the contract's default of 26)."""
    value = settings_from_yaml(config_dir).get("freshness_max_age_hours")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return DEFAULT_FRESHNESS_MAX_AGE_HOURS
