"""Business configuration (input-contract §3): read, validate, write to ``config.*``.

``load_config(dir)`` reads the CSV files and ``settings.yml``, checks every rule of
input-contract §3/§4 and raises one :class:`ConfigError` listing *all* problems found. Each
message names the file, the row (1-based data row and its physical line), the column and
what is wrong, e.g.::

    teams.csv, row 3 (line 4), column function: 'salez' is not one of sales, ...

``write_config(conn, config)`` replaces the contents of the typed ``config.*`` tables.
Configuration files are small, so they are read with the ``csv`` module (landing data is
read by DuckDB, see ``crm.py`` and ``messages.py``).
"""

from __future__ import annotations

import csv
import math
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import yaml

from dagster_project import metric_registry
from dagster_project.ingest.files import insert_rows, is_inside
from dagster_project.ingest.schema import (
    CONFIG_SCHEMA,
    CONFIG_TABLES,
    CRM_OBJECTS,
    DEFAULT_PROMISE_FIELD,
    match_key,
)

FUNCTIONS = ("sales", "sales_management", "product", "rnd", "leadership")
ASSIGNEE_TYPES = ("person", "team")
FISCAL_PERIOD_RE = re.compile(r"^FY\d{4}(-Q[1-4]|-M(0[1-9]|1[0-2]))?$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)$", re.IGNORECASE)

SETTINGS_FILE = "settings.yml"
SETTINGS_DEFAULTS: dict[str, Any] = {
    "corporate_currency": "USD",
    "fiscal_year_start_month": 1,
    "timezone": "UTC",
    "install_events": ["App Installed", "Integration Installed"],
    "influence_window_days": 90,
    "activation_min_events": 3,
    "activation_window_days": 14,
    "pace_at_risk": 0.8,
    "freshness_max_age_hours": 26,
    "late_message_lookback_days": 3,
    "duckdb_memory_limit": None,
    "board_show_people": True,
    # 1.1
    "opportunity_types": {
        "New Business": "new_business",
        "Existing Business": "expansion",
        "Expansion": "expansion",
        "Upsell": "expansion",
        "Renewal": "renewal",
    },
    "promise_field": DEFAULT_PROMISE_FIELD,
    "unreleased_promise_policy": "hold",
    "closed_through": None,
}
BOOKING_TYPES = ("new_business", "expansion", "renewal")
PROMISE_POLICIES = ("hold", "flag")
# Opportunity columns the contract reads (match key -> column): the promise field is another.
_OPPORTUNITY_COLUMNS = {
    match_key(c): c for c in (*CRM_OBJECTS["Opportunity"][1], *CRM_OBJECTS["Opportunity"][2])
}

# file -> (table, required columns, optional columns, file required)
CONFIG_FILES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool]] = {
    "teams.csv": (
        "teams",
        ("team_id", "team_name", "function"),
        ("parent_team_id", "mission"),
        True,
    ),
    "people.csv": (
        "people",
        ("person_id", "person_name", "team_id", "valid_from"),
        ("crm_user_id", "role", "manager_person_id", "valid_to"),
        True,
    ),
    "quota_plans.csv": (
        "quota_plans",
        ("assignee_type", "assignee_id", "fiscal_period", "metric", "target"),
        ("weight", "cap", "prorate", "narrative"),
        True,
    ),
    "feature_ownership.csv": (
        "feature_ownership",
        ("feature", "team_id"),
        ("valid_from", "valid_to", "released_on"),
        True,
    ),
    "adjustments.csv": (
        "adjustments",
        (
            "adjustment_id",
            "assignee_type",
            "assignee_id",
            "metric",
            "credit_date",
            "amount",
            "reason",
            "approved_by",
        ),
        (),
        False,
    ),
}


class ConfigError(Exception):
    """One or more configuration errors; ``errors`` lists each, the message shows them all."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        n = len(self.errors)
        head = f"{n} configuration error{'s' if n != 1 else ''}:"
        super().__init__("\n".join([head, *(f"- {e}" for e in self.errors)]))


@dataclass
class Row:
    """One data row of a config CSV: canonical column -> stripped text ('' for empty)."""

    file: str
    number: int  # 1-based data row
    line: int  # physical line where the row ends (header = line 1)
    values: dict[str, str]

    def where(self, column: str | None = None) -> str:
        col = f", column {column}" if column else ""
        return f"{self.file}, row {self.number} (line {self.line}){col}"

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@dataclass
class Config:
    """Validated, typed configuration: one list of row dicts per ``config.*`` table (keys as in
    ``schema.CONFIG_TABLES``, empty = None) plus the settings dict (defaults filled in)."""

    teams: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    quota_plans: list[dict[str, Any]] = field(default_factory=list)
    feature_ownership: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=lambda: dict(SETTINGS_DEFAULTS))

    @property
    def opportunity_types(self) -> list[dict[str, Any]]:
        """``config.opportunity_types``: one row per entry of ``settings.opportunity_types``."""
        return opportunity_type_rows(self.settings["opportunity_types"])

    def table(self, name: str) -> list[dict[str, Any]]:
        if name == "settings":
            return [self.settings]
        return getattr(self, name)


def type_key(value: str) -> str:
    """How an Opportunity ``Type`` is compared: surrounding spaces and case ignored."""
    return value.strip().lower()


def opportunity_type_rows(mapping: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"opportunity_type": k, "type_key": type_key(k), "booking_type": v}
        for k, v in mapping.items()
    ]


# --------------------------------------------------------------------------- reading


def _text_problem(data: bytes) -> str | None:
    """Why these bytes are not a UTF-8 text file, naming the line ("line N: ..."), or None."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return f"line {line}: not a text file (a NUL byte at byte {nul}: binary data?)"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        bad = data[e.start : e.start + 4]
        return (
            f"line {line}: not valid UTF-8 text (bytes {bad!r} at byte {e.start}; "
            "save the file as UTF-8)"
        )
    return None


def _read_csv(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...], errors: list[str]
) -> list[Row] | None:
    name = path.name
    try:
        problem = _text_problem(path.read_bytes())
        if problem:
            errors.append(f"{name}, {problem}")
            return None
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                errors.append(f"{name}, line 1: the file is empty (a header row is required)")
                return None
            known = {match_key(c): c for c in (*required, *optional)}
            positions: dict[str, int] = {}
            for i, h in enumerate(header):
                canon = known.get(match_key(h.strip()))
                if canon is None:
                    continue  # extra columns are ignored
                if canon in positions:
                    errors.append(f"{name}, line 1, column {canon}: the column appears twice")
                    continue
                positions[canon] = i
            missing = [c for c in required if c not in positions]
            for c in missing:
                errors.append(f"{name}, line 1, column {c}: required column is missing")
            if missing:
                return None
            rows: list[Row] = []
            for number, rec in enumerate(reader, start=1):
                if not rec or all(not v.strip() for v in rec):
                    continue  # blank line
                values = {c: (rec[i].strip() if i < len(rec) else "") for c, i in positions.items()}
                rows.append(Row(name, number, reader.line_num, values))
            return rows
    except UnicodeDecodeError as e:
        errors.append(f"{name}: not valid UTF-8 text ({e.reason} at byte {e.start})")
    except csv.Error as e:
        errors.append(f"{name}: unreadable CSV ({e})")
    except OSError as e:
        errors.append(f"{name}: cannot read the file ({e.strerror})")
    return None


def _parse_date(row: Row, col: str, errors: list[str], required: bool) -> date | None:
    text = row.get(col)
    if not text:
        if required:
            errors.append(f"{row.where(col)}: a date is required")
        return None
    if _DATE_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    errors.append(f"{row.where(col)}: {text!r} is not a valid date (YYYY-MM-DD)")
    return None


def _parse_number(row: Row, col: str, errors: list[str], *, positive: bool) -> float | None:
    text = row.get(col)
    if not text:
        return None
    if not _NUMBER_RE.match(text):
        errors.append(f"{row.where(col)}: {text!r} is not a number")
        return None
    value = float(text)
    if not math.isfinite(value):
        errors.append(f"{row.where(col)}: {text!r} is not a finite number")
        return None
    if positive and value <= 0:
        errors.append(f"{row.where(col)}: {text!r} must be greater than 0")
        return None
    return value


def _require(row: Row, col: str, errors: list[str]) -> str | None:
    text = row.get(col)
    if not text:
        errors.append(f"{row.where(col)}: a value is required")
        return None
    return text


def _opt(row: Row, col: str) -> str | None:
    return row.get(col) or None


# --------------------------------------------------------------------------- validation


def _check_teams(rows: list[Row], errors: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[str, Row] = {}
    for r in rows:
        team_id = _require(r, "team_id", errors)
        _require(r, "team_name", errors)
        function = _require(r, "function", errors)
        if function is not None and function not in FUNCTIONS:
            errors.append(
                f"{r.where('function')}: {function!r} is not one of {', '.join(FUNCTIONS)}"
            )
        if team_id is not None:
            if team_id in seen:
                errors.append(
                    f"{r.where('team_id')}: duplicate team_id {team_id!r} "
                    f"(first on row {seen[team_id].number})"
                )
            else:
                seen[team_id] = r
        out.append(
            {
                "team_id": team_id,
                "team_name": _opt(r, "team_name"),
                "function": function,
                "parent_team_id": _opt(r, "parent_team_id"),
                "mission": _opt(r, "mission"),
            }
        )
    parents = {t: r.get("parent_team_id") for t, r in seen.items()}
    for t, r in seen.items():
        p = parents[t]
        if p and p not in parents:
            errors.append(f"{r.where('parent_team_id')}: unknown team {p!r}")
    reported: set[str] = set()
    for t, r in seen.items():
        path = [t]
        cur = parents.get(t)
        while cur and cur in parents:
            if cur == t:
                if not reported.intersection(path):
                    chain = " -> ".join([*path, t])
                    errors.append(f"{r.where('parent_team_id')}: team cycle {chain}")
                    reported.update(path)
                break
            if cur in path:
                break  # a cycle above this team, reported from its own members
            path.append(cur)
            cur = parents.get(cur)
    return out


def _check_people(rows: list[Row], team_ids: set[str], errors: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    by_person: dict[str, list[tuple[date, date | None, Row]]] = {}
    crm_owner: dict[str, tuple[str, Row]] = {}
    person_ids = {r.get("person_id") for r in rows if r.get("person_id")}
    for r in rows:
        pid = _require(r, "person_id", errors)
        _require(r, "person_name", errors)
        team = _require(r, "team_id", errors)
        if team is not None and team not in team_ids:
            errors.append(f"{r.where('team_id')}: unknown team {team!r} (not in teams.csv)")
        mgr = _opt(r, "manager_person_id")
        if mgr is not None and mgr not in person_ids:
            errors.append(f"{r.where('manager_person_id')}: unknown person {mgr!r}")
        vf = _parse_date(r, "valid_from", errors, required=True)
        vt = _parse_date(r, "valid_to", errors, required=False)
        if vf and vt and not vf < vt:
            errors.append(f"{r.where('valid_to')}: valid_to {vt} must be after valid_from {vf}")
        elif pid and vf:
            by_person.setdefault(pid, []).append((vf, vt, r))
        crm = _opt(r, "crm_user_id")
        if crm and pid:
            if crm in crm_owner and crm_owner[crm][0] != pid:
                other, orow = crm_owner[crm]
                errors.append(
                    f"{r.where('crm_user_id')}: crm_user_id {crm!r} already belongs to person "
                    f"{other!r} (row {orow.number}); a CRM user belongs to one person"
                )
            else:
                crm_owner.setdefault(crm, (pid, r))
        out.append(
            {
                "person_id": pid,
                "person_name": _opt(r, "person_name"),
                "crm_user_id": crm,
                "team_id": team,
                "role": _opt(r, "role"),
                "manager_person_id": mgr,
                "valid_from": vf,
                "valid_to": vt,
            }
        )
    for pid, spans in by_person.items():
        spans.sort(key=lambda s: s[0])
        for (_, prev_to, prev_row), (cur_from, _, cur_row) in zip(spans, spans[1:], strict=False):
            if prev_to is None or prev_to > cur_from:
                errors.append(
                    f"{cur_row.where('valid_from')}: membership of person {pid!r} overlaps "
                    f"row {prev_row.number} (valid_to {prev_to or 'open'}, "
                    f"this row valid_from {cur_from})"
                )
    return out


def _check_assignee(
    r: Row, persons: set[str], teams: set[str], errors: list[str]
) -> tuple[str | None, str | None, str | None]:
    atype = _require(r, "assignee_type", errors)
    if atype is not None and atype not in ASSIGNEE_TYPES:
        errors.append(f"{r.where('assignee_type')}: {atype!r} is not 'person' or 'team'")
        atype = None
    aid = _require(r, "assignee_id", errors)
    if atype and aid:
        known = persons if atype == "person" else teams
        if aid not in known:
            src = "people.csv" if atype == "person" else "teams.csv"
            errors.append(f"{r.where('assignee_id')}: unknown {atype} {aid!r} (not in {src})")
    metric = _require(r, "metric", errors)
    if metric is not None:
        registry = metric_registry.registry()
        if metric not in registry:
            errors.append(
                f"{r.where('metric')}: unknown metric {metric!r} (one of {', '.join(registry)})"
            )
        elif atype and not registry[metric].valid_for(atype):
            valid = ", ".join(metric_registry.metrics_valid_for(atype))
            errors.append(
                f"{r.where('metric')}: metric {metric!r} is not valid for a {atype} "
                f"(valid for a {atype}: {valid})"
            )
    return atype, aid, metric


def _check_plans(
    rows: list[Row], persons: set[str], teams: set[str], errors: list[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[tuple[str, ...], Row] = {}
    for r in rows:
        atype, aid, metric = _check_assignee(r, persons, teams, errors)
        period = _require(r, "fiscal_period", errors)
        if period is not None and not FISCAL_PERIOD_RE.match(period):
            errors.append(
                f"{r.where('fiscal_period')}: {period!r} is not a fiscal period "
                "(FY2027, FY2027-Q2 or FY2027-M05)"
            )
        target = None
        if _require(r, "target", errors) is not None:
            target = _parse_number(r, "target", errors, positive=True)
        weight = _parse_number(r, "weight", errors, positive=True)
        cap = _parse_number(r, "cap", errors, positive=True)
        prorate_text = r.get("prorate").lower()
        prorate: bool | None = None
        if prorate_text in ("true", "false"):
            prorate = prorate_text == "true"
        elif prorate_text:
            errors.append(f"{r.where('prorate')}: {r.get('prorate')!r} is not true, false or empty")
        if atype and aid and period and metric:
            key = (atype, aid, period, metric)
            if key in seen:
                errors.append(
                    f"{r.where()}: duplicate plan row for ({', '.join(key)}) "
                    f"(first on row {seen[key].number})"
                )
            else:
                seen[key] = r
        out.append(
            {
                "assignee_type": atype,
                "assignee_id": aid,
                "fiscal_period": period,
                "metric": metric,
                "target": target,
                "weight": weight,
                "cap": cap,
                "prorate": prorate,
                "narrative": _opt(r, "narrative"),
            }
        )
    return out


def _check_features(rows: list[Row], teams: set[str], errors: list[str]) -> list[dict[str, Any]]:
    """feature_ownership.csv: effective-dated rows (valid_from inclusive, valid_to exclusive,
    empty = open); rows of one feature (compared ignoring case) never overlap and all carry
    the same released_on. ``release_tracked`` says whether the file has a released_on column."""
    out: list[dict[str, Any]] = []
    tracked = any("released_on" in r.values for r in rows)
    by_feature: dict[str, list[tuple[date | None, date | None, Row]]] = {}
    released: dict[str, tuple[date | None, Row]] = {}
    for r in rows:
        feature = _require(r, "feature", errors)
        team = _require(r, "team_id", errors)
        if team is not None and team not in teams:
            errors.append(f"{r.where('team_id')}: unknown team {team!r} (not in teams.csv)")
        n_errors = len(errors)
        vf = _parse_date(r, "valid_from", errors, required=False)
        vt = _parse_date(r, "valid_to", errors, required=False)
        released_on = _parse_date(r, "released_on", errors, required=False)
        dates_ok = len(errors) == n_errors
        if vf and vt and not vf < vt:
            errors.append(f"{r.where('valid_to')}: valid_to {vt} must be after valid_from {vf}")
            dates_ok = False
        if feature is not None and dates_ok:
            key = feature.lower()
            by_feature.setdefault(key, []).append((vf, vt, r))
            if key not in released:
                released[key] = (released_on, r)
            elif released[key][0] != released_on:
                first_on, first = released[key]
                errors.append(
                    f"{r.where('released_on')}: feature {feature!r} has released_on "
                    f"{released_on or 'empty'} here but {first_on or 'empty'} on row "
                    f"{first.number}; every row of one feature carries the same released_on"
                )
        out.append(
            {
                "feature": feature,
                "team_id": team,
                "valid_from": vf,
                "valid_to": vt,
                "released_on": released_on,
                "release_tracked": tracked,
            }
        )
    for spans in by_feature.values():
        spans.sort(key=lambda s: (s[0] or date.min, s[2].number))
        reach: tuple[date | None, Row] | None = None  # the earlier row that reaches furthest
        for vf, vt, r in spans:
            if reach is not None and (reach[0] is None or vf is None or reach[0] > vf):
                prev_to, prev = reach
                feature = r.get("feature")
                if not any(x.get(c) for x in (r, prev) for c in ("valid_from", "valid_to")):
                    errors.append(
                        f"{r.where('feature')}: duplicate feature {feature!r} (first on row "
                        f"{prev.number}): two rows of one feature may not overlap in time "
                        "(give them valid_from/valid_to)"
                    )
                else:
                    errors.append(
                        f"{r.where('valid_from')}: ownership of feature {feature!r} overlaps "
                        f"row {prev.number} (valid_to {prev_to or 'open'}, this row valid_from "
                        f"{vf or 'since always'})"
                    )
            if reach is None or reach[0] is not None and (vt is None or vt > reach[0]):
                reach = (vt, r)
    return out


def _check_adjustments(
    rows: list[Row], persons: set[str], teams: set[str], errors: list[str]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: dict[str, Row] = {}
    for r in rows:
        adj_id = _require(r, "adjustment_id", errors)
        if adj_id is not None:
            if adj_id in seen:
                errors.append(
                    f"{r.where('adjustment_id')}: duplicate adjustment_id {adj_id!r} "
                    f"(first on row {seen[adj_id].number})"
                )
            else:
                seen[adj_id] = r
        atype, aid, metric = _check_assignee(r, persons, teams, errors)
        credit_date = _parse_date(r, "credit_date", errors, required=True)
        amount = None
        if _require(r, "amount", errors) is not None:
            amount = _parse_number(r, "amount", errors, positive=False)
        reason = _require(r, "reason", errors)
        approved = _require(r, "approved_by", errors)
        out.append(
            {
                "adjustment_id": adj_id,
                "assignee_type": atype,
                "assignee_id": aid,
                "metric": metric,
                "credit_date": credit_date,
                "amount": amount,
                "reason": reason,
                "approved_by": approved,
            }
        )
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _SettingsLoader(yaml.SafeLoader):
    """``yaml.safe_load``, except that dates stay text: ``closed_through`` is validated here with
    a message naming the key (PyYAML itself fails on ``2026-02-30``)."""


_SettingsLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def _mapping_entries(path: Path, key: str) -> list[tuple[str | None, str | None, int]]:
    """The entries of the top-level mapping ``key`` of a YAML file as written, duplicates
    included: (key text, value text, line); None for a key or value that is not a single
    value (a list, a mapping)."""
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_SettingsLoader)
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return []
    if not isinstance(root, yaml.MappingNode):
        return []
    node = None
    for k, v in root.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            node = v  # the last one, as the YAML loader keeps
    if not isinstance(node, yaml.MappingNode):
        return []
    return [
        (
            k.value if isinstance(k, yaml.ScalarNode) else None,
            v.value if isinstance(v, yaml.ScalarNode) else None,
            k.start_mark.line + 1,
        )
        for k, v in node.value
    ]


def _check_opportunity_types(path: Path, value: Any, errors: list[str]) -> dict[str, str] | None:
    """settings.yml ``opportunity_types``: Type value -> booking type, keys compared ignoring
    case and surrounding spaces. The map replaces the default one (it is not merged)."""
    key = "opportunity_types"
    if not isinstance(value, dict):
        return None  # reported by the caller
    out: dict[str, str] = {}
    first: dict[str, tuple[str, int]] = {}
    ok = True
    for text, booking, line in _mapping_entries(path, key):
        where = f"{path.name}, line {line}, key {key}"
        if text is None or not text.strip():
            errors.append(f"{where}: an entry needs an Opportunity Type value as its key")
            ok = False
            continue
        if booking not in BOOKING_TYPES:
            shown = booking if booking is not None else "a list or mapping"
            errors.append(
                f"{where}, entry {text!r}: {shown!r} is not a booking type (one of "
                f"{', '.join(BOOKING_TYPES)})"
            )
            ok = False
        tkey = type_key(text)
        if tkey in first:
            other, other_line = first[tkey]
            errors.append(
                f"{where}, entry {text!r}: the same Type as {other!r} (line {other_line}); Types "
                "are compared ignoring case and surrounding spaces"
            )
            ok = False
            continue
        first[tkey] = (text, line)
        if booking in BOOKING_TYPES:
            out[text] = booking
    return out if ok else None


def _check_date_setting(value: Any) -> date | None:
    text = value.strip() if isinstance(value, str) else ""
    if _DATE_RE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return None


def _check_settings(path: Path, errors: list[str]) -> dict[str, Any]:
    settings = dict(SETTINGS_DEFAULTS)
    name = path.name
    if not path.is_file():
        errors.append(f"{name}: file is missing from the config folder")
        return settings
    try:
        raw = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_SettingsLoader)
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
        errors.append(f"{name}: unreadable YAML ({e})")
        return settings
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(f"{name}: expected a mapping of key: value")
        return settings
    lines, duplicates = _yaml_key_lines(path)
    for key, line in duplicates:
        errors.append(f"{name}, line {line}, key {key}: the key appears twice")

    def err(key: str, what: str) -> None:
        line = lines.get(key)
        at = f", line {line}" if line else ""
        errors.append(f"{name}{at}, key {key}: {what}")

    for key, value in raw.items():
        key = str(key)
        if key not in SETTINGS_DEFAULTS:
            err(key, f"unknown setting (known: {', '.join(SETTINGS_DEFAULTS)})")
            continue
        if value is None and key != "duckdb_memory_limit":
            continue  # empty = default
        ok = True
        if key == "corporate_currency":
            ok = isinstance(value, str) and re.fullmatch(r"[A-Za-z]{3}", value) is not None
            if ok:
                value = value.upper()
            else:
                err(key, f"{value!r} is not a 3-letter ISO currency code")
        elif key == "fiscal_year_start_month":
            ok = _is_int(value) and 1 <= value <= 12
            if not ok:
                err(key, f"{value!r} is not a month number 1-12")
        elif key == "timezone":
            try:
                ok = isinstance(value, str) and bool(value) and ZoneInfo(value) is not None
            except (ZoneInfoNotFoundError, ValueError):
                ok = False
            if not ok:
                err(key, f"{value!r} is not an IANA time zone name")
        elif key == "install_events":
            if isinstance(value, str):
                value = [value]
            ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
            if not ok:
                err(key, f"{value!r} is not a list of event names")
        elif key in ("influence_window_days", "activation_min_events", "activation_window_days"):
            ok = _is_int(value) and value > 0
            if not ok:
                err(key, f"{value!r} is not a positive integer")
        elif key == "late_message_lookback_days":
            ok = _is_int(value) and value >= 0
            if not ok:
                err(key, f"{value!r} is not an integer >= 0")
        elif key == "pace_at_risk":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 < value <= 1
            if not ok:
                err(key, f"{value!r} is not a number in (0, 1]")
        elif key == "freshness_max_age_hours":
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
            if not ok:
                err(key, f"{value!r} is not a positive number")
        elif key == "duckdb_memory_limit":
            ok = value is None or (isinstance(value, str) and bool(_MEMORY_RE.match(value.strip())))
            if not ok:
                err(key, f"{value!r} is not a memory size such as '3GB' (or null)")
        elif key == "board_show_people":
            ok = isinstance(value, bool)
            if not ok:
                err(key, f"{value!r} is not true or false")
        elif key == "opportunity_types":
            if not isinstance(value, dict):
                ok = False
                err(
                    key,
                    f"{value!r} is not a mapping of Opportunity Type value: booking type "
                    f"({', '.join(BOOKING_TYPES)})",
                )
            else:
                value = _check_opportunity_types(path, value, errors)
                ok = value is not None
        elif key == "promise_field":
            ok = isinstance(value, str) and bool(match_key(value.strip()))
            if not ok:
                err(key, f"{value!r} is not a column name (e.g. {DEFAULT_PROMISE_FIELD})")
            else:
                value = value.strip()
                taken = _OPPORTUNITY_COLUMNS.get(match_key(value))
                if taken:
                    ok = False
                    err(
                        key,
                        f"{value!r} is the Opportunity column {taken} that Quotaboard already "
                        "reads for another purpose; name the field listing promised features",
                    )
        elif key == "unreleased_promise_policy":
            ok = value in PROMISE_POLICIES
            if not ok:
                err(key, f"{value!r} is not one of {', '.join(PROMISE_POLICIES)}")
        elif key == "closed_through":
            checked = _check_date_setting(value)
            ok = checked is not None
            if ok:
                value = checked
            else:
                err(key, f"{value!r} is not a date YYYY-MM-DD (or null)")
        if ok:
            settings[key] = value
    return settings


def _yaml_key_lines(path: Path) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Line of each top-level key, and keys given twice (YAML would keep the last silently)."""
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return lines, duplicates
    for i, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"^([A-Za-z0-9_]+)\s*:", line)
        if m:
            if m.group(1) in lines:
                duplicates.append((m.group(1), i))
            lines.setdefault(m.group(1), i)
    return lines, duplicates


# --------------------------------------------------------------------------- public API


def _outside(fname: str, config_dir: Path) -> str:
    return (
        f"{fname}: a symbolic link to outside the config folder {config_dir} "
        "(not followed: only files under the config folder are read)"
    )


def load_config(config_dir: Path | str) -> Config:
    """Read and validate the configuration folder; raise ConfigError listing every problem."""
    config_dir = Path(config_dir)
    if not config_dir.is_dir():
        raise ConfigError([f"{config_dir}: config folder does not exist"])
    errors: list[str] = []
    rows: dict[str, list[Row]] = {}
    for fname, (table, required, optional, file_required) in CONFIG_FILES.items():
        path = config_dir / fname
        if os.path.lexists(path) and not is_inside(config_dir, path):
            errors.append(_outside(fname, config_dir))
            rows[table] = []
            continue
        if not path.is_file():
            if file_required:
                errors.append(f"{fname}: file is missing from the config folder")
            rows[table] = []
            continue
        got = _read_csv(path, required, optional, errors)
        rows[table] = got or []
    settings_path = config_dir / SETTINGS_FILE
    if os.path.lexists(settings_path) and not is_inside(config_dir, settings_path):
        errors.append(_outside(SETTINGS_FILE, config_dir))
        settings = dict(SETTINGS_DEFAULTS)
    else:
        settings = _check_settings(settings_path, errors)

    teams = _check_teams(rows["teams"], errors)
    team_ids = {t["team_id"] for t in teams if t["team_id"]}
    people = _check_people(rows["people"], team_ids, errors)
    person_ids = {p["person_id"] for p in people if p["person_id"]}
    plans = _check_plans(rows["quota_plans"], person_ids, team_ids, errors)
    features = _check_features(rows["feature_ownership"], team_ids, errors)
    adjustments = _check_adjustments(rows["adjustments"], person_ids, team_ids, errors)
    if errors:
        raise ConfigError(errors)
    return Config(teams, people, plans, features, adjustments, settings)


def write_config(conn: duckdb.DuckDBPyConnection, config: Config) -> dict[str, int]:
    """Replace the contents of every ``config.*`` table (one transaction); return row counts.

    The tables must exist (``schema.create_empty_tables``)."""
    counts: dict[str, int] = {}
    conn.execute("BEGIN TRANSACTION")
    try:
        for table, cols in CONFIG_TABLES.items():
            names = list(cols)
            conn.execute(f'DELETE FROM {CONFIG_SCHEMA}."{table}"')
            rows = config.table(table)
            insert_rows(
                conn,
                f'{CONFIG_SCHEMA}."{table}"',
                cols,
                [[row.get(c) for c in names] for row in rows],
            )
            counts[table] = len(rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return counts
