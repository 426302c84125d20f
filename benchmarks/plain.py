"""The plain pass: the practical floor for reading one landing folder on this machine.

One DuckDB session reads every landing file once and computes the two aggregates the
warehouse is about, with none of the pipeline's bookkeeping (manifest, raw tables, dbt, checks,
publishing):

* ``message_counts``: distinct track messages per workspace (``context.groupId``, NULL when
  absent: no group-call fallback), feature (``properties.feature`` when non-empty, else
  ``event``) and day (the timestamp's date in the company time zone). Lines that are not JSON
  objects, and tracks without ``messageId`` or a parsable ``timestamp``, are skipped.
* ``won_by_owner_month``: the won amount per opportunity owner, close month and currency (no
  FX: amounts in the opportunity's own currency) over the current state of every
  Opportunity record (greatest ``SystemModstamp``, ties to the file whose path sorts last),
  leaving out deleted records and unparsable amounts or dates.

Every other CRM file is read too (a row count), so the pass touches every landing byte, as a
full rebuild does. Column names are the generator's (API names for Opportunity); the floor
does not do the contract's case- and underscore-insensitive matching.

Run as ``python -m benchmarks.plain --landing DIR [--timezone TZ] [--memory-limit 3GB]``;
it prints one JSON line with the row counts and the size of both aggregates.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

MESSAGE_GLOBS = ("**/*.jsonl", "**/*.jsonl.gz")


@dataclass
class PlainSummary:
    """What one plain pass read and produced."""

    message_lines: int  # lines read from product_usage (invalid JSON and duplicates included)
    crm_rows: int  # CSV rows read from crm/ (every object and file)
    message_groups: int  # rows of message_counts
    track_messages: int  # sum of message_counts.messages (distinct track messages)
    won_groups: int  # rows of won_by_owner_month
    won_total: float  # sum of won_by_owner_month.won_amount (mixed currencies)

    @property
    def rows_read(self) -> int:
        return self.message_lines + self.crm_rows


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def message_files(landing: Path) -> list[str]:
    root = landing / "product_usage"
    files = {p for g in MESSAGE_GLOBS for p in root.glob(g) if p.is_file()}
    return sorted(str(p) for p in files)


def crm_files(landing: Path) -> dict[str, list[str]]:
    """Object folder or file name (lower case, no underscores) -> its CSV files, sorted."""
    root = landing / "crm"
    out: dict[str, list[str]] = {}
    for p in sorted(root.rglob("*.csv")):
        top = p.relative_to(root).parts[0]
        name = top[:-4] if top.lower().endswith(".csv") else top
        out.setdefault(name.lower().replace("_", ""), []).append(str(p))
    return out


def run_plain_pass(
    conn: duckdb.DuckDBPyConnection, landing: Path, timezone: str = "UTC"
) -> PlainSummary:
    """Create ``message_counts`` and ``won_by_owner_month`` in ``conn``; return a summary."""
    landing = Path(landing)
    msgs = message_files(landing)
    crm = crm_files(landing)
    conn.execute("SET TimeZone = 'UTC'")  # timestamps without an offset are UTC (contract)
    conn.execute(
        """
        create or replace temp table message_lines as
        select type, messageId as message_id, "timestamp", event,
               properties.feature as feature, context.groupId as workspace
        from read_ndjson(?, columns = {
                'type': 'VARCHAR', 'messageId': 'VARCHAR', 'timestamp': 'VARCHAR',
                'event': 'VARCHAR', 'properties': 'STRUCT(feature VARCHAR)',
                'context': 'STRUCT(groupId VARCHAR)'},
            ignore_errors = true, compression = 'auto', maximum_object_size = 16777216)
        """,
        [msgs],
    )
    conn.execute(
        f"""
        create or replace temp table message_counts as
        with tracks as (
            select workspace, coalesce(nullif(feature, ''), event) as feature, message_id,
                   cast(timezone({_sql_str(timezone)}, try_cast("timestamp" as timestamptz))
                        as date) as message_date
            from message_lines
            where type = 'track' and message_id is not null
        )
        select workspace, feature, message_date, count(distinct message_id) as messages
        from tracks
        where message_date is not null
        group by all
        """
    )
    n_lines = conn.execute("select count(*) from message_lines").fetchone()[0]
    conn.execute("drop table message_lines")

    opp_files = crm.pop("opportunity", [])
    conn.execute(
        """
        create or replace temp table won_by_owner_month as
        with rows as (
            select *, row_number() over () as row_in_read
            from read_csv(?, all_varchar = true, header = true, filename = true,
                          union_by_name = true)
        ),
        current_rows as (
            select * from rows
            qualify row_number() over (
                partition by Id
                order by try_cast(SystemModstamp as timestamptz) desc nulls last,
                         filename desc, row_in_read desc) = 1
        )
        select OwnerId as owner_id,
               date_trunc('month', try_cast(CloseDate as date)) as close_month,
               upper(coalesce(nullif(CurrencyIsoCode, ''), 'USD')) as currency,
               sum(try_cast(Amount as decimal(18, 2))) as won_amount,
               count(*) as won_deals
        from current_rows
        where lower(IsWon) in ('true', '1')
          and lower(coalesce(IsDeleted, 'false')) not in ('true', '1')
          and try_cast(CloseDate as date) is not null
          and try_cast(Amount as decimal(18, 2)) is not null
        group by all
        """,
        [opp_files],
    )
    crm_rows = conn.execute(
        "select count(*) from read_csv(?, all_varchar = true, header = true, union_by_name = true)",
        [opp_files],
    ).fetchone()[0]
    for files in crm.values():
        crm_rows += conn.execute(
            "select count(*) from read_csv(?, all_varchar = true, header = true, "
            "union_by_name = true)",
            [files],
        ).fetchone()[0]

    groups, tracks = conn.execute(
        "select count(*), coalesce(sum(messages), 0) from message_counts"
    ).fetchone()
    won_groups, won_total = conn.execute(
        "select count(*), coalesce(sum(won_amount), 0) from won_by_owner_month"
    ).fetchone()
    return PlainSummary(
        message_lines=int(n_lines),
        crm_rows=int(crm_rows),
        message_groups=int(groups),
        track_messages=int(tracks),
        won_groups=int(won_groups),
        won_total=float(won_total),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", required=True, type=Path)
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 3GB")
    args = parser.parse_args(argv)
    conn = duckdb.connect()
    if args.memory_limit:
        conn.execute(f"SET memory_limit = {_sql_str(args.memory_limit)}")
    summary = run_plain_pass(conn, args.landing, args.timezone)
    print(json.dumps({**asdict(summary), "rows_read": summary.rows_read}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
