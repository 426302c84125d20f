"""What the company board shows, read from the published DuckDB file only (read-only).

:func:`load_board` opens ``published/quotaboard.duckdb`` read-only, reads the contract columns
of metrics.md §8 (never the working warehouse, never a column outside the contract) and returns
a :class:`Board`: one :class:`PeriodView` per plan period (every ``fiscal_period`` of
``mart_team_board``), the open exceptions and when the data was published.

- ``as_of`` and the publish time are those of the latest run in ``fct_attainment_history``.
- Time elapsed follows metrics.md §5 from ``dim_fiscal_periods``: 1 for an ended period, 0 for
  one not started, ``(as_of - start + 1) / period_days`` otherwise; ``pace`` = weighted
  attainment / elapsed when elapsed > 0.
- A team without plan rows for a period keeps ``weighted_attainment = None`` ("no quota"); the
  leaderboard lists only persons with a ``fct_scorecards`` row, so people without quota (a VP
  of Sales) never appear, let alone as 0 %.
- The trend of a team is its weighted attainment in each published run (the latest run of each
  ``as_of``), recomputed from the run's per-metric attainment with the current plan's weights
  and caps (``fct_attainment_history`` keeps no weights).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

MAX_EXCEPTION_ROWS = 1000
PERIOD_TYPE_ORDER = {"quarter": 0, "month": 1, "year": 2}
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


class BoardError(RuntimeError):
    """The published file cannot feed the board (the message names the file and table)."""


@dataclass
class Component:
    """One plan row of a scorecard (fct_quota_attainment)."""

    metric: str
    unit: str | None
    target: float | None
    actual: float | None
    attainment: float | None
    capped_attainment: float | None
    cap: float | None
    weight: float | None
    status: str | None
    narrative: str | None


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
class PeriodView:
    """Everything the board shows for one plan period."""

    fiscal_period: str
    period_type: str | None
    period_start: date | None
    period_end: date | None
    period_days: int | None
    elapsed: float | None
    state: str  # ended, current, not_started, or unknown (no as_of or no dates)
    teams: list[TeamRow]
    leaderboard: list[Carrier]
    trend: list[TrendPoint]


@dataclass
class ExceptionRow:
    source_type: str | None
    source_id: str | None
    reason: str
    detail: str | None
    row_count: int


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


def _check_tables(conn: duckdb.DuckDBPyConnection, path: Path) -> None:
    present = {
        r["table_name"]
        for r in _rows(
            conn,
            "select table_name from information_schema.tables where table_schema = 'marts'",
        )
    }
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise BoardError(
            f"{path}: the published file has no marts.{', marts.'.join(missing)}; "
            "the board needs every mart of metrics.md §8 (run `quotaboard run` to publish them)"
        )


def elapsed_share(start: date | None, end: date | None, days: int | None, as_of: date | None):
    """Time elapsed of a period on ``as_of`` (metrics.md §5); None without as_of or dates."""
    if as_of is None or start is None or end is None or not days:
        return None
    if end < as_of:
        return 1.0
    if start > as_of:
        return 0.0
    return ((as_of - start).days + 1) / days


def period_state(start: date | None, end: date | None, as_of: date | None) -> str:
    """``ended`` (before as_of), ``not_started`` (after it), ``current``, or ``unknown``."""
    if as_of is None or start is None or end is None:
        return "unknown"
    if end < as_of:
        return "ended"
    return "not_started" if start > as_of else "current"


def _team_order(teams: list[dict]) -> list[str]:
    """Team ids depth-first from the top of the hierarchy (children by name)."""
    by_parent: dict[str | None, list[dict]] = {}
    ids = {t["team_id"] for t in teams}
    for team in teams:
        parent = team["parent_team_id"] if team["parent_team_id"] in ids else None
        by_parent.setdefault(parent, []).append(team)
    for children in by_parent.values():
        children.sort(key=lambda t: (str(t["team_name"] or ""), str(t["team_id"])))
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


def load_board(published_path: Path) -> Board:
    """Read the board from the published DuckDB file (read-only)."""
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
        _check_tables(conn, published_path)
        try:
            return _read(conn, published_path)
        except duckdb.BinderException as exc:
            raise BoardError(
                f"{published_path}: a mart lacks a column of the contract (metrics.md §8): {exc}"
            ) from exc
    finally:
        conn.close()


def _read(conn: duckdb.DuckDBPyConnection, path: Path) -> Board:
    latest = _rows(
        conn,
        """
        select run_id, as_of, published_at from marts.fct_attainment_history
        order by published_at desc, run_id desc limit 1
        """,
    )
    as_of: date | None = latest[0]["as_of"] if latest else None
    run_id: str | None = latest[0]["run_id"] if latest else None
    published_at: datetime = (
        latest[0]["published_at"]
        if latest and latest[0]["published_at"] is not None
        else datetime.fromtimestamp(os.path.getmtime(path), UTC).replace(tzinfo=None)
    )

    teams = _rows(
        conn, "select team_id, team_name, function, parent_team_id, mission from marts.dim_teams"
    )
    order = _team_order(teams)
    rank = {team_id: i for i, team_id in enumerate(order)}

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
    board_rows = _rows(
        conn,
        """
        select board.team_id, board.team_name, board.function, board.mission,
               board.fiscal_period, board.weighted_attainment, board.quota_carriers,
               board.carriers_at_or_above, board.median_carrier_attainment,
               scorecards.status
        from marts.mart_team_board as board
        left join marts.fct_scorecards as scorecards
            on scorecards.assignee_type = 'team'
            and scorecards.assignee_id = board.team_id
            and scorecards.fiscal_period = board.fiscal_period
        """,
    )
    components: dict[tuple[str, str], list[Component]] = {}
    for r in _rows(
        conn,
        """
        select assignee_id, fiscal_period, metric, unit, target, actual, attainment,
               capped_attainment, cap, weight, status, narrative
        from marts.fct_quota_attainment
        where assignee_type = 'team'
        order by assignee_id, fiscal_period, weight desc, metric
        """,
    ):
        key = (r.pop("assignee_id"), r.pop("fiscal_period"))
        components.setdefault(key, []).append(Component(**r))

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
    for r in _rows(
        conn,
        """
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
        """,
    ):
        trend.setdefault(r.pop("fiscal_period"), []).append(TrendPoint(**r))

    by_period: dict[str, list[dict]] = {}
    for r in board_rows:
        by_period.setdefault(r["fiscal_period"], []).append(r)

    periods: list[PeriodView] = []
    for fiscal_period, rows in by_period.items():
        cal = calendar.get(fiscal_period, {})
        elapsed = elapsed_share(
            cal.get("period_start"), cal.get("period_end"), cal.get("period_days"), as_of
        )
        team_rows = []
        for r in sorted(rows, key=lambda r: (rank.get(r["team_id"], len(rank)), r["team_id"])):
            wa = r["weighted_attainment"]
            team_rows.append(
                TeamRow(
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
                    components=components.get((r["team_id"], fiscal_period), []),
                )
            )
        periods.append(
            PeriodView(
                fiscal_period=fiscal_period,
                period_type=cal.get("period_type"),
                period_start=cal.get("period_start"),
                period_end=cal.get("period_end"),
                period_days=cal.get("period_days"),
                elapsed=elapsed,
                state=period_state(cal.get("period_start"), cal.get("period_end"), as_of),
                teams=team_rows,
                leaderboard=people.get(fiscal_period, []),
                trend=trend.get(fiscal_period, []),
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
    )


def board_json(board: Board, *, show_people: bool) -> dict[str, Any]:
    """The board as plain JSON-ready data (embedded in the page; people only if shown)."""

    def iso(d: date | None) -> str | None:
        return d.isoformat() if d is not None else None

    return {
        "as_of": iso(board.as_of),
        "published_at": board.published_at.isoformat(timespec="seconds"),
        "run_id": board.run_id,
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
                "teams": [
                    {
                        "team_id": t.team_id,
                        "team_name": t.team_name,
                        "mission": t.mission,
                        "weighted_attainment": t.weighted_attainment,
                        "status": t.status,
                        "pace": t.pace,
                        "quota_carriers": t.quota_carriers,
                        "carriers_at_or_above": t.carriers_at_or_above,
                        "median_carrier_attainment": t.median_carrier_attainment,
                        "components": [c.__dict__ for c in t.components],
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
