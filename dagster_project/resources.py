"""Where a run reads and writes: one resource shared by every asset.

Every path derives from four settings so that the command line, the schedule and the tests
agree: the landing folder, the config folder, the home (all outputs and internal state) and
the run's ``as_of`` date. Environment variables give the defaults, so `dagster dev` and
`quotaboard run` see the same home (:func:`resolve_paths`: the command line's folders over the
environment's over the sample's). Every path under ``published/`` that more than one module
needs is a property here (``published_path``, ``parquet_link``, ``docs_page``, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from dagster_project.publish import PARQUET_LINK, PUBLISHED_FILE

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
    def published_path(self) -> Path:
        """``published/quotaboard.duckdb``: the marts readers open."""
        return self.published_dir / PUBLISHED_FILE

    @property
    def parquet_link(self) -> Path:
        """``published/parquet``: a link to one complete set of Parquet files."""
        return self.published_dir / PARQUET_LINK

    @property
    def docs_page(self) -> Path:
        """``published/docs/index.html``: the metric catalogue (``defs/catalogue.py``)."""
        return self.published_dir / "docs" / "index.html"

    @property
    def board_page(self) -> Path:
        """``published/board/index.html``: the company board (``board/build.py``)."""
        return self.published_dir / "board" / "index.html"

    @property
    def quality_dir(self) -> Path:
        """``published/quality/``: the quality report ``index.html`` (``quality/report_page.py``)
        and GX's Data Docs in ``gx/`` (``quality/runner.py``)."""
        return self.published_dir / "quality"

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


def resolve_paths(
    landing: str | Path | None = None,
    config: str | Path | None = None,
    home: str | Path | None = None,
    as_of: str | None = None,
) -> QuotaboardPaths:
    """The folders of a ``quotaboard`` command: each one given (``--landing``, ``--config``,
    ``--home``, ``--as-of``), else the environment's (:func:`paths_from_env`), else the
    sample's; folders as absolute paths. Nothing is checked or created here."""
    env = paths_from_env()
    return QuotaboardPaths(
        landing_dir=str(Path(landing or env.landing_dir).resolve()),
        config_dir=str(Path(config or env.config_dir).resolve()),
        home_dir=str(Path(home or env.home_dir).resolve()),
        as_of=env.as_of if as_of is None else as_of,
    )
