"""The same dbt project on Apache Spark gives the marts DuckDB gives.

One build (module fixture, for the tests marked slow): ``python -m dagster_project.spark_build``
on the bundled sample into a fresh home. It first runs ``quotaboard run`` (the DuckDB build,
published to ``<home>/published/parquet/``), then exports the sources to Parquet, runs
``dbt build --target spark`` on local Spark and writes ``<home>/spark/marts/<model>.parquet``.
Every mart of the metric contract is then compared row for row, keyed on its grain: amounts
within a cent, ratios within 1e-9, everything else exactly.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from dagster_project.spark_build import CONTRACT_MARTS

AS_OF = "2026-11-20"

# The grain of each mart (metrics.md §8); fct_quota_exceptions has none narrower than the row.
MART_KEYS = {
    "dim_fiscal_periods": ("fiscal_period",),
    "dim_teams": ("team_id",),
    "dim_people": ("person_id",),
    "fct_quota_credits": ("credit_id",),
    "fct_quota_attainment": ("assignee_type", "assignee_id", "fiscal_period", "metric"),
    "fct_scorecards": ("assignee_type", "assignee_id", "fiscal_period"),
    "mart_team_board": ("team_id", "fiscal_period"),
    "fct_quota_exceptions": ("source_type", "source_id", "reason", "detail"),
    "fct_attainment_history": ("run_id", "assignee_type", "assignee_id", "fiscal_period", "metric"),
}
# Money columns compare within a cent; every other floating-point column is a ratio (1e-9).
AMOUNT_COLUMNS = {"amount", "plan_target", "target", "actual", "projected_actual"}
CENT = 0.01
RATIO_TOLERANCE = 1e-9
MAX_REPORTED = 15


def read_mart(path: Path) -> tuple[list[str], list[dict]]:
    """(column names, rows as dicts) of one Parquet file."""
    con = duckdb.connect()
    relation = con.sql(f"select * from read_parquet('{path}')")
    columns = relation.columns
    return columns, [dict(zip(columns, row, strict=True)) for row in relation.fetchall()]


def values_differ(column: str, expected, actual) -> bool:
    if expected is None or actual is None:
        return (expected is None) != (actual is None)
    if isinstance(expected, float) or isinstance(actual, float):
        if math.isnan(expected) or math.isnan(actual):
            return not (math.isnan(expected) and math.isnan(actual))
        tolerance = CENT if column in AMOUNT_COLUMNS else RATIO_TOLERANCE
        return abs(expected - actual) > tolerance
    if isinstance(expected, datetime) and isinstance(actual, datetime):
        return expected.replace(tzinfo=None) != actual.replace(tzinfo=None)
    if isinstance(expected, date) and isinstance(actual, date):
        return expected != actual
    return expected != actual


def mart_differences(model: str, duckdb_file: Path, spark_file: Path) -> list[str]:
    """Every way the Spark mart differs from the DuckDB one, as readable lines (empty = same)."""
    duck_columns, duck_rows = read_mart(duckdb_file)
    spark_columns, spark_rows = read_mart(spark_file)
    problems: list[str] = []
    if duck_columns != spark_columns:
        problems.append(f"columns: duckdb {duck_columns} / spark {spark_columns}")
        return problems
    key_columns = MART_KEYS[model]

    def keyed(rows: list[dict], engine: str) -> dict[tuple, dict]:
        out: dict[tuple, dict] = {}
        for row in rows:
            key = tuple(row[c] for c in key_columns)
            if key in out:
                problems.append(
                    f"{engine}: duplicate key {dict(zip(key_columns, key, strict=True))}"
                )
            out[key] = row
        return out

    duck, spark = keyed(duck_rows, "duckdb"), keyed(spark_rows, "spark")
    if len(duck_rows) != len(spark_rows):
        problems.append(f"row count: duckdb {len(duck_rows)} / spark {len(spark_rows)}")
    for key in sorted(set(duck) - set(spark), key=str)[:MAX_REPORTED]:
        problems.append(f"only in duckdb: {duck[key]}")
    for key in sorted(set(spark) - set(duck), key=str)[:MAX_REPORTED]:
        problems.append(f"only in spark: {spark[key]}")
    differing = 0
    for key in sorted(set(duck) & set(spark), key=str):
        for column in duck_columns:
            expected, actual = duck[key][column], spark[key][column]
            if values_differ(column, expected, actual):
                differing += 1
                if differing <= MAX_REPORTED:
                    problems.append(
                        f"{dict(zip(key_columns, key, strict=True))} {column}: "
                        f"duckdb {expected!r} / spark {actual!r}"
                    )
    if differing > MAX_REPORTED:
        problems.append(f"... {differing - MAX_REPORTED} more differing values")
    return problems


@pytest.fixture(scope="module")
def spark_home(sample_company, tmp_path_factory) -> Path:
    """A home where the sample was built on DuckDB (quotaboard run) and on Spark."""
    landing, config = sample_company
    home = tmp_path_factory.mktemp("spark-home")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project.spark_build",
            "--home",
            str(home),
            "--landing",
            str(landing),
            "--config",
            str(config),
            "--as-of",
            AS_OF,
        ],
        capture_output=True,
        text=True,
        timeout=1700,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    assert out.returncode == 0, (out.stdout[-3000:], out.stderr[-3000:])
    return home


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("model", CONTRACT_MARTS)
def test_spark_mart_matches_duckdb(spark_home: Path, model: str):
    """Each mart built on Spark has the DuckDB mart's columns and rows. fct_attainment_history
    is compared with the published one: publish appends this run's rows to the history the
    Spark build reads, so both hold the same rows."""
    duckdb_file = spark_home / "published" / "parquet" / f"{model}.parquet"
    spark_file = spark_home / "spark" / "marts" / f"{model}.parquet"
    assert spark_file.exists(), f"the Spark build wrote no {spark_file}"
    _, rows = read_mart(duckdb_file)
    if model != "fct_attainment_history":
        assert rows, f"{model}: the DuckDB build is empty, the comparison would prove nothing"
    problems = mart_differences(model, duckdb_file, spark_file)
    assert not problems, f"{model} on Spark differs from DuckDB:\n" + "\n".join(problems)


def test_difference_report_names_the_row_and_column(tmp_path: Path):
    """The comparison itself: a changed ratio, a changed amount beyond a cent and a missing row
    are each reported; an amount off by less than a cent is not."""
    con = duckdb.connect()
    duck, spark = tmp_path / "d.parquet", tmp_path / "s.parquet"
    con.execute(
        "copy (select * from (values ('t1', 'FY2026', 1.5::double, 100.0::double), "
        "('t2', 'FY2026', 0.5::double, 50.0::double), ('t3', 'FY2026', 1.0::double, 1.0::double)) "
        f"as t(team_id, fiscal_period, weighted_attainment, actual)) to '{duck}'"
    )
    con.execute(
        "copy (select * from (values ('t1', 'FY2026', 1.5 + 1e-6, 100.004::double), "
        "('t2', 'FY2026', 0.5::double, 50.5::double)) "
        f"as t(team_id, fiscal_period, weighted_attainment, actual)) to '{spark}'"
    )
    problems = mart_differences("mart_team_board", duck, spark)
    text = "\n".join(problems)
    assert "row count: duckdb 3 / spark 2" in text
    assert "only in duckdb" in text and "'t3'" in text
    assert "'t1'" in text and "weighted_attainment" in text
    assert "'t2'" in text and "actual: duckdb 50.0 / spark 50.5" in text
    assert not any("'t1'" in p and "actual" in p for p in problems)
