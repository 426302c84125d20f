"""The dbt resource (``QuotaboardDbtCli`` in ``defs/transform/project.py``): a dbt command runs
without dagster-dbt's ``dbt --version`` process and without opening a dbt adapter (profile,
project and adapter loaded) in the Dagster process. Checked in a fresh interpreter, so that no
other test's adapter hides one."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import textwrap

from dagster_project.defs.transform.project import QuotaboardDbtCli, dbt_cli, dbt_project


def test_dbt_command_runs_without_version_process_or_adapter_in_process(tmp_path):
    script = textwrap.dedent(
        f"""
        import json, sys
        from pathlib import Path
        import dagster_dbt.core.resource as resource

        def no_version_process(*args, **kwargs):
            raise AssertionError(f"dagster-dbt ran {{args}}")

        resource.check_output = no_version_process
        from dbt.adapters.factory import FACTORY
        from dagster_project.defs.transform.project import dbt_cli, dbt_project

        invocation = dbt_cli(dbt_project()).cli(
            ["ls", "--resource-type", "model", "--select", "fct_quota_attainment",
             "--output", "name", "--quiet"],
            target_path=Path({str(tmp_path / "target")!r}),
        )
        invocation.wait()
        print(json.dumps({{
            "returncode": invocation.process.returncode,
            "adapters_opened": sorted(FACTORY.adapters),
            "no_adapter": invocation.adapter is None,
        }}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"returncode": 0, "adapters_opened": [], "no_adapter": True}


def test_dbt_version_is_the_installed_dbt_core():
    resource = dbt_cli(dbt_project())
    assert isinstance(resource, QuotaboardDbtCli)
    assert str(resource._cli_version) == importlib.metadata.version("dbt-core")
