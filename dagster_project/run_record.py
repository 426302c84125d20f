"""Who changed what (metrics.md §14): ``fct_runs`` and ``fct_config_changes``.

Every published run gets one row of ``fct_runs`` (as_of, the data-through dates of
``intermediate.int_data_through``, when it was published, the fingerprint of its normalised
configuration, the git commit and author of the configuration folder when it is in a git work
tree, the code version, the periods it reopened) and one row of ``fct_config_changes`` per
configuration value that differs from the previous published run's configuration.

The masters live in the working database, schema ``history`` (created by
``ingest.schema.ensure_run_record_tables``, never rebuilt by dbt):

* ``history.runs``: one row per published run (the columns of ``fct_runs``);
* ``history.run_config``: the normalised configuration each published run used, one row per
  (file, row key, column) with the value as text;
* ``history.config_changes``: every change row of every published run (the rows of
  ``fct_config_changes``), so earlier runs' changes stay listed.

The configuration is normalised from the typed ``config.*`` tables of the working database
(what the run actually used, after validation), not from the files, so a cosmetic edit
(whitespace around a cell, column order, quoting, ``270000`` vs ``270000.00``, a reordered
row) is no change. Row keys (metrics.md §14), parts joined with ``:`` (an empty cell is an
empty part):

==========================  ====================================================
file                        row_key
==========================  ====================================================
``teams.csv``               ``team_id``
``people.csv``              ``person_id:valid_from``
``quota_plans.csv``         ``assignee_type:assignee_id:fiscal_period:metric``
``adjustments.csv``         ``adjustment_id``
``feature_ownership.csv``   ``feature:valid_from``
``settings.yml``            the settings key, column ``value`` (defaults filled in);
                            ``opportunity_types`` one row per type:
                            ``opportunity_types.<type key>`` (trimmed, lower case),
                            column ``booking_type``
==========================  ====================================================

A reopening (``--reopen``, metrics.md §13) adds rows with file ``closed_periods``, row_key the
period, column ``closed``, change ``removed`` (old ``true``, new NULL).

The publish (``dagster_project.publish``) calls, in its one working-database connection:
:func:`reconcile_run_record` after recovering an interrupted publish (runs the published file
holds but the master lacks are copied back, and their configuration is rebuilt by replaying
the change rows: the first run lists every value as ``added``, so the changes up to a run are
its whole configuration); :func:`prepare_run_record` before writing the new file (this run's
row and changes, against the previous published run's ``history.run_config``);
:func:`write_published` into the new file; :func:`commit_rows` after the switch, inside the
transaction that commits the attainment history (delete + insert, so a retried publish of
the same run does not duplicate it).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from dagster_project.ingest.schema import (
    CONFIG_CHANGES_COLUMNS,
    CONFIG_CHANGES_TABLE,
    CONFIG_SCHEMA,
    HISTORY_SCHEMA,
    RUN_CONFIG_COLUMNS,
    RUN_CONFIG_TABLE,
    RUNS_COLUMNS,
    RUNS_TABLE,
    ensure_run_record_tables,
)

RUNS_MODEL = "fct_runs"
CHANGES_MODEL = "fct_config_changes"
MODELS = (RUNS_MODEL, CHANGES_MODEL)
CHANGE_KINDS = ("added", "removed", "changed")
SETTINGS_FILE = "settings.yml"
CLOSED_PERIODS_FILE = "closed_periods"
GIT_TIMEOUT_SECONDS = 5.0

# config table -> (file, key columns, columns left out of the record). release_tracked is
# derived (whether the file has a released_on column); released_on itself is recorded.
CONFIG_FILES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "teams": ("teams.csv", ("team_id",), ()),
    "people": ("people.csv", ("person_id", "valid_from"), ()),
    "quota_plans": (
        "quota_plans.csv",
        ("assignee_type", "assignee_id", "fiscal_period", "metric"),
        (),
    ),
    "adjustments": ("adjustments.csv", ("adjustment_id",), ()),
    "feature_ownership": (
        "feature_ownership.csv",
        ("feature", "valid_from"),
        ("release_tracked",),
    ),
}
RECORDED_FILES = (*(f for f, _, _ in CONFIG_FILES.values()), SETTINGS_FILE)

# (file, row_key, column_name) -> value as text (None = NULL)
Config = dict[tuple[str, str, str], str | None]


@dataclass(frozen=True, order=True)
class Change:
    file: str
    row_key: str
    column_name: str
    change: str  # added / removed / changed
    old_value: str | None
    new_value: str | None


@dataclass
class RunRecord:
    """This run's row of fct_runs, its configuration and its change rows."""

    run_id: str
    published_at: datetime
    row: dict[str, object]  # the fct_runs columns
    config: Config
    changes: list[Change] = field(default_factory=list)
    previous_run_id: str | None = None


# ------------------------------------------------------------------------------------------
# normalisation and diff (pure)


def normalise_value(value: object) -> str | None:
    """One configuration value as text: NULL stays None; numbers without a trailing ``.0``
    (``270000.00`` and ``270000`` are the same value); booleans ``true``/``false``; dates ISO;
    lists as JSON; text with surrounding whitespace removed."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return json.dumps([normalise_value(v) for v in value], ensure_ascii=False)
    return str(value).strip()


def row_key(values: Iterable[object]) -> str:
    return ":".join(normalise_value(v) or "" for v in values)


def config_fingerprint(config: Mapping[tuple[str, str, str], str | None]) -> str:
    """sha256 of the normalised configuration rows (independent of their order)."""
    h = hashlib.sha256()
    for (file, key, col), value in sorted(config.items()):
        h.update(json.dumps([file, key, col, value], ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def diff_config(
    old: Mapping[tuple[str, str, str], str | None] | None,
    new: Mapping[tuple[str, str, str], str | None],
) -> list[Change]:
    """Every value that differs from ``old`` to ``new`` (``old`` None: the first run, every
    row ``added``). A row (file, row_key) only in ``new`` is ``added`` (one change per column,
    old NULL), only in ``old`` ``removed`` (new NULL); in both, each column whose value
    differs (a NULL counts as a value) is ``changed``. Sorted by file, row_key, column."""
    old = old or {}
    old_rows = {(f, k) for f, k, _ in old}
    new_rows = {(f, k) for f, k, _ in new}
    changes: list[Change] = []
    for (f, k, c), value in new.items():
        if (f, k) not in old_rows:
            changes.append(Change(f, k, c, "added", None, value))
        elif (f, k, c) not in old or old[(f, k, c)] != value:
            changes.append(Change(f, k, c, "changed", old.get((f, k, c)), value))
    for (f, k, c), value in old.items():
        if (f, k) not in new_rows:
            changes.append(Change(f, k, c, "removed", value, None))
        elif (f, k, c) not in new:
            changes.append(Change(f, k, c, "changed", value, None))
    return sorted(changes, key=lambda ch: (ch.file, ch.row_key, ch.column_name))


def reopen_changes(periods: Sequence[str]) -> list[Change]:
    """The rows recording a reopening (metrics.md §13): each period's ``closed`` removed."""
    return [Change(CLOSED_PERIODS_FILE, p, "closed", "removed", "true", None) for p in periods]


def normalise_reopened(reopened_periods: str | Iterable[str] | None) -> list[str]:
    if reopened_periods is None:
        return []
    if isinstance(reopened_periods, str):
        reopened_periods = reopened_periods.split(",")
    return sorted({p.strip() for p in reopened_periods if p and p.strip()})


# ------------------------------------------------------------------------------------------
# reading the working database


def _table_columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def read_config(conn: duckdb.DuckDBPyConnection) -> Config:
    """The normalised configuration of the typed ``config.*`` tables (missing tables: none)."""
    config: Config = {}
    for table, (file, keys, skip) in CONFIG_FILES.items():
        cols = _table_columns(conn, CONFIG_SCHEMA, table)
        if not cols or not set(keys) <= set(cols):
            continue
        values = [c for c in cols if c not in keys and c not in skip]
        sel = ", ".join(_q(c) for c in (*keys, *values))
        seen: dict[str, int] = {}
        for row in conn.execute(f'select {sel} from {CONFIG_SCHEMA}."{table}"').fetchall():
            key = row_key(row[: len(keys)])
            n = seen[key] = seen.get(key, 0) + 1
            if n > 1:  # validation keeps keys unique; never let two rows collide anyway
                key = f"{key}#{n}"
            for col, value in zip(values, row[len(keys) :], strict=True):
                config[(file, key, col)] = normalise_value(value)
    cols = _table_columns(conn, CONFIG_SCHEMA, "settings")
    if cols:
        sel = ", ".join(_q(c) for c in cols)
        row = conn.execute(f"select {sel} from {CONFIG_SCHEMA}.settings limit 1").fetchone()
        if row is not None:
            for col, value in zip(cols, row, strict=True):
                config[(SETTINGS_FILE, col, "value")] = normalise_value(value)
    if {"type_key", "booking_type"} <= set(
        _table_columns(conn, CONFIG_SCHEMA, "opportunity_types")
    ):
        for type_key, booking_type in conn.execute(
            f"select type_key, booking_type from {CONFIG_SCHEMA}.opportunity_types"
        ).fetchall():
            key = f"opportunity_types.{normalise_value(type_key) or ''}"
            config[(SETTINGS_FILE, key, "booking_type")] = normalise_value(booking_type)
    return config


def read_data_through(conn: duckdb.DuckDBPyConnection) -> dict[str, date | None]:
    """data_through, crm_through, messages_through of ``intermediate.int_data_through`` (one
    row; NULLs when the model is not there)."""
    out: dict[str, date | None] = dict.fromkeys(("data_through", "crm_through", "messages_through"))
    with contextlib.suppress(duckdb.Error):
        row = conn.execute(
            "select data_through, crm_through, messages_through "
            "from intermediate.int_data_through limit 1"
        ).fetchone()
        if row is not None:
            out = dict(zip(out, row, strict=True))
    return out


def previous_run(conn: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    row = conn.execute(
        f"select run_id from {HISTORY_SCHEMA}.{RUNS_TABLE} where run_id <> ? "
        "order by published_at desc, run_id desc limit 1",
        [run_id],
    ).fetchone()
    return row[0] if row else None


def run_config(conn: duckdb.DuckDBPyConnection, run_id: str) -> Config:
    rows = conn.execute(
        f"select file, row_key, column_name, value from {HISTORY_SCHEMA}.{RUN_CONFIG_TABLE} "
        "where run_id = ?",
        [run_id],
    ).fetchall()
    return {(f, k, c): v for f, k, c, v in rows}


# ------------------------------------------------------------------------------------------
# git and code version (never fail a run)


def _git(folder: Path, *args: str) -> str | None:
    """``git -C folder args`` stdout (stripped), or None when git is absent, fails or hangs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def git_commit_and_author(folder: Path | None) -> tuple[str | None, str | None]:
    """The HEAD commit of the work tree holding ``folder`` and that commit's author
    (``Name <email>``); (None, None) when git is absent, the folder is not in a work tree or
    git fails."""
    if folder is None or not Path(folder).is_dir():
        return None, None
    if _git(Path(folder), "rev-parse", "--is-inside-work-tree") != "true":
        return None, None
    commit = _git(Path(folder), "rev-parse", "HEAD")
    if commit is None:
        return None, None
    author = _git(Path(folder), "log", "-1", "--format=%an <%ae>", commit)
    if author is None:  # both or neither (a guard holds fct_runs to it)
        return None, None
    return commit, author


def code_version() -> str:
    """``quotaboard <version>``, the repository's commit when it is a git work tree, and the
    code fingerprint (``run_inputs.code_fingerprint``: every file of the package, the dbt
    project and the GX suites), e.g. ``quotaboard 0.1.0 git 1a2b3c4d5e6f code 9f8e7d6c5b4a``."""
    from dagster_project.resources import REPO_ROOT
    from dagster_project.run_inputs import code_fingerprint

    try:
        version = importlib.metadata.version("quotaboard")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    parts = [f"quotaboard {version}"]
    commit = None
    if (REPO_ROOT / ".git").exists():
        commit = _git(REPO_ROOT, "rev-parse", "HEAD")
    if commit:
        parts.append(f"git {commit[:12]}")
    with contextlib.suppress(OSError):
        parts.append(f"code {code_fingerprint(REPO_ROOT)[:12]}")
    return " ".join(parts)


# ------------------------------------------------------------------------------------------
# the publish steps


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _cols(columns: Mapping[str, str]) -> str:
    return ", ".join(_q(c) for c in columns)


def reconcile_run_record(conn: duckdb.DuckDBPyConnection, published_path: Path) -> int:
    """Copy runs the published file holds (``fct_runs``, ``fct_config_changes``) but the master
    lacks back into ``history.runs`` and ``history.config_changes``, and rebuild their
    ``history.run_config`` from the change rows. Returns the number of runs restored."""
    ensure_run_record_tables(conn)
    if not Path(published_path).exists():
        return 0
    conn.execute(f"ATTACH {_sql_str(str(published_path))} AS prev_rr (READ_ONLY)")
    try:
        have = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'prev_rr' and table_schema = 'marts'"
            ).fetchall()
        }
        if RUNS_MODEL not in have:
            return 0
        runs = f"{HISTORY_SCHEMA}.{RUNS_TABLE}"
        missing = [
            r[0]
            for r in conn.execute(
                f"select run_id from prev_rr.marts.{RUNS_MODEL} "
                f"where run_id not in (select run_id from {runs}) order by published_at, run_id"
            ).fetchall()
        ]
        if not missing:
            return 0
        conn.execute("BEGIN TRANSACTION")
        conn.execute(
            f"INSERT INTO {runs} ({_cols(RUNS_COLUMNS)}) "
            f"select {_cols(RUNS_COLUMNS)} from prev_rr.marts.{RUNS_MODEL} "
            "where list_contains(?, run_id)",
            [missing],
        )
        changes = f"{HISTORY_SCHEMA}.{CONFIG_CHANGES_TABLE}"
        if CHANGES_MODEL in have:
            conn.execute(f"DELETE FROM {changes} where list_contains(?, run_id)", [missing])
            conn.execute(
                f"INSERT INTO {changes} ({_cols(CONFIG_CHANGES_COLUMNS)}) "
                f"select {_cols(CONFIG_CHANGES_COLUMNS)} from prev_rr.marts.{CHANGES_MODEL} "
                "where list_contains(?, run_id)",
                [missing],
            )
        for run_id in missing:
            _replay_run_config(conn, run_id)
        conn.execute("COMMIT")
        return len(missing)
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("DETACH prev_rr")


def _replay_run_config(conn: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """``history.run_config`` of a run rebuilt from the change rows up to it: for each value,
    its latest change (``removed``: gone, else its new value)."""
    rc = f"{HISTORY_SCHEMA}.{RUN_CONFIG_TABLE}"
    conn.execute(f"DELETE FROM {rc} WHERE run_id = ?", [run_id])
    conn.execute(
        f"""
        INSERT INTO {rc} ({_cols(RUN_CONFIG_COLUMNS)})
        with this_run as (
            select published_at, run_id from {HISTORY_SCHEMA}.{RUNS_TABLE} where run_id = ?
        ),
        upto as (
            select c.file, c.row_key, c.column_name, c.change, c.new_value,
                row_number() over (
                    partition by c.file, c.row_key, c.column_name
                    order by r.published_at desc, r.run_id desc
                ) as rn
            from {HISTORY_SCHEMA}.{CONFIG_CHANGES_TABLE} c
            join {HISTORY_SCHEMA}.{RUNS_TABLE} r on r.run_id = c.run_id
            cross join this_run t
            where (r.published_at < t.published_at
                   or (r.published_at = t.published_at and r.run_id <= t.run_id))
              and list_contains(?, c.file)
        )
        select ?, file, row_key, column_name, new_value from upto
        where rn = 1 and change <> 'removed'
        """,
        [run_id, list(RECORDED_FILES), run_id],
    )


def prepare_run_record(
    conn: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: date | None,
    published_at: datetime,
    config_dir: Path | None = None,
    reopened_periods: str | Iterable[str] | None = None,
) -> RunRecord:
    """This run's fct_runs row and its changes against the previous published run."""
    ensure_run_record_tables(conn)
    config = read_config(conn)
    previous = previous_run(conn, run_id)
    old = run_config(conn, previous) if previous is not None else None
    reopened = normalise_reopened(reopened_periods)
    changes = diff_config(old, config) + reopen_changes(reopened)
    commit, author = git_commit_and_author(config_dir)
    row: dict[str, object] = {
        "run_id": run_id,
        "as_of": as_of,
        **read_data_through(conn),
        "published_at": published_at,
        "config_fingerprint": config_fingerprint(config),
        "config_commit": commit,
        "config_author": author,
        "code_version": code_version(),
        "reopened_periods": ",".join(reopened) or None,
    }
    return RunRecord(run_id, published_at, row, config, changes, previous)


def _stage(conn: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """This run's rows as temp tables of the connection (rr_run, rr_changes, rr_config)."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE rr_run AS SELECT * FROM {HISTORY_SCHEMA}.{RUNS_TABLE} "
        "LIMIT 0"
    )
    conn.execute(
        f"INSERT INTO rr_run ({_cols(RUNS_COLUMNS)}) VALUES "
        f"({', '.join('?' for _ in RUNS_COLUMNS)})",
        [record.row[c] for c in RUNS_COLUMNS],
    )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE rr_changes AS SELECT * FROM "
        f"{HISTORY_SCHEMA}.{CONFIG_CHANGES_TABLE} LIMIT 0"
    )
    rows = [
        [c.file, c.row_key, c.column_name, c.change, c.old_value, c.new_value]
        for c in record.changes
    ]
    if rows:
        conn.execute(
            f"INSERT INTO rr_changes ({_cols(CONFIG_CHANGES_COLUMNS)}) "
            "select ?, ?, v[1], v[2], v[3], v[4], v[5], v[6] "
            "from (select unnest(?::varchar[][]) as v)",
            [record.run_id, record.published_at, rows],
        )
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE rr_config AS SELECT * FROM "
        f"{HISTORY_SCHEMA}.{RUN_CONFIG_TABLE} LIMIT 0"
    )
    cfg = [[f, k, c, v] for (f, k, c), v in sorted(record.config.items())]
    if cfg:
        conn.execute(
            f"INSERT INTO rr_config ({_cols(RUN_CONFIG_COLUMNS)}) "
            "select ?, v[1], v[2], v[3], v[4] from (select unnest(?::varchar[][]) as v)",
            [record.run_id, cfg],
        )


def company_timezone(conn: duckdb.DuckDBPyConnection) -> str:
    """The configured company time zone (``config.settings``), UTC when it cannot be read."""
    with contextlib.suppress(duckdb.Error):
        row = conn.execute("select timezone from config.settings limit 1").fetchone()
        if row and row[0]:
            return str(row[0])
    return "UTC"


def write_published(conn: duckdb.DuckDBPyConnection, record: RunRecord, target: str) -> None:
    """``<target>.fct_runs`` and ``<target>.fct_config_changes`` (``target`` is the new
    file's schema, e.g. ``pub.marts``): the master's other runs + this run."""
    _stage(conn, record)
    me = _sql_str(record.run_id)
    runs_cols = _cols(RUNS_COLUMNS)
    # as_of_in_past: the run published an as_of before the day it ran (company time zone), a
    # rerun of a past date; derived here, not kept in history.runs.
    tz = _sql_str(company_timezone(conn))
    conn.execute(
        f"""
        CREATE TABLE {target}.{RUNS_MODEL} AS
        with runs as (
            select {runs_cols} from {HISTORY_SCHEMA}.{RUNS_TABLE} where run_id <> {me}
            union all
            select {runs_cols} from temp.rr_run
        )
        select *,
            as_of < cast(timezone({tz}, timezone('UTC', published_at)) as date)
                as as_of_in_past
        from runs
        order by published_at, run_id
        """
    )
    ch_cols = _cols(CONFIG_CHANGES_COLUMNS)
    conn.execute(
        f"""
        CREATE TABLE {target}.{CHANGES_MODEL} AS
        select {ch_cols} from {HISTORY_SCHEMA}.{CONFIG_CHANGES_TABLE} where run_id <> {me}
        union all
        select {ch_cols} from temp.rr_changes
        order by published_at, run_id, file, row_key, column_name
        """
    )


def commit_rows(conn: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    """This run's rows into the masters (delete + insert: a retried publish of the same run
    does not duplicate them). Called inside the publish's commit transaction."""
    _stage(conn, record)
    for table, cols, staged in (
        (RUNS_TABLE, RUNS_COLUMNS, "rr_run"),
        (CONFIG_CHANGES_TABLE, CONFIG_CHANGES_COLUMNS, "rr_changes"),
        (RUN_CONFIG_TABLE, RUN_CONFIG_COLUMNS, "rr_config"),
    ):
        conn.execute(f"DELETE FROM {HISTORY_SCHEMA}.{table} WHERE run_id = ?", [record.run_id])
        conn.execute(
            f"INSERT INTO {HISTORY_SCHEMA}.{table} ({_cols(cols)}) "
            f"SELECT {_cols(cols)} FROM temp.{staged}"
        )
