"""What ``quotaboard run`` prints about a run: its progress, then the outcome.

* :func:`progress_logger`: a Dagster logger that prints one line per step while the job runs
  (step started, ok or FAILED with its time, assets and checks; skipped steps).
* Reading the run's event log (a ``dg.ExecuteInProcessResult``): :func:`materialized` (was an
  asset materialized), :func:`failure_messages` (what the failing steps say, without
  tracebacks), :func:`failed_guards` (the checks that failed, blocking and warning),
  :func:`load_warnings` (what the loaders warn about the landing files, e.g. a repeated header).
* :func:`summary`: after a publish, the landing files and rows, the as_of, each kind of quota
  carrier's fiscal-year attainment, the exceptions by reason and where the published files are
  (read from the working database's manifest and the published file, read-only).
* :func:`report`: all of it, printed: the failure block of a run that published nothing, or the
  summary and warnings of one that published.

No Dagster or DuckDB at import time: the command line imports this module before it runs.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

MAX_MESSAGE_LINES = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_PLURAL = {"team": "teams", "person": "people"}
_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError")


# -- progress: a Dagster logger that prints one line per step ---------------------------------
class Progress(logging.Handler):
    """Turns the Dagster events of a run into one line per step on ``stream``."""

    def __init__(self, stream) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.started: dict[str, float] = {}
        self.assets: dict[str, int] = {}
        self.checks: dict[str, list[int]] = {}

    def _say(self, msg: str) -> None:
        self.stream.write(msg + "\n")
        self.stream.flush()

    @staticmethod
    def _label(step_key: str) -> str:
        return step_key.replace("__", "/")

    def emit(self, record: logging.LogRecord) -> None:  # noqa: D102
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        step = event.step_key or ""
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            if step.startswith("dbt"):
                self._say(f"  .. {self._label(step)} (dbt build: models, then their tests)")
        elif kind == "ASSET_MATERIALIZATION":
            self.assets[step] = self.assets.get(step, 0) + 1
        elif kind == "ASSET_CHECK_EVALUATION":
            passed = bool(getattr(event.event_specific_data, "passed", True))
            counts = self.checks.setdefault(step, [0, 0])
            counts[0 if passed else 1] += 1
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            secs = time.monotonic() - self.started.get(step, time.monotonic())
            detail = []
            if self.assets.get(step, 0) > 1:
                detail.append(f"{self.assets[step]} assets")
            if step in self.checks:
                ok, bad = self.checks[step]
                detail.append(_checks_text(ok, bad))
            failed_checks = self.checks.get(step, [0, 0])[1]
            # A step whose warning guards failed is "warn", never "ok".
            status = "FAILED" if kind == "STEP_FAILURE" else "warn" if failed_checks else "ok "
            extra = f" ({', '.join(detail)})" if detail else ""
            self._say(f"  {status} {self._label(step)}  {secs:.1f}s{extra}")
        elif kind == "STEP_SKIPPED":
            self._say(f"  skipped {self._label(step)} (an upstream step failed)")


def _checks_text(passed: int, failed: int) -> str:
    """``3 checks passed`` / ``1 check failed`` / ``247 checks passed, 2 failed``."""
    if not failed:
        return f"{passed} check{'s' if passed != 1 else ''} passed"
    if not passed:
        return f"{failed} check{'s' if failed != 1 else ''} failed"
    return f"{passed} checks passed, {failed} failed"


def progress_logger(stream):
    """The ``quotaboard_progress`` Dagster logger definition, printing to ``stream``."""
    import dagster as dg

    @dg.logger(description="quotaboard run: one line per step")
    def quotaboard_progress(_init_context):
        lg = logging.Logger("quotaboard_progress", level=logging.DEBUG)
        lg.addHandler(Progress(stream))
        return lg

    return quotaboard_progress


# -- the run's event log ----------------------------------------------------------------------
def materialized(result, key) -> bool:
    """Whether the run materialized the asset ``key``."""
    return any(
        e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == key
        for e in result.all_events
    )


def failure_messages(result) -> list[str]:
    """What went wrong, as the failing steps describe it (a dg.Failure's description, else the
    error's message), without tracebacks; steps failing the same way share one line."""
    by_text: dict[str, list[str]] = {}
    run_failure: str | None = None
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            data = event.step_failure_data
            label = (event.step_key or "").replace("__", "/")
            text = None
            if data.user_failure_data is not None and data.user_failure_data.description:
                text = data.user_failure_data.description
            elif data.error is not None:
                err = data.error
                # Unwrap Dagster's "Error occurred while executing ..." wrappers.
                while err.cause is not None and err.cls_name in _WRAPPERS:
                    err = err.cause
                text = err.message.strip()
            by_text.setdefault(_ANSI.sub("", text or "failed"), []).append(label)
        elif event.event_type_value == "RUN_FAILURE" and run_failure is None:
            err = getattr(event.event_specific_data, "error", None)
            if err is not None:
                run_failure = _ANSI.sub("", err.message.strip())
    messages = []
    for text, labels in by_text.items():
        more = f" (and {len(labels) - 1} more steps)" if len(labels) > 1 else ""
        lines = text.splitlines()
        if len(lines) > MAX_MESSAGE_LINES:
            rest = len(lines) - MAX_MESSAGE_LINES
            lines = [*lines[:MAX_MESSAGE_LINES], f"... and {rest} more lines (Dagster event log)"]
        messages.append(f"{labels[0]}{more}: " + "\n".join(lines))
    if not messages and run_failure:
        messages.append(run_failure)
    return messages


def load_warnings(result) -> list[str]:
    """The ``warnings`` metadata of the run's materializations (a loader's one line per landing
    file it warns about, such as a repeated header line), each once, in event order."""
    seen: list[str] = []
    for event in result.all_events:
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        meta = event.step_materialization_data.materialization.metadata or {}
        for text in _json_metadata(meta.get("warnings")) or []:
            if isinstance(text, str) and text not in seen:
                seen.append(text)
    return seen


def failed_guards(result) -> tuple[list[str], list[str]]:
    """(blocking, warning) lines for the checks of the run that failed: the guard's asset and
    name and its description (a GX guard's names each failed expectation and where its first
    failing rows are; a dbt test's gives its failing row count)."""
    import dagster as dg

    blocking: list[str] = []
    warning: list[str] = []
    stale: dict[str, float] = {}  # table -> age in hours
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        data = event.event_specific_data
        if getattr(data, "passed", True):
            continue
        label = f"{data.asset_key.to_user_string()} {data.check_name}"
        text = _ANSI.sub("", (data.description or "").strip())
        meta = data.metadata or {}
        failures = _json_metadata(meta.get("failed_expectations")) or []
        rows = _json_metadata(meta.get("failing_rows")) or []
        ages = [r for r in rows if r.get("age_hours") is not None and r.get("table_name")]
        only_stale = failures and all(f.get("column") == "age_hours" for f in failures)
        if only_stale and ages and data.severity != dg.AssetCheckSeverity.ERROR:
            for r in ages:
                stale[r["table_name"]] = float(r["age_hours"])
            continue
        failed_rows = meta.get("dagster_dbt/failed_row_count")
        if failed_rows is not None:
            text = (text + f" ({failed_rows.value} failing rows)").strip()
        target = blocking if data.severity == dg.AssetCheckSeverity.ERROR else warning
        target.append(f"{label}: {text or 'failed'}")
    if stale:
        warning.insert(0, stale_line(stale))
    return blocking, warning


def stale_line(ages: dict[str, float]) -> str:
    """One line for every table whose newest row is older than the freshness limit, oldest
    first, tables of the same age together: ``stale data: raw.user 67 days old; raw.event,
    raw.task 16 days old (...)``."""
    from dagster_project.quality.runner import days_old

    by_age: dict[str, list[str]] = {}
    for table, hours in sorted(ages.items(), key=lambda kv: (-kv[1], kv[0])):
        by_age.setdefault(days_old(hours), []).append(table)
    groups = "; ".join(f"{', '.join(tables)} {age}" for age, tables in by_age.items())
    return (
        f"stale data: {groups} (newest row against the end of the as_of day; "
        "settings.freshness_max_age_hours allows less)"
    )


def _json_metadata(value) -> Any:
    """The payload of a Dagster JSON metadata value (None when absent)."""
    return getattr(value, "data", None) if value is not None else None


# -- the summary of a published run -----------------------------------------------------------
def data_through_line(dates: dict, as_of: date) -> str:
    """``data through: D, N days before as_of (CRM to C, product usage to M)``: the day pace and
    status are measured at (the earliest of as_of and the newest day each source reaches) and
    each source's own date; ``dates`` as ``run_record.read_data_through`` returns them."""

    def day(value) -> str:
        return "no data" if value is None else str(value)

    through = dates["data_through"]
    behind = "" if through == as_of else f", {(as_of - through).days} days before as_of"
    crm, messages = day(dates["crm_through"]), day(dates["messages_through"])
    return f"data through: {through}{behind} (CRM to {crm}, product usage to {messages})"


def summary(paths, run_id: str, started_at: float) -> list[str]:
    """Lines about a published run (``paths``: its ``QuotaboardPaths``; ``started_at``: when
    it started, epoch seconds). What cannot be read is left out."""
    import duckdb

    from dagster_project.run_record import read_data_through

    lines: list[str] = []
    dates: dict = {}
    # Landing files and rows (from the loaders' manifest in the working database).
    with contextlib.suppress(duckdb.Error, OSError):
        conn = duckdb.connect(str(paths.warehouse_path), read_only=True)
        try:
            files, rows, new_files, new_rows = conn.execute(
                """
                select count(*), coalesce(sum(row_count), 0),
                       count(*) filter (where epoch(loaded_at) >= ?),
                       coalesce(sum(row_count) filter (where epoch(loaded_at) >= ?), 0)
                from raw.load_manifest
                """,
                [started_at - 5, started_at - 5],
            ).fetchone()
            lines.append(
                f"landing: {files} files, {rows} rows ({new_files} files, {new_rows} rows "
                "read this run)"
            )
            dates = read_data_through(conn)
        finally:
            conn.close()

    published = paths.published_path
    if not published.exists():
        return lines
    with contextlib.suppress(duckdb.Error, OSError):
        conn = duckdb.connect(str(published), read_only=True)
        try:
            with contextlib.suppress(duckdb.Error):
                as_of = conn.execute(
                    "select max(as_of) from marts.fct_attainment_history where run_id = ?",
                    [run_id],
                ).fetchone()[0]
                if as_of is not None:
                    lines.append(as_of_line(as_of, paths))
                if as_of is not None and dates.get("data_through") is not None:
                    lines.append(data_through_line(dates, as_of))
                for kind, n, med, at_or_above in conn.execute(
                    """
                    with years as (
                        select p.fiscal_period from marts.dim_fiscal_periods p
                        where p.period_type = 'year' and ? between p.period_start and p.period_end
                    )
                    select s.assignee_type, count(*), median(s.weighted_attainment),
                           count(*) filter (where s.weighted_attainment >= 1)
                    from marts.fct_scorecards s join years using (fiscal_period)
                    group by 1 order by 1 desc
                    """,
                    [as_of],
                ).fetchall():
                    med_txt = "n/a" if med is None else f"{med:.0%}"
                    lines.append(
                        f"{_PLURAL.get(kind, kind)} (fiscal year to date): {n} with quotas, "
                        f"median attainment "
                        f"{med_txt}, {at_or_above} at or above 100%"
                    )
            with contextlib.suppress(duckdb.Error):
                reasons = conn.execute(
                    """
                    select reason, count(*), coalesce(sum(row_count), 0)
                    from marts.fct_quota_exceptions
                    group by 1 order by 2 desc, 1
                    """
                ).fetchall()
                lines.append(exceptions_line(reasons))
        finally:
            conn.close()
    lines.append(f"published: {published}")
    lines.append(f"parquet:   {paths.parquet_link}")
    for extra in (paths.docs_page, paths.board_page, paths.quality_dir):
        if extra.exists():
            lines.append(f"           {extra}")
    return lines


def as_of_line(as_of: date, paths) -> str:
    """``as of: D``; for a rerun of a past date, also that every reader now sees that day's
    numbers (fct_runs.as_of_in_past says the same)."""
    from dagster_project.keys import company_today

    try:
        today = date.fromisoformat(company_today(paths.config, paths.warehouse_path))
    except (OSError, ValueError):
        return f"as of: {as_of}"
    if as_of >= today:
        return f"as of: {as_of}"
    return (
        f"as of: {as_of}, a past date (today is {today} in the company time zone): the "
        f"published file and the board now show the numbers as of {as_of} to every reader"
    )


def exceptions_line(reasons: list[tuple[str, int, int]]) -> str:
    """``exceptions: 47 rows in fct_quota_exceptions (54 source rows): reason rows, ...`` from
    (reason, exception rows, source rows they stand for); the source rows are named only
    where they differ from the exception rows (a duplicated message, a group of rows)."""
    rows = sum(int(n) for _, n, _ in reasons)
    if not rows:
        return "exceptions: none"
    source = sum(int(m) for _, _, m in reasons)
    covering = f" ({source} source rows)" if source != rows else ""
    detail = ", ".join(
        f"{reason} {n}" + (f" ({m} source rows)" if m != n else "") for reason, n, m in reasons
    )
    return f"exceptions: {rows} rows in fct_quota_exceptions{covering}: {detail}"


def write_blocked_quality_page(instance, run_id: str, paths) -> None:
    """``published/quality/index.html`` for a run that published nothing: every guard it
    evaluated, so the page says why it was blocked (the published files stay the last
    published run's). Never raises: the page is a by-product."""
    from dagster_project.quality.report_page import checks_from_instance, write_quality_page

    with contextlib.suppress(Exception):
        write_quality_page(
            paths.quality_dir,
            checks_from_instance(instance, run_id),
            run_id=run_id,
            as_of=paths.as_of or None,
            blocked=True,
        )


# -- the report -------------------------------------------------------------------------------
def report(
    result: Any,
    paths,
    *,
    published_key,
    elapsed: float,
    started_at: float,
    log_path: Path,
    out: Callable[[str], None],
    err: Callable[[str], None],
) -> bool:
    """Print the outcome of a ``quotaboard run`` (``out`` and ``err`` print one message each).
    True when the marts were published (the asset ``published_key`` was materialized: a step
    that failed after the publish, the board or the docs, is reported as a warning)."""
    run_id = result.run_id
    blocking, guard_warnings = failed_guards(result)
    # The loaders' warnings first: they explain guards that fail because of them.
    warnings_ = [*load_warnings(result), *guard_warnings]
    if not materialized(result, published_key):
        out("")
        err(f"FAILED after {elapsed:.1f}s (run {run_id}): nothing was published.")
        for guard in blocking:
            err(f"  blocking guard failed: {guard}")
        messages = failure_messages(result) or ["the run failed (see the Dagster event log)"]
        for msg in messages:
            err(f"  {msg}")
        for guard in warnings_:
            err(f"  warning: {guard}")
        if any(m.startswith("dbt_models") for m in messages):
            err(f"  dbt output: {log_path}")
        if paths.published_path.exists():
            err(f"  the previous {paths.published_path} is unchanged")
        return False
    out("")
    out(f"published in {elapsed:.1f}s (run {run_id})")
    for line in summary(paths, run_id, started_at):
        out(f"  {line}")
    for guard in warnings_:
        out(f"  warning: {guard}")
    if not result.success:
        for msg in failure_messages(result):
            out(f"  warning: after publishing, {msg}")
    return True
