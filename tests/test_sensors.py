"""The landing sensor: each new or changed landing file starts one run, once."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.defs.sensors import SENSOR_ENV, build_landing_sensor, sensor_switched_on
from dagster_project.keys import AS_OF_TAG, TRIGGER_TAG
from dagster_project.settings import previous_day_in

TZ = "America/New_York"
USERS = "Id,Name,IsActive,SystemModstamp\n005A,Ann,true,2026-01-01T00:00:00Z\n"
MESSAGE = '{"type":"track","messageId":"m1","timestamp":"2026-01-01T00:00:00Z"}\n'


def _write(path: Path, text: str, age_seconds: float = 120) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    when = time.time() - age_seconds
    os.utime(path, (when, when))
    return path


@pytest.fixture
def landing(tmp_path) -> Path:
    _write(tmp_path / "crm" / "User.csv", USERS)
    _write(tmp_path / "product_usage" / "date=2026-01-01" / "part-0.jsonl", MESSAGE)
    _write(tmp_path / "crm" / "notes.txt", "not a landing file")
    return tmp_path


class Tick:
    """Evaluates the sensor like the daemon: each tick starts from the last tick's cursor."""

    def __init__(self, landing: Path, settle_seconds: float = 0):
        self.sensor = build_landing_sensor(
            landing, TZ, settle_seconds, default_status=dg.DefaultSensorStatus.STOPPED
        )
        self.cursor: str | None = None

    def __call__(self) -> list[dg.RunRequest]:
        data = self.sensor.evaluate_tick(dg.build_sensor_context(cursor=self.cursor))
        if data.cursor is not None:
            self.cursor = data.cursor
        return list(data.run_requests or [])


def test_each_new_or_changed_file_triggers_once(landing):
    tick = Tick(landing)
    (first,) = tick()  # switched on: what is there is new once
    assert first.job_name in (None, "nightly")
    assert set(json.loads(tick.cursor)) == {
        "crm/User.csv",
        "product_usage/date=2026-01-01/part-0.jsonl",
    }
    assert tick() == []  # nothing changed
    assert tick() == []

    _write(landing / "product_usage" / "date=2026-01-02" / "part-0.jsonl", MESSAGE)
    (new_file,) = tick()
    assert tick() == []

    _write(landing / "crm" / "User.csv", USERS + "005B,Bob,true,2026-01-02T00:00:00Z\n")
    (changed,) = tick()
    assert tick() == []

    keys = {first.run_key, new_file.run_key, changed.run_key}
    assert len(keys) == 3


def test_same_size_new_mtime_is_a_change(landing):
    tick = Tick(landing)
    tick()
    path = landing / "crm" / "User.csv"
    when = time.time() - 60
    os.utime(path, (when, when))
    assert len(tick()) == 1
    assert tick() == []


def test_run_request_tags(landing):
    (request,) = Tick(landing)()
    assert request.tags[TRIGGER_TAG] == "landing_sensor"
    assert request.tags[AS_OF_TAG] == previous_day_in(TZ, datetime.now(UTC)).isoformat()


def test_files_still_being_written_wait_until_they_settle(landing):
    tick = Tick(landing, settle_seconds=30)
    assert len(tick()) == 1
    fresh = _write(landing / "crm" / "Account.csv", "Id,Name\n001,Acme\n", age_seconds=0)
    assert tick() == []  # modified just now: maybe still being written
    when = time.time() - 31
    os.utime(fresh, (when, when))
    assert len(tick()) == 1
    assert tick() == []


def test_extractor_output_does_not_trigger(landing):
    tick = Tick(landing)
    tick()
    _write(landing / "crm" / "Opportunity" / "sf-20261124T020000Z.csv", "Id\n006A\n")
    _write(landing / "product_usage" / "s3" / "events" / "part-9.jsonl", MESSAGE)
    assert tick() == []
    _write(landing / "crm" / "Opportunity" / "drop-1.csv", "Id\n006B\n")
    assert len(tick()) == 1


def test_empty_landing_skips(tmp_path):
    assert Tick(tmp_path)() == []


def test_switch(monkeypatch):
    for value in ("on", "ON", "1", "true"):
        assert sensor_switched_on({SENSOR_ENV: value})
    for value in ("", "off", "0"):
        assert not sensor_switched_on({SENSOR_ENV: value})
    monkeypatch.setenv(SENSOR_ENV, "on")
    sensor = build_landing_sensor(Path("/nonexistent"), TZ)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    monkeypatch.delenv(SENSOR_ENV)
    sensor = build_landing_sensor(Path("/nonexistent"), TZ)
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
