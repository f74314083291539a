"""Plotly figures of the report pages, built on the server (the page only draws them; plotly.js is served locally).

Every figure fills the width of its panel (a printed report redraws them to the page's width: figures.js); the
session report's span the session, start to end. Times are drawn in the user's zone: plotly has no zones and draws a
date's digits as written, so each time is sent as its wall-clock reading in that zone (:func:`wall_clock`).
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta, tzinfo
from typing import Any

import plotly.graph_objects as go

from classroom.models import EXPRESSIONS

BAND_COLORS = {"engaged": "#2a9d8f", "partly": "#e9c46a", "not_engaged": "#e76f51"}
FLAG_COLOR = "#6d28d9"
ALERT_COLOR = "#b42318"
TREND_LINE_COLOR = "#0f5e57"  # dark teal over the pale indigo bars: distinct in colour and in lightness
ATTENDANCE_COLOR = "#c7d2fe"
# The seven apparent expressions' colours, the one copy: the report's figures use it and the live page (live.js, its
# mix chart and drill-down) is sent it, so an expression has one colour everywhere. Seven hues apart, each at least
# 4.3:1 against white (the bars and lines stand out, as text would); neutral a plain grey.
EXPRESSION_COLORS = {
    "angry": "#c2410c",
    "disgust": "#4d7c0f",
    "fear": "#a8478a",
    "happy": "#a16c00",
    "sad": "#0062a0",
    "surprise": "#0e7490",
    "neutral": "#6b7280",
}
CLOCK = "%H:%M:%S"  # one time format on every page and chart: 24-hour
MOMENT = "%Y-%m-%d %H:%M:%S"
TITLE_CHARS = 32  # a session title on the trends axis, cut beyond this
TREND_MIN_SLOTS = 5  # a course with fewer sessions keeps bars this narrow, centred, not one bar across the panel


def wall_clock(value: str | datetime, zone: tzinfo) -> str:
    """``value`` as the clock in ``zone`` reads it, ISO 8601 without offset: what plotly draws as written."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).replace(tzinfo=None).isoformat()


def _layout(figure: go.Figure, *, title: str, y_title: str, height: int = 300, width: int | None = None) -> None:
    figure.update_layout(
        width=width,
        autosize=width is None,
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


def _session_span(report: dict[str, Any]) -> tuple[datetime, datetime]:
    """The session's start and end (now, while it is live)."""
    start = datetime.fromisoformat(report["started_at"])
    end = datetime.fromisoformat(report["ended_at"]) if report["ended_at"] else datetime.now(tz=start.tzinfo)
    return start, max(end, start)


def _time_axis(figure: go.Figure, report: dict[str, Any], zone: tzinfo) -> None:
    """The x axis spans the session from its start to its end, no empty minutes after it."""
    start, end = _session_span(report)
    figure.update_xaxes(type="date", tickformat=CLOCK, range=[wall_clock(start, zone), wall_clock(end, zone)])


def _flags(figure: go.Figure, flags: list[dict[str, Any]], zone: tzinfo) -> None:
    for flag in flags:
        at = wall_clock(flag["at"], zone)
        figure.add_vline(x=at, line={"color": FLAG_COLOR, "dash": "dot", "width": 2})
        figure.add_annotation(
            x=at,
            y=1,
            yref="paper",
            yanchor="bottom",
            text=flag["note"] or "flag",
            showarrow=False,
            font={"color": FLAG_COLOR, "size": 10},
        )


def engagement_figure(report: dict[str, Any], *, bands: dict[str, float], zone: tzinfo) -> dict[str, Any]:
    """The class engagement indicator per minute, with the teacher's flags and the alerts raised."""
    minutes = report["minutes"]
    figure = go.Figure()
    figure.add_hrect(y0=bands["engaged"], y1=1, fillcolor=BAND_COLORS["engaged"], opacity=0.08, line_width=0)
    figure.add_hrect(y0=bands["partly"], y1=bands["engaged"], fillcolor=BAND_COLORS["partly"], opacity=0.08, line_width=0)
    figure.add_hrect(y0=0, y1=bands["partly"], fillcolor=BAND_COLORS["not_engaged"], opacity=0.08, line_width=0)
    figure.add_trace(
        go.Scatter(
            x=[wall_clock(m["t"], zone) for m in minutes],
            y=[m["engagement"] for m in minutes],
            mode="lines+markers",
            line={"color": "#1f7a6f", "shape": "hv"},
            name="class",
            hovertemplate="minute of %{x|%H:%M}: %{y:.2f}<extra></extra>",
        )
    )
    if minutes:
        # Each step stands for its minute: the last one is drawn on to its minute's end (or the session's, if sooner).
        last = minutes[-1]
        until = min(datetime.fromisoformat(last["t"]) + timedelta(minutes=1), _session_span(report)[1])
        figure.add_trace(
            go.Scatter(
                x=[wall_clock(last["t"], zone), wall_clock(until, zone)],
                y=[last["engagement"]] * 2,
                mode="lines",
                line={"color": "#1f7a6f"},
                hoverinfo="skip",
                name="class",
            )
        )
    if report["alerts"]:
        figure.add_trace(
            go.Scatter(
                x=[wall_clock(a["raised_at"], zone) for a in report["alerts"]],
                y=[0.03] * len(report["alerts"]),
                mode="markers",
                marker={"symbol": "triangle-up", "size": 10, "color": ALERT_COLOR},
                text=[f"{a['label']}{': ' + a['name'] if a['name'] else ''}" for a in report["alerts"]],
                hoverinfo="text",
                name="alerts",
            )
        )
    _flags(figure, report["flags"], zone)
    _layout(figure, title="Class engagement indicator per minute (▲ alerts, dotted: marked moments)", y_title="engagement indicator")
    _time_axis(figure, report, zone)
    figure.update_yaxes(range=[0, 1.05])
    return figure.to_plotly_json()


def expression_figure(report: dict[str, Any], *, zone: tzinfo) -> dict[str, Any] | None:
    """The class's apparent-expression mix per minute (stacked); ``None`` without expressions."""
    minutes = [m for m in report["minutes"] if m["expressions"]]
    if not minutes:
        return None
    figure = go.Figure()
    for name in EXPRESSIONS:
        figure.add_trace(
            go.Bar(
                x=[wall_clock(m["t"], zone) for m in minutes],
                y=[m["expressions"][name] for m in minutes],
                name=name,
                marker_color=EXPRESSION_COLORS[name],
                offset=0,
                width=60_000,
                hovertemplate=f"{name} %{{y:.0%}}<extra></extra>",
            )
        )
    _flags(figure, report["flags"], zone)
    _layout(figure, title="Apparent expression mix per minute (share of observations)", y_title="share")
    figure.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.2}, barmode="stack", bargap=0)
    _time_axis(figure, report, zone)
    figure.update_yaxes(range=[0, 1], tickformat=".0%")
    return figure.to_plotly_json()


def session_label(session: dict[str, Any], zone: tzinfo) -> str:
    """A session on the trends axis: its start in ``zone`` (``2026-03-02 17:48:05``), then its title (cut) if it has one."""
    stamp = datetime.fromisoformat(session["started_at"]).astimezone(zone).strftime(MOMENT)
    title = session["title"]
    if not title:
        return stamp
    short = title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
    return f"{stamp}<br>{html.escape(short)}"  # plotly reads its labels as HTML: a title is text, never markup


def count_step(largest: float) -> int:
    """Whole-number tick spacing for an axis of counts up to ``largest``: 1, 2, 5, 10, 20, 50…, at most six steps."""
    step = 1
    while largest / step > 6:
        magnitude = 10 ** (len(str(step)) - 1)
        step = {1: 2, 2: 5, 5: 10}[step // magnitude] * magnitude
    return step


def trends_figure(trends: dict[str, Any], *, zone: tzinfo) -> dict[str, Any] | None:
    """A course's sessions, oldest first: students attending (bars) and alerts (▲) on a count axis, and the mean
    engagement indicator (a line drawn over the bars); ``None`` without sessions. Each session is labelled by its
    start in ``zone`` and its title; it fills the width of its panel."""
    sessions = trends["sessions"]
    if not sessions:
        return None
    positions = list(range(len(sessions)))  # one slot per session, so two alike labels never merge into one
    labels = [session_label(s, zone) for s in sessions]
    figure = go.Figure()
    counts: list[float] = [s["alerts"] for s in sessions]
    if trends["policy"] != "aggregate":
        attendance = [s["attendance"] for s in sessions]
        counts += [n for n in attendance if n is not None]
        figure.add_trace(
            go.Bar(
                x=positions,
                y=attendance,
                name="students attending",
                marker_color=ATTENDANCE_COLOR,
                customdata=labels,
                hovertemplate="%{customdata}<br>%{y} students attending<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=positions,
            y=[s["alerts"] for s in sessions],
            mode="markers",
            name="alerts",
            marker={"color": ALERT_COLOR, "symbol": "triangle-up", "size": 10},
            customdata=labels,
            hovertemplate="%{customdata}<br>%{y} alerts<extra></extra>",
        )
    )
    # On the overlaying axis: plotly draws an overlaying axis's traces after (over) the base axis's bars.
    figure.add_trace(
        go.Scatter(
            x=positions,
            y=[s["mean_engagement"] for s in sessions],
            mode="lines+markers",
            name="mean engagement indicator",
            line={"color": TREND_LINE_COLOR, "width": 3},
            marker={"size": 8, "color": TREND_LINE_COLOR},
            yaxis="y2",
            customdata=labels,
            hovertemplate="%{customdata}<br>mean engagement indicator %{y:.2f}<extra></extra>",
        )
    )
    largest = max(counts, default=0)
    step = count_step(largest)
    pad = max(0.0, (TREND_MIN_SLOTS - len(sessions)) / 2)
    _layout(figure, title="Sessions: students attending, alerts, mean engagement indicator", y_title="students / alerts")
    figure.update_layout(
        height=380,
        showlegend=True,
        margin={"l": 56, "r": 56, "t": 36, "b": 110},
        legend={"orientation": "h", "y": -0.3, "x": 0},
        xaxis={
            "tickmode": "array",
            "tickvals": positions,
            "ticktext": labels,
            "range": [-0.5 - pad, len(sessions) - 0.5 + pad],
            "showgrid": False,
        },
        # Counts on the right, in whole numbers; the indicator on the left, as on every other engagement chart.
        yaxis={"side": "right", "tick0": 0, "dtick": step, "tickformat": "d", "range": [0, max(largest, 1) + step / 2], "showgrid": False},
        # Its own ticks (plotly would otherwise line an overlaying axis's ticks up with the counts': 0.162, 0.323…).
        yaxis2={
            "overlaying": "y",
            "side": "left",
            "range": [0, 1.05],
            "tickmode": "linear",
            "tick0": 0,
            "dtick": 0.2,
            "title": {"text": "engagement indicator"},
            "gridcolor": "#e4e7eb",
        },
    )
    return figure.to_plotly_json()
