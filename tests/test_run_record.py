"""Who changed what (metrics.md §14, ``dagster_project.run_record``): fct_runs and
fct_config_changes.

Fast: the diff function; the normalisation (a cosmetic edit is no change); the record of
three publishes on a working database loaded with the real configuration loader (every row
``added`` first, then exactly the edited values, then nothing); a reopening; the masters
rebuilt from the published tables; git commit and author, and NULL without git.
Slow: real ``quotaboard run`` s on a copy of the sample configuration inside a git work tree.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project import run_record as rr
from dagster_project.ingest.config import load_config, write_config
from dagster_project.ingest.schema import create_empty_tables

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_CONFIG = REPO_ROOT / "seeds" / "config"
PLAN_KEY = "person:PEAST001:FY2026-Q1:bookings"
HAS_GIT = shutil.which("git") is not None


# ------------------------------------------------------------------------------------------
# the diff


def test_first_run_lists_every_value_as_added():
    new = {("teams.csv", "t1", "team_name"): "One", ("teams.csv", "t1", "mission"): None}
    assert rr.diff_config(None, new) == [
        rr.Change("teams.csv", "t1", "mission", "added", None, None),
        rr.Change("teams.csv", "t1", "team_name", "added", None, "One"),
    ]
    assert rr.diff_config({}, new) == rr.diff_config(None, new)


def test_diff_added_removed_changed_and_nulls():
    old = {
        ("teams.csv", "t1", "team_name"): "One",
        ("teams.csv", "t1", "mission"): None,
        ("teams.csv", "t2", "team_name"): "Two",
        ("settings.yml", "pace_at_risk", "value"): "0.8",
    }
    new = {
        ("teams.csv", "t1", "team_name"): "One",  # unchanged
        ("teams.csv", "t1", "mission"): "Grow",  # NULL -> value
        ("teams.csv", "t3", "team_name"): "Three",  # new row
        ("settings.yml", "pace_at_risk", "value"): "0.75",
        ("settings.yml", "closed_through", "value"): None,  # a key new in this version
    }
    assert rr.diff_config(old, new) == [
        rr.Change("settings.yml", "closed_through", "value", "added", None, None),
        rr.Change("settings.yml", "pace_at_risk", "value", "changed", "0.8", "0.75"),
        rr.Change("teams.csv", "t1", "mission", "changed", None, "Grow"),
        rr.Change("teams.csv", "t2", "team_name", "removed", "Two", None),
        rr.Change("teams.csv", "t3", "team_name", "added", None, "Three"),
    ]
    assert rr.diff_config(new, new) == []


def test_a_column_gone_from_a_kept_row_is_a_change_to_null():
    old = {("people.csv", "p1:2025-01-01", "role"): "ae", ("people.csv", "p1:2025-01-01", "x"): "1"}
    new = {("people.csv", "p1:2025-01-01", "role"): "ae"}
    assert rr.diff_config(old, new) == [
        rr.Change("people.csv", "p1:2025-01-01", "x", "changed", "1", None)
    ]


def test_normalised_values():
    assert rr.normalise_value(None) is None
    assert rr.normalise_value(270000.0) == "270000"
    assert rr.normalise_value(0.8) == "0.8"
    assert rr.normalise_value(True) == "true"
    assert rr.normalise_value(date(2026, 2, 1)) == "2026-02-01"
    assert rr.normalise_value(["App Installed", "X"]) == '["App Installed", "X"]'
    assert rr.normalise_value("  Grow  ") == "Grow"
    assert rr.row_key(["P1", None]) == "P1:"
    assert rr.normalise_reopened(" FY2026-Q2 ,FY2026-Q1,FY2026-Q2") == ["FY2026-Q1", "FY2026-Q2"]
    assert rr.normalise_reopened(None) == [] == rr.normalise_reopened("")


# ------------------------------------------------------------------------------------------
# a working database loaded by the real configuration loader


def _edit_csv(path: Path, key: dict[str, str], column: str, value: str) -> None:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    hits = 0
    for row in rows:
        if all(row[k] == v for k, v in key.items()):
            row[column] = value
            hits += 1
    assert hits == 1, (path.name, key)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _edit_setting(path: Path, key: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [f"{key}: {value}" if ln.startswith(f"{key}:") else ln for ln in lines]
    assert out != lines
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def make_changes(config: Path) -> None:
    """A target in quota_plans.csv, a team's mission, a setting (the slow test's edits too)."""
    _edit_csv(
        config / "quota_plans.csv",
        {
            "assignee_type": "person",
            "assignee_id": "PEAST001",
            "fiscal_period": "FY2026-Q1",
            "metric": "bookings",
        },
        "target",
        "71000",
    )
    _edit_csv(
        config / "teams.csv", {"team_id": "leadership"}, "mission", "Keep every quota honest."
    )
    _edit_setting(config / "settings.yml", "pace_at_risk", "0.75")


EXPECTED_CHANGES = [
    ("quota_plans.csv", PLAN_KEY, "target", "changed", "68000", "71000"),
    ("settings.yml", "pace_at_risk", "value", "changed", "0.8", "0.75"),
]


def _load(db: Path, config: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(db))
    create_empty_tables(conn)
    write_config(conn, load_config(config))
    return conn


@pytest.fixture
def config_copy(tmp_path) -> Path:
    dest = tmp_path / "config"
    shutil.copytree(SEED_CONFIG, dest)
    return dest


def _publish(conn, run_id: str, published_at: datetime, target: str = "pub_marts", **kw):
    """prepare + write the published tables into a plain schema + commit, as the publish does."""
    record = rr.prepare_run_record(conn, run_id, date(2026, 11, 23), published_at, **kw)
    conn.execute(f"DROP SCHEMA IF EXISTS {target} CASCADE")
    conn.execute(f"CREATE SCHEMA {target}")
    rr.write_published(conn, record, target)
    conn.execute("BEGIN TRANSACTION")
    rr.commit_rows(conn, record)
    conn.execute("COMMIT")
    return record


def _changes(conn, run_id: str, target: str = "pub_marts") -> list[tuple]:
    return conn.execute(
        f"select file, row_key, column_name, change, old_value, new_value "
        f"from {target}.fct_config_changes where run_id = ? order by all",
        [run_id],
    ).fetchall()


def test_a_cosmetic_edit_is_no_change(tmp_path, config_copy):
    a = _load(tmp_path / "a.duckdb", SEED_CONFIG)
    # reorder the columns and rows of teams.csv, pad cells with spaces, write 270000 as
    # 270000.00 and quote every cell of quota_plans.csv
    with (config_copy / "teams.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    header = list(reversed(list(rows[0])))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\r\n")
    w.writeheader()
    for row in reversed(rows):
        w.writerow(
            {k: (f"  {v}  " if v and k in ("team_name", "mission") else v) for k, v in row.items()}
        )
    (config_copy / "teams.csv").write_text(buf.getvalue(), encoding="utf-8")
    with (config_copy / "quota_plans.csv").open(newline="", encoding="utf-8") as fh:
        plans = list(csv.DictReader(fh))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(plans[0]), quoting=csv.QUOTE_ALL, lineterminator="\n")
    w.writeheader()
    for row in plans:
        if row["target"] and "." not in row["target"]:
            row["target"] = row["target"] + ".00"
        w.writerow(row)
    (config_copy / "quota_plans.csv").write_text(buf.getvalue(), encoding="utf-8")
    b = _load(tmp_path / "b.duckdb", config_copy)
    try:
        ca, cb = rr.read_config(a), rr.read_config(b)
        assert len(ca) > 1000
        assert rr.diff_config(ca, cb) == []
        assert rr.config_fingerprint(ca) == rr.config_fingerprint(cb)
    finally:
        a.close()
        b.close()


def test_the_configuration_is_keyed_as_the_spec_says(tmp_path):
    conn = _load(tmp_path / "w.duckdb", SEED_CONFIG)
    try:
        config = rr.read_config(conn)
    finally:
        conn.close()
    keys = {(f, k) for f, k, _ in config}
    assert ("teams.csv", "leadership") in keys
    assert ("people.csv", "P_CEO:2025-01-01") in keys
    assert ("quota_plans.csv", PLAN_KEY) in keys
    assert ("adjustments.csv", "ADJ-0001") in keys
    assert ("feature_ownership.csv", "AI Assistant:") in keys  # valid_from empty
    assert config[("settings.yml", "pace_at_risk", "value")] == "0.8"
    assert config[("settings.yml", "opportunity_types.renewal", "booking_type")] == "renewal"
    assert config[("quota_plans.csv", PLAN_KEY, "target")] == "68000"
    assert {c for f, _, c in config if f == "teams.csv"} == {
        "team_name", "function", "parent_team_id", "mission",
    }  # fmt: skip


def test_three_publishes_record_added_then_the_edits_then_nothing(tmp_path, config_copy):
    db = tmp_path / "w.duckdb"
    conn = _load(db, config_copy)
    try:
        first = _publish(conn, "run-1", datetime(2026, 11, 23, 1))
        assert first.previous_run_id is None
        added = _changes(conn, "run-1")
        assert len(added) == len(first.config) > 1000
        assert {r[3] for r in added} == {"added"} and all(r[4] is None for r in added)
        runs = conn.execute("select run_id, config_fingerprint from pub_marts.fct_runs").fetchall()
        assert runs == [("run-1", rr.config_fingerprint(first.config))]

        make_changes(config_copy)
        write_config(conn, load_config(config_copy))
        second = _publish(conn, "run-2", datetime(2026, 11, 24, 1))
        assert second.previous_run_id == "run-1"
        got = _changes(conn, "run-2")
        mission = [r for r in got if r[0] == "teams.csv"]
        assert mission == [
            (
                "teams.csv", "leadership", "mission", "changed",
                first.config[("teams.csv", "leadership", "mission")],
                "Keep every quota honest.",
            )
        ]  # fmt: skip
        assert [r for r in got if r[0] != "teams.csv"] == EXPECTED_CHANGES
        assert second.row["config_fingerprint"] != first.row["config_fingerprint"]
        # earlier runs' changes stay listed
        assert len(_changes(conn, "run-1")) == len(added)

        third = _publish(conn, "run-3", datetime(2026, 11, 25, 1))
        assert _changes(conn, "run-3") == []
        assert third.row["config_fingerprint"] == second.row["config_fingerprint"]
        assert conn.execute(
            "select run_id from pub_marts.fct_runs order by published_at"
        ).fetchall() == [("run-1",), ("run-2",), ("run-3",)]
        # a retried commit of the same run does not duplicate its rows
        conn.execute("BEGIN TRANSACTION")
        rr.commit_rows(conn, third)
        conn.execute("COMMIT")
        assert conn.execute(
            "select count(*) from history.runs where run_id = 'run-3'"
        ).fetchone() == (1,)
    finally:
        conn.close()


def test_a_reopening_is_recorded(tmp_path):
    conn = _load(tmp_path / "w.duckdb", SEED_CONFIG)
    try:
        _publish(conn, "run-1", datetime(2026, 11, 23, 1))
        rec = _publish(
            conn, "run-2", datetime(2026, 11, 24, 1), reopened_periods=["FY2026-Q2", "FY2026-M05"]
        )
        assert rec.row["reopened_periods"] == "FY2026-M05,FY2026-Q2"
        assert _changes(conn, "run-2") == [
            ("closed_periods", "FY2026-M05", "closed", "removed", "true", None),
            ("closed_periods", "FY2026-Q2", "closed", "removed", "true", None),
        ]
        assert conn.execute(
            "select reopened_periods from pub_marts.fct_runs order by published_at"
        ).fetchall() == [(None,), ("FY2026-M05,FY2026-Q2",)]
    finally:
        conn.close()


def test_the_masters_are_rebuilt_from_the_published_file(tmp_path, config_copy):
    """A lost working database: runs, changes and each run's configuration come back from
    fct_runs and fct_config_changes, so the next run's diff is against the right run."""
    conn = _load(tmp_path / "w.duckdb", config_copy)
    published = tmp_path / "published.duckdb"
    try:
        r1 = _publish(conn, "run-1", datetime(2026, 11, 23, 1))
        make_changes(config_copy)
        # a removed row too: the last adjustment
        lines = (config_copy / "adjustments.csv").read_text(encoding="utf-8").splitlines()
        (config_copy / "adjustments.csv").write_text("\n".join(lines[:-1]) + "\n", "utf-8")
        write_config(conn, load_config(config_copy))
        r2 = _publish(conn, "run-2", datetime(2026, 11, 24, 1))
        assert any(r[3] == "removed" for r in _changes(conn, "run-2"))
        conn.execute(f"ATTACH '{published}' AS pub")
        conn.execute("CREATE SCHEMA pub.marts")
        conn.execute("CREATE TABLE pub.marts.fct_runs AS SELECT * FROM pub_marts.fct_runs")
        conn.execute(
            "CREATE TABLE pub.marts.fct_config_changes AS "
            "SELECT * FROM pub_marts.fct_config_changes"
        )
        conn.execute("DETACH pub")
    finally:
        conn.close()

    fresh = _load(tmp_path / "fresh.duckdb", config_copy)
    try:
        assert rr.reconcile_run_record(fresh, published) == 2
        assert rr.reconcile_run_record(fresh, published) == 0  # nothing missing any more
        assert rr.run_config(fresh, "run-1") == r1.config
        assert rr.run_config(fresh, "run-2") == r2.config
        r3 = _publish(fresh, "run-3", datetime(2026, 11, 25, 1))
        assert r3.previous_run_id == "run-2"
        assert _changes(fresh, "run-3") == []
        assert [r[0] for r in fresh.execute(
            "select run_id from pub_marts.fct_runs order by published_at"
        ).fetchall()] == ["run-1", "run-2", "run-3"]  # fmt: skip
    finally:
        fresh.close()


def test_data_through_comes_from_int_data_through(tmp_path):
    conn = _load(tmp_path / "w.duckdb", SEED_CONFIG)
    try:
        assert rr.read_data_through(conn) == {
            "data_through": None, "crm_through": None, "messages_through": None,
        }  # fmt: skip
        conn.execute("CREATE SCHEMA intermediate")
        conn.execute(
            "CREATE TABLE intermediate.int_data_through AS SELECT DATE '2026-11-23' AS as_of, "
            "DATE '2026-11-20' AS crm_through, DATE '2026-11-19' AS messages_through, "
            "DATE '2026-11-19' AS data_through"
        )
        rec = _publish(conn, "run-1", datetime(2026, 11, 23, 1))
        assert conn.execute(
            "select as_of, data_through, crm_through, messages_through from pub_marts.fct_runs"
        ).fetchall() == [
            (date(2026, 11, 23), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 19))
        ]
        assert rec.row["code_version"].startswith("quotaboard ")
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------
# git


def git_init(folder: Path, author: str = "Rita Ops", email: str = "rita@example.com") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "config"]):
        subprocess.run(["git", "-C", str(folder), *args], check=True, env=env)
    out = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], check=True, env=env, capture_output=True
    )
    return out.stdout.decode().strip()


def git_commit(folder: Path, author: str, email: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": author,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author,
        "GIT_COMMITTER_EMAIL": email,
    }
    subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(folder), "commit", "-q", "-m", "edit"], check=True, env=env)
    out = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "HEAD"], check=True, env=env, capture_output=True
    )
    return out.stdout.decode().strip()


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_git_commit_and_author_of_the_config_folder(tmp_path):
    repo = tmp_path / "repo"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "teams.csv").write_text("team_id\n", encoding="utf-8")
    sha = git_init(repo)
    assert rr.git_commit_and_author(repo / "config") == (sha, "Rita Ops <rita@example.com>")
    plain = tmp_path / "plain"
    plain.mkdir()
    assert rr.git_commit_and_author(plain) == (None, None)
    assert rr.git_commit_and_author(None) == (None, None)
    # a work tree without any commit yet
    empty = tmp_path / "empty"
    empty.mkdir()
    subprocess.run(["git", "-C", str(empty), "init", "-q"], check=True)
    assert rr.git_commit_and_author(empty) == (None, None)


def test_without_git_the_commit_is_null(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert rr.git_commit_and_author(tmp_path) == (None, None)
    assert rr._git(tmp_path, "rev-parse", "HEAD") is None


def test_a_hanging_git_does_not_hang_the_run(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text("#!/bin/sh\nsleep 30\n", encoding="utf-8")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    monkeypatch.setattr(rr, "GIT_TIMEOUT_SECONDS", 0.5)
    assert rr.git_commit_and_author(tmp_path) == (None, None)


# ------------------------------------------------------------------------------------------
# real runs (slow)


def path_without_git(tmp_path: Path) -> str:
    """PATH as it is, with every folder holding git replaced by a copy of links without it."""
    parts = []
    for i, folder in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        d = Path(folder)
        if not (d / "git").exists():
            parts.append(folder)
            continue
        shadow = tmp_path / f"nogit-{i}"
        shadow.mkdir()
        for entry in d.iterdir():
            if not entry.name.startswith("git"):
                with contextlib.suppress(OSError):
                    (shadow / entry.name).symlink_to(entry)
        parts.append(str(shadow))
    return os.pathsep.join(parts)


def _cli_run(landing: Path, config: Path, home: Path) -> int:
    from dagster_project import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(
            [
                "run", "--landing", str(landing), "--config", str(config), "--home", str(home),
                "--as-of", "2026-11-23",
            ]
        )  # fmt: skip
    assert code == 0, out.getvalue()[-4000:]
    return code


def _published(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_runs_record_who_changed_what(sample_company, tmp_path, monkeypatch):
    landing, seed_config = sample_company
    repo = tmp_path / "company-config"
    config = repo / "config"
    shutil.copytree(seed_config, config)
    sha1 = git_init(repo)
    home = tmp_path / "home"

    # run 1: every configuration row added; fct_runs = int_data_through, commit and author
    _cli_run(landing, config, home)
    # the recorded columns (the published fct_runs adds the derived as_of_in_past)
    runs = _published(home, f"select {', '.join(rr.RUNS_COLUMNS)} from marts.fct_runs")
    assert len(runs) == 1
    run1 = dict(zip(rr.RUNS_COLUMNS, runs[0], strict=True))
    assert run1["config_commit"] == sha1
    assert run1["config_author"] == "Rita Ops <rita@example.com>"
    assert run1["as_of"] == date(2026, 11, 23)
    assert run1["reopened_periods"] is None
    assert run1["code_version"].startswith("quotaboard ")
    wh = duckdb.connect(str(home / "warehouse" / "quotaboard.duckdb"), read_only=True)
    try:
        through = wh.execute(
            "select data_through, crm_through, messages_through from intermediate.int_data_through"
        ).fetchone()
        n_config = wh.execute(
            "select count(*) from history.run_config where run_id = ?", [run1["run_id"]]
        ).fetchone()[0]
    finally:
        wh.close()
    assert (run1["data_through"], run1["crm_through"], run1["messages_through"]) == through
    assert through[0] is not None
    changes1 = _published(home, "select change, count(*) from marts.fct_config_changes group by 1")
    assert changes1 == [("added", n_config)] and n_config > 1000

    # run 2: a target, a mission and a setting changed, committed by someone else
    make_changes(config)
    sha2 = git_commit(repo, "Sam Planner", "sam@example.com")
    _cli_run(landing, config, home)
    runs = _published(home, "select run_id, config_commit, config_author from marts.fct_runs "
                            "order by published_at")  # fmt: skip
    assert [r[1:] for r in runs] == [
        (sha1, "Rita Ops <rita@example.com>"),
        (sha2, "Sam Planner <sam@example.com>"),
    ]
    run2_id = runs[1][0]
    got = _published(
        home,
        "select file, row_key, column_name, change, old_value, new_value "
        "from marts.fct_config_changes where run_id = ? order by all",
        [run2_id],
    )
    assert [r for r in got if r[0] != "teams.csv"] == EXPECTED_CHANGES
    teams = [r for r in got if r[0] == "teams.csv"]
    assert [r[:4] + r[5:] for r in teams] == [
        ("teams.csv", "leadership", "mission", "changed", "Keep every quota honest.")
    ]
    assert teams[0][4] and teams[0][4] != teams[0][5]

    # run 3: unchanged inputs, git not on PATH: a new fct_runs row, no change rows, NULL commit
    monkeypatch.setenv("PATH", path_without_git(tmp_path))
    assert shutil.which("git") is None
    _cli_run(landing, config, home)
    runs = _published(home, "select run_id, config_commit, config_author, config_fingerprint "
                            "from marts.fct_runs order by published_at")  # fmt: skip
    assert len(runs) == 3
    assert runs[2][1:3] == (None, None)
    assert runs[2][3] == runs[1][3]
    assert _published(
        home, "select count(*) from marts.fct_config_changes where run_id = ?", [runs[2][0]]
    ) == [(0,)]
    monkeypatch.undo()

    # run 4: the working database is lost; the record survives and the diff is still right
    before_runs = _published(home, "select * from marts.fct_runs order by published_at")
    before_changes = _published(home, "select * from marts.fct_config_changes order by all")
    shutil.rmtree(home / "warehouse")
    _cli_run(landing, config, home)
    after_runs = _published(home, "select * from marts.fct_runs order by published_at")
    assert after_runs[:3] == before_runs and len(after_runs) == 4
    assert after_runs[3][6] == before_runs[2][6]  # the same configuration fingerprint
    after_changes = _published(home, "select * from marts.fct_config_changes order by all")
    assert after_changes == before_changes  # run 4 changed nothing, nothing was lost
