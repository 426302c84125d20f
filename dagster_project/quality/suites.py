"""The Great Expectations suites of Quotaboard, as data.

The suites live as JSON under ``expectations/gx/expectations/<suite>.json`` (a GX file context,
under version control); that JSON is what the runner validates with. This module is how the
JSON is written: edit it, then run ``python -m dagster_project.quality.suites`` (the tests fail
when the JSON and this module disagree). No GX import here.

Severity (GX's own ``severity`` field): ``critical`` = ERROR, blocks publishing (a failure means a
published number would be wrong); ``warning`` = WARN (what the contract already turns into an
exception row, metrics.md §7). Each expectation's ``meta`` says which published columns it
protects; ``docs/guards.md`` lists them all.

What the suites know about metrics (names, units, who may carry them, credit rules) comes from
the metric registry (``dagster_project.metric_registry``, the ``metrics`` var of
``dbt/dbt_project.yml``): a change there changes the suites, and the committed JSON must be
regenerated.

Columns whose name contains ``__`` are computed by the SQL that reads the batch
(``dagster_project.quality.batches``): ``<col>__parses`` (non-empty text that parses as its
type, else False; NULL when empty), ``<col>__lower`` (trimmed, lower case), ``<col>__num`` (the
parsed number), ``age_hours`` (freshness).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dagster_project import metric_registry
from dagster_project.ingest.schema import CRM_OBJECTS, LINEAGE_COLUMNS, MESSAGES_TABLE

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SUITES_DIR = EXPECTATIONS_DIR / "gx" / "expectations"

ERROR = "critical"
WARN = "warning"

# Typed columns of each raw CRM table (mirrors dbt/macros/crm_parsing.sql).
CRM_TYPES: dict[str, dict[str, str]] = {
    "user": {"is_active": "boolean", "is_deleted": "boolean", "system_modstamp": "timestamp"},
    "account": {
        "created_date": "timestamp",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "opportunity": {
        "amount": "number",
        "close_date": "date",
        "is_closed": "boolean",
        "is_won": "boolean",
        "created_date": "timestamp",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "opportunity_split": {
        "split_percentage": "number",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "opportunity_split_type": {
        "is_total_validated": "boolean",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "opportunity_team_member": {"is_deleted": "boolean", "system_modstamp": "timestamp"},
    "event": {
        "activity_date_time": "timestamp",
        "activity_date": "date",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "task": {"activity_date": "date", "is_deleted": "boolean", "system_modstamp": "timestamp"},
    "dated_conversion_rate": {
        "conversion_rate": "number",
        "start_date": "date",
        "next_start_date": "date",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
    "currency_type": {
        "conversion_rate": "number",
        "is_corporate": "boolean",
        "is_active": "boolean",
        "is_deleted": "boolean",
        "system_modstamp": "timestamp",
    },
}
# Text columns that hold a 3-letter ISO currency code.
CURRENCY_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunity": ("currency_iso_code",),
    "dated_conversion_rate": ("iso_code",),
    "currency_type": ("iso_code",),
}
# Numbers that must lie in a range: (column, min, max, strict_min), all ERROR.
NUMBER_RANGES: dict[str, tuple[tuple[str, float | None, float | None, bool], ...]] = {
    "opportunity_split": (("split_percentage", 0, 100, False),),
    "dated_conversion_rate": (("conversion_rate", 0, None, True),),
    "currency_type": (("conversion_rate", 0, None, True),),
}
# Team functions whose metrics are fed by product-usage messages (metrics.md §2).
PRODUCT_FUNCTIONS = ("product", "rnd")


def product_metrics() -> tuple[str, ...]:
    """The registry's metrics carried by product and R&D teams (fed by messages)."""
    return tuple(
        m.name
        for m in metric_registry.registry().values()
        if m.functions and set(m.functions) <= set(PRODUCT_FUNCTIONS)
    )


def metrics_with_rule(rule: str) -> tuple[str, ...]:
    return tuple(m.name for m in metric_registry.registry().values() if rule in m.rules)


# Published columns each raw table feeds (for meta / docs).
RAW_PROTECTS: dict[str, str] = {
    "user": "fct_quota_credits.assignee_id (via people.crm_user_id), dim_people",
    "account": f"{', '.join(metrics_with_rule('first_win'))} credits (first win), "
    f"product attribution ({', '.join(product_metrics())})",
    "opportunity": "fct_quota_credits.amount, fct_quota_attainment.actual/attainment",
    "opportunity_split": "fct_quota_credits.amount (revenue_split, overlay_split)",
    "opportunity_split_type": "fct_quota_credits.rule (revenue_split vs overlay_split)",
    "opportunity_team_member": "fct_quota_credits (team_member, assist_team_member)",
    "event": "fct_quota_credits (assist_activity)",
    "task": "fct_quota_credits (assist_activity)",
    "dated_conversion_rate": "fct_quota_credits.amount (currency conversion)",
    "currency_type": "fct_quota_credits.amount (currency conversion)",
    "messages": f"product credits: {', '.join(product_metrics())}",
}

BOOLEAN_VALUES = ["true", "false", "1", "0"]
MESSAGE_TYPES = ["track", "identify", "group", "page", "screen"]
STATUSES = ["achieved", "missed", "on_track", "at_risk", "behind", "not_started"]
EXCEPTION_REASONS = [
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
ASSIGNEE_TYPES = list(metric_registry.ASSIGNEE_TYPES)
TEAM_FUNCTIONS = list(metric_registry.TEAM_FUNCTIONS)
CREDIT_SOURCE_TYPES = ["opportunity", "account", "message", "adjustment"]
# Booking type of an opportunity (input-contract §1, settings.opportunity_types; a Type the map
# does not name is `other`); credit lines whose source is not an opportunity carry null.
BOOKING_TYPES = ["new_business", "expansion", "renewal", "other"]
# A promised feature of a won opportunity (metrics.md §11).
PROMISE_STATUSES = ["released", "unreleased", "unknown_feature"]
BOOLEANS = [True, False]


def metric_names() -> list[str]:
    return list(metric_registry.metric_names())


def credit_rules() -> list[str]:
    """Every credit rule of the registry, manual_adjustment (any metric) last."""
    return list(metric_registry.credit_rules())


def metric_units() -> list[list[str]]:
    """(metric, unit) of every metric of the registry."""
    return [[m.name, m.unit] for m in metric_registry.registry().values()]


def metric_assignee_types() -> list[list[str]]:
    """(assignee_type, metric) pairs the registry allows (metrics.md §2, Validity)."""
    return [
        [assignee_type, m.name]
        for m in metric_registry.registry().values()
        for assignee_type in m.assignee_types
    ]


FRESHNESS_SUITE = "freshness"
MART_MODELS = (
    "fct_quota_attainment",
    "fct_scorecards",
    "fct_quota_credits",
    "fct_quota_exceptions",
    "mart_team_board",
    "dim_people",
    "dim_teams",
    "fct_attainment_history",
    "fct_promises",
    "fct_post_close_changes",
)


def landing_suite_name(table: str) -> str:
    return f"landing_{table}"


def mart_suite_name(model: str) -> str:
    return f"mart_{model}"


def _exp(kind: str, severity: str, why: str, protects: str, **kwargs) -> dict:
    return {
        "type": kind,
        "kwargs": kwargs,
        "severity": severity,
        "meta": {"why": why, "protects": protects},
    }


def crm_suite(object_name: str) -> dict:
    table, required, _ = CRM_OBJECTS[object_name]
    protects = RAW_PROTECTS[table]
    exps = [
        _exp(
            "expect_table_columns_to_match_set",
            ERROR,
            "required columns (input-contract §1) and lineage columns exist",
            protects,
            column_set=[*required, *LINEAGE_COLUMNS],
            exact_match=False,
        ),
        _exp(
            "expect_column_values_to_not_be_null",
            WARN,
            "every row has an Id (empty text counts as missing); a row without one takes no part "
            "in current-state resolution (input-contract §1), so this warns",
            protects,
            column="id",
        ),
        _exp(
            "expect_column_values_to_not_be_null",
            ERROR,
            "every row names the landing file it came from",
            "fct_quota_exceptions.source_id (lineage)",
            column="_source_file",
        ),
    ]
    for col, kind in CRM_TYPES[table].items():
        if kind == "boolean":
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    WARN,
                    f"{col} is true/false/1/0 in any case (else invalid_value, §7)",
                    protects,
                    column=f"{col}__lower",
                    value_set=BOOLEAN_VALUES,
                )
            )
        else:
            exps.append(
                _exp(
                    "expect_column_values_to_be_in_set",
                    WARN,
                    f"{col} parses as a {kind} (else invalid_value, §7)",
                    protects,
                    column=f"{col}__parses",
                    value_set=[True],
                )
            )
    for col in CURRENCY_COLUMNS.get(table, ()):
        exps.append(
            _exp(
                "expect_column_values_to_match_regex",
                WARN,
                f"{col} is a 3-letter ISO currency code (else no rate: missing_fx_rate, §7)",
                "fct_quota_credits.amount (currency conversion)",
                column=col,
                regex=r"^\s*[A-Za-z]{3}\s*$",
            )
        )
    for col, lo, hi, strict in NUMBER_RANGES.get(table, ()):
        kwargs: dict = {"column": f"{col}__num"}
        if lo is not None:
            kwargs["min_value"] = lo
        if hi is not None:
            kwargs["max_value"] = hi
        if strict:
            kwargs["strict_min"] = True
        rng = f"> {lo}" if strict and hi is None else f"between {lo} and {hi}"
        exps.append(
            _exp(
                "expect_column_values_to_be_between",
                ERROR,
                f"{col} is {rng} (a value outside makes a credit amount wrong)",
                "fct_quota_credits.amount, fct_quota_attainment.actual",
                **kwargs,
            )
        )
    return {
        "name": landing_suite_name(table),
        "expectations": exps,
        "meta": {
            "kind": "landing",
            "table": f"raw.{table}",
            "batch": "rows of raw.<table> loaded since the last publish (or this run)",
        },
    }


def messages_suite() -> dict:
    protects = RAW_PROTECTS["messages"]
    return {
        "name": landing_suite_name(MESSAGES_TABLE),
        "expectations": [
            _exp(
                "expect_table_columns_to_match_set",
                ERROR,
                "flattened message columns and lineage columns exist",
                protects,
                column_set=[
                    "message_id",
                    "type",
                    "timestamp",
                    "_is_valid_json",
                    *LINEAGE_COLUMNS,
                ],
                exact_match=False,
            ),
            _exp(
                "expect_column_values_to_not_be_null",
                ERROR,
                "every message names the landing file it came from",
                "fct_quota_exceptions.source_id (lineage)",
                column="_source_file",
            ),
            _exp(
                "expect_column_values_to_be_in_set",
                WARN,
                "every line is JSON (else bad_event, §7)",
                protects,
                column="_is_valid_json",
                value_set=[True],
            ),
            _exp(
                "expect_column_values_to_be_in_set",
                WARN,
                "track messages carry a messageId (else bad_event, §7)",
                protects,
                column="message_id__present",
                value_set=[True],
            ),
            _exp(
                "expect_column_values_to_be_in_set",
                WARN,
                "track and group messages carry a parsable ISO 8601 timestamp (else bad_event)",
                protects,
                column="timestamp__parses",
                value_set=[True],
            ),
            _exp(
                "expect_column_values_to_be_in_set",
                WARN,
                "type is a Segment call type (others are ignored)",
                protects,
                column="type",
                value_set=MESSAGE_TYPES,
            ),
        ],
        "meta": {
            "kind": "landing",
            "table": f"raw.{MESSAGES_TABLE}",
            "batch": "rows of raw.messages loaded since the last publish (or this run)",
        },
    }


def freshness_suite() -> dict:
    return {
        "name": FRESHNESS_SUITE,
        "expectations": [
            _exp(
                "expect_column_values_to_be_between",
                WARN,
                "the newest SystemModstamp (messages: timestamp) of the table is at most "
                "settings.freshness_max_age_hours older than the end of the as_of day",
                "every published number (stale inputs)",
                column="age_hours",
                max_value={"$PARAMETER": "freshness_max_age_hours"},
            ),
        ],
        "meta": {
            "kind": "freshness",
            "batch": "one row per raw table: newest timestamp over the whole table, age "
            "in hours before the end of the as_of day (company time zone)",
        },
    }


def _unique(cols: list[str], protects: str) -> dict:
    if len(cols) == 1:
        return _exp(
            "expect_column_values_to_be_unique",
            ERROR,
            f"{cols[0]} is unique (the mart's grain)",
            protects,
            column=cols[0],
        )
    return _exp(
        "expect_compound_columns_to_be_unique",
        ERROR,
        f"({', '.join(cols)}) is unique (the mart's grain)",
        protects,
        column_list=cols,
    )


def _in_set(col: str, values: list[str], protects: str) -> dict:
    return _exp(
        "expect_column_values_to_be_in_set",
        ERROR,
        f"{col} is in its set (metrics.md)",
        protects,
        column=col,
        value_set=values,
    )


def _at_least(col: str, lo: float, protects: str, strict: bool = False) -> dict:
    kwargs: dict = {"column": col, "min_value": lo}
    if strict:
        kwargs["strict_min"] = True
    return _exp(
        "expect_column_values_to_be_between",
        ERROR,
        f"{col} {'>' if strict else '>='} {lo}",
        protects,
        **kwargs,
    )


def _not_null(col: str, protects: str) -> dict:
    return _exp(
        "expect_column_values_to_not_be_null",
        ERROR,
        f"{col} is never null",
        protects,
        column=col,
    )


def _between(col: str, lo: float | None, hi: float | None, protects: str) -> dict:
    kwargs: dict = {"column": col}
    if lo is not None:
        kwargs["min_value"] = lo
    if hi is not None:
        kwargs["max_value"] = hi
    return _exp(
        "expect_column_values_to_be_between",
        ERROR,
        f"{col} is between {lo} and {hi}",
        protects,
        **kwargs,
    )


def _pair_in_set(a: str, b: str, pairs: list[list[str]], why: str, protects: str) -> dict:
    """(a, b) of every row is one of ``pairs``. GX judges this pair by pair in Python (pandas
    ``iterrows``): keep it off the credit lines, whose mart is large."""
    return _exp(
        "expect_column_pair_values_to_be_in_set",
        ERROR,
        why,
        protects,
        column_A=a,
        column_B=b,
        value_pairs_set=pairs,
    )


def _boolean(col: str, protects: str) -> list[dict]:
    """``col`` is true or false, never null."""
    return [_in_set(col, BOOLEANS, protects), _not_null(col, protects)]


def _booking_type(protects: str) -> dict:
    return _exp(
        "expect_column_values_to_be_in_set",
        ERROR,
        "booking_type is new_business, expansion, renewal or other (input-contract §1); null "
        "only where the source is not an opportunity",
        protects,
        column="booking_type",
        value_set=BOOKING_TYPES,
    )


def _where(exp: dict, column: str, value: str) -> dict:
    """``exp`` judged only on the rows whose ``column`` equals ``value``: a GX condition object
    (``Column(column) == value``) as GX writes it to JSON."""
    exp["kwargs"]["row_condition"] = {
        "type": "comparison",
        "column": {"name": column},
        "operator": "==",
        "parameter": value,
    }
    return exp


def _a_at_least_b(a: str, b: str, why: str, protects: str) -> dict:
    return _exp(
        "expect_column_pair_values_a_to_be_greater_than_b",
        ERROR,
        why,
        protects,
        column_A=a,
        column_B=b,
        or_equal=True,
        ignore_row_if="either_value_is_missing",
    )


def mart_suites() -> list[dict]:
    """One suite per published mart. Attainment, pace and weighted attainment are not bounded
    below: a clawback adjustment (a negative amount, input-contract §3) can take an actual,
    and so its attainment, below zero, and that number must be published, not blocked.

    Metric names, units, who may carry a metric and the credit rules come from the metric
    registry. ``fct_attainment_history`` is not held to today's metric list: it keeps the rows
    of every past run, including those of a metric since removed."""
    att = "marts.fct_quota_attainment"
    sc = "marts.fct_scorecards"
    cr = "marts.fct_quota_credits"
    ex = "marts.fct_quota_exceptions"
    tb = "marts.mart_team_board"
    pe = "marts.dim_people"
    te = "marts.dim_teams"
    hi = "marts.fct_attainment_history"
    pr = "marts.fct_promises"
    pc = "marts.fct_post_close_changes"
    suites = {
        "fct_quota_attainment": [
            _unique(["assignee_type", "assignee_id", "fiscal_period", "metric"], att),
            _not_null("assignee_id", att),
            _not_null("assignee_name", f"{att}.assignee_name"),
            _in_set("assignee_type", ASSIGNEE_TYPES, f"{att}.assignee_type"),
            _in_set("metric", metric_names(), f"{att}.metric"),
            _pair_in_set(
                "assignee_type",
                "metric",
                metric_assignee_types(),
                "the metric may be carried by the assignee type (registry assignee_types, "
                "metrics.md §2 Validity)",
                f"{att}.assignee_type, {att}.metric",
            ),
            _pair_in_set(
                "metric",
                "unit",
                metric_units(),
                "unit is the metric's unit in the registry (currency or count)",
                f"{att}.unit, {att}.target, {att}.actual",
            ),
            _at_least("plan_target", 0, f"{att}.plan_target, {att}.target", strict=True),
            _exp(
                "expect_column_values_to_be_between",
                ERROR,
                "proration_factor is in (0, 1] (days in seat / period days; 1 when not prorated)",
                f"{att}.proration_factor, {att}.target",
                column="proration_factor",
                min_value=0,
                max_value=1,
                strict_min=True,
            ),
            _not_null("attainment", f"{att}.attainment"),
            _not_null("capped_attainment", f"{att}.capped_attainment"),
            _a_at_least_b(
                "cap",
                "capped_attainment",
                "capped_attainment <= cap when a cap is set (metrics.md §4)",
                f"{att}.capped_attainment, {att}.cap, {sc}.weighted_attainment",
            ),
            _at_least("cap", 0, f"{att}.cap", strict=True),
            _a_at_least_b(
                "attainment",
                "capped_attainment",
                "capped_attainment <= attainment (min(attainment, cap))",
                f"{att}.capped_attainment",
            ),
            _at_least("weight", 0, f"{att}.weight, {sc}.weighted_attainment", strict=True),
            _at_least("target", 0, f"{att}.target, {att}.attainment", strict=True),
            _between("elapsed", 0, 1, f"{att}.elapsed, {att}.pace, {att}.projected_actual"),
            _not_null("elapsed", f"{att}.elapsed"),
            _in_set("status", STATUSES, f"{att}.status"),
            _at_least("days_in_seat", 0, f"{att}.days_in_seat, {att}.proration_factor"),
            _not_null("period_start", f"{att}.period_start"),
            _a_at_least_b(
                "period_end",
                "period_start",
                "period_end >= period_start",
                f"{att}.period_start, {att}.period_end, {att}.elapsed",
            ),
            *_boolean("period_closed", f"{att}.period_closed"),
        ],
        "fct_scorecards": [
            _unique(["assignee_type", "assignee_id", "fiscal_period"], sc),
            _not_null("assignee_name", f"{sc}.assignee_name"),
            _not_null("weighted_attainment", f"{sc}.weighted_attainment"),
            _in_set("status", STATUSES, f"{sc}.status"),
            _at_least("component_count", 1, f"{sc}.component_count"),
            _between("elapsed", 0, 1, f"{sc}.elapsed, {sc}.pace"),
            _not_null("elapsed", f"{sc}.elapsed"),
            *_boolean("period_closed", f"{sc}.period_closed"),
        ],
        "fct_quota_credits": [
            _unique(["credit_id"], cr),
            _not_null("credit_id", cr),
            _not_null("assignee_id", cr),
            _in_set("assignee_type", ASSIGNEE_TYPES, f"{cr}.assignee_type"),
            _in_set("metric", metric_names(), f"{cr}.metric"),
            _in_set("rule", credit_rules(), f"{cr}.rule"),
            _in_set("source_type", CREDIT_SOURCE_TYPES, f"{cr}.source_type"),
            _not_null("source_id", f"{cr}.source_id"),
            _booking_type(f"{cr}.booking_type"),
        ],
        "fct_quota_exceptions": [
            _in_set("reason", EXCEPTION_REASONS, f"{ex}.reason"),
            _at_least("row_count", 1, f"{ex}.row_count"),
        ],
        "mart_team_board": [
            _unique(["team_id", "fiscal_period"], tb),
            _not_null("team_name", f"{tb}.team_name"),
            _in_set("function", TEAM_FUNCTIONS, f"{tb}.function"),
            _not_null("reference_date", f"{tb}.reference_date"),
            _at_least("quota_carriers", 0, f"{tb}.quota_carriers"),
            _a_at_least_b(
                "quota_carriers",
                "carriers_at_or_above",
                "carriers_at_or_above <= quota_carriers",
                f"{tb}.carriers_at_or_above",
            ),
            *_boolean("period_closed", f"{tb}.period_closed"),
        ],
        "dim_people": [
            _unique(["person_id"], pe),
            _not_null("person_name", f"{pe}.person_name"),
            _exp(
                "expect_column_values_to_be_unique",
                ERROR,
                "a CRM user maps to at most one person (input-contract §2)",
                f"{pe}.crm_user_id, {cr}.assignee_id",
                column="crm_user_id",
            ),
        ],
        "dim_teams": [
            _unique(["team_id"], te),
            _not_null("team_name", f"{te}.team_name"),
            _in_set("function", TEAM_FUNCTIONS, f"{te}.function"),
        ],
        "fct_attainment_history": [
            _unique(["run_id", "assignee_type", "assignee_id", "fiscal_period", "metric"], hi),
            _not_null("run_id", f"{hi}.run_id"),
            _not_null("as_of", f"{hi}.as_of"),
            _not_null("published_at", f"{hi}.published_at"),
            _at_least("target", 0, f"{hi}.target", strict=True),
            _not_null("actual", f"{hi}.actual"),
            _not_null("attainment", f"{hi}.attainment"),
        ],
        # metrics.md §11: a status per (won opportunity, promised feature). The row conditions
        # hold the status to its definition (released_on against close_date). A released
        # feature may have no released_on: a feature_ownership.csv without that column counts
        # every feature as released since always (input-contract §3).
        "fct_promises": [
            _unique(["opportunity_id", "feature"], pr),
            _not_null("opportunity_id", pr),
            _not_null("feature", f"{pr}.feature"),
            _not_null("status", f"{pr}.status"),
            _in_set("status", PROMISE_STATUSES, f"{pr}.status"),
            *_boolean("held", f"{pr}.held"),
            _booking_type(f"{pr}.booking_type"),
            _not_null("close_date", f"{pr}.close_date"),  # a won opportunity has closed
            _exp(
                "expect_column_values_to_be_between",
                ERROR,
                "amount is a usable amount (>= 0) or null (won_without_amount, negative_amount, "
                "missing_fx_rate)",
                f"{pr}.amount",
                column="amount",
                min_value=0,
            ),
            _where(
                _a_at_least_b(
                    "close_date",
                    "released_on",
                    "a released feature was released on or before the close date",
                    f"{pr}.released_on, {pr}.status",
                ),
                "status",
                "released",
            ),
            _where(
                _exp(
                    "expect_column_pair_values_a_to_be_greater_than_b",
                    ERROR,
                    "an unreleased feature had no release on the close date (released_on empty "
                    "or later)",
                    f"{pr}.released_on, {pr}.status",
                    column_A="released_on",
                    column_B="close_date",
                    or_equal=False,
                    ignore_row_if="either_value_is_missing",
                ),
                "status",
                "unreleased",
            ),
            _where(
                _exp(
                    "expect_column_values_to_be_null",
                    ERROR,
                    "a feature no feature_ownership row names has no release date",
                    f"{pr}.released_on, {pr}.status",
                    column="released_on",
                ),
                "status",
                "unknown_feature",
            ),
            _where(
                _exp(
                    "expect_column_values_to_be_null",
                    ERROR,
                    "a feature no feature_ownership row names has no owning team",
                    f"{pr}.owning_team_id, {pr}.status",
                    column="owning_team_id",
                ),
                "status",
                "unknown_feature",
            ),
        ],
        # metrics.md §13: one row per snapshotted attainment row whose live actual moved.
        "fct_post_close_changes": [
            _unique(["assignee_type", "assignee_id", "fiscal_period", "metric"], pc),
            _in_set("assignee_type", ASSIGNEE_TYPES, f"{pc}.assignee_type"),
            _not_null("assignee_id", f"{pc}.assignee_id"),
            _not_null("fiscal_period", f"{pc}.fiscal_period"),
            _not_null("metric", f"{pc}.metric"),
            _not_null("closed_actual", f"{pc}.closed_actual"),
            _not_null("closed_at_run_id", f"{pc}.closed_at_run_id"),
        ],
    }
    return [
        {
            "name": mart_suite_name(model),
            "expectations": exps,
            "meta": {"kind": "mart", "table": f"marts.{model}"},
        }
        for model, exps in suites.items()
    ]


def all_suites() -> list[dict]:
    return [
        *(crm_suite(obj) for obj in CRM_OBJECTS),
        messages_suite(),
        freshness_suite(),
        *mart_suites(),
    ]


def suite_json(suite: dict) -> str:
    return json.dumps(suite, indent=2, sort_keys=False) + "\n"


def write_suites(directory: Path = SUITES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suite in all_suites():
        path = directory / f"{suite['name']}.json"
        path.write_text(suite_json(suite), encoding="utf-8")
        written.append(path)
    return written


def load_suite(name: str, directory: Path = SUITES_DIR) -> dict:
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


# Expectations whose verdict on a table is the sum of their verdicts on any split of its rows
# (each row is judged alone; the column set is the same in every part). A suite made only of
# these can be validated part by part, so a batch never has to fit in memory at once.
ROW_WISE_EXPECTATIONS = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_pair_values_a_to_be_greater_than_b",
        "expect_column_pair_values_to_be_in_set",
        "expect_column_values_to_be_null",
        "expect_table_columns_to_match_set",
    }
)


def is_row_wise(suite: dict) -> bool:
    """True when every expectation of ``suite`` is in :data:`ROW_WISE_EXPECTATIONS`."""
    return all(e["type"] in ROW_WISE_EXPECTATIONS for e in suite.get("expectations", []))


_COLUMN_KWARGS = ("column", "column_A", "column_B")


def expectation_columns(kwargs: dict) -> list[str]:
    """The columns an expectation names in its ``kwargs`` (``column``, ``column_A`` and
    ``column_B``, ``column_list``), in that order; not the column of a row condition."""
    return [kwargs[k] for k in _COLUMN_KWARGS if kwargs.get(k)] + list(
        kwargs.get("column_list") or []
    )


# Expectations that judge a row by whether its value is NULL alone, not by the value.
NULLNESS_EXPECTATIONS = frozenset(
    {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
)
UNIQUE_EXPECTATION = "expect_column_values_to_be_unique"


@dataclass(frozen=True)
class TallyPlan:
    """How a suite's batch can be counted into a tally (``batches.read_mart_tally``): the
    columns grouped by their values (``values``), by whether they are NULL alone (``nulls``:
    judged by nullness only, so their real values may differ within a group), and the columns
    judged unique (``unique``: grouped by the value when it repeats in the batch, else by
    whether it is NULL)."""

    values: list[str]
    nulls: list[str]
    unique: list[str]


def tally_plan(suite: dict) -> TallyPlan | None:
    """How ``suite`` can be validated on a tally: every expectation row-wise (or
    ``expect_column_values_to_be_unique``), none with ``mostly`` (a share of rows) or a row
    condition, and a unique-judged column otherwise judged by nullness alone (a value-judged
    one would mix verdicts in the group of its non-repeated values). None when it cannot."""
    values: list[str] = []
    nullness: list[str] = []
    unique: list[str] = []
    for expectation in suite.get("expectations", []):
        kind = expectation["type"]
        kwargs = expectation.get("kwargs", {})
        if kind not in ROW_WISE_EXPECTATIONS and kind != UNIQUE_EXPECTATION:
            return None
        if "mostly" in kwargs or "row_condition" in kwargs:
            return None
        if kind == "expect_table_columns_to_match_set":
            continue
        named = expectation_columns(kwargs)
        if kind == UNIQUE_EXPECTATION:
            unique += named
        elif kind in NULLNESS_EXPECTATIONS:
            nullness += named
        else:
            values += named
    if set(unique) & set(values):
        return None
    values = list(dict.fromkeys(values))
    unique = list(dict.fromkeys(unique))
    nulls = [c for c in dict.fromkeys(nullness) if c not in values and c not in unique]
    return TallyPlan(values, nulls, unique)


def tally_columns(suite: dict) -> list[str] | None:
    """The columns by whose values alone ``suite`` judges each row, when it can be validated
    on a tally of the batch (``batches.read_tally``): :func:`tally_plan` without a unique
    expectation (the landing suites group by every judged value). None when it cannot."""
    plan = tally_plan(suite)
    if plan is None or plan.unique:
        return None
    return plan.values + plan.nulls


def _condition_column(condition: object) -> str | None:
    """The column a row condition of :func:`_where` reads (None: another kind of condition)."""
    if isinstance(condition, dict) and condition.get("type") == "comparison":
        name = (condition.get("column") or {}).get("name")
        return name if isinstance(name, str) else None
    return None


def suite_columns(suite: dict) -> list[str] | None:
    """The columns ``suite``'s expectations read, in order of first use; None when one of them
    names no column (it may read the whole table) or has a row condition other than a column
    comparison, so the caller reads every column."""
    columns: list[str] = []
    for expectation in suite.get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        named = expectation_columns(kwargs)
        if "row_condition" in kwargs:
            condition = _condition_column(kwargs["row_condition"])
            if condition is None:
                return None
            named.append(condition)
        if not named:
            return None
        columns += named
    return list(dict.fromkeys(columns))


if __name__ == "__main__":
    for p in write_suites():
        print(p)
