"""The metric registry (``vars.metrics`` in dbt/dbt_project.yml) is the one place a metric is
declared: its shape is checked, and every metric has the definition the docs promise."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster_project import metric_registry
from dagster_project.metric_registry import RegistryError, load_registry

REPO = Path(__file__).resolve().parent.parent
MARTS = REPO / "dbt" / "models" / "marts"


def test_registry_lists_every_metric_of_the_contract_with_its_unit_and_assignees() -> None:
    """metrics.md §2 validity table and units, 1.1 included (net_new_bookings)."""
    reg = metric_registry.registry()
    expected = {
        "bookings": ("currency", ("person", "team")),
        "net_new_bookings": ("currency", ("person", "team")),
        "new_logos": ("count", ("person", "team")),
        "assisted_bookings": ("currency", ("person",)),
        "team_bookings": ("currency", ("person",)),
        "active_accounts": ("count", ("team",)),
        "feature_adopting_accounts": ("count", ("team",)),
        "installs": ("count", ("team",)),
        "influenced_bookings": ("currency", ("team",)),
        "activated_accounts": ("count", ("team",)),
    }
    assert {name: (m.unit, m.assignee_types) for name, m in reg.items()} == expected
    assert {m.name for m in reg.values() if m.team_rollup} == {
        "bookings",
        "net_new_bookings",
        "new_logos",
    }
    assert metric_registry.credit_rules()[-1] == "manual_adjustment"
    assert len(set(metric_registry.credit_rules())) == len(metric_registry.credit_rules())


def test_every_registry_definition_is_a_docs_block_shown_on_the_marts() -> None:
    """Each metric's `definition` names a docs block, and both credit and attainment marts
    render it (dbt cannot loop in a description, so the lines are listed by hand)."""
    docs = (MARTS / "metrics.md").read_text(encoding="utf-8")
    credits = (MARTS / "fct_quota_credits.yml").read_text(encoding="utf-8")
    attainment = (MARTS / "fct_quota_attainment.yml").read_text(encoding="utf-8")
    for metric in metric_registry.registry().values():
        assert f"{{% docs {metric.definition} %}}" in docs, metric.name
        assert f"doc('{metric.definition}')" in credits, metric.name
        assert f"doc('{metric.definition}')" in attainment, metric.name


def _project_with(tmp_path: Path, **override: object) -> Path:
    data = yaml.safe_load((REPO / "dbt" / "dbt_project.yml").read_text(encoding="utf-8"))
    entry = dict(data["vars"]["metrics"]["bookings"])
    entry.update(override)
    data["vars"]["metrics"] = {"bookings": entry}
    path = tmp_path / "dbt_project.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"unit": "ratio"}, "unit 'ratio'"),
        ({"aggregation": "avg"}, "aggregation 'avg'"),
        ({"assignee_types": ["robot"]}, "assignee_types"),
        ({"functions": ["marketing"]}, "functions"),
        ({"rules": ["owner"]}, "team_rollup needs the team_member rule"),
        ({"colour": "blue"}, "unknown fields ['colour']"),
    ],
)
def test_a_malformed_registry_entry_is_refused_naming_the_metric(
    tmp_path: Path, override: dict, message: str
) -> None:
    with pytest.raises(RegistryError, match="bookings") as err:
        load_registry(_project_with(tmp_path, **override))
    assert message in str(err.value)
