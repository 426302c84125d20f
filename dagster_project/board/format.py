"""How the board writes numbers and statuses (one place, so page and docs agree).

- Attainment and shares: a percentage with one decimal, ``82.5%``; no value is ``no quota``
  for an attainment (never ``0%``) and an em dash elsewhere.
- Pace: a multiple of time elapsed, ``1.05×``.
- Targets and actuals: thousands separators; currency and counts without decimals, ratios with
  two. The unit is the published row's (``fct_quota_attainment.unit``, which dbt takes from the
  metric registry), never guessed from the metric's name.
- Metric names: the registry's label (``dagster_project.metric_registry``).
"""

from __future__ import annotations

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
NO_QUOTA_COLOUR = "#9ca3af"

PERIOD_TYPE_LABELS = {"year": "Fiscal years", "quarter": "Quarters", "month": "Months"}


def pct(value: float | None, *, empty: str = NO_VALUE) -> str:
    """``0.825`` -> ``82.5%``; None -> ``empty``."""
    return empty if value is None else f"{value * 100:.1f}%"


def attainment(value: float | None) -> str:
    """An attainment: a percentage, or ``no quota`` when there is none (never 0 %)."""
    return pct(value, empty=NO_QUOTA)


def pace(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.2f}×"


def amount(value: float | None, unit: str | None) -> str:
    if value is None:
        return NO_VALUE
    if unit == "ratio":
        return f"{value:,.2f}"
    if unit == "count" and value != round(value):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def status_key(status: str | None) -> str:
    """A CSS-safe status key: a known status, ``none`` for no quota, else ``unknown``."""
    if status is None:
        return "none"
    return status if status in STATUS_LABELS else "unknown"


def status_label(status: str | None) -> str:
    if status is None:
        return "No quota"
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def status_colour(status: str | None) -> str:
    if status is None:
        return NO_QUOTA_COLOUR
    return STATUS_COLOURS.get(status, NO_QUOTA_COLOUR)


def metric_label(metric: str) -> str:
    """The metric's label in the metric registry (``feature_adopting_accounts`` ->
    ``Feature-adopting accounts``); a name the registry does not know (a metric since removed,
    in an old run's history) is made readable: ``some_metric`` -> ``Some metric``."""
    return label_of(metric)
