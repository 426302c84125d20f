"""The Dagster instance of a Quotaboard home, and how ``quotaboard dev`` starts Dagster on it.

``<home>/dagster`` is ``DAGSTER_HOME`` for ``quotaboard run`` and ``quotaboard dev``; its
``dagster.yaml`` (written by :func:`ensure_instance_yaml`) sets:

* ``run_storage``, ``event_log_storage``, ``schedule_storage``: SQLite files under
  ``<home>/dagster`` (runs, event logs, schedules and sensor state: they survive restarts),
  where Dagster's ``storage: sqlite`` block puts them. The event log is Dagster's SQLite
  storage with its connections kept open (``event_log_storage.py``: a run's 1,200 events cost
  seconds less). For PostgreSQL, see docs/operations.md.
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

``quotaboard dev`` runs ``dg dev`` (package dagster-dg-cli; it supersedes ``dagster dev``) as a
child in its own process group (:func:`run_dev`), on the module ``dagster_project.definitions``
(``-m``: the code location keeps that name, so the schedules' and sensors' stored state stays
theirs). SIGINT (Ctrl-C) or SIGTERM (systemd, ``kill``) is forwarded to it once, ``dg dev``
stops the webserver, the daemon and the code servers, and whatever is left of its process group
after :data:`STOP_TIMEOUT_SECONDS` is killed. The signal dispositions are reset to the default
first: a process started in the background from a script inherits SIGINT *ignored*, and
``dg dev`` (like ``dagster dev`` before it) maps SIGTERM onto whatever SIGINT does, so it would
otherwise ignore both.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from dagster_project.atomic import write_text_atomic
from dagster_project.keys import WRITER_TAG

MANAGED_MARKER = "# Managed by quotaboard: delete this line to edit this file by hand."
DEFAULT_MAX_CONCURRENT_RUNS = 1
DEFAULT_DEV_LOCK_TIMEOUT_SECONDS = "60"
# dg dev waits up to 60 s for each of the webserver and the daemon; then a little more.
STOP_TIMEOUT_SECONDS = 150.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def instance_yaml(
    dagster_home: Path, max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS
) -> str:
    """The text of ``<dagster_home>/dagster.yaml``."""
    base = Path(dagster_home).resolve().as_posix()
    return f"""{MANAGED_MARKER}
# Dagster instance of this Quotaboard home (dagster_project/dev.py, docs/operations.md).
run_storage:
  module: dagster._core.storage.runs
  class: SqliteRunStorage
  config:
    base_dir: "{base}/history"
event_log_storage:
  module: dagster_project.event_log_storage
  class: PooledSqliteEventLogStorage
  config:
    base_dir: "{base}/history/runs"
schedule_storage:
  module: dagster._core.storage.schedules
  class: SqliteScheduleStorage
  config:
    base_dir: "{base}/schedules"

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


def _current_max_concurrent_runs(text: str | None) -> int:
    """``max_concurrent_runs`` of a managed ``dagster.yaml`` (the default without the file or
    the setting)."""
    found = re.search(r"^\s*max_concurrent_runs:\s*(\d+)\s*$", text or "", flags=re.MULTILINE)
    return int(found.group(1)) if found else DEFAULT_MAX_CONCURRENT_RUNS


def ensure_instance_yaml(
    dagster_home: Path, max_concurrent_runs: int | None = DEFAULT_MAX_CONCURRENT_RUNS
) -> tuple[Path, bool]:
    """Write ``dagster.yaml`` unless the operator took it over; (its path, whether written).

    ``max_concurrent_runs=None`` keeps the value the managed file has (``quotaboard run``
    brings an older file up to date without undoing ``quotaboard dev --max-concurrent-runs``).
    """
    dagster_home = Path(dagster_home)
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if current is not None and not current.startswith(MANAGED_MARKER):
        return path, False
    if max_concurrent_runs is None:
        max_concurrent_runs = _current_max_concurrent_runs(current)
    text = instance_yaml(dagster_home, max_concurrent_runs)
    if current == text:
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
    """``dg dev``: webserver and daemon (and the code server) as one process tree."""
    return [
        str(Path(sys.executable).parent / "dg"),
        "dev",
        "-m",
        "dagster_project.definitions",
        "--host",
        host,
        "--port",
        str(port),
    ]


def reset_stop_signals() -> None:
    """SIGINT and SIGTERM back to their default dispositions.

    A shell starts a background job of a script with SIGINT ignored, and an ignored signal stays
    ignored across ``exec``: Python then installs no KeyboardInterrupt handler, and ``dg dev``
    (which gives SIGTERM SIGINT's handler) would ignore both signals."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of the group belongs to someone else: still there
        return True
    return True


def _end_group(pgid: int, grace: float) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds, to what is left of a process group;
    whether anything was left."""
    if not _group_alive(pgid):
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while _group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _group_alive(pgid):
            break
    return True


def run_dev(
    cmd: list[str],
    env: Mapping[str, str],
    *,
    stop_timeout: float = STOP_TIMEOUT_SECONDS,
    say: Callable[[str], None] = print,
) -> int:
    """Run ``cmd`` (``dg dev``) until it ends or a stop signal arrives; its exit status.

    The child runs in its own process group, so a terminal's Ctrl-C reaches it once (through
    this process) rather than twice. The first SIGINT or SIGTERM is forwarded as it came; a
    second one, or a child still running ``stop_timeout`` seconds after the first, kills the
    child's process group. When the child has exited, anything left in its group (a code
    server, a run it launched) gets SIGTERM, then SIGKILL."""
    reset_stop_signals()
    received: list[int] = []

    def _on_signal(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, _on_signal) for sig in STOP_SIGNALS}
    try:
        child = subprocess.Popen(cmd, env=dict(env), start_new_session=True)
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    pgid = child.pid
    forwarded = 0
    stop_deadline: float | None = None
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                pass
            if len(received) > forwarded:
                signum = received[forwarded]
                forwarded = len(received)
                if stop_deadline is None:
                    name = signal.Signals(signum).name
                    say(
                        f"quotaboard dev: {name} received, stopping Dagster (up to "
                        f"{stop_timeout:.0f}s; again to force)"
                    )
                    child.send_signal(signum)  # a child already gone: a no-op
                    stop_deadline = time.monotonic() + stop_timeout
                else:
                    say("quotaboard dev: stopping now")
                    stop_deadline = time.monotonic()
            if stop_deadline is not None and time.monotonic() >= stop_deadline:
                _end_group(pgid, grace=5.0)
                code = child.wait()
                break
    finally:
        if child.poll() is None:  # an exception of our own: do not leave Dagster behind
            _end_group(pgid, grace=5.0)
            child.wait()
        if _end_group(pgid, grace=10.0):
            say("quotaboard dev: stopped what Dagster left running")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        # Stopped as asked. (Interrupted while it starts, `dg dev` aborts with status 1,
        # and the rest of its process group was ended above.)
        if code != 0:
            say(f"quotaboard dev: dg dev ended with status {code}")
        return 0
    return code if code >= 0 else 128 - code
