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


def test_only_the_new_batch_is_validated(runner, tmp_path):
    wh = make_warehouse(tmp_path)
    # An old batch with an ERROR-level failure (no landing file named) ...
    insert(wh, "raw.opportunity", [opportunity(_source_file=None)], loaded_at=datetime(2026, 2, 1))
    insert(wh, "raw.opportunity", [opportunity()], loaded_at=LOADED)
    # ... is not re-judged when only rows loaded since the last publish are validated,
    assert validate_landing(runner, wh, "opportunity", AS_OF, since=datetime(2026, 2, 2)).passed
    # but is when every row is.
    assert validate_landing(runner, wh, "opportunity", AS_OF).severity == "ERROR"


def test_large_message_batch_is_validated_in_parts_with_the_same_verdict(runner, tmp_path):
    """Rule: a row-wise landing suite validated part by part (bounded memory) reports what
    validating the whole batch at once reports: the same failed expectations, counts and
    percentages, and failing rows located by file and line across parts."""
    wh = make_warehouse(tmp_path)
    conn = duckdb.connect(str(wh))
    try:
        # 10,000 lines over 5 parts of 2,048 rows; bad lines fall in different parts.
        conn.execute(
            """
            insert into raw.messages
                (message_id, type, timestamp, _is_valid_json, _source_file, _source_line,
                 _loaded_at)
            select
                case when i in (5, 4100, 9000) then null else 'm' || i end,
                case when i = 7000 then 'bogus' when i % 10 = 0 then 'group' else 'track' end,
                case when i in (2050, 9999) then 'not a time' else '2026-02-28T10:00:00Z' end,
                i not in (3000, 6500),
                'product_usage/date=2026-02-28/messages.jsonl', i + 1, ?
            from range(10000) as t(i)
            """,
            [LOADED],
        )
    finally:
        conn.close()
    whole = validate_landing(runner, wh, "messages", AS_OF, chunk_rows=10**9)
    parts = validate_landing(runner, wh, "messages", AS_OF, chunk_rows=2048)

    def verdict(guard):
        return sorted(
            (f["column"], f["severity"], f["unexpected_count"], round(f["unexpected_percent"], 9))
            for f in guard.failures
        )

    assert verdict(parts) == verdict(whole)
    counts = {f["column"]: f["unexpected_count"] for f in whole.failures}
    assert counts["_is_valid_json"] == 2 and counts["type"] == 1
    assert counts["message_id__present"] == 1  # 4100 and 9000 are group calls (i % 10 == 0)
    assert counts["timestamp__parses"] == 2
    assert (parts.row_count, parts.evaluated, parts.successful) == (
        whole.row_count,
        whole.evaluated,
        whole.successful,
    )
    failing_lines = {
        r["_source_line"] for r in parts.sample if r["_guard"].endswith("(timestamp__parses)")
    }
    assert failing_lines == {2051, 10000}  # one in the second part, one in the last


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
            "('person', 'P1', 'P1 Name', 'FY2026-Q1', ?, 'behind', 2, 0.5, ? / 0.5), "
            "('team', 'T1', 'Team', 'FY2026-Q1', 1.2, ?, 1, 0.5, 2.4)) "
            "t(assignee_type, assignee_id, assignee_name, fiscal_period, weighted_attainment, "
            "status, component_count, elapsed, pace)",
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


# -- Dagster -----------------------------------------------------------------------------------
def test_blocking_check_through_dagster(tmp_path):
    from dagster_project.defs.quality.checks import build_quality_checks, quality_checks
    from dagster_project.resources import QuotaboardPaths

    assert len(quality_checks) == 19  # 11 landing tables (with messages), 8 marts
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
    assert docs == home / "published" / "quality" / "index.html" and docs.exists()
    assert meta["as_of"].value == "2026-03-01"
    assert "conversion_rate__num" in ev.description and "04wB" in ev.description
    # blocking: the asset downstream of the failed check did not run
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert key in materialized
    assert dg.AssetKey("downstream") not in materialized
