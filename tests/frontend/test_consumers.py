"""The dashboard socket: who may connect, history first, events forwarded, the privacy policy applied."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from classroom.alerts import alert_payload
from classroom.events import EVENT_HANDLER, session_group
from classroom.models import EXPRESSIONS, Alert, AuditEntry, ClassSession, Course, FrameLog, MinuteRollup, Participant
from classroom.rollups import rollups_refresh
from classroom.selectors import session_history
from classroom.services import participant_update, session_end
from project.asgi import application
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

TIMEOUT = 5
HAPPY = [0.0, 0.0, 0.0, 0.8, 0.0, 0.0, 0.2]
NEUTRAL = [0.0, 0.0, 0.0, 0.1, 0.0, 0.0, 0.9]


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run an async scenario from a sync test (the DB stays on this thread for database_sync_to_async)."""
    async_to_sync(scenario)()


def headers(user: User | None = None, *, origin: bytes | None = b"http://localhost") -> list[tuple[bytes, bytes]]:
    """Handshake headers: an Origin, and a session cookie of ``user`` (built here, outside the event loop)."""
    result = [] if origin is None else [(b"origin", origin)]
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        result.append((b"cookie", f"{django_settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return result


def communicator(session_id: int, handshake: list[tuple[bytes, bytes]]) -> WebsocketCommunicator:
    """A socket through the real ASGI stack (origin check, session-cookie auth, routing)."""
    return WebsocketCommunicator(application, f"/ws/sessions/{session_id}/", headers=handshake)


async def connected_history(socket: WebsocketCommunicator) -> dict[str, Any]:
    """Connect and return the first message, which must be the history."""
    accepted, _ = await socket.connect(timeout=TIMEOUT)
    assert accepted
    message = await socket.receive_json_from(timeout=TIMEOUT)
    assert message["type"] == "history"
    return message


async def close_code(socket: WebsocketCommunicator) -> int | None:
    """Connect a socket the server is expected to refuse; the close code it gives."""
    accepted, code = await socket.connect(timeout=TIMEOUT)
    if not accepted:
        return code
    message = await socket.receive_output(timeout=TIMEOUT)
    assert message["type"] == "websocket.close"
    return message.get("code")


async def group_send(session_id: int, event: dict[str, Any]) -> None:
    await get_channel_layer().group_send(session_group(session_id), {"type": EVENT_HANDLER, "event": event})


@pytest.fixture
def alice() -> User:
    return factories.teacher("alice")


@pytest.fixture
def session(alice: User) -> ClassSession:
    return factories.live_session(owner=alice)[0]


def observe(
    session: ClassSession, people: list[Participant], when: datetime, probabilities: list[float], engagement: float, band: str
) -> None:
    """One scored frame at ``when`` in which each of ``people`` shows the same figures."""
    top = max(range(len(EXPRESSIONS)), key=lambda i: probabilities[i])
    fields = {
        "probabilities": probabilities,
        "expression": EXPRESSIONS[top],
        "confidence": probabilities[top],
        "engagement": engagement,
        "engagement_band": band,
        "box": [0, 0, 40, 40],
    }
    factories.scored_frame(session, when, dict.fromkeys(people, fields), log=False)


def observations_event(session: ClassSession, people: list[Participant], when: datetime) -> dict[str, Any]:
    """An ``observations`` event as the inference worker sends it."""
    return {
        "type": "observations",
        "session": session.pk,
        "captured_at": when.isoformat(),
        "frame_id": "f-1",
        "latency_ms": 120.0,
        "observations": [
            {
                "participant": p.pk,
                "name": p.display_name,
                "expression": "happy",
                "confidence": 0.8,
                "probabilities": dict(zip(EXPRESSIONS, HAPPY, strict=True)),
                "engagement": 0.6,
                "band": "partly",
                "box": [0, 0, 40, 40],
                "yaw": 5.0,
                "pitch": 2.0,
                "smoothed": {
                    "engagement": 0.6,
                    "band": "partly",
                    "expression": "happy",
                    "probabilities": dict(zip(EXPRESSIONS, HAPPY, strict=True)),
                },
            }
            for p in people
        ],
        "class": {"expression_mix": dict(zip(EXPRESSIONS, HAPPY, strict=True)), "engagement": 0.6, "present": len(people)},
        "absent": [],
    }


def participants(session: ClassSession, count: int) -> list[Participant]:
    return [Participant.objects.create(session=session, key=f"track-{i}", display_name=f"Student {i}") for i in range(count)]


# ---- who may connect ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "code"),
    [("anonymous", 4401), ("other teacher", 4403), ("inactive course teacher", 4401)],
)
def test_refused_users(session: ClassSession, alice: User, who: str, code: int) -> None:
    user = {"anonymous": None, "other teacher": factories.teacher("bob"), "inactive course teacher": alice}[who]
    if who == "inactive course teacher":
        alice.is_active = False
        alice.save()

    handshake = headers(user)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        assert await close_code(socket) == code

    run(scenario)


def test_unknown_session_is_refused_like_a_forbidden_one(alice: User) -> None:
    handshake = headers(alice)

    async def scenario() -> None:
        assert await close_code(communicator(999, handshake)) == 4403

    run(scenario)


@pytest.mark.parametrize("origin", [b"http://evil.example", b"http://localhost.evil.example", None])
def test_foreign_or_missing_origin_is_refused(session: ClassSession, alice: User, origin: bytes | None) -> None:
    handshake = headers(alice, origin=origin)

    async def scenario() -> None:
        accepted, _ = await communicator(session.pk, handshake).connect(timeout=TIMEOUT)
        assert not accepted

    run(scenario)


@pytest.mark.parametrize("who", ["course teacher", "admin"])
def test_teacher_and_admin_get_history_first(session: ClassSession, alice: User, who: str) -> None:
    user = alice if who == "course teacher" else factories.teacher("root", staff=True)

    handshake = headers(user)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        history = await connected_history(socket)
        assert history["session"] == session.pk
        assert history["status"] == "live"
        assert history["policy"] == "full"
        assert history["series"] == []
        assert history["participants"] == []
        assert history["frames"] == dict.fromkeys(
            (
                "received",
                "processed",
                "dropped",
                "refused",
                "names_from_picture",
                "received_last_minute",
                "processed_last_minute",
                "dropped_last_minute",
            ),
            0,
        )
        assert history["class"] == {"expression_mix": None, "expressions": None, "engagement": None, "present": 0, "still": 0}
        assert history["minutes"] == history["alerts"] == history["flags"] == []
        await socket.disconnect()

    run(scenario)
    # An admin watching someone else's class reads per-student data: that goes to the audit log.
    audited = list(AuditEntry.objects.values_list("user__username", "action", "target"))
    assert audited == ([] if who == "course teacher" else [("root", "dashboard.view", f"session {session.pk}")])


# ---- history -----------------------------------------------------------------------------------


def test_history_rebuilds_the_dashboard(session: ClassSession, alice: User, settings: pytest.FixtureRequest) -> None:
    settings.DASHBOARD_HISTORY_SECONDS = 60  # type: ignore[attr-defined]
    t0 = timezone.now().replace(microsecond=0) - timedelta(seconds=30)
    ada, bert, gone = participants(session, 3)
    observe(session, [gone], t0 - timedelta(seconds=300), NEUTRAL, 0.9, "engaged")  # outside the window
    observe(session, [ada], t0, HAPPY, 0.5, "partly")
    observe(session, [bert], t0 + timedelta(milliseconds=400), NEUTRAL, 0.9, "engaged")
    observe(session, [ada], t0 + timedelta(seconds=2), NEUTRAL, 0.8, "engaged")
    statuses = [FrameLog.Status.PROCESSED] * 3 + [FrameLog.Status.DROPPED, FrameLog.Status.EXPIRED, FrameLog.Status.QUEUED]
    for i, status in enumerate(statuses):
        FrameLog.objects.create(session=session, frame_id=f"f{i}", captured_at=t0, received_at=t0, status=status)

    handshake = headers(alice)

    async def scenario() -> None:
        history = await connected_history(communicator(session.pk, handshake))
        assert history["since_seconds"] == 60
        assert history["latest_captured_at"] == (t0 + timedelta(seconds=2)).isoformat()
        series = history["series"]
        # Two frames in one second, one face each: the second's mean covers both; present is the most in one frame.
        assert [(point["t"], point["present"]) for point in series] == [(t0.isoformat(), 1), ((t0 + timedelta(seconds=2)).isoformat(), 1)]
        assert [point["engagement"] for point in series] == pytest.approx([0.7, 0.8])
        assert history["class"]["present"] == 1
        assert history["class"]["engagement"] == pytest.approx(0.8)
        # The class mix is the share of faces shown each expression: the one face of the last frame, neutral.
        assert history["class"]["expression_mix"] == {name: 1.0 if name == "neutral" else 0.0 for name in EXPRESSIONS}
        assert history["class"]["expressions"] == {name: int(name == "neutral") for name in EXPRESSIONS}
        by_name = {p["name"]: p for p in history["participants"]}
        assert by_name["Student 0"]["present"] is True
        assert (by_name["Student 0"]["expression"], by_name["Student 0"]["band"]) == ("neutral", "engaged")
        assert by_name["Student 1"]["present"] is False
        assert by_name["Student 1"]["band"] == "absent"
        assert by_name["Student 2"]["band"] == "absent"
        recent = {"received_last_minute": 6, "processed_last_minute": 3, "dropped_last_minute": 2}
        assert history["frames"] == {"received": 6, "processed": 3, "dropped": 2, "refused": 0, "names_from_picture": 0, **recent}

    run(scenario)


def test_history_of_an_ended_session_keeps_its_last_minutes(session: ClassSession) -> None:
    long_ago = timezone.now() - timedelta(days=2)
    (ada,) = participants(session, 1)
    observe(session, [ada], long_ago, HAPPY, 0.5, "partly")
    ended = session_end(session=session)
    history = session_history(session=ended, since_seconds=60)
    assert history["status"] == "ended"
    assert history["ended_at"] == ended.ended_at.isoformat()
    assert len(history["series"]) == 1


# ---- events ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        {"type": "frames", "received": 10, "processed": 8, "dropped": 1},
        {"type": "participant", "participant": 1, "name": "Ada"},
        {"type": "session_status", "status": "ended", "ended_at": "2025-01-01T10:00:00+00:00"},
    ],
)
def test_group_events_are_forwarded(session: ClassSession, alice: User, event: dict[str, Any]) -> None:
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        await group_send(session.pk, event)
        assert await socket.receive_json_from(timeout=TIMEOUT) == event
        await socket.disconnect()

    run(scenario)


def test_observations_are_forwarded_whole_under_the_full_policy(session: ClassSession, alice: User) -> None:
    event = observations_event(session, participants(session, 2), timezone.now())

    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        await group_send(session.pk, event)
        assert await socket.receive_json_from(timeout=TIMEOUT) == event
        await socket.disconnect()

    run(scenario)


def test_services_reach_the_dashboard_after_commit(session: ClassSession, alice: User) -> None:
    (ada,) = participants(session, 1)

    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        await database_sync_to_async(participant_update)(participant=ada, display_name="Ada")
        assert await socket.receive_json_from(timeout=TIMEOUT) == {
            "type": "participant",
            "participant": ada.pk,
            "name": "Ada",
            "painted_name": "",
        }
        await database_sync_to_async(session_end)(session=session)
        message = await socket.receive_json_from(timeout=TIMEOUT)
        assert (message["type"], message["status"]) == ("session_status", "ended")
        await socket.disconnect()

    run(scenario)


def test_other_sessions_events_do_not_leak(session: ClassSession, alice: User) -> None:
    other = factories.live_session(owner=alice, course_name="Other")[0]

    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        await group_send(other.pk, {"type": "frames", "received": 1, "processed": 1, "dropped": 0})
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario)


# ---- privacy policy ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "present", "per_student_expression", "per_student_engagement", "class_engagement", "class_mix"),
    [
        ("full", 3, True, True, True, True),
        ("aggregate", 4, False, False, False, False),
        ("aggregate", 5, False, False, True, True),
        ("attention", 5, False, True, True, False),
    ],
)
def test_privacy_policy_redacts_history_and_events(
    session: ClassSession,
    alice: User,
    settings: pytest.FixtureRequest,
    policy: str,
    present: int,
    per_student_expression: bool,
    per_student_engagement: bool,
    class_engagement: bool,
    class_mix: bool,
) -> None:
    settings.PRIVACY_POLICY = policy  # type: ignore[attr-defined]
    people = participants(session, present)
    now = timezone.now()
    observe(session, people, now - timedelta(seconds=5), HAPPY, 0.6, "partly")

    def check(people_payload: list[dict[str, Any]], figures: dict[str, Any]) -> None:
        assert len(people_payload) == present
        for person in people_payload:
            assert (person["expression"] is not None) is per_student_expression
            assert (person["probabilities"] is not None) is per_student_expression
            assert (person["confidence"] is not None) is per_student_expression
            assert (person["engagement"] is not None) is per_student_engagement
            assert person["band"] == ("partly" if per_student_engagement else "present")
            if "smoothed" in person:  # events carry smoothed values too; the same rules apply to them
                smoothed = person["smoothed"]
                assert (smoothed is not None) is per_student_engagement
                if smoothed is not None:
                    assert (smoothed["expression"] is not None) is per_student_expression
                    assert (smoothed["probabilities"] is not None) is per_student_expression
        assert (figures["engagement"] is not None) is class_engagement
        assert (figures["expression_mix"] is not None) is class_mix
        assert figures["present"] == present

    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        history = await connected_history(socket)
        assert history["policy"] == policy
        check(history["participants"], history["class"])
        assert all((point["engagement"] is not None) is class_engagement for point in history["series"])
        await group_send(session.pk, observations_event(session, people, now))
        event = await socket.receive_json_from(timeout=TIMEOUT)
        check(event["observations"], event["class"])
        await socket.disconnect()

    run(scenario)


@pytest.fixture
def started_earlier(session: ClassSession) -> None:
    ClassSession.objects.filter(pk=session.pk).update(started_at=timezone.now() - timedelta(minutes=10))
    session.refresh_from_db()


def observed_frame(session: ClassSession, people: list[Participant], when: datetime) -> None:
    """A processed frame in which every one of ``people`` was seen."""
    FrameLog.objects.create(
        session=session, frame_id=when.isoformat(), captured_at=when, received_at=when, status=FrameLog.Status.PROCESSED
    )
    observe(session, people, when, HAPPY, 0.6, "partly")


def _alert(session: ClassSession, participant: Participant | None, kind: str) -> Alert:
    return Alert.objects.create(session=session, participant=participant, kind=kind, raised_at=timezone.now())


@pytest.mark.usefixtures("started_earlier")
def test_aggregate_course_sends_no_per_student_alert_or_row(session: ClassSession, alice: User) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")  # the course's own policy, not the deployment's
    people = participants(session, 5)
    now = timezone.now()
    observed_frame(session, people, now - timedelta(seconds=70))
    rollups_refresh(session=session)
    _alert(session, None, "uploads_stopped")
    student_alert = _alert(session, people[0], "absent")
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        history = await connected_history(socket)
        assert history["policy"] == "aggregate"
        assert [alert["kind"] for alert in history["alerts"]] == ["uploads_stopped"]
        assert [minute["present"] for minute in history["minutes"]] == [5.0]
        assert history["minutes"][0]["engagement"] == 0.6
        await group_send(session.pk, {"type": "alert", "alert": alert_payload(student_alert)})
        await group_send(session.pk, {"type": "flag", "flag": {"id": 1, "at": now.isoformat(), "note": "quiz"}})
        assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "flag"  # the per-student alert never came
        await socket.disconnect()

    run(scenario)
    assert MinuteRollup.objects.filter(session=session, participant__isnull=False).count() == 0


@pytest.mark.usefixtures("started_earlier")
def test_aggregate_minutes_of_small_groups_are_withheld(session: ClassSession, alice: User) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="aggregate")
    observed_frame(session, participants(session, 1), timezone.now() - timedelta(seconds=70))
    rollups_refresh(session=session)
    handshake = headers(alice)

    async def scenario() -> None:
        history = await connected_history(communicator(session.pk, handshake))
        assert history["minutes"][0]["engagement"] is None and history["minutes"][0]["expressions"] is None

    run(scenario)


@pytest.mark.usefixtures("started_earlier")
def test_attention_course_sends_no_expression_anywhere(session: ClassSession, alice: User) -> None:
    Course.objects.filter(pk=session.course_id).update(privacy_policy="attention")
    people = participants(session, 2)
    now = timezone.now()
    observed_frame(session, people, now - timedelta(seconds=70))
    rollups_refresh(session=session)
    _alert(session, people[0], "not_engaged")
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        history = await connected_history(socket)
        await group_send(session.pk, observations_event(session, people, now))
        event = await socket.receive_json_from(timeout=TIMEOUT)
        await socket.disconnect()
        assert [alert["kind"] for alert in history["alerts"]] == ["not_engaged"]  # attention alerts exist
        for message in (history, event):
            text = json.dumps(message)
            assert not any(f'"{name}"' in text for name in EXPRESSIONS), text

    run(scenario)


@pytest.mark.usefixtures("started_earlier")
def test_the_whole_session_mix_comes_with_the_history_and_after_each_rollup_refresh(session: ClassSession, alice: User) -> None:
    people = participants(session, 2)
    now = timezone.now()
    observed_frame(session, people, now - timedelta(seconds=70))
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        history = await connected_history(socket)
        # Not rolled up yet, counted already: the server's figure, which the page draws as it is.
        assert history["session_mix"] == {name: float(name == "happy") for name in EXPRESSIONS}
        await database_sync_to_async(observe)(session, people, now - timedelta(seconds=5), NEUTRAL, 0.9, "engaged")
        await database_sync_to_async(rollups_refresh)(session=session)
        event = await socket.receive_json_from(timeout=TIMEOUT)
        mix = {name: 0.5 if name in ("happy", "neutral") else 0.0 for name in EXPRESSIONS}
        assert event == {"type": "session_mix", "session": session.pk, "session_mix": mix, "present": 2}
        await socket.disconnect()

    run(scenario)


@pytest.mark.parametrize(
    ("send", "reply"),
    [
        ({"text_data": '{"type": "ping"}'}, {"type": "pong"}),
        ({"text_data": "not json"}, {"type": "error", "error": "invalid_json", "message": "messages must be JSON objects"}),
        (
            {"text_data": "[" * 500 + "]" * 500},
            {"type": "error", "error": "unknown_message", "message": 'the only message clients send is {"type": "ping"}'},
        ),
        (
            {"text_data": '{"type": "acknowledge"}'},
            {"type": "error", "error": "unknown_message", "message": 'the only message clients send is {"type": "ping"}'},
        ),
        (
            {"text_data": "[]"},
            {"type": "error", "error": "unknown_message", "message": 'the only message clients send is {"type": "ping"}'},
        ),
        ({"text_data": " " * 2000}, {"type": "error", "error": "message_too_large", "message": "messages are at most 1024 characters"}),
        ({"bytes_data": b"\x00\x01"}, {"type": "error", "error": "binary_message", "message": "only JSON text messages are accepted"}),
    ],
    ids=["ping", "not json", "nested", "unknown type", "not an object", "too large", "binary"],
)
def test_client_messages_are_checked(session: ClassSession, alice: User, send: dict[str, Any], reply: dict[str, Any]) -> None:
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        await socket.send_to(**send)
        assert await socket.receive_json_from(timeout=TIMEOUT) == reply
        # The socket stays open and still gets the session's events.
        await group_send(session.pk, {"type": "frames", "received": 1, "processed": 1, "dropped": 0})
        assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "frames"
        await socket.disconnect()

    run(scenario)


def test_a_ping_rejoins_the_group_after_it_was_lost(session: ClassSession, alice: User) -> None:
    handshake = headers(alice)

    async def scenario() -> None:
        socket = communicator(session.pk, handshake)
        await connected_history(socket)
        layer = get_channel_layer()
        layer.groups.clear()  # what a Redis restart does to group membership
        await group_send(session.pk, {"type": "frames", "received": 2, "processed": 2, "dropped": 0})
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_json_to({"type": "ping"})
        assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await group_send(session.pk, {"type": "frames", "received": 3, "processed": 3, "dropped": 0})
        assert (await socket.receive_json_from(timeout=TIMEOUT))["received"] == 3
        await socket.disconnect()

    run(scenario)
