"""The board's Plotly figures, built in Python and drawn in the page by Plotly's bundle.

Each function returns a figure as plain JSON-ready data (``Figure.to_plotly_json()``):

- :func:`attainment_figure`: every team with a quota in the period, its weighted attainment as
  a bar coloured by status, against the 100 % target and the share of time elapsed (a bar
  that reaches the elapsed line is on pace). Teams without quota are left out, never drawn at
  0 %.
- :func:`trend_figure`: each team's weighted attainment in every published run of the period.
- :func:`exceptions_figure`: the open exceptions by reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
from plotly.colors import qualitative

from . import format as fmt
from .data import Board, PeriodView

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
            text=[fmt.attainment(t.weighted_attainment) for t in teams],
            textposition="outside",
            cliponaxis=False,
            customdata=[[t.team_name, fmt.status_label(t.status), fmt.pace(t.pace)] for t in teams],
            hovertemplate=(
                "%{customdata[0]}: %{text}<br>%{customdata[1]}, pace %{customdata[2]}"
                "<extra></extra>"
            ),
        )
    )
    shapes, notes = [], []
    lines = [(100.0, TARGET_COLOUR, "solid", "target 100%")]
    if view.state == "current" and view.elapsed is not None:
        label = f"time elapsed {fmt.pct(view.elapsed)}"
        lines.append((view.elapsed * 100, ELAPSED_COLOUR, "dash", label))
    for i, (x, colour, dash, label) in enumerate(lines):
        shape, note = _vline(x, colour, dash, label, shift=16 * i)  # stacked: never overlap
        shapes.append(shape)
        notes.append(note)
    top = max([*values, 100.0]) * 1.15
    fig.update_layout(
        **_layout(
            height=max(170, 86 + 34 * len(teams)),
            margin=dict(l=10, r=56, t=52, b=40),
            shapes=shapes,
            annotations=notes
            if teams
            else [
                *notes,
                dict(text="No team has a quota for this period", showarrow=False, x=50, y=0.5),
            ],
            bargap=0.3,
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


def exceptions_figure(board: Board) -> dict[str, Any]:
    reasons = list(reversed(board.exceptions_by_reason))
    fig = go.Figure(
        go.Bar(
            orientation="h",
            x=[c for _, _, c in reasons],
            y=[r for r, _, _ in reasons],
            text=[f"{c:,}" for _, _, c in reasons],
            textposition="outside",
            cliponaxis=False,
            marker=dict(color="#6b7280"),
            customdata=[n for _, n, _ in reasons],
            hovertemplate="%{y}: %{x} (%{customdata} entries)<extra></extra>",
        )
    )
    fig.update_layout(
        **_layout(
            height=max(140, 60 + 28 * len(reasons)),
            margin=dict(l=10, r=40, t=10, b=30),
            annotations=[]
            if reasons
            else [dict(text="No open exceptions", showarrow=False, x=0.5, y=0.5, xref="paper")],
        )
    )
    fig.update_xaxes(gridcolor=GRID, rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return fig.to_plotly_json()
