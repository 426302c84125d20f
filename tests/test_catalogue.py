"""The dbt docs site as the metric catalogue.

Fast: the parsed manifest documents every mart and every mart column (and every column the
contract of metrics.md §8 requires), every metric's definition is on the `metric` columns, the
overview and the exposures exist, and every semantic model and metric says what it is.
Slow: the nightly run publishes the static site as ``published/docs/index.html``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_bi import published_home  # noqa: F401  (session fixture: one real run)

from dagster_project import metric_registry
from dagster_project.defs.transform.project import dbt_project

# metrics.md §8: the published contract, written here from the spec (not from the project).
CONTRACT_COLUMNS: dict[str, list[str]] = {
    "dim_fiscal_periods": [
        "fiscal_period", "period_type", "period_start", "period_end", "period_days",
    ],
    "dim_teams": ["team_id", "team_name", "function", "parent_team_id", "mission"],
    "dim_people": ["person_id", "person_name", "crm_user_id", "current_team_id", "current_role"],
    "fct_quota_credits": [
        "credit_id", "assignee_type", "assignee_id", "metric", "credit_date", "amount",
        "source_type", "source_id", "rule",
    ],
    "fct_quota_attainment": [
        "assignee_type", "assignee_id", "assignee_name", "fiscal_period", "metric", "unit",
        "plan_target", "proration_factor", "target", "actual", "attainment", "cap",
        "capped_attainment", "weight", "elapsed", "pace", "projected_actual", "status",
        "narrative",
    ],
    "fct_scorecards": [
        "assignee_type", "assignee_id", "assignee_name", "fiscal_period",
        "weighted_attainment", "status", "component_count",
    ],
    "mart_team_board": [
        "team_id", "team_name", "function", "mission", "fiscal_period", "weighted_attainment",
        "quota_carriers", "carriers_at_or_above", "median_carrier_attainment",
    ],
    "fct_quota_exceptions": ["source_type", "source_id", "reason", "detail", "row_count"],
    "fct_attainment_history": [
        "run_id", "as_of", "published_at", "assignee_type", "assignee_id", "fiscal_period",
        "metric", "target", "actual", "attainment",
    ],
    # 1.1, §14 (who changed what)
    "fct_runs": [
        "run_id", "as_of", "data_through", "crm_through", "messages_through", "published_at",
        "config_fingerprint", "config_commit", "config_author", "code_version",
        "reopened_periods",
    ],
    "fct_config_changes": [
        "run_id", "published_at", "file", "row_key", "column_name", "change", "old_value",
        "new_value",
    ],
}  # fmt: skip
# metrics.md §2 (1.1), from the spec: the metric registry must declare exactly these.
METRICS = [
    "bookings", "net_new_bookings", "new_logos", "assisted_bookings", "team_bookings",
    "active_accounts", "feature_adopting_accounts", "installs", "influenced_bookings",
    "activated_accounts",
]  # fmt: skip


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(Path(dbt_project().manifest_path).read_text(encoding="utf-8"))


def _marts(manifest: dict) -> dict[str, dict]:
    return {
        n["name"]: n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["original_file_path"].startswith("models/marts/")
    }


def test_every_mart_and_mart_column_has_a_description(manifest):
    marts = _marts(manifest)
    assert set(CONTRACT_COLUMNS) <= set(marts), "a mart of metrics.md §8 is missing"
    undocumented = []
    for name, node in sorted(marts.items()):
        if not node["description"].strip():
            undocumented.append(name)
        columns = node["columns"]
        for column in CONTRACT_COLUMNS.get(name, []):
            if column not in columns:
                undocumented.append(f"{name}.{column} (not in the yml)")
        for column, spec in columns.items():
            if not (spec.get("description") or "").strip():
                undocumented.append(f"{name}.{column}")
    assert undocumented == [], f"marts or mart columns without a description: {undocumented}"


def test_the_registry_declares_the_metrics_of_the_spec():
    """Everything else reads the metric list from the registry (issue 17); this holds the
    registry to the spec."""
    assert sorted(metric_registry.metric_names()) == sorted(METRICS)


def test_every_metric_definition_is_on_the_metric_columns(manifest):
    marts = _marts(manifest)
    for model in ("fct_quota_attainment", "fct_quota_credits"):
        description = marts[model]["columns"]["metric"]["description"]
        for metric in METRICS:
            assert f"`{metric}`" in description or f"**{metric}**" in description, (
                f"{model}.metric does not define {metric}"
            )
        assert "manual_adjustment" in description


def test_overview_and_exposures(manifest):
    overview = manifest["docs"]["doc.quotaboard.__overview__"]["block_contents"]
    for mart in CONTRACT_COLUMNS:
        assert mart in overview, f"the overview does not mention {mart}"
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"company_board", "bi_quota_dashboard"}
    for exposure in exposures.values():
        assert exposure["description"].strip()
        assert exposure["depends_on"]["nodes"], exposure["name"]
        for node in exposure["depends_on"]["nodes"]:
            assert manifest["nodes"][node]["original_file_path"].startswith("models/marts/")
    assert "model.quotaboard.mart_team_board" in exposures["company_board"]["depends_on"]["nodes"]


def test_semantic_models_and_metrics_are_described(manifest):
    semantic_models = manifest["semantic_models"].values()
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert {s["name"] for s in semantic_models} >= {"plan_rows", "credits", "fiscal_periods"}
    for sm in semantic_models:
        assert (sm.get("description") or "").strip(), sm["name"]
    for name in ("target", "actual", "attainment", "weighted_attainment", "bookings"):
        assert name in metrics
    for metric in METRICS:
        for suffix in ("actual", "target", "attainment"):
            assert f"{metric}_{suffix}" in metrics
    for name, metric in metrics.items():
        assert (metric.get("description") or "").strip(), name


@pytest.mark.slow
def test_nightly_run_publishes_the_static_docs_site(published_home):  # noqa: F811
    site = published_home / "published" / "docs"
    assert sorted(p.name for p in site.iterdir()) == ["index.html"]  # no temp file left
    page = (site / "index.html").read_text(encoding="utf-8")
    # One self-contained page: the manifest and the catalog are inlined (no fetch of
    # manifest.json / catalog.json next to it), with the overview and the marts.
    assert "Quotaboard: the metric catalogue" in page
    assert "model.quotaboard.fct_quota_attainment" in page
    assert "exposure.quotaboard.company_board" in page
    # The catalog (what dbt found in the working database) is inlined too.
    assert '"metadata": {"type": "BASE TABLE", "schema": "marts", "name": "mart_team_board"' in page
    # The compiled SQL of every model and test comes from the build's manifest (docs
    # generate --no-compile does not compile the project again).
    assert len(re.findall(r'"compiled": ?true', page)) >= 74


def test_catalogue_fingerprint_follows_definitions_and_columns_not_rows(tmp_path):
    """Rule (issue 21): the docs page is regenerated only when what it is made of changed: a
    file of the dbt project or a column of the working database; new rows or a new day do not
    change it."""
    import shutil

    import duckdb

    from dagster_project.defs.catalogue import catalogue_fingerprint
    from dagster_project.defs.transform.project import DBT_PROJECT_DIR

    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("create schema marts; create table marts.t (a integer)")
    first = catalogue_fingerprint(db, project)
    assert catalogue_fingerprint(db, project) == first

    with duckdb.connect(str(db)) as conn:
        conn.execute("insert into marts.t values (1), (2)")
    (project / "target").mkdir()
    (project / "target" / "manifest.json").write_text("{}")  # build output, not the project
    assert catalogue_fingerprint(db, project) == first

    with duckdb.connect(str(db)) as conn:
        conn.execute("alter table marts.t add column b varchar")
    with_column = catalogue_fingerprint(db, project)
    assert with_column != first

    model = next((project / "models" / "marts").glob("*.sql"))
    model.write_text(model.read_text() + "\n-- edited\n")
    assert catalogue_fingerprint(db, project) not in {first, with_column}


@pytest.mark.slow
def test_gx_data_docs_hold_every_validation_of_the_run(published_home):  # noqa: F811
    """Rule: GX's Data Docs are rendered once per run (by the board step, not by every check),
    and still hold a page for each validation of the run: every landing suite with its
    freshness suite, and every mart suite."""
    from dagster_project.defs.quality.checks import RAW_TABLES
    from dagster_project.quality.suites import MART_MODELS

    validations = published_home / "published" / "quality" / "gx" / "validations"
    pages = sorted(validations.rglob("*.html"))
    suites = [p.relative_to(validations).parts[0] for p in pages]
    assert sorted(set(suites)) == sorted(
        {"freshness", *(f"landing_{t}" for t in RAW_TABLES), *(f"mart_{m}" for m in MART_MODELS)}
    )
    assert suites.count("freshness") == len(RAW_TABLES)
    assert len(pages) == 2 * len(RAW_TABLES) + len(MART_MODELS)
