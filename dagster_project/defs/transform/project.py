"""The dbt project (``dbt/`` at the repository root) as Dagster sees it.

The manifest (``dbt/target/dagster/manifest.json``) is what ``@dbt_assets`` reads when the
definitions load. It is never committed: :func:`ensure_manifest` runs ``dbt parse`` when it is
missing or older than any file of the project (models, macros, tests, ``dbt_project.yml``),
so a fresh clone, ``quotaboard run``, ``dagster dev`` and the tests work without a manual
step.
The ``dbt build`` of a run writes its artifacts to ``<home>/dbt/target`` (see ``assets.py``),
never over this manifest.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import time
from collections.abc import Sequence
from functools import cache, cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from dagster_project.run_lock import run_lock

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt"
# Dagster's own manifest, apart from dbt/target/ so a `dbt build` run by hand in dbt/ does not
# overwrite the manifest Dagster loaded.
DAGSTER_TARGET_PATH = Path("target") / "dagster"


# dbt of this environment (the venv's ``bin/``): the dbt Core package installed beside Dagster.
ENVIRONMENT_DBT = Path(sys.executable).parent / "dbt"


def _dbt_executable() -> str:
    """dbt of this environment, even when it is not on PATH; else the one on PATH."""
    if ENVIRONMENT_DBT.exists():
        return str(ENVIRONMENT_DBT)
    return shutil.which("dbt") or "dbt"


DBT_EXECUTABLE = _dbt_executable()
# Folders of the dbt project that hold no project file (dbt's output, packages); files and
# folders whose name starts with "." are not project files either.
NOT_PROJECT_DIRS = {"target", "logs", "dbt_packages"}


def _newest_source_mtime(project_dir: Path) -> float:
    """Newest modification time of any file (or folder) of the project, outside its outputs."""
    newest = 0.0
    for dirpath, dirnames, filenames in os.walk(project_dir):
        dirnames[:] = [d for d in dirnames if d not in NOT_PROJECT_DIRS and not d.startswith(".")]
        newest = max(newest, Path(dirpath).stat().st_mtime)
        for f in filenames:
            if not f.startswith("."):
                newest = max(newest, (Path(dirpath) / f).stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    return manifest.stat().st_mtime < _newest_source_mtime(Path(project.project_dir))


def ensure_manifest(project: DbtProject) -> None:
    """Parse the dbt project (``dbt parse``) when its manifest is missing or stale. (dagster-dbt's
    ``prepare_if_dev`` only does so under ``dagster dev``, and always.)"""
    if not manifest_is_stale(project):
        return
    target = Path(project.project_dir) / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    # Concurrent processes (tests, dagster dev) parse once; the others wait for it.
    with run_lock(target / ".parse.lock", timeout=600, owner="dbt parse"):
        if manifest_is_stale(project):
            started = time.time()
            dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
            # A file edited while dbt parsed must make the manifest stale again.
            os.utime(project.manifest_path, (started, started))
            _share_semantic_manifest(project)


def _share_semantic_manifest(project: DbtProject) -> None:
    """Copy the semantic manifest where MetricFlow looks for it when ``mf`` runs in ``dbt/``
    (``dbt/target/semantic_manifest.json``; docs/bi.md)."""
    parsed = Path(project.project_dir) / project.target_path / "semantic_manifest.json"
    if parsed.exists():
        shared = Path(project.project_dir) / "target" / "semantic_manifest.json"
        shared.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parsed, shared)


class QuotaboardDbtCli(DbtCliResource):
    """dagster-dbt's ``DbtCliResource`` without two start-up costs that a run does not use.

    Before each ``dbt`` command, dagster-dbt 0.29 runs ``dbt --version`` in a new process (to
    tell dbt Core from the Fusion engine) and opens a dbt adapter in the Dagster process (it
    loads the profile and the project), which it only uses for ``fetch_row_counts`` /
    ``fetch_column_metadata``. Quotaboard calls neither, and its dbt is this environment's dbt
    Core: on the sample, the two took 4.5 s before ``dbt build`` started and 1 s before
    ``dbt docs generate``. The version is read from the installed package instead, and no
    adapter is opened (dagster-dbt accepts none: it is what it has when opening one fails).
    Both are private methods of dagster-dbt (pinned in ``uv.lock``);
    ``tests/test_dbt_resource.py`` checks that they are still the ones it calls.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == ENVIRONMENT_DBT:
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return QuotaboardDbtCli(project_dir=project, dbt_executable=DBT_EXECUTABLE)


@cache
def dbt_project() -> DbtProject:
    """The cached DbtProject, its manifest guaranteed present and current."""
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=DAGSTER_TARGET_PATH,
    )
    ensure_manifest(project)
    return project


if __name__ == "__main__":
    # `make install`: dbt's parse of the project, made once at install (about 8 s) instead of
    # by the first run of a fresh clone. Later runs re-parse only when a project file changed.
    print(f"dbt project parsed: {dbt_project().manifest_path}")
