"""The fictional company: teams, people (effective-dated memberships) and their CRM users."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from .common import ORG_START, Membership, Person

# (team_id, team_name, function, parent_team_id, mission)
TEAMS: list[tuple[str, str, str, str, str]] = [
    (
        "leadership",
        "Leadership",
        "leadership",
        "",
        "Set the company's direction and keep every team's quota pointed at customers who stay"
        " and grow. Its numbers are the company's numbers.",
    ),
    (
        "sales",
        "Sales",
        "sales_management",
        "leadership",
        "Turn product value into signed, healthy revenue in every region. Its quota is the"
        " bookings plan the whole company's hiring budget is built on.",
    ),
    (
        "sales_na_east",
        "Sales NA East",
        "sales",
        "sales",
        "Win and expand mid-market customers on the US east coast and in Canada. Its bookings"
        " fund the next year of product work.",
    ),
    (
        "sales_na_west",
        "Sales NA West",
        "sales",
        "sales",
        "Win and expand technology customers on the US west coast. New logos here become the"
        " reference customers the rest of sales leans on.",
    ),
    (
        "sales_emea",
        "Sales EMEA",
        "sales",
        "sales",
        "Grow our European and UK customer base in local currency. Its quota proves the product"
        " travels beyond North America.",
    ),
    (
        "sales_apac",
        "Sales APAC",
        "sales",
        "sales",
        "Open Japan and the Pacific region with a small, fast team. New logos matter more than"
        " size here: each one is a beachhead.",
    ),
    (
        "product",
        "Product",
        "product",
        "leadership",
        "Make the product something customers use every week. Active accounts are the best"
        " early signal of renewals a year from now.",
    ),
    (
        "product_growth",
        "Product Growth",
        "product",
        "product",
        "Get new workspaces to their first dashboard and report quickly. Adoption of these"
        " features predicts which trials become customers.",
    ),
    (
        "product_integrations",
        "Product Integrations",
        "product",
        "product",
        "Connect the product to the tools customers already use. Installed integrations make"
        " accounts sticky and influence expansion deals.",
    ),
    (
        "rnd",
        "Research & Development",
        "rnd",
        "leadership",
        "Build a platform that is fast, secure and extensible. Activated accounts show that what"
        " we ship is used right after a customer buys.",
    ),
    (
        "rnd_platform",
        "R&D Platform",
        "rnd",
        "rnd",
        "Own the API, webhooks and single sign-on that larger customers require before they"
        " sign. Adoption here unlocks enterprise deals.",
    ),
    (
        "rnd_mobile",
        "R&D Mobile",
        "rnd",
        "rnd",
        "Put the product in customers' pockets. Mobile installs keep field teams engaged between"
        " desk sessions.",
    ),
]

SALES_TEAMS = ("sales_na_east", "sales_na_west", "sales_emea", "sales_apac")
TEAM_CODE = {"sales_na_east": "EAST", "sales_na_west": "WEST", "sales_emea": "EMEA"}
TEAM_CODE["sales_apac"] = "APAC"

# Fixed dates of the people edge cases.
HIRE_DATE = date(2026, 9, 15)  # P_EDGE_HIRED joins mid FY2027-Q3
MOVE_DATE = date(2026, 9, 1)  # P_EDGE_MOVER moves NA East -> EMEA mid FY2027-Q3
LEAVE_DATE = date(2026, 10, 1)  # P_EDGE_LEAVER leaves (last day 2026-09-30)
PROMOTION_DATE = date(2026, 5, 1)  # P_EDGE_PROMOTED: APAC rep -> APAC manager (FY2027-Q2)

UNMAPPED_USER = "005EDGE_UNMAPPED"  # a CRM user that no person carries

FIRST = [
    "Ada",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Aiko",
    "Bruno",
    "Chloe",
    "Diego",
    "Emeka",
    "Freya",
    "Goran",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oskar",
    "Pia",
    "Rafael",
    "Sofia",
    "Tomas",
    "Uma",
    "Viktor",
    "Willa",
]
LAST = [
    "Abbott",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinlan",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Alvarez",
    "Brennan",
    "Costa",
    "Dalton",
    "Evans",
    "Ferreira",
    "Gupta",
    "Holm",
    "Ibsen",
    "Jovanovic",
    "Keller",
    "Lindqvist",
    "Murphy",
    "Novak",
    "O'Brien",
    "Park",
    "Reyes",
    "Silva",
    "Torres",
    "Underwood",
    "Vogel",
    "Walsh",
]


@dataclass
class Company:
    people: list[Person]
    by_id: dict[str, Person]
    by_crm: dict[str, Person]
    aes: dict[str, list[Person]]  # sales team -> people who are (or were) reps there
    managers: dict[str, str]  # sales team -> its manager person id today

    def manager_of(self, crm_user_id: str, d: date) -> Person | None:
        p = self.by_crm.get(crm_user_id)
        row = p.at(d) if p else None
        if row is None or not row.manager_person_id:
            return None
        return self.by_id[row.manager_person_id]


def build_company(rng: random.Random, scale: int) -> Company:
    names: set[str] = set()

    def name() -> str:
        while True:
            n = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            if n not in names:
                names.add(n)
                return n

    people: list[Person] = []

    def person(pid: str, crm: str, *rows: Membership) -> Person:
        p = Person(pid, name(), crm, list(rows))
        people.append(p)
        return p

    m = Membership
    person("P_CEO", "", m("leadership", "ceo", "", ORG_START))
    person("P_VP_SALES", "005VP_SALES", m("sales", "vp_sales", "P_CEO", ORG_START))
    person("P_REVOPS", "", m("sales", "revops_analyst", "P_VP_SALES", ORG_START))
    managers = {}
    for team in SALES_TEAMS:
        code = TEAM_CODE[team]
        if team == "sales_apac":
            # The first APAC manager leaves when P_EDGE_PROMOTED takes over.
            mgr = person(
                "P_MGR_APAC_OLD",
                "005MGR_APAC_OLD",
                m(team, "sales_manager", "P_VP_SALES", ORG_START, PROMOTION_DATE),
            )
        else:
            mgr = person(
                f"P_MGR_{code}", f"005MGR_{code}", m(team, "sales_manager", "P_VP_SALES", ORG_START)
            )
        managers[team] = mgr.person_id

    aes: dict[str, list[Person]] = {t: [] for t in SALES_TEAMS}
    per_team = 11 + 2 * (scale - 1)
    for team in SALES_TEAMS:
        code = TEAM_CODE[team]
        for k in range(1, per_team + 1):
            pid, crm = f"P{code}{k:03d}", f"005{code}{k:03d}"
            if team == "sales_apac":
                p = person(
                    pid,
                    crm,
                    m(team, "account_executive", "P_MGR_APAC_OLD", ORG_START, PROMOTION_DATE),
                    m(team, "account_executive", "P_EDGE_PROMOTED", PROMOTION_DATE),
                )
            else:
                p = person(pid, crm, m(team, "account_executive", managers[team], ORG_START))
            aes[team].append(p)

    # People edge cases (ids are stable: tests elsewhere target them).
    aes["sales_na_east"].append(
        person(
            "P_EDGE_HIRED",
            "005EDGE_HIRED",
            m("sales_na_east", "account_executive", "P_MGR_EAST", HIRE_DATE),
        )
    )
    mover = person(
        "P_EDGE_MOVER",
        "005EDGE_MOVER",
        m("sales_na_east", "account_executive", "P_MGR_EAST", ORG_START, MOVE_DATE),
        m("sales_emea", "account_executive", "P_MGR_EMEA", MOVE_DATE),
    )
    aes["sales_na_east"].append(mover)
    aes["sales_emea"].append(mover)
    aes["sales_na_west"].append(
        person(
            "P_EDGE_LEAVER",
            "005EDGE_LEAVER",
            m("sales_na_west", "account_executive", "P_MGR_WEST", ORG_START, LEAVE_DATE),
        )
    )
    aes["sales_apac"].append(
        person(
            "P_EDGE_PROMOTED",
            "005EDGE_PROMOTED",
            m("sales_apac", "account_executive", "P_MGR_APAC_OLD", ORG_START, PROMOTION_DATE),
            m("sales_apac", "sales_manager", "P_VP_SALES", PROMOTION_DATE),
        )
    )
    managers["sales_apac"] = "P_EDGE_PROMOTED"

    # Product and R&D: no CRM users.
    for head, team, subs, role, n in (
        ("P_HEAD_PRODUCT", "product", ("product_growth", "product_integrations"), "pm", 4),
        ("P_HEAD_RND", "rnd", ("rnd_platform", "rnd_mobile"), "engineer", 6),
    ):
        person(head, "", m(team, f"head_of_{team}", "P_CEO", ORG_START))
        for sub in subs:
            code = sub.split("_", 1)[1][:4].upper()
            for k in range(1, n + 1):
                r = "product_manager" if role == "pm" and k == 1 else role
                if role == "engineer" and k == 1:
                    r = "engineering_manager"
                elif role == "pm" and k > 1:
                    r = "designer" if k == 2 else "product_analyst"
                person(f"P{code}{k:03d}", "", m(sub, r, head, ORG_START))

    by_id = {p.person_id: p for p in people}
    by_crm = {p.crm_user_id: p for p in people if p.crm_user_id}
    return Company(people, by_id, by_crm, aes, managers)


def sales_reps_on(company: Company, team: str, d: date) -> list[Person]:
    """Reps of a sales team in seat (as account executives of that team) on d."""
    out = []
    for p in company.aes[team]:
        row = p.at(d)
        if row and row.team_id == team and row.role == "account_executive":
            out.append(p)
    return out
