"""The Dagster instance of a Quotaboard home, and how ``quotaboard dev`` starts Dagster on it.

``<home>/dagster`` is ``DAGSTER_HOME`` for ``quotaboard run`` and ``quotaboard dev``; its
``dagster.yaml`` (written by :func:`ensure_instance_yaml`) sets:

* ``storage``: SQLite files under ``<home>/dagster`` (runs, event logs, schedules and sensor
  state: they survive restarts). For PostgreSQL, see docs/operations.md.
* ``run_coordinator``: a queue (``QueuedRunCoordinator``) that starts at most
  ``max_concurrent_runs`` runs (1) and at most one run tagged ``quotaboard/writer`` at a time
  (the nightly job, landing-sensor runs), so two writing runs never start together; the run
  lock (``run_lock.py``) still guards runs started outside the queue.
* ``run_retries``: enabled, so the daemon honours the nightly job's ``dagster/max_retries``
  tag (``defs/ops.py``); runs without the tag are not retried (``max_retries: 0``).
* ``telemetry``: off.

The file is Quotaboard's while its first line is :data:`MANAGED_MARKER`: it is rewritten when
the settings change. Remove that line to manage the file yourself (e.g. for PostgreSQL); it is
then never touched.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from dagster_project.atomic import write_text_atomic
from dagster_project.keys import WRITER_TAG

MANAGED_MARKER = "# Managed by quotaboard: delete this line to edit this file by hand."
DEFAULT_MAX_CONCURRENT_RUNS = 1
DEFAULT_DEV_LOCK_TIMEOUT_SECONDS = "60"


def instance_yaml(
    dagster_home: Path, max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
) -> str:
    """The text of ``<dagster_home>/dagster.yaml``."""
    base = Path(dagster_home).resolve().as_posix()
    return f"""{MANAGED_MARKER}
# Dagster instance of this Quotaboard home (dagster_project/dev.py, docs/operations.md).
storage:
  sqlite:
    base_dir: "{base}"

run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: {int(max_concurrent_runs)}
    tag_concurrency_limits:
      - key: "{WRITER_TAG}"
        limit: 1

run_retries:
  enabled: true
  max_retries: 0
  retry_on_asset_or_op_failure: false

telemetry:
  enabled: false
"""


def ensure_instance_yaml(
    dagster_home: Path, max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
) -> tuple[Path, bool]:
    """Write ``dagster.yaml`` unless the operator took it over; (its path, whether written)."""
    dagster_home = Path(dagster_home)
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    text = instance_yaml(dagster_home, max_concurrent_runs)
    if path.exists():
        current = path.read_text(encoding="utf-8")
        if not current.startswith(MANAGED_MARKER) or current == text:
            return path, False
    write_text_atomic(path, text)
    return path, True


def dev_environment(
    base: Mapping[str, str], home: Path, landing: Path, config: Path
) -> dict[str, str]:
    """The environment of the Dagster processes: the home's instance and the run folders."""
    env = dict(base)
    env.update(
        DAGSTER_HOME=str(Path(home) / "dagster"),
        QUOTABOARD_HOME=str(home),
        QUOTABOARD_LANDING=str(landing),
        QUOTABOARD_CONFIG=str(config),
    )
    # A run that finds the run lock held waits this long inside its first step, then retries
    # with backoff (definitions.RunLockedPaths).
    env.setdefault("QUOTABOARD_LOCK_TIMEOUT", DEFAULT_DEV_LOCK_TIMEOUT_SECONDS)
    return env


def dagster_dev_command(host: str, port: int) -> list[str]:
    """``dagster dev``: webserver and daemon (and the code server) as one process tree."""
    dagster = Path(sys.executable).parent / "dagster"
    return [
        str(dagster),
        "dev",
        "-m",
        "dagster_project.definitions",
        "--host",
        host,
        "--port",
        str(port),
    ]
