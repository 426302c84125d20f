"""Validating a pandas batch against a Quotaboard suite with Great Expectations (GX 1.x).

Plain Python (no Dagster). GX is imported lazily, inside :class:`QualityRunner` (importing it
takes seconds): importing this module is cheap.

The runner uses an in-memory GX context that loads the versioned suites
(``expectations/gx/expectations/*.json``), validates each batch through a pandas data source
(one dataframe asset and whole-dataframe batch definition per suite, one ValidationDefinition
per suite), keeps the validation results in memory and renders them as Data Docs into
``<home>/published/quality/gx/`` (emptied when a runner for a new run starts, so the folder shows
the last run). Nothing is written under ``expectations/``.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.quality import batches
from dagster_project.quality.suites import (
    ERROR,
    FRESHNESS_SUITE,
    SUITES_DIR,
    WARN,
    expectation_columns,
    landing_suite_name,
    load_suite,
    mart_suite_name,
    suite_columns,
    tally_columns,
    tally_plan,
)

SITE_NAME = "quotaboard"
SAMPLE_SIZE = 10
_LINEAGE = ("_source_file", "_source_line")
_KEYS = (
    "id",
    "message_id",
    "credit_id",
    "assignee_type",
    "assignee_id",
    "team_id",
    "fiscal_period",
    "metric",
    "source_type",
    "source_id",
    "table_name",
    "opportunity_id",
    "feature",
)


def docs_dir_for(home: Path) -> Path:
    # GX's Data Docs sit in a subfolder: published/quality/index.html is quality/report_page.py's
    return Path(home) / "published" / "quality" / "gx"


def import_gx():
    """``great_expectations``, imported without PySpark.

    GX probes for PySpark when it is first imported (PySpark is installed for the Spark
    target). Importing PySpark costs seconds and makes it warn about pandas 3 on every run,
    although the guards validate pandas DataFrames only. So on GX's first import in a process
    that has not imported PySpark, ``import pyspark`` is made to fail for the duration: GX
    records PySpark as not installed, and ``import pyspark`` works again afterwards (the
    Spark build imports it normally)."""
    if "great_expectations" in sys.modules or "pyspark" in sys.modules:
        import great_expectations as gx

        return gx
    sys.modules["pyspark"] = None  # type: ignore[assignment]  # ImportError on import
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            import great_expectations as gx
    finally:
        if "pyspark" in sys.modules and sys.modules["pyspark"] is None:
            del sys.modules["pyspark"]
    return gx


@dataclass
class GuardResult:
    """What one guard (a suite, or a landing suite plus freshness) found."""

    suite: str
    row_count: int = 0
    evaluated: int = 0
    successful: int = 0
    failures: list[dict] = field(default_factory=list)  # one per failed expectation
    sample: list[dict] = field(default_factory=list)  # failing rows, at most SAMPLE_SIZE
    data_docs: str = ""

    @property
    def success_percent(self) -> float:
        return 100.0 if not self.evaluated else round(100.0 * self.successful / self.evaluated, 2)

    @property
    def unexpected_count(self) -> int:
        return sum(int(f.get("unexpected_count") or 0) for f in self.failures)

    @property
    def severity(self) -> str | None:
        """'ERROR' when a blocking expectation failed, 'WARN' when only warnings did, else None."""
        levels = {f["severity"] for f in self.failures}
        if ERROR in levels:
            return "ERROR"
        if WARN in levels:
            return "WARN"
        return None

    @property
    def passed(self) -> bool:
        return not self.failures

    def merge(self, other: GuardResult) -> GuardResult:
        return GuardResult(
            suite=f"{self.suite}+{other.suite}",
            row_count=self.row_count,
            evaluated=self.evaluated + other.evaluated,
            successful=self.successful + other.successful,
            failures=[*self.failures, *other.failures],
            sample=[*self.sample, *other.sample][:SAMPLE_SIZE],
            data_docs=self.data_docs or other.data_docs,
        )

    def summary(self) -> str:
        """One line per guard, in words: each failed expectation's rule (its ``why``), how
        many rows break it and where (up to three failing rows as ``file:line`` or their
        keys); a stale table says how old its newest row is."""
        if self.passed:
            return f"{self.suite}: {self.evaluated} expectations passed on {self.row_count} rows"
        parts = []
        for f in self.failures:
            tag = f"{f['expectation']}({f.get('column') or ''})"
            rows = [r for r in self.sample if r.get("_guard") == tag]
            severity = "blocking" if f["severity"] == "critical" else f["severity"]
            if f.get("column") == "age_hours" and rows:
                parts.append(f"[{severity}] {_staleness(rows[0])}")
                continue
            where = [_locate(r) for r in rows][:3]
            at = f" at {', '.join(where)}" if where else ""
            count = f.get("unexpected_count")
            rule = f.get("why") or tag
            on = f" on {f['column']}" if f.get("column") else ""
            if count is None:
                parts.append(f"[{severity}] failed{on}: {rule}{at}")
            else:
                noun = "row breaks" if count == 1 else "rows break"
                parts.append(f"[{severity}] {count} {noun} the rule{on}: {rule}{at}")
        return f"{self.suite}: " + "; ".join(parts)


def days_old(age_hours: float) -> str:
    """``16 days old`` / ``30 hours old``: an age in the unit a person reads."""
    if age_hours >= 48:
        return f"{age_hours / 24:.0f} days old"
    return f"{age_hours:.0f} hours old"


def _staleness(row: dict) -> str:
    table = row.get("table_name") or "the table"
    age = row.get("age_hours")
    if age is None:
        return f"{table} has no dated rows"
    return (
        f"{table} is {days_old(float(age))} (its newest row against the end of the as_of day; "
        "settings.freshness_max_age_hours allows less)"
    )


def _locate(row: dict) -> str:
    if row.get("_source_file"):
        loc = f"{row['_source_file']}:{row.get('_source_line')}"
        return f"{loc} (id {row['id']})" if row.get("id") else loc
    keys = [str(row[k]) for k in _KEYS if row.get(k) is not None]
    return "/".join(keys) or "?"


def _index_rows(index_list: list | None) -> list[int]:
    """The ``ROW_INDEX`` values of GX's (partial) unexpected index list."""
    return [
        int(i[batches.ROW_INDEX])
        for i in index_list or []
        if isinstance(i, dict) and batches.ROW_INDEX in i
    ]


def _weighed(res: dict, df: pd.DataFrame, weights: str, kwargs: dict) -> dict:
    """GX's counts on a tally as counts of the batch's rows: the unexpected rows' weights, and
    the percent of the weight GX judged (all rows less those it set aside as missing: NULL in
    the column; for a column pair, per ``ignore_row_if``). The same for a unique column: GX
    finds every kept row of a repeated value unexpected (a mart's tally keeps at least two of
    each), and their weights are all the value's rows."""
    weight = df.set_index(batches.ROW_INDEX)[weights]
    unexpected = int(weight.loc[_index_rows(res.get("unexpected_index_list"))].sum())
    judged = int(weight.sum())
    if res.get("missing_count"):
        named = expectation_columns(kwargs)
        nulls = df[named].isna()
        both = kwargs.get("ignore_row_if", "both_values_are_missing") in (
            "both_values_are_missing",
            "all_values_are_missing",
        )
        missing = nulls.all(axis=1) if both and len(named) > 1 else nulls.any(axis=1)
        judged -= int(df.loc[missing, weights].sum())
    out = dict(res)
    out["element_count"] = int(weight.sum())
    out["unexpected_count"] = unexpected
    out["unexpected_percent"] = 100.0 * unexpected / judged if judged else None
    return out


def _jsonable(df: pd.DataFrame) -> list[dict]:
    return json.loads(df.to_json(orient="records", date_format="iso", default_handler=str))


def _base_column(col: str | None) -> str | None:
    if col and "__" in col:
        return col.split("__", 1)[0]
    return None


def _sample_rows(df: pd.DataFrame, rows: list[int], cols: list[str], why: str) -> list[dict]:
    keep = [c for c in dict.fromkeys([*_KEYS, *cols, *_LINEAGE]) if c in df.columns]
    picked = df[df[batches.ROW_INDEX].isin(rows)][keep]
    out = _jsonable(picked)
    for r in out:
        r["_guard"] = why
    return out


class QualityRunner:
    """One GX context for one run (``run_key``), writing Data Docs to ``docs_dir``."""

    def __init__(self, docs_dir: Path, run_key: str = "", suites_dir: Path = SUITES_DIR):
        self.docs_dir = Path(docs_dir)
        self.run_key = run_key
        self.suites_dir = Path(suites_dir)
        self._lock = threading.RLock()
        self._context = None
        self._definitions: dict[str, Any] = {}
        self._rendered: set = set()
        self._pending: list = []  # suites added since the last render

    # -- GX objects ------------------------------------------------------------------------
    @property
    def context(self):
        if self._context is None:
            gx = import_gx()
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
            )

            if self.docs_dir.exists():
                shutil.rmtree(self.docs_dir, ignore_errors=True)
            self.docs_dir.mkdir(parents=True, exist_ok=True)
            config = DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                data_docs_sites={
                    SITE_NAME: {
                        "class_name": "SiteBuilder",
                        "show_how_to_buttons": False,
                        "store_backend": {
                            "class_name": "TupleFilesystemStoreBackend",
                            "base_directory": str(self.docs_dir),
                        },
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    }
                },
                analytics_enabled=False,
                progress_bars={"globally": False},
            )
            self._context = gx.get_context(project_config=config, mode="ephemeral")
            self._source = self._context.data_sources.add_pandas("quotaboard")
        return self._context

    def _definition(self, suite_name: str):
        if suite_name not in self._definitions:
            gx = import_gx()
            from great_expectations.core import ExpectationSuite
            from great_expectations.data_context.types.resource_identifiers import (
                ExpectationSuiteIdentifier,
            )

            ctx = self.context
            suite = ctx.suites.add(ExpectationSuite(**load_suite(suite_name, self.suites_dir)))
            self._pending.append(ExpectationSuiteIdentifier(name=suite_name))
            asset = self._source.add_dataframe_asset(name=suite_name)
            batch = asset.add_batch_definition_whole_dataframe(f"{suite_name}_batch")
            self._definitions[suite_name] = ctx.validation_definitions.add(
                gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)
            )
        return self._definitions[suite_name]

    # -- validation ------------------------------------------------------------------------
    def validate(
        self,
        suite_name: str,
        df: pd.DataFrame,
        parameters: dict | None = None,
        build_docs: bool = True,
        weights: str | None = None,
    ) -> GuardResult:
        """``suite_name`` on ``df``. With ``weights``, ``df`` is a tally (``batches.read_tally``,
        ``batches.read_mart_tally``): each row stands for ``df[weights]`` rows of the batch,
        and the counts and percentages reported are of the batch's rows."""
        import_gx()  # first, so that GX is never imported with PySpark
        from great_expectations.core.run_identifier import RunIdentifier

        with self._lock:
            definition = self._definition(suite_name)
            result = definition.run(
                batch_parameters={"dataframe": df},
                expectation_parameters=parameters or {},
                result_format={
                    # A tally is small: every unexpected row is needed to weigh the count.
                    "result_format": "COMPLETE" if weights else "SUMMARY",
                    "unexpected_index_column_names": [batches.ROW_INDEX],
                    "partial_unexpected_count": SAMPLE_SIZE,
                },
                run_id=RunIdentifier(run_name=self.run_key or None),
            )
            self._release_batch()
        docs = self.build_docs() if build_docs else ""
        return self._to_guard(suite_name, df, result, docs, weights)

    def _release_batch(self) -> None:
        """Drop the DataFrame GX keeps cached as its active batch until the next validation.
        Left there, a large batch (400,000 Opportunity rows: 0.5 GB) stays resident in the run's
        process while dbt builds in a second one."""
        engine = self._source._execution_engine  # noqa: SLF001 - GX has no public way to reset it
        if engine is not None:
            engine.batch_manager.reset_batch_cache()
            engine.batch_manager.batch_data_cache.clear()

    def build_docs(self) -> str:
        """Render the validation results not yet rendered (and the index) into ``docs_dir``;
        the path of ``index.html`` ("" if rendering failed: docs never fail a guard)."""
        with self._lock:
            try:
                store = self.context.validation_results_store
                new = [k for k in store.list_keys() if k not in self._rendered]
                self.context.build_data_docs(
                    site_names=[SITE_NAME], resource_identifiers=[*self._pending, *new]
                )
                self._rendered.update(new)
                self._pending.clear()
            except Exception:  # noqa: BLE001 - docs are a by-product
                return ""
        index = self.docs_dir / "index.html"
        return str(index) if index.exists() else ""

    def _to_guard(
        self, suite_name: str, df: pd.DataFrame, result, docs: str, weights: str | None = None
    ) -> GuardResult:
        rows = int(df[weights].sum()) if weights else len(df)
        guard = GuardResult(suite=suite_name, row_count=rows, data_docs=docs)
        for r in result.results:
            cfg = r.expectation_config
            severity = getattr(cfg.severity, "value", str(cfg.severity))
            kwargs = cfg.kwargs or {}
            pair = [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
            column = kwargs.get("column") or ",".join(kwargs.get("column_list") or pair).strip(",")
            res = r.result or {}
            meta = cfg.meta or {}
            if weights and res.get("unexpected_count") is not None:
                res = _weighed(res, df, weights, kwargs)
            guard.evaluated += 1
            if r.success:
                guard.successful += 1
                continue
            failure = {
                "expectation": cfg.type,
                "column": column,
                "severity": severity,
                "unexpected_count": res.get("unexpected_count"),
                "unexpected_percent": res.get("unexpected_percent"),
                "why": meta.get("why", ""),
                "protects": meta.get("protects", ""),
            }
            if r.exception_info and r.exception_info.get("raised_exception"):
                failure["exception"] = str(r.exception_info.get("exception_message"))[:500]
            if "details" in res or "observed_value" in res:
                failure["observed"] = json.loads(
                    json.dumps(res.get("details") or res.get("observed_value"), default=str)
                )
            guard.failures.append(failure)
            rows = _index_rows(res.get("partial_unexpected_index_list"))[:SAMPLE_SIZE]
            if rows and len(guard.sample) < SAMPLE_SIZE:
                cols = [c for c in column.split(",") if c]
                cols += [b for b in map(_base_column, cols) if b]
                why = f"{cfg.type}({column})"
                guard.sample += _sample_rows(df, rows, cols, why)
        guard.sample = guard.sample[:SAMPLE_SIZE]
        return guard


# -- the guards, on a warehouse file ---------------------------------------------------------
def validate_landing(
    runner: QualityRunner,
    warehouse_path: Path,
    table: str,
    as_of: date,
    since: datetime | None = None,
    build_docs: bool = True,
) -> GuardResult:
    """The landing suite of ``raw.<table>`` on the rows loaded after ``since`` plus the
    freshness suite on the whole table (newest timestamp before the end of the as_of day).

    A suite that judges each row by a few columns' values or nullness alone (every landing
    suite today: ``suites.tally_columns``) is validated on the batch's tally
    (``batches.read_tally``), counted in DuckDB: the verdicts, counts and percentages are the
    batch's, the failing rows shown are real rows (file and line), and the batch is never
    read into pandas. The others read the batch whole."""
    suite_name = landing_suite_name(table)
    suite = load_suite(suite_name, runner.suites_dir)
    plan = tally_plan(suite) if tally_columns(suite) is not None else None
    with batches.read_only(warehouse_path) as conn:
        settings = batches.read_settings(conn)
        fresh = batches.read_freshness(conn, table, as_of, settings)
        if plan is not None:
            tally = batches.read_tally(conn, table, since, plan.values, plan.nulls)
            landing = runner.validate(suite_name, tally, build_docs=False, weights=batches.WEIGHT)
        else:
            batch = batches.read_batch(conn, table, since)
            landing = runner.validate(suite_name, batch, build_docs=False)
    freshness = runner.validate(
        FRESHNESS_SUITE,
        fresh,
        {"freshness_max_age_hours": settings.freshness_max_age_hours},
        build_docs=False,
    )
    merged = landing.merge(freshness)
    merged.suite = landing_suite_name(table)
    merged.data_docs = runner.build_docs() if build_docs else ""
    return merged


def validate_mart(
    runner: QualityRunner, warehouse_path: Path, model: str, build_docs: bool = True
) -> GuardResult:
    """The mart suite of ``marts.<model>``, on the columns the suite reads (all of them when an
    expectation names none) plus the keys a failing row is reported with.

    A suite whose expectations judge each row by a few columns, or a column's uniqueness
    (``suites.tally_plan``: the credit mart's), is validated on the mart's tally
    (``batches.read_mart_tally``), counted in DuckDB: the verdicts, counts and percentages are
    the mart's and the failing rows shown are real rows with their keys. At scale 200 the
    whole credit mart in pandas (2 M rows) took the run's process to 3.1 GB. The others read
    the mart (those columns) into pandas."""
    suite_name = mart_suite_name(model)
    suite = load_suite(suite_name, runner.suites_dir)
    judged = suite_columns(suite)
    plan = tally_plan(suite)
    with batches.read_only(warehouse_path) as conn:
        columns = None
        if judged is not None:  # plus the keys a failing row is reported with
            wanted = {*judged, *_KEYS, *_LINEAGE}
            columns = [c for c in batches.table_columns(conn, "marts", model) if c in wanted]
        if plan is not None:
            present = columns or batches.table_columns(conn, "marts", model)
            # kept rows: the first by the keys a row is reported with, then the other columns
            order = [k for k in _KEYS if k in present] + [c for c in present if c not in _KEYS]
            tally = batches.read_mart_tally(
                conn, model, present, plan.values, plan.nulls, plan.unique, order
            )
        else:
            df = batches.read_mart(conn, model, columns)
    if plan is not None:
        return runner.validate(suite_name, tally, build_docs=build_docs, weights=batches.WEIGHT)
    return runner.validate(suite_name, df, build_docs=build_docs)


__all__ = [
    "GuardResult",
    "QualityRunner",
    "docs_dir_for",
    "validate_landing",
    "validate_mart",
]
