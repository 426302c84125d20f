"""``make spark-build``: the marts of the same dbt project, built on Apache Spark.

    python -m dagster_project.spark_build [--home DIR] [--landing DIR] [--config DIR]
                                          [--as-of YYYY-MM-DD] [--rebuild]

Steps, all under the home (default ``data/spark``):

1. the working DuckDB warehouse: when ``<home>/warehouse/quotaboard.duckdb`` is missing (or
   with ``--rebuild``), a full ``quotaboard run`` on the landing and config folders loads it
   (and publishes the DuckDB marts to ``<home>/published/``, the reference to compare with);
2. the sources as Parquet: every table of the schemas ``raw``, ``config`` and ``history`` of
   the working warehouse to ``<home>/spark/raw/<schema>/<table>/part-0.parquet``;
3. ``dbt build --target spark`` (models and data tests; unit tests are left out) in process:
   Spark runs locally in this Python process (dbt-spark's ``session`` method), its tables in
   ``<home>/spark/warehouse``, its Hive metastore in ``<home>/spark/metastore_db``; the
   on-run-start macro ``register_parquet_sources`` reads step 2's files as the sources;
4. every mart of the metric contract as one Parquet file, ``<home>/spark/marts/<model>.parquet``.

``as_of`` is the one the working warehouse was built with unless ``--as-of`` is given, so the
two engines compute the same day. Exit 0 when every mart was written, 1 when a step failed
(the message names it), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from dagster_project.resources import REPO_ROOT, SAMPLE_CONFIG, SAMPLE_LANDING

DBT_PROJECT_DIR = REPO_ROOT / "dbt"
DEFAULT_HOME = REPO_ROOT / "data" / "spark"
SOURCE_SCHEMAS = ("raw", "config", "history")

# The marts of the metric contract (metrics.md §8), in build order.
CONTRACT_MARTS = (
    "dim_fiscal_periods",
    "dim_teams",
    "dim_people",
    "fct_quota_credits",
    "fct_quota_attainment",
    "fct_scorecards",
    "mart_team_board",
    "fct_quota_exceptions",
    "fct_attainment_history",
)


class SparkBuildError(Exception):
    """A step of the Spark build failed; the message says which and why."""


@dataclass(frozen=True)
class SparkBuildPaths:
    """Where the Spark build reads and writes, all under one home."""

    home: Path

    @property
    def warehouse_path(self) -> Path:
        """The working DuckDB file of a ``quotaboard run`` with this home."""
        return self.home / "warehouse" / "quotaboard.duckdb"

    @property
    def spark_dir(self) -> Path:
        return self.home / "spark"

    @property
    def raw_dir(self) -> Path:
        """The sources as Parquet: ``<schema>/<table>/part-0.parquet``."""
        return self.spark_dir / "raw"

    @property
    def marts_dir(self) -> Path:
        return self.spark_dir / "marts"

    @property
    def dbt_target_dir(self) -> Path:
        return self.spark_dir / "dbt-target"


def ensure_working_warehouse(
    paths: SparkBuildPaths, landing: Path, config: Path, as_of: str | None, rebuild: bool
) -> None:
    """Run the normal pipeline (``quotaboard run``) into the home unless its working warehouse
    already exists (``rebuild`` runs it anyway)."""
    if paths.warehouse_path.exists() and not rebuild:
        print(f"working warehouse: {paths.warehouse_path} (exists; --rebuild reloads it)")
        return
    command = [
        str(Path(sys.executable).with_name("quotaboard")),
        "run",
        "--landing",
        str(landing),
        "--config",
        str(config),
        "--home",
        str(paths.home),
    ]
    if as_of:
        command += ["--as-of", as_of]
    print("working warehouse: " + " ".join(command), flush=True)
    if subprocess.run(command).returncode != 0:
        raise SparkBuildError(
            f"`quotaboard run` into {paths.home} failed (its output above says why); "
            "the Spark build needs its working warehouse"
        )


def warehouse_as_of(warehouse_path: Path) -> str:
    """The as_of date the working warehouse's last dbt build used (stg_config__run_context)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        try:
            rows = con.execute("select as_of from staging.stg_config__run_context").fetchall()
        except duckdb.Error as exc:
            raise SparkBuildError(
                f"{warehouse_path}: no staging.stg_config__run_context ({exc}); "
                "run `quotaboard run` on this home first or pass --as-of"
            ) from exc
    if len(rows) != 1 or rows[0][0] is None:
        raise SparkBuildError(
            f"{warehouse_path}: stg_config__run_context has no as_of; pass --as-of"
        )
    return rows[0][0].isoformat()


def export_sources(warehouse_path: Path, raw_dir: Path) -> list[str]:
    """Every table of the source schemas as ``<raw_dir>/<schema>/<table>/part-0.parquet``
    (the folder is replaced). Returns the tables written (``schema.table``)."""
    if raw_dir.exists():
        shutil.rmtree(raw_dir)
    written = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ? and table_type = 'BASE TABLE' order by 1, 2",
            [list(SOURCE_SCHEMAS)],
        ).fetchall()
        for schema, table in tables:
            folder = raw_dir / schema / table
            folder.mkdir(parents=True)
            target = str(folder / "part-0.parquet").replace("'", "''")
            con.execute(f'copy "{schema}"."{table}" to \'{target}\' (format parquet)')
            written.append(f"{schema}.{table}")
    if not written:
        raise SparkBuildError(f"{warehouse_path}: no table in schemas {', '.join(SOURCE_SCHEMAS)}")
    return written


def run_dbt_build(paths: SparkBuildPaths, as_of: str) -> None:
    """``dbt build --target spark`` in this process (Spark starts in it), unit tests excluded."""
    from dbt.cli.main import dbtRunner

    os.environ["QUOTABOARD_SPARK_DIR"] = str(paths.spark_dir)
    os.environ["QUOTABOARD_SPARK_RAW_DIR"] = str(paths.raw_dir)
    args = [
        "build",
        "--target",
        "spark",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(paths.dbt_target_dir),
        "--log-path",
        str(paths.dbt_target_dir),
        "--vars",
        f"as_of: '{as_of}'",
        "--exclude",
        "test_type:unit",
    ]
    print("dbt " + " ".join(args), flush=True)
    result = dbtRunner().invoke(args)
    if result.success:
        return
    failed = []
    for node_result in getattr(result.result, "results", None) or []:
        status = getattr(node_result.status, "value", node_result.status)
        if status in {"error", "fail", "runtime error"}:
            failed.append(f"{node_result.node.name} ({status}): {node_result.message}")
    detail = "\n  ".join(failed) if failed else str(result.exception or "see the dbt log")
    raise SparkBuildError(f"dbt build --target spark failed:\n  {detail}")


def export_marts(marts_dir: Path, marts: tuple[str, ...] = CONTRACT_MARTS) -> list[Path]:
    """Each mart (Spark table ``marts.<model>``) as one file ``<marts_dir>/<model>.parquet``."""
    from pyspark.sql import SparkSession

    # The session dbt-spark started in this process (its threads do not make it "active" here).
    spark = SparkSession.builder.getOrCreate()
    marts_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model in marts:
        if not spark.catalog.tableExists(f"marts.{model}"):
            raise SparkBuildError(f"dbt build --target spark made no table marts.{model}")
        staging = marts_dir / f".{model}.tmp"
        spark.table(f"marts.{model}").coalesce(1).write.mode("overwrite").parquet(str(staging))
        parts = sorted(staging.glob("part-*.parquet"))
        if len(parts) != 1:
            raise SparkBuildError(f"marts.{model}: expected one Parquet part, found {len(parts)}")
        target = marts_dir / f"{model}.parquet"
        parts[0].replace(target)
        shutil.rmtree(staging)
        written.append(target)
    return written


def spark_build(
    home: Path,
    landing: Path = SAMPLE_LANDING,
    config: Path = SAMPLE_CONFIG,
    as_of: str | None = None,
    rebuild: bool = False,
) -> list[Path]:
    """All four steps (see the module docstring); returns the mart files written."""
    paths = SparkBuildPaths(home.resolve())
    ensure_working_warehouse(paths, landing.resolve(), config.resolve(), as_of, rebuild)
    as_of = as_of or warehouse_as_of(paths.warehouse_path)
    tables = export_sources(paths.warehouse_path, paths.raw_dir)
    print(f"sources: {len(tables)} tables as Parquet under {paths.raw_dir}", flush=True)
    run_dbt_build(paths, as_of)
    return export_marts(paths.marts_dir)


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--as-of must be YYYY-MM-DD, got {text!r}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="spark-build", description="Build the marts on local Apache Spark (docs/spark.md)."
    )
    parser.add_argument("--home", type=Path, default=DEFAULT_HOME)
    parser.add_argument("--landing", type=Path, default=SAMPLE_LANDING)
    parser.add_argument("--config", type=Path, default=SAMPLE_CONFIG)
    parser.add_argument("--as-of", type=_iso_date, default=None)
    parser.add_argument(
        "--rebuild", action="store_true", help="reload the working warehouse even if it exists"
    )
    args = parser.parse_args(argv)
    try:
        written = spark_build(args.home, args.landing, args.config, args.as_of, args.rebuild)
    except SparkBuildError as exc:
        print(f"spark-build failed: {exc}", file=sys.stderr)
        return 1
    print(f"marts built on Spark: {len(written)} files under {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
