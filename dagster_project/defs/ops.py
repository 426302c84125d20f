"""The nightly job and its 02:00 schedule.

* ``nightly``: every asset (and its checks), in process: one writer on the working database.
  Its runs carry :data:`NIGHTLY_RUN_TAGS`: the writer tag the run queue limits to one run at a
  time (``dagster_project.dev``), and a run-level retry policy: a run whose process died
  (killed, out of memory, machine restarted) is re-executed from the failure once, by the
  daemon. A failed step is *not* re-run at that level (``retry_on_asset_or_op_failure``
  false): transient step failures are already retried with backoff by the assets themselves
  (``dagster_project.retries``), and the others (bad configuration, a blocking guard) would
  fail again. Run retries need the daemon and ``run_retries.enabled`` in the instance's
  ``dagster.yaml`` (``quotaboard dev`` writes it); ``quotaboard run`` does not retry runs.
* ``nightly_schedule``: 02:00 every day in the company time zone (``timezone`` of the config
  folder's ``settings.yml``, read when the definitions load: ``QUOTABOARD_CONFIG`` or the
  sample), on by default. Each run reports on the previous day in that zone: the run is tagged
  ``quotaboard/as_of=<that date>``, which the dbt asset passes to dbt as ``as_of``.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.keys import (
    AS_OF_TAG,
    MAX_RETRIES_TAG,
    RETRY_ON_FAILURE_TAG,
    WRITER_TAG,
    WRITER_TAG_VALUE,
)
from dagster_project.resources import paths_from_env
from dagster_project.settings import company_timezone, previous_day_in

NIGHTLY_CRON = "0 2 * * *"
SCHEDULE_TIMEZONE = company_timezone(paths_from_env().config)
NIGHTLY_RUN_TAGS: dict[str, str] = {
    WRITER_TAG: WRITER_TAG_VALUE,
    MAX_RETRIES_TAG: "1",
    RETRY_ON_FAILURE_TAG: "false",
}

nightly = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    description="Extract, audit, transform, test, publish: everything, in one process.",
    executor_def=dg.in_process_executor,
    tags=NIGHTLY_RUN_TAGS,
)


def build_nightly_schedule(timezone: str) -> dg.ScheduleDefinition:
    """The 02:00 schedule in ``timezone``; each run's as_of is the previous day there."""

    @dg.schedule(
        name="nightly_schedule",
        job=nightly,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"02:00 {timezone}; as_of = the previous day there.",
    )
    def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        as_of = previous_day_in(timezone, context.scheduled_execution_time).isoformat()
        return dg.RunRequest(run_key=f"nightly-{as_of}", tags={AS_OF_TAG: as_of})

    return nightly_schedule


nightly_schedule = build_nightly_schedule(SCHEDULE_TIMEZONE)
