"""The semantic layer: MetricFlow (through ``quotaboard metrics``) agrees with the marts.

* Slow: after a real nightly run, ``actual``, ``target``, ``attainment``,
  ``weighted_attainment`` and ``bookings_actual`` queried through ``mf`` at the plan-row grain
  equal ``marts.fct_quota_attainment`` row by row, and ``weighted_attainment`` at the
  scorecard grain equals ``marts.fct_scorecards``.
* Fast: the private copy MetricFlow reads follows the published file, and a home with nothing
  published gets a clear message; the per-metric metrics are generated from the metric
  registry (``dagster_project.semantic_layer``) and the committed file is what it generates.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from test_bi import published_home  # noqa: F401  (session fixture: one real run)

from dagster_project import metric_registry, semantic_layer
from dagster_project.metrics_query import SemanticWorkspace, prepare_workspace
from dagster_project.publish import publish_warehouse

QUOTABOARD = Path(sys.executable).parent / "quotaboard"
REPO_ROOT = Path(__file__).resolve().parent.parent
PLAN_ROW = ["plan_row__assignee_type", "plan_row__assignee_id", "fiscal_period", "plan_row__metric"]


def metrics_csv(home: Path, out: Path, metrics: list[str], group_by: list[str]) -> list[dict]:
    proc = subprocess.run(
        [
            str(QUOTABOARD),
            "metrics",
            "--home",
            str(home),
            "--metrics",
            ",".join(metrics),
            "--group-by",
            ",".join(group_by),
            "--csv",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def num(value: str | None) -> float | None:
    return None if value in (None, "", "None", "nan") else float(value)


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def marts(home: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(home / "published" / "quotaboard.duckdb"), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.slow
def test_metricflow_equals_the_marts_at_the_plan_row_grain(published_home, tmp_path):  # noqa: F811
    rows = metrics_csv(
        published_home,
        tmp_path / "plan_rows.csv",
        ["actual", "target", "attainment", "weighted_attainment", "bookings_actual"],
        PLAN_ROW,
    )
    mf = {tuple(r[c] for c in PLAN_ROW): r for r in rows}
    expected = marts(
        published_home,
        """
        select assignee_type, assignee_id, fiscal_period, metric, actual, target, attainment,
               capped_attainment
        from marts.fct_quota_attainment
        """,
    )
    assert len(expected) > 100 and len(mf) == len(rows) == len(expected)
    metrics_seen = set()
    for a_type, a_id, period, metric, actual, target, attainment, capped in expected:
        row = mf[(a_type, a_id, period, metric)]
        key = f"{a_type}:{a_id}:{period}:{metric}"
        assert close(num(row["actual"]), actual), key
        assert close(num(row["target"]), target), key
        assert close(num(row["attainment"]), attainment), key
        # One row: sum(weight * capped) / sum(weight) is the row's capped attainment.
        assert close(num(row["weighted_attainment"]), capped), key
        # The per-metric metric filters on its metric.
        assert close(num(row["bookings_actual"]), actual if metric == "bookings" else None), key
        metrics_seen.add(metric)
    assert {"bookings", "installs", "team_bookings"} <= metrics_seen


@pytest.mark.slow
def test_weighted_attainment_equals_the_scorecards(published_home, tmp_path):  # noqa: F811
    grain = ["plan_row__assignee_type", "plan_row__assignee_id", "fiscal_period"]
    rows = metrics_csv(published_home, tmp_path / "cards.csv", ["weighted_attainment"], grain)
    mf = {tuple(r[c] for c in grain): num(r["weighted_attainment"]) for r in rows}
    expected = {
        (t, i, p): w
        for t, i, p, w in marts(
            published_home,
            "select assignee_type, assignee_id, fiscal_period, weighted_attainment "
            "from marts.fct_scorecards",
        )
    }
    assert len(expected) > 20 and set(mf) == set(expected)
    wrong = {k: (mf[k], w) for k, w in expected.items() if not close(mf[k], w)}
    assert wrong == {}


@pytest.mark.slow
def test_metrics_table_for_people_and_mf_in_dbt_agree_with_the_marts(published_home, tmp_path):  # noqa: F811
    """Rules: `quotaboard metrics` prints rows sorted by fiscal period, money with the
    currency symbol and thousands separators, counts as integers, attainment as a percentage;
    `mf query` run in dbt/ (docs/bi.md) answers from the same semantic manifest."""
    team = "{{ Dimension('plan_row__assignee_type') }} = 'team'"
    quarter = "{{ Dimension('fiscal_period__period_type') }} = 'quarter'"
    proc = subprocess.run(
        [str(QUOTABOARD), "metrics", "--home", str(published_home)]
        + ["--metrics", "bookings_actual,bookings_attainment,installs_actual"]
        + ["--group-by", "fiscal_period", "--where", team, "--where", quarter],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == [
        "fiscal_period",
        "bookings_actual",
        "bookings_attainment",
        "installs_actual",
    ]
    assert "e+" not in proc.stdout and "Initiating" not in proc.stdout
    expected = marts(
        published_home,
        """
        select fiscal_period,
               sum(actual) filter (where metric = 'bookings'),
               sum(actual) filter (where metric = 'bookings')
                 / sum(target) filter (where metric = 'bookings'),
               sum(actual) filter (where metric = 'installs')
        from marts.fct_quota_attainment
        where assignee_type = 'team' and fiscal_period like '%-Q%'
        group by fiscal_period
        """,
    )
    printed = [line.split() for line in lines[2:]]
    assert [r[0] for r in printed] == sorted(r[0] for r in expected)
    for period, bookings, attainment, installs in expected:
        (row,) = [r for r in printed if r[0] == period]
        want = [period]
        if bookings is not None:
            want += [f"${round(bookings):,}", f"{attainment * 100:.1f}%"]
        if installs is not None:
            want.append(f"{round(installs):,}")
        assert row == want, (period, row)

    # mf itself, run where dbt users run it: dbt/, on the private copy of the published file.
    out = tmp_path / "mf.csv"
    env = dict(os.environ)
    env["QUOTABOARD_WAREHOUSE_PATH"] = str(published_home / "semantic" / "quotaboard.duckdb")
    for name in ("DBT_PROFILES_DIR", "DBT_PROJECT_DIR", "DBT_TARGET_PATH"):
        env.pop(name, None)
    mf = subprocess.run(
        [str(QUOTABOARD.with_name("mf")), "query", "--metrics", "bookings_actual"]
        + ["--group-by", "fiscal_period", "--where", team, "--csv", str(out)],
        cwd=REPO_ROOT / "dbt",
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert mf.returncode == 0, mf.stdout + mf.stderr
    with open(out, newline="", encoding="utf-8") as f:
        got = {r["fiscal_period"]: num(r["bookings_actual"]) for r in csv.DictReader(f)}
    for period, bookings, _, _ in expected:
        assert close(got[period], bookings), period


# --------------------------------------------------------------------------------------------
# fast: the private copy and the messages


def _publish(home: Path, actual: float) -> Path:
    warehouse = home / "warehouse" / "quotaboard.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        conn.execute(
            "CREATE OR REPLACE TABLE marts.fct_quota_attainment AS SELECT 'team' AS "
            f"assignee_type, 't1' AS assignee_id, 'FY2027' AS fiscal_period, 'installs' AS "
            f"metric, 10.0 AS target, {actual} AS actual, {actual} / 10.0 AS attainment"
        )
    finally:
        conn.close()
    return publish_warehouse(warehouse, home / "published", run_id=f"run-{actual}").published_path


def _copy_actual(ws: SemanticWorkspace) -> float:
    conn = duckdb.connect(str(ws.root / "quotaboard.duckdb"), read_only=True)
    try:
        return conn.execute("select actual from marts.fct_quota_attainment").fetchone()[0]
    finally:
        conn.close()


def test_metricflow_reads_a_copy_that_follows_the_published_file(tmp_path):
    published = _publish(tmp_path, actual=3.0)
    ws = prepare_workspace(tmp_path)
    assert _copy_actual(ws) == 3.0
    profiles = (ws.root / "profiles.yml").read_text()
    assert str(ws.root / "quotaboard.duckdb") in profiles and str(published) not in profiles
    assert (ws.root / "target" / "semantic_manifest.json").exists()

    # While the copy is open read-write (as MetricFlow opens it), the published file still
    # opens read-only for BI readers.
    holder = duckdb.connect(str(ws.root / "quotaboard.duckdb"))
    try:
        reader = duckdb.connect(str(published), read_only=True)
        assert reader.execute("select count(*) from marts.fct_quota_attainment").fetchone() == (1,)
        reader.close()
    finally:
        holder.close()

    _publish(tmp_path, actual=7.0)
    assert _copy_actual(prepare_workspace(tmp_path)) == 7.0


def test_metrics_without_a_published_file_says_what_to_do(tmp_path):
    proc = subprocess.run(
        [str(QUOTABOARD), "metrics", "--home", str(tmp_path), "--metrics", "actual"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert f"no published file at {tmp_path / 'published' / 'quotaboard.duckdb'}" in proc.stderr
    assert "quotaboard run --home" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------------
# fast: the per-metric metrics come from the metric registry


def test_semantic_metrics_are_generated_from_the_registry():
    committed = semantic_layer.OUTPUT.read_text(encoding="utf-8")
    assert committed == semantic_layer.render(), (
        f"{semantic_layer.OUTPUT.name} is not what the registry generates: run "
        f"{semantic_layer.COMMAND}"
    )
    generated = {m["name"]: m for m in yaml.safe_load(committed)["metrics"]}
    for name in metric_registry.metric_names():
        for metric in (f"{name}_actual", f"{name}_target", f"{name}_attainment", name):
            assert metric in generated, metric
        assert generated[f"{name}_actual"]["filter"].endswith(f"= '{name}'")
        assert generated[name]["filter"].endswith(f"= '{name}'")
        assert generated[f"{name}_actual"]["label"].startswith(metric_registry.label_of(name))
    assert "net_new_bookings_attainment" in generated


def test_no_per_metric_metric_is_written_by_hand():
    """The hand-written semantic files keep the semantic models and the generic metrics; a
    metric filtered on one metric name belongs to the generated file."""
    for path in sorted(semantic_layer.SEMANTIC_DIR.glob("*.yml")):
        if path == semantic_layer.OUTPUT:
            continue
        for metric in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("metrics", []):
            where = metric.get("filter") or ""
            assert "plan_row__metric" not in where and "credit__metric" not in where, (
                f"{path.name}: {metric['name']} is per metric: generate it from the registry"
            )


def test_a_metric_added_to_the_registry_gets_its_semantic_metrics(
    tmp_path, monkeypatch, registry_with_demo_requests
):
    changed = registry_with_demo_requests()
    monkeypatch.setattr(semantic_layer, "registry", lambda: metric_registry.load_registry(changed))
    out = tmp_path / "sem_metrics_by_metric.yml"
    semantic_layer.write(out)
    generated = {m["name"]: m for m in yaml.safe_load(out.read_text(encoding="utf-8"))["metrics"]}
    assert generated["demo_requests_actual"]["label"] == "Demo requests actual"
    assert "(count; product teams; distinct count per plan period)" in " ".join(
        generated["demo_requests_actual"]["description"].split()
    )
    assert generated["demo_requests_attainment"]["type_params"] == {
        "numerator": "demo_requests_actual",
        "denominator": "demo_requests_target",
    }
    assert (
        generated["demo_requests"]["filter"]
        == "{{ Dimension('credit__metric') }} = 'demo_requests'"
    )
