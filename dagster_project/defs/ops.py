"""The nightly job and its 02:00 schedule.

* ``nightly``: every asset (and its checks), in process: one writer on the working database.
* ``nightly_schedule``: 02:00 every day in the company time zone (``timezone`` of the config
  folder's ``settings.yml``, read when the definitions load: ``QUOTABOARD_CONFIG`` or the
  sample). Each run reports on the previous day in that zone: the run is tagged
  ``quotaboard/as_of=<that date>``, which the dbt asset passes to dbt as ``as_of``.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.resources import paths_from_env
from dagster_project.settings import company_timezone, previous_day_in

from .transform.assets import AS_OF_TAG

NIGHTLY_CRON = "0 2 * * *"
SCHEDULE_TIMEZONE = company_timezone(paths_from_env().config)

nightly = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    description="Extract, audit, transform, test, publish: everything, in one process.",
    executor_def=dg.in_process_executor,
)


def build_nightly_schedule(timezone: str) -> dg.ScheduleDefinition:
    """The 02:00 schedule in ``timezone``; each run's as_of is the previous day there."""

    @dg.schedule(
        name="nightly_schedule",
        job=nightly,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=timezone,
        description=f"02:00 {timezone}; as_of = the previous day there.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        as_of = previous_day_in(timezone, context.scheduled_execution_time).isoformat()
        return dg.RunRequest(run_key=f"nightly-{as_of}", tags={AS_OF_TAG: as_of})

    return nightly_schedule


nightly_schedule = build_nightly_schedule(SCHEDULE_TIMEZONE)
