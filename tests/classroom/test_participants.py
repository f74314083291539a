"""Who each face is: page names, painted labels, the roster (forgiving OCR slips), opt-out and the teacher's renames."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from classroom.models import ClassSession, Observation, Participant, Student
from classroom.participants import FaceIdentity, participants_resolve
from classroom.services import participant_update
from tests.factories import live_session

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
BOX = (10.0, 20.0, 40.0, 40.0)


@pytest.fixture
def session() -> ClassSession:
    return live_session()[0]


def face(
    key: str,
    *,
    page: str | None = None,
    painted: str | None = None,
    box: tuple[float, float, float, float] = BOX,
    tile: tuple[int, int, int, int] | None = None,
) -> FaceIdentity:
    return FaceIdentity(key=key, page_name=page, painted_name=painted, box=box, tile=tile)


def resolve(session: ClassSession, *faces: FaceIdentity) -> list[Participant | None]:
    return participants_resolve(session=session, faces=list(faces))[0]


def names(found: list[Participant | None]) -> list[tuple[str, str] | None]:
    return [(p.display_name, p.name_source) if p is not None else None for p in found]


def test_no_faces_no_participants(session: ClassSession) -> None:
    assert participants_resolve(session=session, faces=[]) == ([], 0)
    assert not Participant.objects.exists()


def test_each_source_names_its_face(session: ClassSession) -> None:
    found = resolve(session, face("Ana Lima", page="Ana Lima"), face("track-1", painted="Bea Souza"), face("track-2"))

    assert names(found) == [("Ana Lima", "page"), ("Bea Souza", "picture"), ("Participant 2", "track")]
    assert [p.key for p in found if p] == ["Ana Lima", "track-1", "track-2"]


def test_a_track_named_later_keeps_its_history_and_the_page_hears_of_it(
    session: ClassSession, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    (first,) = resolve(session, face("track-1"))
    with django_capture_on_commit_callbacks() as callbacks:
        (named,) = resolve(session, face("track-1", painted="Bea Souza"))

    assert named is not None and first is not None and named.pk == first.pk
    assert (named.display_name, named.name_source) == ("Bea Souza", "picture")
    assert Participant.objects.get().display_name == "Bea Souza"
    assert len(callbacks) == 1  # one "participant" event: every open page renames the card


def test_a_student_back_under_a_new_track_is_the_same_participant(session: ClassSession) -> None:
    (before,) = resolve(session, face("track-1", painted="Bea Souza"))
    (after,) = resolve(session, face("track-7", painted="Bea Souza"))

    assert before is not None and after is not None and after.pk == before.pk
    assert Participant.objects.count() == 1


def test_a_named_track_that_now_shows_someone_else_gets_a_new_participant(session: ClassSession) -> None:
    (bea,) = resolve(session, face("track-1", painted="Bea Souza"))
    (carl,) = resolve(session, face("track-1", painted="Carl Weiß"))

    assert bea is not None and carl is not None and carl.pk != bea.pk
    assert names([bea, carl]) == [("Bea Souza", "picture"), ("Carl Weiß", "picture")]


@pytest.mark.parametrize(
    ("read", "roster_name"),
    [
        ("Zoë Müller", "Zoë Müller"),  # exact
        ("zoe muller", "Zoë Müller"),  # accents and case lost
        ("Zoë Mülle", "Zoë Müller"),  # a dropped letter
        ("Zoë Müller-", "Zoë Müller"),  # a stray mark
        ("Zoë Mül…", "Zoë Müller"),  # cut by the app with an ellipsis
        ("Xavier Quinn", None),  # nobody on the roster: used as read
    ],
)
def test_a_read_name_becomes_the_roster_name(session: ClassSession, read: str, roster_name: str | None) -> None:
    zoe = Student.objects.create(course=session.course, name="Zoë Müller")
    Student.objects.create(course=session.course, name="Jonas Berg")

    (participant,) = resolve(session, face("track-1", painted=read))

    assert participant is not None
    assert participant.display_name == (roster_name or read)
    assert participant.student_id == (zoe.pk if roster_name else None)
    assert participant.painted_name == read


def test_an_opted_out_student_is_skipped_whatever_the_source(session: ClassSession) -> None:
    Student.objects.create(course=session.course, name="Zoë Müller", opted_out=True)

    found, skipped = participants_resolve(
        session=session, faces=[face("Zoë Müller", page="Zoë Müller"), face("track-1", painted="Zoe Muller")]
    )

    assert found == [None, None]
    assert skipped == 2
    assert not Participant.objects.exists()


def test_the_teachers_rename_is_never_overwritten_by_a_label(session: ClassSession) -> None:
    (anonymous,) = resolve(session, face("track-1"))
    assert anonymous is not None
    participant_update(participant=anonymous, display_name="Bea (back row)")

    (same,) = resolve(session, face("track-1", painted="Beatriz Souza"))

    assert same is not None and same.pk == anonymous.pk
    assert (same.display_name, same.name_source, same.painted_name) == ("Bea (back row)", "teacher", "Beatriz Souza")


def test_the_page_name_wins_and_a_contradicting_label_is_logged(session: ClassSession, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="classroom.participants"):
        (agreeing,) = resolve(session, face("Ana Lima", page="Ana Lima", painted="Ana Lma"))  # an OCR slip: no disagreement
        assert caplog.records == []
        (contradicted,) = resolve(session, face("Ana Lima", page="Ana Lima", painted="Carl Weiß"))

    assert contradicted is not None and agreeing is not None and contradicted.pk == agreeing.pk
    assert (contradicted.display_name, contradicted.name_source, contradicted.painted_name) == ("Ana Lima", "page", "Carl Weiß")
    assert [record.getMessage() for record in caplog.records] == [
        f"session {session.pk}: tile 'Ana Lima' is named 'Ana Lima' on the page, its label reads 'Carl Weiß'"
    ]


@pytest.mark.parametrize("count", [1, 9, 25])
def test_a_frame_costs_a_fixed_number_of_queries(
    session: ClassSession, count: int, django_assert_max_num_queries: Callable[..., Any]
) -> None:
    Student.objects.create(course=session.course, name="Student 01")
    faces = [face(f"track-{k}", painted=f"Student {k:02d}", box=(k * 50.0, 0, 40, 40)) for k in range(count)]
    with django_assert_max_num_queries(6):
        resolve(session, *faces)  # first sight: roster, participants, insert, re-read, seen, boxes
    moved = [face(f.key, painted=f.painted_name, box=(f.box[0] + 30, 0, 40, 40)) for f in faces]
    with django_assert_max_num_queries(5):
        resolve(session, *moved)


def test_a_frame_that_only_moved_faces_writes_only_their_boxes(session: ClassSession) -> None:
    faces = [face(f"Student {k:02d}", page=f"Student {k:02d}", box=(k * 50.0, 0, 40, 40)) for k in range(3)]
    resolve(session, *faces)
    moved = [face(f.key, page=f.page_name, box=(f.box[0] + 30, 0, 40, 40)) for f in faces]
    with CaptureQueriesContext(connection) as queries:
        resolve(session, *moved)
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"last_box"' in update
    assert not any(f'"{name}"' in update for name in ("painted_name", "display_name", "name_source", "student_id"))
    assert sorted(p.last_box[0] for p in Participant.objects.filter(session=session)) == [30.0, 80.0, 130.0]


TILE = (0, 0, 320, 180)


def observe(participant: Participant | None) -> None:
    assert participant is not None
    Observation.objects.create(
        session=participant.session, participant=participant, captured_at=WHEN, engagement=1.0, engagement_band="engaged", box=list(BOX)
    )


def test_the_anonymous_past_of_a_tile_folds_into_the_name_it_settles_on(
    session: ClassSession, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # Frames before the label settled made anonymous tracks (one replaced by another when frames came out of order).
    (first,) = resolve(session, face("track-1", box=BOX, tile=TILE))
    observe(first)
    (second,) = resolve(session, face("track-2", box=BOX, tile=TILE))
    observe(second)
    (elsewhere,) = resolve(session, face("track-3", box=(400.0, 20.0, 40.0, 40.0), tile=(320, 0, 320, 180)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        (named,) = resolve(session, face("track-2", painted="Bea Souza", box=BOX, tile=TILE))

    assert named is not None and second is not None and first is not None and elsewhere is not None and named.pk == second.pk
    assert sorted(Participant.objects.values_list("display_name", flat=True)) == ["Bea Souza", "Participant 3"]
    assert Observation.objects.filter(participant=named).count() == 2  # nothing the anonymous track saw is lost
    assert len(callbacks) == 2  # the card is named, and the stray card removed


def test_a_student_known_by_name_absorbs_their_new_anonymous_track(session: ClassSession) -> None:
    (bea,) = resolve(session, face("track-1", painted="Bea Souza", box=BOX, tile=TILE))
    (anonymous,) = resolve(session, face("track-5", box=BOX, tile=TILE))  # back, label not yet read again
    observe(anonymous)
    (again,) = resolve(session, face("track-5", painted="Bea Souza", box=BOX, tile=TILE))

    assert bea is not None and again is not None and again.pk == bea.pk
    assert list(Participant.objects.values_list("display_name", flat=True)) == ["Bea Souza"]
    assert Observation.objects.filter(participant=bea).count() == 1


def test_a_named_tile_without_a_face_is_a_participant_never_seen(session: ClassSession) -> None:
    from classroom.participants import participants_resolve_empty_tiles

    zoe = Student.objects.create(course=session.course, name="Zoë Müller")
    Student.objects.create(course=session.course, name="Olly", opted_out=True)
    seen = resolve(session, face("Ana Lima", page="Ana Lima"))[0]
    assert seen is not None

    created = participants_resolve_empty_tiles(session=session, names=["Zoe Muller", "Olly", "", "Ana Lima", "Cam off"])

    # Matched to the roster as a page name is; the opted-out student gets nothing; who is known already is left alone.
    assert sorted((p.key, p.display_name, p.student_id, p.last_seen_at) for p in created) == [
        ("Cam off", "Cam off", None, None),
        ("Zoe Muller", "Zoë Müller", zoe.pk, None),
    ]
    assert Participant.objects.get(key="Ana Lima").last_seen_at is None  # seen is the stored frame's to say
    assert participants_resolve_empty_tiles(session=session, names=["Zoe Muller"]) == []  # the next frame makes nothing new
    assert Participant.objects.count() == 3
