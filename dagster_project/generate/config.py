"""Business configuration: teams, people, quota plans, feature ownership, adjustments, settings."""

from __future__ import annotations

import random
from collections import defaultdict

from .common import QUARTERS, dstr, fiscal_quarter
from .company import SALES_TEAMS, TEAMS, Company
from .crm import Crm
from .events import FEATURES, Messages

TEAM_COLS = ["team_id", "team_name", "function", "parent_team_id", "mission"]
PEOPLE_COLS = ["person_id", "person_name", "crm_user_id", "team_id", "role"]
PEOPLE_COLS += ["manager_person_id", "valid_from", "valid_to"]
PLAN_COLS = ["assignee_type", "assignee_id", "fiscal_period", "metric", "target", "weight"]
PLAN_COLS += ["cap", "prorate", "narrative"]
ADJ_COLS = ["adjustment_id", "assignee_type", "assignee_id", "metric", "credit_date", "amount"]
ADJ_COLS += ["reason", "approved_by"]

SETTINGS_YML = """\
# Quotaboard settings (input-contract section 3). Every key is listed.
corporate_currency: USD
fiscal_year_start_month: 2
timezone: America/New_York
install_events: [App Installed, Integration Installed]
influence_window_days: 90
activation_min_events: 3
activation_window_days: 14
pace_at_risk: 0.8
freshness_max_age_hours: 26
late_message_lookback_days: 3
duckdb_memory_limit: null
board_show_people: true
"""

FY27_QUARTERS = [q for q in QUARTERS if q.startswith("FY2027")]
FY26_QUARTERS = [q for q in QUARTERS if q.startswith("FY2026")]

N_AE_BOOK = (
    "Bookings are how the company funds next year's roadmap; this target is your share of the"
    " regional plan."
)
N_AE_LOGO = "New customers widen the base that renewals and expansion grow from."
N_AE_YEAR = "The full-year bookings commitment behind the hiring plan."
N_MGR_ASSIST = "Deals the manager personally helped close: coaching that shows up in revenue."
N_MGR_TEAM = "The team's bookings, the number the manager is accountable for."


def _round(x: float, step: float) -> float:
    return max(step, round(x / step) * step)


def _fmt(x: float) -> str:
    return f"{x:.0f}" if x == int(x) else f"{x}"


def build_config(
    rng: random.Random, company: Company, crm: Crm, msgs: Messages
) -> dict[str, tuple[list[str], list[list[str]]] | str]:
    teams = [list(t) for t in TEAMS]
    people = []
    for p in company.people:
        for r in p.rows:
            people.append(
                [
                    p.person_id,
                    p.name,
                    p.crm_user_id,
                    r.team_id,
                    r.role,
                    r.manager_person_id,
                    dstr(r.valid_from),
                    dstr(r.valid_to) if r.valid_to else "",
                ]
            )

    # Plausible targets from what the data holds (FY2026 actuals per quarter, roughly).
    reps = {p.person_id for t in SALES_TEAMS for p in company.aes[t]}
    q_book = defaultdict(float)  # quarter -> company bookings (USD, rough)
    for _, _, close, usd in crm.won:
        q_book[fiscal_quarter(close)] += usd
    fy26_avg = sum(q_book[q] for q in FY26_QUARTERS) / 4
    n_reps = len(reps) - 3
    per_rep_q = fy26_avg / n_reps
    logos_q = sum(1 for d in crm.first_wins.values() if dstr(d) < "2026-11-01") / 7
    logos_per_rep = max(1.0, round(logos_q / n_reps))

    plans: list[list[str]] = []

    def plan(atype, aid, period, metric, target, weight="", cap="", prorate="", narrative=""):
        plans.append([atype, aid, period, metric, _fmt(target), weight, cap, prorate, narrative])

    team_share = {t: 0.0 for t in SALES_TEAMS}
    for team in SALES_TEAMS:
        for p in company.aes[team]:
            if p.person_id in ("P_EDGE_MOVER",) and team == "sales_emea":
                continue  # one set of plan rows per person
            base = per_rep_q * rng.uniform(0.85, 1.25)
            pid = p.person_id
            team_share[team] += base
            if pid == "P_EDGE_PROMOTED":
                plan(
                    "person", pid, "FY2026", "bookings", _round(base * 4, 5000), narrative=N_AE_YEAR
                )
                plan(
                    "person",
                    pid,
                    "FY2027-Q1",
                    "bookings",
                    _round(base, 1000),
                    "0.7",
                    "1.5",
                    narrative=N_AE_BOOK,
                )
                plan(
                    "person",
                    pid,
                    "FY2027-Q1",
                    "new_logos",
                    logos_per_rep,
                    "0.3",
                    "1.5",
                    narrative=N_AE_LOGO,
                )
                for q in FY27_QUARTERS[1:]:
                    plan(
                        "person",
                        pid,
                        q,
                        "assisted_bookings",
                        _round(base * 2, 1000),
                        "0.4",
                        "1.5",
                        narrative=N_MGR_ASSIST,
                    )
                    plan(
                        "person",
                        pid,
                        q,
                        "team_bookings",
                        _round(base * 10, 5000),
                        "0.6",
                        "1.5",
                        narrative=N_MGR_TEAM,
                    )
                continue
            if pid != "P_EDGE_HIRED":
                plan(
                    "person", pid, "FY2026", "bookings", _round(base * 4, 5000), narrative=N_AE_YEAR
                )
                for q in FY26_QUARTERS:
                    plan(
                        "person",
                        pid,
                        q,
                        "bookings",
                        _round(base, 1000),
                        "",
                        "1.5",
                        narrative=N_AE_BOOK,
                    )
            quarters = FY27_QUARTERS if pid != "P_EDGE_HIRED" else FY27_QUARTERS[2:]
            for q in quarters:
                plan(
                    "person",
                    pid,
                    q,
                    "bookings",
                    _round(base, 1000),
                    "0.7",
                    "1.5",
                    narrative=N_AE_BOOK,
                )
                # The new hire's first-quarter logo target is not prorated (prorate=false).
                prorate = "false" if (pid, q) == ("P_EDGE_HIRED", "FY2027-Q3") else ""
                plan(
                    "person",
                    pid,
                    q,
                    "new_logos",
                    logos_per_rep,
                    "0.3",
                    "1.5",
                    prorate,
                    narrative=N_AE_LOGO,
                )
            plan("person", pid, "FY2027", "bookings", _round(base * 4, 5000), narrative=N_AE_YEAR)

    for team in SALES_TEAMS:
        mgr = {"sales_apac": "P_MGR_APAC_OLD"}.get(team, company.managers[team])
        quarters = FY27_QUARTERS if team != "sales_apac" else FY27_QUARTERS[:1]
        share = team_share[team]
        for q in quarters:
            plan(
                "person",
                mgr,
                q,
                "assisted_bookings",
                _round(share * 0.2, 1000),
                "0.4",
                "1.5",
                narrative=N_MGR_ASSIST,
            )
            plan(
                "person",
                mgr,
                q,
                "team_bookings",
                _round(share, 5000),
                "0.6",
                "1.5",
                narrative=N_MGR_TEAM,
            )
        if team != "sales_apac":
            plan(
                "person",
                mgr,
                "FY2027",
                "team_bookings",
                _round(share * 4, 5000),
                narrative=N_MGR_TEAM,
            )
        n = len(company.aes[team])
        for q in FY27_QUARTERS:
            plan(
                "team",
                team,
                q,
                "bookings",
                _round(share, 5000),
                "0.7",
                "",
                narrative=f"The {team.replace('_', ' ')} regional bookings plan for {q}.",
            )
            plan(
                "team",
                team,
                q,
                "new_logos",
                _round(logos_per_rep * n * 0.8, 1),
                "0.3",
                "",
                narrative="Every new logo is a future renewal and a reference.",
            )
        plan(
            "team",
            team,
            "FY2026",
            "bookings",
            _round(share * 4, 10000),
            narrative="Last year's regional bookings plan.",
        )
        plan(
            "team",
            team,
            "FY2027",
            "bookings",
            _round(share * 4, 10000),
            narrative="The regional bookings commitment for the year.",
        )
    total = sum(team_share.values())
    plan(
        "team",
        "sales",
        "FY2027",
        "bookings",
        _round(total * 4, 50000),
        narrative="The company bookings plan: what the board approved.",
    )
    plan(
        "team",
        "leadership",
        "FY2027",
        "bookings",
        _round(total * 4, 50000),
        "0.5",
        narrative="The company's revenue commitment to the board.",
    )
    plan(
        "team",
        "leadership",
        "FY2027",
        "active_accounts",
        _round(len(msgs.active.get("FY2027-Q3", ())) * 1.3, 10),
        "0.5",
        narrative="Customers who use the product are customers who renew.",
    )

    # Product and R&D team plans.
    def active(q):
        return len(msgs.active.get(q, ()))

    def adopting(q, team):
        subs = {t for t, *_ in TEAMS if t == team or _parent(t) == team}
        accts = set()
        for t in subs:
            accts |= msgs.adopting.get((q, t), set())
        return len(accts)

    def installs(q, team):
        return sum(
            msgs.installs.get((q, t), 0) for t, *_ in TEAMS if t == team or _parent(t) == team
        )

    ref = "FY2026-Q4"
    won_q = fy26_avg
    first_q = sum(1 for d in crm.first_wins.values() if dstr(d) < "2026-11-01") / 7
    for q in FY27_QUARTERS:
        plan(
            "team",
            "product",
            q,
            "active_accounts",
            _round(active(ref) * 1.1, 5),
            "1",
            narrative="Weekly-used accounts renew; this is the product org's north star.",
        )
        plan(
            "team",
            "product_growth",
            q,
            "feature_adopting_accounts",
            _round(adopting(ref, "product_growth") * 1.1, 5),
            "0.6",
            narrative="Accounts that build dashboards and export reports convert and stay.",
        )
        plan(
            "team",
            "product_integrations",
            q,
            "installs",
            _round(installs(ref, "product_integrations") * 1.1, 5),
            "0.5",
            narrative="Every installed integration ties us deeper into a customer's stack.",
        )
        plan(
            "team",
            "rnd",
            q,
            "activated_accounts",
            _round(first_q * 0.8, 1),
            "1",
            "1.5",
            narrative="New customers who use the product in their first two weeks stay.",
        )
        plan(
            "team",
            "rnd_platform",
            q,
            "feature_adopting_accounts",
            _round(adopting(ref, "rnd_platform") * 1.1, 5),
            "1",
            narrative="API, webhooks and SSO adoption is what enterprise buyers check first.",
        )
        plan(
            "team",
            "rnd_mobile",
            q,
            "installs",
            _round(installs(ref, "rnd_mobile") * 1.1, 5),
            "1",
            narrative="Mobile installs keep field users active between desk sessions.",
        )

    for team, share in (("product_growth", 0.5), ("product_integrations", 0.4)):
        plan(
            "team",
            team,
            "FY2027",
            "influenced_bookings",
            _round(won_q * 4 * share, 10000),
            "0.4",
            "2",
            narrative="Revenue from accounts that used our features before buying.",
        )
        plan(
            "team",
            team,
            "FY2026",
            "influenced_bookings",
            _round(won_q * 4 * share, 10000),
            narrative="Last year's influenced revenue.",
        )
    plan(
        "team",
        "product",
        "FY2026",
        "active_accounts",
        _round(active(ref) * 1.2, 10),
        narrative="Last year's active-account goal.",
    )
    plan(
        "team",
        "product",
        "FY2027",
        "active_accounts",
        _round(active(ref) * 1.3, 10),
        narrative="The year's active-account goal.",
    )
    plan(
        "team",
        "rnd",
        "FY2027",
        "activated_accounts",
        _round(first_q * 3.5, 1),
        narrative="The year's activation goal.",
    )
    plan(
        "team",
        "rnd_platform",
        "FY2027",
        "installs",
        _round(installs(ref, "rnd_platform") * 4.5, 5),
        narrative="Webhook installs for the year.",
    )
    plan(
        "team",
        "rnd_mobile",
        "FY2027-M10",
        "installs",
        _round(installs(ref, "rnd_mobile") * 0.4, 1),
        "1",
        narrative="November push: the mobile relaunch month.",
    )

    features = sorted([f, t] for f, t in FEATURES.items())
    vp = company.by_id["P_VP_SALES"].name
    adjustments = [
        [
            "ADJ-0001",
            "person",
            "PEAST002",
            "bookings",
            "2026-08-14",
            "12000.00",
            "Signed on a paper order form outside the CRM (order 4411).",
            vp,
        ],
        [
            "ADJ-0002",
            "person",
            "PWEST003",
            "bookings",
            "2026-10-02",
            "-8000.00",
            "Clawback: customer churned within 60 days (comp plan section 4.2).",
            vp,
        ],
        [
            "ADJ-0003",
            "team",
            "sales_emea",
            "new_logos",
            "2026-09-30",
            "1",
            "Reseller deal booked by a partner; the logo is credited to the region.",
            vp,
        ],
        [
            "ADJ-0004",
            "person",
            "P_MGR_EAST",
            "team_bookings",
            "2026-07-31",
            "5000.00",
            "Split correction agreed after the quarter closed.",
            vp,
        ],
    ]

    return {
        "config/teams.csv": (TEAM_COLS, teams),
        "config/people.csv": (PEOPLE_COLS, people),
        "config/quota_plans.csv": (PLAN_COLS, plans),
        "config/feature_ownership.csv": (["feature", "team_id"], features),
        "config/adjustments.csv": (ADJ_COLS, adjustments),
        "config/settings.yml": SETTINGS_YML,
    }


def _parent(team: str) -> str:
    for t, _, _, parent, _ in TEAMS:
        if t == team:
            return parent
    return ""
