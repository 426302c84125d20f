"""End to end: ``quotaboard run`` on the bundled sample (real loaders, real dbt, real Dagster,
real DuckDB files in a temporary home)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from dagster_project import cli

# Two weeks after the sample's data (which ends 2026-11-20): month FY2027-M10 ended between
# data_through and as_of, so it is still running (metrics.md §5, 1.1), the case a run on the
# day a user clones the repository meets.
AS_OF = "2026-12-06"
CONTRACT = {
    "dim_fiscal_periods",
    "dim_teams",
    "dim_people",
    "fct_quota_credits",
    "fct_quota_attainment",
    "fct_scorecards",
    "fct_quota_exceptions",
    "fct_attainment_history",
    "fct_promises",
    "fct_runs",
    "fct_config_changes",
}


def run_cli(*args: str) -> tuple[int, str, str, float]:
    out, err = io.StringIO(), io.StringIO()
    t0 = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", *args])
    return code, out.getvalue(), err.getvalue(), time.monotonic() - t0


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def first_run(sample_company, tmp_path_factory):
    landing, config = sample_company
    home = tmp_path_factory.mktemp("home")
    args = ("--landing", str(landing), "--config", str(config), "--home", str(home))
    code, out, err, secs = run_cli(*args, "--as-of", AS_OF)
    return {"home": home, "args": args, "code": code, "out": out, "err": err, "secs": secs}


def published_tables(path: Path) -> set[str]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    finally:
        conn.close()


def attainment(path: Path) -> list[tuple]:
    # Rounded: DOUBLE sums in parallel may differ in the last bit between runs (reported to
    # the dbt models; amounts could be summed as DECIMAL).
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(
            "select assignee_type, assignee_id, fiscal_period, metric, round(target, 6), "
            "round(actual, 6), round(attainment, 9) from marts.fct_quota_attainment order by all"
        ).fetchall()
    finally:
        conn.close()


def test_summary_says_how_far_the_data_reaches(first_run, sample_company):
    """metrics.md §5 and §12 (1.1): the run summary prints data_through and each source's
    date, as the independent reference implementation computes them from the landing files."""
    from datetime import date

    from tests.oracle import reference

    landing, config = sample_company
    dates = reference.compute(landing, config, date.fromisoformat(AS_OF))["run_dates"][0]
    through = dates["data_through"]
    lag = (date.fromisoformat(AS_OF) - through).days
    assert lag > 0  # the sample's data ends before AS_OF
    expected = (
        f"data through: {through}, {lag} days before as_of "
        f"(CRM to {dates['crm_through']}, product usage to {dates['messages_through']})"
    )
    assert expected in first_run["out"]


def test_sample_run_publishes(first_run):
    assert first_run["code"] == 0, first_run["out"] + first_run["err"]
    home: Path = first_run["home"]
    published = home / "published" / "quotaboard.duckdb"
    assert published_tables(published) >= CONTRACT
    for model in CONTRACT:
        assert (home / "published" / "parquet" / f"{model}.parquet").exists()
    out = first_run["out"]
    # "warn" when a warning guard failed (the sample has one), never "ok" beside a failure;
    # every dbt model is materialised
    from dagster_project.defs.transform.assets import dbt_models

    models = len(dbt_models.keys)
    assert re.search(rf"^  (ok  |warn )dbt_models .*\({models} assets", out, re.M), out
    assert "ok  published/warehouse" in out
    assert not re.search(r"^  ok .*failed", out, re.M), out
    assert f"published: {published}" in out
    assert "exceptions:" in out
    conn = duckdb.connect(str(published), read_only=True)
    try:
        runs = conn.execute(
            "select run_id, min(as_of)::varchar, count(*) from marts.fct_attainment_history "
            "group by 1"
        ).fetchall()
        n = conn.execute("select count(*) from marts.fct_quota_attainment").fetchone()[0]
    finally:
        conn.close()
    assert len(runs) == 1 and runs[0][1] == AS_OF and runs[0][2] == n > 0


def test_second_run_same_numbers_and_history_grows(first_run):
    """Rule (run_inputs): a run whose inputs are unchanged since the last complete run
    publishes that run's verified build again (a new run in the history, a new board) without
    loading, building or validating anything."""
    assert first_run["code"] == 0
    home: Path = first_run["home"]
    published = home / "published" / "quotaboard.duckdb"
    board = home / "published" / "board" / "index.html"
    before = attainment(published)
    board_before = board.stat().st_mtime_ns
    code, out, err, _ = run_cli(*first_run["args"], "--as-of", AS_OF)
    assert code == 0, out + err
    assert "inputs unchanged since run" in out
    assert "ok  published/warehouse" in out and "ok  published/board" in out
    assert "dbt_models" not in out and "raw/messages" not in out
    assert board.stat().st_mtime_ns != board_before
    assert attainment(published) == before
    conn = duckdb.connect(str(published), read_only=True)
    try:
        runs = conn.execute(
            "select count(distinct run_id), count(*) from marts.fct_attainment_history"
        ).fetchone()
    finally:
        conn.close()
    assert runs == (2, 2 * len(before))


def test_run_output_reads_as_words(first_run):
    """Run output (issue 22): the exceptions count is the number of rows of
    fct_quota_exceptions; stale tables are one line saying how old the data is, not one GX
    expectation name per table; neither PySpark's warning nor a telemetry banner appears."""
    assert first_run["code"] == 0, first_run["out"] + first_run["err"]
    out, err = first_run["out"], first_run["err"]
    published = first_run["home"] / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        rows, source_rows = conn.execute(
            "select count(*), sum(row_count) from marts.fct_quota_exceptions"
        ).fetchone()
    finally:
        conn.close()
    line = next(x for x in out.splitlines() if x.strip().startswith("exceptions:"))
    assert f"exceptions: {rows} rows in fct_quota_exceptions" in line, line
    if source_rows != rows:
        assert f"({source_rows} source rows)" in line, line
    stale = [x for x in out.splitlines() if "stale data:" in x]
    assert len(stale) == 1 and "days old" in stale[0], out  # the sample's CRM ends 11-20
    assert "age_hours)" not in out
    for noise in ("PySpark", "FutureWarning", "telemetry", "Traceback"):
        assert noise not in out + err, noise


def test_past_date_run_is_said_in_the_summary_and_fct_runs(first_run, sample_company):
    """A rerun of a past date (issue 22) publishes as usual but says so: the summary's as-of
    line and fct_runs.as_of_in_past (as_of before the day of publishing, company time zone)."""
    from datetime import date, timedelta

    from dagster_project.keys import company_today
    from dagster_project.resources import QuotaboardPaths
    from dagster_project.run_report import as_of_line

    assert first_run["code"] == 0, first_run["out"] + first_run["err"]
    landing, config = sample_company
    today = date.fromisoformat(company_today(config))
    paths = QuotaboardPaths(
        landing_dir=str(landing), config_dir=str(config), home_dir=str(first_run["home"])
    )
    assert "a past date" in as_of_line(today - timedelta(days=1), paths)
    assert as_of_line(today, paths) == f"as of: {today}"

    past = date.fromisoformat(AS_OF) < today
    line = next(x for x in first_run["out"].splitlines() if x.strip().startswith("as of:"))
    assert ("a past date" in line) == past, line
    published = first_run["home"] / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        flags = conn.execute("select as_of_in_past from marts.fct_runs").fetchall()
    finally:
        conn.close()
    assert set(flags) == {(past,)}


def test_period_ended_after_data_through_is_still_running(first_run):
    """metrics.md §5 (1.1): time is measured at data_through. A period that ended after
    data_through but before as_of contains data_through: it has a pace and an on-track
    status, not achieved/missed, and the guards agree (the run published)."""
    assert first_run["code"] == 0, first_run["out"] + first_run["err"]
    published = first_run["home"] / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        through = conn.execute("select max(data_through) from marts.fct_runs").fetchone()[0]
        rows = conn.execute(
            "select fiscal_period, elapsed, pace, attainment, status "
            "from marts.fct_quota_attainment "
            "where period_start <= ? and period_end > ? and period_end < ?",
            [through, through, AS_OF],
        ).fetchall()
    finally:
        conn.close()
    assert rows, "the sample should have a period ending between data_through and as_of"
    for period, elapsed, pace, attainment_, status in rows:
        assert 0 < elapsed < 1, period
        assert pace == pytest.approx(attainment_ / elapsed), period
        assert status in {"on_track", "at_risk", "behind"}, (period, status)


@pytest.mark.slow
def test_rebuild_runs_every_step_on_unchanged_inputs(first_run):
    """Rule (run_inputs): --rebuild (like --full-refresh) never reuses the last build."""
    assert first_run["code"] == 0
    code, out, err, _ = run_cli(*first_run["args"], "--as-of", AS_OF, "--rebuild")
    assert code == 0, out + err
    assert "inputs unchanged" not in out
    assert re.search(r"^  (ok  |warn )dbt_models", out, re.M), out


def test_dbt_unit_tests(first_run):
    """The dbt unit tests (excluded from the nightly build) against the sample's warehouse."""
    assert first_run["code"] == 0
    from dagster_project.defs.transform.project import DBT_EXECUTABLE, DBT_PROJECT_DIR

    home: Path = first_run["home"]
    env = {
        **os.environ,
        "QUOTABOARD_WAREHOUSE_PATH": str(home / "warehouse" / "quotaboard.duckdb"),
        "DBT_TARGET_PATH": str(home / "dbt" / "unit-target"),
        "DBT_LOG_PATH": str(home / "dbt" / "unit-target"),
    }
    out = subprocess.run(
        [DBT_EXECUTABLE, "test", "--select", "test_type:unit", "--vars", f"as_of: '{AS_OF}'"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-4000:]


def test_bad_config_fails_cleanly_and_publishes_nothing(sample_company, tmp_path):
    """A dg.Failure from the config loader: its description is shown (no traceback), the run
    exits 1 and no published file appears."""
    landing, config = sample_company
    bad = tmp_path / "config"
    shutil.copytree(config, bad)
    (bad / "teams.csv").write_text("this,is,not\nthe,teams,file\n")
    home = tmp_path / "home"
    code, out, err, _ = run_cli(
        "--landing", str(landing), "--config", str(bad), "--home", str(home), "--as-of", AS_OF
    )
    assert code == 1
    assert "nothing was published" in err
    assert "config_tables:" in err and "teams.csv" in err
    assert "Traceback" not in err + out
    assert not (home / "published" / "quotaboard.duckdb").exists()
    # the quality page says the run was blocked (the board step, which writes it, never ran)
    page = (home / "published" / "quality" / "index.html").read_text(encoding="utf-8")
    assert "This run published nothing" in page


def test_failed_run_keeps_yesterdays_published_file(first_run, sample_company, tmp_path):
    assert first_run["code"] == 0
    home: Path = first_run["home"]
    published = home / "published" / "quotaboard.duckdb"
    before = sha(published)
    landing, config = sample_company
    bad = tmp_path / "config"
    shutil.copytree(config, bad)
    (bad / "teams.csv").write_text("this,is,not\nthe,teams,file\n")
    code, _, err, _ = run_cli(
        "--landing", str(landing), "--config", str(bad), "--home", str(home), "--as-of", AS_OF
    )
    assert code == 1
    assert f"the previous {published} is unchanged" in err
    assert sha(published) == before
