"""Independent reference implementation of the Quotaboard metric contract.

Written from /work/shared/spec/input-contract.md and metrics.md only (plain Python: csv, json,
gzip, zoneinfo, datetime). No DuckDB, no dbt. Used by tests/test_metrics_oracle.py to check
the published marts.

    python -m tests.oracle.reference seeds/landing seeds/config 2026-11-23

Readings chosen where the spec is ambiguous
-------------------------------------------
R1  A landing row with an unparsable value in a column the contract types (Amount,
    CloseDate, IsWon, SplitPercentage, ConversionRate, StartDate, ActivityDateTime, ...)
    still takes part in current-state resolution (only an empty/invalid Id or SystemModstamp
    keeps it out), but if the current row is invalid the record feeds no metric at all (not
    even new_logos). Every invalid row, current or not, is one `invalid_value` exception
    (source_type = object name as in the contract, e.g. `Opportunity`).
R2  An opportunity "exists" for orphan detection when it has a current row that is not
    deleted (even if that row has an invalid value).
R3  `split_total_not_100` is raised only for won opportunities (CloseDate <= as_of) that
    have a usable amount (where the owner fallback actually produces a credit).
R4  Amount checks: empty Amount -> won_without_amount; otherwise a missing rate ->
    missing_fx_rate and Amount < 0 -> negative_amount (both can be raised).
R5  The corporate currency (and an empty CurrencyIsoCode) always has rate 1, whatever the
    rate tables say. A dated/static rate row with an empty or non-positive rate is ignored.
R6  `unmapped_crm_user`: one exception per opportunity (row_count 1) whatever the number of
    credits held, for bookings / new_logos credits to a CRM user no person carries.
R7  `assisted_bookings` only for won opportunities with a usable amount; the owner's
    manager is taken from the owner's people.csv membership on CloseDate; a manager without
    crm_user_id can never be involved.
R8  `not_in_seat` applies to every person plan row with 0 days in seat, also when
    prorate=false (the row produces no attainment row).
R9  All credits are filtered to credit_date <= as_of (adjustments included).
R10 Messages: bad_event = invalid JSON / non-object line, or a track without a non-empty
    messageId or a parsable timestamp. Dedup is applied over the remaining messages of every
    type that carry a messageId (bad events take no part in dedup). Group calls without a
    parsable timestamp are ignored silently. bad_event is counted regardless of as_of;
    duplicate_event counts the dropped copies of a message whose kept copy is dated <= as_of
    (or has no timestamp, e.g. an identify without one): messages dated after as_of are
    "ignored by that run", their extra copies too; unattributed_event counts only tracks
    dated <= as_of. Duplicates of identify/page messages are counted too.
R11 Account of a workspace: the latest (by timestamp, ties: later file/line) group call
    dated <= as_of for that groupId with a non-empty crm_account_id; if that account is not
    a live Account the workspace is unattributed (no fall-back to an older group call).
R12 The workspace fallback (no context.groupId) uses group calls dated <= as_of only,
    timestamp <= the event's timestamp, ties: later file/line.
R13 influenced_bookings: opportunities with a usable amount only; the account's events
    must be attributed (account = opportunity's AccountId).
R14 activated_accounts: only attributed track events dated <= as_of; first win as for
    new_logos (includes wins without usable amount).
R15 Parquet message files are not read by this oracle (stdlib only); none in the sample.
R16 Board reference date: period start if start > as_of, else min(period end, as_of).
R17 "Team assignees" get `team_member` credit lines only for (team, metric) pairs that have
    a plan row (as the spec says explicitly for product metrics); this changes no actual.
R18 dim_fiscal_periods spans min..max fiscal year of the plan periods, the close dates of
    current non-deleted opportunities (any stage), the dates of usable track AND group
    messages dated <= as_of (input-contract 2 gives group calls a message date too) and as_of.
    Adjustment credit dates are not listed by the spec and not included.
R19 A manual adjustment on a product metric adds its amount to that plan row's actual, on
    top of the distinct count.

Spec 1.1 (the first nine are the team's readings of the new rules, written down here)
R20 Booking type: `Type` trimmed and compared ignoring case to the keys (trimmed) of settings
    `opportunity_types`; a map given in settings.yml (block or flow style) REPLACES the default
    map (null or absent: the default map). Empty/missing Type -> new_business; a non-empty
    value the map does not name -> `other`, and for a won opportunity (CloseDate <= as_of,
    current, valid; held or not) one `unknown_opportunity_type` exception (detail: raw value).
R21 net_new_bookings: a copy, under that metric, of every person bookings line
    (revenue_split, owner, owner_fallback, overlay_split) of a new_business or expansion
    opportunity, and team_member lines (from the revenue_split/owner/owner_fallback ones) for
    teams with a net_new_bookings plan row (R17). team_bookings and assisted_bookings stay
    computed from bookings. `unmapped_crm_user` stays one row per opportunity (R6).
R22 new_logos / activated_accounts: an account's first win is its earliest (CloseDate, Id) won
    opportunity that is not held; it credits a new logo, and can activate the account, only
    when its booking type is new_business (a first win of another type: never a new logo).
R23 Promises (metrics 11): the promise field is found like every column (ignoring case and
    underscores); items split on `;`, trimmed, empty ones dropped, matched to
    feature_ownership.csv features ignoring case; one promise per (opportunity, feature
    ignoring case), an unknown feature keeps its first spelling (trimmed). Only won
    opportunities (R20's sense) promise; wins without a usable amount are listed too (amount
    null). Without a released_on column every known feature is `released` (released_on
    null in fct_promises); with it, empty released_on = `unreleased`. owning_team_id: the
    ownership row valid on CloseDate (null if none or unknown). One
    `promised_unreleased_feature` per such opportunity under both policies.
R24 Held (policy hold): a held opportunity is the source of no credit line of any metric and
    is no account's first win; amount exceptions are still raised for it, but
    split_total_not_100 is not (R3: only where the owner fallback actually credits someone)
    and neither is unmapped_crm_user (it produces no credit). Policy flag: held is false
    everywhere and credits are as in 1.0.
R25 Feature ownership rows are effective-dated (valid_from inclusive, empty = since always;
    valid_to exclusive, empty = still owned). A track event belongs to the team owning its
    feature (matched exactly, as in 1.0) on the event's message date, and to that team's
    ancestors. influenced_bookings: one credit line per (non-held won opportunity with a
    usable amount, team with an influenced_bookings plan row), amount the opportunity's
    amount, dated CloseDate, rule feature_influence; the plan row's actual is the sum of its
    lines in the period (plus adjustments).
R26 Data through: crm_through = newest SystemModstamp (company time zone date) of every row of
    every CRM object file that has a parsable SystemModstamp (deleted, superseded, invalid and
    Id-less rows included; it may be after as_of); messages_through = newest message date of a
    kept (deduplicated) track message with messageId and parsable timestamp dated <= as_of
    (attributed or not; group calls do not count); data_through = min(as_of, those that
    exist). elapsed/pace/projected_actual/status (attainment and scorecards) use data_through;
    actuals and the board's carrier reference date keep as_of (so a period starting between
    data_through and as_of is not_started with no pace, whatever its actual).
R27 booking_type is set on every line whose source_type is opportunity (bookings,
    net_new_bookings, new_logos, assisted_bookings, team_bookings roll-ups, team_member lines,
    influenced_bookings); manual adjustments carry null.
R28 period_closed is false on every attainment, scorecard and board row (no period closing
    yet: closed_through is not modelled by this oracle).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

OBJECTS = [
    "User",
    "Account",
    "Opportunity",
    "OpportunitySplit",
    "OpportunitySplitType",
    "OpportunityTeamMember",
    "Event",
    "Task",
    "DatedConversionRate",
    "CurrencyType",
]

# typed columns per object (normalised name -> type)
TYPES: dict[str, dict[str, str]] = {
    "User": {"systemmodstamp": "dt", "isactive": "bool", "isdeleted": "bool"},
    "Account": {"systemmodstamp": "dt", "isdeleted": "bool", "createddate": "dt"},
    "Opportunity": {
        "amount": "num",
        "closedate": "date",
        "isclosed": "bool",
        "iswon": "bool",
        "createddate": "dt",
        "systemmodstamp": "dt",
        "isdeleted": "bool",
    },
    "OpportunitySplit": {"splitpercentage": "num", "systemmodstamp": "dt", "isdeleted": "bool"},
    "OpportunitySplitType": {
        "istotalvalidated": "bool",
        "systemmodstamp": "dt",
        "isdeleted": "bool",
    },
    "OpportunityTeamMember": {"systemmodstamp": "dt", "isdeleted": "bool"},
    "Event": {
        "activitydatetime": "dt",
        "activitydate": "date",
        "systemmodstamp": "dt",
        "isdeleted": "bool",
    },
    "Task": {"activitydate": "date", "systemmodstamp": "dt", "isdeleted": "bool"},
    "DatedConversionRate": {
        "conversionrate": "num",
        "startdate": "date",
        "nextstartdate": "date",
        "systemmodstamp": "dt",
        "isdeleted": "bool",
    },
    "CurrencyType": {
        "conversionrate": "num",
        "iscorporate": "bool",
        "isactive": "bool",
        "systemmodstamp": "dt",
        "isdeleted": "bool",
    },
}

SALES_METRICS = {"bookings", "net_new_bookings", "new_logos", "assisted_bookings", "team_bookings"}
PRODUCT_METRICS = {
    "active_accounts",
    "feature_adopting_accounts",
    "installs",
    "influenced_bookings",
    "activated_accounts",
}

_NUM_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")


def norm(name: str) -> str:
    return name.replace("_", "").strip().lower()


class Invalid(Exception):
    pass


def parse_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise Invalid(s)


def parse_num(s: str) -> float:
    v = s.strip()
    if not _NUM_RE.match(v):
        raise Invalid(s)
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        raise Invalid(s)
    return f


def parse_date(s: str) -> date:
    m = _DATE_RE.match(s.strip())
    if not m:
        raise Invalid(s)
    try:
        return date.fromisoformat(m.group(1))
    except ValueError as e:
        raise Invalid(s) from e


def parse_dt(s: str) -> datetime:
    v = s.strip()
    if v.endswith(("Z", "z")):
        v = v[:-1] + "+00:00"
    try:
        d = datetime.fromisoformat(v)
    except ValueError as e:
        raise Invalid(s) from e
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.astimezone(UTC)


PARSERS = {"bool": parse_bool, "num": parse_num, "date": parse_date, "dt": parse_dt}


# ----------------------------------------------------------------------------- config


DEFAULT_OPPORTUNITY_TYPES = {
    "New Business": "new_business",
    "Existing Business": "expansion",
    "Expansion": "expansion",
    "Upsell": "expansion",
    "Renewal": "renewal",
}
NET_NEW_TYPES = {"new_business", "expansion"}


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def _scalar(v: str):
    v = v.strip()
    if v in ("null", "~", ""):
        return None
    if v[:1] in "'\"":
        return _unquote(v)
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def _flow(v: str):
    """A one-line YAML flow list `[a, b]` or map `{a: b, c: d}` (no nesting)."""
    inner = v.strip()[1:-1]
    items = [x.strip() for x in inner.split(",") if x.strip()]
    if v.strip().startswith("["):
        return [_unquote(x) for x in items]
    out = {}
    for it in items:
        k, _, val = it.partition(":")
        out[_unquote(k)] = _scalar(val)
    return out


def parse_settings(path: Path) -> dict:
    """settings.yml, the subset the contract uses: scalars, flow lists/maps, and one level of
    block maps (`opportunity_types:` then indented `key: value` lines) or block lists."""
    s = {
        "corporate_currency": "USD",
        "fiscal_year_start_month": 1,
        "timezone": "UTC",
        "install_events": ["App Installed", "Integration Installed"],
        "influence_window_days": 90,
        "activation_min_events": 3,
        "activation_window_days": 14,
        "pace_at_risk": 0.8,
        "opportunity_types": dict(DEFAULT_OPPORTUNITY_TYPES),
        "promise_field": "Promised_Features__c",
        "unreleased_promise_policy": "hold",
    }
    if not path.exists():
        return s
    given: dict = {}
    block_key = None
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indented = line[:1] in (" ", "\t")
        if indented and block_key is not None:
            item = line.strip()
            if item.startswith("- "):
                if not isinstance(given[block_key], list):
                    given[block_key] = []
                given[block_key].append(_unquote(item[2:]))
            elif ":" in item:
                if not isinstance(given[block_key], dict):
                    given[block_key] = {}
                k, v = item.split(":", 1)
                given[block_key][_unquote(k)] = _scalar(v)
            continue
        if ":" not in line:
            continue
        k, v = line.split(":", 1)
        k, v = k.strip(), v.strip()
        block_key = None
        if v.startswith(("[", "{")):
            given[k] = _flow(v)
        elif v == "":
            given[k] = None
            block_key = k  # maybe a block map/list follows
        else:
            given[k] = _scalar(v)
    for k, v in given.items():
        if v is None and k in ("opportunity_types", "promise_field", "unreleased_promise_policy"):
            continue  # null: the default (R20)
        s[k] = v
    return s


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def opt_date(s: str | None) -> date | None:
    return date.fromisoformat(s.strip()) if s and s.strip() else None


# ----------------------------------------------------------------------------- fiscal


def add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


def period_bounds(pid: str, start_month: int) -> tuple[date, date]:
    m = re.match(r"^FY(\d{4})(?:-(Q[1-4]|M(?:0[1-9]|1[0-2])))?$", pid)
    if not m:
        raise ValueError(pid)
    fy = int(m.group(1))
    fy_start = date(fy - 1, start_month, 1) if start_month > 1 else date(fy, 1, 1)
    sub = m.group(2)
    if sub is None:
        s, e = fy_start, add_months(fy_start, 12)
    elif sub[0] == "Q":
        q = int(sub[1])
        s = add_months(fy_start, 3 * (q - 1))
        e = add_months(s, 3)
    else:
        s = add_months(fy_start, int(sub[1:]) - 1)
        e = add_months(s, 1)
    return s, e - timedelta(days=1)


# ----------------------------------------------------------------------------- landing


@dataclass
class Rec:
    obj: str
    relpath: str  # relative to crm/
    line: int
    row: dict[str, str]  # normalised col -> raw text
    vals: dict = field(default_factory=dict)  # parsed typed values (None when empty)
    invalid: list = field(default_factory=list)  # (col, raw)

    def get(self, col: str):
        c = norm(col)
        if c in self.vals:
            return self.vals[c]
        v = self.row.get(c)
        return v if v not in (None, "") else None


def crm_files(crm: Path) -> dict[str, list[Path]]:
    by_norm = {norm(o): o for o in OBJECTS}
    out: dict[str, list[Path]] = defaultdict(list)
    if not crm.is_dir():
        return out
    for p in sorted(crm.iterdir()):
        if p.is_file() and p.suffix.lower() == ".csv":
            o = by_norm.get(norm(p.stem))
            if o:
                out[o].append(p)
        elif p.is_dir():
            o = by_norm.get(norm(p.name))
            if o:
                out[o].extend(x for x in p.rglob("*") if x.is_file() and x.suffix.lower() == ".csv")
    return out


def load_object(
    crm: Path,
    landing: Path,
    obj: str,
    files: list[Path],
    exc: list,
    stamps: list | None = None,
) -> dict:
    """Current, non-deleted records by Id (each a Rec). Appends invalid_value exceptions, and
    to `stamps` the newest parsable SystemModstamp of any of the object's rows (R26)."""
    newest = None
    best: dict[str, tuple] = {}
    types = TYPES[obj]
    for p in files:
        rel = p.relative_to(crm).as_posix()
        with p.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                continue
            cols = [norm(h) for h in header]
            for i, raw in enumerate(reader):
                row = {c: (raw[j] if j < len(raw) else "") for j, c in enumerate(cols)}
                r = Rec(obj, rel, i, row)
                for c, t in types.items():
                    txt = row.get(c)
                    if txt is None or txt.strip() == "":
                        r.vals[c] = None
                        continue
                    try:
                        r.vals[c] = PARSERS[t](txt)
                    except Invalid:
                        r.vals[c] = None
                        r.invalid.append((c, txt))
                rid = (row.get("id") or "").strip()
                if r.invalid:
                    src = rid or f"{p.relative_to(landing).as_posix()}:{i + 2}"
                    for c, txt in r.invalid:
                        exc.append(("invalid", obj, src, "invalid_value", f"{c}={txt}"))
                ms = r.vals.get("systemmodstamp")
                if ms is not None and (newest is None or ms > newest):
                    newest = ms
                if not rid or ms is None:
                    continue
                key = (ms, rel, i)
                if rid not in best or key > best[rid][0]:
                    best[rid] = (key, r)
    if stamps is not None and newest is not None:
        stamps.append(newest)
    out = {}
    for rid, (_, r) in best.items():
        if r.vals.get("isdeleted") is True:
            continue
        out[rid] = r
    return out


# ----------------------------------------------------------------------------- messages


@dataclass
class Msg:
    mtype: str
    mid: str
    ts: datetime
    d: date
    file: str
    line: int
    user: str | None
    event: str | None
    feature: str | None
    ctx_group: str | None
    group_id: str | None
    crm_account: str | None


def _s(v) -> str | None:
    if v is None:
        return None
    s = str(v)
    return s if s.strip() != "" else None


def _ci_get(d, key: str):
    if not isinstance(d, dict):
        return None
    for k, v in d.items():
        if norm(k) == norm(key):
            return v
    return None


def load_messages(landing: Path, tz: ZoneInfo, as_of: date, exc: list) -> list[Msg]:
    root = landing / "product_usage"
    files = []
    if root.is_dir():
        for p in root.rglob("*"):
            n = p.name.lower()
            if p.is_file() and (n.endswith(".jsonl") or n.endswith(".jsonl.gz")):
                files.append(p)
    files.sort(key=lambda p: p.relative_to(landing).as_posix())
    seen: dict[str, date | None] = {}  # kept messageId -> its message date
    bad = defaultdict(int)
    dup = defaultdict(int)
    out: list[Msg] = []
    for p in files:
        rel = p.relative_to(landing).as_posix()
        opener = gzip.open if p.name.lower().endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as f:
            for ln, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    m = json.loads(line)
                except ValueError:
                    bad[rel] += 1
                    continue
                if not isinstance(m, dict):
                    bad[rel] += 1
                    continue
                mtype = _s(m.get("type"))
                mid = _s(m.get("messageId"))
                ts = None
                tsraw = m.get("timestamp")
                if isinstance(tsraw, str):
                    try:
                        ts = parse_dt(tsraw)
                    except Invalid:
                        ts = None
                if mtype == "track" and (mid is None or ts is None):
                    bad[rel] += 1
                    continue
                if mid is None:
                    continue
                if mid in seen:
                    kept = seen[mid]
                    if kept is None or kept <= as_of:  # R10: later messages are ignored
                        dup[rel] += 1
                    continue
                seen[mid] = ts.astimezone(tz).date() if ts is not None else None
                if mtype not in ("track", "group") or ts is None:
                    continue
                props = _ci_get(m, "properties")
                ctx = _ci_get(m, "context")
                traits = _ci_get(m, "traits")
                out.append(
                    Msg(
                        mtype=mtype,
                        mid=mid,
                        ts=ts,
                        d=ts.astimezone(tz).date(),
                        file=rel,
                        line=ln,
                        user=_s(m.get("userId")),
                        event=_s(m.get("event")),
                        feature=_s(_ci_get(props, "feature")),
                        ctx_group=_s(_ci_get(ctx, "groupId")),
                        group_id=_s(m.get("groupId")),
                        crm_account=_s(_ci_get(traits, "crm_account_id")),
                    )
                )
    for rel, n in bad.items():
        exc.append(("msg", "messages", rel, "bad_event", n))
    for rel, n in dup.items():
        exc.append(("msg", "messages", rel, "duplicate_event", n))
    return out


# ----------------------------------------------------------------------------- main


def compute(landing_dir: Path, config_dir: Path, as_of: date) -> dict[str, list[dict]]:
    landing_dir, config_dir = Path(landing_dir), Path(config_dir)
    st = parse_settings(config_dir / "settings.yml")
    tz = ZoneInfo(st["timezone"] or "UTC")
    fsm = int(st["fiscal_year_start_month"] or 1)
    corp = (st["corporate_currency"] or "USD").upper()
    exc_raw: list = []

    # ---- config
    teams = read_csv(config_dir / "teams.csv")
    parent = {t["team_id"]: (t.get("parent_team_id") or "").strip() or None for t in teams}
    team_ids = [t["team_id"] for t in teams]

    def ancestors(t: str | None) -> list[str]:
        out = []
        while t and t not in out:
            out.append(t)
            t = parent.get(t)
        return out

    def descendants(t: str) -> set[str]:
        return {x for x in team_ids if t in ancestors(x)}

    people_rows = read_csv(config_dir / "people.csv")
    memberships: dict[str, list[tuple[date, date | None, dict]]] = defaultdict(list)
    crm_to_person: dict[str, str] = {}
    person_crm: dict[str, str] = {}
    for r in people_rows:
        pid = r["person_id"]
        memberships[pid].append((opt_date(r["valid_from"]), opt_date(r.get("valid_to")), r))
        cu = (r.get("crm_user_id") or "").strip()
        if cu:
            crm_to_person[cu] = pid
            person_crm[pid] = cu

    def membership(pid: str, d: date) -> dict | None:
        for vf, vt, r in memberships.get(pid, []):
            if vf <= d and (vt is None or d < vt):
                return r
        return None

    plans = read_csv(config_dir / "quota_plans.csv")
    # feature ownership, effective-dated (1.1, R25); released_on per feature (R23)
    fo_path = config_dir / "feature_ownership.csv"
    with fo_path.open(newline="", encoding="utf-8-sig") as f:
        fo_reader = csv.DictReader(f)
        fo_rows = list(fo_reader)
        fo_cols = {(c or "").strip() for c in (fo_reader.fieldnames or [])}
    has_released = "released_on" in fo_cols
    ownership: dict[str, list[tuple[date | None, date | None, str]]] = defaultdict(list)
    feature_canon: dict[str, str] = {}  # lower-case name -> feature_ownership spelling
    released: dict[str, date | None] = {}
    for r in fo_rows:
        feat = (r.get("feature") or "").strip()
        if not feat:
            continue
        ownership[feat].append(
            (opt_date(r.get("valid_from")), opt_date(r.get("valid_to")), r["team_id"].strip())
        )
        feature_canon.setdefault(feat.lower(), feat)
        if feat not in released or released[feat] is None:
            released[feat] = opt_date(r.get("released_on"))

    def owner_on(feat: str | None, d: date) -> str | None:
        """The team owning feature `feat` (exact name) on date d."""
        for vf, vt, team in ownership.get(feat or "", []):
            if (vf is None or vf <= d) and (vt is None or d < vt):
                return team
        return None

    adj_path = config_dir / "adjustments.csv"
    adjustments = read_csv(adj_path) if adj_path.exists() else []

    # ---- landing CRM
    crm = landing_dir / "crm"
    files = crm_files(crm)
    crm_stamps: list[datetime] = []
    cur = {
        o: load_object(crm, landing_dir, o, files.get(o, []), exc_raw, crm_stamps) for o in OBJECTS
    }

    def valid(r: Rec) -> bool:
        return not r.invalid

    live_accounts = {i for i, r in cur["Account"].items() if valid(r)}
    opps = cur["Opportunity"]
    valid_opps = {i: r for i, r in opps.items() if valid(r)}

    # FX
    dated = defaultdict(list)
    for r in cur["DatedConversionRate"].values():
        if not valid(r):
            continue
        code = (r.get("IsoCode") or "").strip().upper()
        rate, sd = r.get("ConversionRate"), r.get("StartDate")
        if code and rate and rate > 0 and sd:
            dated[code].append((sd, r.get("NextStartDate"), rate, r.get("SystemModstamp")))
    static = {}
    for r in cur["CurrencyType"].values():
        if not valid(r):
            continue
        code = (r.get("IsoCode") or "").strip().upper()
        rate = r.get("ConversionRate")
        if (
            code
            and rate
            and rate > 0
            and (code not in static or r.get("SystemModstamp") > static[code][1])
        ):
            static[code] = (rate, r.get("SystemModstamp"))

    def rate_on(code: str | None, d: date) -> float | None:
        c = (code or "").strip().upper()
        if not c or c == corp:
            return 1.0
        cands = [x for x in dated.get(c, []) if x[0] <= d]
        if cands:
            best = max(cands, key=lambda x: (x[0], x[3]))
            if best[1] is None or best[1] > d:
                return best[2]
        if c in static:
            return static[c][0]
        return None

    # split types
    split_kind = {}
    for i, r in cur["OpportunitySplitType"].items():
        if valid(r) and r.get("IsTotalValidated") is False:
            split_kind[i] = "overlay"
    splits_by_opp = defaultdict(list)
    for sid, r in cur["OpportunitySplit"].items():
        oid = r.get("OpportunityId")
        if oid not in opps:
            exc_raw.append(("row", "opportunity", sid, "orphan_split", 1))
            continue
        if valid(r):
            splits_by_opp[oid].append(r)
    otm_by_opp = defaultdict(set)
    for tid, r in cur["OpportunityTeamMember"].items():
        oid = r.get("OpportunityId")
        if oid not in opps:
            exc_raw.append(("row", "opportunity", tid, "orphan_split", 1))
            continue
        if valid(r) and r.get("UserId"):
            otm_by_opp[oid].add(r.get("UserId"))
    activities = defaultdict(list)  # opp -> [(owner user, date)]
    for r in cur["Event"].values():
        if not valid(r):
            continue
        adt = r.get("ActivityDateTime")
        d = adt.astimezone(tz).date() if adt else r.get("ActivityDate")
        if d and r.get("WhatId"):
            activities[r.get("WhatId")].append((r.get("OwnerId"), d))
    for r in cur["Task"].values():
        if valid(r) and r.get("ActivityDate") and r.get("WhatId"):
            activities[r.get("WhatId")].append((r.get("OwnerId"), r.get("ActivityDate")))

    # ---- messages (before the credits: influenced_bookings lines need the events)
    all_msgs = load_messages(landing_dir, tz, as_of, exc_raw)
    msgs = [m for m in all_msgs if m.d <= as_of]
    groups = sorted((m for m in msgs if m.mtype == "group"), key=lambda m: (m.ts, m.file, m.line))
    tracks = [m for m in msgs if m.mtype == "track"]
    ws_account_raw: dict[str, str] = {}
    groups_by_user = defaultdict(list)
    for g in groups:
        if g.group_id and g.crm_account:
            ws_account_raw[g.group_id] = g.crm_account  # latest wins (sorted ascending)
        if g.user and g.group_id:
            groups_by_user[g.user].append(g)

    def workspace(t: Msg) -> str | None:
        if t.ctx_group:
            return t.ctx_group
        best = None
        for g in groups_by_user.get(t.user or "", []):
            if g.ts <= t.ts:
                best = g
            else:
                break
        return best.group_id if best else None

    def feature(t: Msg) -> str | None:
        return t.feature or t.event

    # (event, attributed account or None, team owning its feature on its message date)
    track_acc: list[tuple[Msg, str | None, str | None]] = []
    unattr = defaultdict(int)
    for t in tracks:
        ws = workspace(t)
        acc = ws_account_raw.get(ws) if ws else None
        if acc not in live_accounts:
            acc = None
            unattr[t.file] += 1
        track_acc.append((t, acc, owner_on(feature(t), t.d)))
    for rel, n in unattr.items():
        exc_raw.append(("msg", "messages", rel, "unattributed_event", n))
    below = {t: descendants(t) for t in team_ids}

    # ---- data through (metrics 5, R26)
    crm_through = max(crm_stamps).astimezone(tz).date() if crm_stamps else None
    messages_through = max((t.d for t in tracks), default=None)
    data_through = min(d for d in (as_of, crm_through, messages_through) if d is not None)

    # ---- credits
    credits: list[dict] = []

    def credit(atype, aid, metric, d, amount, source_id, rule, source_type="opportunity", bt=None):
        credits.append(
            dict(
                assignee_type=atype,
                assignee_id=aid,
                metric=metric,
                credit_date=d,
                amount=amount,
                source_type=source_type,
                source_id=source_id,
                rule=rule,
                booking_type=bt,
            )
        )

    unmapped: set[str] = set()

    def person_credit(user, metric, d, amount, oid, rule, bt):
        pid = crm_to_person.get(user or "")
        if pid is None:
            unmapped.add(oid)
            return
        credit("person", pid, metric, d, amount, oid, rule, bt=bt)

    otypes = {
        str(k).strip().lower(): str(v).strip()
        for k, v in (st["opportunity_types"] or {}).items()
        if v is not None
    }

    def booking_type(r: Rec) -> str:
        raw = (r.get("Type") or "").strip()
        if not raw:
            return "new_business"
        return otypes.get(raw.lower(), "other")

    won: dict[str, tuple[Rec, float | None]] = {}  # oid -> (rec, usable amount or None)
    btype: dict[str, str] = {}
    for oid, r in sorted(valid_opps.items()):
        if r.get("IsWon") is not True:
            continue
        cd = r.get("CloseDate")
        if cd is None:
            continue
        if cd > as_of:
            exc_raw.append(("row", "opportunity", oid, "close_date_in_future", 1))
            continue
        amt = r.get("Amount")
        usable = None
        if amt is None:
            exc_raw.append(("row", "opportunity", oid, "won_without_amount", 1))
        else:
            rate = rate_on(r.get("CurrencyIsoCode"), cd)
            ok = True
            if rate is None:
                exc_raw.append(("row", "opportunity", oid, "missing_fx_rate", 1))
                ok = False
            if amt < 0:
                exc_raw.append(("row", "opportunity", oid, "negative_amount", 1))
                ok = False
            if ok:
                usable = amt / rate
        won[oid] = (r, usable)
        btype[oid] = booking_type(r)
        if btype[oid] == "other":
            raw_type = (r.get("Type") or "").strip()
            exc_raw.append(("row", "opportunity", oid, "unknown_opportunity_type", 1, raw_type))

    # ---- promises (metrics 11, R23, R24)
    policy = str(st["unreleased_promise_policy"] or "hold").strip().lower()
    promise_col = str(st["promise_field"] or "Promised_Features__c")
    held: set[str] = set()
    promises: list[dict] = []
    for oid, (r, amount) in won.items():
        raw = r.get(promise_col)
        if not raw:
            continue
        cd = r.get("CloseDate")
        items: dict[str, str] = {}
        for it in str(raw).split(";"):
            it = it.strip()
            if it and it.lower() not in items:
                items[it.lower()] = it
        rows, bad = [], []
        for low, text in items.items():
            canon = feature_canon.get(low)
            if canon is None:
                feat, team, rel, status = text, None, None, "unknown_feature"
            else:
                feat, team, rel = canon, owner_on(canon, cd), released.get(canon)
                if not has_released or (rel is not None and rel <= cd):
                    status = "released"
                else:
                    status = "unreleased"
            if status != "released":
                bad.append(f"{feat} ({team or 'unknown'})")
            rows.append(
                dict(
                    opportunity_id=oid,
                    account_id=r.get("AccountId"),
                    owner_person_id=crm_to_person.get(r.get("OwnerId") or ""),
                    close_date=cd,
                    amount=amount,
                    booking_type=btype[oid],
                    feature=feat,
                    owning_team_id=team,
                    released_on=rel,
                    status=status,
                    held=False,
                )
            )
        if bad:
            exc_raw.append(
                ("row", "opportunity", oid, "promised_unreleased_feature", 1, "; ".join(bad))
            )
            if policy == "hold":
                held.add(oid)
                for row in rows:
                    row["held"] = True
        promises.extend(rows)
    credited = {oid: v for oid, v in won.items() if oid not in held}

    for oid, (r, amount) in won.items():
        if amount is None:
            continue
        cd = r.get("CloseDate")
        owner = r.get("OwnerId")
        bt = btype[oid]
        rev = [
            s for s in splits_by_opp.get(oid, []) if split_kind.get(s.get("SplitTypeId")) is None
        ]
        ovl = [s for s in splits_by_opp.get(oid, []) if split_kind.get(s.get("SplitTypeId"))]
        if oid in held:
            continue  # R24: a held win earns nothing (and so raises no split_total_not_100)
        split_ok = True
        if rev:
            total = sum(s.get("SplitPercentage") or 0.0 for s in rev)
            split_ok = abs(total - 100) <= 0.01 + 1e-9
            if not split_ok:
                exc_raw.append(("row", "opportunity", oid, "split_total_not_100", 1))

        def book(user, amt, rule, oid=oid, cd=cd, bt=bt):
            person_credit(user, "bookings", cd, amt, oid, rule, bt)
            if bt in NET_NEW_TYPES:
                person_credit(user, "net_new_bookings", cd, amt, oid, rule, bt)

        if rev and split_ok:
            for s in rev:
                book(
                    s.get("SplitOwnerId"),
                    amount * (s.get("SplitPercentage") or 0.0) / 100,
                    "revenue_split",
                )
        elif rev:
            book(owner, amount, "owner_fallback")
        else:
            book(owner, amount, "owner")
        for s in ovl:
            book(
                s.get("SplitOwnerId"),
                amount * (s.get("SplitPercentage") or 0.0) / 100,
                "overlay_split",
            )
        # assisted bookings
        opid = crm_to_person.get(owner or "")
        if opid:
            m = membership(opid, cd)
            mgr = (m.get("manager_person_id") or "").strip() if m else ""
            mu = person_crm.get(mgr) if mgr else None
            if mu:
                created = r.get("CreatedDate")
                cdate = created.astimezone(tz).date() if created else None
                if mu in otm_by_opp.get(oid, set()):
                    credit(
                        "person",
                        mgr,
                        "assisted_bookings",
                        cd,
                        amount,
                        oid,
                        "assist_team_member",
                        bt=bt,
                    )
                elif any(
                    u == mu and (cdate is None or cdate <= d) and d <= cd
                    for u, d in activities.get(oid, [])
                ):
                    credit(
                        "person",
                        mgr,
                        "assisted_bookings",
                        cd,
                        amount,
                        oid,
                        "assist_activity",
                        bt=bt,
                    )

    # new logos / first wins (R22): the first non-held win, credited only if new_business
    first_win: dict[str, tuple[date, str]] = {}
    for oid, (r, _) in credited.items():
        acc = r.get("AccountId")
        if not acc:
            continue
        k = (r.get("CloseDate"), oid)
        if acc not in first_win or k < first_win[acc]:
            first_win[acc] = k
    first_win = {a: v for a, v in first_win.items() if btype[v[1]] == "new_business"}
    for _acc, (cd, oid) in first_win.items():
        person_credit(
            won[oid][0].get("OwnerId"), "new_logos", cd, 1.0, oid, "first_win", "new_business"
        )

    for oid in sorted(unmapped):
        exc_raw.append(("row", "opportunity", oid, "unmapped_crm_user", 1))

    # roll-ups (from person credits only)
    person_credits = [c for c in credits if c["assignee_type"] == "person"]
    revenue_rules = ("revenue_split", "owner", "owner_fallback")
    for c in person_credits:
        team_metric = None
        if c["metric"] in ("bookings", "net_new_bookings") and c["rule"] in revenue_rules:
            team_metric = c["metric"]
        elif c["metric"] == "new_logos":
            team_metric = "new_logos"
        if team_metric is None:
            continue
        m = membership(c["assignee_id"], c["credit_date"])
        if not m:
            continue
        mgr = (m.get("manager_person_id") or "").strip()
        if c["metric"] == "bookings" and mgr:
            credit(
                "person",
                mgr,
                "team_bookings",
                c["credit_date"],
                c["amount"],
                c["source_id"],
                "rollup",
                bt=c["booking_type"],
            )
        for t in ancestors(m["team_id"]):
            credit(
                "team",
                t,
                team_metric,
                c["credit_date"],
                c["amount"],
                c["source_id"],
                "team_member",
                bt=c["booking_type"],
            )

    team_plan = {(p["assignee_id"], p["metric"]) for p in plans if p["assignee_type"] == "team"}

    # influenced_bookings lines (R25): one per (non-held won opportunity, team with a plan row)
    infl_window = int(st["influence_window_days"])
    ev_by_acc = defaultdict(list)  # account -> [(event, owning team)]
    for t, acc, own in track_acc:
        if acc:
            ev_by_acc[acc].append((t, own))
    infl_teams = sorted(t for t in team_ids if (t, "influenced_bookings") in team_plan)
    for oid, (r, amount) in sorted(credited.items()):
        if amount is None:
            continue
        cd, acc = r.get("CloseDate"), r.get("AccountId")
        lo = cd - timedelta(days=infl_window)
        owners = {own for t, own in ev_by_acc.get(acc, []) if own and lo <= t.d <= cd}
        for team in infl_teams:
            if owners & below[team]:
                credit(
                    "team",
                    team,
                    "influenced_bookings",
                    cd,
                    amount,
                    oid,
                    "feature_influence",
                    bt=btype[oid],
                )

    for a in adjustments:
        credit(
            a["assignee_type"],
            a["assignee_id"],
            a["metric"],
            date.fromisoformat(a["credit_date"].strip()),
            float(a["amount"]),
            a["adjustment_id"],
            "manual_adjustment",
            source_type="adjustment",
        )
    # R17: a team gets sales credit lines only as an assignee (a plan row for that metric)
    credits = [
        c
        for c in credits
        if c["credit_date"] <= as_of
        and (
            c["assignee_type"] != "team"
            or c["rule"] == "manual_adjustment"
            or (c["assignee_id"], c["metric"]) in team_plan
        )
    ]

    credit_index = defaultdict(list)
    for c in credits:
        credit_index[(c["assignee_type"], c["assignee_id"], c["metric"])].append(c)

    install_events = set(st["install_events"] or [])

    # activation dates per account (first win new_business, R22)
    activation: dict[str, date] = {}
    n_min, win = int(st["activation_min_events"]), int(st["activation_window_days"])
    for acc, (c, _oid) in first_win.items():
        evs = sorted(
            (t for t, _own in ev_by_acc.get(acc, []) if c <= t.d <= c + timedelta(days=win)),
            key=lambda t: (t.ts, t.mid),
        )
        if len(evs) >= n_min:
            activation[acc] = evs[n_min - 1].d

    def product_actual(team: str, metric: str, s: date, e: date) -> float:
        """Distinct counts from the events (influenced_bookings is summed from its lines)."""
        e = min(e, as_of)
        mine = below.get(team, set())
        if metric == "active_accounts":
            return float(len({a for t, a, _o in track_acc if a and s <= t.d <= e}))
        if metric == "feature_adopting_accounts":
            return float(len({a for t, a, own in track_acc if a and s <= t.d <= e and own in mine}))
        if metric == "installs":
            return float(
                len(
                    {
                        t.mid
                        for t, _a, own in track_acc
                        if s <= t.d <= e and t.event in install_events and own in mine
                    }
                )
            )
        if metric == "activated_accounts":
            return float(sum(1 for d in activation.values() if s <= d <= e))
        raise ValueError(metric)

    # ---- attainment
    pace_at_risk = float(st["pace_at_risk"])
    att_rows = []
    for p in plans:
        atype, aid, pid, metric = (
            p["assignee_type"],
            p["assignee_id"],
            p["fiscal_period"],
            p["metric"],
        )
        s, e = period_bounds(pid, fsm)
        pdays = (e - s).days + 1
        plan_target = float(p["target"])
        weight = float(p["weight"]) if (p.get("weight") or "").strip() else 1.0
        cap = float(p["cap"]) if (p.get("cap") or "").strip() else None
        factor = 1.0
        if atype == "person":
            seat = sum(
                1 for i in range(pdays) if membership(aid, s + timedelta(days=i)) is not None
            )
            if seat == 0:
                exc_raw.append(("row", "quota_plan", f"{aid}:{pid}:{metric}", "not_in_seat", 1))
                continue
            prorate = (p.get("prorate") or "").strip().lower()
            if prorate in ("", "true", "1"):
                factor = seat / pdays
        target = plan_target * factor
        if s > as_of:
            actual = 0.0
        else:
            # credit lines (sales credits, roll-ups, influence, manual adjustments) in the period
            actual = sum(
                c["amount"]
                for c in credit_index.get((atype, aid, metric), [])
                if s <= c["credit_date"] <= e
            )
            if atype == "team" and metric in PRODUCT_METRICS - {"influenced_bookings"}:
                actual += product_actual(aid, metric, s, e)
        attainment = actual / target
        capped = min(attainment, cap) if cap is not None else attainment
        elapsed, status = _elapsed_status(s, e, pdays, data_through, attainment, pace_at_risk)
        pace = attainment / elapsed if elapsed > 0 else None
        proj = actual / elapsed if elapsed > 0 else None
        att_rows.append(
            dict(
                assignee_type=atype,
                assignee_id=aid,
                fiscal_period=pid,
                metric=metric,
                plan_target=plan_target,
                proration_factor=factor,
                target=target,
                actual=actual,
                attainment=attainment,
                cap=cap,
                capped_attainment=capped,
                weight=weight,
                elapsed=elapsed,
                pace=pace,
                projected_actual=proj,
                status=status,
                period_closed=False,
            )
        )

    # ---- scorecards
    sc_groups = defaultdict(list)
    for r in att_rows:
        sc_groups[(r["assignee_type"], r["assignee_id"], r["fiscal_period"])].append(r)
    scorecards = []
    for (atype, aid, pid), rows in sc_groups.items():
        s, e = period_bounds(pid, fsm)
        pdays = (e - s).days + 1
        tw = sum(r["weight"] for r in rows)
        wa = sum(r["weight"] * r["capped_attainment"] for r in rows) / tw
        _, status = _elapsed_status(s, e, pdays, data_through, wa, pace_at_risk)
        scorecards.append(
            dict(
                assignee_type=atype,
                assignee_id=aid,
                fiscal_period=pid,
                weighted_attainment=wa,
                status=status,
                component_count=len(rows),
                period_closed=False,
            )
        )

    # ---- board (the carriers' reference date stays on as_of)
    periods = sorted({p["fiscal_period"] for p in plans})
    sc_by = {(r["assignee_type"], r["assignee_id"], r["fiscal_period"]): r for r in scorecards}
    person_sc = defaultdict(list)
    for r in scorecards:
        if r["assignee_type"] == "person":
            person_sc[r["fiscal_period"]].append(r)
    board = []
    for t in team_ids:
        for pid in periods:
            s, e = period_bounds(pid, fsm)
            ref = s if s > as_of else min(e, as_of)
            vals = []
            for r in person_sc[pid]:
                m = membership(r["assignee_id"], ref)
                if m and m["team_id"] in below[t]:
                    vals.append(r["weighted_attainment"])
            own = sc_by.get(("team", t, pid))
            board.append(
                dict(
                    team_id=t,
                    fiscal_period=pid,
                    weighted_attainment=own["weighted_attainment"] if own else None,
                    quota_carriers=len(vals),
                    carriers_at_or_above=sum(1 for v in vals if v >= 1),
                    median_carrier_attainment=statistics.median(vals) if vals else None,
                    period_closed=False,
                )
            )

    # ---- exceptions
    agg: dict[tuple, int] = defaultdict(int)
    details: dict[tuple, list[str]] = defaultdict(list)
    for kind, stype, sid, reason, n, *rest in exc_raw:
        if kind == "invalid":
            k = (stype, sid, "invalid_value")
            agg[k] += 1
            details[k].append(n)  # for invalid rows the 5th field is the detail text
        else:
            k = (stype, sid, reason)
            agg[k] += n
            details[k].extend(rest)
    exceptions = [
        dict(
            source_type=k[0],
            source_id=k[1],
            reason=k[2],
            detail="; ".join(details[k]) or None,
            row_count=v,
        )
        for k, v in sorted(agg.items())
    ]

    return {
        "fct_quota_attainment": att_rows,
        "fct_scorecards": scorecards,
        "mart_team_board": board,
        "fct_quota_exceptions": exceptions,
        "fct_quota_credits": credits,
        "fct_promises": sorted(promises, key=lambda r: (r["opportunity_id"], r["feature"])),
        "run_dates": [
            dict(
                as_of=as_of,
                crm_through=crm_through,
                messages_through=messages_through,
                data_through=data_through,
            )
        ],
        "dim_fiscal_periods": _fiscal_periods(
            fsm,
            [period_bounds(p["fiscal_period"], fsm)[0] for p in plans]
            + [period_bounds(p["fiscal_period"], fsm)[1] for p in plans]
            + [r.get("CloseDate") for r in opps.values() if r.get("CloseDate")]
            + [m.d for m in msgs]
            + [as_of],
        ),
    }


def fiscal_year_of(d: date, start_month: int) -> int:
    if start_month == 1:
        return d.year
    return d.year + 1 if d.month >= start_month else d.year


def _fiscal_periods(fsm: int, dates: list[date]) -> list[dict]:
    """R18: every period of the fiscal years spanning (min..max) the plan periods, the close
    dates of current opportunities, all usable message dates and as_of."""
    years = [fiscal_year_of(d, fsm) for d in dates]
    out = []
    for fy in range(min(years), max(years) + 1):
        ids = [f"FY{fy}"] + [f"FY{fy}-Q{q}" for q in range(1, 5)]
        ids += [f"FY{fy}-M{m:02d}" for m in range(1, 13)]
        for pid in ids:
            s, e = period_bounds(pid, fsm)
            kind = "year" if "-" not in pid else ("quarter" if "-Q" in pid else "month")
            out.append(
                dict(
                    fiscal_period=pid,
                    period_type=kind,
                    period_start=s,
                    period_end=e,
                    period_days=(e - s).days + 1,
                )
            )
    return out


def _elapsed_status(s, e, pdays, as_of, att, pace_at_risk):
    if e < as_of:
        return 1.0, ("achieved" if att >= 1 else "missed")
    if s > as_of:
        return 0.0, "not_started"
    elapsed = ((as_of - s).days + 1) / pdays
    pace = att / elapsed
    if pace >= 1:
        return elapsed, "on_track"
    if pace >= pace_at_risk:
        return elapsed, "at_risk"
    return elapsed, "behind"


def credit_totals(credits: list[dict]) -> dict[tuple, float]:
    """Sum of credit amounts per (assignee_type, assignee_id, metric, rule)."""
    out: dict[tuple, float] = defaultdict(float)
    for c in credits:
        out[(c["assignee_type"], c["assignee_id"], c["metric"], c["rule"])] += c["amount"]
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        print("usage: python -m tests.oracle.reference LANDING CONFIG AS_OF", file=sys.stderr)
        return 2
    res = compute(Path(argv[0]), Path(argv[1]), date.fromisoformat(argv[2]))
    for name, rows in res.items():
        print(f"{name}: {len(rows)} rows")
    status = defaultdict(int)
    for r in res["fct_quota_attainment"]:
        status[r["status"]] += 1
    print("attainment statuses:", dict(sorted(status.items())))
    reasons = defaultdict(int)
    for r in res["fct_quota_exceptions"]:
        reasons[r["reason"]] += r["row_count"]
    print("exceptions (row_count by reason):", dict(sorted(reasons.items())))
    tot = defaultdict(float)
    for c in res["fct_quota_credits"]:
        tot[(c["assignee_type"], c["metric"])] += c["amount"]
    for k, v in sorted(tot.items()):
        print(f"credits {k[0]:6} {k[1]:20} {v:,.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
