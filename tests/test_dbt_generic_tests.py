"""The project's own generic dbt tests (``dbt/tests/generic/``), run by a real ``dbt build`` of
a small project on a temporary DuckDB file: each fails on exactly the rows it guards against.

Rule (unique_combination_of_columns, the grain tests): a combination of the given columns that
occurs more than once fails, NULLs compare equal (as GROUP BY groups them), and a table whose
combinations are all different passes. The test groups by a hash of the combination first and
by the columns only where a hash repeats, so it must return the same failures as grouping by
the columns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]

# (key, kind, day): two duplicated combinations, one of them with a NULL, and rows that
# differ in one column only.
DUPLICATED = """
select * from (values
    ('a', 'x', date '2026-01-01'),
    ('a', 'x', date '2026-01-01'),
    ('a', 'x', date '2026-01-01'),
    ('a', 'y', date '2026-01-01'),
    ('a', 'x', date '2026-01-02'),
    ('b', null, date '2026-01-01'),
    ('b', null, date '2026-01-01'),
    (null, 'x', date '2026-01-01')
) as t (key, kind, day)
"""
DISTINCT = """
select * from (values
    ('a', 'x', date '2026-01-01'),
    ('a', 'y', date '2026-01-01'),
    ('a', 'x', date '2026-01-02'),
    ('b', null, date '2026-01-01'),
    (null, null, date '2026-01-01'),
    (null, null, null)
) as t (key, kind, day)
"""
SCHEMA = """
version: 2
models:
  - name: duplicated
    data_tests:
      - unique_combination_of_columns:
          combination_of_columns: [key, kind, day]
          config:
            store_failures: true
  - name: all_distinct
    data_tests:
      - unique_combination_of_columns:
          combination_of_columns: [key, kind, day]
"""


def _project(root: Path) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    shutil.copytree(REPO / "dbt" / "tests" / "generic", project / "tests" / "generic")
    (project / "dbt_project.yml").write_text(
        "name: generic_tests\nversion: '1.0'\nprofile: generic_tests\n"
        "model-paths: [models]\ntest-paths: [tests]\n"
        "models:\n  generic_tests:\n    +materialized: table\n"
    )
    (project / "profiles.yml").write_text(
        "generic_tests:\n  target: duckdb\n  outputs:\n    duckdb:\n      type: duckdb\n"
        f"      path: '{root / 'generic.duckdb'}'\n      threads: 1\n"
    )
    (project / "models" / "duplicated.sql").write_text(DUPLICATED)
    (project / "models" / "all_distinct.sql").write_text(DISTINCT)
    (project / "models" / "schema.yml").write_text(SCHEMA)
    return project


def test_unique_combination_of_columns_fails_on_exactly_the_repeated_combinations(tmp_path):
    project = _project(tmp_path)
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(dbt) if dbt.exists() else "dbt", "build", "--profiles-dir", "."],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    tests = {r["unique_id"].split(".")[2]: r for r in results if r["unique_id"].startswith("test.")}
    assert len(tests) == 2, result.stdout[-3000:]
    failed = next(r for name, r in tests.items() if "duplicated" in name)
    passed = next(r for name, r in tests.items() if "all_distinct" in name)
    assert passed["status"] == "pass", result.stdout[-3000:]
    assert failed["status"] == "fail" and failed["failures"] == 2, result.stdout[-3000:]
    assert result.returncode == 1  # a failing test fails the build

    # The stored failures: the repeated combinations with their counts, the same as grouping
    # by the columns themselves.
    conn = duckdb.connect(str(tmp_path / "generic.duckdb"), read_only=True)
    try:
        relation = failed["relation_name"]
        stored = conn.execute(
            f"select key, kind, day, n_rows from {relation} order by all"
        ).fetchall()
        expected = conn.execute(
            "select key, kind, day, count(*) from main.duplicated group by all "
            "having count(*) > 1 order by all"
        ).fetchall()
    finally:
        conn.close()
    assert stored == expected
    assert [(r[0], r[1], r[3]) for r in stored] == [("a", "x", 3), ("b", None, 2)]
