"""Shared fixtures: the sample company (``seeds/`` when present, else generated once)."""

from __future__ import annotations

from pathlib import Path

import pytest

import __main__

# A pytest-xdist worker runs as `python -c`: its __main__ has neither __spec__ nor __file__,
# which PySpark takes for its own doctest runner, and it then calls sys.exit(0) on importing
# pyspark.sql.connect (the Spark tests, or GX probing for PySpark). Give the worker's
# __main__ the file attribute a normal interpreter has.
if getattr(__main__, "__spec__", None) is None and not hasattr(__main__, "__file__"):
    __main__.__file__ = "<pytest-xdist worker>"

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def sample_company(tmp_path_factory) -> tuple[Path, Path]:
    """(landing, config) of the bundled sample; generated (scale 1, seed 42) if the sample
    is not in the repository."""
    landing, config = SEEDS / "landing", SEEDS / "config"
    if landing.is_dir() and (config / "settings.yml").exists():
        return landing, config
    from dagster_project.generate import generate

    out = tmp_path_factory.mktemp("company")
    generate(out, scale=1, seed=42)
    return out / "landing", out / "config"


@pytest.fixture
def registry_with_demo_requests(tmp_path):
    """A factory: the path of a copy of ``dbt_project.yml`` whose metric registry adds the team
    metric ``demo_requests`` (product teams, rule ``demo_request``, documented by the docs
    block ``metric_demo_requests``) with the given aggregation. Tests patch the ``registry``
    of the module they check to ``metric_registry.load_registry(<that path>)``."""
    import yaml

    from dagster_project import metric_registry

    def make(aggregation: str = "distinct_count") -> Path:
        project = yaml.safe_load(metric_registry.DBT_PROJECT_FILE.read_text(encoding="utf-8"))
        project["vars"]["metrics"]["demo_requests"] = {
            "label": "Demo requests",
            "unit": "count",
            "aggregation": aggregation,
            "assignee_types": ["team"],
            "functions": ["product"],
            "rules": ["demo_request"],
            "team_rollup": False,
            "definition": "metric_demo_requests",
        }
        changed = tmp_path / "dbt_project.yml"
        changed.write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
        return changed

    return make
