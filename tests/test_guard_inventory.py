"""The guard inventory (dagster_project.quality.inventory): every column of the metric
contract is protected by at least one blocking guard, and docs/guards.md lists them."""

from __future__ import annotations

import copy
import re

import pytest

from dagster_project.quality import inventory, suites


@pytest.fixture(scope="module")
def manifest() -> dict:
    return inventory.load_manifest()


def test_every_contract_column_has_a_blocking_guard(manifest):
    assert inventory.unprotected(manifest) == []


def test_contract_columns_are_the_marts_columns(manifest):
    models = {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"] in inventory.CONTRACT_COLUMNS
    }
    assert set(models) == set(inventory.CONTRACT_COLUMNS)
    for name, cols in inventory.CONTRACT_COLUMNS.items():
        assert set(cols) <= set(models[name]["columns"]), name
        assert models[name]["config"]["contract"]["enforced"], name


def test_the_1_1_contract_is_in_the_inventory_and_guarded_by_the_mart_suites():
    """metrics.md §8 (1.1): booking_type on credit lines, period_closed on the attainment,
    scorecard and board marts, and the fct_promises mart, each with a blocking GX guard."""
    cols = inventory.CONTRACT_COLUMNS
    assert set(suites.MART_MODELS) <= set(cols)
    assert "booking_type" in cols["fct_quota_credits"]
    for mart in ("fct_quota_attainment", "fct_scorecards", "mart_team_board"):
        assert "period_closed" in cols[mart], mart
    assert cols["fct_promises"] == (
        "opportunity_id", "account_id", "owner_person_id", "close_date", "amount",
        "booking_type", "feature", "owning_team_id", "released_on", "status", "held",
    )  # fmt: skip
    gx_blocking = {c for g in inventory.gx_guards() if g.blocking for c in g.protects}
    assert {
        "fct_quota_credits.booking_type",
        "fct_quota_credits.metric",
        "fct_quota_attainment.metric",
        "fct_quota_attainment.unit",
        "fct_quota_attainment.period_closed",
        "fct_scorecards.period_closed",
        "mart_team_board.period_closed",
        "fct_quota_exceptions.reason",
        *(f"fct_promises.{c}" for c in ("opportunity_id", "feature", "status", "held")),
        *(f"fct_promises.{c}" for c in ("booking_type", "close_date", "amount", "released_on")),
        "fct_promises.owning_team_id",
    } <= gx_blocking


def test_a_column_whose_only_guard_is_removed_is_reported(manifest, monkeypatch):
    """The inventory test can fail: take away every guard of one column and it is reported."""
    target = "fct_quota_attainment.projected_actual"
    assert target not in inventory.unprotected(manifest)
    stripped = copy.deepcopy(manifest)
    for node in stripped["nodes"].values():
        meta = (node.get("config") or {}).get("meta") or {}
        if target in meta.get("protects", []):
            meta["protects"] = [p for p in meta["protects"] if p != target]
    original = inventory.gx_guards
    monkeypatch.setattr(
        inventory,
        "gx_guards",
        lambda: [g for g in original() if target not in g.protects],
    )
    assert target in inventory.unprotected(stripped)


def test_a_warning_guard_does_not_count_as_protection(manifest, monkeypatch):
    target = "fct_quota_exceptions.row_count"
    assert any(g.blocking for g in inventory.inventory(manifest)[target])
    original = inventory.gx_guards
    monkeypatch.setattr(
        inventory,
        "gx_guards",
        lambda: [inventory.Guard(g.kind, g.name, False, g.protects) for g in original()],
    )
    warned = copy.deepcopy(manifest)
    for node in warned["nodes"].values():
        if node["resource_type"] == "test":
            node.setdefault("config", {})["severity"] = "warn"
    assert target in inventory.unprotected(warned)


def test_docs_list_the_current_inventory(manifest):
    text = inventory.DOCS_PATH.read_text(encoding="utf-8")
    expected = inventory.render_markdown(manifest)
    assert expected in text, (
        "docs/guards.md is out of date: run python -m dagster_project.quality.inventory"
    )


def test_every_singular_test_says_what_a_failure_means_and_what_it_protects(manifest):
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node.get("test_metadata"):
            continue
        raw = node["raw_code"].lstrip()
        assert node["name"].startswith("assert_"), node["name"]
        assert re.match(r"--\s*A (failure|warning)", raw), f"{node['name']}: leading comment"
        config = node.get("config") or {}
        if str(config.get("severity", "error")).lower() == "error":
            assert (config.get("meta") or {}).get("protects"), f"{node['name']}: meta.protects"
