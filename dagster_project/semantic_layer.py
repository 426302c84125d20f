"""The per-metric MetricFlow metrics, generated from the metric registry.

For every metric of the registry (``dagster_project.metric_registry``, the ``metrics`` var of
``dbt/dbt_project.yml``) the semantic layer has

* ``<metric>_actual``, ``<metric>_target`` (the plan rows of ``fct_quota_attainment``, semantic
  model ``plan_rows`` in ``sem_plan_rows.yml``) and ``<metric>_attainment`` (their ratio);
* ``<metric>``: its credit lines by credit date (``fct_quota_credits``, semantic model
  ``credits`` in ``sem_credits.yml``).

They are written to :data:`OUTPUT` (``dbt/models/semantic/sem_metrics_by_metric.yml``), which
is committed and never edited by hand: after changing the registry run
``python -m dagster_project.semantic_layer`` (``tests/test_semantic.py`` fails while the file
and the registry disagree). The semantic models and the metrics that are not per metric
(``actual``, ``target``, ``weighted_attainment``, ``credited_amount``, ...) stay hand-written in
``sem_plan_rows.yml`` and ``sem_credits.yml``.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import yaml

from dagster_project.metric_registry import Metric, registry

SEMANTIC_DIR = Path(__file__).resolve().parents[1] / "dbt" / "models" / "semantic"
OUTPUT = SEMANTIC_DIR / "sem_metrics_by_metric.yml"
COMMAND = "python -m dagster_project.semantic_layer"

HEADER = f"""\
# GENERATED from the metric registry (vars.metrics in dbt_project.yml) by
# `{COMMAND}`. Do not edit: change the registry and regenerate
# (tests/test_semantic.py checks that this file is what the registry generates).
#
# Per metric: <metric>_actual, <metric>_target, <metric>_attainment over the plan rows
# (semantic model plan_rows, sem_plan_rows.yml: mind the caveats at the top of that file) and
# <metric>, its credit lines by credit date (semantic model credits, sem_credits.yml).

"""

FUNCTION_WORDS = {
    "sales": "sales",
    "sales_management": "sales managers",
    "product": "product",
    "rnd": "R&D",
    "leadership": "leadership",
}
ASSIGNEE_WORDS = {
    ("person",): "persons",
    ("team",): "teams",
    ("person", "team"): "persons and teams",
}


_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ()&,._-]*")
WIDTH = 96


def _scalar(value: object) -> str:
    """A YAML scalar: plain when that is unambiguous, else a JSON (YAML double-quoted) string."""
    text = str(value)
    if isinstance(value, str) and not _PLAIN.fullmatch(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def _entry(metric: dict) -> list[str]:
    """One metric as YAML lines, in the layout of the hand-written files."""
    lines = []
    for i, (key, value) in enumerate(metric.items()):
        lead = "  - " if i == 0 else "    "
        if key == "description":
            lines.append(f"{lead}{key}: >")
            lines += textwrap.wrap(
                value,
                WIDTH,
                initial_indent=" " * 6,
                subsequent_indent=" " * 6,
                break_long_words=False,
                break_on_hyphens=False,
            )
        elif isinstance(value, dict):
            lines.append(f"{lead}{key}:")
            lines += [f"      {k}: {_scalar(v)}" for k, v in value.items()]
        else:
            lines.append(f"{lead}{key}: {_scalar(value)}")
    return lines


def _who(metric: Metric) -> str:
    functions = " and ".join(FUNCTION_WORDS.get(f, f) for f in metric.functions)
    assignees = ASSIGNEE_WORDS.get(tuple(sorted(metric.assignee_types)), "")
    if metric.assignee_types == ("team",) and functions:
        return f"{functions} teams"
    return "; ".join(p for p in (functions, assignees) if p)


def _plan_row_filter(name: str) -> str:
    return f"{{{{ Dimension('plan_row__metric') }}}} = '{name}'"


def _credit_filter(name: str) -> str:
    return f"{{{{ Dimension('credit__metric') }}}} = '{name}'"


def _distinct_note(metric: Metric) -> str:
    return "; distinct count per plan period" if metric.aggregation == "distinct_count" else ""


def plan_row_metrics(metric: Metric) -> list[dict]:
    """``<metric>_actual``, ``<metric>_target`` and ``<metric>_attainment``."""
    m = metric.name
    return [
        {
            "name": f"{m}_actual",
            "label": f"{metric.label} actual",
            "description": (
                f"actual of the `{m}` plan rows ({metric.unit}; {_who(metric)}"
                f"{_distinct_note(metric)}). Definition: the {metric.definition} docs block "
                "(dbt docs) and metrics.md §2. Per plan row it is fct_quota_attainment.actual; "
                "summed over rows, mind the caveats at the top of sem_plan_rows.yml."
            ),
            "type": "simple",
            "type_params": {"measure": "actual_total"},
            "filter": _plan_row_filter(m),
        },
        {
            "name": f"{m}_target",
            "label": f"{metric.label} target",
            "description": (
                f"target of the `{m}` plan rows ({metric.unit}; plan target * proration_factor)."
            ),
            "type": "simple",
            "type_params": {"measure": "target_total"},
            "filter": _plan_row_filter(m),
        },
        {
            "name": f"{m}_attainment",
            "label": f"{metric.label} attainment",
            "description": (
                f"{m}_actual / {m}_target: fct_quota_attainment.attainment at the plan-row "
                "grain, pooled (sum of actuals over sum of targets, uncapped) for a group of rows."
            ),
            "type": "ratio",
            "type_params": {"numerator": f"{m}_actual", "denominator": f"{m}_target"},
        },
    ]


def credit_metric(metric: Metric) -> dict:
    """``<metric>``: the metric's credit lines by credit date."""
    m = metric.name
    rules = ", ".join(metric.rules)
    notes = []
    if metric.aggregation == "distinct_count":
        notes.append(
            "Its credit lines are written per plan period and carry it (one line per counted "
            "account or messageId): add them up within one plan period (filter on "
            "fiscal_period); by calendar month they are not distinct counts."
        )
    else:
        notes.append(
            f"Summed over one assignee and a plan period it is that plan row's {m}_actual."
        )
    if len(metric.assignee_types) > 1:
        notes.append(
            "Persons and teams together count a deal twice: group or filter by "
            "credit__assignee_type."
        )
    if "overlay_split" in metric.rules:
        notes.append("Overlay splits credit a deal on top of its revenue split.")
    return {
        "name": m,
        "label": f"{metric.label} (credited)",
        "description": (
            f"`{m}` credits by credit date ({metric.unit}; {_who(metric)}), metrics.md §2: "
            f"lines of the rule{'s' if len(metric.rules) > 1 else ''} {rules} and manual "
            "adjustments. " + " ".join(notes)
        ),
        "type": "simple",
        "type_params": {"measure": "credit_amount_total"},
        "filter": _credit_filter(m),
    }


def metrics() -> list[dict]:
    """Every per-metric MetricFlow metric, in registry order."""
    out: list[dict] = []
    for metric in registry().values():
        out += plan_row_metrics(metric)
        out.append(credit_metric(metric))
    return out


def render() -> str:
    """The text of :data:`OUTPUT` for the current registry."""
    entries = ["\n".join(_entry(m)) for m in metrics()]
    text = HEADER + "version: 2\n\nmetrics:\n" + "\n\n".join(entries) + "\n"
    parsed = yaml.safe_load(text)["metrics"]
    for m in parsed:
        m["description"] = m["description"].rstrip("\n")
    if parsed != metrics():  # the hand-rolled layout must read back as what it was given
        raise AssertionError("semantic_layer.render() does not round-trip through YAML")
    return text


def write(path: Path = OUTPUT) -> Path:
    path.write_text(render(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
