"""The run history of a home (``dagster_project/event_log_storage.py``): Dagster's SQLite event
log with its connections kept open. What it writes must be what Dagster's own storage reads,
and the other way round, on the same files; and it keeps few files open however many runs a
webserver reads."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from dagster_project.dev import ensure_instance_yaml
from dagster_project.event_log_storage import OPEN_FILES, PooledSqliteEventLogStorage


@dg.asset
def bookings() -> int:
    return 3


@dg.asset(deps=[bookings])
def attainment() -> None:
    return None


@dg.asset_check(asset=attainment)
def attainment_is_present() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


GRAPH = [bookings, attainment, attainment_is_present]


def _stock_instance(tmp_path: Path, base: Path) -> dg.DagsterInstance:
    """An instance on Dagster's default SQLite storage over the same files (a home as an older
    Quotaboard, or Dagster without our dagster.yaml, would read it)."""
    home = tmp_path / "stock"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(f'storage:\n  sqlite:\n    base_dir: "{base}"\n')
    return dg.DagsterInstance.from_config(str(home))


def _history(instance: dg.DagsterInstance, run_id: str) -> dict:
    records = instance.get_records_for_run(run_id).records
    checks = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("attainment"), "attainment_is_present"), limit=10
    )
    return {
        "events": [r.event_log_entry.dagster_event_type for r in records],
        "materialized": {
            key: instance.get_latest_materialization_event(dg.AssetKey(key)).run_id
            for key in ("bookings", "attainment")
        },
        "checks": sorted((c.run_id, c.status.value) for c in checks),
    }


def test_run_history_written_pooled_reads_back_in_dagsters_own_storage(tmp_path):
    dagster_home = tmp_path / "dagster"
    ensure_instance_yaml(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = dg.materialize(GRAPH, instance=instance)
        assert result.success
        written = _history(instance, result.run_id)
    assert "ASSET_MATERIALIZATION" in written["events"]
    assert written["materialized"] == {"bookings": result.run_id, "attainment": result.run_id}
    assert written["checks"] == [(result.run_id, "SUCCEEDED")]
    with _stock_instance(tmp_path, dagster_home) as stock:
        assert type(stock.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert [r.run_id for r in stock.get_runs()] == [result.run_id]
        assert _history(stock, result.run_id) == written


def test_runs_written_by_another_process_are_read_while_files_are_open(tmp_path):
    """The webserver keeps its files open while ``dg dev``'s daemon (another process) writes
    new runs to them: WAL mode lets both work, and the new run is read at once."""
    dagster_home = tmp_path / "dagster"
    ensure_instance_yaml(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        first = dg.materialize(GRAPH, instance=instance)
        assert first.success
        assert instance.event_log_storage._engines  # the index and the run's file, kept open
        writer = textwrap.dedent(
            f"""
            import dagster as dg
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from test_event_log_storage import GRAPH
            with dg.DagsterInstance.from_config({str(dagster_home)!r}) as instance:
                print(dg.materialize(GRAPH, instance=instance).run_id)
            """
        )
        second_id = subprocess.run(
            [sys.executable, "-c", writer], check=True, capture_output=True, text=True
        ).stdout.strip()
        history = _history(instance, second_id)
        assert history["materialized"] == {"bookings": second_id, "attainment": second_id}
        assert sorted(history["checks"]) == sorted(
            [(first.run_id, "SUCCEEDED"), (second_id, "SUCCEEDED")]
        )


def test_at_most_open_files_stay_open_and_evicted_runs_still_read(tmp_path):
    dagster_home = tmp_path / "dagster"
    ensure_instance_yaml(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run_ids = [dg.materialize(GRAPH, instance=instance).run_id for _ in range(OPEN_FILES + 2)]
        storage = instance.event_log_storage
        assert len(storage._engines) == OPEN_FILES
        for run_id in run_ids:  # the first runs' files were closed, and open again
            events = [
                r.event_log_entry.dagster_event_type
                for r in instance.get_records_for_run(run_id).records
            ]
            assert dg.DagsterEventType.RUN_SUCCESS in events
        storage.wipe()  # the run files are closed, then deleted (Dagster makes a new index)
        assert set(storage._engines) <= {"index"}
        assert not list((dagster_home / "history" / "runs").glob("*-*.db"))


def test_tables_found_are_remembered_and_missing_ones_looked_up_again(tmp_path, monkeypatch):
    """Speed (issue 21): Dagster asks whether the index has a table before nearly every asset
    event and check result. A table found once is not looked up again; a missing one is, each
    time (another process may migrate the index); a wipe forgets what was found."""
    dagster_home = tmp_path / "dagster"
    ensure_instance_yaml(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        storage = instance.event_log_storage
        lookups: list[str] = []
        stock = SqliteEventLogStorage.has_table

        def counted(self, table_name: str) -> bool:
            lookups.append(table_name)
            return stock(self, table_name)

        monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
        storage._tables_present.clear()
        assert storage.has_table("asset_check_executions")
        assert storage.has_table("asset_check_executions")
        assert not storage.has_table("no_such_table")
        assert not storage.has_table("no_such_table")
        assert lookups == ["asset_check_executions", "no_such_table", "no_such_table"]
        run = dg.materialize(GRAPH, instance=instance)  # checks stored: the table is used
        assert run.success
        assert lookups.count("asset_check_executions") == 1
        assert _history(instance, run.run_id)["checks"] == [(run.run_id, "SUCCEEDED")]
        storage.wipe()
        assert storage.has_table("asset_check_executions")
        assert lookups.count("asset_check_executions") == 2


def test_connections_commit_without_waiting_for_the_disk(tmp_path):
    """Speed (issue 21): every connection the storage opens is in WAL mode with
    synchronous=NORMAL (1: a commit does not fsync; the checkpoint does), not SQLite's default
    FULL (2), and a run stored that way reads back from Dagster's own storage."""
    dagster_home = tmp_path / "dagster"
    ensure_instance_yaml(dagster_home)
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = dg.materialize(GRAPH, instance=instance)
        storage = instance.event_log_storage
        for shard in ("index", run.run_id):
            with storage._connect(shard) as conn:
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with _stock_instance(tmp_path, dagster_home) as stock:
        assert dg.DagsterEventType.RUN_SUCCESS in _history(stock, run.run_id)["events"]
