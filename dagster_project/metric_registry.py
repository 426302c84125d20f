"""The metric registry: every metric Quotaboard publishes, declared once.

The registry is the ``metrics`` var of ``dbt/dbt_project.yml`` (dbt reads it with ``var()``,
see ``dbt/macros/metric_registry.sql``); this module reads the same YAML for the Python side:
configuration checks, the Great Expectations suites, the semantic layer, the board's labels
and the sample generator. Nothing here imports more than PyYAML.

Adding a metric: docs/design.md, "Adding a metric".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

DBT_PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt" / "dbt_project.yml"

UNITS = ("currency", "count")
AGGREGATIONS = ("sum", "distinct_count")
ASSIGNEE_TYPES = ("person", "team")
TEAM_FUNCTIONS = ("sales", "sales_management", "product", "rnd", "leadership")
# A manual adjustment (adjustments.csv) may credit any metric.
ADJUSTMENT_RULE = "manual_adjustment"


@dataclass(frozen=True)
class Metric:
    """One metric of the registry (field meanings: the comment above it in dbt_project.yml)."""

    name: str
    label: str
    unit: str
    aggregation: str
    assignee_types: tuple[str, ...]
    functions: tuple[str, ...]
    rules: tuple[str, ...]
    team_rollup: bool
    definition: str

    def valid_for(self, assignee_type: str) -> bool:
        return assignee_type in self.assignee_types


class RegistryError(ValueError):
    """The registry in dbt_project.yml breaks its own shape (a developer's mistake)."""


def _metric(name: str, entry: object) -> Metric:
    if not isinstance(entry, dict):
        raise RegistryError(f"metric {name!r}: expected a mapping of its fields")
    fields = {
        "label",
        "unit",
        "aggregation",
        "assignee_types",
        "functions",
        "rules",
        "team_rollup",
        "definition",
    }
    missing = sorted(fields - entry.keys())
    unknown = sorted(entry.keys() - fields)
    if missing or unknown:
        raise RegistryError(f"metric {name!r}: missing fields {missing}, unknown fields {unknown}")
    metric = Metric(
        name=name,
        label=str(entry["label"]),
        unit=str(entry["unit"]),
        aggregation=str(entry["aggregation"]),
        assignee_types=tuple(entry["assignee_types"]),
        functions=tuple(entry["functions"]),
        rules=tuple(entry["rules"]),
        team_rollup=bool(entry["team_rollup"]),
        definition=str(entry["definition"]),
    )
    if metric.unit not in UNITS:
        raise RegistryError(f"metric {name!r}: unit {metric.unit!r} is not one of {UNITS}")
    if metric.aggregation not in AGGREGATIONS:
        raise RegistryError(f"metric {name!r}: aggregation {metric.aggregation!r} unknown")
    if not metric.assignee_types or set(metric.assignee_types) - set(ASSIGNEE_TYPES):
        raise RegistryError(f"metric {name!r}: assignee_types must be within {ASSIGNEE_TYPES}")
    if set(metric.functions) - set(TEAM_FUNCTIONS):
        raise RegistryError(f"metric {name!r}: functions must be within {TEAM_FUNCTIONS}")
    if metric.team_rollup and "team_member" not in metric.rules:
        raise RegistryError(f"metric {name!r}: team_rollup needs the team_member rule")
    return metric


def load_registry(project_file: Path = DBT_PROJECT_FILE) -> dict[str, Metric]:
    """The registry as ``{name: Metric}``, in the order dbt_project.yml lists them."""
    data = yaml.safe_load(Path(project_file).read_text(encoding="utf-8")) or {}
    entries = (data.get("vars") or {}).get("metrics")
    if not isinstance(entries, dict) or not entries:
        raise RegistryError(f"{project_file}: vars.metrics (the metric registry) is missing")
    return {name: _metric(name, entry) for name, entry in entries.items()}


@cache
def registry() -> dict[str, Metric]:
    """The registry of this checkout (read once per process)."""
    return load_registry()


def metric_names() -> tuple[str, ...]:
    return tuple(registry())


def metric(name: str) -> Metric:
    return registry()[name]


def metrics_valid_for(assignee_type: str) -> tuple[str, ...]:
    return tuple(m.name for m in registry().values() if m.valid_for(assignee_type))


def credit_rules() -> tuple[str, ...]:
    """Every credit rule, each once, in registry order, manual_adjustment last."""
    rules: dict[str, None] = {}
    for m in registry().values():
        rules.update(dict.fromkeys(m.rules))
    rules[ADJUSTMENT_RULE] = None
    return tuple(rules)


def unit_of(name: str) -> str | None:
    found = registry().get(name)
    return found.unit if found else None


def label_of(name: str) -> str:
    """The metric's label for people; an unknown name is made readable rather than failing."""
    found = registry().get(name)
    return found.label if found else name.replace("_", " ").capitalize()
