"""The board's Plotly figures, built in Python and drawn in the page by Plotly's bundle.

Each function returns a figure as plain JSON-ready data (``Figure.to_plotly_json()``):

- :func:`attainment_figure`: every team with a quota in the period, its weighted attainment as
  a bar coloured by status, against the 100 % target and the share of time elapsed (a bar
  that reaches the elapsed line is on pace). Teams without quota are left out, never drawn at
  0 %.
- :func:`trend_figure`: each team's weighted attainment in every published run of the period.
- :func:`cumulative_svg`: per component, its credits added up day by day against the straight
  line from 0 on the first day to the target on the last, and the projection to the period's
  end; a small inline SVG drawn here (no script, prints, works without Plotly) with a text
  alternative that says the same in words.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

from . import format as fmt
from .data import Component, PeriodView

FONT = dict(family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size=13)
GRID = "#e5e7eb"
TARGET_COLOUR = "#111827"
ELAPSED_COLOUR = "#2563eb"
TREND_COLOURS = [*qualitative.D3, *qualitative.Dark2]


def _layout(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        template="none",
        font=FONT,
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin=dict(l=10, r=20, t=30, b=40),
        showlegend=False,
    )
    base.update(extra)
    return base


def _vline(x: float, colour: str, dash: str, label: str, shift: int) -> tuple[dict, dict]:
    shape = dict(
        type="line",
        xref="x",
        yref="paper",
        x0=x,
        x1=x,
        y0=0,
        y1=1,
        line=dict(color=colour, width=2, dash=dash),
    )
    note = dict(
        x=x,
        y=1,
        xref="x",
        yref="paper",
        yanchor="bottom",
        text=label,
        yshift=shift,
        showarrow=False,
        font=dict(color=colour, size=12),
    )
    return shape, note


def attainment_figure(view: PeriodView) -> dict[str, Any]:
    teams = [t for t in view.teams if t.weighted_attainment is not None]
    teams.reverse()  # Plotly draws the first category at the bottom
    values = [t.weighted_attainment * 100 for t in teams]
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=values,
            y=[t.team_id for t in teams],
            marker=dict(color=[fmt.status_colour(t.status) for t in teams]),
            # the status in words beside the number: colour is never the only signal
            text=[
                f"{fmt.attainment(t.weighted_attainment)} {fmt.status_symbol(t.status)} "
                f"{fmt.status_label(t.status)}"
                for t in teams
            ],
            textposition="outside",
            cliponaxis=False,
            customdata=[[t.team_name, fmt.pace(t.pace)] for t in teams],
            hovertemplate=(
                "%{customdata[0]}: %{text}<br>on pace for %{customdata[1]} of target<extra></extra>"
            ),
        )
    )
    shapes, notes = [], []
    lines = [(100.0, TARGET_COLOUR, "solid", "target 100%")]
    if view.state == "current" and view.elapsed is not None:
        label = f"on pace: {fmt.pct(view.elapsed)} (time gone)"
        lines.append((view.elapsed * 100, ELAPSED_COLOUR, "dash", label))
    for i, (x, colour, dash, label) in enumerate(lines):
        shape, note = _vline(x, colour, dash, label, shift=16 * i)  # stacked: never overlap
        shapes.append(shape)
        notes.append(note)
    top = max([*values, 100.0]) * 1.3
    fig.update_layout(
        **_layout(
            height=max(170, 86 + 34 * len(teams)),
            margin=dict(l=10, r=20, t=52, b=40),
            shapes=shapes,
            annotations=notes
            if teams
            else [
                *notes,
                dict(text="No team has a quota for this period", showarrow=False, x=50, y=0.5),
            ],
            bargap=0.3,
            # the page's script uses these under 600 px: the number and status symbol only
            meta=dict(
                short_text=[
                    f"{fmt.attainment(t.weighted_attainment)} {fmt.status_symbol(t.status)}"
                    for t in teams
                ],
                short_top=max([*values, 100.0]) * 1.45,
            ),
        )
    )
    fig.update_xaxes(range=[0, top], ticksuffix="%", gridcolor=GRID, zeroline=False)
    fig.update_yaxes(
        tickmode="array",
        tickvals=[t.team_id for t in teams],
        ticktext=[t.team_name for t in teams],
        automargin=True,
    )
    return fig.to_plotly_json()


def trend_figure(view: PeriodView) -> dict[str, Any]:
    names = {t.team_id: t.team_name for t in view.teams}
    order = [t.team_id for t in view.teams]
    series: dict[str, list] = {}
    for point in view.trend:
        series.setdefault(point.team_id, []).append(point)
    fig = go.Figure()
    for i, team_id in enumerate(sorted(series, key=lambda t: order.index(t) if t in order else 99)):
        points = series[team_id]
        fig.add_trace(
            go.Scatter(
                x=[p.as_of.isoformat() for p in points],
                y=[p.weighted_attainment * 100 for p in points],
                name=names.get(team_id, team_id),
                mode="lines+markers",
                line=dict(color=TREND_COLOURS[i % len(TREND_COLOURS)], width=2),
                hovertemplate="%{fullData.name}: %{y:.1f}%<br>as of %{x}<extra></extra>",
            )
        )
    fig.update_layout(
        **_layout(
            height=380,
            showlegend=True,
            legend=dict(orientation="h", y=-0.2, x=0),
            margin=dict(l=10, r=20, t=20, b=20),
            shapes=[
                dict(
                    type="line",
                    xref="paper",
                    yref="y",
                    x0=0,
                    x1=1,
                    y0=100,
                    y1=100,
                    line=dict(color=TARGET_COLOUR, width=1, dash="dot"),
                )
            ],
            annotations=[]
            if series
            else [
                dict(
                    text="No published run has attainment for this period",
                    showarrow=False,
                    xref="paper",
                    yref="paper",
                    x=0.5,
                    y=0.5,
                )
            ],
        )
    )
    # The whole period (and every run after it), so one run is a point, not a zoomed axis.
    days = [p.as_of for p in view.trend]
    if view.period_start is not None:
        days.append(view.period_start)
    if view.period_end is not None:
        days.append(view.period_end)
    x_range = (
        [(min(days) - timedelta(days=1)).isoformat(), (max(days) + timedelta(days=1)).isoformat()]
        if days
        else None
    )
    fig.update_xaxes(
        type="date", range=x_range, tickformat="%b %d<br>%Y", gridcolor=GRID, automargin=True
    )
    fig.update_yaxes(ticksuffix="%", gridcolor=GRID, rangemode="tozero", automargin=True)
    return fig.to_plotly_json()


def cumulative_summary(
    comp: Component, view: PeriodView, through: date | None, currency: str | None
) -> str:
    """The chart's text alternative: where the credits stand against the straight line."""
    label = fmt.metric_label(comp.metric)

    def money(v):
        return fmt.amount(v, comp.unit, currency)

    if view.period_start is None or view.period_end is None or comp.target is None:
        return f"{label}: {money(comp.actual)}."
    text = f"{label} added up day by day: {money(comp.actual)}"
    if view.state == "current" and view.elapsed is not None:
        on_line = comp.target * view.elapsed
        text += (
            f" by {fmt.day(through)}, against {money(on_line)} on the straight line to "
            f"{money(comp.target)}"
        )
        if comp.projected_actual is not None:
            text += f"; at this pace {money(comp.projected_actual)} by {fmt.day(view.period_end)}"
    else:
        text += f" of {money(comp.target)}"
    return text + "."


def cumulative_svg(
    comp: Component,
    view: PeriodView,
    through: date | None,
    currency: str | None,
    *,
    width: int = 300,
    height: int = 86,
) -> str:
    """An inline SVG (a string of markup: every text in it is escaped here): the cumulative
    credits as a step line, the straight line to target (dashed) and, for a current period, the
    projection (dotted) from today's total to the period's end."""
    start, end = view.period_start, view.period_end
    summary = escape(cumulative_summary(comp, view, through, currency))
    if start is None or end is None or comp.target is None or end <= start:
        return ""
    days = (end - start).days + 1
    pad_l, pad_r, pad_t, pad_b = 4, 4, 6, 14
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    projected = comp.projected_actual if view.state == "current" else None
    # The scale holds the target and the actual; a projection far above the target leaves the
    # chart at its top edge (the text alternative and the card carry its value).
    top = max(comp.target, comp.actual or 0, 1e-9) * 1.12

    def x(d: date) -> float:
        return pad_l + plot_w * min(max((d - start).days + 1, 0), days) / days

    def y(v: float) -> float:
        return pad_t + plot_h * (1 - max(v, 0) / top)

    parts = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{summary}" preserveAspectRatio="none"><title>{summary}</title>',
        f'<line class="axis" x1="{pad_l}" y1="{y(0):.1f}" x2="{width - pad_r}" y2="{y(0):.1f}"/>',
        f'<line class="target-line" x1="{pad_l}" y1="{y(0):.1f}" x2="{x(end):.1f}" '
        f'y2="{y(comp.target):.1f}"/>',
        f'<line class="target-level" x1="{pad_l}" y1="{y(comp.target):.1f}" '
        f'x2="{width - pad_r}" y2="{y(comp.target):.1f}"/>',
    ]
    last_day = min(through, end) if through else end
    points = [(pad_l, y(0))]
    running = 0.0
    for d, total in comp.series:
        if d > last_day:
            break
        points.append((x(d) - plot_w / days, y(running)))  # the day's credits arrive that day
        running = total
        points.append((x(d) - plot_w / days, y(running)))
    if view.state != "not_started":
        points.append((x(last_day), y(running)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    parts.append(f'<polyline class="credits-line" points="{path}"/>')
    if projected is not None and view.state == "current" and x(end) > x(last_day):
        x1, y1, x2 = x(last_day), running, x(end)
        if projected > top:  # stop the line where it leaves the chart
            x2 = x1 + (x2 - x1) * (top - y1) / (projected - y1) if projected > y1 else x2
        parts.append(
            f'<line class="projection" x1="{x1:.1f}" y1="{y(y1):.1f}" '
            f'x2="{x2:.1f}" y2="{y(min(projected, top)):.1f}"/>'
        )
    parts.append(
        f'<text class="tick" x="{pad_l}" y="{height - 2}">{escape(fmt.short_day(start))}</text>'
        f'<text class="tick" x="{width - pad_r}" y="{height - 2}" text-anchor="end">'
        f"{escape(fmt.short_day(end))}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)
