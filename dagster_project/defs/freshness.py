"""Freshness of what readers see: a liveness signal for the nightly schedule.

``published/warehouse`` carries the asset check ``freshness``: it fails (severity ERROR, red in
the UI) when the published marts are older than ``freshness_max_age_hours`` (``settings.yml``,
default 26). A stopped daemon, a paused schedule or a run failing every night all end the same
way: nothing new is published, and within a day this check turns red.

* **Age** = wall clock now - the publish time of ``published/quotaboard.duckdb``: the latest
  ``published_at`` in ``marts.fct_attainment_history`` (written by the publish, inside the file
  readers open), or the file's modification time when the history has no rows. It measures
  when numbers were last published, not the ``as_of`` they describe (a re-run for a past date
  is a fresh publish).
* **Non-blocking**: the check never stops a run. In the nightly job it runs after the publish
  (and passes); the job ``freshness_checks`` runs only this check, every hour at :30
  (``freshness_schedule``, on by default), so staleness shows even when no run happens. It
  reads only the published file and ``settings.yml``, so it never takes the run lock.
"""

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.keys import PUBLISHED_KEY
from dagster_project.resources import QuotaboardPaths, paths_from_env
from dagster_project.settings import company_timezone, freshness_max_age_hours

FRESHNESS_CHECK_NAME = "freshness"
FRESHNESS_JOB_NAME = "freshness_checks"
FRESHNESS_CRON = "30 * * * *"


@dataclass(frozen=True)
class Freshness:
    """How old the published marts are, against a limit."""

    passed: bool
    published_at: datetime | None  # UTC
    age_hours: float | None
    max_age_hours: float
    measured_from: str  # "fct_attainment_history.published_at", "file mtime" or "missing"
    as_of: str = ""

    def describe(self) -> str:
        if self.published_at is None or self.age_hours is None:
            return "nothing has been published yet (no published/quotaboard.duckdb)"
        when = self.published_at.strftime("%Y-%m-%d %H:%M UTC")
        verdict = "within" if self.passed else "older than"
        about = f" (as of {self.as_of})" if self.as_of else ""
        return (
            f"published marts{about} were published {when}, {self.age_hours:.1f} h ago: "
            f"{verdict} the limit of {self.max_age_hours:g} h (freshness_max_age_hours)"
        )


def published_time(published_file: Path) -> tuple[datetime | None, str, str]:
    """(publish time in UTC, what it was measured from, the as_of of that publish)."""
    path = Path(published_file)
    if not path.exists():
        return None, "missing", ""
    with contextlib.suppress(duckdb.Error):
        conn = duckdb.connect(str(path), read_only=True)
        try:
            row = conn.execute(
                """
                select published_at, cast(as_of as varchar)
                from marts.fct_attainment_history
                order by published_at desc
                limit 1
                """
            ).fetchone()
        finally:
            conn.close()
        if row is not None and row[0] is not None:
            # published_at is stored as a naive UTC timestamp (dagster_project.publish).
            return row[0].replace(tzinfo=UTC), "fct_attainment_history.published_at", row[1] or ""
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return mtime, "file mtime", ""


def evaluate_freshness(
    published_file: Path, max_age_hours: float, now: datetime | None = None
) -> Freshness:
    """The freshness of ``published_file`` at ``now`` (default: the wall clock)."""
    now = now or datetime.now(UTC)
    published_at, source, as_of = published_time(published_file)
    if published_at is None:
        return Freshness(False, None, None, max_age_hours, source)
    age = (now - published_at).total_seconds() / 3600.0
    return Freshness(age <= max_age_hours, published_at, age, max_age_hours, source, as_of)


@dg.asset_check(
    asset=PUBLISHED_KEY,
    name=FRESHNESS_CHECK_NAME,
    blocking=False,
    description="The published marts are at most freshness_max_age_hours old (settings.yml, "
    "default 26), measured from their publish time against the wall clock: red when the "
    "nightly schedule has stopped publishing.",
)
def published_freshness(
    context: dg.AssetCheckExecutionContext, paths: QuotaboardPaths
) -> dg.AssetCheckResult:
    limit = freshness_max_age_hours(paths.config)
    result = evaluate_freshness(paths.published_path, limit)
    text = result.describe()
    (context.log.info if result.passed else context.log.error)(text)
    metadata: dict = {
        "max_age_hours": dg.MetadataValue.float(limit),
        "measured_from": result.measured_from,
        "published_file": dg.MetadataValue.path(str(paths.published_path)),
    }
    if result.age_hours is not None:
        metadata["age_hours"] = dg.MetadataValue.float(round(result.age_hours, 2))
    if result.published_at is not None:
        metadata["published_at"] = result.published_at.isoformat()
    if result.as_of:
        metadata["as_of"] = result.as_of
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text,
        metadata=metadata,
    )


freshness_checks = dg.define_asset_job(
    name=FRESHNESS_JOB_NAME,
    selection=dg.AssetSelection.checks(published_freshness),
    description="Only the freshness check of published/warehouse (reads, never writes).",
    executor_def=dg.in_process_executor,
)

freshness_schedule = dg.ScheduleDefinition(
    name="freshness_schedule",
    job=freshness_checks,
    cron_schedule=FRESHNESS_CRON,
    execution_timezone=company_timezone(paths_from_env().config),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every hour at :30: is the published data fresher than freshness_max_age_hours?",
)
