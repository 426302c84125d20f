"""The nightly schedule: 02:00 in the company time zone, as_of = the previous day there."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from dagster_project.defs.ops import NIGHTLY_CRON, build_nightly_schedule
from dagster_project.keys import AS_OF_TAG
from dagster_project.settings import company_timezone


def _as_of(schedule: dg.ScheduleDefinition, when: datetime) -> str:
    ctx = dg.build_schedule_context(scheduled_execution_time=when)
    requests = schedule.evaluate_tick(ctx).run_requests
    assert len(requests) == 1
    return requests[0].tags[AS_OF_TAG]


@pytest.mark.parametrize(
    ("tz", "when", "expected"),
    [
        # 02:00 in New York is 07:00 UTC the same day
        (
            "America/New_York",
            datetime(2026, 3, 10, 2, 0, tzinfo=ZoneInfo("America/New_York")),
            "2026-03-09",
        ),
        # 02:00 in Tokyo is 17:00 UTC the day before: the zone's date counts, not UTC's
        ("Asia/Tokyo", datetime(2026, 3, 10, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo")), "2026-03-09"),
        ("Asia/Tokyo", datetime(2026, 3, 9, 17, 0, tzinfo=ZoneInfo("UTC")), "2026-03-09"),
        # first of the year
        (
            "Europe/Berlin",
            datetime(2027, 1, 1, 2, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "2026-12-31",
        ),
        # the night clocks spring forward in New York (02:00 does not exist; 03:00 runs)
        (
            "America/New_York",
            datetime(2026, 3, 8, 3, 0, tzinfo=ZoneInfo("America/New_York")),
            "2026-03-07",
        ),
    ],
)
def test_run_request_carries_the_previous_day_in_the_zone(tz, when, expected):
    assert _as_of(build_nightly_schedule(tz), when) == expected


def test_schedule_cron_and_timezone():
    schedule = build_nightly_schedule("America/Chicago")
    assert schedule.cron_schedule == NIGHTLY_CRON == "0 2 * * *"
    assert schedule.execution_timezone == "America/Chicago"
    assert schedule.job_name == "nightly"


def test_timezone_comes_from_settings_yml(tmp_path):
    (tmp_path / "settings.yml").write_text("corporate_currency: USD\ntimezone: Asia/Kolkata\n")
    assert company_timezone(tmp_path) == "Asia/Kolkata"
    (tmp_path / "settings.yml").write_text("timezone: Not/A_Zone\n")
    assert company_timezone(tmp_path) == "UTC"
    assert company_timezone(tmp_path / "missing") == "UTC"


def test_schedule_is_on_by_default():
    schedule = build_nightly_schedule("UTC")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_nightly_runs_carry_the_writer_tag_and_a_run_retry_policy():
    from dagster_project.defs.ops import NIGHTLY_RUN_TAGS, nightly

    assert nightly.tags == NIGHTLY_RUN_TAGS
    assert NIGHTLY_RUN_TAGS == {
        "quotaboard/writer": "warehouse",
        "dagster/max_retries": "1",
        "dagster/retry_on_asset_or_op_failure": "false",
    }


def test_schedule_tick_at_two_in_the_morning_in_the_zone():
    """Dagster's own cron iteration: the next tick after 20:00 UTC is 02:00 the next day in
    Berlin (01:00 UTC in winter), and its run reports on the day before."""
    from dagster._utils.schedules import cron_string_iterator  # what the scheduler daemon uses

    schedule = build_nightly_schedule("Europe/Berlin")
    start = datetime(2026, 1, 14, 20, 0, tzinfo=ZoneInfo("UTC"))
    tick = next(
        cron_string_iterator(start.timestamp(), schedule.cron_schedule, schedule.execution_timezone)
    )
    assert tick.astimezone(ZoneInfo("UTC")) == datetime(2026, 1, 15, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert _as_of(schedule, tick) == "2026-01-14"
