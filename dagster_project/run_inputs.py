"""What a run is built from, so a run whose inputs did not change can reuse the last build.

A nightly job run again with no new landing file, the same configuration, the same as_of and
the same code builds exactly what the last run built: the loaders find nothing new, dbt
rebuilds the same tables, the guards judge the same rows and the docs describe the same
project. ``quotaboard run`` therefore fingerprints its inputs and, when the fingerprint equals
the one recorded by the last run that completed every step, publishes that run's verified
build again (the ``published/warehouse`` and ``published/board`` assets only: a new run id in
``fct_attainment_history``, a new point on the board's trend) instead of running the whole job.

The fingerprint covers

* every landing file: relative path, size and modification time (a file rewritten in place
  changes its mtime; the loaders' own manifest uses content hashes, which are too slow to take
  on 20 million messages just to decide that nothing changed);
* every config file: relative path and content hash;
* the effective as_of (``--as-of``, else today in the company time zone);
* the code: the content of every file of the Python package, the dbt project (models,
  macros, tests, YAML, profiles) and the versioned GX suites.

The last build is reused only when, in addition, the published DuckDB file and the working
database are the ones that run left (same size and modification time, no publish journal or
write-ahead log left over: another run, the daemon's say, that wrote either one, even a run
whose guards blocked, rules the reuse out) and the run's sources are local files.

A build made before a period was closed is never republished after: ``closed_through`` is
in ``settings.yml``, whose content is fingerprinted.

Never reused: ``--full-refresh``, ``--rebuild`` or ``--reopen``; a Salesforce extract or an
object-store landing (their content is not visible before extracting); a fault injected by the tests
(``QUOTABOARD_FAULT``). Every run that does not reuse the build forgets the record before it
starts, so a run that fails or is killed is never taken for a complete one. The record is
written atomically (``dagster_project.atomic``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from dagster_project.atomic import write_text_atomic
from dagster_project.resources import REPO_ROOT

RECORD = "last-complete-run.json"
CODE_DIRS = ("dagster_project", "dbt", "expectations")
# Generated or run-time folders inside the code dirs (never inputs).
_SKIP_DIRS = {"target", "logs", "dbt_packages", "__pycache__", ".pytest_cache", "uncommitted"}
_INJECTED = ("QUOTABOARD_FAULT",)


def record_path(home: Path) -> Path:
    return Path(home) / "state" / RECORD


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        found += [Path(folder) / n for n in sorted(names)]
    return found


def _digest_stats(root: Path, h: hashlib._Hash) -> None:
    for path in _files(root):
        st = path.stat()
        h.update(f"{path.relative_to(root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def _digest_contents(root: Path, h: hashlib._Hash) -> None:
    for path in _files(root):
        if path.suffix in (".pyc", ".duckdb", ".wal"):
            continue
        h.update(f"{path.relative_to(root)}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())


def fingerprint(landing: Path, config: Path, as_of: str, code_root: Path = REPO_ROOT) -> str:
    """The inputs' fingerprint (hex). ``as_of`` is the effective date (never empty)."""
    h = hashlib.sha256()
    h.update(f"as_of\0{as_of}\n".encode())
    h.update(b"landing\n")
    _digest_stats(Path(landing), h)
    h.update(b"config\n")
    _digest_contents(Path(config), h)
    for name in CODE_DIRS:
        h.update(f"code/{name}\n".encode())
        if (Path(code_root) / name).is_dir():
            _digest_contents(Path(code_root) / name, h)
    return h.hexdigest()


def code_fingerprint(code_root: Path = REPO_ROOT) -> str:
    """The code part of :func:`fingerprint` alone (hex): every file of the Python package,
    the dbt project and the GX suites (``run_record`` puts it in ``fct_runs.code_version``)."""
    h = hashlib.sha256()
    for name in CODE_DIRS:
        h.update(f"code/{name}\n".encode())
        if (Path(code_root) / name).is_dir():
            _digest_contents(Path(code_root) / name, h)
    return h.hexdigest()


def _stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _stamps(published: Path, warehouse: Path) -> list | None:
    """Both files' stamps; None when either is missing or the working database has a WAL
    (it was not closed cleanly)."""
    if Path(f"{warehouse}.wal").exists():
        return None
    pub, wh = _stamp(published), _stamp(warehouse)
    return None if pub is None or wh is None else [pub, wh]


@dataclass(frozen=True)
class CompleteRun:
    """The last run that completed every step, as recorded in ``<home>/state``."""

    run_id: str
    fingerprint: str
    stamps: list  # [published, working] as [size, mtime_ns] each


def reuse_blocked_by(
    config: Path, full_refresh: bool, rebuild: bool, reopen: bool = False
) -> str | None:
    """Why this run must run every step whatever its fingerprint (None: it may reuse)."""
    if reopen:
        return "--reopen"  # the snapshots change before dbt builds (metrics.md §13)
    if full_refresh:
        return "--full-refresh"
    if rebuild:
        return "--rebuild"
    for name in _INJECTED:
        if os.environ.get(name, "").strip():
            return name
    from dagster_project.sources.source_config import SourceConfigError, load_sources_config

    try:
        sources = load_sources_config(config)
    except SourceConfigError:
        return "the sources configuration is invalid"
    if sources.salesforce is not None:
        return "Salesforce is extracted"
    if sources.product_usage.url:
        return "product usage is read from object storage"
    return None


def reusable_run(home: Path, published: Path, warehouse: Path, fp: str) -> CompleteRun | None:
    """The recorded complete run when its fingerprint is ``fp`` and the published file and
    the working database are still the ones it left; else None."""
    try:
        data = json.loads(record_path(home).read_text(encoding="utf-8"))
        run = CompleteRun(data["run_id"], data["fingerprint"], list(data["stamps"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if run.fingerprint != fp:
        return None
    if (published.parent / ".publish-journal.json").exists():
        return None
    if _stamps(published, warehouse) != run.stamps:
        return None
    return run


def forget(home: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        record_path(home).unlink()


def remember(home: Path, published: Path, warehouse: Path, run_id: str, fp: str) -> None:
    """Record a run that completed every step (written atomically)."""
    stamps = _stamps(published, warehouse)
    if stamps is None:
        return
    write_text_atomic(
        record_path(home), json.dumps({"run_id": run_id, "fingerprint": fp, "stamps": stamps})
    )
