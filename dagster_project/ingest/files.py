"""Shared helpers for reading the landing folder (no Dagster here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

# Rejected-row scratch tables of DuckDB's read_csv(store_rejects=true): temp tables, dropped
# after every read so each read sees only its own rejects.
REJECTS_TABLE = "_qb_reject_errors"
REJECTS_SCAN = "_qb_reject_scans"


class LandingError(Exception):
    """Landing data that cannot be loaded at all (missing folder, missing required object or
    column, unreadable file). The run stops before publishing; the message names the file and
    the column."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        n = len(self.errors)
        head = f"{n} landing error{'s' if n != 1 else ''}:"
        super().__init__("\n".join([head, *(f"- {e}" for e in self.errors)]))


def utc_now() -> datetime:
    """Now in UTC as a naive datetime (what a DuckDB TIMESTAMP column stores)."""
    return datetime.now(UTC).replace(tzinfo=None)


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path``, with every symbolic link resolved, lies inside ``root``: only files
    under the configured landing and config folders are read, never a link's target outside
    them."""
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, unreadable, or a link loop
        return False
    return True


def outside_note(root: Path, path: Path) -> str:
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return f"ignored {rel}: a symbolic link to outside {root} (not followed)"


def rel_path(landing: Path, path: Path) -> str:
    """A landing file's path relative to the landing folder, '/' separated."""
    return path.resolve().relative_to(landing.resolve()).as_posix()


def snake_case(name: str) -> str:
    """``SplitOwnerId`` -> ``split_owner_id``; ``Some Field!`` -> ``some_field``."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"[^0-9A-Za-z_]+", "_", s).strip("_").lower()
    return re.sub(r"_+", "_", s)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_rejects(conn) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {REJECTS_TABLE}")
    conn.execute(f"DROP TABLE IF EXISTS {REJECTS_SCAN}")


def line_number_sql(
    k: str, excl_table: str | None, start: int, partition: str | None = None, outer: str = "n"
) -> str:
    """SQL for the physical line of the k-th (1-based) row a reader returned, when the lines
    listed in ``excl_table`` (columns ``p`` = position counted from ``start``, ``j`` = rank
    of p, and optionally ``partition``, matched against ``outer.partition``) were not
    returned. With p_1 < p_2 < ... excluded, row k sits at position k + #{j : p_j - j < k}."""
    if excl_table is None:
        return f"({k} + {start - 1})"
    match = f"AND x.{partition} = {outer}.{partition}" if partition else ""
    return (
        f"({k} + {start - 1} + (SELECT count(*) FROM {excl_table} x WHERE x.p - x.j < {k} {match}))"
    )


def insert_rows(conn, table: str, columns: dict[str, str], rows: list) -> None:
    """Insert Python rows (sequences ordered as ``columns``: name -> DuckDB type) in ONE
    statement, one list parameter per column (``executemany`` is one statement per row)."""
    if not rows:
        return
    names = ", ".join(quote_ident(c) for c in columns)
    unnests = ", ".join(f"unnest(?::{t}[])" for t in columns.values())
    conn.execute(
        f"INSERT INTO {table} ({names}) SELECT {unnests}",
        [list(col) for col in zip(*rows, strict=True)],
    )
