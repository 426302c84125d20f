"""Shared fixtures: the sample company (``seeds/`` when present, else generated once)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
