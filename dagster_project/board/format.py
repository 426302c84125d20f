"""How the board writes numbers, statuses and codes (one place, so page and docs agree).

- Attainment and shares: a percentage with one decimal, ``82.5%``; no value is ``no quota``
  for an attainment (never ``0%``) and an em dash elsewhere.
- Money: in the corporate currency (``settings.corporate_currency``), short: ``$1.2M``,
  ``€340k``, ``$950``; a currency without a symbol is written before the number
  (``CHF 1.2M``). Counts are integers with thousands separators (``1,204``). The unit is the
  published row's (``fct_quota_attainment.unit``, from the metric registry), never guessed
  from the metric's name.
- Pace is said in words: "on pace for 95.2% of target by 31 Jan 2027".
- Metric names: the registry's label (``dagster_project.metric_registry``); exception reasons,
  credit rules and sources: plain words (:data:`REASONS`, :data:`RULES`), never snake_case.
"""

from __future__ import annotations

import math
import re
from datetime import date

from dagster_project.metric_registry import label_of

NO_QUOTA = "no quota"
NO_VALUE = "—"

STATUS_LABELS = {
    "on_track": "On track",
    "at_risk": "At risk",
    "behind": "Behind",
    "achieved": "Achieved",
    "missed": "Missed",
    "not_started": "Not started",
}
STATUS_COLOURS = {
    "on_track": "#1a7f37",
    "achieved": "#1a7f37",
    "at_risk": "#b7791f",
    "behind": "#c62828",
    "missed": "#c62828",
    "not_started": "#6b7280",
}
# A shape beside the colour, so status never depends on colour alone (also in print).
STATUS_SYMBOLS = {
    "on_track": "✓",
    "achieved": "✓",
    "at_risk": "!",
    "behind": "✗",
    "missed": "✗",
    "not_started": "○",
}
NO_QUOTA_COLOUR = "#9ca3af"

PERIOD_TYPE_LABELS = {"year": "Fiscal years", "quarter": "Quarters", "month": "Months"}

CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "SGD": "S$",
    "HKD": "HK$",
    "BRL": "R$",
}

# Exception reasons (metrics.md §7) in plain words: what happened, and who can fix it.
REASONS: dict[str, tuple[str, str, str]] = {
    # reason: (short label, what it means for the numbers, who can fix it)
    "missing_fx_rate": (
        "No exchange rate",
        "Won deals in a currency with no exchange rate on their close date earn no credit.",
        "Finance: add the rate to the CRM's dated exchange rates",
    ),
    "split_total_not_100": (
        "Splits don't add to 100 %",
        "Won deals whose revenue splits do not add up to 100 % are credited to their owner.",
        "Sales operations: correct the splits in the CRM",
    ),
    "orphan_split": (
        "Split of a missing deal",
        "Splits or deal-team entries point at a deal that does not exist or was deleted.",
        "Sales operations: remove or re-attach them in the CRM",
    ),
    "unmapped_crm_user": (
        "CRM user with no person",
        "Credits would go to a CRM user that no person carries, so nobody gets them.",
        "RevOps: add the CRM user id to the person in people.csv",
    ),
    "won_without_amount": (
        "Won without an amount",
        "Won deals without an amount earn no bookings.",
        "The deal owner: enter the amount in the CRM",
    ),
    "negative_amount": (
        "Negative amount",
        "Won deals with an amount below zero earn no bookings.",
        "The deal owner or sales operations: fix the amount in the CRM",
    ),
    "close_date_in_future": (
        "Won with a future close date",
        "Deals marked won with a close date still to come count once that day comes.",
        "The deal owner: correct the close date if it is wrong",
    ),
    "bad_event": (
        "Unreadable product event",
        "Product events that cannot be read (not JSON, or no id or time) count for nothing.",
        "The product analytics team: fix the event tracking",
    ),
    "duplicate_event": (
        "Duplicate product event",
        "Extra copies of product events were dropped; each event counts once.",
        "Nobody needs to: duplicates are dropped automatically",
    ),
    "unattributed_event": (
        "Event without an account",
        "Product events without an account count for no account-based metric.",
        "The product analytics team: send the account with each event",
    ),
    "not_in_seat": (
        "Quota for someone not in seat",
        "Quota rows name a person who was not in seat on any day of the period.",
        "RevOps: fix the quota plan or the person's dates in people.csv",
    ),
    "unknown_opportunity_type": (
        "Unknown deal type",
        "Won deals whose Type is not mapped to new business, expansion or renewal.",
        "RevOps: add the type to opportunity_types in settings.yml",
    ),
    "promised_unreleased_feature": (
        "Promised an unreleased feature",
        "Won deals that promised a feature the product did not have when they closed "
        "(held: no credit).",
        "Sales leadership with the product team: decide, and credit it by adjustment if agreed",
    ),
    "invalid_value": (
        "Unreadable value",
        "Values in the CRM or event files that do not read as their type were left out.",
        "Whoever owns the source system: correct the value",
    ),
}

RULES = {
    "revenue_split": "revenue split",
    "owner": "deal owner",
    "owner_fallback": "deal owner (splits didn't add up)",
    "overlay_split": "overlay split",
    "first_win": "first win of a new customer",
    "assist_team_member": "manager on the deal team",
    "assist_activity": "manager's meeting or task on the deal",
    "rollup": "a direct report's deal",
    "team_member": "deal of a team member",
    "manual_adjustment": "manual adjustment",
    "feature_influence": "account used the team's features before buying",
    "active_account": "account active in the period",
    "feature_adoption": "account used the team's features",
    "install": "install event",
    "activation": "account activated after its first deal",
}
SOURCE_TYPES = {
    "opportunity": "Deal",
    "adjustment": "Adjustment",
    "account": "Account",
    "message": "Event",
    "messages": "Event file",
    "quota_plan": "Quota plan row",
}
BOOKING_TYPES = {"new_business": "new business", "expansion": "expansion", "renewal": "renewal"}


def words(code: str | None) -> str:
    """A code in plain words: ``sales_management`` -> ``sales management``."""
    return "" if code is None else str(code).replace("_", " ")


def pct(value: float | None, *, empty: str = NO_VALUE) -> str:
    """``0.825`` -> ``82.5%``; None -> ``empty``."""
    return empty if value is None else f"{value * 100:.1f}%"


def attainment(value: float | None) -> str:
    """An attainment: a percentage, or ``no quota`` when there is none (never 0 %)."""
    return pct(value, empty=NO_QUOTA)


def points(delta: float | None) -> str:
    """A change of attainment in percentage points: ``+3.2 pts``, ``−0.4 pts``, ``no change``."""
    if delta is None:
        return NO_VALUE
    value = delta * 100
    if abs(value) < 0.05:
        return "no change"
    sign = "+" if value > 0 else "−"
    return f"{sign}{abs(value):.1f} pts"


def pace(value: float | None) -> str:
    """A pace as the share of target it projects to: ``1.05`` -> ``105.0%``."""
    return pct(value)


def currency_symbol(currency: str | None) -> tuple[str, str]:
    """(prefix, suffix) for amounts in ``currency``: ``$`` for USD, ``CHF `` for CHF."""
    if not currency:
        return "", ""
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    return (symbol, "") if symbol else (f"{code} ", "")


def short_number(value: float) -> str:
    """``1_234_567`` -> ``1.2M``, ``340_000`` -> ``340k``, ``9_500`` -> ``9.5k``, ``950`` ->
    ``950`` (one significant decimal under 10 of a unit, none above)."""
    magnitude = abs(value)
    for factor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= factor * 0.9995:
            scaled = value / factor
            text = f"{scaled:.1f}" if abs(scaled) < 9.95 else f"{scaled:,.0f}"
            return text.removesuffix(".0") + suffix
    return f"{value:,.0f}"


def money(value: float | None, currency: str | None, *, exact: bool = False) -> str:
    """An amount in the corporate currency: ``$1.2M``, ``€340k``, ``−$5k``; ``exact`` writes
    every unit (``$21,000``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NO_VALUE
    prefix, suffix = currency_symbol(currency)
    sign = "−" if value < 0 and round(abs(value)) > 0 else ""
    body = f"{abs(value):,.0f}" if exact else short_number(abs(value))
    return f"{sign}{prefix}{body}{suffix}"


def count(value: float | None) -> str:
    """A count: an integer with thousands separators."""
    if value is None:
        return NO_VALUE
    return f"{round(value):,}"


def amount(value: float | None, unit: str | None, currency: str | None = None, **kw) -> str:
    """A target, actual or projection in its unit: money for ``currency``, else a count."""
    if unit == "currency":
        return money(value, currency, **kw)
    if unit == "ratio":
        return NO_VALUE if value is None else f"{value:,.2f}"
    return count(value)


def signed_amount(value: float | None, unit: str | None, currency: str | None = None) -> str:
    """A change of an amount: ``+$21k``, ``−3``, ``no change``."""
    if value is None:
        return NO_VALUE
    if abs(value) < 0.5:
        return "no change"
    return ("+" if value > 0 else "") + amount(value, unit, currency).replace("−", "−")


def status_key(status: str | None) -> str:
    """A CSS-safe status key: a known status, ``none`` for no quota, else ``unknown``."""
    if status is None:
        return "none"
    return status if status in STATUS_LABELS else "unknown"


def status_label(status: str | None) -> str:
    if status is None:
        return "No quota"
    return STATUS_LABELS.get(status, words(status).capitalize())


def status_symbol(status: str | None) -> str:
    return STATUS_SYMBOLS.get(status or "", "–")


def status_colour(status: str | None) -> str:
    if status is None:
        return NO_QUOTA_COLOUR
    return STATUS_COLOURS.get(status, NO_QUOTA_COLOUR)


def metric_label(metric: str) -> str:
    """The metric's label in the metric registry (``feature_adopting_accounts`` ->
    ``Feature-adopting accounts``); a name the registry does not know (a metric since removed,
    in an old run's history) is made readable: ``some_metric`` -> ``Some metric``."""
    return label_of(metric)


def reason_label(reason: str) -> str:
    known = REASONS.get(reason)
    return known[0] if known else words(reason).capitalize()


def reason_sentence(reason: str) -> str:
    """What the reason means for the numbers, in one sentence."""
    known = REASONS.get(reason)
    return known[1] if known else f"Rows left out of the metrics: {words(reason)}."


def reason_fixer(reason: str) -> str:
    known = REASONS.get(reason)
    return known[2] if known else "RevOps: look at the list below"


def rule_label(rule: str | None) -> str:
    return RULES.get(rule or "", words(rule))


def source_label(source_type: str | None) -> str:
    return SOURCE_TYPES.get(source_type or "", words(source_type).capitalize())


def booking_type_label(booking_type: str | None) -> str:
    return BOOKING_TYPES.get(booking_type or "", words(booking_type))


def day(value: date | None) -> str:
    """``2027-01-31`` -> ``31 Jan 2027``."""
    return NO_VALUE if value is None else f"{value.day} {value:%b %Y}"


def short_day(value: date | None) -> str:
    """``2027-01-31`` -> ``31 Jan``."""
    return NO_VALUE if value is None else f"{value.day} {value:%b}"


def humanise_names(text: str | None, names: dict[str, str]) -> str | None:
    """Narratives written with a team's id (``The sales apac regional plan``) read with the
    team's name (``The Sales APAC regional plan``): every team id, spelled with underscores or
    spaces, as a whole word, is replaced by the team's name (longest ids first)."""
    if not text:
        return text
    for team_id in sorted(names, key=len, reverse=True):
        if "_" not in team_id:
            continue  # a one-word id ("product") is an ordinary word in a sentence
        spelled = re.escape(team_id).replace("_", "[ _]")
        text = re.sub(rf"(?i)\b{spelled}\b", lambda _m, n=names[team_id]: n, text)
    return text


def humanise_detail(text: str | None, names: dict[str, str], currency: str | None) -> str:
    """An exception's detail for people: ``bookings 21000.0`` -> ``Bookings $21,000``,
    ``new_logos 1.0`` -> ``New logos 1``, ``amount -4500.0`` -> ``amount −$4,500``, a team id
    -> its name, a credit rule -> its plain words."""
    if not text:
        return ""
    from dagster_project.metric_registry import registry

    metrics = registry()

    def metric_amount(match: re.Match) -> str:
        metric = metrics[match.group(1)]
        value = float(match.group(2))
        return f"{metric.label} {amount(value, metric.unit, currency, exact=True)}"

    if metrics:
        alternatives = "|".join(sorted(map(re.escape, metrics), key=len, reverse=True))
        text = re.sub(rf"\b({alternatives}) (-?\d+(?:\.\d+)?)\b", metric_amount, text)
    text = re.sub(
        r"\bamount (-?\d+(?:\.\d+)?)\b",
        lambda m: f"amount {money(float(m.group(1)), currency, exact=True)}",
        text,
    )
    text = humanise_names(text, names) or ""
    for team_id, name in names.items():  # one-word ids where they name a team: "(rnd, ..."
        text = re.sub(rf"\(({re.escape(team_id)}),", lambda _m, n=name: f"({n},", text)
    for rule, label in RULES.items():
        if "_" in rule:
            text = re.sub(rf"\b{re.escape(rule)}\b", label, text)
    return text
