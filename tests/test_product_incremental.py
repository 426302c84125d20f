"""Incremental equals full refresh for the product-usage models.

Builds the product models with dbt on a temporary warehouse, lands random late messages
(new track events, group calls that change a user's workspace or a workspace's account,
re-deliveries of existing messageIds in files sorting before or after the original, bad
lines), may move as_of on, change the plans or the feature ownership or delete an account,
runs dbt incrementally, and compares the daily aggregate, the product credits and the message
exceptions with a ``--full-refresh`` build of the same data.

Late messages are dated anywhere in the data's range, not only inside
``late_message_lookback_days``: the aggregate re-processes the dates of newly loaded lines
(by ``_loaded_at``), so the property holds for any late date (see the model's YAML for the
cases that do need a full refresh: rows removed or rewritten in raw).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
# PRODUCT_TEST_DBT_DIR: run against a copy of the dbt project (e.g. while it is being edited).
DBT_DIR = Path(os.environ.get("PRODUCT_TEST_DBT_DIR", REPO / "dbt"))
sys.path.insert(0, str(REPO))

from dagster_project.ingest.schema import create_empty_tables  # noqa: E402

AS_OF = "2026-11-23"
SELECT = ["+int_product_credits", "+int_product_exceptions"]
COMPARED = {
    "intermediate.int_product_events_daily": (
        "message_date, workspace_id, feature, event, _source_file"
    ),
    "intermediate.int_product_credits": (
        "assignee_id, metric, fiscal_period, source_id, rule, credit_date"
    ),
    "intermediate.int_product_exceptions": "reason, source_id",
}
COLUMNS = (
    "message_id, type, timestamp, user_id, anonymous_id, event, feature, context_group_id,"
    " group_id, crm_account_id, _is_valid_json, _raw_line, _source_file, _source_line, _loaded_at"
)

USERS = ["u1", "u2", "u3", "u4"]
WORKSPACES = ["w1", "w2", "w3", "w4"]
ACCOUNTS = ["001A", "001B", "001C", "001DEAD", "001UNKNOWN"]
FEATURES = ["reports", "alerts", "sso", "api"]
EVENTS = ["Feature Used", "App Installed", "Integration Installed", "Page Viewed"]
FILES = [
    "product_usage/2026-11-01.jsonl",
    "product_usage/2026-11-10.jsonl",
    "product_usage/2026-11-20.jsonl",
    "product_usage/late/a.jsonl",
    "product_usage/0-early.jsonl",
]
OFFSETS = ["Z", "+00:00", "-05:00", "+09:30", ""]
T0 = dt.datetime(2026, 11, 21, 2, 0, 0)
T1 = dt.datetime(2026, 11, 22, 2, 0, 0)
DAY0 = dt.date(2026, 10, 25)
N_DAYS = 32  # up to 2026-11-25: some messages land after as_of


def _ts_text(day: int, seconds: int, offset: str) -> str:
    moment = dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time()) + dt.timedelta(
        seconds=seconds
    )
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset


def _seed_config(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("delete from config.settings")
    con.execute(
        "insert into config.settings values ('USD', 2, 'America/New_York',"
        " ['App Installed', 'Integration Installed'], 30, 3, 14, 0.8, 26, 3, null, true,"
        " 'Promised_Features__c', 'hold', null)"
    )
    con.executemany(
        "insert into config.teams values (?, ?, ?, ?, ?)",
        [
            ("product", "Product", "product", None, "Grow usage."),
            ("analytics", "Analytics", "product", "product", "Reports customers use."),
            ("platform", "Platform", "rnd", "product", "Reliable platform."),
        ],
    )
    # `reports` moves from analytics to platform on 2026-11-10 (ownership on the event's
    # date, spec 1.1): incremental runs must credit each side of the move as a full rebuild does.
    moved = dt.date(2026, 11, 10)
    con.executemany(
        "insert into config.feature_ownership (feature, team_id, valid_from, valid_to)"
        " values (?, ?, ?, ?)",
        [
            ("reports", "analytics", None, moved),
            ("reports", "platform", moved, None),
            ("alerts", "analytics", None, None),
            ("sso", "platform", None, None),
            ("api", "platform", None, None),
        ],
    )
    plans = []
    for team in ("product", "analytics", "platform"):
        for metric in (
            "active_accounts",
            "feature_adopting_accounts",
            "installs",
            "influenced_bookings",
            "activated_accounts",
        ):
            # FY2027-M09 (October) is closed before as_of: a period late messages and config
            # changes reach after it closed.
            for period in ("FY2027-Q4", "FY2027-M10", "FY2027-M09"):
                plans.append(("team", team, period, metric, 10.0, None, None, None, "n"))
    con.executemany("insert into config.quota_plans values (?,?,?,?,?,?,?,?,?)", plans)
    con.executemany(
        "insert into raw.account (id, name, system_modstamp, is_deleted, _source_file,"
        " _source_line, _loaded_at) values (?, ?, '2026-01-01T00:00:00Z', ?, 'crm/Account.csv',"
        " ?, ?)",
        [
            ("001A", "A", "false", 2, T0),
            ("001B", "B", "false", 3, T0),
            ("001C", "C", "false", 4, T0),
            ("001DEAD", "Dead", "true", 5, T0),
        ],
    )
    opps = [
        ("006A1", "001A", "2026-11-02", "1000"),
        ("006A2", "001A", "2026-11-12", "500"),
        ("006B1", "001B", "2026-11-05", ""),  # won without amount: still the first win
        ("006C1", "001C", "2026-11-15", "2500"),
    ]
    con.executemany(
        "insert into raw.opportunity (id, account_id, owner_id, amount, close_date, stage_name,"
        " is_closed, is_won, created_date, system_modstamp, _source_file, _source_line,"
        " _loaded_at) values (?, ?, 'U1', ?, ?, 'Closed Won', 'true', 'true',"
        " '2026-09-01T00:00:00Z', '2026-11-01T00:00:00Z', 'crm/Opportunity.csv', 2, ?)",
        [(i, a, amt, d, T0) for i, a, d, amt in opps],
    )


message_strategy = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "track", "track", "group", "bad_json", "bad_track"]),
        "message_id": st.integers(0, 60),
        "day": st.integers(0, N_DAYS - 1),
        "seconds": st.integers(0, 86399),
        "offset": st.sampled_from(OFFSETS),
        "user": st.sampled_from([*USERS, None]),
        "workspace": st.sampled_from([*WORKSPACES, None, ""]),
        "account": st.sampled_from([*ACCOUNTS, None]),
        "feature": st.sampled_from([*FEATURES, None]),
        "event": st.sampled_from(EVENTS),
        "file": st.sampled_from(FILES),
    }
)


def _rows(messages: list[dict], loaded_at: dt.datetime, line_start: int) -> list[tuple]:
    rows = []
    for i, m in enumerate(messages):
        line = line_start + i
        ts = _ts_text(m["day"], m["seconds"], m["offset"])
        mid = f"m{m['message_id']}"
        if m["type"] == "bad_json":
            rows.append((None,) * 10 + (False, "{not json", m["file"], line, loaded_at))
        elif m["type"] == "bad_track":
            rows.append(
                (
                    mid,
                    "track",
                    "not-a-time",
                    m["user"],
                    None,
                    m["event"],
                    m["feature"],
                    m["workspace"],
                    None,
                    None,
                    True,
                    None,
                    m["file"],
                    line,
                    loaded_at,
                )
            )
        elif m["type"] == "group":
            rows.append(
                (
                    mid,
                    "group",
                    ts,
                    m["user"],
                    None,
                    None,
                    None,
                    None,
                    m["workspace"] or "w1",
                    m["account"],
                    True,
                    None,
                    m["file"],
                    line,
                    loaded_at,
                )
            )
        else:
            rows.append(
                (
                    mid,
                    "track",
                    ts,
                    m["user"],
                    None,
                    m["event"],
                    m["feature"],
                    m["workspace"],
                    None,
                    None,
                    True,
                    None,
                    m["file"],
                    line,
                    loaded_at,
                )
            )
    return rows


def _insert(db: Path, rows: list[tuple]) -> None:
    con = duckdb.connect(str(db))
    try:
        if rows:
            marks = ", ".join("?" * 15)
            con.executemany(f"insert into raw.messages ({COLUMNS}) values ({marks})", rows)
    finally:
        con.close()


def _dbt(db: Path, target: Path, *extra: str, as_of: str = AS_OF) -> None:
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        "QUOTABOARD_WAREHOUSE_PATH": str(db),
    }
    dbt = REPO / ".venv" / "bin" / "dbt"
    cmd = [
        str(dbt) if dbt.exists() else "dbt",
        "run",
        "--profiles-dir",
        ".",
        "--vars",
        f'{{as_of: "{as_of}"}}',
        "--select",
        *SELECT,
        *extra,
    ]
    result = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _snapshot(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            table: con.execute(
                f"select * from {table}"
                # empty-date markers of the aggregate (event_count 0) may differ at the range
                # edges; readers skip them
                + (" where event_count > 0" if table.endswith("events_daily") else "")
                + " order by all"
            ).fetchall()
            for table in COMPARED
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def base_warehouse(tmp_path_factory):
    """A warehouse with config, CRM rows and a first batch of messages, built once."""
    root = tmp_path_factory.mktemp("product_incremental")
    db = root / "base.duckdb"
    con = duckdb.connect(str(db))
    create_empty_tables(con)
    _seed_config(con)
    con.close()
    first = [
        {
            "type": t,
            "message_id": i,
            "day": (i * 7) % 28,
            "seconds": (i * 3607) % 86400,
            "offset": OFFSETS[i % len(OFFSETS)],
            "user": USERS[i % 4],
            "workspace": [*WORKSPACES, None, ""][i % 6],
            "account": ACCOUNTS[i % 5],
            "feature": [*FEATURES, None][i % 5],
            "event": EVENTS[i % 4],
            "file": FILES[i % 3],
        }
        for i, t in enumerate(["track"] * 30 + ["group"] * 8)
    ]
    _insert(db, _rows(first, T0, 2))
    target = root / "target"
    _dbt(db, target)
    return root, db, target


# Changes to the inputs between the first build and the incremental run, besides late
# messages: the credits of an incremental run must follow each as a full rebuild does.
CHANGES = {
    "none": [],
    # sso moves from platform to analytics for all time: every period's lines of both teams.
    "ownership_moves": [
        "update config.feature_ownership set team_id = 'analytics' where feature = 'sso'"
    ],
    # a closed period loses a plan row: its lines of that team and metric go.
    "plan_dropped": [
        "delete from config.quota_plans where assignee_id = 'analytics'"
        " and fiscal_period = 'FY2027-M09' and metric = 'feature_adopting_accounts'"
    ],
    # a new plan period (September: no events, so no line) and a new team plan in October.
    "plan_added": [
        "insert into config.quota_plans values ('team', 'product', 'FY2027-M08', 'installs',"
        " 5.0, null, null, null, 'n')",
        "insert into config.quota_plans values ('team', 'platform', 'FY2027-M09', 'installs',"
        " 5.0, null, null, null, 'n')",
    ],
    # an account deleted in the CRM: its workspaces' events become unattributed in every period.
    "account_deleted": ["update raw.account set is_deleted = 'true' where id = '001B'"],
}


def _apply(db: Path, statements: list[str]) -> None:
    con = duckdb.connect(str(db))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


@pytest.mark.slow
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    late=st.lists(message_strategy, min_size=0, max_size=25),
    change=st.sampled_from(sorted(CHANGES)),
    as_of_days_later=st.sampled_from([0, 1, 9]),
)
# Every change at least once, whatever hypothesis draws.
@example(late=[], change="ownership_moves", as_of_days_later=0)
@example(late=[], change="plan_dropped", as_of_days_later=1)
@example(late=[], change="plan_added", as_of_days_later=9)
@example(late=[], change="account_deleted", as_of_days_later=0)
@example(late=[], change="none", as_of_days_later=9)
def test_incremental_equals_full_refresh(base_warehouse, late, change, as_of_days_later):
    root, base_db, target = base_warehouse
    work = root / "work.duckdb"
    shutil.copy(base_db, work)
    _insert(work, _rows(late, T1, 1000))
    _apply(work, CHANGES[change])
    # 0: the same day again; 1: the next night; 9: 2026-12-02, after FY2027-M10 closed.
    as_of = (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=as_of_days_later)).isoformat()

    _dbt(work, target, as_of=as_of)  # incremental
    incremental = _snapshot(work)
    _dbt(work, target, "--full-refresh", as_of=as_of)
    full = _snapshot(work)

    for table in COMPARED:
        assert incremental[table] == full[table], table


@pytest.mark.slow
def test_incremental_run_without_new_lines_changes_nothing(base_warehouse):
    root, base_db, target = base_warehouse
    work = root / "noop.duckdb"
    shutil.copy(base_db, work)
    before = _snapshot(work)
    _dbt(work, target)
    assert _snapshot(work) == before


def _typed_messages(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "select * from staging.base_product_usage__messages order by all"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_typed_messages_mirror_raw_file_by_file(base_warehouse):
    """Rule: the typed message table (base_product_usage__messages, incremental on DuckDB)
    always equals typing raw.messages from scratch. The loader replaces a changed file's rows
    as a whole: a file reloaded with other lines, a file reloaded with no lines at all, and a
    new file must each leave the table as a full rebuild would, and a change of the company
    time zone re-dates every row."""
    root, base_db, target = base_warehouse
    work = root / "mirror.duckdb"
    shutil.copy(base_db, work)
    reloaded, emptied = FILES[0], FILES[1]
    con = duckdb.connect(str(work))
    try:
        before = con.execute(
            "select count(*) filter (where _source_file = ?),"
            " count(*) filter (where _source_file = ?) from raw.messages",
            [reloaded, emptied],
        ).fetchone()
        assert before[0] > 0 and before[1] > 0, "the base batch must fill both files"
        # What the loader does for a changed file: delete its rows, insert the new version.
        con.execute("delete from raw.messages where _source_file in (?, ?)", [reloaded, emptied])
    finally:
        con.close()
    new_lines = [
        {
            "type": "track",
            "message_id": 900 + i,
            "day": 20 + i,
            "seconds": 3600 * (i + 1),
            "offset": "Z",
            "user": "u1",
            "workspace": "w1",
            "account": None,
            "feature": "reports",
            "event": "Feature Used",
            "file": reloaded if i < 2 else "product_usage/2026-11-24.jsonl",
        }
        for i in range(3)
    ]
    _insert(work, _rows(new_lines, T1, 1))

    _dbt(work, target)
    incremental = _typed_messages(work)
    files = {row[-3] for row in incremental}
    assert emptied not in files, "rows of a file reloaded with no lines must go"
    assert sum(row[-3] == reloaded for row in incremental) == 2
    _dbt(work, target, "--full-refresh")
    assert incremental == _typed_messages(work)

    con = duckdb.connect(str(work))
    try:
        con.execute("update config.settings set timezone = 'Asia/Tokyo'")
    finally:
        con.close()
    _dbt(work, target)
    retimed = _typed_messages(work)
    assert {row[4] for row in retimed} == {"Asia/Tokyo"}
    assert retimed != incremental, "a later time zone moves some message dates"
    _dbt(work, target, "--full-refresh")
    assert retimed == _typed_messages(work)
