"""The Quotaboard code location: every definition under ``defs/`` plus the resources.

``dagster definitions validate``, ``dagster dev`` and the schedule load ``defs`` (resources
from the environment: QUOTABOARD_LANDING, _CONFIG, _HOME, _AS_OF); ``quotaboard run`` calls
:func:`build_defs` with the folders of its command line.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import dagster as dg

from dagster_project import defs as defs_package
from dagster_project.defs.transform.project import dbt_cli, dbt_project
from dagster_project.resources import QuotaboardPaths, paths_from_env
from dagster_project.run_lock import run_lock


class RunLockedPaths(QuotaboardPaths):
    """``QuotaboardPaths`` that holds the home's run lock while a run's steps execute, so a
    scheduled run and ``quotaboard run`` never write the working database at the same time
    (re-entrant: ``quotaboard run`` already holds it). Waits ``lock_timeout_seconds``."""

    lock_timeout_seconds: float = 0.0

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator:
        with run_lock(self.lock_path, timeout=self.lock_timeout_seconds, owner="dagster run"):
            yield self


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


defs = build_defs()
