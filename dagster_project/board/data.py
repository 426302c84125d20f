"""What the company board shows, read from the published DuckDB file only (read-only).

:func:`load_board` opens ``published/quotaboard.duckdb`` read-only, reads the contract columns
of metrics.md §8 (never the working warehouse) and returns a :class:`Board`: one
:class:`PeriodView` per plan period with team plan rows, the open exceptions, the runs.

- ``as_of``, ``data_through`` and each source's date are the latest run's (``fct_runs``; a file
  published before 1.1 has none: ``fct_attainment_history``'s latest run, data through as_of).
- Elapsed, pace, projection and status are the marts' (``fct_quota_attainment``,
  ``fct_scorecards``), measured at data_through (metrics.md §5); a team's pace is its weighted
  attainment ÷ the period's elapsed share. Only a period without any attainment row falls
  back to computing elapsed at data_through.
- A team without plan rows for a period keeps ``weighted_attainment = None`` ("no quota") and,
  when teams below it have plan rows, a **roll-up** (metrics.md §12): for each metric they
  carry, the sum of their actuals against the sum of their targets, where a child without a
  quota contributes its own roll-up. It is labelled as a roll-up, never as a quota.
- What moved: each team's change since the previous published run (``fct_attainment_history``,
  recomputed with today's weights and caps), and per component the cumulative credit lines by
  day (``fct_quota_credits``) against the straight line to target, with the credit lines
  behind the number (largest first).
- Promises (``fct_promises``), closed periods and their post-close changes
  (``mart_team_board.period_closed``, ``fct_post_close_changes``), ``fct_runs`` and the
  settings (``fct_config_changes``) are 1.1 tables: a file without them still renders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

MAX_EXCEPTION_ROWS = 1000
MAX_CREDIT_LINES = 40  # per component: the largest; the rest are counted, not listed
TOP_CREDIT_LINES = 5  # shown first; the others one click away
PERIOD_TYPE_ORDER = {"quarter": 0, "month": 1, "year": 2}
DEFAULT_FRESHNESS_HOURS = 26.0
REQUIRED_TABLES = (
    "dim_fiscal_periods",
    "dim_teams",
    "dim_people",
    "fct_quota_attainment",
    "fct_scorecards",
    "mart_team_board",
    "fct_quota_exceptions",
    "fct_attainment_history",
)
OPTIONAL_TABLES = (
    "fct_quota_credits",
    "fct_runs",
    "fct_promises",
    "fct_post_close_changes",
    "fct_config_changes",
)
# Teams under one parent: leadership, then sales, then product and R&D (then by name).
FUNCTION_ORDER = {"leadership": 0, "sales_management": 1, "sales": 2, "product": 3, "rnd": 4}
SALES_FUNCTIONS = ("sales", "sales_management", "leadership")
PRODUCT_FUNCTIONS = ("product", "rnd")


def projects_linearly(metric: str) -> bool:
    """Whether the board shows a projection (``projected_actual``, actual / elapsed) for
    ``metric``: only for summed metrics. A distinct count (active accounts) does not grow in
    proportion to time (the same accounts come back every week), so its straight-line
    projection would read as a wrong number; the mart keeps it, the board leaves it out."""
    from dagster_project import metric_registry

    try:
        return metric_registry.metric(metric).aggregation == "sum"
    except (KeyError, metric_registry.RegistryError):
        return True


class BoardError(RuntimeError):
    """The published file cannot feed the board (the message names the file and table)."""


@dataclass
class CreditLine:
    """One credit line behind a number (fct_quota_credits)."""

    credit_date: date | None
    amount: float
    source_type: str | None
    source_id: str | None
    rule: str | None
    booking_type: str | None = None


@dataclass
class Component:
    """One plan row of a scorecard (fct_quota_attainment), or one metric of a roll-up."""

    metric: str
    unit: str | None
    target: float | None
    actual: float | None
    attainment: float | None
    capped_attainment: float | None = None
    cap: float | None = None
    weight: float | None = None
    status: str | None = None
    narrative: str | None = None
    pace: float | None = None
    projected_actual: float | None = None
    share: float | None = None  # weight / sum of the scorecard's weights in the period
    previous_actual: float | None = None  # in the previous published run
    series: list[tuple[date, float]] = field(default_factory=list)  # cumulative by day
    credits: list[CreditLine] = field(default_factory=list)  # largest first
    credit_count: int = 0
    contributors: list[tuple[str, str, float | None, float | None]] = field(
        default_factory=list
    )  # roll-ups: (team_id, team_name, actual, target)

    @property
    def change(self) -> float | None:
        if self.previous_actual is None or self.actual is None:
            return None
        return self.actual - self.previous_actual


@dataclass
class Promises:
    """Won deals that promised a feature the product did not have (metrics.md §11)."""

    kind: str  # "sales": deals of its members; "product": deals promising its features
    deals: int
    amount: float | None
    held: int


@dataclass
class TeamRow:
    """One team in one period: mart_team_board + its scorecard status and components."""

    team_id: str
    team_name: str
    function: str | None
    mission: str | None
    weighted_attainment: float | None
    status: str | None
    pace: float | None
    quota_carriers: int
    carriers_at_or_above: int
    median_carrier_attainment: float | None
    components: list[Component] = field(default_factory=list)
    parent_team_id: str | None = None
    depth: int = 0
    rollup: list[Component] = field(default_factory=list)  # only for teams without a quota
    previous_weighted: float | None = None
    children: list[tuple[str, str, float | None, str | None]] = field(
        default_factory=list
    )  # (team_id, name, weighted_attainment, status) of teams right below it with a quota
    promises: Promises | None = None

    @property
    def change(self) -> float | None:
        if self.previous_weighted is None or self.weighted_attainment is None:
            return None
        return self.weighted_attainment - self.previous_weighted


@dataclass
class Carrier:
    """A person with a scorecard for the period (the leaderboard)."""

    person_id: str
    person_name: str
    team_name: str | None
    weighted_attainment: float | None
    status: str | None


@dataclass
class TrendPoint:
    as_of: date
    team_id: str
    weighted_attainment: float


@dataclass
class PostCloseChange:
    """A number of a closed period that today's data computes differently (metrics.md §13)."""

    assignee_type: str
    assignee_id: str
    assignee_name: str
    metric: str
    unit: str | None
    closed_actual: float | None
    live_actual: float | None
    delta: float | None
    first_seen_as_of: date | None


@dataclass
class PeriodView:
    """Everything the board shows for one plan period."""

    fiscal_period: str
    period_type: str | None
    period_start: date | None
    period_end: date | None
    period_days: int | None
    elapsed: float | None
    state: str  # ended, current, not_started, or unknown (no dates)
    teams: list[TeamRow]
    leaderboard: list[Carrier]
    trend: list[TrendPoint]
    closed: bool = False
    post_close_changes: list[PostCloseChange] = field(default_factory=list)


@dataclass
class ExceptionRow:
    source_type: str | None
    source_id: str | None
    reason: str
    detail: str | None
    row_count: int


@dataclass
class Source:
    """A source's newest data (fct_runs) and whether it is older than the freshness limit."""

    name: str
    through: date | None
    late: bool


@dataclass
class Board:
    """The whole board: every plan period, the exceptions, and when it was published."""

    published_path: Path
    as_of: date | None
    published_at: datetime
    run_id: str | None
    periods: list[PeriodView]
    default_period: str | None
    exceptions_by_reason: list[tuple[str, int, int]]  # reason, entries, sum(row_count)
    exceptions: list[ExceptionRow]
    exceptions_total_entries: int
    data_through: date | None = None
    sources: list[Source] = field(default_factory=list)
    currency: str | None = None
    freshness_max_age_hours: float = DEFAULT_FRESHNESS_HOURS
    previous_run: tuple[str, date | None, datetime | None] | None = None  # id, as_of, at
    has_promises: bool = False
    runs: int = 0
    pace_at_risk: float | None = None

    @property
    def late_sources(self) -> list[Source]:
        return [s for s in self.sources if s.late]

    def period(self, fiscal_period: str) -> PeriodView:
        for view in self.periods:
            if view.fiscal_period == fiscal_period:
                return view
        raise KeyError(fiscal_period)


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = conn.cursor()
    try:
        cur.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        cur.close()


def _columns(conn: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in _rows(
        conn,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'",
    ):
        out.setdefault(r["table_name"], set()).add(r["column_name"])
    return out


def _check_tables(present: dict[str, set[str]], path: Path) -> None:
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise BoardError(
            f"{path}: the published file has no marts.{', marts.'.join(missing)}; "
            "the board needs every mart of metrics.md §8 (run `quotaboard run` to publish them)"
        )


def elapsed_share(start: date | None, end: date | None, days: int | None, at: date | None):
    """Time elapsed of a period on ``at`` (metrics.md §5, at = data_through); None without a
    date."""
    if at is None or start is None or end is None or not days:
        return None
    if end < at:
        return 1.0
    if start > at:
        return 0.0
    return ((at - start).days + 1) / days


def period_state(start: date | None, end: date | None, at: date | None) -> str:
    """``ended`` (before ``at``), ``not_started`` (after it), ``current``, or ``unknown``."""
    if at is None or start is None or end is None:
        return "unknown"
    if end < at:
        return "ended"
    return "not_started" if start > at else "current"


def _team_order(teams: list[dict]) -> list[str]:
    """Team ids depth-first from the top of the hierarchy (children by function, then name)."""
    by_parent: dict[str | None, list[dict]] = {}
    ids = {t["team_id"] for t in teams}
    for team in teams:
        parent = team["parent_team_id"] if team["parent_team_id"] in ids else None
        by_parent.setdefault(parent, []).append(team)
    for children in by_parent.values():
        children.sort(
            key=lambda t: (
                FUNCTION_ORDER.get(t.get("function") or "", 9),
                str(t["team_name"] or ""),
                str(t["team_id"]),
            )
        )
    order: list[str] = []
    seen: set[str] = set()

    def visit(parent: str | None) -> None:
        for team in by_parent.get(parent, []):
            if team["team_id"] in seen:
                continue
            seen.add(team["team_id"])
            order.append(team["team_id"])
            visit(team["team_id"])

    visit(None)
    for team in teams:  # teams caught in a cycle (config validation forbids them)
        if team["team_id"] not in seen:
            seen.add(team["team_id"])
            order.append(team["team_id"])
    return order


def _default_period(periods: list[PeriodView], as_of: date | None) -> str | None:
    """The plan period containing as_of, quarters first (then months, then years); else the
    latest started plan period; else the first."""
    if not periods:
        return None
    if as_of is not None:
        containing = [
            p
            for p in periods
            if p.period_start is not None
            and p.period_end is not None
            and p.period_start <= as_of <= p.period_end
        ]
        if containing:
            containing.sort(key=lambda p: PERIOD_TYPE_ORDER.get(p.period_type or "", 9))
            return containing[0].fiscal_period
        started = [p for p in periods if p.period_start is not None and p.period_start <= as_of]
        if started:
            return max(started, key=lambda p: (p.period_start, p.period_end)).fiscal_period
    return periods[0].fiscal_period


def load_board(published_path: Path, settings: dict | None = None) -> Board:
    """Read the board from the published DuckDB file (read-only). ``settings`` (the run's
    settings.yml) is used only for what the published file does not carry (a file published
    before ``fct_config_changes``)."""
    published_path = Path(published_path)
    if not published_path.exists():
        raise BoardError(
            f"no published file at {published_path}: run `quotaboard run` to publish the marts"
        )
    try:
        conn = duckdb.connect(str(published_path), read_only=True)
    except duckdb.Error as exc:
        raise BoardError(f"{published_path}: cannot open the published file: {exc}") from exc
    try:
        present = _columns(conn)
        _check_tables(present, published_path)
        try:
            return _read(conn, published_path, present, settings or {})
        except duckdb.BinderException as exc:
            raise BoardError(
                f"{published_path}: a mart lacks a column of the contract (metrics.md §8): {exc}"
            ) from exc
    finally:
        conn.close()


def _published_settings(conn, present: dict[str, set[str]]) -> dict[str, str | None]:
    """The settings the published run used: the newest value of each settings.yml key in
    fct_config_changes (every run's changes; the first run lists every value)."""
    if "fct_config_changes" not in present:
        return {}
    rows = _rows(
        conn,
        """
        select row_key, new_value, change
        from marts.fct_config_changes
        where file = 'settings.yml' and column_name = 'value'
        qualify row_number() over (partition by row_key order by published_at desc, run_id desc)
            = 1
        """,
    )
    return {r["row_key"]: (None if r["change"] == "removed" else r["new_value"]) for r in rows}


def _setting(published: dict, given: dict, key: str) -> Any:
    value = published.get(key)
    if value is None or str(value).upper() == "NULL":
        value = given.get(key)
    return value


def _runs(conn, present) -> list[dict]:
    """Published runs, newest first: run_id, as_of, published_at (+ data dates from fct_runs)."""
    if "fct_runs" in present:
        cols = present["fct_runs"]
        extra = ", ".join(
            c if c in cols else f"null as {c}"
            for c in ("data_through", "crm_through", "messages_through")
        )
        runs = _rows(
            conn,
            f"select run_id, as_of, published_at, {extra} from marts.fct_runs "
            "order by published_at desc, run_id desc",
        )
        if runs:
            return runs
    return _rows(
        conn,
        """
        select run_id, max(as_of) as as_of, max(published_at) as published_at,
               null as data_through, null as crm_through, null as messages_through
        from marts.fct_attainment_history
        group by run_id
        order by published_at desc, run_id desc
        """,
    )


def _read(conn, path: Path, present: dict[str, set[str]], given: dict) -> Board:
    runs = _runs(conn, present)
    latest = runs[0] if runs else None
    previous = runs[1] if len(runs) > 1 else None
    as_of: date | None = latest["as_of"] if latest else None
    run_id: str | None = latest["run_id"] if latest else None
    published_at: datetime = (
        latest["published_at"]
        if latest and latest["published_at"] is not None
        else datetime.fromtimestamp(os.path.getmtime(path), UTC).replace(tzinfo=None)
    )
    data_through: date | None = (latest or {}).get("data_through") or as_of

    published = _published_settings(conn, present)
    currency = _setting(published, given, "corporate_currency")
    currency = str(currency).upper() if currency else None
    try:
        max_age = float(_setting(published, given, "freshness_max_age_hours"))
    except (TypeError, ValueError):
        max_age = DEFAULT_FRESHNESS_HOURS
    try:
        pace_at_risk = float(_setting(published, given, "pace_at_risk"))
    except (TypeError, ValueError):
        pace_at_risk = None
    sources = []
    for key, name in (("crm_through", "CRM"), ("messages_through", "Product events")):
        through = (latest or {}).get(key)
        if through is None:
            continue
        late = as_of is not None and (as_of - through).days * 24 > max_age
        sources.append(Source(name=name, through=through, late=late))

    teams = _rows(
        conn, "select team_id, team_name, function, parent_team_id, mission from marts.dim_teams"
    )
    team_info = {t["team_id"]: t for t in teams}
    order = _team_order(teams)
    rank = {team_id: i for i, team_id in enumerate(order)}

    def depth_of(team_id: str) -> int:
        depth, seen, cur = 0, set(), team_info.get(team_id, {}).get("parent_team_id")
        while cur in team_info and cur not in seen:
            seen.add(cur)
            depth += 1
            cur = team_info[cur]["parent_team_id"]
        return depth

    calendar = {
        r["fiscal_period"]: r
        for r in _rows(
            conn,
            """
            select fiscal_period, period_type, period_start, period_end, period_days
            from marts.dim_fiscal_periods
            """,
        )
    }
    closed_col = "board.period_closed" if "period_closed" in present["mart_team_board"] else "false"
    board_rows = _rows(
        conn,
        f"""
        select board.team_id, board.team_name, board.function, board.mission,
               board.fiscal_period, board.weighted_attainment, board.quota_carriers,
               board.carriers_at_or_above, board.median_carrier_attainment,
               scorecards.status, {closed_col} as period_closed
        from marts.mart_team_board as board
        left join marts.fct_scorecards as scorecards
            on scorecards.assignee_type = 'team'
            and scorecards.assignee_id = board.team_id
            and scorecards.fiscal_period = board.fiscal_period
        """,
    )

    # -- the previous published run's team numbers ---------------------------------------
    previous_actual: dict[tuple[str, str, str], float | None] = {}
    previous_attainment: dict[tuple[str, str, str], float | None] = {}
    if previous is not None:
        for r in _rows(
            conn,
            """
            select assignee_id, fiscal_period, metric, actual, attainment
            from marts.fct_attainment_history
            where run_id = ? and assignee_type = 'team'
            """,
            [previous["run_id"]],
        ):
            key = (r["assignee_id"], r["fiscal_period"], r["metric"])
            previous_actual[key] = r["actual"]
            previous_attainment[key] = r["attainment"]

    # -- components: elapsed, pace, projection and status as the marts have them ---------
    components: dict[tuple[str, str], list[Component]] = {}
    elapsed_of: dict[str, float] = {}
    for r in _rows(
        conn,
        """
        select assignee_type, assignee_id, fiscal_period, metric, unit, target, actual,
               attainment, capped_attainment, cap, weight, status, narrative, elapsed, pace,
               projected_actual
        from marts.fct_quota_attainment
        order by assignee_id, fiscal_period, weight desc, metric
        """,
    ):
        if r["elapsed"] is not None:
            elapsed_of.setdefault(r["fiscal_period"], r["elapsed"])
        if r.pop("assignee_type") != "team":
            continue
        r.pop("elapsed")
        key = (r.pop("assignee_id"), r.pop("fiscal_period"))
        comp = Component(**r)
        if not projects_linearly(comp.metric):
            comp.projected_actual = None
        comp.previous_actual = previous_actual.get((*key, comp.metric))
        components.setdefault(key, []).append(comp)
    for comps in components.values():
        total = sum(c.weight or 0 for c in comps)
        for c in comps:
            c.share = (c.weight or 0) / total if total else None

    # -- cumulative credits and the largest credit lines of each team component ----------
    if "fct_quota_credits" in present:
        _attach_credits(conn, present, components, as_of)

    people: dict[str, list[Carrier]] = {}
    for r in _rows(
        conn,
        """
        select scorecards.fiscal_period, scorecards.assignee_id as person_id,
               coalesce(people.person_name, scorecards.assignee_name, scorecards.assignee_id)
                   as person_name,
               teams.team_name, scorecards.weighted_attainment, scorecards.status
        from marts.fct_scorecards as scorecards
        left join marts.dim_people as people on people.person_id = scorecards.assignee_id
        left join marts.dim_teams as teams on teams.team_id = people.current_team_id
        where scorecards.assignee_type = 'person'
        order by scorecards.weighted_attainment desc nulls last, person_name, person_id
        """,
    ):
        people.setdefault(r.pop("fiscal_period"), []).append(Carrier(**r))

    trend: dict[str, list[TrendPoint]] = {}
    for r in _rows(conn, TREND_SQL):
        trend.setdefault(r.pop("fiscal_period"), []).append(TrendPoint(**r))

    promises = _promises(conn, present, team_info, calendar)
    post_close = _post_close(conn, present, runs, team_info)

    by_period: dict[str, list[dict]] = {}
    for r in board_rows:
        by_period.setdefault(r["fiscal_period"], []).append(r)

    periods: list[PeriodView] = []
    for fiscal_period, rows in by_period.items():
        if not any(
            (r["team_id"], fiscal_period) in components or r["weighted_attainment"] is not None
            for r in rows
        ):
            continue  # only people carry a plan for it: no team number to show
        cal = calendar.get(fiscal_period, {})
        start, end = cal.get("period_start"), cal.get("period_end")
        elapsed = elapsed_of.get(fiscal_period)
        if elapsed is None:
            elapsed = elapsed_share(start, end, cal.get("period_days"), data_through)
        team_rows: dict[str, TeamRow] = {}
        for r in sorted(rows, key=lambda r: (rank.get(r["team_id"], len(rank)), r["team_id"])):
            wa = r["weighted_attainment"]
            comps = components.get((r["team_id"], fiscal_period), [])
            team = TeamRow(
                team_id=r["team_id"],
                team_name=r["team_name"] or r["team_id"],
                function=r["function"],
                mission=r["mission"],
                weighted_attainment=wa,
                status=r["status"] if wa is not None else None,
                pace=wa / elapsed if wa is not None and elapsed else None,
                quota_carriers=int(r["quota_carriers"] or 0),
                carriers_at_or_above=int(r["carriers_at_or_above"] or 0),
                median_carrier_attainment=r["median_carrier_attainment"],
                components=comps,
                parent_team_id=team_info.get(r["team_id"], {}).get("parent_team_id"),
                depth=depth_of(r["team_id"]),
                promises=promises.get((r["team_id"], fiscal_period)),
            )
            if wa is not None and comps:
                prev = [
                    (previous_attainment.get((team.team_id, fiscal_period, c.metric)), c)
                    for c in comps
                ]
                if all(a is not None for a, _ in prev):
                    num = sum(
                        (c.weight or 0) * (min(a, c.cap) if c.cap is not None else a)
                        for a, c in prev
                    )
                    den = sum(c.weight or 0 for _, c in prev)
                    team.previous_weighted = num / den if den else None
            team_rows[team.team_id] = team
        _attach_rollups(team_rows, elapsed)
        periods.append(
            PeriodView(
                fiscal_period=fiscal_period,
                period_type=cal.get("period_type"),
                period_start=start,
                period_end=end,
                period_days=cal.get("period_days"),
                elapsed=elapsed,
                state=period_state(start, end, data_through),
                teams=list(team_rows.values()),
                leaderboard=people.get(fiscal_period, []),
                trend=trend.get(fiscal_period, []),
                closed=any(bool(r["period_closed"]) for r in rows),
                post_close_changes=post_close.get(fiscal_period, []),
            )
        )
    periods.sort(
        key=lambda p: (p.period_start or date.max, p.period_end or date.max, p.fiscal_period)
    )

    by_reason = [
        (r["reason"], int(r["entries"]), int(r["row_count"]))
        for r in _rows(
            conn,
            """
            select reason, count(*) as entries, coalesce(sum(row_count), 0) as row_count
            from marts.fct_quota_exceptions
            group by reason
            order by row_count desc, reason
            """,
        )
    ]
    exceptions = [
        ExceptionRow(
            source_type=r["source_type"],
            source_id=r["source_id"],
            reason=r["reason"],
            detail=r["detail"],
            row_count=int(r["row_count"] or 0),
        )
        for r in _rows(
            conn,
            """
            select source_type, source_id, reason, detail, row_count
            from marts.fct_quota_exceptions
            order by reason, source_type, source_id
            limit ?
            """,
            [MAX_EXCEPTION_ROWS],
        )
    ]
    return Board(
        published_path=path,
        as_of=as_of,
        published_at=published_at,
        run_id=run_id,
        periods=periods,
        default_period=_default_period(periods, as_of),
        exceptions_by_reason=by_reason,
        exceptions=exceptions,
        exceptions_total_entries=sum(n for _, n, _ in by_reason),
        data_through=data_through,
        sources=sources,
        currency=currency,
        freshness_max_age_hours=max_age,
        previous_run=(
            (previous["run_id"], previous["as_of"], previous["published_at"]) if previous else None
        ),
        has_promises="fct_promises" in present,
        runs=len(runs),
        pace_at_risk=pace_at_risk,
    )


TREND_SQL = """
with latest_run_per_day as (
    select as_of, max(published_at) as published_at
    from marts.fct_attainment_history
    group by as_of
),

team_history as (
    select history.*
    from marts.fct_attainment_history as history
    inner join latest_run_per_day
        on history.as_of = latest_run_per_day.as_of
        and history.published_at = latest_run_per_day.published_at
    where history.assignee_type = 'team' and history.attainment is not null
),

plan as (
    select assignee_id, fiscal_period, metric, weight, cap
    from marts.fct_quota_attainment
    where assignee_type = 'team'
)

select
    team_history.fiscal_period,
    team_history.as_of,
    team_history.assignee_id as team_id,
    sum(plan.weight * case
        when plan.cap is not null and team_history.attainment > plan.cap then plan.cap
        else team_history.attainment
    end) / sum(plan.weight) as weighted_attainment
from team_history
inner join plan
    on team_history.assignee_id = plan.assignee_id
    and team_history.fiscal_period = plan.fiscal_period
    and team_history.metric = plan.metric
group by team_history.fiscal_period, team_history.as_of, team_history.assignee_id
order by team_history.as_of, team_history.assignee_id
"""


def _attach_credits(conn, present, components, as_of) -> None:
    """Per team component: the cumulative sum of its credit lines by day, and its largest
    lines. A line counts toward a period as its actual does (design.md): a line that carries
    ``fiscal_period`` (distinct-count metrics) toward that period only, a dated line toward
    every period containing its date, up to as_of."""
    cols = present["fct_quota_credits"]
    by_period = (
        "credits.fiscal_period = plan.fiscal_period or (credits.fiscal_period is null and "
        if "fiscal_period" in cols
        else "("
    )
    booking = "credits.booking_type" if "booking_type" in cols else "null"
    lines_sql = f"""
        with plan as (
            select attainment.assignee_id, attainment.fiscal_period, attainment.metric,
                   periods.period_start, periods.period_end
            from marts.fct_quota_attainment as attainment
            inner join marts.dim_fiscal_periods as periods
                on periods.fiscal_period = attainment.fiscal_period
            where attainment.assignee_type = 'team'
        )
        select plan.assignee_id, plan.fiscal_period, plan.metric, credits.credit_date,
               credits.amount, credits.source_type, credits.source_id, credits.rule,
               {booking} as booking_type
        from plan
        inner join marts.fct_quota_credits as credits
            on credits.assignee_type = 'team'
            and credits.assignee_id = plan.assignee_id
            and credits.metric = plan.metric
            and ({by_period} credits.credit_date between plan.period_start and plan.period_end
                and (cast(? as date) is null or credits.credit_date <= cast(? as date))))
    """
    daily = _rows(
        conn,
        f"""
        select assignee_id, fiscal_period, metric, credit_date, sum(amount) as amount
        from ({lines_sql})
        group by all
        order by assignee_id, fiscal_period, metric, credit_date
        """,
        [as_of, as_of],
    )
    cumulative: dict[tuple, list[tuple[date, float]]] = {}
    for r in daily:
        key = (r["assignee_id"], r["fiscal_period"], r["metric"])
        series = cumulative.setdefault(key, [])
        running = (series[-1][1] if series else 0.0) + float(r["amount"] or 0)
        series.append((r["credit_date"], running))
    top = _rows(
        conn,
        f"""
        select *, count(*) over (partition by assignee_id, fiscal_period, metric) as n
        from ({lines_sql})
        qualify row_number() over (
            partition by assignee_id, fiscal_period, metric
            order by abs(amount) desc, credit_date desc, source_id
        ) <= ?
        order by assignee_id, fiscal_period, metric, abs(amount) desc, credit_date desc,
                 source_id
        """,
        [as_of, as_of, MAX_CREDIT_LINES],
    )
    lines: dict[tuple, list[CreditLine]] = {}
    counts: dict[tuple, int] = {}
    for r in top:
        key = (r["assignee_id"], r["fiscal_period"], r["metric"])
        counts[key] = int(r["n"])
        lines.setdefault(key, []).append(
            CreditLine(
                credit_date=r["credit_date"],
                amount=float(r["amount"] or 0),
                source_type=r["source_type"],
                source_id=r["source_id"],
                rule=r["rule"],
                booking_type=r["booking_type"],
            )
        )
    for (team_id, period), comps in components.items():
        for c in comps:
            key = (team_id, period, c.metric)
            c.series = cumulative.get(key, [])
            c.credits = lines.get(key, [])
            c.credit_count = counts.get(key, 0)


def _attach_rollups(teams: dict[str, TeamRow], elapsed: float | None) -> None:
    """Roll-ups (metrics.md §12) for teams without a quota, bottom-up: per metric, the sum of
    the actuals and targets of the nearest teams below that carry it (a child with a quota
    contributes its plan rows; a child without one, its own roll-up)."""
    children: dict[str, list[TeamRow]] = {}
    for team in teams.values():
        if team.parent_team_id in teams:
            children.setdefault(team.parent_team_id, []).append(team)
    done: dict[str, list[Component]] = {}

    def contribution(team: TeamRow) -> list[Component]:
        if team.components:
            return team.components
        return rollup(team)

    def rollup(team: TeamRow) -> list[Component]:
        if team.team_id in done:
            return done[team.team_id]
        done[team.team_id] = []  # a cycle contributes nothing
        metrics: dict[str, Component] = {}
        for child in children.get(team.team_id, []):
            for comp in contribution(child):
                agg = metrics.setdefault(
                    comp.metric,
                    Component(
                        metric=comp.metric,
                        unit=comp.unit,
                        target=0.0,
                        actual=0.0,
                        attainment=None,
                        previous_actual=0.0,
                    ),
                )
                agg.target = (agg.target or 0) + (comp.target or 0)
                agg.actual = (agg.actual or 0) + (comp.actual or 0)
                if agg.previous_actual is not None:
                    agg.previous_actual = (
                        agg.previous_actual + comp.previous_actual
                        if comp.previous_actual is not None
                        else None
                    )
                if comp.contributors:
                    agg.contributors.extend(comp.contributors)
                else:
                    agg.contributors.append(
                        (child.team_id, child.team_name, comp.actual, comp.target)
                    )
                agg.series = _add_series(agg.series, comp.series)
        out = []
        for agg in metrics.values():
            agg.attainment = agg.actual / agg.target if agg.target else None
            agg.pace = agg.attainment / elapsed if agg.attainment is not None and elapsed else None
            linear = elapsed and projects_linearly(agg.metric)
            agg.projected_actual = agg.actual / elapsed if linear else None
            agg.contributors.sort(key=lambda c: -(c[2] or 0))
            out.append(agg)
        out.sort(key=lambda c: (c.unit != "currency", c.metric))
        done[team.team_id] = out
        return out

    for team in teams.values():
        if team.weighted_attainment is None and not team.components:
            team.rollup = rollup(team)
        elif team.weighted_attainment is not None:
            team.children = [
                (c.team_id, c.team_name, c.weighted_attainment, c.status)
                for c in children.get(team.team_id, [])
                if c.weighted_attainment is not None
            ]


def _add_series(
    a: list[tuple[date, float]], b: list[tuple[date, float]]
) -> list[tuple[date, float]]:
    """The sum of two cumulative step series."""
    if not a:
        return list(b)
    if not b:
        return list(a)
    days = sorted({d for d, _ in a} | {d for d, _ in b})
    out, ia, ib, va, vb = [], 0, 0, 0.0, 0.0
    for d in days:
        while ia < len(a) and a[ia][0] <= d:
            va = a[ia][1]
            ia += 1
        while ib < len(b) and b[ib][0] <= d:
            vb = b[ib][1]
            ib += 1
        out.append((d, va + vb))
    return out


def _promises(conn, present, team_info, calendar) -> dict[tuple[str, str], Promises]:
    """Per (team, plan period): for a sales or leadership team, its members' won deals (owner's
    current team at or below it) that promised an unreleased or unknown feature; for a product
    or R&D team, the won deals that promised one of its features (owning team at or below it on
    the close date) before release. Deals are counted by close date in the period."""
    if "fct_promises" not in present:
        return {}
    rows = _rows(
        conn,
        """
        select promises.opportunity_id, promises.close_date, promises.amount, promises.status,
               promises.held, promises.owning_team_id, people.current_team_id as owner_team_id
        from marts.fct_promises as promises
        left join marts.dim_people as people on people.person_id = promises.owner_person_id
        where promises.status in ('unreleased', 'unknown_feature')
        """,
    )

    def ancestors(team_id: str | None) -> list[str]:
        out, seen = [], set()
        while team_id in team_info and team_id not in seen:
            seen.add(team_id)
            out.append(team_id)
            team_id = team_info[team_id]["parent_team_id"]
        return out

    periods = [
        (p, c["period_start"], c["period_end"])
        for p, c in calendar.items()
        if c["period_start"] is not None
    ]
    found: dict[tuple[str, str], dict[str, tuple[float | None, bool]]] = {}
    for r in rows:
        if r["close_date"] is None:
            continue
        teams = {
            t for t in ancestors(r["owner_team_id"]) if team_info[t]["function"] in SALES_FUNCTIONS
        }
        if r["status"] == "unreleased":
            teams |= {
                t
                for t in ancestors(r["owning_team_id"])
                if team_info[t]["function"] in PRODUCT_FUNCTIONS
            }
        for period, start, end in periods:
            if start <= r["close_date"] <= end:
                for t in teams:
                    found.setdefault((t, period), {})[r["opportunity_id"]] = (
                        r["amount"],
                        bool(r["held"]),
                    )
    out: dict[tuple[str, str], Promises] = {}
    for (team_id, period), deals in found.items():
        function = team_info[team_id]["function"]
        amounts = [a for a, _ in deals.values() if a is not None]
        out[(team_id, period)] = Promises(
            kind="product" if function in PRODUCT_FUNCTIONS else "sales",
            deals=len(deals),
            amount=sum(amounts) if amounts else None,
            held=sum(1 for _, h in deals.values() if h),
        )
    return out


def _post_close(conn, present, runs, team_info) -> dict[str, list[PostCloseChange]]:
    if "fct_post_close_changes" not in present:
        return {}
    run_as_of = {r["run_id"]: r["as_of"] for r in runs}
    out: dict[str, list[PostCloseChange]] = {}
    for r in _rows(
        conn,
        """
        select changes.assignee_type, changes.assignee_id, changes.fiscal_period,
               changes.metric, changes.closed_actual, changes.live_actual, changes.delta,
               changes.first_seen_run_id,
               coalesce(people.person_name, teams.team_name, changes.assignee_id) as name,
               attainment.unit
        from marts.fct_post_close_changes as changes
        left join marts.dim_people as people
            on changes.assignee_type = 'person' and people.person_id = changes.assignee_id
        left join marts.dim_teams as teams
            on changes.assignee_type = 'team' and teams.team_id = changes.assignee_id
        left join marts.fct_quota_attainment as attainment
            on attainment.assignee_type = changes.assignee_type
            and attainment.assignee_id = changes.assignee_id
            and attainment.fiscal_period = changes.fiscal_period
            and attainment.metric = changes.metric
        order by changes.fiscal_period, abs(changes.delta) desc nulls last, name
        """,
    ):
        out.setdefault(r["fiscal_period"], []).append(
            PostCloseChange(
                assignee_type=r["assignee_type"],
                assignee_id=r["assignee_id"],
                assignee_name=r["name"],
                metric=r["metric"],
                unit=r["unit"],
                closed_actual=r["closed_actual"],
                live_actual=r["live_actual"],
                delta=r["delta"],
                first_seen_as_of=run_as_of.get(r["first_seen_run_id"]),
            )
        )
    return out


def board_json(board: Board, *, show_people: bool) -> dict[str, Any]:
    """The board as plain JSON-ready data (embedded in the page; people only if shown)."""

    def iso(d: date | None) -> str | None:
        return d.isoformat() if d is not None else None

    def comp(c: Component) -> dict:
        return {
            "metric": c.metric,
            "unit": c.unit,
            "target": c.target,
            "actual": c.actual,
            "attainment": c.attainment,
            "capped_attainment": c.capped_attainment,
            "cap": c.cap,
            "weight": c.weight,
            "share": c.share,
            "status": c.status,
            "pace": c.pace,
            "projected_actual": c.projected_actual,
            "change": c.change,
            "credit_count": c.credit_count,
        }

    return {
        "as_of": iso(board.as_of),
        "data_through": iso(board.data_through),
        "published_at": board.published_at.isoformat(timespec="seconds"),
        "run_id": board.run_id,
        "currency": board.currency,
        "default_period": board.default_period,
        "show_people": show_people,
        "periods": [
            {
                "fiscal_period": p.fiscal_period,
                "period_type": p.period_type,
                "period_start": iso(p.period_start),
                "period_end": iso(p.period_end),
                "elapsed": p.elapsed,
                "state": p.state,
                "closed": p.closed,
                "teams": [
                    {
                        "team_id": t.team_id,
                        "team_name": t.team_name,
                        "mission": t.mission,
                        "weighted_attainment": t.weighted_attainment,
                        "status": t.status,
                        "pace": t.pace,
                        "change": t.change,
                        "quota_carriers": t.quota_carriers,
                        "carriers_at_or_above": t.carriers_at_or_above,
                        "median_carrier_attainment": t.median_carrier_attainment,
                        "components": [comp(c) for c in t.components],
                        "rollup": [comp(c) for c in t.rollup],
                    }
                    for t in p.teams
                ],
                "leaderboard": [c.__dict__ for c in p.leaderboard] if show_people else None,
                "trend": [
                    {"as_of": iso(x.as_of), "team_id": x.team_id, "value": x.weighted_attainment}
                    for x in p.trend
                ],
            }
            for p in board.periods
        ],
        "exceptions_by_reason": [
            {"reason": r, "entries": n, "row_count": c} for r, n, c in board.exceptions_by_reason
        ],
    }
