"""Closing a period (metrics.md §13, input-contract §3-§4): snapshots that never move.

Fast: the pure rules of ``dagster_project.period_close`` (period ends, --reopen matching,
snapshot commit and reconcile on a hand-made working database).

Slow: the multi-run scenario on a copy of the sample, with real ``quotaboard run`` calls.
Run 1 closes FY2027-Q1..Q3 (closed_through 2026-10-31); a later delta moves a Q3 deal out of
Closed Won and quota_plans.csv changes a Q2 and a Q4 target; run 2 serves the closed rows
unchanged, lists the moved actual in fct_post_close_changes (first seen by run 2) and moves
the open numbers; run 3 on unchanged inputs keeps first_seen = run 2; moving closed_through
back without --reopen stops the run before publishing, naming the periods; with --reopen they
are served live again; --full-refresh and a lost working database keep the snapshots.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project import period_close
from dagster_project.ingest.schema import ensure_snapshot_tables

AS_OF = "2026-11-23"
CLOSED_THROUGH = "2026-10-31"  # FY2027 starts in February: Q1..Q3 end on or before it
MOVED_DEAL = "006EDGE_ASSIST_ALLDAY"  # Closed Won 2026-09-18 (FY2027-Q3), 19000 USD


# ------------------------------------------------------------------------------------------
# fast: the rules


def test_period_end_follows_the_fiscal_calendar():
    assert period_close.period_end("FY2027", 2) == date(2027, 1, 31)
    assert period_close.period_end("FY2027-Q1", 2) == date(2026, 4, 30)
    assert period_close.period_end("FY2027-Q3", 2) == date(2026, 10, 31)
    assert period_close.period_end("FY2027-M01", 2) == date(2026, 2, 28)
    assert period_close.period_end("FY2027-M12", 1) == date(2027, 12, 31)
    assert period_close.period_end("FY2027-Q4", 1) == date(2027, 12, 31)
    assert period_close.period_end("nonsense", 2) is None


def test_parse_reopen():
    assert period_close.parse_reopen("FY2027-Q3, FY2027-M07,FY2027-Q3") == [
        "FY2027-M07",
        "FY2027-Q3",
    ]
    assert period_close.parse_reopen(None) == []
    with pytest.raises(ValueError, match="Q5"):
        period_close.parse_reopen("FY2027-Q5")


def test_moving_closed_through_back_needs_reopen_naming_exactly_the_periods():
    snap = {"FY2027-Q2", "FY2027-Q3", "FY2027-M09"}
    # Still closed: nothing to reopen.
    assert period_close.periods_to_reopen(snap, date(2026, 10, 31), 2, []) == []
    # Moved back before Q3 (and its month M09): an error naming both, saying what to pass.
    with pytest.raises(period_close.ReopenError) as e:
        period_close.periods_to_reopen(snap, date(2026, 7, 31), 2, [])
    assert "FY2027-M09, FY2027-Q3" in str(e.value)
    assert "--reopen FY2027-M09,FY2027-Q3" in str(e.value)
    # A quarter without its month is not enough; a period not reopened is too much.
    with pytest.raises(period_close.ReopenError, match="also reopens FY2027-M09"):
        period_close.periods_to_reopen(snap, date(2026, 7, 31), 2, ["FY2027-Q3"])
    with pytest.raises(period_close.ReopenError, match="FY2027-Q2 is not a closed period"):
        period_close.periods_to_reopen(
            snap, date(2026, 7, 31), 2, ["FY2027-Q2", "FY2027-Q3", "FY2027-M09"]
        )
    assert period_close.periods_to_reopen(
        snap, date(2026, 7, 31), 2, ["FY2027-Q3", "FY2027-M09"]
    ) == ["FY2027-M09", "FY2027-Q3"]
    # closed_through null reopens everything.
    with pytest.raises(period_close.ReopenError, match="closed_through: null"):
        period_close.periods_to_reopen(snap, None, 2, [])
    # --reopen with nothing to reopen is an error too.
    with pytest.raises(period_close.ReopenError, match="Pass no --reopen"):
        period_close.periods_to_reopen(snap, date(2026, 10, 31), 2, ["FY2027-Q3"])


def _mart_db(path: Path, closed: bool, actual: float, run_id: str) -> None:
    """A tiny working database or published file: marts.fct_quota_attainment with one row."""
    conn = duckdb.connect(str(path))
    conn.execute("create schema if not exists marts")
    cols = period_close.SNAPSHOT_TABLES["closed_attainment"][1]
    body = ", ".join(f'"{c}" {t}' for c, t in cols.items() if not c.startswith("closed_at"))
    conn.execute(
        f"create or replace table marts.fct_quota_attainment ({body}, period_closed boolean)"
    )
    conn.execute(
        "insert into marts.fct_quota_attainment (assignee_type, assignee_id, fiscal_period, "
        "metric, actual, period_closed) values ('person', 'P1', 'FY2027-Q1', 'bookings', ?, ?)",
        [actual, closed],
    )
    conn.execute(
        "create or replace table marts.fct_attainment_history as "
        "select ?::varchar as run_id, now()::timestamp as published_at",
        [run_id],
    )
    conn.close()


def test_commit_then_reconcile_from_the_published_file(tmp_path):
    work = tmp_path / "work.duckdb"
    _mart_db(work, closed=True, actual=100.0, run_id="R1")
    conn = duckdb.connect(str(work))
    ensure_snapshot_tables(conn)
    conn.execute("begin transaction")
    added = period_close.commit_snapshots(conn, "work", "R1", None)
    conn.execute("commit")
    assert added["closed_attainment"] == 1
    # A second commit of an already snapshotted period adds nothing.
    assert period_close.commit_snapshots(conn, "work", "R2", None)["closed_attainment"] == 0
    conn.close()

    # A lost working database: the published file gives the snapshot back.
    published = tmp_path / "published.duckdb"
    shutil.copy(work, published)
    fresh = duckdb.connect(str(tmp_path / "fresh.duckdb"))
    assert period_close.reconcile_snapshots(fresh, published) == 1
    row = fresh.execute(
        "select fiscal_period, actual, closed_at_run_id from history.closed_attainment"
    ).fetchall()
    assert row == [("FY2027-Q1", 100.0, "R1")]
    # Reconciling again adds nothing; a reopened period is never restored.
    assert period_close.reconcile_snapshots(fresh, published) == 0
    other = duckdb.connect(str(tmp_path / "other.duckdb"))
    assert period_close.reconcile_snapshots(other, published, skip=["FY2027-Q1"]) == 0
    # prepare: closed_through moved back without --reopen stops; with it, drops.
    with pytest.raises(period_close.ReopenError):
        period_close.prepare_closed_periods(fresh, published, "2026-01-31", 2, [])
    restored, reopened = period_close.prepare_closed_periods(
        fresh, published, "2026-01-31", 2, ["FY2027-Q1"]
    )
    assert (restored, reopened) == (0, ["FY2027-Q1"])
    assert fresh.execute("select count(*) from history.closed_attainment").fetchone()[0] == 0
    fresh.close()
    other.close()


# ------------------------------------------------------------------------------------------
# slow: real runs


def _set_closed_through(config: Path, value: str) -> None:
    path = config / "settings.yml"
    lines = [
        f"closed_through: {value}" if line.startswith("closed_through:") else line
        for line in path.read_text().splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")


def _run(company: Path, home: Path, *extra: str) -> int:
    from dagster_project.cli import main

    return main(
        [
            "run",
            "--landing",
            str(company / "landing"),
            "--config",
            str(company / "config"),
            "--home",
            str(home),
            "--as-of",
            AS_OF,
            *extra,
        ]
    )


def _published(home: Path) -> Path:
    return home / "published" / "quotaboard.duckdb"


def _rows(home: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(_published(home)), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _last_run_id(home: Path) -> str:
    return _rows(
        home,
        "select run_id from marts.fct_attainment_history "
        "order by published_at desc, run_id desc limit 1",
    )[0][0]


CLOSED_Q = "('FY2027-Q1', 'FY2027-Q2', 'FY2027-Q3')"


def _closed_rows(home: Path, periods: str = CLOSED_Q) -> dict[str, list[tuple]]:
    return {
        mart: _rows(
            home, f"select * from marts.{mart} where fiscal_period in {periods} order by all"
        )
        for mart in ("fct_quota_attainment", "fct_scorecards", "mart_team_board")
    }


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_closing_a_quarter_over_several_runs(sample_company, tmp_path, capsys):
    landing, config = sample_company
    company = tmp_path / "company"
    shutil.copytree(landing, company / "landing")
    shutil.copytree(config, company / "config")
    home = tmp_path / "home"

    # Run 1: closed_through closes FY2027-Q1..Q3.
    _set_closed_through(company / "config", CLOSED_THROUGH)
    assert _run(company, home) == 0
    run1 = _last_run_id(home)
    flags = dict(
        _rows(
            home,
            "select fiscal_period, bool_and(period_closed) = bool_or(period_closed) "
            "and bool_and(period_closed) from marts.fct_quota_attainment group by all",
        )
    )
    assert flags["FY2027-Q2"] and flags["FY2027-Q3"]
    assert not flags["FY2027-Q4"]
    closed1 = _closed_rows(home)
    assert closed1["fct_quota_attainment"] and closed1["mart_team_board"]
    assert all(r[-1] is True for rows in closed1.values() for r in rows)  # period_closed
    assert _rows(home, "select count(*) from marts.fct_post_close_changes") == [(0,)]
    work = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    closers = work.execute(
        "select distinct closed_at_run_id from history.closed_attainment"
    ).fetchall()
    work.close()
    assert closers == [(run1,)]
    q4_before = _rows(
        home,
        "select target from marts.fct_quota_attainment where assignee_id = 'PEAST001' "
        "and fiscal_period = 'FY2027-Q4' and metric = 'bookings'",
    )

    # A later delta moves a Q3 deal out of Closed Won; a Q2 (closed) and a Q4 (open) target
    # change.
    opp_dir = company / "landing" / "crm" / "Opportunity"
    full = next(opp_dir.glob("*-full.csv")).read_text().splitlines()
    header = full[0]
    row = next(line for line in full if line.startswith(MOVED_DEAL + ","))
    cells = row.split(",")
    names = header.split(",")
    cells[names.index("StageName")] = "Closed Lost"
    cells[names.index("IsWon")] = "false"
    cells[names.index("SystemModstamp")] = "2026-11-20T20:00:00.000Z"
    (opp_dir / "2026-11-21-delta.csv").write_text(header + "\n" + ",".join(cells) + "\n")
    plans = company / "config" / "quota_plans.csv"
    text = plans.read_text()
    text = text.replace(
        "person,PEAST001,FY2027-Q2,bookings,101000,", "person,PEAST001,FY2027-Q2,bookings,50000,"
    )
    text = text.replace(
        "person,PEAST001,FY2027-Q4,bookings,101000,", "person,PEAST001,FY2027-Q4,bookings,90000,"
    )
    plans.write_text(text)

    # Run 2: closed rows unchanged; the moved actual is a post-close change first seen now.
    assert _run(company, home) == 0
    run2 = _last_run_id(home)
    assert _closed_rows(home) == closed1
    changes = _rows(
        home,
        "select fiscal_period, metric, delta, closed_at_run_id, first_seen_run_id "
        "from marts.fct_post_close_changes order by all",
    )
    assert changes
    assert any(c[0] == "FY2027-Q3" and c[1] == "bookings" and c[2] == -19000 for c in changes)
    assert {(c[3], c[4]) for c in changes} == {(run1, run2)}
    q4_after = _rows(
        home,
        "select target from marts.fct_quota_attainment where assignee_id = 'PEAST001' "
        "and fiscal_period = 'FY2027-Q4' and metric = 'bookings'",
    )
    assert q4_before == [(101000.0,)] and q4_after == [(90000.0,)]

    # Run 3, unchanged inputs: first seen is still run 2.
    assert _run(company, home) == 0
    assert _closed_rows(home) == closed1
    assert {
        r[0] for r in _rows(home, "select first_seen_run_id from marts.fct_post_close_changes")
    } == {run2}

    # closed_through moved back before Q3 without --reopen: stops before publishing.
    work = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    reopen = sorted(
        r[0]
        for r in work.execute(
            "select distinct fiscal_period from history.closed_attainment "
            "where period_end > date '2026-07-31'"
        ).fetchall()
    )
    work.close()
    assert "FY2027-Q3" in reopen
    _set_closed_through(company / "config", "2026-07-31")
    before = _digest(_published(home))
    capsys.readouterr()
    assert _run(company, home) == 1
    out = capsys.readouterr()
    assert f"--reopen {','.join(reopen)}" in out.out + out.err
    assert _digest(_published(home)) == before

    # With --reopen naming them: served live again, no post-close rows for them.
    assert _run(company, home, "--reopen", ",".join(reopen)) == 0
    q3 = _rows(
        home,
        "select bool_or(period_closed) from marts.fct_quota_attainment "
        "where fiscal_period = 'FY2027-Q3'",
    )
    assert q3 == [(False,)]
    assert _rows(
        home,
        "select count(*) from marts.fct_post_close_changes where fiscal_period = 'FY2027-Q3'",
    ) == [(0,)]
    closed_q12 = "('FY2027-Q1', 'FY2027-Q2')"
    kept = _closed_rows(home, closed_q12)
    period_col = {"fct_quota_attainment": 3, "fct_scorecards": 3, "mart_team_board": 4}
    assert kept == {
        m: [r for r in rows if r[period_col[m]] in ("FY2027-Q1", "FY2027-Q2")]
        for m, rows in closed1.items()
    }

    # --full-refresh keeps the snapshots (the Q2 target change stays out of the closed rows).
    assert _run(company, home, "--full-refresh") == 0
    assert _closed_rows(home, closed_q12) == kept

    # A lost working database: the snapshots come back from the published file.
    shutil.rmtree(home / "warehouse")
    assert _run(company, home) == 0
    assert _closed_rows(home, closed_q12) == kept
    q2_target = _rows(
        home,
        "select target from marts.fct_quota_attainment where assignee_id = 'PEAST001' "
        "and fiscal_period = 'FY2027-Q2' and metric = 'bookings'",
    )
    assert q2_target == [(101000.0,)]  # as snapshotted, though the plan now says 50000


@pytest.mark.slow
def test_a_run_killed_before_its_switch_takes_no_snapshot(sample_company, tmp_path):
    """Killed at ``publish_halfway`` (new files half written, nothing switched) in the run that
    first sees a quarter closed: the published file and the snapshot masters are as before;
    the next run snapshots the quarter and publishes what an uninterrupted run would."""
    import os
    import subprocess
    import sys

    from dagster_project.faults import FAULT_ENV

    landing, config = sample_company
    company = tmp_path / "company"
    shutil.copytree(landing, company / "landing")
    shutil.copytree(config, company / "config")
    home = tmp_path / "home"
    assert _run(company, home) == 0  # open periods only
    before = _digest(_published(home))

    _set_closed_through(company / "config", CLOSED_THROUGH)
    env = {**os.environ, FAULT_ENV: "publish_halfway"}
    cmd = [
        sys.executable, "-m", "dagster_project.cli", "run",
        "--landing", str(company / "landing"), "--config", str(company / "config"),
        "--home", str(home), "--as-of", AS_OF,
    ]  # fmt: skip
    proc = subprocess.run(
        cmd,
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        timeout=900,
        start_new_session=True,
    )
    assert proc.returncode != 0
    assert _digest(_published(home)) == before
    work = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    assert work.execute("select count(*) from history.closed_attainment").fetchone() == (0,)
    work.close()

    assert _run(company, home) == 0
    closed = _closed_rows(home)
    assert closed["fct_quota_attainment"]
    assert all(r[-1] is True for rows in closed.values() for r in rows)
    work = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    assert work.execute(
        "select distinct closed_at_run_id from history.closed_attainment"
    ).fetchall() == [(_last_run_id(home),)]
    work.close()
