"""The shape of the working database that the loaders write and dbt reads.

This module is the contract between the Python loaders (``dagster_project.ingest``) and the
dbt sources (``dbt/models/staging/**/__sources.yml``). Raw CRM tables hold every value as
text, exactly as it landed; typing, parsing and ``invalid_value`` exceptions happen in dbt
staging. Configuration tables are typed, because configuration is validated in Python before
anything runs.
"""

from __future__ import annotations

import duckdb

RAW_SCHEMA = "raw"
CONFIG_SCHEMA = "config"
HISTORY_SCHEMA = "history"

# Columns every raw table carries besides its source columns.
LINEAGE_COLUMNS: dict[str, str] = {
    "_source_file": "VARCHAR",  # path relative to the landing folder, '/' separated
    "_source_line": "BIGINT",  # physical line of the row in its file (header = line 1)
    "_loaded_at": "TIMESTAMP",  # when the loader read the file (UTC)
}


def match_key(name: str) -> str:
    """Names match ignoring case and underscores (input-contract §1): ``Is_Won`` ~ ``iswon``."""
    return name.replace("_", "").lower()


# Salesforce object -> (raw table, required columns, optional columns). Column names are the
# canonical snake_case of the Salesforce API name; every known column exists in the raw table
# (NULL when a file lacks an optional one). Extra source columns are added under their
# snake_case name as they appear.
CRM_OBJECTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "User": (
        "user",
        ("id", "name", "system_modstamp"),
        ("email", "manager_id", "is_active", "is_deleted"),
    ),
    "Account": ("account", ("id", "name", "system_modstamp"), ("is_deleted", "created_date")),
    "Opportunity": (
        "opportunity",
        (
            "id",
            "account_id",
            "owner_id",
            "amount",
            "close_date",
            "stage_name",
            "is_closed",
            "is_won",
            "created_date",
            "system_modstamp",
        ),
        ("currency_iso_code", "type", "is_deleted"),
    ),
    "OpportunitySplit": (
        "opportunity_split",
        ("id", "opportunity_id", "split_owner_id", "split_percentage", "system_modstamp"),
        ("split_type_id", "is_deleted"),
    ),
    "OpportunitySplitType": (
        "opportunity_split_type",
        ("id", "developer_name", "is_total_validated", "system_modstamp"),
        ("is_deleted",),
    ),
    "OpportunityTeamMember": (
        "opportunity_team_member",
        ("id", "opportunity_id", "user_id", "system_modstamp"),
        ("team_member_role", "is_deleted"),
    ),
    # Event needs ActivityDateTime or ActivityDate (at least one): checked by the loader.
    "Event": (
        "event",
        ("id", "what_id", "owner_id", "system_modstamp"),
        ("activity_date_time", "activity_date", "is_deleted"),
    ),
    "Task": (
        "task",
        ("id", "what_id", "owner_id", "activity_date", "system_modstamp"),
        ("is_deleted",),
    ),
    "DatedConversionRate": (
        "dated_conversion_rate",
        ("id", "iso_code", "conversion_rate", "start_date", "system_modstamp"),
        ("next_start_date", "is_deleted"),
    ),
    "CurrencyType": (
        "currency_type",
        ("id", "iso_code", "conversion_rate", "system_modstamp"),
        ("is_corporate", "is_active", "is_deleted"),
    ),
}
REQUIRED_CRM_OBJECTS = ("User", "Account", "Opportunity")

# Canonical raw columns whose landing column is named by a setting rather than by the contract:
# object -> {raw column: settings.yml key}. The landing column whose name matches the setting's
# value (ignoring case and underscores) lands under the raw column; the Salesforce extractor
# queries the field the setting names. ``promised_features``: the promise field
# (input-contract §1), ``Promised_Features__c`` unless ``settings.promise_field`` says otherwise.
SETTING_COLUMNS: dict[str, dict[str, str]] = {
    "Opportunity": {"promised_features": "promise_field"},
}
DEFAULT_PROMISE_FIELD = "Promised_Features__c"

# Segment messages, flattened. All text as landed; `_raw_line` holds the line only when it is
# not valid JSON (then every other field is NULL and `_is_valid_json` is false).
MESSAGE_COLUMNS: dict[str, str] = {
    "message_id": "VARCHAR",  # messageId
    "type": "VARCHAR",
    "timestamp": "VARCHAR",  # ISO 8601 text, parsed in staging
    "user_id": "VARCHAR",  # userId
    "anonymous_id": "VARCHAR",  # anonymousId
    "event": "VARCHAR",
    "feature": "VARCHAR",  # properties.feature
    "context_group_id": "VARCHAR",  # context.groupId
    "group_id": "VARCHAR",  # groupId (group calls)
    "crm_account_id": "VARCHAR",  # traits.crm_account_id
    "_is_valid_json": "BOOLEAN",
    "_raw_line": "VARCHAR",
}
MESSAGES_TABLE = "messages"

# Rows of landing files that could not be read as rows at all (a CSV line with the wrong
# number of fields, say): kept here and reported as `invalid_value` exceptions by dbt.
REJECTED_ROWS_TABLE = "rejected_rows"
REJECTED_ROWS_COLUMNS: dict[str, str] = {
    "object_name": "VARCHAR",  # Salesforce object, or 'messages'
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "column_name": "VARCHAR",  # NULL when the whole line is malformed
    "raw_text": "VARCHAR",
    "error": "VARCHAR",
    "_loaded_at": "TIMESTAMP",
}

# Manifest of loaded landing files (incremental, idempotent loading).
MANIFEST_TABLE = "load_manifest"
MANIFEST_COLUMNS: dict[str, str] = {
    "source_file": "VARCHAR",  # relative to the landing folder
    "target_table": "VARCHAR",
    "size_bytes": "BIGINT",
    "modified_at": "DOUBLE",  # st_mtime
    "row_count": "BIGINT",
    "loaded_at": "TIMESTAMP",
    # How the file was read when that depends on configuration, else NULL. Opportunity files:
    # "promise_field=<match key of settings.promise_field>"; a file read under another value is
    # read again (ingest/crm.py).
    "read_options": "VARCHAR",
}

# Typed business configuration (input-contract §3), validated in Python. Empty cells are NULL;
# defaults (weight 1, prorate true for persons) are applied in dbt staging, where they are
# documented and unit-tested.
CONFIG_TABLES: dict[str, dict[str, str]] = {
    "teams": {
        "team_id": "VARCHAR",
        "team_name": "VARCHAR",
        "function": "VARCHAR",
        "parent_team_id": "VARCHAR",
        "mission": "VARCHAR",
    },
    "people": {
        "person_id": "VARCHAR",
        "person_name": "VARCHAR",
        "crm_user_id": "VARCHAR",
        "team_id": "VARCHAR",
        "role": "VARCHAR",
        "manager_person_id": "VARCHAR",
        "valid_from": "DATE",
        "valid_to": "DATE",
    },
    "quota_plans": {
        "assignee_type": "VARCHAR",
        "assignee_id": "VARCHAR",
        "fiscal_period": "VARCHAR",
        "metric": "VARCHAR",
        "target": "DOUBLE",
        "weight": "DOUBLE",
        "cap": "DOUBLE",
        "prorate": "BOOLEAN",
        "narrative": "VARCHAR",
    },
    # Effective-dated: valid_from inclusive (NULL = since always), valid_to exclusive (NULL =
    # still owned); released_on NULL = not released. release_tracked is false on every row when
    # the file has no released_on column (every feature released since always, as 1.0 files
    # mean), true when it has one.
    "feature_ownership": {
        "feature": "VARCHAR",
        "team_id": "VARCHAR",
        "valid_from": "DATE",
        "valid_to": "DATE",
        "released_on": "DATE",
        "release_tracked": "BOOLEAN",
    },
    "adjustments": {
        "adjustment_id": "VARCHAR",
        "assignee_type": "VARCHAR",
        "assignee_id": "VARCHAR",
        "metric": "VARCHAR",
        "credit_date": "DATE",
        "amount": "DOUBLE",
        "reason": "VARCHAR",
        "approved_by": "VARCHAR",
    },
    # Exactly one row.
    "settings": {
        "corporate_currency": "VARCHAR",
        "fiscal_year_start_month": "INTEGER",
        "timezone": "VARCHAR",
        "install_events": "VARCHAR[]",
        "influence_window_days": "INTEGER",
        "activation_min_events": "INTEGER",
        "activation_window_days": "INTEGER",
        "pace_at_risk": "DOUBLE",
        "freshness_max_age_hours": "DOUBLE",
        "late_message_lookback_days": "INTEGER",
        "duckdb_memory_limit": "VARCHAR",
        "board_show_people": "BOOLEAN",
        "promise_field": "VARCHAR",
        "unreleased_promise_policy": "VARCHAR",
        "closed_through": "DATE",
    },
    # settings.yml `opportunity_types`, one row per entry (the default map when the key is not
    # given): the key as written, the key trimmed and lower-cased (what opportunities' Type is
    # matched on), and its booking type (new_business, expansion or renewal).
    "opportunity_types": {
        "opportunity_type": "VARCHAR",
        "type_key": "VARCHAR",
        "booking_type": "VARCHAR",
    },
}


# The master copy of every published run's attainment rows (metrics.md §8). It lives outside
# what dbt rebuilds, so no full refresh can lose it; publishing appends to it.
HISTORY_TABLE = "attainment_history"
HISTORY_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "as_of": "DATE",
    "published_at": "TIMESTAMP",
    "assignee_type": "VARCHAR",
    "assignee_id": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "metric": "VARCHAR",
    "target": "DOUBLE",
    "actual": "DOUBLE",
    "attainment": "DOUBLE",
}


def crm_columns(object_name: str) -> dict[str, str]:
    """All columns of a raw CRM table, in order: known source columns, then lineage."""
    _, required, optional = CRM_OBJECTS[object_name]
    cols = {c: "VARCHAR" for c in (*required, *optional, *SETTING_COLUMNS.get(object_name, {}))}
    cols.update(LINEAGE_COLUMNS)
    return cols


def _create(conn: duckdb.DuckDBPyConnection, schema: str, table: str, cols: dict[str, str]):
    body = ", ".join(f'"{c}" {t}' for c, t in cols.items())
    conn.execute(f'CREATE TABLE IF NOT EXISTS {schema}."{table}" ({body})')


def _add_missing_columns(
    conn: duckdb.DuckDBPyConnection, schema: str, tables: dict[str, dict[str, str]]
) -> None:
    """Add the columns a newer version declares to tables an older version created (a working
    database outlives upgrades); added columns are NULL in existing rows."""
    existing: dict[str, set[str]] = {}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?",
        [schema],
    ).fetchall():
        existing.setdefault(table, set()).add(column)
    for table, cols in tables.items():
        have = existing.get(table)
        if have is None:
            continue
        for c, t in cols.items():
            if c not in have:
                conn.execute(f'ALTER TABLE {schema}."{table}" ADD COLUMN "{c}" {t}')


def create_empty_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every raw, config and history table (empty) if missing: what dbt needs to build."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CONFIG_SCHEMA}")
    for obj, (table, _, _) in CRM_OBJECTS.items():
        _create(conn, RAW_SCHEMA, table, crm_columns(obj))
    _create(conn, RAW_SCHEMA, MESSAGES_TABLE, {**MESSAGE_COLUMNS, **LINEAGE_COLUMNS})
    _create(conn, RAW_SCHEMA, REJECTED_ROWS_TABLE, REJECTED_ROWS_COLUMNS)
    _create(conn, RAW_SCHEMA, MANIFEST_TABLE, MANIFEST_COLUMNS)
    for table, cols in CONFIG_TABLES.items():
        _create(conn, CONFIG_SCHEMA, table, cols)
    _add_missing_columns(
        conn,
        RAW_SCHEMA,
        {
            **{table: crm_columns(obj) for obj, (table, _, _) in CRM_OBJECTS.items()},
            MANIFEST_TABLE: MANIFEST_COLUMNS,
        },
    )
    _add_missing_columns(conn, CONFIG_SCHEMA, CONFIG_TABLES)
    ensure_history_table(conn)
    ensure_snapshot_tables(conn)
    ensure_run_record_tables(conn)


def ensure_history_table(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``history.attainment_history`` (the master of published history) if missing: the
    one place it is created, for :func:`create_empty_tables` and for the publish."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}")
    _create(conn, HISTORY_SCHEMA, HISTORY_TABLE, HISTORY_COLUMNS)


# Snapshots of closed periods (metrics.md §13): the rows of fct_quota_attainment, fct_scorecards
# and mart_team_board of a closed fiscal period, as the first published run that saw the period
# closed computed them, plus which run closed it. Like the history master they live outside
# what dbt rebuilds; the publish appends to them, ``dagster_project.period_close`` reconciles
# them from the published file and drops the snapshots of reopened periods.
_CLOSED_AT = {"closed_at_run_id": "VARCHAR", "closed_at": "TIMESTAMP"}
CLOSED_ATTAINMENT_COLUMNS: dict[str, str] = {
    "assignee_type": "VARCHAR",
    "assignee_id": "VARCHAR",
    "assignee_name": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "metric": "VARCHAR",
    "unit": "VARCHAR",
    "plan_target": "DOUBLE",
    "proration_factor": "DOUBLE",
    "target": "DOUBLE",
    "actual": "DOUBLE",
    "attainment": "DOUBLE",
    "cap": "DOUBLE",
    "capped_attainment": "DOUBLE",
    "weight": "DOUBLE",
    "elapsed": "DOUBLE",
    "pace": "DOUBLE",
    "projected_actual": "DOUBLE",
    "status": "VARCHAR",
    "narrative": "VARCHAR",
    "days_in_seat": "INTEGER",
    "period_start": "DATE",
    "period_end": "DATE",
    **_CLOSED_AT,
}
CLOSED_SCORECARDS_COLUMNS: dict[str, str] = {
    "assignee_type": "VARCHAR",
    "assignee_id": "VARCHAR",
    "assignee_name": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "weighted_attainment": "DOUBLE",
    "status": "VARCHAR",
    "component_count": "INTEGER",
    "elapsed": "DOUBLE",
    "pace": "DOUBLE",
    **_CLOSED_AT,
}
CLOSED_BOARD_COLUMNS: dict[str, str] = {
    "team_id": "VARCHAR",
    "team_name": "VARCHAR",
    "function": "VARCHAR",
    "mission": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "reference_date": "DATE",
    "weighted_attainment": "DOUBLE",
    "status": "VARCHAR",
    "quota_carriers": "INTEGER",
    "carriers_at_or_above": "INTEGER",
    "median_carrier_attainment": "DOUBLE",
    **_CLOSED_AT,
}
# history table -> (published mart it snapshots, its columns)
SNAPSHOT_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "closed_attainment": ("fct_quota_attainment", CLOSED_ATTAINMENT_COLUMNS),
    "closed_scorecards": ("fct_scorecards", CLOSED_SCORECARDS_COLUMNS),
    "closed_board": ("mart_team_board", CLOSED_BOARD_COLUMNS),
}
# Which difference between a snapshotted actual and the live one was first seen by which run
# (fct_post_close_changes.first_seen_run_id stays that run while the live actual stays the same).
POST_CLOSE_TABLE = "post_close_changes"
POST_CLOSE_COLUMNS: dict[str, str] = {
    "assignee_type": "VARCHAR",
    "assignee_id": "VARCHAR",
    "fiscal_period": "VARCHAR",
    "metric": "VARCHAR",
    "live_actual": "DOUBLE",
    "first_seen_run_id": "VARCHAR",
}


def ensure_snapshot_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the closed-period snapshot masters and ``history.post_close_changes`` if missing
    (the one place they are created, for :func:`create_empty_tables` and for the publish)."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}")
    for table, (_, cols) in SNAPSHOT_TABLES.items():
        _create(conn, HISTORY_SCHEMA, table, cols)
    _create(conn, HISTORY_SCHEMA, POST_CLOSE_TABLE, POST_CLOSE_COLUMNS)


# Who changed what (metrics.md §14): one row per published run (history.runs), the normalised
# configuration each published run used (history.run_config: one row per file, row key and
# column, the value as text) and every configuration change of every published run
# (history.config_changes). Masters like history.attainment_history: outside what dbt
# rebuilds; the publish appends to them and ``dagster_project.run_record`` reconciles them from
# the published file (fct_runs, fct_config_changes).
RUNS_TABLE = "runs"
RUNS_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "as_of": "DATE",
    "data_through": "DATE",
    "crm_through": "DATE",
    "messages_through": "DATE",
    "published_at": "TIMESTAMP",
    "config_fingerprint": "VARCHAR",
    "config_commit": "VARCHAR",
    "config_author": "VARCHAR",
    "code_version": "VARCHAR",
    "reopened_periods": "VARCHAR",
}
RUN_CONFIG_TABLE = "run_config"
RUN_CONFIG_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "file": "VARCHAR",
    "row_key": "VARCHAR",
    "column_name": "VARCHAR",
    "value": "VARCHAR",
}
CONFIG_CHANGES_TABLE = "config_changes"
CONFIG_CHANGES_COLUMNS: dict[str, str] = {
    "run_id": "VARCHAR",
    "published_at": "TIMESTAMP",
    "file": "VARCHAR",
    "row_key": "VARCHAR",
    "column_name": "VARCHAR",
    "change": "VARCHAR",
    "old_value": "VARCHAR",
    "new_value": "VARCHAR",
}
RUN_RECORD_TABLES: dict[str, dict[str, str]] = {
    RUNS_TABLE: RUNS_COLUMNS,
    RUN_CONFIG_TABLE: RUN_CONFIG_COLUMNS,
    CONFIG_CHANGES_TABLE: CONFIG_CHANGES_COLUMNS,
}


def ensure_run_record_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create ``history.runs``, ``history.run_config`` and ``history.config_changes`` if missing
    (the one place they are created, for :func:`create_empty_tables` and for the publish)."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {HISTORY_SCHEMA}")
    for table, cols in RUN_RECORD_TABLES.items():
        _create(conn, HISTORY_SCHEMA, table, cols)
