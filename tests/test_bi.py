"""BI access to ``published/quotaboard.duckdb`` (docs/bi.md), with real clients on real files.

* SQLAlchemy + duckdb-engine, read-only (Superset's route), on a file the real publish wrote.
* DuckDB 1.1 (what BI drivers often bundle) opens the published file: a venv with
  ``duckdb==1.1.3`` is created once in pytest's cache (or ``QUOTABOARD_DUCKDB11_PYTHON``).
* Readers during a nightly run: a second ``quotaboard run`` in a subprocess while this process
  queries the published file read-only in a loop; not one read may fail.

``published_home`` (a home after one real ``quotaboard run`` on the sample, shared by
test_catalogue.py and test_semantic.py within a session) lives here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from dagster_project.publish import publish_warehouse

AS_OF = "2026-11-20"
DUCKDB_11 = "1.1.3"
QUOTABOARD = Path(sys.executable).parent / "quotaboard"


# --------------------------------------------------------------------------------------------
# a home after one real nightly run (shared within a session)


def run_pipeline(home: Path, landing: Path, config: Path, **popen) -> subprocess.Popen:
    """Start ``quotaboard run`` on ``home`` (as_of fixed) in a subprocess."""
    return subprocess.Popen(
        [
            str(QUOTABOARD),
            "run",
            "--home",
            str(home),
            "--landing",
            str(landing),
            "--config",
            str(config),
            "--as-of",
            AS_OF,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


@pytest.fixture(scope="session")
def published_home(tmp_path_factory, sample_company) -> Path:
    """A home where ``quotaboard run`` on the sample published (marts, docs, ...)."""
    home = tmp_path_factory.getbasetemp() / "analyst-home"
    if not (home / "published" / "quotaboard.duckdb").exists():
        landing, config = sample_company
        proc = run_pipeline(home, landing, config)
        out, _ = proc.communicate(timeout=1200)
        assert proc.returncode == 0, out
    return home


# --------------------------------------------------------------------------------------------
# a small published file written by the real publish (fast)


@pytest.fixture
def small_published(tmp_path) -> Path:
    """A published file of two plan rows and a team board, written by ``publish_warehouse``."""
    warehouse = tmp_path / "warehouse" / "quotaboard.duckdb"
    warehouse.parent.mkdir(parents=True)
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("CREATE SCHEMA marts")
        conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
        conn.execute(
            f"CREATE TABLE staging.stg_config__run_context AS SELECT DATE '{AS_OF}' AS as_of"
        )
        conn.execute(
            """
            CREATE TABLE marts.fct_quota_attainment AS SELECT * FROM (VALUES
                ('team', 'emea', 'FY2027-Q4', 'bookings', 1000.0, 250.0, 0.25),
                ('person', 'ann', 'FY2027-Q4', 'bookings', 400.0, 500.0, 1.25)
            ) v(assignee_type, assignee_id, fiscal_period, metric, target, actual, attainment)
            """
        )
        conn.execute(
            """
            CREATE TABLE marts.mart_team_board AS SELECT * FROM (VALUES
                ('emea', 'Sales EMEA', 'FY2027-Q4', 0.25)
            ) v(team_id, team_name, fiscal_period, weighted_attainment)
            """
        )
    finally:
        conn.close()
    result = publish_warehouse(warehouse, tmp_path / "published", run_id="run-1")
    return result.published_path


def test_sqlalchemy_duckdb_engine_reads_the_published_file_read_only(small_published):
    engine = create_engine(
        f"duckdb:///{small_published}",
        connect_args={"read_only": True},
        poolclass=NullPool,
    )
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "select team_name, weighted_attainment from marts.mart_team_board "
                "where fiscal_period = :period"
            ),
            {"period": "FY2027-Q4"},
        ).all()
        assert [tuple(r) for r in rows] == [("Sales EMEA", 0.25)]
        history = conn.execute(
            text(
                "select assignee_id, actual from marts.fct_attainment_history "
                "where run_id = 'run-1' order by assignee_id"
            )
        ).all()
        assert [tuple(r) for r in history] == [("ann", 500.0), ("emea", 250.0)]
        with pytest.raises(SQLAlchemyError, match="read-only"):
            conn.execute(text("delete from marts.mart_team_board"))
    # A read-only connection does not lock other readers out: two at once.
    with engine.connect() as a, engine.connect() as b:
        assert a.execute(text("select count(*) from marts.fct_quota_attainment")).scalar() == 2
        assert b.execute(text("select count(*) from marts.fct_quota_attainment")).scalar() == 2


# --------------------------------------------------------------------------------------------
# DuckDB 1.1


def _duckdb_11_python(cache_dir: Path) -> Path | None:
    """A Python with duckdb==1.1.3: QUOTABOARD_DUCKDB11_PYTHON, else a venv created once under
    ``cache_dir``; None when it cannot be installed (no package index)."""
    configured = os.environ.get("QUOTABOARD_DUCKDB11_PYTHON")
    if configured:
        return Path(configured)
    from filelock import FileLock

    venv = cache_dir / f"duckdb-{DUCKDB_11}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    with FileLock(str(cache_dir / f"duckdb-{DUCKDB_11}.lock"), timeout=600):
        if marker.exists() and python.exists():
            return python
        try:
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(venv)],
                check=True,
                capture_output=True,
                timeout=300,
            )
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", f"duckdb=={DUCKDB_11}"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        marker.write_text(DUCKDB_11)
    return python


@pytest.mark.slow
def test_duckdb_1_1_client_opens_the_published_file(small_published, request):
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        cache_dir = Path(cache.mkdir("quotaboard-duckdb11"))
    else:
        cache_dir = Path(tempfile.gettempdir()) / "quotaboard-duckdb11"
        cache_dir.mkdir(exist_ok=True)
    python = _duckdb_11_python(cache_dir)
    if python is None:
        pytest.skip(f"could not install duckdb=={DUCKDB_11} into a venv (no package index?)")
    out = subprocess.run(
        [
            str(python),
            "-c",
            "import duckdb, sys\n"
            "con = duckdb.connect(sys.argv[1], read_only=True)\n"
            "print(duckdb.__version__)\n"
            "for row in con.sql('select team_name, weighted_attainment from "
            "marts.mart_team_board').fetchall(): print(*row)\n"
            "print(con.sql('select sum(actual) from marts.fct_attainment_history')"
            ".fetchone()[0])",
            str(small_published),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == DUCKDB_11
    assert lines[1:] == ["Sales EMEA 0.25", "750.0"]


# --------------------------------------------------------------------------------------------
# reads during a run


def _read(path: Path) -> tuple:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(
            """
            select (select count(*) from marts.mart_team_board),
                   (select count(*) from marts.fct_quota_attainment),
                   (select round(sum(actual), 6) from marts.fct_quota_attainment),
                   (select count(distinct run_id) from marts.fct_attainment_history)
            """
        ).fetchone()
    finally:
        conn.close()


@pytest.mark.slow
def test_readers_never_fail_while_a_nightly_run_publishes(published_home, sample_company):
    published = published_home / "published" / "quotaboard.duckdb"
    before = _read(published)
    inode_before = published.stat().st_ino
    landing, config = sample_company

    proc = run_pipeline(published_home, landing, config)
    reads: list[tuple] = []
    errors: list[str] = []
    inodes: set[int] = set()
    try:
        while proc.poll() is None:
            try:
                inodes.add(published.stat().st_ino)
                reads.append(_read(published))
            except (duckdb.Error, OSError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)
        out = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    after = _read(published)

    assert errors == [], errors[:5]
    assert len(reads) >= 20, f"only {len(reads)} reads during the run"
    # The run replaced the file while the reader loop ran, and every read saw a whole file:
    # yesterday's (before) or today's (after, one more published run in the history).
    assert published.stat().st_ino != inode_before
    assert after[:3] == before[:3] and after[3] == before[3] + 1
    assert set(reads) <= {before, after}
    assert before in reads and after in reads
