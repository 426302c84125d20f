"""``quotaboard dev``: the instance it writes (read back by Dagster itself), how it stops on a
signal however it was started, and, marked slow, the real webserver and daemon on a free port,
stopped cleanly by a signal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.dev import (
    MANAGED_MARKER,
    dagster_dev_command,
    dev_environment,
    ensure_instance_yaml,
    instance_yaml,
)

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
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "SqliteScheduleStorage"
    # persistent, under the home, where Dagster's `storage: sqlite` block puts them
    assert (dagster_home / "history" / "runs.db").exists()
    assert (dagster_home / "history" / "runs" / "index.db").exists()
    assert (dagster_home / "schedules" / "schedules.db").exists()


def test_run_brings_an_older_managed_yaml_up_to_date_keeping_its_max_concurrent_runs(tmp_path):
    """``quotaboard run`` calls ensure_instance_yaml(max_concurrent_runs=None): a file written by
    an older Quotaboard (one ``storage: sqlite`` block) gets the current storages, and the
    ``max_concurrent_runs`` that ``quotaboard dev --max-concurrent-runs`` set stays."""
    path = tmp_path / "dagster.yaml"
    older = instance_yaml(tmp_path, max_concurrent_runs=4)
    older = older.split("run_storage:")[0] + f'storage:\n  sqlite:\n    base_dir: "{tmp_path}"\n\n'
    older += "run_coordinator:" + instance_yaml(tmp_path, 4).split("run_coordinator:")[1]
    path.write_text(older)
    assert ensure_instance_yaml(tmp_path, max_concurrent_runs=None) == (path, True)
    assert path.read_text() == instance_yaml(tmp_path, max_concurrent_runs=4)
    assert ensure_instance_yaml(tmp_path, max_concurrent_runs=None) == (path, False)
    fresh = tmp_path / "fresh"
    path, written = ensure_instance_yaml(fresh, max_concurrent_runs=None)
    assert written and path.read_text() == instance_yaml(fresh)


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


def test_dev_runs_dg_dev_not_the_superseded_dagster_dev(tmp_path):
    """Rule (issue 22): `quotaboard dev` runs Dagster's current command, `dg dev`, on the
    module `dagster_project.definitions` (the code location keeps its name), and it starts
    without the supersession warning `dagster dev` prints."""
    cmd = dagster_dev_command("127.0.0.1", 3000)
    assert Path(cmd[0]).name == "dg" and Path(cmd[0]).exists()
    assert cmd[1:] == [
        "dev",
        "-m",
        "dagster_project.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        "3000",
    ]
    # Installed with the project and answering; the slow test
    # test_quotaboard_dev_serves_the_ui_and_stops_cleanly starts the UI with it.
    done = subprocess.run([cmd[0], "dev", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Start a local instance of Dagster" in done.stdout
    assert "superseded" not in done.stdout + done.stderr


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
            # dagster dev runs in a process group of its own: find its tree by environment.
            marker = f"QUOTABOARD_HOME={tmp_path / 'home'}"
            deadline = time.monotonic() + 60
            while _processes_with_env(marker) and time.monotonic() < deadline:
                time.sleep(1)
            leftover = _processes_with_env(marker)
            for pid in leftover:
                os.kill(pid, signal.SIGKILL)
            if _group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
            log.close()
    assert stopped_by_signal
    assert not leftover, "processes of quotaboard dev outlived it"
    text = (tmp_path / "dev.log").read_text()
    assert "Dagster services shut down." in text
    assert "superseded" not in text  # dg dev, not the superseded dagster dev


def test_instance_only_writes_the_yaml_and_exits(tmp_path, capsys):
    from dagster_project import cli

    assert cli.main(["dev", "--home", str(tmp_path), "--instance-only"]) == 0
    path = tmp_path / "dagster" / "dagster.yaml"
    assert capsys.readouterr().out.strip() == f"{path} (written)"
    assert path.read_text().startswith(MANAGED_MARKER)


# --------------------------------------------------------------------------------------------
# Stopping: SIGINT or SIGTERM stop `quotaboard dev` and everything it started, also when it was
# started in the background from a script (SIGINT inherited as ignored).


def _ignore_sigint() -> None:
    """What a shell does to a background job of a non-interactive script."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _processes_with_env(marker: str) -> list[int]:
    """Pids of this user's processes whose environment holds ``marker`` (NAME=value)."""
    needle = marker.encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ + b"\0" and state != "Z":
            found.append(int(entry.name))
    return found


# Behaves like `dagster dev` towards signals: SIGTERM takes SIGINT's handler (so both are
# ignored when SIGINT was inherited ignored); KeyboardInterrupt stops it and its own child.
FAKE_DAGSTER_DEV = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.getsignal(signal.SIGINT))
    helper = subprocess.Popen(["sleep", "300"])  # a webserver / daemon stand-in
    open(sys.argv[1], "w").write("started")
    try:
        while True:
            time.sleep(0.1)
    except KeyboardInterrupt:
        helper.terminate()
        helper.wait()
        open(sys.argv[1], "w").write("stopped cleanly")
    """
)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_dev_stops_on_a_signal_even_when_started_with_sigint_ignored(tmp_path, stop):
    """Rule: quotaboard dev resets the stop signals to their defaults, forwards SIGINT/SIGTERM
    to the dagster child, waits for it, and leaves no process behind."""
    fake = tmp_path / "fake_dagster_dev.py"
    fake.write_text(FAKE_DAGSTER_DEV)
    state = tmp_path / "state"
    marker = f"QUOTABOARD_DEV_TEST={tmp_path}"
    driver = (
        "import sys; from dagster_project.dev import run_dev; "
        f"sys.exit(run_dev([sys.executable, {str(fake)!r}, {str(state)!r}], "
        f"{{'QUOTABOARD_DEV_TEST': {str(tmp_path)!r}, 'PATH': '/usr/bin:/bin'}}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", driver],
        cwd=REPO_ROOT,
        preexec_fn=_ignore_sigint,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (state.exists() and state.read_text() == "started"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
            time.sleep(0.1)
        assert len(_processes_with_env(marker)) == 2  # the child and its helper
        t0 = time.monotonic()
        proc.send_signal(stop)
        code = proc.wait(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in _processes_with_env(marker):
            os.kill(pid, signal.SIGKILL)
    output = proc.stdout.read()
    assert state.read_text() == "stopped cleanly", output  # the child's own shutdown ran
    assert code == 0, output
    assert elapsed < 20, elapsed  # forwarded at once, not after the force-kill timeout
    assert f"{signal.Signals(stop).name} received" in output
    assert _processes_with_env(marker) == []


def test_dev_kills_a_child_that_does_not_stop(tmp_path):
    """Rule: a child still running stop_timeout seconds after the signal is killed with its
    process group (a hung webserver cannot keep quotaboard dev alive)."""
    stubborn = tmp_path / "stubborn.py"
    stubborn.write_text(
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "open(__file__ + '.started', 'w')\n"
        "time.sleep(300)\n"
    )
    marker = f"QUOTABOARD_DEV_TEST={tmp_path}"
    driver = (
        "import sys; from dagster_project.dev import run_dev; "
        f"sys.exit(run_dev([sys.executable, {str(stubborn)!r}], "
        f"{{'QUOTABOARD_DEV_TEST': {str(tmp_path)!r}}}, stop_timeout=2))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", driver],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{stubborn}.started").exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        leftover = _processes_with_env(marker)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
    output = proc.stdout.read()
    assert code == 0, output  # stopped as asked
    assert f"dg dev ended with status {-signal.SIGKILL}" in output
    assert leftover == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_real_quotaboard_dev_started_with_sigint_ignored_stops_on_sigterm(sample_company, tmp_path):
    """Rule: `quotaboard dev` started in the background from a script (SIGINT ignored) stops
    on SIGTERM within a bound, and no Dagster process of its home remains."""
    landing, config = sample_company
    home = tmp_path / "home"
    log_path = tmp_path / "dev.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_project.cli", "dev", "--home", str(home)]
        + ["--landing", str(landing), "--config", str(config), "--port", str(_free_port())],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_ignore_sigint,
    )
    marker = f"QUOTABOARD_HOME={home}"
    try:
        # Up to the webserver and the daemon (children of `dagster dev`), then the signal.
        deadline = time.monotonic() + 300
        while len(_processes_with_env(marker)) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(1)
        assert len(_processes_with_env(marker)) >= 3, log_path.read_text()
        time.sleep(5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=200)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
        leftover = _processes_with_env(marker)
        for pid in leftover:
            os.kill(pid, signal.SIGKILL)
        log.close()
    text = log_path.read_text()
    assert code == 0, text
    assert elapsed < 180, elapsed
    assert leftover == [], text
    assert "SIGTERM received" in text
