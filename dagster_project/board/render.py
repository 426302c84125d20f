"""The board as one self-contained HTML page (Jinja2 template, styles, script, Plotly inlined).

Every period's text is rendered server-side with autoescaping (team names, missions and
narratives may contain anything, ``<script>`` included); only the default period is visible.
The figures and the board data are embedded once as JSON (``<``, ``>`` and ``&`` escaped so
no value can close the script element), and the page's script switches periods and redraws
the charts client-side. Nothing is fetched: the page opens offline.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from . import charts
from . import format as fmt
from .data import (
    PRODUCT_FUNCTIONS,
    SALES_FUNCTIONS,
    TOP_CREDIT_LINES,
    Board,
    PeriodView,
    TeamRow,
    board_json,
)

TEMPLATES = Path(__file__).parent / "templates"


@cache
def plotly_bundle() -> str:
    """Plotly's offline JavaScript bundle (no CDN)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def script_json(data: Any) -> Markup:
    """``data`` as JSON safe to place inside a ``<script>`` element."""
    from plotly.io.json import to_json_plotly

    text = to_json_plotly(data)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _environment(board: Board) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    currency = board.currency
    names = {t.team_id: t.team_name for view in board.periods for t in view.teams if t.team_name}
    env.filters.update(
        pct=fmt.pct,
        points=fmt.points,
        attainment=fmt.attainment,
        pace=fmt.pace,
        amount=lambda v, unit, exact=False: fmt.amount(v, unit, currency, exact=exact),
        signed_amount=lambda v, unit: fmt.signed_amount(v, unit, currency),
        status_key=fmt.status_key,
        status_label=fmt.status_label,
        status_symbol=fmt.status_symbol,
        metric_label=fmt.metric_label,
        reason_label=fmt.reason_label,
        reason_sentence=fmt.reason_sentence,
        reason_fixer=fmt.reason_fixer,
        rule_label=fmt.rule_label,
        source_label=fmt.source_label,
        booking_type_label=fmt.booking_type_label,
        day=fmt.day,
        short_day=fmt.short_day,
        humanise=lambda text: fmt.humanise_names(text, names),
        detail=lambda text: fmt.humanise_detail(text, names, currency),
    )
    return env


def _previous_label(board: Board) -> str:
    """How the page names the previous published run: its as_of day, or its time when it
    reported on the same day."""
    if board.previous_run is None:
        return ""
    _, as_of, at = board.previous_run
    if as_of is not None and as_of != board.as_of:
        return f"the run of {fmt.short_day(as_of)}"
    return f"the run at {at:%H:%M} UTC" if at is not None else "the previous run"


def _period_groups(periods: list[PeriodView]) -> list[tuple[str, list[PeriodView]]]:
    groups: dict[str, list[PeriodView]] = {}
    for view in periods:
        groups.setdefault(view.period_type or "other", []).append(view)
    order = ["quarter", "month", "year"]
    return [
        (fmt.PERIOD_TYPE_LABELS.get(kind, "Other periods"), groups[kind])
        for kind in sorted(groups, key=lambda k: order.index(k) if k in order else 9)
    ]


def team_groups(view: PeriodView) -> list[tuple[TeamRow, list[TeamRow]]]:
    """The period's teams below the top: one group per team right under a top team (a
    branch: Sales, Product, R&D), holding it and every team below it, in board order. The top
    teams themselves head the page."""
    by_id = {t.team_id: t for t in view.teams}

    def branch_of(team: TeamRow) -> TeamRow | None:
        seen: set[str] = set()
        while team.parent_team_id in by_id and team.team_id not in seen:
            seen.add(team.team_id)
            parent = by_id[team.parent_team_id]
            if parent.depth == 0:
                return team
            team = parent
        return None

    groups: dict[str, tuple[TeamRow, list[TeamRow]]] = {}
    for team in view.teams:
        if team.depth == 0:
            continue
        head = branch_of(team) or team
        groups.setdefault(head.team_id, (head, []))[1].append(team)
    return list(groups.values())


def render_board(board: Board, *, show_people: bool = True) -> str:
    """The page for ``board``; the leaderboard (and every person's name) only if
    ``show_people``."""
    trend_days = {view.fiscal_period: len({p.as_of for p in view.trend}) for view in board.periods}
    figures = {
        view.fiscal_period: {
            "attainment": charts.attainment_figure(view),
            "trend": charts.trend_figure(view) if trend_days[view.fiscal_period] >= 2 else None,
        }
        for view in board.periods
    }
    payload = {
        "default_period": board.default_period,
        "figures": figures,
        "board": board_json(board, show_people=show_people),
    }
    exceptions_of: dict[str, list] = {reason: [] for reason, _, _ in board.exceptions_by_reason}
    for e in board.exceptions:
        exceptions_of.setdefault(e.reason, []).append(e)

    groups = {view.fiscal_period: team_groups(view) for view in board.periods}

    def spark(comp, view) -> Markup:
        return Markup(charts.cumulative_svg(comp, view, board.data_through, board.currency))

    template = _environment(board).get_template("board.html.j2")
    return template.render(
        board=board,
        show_people=show_people,
        period_groups=_period_groups(board.periods),
        published_at=board.published_at.strftime("%Y-%m-%d %H:%M UTC"),
        previous_label=_previous_label(board),
        exceptions_total=sum(c for _, _, c in board.exceptions_by_reason),
        exceptions_of=exceptions_of,
        trend_days=trend_days,
        top_lines=TOP_CREDIT_LINES,
        promise_functions=(*SALES_FUNCTIONS, *PRODUCT_FUNCTIONS),
        pace_at_risk=fmt.pct(board.pace_at_risk) if board.pace_at_risk else "the at-risk share",
        spark=spark,
        groups=groups,
        payload=script_json(payload),
        css=Markup((TEMPLATES / "board.css").read_text(encoding="utf-8")),
        script=Markup((TEMPLATES / "board.js").read_text(encoding="utf-8")),
        plotly_js=Markup(plotly_bundle()),
    )


def payload_of(html: str) -> dict[str, Any]:
    """The JSON embedded in a rendered page (for tools and tests that read the page)."""
    start = html.index('<script type="application/json" id="board-data">')
    start = html.index(">", start) + 1
    end = html.index("</script>", start)
    return json.loads(html[start:end])
