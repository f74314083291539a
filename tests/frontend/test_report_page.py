"""The session report: its figures (the session's span, full width, one colour per expression everywhere), its
attendance table and export, readable attendance labels."""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from classroom.models import EXPRESSIONS, AuditEntry, ClassSession, Course, Participant, Student
from classroom.rollups import minute_of, rollups_refresh
from frontend.figures import EXPRESSION_COLORS, engagement_figure, expression_figure, wall_clock
from tests import factories

UTC = zoneinfo.ZoneInfo("UTC")
BANDS = {"engaged": 0.65, "partly": 0.25}


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def report(*, ended_at: str | None = "2026-03-02T10:07:00+00:00") -> dict[str, Any]:
    """A 7-minute session that started at 10:00:20, its minutes rolled up to 10:06."""
    minutes = [
        {"t": f"2026-03-02T10:0{m}:00+00:00", "engagement": 0.7, "expressions": {name: 1 / 7 for name in EXPRESSIONS}} for m in range(7)
    ]
    return {"started_at": "2026-03-02T10:00:20+00:00", "ended_at": ended_at, "minutes": minutes, "alerts": [], "flags": []}


def test_the_charts_span_the_session_and_fill_their_panel() -> None:
    for figure in (engagement_figure(report(), bands=BANDS, zone=UTC), expression_figure(report(), zone=UTC)):
        assert figure is not None
        layout = figure["layout"]
        # From the session's start to its end: no empty minutes after it, none cut before it.
        assert layout["xaxis"]["range"] == ["2026-03-02T10:00:20", "2026-03-02T10:07:00"]
        assert "width" not in layout and layout["autosize"] is True


def test_the_last_minutes_step_is_drawn_to_the_end_of_its_minute_or_of_the_session() -> None:
    figure = engagement_figure(report(), bands=BANDS, zone=UTC)
    last = figure["data"][1]
    assert list(last["x"]) == ["2026-03-02T10:06:00", "2026-03-02T10:07:00"] and list(last["y"]) == [0.7, 0.7]
    cut = report(ended_at="2026-03-02T10:06:30+00:00")
    assert list(engagement_figure(cut, bands=BANDS, zone=UTC)["data"][1]["x"])[-1] == "2026-03-02T10:06:30"


def test_a_live_sessions_charts_end_now() -> None:
    figure = engagement_figure(report(ended_at=None), bands=BANDS, zone=UTC)
    end = figure["layout"]["xaxis"]["range"][1]
    assert end > "2026-03-02T10:07:00"  # now, long after the rolled-up minutes
    assert wall_clock("2026-03-02T10:00:20+00:00", UTC) == figure["layout"]["xaxis"]["range"][0]


def test_one_colour_per_expression_in_the_report_and_on_the_live_page() -> None:
    assert set(EXPRESSION_COLORS) == set(EXPRESSIONS) and len(set(EXPRESSION_COLORS.values())) == len(EXPRESSIONS)
    # Bars and lines on white: at least the 3:1 that graphics need (WCAG 1.4.11).
    assert all(contrast(colour, "#ffffff") >= 3.0 for colour in EXPRESSION_COLORS.values())
    figure = expression_figure(report(), zone=UTC)
    assert figure is not None
    assert {trace["name"]: trace["marker"]["color"] for trace in figure["data"]} == EXPRESSION_COLORS


@pytest.mark.django_db
def test_the_live_page_is_sent_the_same_colours() -> None:
    teacher = factories.teacher("alice")
    session, _ = factories.live_session(owner=teacher)
    client = Client()
    client.force_login(teacher)
    config = client.get(reverse("session-live", kwargs={"session_id": session.pk})).context["config"]
    assert config["expression_colors"] == EXPRESSION_COLORS
    live_js = (Path(settings.BASE_DIR) / "frontend" / "static" / "frontend" / "live.js").read_text()
    assert "#4c78a8" not in live_js, "an expression drawn in a colour of its own"


def test_the_attendance_labels_are_readable() -> None:
    css = (Path(settings.BASE_DIR) / "frontend" / "static" / "frontend" / "app.css").read_text()
    rules = re.findall(r"\.attendance-(\w+) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6}); \}", css)
    assert {name for name, _, _ in rules} == {"present_to_end", "left_early", "never_in_view", "never_joined"}
    assert all(contrast(colour, background) >= 4.5 for _, background, colour in rules)


@pytest.fixture
def ended_class() -> tuple[Client, ClassSession]:
    """A 7-minute class, ended: Ada there throughout, Bo on the roster but never joined; the teacher signed in."""
    teacher = factories.teacher("alice")
    session, _ = factories.live_session(owner=teacher)
    start = minute_of(timezone.now()) - timedelta(minutes=10)
    ClassSession.objects.filter(pk=session.pk).update(started_at=start, status="ended", ended_at=start + timedelta(minutes=7))
    session.refresh_from_db()
    ada = Student.objects.create(course=session.course, name="Ada Lovelace", external_id="S-1")
    Student.objects.create(course=session.course, name="Bo Brummel", external_id="S-2")
    participant = Participant.objects.create(session=session, key="Ada", display_name="Ada Lovelace", student=ada)
    for second in range(0, 350, 5):  # 5.8 minutes of the 7
        factories.scored_frame(session, start + timedelta(seconds=second), {participant: {"engagement": 0.8}})
    rollups_refresh(session=session, full=True)
    client = Client()
    client.force_login(teacher)
    return client, session


@pytest.mark.django_db
def test_the_report_names_who_never_joined_and_its_shares_add_up(ended_class: tuple[Client, ClassSession]) -> None:
    client, session = ended_class
    page = client.get(reverse("session-report", kwargs={"session_id": session.pk})).content.decode()
    assert "Duration</th><td>7.0 min (420 s)" in page
    rows = re.findall(r'<tr data-outcome="(\w+)">\s*<td>([^<]+) <span.*?<td>([\d.]+ min)</td>\s*<td>([^<]+)</td>', page, re.S)
    assert rows == [
        ("present_to_end", "Ada Lovelace", "5.8 min", "83% of 7.0 min"),
        ("never_joined", "Bo Brummel", "0.0 min", "0% of 7.0 min"),
    ]
    assert "<strong>never joined 1</strong>" in page
    assert reverse("session-export-attendance", kwargs={"session_id": session.pk}) in page


@pytest.mark.django_db
def test_the_attendance_export(ended_class: tuple[Client, ClassSession]) -> None:
    client, session = ended_class
    response = client.get(reverse("session-export-attendance", kwargs={"session_id": session.pk}))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith(f'-session-{session.pk}.attendance.csv"')
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert [(row["name"], row["attendance"], row["present_minutes"], row["present_share"]) for row in table] == [
        ("Ada Lovelace", "present to the end", "5.8", "0.829"),
        ("Bo Brummel", "never joined", "0.0", "0.0"),
    ]
    assert AuditEntry.objects.filter(action="export.attendance").count() == 1


@pytest.mark.django_db
def test_under_aggregate_the_report_counts_attendance_only(ended_class: tuple[Client, ClassSession]) -> None:
    client, session = ended_class
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")
    page = client.get(reverse("session-report", kwargs={"session_id": session.pk})).content.decode()
    assert "<strong>Expected 2</strong>" in page and 'id="attendance-table"' not in page
    assert "Bo Brummel" not in page
