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
