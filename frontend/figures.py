"""Plotly figures of the report pages, built on the server (the page only draws them; plotly.js is served locally).

Figures have a fixed width that fits an A4 page, so the printed report looks like the screen.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

from classroom.models import EXPRESSIONS

WIDTH = 680
MIN_SPAN = timedelta(minutes=5)
BAND_COLORS = {"engaged": "#2a9d8f", "partly": "#e9c46a", "not_engaged": "#e76f51"}
FLAG_COLOR = "#6d28d9"
ALERT_COLOR = "#b42318"


def _layout(figure: go.Figure, *, title: str, y_title: str, height: int = 300) -> None:
    figure.update_layout(
        width=WIDTH,
        height=height,
        margin={"l": 50, "r": 10, "t": 36, "b": 40},
        title={"text": title, "font": {"size": 14}},
        yaxis_title=y_title,
        showlegend=False,
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
    )
    figure.update_xaxes(gridcolor="#e4e7eb")
    figure.update_yaxes(gridcolor="#e4e7eb")


def _time_axis(figure: go.Figure, report: dict[str, Any]) -> None:
    """The x axis spans the session (at least a few minutes), so a short class does not zoom to milliseconds."""
    start = datetime.fromisoformat(report["started_at"]).replace(second=0, microsecond=0)
    end = datetime.fromisoformat(report["ended_at"]) if report["ended_at"] else datetime.now(tz=start.tzinfo)
    figure.update_xaxes(type="date", range=[start.isoformat(), max(end, start + MIN_SPAN).isoformat()])


def _flags(figure: go.Figure, flags: list[dict[str, Any]]) -> None:
    for flag in flags:
        figure.add_vline(x=flag["at"], line={"color": FLAG_COLOR, "dash": "dot", "width": 2})
        figure.add_annotation(
            x=flag["at"],
            y=1,
            yref="paper",
            yanchor="bottom",
            text=flag["note"] or "flag",
            showarrow=False,
            font={"color": FLAG_COLOR, "size": 10},
        )


def engagement_figure(report: dict[str, Any], *, bands: dict[str, float]) -> dict[str, Any]:
    """The class engagement indicator per minute, with the teacher's flags and the alerts raised."""
    minutes = report["minutes"]
    figure = go.Figure()
    figure.add_hrect(y0=bands["engaged"], y1=1, fillcolor=BAND_COLORS["engaged"], opacity=0.08, line_width=0)
    figure.add_hrect(y0=bands["partly"], y1=bands["engaged"], fillcolor=BAND_COLORS["partly"], opacity=0.08, line_width=0)
    figure.add_hrect(y0=0, y1=bands["partly"], fillcolor=BAND_COLORS["not_engaged"], opacity=0.08, line_width=0)
    figure.add_trace(
        go.Scatter(
            x=[m["t"] for m in minutes],
            y=[m["engagement"] for m in minutes],
            mode="lines+markers",
            line={"color": "#1f7a6f", "shape": "hv"},
            name="class",
            hovertemplate="%{x|%H:%M}: %{y:.2f}<extra></extra>",
        )
    )
    if report["alerts"]:
        figure.add_trace(
            go.Scatter(
                x=[a["raised_at"] for a in report["alerts"]],
                y=[0.03] * len(report["alerts"]),
                mode="markers",
                marker={"symbol": "triangle-up", "size": 10, "color": ALERT_COLOR},
                text=[f"{a['label']}{': ' + a['name'] if a['name'] else ''}" for a in report["alerts"]],
                hoverinfo="text",
                name="alerts",
            )
        )
    _flags(figure, report["flags"])
    _layout(figure, title="Class engagement indicator per minute (▲ alerts, dotted: marked moments)", y_title="engagement indicator")
    _time_axis(figure, report)
    figure.update_yaxes(range=[0, 1.05])
    return figure.to_plotly_json()


def expression_figure(report: dict[str, Any]) -> dict[str, Any] | None:
    """The class's apparent-expression mix per minute (stacked); ``None`` without expressions."""
    minutes = [m for m in report["minutes"] if m["expressions"]]
    if not minutes:
        return None
    figure = go.Figure()
    for name in EXPRESSIONS:
        figure.add_trace(
            go.Bar(
                x=[m["t"] for m in minutes],
                y=[m["expressions"][name] for m in minutes],
                name=name,
                offset=0,
                width=60_000,
                hovertemplate=f"{name} %{{y:.0%}}<extra></extra>",
            )
        )
    _flags(figure, report["flags"])
    _layout(figure, title="Apparent expression mix per minute (share of observations)", y_title="share")
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2}, barmode="stack", bargap=0)
    _time_axis(figure, report)
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return figure.to_plotly_json()


def trends_figure(trends: dict[str, Any]) -> dict[str, Any] | None:
    """A course's sessions: mean engagement (line) and attendance (bars); ``None`` without sessions."""
    sessions = trends["sessions"]
    if not sessions:
        return None
    labels = [s["label"] for s in sessions]
    figure = go.Figure()
    if trends["policy"] != "aggregate":
        figure.add_trace(go.Bar(x=labels, y=[s["attendance"] for s in sessions], name="attended", marker_color="#c7d2fe", yaxis="y2"))
    figure.add_trace(
        go.Scatter(
            x=labels, y=[s["mean_engagement"] for s in sessions], mode="lines+markers", name="mean engagement", line={"color": "#1f7a6f"}
        )
    )
    figure.add_trace(
        go.Scatter(
            x=labels,
            y=[s["alerts"] for s in sessions],
            mode="markers",
            name="alerts",
            marker={"color": ALERT_COLOR, "symbol": "triangle-up", "size": 9},
            yaxis="y2",
        )
    )
    _layout(figure, title="Sessions: mean engagement indicator, students attending, alerts", y_title="engagement indicator")
    figure.update_layout(
        showlegend=True,
        margin={"l": 50, "r": 10, "t": 36, "b": 80},
        legend={"orientation": "h", "y": -0.3},
        yaxis={"range": [0, 1.05]},
        yaxis2={"overlaying": "y", "side": "right", "rangemode": "tozero", "title": "students / alerts", "showgrid": False},
    )
    return figure.to_plotly_json()
