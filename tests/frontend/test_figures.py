"""The server-built figures: the course trends chart, and times drawn on the user's clock."""

from __future__ import annotations

import zoneinfo
from typing import Any

import pytest

from frontend.figures import count_step, session_label, trends_figure, wall_clock

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def trends(policy: str = "full", attendance: list[int | None] | None = None) -> dict[str, Any]:
    attendance = attendance if attendance is not None else [4, 5, 5]
    starts = ["2026-01-15T22:48:05+00:00", "2026-01-15T22:48:05+00:00", "2026-07-01T13:00:00+00:00"]
    titles = ["", "", "Quiz <b>review</b> & a title far too long to fit under a bar"]
    return {
        "policy": policy,
        "sessions": [
            {"session": i + 1, "title": titles[i], "started_at": starts[i], "mean_engagement": 0.5 + i / 10, "attendance": n, "alerts": i}
            for i, n in enumerate(attendance)
        ],
        "students": [],
    }


def test_the_mean_engagement_line_is_drawn_over_the_bars_in_its_own_colour() -> None:
    figure = trends_figure(trends(), zone=NEW_YORK)
    assert figure is not None
    by_name = {trace["name"]: trace for trace in figure["data"]}
    bars, line = by_name["students attending"], by_name["mean engagement indicator"]
    assert bars["type"] == "bar" and bars.get("yaxis", "y") == "y"
    # plotly draws an overlaying axis's traces after the base axis's: the line is on the overlaying axis.
    assert line["type"] == "scatter" and line["yaxis"] == "y2" and figure["layout"]["yaxis2"]["overlaying"] == "y"
    assert line["line"]["color"] != bars["marker"]["color"] and figure["layout"]["showlegend"] is True


def test_counts_have_whole_number_ticks() -> None:
    layout = trends_figure(trends(attendance=[4, 5, 5]), zone=NEW_YORK)["layout"]  # type: ignore[index]
    assert layout["yaxis"]["dtick"] == 1 and layout["yaxis"]["tick0"] == 0 and layout["yaxis"]["tickformat"] == "d"
    layout = trends_figure(trends(attendance=[25, 31, 12]), zone=NEW_YORK)["layout"]  # type: ignore[index]
    assert layout["yaxis"]["dtick"] == 10


@pytest.mark.parametrize(("largest", "step"), [(0, 1), (5, 1), (6, 1), (7, 2), (12, 2), (13, 5), (30, 5), (31, 10), (61, 20), (301, 100)])
def test_count_step(largest: int, step: int) -> None:
    assert count_step(largest) == step


def test_the_chart_fills_its_panel() -> None:
    layout = trends_figure(trends(), zone=NEW_YORK)["layout"]  # type: ignore[index]
    assert "width" not in layout and layout["autosize"] is True


def test_sessions_are_labelled_by_start_in_the_users_zone_and_title() -> None:
    figure = trends_figure(trends(), zone=NEW_YORK)
    assert figure is not None
    axis = figure["layout"]["xaxis"]
    # Two sessions started the same second keep a slot each.
    assert axis["tickvals"] == [0, 1, 2]
    assert axis["ticktext"][:2] == ["2026-01-15 17:48:05", "2026-01-15 17:48:05"]
    # Summer time in New York; the title is text (escaped), cut to fit.
    assert axis["ticktext"][2] == "2026-07-01 09:00:00<br>Quiz &lt;b&gt;review&lt;/b&gt; &amp; a title fa…"


def test_aggregate_trends_have_no_attendance_bars_but_keep_the_line_on_top() -> None:
    figure = trends_figure(trends(policy="aggregate", attendance=[None, None, None]), zone=NEW_YORK)
    assert figure is not None
    assert [trace["name"] for trace in figure["data"]] == ["alerts", "mean engagement indicator"]
    assert trends_figure({"policy": "full", "sessions": [], "students": []}, zone=NEW_YORK) is None


def test_wall_clock_and_label() -> None:
    assert wall_clock("2026-01-15T22:48:05.250000+00:00", NEW_YORK) == "2026-01-15T17:48:05.250000"
    assert session_label({"started_at": "2026-01-15T22:48:05+00:00", "title": ""}, zoneinfo.ZoneInfo("Asia/Tokyo")) == "2026-01-16 07:48:05"
