"""The code location loads: every asset, the nightly job, the schedule, the resources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import RunLockedPaths, defs
from dagster_project.defs.publish import PUBLISHED_KEY
from dagster_project.defs.transform.assets import MART_KEYS
from dagster_project.ingest.schema import CONFIG_TABLES, CRM_OBJECTS
from dagster_project.resources import SAMPLE_CONFIG
from dagster_project.settings import company_timezone

REPO_ROOT = Path(__file__).resolve().parent.parent
MARTS = {
    "dim_fiscal_periods",
    "dim_teams",
    "dim_people",
    "fct_quota_credits",
    "fct_quota_attainment",
    "fct_scorecards",
    "fct_quota_exceptions",
    "fct_attainment_history",
}


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def _materializable(graph) -> dict[str, str | None]:
    return {
        k.to_user_string(): graph.get(k).group_name
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable
    }


def test_expected_asset_keys_and_groups(graph):
    assets = _materializable(graph)
    for table in CONFIG_TABLES:
        assert assets[f"config/{table}"] == "config"
    for table, _, _ in CRM_OBJECTS.values():
        assert assets[f"raw/{table}"] == "raw"
    assert assets["raw/rejected_rows"] == "raw"
    assert assets["raw/messages"] == "raw"
    for mart in MARTS:
        assert assets[f"marts/{mart}"] == "marts", mart
    assert assets["staging/stg_config__run_context"] == "staging"
    assert assets["staging/stg_config__settings"] == "staging"
    assert assets["published/warehouse"] == "published"
    assert assets["published/docs"] == "published"
    assert assets["semantic/metricflow_time_spine"] == "semantic"
    assert assets["published/board"] == "published"
    groups = set(assets.values())
    assert {"config", "raw", "staging", "intermediate", "marts", "published"} <= groups


def test_dbt_sources_attach_to_the_loader_assets(graph):
    parents = {
        p.to_user_string()
        for p in graph.get(dg.AssetKey(["staging", "stg_config__settings"])).parent_keys
    }
    assert parents == {"config/settings"}
    parents = {
        p.to_user_string() for p in graph.get(dg.AssetKey(["staging", "stg_crm__user"])).parent_keys
    }
    assert parents == {"raw/user"}


def test_publish_depends_on_every_mart(graph):
    marts = {k for k in graph.get_all_asset_keys() if k.path[0] == "marts"}
    assert set(MART_KEYS) == marts
    assert graph.get(PUBLISHED_KEY).parent_keys == marts


def test_dbt_tests_are_asset_checks(graph):
    checks = list(graph.asset_check_keys)
    assert checks, "dbt tests should become asset checks"
    assert any(c.asset_key.path[0] == "marts" for c in checks)


def test_nightly_job_covers_everything_in_process():
    job = defs.resolve_job_def("nightly")
    assert job.executor_def is dg.in_process_executor
    keys = job.asset_layer.asset_graph.get_all_asset_keys()
    assert PUBLISHED_KEY in keys
    assert dg.AssetKey(["config", "settings"]) in keys


def test_schedule_runs_nightly_in_the_company_time_zone():
    schedule = defs.resolve_schedule_def("nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "nightly"
    config_dir = Path(os.environ.get("QUOTABOARD_CONFIG", str(SAMPLE_CONFIG)))
    assert schedule.execution_timezone == company_timezone(config_dir)


def test_resources_are_bound():
    paths = defs.resources["paths"]
    assert isinstance(paths, RunLockedPaths)
    assert "dbt" in defs.resources


def test_schedule_timezone_follows_quotaboard_config(tmp_path):
    (tmp_path / "settings.yml").write_text("timezone: Australia/Sydney\n")
    env = {**os.environ, "QUOTABOARD_CONFIG": str(tmp_path)}
    out = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-c",
            "from dagster_project.definitions import defs; "
            "print(defs.resolve_schedule_def('nightly_schedule').execution_timezone)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    assert out.stdout.strip().splitlines()[-1] == "Australia/Sydney"


def test_dagster_definitions_validate():
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "dagster_project.definitions"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_operations_definitions_and_their_default_switches():
    schedules = {s.name: s.default_status for s in defs.schedules}
    sensors = {s.name: s.default_status for s in defs.sensors}
    assert schedules == {
        "nightly_schedule": dg.DefaultScheduleStatus.RUNNING,
        "freshness_schedule": dg.DefaultScheduleStatus.RUNNING,
    }
    assert sensors["quotaboard_failure_alert"] == dg.DefaultSensorStatus.RUNNING
    from dagster_project.defs.sensors import sensor_switched_on

    switched_on = sensors["landing_sensor"] == dg.DefaultSensorStatus.RUNNING
    assert switched_on is sensor_switched_on()  # off unless QUOTABOARD_LANDING_SENSOR=on
    freshness = defs.resolve_job_def("freshness_checks")
    assert freshness.asset_layer.asset_graph.asset_check_keys == {
        dg.AssetCheckKey(PUBLISHED_KEY, "freshness")
    }
