"""CRM landing files (``<landing>/crm``) into ``raw.<object>`` tables.

Discovery: ``crm/<Object>.csv`` and ``crm/<Object>/**/*.csv``, where the file or folder name
matches a Salesforce object of ``schema.CRM_OBJECTS`` ignoring case and underscores
(``opportunity_split/`` is ``OpportunitySplit``). Other names are ignored with a logged note,
and so is a symbolic link that leads out of the landing folder (never followed).

Reading: DuckDB's ``read_csv`` (every value as text, ``header=true``, RFC 4180 quoting), one
``INSERT ... SELECT`` per file, no Python row loop. Each header maps to its canonical column
through ``schema.match_key``; an extra column is added to the raw table as VARCHAR under the
header's snake_case form. Opportunity's promise field (``settings.promise_field``, e.g.
``Promised_Features__c``) lands in the canonical column ``promised_features`` whatever its
spelling (``promised_features__c``, ``PROMISEDFEATURESC``); each Opportunity file's manifest
entry records which field that was, so a changed setting reads the files again (files no longer
in the landing folder keep the rows they were read with).

A file missing a required column (or an Event file with neither ActivityDateTime nor
ActivityDate), an empty file, and a file whose header is not a CSV header at all (binary or
non-UTF-8 bytes, another delimiter than ',') are rejected as a whole: :class:`LandingError`
naming file, line and column, raised before anything is written, so the run stops before
publishing.

Malformed lines (wrong number of fields, an unterminated quote, invalid UTF-8) are neither a
crash nor silently dropped: ``read_csv(store_rejects=true)`` sets them aside and they land in
``raw.rejected_rows`` (object, file, line, raw text, error).

A line that repeats the header (every field equal to its column's header, ignoring case and
surrounding spaces: two exports joined into one file) is loaded like any other row, so its values
become ``invalid_value`` exceptions downstream; the load also says so once per file, in the
object's ``notes`` and ``warnings`` (``quotaboard run`` prints it as a ``warning:`` line):
``crm/Opportunity/x.csv: line 9 repeats the header (two files joined?); ...``.

Line numbers (``_source_line``): the header is line 1, the first data row line 2. They are
physical line numbers, blank lines included. In a file whose quoted values contain line
breaks they are *record* numbers + 1 (a record spanning two lines counts once), as DuckDB
reports rejected lines the same way.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from dagster_project.faults import CRM_LOAD, fault_point
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
    snake_case,
    utc_now,
)
from dagster_project.ingest.manifest import (
    LandingFile,
    LoadStats,
    record_loaded,
    split_changed,
    stat_file,
)
from dagster_project.ingest.schema import (
    CONFIG_SCHEMA,
    CRM_OBJECTS,
    DEFAULT_PROMISE_FIELD,
    RAW_SCHEMA,
    REJECTED_ROWS_COLUMNS,
    REJECTED_ROWS_TABLE,
    REQUIRED_CRM_OBJECTS,
    SETTING_COLUMNS,
    match_key,
)

log = logging.getLogger(__name__)

_OBJECT_BY_KEY = {match_key(o): o for o in CRM_OBJECTS}
REJECTED = f'{RAW_SCHEMA}."{REJECTED_ROWS_TABLE}"'
_STAGE = "_qb_crm_stage"
_EXCL = "_qb_crm_excluded"
_MAX_LINE_SIZE = 16 * 1024 * 1024


@dataclass
class CrmLoadStats(LoadStats):
    """What the load did for one CRM object; ``warnings``: those of its ``notes`` that the run
    output repeats as ``warning:`` lines (a file with a repeated header line)."""

    warnings: list[str] = field(default_factory=list)


@dataclass
class CrmFile:
    object_name: str
    file: LandingFile
    header: list[str]
    targets: list[str]  # raw-table column of each header position


def discover_crm_files(landing: Path) -> tuple[dict[str, list[Path]], list[str]]:
    """Landing CRM files per Salesforce object (sorted), plus notes on ignored names."""
    crm_dir = landing / "crm"
    found: dict[str, list[Path]] = {o: [] for o in CRM_OBJECTS}
    notes: list[str] = []
    if not crm_dir.is_dir():
        return found, [f"no crm/ folder in {landing}"]
    for entry in sorted(crm_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        if not is_inside(landing, entry):
            notes.append(outside_note(landing, entry))
            continue
        if entry.is_file():
            if entry.suffix.lower() != ".csv":
                notes.append(f"ignored crm/{entry.name}: not a .csv file")
                continue
            obj = _OBJECT_BY_KEY.get(match_key(entry.stem))
            if obj is None:
                notes.append(f"ignored crm/{entry.name}: not a known CRM object")
                continue
            found[obj].append(entry)
        elif entry.is_dir():
            obj = _OBJECT_BY_KEY.get(match_key(entry.name))
            if obj is None:
                notes.append(f"ignored crm/{entry.name}/: not a known CRM object")
                continue
            for p in entry.rglob("*"):
                if not p.is_file() or p.suffix.lower() != ".csv" or p.name.startswith("."):
                    continue
                if not is_inside(landing, p):
                    notes.append(outside_note(landing, p))
                    continue
                found[obj].append(p)
    for obj in found:
        found[obj] = sorted(found[obj])
    for n in notes:
        log.info(n)
    return found, notes


def read_header(path: Path) -> list[str] | None:
    """The header fields of a CSV file (None for an empty file)."""
    with path.open("rb") as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        try:
            return next(csv.reader(text))
        except StopIteration:
            return None


_OTHER_DELIMITERS = (";", "\t", "|")


def header_problem(header: list[str]) -> str | None:
    """Why a header line cannot be a CSV header at all (binary bytes, text that is not UTF-8,
    another delimiter than ','), or None. Said once instead of "every required column is
    missing"."""
    text = ",".join(header)
    if "\x00" in text or "\ufffd" in text:
        return "the header is not UTF-8 text (a binary file, or another encoding)"
    if len(header) == 1:
        for sep in _OTHER_DELIMITERS:
            if sep in text:
                return (
                    f"the header is one column {_clip(text)!r}: fields must be separated by ',' "
                    f"(this file uses {sep!r})"
                )
    return None


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def setting_sources(object_name: str, settings: dict[str, str] | None = None) -> dict[str, str]:
    """{match key of the landing column: raw column} for the object's columns that a setting
    names (``schema.SETTING_COLUMNS``); ``settings`` maps setting key -> value (missing: the
    default)."""
    settings = settings or {}
    out: dict[str, str] = {}
    for column, key in SETTING_COLUMNS.get(object_name, {}).items():
        value = settings.get(key) or (DEFAULT_PROMISE_FIELD if key == "promise_field" else None)
        if value and match_key(value):
            out[match_key(value)] = column
    return out


def read_options(object_name: str, settings: dict[str, str] | None = None) -> str | None:
    """What the manifest records about how the object's files were read (None: nothing
    depends on configuration)."""
    sources = setting_sources(object_name, settings)
    if not sources:
        return None
    by_column = {column: key for key, column in sources.items()}
    return ";".join(f"{SETTING_COLUMNS[object_name][c]}={by_column[c]}" for c in sorted(by_column))


def promise_field_of(conn: duckdb.DuckDBPyConnection) -> str:
    """``promise_field`` as the config step wrote it to ``config.settings`` (the default when
    the configuration was not loaded yet)."""
    try:
        row = conn.execute(f"SELECT promise_field FROM {CONFIG_SCHEMA}.settings LIMIT 1").fetchone()
    except duckdb.Error:
        return DEFAULT_PROMISE_FIELD
    return row[0] if row and row[0] else DEFAULT_PROMISE_FIELD


def map_header(
    object_name: str, header: list[str], rel: str, settings: dict[str, str] | None = None
) -> tuple[list[str], list[str]]:
    """(target column per header position, errors) for one file's header. ``settings``: the
    settings that name landing columns (``promise_field``), default values when missing."""
    _, required, optional = CRM_OBJECTS[object_name]
    known = {match_key(c): c for c in (*required, *optional)}
    for key, column in setting_sources(object_name, settings).items():
        known.setdefault(key, column)
    # A column that only looks like one of them (``promised_features`` when the promise field
    # is another one) is an extra column, kept under another name.
    derived = set(SETTING_COLUMNS.get(object_name, {}))
    targets: list[str] = []
    errors: list[str] = []
    problem = header_problem(header)
    if problem:
        return [], [f"{rel}, line 1: {problem}"]
    for i, h in enumerate(header):
        h = h.strip()
        canonical = known.get(match_key(h))
        target = canonical or snake_case(h) or f"column_{i + 1}"
        if canonical is None and target in derived:
            target = f"x_{target}"
        if target.startswith("_"):
            target = "x" + target  # never collide with lineage columns
        if target in targets:
            errors.append(f"{rel}, line 1: column {h!r} appears twice (as {target})")
        targets.append(target)
    for c in required:
        if c not in targets:
            errors.append(f"{rel}: required column {c} is missing ({object_name})")
    if object_name == "Event" and not {"activity_date_time", "activity_date"} & set(targets):
        errors.append(
            f"{rel}: required column activity_date_time or activity_date is missing (Event)"
        )
    return targets, errors


def _blank_lines(path: Path) -> tuple[list[int], int]:
    """(physical numbers of empty lines, number of physical lines) of a file."""
    data = path.read_bytes()
    newlines = data.count(b"\n")
    n_lines = newlines + (1 if data and not data.endswith(b"\n") else 0)
    blanks = []
    for m in re.finditer(rb"\n(?=\r?\n)", data):
        blanks.append(data.count(b"\n", 0, m.start()) + 2)
    return blanks, n_lines


_MAX_LINES_NAMED = 10


def repeated_header_note(rel: str, lines: list[int]) -> str:
    """The one note about a file's lines that repeat its header (``lines``: sorted, not empty)."""
    named = ", ".join(str(n) for n in lines[:_MAX_LINES_NAMED])
    if len(lines) > _MAX_LINES_NAMED:
        named += f", ... ({len(lines)} lines)"
    if len(lines) == 1:
        return (
            f"{rel}: line {named} repeats the header (two files joined?); its values become "
            "invalid_value exceptions"
        )
    return (
        f"{rel}: lines {named} repeat the header (two files joined?); their values become "
        "invalid_value exceptions"
    )


def _repeated_header_lines(
    conn: duckdb.DuckDBPyConnection, cf: CrmFile, line_sql: str
) -> list[int]:
    """Lines of the staged file whose every field equals its own column's header (ignoring case
    and surrounding spaces; an empty field matches an empty header; a byte order mark before the
    first field, as ``cat`` leaves it, is ignored): one set-based query."""
    values = [f"coalesce(n.c{i}, '')" for i in range(len(cf.header))]
    values[0] = f"ltrim({values[0]}, chr(65279))"
    same = " AND ".join(f"lower(trim({v})) = lower(trim(?))" for v in values)
    return [
        int(r[0])
        for r in conn.execute(
            f"SELECT {line_sql} AS line FROM (SELECT *, row_number() OVER (ORDER BY rowid) AS k "
            f"FROM {_STAGE}) n WHERE {same} ORDER BY line",
            list(cf.header),
        ).fetchall()
    ]


def _load_file(
    conn: duckdb.DuckDBPyConnection, cf: CrmFile, loaded_at: datetime
) -> tuple[int, int, list[int]]:
    """Insert one file's rows and rejects (inside the caller's transaction); (rows, rejects,
    lines that repeat the header)."""
    table = CRM_OBJECTS[cf.object_name][0]
    rel = cf.file.rel
    positional = {f"c{i}": "VARCHAR" for i in range(len(cf.targets))}
    drop_rejects(conn)
    conn.execute(f"DROP TABLE IF EXISTS {_STAGE}")
    try:
        conn.execute(
            f"CREATE TEMP TABLE {_STAGE} AS SELECT * FROM read_csv(?, columns = ?, "
            "header = true, delim = ',', quote = '\"', escape = '\"', auto_detect = false, "
            f"store_rejects = true, rejects_table = '{REJECTS_TABLE}', "
            f"rejects_scan = '{REJECTS_SCAN}', max_line_size = {_MAX_LINE_SIZE})",
            [str(cf.file.path), positional],
        )
    except duckdb.Error as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise LandingError(f"{rel}: unreadable CSV file ({reason})") from e
    rejects = conn.execute(
        f"SELECT line, min(column_name), any_value(csv_line), "
        f"string_agg(DISTINCT error_type || ': ' || error_message, '; ') "
        f"FROM {REJECTS_TABLE} GROUP BY line ORDER BY line"
    ).fetchall()
    n_rows = conn.execute(f"SELECT count(*) FROM {_STAGE}").fetchone()[0]
    rejected_lines = [int(r[0]) for r in rejects]

    # Lines the reader did not return: rejected records and empty lines. Empty lines are
    # physical; they are only usable when no quoted value spans lines (records == lines).
    blanks, n_physical = _blank_lines(cf.file.path)
    if n_physical != 1 + n_rows + len(rejected_lines) + len(blanks):
        blanks = []  # embedded line breaks: record numbering (see module doc)
    excluded = sorted(set(rejected_lines) | set(blanks))
    conn.execute(f"DROP TABLE IF EXISTS {_EXCL}")
    excl_table = None
    if excluded:
        conn.execute(
            f"CREATE TEMP TABLE {_EXCL} AS SELECT p, row_number() OVER (ORDER BY p) AS j "
            "FROM (SELECT unnest(?::BIGINT[]) - 1 AS p)",
            [excluded],
        )
        excl_table = _EXCL
    # rowid keeps read order but not its values inside a transaction: number rows from it.
    line_sql = line_number_sql("n.k", excl_table, start=2)
    cols = ", ".join(quote_ident(t) for t in cf.targets)
    vals = ", ".join(f"n.c{i}" for i in range(len(cf.targets)))
    conn.execute(
        f'INSERT INTO {RAW_SCHEMA}."{table}" ({cols}, _source_file, _source_line, _loaded_at) '
        f"SELECT {vals}, ?, {line_sql}, ? FROM (SELECT *, row_number() OVER (ORDER BY rowid) "
        f"AS k FROM {_STAGE}) n ORDER BY n.k",
        [rel, loaded_at],
    )
    header_lines = _repeated_header_lines(conn, cf, line_sql)
    if rejects:
        target_of = {f"c{i}": t for i, t in enumerate(cf.targets)}
        insert_rows(
            conn,
            REJECTED,
            REJECTED_ROWS_COLUMNS,
            [
                [
                    cf.object_name,
                    rel,
                    int(line),
                    target_of.get(col) if "ENCODING" in (err or "") else None,
                    raw,
                    err,
                    loaded_at,
                ]
                for line, col, raw, err in rejects
            ],
        )
    conn.execute(f"DROP TABLE IF EXISTS {_STAGE}")
    conn.execute(f"DROP TABLE IF EXISTS {_EXCL}")
    drop_rejects(conn)
    return n_rows, len(rejects), header_lines


def load_crm(
    conn: duckdb.DuckDBPyConnection,
    landing: Path | str,
    loaded_at: datetime | None = None,
    promise_field: str | None = None,
) -> dict[str, CrmLoadStats]:
    """Load new and changed CRM files into ``raw.<object>`` (tables must exist:
    ``schema.create_empty_tables``). Returns stats per Salesforce object.

    ``promise_field``: the Opportunity column that lands in ``promised_features``; by default
    ``config.settings.promise_field`` as the config step wrote it (which runs first).

    Every file's header is checked before anything is written; any problem raises
    LandingError (all problems together). The load itself is one transaction."""
    settings = {"promise_field": promise_field or promise_field_of(conn)}
    landing = Path(landing).resolve()
    if not landing.is_dir():
        raise LandingError(f"landing folder {landing} does not exist")
    loaded_at = loaded_at or utc_now()
    found, notes = discover_crm_files(landing)
    errors: list[str] = []
    for obj in REQUIRED_CRM_OBJECTS:
        if not found[obj]:
            errors.append(
                f"crm/: required object {obj} has no file (crm/{obj}.csv or crm/{obj}/*.csv)"
            )
    plans: dict[str, tuple[list[CrmFile], int]] = {}
    for obj, paths in found.items():
        table = CRM_OBJECTS[obj][0]
        files = [stat_file(landing, p) for p in paths]
        options = read_options(obj, settings)
        changed, unchanged = split_changed(conn, table, files, options)
        todo: list[CrmFile] = []
        for f in changed:
            header = read_header(f.path)
            if not header:
                errors.append(f"{f.rel}: the file is empty (no header line)")
                continue
            targets, errs = map_header(obj, header, f.rel, settings)
            errors.extend(errs)
            todo.append(CrmFile(obj, f, header, targets))
        plans[obj] = (todo, len(unchanged))
    if errors:
        raise LandingError(errors)

    stats: dict[str, CrmLoadStats] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        for obj, (todo, n_unchanged) in plans.items():
            table = CRM_OBJECTS[obj][0]
            st = CrmLoadStats(files_skipped=n_unchanged)
            existing = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [RAW_SCHEMA, table],
                ).fetchall()
            }
            for cf in todo:
                for t in cf.targets:
                    if t not in existing:
                        conn.execute(
                            f'ALTER TABLE {RAW_SCHEMA}."{table}" ADD COLUMN {quote_ident(t)} '
                            "VARCHAR"
                        )
                        existing.add(t)
            counts = []
            for cf in todo:
                conn.execute(
                    f'DELETE FROM {RAW_SCHEMA}."{table}" WHERE _source_file = ?', [cf.file.rel]
                )
                conn.execute(f"DELETE FROM {REJECTED} WHERE _source_file = ?", [cf.file.rel])
                n_rows, n_rej, header_lines = _load_file(conn, cf, loaded_at)
                if header_lines:
                    st.warnings.append(repeated_header_note(cf.file.rel, header_lines))
                counts.append((cf.file, n_rows))
                st.files_loaded += 1
                st.rows_loaded += n_rows
                st.rows_rejected += n_rej
                st.loaded_files.append(cf.file.rel)
            record_loaded(conn, table, counts, loaded_at, read_options(obj, settings))
            if counts:
                fault_point(CRM_LOAD)  # rows and manifest written, not committed
            stats[obj] = st
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    for st in stats.values():
        # Said by the run output (run_report.load_warnings), not on stderr as well.
        st.notes.extend(st.warnings)
        for w in st.warnings:
            log.info(w)
    if stats:
        next(iter(stats.values())).notes.extend(notes)
    return stats
