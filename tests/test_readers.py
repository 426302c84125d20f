"""Readers undisturbed: while ``quotaboard run`` publishes back to back, separate processes
read the published DuckDB file (read-only) and the Parquet files in a loop.

Every read must succeed (no lock error, no missing or half-written file) and see one run's
complete data: attainment reconciles with its credit lines, and the attainment rows are
exactly the history rows of the newest run in the same read (tests/test_faults.py
``reconcile``). Both runs must succeed although readers are connected all the time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_faults import run

TESTS = Path(__file__).resolve().parent

READER = r"""
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
import duckdb
from test_faults import DB_RELATIONS, parquet_relations, reconcile

mode, published, stop, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
db = published / "quotaboard.duckdb"
summary = {"mode": mode, "reads": 0, "errors": [], "inconsistent": [], "snapshots": []}
held = duckdb.connect(str(db), read_only=True) if mode == "held" else None

def check(result):
    ok = (result["unreconciled"] == 0 and result["attainment_not_in_history"] == 0
          and result["attainment_rows"] == result["history_rows_of_latest_run"] > 0)
    if not ok:
        summary["inconsistent"].append(result)

while not stop.exists():
    try:
        if mode == "duckdb":  # an analyst who connects for each query
            conn = duckdb.connect(str(db), read_only=True)
            try:
                check(reconcile(conn, DB_RELATIONS))
                latest = conn.execute(
                    "select max(published_at)::varchar from marts.fct_attainment_history"
                ).fetchone()[0]
            finally:
                conn.close()
        elif mode == "held":  # a notebook that keeps its connection open
            check(reconcile(held, DB_RELATIONS))
            latest = held.execute(
                "select max(published_at)::varchar from marts.fct_attainment_history"
            ).fetchone()[0]
        else:  # parquet: resolve the link once, read every model from that set
            root = Path(os.path.realpath(published / "parquet"))
            conn = duckdb.connect()
            try:
                check(reconcile(conn, parquet_relations(root)))
                latest = conn.execute(
                    "select max(published_at)::varchar from read_parquet(?)",
                    [str(root / "fct_attainment_history.parquet")],
                ).fetchone()[0]
            finally:
                conn.close()
        if latest not in summary["snapshots"]:
            summary["snapshots"].append(latest)
        summary["reads"] += 1
    except Exception as e:  # every failure is counted and reported, none is expected
        summary["errors"].append(f"{type(e).__name__}: {e}"[:500])
    time.sleep(0.2)
Path(out).write_text(json.dumps(summary))
"""


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_readers_undisturbed_by_back_to_back_runs(sample_company, tmp_path):
    landing_src, config = sample_company
    landing = tmp_path / "landing"
    shutil.copytree(landing_src, landing)
    home = tmp_path / "home"
    home.mkdir()
    assert run(landing, config, home) == 0  # something to read

    published = home / "published"
    stop = tmp_path / "stop"
    script = tmp_path / "reader.py"
    script.write_text(READER)
    readers = {}
    for mode in ("duckdb", "held", "parquet"):
        out = tmp_path / f"{mode}.json"
        readers[mode] = (
            subprocess.Popen(
                [sys.executable, str(script), mode, str(published), str(stop), str(out),
                 str(TESTS)],
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            ),
            out,
        )  # fmt: skip
    time.sleep(3)
    try:
        # --rebuild: two whole runs (loaders, dbt, guards, publish) while the readers read.
        codes = [run(landing, config, home, extra=("--rebuild",)) for _ in range(2)]
    finally:
        stop.touch()
        for proc, _ in readers.values():
            proc.wait(timeout=120)

    assert codes == [0, 0], "a run failed while readers were connected"
    results = {mode: json.loads(out.read_text()) for mode, (_, out) in readers.items()}
    for mode, r in results.items():
        assert r["errors"] == [], (mode, r["errors"][:5])
        assert r["inconsistent"] == [], (mode, r["inconsistent"][:5])
        assert r["reads"] >= 10, (mode, r["reads"])
    # The reconnecting readers saw the publishes happen; the held connection kept its snapshot.
    assert len(results["duckdb"]["snapshots"]) == 3, results["duckdb"]["snapshots"]
    assert len(results["parquet"]["snapshots"]) == 3, results["parquet"]["snapshots"]
    assert len(results["held"]["snapshots"]) == 1
