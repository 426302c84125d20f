"""Failure alerts: a real failed run (invalid configuration) fires the run-failure sensor,
which posts Slack-compatible JSON to a webhook receiver on 127.0.0.1 and never logs the URL."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from dagster_project.alerting import (
    WEBHOOK_ENV,
    FailedRun,
    alert_config_from_env,
    first_line,
    format_failure,
    post_alert,
    redact,
)
from dagster_project.defs.alerts import quotaboard_failure_alert
from dagster_project.defs.config import config_tables
from dagster_project.resources import QuotaboardPaths

SECRET = "T000/B000/s3cr3t-token"


class _Receiver:
    """A webhook on 127.0.0.1 that records every POST and answers ``status``."""

    def __init__(self, status: int = 200):
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "type": self.headers.get("Content-Type"), "body": body}
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = _Receiver()
    yield r
    r.close()


@pytest.fixture
def failing_receiver():
    r = _Receiver(status=500)
    yield r
    r.close()


@pytest.fixture(scope="module")
def failed_run(sample_company, tmp_path_factory):
    """A real failed run: the config asset on a config folder with an unknown team function."""
    landing, config = sample_company
    bad = tmp_path_factory.mktemp("bad_config")
    shutil.copytree(config, bad, dirs_exist_ok=True)
    teams = (bad / "teams.csv").read_text(encoding="utf-8").splitlines()
    header = teams[0].split(",")
    row = teams[1].split(",")
    row[header.index("function")] = "salez"
    teams[1] = ",".join(row)
    (bad / "teams.csv").write_text("\n".join(teams) + "\n", encoding="utf-8")
    home = tmp_path_factory.mktemp("home")
    paths = QuotaboardPaths(landing_dir=str(landing), config_dir=str(bad), home_dir=str(home))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [config_tables],
        resources={"paths": paths},
        instance=instance,
        raise_on_error=False,
        tags={"quotaboard/as_of": "2026-11-20"},
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert len(failure) == 1
    return instance, run, failure[0].dagster_event


def _sensor_context(failed_run) -> dg.RunFailureSensorContext:
    instance, run, event = failed_run
    return dg.build_run_status_sensor_context(
        sensor_name="quotaboard_failure_alert",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()


def test_failed_run_posts_run_step_and_first_error_line(failed_run, receiver, monkeypatch):
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    monkeypatch.setenv("QUOTABOARD_UI_URL", "http://quotaboard.example:3000/")
    _, run, _ = failed_run
    quotaboard_failure_alert(_sensor_context(failed_run))

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == f"/services/{SECRET}"
    assert request["type"] == "application/json"
    body = json.loads(request["body"])
    assert list(body) == ["text"]
    lines = body["text"].splitlines()
    assert lines[0] == (
        ":rotating_light: Quotaboard run failed: job `__ephemeral_asset_job__`, as of 2026-11-20"
    )
    assert lines[1] == f"run: {run.run_id}"
    assert lines[2] == "failed step: config_tables"
    # The first line of the dg.Failure ("Invalid configuration in <dir>:") with the problem.
    assert lines[3].startswith("error: Invalid configuration in ")
    assert "teams.csv, row 1 (line 2), column function: 'salez'" in lines[3]
    assert lines[-1] == f"http://quotaboard.example:3000/runs/{run.run_id}"


def _logged(capfd, caplog) -> str:
    """What the sensor logged (Dagster's console handler writes to stderr)."""
    out, err = capfd.readouterr()
    return "\n".join([out, err, *(r.getMessage() for r in caplog.records)])


def test_webhook_url_is_never_logged(failed_run, failing_receiver, monkeypatch, capfd, caplog):
    monkeypatch.setenv(WEBHOOK_ENV, failing_receiver.url)
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG):
        quotaboard_failure_alert(_sensor_context(failed_run))  # HTTP 500: logged, not raised
    assert len(failing_receiver.requests) == 1
    logged = _logged(capfd, caplog)
    assert "answered HTTP 500" in logged
    assert f"127.0.0.1:{failing_receiver.server.server_port}" in logged
    assert SECRET not in logged
    assert "s3cr3t" not in logged


def test_without_a_webhook_the_alert_is_logged_only(failed_run, monkeypatch, capfd, caplog):
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    _, run, _ = failed_run
    capfd.readouterr()
    with caplog.at_level(logging.DEBUG):
        quotaboard_failure_alert(_sensor_context(failed_run))
    logged = _logged(capfd, caplog)
    assert f"run: {run.run_id}" in logged
    assert "failed step: config_tables" in logged
    assert "no alert webhook configured" in logged


def test_unreachable_webhook_names_only_the_host():
    delivery = post_alert(f"http://127.0.0.1:9/hooks/{SECRET}?token=abc", "x", 2)
    assert not delivery.ok and delivery.status == 0
    assert delivery.detail.startswith("alert webhook http://127.0.0.1:9/… unreachable")
    assert SECRET not in delivery.detail and "abc" not in delivery.detail
    assert redact("https://hooks.slack.com/services/T/B/x?y=1") == "https://hooks.slack.com/…"


def test_alert_text_and_configuration():
    text = format_failure(
        FailedRun("r1", "nightly", ["dbt_models"], "boom", "2026-11-20", will_retry=True)
    )
    assert text.splitlines()[2:] == [
        "failed step: dbt_models",
        "error: boom",
        "nothing was published (the previous published files are unchanged); "
        "the run will be retried automatically",
    ]
    assert first_line("\x1b[31m\n  first\nsecond") == "first"
    assert first_line("Invalid configuration in /c:\n  teams.csv: bad\nmore") == (
        "Invalid configuration in /c: teams.csv: bad"
    )
    assert len(first_line("x" * 1000)) == 300
    cfg = alert_config_from_env({WEBHOOK_ENV: " https://h/x ", "QUOTABOARD_ALERT_TIMEOUT": "no"})
    assert cfg.webhook_url == "https://h/x" and cfg.timeout_seconds == 10.0
    assert alert_config_from_env({}).webhook_url is None


def test_sensor_tick_reports_a_command_line_run_failure(
    sample_company, tmp_path, receiver, monkeypatch
):
    """The sensor evaluated tick by tick on a real instance: a first tick starts its cursor, a
    run fails the way `quotaboard run` executes it (in process), the next tick posts exactly
    one alert for it and the tick after that none. (That the daemon matches such runs, which
    have no code-location origin, rests on monitor_all_code_locations=True: a test context
    has no origin either, so this test cannot tell.)"""
    monkeypatch.setenv(WEBHOOK_ENV, receiver.url)
    landing, _ = sample_company
    bad = tmp_path / "config"
    bad.mkdir()
    (bad / "settings.yml").write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    paths = QuotaboardPaths(landing_dir=str(landing), config_dir=str(bad), home_dir=str(tmp_path))
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        cursor = None

        def tick() -> None:
            nonlocal cursor
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            data = quotaboard_failure_alert.evaluate_tick(context)
            cursor = data.cursor

        tick()
        assert receiver.requests == []
        result = dg.materialize(
            [config_tables], resources={"paths": paths}, instance=instance, raise_on_error=False
        )
        assert not result.success
        tick()
        tick()
    assert len(receiver.requests) == 1
    text = json.loads(receiver.requests[0]["body"])["text"]
    assert f"run: {result.run_id}" in text
    assert "failed step: config_tables" in text
