"""The company board (published/board/index.html).

Fast tests render the board from a small published DuckDB file built here with the contract's
columns (metrics.md §8) and read the page back with lxml: escaping, "no quota" instead of 0 %,
people without quota absent, ``board_show_people: false``, pace, the trend, the Dagster asset.
A browser test opens that page in headless Chromium offline and switches periods. The slow
test runs the whole pipeline on the sample and checks the page Chromium draws against the
published marts, read independently here.
"""

from __future__ import annotations

import contextlib
import io
import struct
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import lxml.html
import pytest

from dagster_project import metric_registry
from dagster_project.board import BoardError, board_path, load_board, render_board, write_board
from dagster_project.board import format as fmt
from dagster_project.board.browser import CHROMIUM_ARGS, find_chromium
from dagster_project.board.render import payload_of
from dagster_project.defs.board import BOARD_KEY, company_board
from dagster_project.resources import QuotaboardPaths

EVIL_NAME = '<script>alert("pwned")</script> & Sons'
EVIL_MISSION = "<img src=x onerror=alert(1)> wins </script>"
AS_OF = date(2026, 11, 20)

# --- a small published file -------------------------------------------------------------

PERIODS = [
    ("FY2027", "year", 2027, "2026-02-01", "2027-01-31", 365),
    ("FY2027-Q3", "quarter", 2027, "2026-08-01", "2026-10-31", 92),
    ("FY2027-Q4", "quarter", 2027, "2026-11-01", "2027-01-31", 92),
    ("FY2027-M10", "month", 2027, "2026-11-01", "2026-11-30", 30),
]
TEAMS = [
    ("company", "Company", "leadership", None, "Everyone's numbers, in one place."),
    ("evil", EVIL_NAME, "sales", "company", EVIL_MISSION),
    ("product", "Product", "product", "company", "Make the product used every week."),
]
PEOPLE = [
    ("P_VP", "Vera Vice", "005VP", "company", "vp_sales"),
    ("P_AE1", "Ann Able", "005AE1", "evil", "account_executive"),
    ("P_AE2", "Bob <b>Bold</b>", "005AE2", "evil", "account_executive"),
]
# (type, id, name, period, metric, unit, target, actual, cap, weight, status, narrative)
PLAN = [
    (
        "team",
        "evil",
        EVIL_NAME,
        "FY2027-Q4",
        "bookings",
        "currency",
        1000.0,
        250.0,
        None,
        2.0,
        "behind",
        "Bookings <em>fund</em> the roadmap.",
    ),
    (
        "team",
        "evil",
        EVIL_NAME,
        "FY2027-Q4",
        "new_logos",
        "count",
        10.0,
        6.0,
        1.5,
        1.0,
        "on_track",
        "Each logo is a reference.",
    ),
    (
        "team",
        "product",
        "Product",
        "FY2027-Q4",
        "active_accounts",
        "count",
        400.0,
        412.0,
        None,
        1.0,
        "on_track",
        "Weekly use predicts renewals.",
    ),
    (
        "team",
        "product",
        "Product",
        "FY2027-Q3",
        "active_accounts",
        "count",
        400.0,
        380.0,
        None,
        1.0,
        "missed",
        "Weekly use predicts renewals.",
    ),
    (
        "person",
        "P_AE1",
        "Ann Able",
        "FY2027-Q4",
        "bookings",
        "currency",
        500.0,
        300.0,
        None,
        1.0,
        "on_track",
        "Your share of the plan.",
    ),
    (
        "person",
        "P_AE2",
        "Bob <b>Bold</b>",
        "FY2027-Q4",
        "bookings",
        "currency",
        500.0,
        0.0,
        None,
        1.0,
        "behind",
        "Your share of the plan.",
    ),
    (
        "person",
        "P_AE1",
        "Ann Able",
        "FY2027-Q3",
        "bookings",
        "currency",
        500.0,
        550.0,
        None,
        1.0,
        "achieved",
        "Your share of the plan.",
    ),
]
# (run_id, as_of, published_at, type, id, period, metric, attainment)
HISTORY = [
    ("r0", "2026-11-10", "2026-11-10 02:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.05),
    ("r0", "2026-11-10", "2026-11-10 02:00:00", "team", "evil", "FY2027-Q4", "new_logos", 0.05),
    ("r1", "2026-11-10", "2026-11-10 03:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.1),
    ("r1", "2026-11-10", "2026-11-10 03:00:00", "team", "evil", "FY2027-Q4", "new_logos", 2.0),
    ("r2", "2026-11-20", "2026-11-20 03:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.25),
    ("r2", "2026-11-20", "2026-11-20 03:00:00", "team", "evil", "FY2027-Q4", "new_logos", 0.6),
    (
        "r2",
        "2026-11-20",
        "2026-11-20 03:00:00",
        "team",
        "product",
        "FY2027-Q4",
        "active_accounts",
        1.03,
    ),
]
EXCEPTIONS = [
    ("opportunity", "006NEG", "negative_amount", "amount -5 <b>clawback</b>", 1),
    ("messages", "product_usage/a.jsonl", "duplicate_event", "3 extra copies", 3),
]


def weighted(rows: list[tuple[float, float | None, float]]) -> float:
    """sum(weight * min(attainment, cap)) / sum(weight) over (attainment, cap, weight)."""
    num = sum(w * (min(a, c) if c is not None else a) for a, c, w in rows)
    return num / sum(w for _, _, w in rows)


EVIL_Q4 = weighted([(0.25, None, 2.0), (0.6, 1.5, 1.0)])
PRODUCT_Q4 = 412.0 / 400.0


def build_published(home: Path) -> Path:
    """``<home>/published/quotaboard.duckdb`` with every mart of the contract, small."""
    path = home / "published" / "quotaboard.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(path))
    try:
        conn.execute("CREATE SCHEMA marts")
        conn.execute(
            "CREATE TABLE marts.dim_fiscal_periods (fiscal_period VARCHAR, period_type VARCHAR, "
            "fiscal_year INTEGER, period_start DATE, period_end DATE, period_days INTEGER)"
        )
        conn.executemany("INSERT INTO marts.dim_fiscal_periods VALUES (?, ?, ?, ?, ?, ?)", PERIODS)
        conn.execute(
            "CREATE TABLE marts.dim_teams (team_id VARCHAR, team_name VARCHAR, function VARCHAR, "
            "parent_team_id VARCHAR, mission VARCHAR)"
        )
        conn.executemany("INSERT INTO marts.dim_teams VALUES (?, ?, ?, ?, ?)", TEAMS)
        conn.execute(
            "CREATE TABLE marts.dim_people (person_id VARCHAR, person_name VARCHAR, "
            "crm_user_id VARCHAR, current_team_id VARCHAR, current_role VARCHAR)"
        )
        conn.executemany("INSERT INTO marts.dim_people VALUES (?, ?, ?, ?, ?)", PEOPLE)
        conn.execute(
            "CREATE TABLE marts.fct_quota_credits (credit_id VARCHAR, assignee_type VARCHAR, "
            "assignee_id VARCHAR, metric VARCHAR, credit_date DATE, amount DOUBLE, "
            "source_type VARCHAR, source_id VARCHAR, rule VARCHAR)"
        )
        conn.execute(
            "CREATE TABLE marts.fct_quota_attainment (assignee_type VARCHAR, assignee_id VARCHAR, "
            "assignee_name VARCHAR, fiscal_period VARCHAR, metric VARCHAR, unit VARCHAR, "
            "plan_target DOUBLE, proration_factor DOUBLE, target DOUBLE, actual DOUBLE, "
            "attainment DOUBLE, cap DOUBLE, capped_attainment DOUBLE, weight DOUBLE, "
            "elapsed DOUBLE, pace DOUBLE, projected_actual DOUBLE, status VARCHAR, "
            "narrative VARCHAR)"
        )
        for kind, aid, name, period, metric, unit, target, actual, cap, w, status, text in PLAN:
            att = actual / target
            conn.execute(
                "INSERT INTO marts.fct_quota_attainment VALUES "
                "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?)",
                [
                    kind,
                    aid,
                    name,
                    period,
                    metric,
                    unit,
                    target,
                    target,
                    actual,
                    att,
                    cap,
                    min(att, cap) if cap is not None else att,
                    w,
                    status,
                    text,
                ],
            )
        conn.execute(
            """
            CREATE TABLE marts.fct_scorecards AS
                WITH weighted AS (
                    SELECT assignee_type, assignee_id, assignee_name, fiscal_period,
                           sum(weight * capped_attainment) / sum(weight) AS weighted_attainment,
                           count(*)::INTEGER AS component_count
                    FROM marts.fct_quota_attainment
                    GROUP BY assignee_type, assignee_id, assignee_name, fiscal_period
                )
                SELECT assignee_type, assignee_id, assignee_name, fiscal_period,
                       weighted_attainment,
                       CASE WHEN fiscal_period = 'FY2027-Q3'
                            THEN CASE WHEN weighted_attainment >= 1
                                      THEN 'achieved' ELSE 'missed' END
                            WHEN weighted_attainment / (20 / 92) >= 1 THEN 'on_track'
                            ELSE 'behind' END AS status,
                       component_count
                FROM weighted
                """
        )
        conn.execute(
            "CREATE TABLE marts.mart_team_board (team_id VARCHAR, team_name VARCHAR, "
            "function VARCHAR, mission VARCHAR, fiscal_period VARCHAR, "
            "weighted_attainment DOUBLE, quota_carriers INTEGER, carriers_at_or_above INTEGER, "
            "median_carrier_attainment DOUBLE)"
        )
        conn.execute(
            """
            INSERT INTO marts.mart_team_board
            SELECT t.team_id, t.team_name, t.function, t.mission, p.fiscal_period,
                   s.weighted_attainment,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN c.n ELSE 0 END,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN c.above ELSE 0 END,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN c.med END
            FROM marts.dim_teams t
            CROSS JOIN (VALUES ('FY2027-Q3'), ('FY2027-Q4')) p(fiscal_period)
            LEFT JOIN marts.fct_scorecards s
                ON s.assignee_type = 'team' AND s.assignee_id = t.team_id
                AND s.fiscal_period = p.fiscal_period
            LEFT JOIN (
                SELECT fiscal_period, count(*)::INTEGER AS n,
                       count(*) FILTER (WHERE weighted_attainment >= 1)::INTEGER AS above,
                       median(weighted_attainment) AS med
                FROM marts.fct_scorecards WHERE assignee_type = 'person' GROUP BY ALL
            ) c ON c.fiscal_period = p.fiscal_period
            """
        )
        conn.execute(
            "CREATE TABLE marts.fct_quota_exceptions (source_type VARCHAR, source_id VARCHAR, "
            "reason VARCHAR, detail VARCHAR, row_count BIGINT)"
        )
        conn.executemany(
            "INSERT INTO marts.fct_quota_exceptions VALUES (?, ?, ?, ?, ?)", EXCEPTIONS
        )
        conn.execute(
            "CREATE TABLE marts.fct_attainment_history (run_id VARCHAR, as_of DATE, "
            "published_at TIMESTAMP, assignee_type VARCHAR, assignee_id VARCHAR, "
            "fiscal_period VARCHAR, metric VARCHAR, target DOUBLE, actual DOUBLE, "
            "attainment DOUBLE)"
        )
        conn.executemany(
            "INSERT INTO marts.fct_attainment_history VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
            [(*row[:7], row[7], row[7]) for row in HISTORY],
        )
    finally:
        conn.close()
    return path


@pytest.fixture
def home(tmp_path) -> Path:
    build_published(tmp_path)
    return tmp_path


def parse(html: str):
    return lxml.html.document_fromstring(html)


def visible_section(doc, css_class: str, period: str):
    (node,) = doc.xpath(
        f'//*[contains(concat(" ", @class, " "), " {css_class} ") and @data-period="{period}"]'
    )
    return node


def card(doc, period: str, team_id: str):
    (node,) = visible_section(doc, "cards", period).xpath(f'.//article[@data-team-id="{team_id}"]')
    return node


def text_of(node, css_class: str) -> str:
    (found,) = node.xpath(f'.//*[contains(concat(" ", @class, " "), " {css_class} ")]')
    return " ".join(found.text_content().split())


# --- fast: rendering from the small published file ---------------------------------------


def test_text_from_data_is_escaped_and_the_page_is_self_contained(home):
    html = render_board(load_board(home / "published" / "quotaboard.duckdb"))
    assert EVIL_NAME not in html and EVIL_MISSION not in html
    assert "<b>Bold</b>" not in html and "<b>clawback</b>" not in html
    doc = parse(html)
    scripts = doc.xpath("//script")
    assert len(scripts) == 3, "data, Plotly, the board's script: no script from data"
    assert all(s.get("src") is None for s in scripts)
    assert not doc.xpath("//link") and not doc.xpath("//img") and not doc.xpath("//iframe")
    links = doc.xpath("//@src | //@href | //@action | //@srcset")
    assert all(str(v).startswith("#") for v in links), links  # in-page anchors only
    evil = card(doc, "FY2027-Q4", "evil")
    assert text_of(evil, "team-name") == EVIL_NAME  # shown as text, not markup
    assert text_of(evil, "mission") == " ".join(EVIL_MISSION.split())
    # The JSON payload survives the escaping and keeps the raw text as data.
    payload = payload_of(html)
    teams = payload["board"]["periods"][-1]["teams"]
    assert EVIL_NAME in {t["team_name"] for t in teams}
    assert "window.Plotly" in html and len(html) > 3_000_000  # the offline bundle is inlined


def test_default_period_numbers_pace_and_no_quota(home):
    board = load_board(home / "published" / "quotaboard.duckdb")
    assert board.as_of == AS_OF  # the latest published run
    assert board.published_at == datetime(2026, 11, 20, 3, 0)
    assert board.default_period == "FY2027-Q4"  # the quarter containing as_of, not M10 or FY
    doc = parse(render_board(board))
    assert doc.xpath('//select[@id="period"]/optgroup/option[@selected]')[0].get("value") == (
        "FY2027-Q4"
    )
    assert visible_section(doc, "cards", "FY2027-Q4").get("hidden") is None
    assert visible_section(doc, "cards", "FY2027-Q3").get("hidden") is not None
    assert text_of(card(doc, "FY2027-Q4", "evil"), "attainment") == f"{EVIL_Q4 * 100:.1f}%"
    assert text_of(card(doc, "FY2027-Q4", "product"), "attainment") == f"{PRODUCT_Q4 * 100:.1f}%"
    elapsed = 20 / 92  # 2026-11-01 .. 2026-11-20 of a 92-day quarter
    assert text_of(card(doc, "FY2027-Q4", "evil"), "pace-value") == f"{EVIL_Q4 / elapsed:.2f}×"
    # A team without plan rows shows "no quota", never 0 %.
    company = card(doc, "FY2027-Q4", "company")
    assert text_of(company, "attainment") == "no quota"
    assert "0.0%" not in text_of(company, "figure")
    assert text_of(card(doc, "FY2027-Q3", "evil"), "attainment") == "no quota"
    # Components with their narratives.
    bookings = card(doc, "FY2027-Q4", "evil").xpath('.//li[@data-metric="bookings"]')[0]
    assert text_of(bookings, "c-att") == "25.0%"
    assert text_of(bookings, "c-narrative") == "Bookings <em>fund</em> the roadmap."
    assert "published 2026-11-20 03:00 UTC" in " ".join(doc.text_content().split())


def test_metric_labels_come_from_the_registry(home):
    doc = parse(render_board(load_board(home / "published" / "quotaboard.duckdb")))
    components = doc.xpath("//li[@data-metric]")
    assert components
    for li in components:
        metric = li.get("data-metric")
        assert text_of(li, "c-metric") == metric_registry.metric(metric).label, metric
    for metric in metric_registry.registry().values():
        assert fmt.metric_label(metric.name) == metric.label
    assert fmt.metric_label("retired_metric") == "Retired metric"  # an old run's metric


def test_leaderboard_lists_only_quota_carriers(home):
    doc = parse(render_board(load_board(home / "published" / "quotaboard.duckdb")))
    rows = visible_section(doc, "table-wrap", "FY2027-Q4").xpath(".//tr[@data-person-id]")
    assert [r.get("data-person-id") for r in rows] == ["P_AE1", "P_AE2"]  # by attainment
    assert text_of(rows[1], "person-name") == "Bob <b>Bold</b>"
    assert text_of(rows[1], "person-attainment") == "0.0%"  # a real zero of a quota carrier
    assert "Vera Vice" not in doc.text_content()  # the VP carries no quota: nowhere on the page


def test_board_show_people_false_hides_every_person(home):
    html = render_board(load_board(home / "published" / "quotaboard.duckdb"), show_people=False)
    doc = parse(html)
    assert not doc.xpath('//*[@id="leaderboard"]') and not doc.xpath("//tr[@data-person-id]")
    for _, name, *_ in PEOPLE:
        assert name not in html and name.replace("<", "\\u003c") not in html
    assert payload_of(html)["board"]["periods"][0]["leaderboard"] is None
    assert text_of(card(doc, "FY2027-Q4", "evil"), "attainment") == f"{EVIL_Q4 * 100:.1f}%"


def test_trend_is_the_latest_run_of_each_day_with_plan_weights_and_caps(home):
    board = load_board(home / "published" / "quotaboard.duckdb")
    trend = {(p.as_of, p.team_id): p.weighted_attainment for p in board.period("FY2027-Q4").trend}
    assert set(trend) == {
        (date(2026, 11, 10), "evil"),
        (date(2026, 11, 20), "evil"),
        (date(2026, 11, 20), "product"),
    }
    # run r1 (03:00) replaces r0 (02:00) of the same day; new_logos 2.0 is capped at 1.5
    assert trend[(date(2026, 11, 10), "evil")] == pytest.approx(
        weighted([(0.1, None, 2), (2.0, 1.5, 1)])
    )
    assert trend[(date(2026, 11, 20), "evil")] == pytest.approx(EVIL_Q4)
    figure = payload_of(render_board(board))["figures"]["FY2027-Q4"]["trend"]
    names = {trace["name"] for trace in figure["data"]}
    assert names == {EVIL_NAME, "Product"}


def test_exceptions_are_counted_by_reason_and_listed(home):
    doc = parse(render_board(load_board(home / "published" / "quotaboard.duckdb")))
    reasons = {
        r.get("data-reason"): r.xpath("./td")[1].text_content()
        for r in doc.xpath("//tr[@data-reason]")
    }
    assert reasons == {"duplicate_event": "3", "negative_amount": "1"}
    assert len(doc.xpath('//table[contains(@class, "exceptions")]/tbody/tr')) == 2
    assert doc.xpath('//a[@href="#exception-list"]') and doc.xpath('//*[@id="exception-list"]')


def test_a_missing_mart_names_the_file_and_the_table(home):
    path = home / "published" / "quotaboard.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("DROP TABLE marts.mart_team_board")
    conn.close()
    with pytest.raises(BoardError, match=r"quotaboard\.duckdb.*marts\.mart_team_board"):
        load_board(path)
    with pytest.raises(BoardError, match="no published file"):
        load_board(home / "nowhere.duckdb")


def test_board_asset_writes_the_page_with_the_runs_settings(home, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yml").write_text("board_show_people: false\n")
    result = dg.materialize(
        [company_board],
        resources={"paths": QuotaboardPaths(home_dir=str(home), config_dir=str(config))},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node(company_board.op.name)
    assert mat.asset_key == BOARD_KEY and mat.metadata["show_people"].value is False
    page = board_path(home / "published")
    assert page == home / "published" / "board" / "index.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "Ann Able" not in html and 'id="leaderboard"' not in html
    assert not list(page.parent.glob(".*tmp"))  # written through a temporary file, renamed
    # Published file untouched (opened read-only).
    assert load_board(home / "published" / "quotaboard.duckdb").as_of == AS_OF


def test_write_board_replaces_the_page_and_keeps_it_on_failure(home):
    published = home / "published"
    first = write_board(published)
    assert first.path.read_text(encoding="utf-8").startswith("<!doctype html>")
    (published / "quotaboard.duckdb").unlink()
    with pytest.raises(BoardError):
        write_board(published)
    assert first.path.stat().st_size == first.size_bytes  # yesterday's board stays


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no Chromium executable (/usr/bin/chromium, QUOTABOARD_CHROMIUM, playwright)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return executable


@contextlib.contextmanager
def offline_page(executable: str, width: int = 1280):
    """A page in headless Chromium with the network off; yields (page, outside_requests)."""
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
            page = context.new_page()
            page.on(
                "request",
                lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
            )
            context.route(
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(("file:", "data:"))
                    else route.abort()
                ),
            )
            yield page, outside
        finally:
            browser.close()


def assert_png(path: Path, min_bytes: int = 20_000) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    assert len(data) > min_bytes and width >= 300 and height >= 600, (len(data), width, height)
    return width, height


def bars_drawn(page) -> int:
    return page.locator("#chart-attainment .main-svg .barlayer .trace path").count()


def test_small_board_draws_offline_and_switches_period(home, chromium, tmp_path):
    page_path = write_board(home / "published").path
    with offline_page(chromium) as (page, outside):
        page.goto(page_path.as_uri())
        page.wait_for_selector('html[data-charts-ready="FY2027-Q4"]', timeout=60_000)
        assert bars_drawn(page) == 2  # evil and product; the company has no quota: no bar
        assert page.locator('.cards[data-period="FY2027-Q4"]').is_visible()
        page.select_option("#period", "FY2027-Q3")
        page.wait_for_selector('html[data-charts-ready="FY2027-Q3"]', timeout=30_000)
        assert bars_drawn(page) == 1  # only product has a Q3 quota
        assert not page.locator('.cards[data-period="FY2027-Q4"]').is_visible()
        shown = page.locator('.cards[data-period="FY2027-Q3"] [data-team-id="product"] .attainment')
        assert shown.inner_text() == f"{380 / 400 * 100:.1f}%"
        assert page.evaluate("location.hash") == "#period=FY2027-Q3"
        page.screenshot(path=str(tmp_path / "small.png"), full_page=True)
    assert outside == []
    assert_png(tmp_path / "small.png")


# --- slow: the sample, end to end ----------------------------------------------------------

SAMPLE_AS_OF = "2026-11-20"


@pytest.fixture(scope="module")
def sample_home(sample_company, tmp_path_factory) -> Path:
    from dagster_project import cli

    landing, config = sample_company
    home = tmp_path_factory.mktemp("board-home")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(
            [
                "run",
                "--landing",
                str(landing),
                "--config",
                str(config),
                "--home",
                str(home),
                "--as-of",
                SAMPLE_AS_OF,
            ]
        )
    assert code == 0, out.getvalue() + err.getvalue()
    return home


def marts_of(published: Path) -> dict:
    """The numbers the board must show, read from the published file independently."""
    conn = duckdb.connect(str(published), read_only=True)
    try:
        quarter = conn.execute(
            "select fiscal_period from marts.dim_fiscal_periods where period_type = 'quarter' "
            "and ? between period_start and period_end",
            [date.fromisoformat(SAMPLE_AS_OF)],
        ).fetchall()[0][0]
        teams = dict(
            conn.execute(
                "select team_id, weighted_attainment from marts.mart_team_board "
                "where fiscal_period = ? and weighted_attainment is not null order by team_id",
                [quarter],
            ).fetchall()
        )
        carriers = {
            r[0]
            for r in conn.execute(
                "select assignee_id from marts.fct_scorecards "
                "where assignee_type = 'person' and fiscal_period = ?",
                [quarter],
            ).fetchall()
        }
        without_quota = {
            r[0]
            for r in conn.execute(
                "select person_id from marts.dim_people where person_id not in "
                "(select assignee_id from marts.fct_scorecards where assignee_type = 'person')"
            ).fetchall()
        }
    finally:
        conn.close()
    return {"quarter": quarter, "teams": teams, "carriers": carriers, "without": without_quota}


@pytest.mark.slow
def test_sample_board_in_chromium_matches_the_marts(sample_home, chromium, tmp_path):
    published = sample_home / "published"
    page_path = published / "board" / "index.html"
    assert page_path.is_file(), "the nightly run writes published/board/index.html"
    marts = marts_of(published / "quotaboard.duckdb")
    assert "P_VP_SALES" in marts["without"], "the sample's VP of Sales carries no quota"
    shot = tmp_path / "board.png"
    with offline_page(chromium) as (page, outside):
        page.goto(page_path.as_uri())
        page.wait_for_selector(f'html[data-charts-ready="{marts["quarter"]}"]', timeout=90_000)
        for chart in ("chart-attainment", "chart-trend", "chart-exceptions"):
            assert page.locator(f"#{chart}.js-plotly-plot .main-svg").count() >= 1, chart
        assert bars_drawn(page) == len(marts["teams"])
        assert page.locator("#chart-trend .scatterlayer .trace").count() == len(marts["teams"])
        assert page.locator("#chart-exceptions .barlayer .trace path").count() >= 1
        section = f'.cards[data-period="{marts["quarter"]}"]'
        for team_id in ("sales_emea", "product_growth"):
            shown = page.locator(f'{section} [data-team-id="{team_id}"] .attainment').inner_text()
            assert shown == f"{marts['teams'][team_id] * 100:.1f}%", team_id
        board = f'#leaderboard .table-wrap[data-period="{marts["quarter"]}"]'
        listed = set(
            page.locator(f"{board} tr[data-person-id]").evaluate_all(
                "rows => rows.map(r => r.dataset.personId)"
            )
        )
        assert listed == marts["carriers"]
        assert "P_VP_SALES" not in listed
        assert page.locator("#as-of").inner_text() == SAMPLE_AS_OF
        page.screenshot(path=str(shot), full_page=True)
    assert outside == [], f"the board reached the network: {outside}"
    assert_png(shot, min_bytes=100_000)


@pytest.mark.slow
def test_screenshot_command_on_the_sample(sample_home, chromium, tmp_path):
    from dagster_project.board import screenshot

    out = tmp_path / "phone.png"
    assert screenshot.main(["--home", str(sample_home), "--out", str(out), "--mobile"]) == 0
    width, _ = assert_png(out)
    assert width == 390 * 2  # the phone viewport at device scale 2
