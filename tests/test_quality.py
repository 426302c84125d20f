"""Great Expectations guards (dagster_project.quality, defs/quality/checks.py).

Small DuckDB files built in tmp_path from ``create_empty_tables`` plus inserted rows. GX is
imported once (module-scoped runner): the first test pays the import.
"""

from __future__ import annotations

import gc
import json
import shutil
import weakref
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from dagster_project import metric_registry
from dagster_project.ingest.schema import create_empty_tables
from dagster_project.quality import batches, suites
from dagster_project.quality.runner import QualityRunner, validate_landing, validate_mart

AS_OF = date(2026, 3, 1)
LOADED = datetime(2026, 3, 2, 7, 0, 0)


@pytest.fixture(scope="module")
def runner(tmp_path_factory) -> QualityRunner:
    return QualityRunner(tmp_path_factory.mktemp("home") / "published" / "quality", "test")


def make_warehouse(tmp_path: Path, timezone: str = "UTC", hours: float = 26) -> Path:
    path = tmp_path / "warehouse" / "quotaboard.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        create_empty_tables(conn)
        conn.execute(
            "insert into config.settings (timezone, freshness_max_age_hours) values (?, ?)",
            [timezone, hours],
        )
    finally:
        conn.close()
    return path


def insert(path: Path, table: str, rows: list[dict], loaded_at: datetime = LOADED) -> None:
    conn = duckdb.connect(str(path))
    try:
        for i, row in enumerate(rows):
            row = {
                "_source_file": f"crm/{table}.csv",
                "_source_line": i + 2,
                "_loaded_at": loaded_at,
                **row,
            }
            cols = ", ".join(f'"{c}"' for c in row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"insert into {table} ({cols}) values ({marks})", list(row.values()))
    finally:
        conn.close()


def execute(path: Path, sql: str) -> None:
    with duckdb.connect(str(path)) as conn:
        conn.execute(sql)


def opportunity(**overrides) -> dict:
    row = {
        "id": "006A",
        "account_id": "001A",
        "owner_id": "005A",
        "amount": "1e5",
        "close_date": "2026-02-27",
        "stage_name": "Closed Won",
        "is_closed": "TRUE",
        "is_won": "1",
        "created_date": "2026-01-05T10:00:00.000+0000",
        "system_modstamp": "2026-03-01T10:00:00Z",
        "currency_iso_code": "eur",
    }
    return {**row, **overrides}


def rate(**overrides) -> dict:
    row = {
        "id": "04wA",
        "iso_code": "EUR",
        "conversion_rate": "0.92",
        "start_date": "2026-01-01",
        "system_modstamp": "2026-03-01T10:00:00Z",
    }
    return {**row, **overrides}


def failed_columns(guard) -> dict[str, str]:
    return {f["column"]: f["severity"] for f in guard.failures}


def landing_verdict(guard) -> list[tuple]:
    """Each failed landing expectation: column, severity, unexpected count and percentage (the
    freshness suite, run beside the landing one, left out)."""
    return sorted(
        (f["column"], f["severity"], f["unexpected_count"], round(f["unexpected_percent"], 9))
        for f in guard.failures
        if f["column"] != "age_hours"
    )


# -- suites ------------------------------------------------------------------------------------
def test_suite_json_matches_module(tmp_path):
    suites.write_suites(tmp_path)
    for written in sorted(tmp_path.glob("*.json")):
        committed = suites.SUITES_DIR / written.name
        assert committed.exists(), f"{committed} missing: python -m dagster_project.quality.suites"
        assert json.loads(committed.read_text()) == json.loads(written.read_text()), written.name
    names = {p.stem for p in suites.SUITES_DIR.glob("*.json")}
    assert names == {s["name"] for s in suites.all_suites()}
    assert len(names) == 11 + 1 + len(suites.MART_MODELS)


def test_file_context_loads_the_suites(tmp_path):
    import great_expectations as gx

    project = tmp_path / "expectations"
    shutil.copytree(suites.EXPECTATIONS_DIR, project)
    context = gx.get_context(mode="file", project_root_dir=project)
    names = {s.name for s in context.suites.all()}
    assert {"landing_opportunity", "landing_messages", "freshness", "mart_fct_scorecards"} <= names


# -- landing -----------------------------------------------------------------------------------
def test_good_batch_passes(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    lost = opportunity(id="006B", amount="", is_won="false")
    insert(wh, "raw.opportunity", [opportunity(), lost])
    insert(wh, "raw.dated_conversion_rate", [rate()])
    for table in ("opportunity", "dated_conversion_rate", "messages", "user"):
        guard = validate_landing(runner, wh, table, AS_OF)
        assert guard.passed, guard.summary()
        assert guard.severity is None
    guard = validate_landing(runner, wh, "opportunity", AS_OF)
    assert guard.row_count == 2
    assert guard.success_percent == 100.0
    assert Path(guard.data_docs).name == "index.html" and Path(guard.data_docs).exists()


def test_a_validated_batch_is_not_kept_in_memory(runner):
    """GX caches the batch it validated; the runner drops it, so a large batch does not stay
    resident in the run's process while dbt builds beside it."""
    batch = pd.DataFrame(
        {batches.ROW_INDEX: [0], "rate": [1.1], "iso_code": ["EUR"], "start_date": ["2026-01-01"]}
    )
    runner.validate(suites.landing_suite_name("dated_conversion_rate"), batch, build_docs=False)
    alive = weakref.ref(batch)
    del batch
    gc.collect()
    assert alive() is None


def test_null_id_warns_with_the_row_in_the_sample(runner, tmp_path):
    # The contract handles a row without Id (it takes no part in current state): warn, not block.
    wh = make_warehouse(tmp_path)
    insert(wh, "raw.opportunity", [opportunity(), opportunity(id="  ")])
    guard = validate_landing(runner, wh, "opportunity", AS_OF)
    assert guard.severity == "WARN"
    assert failed_columns(guard) == {"id": "warning"}
    assert guard.unexpected_count == 1
    assert [(r["_source_file"], r["_source_line"]) for r in guard.sample] == [
        ("crm/raw.opportunity.csv", 3)
    ]


def test_negative_conversion_rate_blocks(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    insert(wh, "raw.dated_conversion_rate", [rate(), rate(id="04wB", conversion_rate="-0.5")])
    guard = validate_landing(runner, wh, "dated_conversion_rate", AS_OF)
    assert guard.severity == "ERROR"
    assert failed_columns(guard) == {"conversion_rate__num": "critical"}
    assert guard.sample[0]["id"] == "04wB"
    assert guard.sample[0]["conversion_rate"] == "-0.5"
    assert "crm/raw.dated_conversion_rate.csv:3 (id 04wB)" in guard.summary()


def test_split_percentage_out_of_range_blocks(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    split = {
        "id": "S1",
        "opportunity_id": "006A",
        "split_owner_id": "005A",
        "split_percentage": "150",
        "system_modstamp": "2026-03-01T10:00:00Z",
    }
    insert(wh, "raw.opportunity_split", [split])
    guard = validate_landing(runner, wh, "opportunity_split", AS_OF)
    assert failed_columns(guard) == {"split_percentage__num": "critical"}


def test_unparsable_values_only_warn(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    bad = opportunity(id="006B", amount="12,5", is_won="yes", close_date="2026-02-30")
    insert(wh, "raw.opportunity", [opportunity(), bad])
    guard = validate_landing(runner, wh, "opportunity", AS_OF)
    assert guard.severity == "WARN"
    assert failed_columns(guard) == {
        "amount__parses": "warning",
        "is_won__lower": "warning",
        "close_date__parses": "warning",
    }
    amount = next(r for r in guard.sample if r["_guard"].endswith("(amount__parses)"))
    assert amount["amount"] == "12,5" and amount["id"] == "006B"


@pytest.mark.parametrize(
    ("as_of", "timezone", "fresh"),
    [
        (date(2026, 3, 1), "UTC", True),  # newest 10:00 on as_of: 14 h before the day ends
        (date(2026, 3, 2), "UTC", False),  # 38 h > 26 h
        (date(2026, 3, 1), "Pacific/Kiritimati", True),  # the day ends earlier in UTC+14
    ],
)
def test_freshness_is_measured_against_as_of(runner, tmp_path, as_of, timezone, fresh):
    wh = make_warehouse(tmp_path, timezone=timezone)
    insert(wh, "raw.opportunity", [opportunity()])
    guard = validate_landing(runner, wh, "opportunity", as_of)
    if fresh:
        assert guard.passed, guard.summary()
    else:
        assert guard.severity == "WARN"
        assert failed_columns(guard) == {"age_hours": "warning"}
        assert guard.sample[0]["age_hours"] == 38.0


def test_freshness_of_messages(runner, tmp_path):
    wh = make_warehouse(tmp_path, hours=1)
    msg = {
        "message_id": "m1",
        "type": "track",
        "timestamp": "2026-03-01T12:00:00-05:00",
        "event": "Feature Used",
        "_is_valid_json": True,
    }
    insert(wh, "raw.messages", [msg, {**msg, "message_id": None}])
    guard = validate_landing(runner, wh, "messages", AS_OF)
    assert failed_columns(guard) == {"message_id__present": "warning", "age_hours": "warning"}
    assert guard.severity == "WARN"


@pytest.mark.parametrize(
    "timestamps",
    [
        # the newest instant is not on the newest text date: offsets move it a day or more
        ["2026-11-21T23:00:00-09:00", "2026-11-22T01:00:00+14:00", "2026-11-20T10:00:00Z"],
        # lines near the newest text date do not parse: older lines hold the newest instant
        ["2026-11-30Tnoon", "2026-11-29T25:61:00Z", "2026-02-30T00:00:00Z", "2026-10-01 08:00"],
        # nothing parses at all; then an empty, blank-padded and a year-1 timestamp
        ["soon", "", None],
        ["  2026-11-21T23:59:59.5+05:30  ", "0001-01-01T00:00:00Z", "2026-11-01T00:00:00"],
        ["0001-01-03T00:00:00+02:00", "0001-01-01T12:00:00"],
    ],
)
def test_newest_message_timestamp_is_the_newest_of_every_parsed_line(tmp_path, timestamps):
    """Rule (freshness of raw.messages): the newest timestamp is the maximum over every valid
    line, parsed as the landing rules parse it, though only lines dated near the newest are
    parsed. Compared with parsing every line (invalid lines are never read)."""
    wh = make_warehouse(tmp_path)
    rows = [
        {"message_id": f"m{i}", "type": "track", "timestamp": t, "_is_valid_json": True}
        for i, t in enumerate(timestamps)
    ]
    rows.append({"message_id": "bad", "timestamp": "2027-01-01T00:00:00Z", "_is_valid_json": False})
    rows += (
        [
            {
                "message_id": f"old{i}",
                "type": "track",
                "timestamp": f"2025-0{1 + i % 9}-01T00:00:00Z",
                "_is_valid_json": True,
            }
            for i in range(30)
        ]
        if timestamps[0] != "soon"
        else []
    )
    insert(wh, "raw.messages", rows)
    with duckdb.connect(str(wh), read_only=True) as conn:
        every_line = conn.execute(
            f"select max({batches.parse_sql('timestamp', 'timestamp')}) from raw.messages"
            " where _is_valid_json"
        ).fetchone()[0]
        assert batches.newest_message_timestamp(conn) == every_line


def test_only_the_new_batch_is_validated(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    # An old batch with an ERROR-level failure (no landing file named) ...
    insert(wh, "raw.opportunity", [opportunity(_source_file=None)], loaded_at=datetime(2026, 2, 1))
    insert(wh, "raw.opportunity", [opportunity()], loaded_at=LOADED)
    # ... is not re-judged when only rows loaded since the last publish are validated,
    assert validate_landing(runner, wh, "opportunity", AS_OF, since=datetime(2026, 2, 2)).passed
    # but is when every row is.
    assert validate_landing(runner, wh, "opportunity", AS_OF).severity == "ERROR"


def test_message_batch_validated_on_its_tally_has_the_whole_batch_verdict(runner, tmp_path):
    """Rule: the messages landing suite, validated on the batch's tally counted in DuckDB
    (the batch never read into pandas), reports what validating the whole batch in pandas
    reports: the same failed expectations, counts and percentages (NULLs set aside as GX
    does), and failing rows located by file and line."""
    wh = make_warehouse(tmp_path)
    conn = duckdb.connect(str(wh))
    try:
        # 10,000 lines in two files; a few bad ones, some NULL types (missing, not judged).
        conn.execute(
            """
            insert into raw.messages
                (message_id, type, timestamp, _is_valid_json, _source_file, _source_line,
                 _loaded_at)
            select
                case when i in (5, 4100, 9000) then null else 'm' || i end,
                case when i = 7000 then 'bogus' when i in (11, 12) then null
                     when i % 10 = 0 then 'group' else 'track' end,
                case when i in (2050, 9999) then 'not a time' else '2026-02-28T10:00:00Z' end,
                i not in (3000, 6500),
                case when i < 6000 then 'product_usage/date=2026-02-28/messages.jsonl'
                     else 'product_usage/date=2026-03-01/messages.jsonl' end,
                i + 1, ?
            from range(10000) as t(i)
            """,
            [LOADED],
        )
    finally:
        conn.close()
    tallied = validate_landing(runner, wh, "messages", AS_OF)
    with batches.read_only(wh) as conn:
        assert len(batches.read_tally(conn, "messages", None, ["type"])) < 100  # not 10,000
        whole_batch = batches.read_batch(conn, "messages", None)
    whole = runner.validate("landing_messages", whole_batch)

    assert landing_verdict(tallied) == landing_verdict(whole)
    counts = {f["column"]: f["unexpected_count"] for f in whole.failures}
    assert counts["_is_valid_json"] == 2 and counts["type"] == 1
    assert counts["message_id__present"] == 1  # 4100 and 9000 are group calls (i % 10 == 0)
    assert counts["timestamp__parses"] == 2
    assert tallied.row_count == whole.row_count == 10_000
    failing_lines = {
        r["_source_line"] for r in tallied.sample if r["_guard"].endswith("(timestamp__parses)")
    }
    assert failing_lines == {2051, 10000}  # one in each file


def test_crm_batch_tally_groups_ids_by_whether_they_are_missing(runner, tmp_path):
    """Rule: a CRM landing suite judges Ids (and the source file) by nullness alone, so its
    tally groups them by whether they are missing, not by value: 3,000 distinct Ids make a
    few groups, not 3,000, and the verdict is still the whole batch's (the missing Ids and
    the unparsable amounts counted, the failing rows located by file and line)."""
    wh = make_warehouse(tmp_path)
    insert(
        wh,
        "raw.opportunity",
        [
            opportunity(
                id=None if i in (17, 2500) else f"006{i:05d}",
                amount="lots" if i == 900 else "1e5",
                _source_file="crm/Opportunity/2026-03-01-full.csv",
                _source_line=i + 2,
            )
            for i in range(3000)
        ],
    )
    tallied = validate_landing(runner, wh, "opportunity", AS_OF)
    with batches.read_only(wh) as conn:
        plan = suites.tally_plan(suites.load_suite("landing_opportunity"))
        assert plan is not None and "id" in plan.nulls and "id" not in plan.values
        assert len(batches.read_tally(conn, "opportunity", None, plan.values, plan.nulls)) < 40
        whole = runner.validate(
            "landing_opportunity", batches.read_batch(conn, "opportunity", None)
        )

    assert landing_verdict(tallied) == landing_verdict(whole)
    counts = {f["column"]: f["unexpected_count"] for f in whole.failures}
    assert counts["id"] == 2 and counts["amount__parses"] == 1
    assert tallied.row_count == whole.row_count == 3000
    failing_lines = {r["_source_line"] for r in tallied.sample if r["_guard"].endswith("(id)")}
    assert failing_lines == {19, 2502}


CREDIT_COLUMNS = (
    "credit_id varchar, assignee_type varchar, assignee_id varchar, metric varchar, "
    "credit_date date, amount double, source_type varchar, source_id varchar, rule varchar, "
    "fiscal_period varchar, detail varchar, booking_type varchar"
)


def make_credits(wh: Path, bad: bool = True) -> None:
    """5,000 credit lines; with ``bad``, repeated credit_ids (two values twice; one twelve
    times on lines alike in the judged columns, more than a tally keeps of them; one twelve
    times on lines that differ), NULL credit_ids, values outside their sets and NULL assignee
    and source ids."""
    flaw = "" if bad else "false and "
    with duckdb.connect(str(wh)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(f"create or replace table marts.fct_quota_credits ({CREDIT_COLUMNS})")
        conn.execute(
            f"""
            insert into marts.fct_quota_credits
            select
                case when {flaw} i in (10, 11) then 'dupA' when {flaw} i in (20, 4020) then 'dupB'
                     when {flaw} i between 30 and 41 then 'dupS'
                     when {flaw} i between 1200 and 1332 and i % 12 = 0 then 'dup12'
                     when {flaw} i in (50, 51, 3052) then null else 'c' || i end,
                case when {flaw} i = 60 then 'robot' when i % 3 = 0 then 'team'
                     else 'person' end,
                case when {flaw} i in (70, 35) then null else 'P' || (i % 37) end,
                case when {flaw} i = 80 then 'unknown_metric'
                     else ['bookings', 'installs', 'active_accounts'][i % 3 + 1] end,
                date '2026-02-01' + (i % 28)::int, i * 1.5,
                case when {flaw} i = 100 then 'spreadsheet' else 'opportunity' end,
                case when {flaw} i in (110, 111, 36) then null else 'S' || (i % 500) end,
                case when {flaw} i = 90 then 'magic' else 'owner' end,
                'FY2026-Q1', 'a long credit line text',
                case when i % 4 = 0 then null when {flaw} i in (121, 31) then 'upsell'
                     else 'new_business' end
            from range(5000) as t(i)
            """
        )


def test_credit_mart_validated_on_its_tally_has_the_whole_mart_verdict(
    runner, tmp_path, monkeypatch
):
    """Rule: the credit mart's suite (credit_id unique, the rest row-wise), validated on the
    mart's tally counted in DuckDB (the mart never read into pandas), reports what validating
    the whole mart in pandas reports: the same verdict per expectation, unexpected counts and
    percentages, with every row of a repeated credit_id counted; failing rows are real rows
    with their keys."""
    suite = suites.load_suite("mart_fct_quota_credits")
    plan = suites.tally_plan(suite)
    assert plan is not None and suites.tally_columns(suite) is None  # landing: unchanged
    assert plan.unique == ["credit_id"] and plan.nulls == ["assignee_id", "source_id"]
    wh = make_warehouse(tmp_path)
    make_credits(wh)
    read_mart = batches.read_mart
    with monkeypatch.context() as patch:
        patch.setattr(batches, "read_mart", lambda *a: pytest.fail("the mart read into pandas"))
        tallied = validate_mart(runner, wh, "fct_quota_credits")
        make_credits(wh, bad=False)
        clean = validate_mart(runner, wh, "fct_quota_credits")
    assert clean.passed, clean.summary()
    assert clean.row_count == 5000

    make_credits(wh)
    with batches.read_only(wh) as conn:
        columns = batches.table_columns(conn, "marts", "fct_quota_credits")
        tally = batches.read_mart_tally(
            conn, "fct_quota_credits", columns, plan.values, plan.nulls, plan.unique
        )
        whole_mart = read_mart(conn, "fct_quota_credits")
    whole = runner.validate("mart_fct_quota_credits", whole_mart)
    assert len(tally) < 200 and tally[batches.WEIGHT].sum() == 5000  # not 5,000 rows
    dup12 = tally[tally["credit_id"] == "dup12"]
    assert len(dup12) == batches.TALLY_KEPT_ROWS and dup12[batches.WEIGHT].sum() == 12

    def verdict(guard):
        return sorted(
            (
                f["expectation"],
                f["column"],
                f["severity"],
                f["unexpected_count"],
                round(f["unexpected_percent"], 9),
            )
            for f in guard.failures
        )

    assert verdict(tallied) == verdict(whole)
    assert (tallied.evaluated, tallied.successful) == (whole.evaluated, whole.successful) == (9, 0)
    short = "expect_column_values_to_"
    counts = {
        (f["expectation"].removeprefix(short), f["column"]): f["unexpected_count"]
        for f in tallied.failures
    }
    assert counts == {
        ("be_unique", "credit_id"): 2 + 2 + 12 + 12,  # every line of a repeated credit_id
        ("not_be_null", "credit_id"): 3,
        ("not_be_null", "assignee_id"): 2,
        ("be_in_set", "assignee_type"): 1,
        ("be_in_set", "metric"): 1,
        ("be_in_set", "rule"): 1,
        ("be_in_set", "source_type"): 1,
        ("not_be_null", "source_id"): 3,
        ("be_in_set", "booking_type"): 2,
    }
    unique = next(
        f for f in tallied.failures if f["expectation"] == "expect_column_values_to_be_unique"
    )
    assert round(unique["unexpected_percent"], 9) == round(100 * 28 / (5000 - 3), 9)  # of non-NULL
    assert tallied.row_count == whole.row_count == 5000
    shown = [r for r in tallied.sample if "be_unique" in r["_guard"]]
    assert shown and {r["credit_id"] for r in shown} <= {"dupA", "dupB", "dupS", "dup12"}
    assert all(r["source_type"] and r["fiscal_period"] for r in shown)  # keys of a real row


def test_tally_plan_needs_a_unique_column_judged_by_nullness_alone():
    unique = {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}}
    not_null = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}
    in_set = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "a"}}
    plan = suites.tally_plan({"expectations": [unique, not_null]})
    assert plan == suites.TallyPlan(values=[], nulls=[], unique=["a"])
    assert suites.tally_plan({"expectations": [unique, in_set]}) is None
    mostly = {**unique, "kwargs": {"column": "a", "mostly": 0.9}}
    assert suites.tally_plan({"expectations": [mostly]}) is None


# -- marts -------------------------------------------------------------------------------------
def make_scorecards(wh: Path, status: str, clawback: bool = False) -> None:
    """Two scorecards; with ``clawback`` the person's weighted attainment is negative (a
    clawback adjustment larger than the credits), which must still be publishable."""
    person_score = -0.25 if clawback else 0.8
    conn = duckdb.connect(str(wh))
    try:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.fct_scorecards as select * from (values "
            "('person', 'P1', 'P1 Name', 'FY2026-Q1', ?, 'behind', 2, 0.5, ? / 0.5, false), "
            "('team', 'T1', 'Team', 'FY2026-Q1', 1.2, ?, 1, 0.5, 2.4, false)) "
            "t(assignee_type, assignee_id, assignee_name, fiscal_period, weighted_attainment, "
            "status, component_count, elapsed, pace, period_closed)",
            [person_score, person_score, status],
        )
    finally:
        conn.close()


def test_mart_suite(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    make_scorecards(wh, "achieved")
    assert validate_mart(runner, wh, "fct_scorecards").passed
    make_scorecards(wh, "great")
    guard = validate_mart(runner, wh, "fct_scorecards")
    assert guard.severity == "ERROR"
    assert failed_columns(guard) == {"status": "critical"}
    assert guard.sample[0]["assignee_id"] == "T1"


def test_mart_suite_reads_the_columns_it_judges_and_the_row_keys(runner, tmp_path, monkeypatch):
    """A mart is validated on the columns its suite names plus the keys a failing row is
    reported with, not on every column (the credit mart's text columns would dominate the run's
    memory); the verdict and the reported row are the same."""
    wh = make_warehouse(tmp_path)
    make_scorecards(wh, "great")
    execute(wh, "alter table marts.fct_scorecards add column story varchar default 'long'")
    suite = suites.load_suite(suites.mart_suite_name("fct_scorecards"), suites.SUITES_DIR)
    judged = suites.suite_columns(suite)
    assert "status" in judged and "story" not in judged
    validated: list[list[str]] = []
    validate = runner.validate

    def recording(suite_name, df, *args, **kwargs):
        validated.append(list(df.columns))
        return validate(suite_name, df, *args, **kwargs)

    monkeypatch.setattr(runner, "validate", recording)
    guard = validate_mart(runner, wh, "fct_scorecards")
    assert guard.severity == "ERROR"
    assert failed_columns(guard) == {"status": "critical"}
    assert guard.sample[0]["assignee_id"] == "T1" and guard.sample[0]["fiscal_period"]
    assert "story" not in validated[0] and set(judged) <= set(validated[0])


def test_suite_columns_is_none_when_an_expectation_names_no_column():
    suite = {
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
            {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        ]
    }
    assert suites.suite_columns(suite) is None
    suite["expectations"].pop()
    assert suites.suite_columns(suite) == ["a"]


def test_suite_columns_include_the_column_of_a_row_condition():
    promises = suites.load_suite(suites.mart_suite_name("fct_promises"))
    assert {"status", "released_on", "close_date"} <= set(suites.suite_columns(promises))
    condition = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}}
    condition["kwargs"]["row_condition"] = 'b == "x"'  # a string condition: column unknown
    assert suites.suite_columns({"expectations": [condition]}) is None


def test_negative_attainment_from_a_clawback_is_not_blocked(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    make_scorecards(wh, "on_track", clawback=True)
    guard = validate_mart(runner, wh, "fct_scorecards")
    assert guard.passed, guard.summary()


def test_elapsed_outside_0_1_blocks(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    make_scorecards(wh, "on_track")
    execute(wh, "update marts.fct_scorecards set elapsed = 1.5 where assignee_id = 'P1'")
    guard = validate_mart(runner, wh, "fct_scorecards")
    assert guard.severity == "ERROR"
    assert failed_columns(guard) == {"elapsed": "critical"}


def _value_set(suite_name: str, column: str) -> list:
    (suite,) = [s for s in suites.mart_suites() if s["name"] == suite_name]
    (exp,) = [
        e
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == column
    ]
    return exp["kwargs"]["value_set"]


def _value_pairs(suite_name: str, column_a: str, column_b: str) -> list:
    (suite,) = [s for s in suites.mart_suites() if s["name"] == suite_name]
    (exp,) = [
        e
        for e in suite["expectations"]
        if e["type"] == "expect_column_pair_values_to_be_in_set"
        and (e["kwargs"]["column_A"], e["kwargs"]["column_B"]) == (column_a, column_b)
    ]
    return exp["kwargs"]["value_pairs_set"]


def test_mart_suites_take_metrics_units_and_rules_from_the_registry(
    tmp_path, monkeypatch, registry_with_demo_requests
):
    """Issue 17: the suites spell no metric, unit or rule out; a metric added to the registry
    is accepted by the next generation of the suites, with its unit, assignee types and rules."""
    names = list(metric_registry.metric_names())
    assert "net_new_bookings" in names
    assert _value_set("mart_fct_quota_credits", "metric") == names
    assert _value_set("mart_fct_quota_attainment", "metric") == names
    assert _value_set("mart_fct_quota_credits", "rule") == list(metric_registry.credit_rules())
    assert _value_pairs("mart_fct_quota_attainment", "metric", "unit") == [
        [m, metric_registry.unit_of(m)] for m in names
    ]

    changed = registry_with_demo_requests("sum")
    monkeypatch.setattr(metric_registry, "registry", lambda: metric_registry.load_registry(changed))
    assert "demo_requests" in _value_set("mart_fct_quota_credits", "metric")
    assert _value_set("mart_fct_quota_credits", "rule")[-2:] == [
        "demo_request",
        "manual_adjustment",
    ]
    assert ["demo_requests", "count"] in _value_pairs("mart_fct_quota_attainment", "metric", "unit")
    pairs = _value_pairs("mart_fct_quota_attainment", "assignee_type", "metric")
    assert ["team", "demo_requests"] in pairs and ["person", "demo_requests"] not in pairs


def test_exception_reasons_of_1_1():
    reasons = _value_set("mart_fct_quota_exceptions", "reason")
    assert {"unknown_opportunity_type", "promised_unreleased_feature"} <= set(reasons)


ATTAINMENT_COLUMNS = (
    "assignee_type, assignee_id, assignee_name, fiscal_period, metric, unit, plan_target, "
    "proration_factor, target, actual, attainment, cap, capped_attainment, weight, elapsed, "
    "status, days_in_seat, period_start, period_end, period_closed"
)


def make_attainment(wh: Path, rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in ATTAINMENT_COLUMNS.split(","))
    with duckdb.connect(str(wh)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.fct_quota_attainment (assignee_type varchar, "
            "assignee_id varchar, assignee_name varchar, fiscal_period varchar, metric varchar, "
            "unit varchar, plan_target double, proration_factor double, target double, "
            "actual double, attainment double, cap double, capped_attainment double, "
            "weight double, elapsed double, status varchar, days_in_seat integer, "
            "period_start date, period_end date, period_closed boolean)"
        )
        conn.executemany(
            f"insert into marts.fct_quota_attainment ({ATTAINMENT_COLUMNS}) values ({marks})",
            rows,
        )


def plan_row(assignee_type: str, assignee_id: str, metric: str, unit: str, closed=False):
    return (
        *(assignee_type, assignee_id, f"{assignee_id} Name", "FY2026-Q1", metric, unit),
        *(100.0, 1.0, 100.0, 50.0, 0.5, None, 0.5, 1.0, 0.5, "on_track", 90),
        *(date(2026, 1, 1), date(2026, 3, 31), closed),
    )


def test_attainment_units_and_assignee_types_follow_the_registry(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    good = [
        plan_row("person", "P1", "bookings", "currency"),
        plan_row("team", "T1", "net_new_bookings", "currency", closed=True),
        plan_row("team", "T2", "installs", "count"),
    ]
    make_attainment(wh, good)
    guard = validate_mart(runner, wh, "fct_quota_attainment")
    assert guard.passed, guard.summary()

    make_attainment(wh, [*good, plan_row("person", "P2", "installs", "count")])
    assert failed_columns(validate_mart(runner, wh, "fct_quota_attainment")) == {
        "assignee_type,metric": "critical"
    }
    make_attainment(wh, [*good, plan_row("person", "P2", "bookings", "count")])
    assert failed_columns(validate_mart(runner, wh, "fct_quota_attainment")) == {
        "metric,unit": "critical"
    }
    make_attainment(wh, [*good, plan_row("person", "P2", "bookings", "currency", closed=None)])
    assert failed_columns(validate_mart(runner, wh, "fct_quota_attainment")) == {
        "period_closed": "critical"
    }


PROMISE_COLUMNS = (
    "opportunity_id, account_id, owner_person_id, close_date, amount, booking_type, feature, "
    "owning_team_id, released_on, status, held"
)


def make_promises(wh: Path, rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in PROMISE_COLUMNS.split(","))
    with duckdb.connect(str(wh)) as conn:
        conn.execute("create schema if not exists marts")
        conn.execute(
            "create or replace table marts.fct_promises (opportunity_id varchar, "
            "account_id varchar, owner_person_id varchar, close_date date, amount double, "
            "booking_type varchar, feature varchar, owning_team_id varchar, released_on date, "
            "status varchar, held boolean)"
        )
        conn.executemany(
            f"insert into marts.fct_promises ({PROMISE_COLUMNS}) values ({marks})", rows
        )


def promise(opp: str, feature: str, team, released_on, status: str, held=True, **over):
    row = {
        "opportunity_id": opp,
        "account_id": "001A",
        "owner_person_id": "P1",
        "close_date": date(2026, 2, 27),
        "amount": 1000.0,
        "booking_type": "new_business",
        "feature": feature,
        "owning_team_id": team,
        "released_on": released_on,
        "status": status,
        "held": held,
        **over,
    }
    return tuple(row.values())


def test_promises_suite(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    good = [
        promise("006A", "sso", "platform", date(2026, 2, 27), "released"),
        promise("006A", "reports", "analytics", date(2026, 3, 5), "unreleased"),
        promise("006A", "ai", "analytics", None, "unreleased", amount=None),
        promise("006A", "teleport", None, None, "unknown_feature"),
        promise("006B", "sso", "platform", date(2025, 1, 1), "released", held=False),
        # feature_ownership.csv without released_on: released since always
        promise("006D", "api", "platform", None, "released", held=False),
    ]
    make_promises(wh, good)
    guard = validate_mart(runner, wh, "fct_promises")
    assert guard.passed, guard.summary()

    cases = {
        "status": promise("006C", "sso", "platform", date(2025, 1, 1), "pending"),
        "held": promise("006C", "sso", "platform", date(2025, 1, 1), "released", held=None),
        "amount": promise("006C", "sso", "platform", date(2025, 1, 1), "released", amount=-5.0),
        "booking_type": promise("006C", "sso", "p", None, "unreleased", booking_type="upsell"),
        "close_date,released_on": promise("006C", "reports", "a", date(2026, 3, 5), "released"),
        "released_on,close_date": promise("006C", "sso", "a", date(2025, 1, 1), "unreleased"),
        "owning_team_id": promise("006C", "teleport", "analytics", None, "unknown_feature"),
        "opportunity_id,feature": promise("006A", "sso", "platform", date(2025, 1, 1), "released"),
    }
    for column, bad in cases.items():
        make_promises(wh, [*good, bad])
        guard = validate_mart(runner, wh, "fct_promises")
        assert failed_columns(guard) == {column: "critical"}, (column, guard.summary())
        assert guard.sample and guard.sample[0]["opportunity_id"] in ("006A", "006C"), column


# -- Dagster -----------------------------------------------------------------------------------
def test_blocking_check_through_dagster(tmp_path):
    from dagster_project.defs.quality.checks import build_quality_checks, quality_checks
    from dagster_project.resources import QuotaboardPaths

    assert len(quality_checks) == 11 + len(suites.MART_MODELS)  # landing tables (+ messages)
    assert len(suites.MART_MODELS) == 10  # 1.1: fct_post_close_changes
    assert all(c.check_specs and next(iter(c.check_specs)).blocking for c in quality_checks)

    home = tmp_path / "home"
    paths = QuotaboardPaths(home_dir=str(home), as_of=AS_OF.isoformat())
    key = dg.AssetKey(["raw", "dated_conversion_rate"])

    @dg.asset(key=key)
    def rates() -> None:
        wh = make_warehouse(home)
        insert(wh, "raw.dated_conversion_rate", [rate(), rate(id="04wB", conversion_rate="0")])

    @dg.asset(deps=[key])
    def downstream() -> None:
        pass

    checks = build_quality_checks(raw_tables=["dated_conversion_rate"], mart_models=[])
    result = dg.materialize(
        [rates, downstream, *checks], resources={"paths": paths}, raise_on_error=False
    )
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 1
    ev = evaluations[0]
    assert not ev.passed
    assert ev.severity == dg.AssetCheckSeverity.ERROR
    meta = ev.metadata
    assert meta["unexpected_count"].value == 1
    assert 0 < meta["success_percent"].value < 100
    assert meta["failing_rows"].value[0]["id"] == "04wB"
    assert "04wB" in meta["failing_rows_table"].value
    docs = Path(meta["data_docs"].value)
    # GX's Data Docs sit beside the project's own quality page (published/quality/index.html)
    assert docs == home / "published" / "quality" / "gx" / "index.html" and docs.exists()
    assert meta["as_of"].value == "2026-03-01"
    assert "conversion_rate__num" in ev.description and "04wB" in ev.description
    # blocking: the asset downstream of the failed check did not run
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert key in materialized
    assert dg.AssetKey("downstream") not in materialized


def test_validating_never_imports_pyspark(tmp_path):
    """Run output (issue 21/22): the guards validate pandas DataFrames only, so a run that
    validates imports neither PySpark (seconds, and a pandas-3 FutureWarning on every run)
    nor stops a later Spark build in the same process from importing it. (Importing PySpark
    under pytest-xdist even exits the worker's step: SystemExit 0.) A fresh interpreter,
    since this test process may have imported either already."""
    import subprocess
    import sys

    script = f"""
import sys, warnings
warnings.simplefilter("error", FutureWarning)
import pandas as pd
from dagster_project.quality.runner import QualityRunner
from dagster_project.quality import batches
from dagster_project.quality.suites import FRESHNESS_SUITE
runner = QualityRunner({str(tmp_path / "quality")!r})
df = pd.DataFrame({{batches.ROW_INDEX: [0], "table_name": ["raw.user"], "age_hours": [1.0]}})
guard = runner.validate(FRESHNESS_SUITE, df, {{"freshness_max_age_hours": 48}}, build_docs=False)
assert guard.passed, guard.summary()
assert "pyspark" not in sys.modules, "GX imported PySpark"
import importlib.util
assert importlib.util.find_spec("pyspark") is not None
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]
