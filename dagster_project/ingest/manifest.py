"""``raw.load_manifest``: which landing files are loaded, so unchanged files are not re-read.

Rules (input-contract §1, design.md):

- A file is identified by its path relative to the landing folder. It is *unchanged* when its
  size and mtime equal the manifest's, and it would be read the same way (``read_options``,
  e.g. which column is the promise field of Opportunity files): it is skipped.
- A new or changed file is (re)loaded in place of its old rows: the loader deletes the rows
  with that ``_source_file`` and inserts the new ones, and updates the manifest, inside ONE
  transaction, so a crash never leaves a half-loaded file marked as loaded.
- A file that disappeared from the landing folder keeps its rows and manifest entry: the
  pipeline never edits landing, and an extractor that moves old deltas to an archive must not
  make data vanish. (Delete the working database to rebuild from scratch.)

Running twice on the same landing folder therefore changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.ingest.files import insert_rows, rel_path
from dagster_project.ingest.schema import MANIFEST_COLUMNS, MANIFEST_TABLE, RAW_SCHEMA

MANIFEST = f'{RAW_SCHEMA}."{MANIFEST_TABLE}"'


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # relative to the landing folder, '/' separated
    size_bytes: int
    modified_at: float


@dataclass
class LoadStats:
    """What one load did. ``rows_loaded``: rows inserted this run; ``rows_rejected``: lines that
    could not be read as rows (raw.rejected_rows) or, for messages, lines that are not JSON."""

    files_loaded: int = 0
    files_skipped: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    loaded_files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, other: LoadStats) -> None:
        self.files_loaded += other.files_loaded
        self.files_skipped += other.files_skipped
        self.rows_loaded += other.rows_loaded
        self.rows_rejected += other.rows_rejected
        self.loaded_files += other.loaded_files
        self.notes += other.notes

    def as_metadata(self) -> dict[str, int]:
        return {
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
        }


def stat_file(landing: Path, path: Path) -> LandingFile:
    st = path.stat()
    return LandingFile(path.resolve(), rel_path(landing, path), st.st_size, st.st_mtime)


def split_changed(
    conn: duckdb.DuckDBPyConnection,
    target_table: str,
    files: list[LandingFile],
    read_options: str | None = None,
) -> tuple[list[LandingFile], list[LandingFile]]:
    """(new or changed files, unchanged files) for one target table. A file loaded with other
    ``read_options`` than these counts as changed."""
    known = {
        row[0]: (row[1], row[2], row[3])
        for row in conn.execute(
            f"SELECT source_file, size_bytes, modified_at, read_options FROM {MANIFEST} "
            "WHERE target_table = ?",
            [target_table],
        ).fetchall()
    }
    changed, unchanged = [], []
    for f in files:
        if known.get(f.rel) == (f.size_bytes, f.modified_at, read_options):
            unchanged.append(f)
        else:
            changed.append(f)
    return changed, unchanged


def record_loaded(
    conn: duckdb.DuckDBPyConnection,
    target_table: str,
    files_and_counts: list[tuple[LandingFile, int]],
    loaded_at: datetime,
    read_options: str | None = None,
) -> None:
    """Upsert manifest rows (call inside the transaction that loaded the files)."""
    if not files_and_counts:
        return
    rels = [f.rel for f, _ in files_and_counts]
    conn.execute(
        f"DELETE FROM {MANIFEST} WHERE target_table = ? AND list_contains(?, source_file)",
        [target_table, rels],
    )
    insert_rows(
        conn,
        MANIFEST,
        MANIFEST_COLUMNS,
        [
            [f.rel, target_table, f.size_bytes, f.modified_at, n, loaded_at, read_options]
            for f, n in files_and_counts
        ],
    )


def forget_loaded_files(warehouse_path: Path) -> int:
    """Empty the manifest of the working database at ``warehouse_path`` (``quotaboard run
    --full-refresh``), so every landing file is read again, each in place of its old rows.
    Returns the number of files forgotten (0 when there is no working database or manifest)."""
    warehouse_path = Path(warehouse_path)
    if not warehouse_path.exists():
        return 0
    conn = duckdb.connect(str(warehouse_path))
    try:
        try:
            (n,) = conn.execute(f"select count(*) from {MANIFEST}").fetchone()
        except duckdb.CatalogException:
            return 0
        conn.execute(f"delete from {MANIFEST}")
        return int(n)
    finally:
        conn.close()
