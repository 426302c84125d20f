"""``landing_sensor``: a new or changed landing file starts a run of the nightly job.

What it watches is what the loaders load (``discover_crm_files``, ``discover_message_files``)
under the landing folder of the code location (``QUOTABOARD_LANDING``), except what the
pipeline's own extractors write there (``crm/<Object>/sf-*.csv``, ``product_usage/s3/``): a
run that extracts must not trigger the next one.

* **Once per file version.** The cursor is JSON ``{path: [size, mtime_ns]}`` of every landing
  file already handed to a run; a file triggers when it is not in the cursor or its size or
  modification time differ. One run covers all files found new in one evaluation (the loaders
  are incremental, so the run reads just those). The run key is a digest of those file
  versions, so the same change never launches two runs.
* **Settled files only.** A file modified less than ``settle_seconds`` (30) ago may still be
  being written: it is left for a later evaluation.
* **Run date.** Like the schedule, as of the previous day in the company time zone
  (``quotaboard/as_of``), so a correction that lands during the day republishes the same
  date's numbers instead of a partial day.
* **Off by default**: turn it on in the UI (Automation -> landing_sensor), or start the
  daemon with ``QUOTABOARD_LANDING_SENSOR=on``. The switch in the UI wins once it was used.
  The first evaluation after it is switched on sees every file as new: one run (which loads
  nothing the working database already has).
"""

import hashlib
import json
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from dagster_project.ingest.crm import discover_crm_files
from dagster_project.ingest.messages import discover_message_files
from dagster_project.keys import AS_OF_TAG, TRIGGER_TAG
from dagster_project.resources import paths_from_env
from dagster_project.settings import company_timezone, previous_day_in
from dagster_project.sources.object_store import MIRROR_DIR

from .ops import nightly

SENSOR_ENV = "QUOTABOARD_LANDING_SENSOR"
SETTLE_SECONDS = 30.0
MIN_INTERVAL_SECONDS = 60
MAX_LISTED_FILES = 20

FileVersions = dict[str, list[int]]  # relative path -> [size, mtime_ns]


def sensor_switched_on(environ: dict[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(SENSOR_ENV, "")
    return value.strip().lower() in ("on", "1", "true", "yes")


def _is_extractor_output(rel: str) -> bool:
    parts = rel.split("/")
    if parts[0] == "crm" and len(parts) >= 3 and parts[-1].lower().startswith("sf-"):
        return True
    return parts[0] == "product_usage" and len(parts) >= 2 and parts[1] == MIRROR_DIR


def landing_files(landing: Path) -> Iterable[Path]:
    """The landing files the loaders would read (CRM CSVs, product-usage JSONL/Parquet)."""
    found, _notes = discover_crm_files(landing)
    for files in found.values():
        yield from files
    jsonl, parquet = discover_message_files(landing)
    yield from jsonl
    yield from parquet


def scan_landing(landing: Path, settle_seconds: float, now: float | None = None) -> FileVersions:
    """``{path: [size, mtime_ns]}`` of the settled landing files (not extractor output)."""
    now = time.time() if now is None else now
    landing = Path(landing)
    versions: FileVersions = {}
    for path in landing_files(landing):
        try:
            st = path.stat()
        except OSError:
            continue  # vanished between listing and stat: seen on a later evaluation
        rel = path.relative_to(landing).as_posix()
        if _is_extractor_output(rel) or now - st.st_mtime < settle_seconds:
            continue
        versions[rel] = [st.st_size, st.st_mtime_ns]
    return versions


def read_cursor(cursor: str | None) -> FileVersions:
    if not cursor:
        return {}
    try:
        data = json.loads(cursor)
    except ValueError:
        return {}
    return {str(k): list(v) for k, v in data.items()} if isinstance(data, dict) else {}


def changed_files(seen: FileVersions, current: FileVersions) -> list[str]:
    """Paths that are new, or whose size or modification time changed, sorted."""
    return sorted(rel for rel, version in current.items() if seen.get(rel) != version)


def build_landing_sensor(
    landing_dir: Path,
    timezone: str,
    settle_seconds: float = SETTLE_SECONDS,
    default_status: dg.DefaultSensorStatus | None = None,
) -> dg.SensorDefinition:
    """The landing sensor for ``landing_dir``; run dates in ``timezone``."""
    if default_status is None:
        default_status = (
            dg.DefaultSensorStatus.RUNNING
            if sensor_switched_on()
            else dg.DefaultSensorStatus.STOPPED
        )

    @dg.sensor(
        name="landing_sensor",
        job=nightly,
        minimum_interval_seconds=MIN_INTERVAL_SECONDS,
        default_status=default_status,
        description=f"New or changed files in {landing_dir} start a nightly run (once per "
        f"file version; files settle {settle_seconds:g}s first). Off by default: switch on "
        f"here or with {SENSOR_ENV}=on.",
    )
    def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        seen = read_cursor(context.cursor)
        current = scan_landing(Path(landing_dir), settle_seconds)
        changed = changed_files(seen, current)
        if not changed:
            return dg.SensorResult(
                skip_reason=f"no new or changed landing files ({len(current)} known)"
            )
        digest = hashlib.sha256(
            json.dumps({rel: current[rel] for rel in changed}, sort_keys=True).encode()
        ).hexdigest()[:16]
        as_of = previous_day_in(timezone, datetime.now(UTC)).isoformat()
        listed = ", ".join(changed[:MAX_LISTED_FILES])
        more = len(changed) - MAX_LISTED_FILES
        context.log.info(
            f"{len(changed)} new or changed landing files: {listed}"
            + (f" (and {more} more)" if more > 0 else "")
        )
        # Files that disappeared stay in the cursor: if one comes back unchanged it is
        # already loaded (the manifest keeps it) and needs no run.
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"landing-{digest}",
                    tags={AS_OF_TAG: as_of, TRIGGER_TAG: "landing_sensor"},
                )
            ],
            cursor=json.dumps({**seen, **current}, sort_keys=True, separators=(",", ":")),
        )

    return landing_sensor


_env = paths_from_env()
landing_sensor = build_landing_sensor(_env.landing, company_timezone(_env.config))
