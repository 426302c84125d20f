"""``quotaboard metrics``: MetricFlow (``mf``) queries over the published marts.

MetricFlow needs three things: a dbt project root holding ``target/semantic_manifest.json``, a
dbt profile, and a database it can open. It reads

* the semantic manifest of ``dbt/`` (``dbt parse`` output, kept current by
  :func:`~dagster_project.defs.transform.project.ensure_manifest`): the semantic models and
  metrics of ``dbt/models/semantic/``;
* a **private copy of the published file**, ``<home>/semantic/quotaboard.duckdb``.

Why a copy: dbt-duckdb opens its database read-write, and a read-write DuckDB connection
locks the file for every other process, so ``mf`` on ``published/quotaboard.duckdb`` itself
would lock BI readers out. The working warehouse is no better: it is locked while the nightly
run writes, and after a failed run it holds numbers that were never published. The copy holds
exactly the published numbers; it is refreshed (temp file + rename) whenever the published
file changed (inode, size or modification time), and a lock file keeps two ``quotaboard
metrics`` of one home from opening it at once.

Layout of ``<home>/semantic/`` (MetricFlow's project root there; ``mf`` runs in it)::

    dbt_project.yml                  copy of dbt/dbt_project.yml
    profiles.yml                     profile ``quotaboard``, target ``duckdb`` -> the copy
    target/semantic_manifest.json    copy of the parsed project's semantic manifest
    <database>.duckdb                the copy (named after the manifest's database, so the
                                     relations ``"quotaboard"."marts"."fct_..."`` resolve)
    logs/metricflow.log              MetricFlow's log
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster_project.atomic import copy_file_atomic
from dagster_project.run_lock import RunLockBusy, run_lock

SEMANTIC_DIR = "semantic"
LOCK_WAIT_SECONDS = 120.0


class MetricsQueryError(RuntimeError):
    """The query cannot run (no published file, no MetricFlow, ...): a message for the user."""


@dataclass(frozen=True)
class SemanticWorkspace:
    """``<home>/semantic/``: MetricFlow's project root for one home."""

    home: Path

    @property
    def root(self) -> Path:
        return self.home / SEMANTIC_DIR

    @property
    def published(self) -> Path:
        from dagster_project.resources import QuotaboardPaths

        return QuotaboardPaths(home_dir=str(self.home)).published_path

    @property
    def manifest(self) -> Path:
        return self.root / "target" / "semantic_manifest.json"

    @property
    def lock(self) -> Path:
        return self.root / ".metrics.lock"


def mf_executable() -> Path:
    """``mf`` of this environment (beside the running Python)."""
    mf = Path(sys.executable).parent / "mf"
    if mf.exists():
        return mf
    found = shutil.which("mf")
    if found is None:
        raise MetricsQueryError(
            "MetricFlow's `mf` command is not installed in this environment (dbt-metricflow)"
        )
    return Path(found)


def source_semantic_manifest() -> Path:
    """The semantic manifest of the dbt project, re-parsed first if any project file changed."""
    from dagster_project.defs.transform.project import dbt_project

    project = dbt_project()
    path = Path(project.manifest_path).with_name("semantic_manifest.json")
    if not path.exists():
        raise MetricsQueryError(f"dbt parse wrote no semantic manifest at {path}")
    return path


def manifest_database(semantic_manifest: Path) -> str:
    """The database name the semantic models' relations use (the working file's stem)."""
    data = json.loads(semantic_manifest.read_text(encoding="utf-8"))
    names = {
        (model.get("node_relation") or {}).get("database")
        for model in data.get("semantic_models", [])
    }
    names.discard(None)
    if len(names) != 1:
        raise MetricsQueryError(
            f"{semantic_manifest}: expected the semantic models in one database, found "
            f"{sorted(names) or 'none'}"
        )
    return names.pop()


def _signature(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _profiles_yml(database_path: Path) -> str:
    return (
        "# Written by `quotaboard metrics`: MetricFlow reads the private copy of the "
        "published file.\n"
        "quotaboard:\n"
        "  target: duckdb\n"
        "  outputs:\n"
        "    duckdb:\n"
        "      type: duckdb\n"
        f"      path: {json.dumps(str(database_path))}\n"
        "      threads: 1\n"
    )


def prepare_workspace(home: Path) -> SemanticWorkspace:
    """Bring ``<home>/semantic/`` up to date with the published file and the dbt project.

    The caller holds the workspace lock. Raises :class:`MetricsQueryError` when nothing was
    published yet."""
    ws = SemanticWorkspace(Path(home).resolve())
    if not ws.published.exists():
        raise MetricsQueryError(
            f"no published file at {ws.published}: run `quotaboard run --home {ws.home}` first"
        )
    from dagster_project.defs.transform.project import DBT_PROJECT_DIR

    ws.manifest.parent.mkdir(parents=True, exist_ok=True)
    source_manifest = source_semantic_manifest()
    copy_file_atomic(source_manifest, ws.manifest)
    copy_file_atomic(DBT_PROJECT_DIR / "dbt_project.yml", ws.root / "dbt_project.yml")

    copy = ws.root / f"{manifest_database(ws.manifest)}.duckdb"
    (ws.root / "profiles.yml").write_text(_profiles_yml(copy), encoding="utf-8")
    signature_file = ws.root / ".published-signature.json"
    signature = _signature(ws.published)
    try:
        current = json.loads(signature_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if current != signature or not copy.exists():
        copy_file_atomic(ws.published, copy)
        Path(f"{copy}.wal").unlink(missing_ok=True)
        signature_file.write_text(json.dumps(signature), encoding="utf-8")
    return ws


def mf_environment(ws: SemanticWorkspace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DBT_PROFILES_DIR=str(ws.root), DBT_PROJECT_DIR=str(ws.root))
    for name in ("DBT_TARGET_PATH", "DBT_PROFILE", "DBT_TARGET"):
        env.pop(name, None)
    return env


def run_mf(home: Path, mf_args: list[str], *, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``mf <mf_args>`` on the home's published numbers (see the module docstring).

    With ``capture``, stdout and stderr are returned instead of printed."""
    mf = mf_executable()
    ws = SemanticWorkspace(Path(home).resolve())
    try:
        with run_lock(ws.lock, timeout=LOCK_WAIT_SECONDS, owner="quotaboard metrics"):
            prepare_workspace(ws.home)
            return subprocess.run(
                [str(mf), *mf_args],
                cwd=ws.root,
                env=mf_environment(ws),
                capture_output=capture,
                text=True,
                check=False,
            )
    except RunLockBusy as busy:
        raise MetricsQueryError(
            f"another `quotaboard metrics` of this home is still running ({busy.holder})"
        ) from None


def query_args(
    metrics: list[str],
    group_by: list[str] | None = None,
    where: list[str] | None = None,
    order: list[str] | None = None,
    limit: int | None = None,
    csv: Path | None = None,
    explain: bool = False,
) -> list[str]:
    """The ``mf query`` arguments for a metrics query."""
    args = ["query", "--metrics", ",".join(metrics)]
    if group_by:
        args += ["--group-by", ",".join(group_by)]
    for clause in where or []:
        args += ["--where", clause]
    if order:
        args += ["--order", ",".join(order)]
    if limit is not None:
        args += ["--limit", str(limit)]
    if csv is not None:
        args += ["--csv", str(Path(csv).resolve())]
    if explain:
        args.append("--explain")
    return args
