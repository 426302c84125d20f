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
from .data import Board, PeriodView, board_json

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


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=fmt.pct,
        attainment=fmt.attainment,
        pace=fmt.pace,
        amount=fmt.amount,
        status_key=fmt.status_key,
        status_label=fmt.status_label,
        metric_label=fmt.metric_label,
    )
    return env


def _period_groups(periods: list[PeriodView]) -> list[tuple[str, list[PeriodView]]]:
    groups: dict[str, list[PeriodView]] = {}
    for view in periods:
        groups.setdefault(view.period_type or "other", []).append(view)
    order = ["quarter", "month", "year"]
    return [
        (fmt.PERIOD_TYPE_LABELS.get(kind, "Other periods"), groups[kind])
        for kind in sorted(groups, key=lambda k: order.index(k) if k in order else 9)
    ]


def render_board(board: Board, *, show_people: bool = True) -> str:
    """The page for ``board``; the leaderboard (and every person's name) only if
    ``show_people``."""
    figures = {
        view.fiscal_period: {
            "attainment": charts.attainment_figure(view),
            "trend": charts.trend_figure(view),
        }
        for view in board.periods
    }
    payload = {
        "default_period": board.default_period,
        "figures": figures,
        "exceptions": charts.exceptions_figure(board),
        "board": board_json(board, show_people=show_people),
    }
    template = _environment().get_template("board.html.j2")
    return template.render(
        board=board,
        show_people=show_people,
        period_groups=_period_groups(board.periods),
        published_at=board.published_at.strftime("%Y-%m-%d %H:%M UTC"),
        exceptions_total=sum(c for _, _, c in board.exceptions_by_reason),
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
