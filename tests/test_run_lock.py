"""The run lock: one Quotaboard run per home, across processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.run_lock import RunLockBusy, describe_holder, is_held_here, run_lock

HOLDER = """
import sys, time
from dagster_project.run_lock import run_lock
with run_lock(sys.argv[1], timeout=0, owner="test holder"):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(lock: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_acquirer_gets_a_clear_message(tmp_path):
    lock = tmp_path / "run.lock"
    proc = _hold(lock, 30)
    try:
        with pytest.raises(RunLockBusy) as info, run_lock(lock, timeout=0):
            pass
        msg = str(info.value)
        assert msg.startswith(f"another Quotaboard run holds {lock} (pid {proc.pid} since ")
        assert describe_holder(lock).startswith(f"pid {proc.pid} since ")
    finally:
        proc.kill()
        proc.wait()


def test_waits_up_to_the_timeout(tmp_path):
    lock = tmp_path / "run.lock"
    proc = _hold(lock, 1.0)
    try:
        t0 = time.monotonic()
        with run_lock(lock, timeout=20):
            assert time.monotonic() - t0 < 15
            assert describe_holder(lock).startswith(f"pid {os.getpid()} since ")
    finally:
        proc.wait()


def test_timeout_expires(tmp_path):
    lock = tmp_path / "run.lock"
    proc = _hold(lock, 30)
    try:
        t0 = time.monotonic()
        with pytest.raises(RunLockBusy), run_lock(lock, timeout=0.6):
            pass
        assert time.monotonic() - t0 >= 0.5
    finally:
        proc.kill()
        proc.wait()


def test_killed_holder_releases_the_lock(tmp_path):
    lock = tmp_path / "run.lock"
    proc = _hold(lock, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with run_lock(lock, timeout=0):
        assert is_held_here(lock)
    assert not is_held_here(lock)


def test_reentrant_in_one_process(tmp_path):
    lock = tmp_path / "run.lock"
    with run_lock(lock, timeout=0), run_lock(lock, timeout=0):
        assert is_held_here(lock)
    assert not is_held_here(lock)
    # released: another process can take it
    proc = _hold(lock, 0)
    proc.wait()


def test_cli_run_stops_when_another_run_holds_the_home(tmp_path, capsys):
    from dagster_project import cli

    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "landing").mkdir()
    (tmp_path / "config").mkdir()
    proc = _hold(home / "run.lock", 30)
    try:
        code = cli.main(
            [
                "run",
                "--landing",
                str(tmp_path / "landing"),
                "--config",
                str(tmp_path / "config"),
                "--home",
                str(home),
            ]
        )
    finally:
        proc.kill()
        proc.wait()
    err = capsys.readouterr().err
    assert code == 2
    assert f"another Quotaboard run holds {home / 'run.lock'} (pid {proc.pid} since" in err
    assert not (home / "published").exists()


def test_a_dagster_run_holds_the_lock_through_the_paths_resource(tmp_path):
    """A run launched by Dagster (schedule, UI) takes the same lock: with another run holding
    the home and no lock retries left, its first step fails naming the holder and nothing is
    published (tests/test_retries.py covers the retry that waits for the lock)."""
    import dagster as dg

    from dagster_project.definitions import RunLockedPaths, build_defs
    from dagster_project.defs.publish import PUBLISHED_KEY

    home = tmp_path / "home"
    paths = RunLockedPaths(home_dir=str(home), lock_retries=0)  # no lock retries: fail at once
    job = build_defs(paths).resolve_job_def("nightly")
    proc = _hold(home / "run.lock", 30)
    try:
        result = job.execute_in_process(
            asset_selection=[PUBLISHED_KEY],
            instance=dg.DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
    finally:
        proc.kill()
        proc.wait()
    assert not result.success
    messages = " ".join(
        str(getattr(e.event_specific_data, "error", "") or "") for e in result.all_events
    )
    assert f"another Quotaboard run holds {home / 'run.lock'} (pid {proc.pid}" in messages
    assert not (home / "published").exists()
