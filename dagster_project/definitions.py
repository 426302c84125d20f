"""The Quotaboard code location: every definition under ``defs/`` plus the resources.

``dagster definitions validate``, ``dagster dev`` and the schedule load ``defs`` (resources
from the environment: QUOTABOARD_LANDING, _CONFIG, _HOME, _AS_OF; built on first access);
``quotaboard run`` calls :func:`build_defs` with the folders of its command line.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from dagster_project import defs as defs_package
from dagster_project.defs.freshness import FRESHNESS_JOB_NAME
from dagster_project.defs.transform.project import dbt_cli, dbt_project
from dagster_project.resources import QuotaboardPaths, paths_from_env
from dagster_project.run_lock import RunLockBusy, run_lock

READ_ONLY_JOBS = frozenset({FRESHNESS_JOB_NAME})
"""Jobs that only read published files: their runs never take the run lock."""
MAX_LOCK_RETRY_WAIT_SECONDS = 600.0


class RunLockedPaths(QuotaboardPaths):
    """``QuotaboardPaths`` that holds the home's run lock while a run's steps execute, so a
    scheduled run and ``quotaboard run`` never write the working database at the same time
    (re-entrant: ``quotaboard run`` already holds it).

    When a run starts, the lock is taken if it is free and held until the run ends. When
    another run holds it, the run starts anyway and its first step that reaches for the home
    (``paths.home`` and everything under it: the working database, ``published/``) waits up
    to ``lock_timeout_seconds`` for it, then raises ``dg.RetryRequested``: the step is retried
    up to ``lock_retries`` times, ``lock_retry_seconds`` later, doubling each time (at most
    10 minutes), and fails with "another Quotaboard run holds ..." only after that. Runs of
    :data:`READ_ONLY_JOBS` never take the lock. Outside a run (no ``yield_for_execution``) the
    resource is a plain ``QuotaboardPaths``."""

    lock_timeout_seconds: float = 0.0
    lock_retries: int = 8
    lock_retry_seconds: float = 30.0

    _run_locks: contextlib.ExitStack | None = PrivateAttr(default=None)
    _lock_held: bool = PrivateAttr(default=False)
    _lock_misses: int = PrivateAttr(default=0)
    _log: Any = PrivateAttr(default=None)

    @property
    def lock_path(self) -> Path:
        return Path(self.home_dir).resolve() / "run.lock"

    @property
    def home(self) -> Path:
        self._require_lock()
        return Path(self.home_dir).resolve()

    def _require_lock(self) -> None:
        if self._run_locks is None or self._lock_held:
            return
        try:
            self._run_locks.enter_context(
                run_lock(self.lock_path, timeout=self.lock_timeout_seconds, owner="dagster run")
            )
        except RunLockBusy as busy:
            self._lock_misses += 1
            wait = min(
                MAX_LOCK_RETRY_WAIT_SECONDS,
                self.lock_retry_seconds * 2 ** (self._lock_misses - 1),
            )
            if self._log is not None:
                self._log.warning(f"{busy}: waiting for it, next attempt in {wait:.0f}s")
            raise dg.RetryRequested(max_retries=self.lock_retries, seconds_to_wait=wait) from (
                dg.Failure(
                    description=f"{busy}; gave up waiting for it "
                    f"({self.lock_retries} retries). Try again when it has finished."
                )
            )
        self._lock_held = True

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator:
        run = getattr(context, "run", None)
        read_only = run is not None and run.job_name in READ_ONLY_JOBS
        with contextlib.ExitStack() as locks:
            self._log = context.log
            if not read_only:
                self._run_locks = locks
                with contextlib.suppress(RunLockBusy):
                    locks.enter_context(run_lock(self.lock_path, timeout=0, owner="dagster run"))
                    self._lock_held = True
            try:
                yield self
            finally:
                self._run_locks = None
                self._lock_held = False
                self._lock_misses = 0


def locked(paths: QuotaboardPaths, lock_timeout_seconds: float = 0.0) -> RunLockedPaths:
    return RunLockedPaths(
        landing_dir=paths.landing_dir,
        config_dir=paths.config_dir,
        home_dir=paths.home_dir,
        as_of=paths.as_of,
        lock_timeout_seconds=lock_timeout_seconds,
    )


def build_defs(paths: QuotaboardPaths | None = None) -> dg.Definitions:
    """All definitions, with ``paths`` (default: from the environment) and ``dbt`` bound."""
    from dagster_project.run_lock import default_timeout

    paths = paths or paths_from_env()
    if not isinstance(paths, RunLockedPaths):
        paths = locked(paths, default_timeout())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.load_definitions_from_package_module(
            defs_package,
            resources={
                "paths": paths,
                "dbt": dbt_cli(dbt_project()),
            },
            executor=dg.in_process_executor,
        )


@functools.cache
def _code_location() -> dg.Definitions:
    return build_defs()


def __getattr__(name: str) -> Any:
    """``defs``, the code location (resources from the environment), built on first use.

    ``dagster dev``, the daemon and ``dagster definitions validate`` read ``defs``;
    ``quotaboard run`` imports this module for :func:`build_defs` and binds its own paths, so
    it does not pay for building the definitions twice (seconds per run)."""
    if name == "defs":
        return _code_location()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
