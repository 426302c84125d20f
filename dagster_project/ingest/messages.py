"""Product-usage messages (``<landing>/product_usage``) into ``raw.messages``.

Files: ``**/*.jsonl``, ``**/*.jsonl.gz`` (Segment messages, one JSON object per line) and
``**/*.parquet`` (same fields, nested as structs or flattened with ``_``).

JSONL is read by DuckDB as lines of text (``read_csv`` with one VARCHAR column, a delimiter
byte that valid JSON never contains unescaped (0x01), no quoting, gzip by extension), then
parsed once in SQL (``try(json_extract_string(...))``): ONE statement for all new and
changed JSONL files of a run, and one for the Parquet files, never one per line.

- ``_source_line`` is the physical line number in the file (first line = 1). Empty and
  whitespace-only lines carry no message and are skipped (they keep their number: the next
  message's line is still right).
- A line that is not a JSON object keeps its text in ``_raw_line`` with
  ``_is_valid_json = false`` (every field NULL); staging reports it as ``bad_event``. Lines
  DuckDB cannot read as text at all (invalid UTF-8, a 0x01 byte, longer than 16 MB) come back
  through ``store_rejects`` and are kept the same way. A file DuckDB's reader cannot get
  through at all (binary bytes) is read line by line in Python instead: its lines are kept
  the same way, never a failed run. A gzip file that does not decompress stops the run
  (:class:`LandingError` naming the file).
- A symbolic link that leads out of the landing folder is not followed (noted, not read).
- Parquet: columns match ``messageId``, ``context.groupId`` / ``context_group_id`` ... ignoring
  case and underscores; every value is stored as text (timestamps as ISO 8601, UTC);
  ``_source_line`` is the row number in the file (first row = 1).
"""

from __future__ import annotations

import gzip
import logging
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.faults import MESSAGE_LOAD, fault_point
from dagster_project.ingest.files import (
    REJECTS_SCAN,
    REJECTS_TABLE,
    LandingError,
    drop_rejects,
    insert_rows,
    is_inside,
    line_number_sql,
    outside_note,
    quote_ident,
    utc_now,
)
from dagster_project.ingest.manifest import (
    LandingFile,
    LoadStats,
    record_loaded,
    split_changed,
    stat_file,
)
from dagster_project.ingest.schema import MESSAGES_TABLE, RAW_SCHEMA, match_key

log = logging.getLogger(__name__)

MESSAGES = f'{RAW_SCHEMA}."{MESSAGES_TABLE}"'
_LINES = "_qb_msg_lines"
_FILES = "_qb_msg_files"
_EXCL = "_qb_msg_excluded"
_FALLBACK = "_qb_msg_fallback"
_MAX_LINE_SIZE = 16 * 1024 * 1024

# raw.messages column -> JSON path in a Segment message.
JSON_PATHS: dict[str, str] = {
    "message_id": "$.messageId",
    "type": "$.type",
    "timestamp": "$.timestamp",
    "user_id": "$.userId",
    "anonymous_id": "$.anonymousId",
    "event": "$.event",
    "feature": "$.properties.feature",
    "context_group_id": "$.context.groupId",
    "group_id": "$.groupId",
    "crm_account_id": "$.traits.crm_account_id",
}
# raw.messages column -> match_key of the flattened Parquet name (struct path joined by '_').
PARQUET_KEYS: dict[str, str] = {
    col: match_key(path[2:].replace(".", "_")) for col, path in JSON_PATHS.items()
}
_FIELDS = list(JSON_PATHS)


def discover_message_files(
    landing: Path, notes: list[str] | None = None
) -> tuple[list[Path], list[Path]]:
    """(JSONL and JSONL.gz files, Parquet files) under product_usage/, sorted. A symbolic
    link to outside the landing folder is not followed (noted in ``notes``)."""
    root = landing / "product_usage"
    if not root.is_dir():
        return [], []
    jsonl, parquet = [], []
    for p in root.rglob("*"):
        if not p.is_file() or p.name.startswith("."):
            continue
        if not is_inside(landing, p):
            if notes is not None:
                notes.append(outside_note(landing, p))
            log.warning(outside_note(landing, p))
            continue
        name = p.name.lower()
        if name.endswith(".jsonl") or name.endswith(".jsonl.gz"):
            jsonl.append(p)
        elif name.endswith(".parquet"):
            parquet.append(p)
    return sorted(jsonl), sorted(parquet)


def _register_files(conn: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {_FILES}")
    conn.execute(f"CREATE TEMP TABLE {_FILES} (path VARCHAR, rel VARCHAR)")
    insert_rows(
        conn, _FILES, {"path": "VARCHAR", "rel": "VARCHAR"}, [[str(f.path), f.rel] for f in files]
    )


def _insert_sql(source: str, line_expr: str) -> str:
    cols = ", ".join(quote_ident(c) for c in _FIELDS)
    paths = ", ".join(f"'{p}'" for p in JSON_PATHS.values())
    picks = ", ".join(f"x[{i + 1}]" for i in range(len(_FIELDS)))
    return (
        f"INSERT INTO {MESSAGES} ({cols}, _is_valid_json, _raw_line, _source_file, "
        "_source_line, _loaded_at) "
        f"SELECT {picks}, v, CASE WHEN NOT v THEN line END, rel, ln, $loaded_at FROM ("
        "  SELECT CASE WHEN v THEN x END AS x, v, line, rel, ln FROM ("
        # A valid JSON text starting with '{' is an object: no second parse for json_type.
        # Almost every line starts with '{' itself: only the others are left-trimmed (a CASE
        # evaluates its ELSE on the rows that need it; ltrim copies every line it is given).
        "    SELECT coalesce(NOT unreadable AND x IS NOT NULL AND CASE WHEN starts_with(line, '{') "
        "      THEN true ELSE starts_with(ltrim(line, ' \t\r'), '{') END, false) AS v, "
        "      x, line, rel, ln FROM ("
        # Each line is parsed once: try() makes the extraction NULL where json_valid is false.
        f"      SELECT try(json_extract_string(line, [{paths}])) AS x, "
        f"        line, rel, unreadable, {line_expr} AS ln FROM {source})))"
    ).replace("$loaded_at", "?")


def _read_lines_sql(files: list[LandingFile]) -> str:
    return (
        "SELECT line, filename FROM read_csv(?, "
        "columns = {'line': 'VARCHAR'}, header = false, delim = ?, quote = '', "
        "escape = '', auto_detect = false, filename = true, compression = 'auto', "
        f"store_rejects = true, rejects_table = '{REJECTS_TABLE}', "
        f"rejects_scan = '{REJECTS_SCAN}', max_line_size = {_MAX_LINE_SIZE})"
    )


def _duckdb_can_read(conn: duckdb.DuckDBPyConnection, f: LandingFile) -> bool:
    """Whether DuckDB's line reader gets through this file (a binary file can stop it)."""
    try:
        conn.execute(f"SELECT count(*) FROM ({_read_lines_sql([f])})", [[str(f.path)], "\x01"])
        return True
    except duckdb.Error:
        return False
    finally:
        drop_rejects(conn)


def read_lines_python(f: LandingFile) -> list[tuple[str, int, bool]]:
    """(text, physical line number, readable) of every non-blank line of a file DuckDB's reader
    cannot get through (binary bytes, say). A line that is not UTF-8 text, or holds a NUL or
    0x01 byte, is unreadable: its text is kept with U+FFFD in place of the bad bytes."""
    try:
        if f.path.name.lower().endswith(".gz"):
            with gzip.open(f.path, "rb") as fh:
                data = fh.read()
        else:
            data = f.path.read_bytes()
    except (OSError, EOFError) as e:
        raise LandingError(f"{f.rel}: unreadable file ({e})") from e
    out: list[tuple[str, int, bool]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
            readable = "\x00" not in text and "\x01" not in text
        except UnicodeDecodeError:
            text, readable = raw.decode("utf-8", "replace"), False
        out.append((text.replace("\x00", "\ufffd"), number, readable))
    return out


def _stage_jsonl(conn: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> int:
    """Read every line of ``files`` into connection-local temp tables (BEFORE the load
    transaction: a failed read would abort it). Returns the number of lines set aside.

    All files are read in one DuckDB statement; when DuckDB's reader stops on a file (a
    binary file can put its CSV state machine in an invalid state), the files it cannot read
    are read line by line in Python instead and every line of theirs that is not a JSON object
    becomes an invalid line (``bad_event``), never a failed run."""
    _register_files(conn, files)
    drop_rejects(conn)
    conn.execute(f"DROP TABLE IF EXISTS {_LINES}")
    conn.execute(f"DROP TABLE IF EXISTS {_FALLBACK}")
    conn.execute(
        f"CREATE TEMP TABLE {_FALLBACK} (line VARCHAR, rel VARCHAR, line_no BIGINT, "
        "unreadable BOOLEAN)"
    )
    readable = files
    try:
        conn.execute(
            f"CREATE TEMP TABLE {_LINES} AS {_read_lines_sql(files)}",
            [[str(f.path) for f in files], "\x01"],
        )
    except duckdb.Error:
        drop_rejects(conn)
        readable = [f for f in files if _duckdb_can_read(conn, f)]
        fallback = [f for f in files if f not in readable]
        for f in fallback:
            log.warning(f"{f.rel}: not line-readable by DuckDB; read line by line")
            insert_rows(
                conn,
                _FALLBACK,
                {"line": "VARCHAR", "rel": "VARCHAR", "line_no": "BIGINT", "unreadable": "BOOLEAN"},
                [[text, f.rel, n, not ok] for text, n, ok in read_lines_python(f)],
            )
        if readable:
            conn.execute(
                f"CREATE TEMP TABLE {_LINES} AS {_read_lines_sql(readable)}",
                [[str(f.path) for f in readable], "\x01"],
            )
        else:
            conn.execute(f"CREATE TEMP TABLE {_LINES} (line VARCHAR, filename VARCHAR)")
    # Lines the reader set aside: keep them as invalid lines with their text.
    conn.execute(f"DROP TABLE IF EXISTS {_EXCL}")
    conn.execute(
        f"CREATE TEMP TABLE {_EXCL} AS SELECT filename, line AS p, "
        "row_number() OVER (PARTITION BY filename ORDER BY line) AS j, line, raw FROM ("
        "SELECT s.file_path AS filename, e.line, any_value(e.csv_line) AS raw "
        f"FROM {REJECTS_TABLE} e JOIN {REJECTS_SCAN} s USING (scan_id, file_id) "
        "GROUP BY ALL)"
        if readable
        else f"CREATE TEMP TABLE {_EXCL} (filename VARCHAR, p BIGINT, j BIGINT, line BIGINT, "
        "raw VARCHAR)"
    )
    return conn.execute(f"SELECT count(*) FROM {_EXCL}").fetchone()[0]


def _numbered_lines(conn: duckdb.DuckDBPyConnection) -> str:
    """The staged lines with ``k``, each line's rank among the lines the reader returned from
    its file (1 = the first), in read order (``rowid``).

    The reader returns a file's lines in order and one file after another, so a file's lines
    hold consecutive rowids and ``k`` is ``rowid`` minus the file's first ``rowid``, plus 1: one
    grouped pass. Ranking every line with a window (a sort of all lines by file) gives the same
    ``k`` and is the fallback for a file whose rowids are not consecutive."""
    scattered = conn.execute(
        f"SELECT count(*) FROM (SELECT filename FROM {_LINES} GROUP BY filename "
        "HAVING max(rowid) - min(rowid) + 1 <> count(*))"
    ).fetchone()[0]
    if scattered:
        return (
            f"(SELECT n.*, row_number() OVER (PARTITION BY n.filename ORDER BY n.rowid) AS k "
            f"FROM {_LINES} n)"
        )
    return (
        f"(SELECT n.*, n.rowid - firsts.first_rowid + 1 AS k FROM {_LINES} n JOIN "
        f"(SELECT filename, min(rowid) AS first_rowid FROM {_LINES} GROUP BY filename) firsts "
        "ON firsts.filename = n.filename)"
    )


def _load_jsonl(
    conn: duckdb.DuckDBPyConnection, files: list[LandingFile], n_excl: int, loaded_at: datetime
) -> tuple[dict[str, int], int]:
    """Insert the staged lines of ``files`` (inside the caller's transaction). Returns rows
    per file and the number of invalid lines."""
    if not files:
        return {}, 0
    line_expr = line_number_sql(
        "t.k", _EXCL if n_excl else None, start=1, partition="filename", outer="t"
    )
    source = (
        f"(SELECT t.line, f.rel, {line_expr} AS line_no, false AS unreadable FROM "
        f"{_numbered_lines(conn)} t JOIN {_FILES} f ON f.path = t.filename "
        # Blank lines carry no message. A line starting with '{' is not blank, and the OR
        # trims only the other lines: trimming all 20 M lines took 11 s at scale 200.
        "WHERE starts_with(t.line, '{') OR trim(coalesce(t.line, '')) <> ''"
        f" UNION ALL SELECT x.raw, f.rel, x.line, true FROM {_EXCL} x "
        f"JOIN {_FILES} f ON f.path = x.filename"
        f" UNION ALL SELECT line, rel, line_no, unreadable FROM {_FALLBACK})"
    )
    conn.execute(_insert_sql(source, "line_no"), [loaded_at])
    counts = dict(
        conn.execute(
            f"SELECT f.rel, count(m._source_line) FROM {_FILES} f LEFT JOIN {MESSAGES} m "
            "ON m._source_file = f.rel AND m._loaded_at = ? GROUP BY f.rel",
            [loaded_at],
        ).fetchall()
    )
    invalid = conn.execute(
        f"SELECT count(*) FROM {MESSAGES} m JOIN {_FILES} f ON m._source_file = f.rel "
        "WHERE m._loaded_at = ? AND NOT m._is_valid_json",
        [loaded_at],
    ).fetchone()[0]
    for t in (_LINES, _EXCL, _FILES, _FALLBACK):
        conn.execute(f"DROP TABLE IF EXISTS {t}")
    drop_rejects(conn)
    return counts, invalid


def _flatten(name: str, dtype, prefix: str = "") -> list[tuple[str, str, str]]:
    """(match key of the flattened name, SQL expression, type id) of every leaf column."""
    expr = f"{prefix}.{quote_ident(name)}" if prefix else quote_ident(name)
    tid = str(getattr(dtype, "id", "")).lower()
    if tid == "struct":
        out = []
        for child, ctype in dtype.children:
            for key, e, t in _flatten(child, ctype, expr):
                out.append((match_key(name) + key, e, t))
        return out
    return [(match_key(name), expr, tid)]


def _as_text(expr: str, tid: str) -> str:
    if tid == "timestamp with time zone":
        return f"strftime(timezone('UTC', {expr}), '%Y-%m-%dT%H:%M:%S.%fZ')"
    if tid.startswith("timestamp"):
        return f"strftime({expr}::TIMESTAMP, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"CAST({expr} AS VARCHAR)"


def _load_parquet(
    conn: duckdb.DuckDBPyConnection, files: list[LandingFile], loaded_at: datetime
) -> dict[str, int]:
    """One INSERT per Parquet file (each file's own schema: no cross-file type unions)."""
    counts: dict[str, int] = {}
    cols = ", ".join(quote_ident(c) for c in _FIELDS)
    for f in files:
        src = "read_parquet(?, file_row_number = true)"
        try:
            rel = conn.sql(f"SELECT * FROM {src} LIMIT 0", params=[str(f.path)])
            leaves: dict[str, list[str]] = {}
            for name, dtype in zip(rel.columns, rel.types, strict=True):
                if name == "file_row_number":
                    continue
                for key, expr, tid in _flatten(name, dtype, "p"):
                    leaves.setdefault(key, []).append(_as_text(expr, tid))
            picks = []
            for col in _FIELDS:
                hits = leaves.get(PARQUET_KEYS[col], [])
                picks.append(f"coalesce({', '.join(hits)})" if hits else "NULL")
            n = conn.execute(
                f"INSERT INTO {MESSAGES} ({cols}, _is_valid_json, _raw_line, _source_file, "
                f"_source_line, _loaded_at) SELECT {', '.join(picks)}, true, NULL, ?, "
                f"p.file_row_number + 1, ? FROM {src} p",
                [f.rel, loaded_at, str(f.path)],
            ).fetchone()[0]
        except duckdb.Error as e:
            raise LandingError(f"{f.rel}: unreadable Parquet file ({e})") from e
        counts[f.rel] = int(n)
    return counts


def load_messages(
    conn: duckdb.DuckDBPyConnection, landing: Path | str, loaded_at: datetime | None = None
) -> LoadStats:
    """Load new and changed product-usage files into ``raw.messages`` (one transaction).

    A missing ``product_usage/`` folder means no messages (noted, not an error)."""
    landing = Path(landing).resolve()
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    loaded_at = loaded_at or utc_now()
    stats = LoadStats()
    if not (landing / "product_usage").is_dir():
        stats.notes.append(f"no product_usage/ folder in {landing}: no messages")
        log.info(stats.notes[-1])
    jsonl_paths, parquet_paths = discover_message_files(landing, stats.notes)
    files = [stat_file(landing, p) for p in (*jsonl_paths, *parquet_paths)]
    changed, unchanged = split_changed(conn, MESSAGES_TABLE, files)
    stats.files_skipped = len(unchanged)
    if not changed:
        return stats
    jsonl_set = {p.resolve() for p in jsonl_paths}
    new_jsonl = [f for f in changed if f.path in jsonl_set]
    new_parquet = [f for f in changed if f.path not in jsonl_set]
    n_excl = _stage_jsonl(conn, new_jsonl) if new_jsonl else 0
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            f"DELETE FROM {MESSAGES} WHERE list_contains(?, _source_file)",
            [[f.rel for f in changed]],
        )
        counts, invalid = _load_jsonl(conn, new_jsonl, n_excl, loaded_at)
        counts.update(_load_parquet(conn, new_parquet, loaded_at))
        record_loaded(conn, MESSAGES_TABLE, [(f, counts.get(f.rel, 0)) for f in changed], loaded_at)
        fault_point(MESSAGE_LOAD)  # rows and manifest written, not committed
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    stats.files_loaded = len(changed)
    stats.rows_loaded = sum(counts.values())
    stats.rows_rejected = invalid
    stats.loaded_files = [f.rel for f in changed]
    return stats
