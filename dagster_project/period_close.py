"""Closing a fiscal period (metrics.md §13): snapshots that never move.

Once a period is closed (``settings.closed_through``: every fiscal period whose ``period_end``
is on or before it), the first published run that sees it closed snapshots that period's rows
of ``fct_quota_attainment``, ``fct_scorecards`` and ``mart_team_board``; every later run serves
them exactly as snapshotted (``period_closed = true``) and lists live actuals that moved in
``fct_post_close_changes``.

The snapshot masters (``history.closed_attainment``, ``history.closed_scorecards``,
``history.closed_board``) and ``history.post_close_changes`` (which difference was first seen
by which run) live in the working database outside what dbt rebuilds, created by
``ingest.schema.ensure_snapshot_tables``. dbt reads them as sources. This module holds the
three moments that touch them, each called with the run lock held:

1. Before dbt builds (the config step, :func:`prepare_closed_periods`):
   :func:`reconcile_snapshots` copies back, from the currently published file, the rows of
   closed periods and the post-close sightings the masters lack (a working database lost and
   rebuilt from landing, a publish killed between its switch and its master commit); then
   :func:`periods_to_reopen` checks ``closed_through`` against the snapshotted periods: a
   snapshotted period that is no longer closed is a configuration error
   (:class:`ReopenError`, naming the periods and the ``--reopen`` to pass) unless the run
   was given ``--reopen`` naming exactly them; their snapshots are then dropped (served live
   again). A run that drops them and then fails publishes nothing, and the next run restores
   them from the published file: a reopening counts only once published.
2. During the publish, after the switch (:func:`commit_snapshots`, called by
   ``publish.publish_warehouse`` where it commits the history rows): append the published rows
   of newly closed periods (``period_closed`` and no snapshot yet) and this run's first
   sightings of post-close changes. One transaction; a crash before it is repaired by 1.
3. The publish also calls :func:`reconcile_snapshots` (as it reconciles history), for a
   republished build that skipped the config step.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from datetime import date

import duckdb

from dagster_project.ingest.schema import (
    HISTORY_SCHEMA,
    POST_CLOSE_COLUMNS,
    POST_CLOSE_TABLE,
    SNAPSHOT_TABLES,
    ensure_snapshot_tables,
)

REOPEN_TAG = "quotaboard/reopen"  # the periods of `quotaboard run --reopen`, comma-separated
POST_CLOSE_MODEL = "fct_post_close_changes"
MARTS_SCHEMA = "marts"
_PERIOD = re.compile(r"^FY(\d{4})(?:-(Q[1-4]|M(0[1-9]|1[0-2])))?$")


class ReopenError(ValueError):
    """``closed_through`` moved back before snapshotted periods without a matching --reopen."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def parse_reopen(text: str | None) -> list[str]:
    """``P1,P2`` -> sorted unique period ids (raises ValueError on a malformed id)."""
    if not text:
        return []
    periods = sorted({p.strip() for p in text.split(",") if p.strip()})
    bad = [p for p in periods if not _PERIOD.match(p)]
    if bad:
        raise ValueError(
            f"--reopen: {', '.join(bad)} not a fiscal period id (FY2027, FY2027-Q1, FY2027-M01)"
        )
    return periods


def period_end(fiscal_period: str, fiscal_year_start_month: int) -> date | None:
    """Last day of a fiscal period id (metrics.md §1); None for an id that is not one."""
    m = _PERIOD.match(fiscal_period)
    if not m:
        return None
    fy, part = int(m.group(1)), m.group(2)
    start_month = int(fiscal_year_start_month or 1)
    # Month index (0-based, in fiscal order) of the period's last month.
    if part is None:
        last = 11
    elif part.startswith("Q"):
        last = int(part[1]) * 3 - 1
    else:
        last = int(part[1:]) - 1
    first_year = fy - 1 if start_month > 1 else fy
    month0 = start_month - 1 + last
    year, month = first_year + month0 // 12, month0 % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def _relations(conn: duckdb.DuckDBPyConnection, catalog: str, schema: str) -> set[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = ? and table_schema = ?",
        [catalog, schema],
    ).fetchall()
    return {r[0] for r in rows}


def _columns(conn: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [catalog, schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def snapshotted_periods(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """Every fiscal period with a snapshot in any of the three masters."""
    ensure_snapshot_tables(conn)
    union = " union ".join(
        f"select distinct fiscal_period from {HISTORY_SCHEMA}.{t}" for t in SNAPSHOT_TABLES
    )
    return {r[0] for r in conn.execute(union).fetchall()}


def reconcile_snapshots(
    conn: duckdb.DuckDBPyConnection, published_path, skip: list[str] | tuple[str, ...] = ()
) -> int:
    """Copy back from the published file the closed periods' rows whose period the master lacks,
    and the post-close sightings the master lacks, except for the periods in ``skip`` (those
    this run reopened). Returns the number of rows restored."""
    from pathlib import Path

    ensure_snapshot_tables(conn)
    published_path = Path(published_path)
    if not published_path.exists():
        return 0
    restored = 0
    conn.execute(f"ATTACH {_sql_str(str(published_path))} AS close_pub (READ_ONLY)")
    try:
        models = _relations(conn, "close_pub", MARTS_SCHEMA)
        # Which run closed a period: fct_post_close_changes when it lists the period, else
        # the published run itself (exact when the publish that closed it lost its commit).
        published_run = None
        if "fct_attainment_history" in models:
            row = conn.execute(
                f"select run_id, published_at from close_pub.{MARTS_SCHEMA}.fct_attainment_history"
                " order by published_at desc, run_id desc limit 1"
            ).fetchone()
            published_run = row
        closer = "null::varchar"
        if POST_CLOSE_MODEL in models:
            closer = (
                f"(select max(c.closed_at_run_id) from close_pub.{MARTS_SCHEMA}.{POST_CLOSE_MODEL}"
                " c where c.fiscal_period = p.fiscal_period)"
            )
        skipped = (
            "and p.fiscal_period not in (" + ", ".join(_sql_str(p) for p in skip) + ")"
            if skip
            else ""
        )
        run_id = published_run[0] if published_run else None
        run_at = published_run[1] if published_run else None
        for table, (mart, cols) in SNAPSHOT_TABLES.items():
            data_cols = [c for c in cols if c not in ("closed_at_run_id", "closed_at")]
            if mart not in models or not {*data_cols, "period_closed"} <= _columns(
                conn, "close_pub", MARTS_SCHEMA, mart
            ):
                continue
            select = ", ".join(f"p.{_q(c)}" for c in data_cols)
            missing = f"""
                select {select},
                    coalesce({closer}, ?::varchar) as closed_at_run_id,
                    ?::timestamp as closed_at
                from close_pub.{MARTS_SCHEMA}.{mart} p
                where p.period_closed
                  and p.fiscal_period not in (
                      select distinct fiscal_period from {HISTORY_SCHEMA}.{table})
                  {skipped}
            """
            n = conn.execute(f"select count(*) from ({missing})", [run_id, run_at]).fetchone()[0]
            if n:
                names = ", ".join(_q(c) for c in cols)
                conn.execute(
                    f"insert into {HISTORY_SCHEMA}.{table} ({names}) {missing}", [run_id, run_at]
                )
                restored += int(n)
        if POST_CLOSE_MODEL in models and set(POST_CLOSE_COLUMNS) <= _columns(
            conn, "close_pub", MARTS_SCHEMA, POST_CLOSE_MODEL
        ):
            names = ", ".join(_q(c) for c in POST_CLOSE_COLUMNS)
            missing = f"""
                select {names} from close_pub.{MARTS_SCHEMA}.{POST_CLOSE_MODEL} p
                where true {skipped} and not exists (
                    select 1 from {HISTORY_SCHEMA}.{POST_CLOSE_TABLE} h
                    where h.assignee_type = p.assignee_type and h.assignee_id = p.assignee_id
                      and h.fiscal_period = p.fiscal_period and h.metric = p.metric
                      and h.live_actual is not distinct from p.live_actual)
            """
            n = conn.execute(f"select count(*) from ({missing})").fetchone()[0]
            if n:
                conn.execute(f"insert into {HISTORY_SCHEMA}.{POST_CLOSE_TABLE} ({names}) {missing}")
                restored += int(n)
    finally:
        conn.execute("DETACH close_pub")
    return restored


def periods_to_reopen(
    snapshotted: set[str],
    closed_through: date | None,
    fiscal_year_start_month: int,
    reopen: list[str],
) -> list[str]:
    """The snapshotted periods that ``closed_through`` no longer closes, when ``reopen`` names
    exactly them; else :class:`ReopenError` naming them (or naming what --reopen got wrong)."""
    no_longer = sorted(
        p
        for p in snapshotted
        if closed_through is None
        or (end := period_end(p, fiscal_year_start_month)) is None
        or end > closed_through
    )
    if sorted(set(reopen)) == no_longer:
        return no_longer
    setting = f"closed_through: {closed_through}" if closed_through else "closed_through: null"
    if no_longer and not reopen:
        raise ReopenError(
            f"settings.yml {setting} reopens closed periods {', '.join(no_longer)} "
            "(metrics.md §13: their snapshots would be dropped). Pass "
            f"--reopen {','.join(no_longer)} to reopen them, or set closed_through back."
        )
    extra = sorted(set(reopen) - set(no_longer))
    lacking = sorted(set(no_longer) - set(reopen))
    parts = []
    if lacking:
        parts.append(f"it also reopens {', '.join(lacking)}")
    if extra:
        parts.append(
            f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not a closed period "
            f"that {setting} reopens"
        )
    expected = f"--reopen {','.join(no_longer)}" if no_longer else "no --reopen"
    raise ReopenError(
        f"--reopen {','.join(reopen)} does not match settings.yml {setting}: "
        f"{'; '.join(parts)}. Pass {expected}."
    )


def drop_snapshots(conn: duckdb.DuckDBPyConnection, periods: list[str]) -> int:
    """Drop the snapshots (and post-close sightings) of ``periods``, in one transaction."""
    if not periods:
        return 0
    marks = ", ".join("?" for _ in periods)
    dropped = 0
    conn.execute("BEGIN TRANSACTION")
    try:
        for table in (*SNAPSHOT_TABLES, POST_CLOSE_TABLE):
            dropped += conn.execute(
                f"select count(*) from {HISTORY_SCHEMA}.{table} where fiscal_period in ({marks})",
                periods,
            ).fetchone()[0]
            conn.execute(
                f"delete from {HISTORY_SCHEMA}.{table} where fiscal_period in ({marks})", periods
            )
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise
    return int(dropped)


def prepare_closed_periods(
    conn: duckdb.DuckDBPyConnection,
    published_path,
    closed_through: date | str | None,
    fiscal_year_start_month: int,
    reopen: list[str],
) -> tuple[int, list[str]]:
    """Before dbt: reconcile the snapshots from the published file, check ``closed_through``
    (:class:`ReopenError`), drop the reopened periods' snapshots. Returns (rows restored,
    periods reopened)."""
    if isinstance(closed_through, str):
        closed_through = date.fromisoformat(closed_through) if closed_through else None
    restored = reconcile_snapshots(conn, published_path)
    reopened = periods_to_reopen(
        snapshotted_periods(conn), closed_through, fiscal_year_start_month, reopen
    )
    drop_snapshots(conn, reopened)
    return restored, reopened


def commit_snapshots(
    conn: duckdb.DuckDBPyConnection, catalog: str, run_id: str, published_at
) -> dict[str, int]:
    """After the switch: append the rows of newly closed periods of this run's marts (in
    ``<catalog>.marts``) to the snapshot masters, and this run's first sightings of post-close
    changes. Call inside the publish's master transaction. Returns rows added per table."""
    ensure_snapshot_tables(conn)
    models = _relations(conn, catalog, MARTS_SCHEMA)
    added: dict[str, int] = {}
    for table, (mart, cols) in SNAPSHOT_TABLES.items():
        data_cols = [c for c in cols if c not in ("closed_at_run_id", "closed_at")]
        if mart not in models or not {*data_cols, "period_closed"} <= _columns(
            conn, catalog, MARTS_SCHEMA, mart
        ):
            continue  # not a mart of this contract (a hand-made test warehouse)
        names = ", ".join(_q(c) for c in cols)
        select = ", ".join(f"m.{_q(c)}" for c in data_cols)
        new = f"""
            select {select}, ?::varchar, ?::timestamp
            from {_q(catalog)}.{MARTS_SCHEMA}.{mart} m
            where m.period_closed
              and m.fiscal_period not in (
                  select distinct fiscal_period from {HISTORY_SCHEMA}.{table})
        """
        n = conn.execute(f"select count(*) from ({new})", [run_id, published_at]).fetchone()[0]
        if n:
            conn.execute(
                f"insert into {HISTORY_SCHEMA}.{table} ({names}) {new}", [run_id, published_at]
            )
        added[table] = int(n)
    if POST_CLOSE_MODEL in models and set(POST_CLOSE_COLUMNS) <= _columns(
        conn, catalog, MARTS_SCHEMA, POST_CLOSE_MODEL
    ):
        names = ", ".join(_q(c) for c in POST_CLOSE_COLUMNS)
        new = f"""
            select {", ".join(f"p.{_q(c)}" for c in POST_CLOSE_COLUMNS)}
            from {_q(catalog)}.{MARTS_SCHEMA}.{POST_CLOSE_MODEL} p
            where not exists (
                select 1 from {HISTORY_SCHEMA}.{POST_CLOSE_TABLE} h
                where h.assignee_type = p.assignee_type and h.assignee_id = p.assignee_id
                  and h.fiscal_period = p.fiscal_period and h.metric = p.metric
                  and h.live_actual is not distinct from p.live_actual)
        """
        n = conn.execute(f"select count(*) from ({new})").fetchone()[0]
        if n:
            conn.execute(f"insert into {HISTORY_SCHEMA}.{POST_CLOSE_TABLE} ({names}) {new}")
        added[POST_CLOSE_TABLE] = int(n)
    return added
