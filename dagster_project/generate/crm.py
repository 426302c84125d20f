"""CRM landing data: Salesforce objects with API column names, a full export plus deltas."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from .common import (
    DATA_END,
    DATA_START,
    DELTA_DAYS,
    FULL_EXPORT,
    ORG_START,
    PLAN_END,
    at,
    dstr,
    dtstr,
    rand_time,
)
from .company import SALES_TEAMS, UNMAPPED_USER, Company, sales_reps_on
from .features import PROMISABLE, released

OPP_COLS = [
    "Id",
    "Name",
    "AccountId",
    "OwnerId",
    "Type",
    "StageName",
    "Amount",
    "CurrencyIsoCode",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
    "Promised_Features__c",
]
ACCOUNT_COLS = [
    "Id",
    "Name",
    "Type",
    "Industry",
    "BillingCountry",
    "OwnerId",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
]
USER_COLS = [
    "Id",
    "Name",
    "Email",
    "Title",
    "ManagerId",
    "IsActive",
    "CreatedDate",
    "SystemModstamp",
    "IsDeleted",
]
# The split folder is written by a "managed loader": snake_case headers (name matching).
SPLIT_COLS = [
    "id",
    "opportunity_id",
    "split_owner_id",
    "split_percentage",
    "split_type_id",
    "system_modstamp",
    "is_deleted",
]
SPLIT_TYPE_COLS = [
    "Id",
    "DeveloperName",
    "MasterLabel",
    "SplitField",
    "IsTotalValidated",
    "IsActive",
    "SystemModstamp",
    "IsDeleted",
]
OTM_COLS = ["Id", "OpportunityId", "UserId", "TeamMemberRole", "SystemModstamp", "IsDeleted"]
EVENT_COLS = [
    "Id",
    "WhatId",
    "OwnerId",
    "Subject",
    "ActivityDateTime",
    "ActivityDate",
    "IsAllDayEvent",
    "DurationInMinutes",
    "SystemModstamp",
    "IsDeleted",
]
TASK_COLS = ["Id", "WhatId", "OwnerId", "Subject", "ActivityDate", "Status", "SystemModstamp"]
TASK_COLS += ["IsDeleted"]
DCR_COLS = ["Id", "IsoCode", "ConversionRate", "StartDate", "NextStartDate", "SystemModstamp"]
DCR_COLS += ["IsDeleted"]
CURRENCY_COLS = [
    "Id",
    "IsoCode",
    "ConversionRate",
    "DecimalPlaces",
    "IsActive",
    "IsCorporate",
    "SystemModstamp",
    "IsDeleted",
]

REVENUE_TYPE = "149TREVENUE"
OVERLAY_TYPE = "149TOVERLAY"
STATIC_RATES = {"USD": 1.0, "EUR": 0.92, "GBP": 0.78, "JPY": 150.25}
# Dated rates (units per USD), quarterly from these start dates; the last row runs to
# 9999-12-31 as Salesforce writes it.
RATE_STARTS = [date(2024, 11, 1)] + [date(y, mo, 1) for y in (2025, 2026) for mo in (2, 5, 8, 11)]
DATED_RATES = {
    "EUR": [0.94, 0.93, 0.95, 0.91, 0.89, 0.90, 0.87, 0.85, 0.86],
    "GBP": [0.81, 0.80, 0.79, 0.77, 0.78, 0.76, 0.75, 0.74, 0.75],
}
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")

# Booking kinds (settings.opportunity_types maps Opportunity.Type to them, input-contract 1).
NEW_BUSINESS, EXPANSION, RENEWAL = "new_business", "expansion", "renewal"
# The Type picklist values written for each kind, weighted; "" = left empty by the rep (the
# pipeline reads an empty Type as new business).
TYPE_VALUES: dict[str, tuple[tuple[str, int], ...]] = {
    NEW_BUSINESS: (("New Business", 97), ("", 3)),
    EXPANSION: (("Expansion", 55), ("Upsell", 28), ("Existing Business", 14), ("", 3)),
    RENEWAL: (("Renewal", 97), ("", 3)),
}
# About 2 % of expansion and renewal values come from an integration that types them: other
# case, surrounding spaces (the map compares ignoring both).
TYPE_VARIANTS = {
    "Expansion": "expansion",
    "Upsell": " Upsell",
    "Existing Business": "EXISTING BUSINESS",
    "Renewal": "renewal ",
}
KIND_LABEL = {NEW_BUSINESS: "New Business", EXPANSION: "Expansion", RENEWAL: "Renewal"}
PROMISE_SHARE = 0.04  # generic deals that carry a promise (Promised_Features__c)
WORDS_A = [
    "Blue",
    "North",
    "Bright",
    "Quiet",
    "Rapid",
    "Silver",
    "Green",
    "Iron",
    "Lucky",
    "Open",
    "Clear",
    "Prime",
    "Urban",
    "Polar",
    "Solar",
    "Maple",
    "Cedar",
    "Granite",
    "Harbor",
    "Summit",
]
WORDS_B = [
    "Logistics",
    "Foods",
    "Robotics",
    "Health",
    "Media",
    "Labs",
    "Energy",
    "Retail",
    "Finance",
    "Systems",
    "Studios",
    "Freight",
    "Analytics",
    "Dental",
    "Textiles",
    "Telecom",
    "Farms",
    "Clinics",
    "Hotels",
    "Motors",
]
COUNTRIES = {
    "sales_na_east": ("United States", "Canada"),
    "sales_na_west": ("United States",),
    "sales_emea": ("Germany", "France", "United Kingdom", "Netherlands", "Spain"),
    "sales_apac": ("Japan", "Australia", "Singapore"),
}


def b(v: bool) -> str:
    return "true" if v else "false"


@dataclass
class Crm:
    files: dict[str, tuple[list[str], list[list[str]]]] = field(default_factory=dict)
    # For the message generator and the plan targets:
    accounts: list[tuple[str, date]] = field(default_factory=list)  # (Id, created) generic
    first_wins: dict[str, date] = field(default_factory=dict)  # account -> first won close
    # (opp, owner, close, usd, booking kind) of the generic won deals:
    won: list[tuple[str, str, date, float, str]] = field(default_factory=list)


@dataclass
class _Deal:
    """A generic opportunity before its row is written."""

    oid: str
    acct: str
    close: date
    won: bool  # closes won (only deals closing by DATA_END close at all)
    kind: str = NEW_BUSINESS
    renews: str = ""  # the won new-business deal a renewal renews


def _type_value(rng: random.Random, kind: str) -> str:
    values, weights = zip(*TYPE_VALUES[kind], strict=True)
    value = rng.choices(values, weights=weights)[0]
    if value in TYPE_VARIANTS and kind != NEW_BUSINESS and rng.random() < 0.02:
        value = TYPE_VARIANTS[value]
    return value


def _promise(rng: random.Random, close: date) -> str:
    """A multi-select picklist value: 1-2 features, mostly shipped by close; some not yet."""
    shipped = [f for f in PROMISABLE if released(f, close)]
    pending = [f for f in PROMISABLE if not released(f, close)]
    items: list[str] = []
    n = 1 if rng.random() < 0.6 else 2
    while len(items) < n:
        f = rng.choices(shipped, weights=[PROMISABLE[f] for f in shipped])[0]
        if f not in items:
            items.append(f)
    if pending and rng.random() < 0.25:
        items[-1] = rng.choice(pending)
    return ";".join(items)


def _opp(
    oid,
    name,
    acct,
    owner,
    typ,
    stage,
    amount,
    cur,
    close,
    created: datetime,
    mod: datetime,
    promised: str = "",
) -> dict:
    closed = stage.startswith("Closed")
    return {
        "Id": oid,
        "Name": name,
        "AccountId": acct,
        "OwnerId": owner,
        "Type": typ,
        "StageName": stage,
        "Amount": amount,
        "CurrencyIsoCode": cur,
        "CloseDate": close if isinstance(close, str) else dstr(close),
        "IsClosed": b(closed),
        "IsWon": b(stage == "Closed Won"),
        "CreatedDate": dtstr(created),
        "SystemModstamp": dtstr(mod),
        "IsDeleted": "false",
        "Promised_Features__c": promised,
    }


# Edge-case opportunities: (suffix, owner CRM user, amount, currency, close date, created date).
# All are won in the full export unless noted in build_edges.
EDGE_OPPS: list[tuple[str, str, str, str, str, date]] = [
    ("SPLIT90", "005EAST001", "50000.00", "USD", "2026-06-12", date(2026, 4, 2)),
    ("OVERLAY", "005WEST001", "80000.00", "USD", "2026-07-20", date(2026, 5, 11)),
    ("SPLIT_NOTYPE", "005EAST002", "30000.00", "USD", "2026-05-05", date(2026, 3, 3)),
    ("SPLIT_DELETED", "005WEST002", "40000.00", "USD", "2026-08-08", date(2026, 6, 1)),
    ("EUR_EARLY", "005EMEA001", "46000.00", "EUR", "2025-03-14", date(2025, 1, 20)),
    ("EUR_LATE", "005EMEA002", "46000.00", "EUR", "2026-09-10", date(2026, 7, 1)),
    ("EUR_BOUNDARY", "005EMEA003", "20000.00", "EUR", "2026-08-01", date(2026, 6, 15)),
    ("EUR_LOWER", "005EMEA004", "10000.00", "eur", "2026-07-07", date(2026, 5, 20)),
    ("GBP", "005EMEA002", "30000.00", "GBP", "2026-10-15", date(2026, 8, 3)),
    ("JPY", "005APAC001", "4500000", "JPY", "2026-09-25", date(2026, 7, 14)),
    ("CHF", "005EMEA003", "25000.00", "CHF", "2026-10-20", date(2026, 8, 20)),
    ("NO_CURRENCY", "005EAST003", "15000.00", "", "2026-04-20", date(2026, 2, 9)),
    ("REOPENED", "005EAST004", "60000.00", "USD", "2026-11-10", date(2026, 8, 25)),
    ("DELETED", "005WEST003", "35000.00", "USD", "2026-10-20", date(2026, 8, 5)),
    ("LATE_WIN", "005EAST005", "22000.00", "USD", "2026-11-30", date(2026, 9, 14)),
    ("MODSTAMP_TIE", "005WEST004", "10000.00", "USD", "2026-11-27", date(2026, 10, 1)),
    ("STALE_DELTA", "005EAST006", "27000.00", "USD", "2026-11-05", date(2026, 9, 2)),
    ("NO_AMOUNT", "005WEST005", "", "USD", "2026-09-03", date(2026, 7, 7)),
    ("BAD_DATE", "005EAST007", "18000.00", "USD", "2026-02-30", date(2026, 1, 5)),
    ("BAD_AMOUNT", "005WEST006", "12,5", "USD", "2026-08-19", date(2026, 6, 30)),
    ("NEGATIVE", "005EAST008", "-4500.00", "USD", "2026-07-02", date(2026, 5, 4)),
    ("FUTURE", "005WEST007", "33000.00", "USD", "2026-12-15", date(2026, 10, 6)),
    ("UNMAPPED", UNMAPPED_USER, "21000.00", "USD", "2026-06-30", date(2026, 4, 28)),
    ("ASSIST_OTM", "005EAST009", "44000.00", "USD", "2026-06-10", date(2026, 4, 1)),
    ("ASSIST_EVENT", "005EAST010", "36000.00", "USD", "2026-07-15", date(2026, 5, 1)),
    ("ASSIST_EVENT_TZ", "005EAST001", "28000.00", "USD", "2026-08-14", date(2026, 6, 1)),
    ("ASSIST_ALLDAY", "005EAST002", "19000.00", "USD", "2026-09-18", date(2026, 7, 1)),
    ("ASSIST_TASK", "005WEST001", "41000.00", "USD", "2026-10-09", date(2026, 8, 10)),
    ("ASSIST_BOTH", "005WEST002", "23000.00", "USD", "2026-05-22", date(2026, 3, 16)),
    ("NO_ASSIST", "005EAST003", "32000.00", "USD", "2026-10-28", date(2026, 9, 1)),
    ("HIRED", "005EDGE_HIRED", "38000.00", "USD", "2026-10-05", date(2026, 9, 16)),
    ("MOVER_EAST", "005EDGE_MOVER", "26000.00", "USD", "2026-08-20", date(2026, 6, 22)),
    ("MOVER_EMEA", "005EDGE_MOVER", "24000.00", "EUR", "2026-09-20", date(2026, 9, 2)),
    ("LEAVER", "005EDGE_LEAVER", "31000.00", "USD", "2026-09-10", date(2026, 7, 13)),
    ("PROMOTED_REP", "005EDGE_PROMOTED", "29000.00", "USD", "2026-04-10", date(2026, 2, 16)),
    ("PROMOTED_TEAM", "005APAC002", "52000.00", "USD", "2026-06-15", date(2026, 5, 5)),
    ("TIE_A", "005EAST004", "17000.00", "USD", "2026-07-15", date(2026, 5, 26)),
    ("TIE_B", "005EAST005", "16000.00", "USD", "2026-07-15", date(2026, 5, 26)),
    # 1.1: booking types and promises (EDGE_TYPES, EDGE_PROMISES).
    ("UNKNOWN_TYPE", "005WEST008", "27000.00", "USD", "2026-05-14", date(2026, 3, 20)),
    ("RENEWAL_FIRST", "005EAST011", "48000.00", "USD", "2026-03-12", date(2026, 1, 15)),
    ("PROMISE_SPACING", "005EAST006", "34000.00", "USD", "2026-07-28", date(2026, 5, 12)),
    ("PROMISE_UNRELEASED", "005WEST009", "39000.00", "USD", "2026-05-20", date(2026, 3, 9)),
    ("PROMISE_BOUNDARY", "005EMEA005", "21000.00", "USD", "2026-06-15", date(2026, 4, 13)),
    ("PROMISE_UNKNOWN", "005EAST007", "45000.00", "USD", "2026-09-24", date(2026, 7, 20)),
    ("PROMISE_BETA", "005APAC003", "26000.00", "USD", "2026-10-14", date(2026, 8, 24)),
    ("PROMISE_MOVED", "005WEST010", "31000.00", "USD", "2026-09-08", date(2026, 7, 6)),
]
# Edge deals whose Type is not "New Business": the one Type value the default map does not
# name (unknown_opportunity_type), and an account whose first win in the data is a renewal
# (a customer from before the data: no new logo).
EDGE_TYPES = {"UNKNOWN_TYPE": "Partner Referral", "RENEWAL_FIRST": "Renewal"}
# Edge promises (Promised_Features__c), against features.RELEASED_ON:
EDGE_PROMISES = {
    "PROMISE_SPACING": " sso ;Dashboards; ",  # trim, ignore case and the empty item: released
    "PROMISE_UNRELEASED": "Push Notifications",  # released 2026-06-15, after CloseDate: held
    "PROMISE_BOUNDARY": "Push Notifications",  # CloseDate = released_on: released
    "PROMISE_UNKNOWN": "SSO;Offline Mode",  # no such feature: unknown_feature, held
    "PROMISE_BETA": "AI Assistant;Dashboards",  # AI Assistant not released: held
    "PROMISE_MOVED": "Salesforce Sync",  # owned by rnd_platform on CloseDate (moved 08-17)
}
HELD_EDGES = ("PROMISE_UNRELEASED", "PROMISE_UNKNOWN", "PROMISE_BETA")
# Accounts used only by the message edge cases (001EDGE_DELETED is deleted in the CRM).
EDGE_MESSAGE_ACCOUNTS = ("NOGROUP", "REGROUP_OLD", "REGROUP_NEW", "DELETED")


def _edge_account(suffix: str) -> str:
    return "001EDGE_TIE" if suffix.startswith("TIE_") else f"001EDGE_{suffix}"


def build_crm(rng: random.Random, company: Company, scale: int) -> Crm:
    crm = Crm()
    full: list[dict] = []  # Opportunity rows of the full export
    deltas: dict[date, list[dict]] = {d: [] for d in DELTA_DAYS}
    splits_full: list[list[str]] = []
    splits_delta: list[list[str]] = []
    otms: list[list[str]] = []
    events: list[list[str]] = []
    tasks: list[list[str]] = []
    counters = {"otm": 0, "event": 0, "task": 0, "split": 0}

    def next_id(kind: str, prefix: str) -> str:
        counters[kind] += 1
        return f"{prefix}{counters[kind]:07d}"

    def split(oid, owner, pct, typ, mod: datetime, deleted="0", sid=None) -> list[str]:
        sid = sid or next_id("split", "149S")
        return [sid, oid, owner, pct, typ, dtstr(mod), deleted]

    def event(oid, owner, d: date, rng_: random.Random | None, *, all_day=False, eid=None):
        eid = eid or next_id("event", "00UE")
        if all_day:
            dt_s, dur = "", "1440"
        else:
            hour = rng_.randrange(13, 22) if rng_ else 15
            dt_s, dur = dtstr(at(d, hour, 0)), "30"
        mod = at(d, 23, 0)
        return [eid, oid, owner, "Customer meeting", dt_s, dstr(d), b(all_day), dur, dtstr(mod)]

    def task(oid, owner, d: date, tid=None):
        tid = tid or next_id("task", "00TT")
        return [tid, oid, owner, "Follow up", dstr(d), "Completed", dtstr(at(d, 22, 0)), "false"]

    # ---------------------------------------------------------------- accounts
    accounts: list[dict] = []
    account_team: dict[str, str] = {}
    n_accounts = 600 * scale
    span = (date(2026, 11, 10) - date(2023, 6, 1)).days
    for i in range(1, n_accounts + 1):
        aid = f"001A{i:07d}"
        team = rng.choices(SALES_TEAMS, weights=(35, 30, 22, 13))[0]
        if rng.random() < 0.4:
            created = date(2023, 6, 1) + timedelta(
                days=rng.randrange((DATA_START - ORG_START).days)
            )
        else:
            created = date(2023, 6, 1) + timedelta(days=rng.randrange(span))
            created = max(created, date(2025, 1, 1) + timedelta(days=rng.randrange(30)))
        reps = sales_reps_on(company, team, min(max(created, ORG_START), FULL_EXPORT))
        owner = rng.choice(reps).crm_user_id
        name = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)} {i:04d}"
        cdt = rand_time(rng, created)
        accounts.append(
            {
                "Id": aid,
                "Name": name,
                "Type": "Customer",
                "Industry": name.split()[1],
                "BillingCountry": rng.choice(COUNTRIES[team]),
                "OwnerId": owner,
                "CreatedDate": dtstr(cdt),
                "SystemModstamp": dtstr(cdt + timedelta(days=rng.randrange(60))),
                "IsDeleted": "false",
            }
        )
        account_team[aid] = team
        crm.accounts.append((aid, created))
    for suffix in [s for s, *_ in EDGE_OPPS if s != "TIE_B"] + list(EDGE_MESSAGE_ACCOUNTS):
        aid = _edge_account(suffix)
        accounts.append(
            {
                "Id": aid,
                "Name": f"Edge {suffix.replace('_', ' ').title()} Inc",
                "Type": "Customer",
                "Industry": "Testing",
                "BillingCountry": "United States",
                "OwnerId": "005EAST001",
                "CreatedDate": "2024-12-02T15:00:00.000Z",
                "SystemModstamp": "2024-12-02T15:00:00.000Z",
                "IsDeleted": b(suffix == "DELETED"),
            }
        )
    acct_created = {a["Id"]: a["CreatedDate"][:10] for a in accounts}

    # ---------------------------------------------------------------- opportunities
    # 1. Deals: a close date, an account and an outcome each.
    n_base = 1750 * scale  # plus about 200 renewals per scale unit
    plan_days = (PLAN_END - DATA_START).days + 1
    generic_accounts = [a["Id"] for a in accounts if a["Id"].startswith("001A")]
    deals: list[_Deal] = []
    for i in range(1, n_base + 1):
        close = DATA_START + timedelta(days=rng.randrange(plan_days))
        while True:
            acct = rng.choice(generic_accounts)
            if acct_created[acct] <= dstr(close - timedelta(days=20)):
                break
        deals.append(_Deal(f"006O{i:07d}", acct, close, close <= DATA_END and rng.random() < 0.4))
    # 2. Booking kinds from each account's history: new business up to and including the day
    # of its first win, expansion after it; a renewal about a year after most won new business.
    first_win: dict[str, date] = {}
    for dl in deals:
        if dl.won and (dl.acct not in first_win or dl.close < first_win[dl.acct]):
            first_win[dl.acct] = dl.close
    for dl in deals:
        if dl.acct in first_win and first_win[dl.acct] < dl.close:
            dl.kind = EXPANSION
    for dl in list(deals):
        if not (dl.won and dl.kind == NEW_BUSINESS):
            continue
        close = dl.close + timedelta(days=365 + rng.randrange(-20, 11))
        if close > PLAN_END or rng.random() >= 0.8:
            continue
        won = close <= DATA_END and rng.random() < 0.85
        oid = f"006O{len(deals) + 1:07d}"
        deals.append(_Deal(oid, dl.acct, close, won, RENEWAL, dl.oid))
    for a in accounts:
        if a["Id"].startswith("001A"):
            a["Type"] = "Customer" if a["Id"] in first_win else "Prospect"
    # 3. Rows, splits, team members and activities.
    sold: dict[str, tuple[str, float, str]] = {}  # won new business -> (owner, usd, currency)
    for dl in deals:
        oid, acct, close = dl.oid, dl.acct, dl.close
        team = account_team[acct]
        renewed = sold.get(dl.renews)
        if renewed:  # renewal deals are opened a few months ahead
            created = close - timedelta(days=rng.randrange(45, 120))
        else:
            created = close - timedelta(days=rng.randrange(14, 150))
        created = max(created, date.fromisoformat(acct_created[acct]) + timedelta(days=1))
        created = min(created, FULL_EXPORT - timedelta(days=rng.randrange(1, 45)))
        seat_day = min(close, FULL_EXPORT)
        reps = sales_reps_on(company, team, seat_day) or sales_reps_on(company, team, created)
        if renewed and any(p.crm_user_id == renewed[0] for p in reps):
            owner = renewed[0]  # the rep who sold it renews it while in seat
        else:
            owner = rng.choice(reps).crm_user_id
        usd = min(400000.0, max(3000.0, rng.lognormvariate(math.log(30000), 0.7)))
        if team == "sales_emea":
            cur = rng.choices(("EUR", "GBP", "USD"), weights=(5, 3, 2))[0]
        elif team == "sales_apac":
            cur = rng.choices(("JPY", "USD"), weights=(3, 7))[0]
        else:
            cur = "" if rng.random() < 0.1 else "USD"
        if renewed:  # the same contract a year on, in its currency, with a price uplift
            usd, cur = round(renewed[1] * rng.uniform(0.95, 1.12), 2), renewed[2]
        elif dl.kind == EXPANSION:  # more seats or a module: smaller on average
            usd = max(3000.0, usd * rng.uniform(0.25, 0.7))
        rate = STATIC_RATES.get(cur or "USD")
        amount = f"{round(usd * rate)}" if cur == "JPY" else f"{round(usd * rate, -2):.2f}"
        typ = _type_value(rng, dl.kind)
        name = f"{acct[-4:]} {KIND_LABEL[dl.kind]} {close.year}"
        promised = _promise(rng, close) if rng.random() < PROMISE_SHARE else ""
        created_dt = rand_time(rng, created)
        if close <= DATA_END:
            stage = "Closed Won" if dl.won else "Closed Lost"
            mod = rand_time(rng, close)
        else:
            stage = rng.choice(OPEN_STAGES)
            last = (FULL_EXPORT - created).days
            mod = rand_time(rng, created + timedelta(days=rng.randrange(max(1, last))))
        row = _opp(
            oid, name, acct, owner, typ, stage, amount, cur, close, created_dt, mod, promised
        )
        if close in deltas:
            # Closed after the full export: open in the export, closed in the day's delta.
            full.append(
                {
                    **row,
                    "StageName": "Negotiation",
                    "IsClosed": "false",
                    "IsWon": "false",
                    "SystemModstamp": dtstr(rand_time(rng, FULL_EXPORT - timedelta(days=3))),
                }
            )
            deltas[close].append(row)
        else:
            full.append(row)
            if stage in OPEN_STAGES and rng.random() < 0.03:
                d = rng.choice(DELTA_DAYS)
                nxt = OPEN_STAGES[min(OPEN_STAGES.index(stage) + 1, 3)]
                deltas[d].append(
                    {**row, "StageName": nxt, "SystemModstamp": dtstr(rand_time(rng, d))}
                )
        if stage == "Closed Won":
            crm.won.append((oid, owner, close, usd, dl.kind))
            if acct not in crm.first_wins or close < crm.first_wins[acct]:
                crm.first_wins[acct] = close
            if dl.kind == NEW_BUSINESS:
                sold[oid] = (owner, usd, cur)
        # Splits, team members and activities.
        closed_dt = rand_time(rng, close) if close <= FULL_EXPORT else None
        if stage == "Closed Won" and closed_dt is not None:
            others = [p.crm_user_id for p in reps if p.crm_user_id != owner]
            r = rng.random()
            if r < 0.10 and others:
                pct = rng.choice((50, 60, 70, 80))
                splits_full.append(split(oid, owner, f"{pct}.00", REVENUE_TYPE, closed_dt))
                o2 = rng.choice(others)
                splits_full.append(split(oid, o2, f"{100 - pct}.00", REVENUE_TYPE, closed_dt))
            elif r < 0.25:
                splits_full.append(split(oid, owner, "100.00", REVENUE_TYPE, closed_dt))
            if rng.random() < 0.06:
                team2 = rng.choice(SALES_TEAMS)
                ov = rng.choice(sales_reps_on(company, team2, close) or reps).crm_user_id
                splits_full.append(split(oid, ov, "100.00", OVERLAY_TYPE, closed_dt))
        mgr = company.manager_of(owner, min(close, FULL_EXPORT))
        mgr_crm = mgr.crm_user_id if mgr else ""
        win_days = max(1, (min(close, FULL_EXPORT) - created).days + 1)
        for _ in range(rng.randrange(0, 3)):
            d = created + timedelta(days=rng.randrange(win_days))
            if rng.random() < 0.7:
                events.append(event(oid, owner, d, rng, all_day=rng.random() < 0.05) + ["false"])
            else:
                tasks.append(task(oid, owner, d))
        if mgr_crm and close <= FULL_EXPORT:
            r = rng.random()
            if r < 0.15:
                otms.append(
                    [next_id("otm", "00qM"), oid, mgr_crm, "Sales Manager", dtstr(created_dt)]
                    + ["false"]
                )
            elif r < 0.35:
                d = created + timedelta(days=rng.randrange(win_days))
                if rng.random() < 0.5:
                    events.append(event(oid, mgr_crm, d, rng) + ["false"])
                else:
                    tasks.append(task(oid, mgr_crm, d))
            elif r < 0.42:
                # Involved, but outside the deal's window: no assist.
                d = created - timedelta(days=rng.randrange(3, 30))
                tasks.append(task(oid, mgr_crm, d))
        if rng.random() < 0.1 and len(reps) > 1:
            se = rng.choice(reps).crm_user_id
            if se != owner:
                otms.append(
                    [next_id("otm", "00qM"), oid, se, "Sales Engineer", dtstr(created_dt), "false"]
                )

    # New opportunities created on the delta days (only in the deltas).
    for k, d in enumerate(DELTA_DAYS):
        for j in range(1, 3 * scale + 1):
            oid = f"006N{k + 1}{j:06d}"
            acct = rng.choice(generic_accounts)
            team = account_team[acct]
            owner = rng.choice(sales_reps_on(company, team, d)).crm_user_id
            close = d + timedelta(days=rng.randrange(30, 120))
            cdt = rand_time(rng, d)
            usd = round(rng.uniform(5000, 60000), -2)
            kind = EXPANSION if acct in first_win else NEW_BUSINESS
            deltas[d].append(
                _opp(
                    oid,
                    f"{acct[-4:]} {KIND_LABEL[kind]} {close.year}",
                    acct,
                    owner,
                    _type_value(rng, kind),
                    "Prospecting",
                    f"{usd:.2f}",
                    "USD",
                    close,
                    cdt,
                    cdt,
                )
            )

    # ---------------------------------------------------------------- edge opportunities
    for suffix, owner, amount, cur, close, created in EDGE_OPPS:
        oid = f"006EDGE_{suffix}"
        acct = _edge_account(suffix)
        created_dt = at(created, 14, 30)
        close_d = date.fromisoformat(close) if suffix != "BAD_DATE" else date(2026, 2, 27)
        mod = at(close_d, 18, 0)
        row = _opp(
            oid,
            f"Edge {suffix}",
            acct,
            owner,
            EDGE_TYPES.get(suffix, "New Business"),
            "Closed Won",
            amount,
            cur,
            close,
            created_dt,
            mod,
            EDGE_PROMISES.get(suffix, ""),
        )
        if suffix == "REOPENED":
            full.append(row)
            deltas[DELTA_DAYS[0]].append(
                {
                    **row,
                    "StageName": "Negotiation",
                    "IsClosed": "false",
                    "IsWon": "false",
                    "CloseDate": "2026-12-18",
                    "SystemModstamp": "2026-11-19T14:15:00.000Z",
                }
            )
        elif suffix == "DELETED":
            full.append(row)
            deltas[DELTA_DAYS[1]].append(
                {**row, "IsDeleted": "true", "SystemModstamp": "2026-11-20T09:05:00.000Z"}
            )
        elif suffix == "LATE_WIN":
            full.append(
                {
                    **row,
                    "StageName": "Negotiation",
                    "IsClosed": "false",
                    "IsWon": "false",
                    "SystemModstamp": "2026-11-02T16:00:00.000Z",
                }
            )
            deltas[DELTA_DAYS[0]].append(
                {**row, "CloseDate": "2026-11-19", "SystemModstamp": "2026-11-19T17:40:00.000Z"}
            )
        elif suffix == "MODSTAMP_TIE":
            # Same SystemModstamp in both deltas: the file whose path sorts last wins (12000).
            full.append(
                {
                    **row,
                    "StageName": "Proposal",
                    "IsClosed": "false",
                    "IsWon": "false",
                    "SystemModstamp": "2026-11-03T16:00:00.000Z",
                }
            )
            won = {**row, "CloseDate": "2026-11-19", "SystemModstamp": "2026-11-19T20:00:00.000Z"}
            deltas[DELTA_DAYS[0]].append(won)
            deltas[DELTA_DAYS[1]].append({**won, "Amount": "12000.00"})
        elif suffix == "STALE_DELTA":
            # A re-sent older state in a later file: the greater SystemModstamp (won) stays.
            full.append(row)
            deltas[DELTA_DAYS[1]].append(
                {
                    **row,
                    "StageName": "Proposal",
                    "IsClosed": "false",
                    "IsWon": "false",
                    "SystemModstamp": "2026-10-01T12:00:00.000Z",
                }
            )
        else:
            full.append(row)

    def edge_split(sid, oid, owner, pct, typ, deleted="0", mod="2026-06-12"):
        return split(oid, owner, pct, typ, at(date.fromisoformat(mod), 19), deleted, sid)

    splits_full += [
        edge_split("149EDGE_SPLIT90_A", "006EDGE_SPLIT90", "005EAST001", "50.00", REVENUE_TYPE),
        edge_split("149EDGE_SPLIT90_B", "006EDGE_SPLIT90", "005EAST002", "40.00", REVENUE_TYPE),
        edge_split("149EDGE_OVERLAY_A", "006EDGE_OVERLAY", "005WEST001", "60.00", REVENUE_TYPE),
        edge_split("149EDGE_OVERLAY_B", "006EDGE_OVERLAY", "005WEST002", "40.00", REVENUE_TYPE),
        edge_split("149EDGE_OVERLAY_C", "006EDGE_OVERLAY", "005EMEA001", "100.00", OVERLAY_TYPE),
        edge_split("149EDGE_NOTYPE_A", "006EDGE_SPLIT_NOTYPE", "005EAST002", "70.00", ""),
        edge_split("149EDGE_NOTYPE_B", "006EDGE_SPLIT_NOTYPE", "005EAST003", "30.00", ""),
        edge_split(
            "149EDGE_SPLITDEL_A", "006EDGE_SPLIT_DELETED", "005WEST002", "50.00", REVENUE_TYPE
        ),
        edge_split(
            "149EDGE_SPLITDEL_B", "006EDGE_SPLIT_DELETED", "005WEST003", "50.00", REVENUE_TYPE
        ),
        edge_split(
            "149EDGE_SPLITDEL_C", "006EDGE_SPLIT_DELETED", "005WEST004", "20.00", REVENUE_TYPE
        ),
        edge_split("149EDGE_ORPHAN", "006EDGE_MISSING", "005EAST001", "100.00", REVENUE_TYPE),
    ]
    splits_delta.append(
        edge_split(
            "149EDGE_SPLITDEL_C",
            "006EDGE_SPLIT_DELETED",
            "005WEST004",
            "20.00",
            REVENUE_TYPE,
            deleted="1",
            mod="2026-11-20",
        )
    )

    def ev(eid, oid, owner, *, dt="", d="", all_day=False, deleted=False):
        mod = (dt or d)[:10] + "T23:00:00.000Z"
        return [
            eid,
            oid,
            owner,
            "Deal review",
            dt,
            d,
            b(all_day),
            "1440" if all_day else "30",
            mod,
            b(deleted),
        ]

    def tk(tid, oid, owner, d):
        return [tid, oid, owner, "Pricing call", d, "Completed", d + "T22:00:00.000Z", "false"]

    otms += [
        [
            "00qEDGE_ASSIST_OTM",
            "006EDGE_ASSIST_OTM",
            "005MGR_EAST",
            "Sales Manager",
            "2026-04-02T10:00:00.000Z",
            "false",
        ],
        [
            "00qEDGE_ASSIST_BOTH",
            "006EDGE_ASSIST_BOTH",
            "005MGR_WEST",
            "Sales Manager",
            "2026-03-17T10:00:00.000Z",
            "false",
        ],
        [
            "00qEDGE_MOVER_EAST",
            "006EDGE_MOVER_EAST",
            "005MGR_EAST",
            "Sales Manager",
            "2026-06-23T10:00:00.000Z",
            "false",
        ],
        [
            "00qEDGE_PROMOTED_TEAM",
            "006EDGE_PROMOTED_TEAM",
            "005EDGE_PROMOTED",
            "Sales Manager",
            "2026-05-06T10:00:00.000Z",
            "false",
        ],
        [
            "00qEDGE_ORPHAN",
            "006EDGE_DELETED",
            "005MGR_WEST",
            "Sales Manager",
            "2026-08-06T10:00:00.000Z",
            "false",
        ],
    ]
    events += [
        ev(
            "00UEDGE_ASSIST_EVENT",
            "006EDGE_ASSIST_EVENT",
            "005MGR_EAST",
            dt="2026-06-02T15:00:00.000Z",
            d="2026-06-02",
        ),
        # 02:30 UTC on the 15th is 22:30 on the 14th (close date) in New York: counts.
        ev(
            "00UEDGE_ASSIST_EVENT_TZ",
            "006EDGE_ASSIST_EVENT_TZ",
            "005MGR_EAST",
            dt="2026-08-15T02:30:00.000Z",
            d="2026-08-14",
        ),
        ev(
            "00UEDGE_ASSIST_ALLDAY",
            "006EDGE_ASSIST_ALLDAY",
            "005MGR_EAST",
            d="2026-09-18",
            all_day=True,
        ),
        ev(
            "00UEDGE_NO_ASSIST_EARLY",
            "006EDGE_NO_ASSIST",
            "005MGR_EAST",
            dt="2026-08-20T15:00:00.000Z",
            d="2026-08-20",
        ),
        ev(
            "00UEDGE_NO_ASSIST_DELETED",
            "006EDGE_NO_ASSIST",
            "005MGR_EAST",
            dt="2026-09-10T15:00:00.000Z",
            d="2026-09-10",
            deleted=True,
        ),
        ev(
            "00UEDGE_NO_ASSIST_REP",
            "006EDGE_NO_ASSIST",
            "005EAST003",
            dt="2026-09-15T15:00:00.000Z",
            d="2026-09-15",
        ),
    ]
    tasks += [
        tk("00TEDGE_ASSIST_TASK", "006EDGE_ASSIST_TASK", "005MGR_WEST", "2026-09-30"),
        tk("00TEDGE_ASSIST_BOTH", "006EDGE_ASSIST_BOTH", "005MGR_WEST", "2026-04-15"),
        tk("00TEDGE_NO_ASSIST_LATE", "006EDGE_NO_ASSIST", "005MGR_EAST", "2026-10-30"),
        tk("00TEDGE_MOVER_EMEA", "006EDGE_MOVER_EMEA", "005MGR_EMEA", "2026-09-10"),
    ]

    # ---------------------------------------------------------------- users and reference data
    users = []
    for p in company.people:
        if not p.crm_user_id:
            continue
        first = p.rows[0]
        last = p.rows[-1]
        mgr = company.by_id.get(last.manager_person_id)
        users.append(
            [
                p.crm_user_id,
                p.name,
                p.email,
                last.role.replace("_", " ").title(),
                mgr.crm_user_id if mgr else "",
                b(last.valid_to is None),
                dtstr(at(first.valid_from, 14)),
                dtstr(at(last.valid_to or first.valid_from, 14)),
                "false",
            ]
        )
    users.append(
        [
            UNMAPPED_USER,
            "Channel Partner Integration",
            "partner-sync@quotaboard.example",
            "Integration User",
            "",
            "true",
            "2025-01-01T14:00:00.000Z",
            "2025-01-01T14:00:00.000Z",
            "false",
        ]
    )

    split_types = [
        [
            REVENUE_TYPE,
            "Revenue",
            "Revenue",
            "Amount",
            "true",
            "true",
            "2024-12-01T12:00:00.000Z",
            "false",
        ],
        [
            OVERLAY_TYPE,
            "Overlay",
            "Overlay",
            "Amount",
            "false",
            "true",
            "2024-12-01T12:00:00.000Z",
            "false",
        ],
    ]
    dcr = []
    for iso, rates in DATED_RATES.items():
        for k, (start, rate) in enumerate(zip(RATE_STARTS, rates, strict=True)):
            nxt = RATE_STARTS[k + 1] if k + 1 < len(RATE_STARTS) else date(9999, 12, 31)
            dcr.append(
                [
                    f"04w{iso}{k:03d}",
                    iso,
                    f"{rate:.6f}",
                    dstr(start),
                    dstr(nxt),
                    dtstr(at(start, 6)),
                    "false",
                ]
            )
    currencies = [
        [
            f"02x{iso}",
            iso,
            f"{rate:.6f}",
            "0" if iso == "JPY" else "2",
            "true",
            b(iso == "USD"),
            "2024-12-01T12:00:00.000Z",
            "false",
        ]
        for iso, rate in STATIC_RATES.items()
    ]

    def rows_of(dicts: list[dict], cols: list[str]) -> list[list[str]]:
        return [[r[c] for c in cols] for r in sorted(dicts, key=lambda r: r["Id"])]

    by_id = lambda rows: sorted(rows, key=lambda r: r[0])  # noqa: E731
    f = crm.files
    f["crm/User.csv"] = (USER_COLS, by_id(users))
    f["crm/Account.csv"] = (ACCOUNT_COLS, rows_of(accounts, ACCOUNT_COLS))
    f[f"crm/Opportunity/{dstr(FULL_EXPORT)}-full.csv"] = (OPP_COLS, rows_of(full, OPP_COLS))
    for d, rows in deltas.items():
        # Keep file order (MODSTAMP_TIE relies on the later file), rows sorted by Id.
        f[f"crm/Opportunity/{dstr(d)}-delta.csv"] = (OPP_COLS, rows_of(rows, OPP_COLS))
    f[f"crm/opportunity_split/{dstr(FULL_EXPORT)}-full.csv"] = (SPLIT_COLS, by_id(splits_full))
    f[f"crm/opportunity_split/{dstr(DELTA_DAYS[1])}-delta.csv"] = (SPLIT_COLS, splits_delta)
    f["crm/OpportunitySplitType.csv"] = (SPLIT_TYPE_COLS, split_types)
    f["crm/OpportunityTeamMember.csv"] = (OTM_COLS, by_id(otms))
    f["crm/Event.csv"] = (EVENT_COLS, by_id(events))
    f["crm/Task.csv"] = (TASK_COLS, by_id(tasks))
    f["crm/DatedConversionRate.csv"] = (DCR_COLS, dcr)
    f["crm/CurrencyType.csv"] = (CURRENCY_COLS, currencies)

    for suffix, _owner, _amount, _cur, close, _ in EDGE_OPPS:
        if suffix in ("REOPENED", "DELETED", "FUTURE", "BAD_DATE", "MODSTAMP_TIE"):
            continue
        if suffix in EDGE_TYPES or suffix in HELD_EDGES:
            continue  # no new logo: not new business, or held
        acct = _edge_account(suffix)
        c = date.fromisoformat("2026-11-19" if suffix == "LATE_WIN" else close)
        if acct not in crm.first_wins or c < crm.first_wins[acct]:
            crm.first_wins[acct] = c
    return crm
