"""Retries: transient failures are retried with backoff inside the run and the run succeeds;
permanent ones fail at once; a held run lock makes the first step wait and retry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from dagster_project.definitions import RunLockedPaths
from dagster_project.defs.config import config_tables
from dagster_project.defs.extract import product_usage
from dagster_project.defs.extract.product_usage import raw_messages
from dagster_project.ingest.files import LandingError
from dagster_project.retries import LOADER_RETRY_POLICY, is_transient

HOLDER = """
import sys, time
from dagster_project.run_lock import run_lock
with run_lock(sys.argv[1], timeout=0, owner="test holder"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _events(result, kind: str, step: str | None = None) -> list[dg.DagsterEvent]:
    return [
        e
        for e in result.all_events
        if e.event_type_value == kind and (step is None or e.step_key == step)
    ]


def _paths(landing: Path, config: Path, home: Path, **lock) -> RunLockedPaths:
    return RunLockedPaths(
        landing_dir=str(landing), config_dir=str(config), home_dir=str(home), **lock
    )


def _hold_lock(lock: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_loader_assets_carry_the_retry_policy():
    from dagster_project.defs.extract.crm import crm_raw_tables
    from dagster_project.defs.extract.salesforce import product_usage_archive, salesforce_crm

    for asset in (config_tables, crm_raw_tables, raw_messages, salesforce_crm):
        assert asset.op.retry_policy == LOADER_RETRY_POLICY, asset.op.name
    assert product_usage_archive.op.retry_policy == LOADER_RETRY_POLICY
    assert LOADER_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL


def test_transient_read_error_is_retried_and_the_run_succeeds(
    sample_company, tmp_path, monkeypatch
):
    """The first read of the product-usage files fails as an unreadable file does
    (PermissionError); the retry reads them and the run loads every message."""
    landing, config = sample_company
    real_load = product_usage.load_messages
    calls: list[float] = []

    def flaky_load(conn, landing_dir, *args, **kwargs):
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise PermissionError(13, "Permission denied", str(landing_dir / "product_usage"))
        return real_load(conn, landing_dir, *args, **kwargs)

    monkeypatch.setattr(product_usage, "load_messages", flaky_load)
    result = dg.materialize(
        [config_tables, raw_messages],
        resources={"paths": _paths(landing, config, tmp_path)},
        raise_on_error=False,
    )
    assert result.success
    assert len(calls) == 2
    retries = _events(result, "STEP_UP_FOR_RETRY", "raw__messages")
    assert len(retries) == 1
    assert "Permission denied" in str(retries[0].event_specific_data.error.cause)
    assert not _events(result, "STEP_FAILURE")
    conn = duckdb.connect(str(tmp_path / "warehouse" / "quotaboard.duckdb"), read_only=True)
    try:
        (rows,) = conn.execute("select count(*) from raw.messages").fetchone()
    finally:
        conn.close()
    assert rows > 1000


def test_invalid_configuration_fails_once_without_retries(sample_company, tmp_path):
    landing, config = sample_company
    bad = tmp_path / "config"
    shutil.copytree(config, bad)
    (bad / "settings.yml").write_text("corporate_currency: 12\n", encoding="utf-8")
    t0 = time.monotonic()
    result = dg.materialize(
        [config_tables],
        resources={"paths": _paths(landing, bad, tmp_path / "home")},
        raise_on_error=False,
    )
    assert not result.success
    assert not _events(result, "STEP_UP_FOR_RETRY")
    (failure,) = _events(result, "STEP_FAILURE", "config_tables")
    assert "Invalid configuration" in failure.step_failure_data.user_failure_data.description
    assert time.monotonic() - t0 < 30


def test_run_lock_held_makes_the_step_wait_and_retry(sample_company, tmp_path):
    """Another run holds the lock for ~3 s: the config step raises RetryRequested (backoff 1 s,
    2 s, ...) and succeeds once the lock is free; the lock is released after the run."""
    landing, config = sample_company
    home = tmp_path / "home"
    holder = _hold_lock(home / "run.lock", 3)
    try:
        result = dg.materialize(
            [config_tables],
            resources={
                "paths": _paths(landing, config, home, lock_retry_seconds=1.0, lock_retries=6)
            },
            raise_on_error=False,
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.success
    retries = _events(result, "STEP_UP_FOR_RETRY", "config_tables")
    assert 1 <= len(retries) <= 6
    assert "another Quotaboard run holds" in str(retries[0].event_specific_data.error)
    assert (home / "run.lock").read_text() == ""  # released (the holder line is cleared)


def test_run_lock_never_freed_fails_with_the_holder_named(sample_company, tmp_path):
    landing, config = sample_company
    home = tmp_path / "home"
    holder = _hold_lock(home / "run.lock", 60)
    try:
        result = dg.materialize(
            [config_tables],
            resources={
                "paths": _paths(landing, config, home, lock_retry_seconds=0.2, lock_retries=2)
            },
            raise_on_error=False,
        )
    finally:
        holder.kill()
        holder.wait()
    assert not result.success
    assert len(_events(result, "STEP_UP_FOR_RETRY", "config_tables")) == 2
    (failure,) = _events(result, "STEP_FAILURE", "config_tables")
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith(f"another Quotaboard run holds {home / 'run.lock'} (pid ")
    assert "gave up waiting for it (2 retries)" in description


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (PermissionError(13, "Permission denied"), True),
        (duckdb.IOException("IO Error: Could not set lock on file"), True),
        (LandingError("crm/User.csv: required column Id is missing"), False),
        (ValueError("bad"), False),
    ],
)
def test_transient_or_permanent(exc, transient):
    assert is_transient(exc) is transient
    wrapped = LandingError("crm/User.csv: unreadable CSV file")
    wrapped.__cause__ = exc
    assert is_transient(wrapped) is transient


# -- reruns ------------------------------------------------------------------------------------
def _run_cli(*args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from dagster_project import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["run", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_full_refresh_rebuilds_from_raw_as_of_a_past_date(sample_company, tmp_path):
    """A nightly run, then ``quotaboard run --full-refresh --as-of <earlier date>``: every
    landing file is read again, dbt runs with --full-refresh, the same numbers are published
    for the earlier date, and the published file is fresh."""
    from dagster_project.defs.freshness import evaluate_freshness

    landing, config = sample_company
    home = tmp_path / "home"
    args = ("--landing", str(landing), "--config", str(config), "--home", str(home))
    code, out, err = _run_cli(*args, "--as-of", "2026-11-20")
    assert code == 0, out + err
    warehouse = home / "warehouse" / "quotaboard.duckdb"
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        files, first_load = conn.execute(
            "select count(*), max(loaded_at) from raw.load_manifest"
        ).fetchone()
    finally:
        conn.close()

    code, out, err = _run_cli(*args, "--as-of", "2026-10-31", "--full-refresh")
    assert code == 0, out + err
    assert f"full refresh: reloading every landing file ({files} were loaded before)" in out
    assert f"landing: {files} files" in out and f"({files} files, " in out  # all read again
    conn = duckdb.connect(str(warehouse), read_only=True)
    try:
        (reloaded,) = conn.execute(
            "select count(*) from raw.load_manifest where loaded_at > ?", [first_load]
        ).fetchone()
    finally:
        conn.close()
    assert reloaded == files
    run_results = json.loads((home / "dbt" / "target" / "run_results.json").read_text())
    assert run_results["args"]["full_refresh"] is True
    assert os.environ.get("DBT_FULL_REFRESH") is None  # not left behind

    published = home / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        as_ofs = conn.execute(
            "select distinct cast(as_of as varchar) from marts.fct_attainment_history order by 1"
        ).fetchall()
    finally:
        conn.close()
    assert as_ofs == [("2026-10-31",), ("2026-11-20",)]
    freshness = evaluate_freshness(published, 26)
    assert freshness.passed and freshness.age_hours < 1
    assert freshness.measured_from == "fct_attainment_history.published_at"
    assert freshness.as_of == "2026-10-31"
