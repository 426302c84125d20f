"""Shared constants and small helpers of the generator (fixed dates, never the wall clock)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

# The fictional company's timeline. FY2026 = 2025-02-01..2026-01-31, FY2027 = 2026-02-01..
# 2027-01-31 (fiscal_year_start_month 2). Data runs up to DATA_END, so `--as-of 2026-11-23`
# (or any later day) sees it all.
DATA_START = date(2025, 2, 1)
PLAN_END = date(2027, 1, 31)
FULL_EXPORT = date(2026, 11, 18)  # the full CRM export; then one delta per day
DELTA_DAYS = (date(2026, 11, 19), date(2026, 11, 20))
DATA_END = DELTA_DAYS[-1]
ORG_START = date(2025, 1, 1)  # most people are in seat from here

CORPORATE = "USD"


def rng_for(seed: int, part: str) -> random.Random:
    """One independent, deterministic stream per part (str seeds hash with SHA-512)."""
    return random.Random(f"quotaboard:{seed}:{part}")


def dstr(d: date) -> str:
    return d.isoformat()


def dtstr(dt: datetime) -> str:
    """ISO 8601 UTC datetime as Salesforce exports it."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def at(d: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, second)


def rand_time(rng: random.Random, d: date, lo_hour: int = 13, hi_hour: int = 23) -> datetime:
    """A datetime on UTC day d inside business hours of New York (roughly)."""
    return at(d, 0) + timedelta(seconds=rng.randrange(lo_hour * 3600, hi_hour * 3600))


def fiscal_quarter(d: date) -> str:
    offset = (d.month - 2) % 12
    fy = d.year + 1 if d.month >= 2 else d.year
    return f"FY{fy}-Q{offset // 3 + 1}"


def fiscal_year(d: date) -> str:
    return f"FY{d.year + 1 if d.month >= 2 else d.year}"


QUARTERS = {
    "FY2026-Q1": (date(2025, 2, 1), date(2025, 4, 30)),
    "FY2026-Q2": (date(2025, 5, 1), date(2025, 7, 31)),
    "FY2026-Q3": (date(2025, 8, 1), date(2025, 10, 31)),
    "FY2026-Q4": (date(2025, 11, 1), date(2026, 1, 31)),
    "FY2027-Q1": (date(2026, 2, 1), date(2026, 4, 30)),
    "FY2027-Q2": (date(2026, 5, 1), date(2026, 7, 31)),
    "FY2027-Q3": (date(2026, 8, 1), date(2026, 10, 31)),
    "FY2027-Q4": (date(2026, 11, 1), date(2027, 1, 31)),
}


@dataclass
class Membership:
    team_id: str
    role: str
    manager_person_id: str
    valid_from: date
    valid_to: date | None = None  # exclusive; None = open

    def contains(self, d: date) -> bool:
        return self.valid_from <= d and (self.valid_to is None or d < self.valid_to)


@dataclass
class Person:
    person_id: str
    name: str
    crm_user_id: str  # "" for people who are not CRM users
    rows: list[Membership] = field(default_factory=list)

    def at(self, d: date) -> Membership | None:
        for row in self.rows:
            if row.contains(d):
                return row
        return None

    @property
    def email(self) -> str:
        return self.name.lower().replace(" ", ".").replace("'", "") + "@quotaboard.example"
