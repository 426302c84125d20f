"""Reading what the guards validate from the working DuckDB file (read-only) into pandas.

* Landing batch: the rows of ``raw.<table>`` loaded after ``since`` (``_loaded_at > since``;
  every row when ``since`` is None), never the rest of the history. Each typed column gets
  computed columns that say whether its text parses, with the same rules as dbt staging
  (``dbt/macros/crm_parsing.sql``): ``<col>__parses`` for dates, datetimes and numbers,
  ``<col>__lower`` for booleans, ``<col>__num`` for numbers with a range.
* Tally of a landing batch (``read_tally``, for a suite that judges each row by a few
  columns: raw.messages): the batch counted in DuckDB per distinct combination of the judged
  values, a few real rows of each standing for the rest (column ``__rows``).
* Freshness: one row per raw table, over the whole table (data that stopped arriving is what
  freshness is about): the newest SystemModstamp (messages: timestamp) and its age in hours
  before the end of the as_of day in the company time zone.
* Marts: ``select * from marts.<model>`` (small).

No GX here: this module is cheap to import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from dagster_project.ingest.schema import MESSAGES_TABLE, RAW_SCHEMA
from dagster_project.quality.suites import CRM_TYPES, NUMBER_RANGES

DEFAULT_FRESHNESS_HOURS = 26.0
ROW_INDEX = "__row"

_DATE_PREFIX = r"'[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ].*)?'"
_OFFSET = r"'[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'"
_NUMBER = r"'[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?'"


def _quote(name: str) -> str:
    return f'"{name}"'


def _text(col: str) -> str:
    return f"nullif(trim({col}), '')"


def parse_sql(col: str, kind: str) -> str:
    """The typed value of a raw text column (NULL when empty or unparsable), as dbt does."""
    t = f"trim({col})"
    if kind == "boolean":
        return (
            f"case when lower({t}) in ('true', '1') then true "
            f"when lower({t}) in ('false', '0') then false end"
        )
    if kind == "date":
        return (
            f"case when regexp_full_match({t}, {_DATE_PREFIX}) "
            f"then try_cast(left({t}, 10) as date) end"
        )
    if kind == "timestamp":
        return (
            f"case when not regexp_full_match({t}, {_DATE_PREFIX}) then null "
            f"when regexp_matches({t}, {_OFFSET}) "
            f"then try_cast(try_cast({t} as timestamptz) at time zone 'UTC' as timestamp) "
            f"else try_cast({t} as timestamp) end"
        )
    if kind == "number":
        return f"case when regexp_full_match({t}, {_NUMBER}) then try_cast({t} as double) end"
    raise ValueError(kind)


def parses_sql(col: str, kind: str) -> str:
    """True when non-empty text parses, False when it does not, NULL when empty."""
    return f"case when {_text(col)} is null then null else ({parse_sql(col, kind)}) is not null end"


def _apply_memory_limit(conn: duckdb.DuckDBPyConnection) -> None:
    """``settings.duckdb_memory_limit`` (as loaded into ``config.settings``), like every other
    DuckDB session of a run; nothing when unset or when the settings table is absent."""
    try:
        row = conn.execute("select duckdb_memory_limit from config.settings limit 1").fetchone()
    except duckdb.Error:
        return
    limit = (row[0] if row else None) or ""
    if str(limit).strip():
        conn.execute("SET memory_limit = ?", [str(limit).strip()])


@contextlib.contextmanager
def read_only(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        _apply_memory_limit(conn)
        yield conn
    finally:
        conn.close()


def table_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def _since_filter(since: datetime | None) -> tuple[str, list]:
    if since is None:
        return "", []
    return " where _loaded_at > ?", [since]


def _frame(conn: duckdb.DuckDBPyConnection, sql: str, params: list) -> pd.DataFrame:
    df = conn.execute(sql, params).df()
    df.insert(0, ROW_INDEX, range(len(df)))
    return df


def crm_batch_sql(table: str, columns: list[str]) -> str:
    present = set(columns)
    picks = [
        f'{_text(_quote(c))} as "{c}"' if c == "id" else _quote(c)
        for c in columns
        if not c.startswith("_") or c in ("_source_file", "_source_line", "_loaded_at")
    ]
    ranged = {c for c, *_ in NUMBER_RANGES.get(table, ())}
    for col, kind in CRM_TYPES[table].items():
        if col not in present:
            continue
        q = f'"{col}"'
        if kind == "boolean":
            picks.append(f'lower(trim({q})) as "{col}__lower"')
        else:
            picks.append(f'{parses_sql(q, kind)} as "{col}__parses"')
        if col in ranged:
            picks.append(f'{parse_sql(q, kind)} as "{col}__num"')
    return f'select {", ".join(picks)} from {RAW_SCHEMA}."{table}"'


def read_batch(conn: duckdb.DuckDBPyConnection, table: str, since: datetime | None) -> pd.DataFrame:
    """The rows of ``raw.<table>`` loaded after ``since`` (all when None), with the computed
    columns the landing suite judges, in file and line order."""
    sql, params = batch_sql(conn, table, since)
    return _frame(conn, f"{sql} order by _source_file, _source_line", params)


def batch_sql(
    conn: duckdb.DuckDBPyConnection, table: str, since: datetime | None
) -> tuple[str, list]:
    """The query of the batch :func:`read_batch` returns (unordered) and its parameters."""
    where, params = _since_filter(since)
    if table == MESSAGES_TABLE:
        ts = parse_sql('"timestamp"', "timestamp")
        sql = (
            f"select message_id, type, timestamp, _is_valid_json, _source_file, _source_line, "
            f"_loaded_at, "
            f"case when not _is_valid_json or type is distinct from 'track' then null "
            f"else {_text('message_id')} is not null end as message_id__present, "
            f"case when not _is_valid_json or type not in ('track', 'group') then null "
            f"else ({ts}) is not null end as timestamp__parses "
            f"from {RAW_SCHEMA}.{MESSAGES_TABLE}"
        )
    else:
        sql = crm_batch_sql(table, table_columns(conn, RAW_SCHEMA, table))
    return f"{sql}{where}", params


# The tally of a batch (read_tally): per distinct combination of judged values, this many of
# its rows (the first in file and line order) stand for all of them.
TALLY_KEPT_ROWS = 10
WEIGHT = "__rows"


def read_tally(
    conn: duckdb.DuckDBPyConnection, table: str, since: datetime | None, judged: list[str]
) -> pd.DataFrame:
    """The batch of :func:`read_batch`, counted in DuckDB instead of read whole: one group per
    distinct combination of the ``judged`` columns' values, and of each group its first
    ``TALLY_KEPT_ROWS`` rows in file and line order, every column kept as read. ``WEIGHT``
    says how many rows of the batch each kept row stands for (1, and the group's remainder
    on its last kept row), so the weights add up to the batch's row count and, per group, to
    the group's.

    An expectation that judges each row by the ``judged`` columns alone (see
    ``suites.tally_columns``) fails on the tally exactly when it fails on the batch, on
    rows standing for the same batch rows; the batch never leaves DuckDB (20 M messages at
    scale 200 become a few hundred rows)."""
    sql, params = batch_sql(conn, table, since)
    columns = [d[0] for d in conn.execute(f"select * from ({sql}) limit 0", params).description]
    missing = [c for c in judged if c not in columns]
    if missing:  # the table lacks a judged column: its column-set expectation says so
        return read_batch(conn, table, since).assign(**{WEIGHT: 1})
    kept = [c for c in columns if c not in judged]
    keys = ", ".join(_quote(c) for c in judged)
    rows = (
        "struct_pack(" + ", ".join(f"{_quote(c)} := {_quote(c)}" for c in kept) + ")"
        if kept
        else "struct_pack(__none := null)"
    )
    order = "struct_pack(f := _source_file, l := _source_line)"
    picks = ", ".join(
        _quote(c) if c in judged else f"__r.{_quote(c)} as {_quote(c)}" for c in columns
    )
    group_by = f" group by {keys}" if judged else ""
    select_keys = f"{keys}, " if judged else ""
    tally = (
        f"with batch as ({sql}), "
        f"grouped as (select {select_keys}count(*) as __n, "
        f"arg_min({rows}, {order}, {TALLY_KEPT_ROWS}) as __kept from batch{group_by}), "
        f"kept as (select {select_keys}__n, len(__kept) as __k, unnest(__kept) as __r, "
        "unnest(range(1, len(__kept) + 1)) as __i from grouped) "
        f"select {picks}, case when __i < __k then 1 else __n - __k + 1 end as {_quote(WEIGHT)} "
        "from kept order by _source_file, _source_line"
    )
    return _frame(conn, tally, params)


def read_mart(
    conn: duckdb.DuckDBPyConnection, model: str, columns: list[str] | None = None
) -> pd.DataFrame:
    """``marts.<model>``: every column, or only ``columns`` (what its suite reads: the credit
    lines' text columns are most of the mart's memory)."""
    picks = ", ".join(_quote(c) for c in columns) if columns else "*"
    return _frame(conn, f'select {picks} from marts."{model}"', [])


@dataclass(frozen=True)
class RunSettings:
    timezone: str = "UTC"
    freshness_max_age_hours: float = DEFAULT_FRESHNESS_HOURS


def read_settings(conn: duckdb.DuckDBPyConnection) -> RunSettings:
    with contextlib.suppress(duckdb.Error):
        row = conn.execute(
            "select timezone, freshness_max_age_hours from config.settings limit 1"
        ).fetchone()
        if row:
            from dagster_project.settings import valid_timezone

            hours = row[1] if row[1] is not None else DEFAULT_FRESHNESS_HOURS
            return RunSettings(valid_timezone(row[0]), float(hours))
    return RunSettings()


def end_of_day_utc(as_of: date, timezone: str) -> datetime:
    """The instant the as_of day ends in the company time zone, as a naive UTC datetime."""
    start_next = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    local = start_next.replace(tzinfo=ZoneInfo(timezone))
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def read_freshness(
    conn: duckdb.DuckDBPyConnection, table: str, as_of: date, settings: RunSettings
) -> pd.DataFrame:
    """One row: table, newest timestamp (UTC), end of the as_of day (UTC), age_hours."""
    if table == MESSAGES_TABLE:
        newest = f"max({parse_sql(_quote('timestamp'), 'timestamp')})"
        source = f"{RAW_SCHEMA}.{MESSAGES_TABLE} where _is_valid_json"
    else:
        newest = f"max({parse_sql('system_modstamp', 'timestamp')})"
        source = f'{RAW_SCHEMA}."{table}"'
    eod = end_of_day_utc(as_of, settings.timezone)
    df = conn.execute(
        f"select ? as table_name, n as newest_at, cast(? as timestamp) as as_of_end_utc, "
        f"round(date_diff('second', n, cast(? as timestamp)) / 3600.0, 2) as age_hours "
        f"from (select {newest} as n from {source})",
        [f"raw.{table}", eod, eod],
    ).df()
    df.insert(0, ROW_INDEX, range(len(df)))
    return df
