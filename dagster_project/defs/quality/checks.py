"""Great Expectations guards as Dagster asset checks (docs/guards.md).

* ``gx_landing`` on each raw asset (``raw/<object>`` x 10, ``raw/messages``): the landing suite
  on the rows loaded since the last publish, plus the freshness suite on the whole table.
* ``gx_mart`` on the mart assets (``marts/<model>``, dagster-dbt's ``<schema>/<model>`` key):
  the mart suite on the whole mart.

Every check is ``blocking=True``: when an expectation of severity critical fails, the check
fails with ``AssetCheckSeverity.ERROR`` and the assets downstream (dbt after the raw checks,
``published/warehouse`` after the mart checks) do not run, so nothing is published. When only
warnings fail (what metrics.md §7 already turns into exception rows), the check fails with
``WARN`` and the run goes on.

The module-level list :data:`quality_checks` is what the definitions load; build another set
with :func:`build_quality_checks` when asset keys differ.
"""

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from dagster_project.ingest.schema import CRM_OBJECTS, MESSAGES_TABLE
from dagster_project.keys import PUBLISHED_KEY, run_as_of
from dagster_project.quality.runner import (
    GuardResult,
    QualityRunner,
    docs_dir_for,
    validate_landing,
    validate_mart,
)
from dagster_project.quality.suites import MART_MODELS, RAW_PROTECTS
from dagster_project.resources import QuotaboardPaths

RAW_TABLES: tuple[str, ...] = (*(t for t, _, _ in CRM_OBJECTS.values()), MESSAGES_TABLE)

LANDING_CHECK = "gx_landing"
MART_CHECK = "gx_mart"


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def mart_key(model: str) -> dg.AssetKey:
    return dg.AssetKey(["marts", model])


# -- one GX runner per run (the GX context keeps the run's results for the Data Docs) ---------
_runners: dict[tuple[str, str], QualityRunner] = {}
_runners_lock = threading.Lock()


def runner_for(paths: QuotaboardPaths, run_id: str) -> QualityRunner:
    key = (str(docs_dir_for(paths.home)), run_id)
    with _runners_lock:
        if key not in _runners:
            _runners.clear()  # a new run: drop the previous run's context
            _runners[key] = QualityRunner(docs_dir_for(paths.home), run_key=run_id)
        return _runners[key]


def render_data_docs(paths: QuotaboardPaths, run_id: str) -> str:
    """Render the GX Data Docs of the run's validations so far into
    ``published/quality/gx/`` (path of its ``index.html``, "" when none or rendering failed).

    Rendering costs most of a check's time (GX compiles its page templates on every build),
    so a check renders only when it blocks the run; the others are rendered once, by the
    board step after the publish (``defs/board.py``) or, when the run stopped before it, by
    ``quotaboard run`` with the blocked run's quality page (``cli.py``)."""
    with _runners_lock:
        runner = _runners.get((str(docs_dir_for(paths.home)), run_id))
    return runner.build_docs() if runner is not None else ""


def _docs_path(runner: QualityRunner, guard: GuardResult) -> str:
    """Where the check's Data Docs are: rendered now when the guard blocks the run (nothing
    after it renders them), else where :func:`render_data_docs` puts them."""
    if guard.severity == "ERROR":
        return runner.build_docs()
    return str(runner.docs_dir / "index.html")


# -- the run's batch -------------------------------------------------------------------------
def batch_since(context: dg.AssetCheckExecutionContext) -> datetime | None:
    """Rows loaded after the last successful publish are the batch not yet audited (this run's
    loads, plus those of runs that did not publish); None = no publish yet: every row."""
    try:
        event = context.instance.get_latest_materialization_event(PUBLISHED_KEY)
    except Exception:  # noqa: BLE001 - no instance (direct invocation)
        return None
    if event is None:
        return None
    return datetime.fromtimestamp(event.timestamp, UTC).replace(tzinfo=None)


# -- results ----------------------------------------------------------------------------------
def _markdown(rows: list[dict]) -> str:
    if not rows:
        return "(no failing rows)"
    cols = list(dict.fromkeys(c for r in rows for c in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [str(r.get(c, "")).replace("|", "\\|").replace("\n", " ") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_check_result(guard: GuardResult, extra: dict | None = None) -> dg.AssetCheckResult:
    severity = (
        dg.AssetCheckSeverity.ERROR if guard.severity == "ERROR" else dg.AssetCheckSeverity.WARN
    )
    metadata: dict = {
        "suite": guard.suite,
        "success_percent": dg.MetadataValue.float(float(guard.success_percent)),
        "unexpected_count": dg.MetadataValue.int(guard.unexpected_count),
        "rows_validated": dg.MetadataValue.int(guard.row_count),
        "expectations_evaluated": dg.MetadataValue.int(guard.evaluated),
        "failed_expectations": dg.MetadataValue.json(guard.failures),
        "failing_rows": dg.MetadataValue.json(guard.sample),
        "failing_rows_table": dg.MetadataValue.md(_markdown(guard.sample)),
        "data_docs": dg.MetadataValue.path(guard.data_docs or "(not written)"),
        **(extra or {}),
    }
    return dg.AssetCheckResult(
        passed=guard.passed,
        severity=severity,
        metadata=metadata,
        description=guard.summary()[:2000],
    )


def _log(context: dg.AssetCheckExecutionContext, guard: GuardResult) -> None:
    if guard.severity == "ERROR":
        context.log.error(f"blocking guard failed: {guard.summary()}")
    elif guard.severity == "WARN":
        context.log.warning(guard.summary())
    else:
        context.log.info(guard.summary())


def _error_result(message: str, extra: dict | None = None) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=message[:2000],
        metadata={"error": message[:2000], **(extra or {})},
    )


# -- factories --------------------------------------------------------------------------------
def build_landing_check(table: str, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=LANDING_CHECK,
        blocking=True,
        description=(
            f"GX suite landing_{table} on the newly loaded rows of raw.{table} (ids, columns, "
            f"types, value sets, ranges) and freshness. Protects: {RAW_PROTECTS[table]}."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, paths: QuotaboardPaths
    ) -> dg.AssetCheckResult:
        as_of = date.fromisoformat(run_as_of(context, paths))  # dagster_project.keys
        since = batch_since(context)
        extra = {
            "as_of": as_of.isoformat(),
            "batch_loaded_after": since.isoformat() if since else "(all rows)",
        }
        warehouse = Path(paths.warehouse_path)
        if not warehouse.exists():
            return _error_result(f"working database {warehouse} does not exist", extra)
        runner = runner_for(paths, context.run.run_id)
        guard = validate_landing(runner, warehouse, table, as_of, since, build_docs=False)
        guard.data_docs = _docs_path(runner, guard)
        _log(context, guard)
        return to_check_result(guard, extra)

    return _check


def build_mart_check(model: str, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=key,
        name=MART_CHECK,
        blocking=True,
        description=f"GX suite mart_{model} on marts.{model} (keys, sets, invariants).",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, paths: QuotaboardPaths
    ) -> dg.AssetCheckResult:
        warehouse = Path(paths.warehouse_path)
        if not warehouse.exists():
            return _error_result(f"working database {warehouse} does not exist")
        runner = runner_for(paths, context.run.run_id)
        guard = validate_mart(runner, warehouse, model, build_docs=False)
        guard.data_docs = _docs_path(runner, guard)
        _log(context, guard)
        return to_check_result(guard)

    return _check


def build_quality_checks(
    raw_key_fn: Callable[[str], dg.AssetKey] = raw_key,
    mart_key_fn: Callable[[str], dg.AssetKey] = mart_key,
    raw_tables: Iterable[str] = RAW_TABLES,
    mart_models: Iterable[str] = MART_MODELS,
) -> list[dg.AssetChecksDefinition]:
    """The checks, attached to ``raw_key_fn(table)`` and ``mart_key_fn(model)``."""
    return [
        *(build_landing_check(t, raw_key_fn(t)) for t in raw_tables),
        *(build_mart_check(m, mart_key_fn(m)) for m in mart_models),
    ]


quality_checks: list[dg.AssetChecksDefinition] = build_quality_checks()
