"""``quotaboard dev``: the instance it writes (read back by Dagster itself) and, marked slow,
the real webserver and daemon on a free port, stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.dev import MANAGED_MARKER, dev_environment, ensure_instance_yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_instance_yaml_is_sqlite_queue_and_run_retries(tmp_path):
    dagster_home = tmp_path / "dagster"
    path, written = ensure_instance_yaml(dagster_home)
    assert written and path == dagster_home / "dagster.yaml"
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        queue = coordinator.get_run_queue_config()
        assert queue.max_concurrent_runs == 1
        assert [dict(limit) for limit in queue.tag_concurrency_limits] == [
            {"key": "quotaboard/writer", "limit": 1}
        ]
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 0
        assert not instance.run_retries_retry_on_asset_or_op_failure
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
    assert (dagster_home / "history" / "runs.db").exists()  # persistent, under the home


def test_instance_yaml_rewritten_when_managed_kept_when_taken_over(tmp_path):
    path, written = ensure_instance_yaml(tmp_path, max_concurrent_runs=3)
    assert written and "max_concurrent_runs: 3" in path.read_text()
    assert ensure_instance_yaml(tmp_path, max_concurrent_runs=3) == (path, False)
    _, written = ensure_instance_yaml(tmp_path, max_concurrent_runs=2)
    assert written and "max_concurrent_runs: 2" in path.read_text()

    own = path.read_text().replace(MANAGED_MARKER + "\n", "").replace("2", "5")
    path.write_text(own)
    assert ensure_instance_yaml(tmp_path) == (path, False)
    assert path.read_text() == own


def test_dev_environment(tmp_path):
    env = dev_environment({"PATH": "/bin"}, tmp_path, tmp_path / "l", tmp_path / "c")
    assert env["DAGSTER_HOME"] == str(tmp_path / "dagster")
    assert env["QUOTABOARD_HOME"] == str(tmp_path)
    assert env["QUOTABOARD_LANDING"] == str(tmp_path / "l")
    assert env["QUOTABOARD_LOCK_TIMEOUT"] == "60"
    kept = dev_environment({"QUOTABOARD_LOCK_TIMEOUT": "5"}, tmp_path, tmp_path, tmp_path)
    assert kept["QUOTABOARD_LOCK_TIMEOUT"] == "5"


def test_dev_rejects_a_missing_folder(tmp_path, capsys):
    from dagster_project import cli

    code = cli.main(["dev", "--home", str(tmp_path), "--landing", str(tmp_path / "nope")])
    assert code == 2
    assert f"the landing folder {tmp_path / 'nope'} does not exist" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_quotaboard_dev_serves_the_ui_and_stops_cleanly(sample_company, tmp_path):
    landing, config = sample_company
    port = _free_port()
    log = (tmp_path / "dev.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_project.cli",
            "dev",
            "--home",
            str(tmp_path / "home"),
            "--landing",
            str(landing),
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: webserver, daemon, code server
    )
    try:
        info, deadline = None, time.monotonic() + 420
        while info is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "dev.log").read_text()
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/server_info", timeout=5
                ) as response:
                    info = json.loads(response.read())
            except OSError:
                time.sleep(2)
        assert info is not None, "the UI did not answer: " + (tmp_path / "dev.log").read_text()
        assert info["dagster_version"] == dg.__version__
        assert (tmp_path / "home" / "dagster" / "dagster.yaml").exists()

        data = _graphql(
            port,
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { "
            "schedules { name scheduleState { status } } "
            "sensors { name sensorState { status } } } } } "
            "instance { runQueuingSupported } }",
        )
        (repo,) = data["repositoriesOrError"]["nodes"]
        schedules = {s["name"]: s["scheduleState"]["status"] for s in repo["schedules"]}
        sensors = {s["name"]: s["sensorState"]["status"] for s in repo["sensors"]}
        assert schedules == {"nightly_schedule": "RUNNING", "freshness_schedule": "RUNNING"}
        assert sensors == {"landing_sensor": "STOPPED", "quotaboard_failure_alert": "RUNNING"}
        assert data["instance"]["runQueuingSupported"] is True
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C (or systemd's stop) sends
        try:
            proc.wait(timeout=120)
        finally:
            stopped_by_signal = proc.returncode is not None
            deadline = time.monotonic() + 60
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(1)
            leftover = _group_alive(proc.pid)
            if leftover:
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    assert stopped_by_signal
    assert not leftover, "processes of quotaboard dev outlived it"
    assert "Dagster services shut down." in (tmp_path / "dev.log").read_text()


def test_instance_only_writes_the_yaml_and_exits(tmp_path, capsys):
    from dagster_project import cli

    assert cli.main(["dev", "--home", str(tmp_path), "--instance-only"]) == 0
    path = tmp_path / "dagster" / "dagster.yaml"
    assert capsys.readouterr().out.strip() == f"{path} (written)"
    assert path.read_text().startswith(MANAGED_MARKER)
