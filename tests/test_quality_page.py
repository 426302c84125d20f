"""The quality report page (dagster_project/quality/report_page.py): published/quality/index.html.

Real Dagster runs (an ephemeral instance) produce asset-check evaluations shaped like the
pipeline's: a Great Expectations check with failed expectations and failing rows carrying their
landing file and line, a dbt test (dagster-dbt's metadata) and a passing check. The page is read
back with lxml and opened in headless Chromium with the network off.
"""

from __future__ import annotations

import dagster as dg
import lxml.html
import pytest

from dagster_project.board.browser import CHROMIUM_ARGS, find_chromium
from dagster_project.defs.board import build_run_id
from dagster_project.keys import REUSED_BUILD_TAG
from dagster_project.quality.report_page import (
    checks_from_instance,
    render_quality_page,
    write_quality_page,
)

HOSTILE = "<script>alert(1)</script>"
FAILED_EXPECTATION = {
    "expectation": "expect_column_values_to_match_regex",
    "column": "amount",
    "severity": "warning",
    "unexpected_count": 2,
    "why": "amounts parse as numbers",
    "protects": "bookings",
}
FAILING_ROWS = [
    {"id": "006X", "amount": HOSTILE, "_source_file": "crm/Opportunity.csv", "_source_line": 7,
     "_guard": "expect_column_values_to_match_regex(amount)"},
    {"id": "006Y", "amount": "12,5", "_source_file": "crm/Opportunity.csv", "_source_line": 9,
     "_guard": "expect_column_values_to_match_regex(amount)"},
]  # fmt: skip


@dg.asset(key=dg.AssetKey(["raw", "opportunity"]))
def opportunity() -> None:
    return None


@dg.asset_check(asset=opportunity, name="gx_landing", blocking=True)
def gx_landing() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"landing_opportunity: [warning] amount {HOSTILE}",
        metadata={
            "suite": "landing_opportunity",
            "failed_expectations": dg.MetadataValue.json([FAILED_EXPECTATION]),
            "failing_rows": dg.MetadataValue.json(FAILING_ROWS),
            "unexpected_count": 2,
        },
    )


@dg.asset_check(asset=opportunity, name="not_null_opportunity_id")
def dbt_like() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=True,
        metadata={
            "unique_id": "test.quotaboard.not_null_opportunity_id",
            "dagster_dbt/failed_row_count": 0,
            "status": "pass",
        },
    )


@dg.asset_check(asset=opportunity, name="assert_amounts_positive")
def dbt_failing() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "unique_id": "test.quotaboard.assert_amounts_positive",
            "dagster_dbt/failed_row_count": 3,
            "status": "fail",
        },
    )


@pytest.fixture(scope="module")
def evaluated():
    """One real run with three checks, in an ephemeral instance: (instance, run_id)."""
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [opportunity, gx_landing, dbt_like, dbt_failing], instance=instance, raise_on_error=False
    )
    return instance, result.run_id


def parse(html: str):
    return lxml.html.document_fromstring(html)


def test_every_check_of_the_run_is_on_the_page_with_its_outcome(evaluated, tmp_path):
    """Every asset check evaluated in the run is listed: failed (blocking severity error),
    warning, passed; failures first."""
    instance, run_id = evaluated
    guards = checks_from_instance(instance, run_id)
    assert {(g.name, g.outcome, g.kind) for g in guards} == {
        ("assert_amounts_positive", "warning", "dbt test"),  # not blocking: never stops a run
        ("gx_landing", "warning", "Great Expectations"),
        ("not_null_opportunity_id", "passed", "dbt test"),
    }
    page = write_quality_page(tmp_path / "quality", guards, run_id=run_id, as_of="2026-11-20")
    assert page == tmp_path / "quality" / "index.html"
    doc = parse(page.read_text(encoding="utf-8"))
    shown = {e.get("data-check"): e.get("data-outcome") for e in doc.xpath("//*[@data-check]")}
    assert shown == {
        "raw/opportunity:assert_amounts_positive": "warning",
        "raw/opportunity:gx_landing": "warning",
        "raw/opportunity:not_null_opportunity_id": "passed",
    }
    verdict = " ".join(doc.xpath('//*[@id="verdict"]')[0].text_content().split())
    assert verdict.startswith("3 guards: 1 passed, 2 warnings, 0 failed.")
    assert doc.xpath('//*[@id="run-id"]')[0].text == run_id


def test_failing_rows_are_located_by_file_and_line_and_escaped(evaluated):
    """A GX failure lists each failed expectation (severity, count) and its failing rows with
    file:line; data in descriptions and rows is escaped."""
    instance, run_id = evaluated
    html = render_quality_page(checks_from_instance(instance, run_id), run_id=run_id)
    assert HOSTILE not in html
    doc = parse(html)
    (gx,) = doc.xpath('//*[@data-check="raw/opportunity:gx_landing"]')
    text = " ".join(gx.text_content().split())
    assert "warning expect_column_values_to_match_regex on amount: 2" in text
    assert HOSTILE in text  # shown as text
    where = [td.text for td in gx.xpath('.//td[@class="where"]')]
    assert where == ["crm/Opportunity.csv:7", "crm/Opportunity.csv:9"]
    (dbt,) = doc.xpath('//*[@data-check="raw/opportunity:assert_amounts_positive"]')
    assert "3 failing rows" in " ".join(dbt.text_content().split())


def test_a_blocking_failure_says_nothing_was_published():
    """A failed blocking guard of severity error is "failed" and the verdict says the run
    published nothing."""
    from dagster_project.quality.report_page import Guard

    guards = [
        Guard(asset="marts/fct_quota_credits", name="gx_mart", kind="Great Expectations",
              passed=False, severity="ERROR", blocking=True),
        Guard(asset="marts/dim_teams", name="unique_dim_teams_team_id", kind="dbt test",
              passed=True, severity="ERROR", blocking=False),
    ]  # fmt: skip
    doc = parse(render_quality_page(guards, run_id="r1"))
    verdict = " ".join(doc.xpath('//*[@id="verdict"]')[0].text_content().split())
    assert "1 failed" in verdict and "nothing of this run was published" in verdict
    assert doc.xpath('//*[@data-outcome="failed"]')


def test_a_republished_build_reports_the_guards_of_the_run_that_built_it(evaluated):
    """A run that republished a verified build (quotaboard/reused_build_of) runs no guard: its
    report is the building run's, followed through earlier republishing runs."""
    instance, run_id = evaluated

    @dg.asset
    def board() -> None:
        return None

    second = dg.materialize([board], instance=instance, tags={REUSED_BUILD_TAG: run_id})
    third = dg.materialize([board], instance=instance, tags={REUSED_BUILD_TAG: second.run_id})
    assert build_run_id(instance, instance.get_run_by_id(third.run_id)) == run_id
    assert build_run_id(instance, instance.get_run_by_id(run_id)) == run_id
    assert checks_from_instance(instance, third.run_id) == []  # hence following the tag


def test_the_page_is_self_contained_and_opens_offline_on_a_phone(evaluated, tmp_path):
    """One file, inline CSS, no script, no request leaves it; fits 390 px; prints on A4."""
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    instance, run_id = evaluated
    page_path = write_quality_page(tmp_path, checks_from_instance(instance, run_id), run_id=run_id)
    doc = parse(page_path.read_text(encoding="utf-8"))
    assert not doc.xpath("//script | //link | //img | //iframe")
    assert all(str(v).startswith("#") for v in doc.xpath("//@href | //@src"))
    outside: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": 390, "height": 800})
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith("file:")
                    else (outside.append(route.request.url), route.abort())
                ),
            )
            page = context.new_page()
            page.goto(page_path.as_uri())
            assert page.locator("#verdict").is_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            assert page.pdf(format="A4")[:5] == b"%PDF-"
        finally:
            browser.close()
    assert outside == []
