"""Roster CSV import: a table of good and bad files, idempotent re-import, linking participants by name."""

from __future__ import annotations

import pytest

from classroom.models import Course, Observation, Participant, Student
from classroom.roster import (
    MAX_ROWS,
    RosterError,
    name_key,
    participants_link_by_name,
    roster_import,
    roster_parse,
    student_add,
    student_rename,
    student_set_opt_out,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def course() -> Course:
    return factories.live_session()[0].course


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty"),
        (b"\n\n", "The file is empty"),
        (b"full name,email\nAda,ada@example.edu\n", "No 'name' column in the header (full name, email)."),
        (b"name,grade\nAda,A\n", "Unknown columns: grade (use name, external_id, email)."),
        ("name\nZo\u00eb\n".encode("latin-1"), "The file is not UTF-8 text (byte 8)"),
        (b"name\n" + b"x\n" * (MAX_ROWS + 1), "More than 10,000 rows"),
    ],
    ids=["empty", "blank lines only", "no name column", "unknown column", "not UTF-8", "too many rows"],
)
def test_unusable_files_are_refused_whole(course: Course, data: bytes, message: str) -> None:
    with pytest.raises(RosterError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        roster_parse(course=course, data=data)
    assert not Student.objects.exists()


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (",S-1,", "the name is empty"),
        ("x" * 201 + ",,", "the name is longer than 200 characters"),
        ("=HYPERLINK(1),,", "the name starts with a formula character (= + - @)"),
        ("@SUM(A1),,", "the name starts with a formula character (= + - @)"),
        ("Ada,,not-an-address", "the email address is not valid"),
        ("Ada,S-1", "wrong number of columns"),
        ("Ada,S-1,a@example.edu,extra", "wrong number of columns"),
        ("Ada," + "9" * 65 + ",", "the external id is longer than 64 characters"),
    ],
    ids=["empty name", "long name", "formula =", "formula @", "bad email", "too few cells", "too many cells", "long id"],
)
def test_bad_rows_get_their_own_error_and_good_rows_still_import(course: Course, line: str, error: str) -> None:
    data = f"name,external_id,email\nGrace Hopper,S-9,grace@example.edu\n{line}\n".encode()
    preview = roster_parse(course=course, data=data)
    assert [(row.line, row.error) for row in preview.errors] == [(3, error)]
    assert roster_import(course=course, data=data) == {"add": 1, "update": 0, "same": 0, "error": 1}
    assert list(course.students.values_list("name", "external_id", "email")) == [("Grace Hopper", "S-9", "grace@example.edu")]


def test_duplicates_within_the_file(course: Course) -> None:
    data = b"name,external_id\nAda Lovelace,S-1\nada  LOVELACE,S-2\nAlan Turing,S-1\n"
    preview = roster_parse(course=course, data=data)
    assert [(row.line, row.error) for row in preview.rows] == [
        (2, ""),
        (3, "the same name as line 2"),
        (4, "the same external id as line 2"),
    ]


def test_header_only_imports_nothing(course: Course) -> None:
    assert roster_import(course=course, data=b"name,external_id,email\n") == {"add": 0, "update": 0, "same": 0, "error": 0}


def test_reimport_changes_nothing_and_updates_by_id(course: Course) -> None:
    data = "\ufeffName,Student_ID,E-mail\r\nAda Lovelace,S-1,ada@example.edu\r\n  Alan   Turing ,S-2,\r\n".encode()  # Excel's BOM and CRLF
    assert roster_import(course=course, data=data) == {"add": 2, "update": 0, "same": 0, "error": 0}
    before = list(Student.objects.values_list("pk", "name", "external_id", "email"))
    assert roster_import(course=course, data=data) == {"add": 0, "update": 0, "same": 2, "error": 0}
    assert list(Student.objects.values_list("pk", "name", "external_id", "email")) == before
    renamed = b"name,external_id\nAda King,S-1\n"
    assert roster_import(course=course, data=renamed)["update"] == 1
    assert Student.objects.get(external_id="S-1").name == "Ada King"


def test_ten_thousand_rows(course: Course) -> None:
    data = ("name,external_id,email\n" + "".join(f"Student {k},ID{k},s{k}@example.edu\n" for k in range(MAX_ROWS))).encode()
    assert roster_import(course=course, data=data)["add"] == MAX_ROWS
    assert course.students.count() == MAX_ROWS
    assert roster_parse(course=course, data=data).counts() == {"add": 0, "update": 0, "same": MAX_ROWS, "error": 0}


def test_participants_link_on_names_ignoring_case_and_spacing(course: Course) -> None:
    session = course.sessions.get()
    tile = Participant.objects.create(session=session, key="ada  LOVELACE", display_name="ada  LOVELACE")
    roster_import(course=course, data=b"name\nAda Lovelace\n")
    tile.refresh_from_db()
    assert tile.student is not None and tile.student.name == "Ada Lovelace"
    assert participants_link_by_name(course=course) == 0  # already linked
    assert name_key("  Ada\tLovelace ") == name_key("ada lovelace")


def test_teacher_edits(course: Course) -> None:
    ada = student_add(course=course, name=" Ada  Lovelace ")
    assert ada.name == "Ada Lovelace"
    with pytest.raises(ValueError, match="already on this course's roster"):
        student_add(course=course, name="ADA LOVELACE")
    alan = student_add(course=course, name="Alan")
    with pytest.raises(ValueError, match="already on this course's roster"):
        student_rename(student=alan, name="ada lovelace")
    session = course.sessions.get()
    tile = Participant.objects.create(session=session, key="A. L.", display_name="A. L.", student=ada)
    Observation.objects.create(
        session=session, participant=tile, captured_at=session.started_at, engagement=0.9, engagement_band="engaged", box=[0, 0, 1, 1]
    )
    student_set_opt_out(student=ada, opted_out=True)
    assert not Observation.objects.filter(participant=tile).exists()  # what was stored about her goes
    assert Participant.objects.filter(student=ada).exists()  # her tile name stays known, so it keeps being skipped
