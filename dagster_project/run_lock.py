"""One Quotaboard run at a time per home: a cross-process lock file.

``quotaboard run`` holds the lock for the whole run; every Dagster run (schedule, UI) holds it
while its steps execute (through the ``paths`` resource, see ``definitions.py``). So two runs
never write the same working DuckDB file at once and never meet DuckDB's own file lock.

Semantics:

* The lock is ``fcntl.flock`` on ``<home>/run.lock``. The kernel releases it when the holder's
  process dies (killed runs leave no stale lock behind); the file itself stays and is reused.
* The holder writes ``pid=<pid> since=<UTC time> by=<what>`` into the file, so a second run can
  say who holds it: ``another Quotaboard run holds <path> (pid N since T)``.
* Re-entrant within one process: ``quotaboard run`` takes it, then the in-process Dagster run
  takes it again through the resource; the inner acquisition is a counted no-op.
* A second process waits up to ``timeout`` seconds (0 = fail at once), polling, then raises
  :class:`RunLockBusy`. The default timeout comes from ``QUOTABOARD_LOCK_TIMEOUT`` (seconds,
  default 0).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

LOCK_TIMEOUT_ENV = "QUOTABOARD_LOCK_TIMEOUT"
_POLL_SECONDS = 0.2

_registry_guard = threading.Lock()
# resolved lock path -> [fd, hold count]
_held: dict[str, list[int]] = {}


class RunLockBusy(RuntimeError):
    """Another process holds the run lock."""

    def __init__(self, path: Path, holder: str):
        self.path = path
        self.holder = holder
        super().__init__(f"another Quotaboard run holds {path} ({holder})")


def default_timeout() -> float:
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        return 0.0


def describe_holder(path: Path) -> str:
    """What the lock file says about its holder, as ``pid N since T``."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return "holder unknown"
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    if "pid" in fields:
        since = fields.get("since", "?")
        return f"pid {fields['pid']} since {since}"
    return "holder unknown"


def is_held_here(path: Path | str) -> bool:
    """True when this process already holds the lock at ``path``."""
    with _registry_guard:
        return str(Path(path).resolve()) in _held


@contextlib.contextmanager
def run_lock(path: Path | str, timeout: float | None = None, owner: str = "") -> Iterator[Path]:
    """Hold the run lock at ``path`` for the ``with`` block (see the module docstring)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = str(path.resolve())
    timeout = default_timeout() if timeout is None else max(0.0, timeout)

    with _registry_guard:
        if key in _held:
            _held[key][1] += 1
            reentrant = True
        else:
            reentrant = False
    if reentrant:
        try:
            yield path
        finally:
            with _registry_guard:
                _held[key][1] -= 1
        return

    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLockBusy(path, describe_holder(path)) from None
                time.sleep(_POLL_SECONDS)
    except BaseException:
        os.close(fd)
        raise

    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = f"pid={os.getpid()} since={since} by={owner or 'quotaboard'}\n"
    os.ftruncate(fd, 0)
    os.pwrite(fd, info.encode(), 0)
    with _registry_guard:
        _held[key] = [fd, 1]
    try:
        yield path
    finally:
        with _registry_guard:
            del _held[key]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
