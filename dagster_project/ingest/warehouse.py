"""Opening the working DuckDB file for a loader step (no Dagster here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from dagster_project.ingest.schema import CONFIG_SCHEMA, create_empty_tables


def memory_limit_from_config(conn: duckdb.DuckDBPyConnection) -> str | None:
    """``settings.duckdb_memory_limit`` as written by the config step (None if unset)."""
    with contextlib.suppress(duckdb.Error):
        row = conn.execute(
            f"SELECT duckdb_memory_limit FROM {CONFIG_SCHEMA}.settings LIMIT 1"
        ).fetchone()
        if row and row[0]:
            return str(row[0])
    return None


@contextlib.contextmanager
def open_warehouse(
    path: Path, memory_limit: str | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open (creating folders and every raw/config table) and always close the working file,
    so dbt, which runs next as a subprocess, can open it. ``memory_limit`` (e.g. "3GB"), when
    not given, comes from ``config.settings``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        create_empty_tables(conn)
        limit = memory_limit or memory_limit_from_config(conn)
        if limit:
            conn.execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")
        yield conn
    finally:
        conn.close()
