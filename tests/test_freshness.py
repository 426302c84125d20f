"""Freshness: the check on published/warehouse fails on a stale published file and passes on a
fresh one (real DuckDB files, the check run by Dagster in the freshness_checks job)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.defs.freshness import (
    FRESHNESS_JOB_NAME,
    PUBLISHED_KEY,
    evaluate_freshness,
    freshness_checks,
    freshness_schedule,
    published_freshness,
)
from dagster_project.resources import QuotaboardPaths
from dagster_project.settings import freshness_max_age_hours

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def write_published(home: Path, published_at: list[datetime], as_of: str = "2026-11-20") -> Path:
    """A published file as the publish writes it: marts.fct_attainment_history with one row
    per publish (published_at naive UTC)."""
    path = home / "published" / "quotaboard.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        conn.execute("create schema marts")
        conn.execute(
            "create table marts.fct_attainment_history "
            "(run_id varchar, as_of date, published_at timestamp, assignee_id varchar)"
        )
        for i, when in enumerate(published_at):
            conn.execute(
                "insert into marts.fct_attainment_history values (?, ?, ?, 'p1')",
                [f"run-{i}", as_of, when.replace(tzinfo=None)],
            )
    finally:
        conn.close()
    return path


def test_stale_and_fresh_against_the_limit(tmp_path):
    path = write_published(tmp_path, [NOW - timedelta(hours=50), NOW - timedelta(hours=30)])
    stale = evaluate_freshness(path, 26, now=NOW)
    assert not stale.passed
    assert stale.age_hours == pytest.approx(30.0)
    assert stale.measured_from == "fct_attainment_history.published_at"
    assert stale.as_of == "2026-11-20"
    assert "30.0 h ago: older than the limit of 26 h" in stale.describe()
    fresh = evaluate_freshness(path, 31, now=NOW)
    assert fresh.passed and "within the limit of 31 h" in fresh.describe()


def test_without_history_rows_the_file_time_counts(tmp_path):
    path = write_published(tmp_path, [])
    old = (NOW - timedelta(hours=40)).timestamp()
    os.utime(path, (old, old))
    result = evaluate_freshness(path, 26, now=NOW)
    assert result.measured_from == "file mtime"
    assert not result.passed and result.age_hours == pytest.approx(40.0)


def test_nothing_published_fails(tmp_path):
    result = evaluate_freshness(tmp_path / "published" / "quotaboard.duckdb", 26, now=NOW)
    assert not result.passed and result.published_at is None
    assert result.describe().startswith("nothing has been published yet")


def _run_check(home: Path, config: Path) -> dg.AssetCheckEvaluation:
    defs = dg.Definitions(
        assets=[dg.AssetSpec(PUBLISHED_KEY)],
        asset_checks=[published_freshness],
        jobs=[freshness_checks],
        resources={"paths": QuotaboardPaths(config_dir=str(config), home_dir=str(home))},
    )
    result = defs.resolve_job_def(FRESHNESS_JOB_NAME).execute_in_process(raise_on_error=False)
    assert result.success  # a failing check never fails the run (blocking=False)
    assert not [e for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_check_in_dagster_red_when_stale_green_when_fresh(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yml").write_text("freshness_max_age_hours: 6\n", encoding="utf-8")
    now = datetime.now(UTC)

    stale_home = tmp_path / "stale"
    write_published(stale_home, [now - timedelta(hours=7)])
    evaluation = _run_check(stale_home, config)
    assert evaluation.check_name == "freshness" and evaluation.asset_key == PUBLISHED_KEY
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["max_age_hours"].value == 6.0
    assert 6.9 < evaluation.metadata["age_hours"].value < 7.2

    fresh_home = tmp_path / "fresh"
    write_published(fresh_home, [now - timedelta(hours=7), now - timedelta(minutes=5)])
    evaluation = _run_check(fresh_home, config)
    assert evaluation.passed
    assert evaluation.metadata["age_hours"].value < 0.2


def test_check_is_non_blocking_and_scheduled_hourly():
    (spec,) = published_freshness.check_specs
    assert spec.blocking is False
    assert freshness_schedule.job_name == FRESHNESS_JOB_NAME
    assert freshness_schedule.cron_schedule == "30 * * * *"
    assert freshness_schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_limit_comes_from_settings_yml(tmp_path):
    (tmp_path / "settings.yml").write_text("freshness_max_age_hours: 48\n", encoding="utf-8")
    assert freshness_max_age_hours(tmp_path) == 48.0
    (tmp_path / "settings.yml").write_text("freshness_max_age_hours: -1\n", encoding="utf-8")
    assert freshness_max_age_hours(tmp_path) == 26.0
    assert freshness_max_age_hours(tmp_path / "missing") == 26.0
