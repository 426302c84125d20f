"""Where a run reads and writes: one resource shared by every asset.

Every path derives from four settings so that the command line, the schedule and the tests
agree: the landing folder, the config folder, the home (all outputs and internal state) and
the run's ``as_of`` date. Environment variables give the defaults, so `dagster dev` and
`quotaboard run` see the same home.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_LANDING = REPO_ROOT / "seeds" / "landing"
SAMPLE_CONFIG = REPO_ROOT / "seeds" / "config"
DEFAULT_HOME = REPO_ROOT / "data"


class QuotaboardPaths(dg.ConfigurableResource):
    """The folders of one run and its ``as_of`` date (ISO date; empty = today in the company
    time zone)."""

    landing_dir: str = str(SAMPLE_LANDING)
    config_dir: str = str(SAMPLE_CONFIG)
    home_dir: str = str(DEFAULT_HOME)
    as_of: str = ""

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir).resolve()

    @property
    def config(self) -> Path:
        return Path(self.config_dir).resolve()

    @property
    def home(self) -> Path:
        return Path(self.home_dir).resolve()

    @property
    def warehouse_path(self) -> Path:
        """The private working DuckDB file (one writer at a time, never opened by readers)."""
        return self.home / "warehouse" / "quotaboard.duckdb"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def lock_path(self) -> Path:
        return self.home / "run.lock"


def paths_from_env() -> QuotaboardPaths:
    """The resource as the environment sets it (QUOTABOARD_LANDING, _CONFIG, _HOME, _AS_OF)."""
    return QuotaboardPaths(
        landing_dir=os.environ.get("QUOTABOARD_LANDING", str(SAMPLE_LANDING)),
        config_dir=os.environ.get("QUOTABOARD_CONFIG", str(SAMPLE_CONFIG)),
        home_dir=os.environ.get("QUOTABOARD_HOME", str(DEFAULT_HOME)),
        as_of=os.environ.get("QUOTABOARD_AS_OF", ""),
    )
