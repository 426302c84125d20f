"""The company board (published/board/index.html), docs/board.md.

Fast tests render the board from a small published DuckDB file built here with the contract's
columns (metrics.md §8, 1.1 tables included) and read the page back with lxml; expected numbers
are computed here from the rows written (or queried back from the file), never by the board's
own code. Browser tests open that page in headless Chromium offline at 1440 and 390 px. The
slow tests run the pipeline on the sample (one module-scoped home, two runs: the second
republishes the first's build) and check what Chromium shows against the published marts,
read independently with SQL here.
"""

from __future__ import annotations

import contextlib
import io
import re
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
from dagster_project.keys import REUSED_BUILD_TAG
from dagster_project.resources import QuotaboardPaths

EVIL_NAME = '<script>alert("pwned")</script> & Sons'
EVIL_MISSION = "<img src=x onerror=alert(1)> wins </script>"
AS_OF = date(2026, 11, 20)
DATA_THROUGH = date(2026, 11, 18)  # product events stop two days before as_of
Q4_START = date(2026, 11, 1)
Q4_ELAPSED = ((DATA_THROUGH - Q4_START).days + 1) / 92  # measured at data_through (§5)

# --- a small published file -------------------------------------------------------------

PERIODS = [
    ("FY2027", "year", 2027, "2026-02-01", "2027-01-31", 365),
    ("FY2027-Q2", "quarter", 2027, "2026-05-01", "2026-07-31", 92),
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
    ("team", "evil", EVIL_NAME, "FY2027-Q4", "bookings", "currency", 1000.0, 250.0, None, 2.0,
     "on_track", "Bookings <em>fund</em> the roadmap."),
    ("team", "evil", EVIL_NAME, "FY2027-Q4", "new_logos", "count", 10.0, 6.0, 1.5, 1.0,
     "on_track", "Each logo is a reference."),
    ("team", "product", "Product", "FY2027-Q4", "active_accounts", "count", 400.0, 412.0, None,
     1.0, "on_track", "Weekly use predicts renewals."),
    ("team", "product", "Product", "FY2027-Q3", "active_accounts", "count", 400.0, 380.0, None,
     1.0, "missed", "Weekly use predicts renewals."),
    ("person", "P_AE1", "Ann Able", "FY2027-Q4", "bookings", "currency", 500.0, 300.0, None,
     1.0, "on_track", "Your share of the plan."),
    ("person", "P_AE2", "Bob <b>Bold</b>", "FY2027-Q4", "bookings", "currency", 500.0, 0.0,
     None, 1.0, "behind", "Your share of the plan."),
    ("person", "P_AE1", "Ann Able", "FY2027-Q3", "bookings", "currency", 500.0, 550.0, None,
     1.0, "achieved", "Your share of the plan."),
    ("person", "P_AE1", "Ann Able", "FY2027-Q2", "bookings", "currency", 500.0, 120.0, None,
     1.0, "missed", "Only people carry a plan this quarter."),
]  # fmt: skip
ELAPSED = {"FY2027-Q2": 1.0, "FY2027-Q3": 1.0, "FY2027-Q4": Q4_ELAPSED}
TARGETS = {(r[1], r[3], r[4]): r[6] for r in PLAN}
# (run_id, as_of, published_at, type, id, period, metric, attainment)
HISTORY = [
    ("r0", "2026-11-10", "2026-11-10 02:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.05),
    ("r0", "2026-11-10", "2026-11-10 02:00:00", "team", "evil", "FY2027-Q4", "new_logos", 0.05),
    ("r1", "2026-11-10", "2026-11-10 03:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.1),
    ("r1", "2026-11-10", "2026-11-10 03:00:00", "team", "evil", "FY2027-Q4", "new_logos", 2.0),
    ("r2", "2026-11-20", "2026-11-20 03:00:00", "team", "evil", "FY2027-Q4", "bookings", 0.25),
    ("r2", "2026-11-20", "2026-11-20 03:00:00", "team", "evil", "FY2027-Q4", "new_logos", 0.6),
    ("r2", "2026-11-20", "2026-11-20 03:00:00", "team", "product", "FY2027-Q4",
     "active_accounts", 1.03),
]  # fmt: skip
# (run_id, as_of, data_through, crm_through, messages_through, published_at)
RUNS = [
    ("r0", "2026-11-10", "2026-11-10", "2026-11-10", "2026-11-10", "2026-11-10 02:00:00"),
    ("r1", "2026-11-10", "2026-11-10", "2026-11-10", "2026-11-10", "2026-11-10 03:00:00"),
    ("r2", "2026-11-20", "2026-11-18", "2026-11-20", "2026-11-18", "2026-11-20 03:00:00"),
]
SETTINGS = {"corporate_currency": "EUR", "freshness_max_age_hours": "26", "pace_at_risk": "0.8"}
EXCEPTIONS = [
    ("opportunity", "006NEG", "negative_amount", "amount -5 <b>clawback</b>", 1),
    ("messages", "product_usage/a.jsonl", "duplicate_event", "3 extra copies", 3),
    ("opportunity", "006UNM", "unmapped_crm_user", "crm user 005X: bookings 21000.0 (owner)", 1),
    ("opportunity", "006UNM", "unmapped_crm_user", "crm user 005X: new_logos 1.0 (first_win)", 1),
]
# (opportunity, account, owner, close_date, amount, booking_type, feature, team, released, status,
#  held): one held deal promising two features (one unreleased, one unknown), one released
PROMISES = [
    ("006P1", "001X", "P_AE1", "2026-11-05", 5000.0, "new_business", "Audit Log", "product",
     None, "unreleased", True),
    ("006P1", "001X", "P_AE1", "2026-11-05", 5000.0, "new_business", "Magic", None, None,
     "unknown_feature", True),
    ("006P2", "001Y", "P_AE2", "2026-11-06", 7000.0, "expansion", "SSO", "product",
     "2026-10-01", "released", False),
]  # fmt: skip
POST_CLOSE = [("team", "product", "FY2027-Q3", "active_accounts", 380.0, 385.0, 5.0, "r1", "r2")]


def credit_rows() -> list[tuple]:
    """Credit lines of the evil team: its Q4 actuals, plus lines that must not count for Q4 (a
    line after as_of, a line of Q3). The product team's distinct-count lines are generated in
    SQL (:data:`PRODUCT_CREDITS_SQL`)."""
    rows = []
    for i, (day, amount) in enumerate([("2026-11-03", 150.0), ("2026-11-10", 60.0),
                                        ("2026-11-15", 40.0), ("2026-11-25", 999.0),
                                        ("2026-09-01", 500.0)]):  # fmt: skip
        rows.append((f"b{i}", "team", "evil", "bookings", day, amount, "opportunity",
                     f"006{chr(65 + i)}", "team_member", None, "new_business"))  # fmt: skip
    for i in range(6):
        rows.append((f"l{i}", "team", "evil", "new_logos", f"2026-11-0{i + 2}", 1.0,
                     "opportunity", f"006L{i}", "team_member", None, "new_business"))  # fmt: skip
    return rows


# 412 active accounts in Q4 (one line each, carrying the period) and 380 in Q3.
PRODUCT_CREDITS_SQL = """
INSERT INTO marts.fct_quota_credits
SELECT 'a' || i, 'team', 'product', 'active_accounts', DATE '2026-11-01' + CAST(i % 18 AS INT),
       1.0, 'account', '001A' || i, 'active_account', 'FY2027-Q4', NULL
FROM range(412) t(i)
UNION ALL
SELECT 'q' || i, 'team', 'product', 'active_accounts', DATE '2026-08-05', 1.0, 'account',
       '001Q' || i, 'active_account', 'FY2027-Q3', NULL
FROM range(380) t(i)
"""


def weighted(rows: list[tuple[float, float | None, float]]) -> float:
    """sum(weight * min(attainment, cap)) / sum(weight) over (attainment, cap, weight)."""
    num = sum(w * (min(a, c) if c is not None else a) for a, c, w in rows)
    return num / sum(w for _, _, w in rows)


EVIL_Q4 = weighted([(0.25, None, 2.0), (0.6, 1.5, 1.0)])
EVIL_Q4_PREVIOUS = weighted([(0.1, None, 2.0), (2.0, 1.5, 1.0)])  # run r1, today's weights/caps
PRODUCT_Q4 = 412.0 / 400.0


def build_published(home: Path, *, v11: bool = True) -> Path:
    """``<home>/published/quotaboard.duckdb`` with every mart of the contract, small;
    ``v11=False`` leaves out the 1.1 tables and columns (a file published before them)."""
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
            "CREATE TABLE marts.fct_quota_attainment (assignee_type VARCHAR, assignee_id VARCHAR, "
            "assignee_name VARCHAR, fiscal_period VARCHAR, metric VARCHAR, unit VARCHAR, "
            "plan_target DOUBLE, proration_factor DOUBLE, target DOUBLE, actual DOUBLE, "
            "attainment DOUBLE, cap DOUBLE, capped_attainment DOUBLE, weight DOUBLE, "
            "elapsed DOUBLE, pace DOUBLE, projected_actual DOUBLE, status VARCHAR, "
            "narrative VARCHAR)"
        )
        for kind, aid, name, period, metric, unit, target, actual, cap, w, status, text in PLAN:
            att, elapsed = actual / target, ELAPSED[period]
            conn.execute(
                "INSERT INTO marts.fct_quota_attainment VALUES "
                "(?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [kind, aid, name, period, metric, unit, target, target, actual, att, cap,
                 min(att, cap) if cap is not None else att, w, elapsed, att / elapsed,
                 actual / elapsed, status, text],
            )  # fmt: skip
        conn.execute(
            f"""
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
                       CASE WHEN fiscal_period <> 'FY2027-Q4'
                            THEN CASE WHEN weighted_attainment >= 1
                                      THEN 'achieved' ELSE 'missed' END
                            WHEN weighted_attainment / {Q4_ELAPSED} >= 1 THEN 'on_track'
                            ELSE 'behind' END AS status,
                       component_count
                FROM weighted
                """
        )
        closed = ", period_closed BOOLEAN" if v11 else ""
        conn.execute(
            "CREATE TABLE marts.mart_team_board (team_id VARCHAR, team_name VARCHAR, "
            "function VARCHAR, mission VARCHAR, fiscal_period VARCHAR, "
            f"weighted_attainment DOUBLE, quota_carriers INTEGER, carriers_at_or_above INTEGER, "
            f"median_carrier_attainment DOUBLE{closed})"
        )
        conn.execute(
            f"""
            INSERT INTO marts.mart_team_board
            SELECT t.team_id, t.team_name, t.function, t.mission, p.fiscal_period,
                   s.weighted_attainment,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN coalesce(c.n, 0) ELSE 0 END,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN coalesce(c.above, 0)
                        ELSE 0 END,
                   CASE WHEN t.team_id IN ('company', 'evil') THEN c.med END
                   {", p.fiscal_period = 'FY2027-Q3'" if v11 else ""}
            FROM marts.dim_teams t
            CROSS JOIN (VALUES ('FY2027-Q2'), ('FY2027-Q3'), ('FY2027-Q4')) p(fiscal_period)
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
            "INSERT INTO marts.fct_attainment_history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (*row[:7], TARGETS[(row[4], row[5], row[6])],
                 row[7] * TARGETS[(row[4], row[5], row[6])], row[7])
                for row in HISTORY
            ],
        )  # fmt: skip
        if v11:
            _build_v11_tables(conn)
    finally:
        conn.close()
    return path


def _build_v11_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        "CREATE TABLE marts.fct_quota_credits (credit_id VARCHAR, assignee_type VARCHAR, "
        "assignee_id VARCHAR, metric VARCHAR, credit_date DATE, amount DOUBLE, "
        "source_type VARCHAR, source_id VARCHAR, rule VARCHAR, fiscal_period VARCHAR, "
        "booking_type VARCHAR)"
    )
    conn.executemany(
        "INSERT INTO marts.fct_quota_credits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        credit_rows(),
    )
    conn.execute(PRODUCT_CREDITS_SQL)
    conn.execute(
        "CREATE TABLE marts.fct_runs (run_id VARCHAR, as_of DATE, data_through DATE, "
        "crm_through DATE, messages_through DATE, published_at TIMESTAMP, "
        "config_fingerprint VARCHAR, config_commit VARCHAR, config_author VARCHAR, "
        "code_version VARCHAR, reopened_periods VARCHAR)"
    )
    conn.executemany(
        "INSERT INTO marts.fct_runs VALUES (?, ?, ?, ?, ?, ?, 'f', NULL, NULL, 'v', NULL)", RUNS
    )
    conn.execute(
        "CREATE TABLE marts.fct_config_changes (run_id VARCHAR, published_at TIMESTAMP, "
        "file VARCHAR, row_key VARCHAR, column_name VARCHAR, change VARCHAR, "
        "old_value VARCHAR, new_value VARCHAR)"
    )
    conn.executemany(
        "INSERT INTO marts.fct_config_changes VALUES "
        "('r0', '2026-11-10 02:00:00', 'settings.yml', ?, 'value', 'added', NULL, ?)",
        list(SETTINGS.items()),
    )
    conn.execute(
        "CREATE TABLE marts.fct_promises (opportunity_id VARCHAR, account_id VARCHAR, "
        "owner_person_id VARCHAR, close_date DATE, amount DOUBLE, booking_type VARCHAR, "
        "feature VARCHAR, owning_team_id VARCHAR, released_on DATE, status VARCHAR, "
        "held BOOLEAN)"
    )
    conn.executemany(
        "INSERT INTO marts.fct_promises VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", PROMISES
    )
    conn.execute(
        "CREATE TABLE marts.fct_post_close_changes (assignee_type VARCHAR, assignee_id VARCHAR, "
        "fiscal_period VARCHAR, metric VARCHAR, closed_actual DOUBLE, live_actual DOUBLE, "
        "delta DOUBLE, closed_at_run_id VARCHAR, first_seen_run_id VARCHAR)"
    )
    conn.executemany(
        "INSERT INTO marts.fct_post_close_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", POST_CLOSE
    )


@pytest.fixture
def home(tmp_path) -> Path:
    build_published(tmp_path)
    return tmp_path


@pytest.fixture
def published(home) -> Path:
    return home / "published" / "quotaboard.duckdb"


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def parse(html: str):
    return lxml.html.document_fromstring(html)


def visible_section(doc, css_class: str, period: str):
    (node,) = doc.xpath(
        f'//*[contains(concat(" ", @class, " "), " {css_class} ") and @data-period="{period}"]'
    )
    return node


def card(doc, period: str, team_id: str):
    """A team's card in a period (the top team heads the period, the others are grouped)."""
    (node,) = doc.xpath(f'//*[@data-period="{period}"]//article[@data-team-id="{team_id}"]')
    return node


def text_of(node, css_class: str) -> str:
    (found,) = node.xpath(f'.//*[contains(concat(" ", @class, " "), " {css_class} ")]')
    return " ".join(found.text_content().split())


def words_of(node) -> str:
    return " ".join(node.text_content().split())


def visible_text(doc) -> str:
    """The page's text a reader sees, without scripts, styles, code and data ids."""
    body = doc.xpath("//body")[0]
    for bad in body.xpath(
        '//script | //style | //code | //*[contains(concat(" ", @class, " "), " id ")]'
    ):
        bad.drop_tree()
    return words_of(body)


# --- fast: formats ------------------------------------------------------------------------


def test_money_is_short_in_the_corporate_currency_and_counts_are_integers():
    """metrics.md §12: money in the corporate currency ($1.2M, €340k), counts as integers."""
    assert fmt.money(1_180_000, "USD") == "$1.2M"
    assert fmt.money(146_443, "USD") == "$146k"
    assert fmt.money(340_000, "EUR") == "€340k"
    assert fmt.money(21_000.0, "USD") == "$21k"
    assert fmt.money(9_500, "GBP") == "£9.5k"
    assert fmt.money(950, "USD") == "$950"
    assert fmt.money(-4_500, "USD") == "−$4.5k"
    assert fmt.money(1_260_000, "CHF") == "CHF 1.3M"
    assert fmt.money(21_000, "USD", exact=True) == "$21,000"
    assert fmt.amount(1.0, "count") == "1" and fmt.amount(1204.0, "count") == "1,204"
    assert fmt.amount(146_443, "currency", "USD") == "$146k"
    assert fmt.signed_amount(21_000, "currency", "USD") == "+$21k"
    assert fmt.points(0.032) == "+3.2 pts" and fmt.points(-0.004) == "−0.4 pts"
    assert fmt.points(0.0) == "no change"


def test_narratives_read_with_team_names():
    """Wording: a narrative that spells a team id ("sales apac") reads with its name."""
    names = {"sales_apac": "Sales APAC", "sales_na_east": "Sales NA East", "product": "Product"}
    assert (
        fmt.humanise_names("The sales apac regional bookings plan for FY2027-Q4.", names)
        == "The Sales APAC regional bookings plan for FY2027-Q4."
    )
    assert fmt.humanise_names("The sales_na_east plan", names) == "The Sales NA East plan"
    assert fmt.humanise_names("Make the product used", names) == "Make the product used"


def test_every_exception_reason_and_rule_has_plain_words():
    """Wording: no snake_case code reaches the page for a known reason or credit rule."""
    reasons = [
        "missing_fx_rate",
        "split_total_not_100",
        "orphan_split",
        "unmapped_crm_user",
        "won_without_amount",
        "negative_amount",
        "close_date_in_future",
        "bad_event",
        "duplicate_event",
        "unattributed_event",
        "not_in_seat",
        "unknown_opportunity_type",
        "promised_unreleased_feature",
        "invalid_value",
    ]
    for reason in reasons:  # metrics.md §7
        assert "_" not in fmt.reason_label(reason) + fmt.reason_sentence(reason), reason
        assert reason in fmt.REASONS
    for metric in metric_registry.registry().values():
        for rule in metric.rules:
            assert "_" not in fmt.rule_label(rule), rule


# --- fast: rendering from the small published file ---------------------------------------


def test_text_from_data_is_escaped_and_the_page_is_self_contained(published):
    """Escaping (Jinja2 autoescape, JSON with <>& escaped) and one offline file."""
    html = render_board(load_board(published))
    assert EVIL_NAME not in html and EVIL_MISSION not in html
    assert "<b>Bold</b>" not in html and "<b>clawback</b>" not in html
    doc = parse(html)
    scripts = doc.xpath("//script")
    assert len(scripts) == 3, "data, Plotly, the board's script: no script from data"
    assert all(s.get("src") is None for s in scripts)
    assert not doc.xpath("//link") and not doc.xpath("//img") and not doc.xpath("//iframe")
    links = doc.xpath(
        "//@src | //@href | //@action | //@srcset | //@xlink:href",
        namespaces={"xlink": "http://www.w3.org/1999/xlink"},
    )
    assert all(str(v).startswith("#") for v in links), links  # in-page anchors only
    evil = card(doc, "FY2027-Q4", "evil")
    assert text_of(evil, "team-name") == EVIL_NAME  # shown as text, not markup
    assert text_of(evil, "mission") == " ".join(EVIL_MISSION.split())
    payload = payload_of(html)
    teams = payload["board"]["periods"][-1]["teams"]
    assert EVIL_NAME in {t["team_name"] for t in teams}
    assert "window.Plotly" in html and len(html) > 3_000_000  # the offline bundle is inlined


def test_pace_and_elapsed_are_measured_at_data_through(published):
    """metrics.md §5 (1.1): elapsed, pace and status at data_through, not as_of; the board
    reads them from the marts."""
    board = load_board(published)
    assert board.as_of == AS_OF and board.data_through == DATA_THROUGH
    assert board.published_at == datetime(2026, 11, 20, 3, 0)
    assert board.default_period == "FY2027-Q4"  # the quarter containing as_of, not M10 or FY
    (elapsed,) = query(
        published,
        "select distinct elapsed from marts.fct_quota_attainment where fiscal_period = 'FY2027-Q4'",
    )[0]
    assert board.period("FY2027-Q4").elapsed == pytest.approx(elapsed) == pytest.approx(18 / 92)
    doc = parse(render_board(board))
    evil = card(doc, "FY2027-Q4", "evil")
    assert text_of(evil, "attainment") == f"{EVIL_Q4 * 100:.1f}%"
    assert text_of(evil, "pace-value") == f"{EVIL_Q4 / elapsed * 100:.1f}%"
    assert f"{EVIL_Q4 / (20 / 92) * 100:.1f}%" not in words_of(evil)  # not at as_of
    assert "18 Nov 2026" in text_of(visible_section(doc, "period-head", "FY2027-Q4"), "state")
    assert text_of(card(doc, "FY2027-Q4", "product"), "attainment") == f"{PRODUCT_Q4 * 100:.1f}%"
    (status,) = query(
        published,
        "select status from marts.fct_scorecards where "
        "assignee_id = 'evil' and fiscal_period = 'FY2027-Q4'",
    )[0]
    assert fmt.status_label(status) in text_of(evil, "badge")


def test_a_file_without_the_1_1_tables_still_renders(tmp_path):
    """Older published files (no fct_runs, fct_promises, fct_post_close_changes, credits,
    period_closed): the board renders, data through = as_of, the currency from settings."""
    build_published(tmp_path, v11=False)
    board = load_board(
        tmp_path / "published" / "quotaboard.duckdb", settings={"corporate_currency": "USD"}
    )
    assert board.data_through == AS_OF and board.sources == [] and board.currency == "USD"
    doc = parse(render_board(board))
    evil = card(doc, "FY2027-Q4", "evil")
    assert text_of(evil, "attainment") == f"{EVIL_Q4 * 100:.1f}%"
    assert text_of(evil.xpath('.//li[@data-metric="bookings"]')[0], "c-actual") == "$250"
    assert not doc.xpath("//*[@data-promises]") and not doc.xpath('//*[@id="stale-banner"]')


def test_stale_banner_names_the_late_source_and_since_when(published):
    """metrics.md §12: when as_of - data_through exceeds freshness_max_age_hours, a banner says
    which source is late and since when; each source's date is in the header."""
    (runs,) = query(
        published,
        "select as_of, crm_through, messages_through from marts.fct_runs "
        "order by published_at desc limit 1",
    )
    as_of, crm, messages = runs
    doc = parse(render_board(load_board(published)))
    (banner,) = doc.xpath('//*[@id="stale-banner"]')
    text = words_of(banner)
    assert (as_of - messages).days * 24 > float(SETTINGS["freshness_max_age_hours"])
    assert f"Product events data stops at {fmt.day(messages)}" in text
    assert "CRM" not in text  # the CRM is on time
    assert doc.xpath('//*[@id="data-through"]')[0].text == str(DATA_THROUGH)
    sources = {s.get("data-source"): words_of(s) for s in doc.xpath("//*[@data-source]")}
    assert sources == {
        "CRM": f"CRM through {crm}",
        "Product events": f"Product events through {messages} (late)",
    }


def test_rollup_of_a_team_without_quota_sums_its_children(published):
    """metrics.md §12: a team without plan rows shows, labelled as a roll-up, the sum of its
    children's actuals against the sum of their targets, per metric; never a quota or 0 %."""
    expected = {
        metric: (actual, target)
        for metric, actual, target in query(
            published,
            "select metric, sum(actual), sum(target) from marts.fct_quota_attainment "
            "where assignee_type = 'team' and fiscal_period = 'FY2027-Q4' "
            "and assignee_id in (select team_id from marts.dim_teams "
            "where parent_team_id = 'company') group by metric",
        )
    }
    doc = parse(render_board(load_board(published)))
    company = card(doc, "FY2027-Q4", "company")
    assert "Roll-up" in text_of(company, "badge") and "No quota of its own" in words_of(company)
    assert not company.xpath('.//*[contains(@class, "attainment")]')  # no score of its own
    shown = company.xpath(".//li[@data-metric]")
    assert {li.get("data-metric") for li in shown} == set(expected)
    for li in shown:
        actual, target = expected[li.get("data-metric")]
        unit = "currency" if li.get("data-metric") == "bookings" else "count"
        assert text_of(li, "c-actual") == fmt.amount(actual, unit, "EUR")
        assert text_of(li, "c-target") == fmt.amount(target, unit, "EUR")
        assert text_of(li, "c-att").startswith(f"{actual / target * 100:.1f}%")
        contributors = li.xpath(".//tr[@data-contributor]")
        assert contributors, "the teams behind a roll-up are one click away"
    # the whole company heads the period, above the chart
    head = visible_section(doc, "period-head", "FY2027-Q4")
    assert head.xpath('.//article[@data-team-id="company"]')


def test_money_is_in_the_corporate_currency_and_counts_are_integers_on_the_page(published):
    """metrics.md §12: amounts in the published settings' corporate_currency (EUR here)."""
    doc = parse(render_board(load_board(published)))
    evil = card(doc, "FY2027-Q4", "evil")
    bookings = evil.xpath('.//li[@data-metric="bookings"]')[0]
    logos = evil.xpath('.//li[@data-metric="new_logos"]')[0]
    assert text_of(bookings, "c-actual") == "€250" and text_of(bookings, "c-target") == "€1k"
    assert text_of(logos, "c-actual") == "6" and text_of(logos, "c-target") == "10"
    assert "(currency)" not in visible_text(doc)


def test_change_since_the_previous_published_run(published):
    """metrics.md §12: each team's change since the previous published run, from
    fct_attainment_history with today's weights and caps; per component the actual's change."""
    previous = dict(
        query(
            published,
            "select metric, actual from marts.fct_attainment_history "
            "where run_id = 'r1' and assignee_id = 'evil'",
        )
    )
    doc = parse(render_board(load_board(published)))
    evil = card(doc, "FY2027-Q4", "evil")
    (change,) = evil.xpath(".//*[@data-change]")
    assert float(change.get("data-change")) == pytest.approx(EVIL_Q4 - EVIL_Q4_PREVIOUS, abs=1e-6)
    assert words_of(change).startswith(fmt.points(EVIL_Q4 - EVIL_Q4_PREVIOUS))
    assert "since the run of 10 Nov" in words_of(change)
    bookings = evil.xpath('.//li[@data-metric="bookings"]')[0]
    assert text_of(bookings, "c-change") == fmt.signed_amount(
        250 - previous["bookings"], "currency", "EUR"
    )


def test_cumulative_credits_and_drill_down_follow_the_credit_lines(published):
    """metrics.md §12: per component a cumulative line of its credits by day against the
    straight line to target, and the credit lines behind the number, largest first."""
    board = load_board(published)
    evil = next(t for t in board.period("FY2027-Q4").teams if t.team_id == "evil")
    bookings = next(c for c in evil.components if c.metric == "bookings")
    lines = query(
        published,
        "select credit_date, amount, source_id from marts.fct_quota_credits "
        "where assignee_id = 'evil' and metric = 'bookings' and credit_date "
        "between '2026-11-01' and ? order by amount desc",
        [AS_OF],
    )
    assert bookings.series[-1][1] == pytest.approx(sum(a for _, a, _ in lines)) == 250.0
    assert [d for d, _ in bookings.series] == sorted(d for d, _, _ in lines)
    product = next(t for t in board.period("FY2027-Q4").teams if t.team_id == "product")
    (accounts,) = product.components
    assert accounts.series[-1][1] == 412.0 and accounts.credit_count == 412  # Q4's lines only
    doc = parse(render_board(board))
    li = card(doc, "FY2027-Q4", "evil").xpath('.//li[@data-metric="bookings"]')[0]
    (svg,) = li.xpath(".//svg")
    assert svg.get("role") == "img" and "€250" in svg.get("aria-label")
    assert svg.xpath(".//title") and svg.xpath('.//*[@class="target-line"]')
    (drill,) = li.xpath('.//details[contains(@class, "drill")]')
    assert f"The {len(lines)} credit lines behind €250" in words_of(drill.xpath("./summary")[0])
    rows = drill.xpath(".//table//tbody/tr")
    assert [words_of(r.xpath("./td")[1]) for r in rows] == [
        f"Deal {sid} (new business)" for _, _, sid in lines
    ]
    assert words_of(rows[0].xpath("./td")[3]) == "€150"  # the largest first, exact
    assert "team member" in words_of(rows[0].xpath("./td")[2])


def test_projection_is_shown_from_the_mart(published):
    """metrics.md §5/§12: projected_actual (actual / elapsed) is on the component."""
    ((projected,),) = query(
        published,
        "select projected_actual from marts.fct_quota_attainment "
        "where assignee_id = 'evil' and metric = 'bookings'",
    )
    doc = parse(render_board(load_board(published)))
    li = card(doc, "FY2027-Q4", "evil").xpath('.//li[@data-metric="bookings"]')[0]
    assert text_of(li, "c-projected") == fmt.money(projected, "EUR")


def test_distinct_counts_show_no_straight_line_projection(published):
    """A wrong-looking number is a defect: a distinct count (active accounts) does not grow in
    proportion to time, so the board shows no projection for it, though the mart has one;
    a summed metric keeps its projection (test above)."""
    ((projected,),) = query(
        published,
        "select projected_actual from marts.fct_quota_attainment "
        "where assignee_id = 'product' and metric = 'active_accounts' "
        "and fiscal_period = 'FY2027-Q4'",
    )
    assert projected is not None  # the mart has one; the board leaves it out
    doc = parse(render_board(load_board(published)))
    li = card(doc, "FY2027-Q4", "product").xpath('.//li[@data-metric="active_accounts"]')[0]
    assert not li.xpath('.//*[contains(@class, "c-projected")]')
    assert "projected" not in words_of(li)


def test_weights_are_said_as_shares_of_the_score(published):
    """Wording: a component's weight is its share of the period's score ("66.7% of the
    score"), and a single component is "the whole score", never "weight 0.50"."""
    doc = parse(render_board(load_board(published)))
    evil = card(doc, "FY2027-Q4", "evil")
    weights = {
        r[0]: r[1]
        for r in query(
            published,
            "select metric, weight from marts.fct_quota_attainment where assignee_id = 'evil'",
        )
    }
    total = sum(weights.values())
    for metric, w in weights.items():
        li = evil.xpath(f'.//li[@data-metric="{metric}"]')[0]
        assert text_of(li, "c-weight").startswith(f"{w / total * 100:.1f}% of the score")
    product = card(doc, "FY2027-Q4", "product")
    assert text_of(product, "c-weight") == "The whole score this period"
    assert "weight 0" not in visible_text(doc) and "× time elapsed" not in visible_text(doc)


def test_promises_per_sales_and_product_team(published):
    """metrics.md §11: per sales team its members' won deals that promised an unreleased or
    unknown feature (count, amount); per product team the deals promising its features
    before release."""
    ((deals, amount),) = query(
        published,
        "select count(distinct opportunity_id), "
        "sum(distinct amount) from marts.fct_promises where status <> 'released'",
    )
    doc = parse(render_board(load_board(published)))
    evil = text_of(card(doc, "FY2027-Q4", "evil"), "promises")
    assert evil.startswith(f"{deals} won deal ({fmt.money(amount, 'EUR')})")
    assert "1 held: no credit" in evil
    product = card(doc, "FY2027-Q4", "product").xpath(".//*[@data-promises]")[0]
    assert product.get("data-promises") == "1" and "before release" in words_of(product)


def test_closed_period_is_marked_with_its_post_close_changes(published):
    """metrics.md §13: a closed period is marked closed and lists its post-close changes."""
    doc = parse(render_board(load_board(published)))
    options = {o.get("value"): words_of(o) for o in doc.xpath('//select[@id="period"]//option')}
    assert options["FY2027-Q3"] == "FY2027-Q3 (closed)"
    head = visible_section(doc, "period-head", "FY2027-Q3")
    assert "Closed" in text_of(head, "state")
    (row,) = head.xpath(".//tr[@data-post-close]")
    cells = [words_of(td) for td in row.xpath("./td")]
    assert cells == ["Product", "Active accounts", "380", "385", "+5", "20 Nov 2026"]


def test_period_list_has_only_periods_with_team_plan_rows(published):
    """Only periods with team plan rows are offered (FY2027-Q2 has only a person's plan)."""
    doc = parse(render_board(load_board(published)))
    offered = {o.get("value") for o in doc.xpath('//select[@id="period"]//option')}
    expected = {
        r[0]
        for r in query(
            published,
            "select distinct fiscal_period from "
            "marts.fct_quota_attainment where assignee_type = 'team'",
        )
    }
    assert offered == expected == {"FY2027-Q3", "FY2027-Q4"}


def test_exceptions_are_summarised_in_words_with_details_one_click_away(published):
    """Exceptions: a sentence per reason in plain words, the count and who can fix it; the
    entries inside <details>; no snake_case code in the visible text."""
    expected = dict(
        query(
            published,
            "select reason, sum(row_count) from marts.fct_quota_exceptions group by reason",
        )
    )
    doc = parse(render_board(load_board(published)))
    items = doc.xpath('//ul[@class="reasons"]/li')
    assert {li.get("data-reason"): int(li.get("data-rows")) for li in items} == expected
    for li in items:
        summary = words_of(li.xpath("./details/summary")[0])
        assert fmt.reason_label(li.get("data-reason")) in summary
        assert "Who can fix it:" in summary
        assert li.xpath("./details//table/tbody/tr")
    text = visible_text(doc)
    for code in [*expected, "team_member", "new_business", "active_accounts", "on_track"]:
        assert code not in text, code
    # details in words and the corporate currency, not "bookings 21000.0" / "new_logos 1.0"
    assert "crm user 005X: Bookings €21,000 (owner)" in text
    assert "crm user 005X: New logos 1 (first win of a new customer)" in text
    assert "amount −€5 <b>clawback</b>" in text and "21000.0" not in text


def test_leaderboard_lists_only_quota_carriers(published):
    """metrics.md §6: people without quota rows are not counted and never shown as 0 %."""
    doc = parse(render_board(load_board(published)))
    rows = visible_section(doc, "table-wrap", "FY2027-Q4").xpath(".//tr[@data-person-id]")
    assert [r.get("data-person-id") for r in rows] == ["P_AE1", "P_AE2"]  # by attainment
    assert text_of(rows[1], "person-name") == "Bob <b>Bold</b>"
    assert text_of(rows[1], "person-attainment") == "0.0%"  # a real zero of a quota carrier
    assert "Vera Vice" not in doc.text_content()  # the VP carries no quota: nowhere on the page


def test_board_show_people_false_hides_every_person(published):
    """board_show_people: false: no name anywhere in the page, data included."""
    html = render_board(load_board(published), show_people=False)
    doc = parse(html)
    assert not doc.xpath('//*[@id="leaderboard"]') and not doc.xpath("//tr[@data-person-id]")
    for _, name, *_ in PEOPLE:
        assert name not in html and name.replace("<", "\\u003c") not in html
    assert payload_of(html)["board"]["periods"][0]["leaderboard"] is None
    assert text_of(card(doc, "FY2027-Q4", "evil"), "attainment") == f"{EVIL_Q4 * 100:.1f}%"


def test_trend_is_the_latest_run_of_each_day_with_plan_weights_and_caps(published):
    """The trend: each day's last run, recomputed with today's weights and caps."""
    board = load_board(published)
    trend = {(p.as_of, p.team_id): p.weighted_attainment for p in board.period("FY2027-Q4").trend}
    assert set(trend) == {
        (date(2026, 11, 10), "evil"),
        (date(2026, 11, 20), "evil"),
        (date(2026, 11, 20), "product"),
    }
    assert trend[(date(2026, 11, 10), "evil")] == pytest.approx(EVIL_Q4_PREVIOUS)
    assert trend[(date(2026, 11, 20), "evil")] == pytest.approx(EVIL_Q4)
    figures = payload_of(render_board(board))["figures"]
    assert {trace["name"] for trace in figures["FY2027-Q4"]["trend"]["data"]} == {
        EVIL_NAME,
        "Product",
    }
    assert figures["FY2027-Q3"]["trend"] is None  # no run day for Q3: no empty chart


def test_a_missing_mart_names_the_file_and_the_table(published, home):
    """A published file without a required mart is a BoardError naming file and table."""
    conn = duckdb.connect(str(published))
    conn.execute("DROP TABLE marts.mart_team_board")
    conn.close()
    with pytest.raises(BoardError, match=r"quotaboard\.duckdb.*marts\.mart_team_board"):
        load_board(published)
    with pytest.raises(BoardError, match="no published file"):
        load_board(home / "nowhere.duckdb")


def test_board_asset_writes_the_page_and_the_quality_report(home, tmp_path):
    """The asset published/board writes board/index.html (with the run's settings) and
    quality/index.html (the run's guards: none in this run)."""
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
    assert mat.metadata["data_through"].value == str(DATA_THROUGH)
    page = board_path(home / "published")
    assert page == home / "published" / "board" / "index.html" and page.is_file()
    html = page.read_text(encoding="utf-8")
    assert "Ann Able" not in html and 'id="leaderboard"' not in html
    assert not list(page.parent.glob(".*tmp"))  # written through a temporary file, renamed
    quality = home / "published" / "quality" / "index.html"
    assert quality.is_file() and "0 guards" in quality.read_text(encoding="utf-8")
    assert load_board(home / "published" / "quotaboard.duckdb").as_of == AS_OF  # untouched


def test_write_board_replaces_the_page_and_keeps_it_on_failure(home):
    """The page is replaced atomically; a failed build leaves yesterday's page."""
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
def offline_page(executable: str, width: int = 1440):
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


def overflow(page) -> int:
    """How far the page is wider than the window (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_small_board_draws_offline_switches_period_fits_a_phone_and_prints(
    home, chromium, tmp_path
):
    """Offline at 1440 and 390 px: charts drawn, statuses in words, period switch, no sideways
    scrolling on a phone; print CSS hides the navigation and Chromium prints it on A4."""
    page_path = write_board(home / "published").path
    for width in (1440, 390):
        with offline_page(chromium, width) as (page, outside):
            page.goto(page_path.as_uri())
            page.wait_for_selector('html[data-charts-ready="FY2027-Q4"]', timeout=60_000)
            assert bars_drawn(page) == 2  # evil and product; the company has no quota: no bar
            labels = page.locator("#chart-attainment .barlayer text").evaluate_all(
                "nodes => nodes.map(n => n.textContent)"
            )
            assert any("✓" in t for t in labels), labels  # the status beside the colour
            assert overflow(page) <= 0, f"sideways scrolling at {width} px"
            evil = page.locator('[data-period="FY2027-Q4"] [data-team-id="evil"]').first
            assert evil.locator(".badge").inner_text().endswith("On track")
            page.select_option("#period", "FY2027-Q3")
            page.wait_for_selector('html[data-charts-ready="FY2027-Q3"]', timeout=30_000)
            assert bars_drawn(page) == 1  # only product has a Q3 quota
            shown = page.locator('[data-period="FY2027-Q3"] [data-team-id="product"] .attainment')
            assert shown.inner_text() == f"{380 / 400 * 100:.1f}%"
            assert page.evaluate("location.hash") == "#period=FY2027-Q3"
            assert not page.locator("#chart-trend").is_visible()  # no run day: no empty chart
            page.screenshot(path=str(tmp_path / f"small-{width}.png"), full_page=True)
            if width == 1440:
                page.emulate_media(media="print")
                assert not page.locator("nav.jump").is_visible()
                pdf = page.pdf(format="A4")
                assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
        assert outside == []
        assert_png(tmp_path / f"small-{width}.png")


# --- slow: the sample, end to end ----------------------------------------------------------

SAMPLE_AS_OF = "2026-11-20"


def _run(landing: Path, config: Path, home: Path) -> None:
    from dagster_project import cli

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


@pytest.fixture(scope="module")
def sample_home(sample_company, tmp_path_factory) -> Path:
    """One sample home for every slow test: a full run, then the same run again (inputs
    unchanged: it republishes the first build, so the board has a previous published run)."""
    landing, config = sample_company
    home = tmp_path_factory.mktemp("board-home")
    _run(landing, config, home)
    _run(landing, config, home)
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
        # the company's (leadership's) bookings this quarter: the sum over the sales teams
        # that carry a bookings plan (metrics.md §12)
        rollup = conn.execute(
            """
            select sum(actual), sum(target) from marts.fct_quota_attainment
            where assignee_type = 'team' and fiscal_period = ? and metric = 'bookings'
              and assignee_id in (select team_id from marts.dim_teams where function = 'sales')
            """,
            [quarter],
        ).fetchone()
        component = conn.execute(
            """
            select actual, target, projected_actual from marts.fct_quota_attainment
            where assignee_type = 'team' and assignee_id = 'sales_emea' and metric = 'bookings'
              and fiscal_period = ?
            """,
            [quarter],
        ).fetchone()
        lines = conn.execute(
            """
            select count(*), max(amount) from marts.fct_quota_credits as c
            inner join marts.dim_fiscal_periods as p on p.fiscal_period = ?
            where c.assignee_type = 'team' and c.assignee_id = 'sales_emea'
              and c.metric = 'bookings' and c.credit_date between p.period_start and p.period_end
              and c.credit_date <= ?
            """,
            [quarter, date.fromisoformat(SAMPLE_AS_OF)],
        ).fetchone()
        runs = conn.execute(
            "select run_id, data_through from marts.fct_runs order by published_at desc"
        ).fetchall()
        currency = conn.execute(
            "select new_value from marts.fct_config_changes where file = 'settings.yml' "
            "and row_key = 'corporate_currency' order by published_at desc limit 1"
        ).fetchone()[0]
    finally:
        conn.close()
    return {
        "quarter": quarter,
        "teams": teams,
        "carriers": carriers,
        "without": without_quota,
        "rollup": rollup,
        "component": component,
        "lines": lines,
        "runs": runs,
        "currency": currency,
    }


@pytest.mark.slow
def test_sample_board_in_chromium_matches_the_marts(sample_home, chromium, tmp_path):
    """The page Chromium draws (offline, 1440 and 390 px) shows the marts' numbers: team
    scores, the company's bookings roll-up, a component's actual, target, projection and
    credit lines, data through, the change since the previous run, the leaderboard."""
    published = sample_home / "published"
    page_path = published / "board" / "index.html"
    assert page_path.is_file(), "the nightly run writes published/board/index.html"
    marts = marts_of(published / "quotaboard.duckdb")
    assert "P_VP_SALES" in marts["without"], "the sample's VP of Sales carries no quota"
    assert len(marts["runs"]) == 2
    cur = marts["currency"]
    quarter = marts["quarter"]
    for width in (1440, 390):
        with offline_page(chromium, width) as (page, outside):
            page.goto(page_path.as_uri())
            page.wait_for_selector(f'html[data-charts-ready="{quarter}"]', timeout=90_000)
            assert bars_drawn(page) == len(marts["teams"])
            assert overflow(page) <= 0, f"sideways scrolling at {width} px"
            scope = f'[data-period="{quarter}"]'
            for team_id, value in marts["teams"].items():
                shown = page.locator(f'{scope} [data-team-id="{team_id}"] .attainment').first
                assert shown.inner_text() == f"{value * 100:.1f}%", team_id
                change = page.locator(f'{scope} [data-team-id="{team_id}"] [data-change]')
                assert change.inner_text().startswith("no change"), team_id  # same build
            company = page.locator(f'{scope} article[data-team-id="leadership"]')
            bookings = company.locator('li[data-metric="bookings"]')
            actual, target = marts["rollup"]
            assert bookings.locator(".c-actual").inner_text() == fmt.money(actual, cur)
            assert bookings.locator(".c-target").inner_text() == fmt.money(target, cur)
            assert "Roll-up" in company.locator(".badge").first.inner_text()
            emea = page.locator(f'{scope} [data-team-id="sales_emea"] li[data-metric="bookings"]')
            c_actual, c_target, projected = marts["component"]
            assert emea.locator(".c-actual").inner_text() == fmt.money(c_actual, cur)
            assert emea.locator(".c-target").inner_text() == fmt.money(c_target, cur)
            assert emea.locator(".c-projected").inner_text() == fmt.money(projected, cur)
            n_lines, largest = marts["lines"]
            drill = emea.locator("details.drill")
            summary = drill.locator("> summary")
            assert summary.inner_text().startswith(f"The {n_lines} credit")
            summary.click()
            first = drill.locator("table.credits tbody tr").first.locator("td").nth(3)
            assert first.inner_text() == fmt.money(largest, cur, exact=True)
            assert page.locator("#data-through").inner_text() == str(marts["runs"][0][1])
            if width == 1440:
                board = f'#leaderboard .table-wrap[data-period="{quarter}"]'
                listed = set(
                    page.locator(f"{board} tr[data-person-id]").evaluate_all(
                        "rows => rows.map(r => r.dataset.personId)"
                    )
                )
                assert listed == marts["carriers"] and "P_VP_SALES" not in listed
            text = page.locator("main").inner_text()
            assert "(currency)" not in text and "weight 0." not in text
            assert not re.search(r"\b(sales|rnd|product)_[a-z_]+\b", text), "a team id shows"
            page.screenshot(path=str(tmp_path / f"board-{width}.png"), full_page=True)
        assert outside == [], f"the board reached the network: {outside}"
        assert_png(tmp_path / f"board-{width}.png", min_bytes=100_000)


@pytest.mark.slow
def test_sample_quality_page_lists_every_guard_offline(sample_home, chromium):
    """The quality report: Quotaboard's own page (not GX's Data Docs, which sit in gx/),
    every guard of the build's run with its outcome, opening offline with no request."""
    quality = sample_home / "published" / "quality"
    page_path = quality / "index.html"
    html = page_path.read_text(encoding="utf-8")
    assert 'name="generator" content="Quotaboard"' in html
    assert (quality / "gx" / "index.html").is_file()  # GX's Data Docs beside it
    doc = parse(html)
    assert not doc.xpath("//script | //link | //img")
    checks = doc.xpath("//*[@data-check]")
    kinds = {c.get("data-check").rsplit(":", 1)[1] for c in checks}
    assert "gx_landing" in kinds and "gx_mart" in kinds and len(checks) > 100
    assert any(k.startswith(("unique_", "not_null_", "assert_")) for k in kinds)  # dbt tests
    assert doc.xpath('//*[@data-outcome="warning"]')  # the sample's split set of 90 %
    # the second run republished the first one's build (unless its code changed in between):
    # the report then lists the building run's guards and says so
    with dg.DagsterInstance.from_config(str(sample_home / "dagster")) as instance:
        (latest,) = instance.get_runs(limit=1)
        reused = latest.tags.get(REUSED_BUILD_TAG)
    assert doc.xpath('//*[@id="run-id"]')[0].text == latest.run_id
    assert bool(doc.xpath('//*[@id="reused"]')) == bool(reused)
    if reused:
        assert reused in words_of(doc.xpath('//*[@id="reused"]')[0])
    with offline_page(chromium, 390) as (page, outside):
        page.goto(page_path.as_uri())
        assert page.locator("#verdict").inner_text().startswith(f"{len(checks)} guards")
        assert overflow(page) <= 0
    assert outside == []


@pytest.mark.slow
def test_screenshot_command_on_the_sample(sample_home, chromium, tmp_path):
    """python -m dagster_project.board.screenshot writes desktop (1440) and phone images."""
    from dagster_project.board import screenshot

    desktop, phone = tmp_path / "desktop.png", tmp_path / "phone.png"
    assert screenshot.main(["--home", str(sample_home), "--out", str(desktop)]) == 0
    assert assert_png(desktop)[0] == 1440
    assert screenshot.main(["--home", str(sample_home), "--out", str(phone), "--mobile"]) == 0
    width, _ = assert_png(phone)
    assert width == 390 * 2  # the phone viewport at device scale 2
