"""``published/quality/index.html``: the quality report of a run, one self-contained page.

Every guard of the run is a Dagster asset check: the dbt data tests (dagster-dbt), the Great
Expectations suites (``defs/quality/checks.py``: ``gx_landing``, ``gx_mart``) and the freshness
check of the published file. :func:`checks_from_instance` reads their evaluations from the run's
event log; :func:`render_quality_page` writes them as one HTML page with inline CSS, no script
and no request to anything (it opens offline, from a file share or a mail attachment, and
prints); :func:`write_quality_page` replaces ``index.html`` atomically.

For each guard: where it looks (the asset), what kind it is, whether a failure blocks the
publish, pass or fail, and for a failure what failed (each failed expectation with its
severity and count) and the failing rows, located as ``file:line`` when the check's metadata
carries the landing lineage (``_source_file``, ``_source_line``). Great Expectations' own Data
Docs are written beside it (``gx/index.html``, see ``quality/runner.py``); they load their
styles from public CDNs, so they are a by-product, not the report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from dagster_project.atomic import write_text_atomic

PAGE_NAME = "index.html"
GX_DOCS_LINK = "gx/index.html"
MAX_ROWS = 20  # failing rows shown per guard
LINEAGE = ("_source_file", "_source_line")


@dataclass
class Guard:
    """One asset check's evaluation in a run."""

    asset: str
    name: str
    kind: str  # "dbt test", "Great Expectations", "freshness", "check"
    passed: bool
    severity: str  # "ERROR" or "WARN" (Dagster's severity of a failure)
    blocking: bool
    description: str = ""
    failures: list[dict] = field(default_factory=list)  # failed expectations
    rows: list[dict] = field(default_factory=list)  # failing rows (a sample)
    failed_row_count: int | None = None
    reference: str = ""  # the dbt test's unique id, the GX suite's name

    @property
    def outcome(self) -> str:
        """``passed``, ``warning`` (failed, does not block), or ``failed`` (blocks)."""
        if self.passed:
            return "passed"
        return "failed" if self.severity == "ERROR" and self.blocking else "warning"

    @property
    def key(self) -> tuple:
        order = {"failed": 0, "warning": 1, "passed": 2}
        return (order[self.outcome], self.asset, self.name)


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def _kind(name: str, metadata: dict) -> str:
    if "unique_id" in metadata or "dagster_dbt/failed_row_count" in metadata:
        return "dbt test"
    if name.startswith("gx_") or "suite" in metadata:
        return "Great Expectations"
    if name == "freshness":
        return "freshness"
    return "check"


def guard_from_evaluation(evaluation: Any) -> Guard:
    """A :class:`Guard` from a Dagster ``AssetCheckEvaluation``."""
    metadata = {k: _value(v) for k, v in (evaluation.metadata or {}).items()}
    kind = _kind(evaluation.check_name, metadata)
    severity = getattr(evaluation.severity, "value", str(evaluation.severity or "ERROR"))
    failures = metadata.get("failed_expectations") or []
    rows = metadata.get("failing_rows") or []
    count = metadata.get("dagster_dbt/failed_row_count", metadata.get("unexpected_count"))
    try:
        count = int(count) if count is not None else None
    except (TypeError, ValueError):
        count = None
    description = evaluation.description or ""
    if not description and kind == "freshness":
        description = str(metadata.get("message") or "")
    return Guard(
        asset=evaluation.asset_key.to_user_string(),
        name=evaluation.check_name,
        kind=kind,
        passed=bool(evaluation.passed),
        severity=str(severity).upper(),
        blocking=bool(getattr(evaluation, "blocking", False)),
        description=description,
        failures=[f for f in failures if isinstance(f, dict)],
        rows=[r for r in rows if isinstance(r, dict)][:MAX_ROWS],
        failed_row_count=count,
        reference=str(metadata.get("unique_id") or metadata.get("suite") or ""),
    )


def checks_from_instance(instance: Any, run_id: str) -> list[Guard]:
    """Every asset-check evaluation of run ``run_id`` in the Dagster instance's event log (the
    last evaluation of a check that was evaluated more than once)."""
    from dagster import DagsterEventType

    found: dict[tuple[str, str], Guard] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        event = record.dagster_event
        if event is None or event.event_specific_data is None:
            continue
        guard = guard_from_evaluation(event.event_specific_data)
        found[(guard.asset, guard.name)] = guard
    return sorted(found.values(), key=lambda g: g.key)


def locate(row: dict) -> str:
    """Where a failing row comes from: ``file:line`` of the landing data when the row carries
    its lineage, else its key columns."""
    if row.get("_source_file"):
        return f"{row['_source_file']}:{row.get('_source_line')}"
    return ""


def _cells(row: dict) -> list[tuple[str, str]]:
    return [
        (k, v if isinstance(v, str) else json.dumps(v, default=str))
        for k, v in row.items()
        if k not in LINEAGE and k != "_guard"
    ]


TEMPLATE = Path(__file__).with_name("report_page.html.j2")


def render_quality_page(
    guards: list[Guard],
    *,
    run_id: str | None = None,
    build_run_id: str | None = None,
    as_of: str | None = None,
    written_at: datetime | None = None,
    blocked: bool = False,
) -> str:
    """The page for ``guards`` (escaped: check descriptions and failing rows hold raw data;
    ``blocked``: the run published nothing)."""
    written_at = written_at or datetime.now(UTC)
    guards = sorted(guards, key=lambda g: g.key)
    counts = {k: sum(1 for g in guards if g.outcome == k) for k in ("failed", "warning", "passed")}
    summary = (
        f"{len(guards)} guards: {counts['passed']} passed, {counts['warning']} "
        f"warning{'s' if counts['warning'] != 1 else ''}, {counts['failed']} failed"
    )
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["attr_locate"] = locate
    return env.from_string(TEMPLATE.read_text(encoding="utf-8")).render(
        summary=summary,
        counts=counts,
        problems=[g for g in guards if g.outcome != "passed"],
        passed=[g for g in guards if g.outcome == "passed"],
        run_id=run_id,
        build_run_id=build_run_id,
        as_of=as_of,
        blocked=blocked,
        written_at=written_at.strftime("%Y-%m-%d %H:%M UTC"),
        outcome_label={"failed": "✗ Failed", "warning": "! Warning", "passed": "✓ Passed"},
        locate=locate,
        cells=_cells,
        gx_link=GX_DOCS_LINK,
    )


def write_quality_page(
    quality_dir: Path,
    guards: list[Guard],
    *,
    run_id: str | None = None,
    build_run_id: str | None = None,
    as_of: str | None = None,
    blocked: bool = False,
) -> Path:
    """Replace ``<quality_dir>/index.html`` atomically with the page of ``guards``
    (``build_run_id``: the run that built and judged what ``run_id`` republished; ``blocked``:
    the run published nothing)."""
    out = Path(quality_dir) / PAGE_NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    page = render_quality_page(
        guards, run_id=run_id, build_run_id=build_run_id, as_of=as_of, blocked=blocked
    )
    write_text_atomic(out, page)
    return out


__all__ = [
    "Guard",
    "checks_from_instance",
    "guard_from_evaluation",
    "render_quality_page",
    "write_quality_page",
]
