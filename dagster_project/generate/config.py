"""Business configuration: teams, people, quota plans, feature ownership, adjustments, settings."""

from __future__ import annotations

import random
from collections import defaultdict

from dagster_project.metric_registry import registry

from .common import QUARTERS, dstr, fiscal_quarter
from .company import SALES_TEAMS, TEAMS, Company
from .crm import Crm
from .events import Messages
from .features import ownership_rows

TEAM_COLS = ["team_id", "team_name", "function", "parent_team_id", "mission"]
PEOPLE_COLS = ["person_id", "person_name", "crm_user_id", "team_id", "role"]
PEOPLE_COLS += ["manager_person_id", "valid_from", "valid_to"]
PLAN_COLS = ["assignee_type", "assignee_id", "fiscal_period", "metric", "target", "weight"]
PLAN_COLS += ["cap", "prorate", "narrative"]
ADJ_COLS = ["adjustment_id", "assignee_type", "assignee_id", "metric", "credit_date", "amount"]
ADJ_COLS += ["reason", "approved_by"]
OWNERSHIP_COLS = ["feature", "team_id", "valid_from", "valid_to", "released_on"]

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
# 1.1
opportunity_types:
  New Business: new_business
  Existing Business: expansion
  Expansion: expansion
  Upsell: expansion
  Renewal: renewal
promise_field: Promised_Features__c
unreleased_promise_policy: hold
closed_through: null
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
N_AE_NET_NEW = (
    "New annual value from new customers and expansions; renewals keep the base but do not grow it."
)
# Narratives of the sales metrics in a rep's and in a region's quarter plan ({team}, {q}).
SALES_NARRATIVES = {
    "bookings": N_AE_BOOK,
    "net_new_bookings": N_AE_NET_NEW,
    "new_logos": N_AE_LOGO,
}
TEAM_NARRATIVES = {
    "bookings": "The {team} regional bookings plan for {q}.",
    "net_new_bookings": "The {team} net new bookings plan for {q}: growth, renewals excluded.",
    "new_logos": "Every new logo is a future renewal and a reference.",
}
# From FY2027, NA West and EMEA reps and regions are also measured on net new bookings (1.1);
# NA East and APAC plans stay on bookings and new logos.
NET_NEW = "net_new_bookings"
NET_NEW_TEAMS = ("sales_na_west", "sales_emea")


TEAM_FUNCTION = {t[0]: t[2] for t in TEAMS}


def carried(function: str, assignee_type: str) -> tuple[str, ...]:
    """The registry's metrics that teams of this function carry, valid for the assignee type,
    in registry order."""
    return tuple(
        m.name
        for m in registry().values()
        if function in m.functions and m.valid_for(assignee_type)
    )


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

    # Plausible targets from what the data holds (actuals per quarter, roughly).
    reps = {p.person_id for t in SALES_TEAMS for p in company.aes[t]}
    n_reps = len(reps) - 3
    q_book = defaultdict(float)  # quarter -> company bookings (USD, rough)
    q_net_new = defaultdict(float)  # the same without renewals
    for _, _, close, usd, kind in crm.won:
        q_book[fiscal_quarter(close)] += usd
        if kind in ("new_business", "expansion"):
            q_net_new[fiscal_quarter(close)] += usd
    fy26_avg = sum(q_book[q] for q in FY26_QUARTERS) / 4
    # Renewals start a year into the data, so FY2027 plans are sized on FY2027's closed
    # quarters (FY2026 plans on FY2026).
    fy27_closed = FY27_QUARTERS[:3]
    fy27_avg = sum(q_book[q] for q in fy27_closed) / len(fy27_closed)
    fy27_net_new = sum(q_net_new[q] for q in fy27_closed) / len(fy27_closed)
    logos_q = sum(1 for d in crm.first_wins.values() if dstr(d) < "2026-11-01") / 7
    # A rep's FY2027 quarterly share of each sales metric (the registry's metrics of function
    # "sales"); a sales metric without an entry here gets no plan rows.
    per_rep_q = {
        "bookings": fy27_avg / n_reps,
        "net_new_bookings": fy27_net_new / n_reps,
        "new_logos": max(1.0, round(logos_q / n_reps)),
    }
    per_rep_q_fy26 = fy26_avg / n_reps  # bookings
    logos_per_rep = per_rep_q["new_logos"]

    plans: list[list[str]] = []

    def plan(atype, aid, period, metric, target, weight="", cap="", prorate="", narrative=""):
        # A generator bug, not a data edge case: the metric registry says who carries what.
        if not registry()[metric].valid_for(atype):
            raise ValueError(f"{metric} is not valid for {atype} {aid} (metric registry)")
        function = TEAM_FUNCTION.get(aid) if atype == "team" else None
        if function in ("sales", "product", "rnd") and metric not in carried(function, atype):
            raise ValueError(f"{metric} is not a metric of {function} teams ({aid})")
        plans.append([atype, aid, period, metric, _fmt(target), weight, cap, prorate, narrative])

    def sales_metrics(atype: str, team: str) -> list[str]:
        """The sales metrics of a rep's or a region's FY2027 plan."""
        return [
            m
            for m in carried("sales", atype)
            if m in per_rep_q and (m != NET_NEW or team in NET_NEW_TEAMS)
        ]

    def sales_quarter(atype, aid, team, q, size: dict[str, float], cap="", prorate=""):
        """One FY2027 quarter of sales metrics: currency metrics share a weight of 0.7, counts
        0.3; a count target is prorated as ``prorate`` says (empty = default)."""
        metrics = sales_metrics(atype, team)
        units = [registry()[m].unit for m in metrics]
        for m, unit in zip(metrics, units, strict=True):
            share = 0.7 if unit == "currency" else 0.3
            weight = _fmt(round(share / units.count(unit), 2))
            if unit == "currency":
                target = _round(size[m], 1000 if atype == "person" else 5000)
            else:
                target = max(1.0, round(size[m]))
            narrative = SALES_NARRATIVES[m] if atype == "person" else TEAM_NARRATIVES[m]
            plan(
                atype,
                aid,
                q,
                m,
                target,
                weight,
                cap,
                prorate if unit == "count" else "",
                narrative=narrative.format(team=team.replace("_", " "), q=q),
            )

    team_share = {t: defaultdict(float) for t in SALES_TEAMS}  # FY2027 quarter, per metric
    team_share_fy26 = {t: 0.0 for t in SALES_TEAMS}  # FY2026 quarter bookings
    for team in SALES_TEAMS:
        for p in company.aes[team]:
            if p.person_id in ("P_EDGE_MOVER",) and team == "sales_emea":
                continue  # one set of plan rows per person
            factor = rng.uniform(0.85, 1.25)
            size = {m: v * factor for m, v in per_rep_q.items()}
            size["new_logos"] = logos_per_rep
            base, base26 = size["bookings"], per_rep_q_fy26 * factor
            pid = p.person_id
            for m, v in size.items():
                team_share[team][m] += v
            team_share_fy26[team] += base26
            if pid == "P_EDGE_PROMOTED":
                plan(
                    "person",
                    pid,
                    "FY2026",
                    "bookings",
                    _round(base26 * 4, 5000),
                    narrative=N_AE_YEAR,
                )
                sales_quarter("person", pid, team, "FY2027-Q1", size, "1.5")
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
                    "person",
                    pid,
                    "FY2026",
                    "bookings",
                    _round(base26 * 4, 5000),
                    narrative=N_AE_YEAR,
                )
                for q in FY26_QUARTERS:
                    plan(
                        "person",
                        pid,
                        q,
                        "bookings",
                        _round(base26, 1000),
                        "",
                        "1.5",
                        narrative=N_AE_BOOK,
                    )
            quarters = FY27_QUARTERS if pid != "P_EDGE_HIRED" else FY27_QUARTERS[2:]
            for q in quarters:
                # The new hire's first-quarter logo target is not prorated (prorate=false).
                prorate = "false" if (pid, q) == ("P_EDGE_HIRED", "FY2027-Q3") else ""
                sales_quarter("person", pid, team, q, size, "1.5", prorate)
            plan("person", pid, "FY2027", "bookings", _round(base * 4, 5000), narrative=N_AE_YEAR)

    for team in SALES_TEAMS:
        mgr = {"sales_apac": "P_MGR_APAC_OLD"}.get(team, company.managers[team])
        quarters = FY27_QUARTERS if team != "sales_apac" else FY27_QUARTERS[:1]
        share = team_share[team]["bookings"]
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
        size = {**team_share[team], "new_logos": logos_per_rep * n * 0.8}
        for q in FY27_QUARTERS:
            sales_quarter("team", team, team, q, size)
        plan(
            "team",
            team,
            "FY2026",
            "bookings",
            _round(team_share_fy26[team] * 4, 10000),
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
        if NET_NEW in sales_metrics("team", team):
            plan(
                "team",
                team,
                "FY2027",
                NET_NEW,
                _round(team_share[team][NET_NEW] * 4, 10000),
                narrative="The year's new annual value from the region, renewals excluded.",
            )
    total = sum(t["bookings"] for t in team_share.values())
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
        "config/feature_ownership.csv": (OWNERSHIP_COLS, ownership_rows()),
        "config/adjustments.csv": (ADJ_COLS, adjustments),
        "config/settings.yml": SETTINGS_YML,
    }


def _parent(team: str) -> str:
    for t, _, _, parent, _ in TEAMS:
        if t == team:
            return parent
    return ""
