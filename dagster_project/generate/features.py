"""Product features: who owns them (effective-dated) and when each was released.

One table feeds the messages (which feature an event may use on a day), the promise field of
the opportunities (released or not on a deal's CloseDate) and ``feature_ownership.csv``
(input-contract section 3, 1.1 columns ``valid_from``, ``valid_to``, ``released_on``).
"""

from __future__ import annotations

from datetime import date

# feature -> owning team before any move. "Report Exported" is an event name used as the
# feature (no properties.feature); "Beta Lab" appears in events but nobody owns it.
FEATURES: dict[str, str] = {
    "Dashboards": "product_growth",
    "Onboarding Checklist": "product_growth",
    "Report Exported": "product_growth",
    "AI Assistant": "product_growth",
    "Slack Integration": "product_integrations",
    "Salesforce Sync": "product_integrations",
    "Zapier Connector": "product_integrations",
    "Workspace Settings": "product",
    "API Access": "rnd_platform",
    "Webhooks": "rnd_platform",
    "SSO": "rnd_platform",
    "Mobile App": "rnd_mobile",
    "Push Notifications": "rnd_mobile",
    "Audit Log": "rnd",
}

# General availability. Most features shipped long before the data starts (2025-02-01); Audit
# Log and Push Notifications ship during it; AI Assistant is in private beta (None: not
# released, ``released_on`` empty), used by one design partner only.
RELEASED_ON: dict[str, date | None] = {
    "Dashboards": date(2019, 4, 2),
    "Onboarding Checklist": date(2021, 9, 14),
    "Report Exported": date(2019, 4, 2),
    "AI Assistant": None,
    "Slack Integration": date(2020, 6, 9),
    "Salesforce Sync": date(2020, 11, 17),
    "Zapier Connector": date(2022, 3, 8),
    "Workspace Settings": date(2019, 4, 2),
    "API Access": date(2019, 10, 1),
    "Webhooks": date(2021, 2, 23),
    "SSO": date(2022, 8, 30),
    "Mobile App": date(2023, 5, 16),
    "Push Notifications": date(2026, 6, 15),
    "Audit Log": date(2025, 10, 6),
}

# The one ownership move: the platform team takes over the sync engine in the middle of
# FY2027-Q3. product_integrations owns it until MOVE_DAY (exclusive), rnd_platform from then.
MOVED_FEATURE = "Salesforce Sync"
MOVED_TO = "rnd_platform"
MOVE_DAY = date(2026, 8, 17)

# Features released during the data: generic events before the release use a feature that
# existed then (customers cannot use what has not shipped).
BEFORE_RELEASE: dict[str, str] = {
    "Audit Log": "Workspace Settings",
    "Push Notifications": "Mobile App",
}

# What sales promise to win a deal (the promise field): enterprise asks, weighted.
PROMISABLE: dict[str, int] = {
    "SSO": 9,
    "API Access": 7,
    "Salesforce Sync": 7,
    "Audit Log": 6,
    "Webhooks": 5,
    "Dashboards": 4,
    "Mobile App": 4,
    "Push Notifications": 4,
    "Slack Integration": 3,
    "Zapier Connector": 2,
    "AI Assistant": 3,
}


def owner_on(feature: str, d: date) -> str | None:
    """The team owning a feature on day d (None: nobody owns it)."""
    if feature == MOVED_FEATURE and d >= MOVE_DAY:
        return MOVED_TO
    return FEATURES.get(feature)


def released(feature: str, d: date) -> bool:
    """Released on or before d (metrics.md section 11)."""
    rel = RELEASED_ON.get(feature)
    return rel is not None and rel <= d


def ownership_rows() -> list[list[str]]:
    """``feature_ownership.csv`` rows: feature, team_id, valid_from, valid_to, released_on."""
    rows = []
    for feature, team in sorted(FEATURES.items()):
        rel = RELEASED_ON[feature]
        rel_s = rel.isoformat() if rel else ""
        if feature == MOVED_FEATURE:
            move = MOVE_DAY.isoformat()
            rows.append([feature, team, "", move, rel_s])
            rows.append([feature, MOVED_TO, move, "", rel_s])
        else:
            rows.append([feature, team, "", "", rel_s])
    return rows
