"""The atomic publish (``dagster_project.publish``) on real DuckDB files, without dbt."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
from pathlib import Path

import duckdb
import pytest

from dagster_project.publish import (
    HISTORY_COLUMNS,
    PublishError,
    ensure_history_table,
    publish_warehouse,
)


def build_marts(warehouse: Path, actual: float = 50.0, as_of: str = "2026-03-01") -> None:
    """A working database as dbt leaves it: a few marts (tables and a view) + run context."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("DROP SCHEMA IF EXISTS marts CASCADE")
        conn.execute("DROP SCHEMA IF EXISTS staging CASCADE")
        conn.execute("CREATE SCHEMA marts")
        conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
        conn.execute(
            f"CREATE TABLE staging.stg_config__run_context AS SELECT DATE '{as_of}' AS as_of"
        )
        conn.execute(
            f"""
            CREATE TABLE marts.fct_quota_attainment AS
            SELECT * FROM (VALUES
                ('person', 'p1', 'FY2026', 'bookings', 100.0, {actual}, {actual} / 100.0),
                ('person', 'p2', 'FY2026', 'bookings', 200.0, 100.0, 0.5),
                ('team', 't1', 'FY2026-Q1', 'installs', 10.0, 12.0, 1.2)
            ) v(assignee_type, assignee_id, fiscal_period, metric, target, actual, attainment)
            """
        )
        conn.execute(
            "CREATE TABLE marts.dim_teams AS SELECT 't1' AS team_id, 'Team One' AS team_name, "
            "[1, 2] AS a_list, 1.25::DECIMAL(18, 2) AS a_decimal"
        )
        conn.execute(
            "CREATE VIEW marts.fct_scorecards AS SELECT assignee_type, assignee_id, "
            "avg(attainment) AS weighted_attainment FROM marts.fct_quota_attainment GROUP BY ALL"
        )
        # dbt's own view of the history (the publish replaces it with the appended history)
        ensure_history_table(conn)
        conn.execute(
            "CREATE VIEW marts.fct_attainment_history AS SELECT * FROM history.attainment_history"
        )
    finally:
        conn.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def history(path: Path, table: str = "marts.fct_attainment_history") -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(
            f"SELECT run_id, assignee_id, actual FROM {table} ORDER BY run_id, assignee_id"
        ).fetchall()
    finally:
        conn.close()


@pytest.fixture
def home(tmp_path) -> Path:
    build_marts(tmp_path / "warehouse" / "quotaboard.duckdb")
    return tmp_path


def wh(home: Path) -> Path:
    return home / "warehouse" / "quotaboard.duckdb"


def pub(home: Path) -> Path:
    return home / "published"


def test_publish_writes_every_mart_as_a_table_and_parquet(home):
    result = publish_warehouse(wh(home), pub(home), run_id="run-1")
    published = pub(home) / "quotaboard.duckdb"
    assert result.published_path == published
    assert str(result.as_of) == "2026-03-01"
    conn = duckdb.connect(str(published), read_only=True)
    try:
        rows = conn.execute(
            "SELECT table_schema, table_name, table_type FROM information_schema.tables ORDER BY 2"
        ).fetchall()
        assert rows == [
            ("marts", "dim_teams", "BASE TABLE"),
            ("marts", "fct_attainment_history", "BASE TABLE"),
            ("marts", "fct_config_changes", "BASE TABLE"),
            ("marts", "fct_quota_attainment", "BASE TABLE"),
            ("marts", "fct_runs", "BASE TABLE"),
            ("marts", "fct_scorecards", "BASE TABLE"),
        ]
        cols = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'fct_attainment_history' ORDER BY ordinal_position"
        ).fetchall()
        assert [c for c, _ in cols] == list(HISTORY_COLUMNS)
        assert conn.execute(
            "SELECT DISTINCT run_id, as_of FROM marts.fct_attainment_history"
        ).fetchall() == [("run-1", result.as_of)]
    finally:
        conn.close()
    assert result.tables == {
        "dim_teams": 1,
        "fct_attainment_history": 3,
        "fct_config_changes": 0,  # no config.* tables in this working database
        "fct_quota_attainment": 3,
        "fct_runs": 1,  # who changed what (metrics.md §14, tests/test_run_record.py)
        "fct_scorecards": 3,
    }
    names = sorted(p.name for p in (pub(home) / "parquet").iterdir())
    assert names == [f"{m}.parquet" for m in sorted(result.tables)]
    assert duckdb.connect().execute(
        f"SELECT count(*) FROM '{pub(home) / 'parquet' / 'fct_quota_attainment.parquet'}'"
    ).fetchone() == (3,)
    # nothing temporary left behind
    assert sorted(p.name for p in pub(home).iterdir()) == ["parquet", "quotaboard.duckdb"]


def test_published_file_uses_a_storage_version_duckdb_1_1_reads(home):
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    header = (pub(home) / "quotaboard.duckdb").read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    # 64 = the storage format of DuckDB 0.10 .. 1.1 (STORAGE_VERSION 'v1.0.0')
    assert struct.unpack("<Q", header[12:20])[0] == 64


@pytest.mark.skipif(
    not os.environ.get("QUOTABOARD_DUCKDB11_PYTHON"),
    reason="set QUOTABOARD_DUCKDB11_PYTHON to a python with duckdb==1.1.x to run",
)
def test_duckdb_1_1_reads_the_published_file(home):
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    out = subprocess.run(
        [
            os.environ["QUOTABOARD_DUCKDB11_PYTHON"],
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); "
            "print(duckdb.__version__, c.sql('select count(*) from "
            "marts.fct_attainment_history').fetchone()[0])",
            str(pub(home) / "quotaboard.duckdb"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    version, count = out.stdout.split()
    assert version.startswith("1.1") and count == "3"


def test_replaced_by_rename_and_an_open_reader_keeps_working(home):
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    published = pub(home) / "quotaboard.duckdb"
    inode_before = published.stat().st_ino
    reader = duckdb.connect(str(published), read_only=True)
    try:
        q = "SELECT actual FROM marts.fct_quota_attainment WHERE assignee_id = 'p1'"
        assert reader.execute(q).fetchone() == (50.0,)
        build_marts(wh(home), actual=75.0)
        publish_warehouse(wh(home), pub(home), run_id="run-2")
        assert published.stat().st_ino != inode_before  # a new file, renamed into place
        # the old reader still sees the old file, consistently
        assert reader.execute(q).fetchone() == (50.0,)
        assert reader.execute("SELECT count(*) FROM marts.fct_attainment_history").fetchone() == (
            3,
        )
    finally:
        reader.close()
    fresh = duckdb.connect(str(published), read_only=True)
    try:
        assert fresh.execute(q).fetchone() == (75.0,)
    finally:
        fresh.close()


def test_failure_mid_publish_leaves_the_old_file_byte_identical(home):
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    published = pub(home) / "quotaboard.duckdb"
    parquet = pub(home) / "parquet" / "fct_quota_attainment.parquet"
    before, parquet_before = sha(published), sha(parquet)
    build_marts(wh(home), actual=99.0)

    def boom():
        raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError, match="simulated"):
        publish_warehouse(wh(home), pub(home), run_id="run-2", before_replace=boom)
    assert sha(published) == before
    assert sha(parquet) == parquet_before
    assert sorted(p.name for p in pub(home).iterdir()) == ["parquet", "quotaboard.duckdb"]
    assert not [p for p in (pub(home) / "parquet").iterdir() if p.name.startswith(".")]
    # the failed run added no history, in the file or in the master
    assert {r[0] for r in history(published)} == {"run-1"}
    assert {r[0] for r in history(wh(home), "history.attainment_history")} == {"run-1"}


def test_missing_marts_publish_nothing(tmp_path):
    warehouse = tmp_path / "warehouse" / "quotaboard.duckdb"
    warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(warehouse)).close()
    with pytest.raises(PublishError, match="fct_quota_attainment"):
        publish_warehouse(warehouse, tmp_path / "published", run_id="run-1")
    assert not (tmp_path / "published" / "quotaboard.duckdb").exists()


def test_history_appended_once_per_publish_and_kept_across_a_rebuild(home):
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    # a full refresh of the marts (dbt drops and rebuilds them) with new numbers
    build_marts(wh(home), actual=80.0, as_of="2026-03-02")
    publish_warehouse(wh(home), pub(home), run_id="run-2")
    # the same run published again (a retried step) does not duplicate its rows
    publish_warehouse(wh(home), pub(home), run_id="run-2")
    expected = [
        ("run-1", "p1", 50.0),
        ("run-1", "p2", 100.0),
        ("run-1", "t1", 12.0),
        ("run-2", "p1", 80.0),
        ("run-2", "p2", 100.0),
        ("run-2", "t1", 12.0),
    ]
    assert history(pub(home) / "quotaboard.duckdb") == expected
    assert history(wh(home), "history.attainment_history") == expected
    parquet = pub(home) / "parquet" / "fct_attainment_history.parquet"
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{parquet}'").fetchone() == (6,)
    conn = duckdb.connect(str(pub(home) / "quotaboard.duckdb"), read_only=True)
    try:
        as_ofs = conn.execute(
            "SELECT run_id, min(as_of)::VARCHAR, count(DISTINCT published_at) "
            "FROM marts.fct_attainment_history GROUP BY 1 ORDER BY 1"
        ).fetchall()
    finally:
        conn.close()
    assert as_ofs == [("run-1", "2026-03-01", 1), ("run-2", "2026-03-02", 1)]


def test_reconcile_restores_runs_missing_from_the_master(home):
    """A publish that crashed after its rename but before its master commit: the next publish
    copies that run back from the published file."""
    publish_warehouse(wh(home), pub(home), run_id="run-1")
    conn = duckdb.connect(str(wh(home)))
    conn.execute("DELETE FROM history.attainment_history WHERE run_id = 'run-1'")
    conn.close()
    result = publish_warehouse(wh(home), pub(home), run_id="run-2")
    assert result.reconciled_rows == 3
    runs = {r[0] for r in history(pub(home) / "quotaboard.duckdb")}
    assert runs == {"run-1", "run-2"}
    assert {r[0] for r in history(wh(home), "history.attainment_history")} == runs
