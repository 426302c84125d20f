"""Write-audit-publish: the marts of the working database become ``published/``.

Readers (BI tools) only ever open ``<home>/published/quotaboard.duckdb`` and
``<home>/published/parquet/<model>.parquet``. The DuckDB file is replaced by an atomic rename
of a complete new file; ``parquet`` is a symbolic link to one complete, never-modified set of
Parquet files (``<home>/.published-parquet/<run_id>/``), switched by an atomic rename of a new
link. So a reader never sees a half-written file, never meets a lock held by the nightly run,
keeps reading the old file until it reconnects, and a reader that resolves ``parquet/`` once
(``os.path.realpath``) reads every model from the same run. The previous set is kept until the
next publish.

Algorithm of :func:`publish_warehouse` (one working-database connection, one writer, under the
run lock):

1. ``ensure_history_table`` (``dagster_project.ingest.schema``): the history master
   ``history.attainment_history`` lives in the working database, outside every schema dbt
   rebuilds, so a full refresh cannot lose it.
2. ``recover_interrupted_publish``: finish a publish killed between its two renames (from its
   journal) and remove what a publish killed earlier left behind.
   ``reconcile_history``: if the currently published file holds runs the master lacks (a
   previous publish crashed between its switch and its master commit, step 6), copy them
   back. So the published history is never lost and never rolls back.
3. ``ATTACH '<published>/.quotaboard-<run_id>.duckdb' AS pub (STORAGE_VERSION 'v1.0.0')`` (DuckDB
   1.1+ can read it); copy every table and view of schema ``marts`` into ``pub.marts`` as
   tables; ``fct_attainment_history`` = master rows of other runs + this run's rows of
   ``marts.fct_quota_attainment`` (run_id, as_of, published_at now UTC).
4. Write each published model to ``.published-parquet/<run_id>/<model>.parquet``;
   ``CHECKPOINT pub``; ``DETACH pub``; fsync every new file.
5. The switch: write the journal ``published/.publish-journal.json`` (the commit point), rename
   the new DuckDB file onto ``quotaboard.duckdb`` and a new link onto ``parquet``, drop the
   journal; remove Parquet sets other than this one and the previous one.
6. Commit this run's rows into the master (delete + insert in one transaction: a retried
   publish of the same run does not duplicate them), and in the same transaction the
   snapshots of periods this run closed and its first sightings of post-close changes
   (``period_close.commit_snapshots``; metrics.md §13). Step 2 also reconciles those
   (``period_close.reconcile_snapshots``).
   Who changed what (``dagster_project.run_record``, metrics.md §14) follows the same steps:
   ``reconcile_run_record`` in step 2, ``fct_runs`` and ``fct_config_changes`` = master rows
   + this run's in step 3, ``commit_rows`` into ``history.runs``/``run_config``/
   ``config_changes`` in the transaction of step 6.

A failure or a kill before the journal leaves every published file untouched (the next
publish removes the temp files); a kill between the two renames is completed by the next
publish; a crash between 5 and 6 is repaired by step 2 of the next publish.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from dagster_project import period_close, run_record
from dagster_project.faults import PUBLISH_HALFWAY, fault_point
from dagster_project.ingest.schema import (
    HISTORY_COLUMNS,
    HISTORY_SCHEMA,
    HISTORY_TABLE,
    ensure_history_table,
)

HISTORY_MODEL = "fct_attainment_history"
MARTS_SCHEMA = "marts"
PUBLISHED_FILE = "quotaboard.duckdb"
PUBLISHED_STORAGE_VERSION = "v1.0.0"


class PublishError(RuntimeError):
    """The marts cannot be published (nothing was replaced)."""


@dataclass
class PublishResult:
    published_path: Path
    parquet_dir: Path
    run_id: str
    as_of: date | None
    published_at: datetime
    tables: dict[str, int] = field(default_factory=dict)  # model -> rows
    history_rows_added: int = 0
    history_rows_total: int = 0
    reconciled_rows: int = 0
    reopened_periods: list[str] = field(default_factory=list)  # metrics.md §13 (--reopen)
    snapshot_rows_added: dict[str, int] = field(default_factory=dict)  # closed periods
    snapshot_rows_reconciled: int = 0
    config_changes_added: int = 0  # fct_config_changes rows of this run (metrics.md §14)
    runs_reconciled: int = 0  # fct_runs rows restored from the published file
    recovered_publish: bool = False  # a publish killed mid-switch was completed first


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _relations(conn: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> list[str]:
    rows = conn.execute(
        """
        select table_name from information_schema.tables
        where table_catalog = ? and table_schema = ?
        order by table_name
        """,
        [catalog, schema],
    ).fetchall()
    return [r[0] for r in rows]


def _current_catalog(conn: duckdb.DuckDBPyConnection) -> str:
    return conn.execute("select current_database()").fetchone()[0]


def reconcile_history(conn: duckdb.DuckDBPyConnection, published_path: Path) -> int:
    """Copy runs present in the published file but missing from the master back into it."""
    if not published_path.exists():
        return 0
    cols = ", ".join(_q(c) for c in HISTORY_COLUMNS)
    conn.execute(f"ATTACH {_sql_str(str(published_path))} AS prev_pub (READ_ONLY)")
    try:
        if HISTORY_MODEL not in _relations(conn, "prev_pub", MARTS_SCHEMA):
            return 0
        missing = f"""
            select {cols} from prev_pub.{MARTS_SCHEMA}.{HISTORY_MODEL}
            where run_id not in (select distinct run_id from {HISTORY_SCHEMA}.{HISTORY_TABLE})
        """
        n = conn.execute(f"select count(*) from ({missing})").fetchone()[0]
        if n:
            conn.execute(f"INSERT INTO {HISTORY_SCHEMA}.{HISTORY_TABLE} ({cols}) {missing}")
        return int(n)
    finally:
        conn.execute("DETACH prev_pub")


JOURNAL = ".publish-journal.json"
PARQUET_LINK = "parquet"


def parquet_versions_dir(published_dir: Path) -> Path:
    """Where the Parquet sets live (``<home>/.published-parquet/<run_id>/``), outside
    ``published/`` so readers only ever see ``quotaboard.duckdb`` and the ``parquet`` link."""
    published_dir = Path(published_dir)
    return published_dir.parent / f".{published_dir.name}-parquet"


def _safe_name(run_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in run_id) or "run"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_target(link: Path) -> str | None:
    """Name of the version folder the ``parquet`` link points to (None if not a link)."""
    return Path(os.readlink(link)).name if link.is_symlink() else None


def _retire_plain_parquet_dir(parquet_dir: Path, versions: Path) -> None:
    """A ``parquet/`` folder written by an earlier release (plain files, no link) moves into
    the versions folder, so the link can take its place (a one-time step)."""
    if parquet_dir.is_dir() and not parquet_dir.is_symlink():
        versions.mkdir(parents=True, exist_ok=True)
        os.replace(parquet_dir, versions / f"plain-{os.getpid()}-{id(parquet_dir)}")


def _prune_parquet_versions(versions: Path, keep: set[str | None]) -> None:
    """Remove Parquet sets other than the current and the previous one (a reader that
    resolved ``parquet/`` just before the switch keeps a complete set)."""
    if not versions.is_dir():
        return
    for d in versions.iterdir():
        if d.name not in keep:
            shutil.rmtree(d, ignore_errors=True)


def _write_journal(published_dir: Path, renames: list[tuple[Path, Path]]) -> None:
    """Durably record the renames of this publish (the commit point): written to a temp
    name, fsynced, renamed onto ``.publish-journal.json``."""
    body = json.dumps([[str(a), str(b)] for a, b in renames]).encode()
    tmp = published_dir / f"{JOURNAL}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, published_dir / JOURNAL)
    _fsync(published_dir)


def _complete_renames(published_dir: Path, renames: list[tuple[Path, Path]]) -> None:
    """Rename every new file into place (skipping those already moved), then drop the
    journal."""
    for tmp, dest in renames:
        if os.path.lexists(tmp):
            if dest.name == PARQUET_LINK:
                _retire_plain_parquet_dir(dest, parquet_versions_dir(published_dir))
            os.replace(tmp, dest)
    _fsync(published_dir)
    (published_dir / JOURNAL).unlink(missing_ok=True)


def recover_interrupted_publish(published_dir: Path) -> bool:
    """Finish a publish that was killed during its renames (roll forward from the journal),
    and remove what a publish killed before its switch left behind (temp DuckDB files, temp
    links, Parquet sets no link points to). Call only while holding the run lock. True when
    a journal was completed."""
    published_dir = Path(published_dir)
    journal = published_dir / JOURNAL
    completed = False
    if journal.exists():
        try:
            renames = [(Path(a), Path(b)) for a, b in json.loads(journal.read_text())]
        except (OSError, ValueError):
            renames = None  # unreadable: its publish never reached the commit point
        if renames is not None:
            _complete_renames(published_dir, renames)
            completed = True
        journal.unlink(missing_ok=True)
    (published_dir / f"{JOURNAL}.tmp").unlink(missing_ok=True)
    for stale in [
        *published_dir.glob(".quotaboard-*.duckdb"),
        *published_dir.glob(".quotaboard-*.duckdb.wal"),
        *published_dir.glob(f".{PARQUET_LINK}-*.link"),
    ]:
        stale.unlink(missing_ok=True)
    current = _link_target(published_dir / PARQUET_LINK)
    versions = parquet_versions_dir(published_dir)
    if current is not None and versions.is_dir():
        # Sets younger than the current one were never switched to: a killed publish's.
        cur = versions / current
        cur_mtime = cur.stat().st_mtime if cur.exists() else 0.0
        for d in versions.iterdir():
            if d.name != current and d.stat().st_mtime > cur_mtime:
                shutil.rmtree(d, ignore_errors=True)
    return completed


def _read_as_of(conn: duckdb.DuckDBPyConnection) -> date | None:
    with contextlib.suppress(duckdb.Error):
        row = conn.execute("select max(as_of) from staging.stg_config__run_context").fetchone()
        if row and row[0] is not None:
            return row[0]
    return None


def publish_warehouse(
    warehouse_path: Path,
    published_dir: Path,
    run_id: str,
    as_of: date | str | None = None,
    *,
    memory_limit: str | None = None,
    before_replace: Callable[[], None] | None = None,
    reopened_periods: list[str] | None = None,
    config_dir: Path | None = None,
) -> PublishResult:
    """Publish schema ``marts`` of the working database (see the module docstring).

    ``as_of`` defaults to ``staging.stg_config__run_context.as_of`` (the date dbt used).
    ``before_replace`` is called after every new file is complete and before anything is
    renamed (tests use it to fail a publish at its most delicate point).
    ``reopened_periods``: the periods this run reopened (``--reopen``, metrics.md §13), whose
    snapshots the config step dropped: not restored from the published file.
    ``config_dir``: the run's configuration folder (``fct_runs.config_commit``/``_author``
    when it is inside a git work tree).
    """
    warehouse_path = Path(warehouse_path)
    published_dir = Path(published_dir)
    if not warehouse_path.exists():
        raise PublishError(f"no working database at {warehouse_path}: nothing to publish")
    published_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = published_dir / PARQUET_LINK
    published_path = published_dir / PUBLISHED_FILE
    tmp_path = published_dir / f".quotaboard-{run_id}.duckdb"
    versions = parquet_versions_dir(published_dir)
    new_parquet = versions / _safe_name(run_id)
    link_tmp = published_dir / f".{PARQUET_LINK}-{_safe_name(run_id)}.link"
    published_at = datetime.now(UTC).replace(tzinfo=None)
    replaced = False

    conn = duckdb.connect(str(warehouse_path))
    try:
        if memory_limit:
            conn.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        ensure_history_table(conn)
        recovered = recover_interrupted_publish(published_dir)
        reconciled = reconcile_history(conn, published_path)
        snapshots_reconciled = period_close.reconcile_snapshots(
            conn, published_path, skip=reopened_periods or ()
        )
        runs_reconciled = run_record.reconcile_run_record(conn, published_path)

        catalog = _current_catalog(conn)
        models = _relations(conn, catalog, MARTS_SCHEMA)
        if "fct_quota_attainment" not in models:
            raise PublishError(
                f"the working database has no {MARTS_SCHEMA}.fct_quota_attainment: "
                "the marts were not built, nothing to publish"
            )
        if as_of is None:
            as_of = _read_as_of(conn)
        if isinstance(as_of, str):
            as_of = date.fromisoformat(as_of) if as_of else None

        for p in (tmp_path, Path(f"{tmp_path}.wal")):
            p.unlink(missing_ok=True)
        shutil.rmtree(new_parquet, ignore_errors=True)
        new_parquet.mkdir(parents=True)
        conn.execute(
            f"ATTACH {_sql_str(str(tmp_path))} AS pub "
            f"(STORAGE_VERSION {_sql_str(PUBLISHED_STORAGE_VERSION)})"
        )
        try:
            conn.execute(f"CREATE SCHEMA pub.{MARTS_SCHEMA}")
            tables: dict[str, int] = {}
            for model in models:
                if model == HISTORY_MODEL or model in run_record.MODELS:
                    continue
                conn.execute(
                    f"CREATE TABLE pub.{MARTS_SCHEMA}.{_q(model)} AS "
                    f"SELECT * FROM {_q(catalog)}.{MARTS_SCHEMA}.{_q(model)}"
                )
            # History: the master's other runs + this run's rows.
            cols = ", ".join(_q(c) for c in HISTORY_COLUMNS)
            this_run = f"""
                select
                    cast({_sql_str(run_id)} as varchar) as run_id,
                    cast(? as date) as as_of,
                    cast(? as timestamp) as published_at,
                    cast(assignee_type as varchar), cast(assignee_id as varchar),
                    cast(fiscal_period as varchar), cast(metric as varchar),
                    cast(target as double), cast(actual as double),
                    cast(attainment as double)
                from {_q(catalog)}.{MARTS_SCHEMA}.fct_quota_attainment
            """
            conn.execute(
                f"""
                CREATE TABLE pub.{MARTS_SCHEMA}.{HISTORY_MODEL} AS
                select {cols} from {_q(catalog)}.{HISTORY_SCHEMA}.{HISTORY_TABLE}
                where run_id <> {_sql_str(run_id)}
                union all
                select * from ({this_run})
                order by published_at, run_id, assignee_type, assignee_id, fiscal_period, metric
                """,
                [as_of, published_at],
            )
            # fct_runs, fct_config_changes: the masters' other runs + this run's rows.
            record = run_record.prepare_run_record(
                conn, run_id, as_of, published_at, config_dir, reopened_periods
            )
            run_record.write_published(conn, record, f"pub.{MARTS_SCHEMA}")
            published_models = _relations(conn, "pub", MARTS_SCHEMA)
            for i, model in enumerate(published_models):
                if i == len(published_models) // 2:
                    fault_point(PUBLISH_HALFWAY)  # new files half written, nothing renamed
                tables[model] = conn.execute(
                    f"select count(*) from pub.{MARTS_SCHEMA}.{_q(model)}"
                ).fetchone()[0]
                conn.execute(
                    f"COPY (SELECT * FROM pub.{MARTS_SCHEMA}.{_q(model)}) "
                    f"TO {_sql_str(str(new_parquet / f'{model}.parquet'))} (FORMAT parquet)"
                )
            added = conn.execute(
                f"select count(*) from pub.{MARTS_SCHEMA}.{HISTORY_MODEL} where run_id = ?",
                [run_id],
            ).fetchone()[0]
            conn.execute("CHECKPOINT pub")
        finally:
            conn.execute("DETACH pub")

        if before_replace is not None:
            before_replace()

        # The switch. Every new file is complete and on disk; the journal (the commit point)
        # makes the two renames one step: a crash between them is completed by the next
        # publish. Then the DuckDB file and the Parquet link are renamed into place.
        for f in [tmp_path, *new_parquet.iterdir()]:
            _fsync(f)
        _fsync(new_parquet)
        link_tmp.unlink(missing_ok=True)
        os.symlink(os.path.relpath(new_parquet, published_dir), link_tmp)
        previous = _link_target(parquet_dir)
        renames = [(tmp_path, published_path), (link_tmp, parquet_dir)]
        _write_journal(published_dir, renames)
        replaced = True
        _complete_renames(published_dir, renames)
        _prune_parquet_versions(versions, keep={new_parquet.name, previous})

        # Commit this run's rows into the master (repaired by reconcile_history on a crash
        # before this point).
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {HISTORY_SCHEMA}.{HISTORY_TABLE} WHERE run_id = ?", [run_id])
        conn.execute(
            f"INSERT INTO {HISTORY_SCHEMA}.{HISTORY_TABLE} ({cols}) {this_run}",
            [as_of, published_at],
        )
        # Closed periods first published by this run become snapshots (metrics.md §13).
        snapshot_added = period_close.commit_snapshots(conn, catalog, run_id, published_at)
        run_record.commit_rows(conn, record)
        conn.execute("COMMIT")
        total = conn.execute(f"select count(*) from {HISTORY_SCHEMA}.{HISTORY_TABLE}").fetchone()[0]
    finally:
        conn.close()
        if not replaced:
            for p in (tmp_path, Path(f"{tmp_path}.wal"), link_tmp):
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)
            shutil.rmtree(new_parquet, ignore_errors=True)

    return PublishResult(
        published_path=published_path,
        parquet_dir=parquet_dir,
        run_id=run_id,
        as_of=as_of,
        published_at=published_at,
        tables=tables,
        history_rows_added=int(added),
        history_rows_total=int(total),
        reconciled_rows=reconciled,
        recovered_publish=recovered,
        reopened_periods=list(reopened_periods or []),
        snapshot_rows_added=snapshot_added,
        snapshot_rows_reconciled=snapshots_reconciled,
        config_changes_added=len(record.changes),
        runs_reconciled=runs_reconciled,
    )
