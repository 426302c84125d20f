"""The guard inventory: which guard protects which published column, with which severity.

Built from the guards themselves, not from a hand-kept list:

* **dbt data tests** (the manifest): a generic test protects its ``column_name`` (and the
  columns of ``combination_of_columns``, and the model's columns named in an ``expression``);
  a singular test protects the ``model.column`` entries of its ``meta.protects`` config.
* **Great Expectations mart suites** (:func:`dagster_project.quality.suites.mart_suites`): an
  expectation protects the columns in its kwargs (``column``, ``column_A``/``column_B``,
  ``column_list``).

A guard is *blocking* when a failure stops the publish: a dbt test of severity ``error``, a GX
expectation of severity ``critical``. ``tests/test_guard_inventory.py`` fails when a column of
the metric contract (:data:`CONTRACT_COLUMNS`, metrics.md §8) has no blocking guard, and when
the table in ``docs/guards.md`` is not the one :func:`render_markdown` writes
(``python -m dagster_project.quality.inventory`` rewrites it).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster_project.quality.suites import ERROR as GX_CRITICAL
from dagster_project.quality.suites import mart_suites

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "guards.md"
START = "<!-- inventory:start (python -m dagster_project.quality.inventory) -->"
END = "<!-- inventory:end -->"

# The published columns of the metric contract (metrics.md §8, version 1.1), mart by mart.
CONTRACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "dim_fiscal_periods": (
        "fiscal_period",
        "period_type",
        "fiscal_year",
        "period_start",
        "period_end",
        "period_days",
    ),
    "dim_teams": ("team_id", "team_name", "function", "parent_team_id", "mission"),
    "dim_people": ("person_id", "person_name", "crm_user_id", "current_team_id", "current_role"),
    "fct_quota_credits": (
        "credit_id",
        "assignee_type",
        "assignee_id",
        "metric",
        "credit_date",
        "amount",
        "source_type",
        "source_id",
        "rule",
        "booking_type",
    ),
    "fct_quota_attainment": (
        "assignee_type",
        "assignee_id",
        "assignee_name",
        "fiscal_period",
        "metric",
        "unit",
        "plan_target",
        "proration_factor",
        "target",
        "actual",
        "attainment",
        "cap",
        "capped_attainment",
        "weight",
        "elapsed",
        "pace",
        "projected_actual",
        "status",
        "narrative",
        "period_closed",
    ),
    "fct_scorecards": (
        "assignee_type",
        "assignee_id",
        "assignee_name",
        "fiscal_period",
        "weighted_attainment",
        "status",
        "component_count",
        "period_closed",
    ),
    "mart_team_board": (
        "team_id",
        "team_name",
        "function",
        "mission",
        "fiscal_period",
        "weighted_attainment",
        "quota_carriers",
        "carriers_at_or_above",
        "median_carrier_attainment",
        "period_closed",
    ),
    "fct_quota_exceptions": ("source_type", "source_id", "reason", "detail", "row_count"),
    "fct_attainment_history": (
        "run_id",
        "as_of",
        "published_at",
        "assignee_type",
        "assignee_id",
        "fiscal_period",
        "metric",
        "target",
        "actual",
        "attainment",
    ),
    "fct_promises": (
        "opportunity_id",
        "account_id",
        "owner_person_id",
        "close_date",
        "amount",
        "booking_type",
        "feature",
        "owning_team_id",
        "released_on",
        "status",
        "held",
    ),
    # metrics.md §13 (closing a period): dagster_project/period_close.py.
    "fct_post_close_changes": (
        "assignee_type",
        "assignee_id",
        "fiscal_period",
        "metric",
        "closed_actual",
        "live_actual",
        "delta",
        "closed_at_run_id",
        "first_seen_run_id",
    ),
    # metrics.md §14 (who changed what): written by the publish (dagster_project/run_record.py);
    # the dbt models over the history masters carry the contract and its guards.
    "fct_runs": (
        "run_id",
        "as_of",
        "data_through",
        "crm_through",
        "messages_through",
        "published_at",
        "config_fingerprint",
        "config_commit",
        "config_author",
        "code_version",
        "reopened_periods",
    ),
    "fct_config_changes": (
        "run_id",
        "published_at",
        "file",
        "row_key",
        "column_name",
        "change",
        "old_value",
        "new_value",
    ),
}


@dataclass(frozen=True)
class Guard:
    """One guard and the published columns (``model.column``) it protects."""

    kind: str  # "dbt" or "gx"
    name: str
    blocking: bool
    protects: frozenset[str]

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _strip_quotes(col: str) -> str:
    return col.strip().strip('"').strip("`")


def dbt_guards(manifest: dict) -> list[Guard]:
    """The data tests of the manifest that touch a mart (unit tests are not guards of data)."""
    models = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in CONTRACT_COLUMNS
    }
    guards = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        config = node.get("config") or {}
        blocking = str(config.get("severity", "error")).lower() == "error"
        protects: set[str] = set()
        meta = config.get("meta") or node.get("meta") or {}
        protects.update(str(p) for p in meta.get("protects", []))
        attached = node.get("attached_node")
        if attached in models:
            model = models[attached]
            name = model["name"]
            cols = set(model.get("columns", {})) | set(CONTRACT_COLUMNS[name])
            if node.get("column_name"):
                protects.add(f"{name}.{_strip_quotes(node['column_name'])}")
            kwargs = (node.get("test_metadata") or {}).get("kwargs") or {}
            for col in kwargs.get("combination_of_columns") or []:
                protects.add(f"{name}.{_strip_quotes(col)}")
            expression = kwargs.get("expression")
            if isinstance(expression, str):
                protects.update(f"{name}.{w}" for w in _IDENT.findall(expression) if w in cols)
        if protects:
            guards.append(Guard("dbt", node["name"], blocking, frozenset(protects)))
    return guards


def gx_guards() -> list[Guard]:
    """The expectations of the GX mart suites, one guard each."""
    guards = []
    for suite in mart_suites():
        model = suite["meta"]["table"].split(".", 1)[1]
        for exp in suite["expectations"]:
            kwargs = exp["kwargs"]
            cols = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")]
            cols += list(kwargs.get("column_list") or [])
            protects = frozenset(f"{model}.{c}" for c in cols if c)
            name = f"{suite['name']}:{exp['type']}({', '.join(c for c in cols if c)})"
            guards.append(Guard("gx", name, exp["severity"] == GX_CRITICAL, protects))
    return guards


def inventory(manifest: dict) -> dict[str, list[Guard]]:
    """Every contract column (``model.column``) with the guards that protect it."""
    guards = [*dbt_guards(manifest), *gx_guards()]
    table: dict[str, list[Guard]] = {}
    for model, cols in CONTRACT_COLUMNS.items():
        for col in cols:
            key = f"{model}.{col}"
            table[key] = sorted(
                (g for g in guards if key in g.protects), key=lambda g: (not g.blocking, g.label)
            )
    return table


def unprotected(manifest: dict) -> list[str]:
    """Contract columns no blocking guard protects (should be empty)."""
    table = inventory(manifest)
    return [col for col, guards in table.items() if not any(g.blocking for g in guards)]


def render_markdown(manifest: dict) -> str:
    lines = [
        START,
        "",
        "| published column | blocking guards | warning guards |",
        "|---|---|---|",
    ]
    for col, guards in inventory(manifest).items():
        block = ", ".join(f"`{g.label}`" for g in guards if g.blocking) or "**none**"
        warn = ", ".join(f"`{g.label}`" for g in guards if not g.blocking)
        lines.append(f"| `{col}` | {block} | {warn} |")
    lines += ["", END]
    return "\n".join(lines)


def replace_section(text: str, section: str) -> str:
    """``text`` with the inventory section replaced (appended when missing)."""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        return head + section + tail
    return text.rstrip("\n") + "\n\n" + section + "\n"


def load_manifest() -> dict:
    """Dagster's parsed manifest of the dbt project (parsed when missing or stale)."""
    from dagster_project.defs.transform.project import dbt_project, ensure_manifest

    project = dbt_project()
    ensure_manifest(project)
    return json.loads(Path(project.manifest_path).read_text(encoding="utf-8"))


if __name__ == "__main__":
    manifest = load_manifest()
    DOCS_PATH.write_text(
        replace_section(DOCS_PATH.read_text(encoding="utf-8"), render_markdown(manifest)),
        encoding="utf-8",
    )
    missing = unprotected(manifest)
    print(f"wrote the inventory to {DOCS_PATH}; unprotected: {missing or 'none'}")
    sys.exit(1 if missing else 0)
