"""Reading what the guards validate from the working DuckDB file (read-only) into pandas.

* Landing batch: the rows of ``raw.<table>`` loaded after ``since`` (``_loaded_at > since``;
  every row when ``since`` is None), never the rest of the history. Each typed column gets
  computed columns that say whether its text parses, with the same rules as dbt staging
  (``dbt/macros/crm_parsing.sql``): ``<col>__parses`` for dates, datetimes and numbers,
  ``<col>__lower`` for booleans, ``<col>__num`` for numbers with a range.
* Tally of a landing batch (``read_tally``, for a suite that judges each row by a few
  columns: raw.messages): the batch counted in DuckDB per distinct combination of the judged
  values, a few real rows of each standing for the rest (column ``__rows``).
* Tally of a mart (``read_mart_tally``, for a suite that judges each row by a few columns or
  a column's uniqueness: the credit mart): the same, grouped by a column's nullness where
  only that is judged, and by a unique-judged column's value only where it repeats.
* Freshness: one row per raw table, over the whole table (data that stopped arriving is what
  freshness is about): the newest SystemModstamp (messages: timestamp) and its age in hours
  before the end of the as_of day in the company time zone.
* Marts: ``select <the columns the suite reads> from marts.<model>`` (the others).

No GX here: this module is cheap to import.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
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
# The shape Salesforce and Segment write timestamps in (timestamp_sql reads it by a plain cast);
# dbt's crm_parse_timestamp holds the same pattern.
CANONICAL_UTC_PATTERN = r"'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}Z'"
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
        return timestamp_sql(col)
    if kind == "number":
        return f"case when regexp_full_match({t}, {_NUMBER}) then try_cast({t} as double) end"
    raise ValueError(kind)


def timestamp_sql(col: str, shortcut: bool = True) -> str:
    """The UTC timestamp of ISO 8601 text, as dbt's ``crm_parse_timestamp``: with an offset (or
    Z) converted to UTC, without one taken as UTC, NULL when it does not parse. With
    ``shortcut``, text in the usual shape (2026-11-21T14:30:00.000Z) is first read by a plain
    cast, which gives the same value as the general branches at a fraction of their cost."""
    t = f"trim({col})"
    first = (
        f"when regexp_full_match({col}, {CANONICAL_UTC_PATTERN}) then try_cast({col} as timestamp) "
        if shortcut
        else ""
    )
    return (
        f"case {first}"
        f"when not regexp_full_match({t}, {_DATE_PREFIX}) then null "
        f"when regexp_matches({t}, {_OFFSET}) "
        f"then try_cast(try_cast({t} as timestamptz) at time zone 'UTC' as timestamp) "
        f"else try_cast({t} as timestamp) end"
    )


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
    conn: duckdb.DuckDBPyConnection,
    table: str,
    since: datetime | None,
    judged: list[str],
    nulls: Sequence[str] = (),
) -> pd.DataFrame:
    """The batch of :func:`read_batch`, counted in DuckDB instead of read whole: one group per
    distinct combination of the ``judged`` columns' values and of whether each of ``nulls``
    is missing, and of each group its first ``TALLY_KEPT_ROWS`` rows in file and line order,
    every column kept as read. ``WEIGHT`` says how many rows of the batch each kept row
    stands for (1, and the group's remainder on its last kept row), so the weights add up to
    the batch's row count and, per group, to the group's.

    An expectation that judges each row by the ``judged`` columns' values, or by whether a
    column of ``nulls`` is missing (see ``suites.tally_plan``), fails on the tally exactly
    when it fails on the batch, on rows standing for the same batch rows; the batch never
    leaves DuckDB (20 M messages at scale 200 become a few dozen rows; a CRM object's Ids
    are judged by nullness alone, so its 400 k rows do not stay 400 k groups)."""
    sql, params = batch_sql(conn, table, since)
    tally = _tally(conn, sql, params, judged, nulls, order=["_source_file", "_source_line"])
    if tally is None:  # the table lacks a judged column: its column-set expectation says so
        return read_batch(conn, table, since).assign(**{WEIGHT: 1})
    return tally


def read_mart_tally(
    conn: duckdb.DuckDBPyConnection,
    model: str,
    columns: list[str],
    values: list[str],
    nulls: Sequence[str] = (),
    unique: Sequence[str] = (),
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``columns`` of ``marts.<model>`` as a tally (see :func:`read_tally`; a plan from
    ``suites.tally_plan``): grouped by the values of ``values``, by whether each of ``nulls``
    is NULL, and, for each column of ``unique``, by its value when that value occurs more
    than once in the mart, else by whether it is NULL. Every column but those of ``values``
    is taken from the kept rows, so a kept row is a real row of the mart; the kept rows of a
    group are its first in ``order`` (default: ``columns``; a mart has no file and line).

    GX's unique expectation then fails on the same rows, weighed, as on the mart: each
    repeated value keeps at least two rows that repeat it and weigh as many as its rows; the
    non-repeated values kept are distinct. The credit mart (2 M lines at scale 200) becomes
    at most ``TALLY_KEPT_ROWS`` rows per combination of its judged values (and per repeated
    credit_id), whatever its size."""
    sql = f'select {", ".join(_quote(c) for c in columns)} from marts."{model}"'
    tally = _tally(conn, sql, [], values, nulls, unique, order or columns)
    if tally is None:  # the mart lacks a judged column: its expectation says so
        return read_mart(conn, model, columns).assign(**{WEIGHT: 1})
    return tally


_FLOATS = ("FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8")


def _missing_sql(col: str, kind: str) -> str:
    """True where pandas (and so GX) sees ``col`` as missing: NULL, and NaN for floats."""
    q = _quote(col)
    return f"({q} is null or isnan({q}))" if kind.upper() in _FLOATS else f"{q} is null"


def _tally(
    conn: duckdb.DuckDBPyConnection,
    sql: str,
    params: list,
    values: list[str],
    nulls: Sequence[str] = (),
    unique: Sequence[str] = (),
    order: Sequence[str] = (),
) -> pd.DataFrame | None:
    """The tally of the rows of ``sql`` (see :func:`read_tally`, :func:`read_mart_tally`),
    kept rows first in ``order`` within a group and in the frame; None when ``sql`` lacks a
    judged column."""
    described = conn.execute(f"select * from ({sql}) limit 0", params).description
    columns = [d[0] for d in described]
    types = {d[0]: str(d[1]) for d in described}
    if any(c not in columns for c in [*values, *nulls, *unique]):
        return None
    ctes = [f"batch as ({sql})"]
    derived: dict[str, str] = {}  # grouping key -> its expression (nulls and unique columns)
    joins: list[str] = []
    for i, col in enumerate(nulls):
        derived[f"__null_{i}"] = _missing_sql(col, types[col])
    for i, col in enumerate(unique):
        q, missing = _quote(col), _missing_sql(col, types[col])
        ctes.append(  # the values of col that occur more than once
            f"__dup_{i} as (select {q} as __v from batch where not {missing} "
            f"group by {q} having count(*) > 1)"
        )
        joins.append(f"left join __dup_{i} on batch.{q} = __dup_{i}.__v")
        derived[f"__dup_{i}"] = f"__dup_{i}.__v"  # NULL unless the value repeats
        derived[f"__unique_null_{i}"] = missing
    source = "batch"
    if derived:
        marks = ", ".join(f"{e} as {_quote(k)}" for k, e in derived.items())
        ctes.append(f"marked as (select batch.*, {marks} from batch {' '.join(joins)})")
        source = "marked"
    group = [_quote(c) for c in [*values, *derived]]
    kept = [c for c in columns if c not in values]
    keys = ", ".join(group)
    rows = (
        "struct_pack(" + ", ".join(f"{_quote(c)} := {_quote(c)}" for c in kept) + ")"
        if kept
        else "struct_pack(__none := null)"
    )
    by = (
        "struct_pack(" + ", ".join(f"o{i} := {_quote(c)}" for i, c in enumerate(order)) + ")"
        if order
        else "1"
    )
    picks = ", ".join(
        _quote(c) if c in values else f"__r.{_quote(c)} as {_quote(c)}" for c in columns
    )
    group_by = f" group by {keys}" if group else ""
    sort = f" order by {', '.join(_quote(c) for c in order)}" if order else ""
    select_keys = f"{keys}, " if group else ""
    tally = (
        f"with {', '.join(ctes)}, "
        f"grouped as (select {select_keys}count(*) as __n, "
        f"arg_min({rows}, {by}, {TALLY_KEPT_ROWS}) as __kept from {source}{group_by}), "
        f"kept as (select {select_keys}__n, len(__kept) as __k, unnest(__kept) as __r, "
        "unnest(range(1, len(__kept) + 1)) as __i from grouped) "
        f"select {picks}, case when __i < __k then 1 else __n - __k + 1 end as {_quote(WEIGHT)} "
        f"from kept{sort}"
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


# A parsable message timestamp starts with its local date (yyyy-mm-dd) and its offset is at
# most 99:99, so its UTC instant lies within this many days of that date.
_OFFSET_DAYS = 5


def newest_message_timestamp(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest parsable timestamp (UTC) of a valid line of ``raw.messages``, as parsing every
    line would give, parsing only the lines dated near the newest: parsing is the costly part
    of a 20 M-line scan, comparing the text with a date is not.

    A parsable timestamp starts with its yyyy-mm-dd date (after blanks), so as text it sorts
    by that date. First M, the newest instant among lines whose text sorts from 2 x
    _OFFSET_DAYS before the greatest text; a line dated before date(M) - _OFFSET_DAYS - 1
    cannot be later than M, so the answer is the newest instant of the lines from that date on
    (and of every line starting with a blank). When no line near the greatest text parses,
    every line is parsed."""
    timestamp = _quote("timestamp")
    parsed = parse_sql(timestamp, "timestamp")
    source = f"{RAW_SCHEMA}.{MESSAGES_TABLE} where _is_valid_json"

    def newest_from(first_day: date | None) -> datetime | None:
        if first_day is None:
            return conn.execute(f"select max({parsed}) from {source}").fetchone()[0]
        return conn.execute(
            f"select max({parsed}) from {source} and ({timestamp} >= ? or {timestamp} < '0')",
            [first_day.isoformat()],
        ).fetchone()[0]

    def days_before(text: str | None, days: int) -> date | None:
        try:
            return date.fromisoformat((text or "")[:10]) - timedelta(days=days)
        except (ValueError, OverflowError):  # not a date, or before year 1: every line
            return None

    greatest = conn.execute(f"select max({timestamp}) from {source} and {timestamp} < ':'")
    near_day = days_before(greatest.fetchone()[0], 2 * _OFFSET_DAYS)
    near = newest_from(near_day) if near_day is not None else None
    if near is None:
        return newest_from(None)
    return newest_from(days_before(near.date().isoformat(), _OFFSET_DAYS + 1))


def read_freshness(
    conn: duckdb.DuckDBPyConnection, table: str, as_of: date, settings: RunSettings
) -> pd.DataFrame:
    """One row: table, newest timestamp (UTC), end of the as_of day (UTC), age_hours."""
    if table == MESSAGES_TABLE:
        newest = newest_message_timestamp(conn)
    else:
        newest = conn.execute(
            f'select max({parse_sql("system_modstamp", "timestamp")}) from {RAW_SCHEMA}."{table}"'
        ).fetchone()[0]
    eod = end_of_day_utc(as_of, settings.timezone)
    df = conn.execute(
        "select ? as table_name, cast(? as timestamp) as newest_at, "
        "cast(? as timestamp) as as_of_end_utc, "
        "round(date_diff('second', cast(? as timestamp), cast(? as timestamp)) / 3600.0, 2) "
        "as age_hours",
        [f"raw.{table}", newest, eod, newest, eod],
    ).df()
    df.insert(0, ROW_INDEX, range(len(df)))
    return df
