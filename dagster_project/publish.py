"""Write-audit-publish: the marts of the working database become ``published/``.

Readers (BI tools) only ever open ``<home>/published/quotaboard.duckdb`` and
``<home>/published/parquet/<model>.parquet``; each is replaced by an atomic rename of a
complete new file, so a reader never sees a half-written file, never meets a lock held by the
nightly run, and keeps reading the old file until it reconnects.

Algorithm of :func:`publish_warehouse` (one working-database connection, one writer):

1. ``ensure_history_table``: the history master ``history.attainment_history`` lives in the
   working database, outside every schema dbt rebuilds, so a full refresh cannot lose it.
2. ``reconcile_history``: if the currently published file holds runs the master lacks (a
   previous publish crashed between its rename and its master commit, step 6), copy them back.
   So the published history is never lost and never rolls back.
3. ``ATTACH '<published>/.quotaboard-<run_id>.duckdb' AS pub (STORAGE_VERSION 'v1.0.0')`` (DuckDB
   1.1+ can read it); copy every table and view of schema ``marts`` into ``pub.marts`` as
   tables; ``fct_attainment_history`` = master rows of other runs + this run's rows of
   ``marts.fct_quota_attainment`` (run_id, as_of, published_at now UTC).
4. Write each published model to ``parquet/.<model>.parquet.tmp``; ``CHECKPOINT pub``;
   ``DETACH pub``.
5. ``os.replace`` the new file onto ``quotaboard.duckdb``, then each Parquet temp file onto
   ``<model>.parquet`` (Parquet files of models that no longer exist are removed).
6. Commit this run's rows into the master (delete + insert in one transaction: a retried
   publish of the same run does not duplicate them).

A failure before step 5 leaves every published file untouched (temp files are removed); a
crash between 5 and 6 is repaired by step 2 of the next publish.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

HISTORY_SCHEMA = "history"
HISTORY_TABLE = "attainment_history"
HISTORY_MODEL = "fct_attainment_history"
MARTS_SCHEMA = "marts"
PUBLISHED_FILE = "quotaboard.duckdb"
PUBLISHED_STORAGE_VERSION = "v1.0.0"

HISTORY_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "as_of": "DATE",
    "published_at": "TIMESTAMP",
    "assignee_type": "VARCHAR",
    "assignee_id": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "metric": "VARCHAR",
    "target": "DOUBLE",
    "actual": "DOUBLE",
    "attainment": "DOUBLE",
}


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


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_history_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``history.attainment_history`` (the master of published history) if missing."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}")
    body = ", ".join(f"{_q(c)} {t}" for c, t in HISTORY_COLUMNS.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {HISTORY_SCHEMA}.{HISTORY_TABLE} ({body})")


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


def _read_as_of(conn: duckdb.DuckDBPyConnection) -> date | None:
    with contextlib.suppress(duckdb.Error):
        row = conn.execute("select max(as_of) from intermediate.int_run_context").fetchone()
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
) -> PublishResult:
    """Publish schema ``marts`` of the working database (see the module docstring).

    ``as_of`` defaults to ``intermediate.int_run_context.as_of`` (the date dbt used).
    ``before_replace`` is called after every new file is complete and before anything is
    renamed (tests use it to fail a publish at its most delicate point).
    """
    warehouse_path = Path(warehouse_path)
    published_dir = Path(published_dir)
    if not warehouse_path.exists():
        raise PublishError(f"no working database at {warehouse_path}: nothing to publish")
    published_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir = published_dir / "parquet"
    parquet_dir.mkdir(exist_ok=True)
    published_path = published_dir / PUBLISHED_FILE
    tmp_path = published_dir / f".quotaboard-{run_id}.duckdb"
    published_at = datetime.now(UTC).replace(tzinfo=None)
    tmp_parquet: dict[str, Path] = {}
    replaced = False

    conn = duckdb.connect(str(warehouse_path))
    try:
        if memory_limit:
            conn.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        ensure_history_table(conn)
        reconciled = reconcile_history(conn, published_path)

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
        conn.execute(
            f"ATTACH {_sql_str(str(tmp_path))} AS pub "
            f"(STORAGE_VERSION {_sql_str(PUBLISHED_STORAGE_VERSION)})"
        )
        try:
            conn.execute(f"CREATE SCHEMA pub.{MARTS_SCHEMA}")
            tables: dict[str, int] = {}
            for model in models:
                if model == HISTORY_MODEL:
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
            for model in _relations(conn, "pub", MARTS_SCHEMA):
                tables[model] = conn.execute(
                    f"select count(*) from pub.{MARTS_SCHEMA}.{_q(model)}"
                ).fetchone()[0]
                tmp = parquet_dir / f".{model}.parquet.tmp"
                tmp.unlink(missing_ok=True)
                tmp_parquet[model] = tmp
                conn.execute(
                    f"COPY (SELECT * FROM pub.{MARTS_SCHEMA}.{_q(model)}) "
                    f"TO {_sql_str(str(tmp))} (FORMAT parquet)"
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

        # The switch: every new file is complete; rename them into place.
        os.replace(tmp_path, published_path)
        replaced = True
        for model, tmp in tmp_parquet.items():
            os.replace(tmp, parquet_dir / f"{model}.parquet")
        for old in parquet_dir.glob("*.parquet"):
            if old.stem not in tmp_parquet:
                old.unlink(missing_ok=True)

        # Commit this run's rows into the master (repaired by reconcile_history on a crash
        # before this point).
        conn.execute("BEGIN TRANSACTION")
        conn.execute(f"DELETE FROM {HISTORY_SCHEMA}.{HISTORY_TABLE} WHERE run_id = ?", [run_id])
        conn.execute(
            f"INSERT INTO {HISTORY_SCHEMA}.{HISTORY_TABLE} ({cols}) {this_run}",
            [as_of, published_at],
        )
        conn.execute("COMMIT")
        total = conn.execute(f"select count(*) from {HISTORY_SCHEMA}.{HISTORY_TABLE}").fetchone()[0]
    finally:
        conn.close()
        if not replaced:
            for p in (tmp_path, Path(f"{tmp_path}.wal"), *tmp_parquet.values()):
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)

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
    )
