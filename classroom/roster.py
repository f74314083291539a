"""A course's roster: CSV import (checked row by row, idempotent), the teacher's edits, and linking participants.

The CSV has a header naming its columns: ``name`` (required), and optionally ``external_id`` and ``email``
(also accepted: ``student_id``/``id`` and ``e-mail``). Import is two steps: :func:`roster_parse` checks every
row and says what would change (the preview), :func:`roster_import` applies the good rows. A row matches an
existing student by external id, else by name (case and spacing ignored); importing the same file again
changes nothing.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from classroom.events import publish_on_commit
from classroom.models import Alert, ClassSession, Course, MinuteRollup, Observation, Participant, Student
from classroom.reports import FORMULA_PREFIXES

MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024
NAME_MAX = 200
EXTERNAL_ID_MAX = 64
COLUMN_ALIASES = {
    "name": "name",
    "external_id": "external_id",
    "student_id": "external_id",
    "id": "external_id",
    "email": "email",
    "e-mail": "email",
}


class RosterError(ValueError):
    """The whole file is unusable (not UTF-8, no header, no name column, too big); the message says why."""


def name_key(name: str) -> str:
    """The form two names are compared in: case and spacing ignored."""
    return re.sub(r"\s+", " ", name).strip().casefold()


# A name read off the picture may have lost an accent or a letter to OCR; it is still the roster's student when it is
# this close to one name and clearly closer to it than to any other (difflib's ratio, on names without accents).
READ_NAME_MIN_RATIO = 0.85
READ_NAME_MARGIN = 0.08
TRUNCATION_MARKS = ("…", "...")
MIN_PREFIX = 6  # a cut name ("Alexandra Konst…") names a student only with enough of it left


def _plain(name: str) -> str:
    """Lower case, no accents, letters, digits and single spaces only: how OCR slips are forgiven."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^\w ]+", " ", letters).split())


def names_agree(*, first: str, second: str) -> bool:
    """Whether two names are the same name, forgiving what OCR loses (accents, a letter, punctuation)."""
    a, b = _plain(first), _plain(second)
    return bool(a) and (a == b or difflib.SequenceMatcher(None, a, b).ratio() >= READ_NAME_MIN_RATIO)


def roster_match(*, name: str, students: Sequence[Student]) -> Student | None:
    """The roster student a name read from a tile's label means, forgiving OCR slips; ``None`` if none is clear.

    An exact match (case and spacing ignored) wins; then the same name without accents and punctuation; then
    a name cut with an ellipsis by the meeting app, when exactly one student's name starts with what is left;
    then the single clearly closest name (:data:`READ_NAME_MIN_RATIO`, :data:`READ_NAME_MARGIN`).
    """
    index = _match_index(name, tuple(student.name for student in students))
    return students[index] if index is not None else None


# Every frame asks again for the same names against the same roster; the fuzzy comparison costs about 17 ms for
# 25 unmatched names against 30 students, so answers are remembered (names only: no face, nothing personal beyond them).
@functools.lru_cache(maxsize=4096)
def _match_index(name: str, roster: tuple[str, ...]) -> int | None:
    key = name_key(name)
    exact = [k for k, other in enumerate(roster) if name_key(other) == key]
    if exact:
        return exact[0]
    plain = _plain(name)
    if not plain:
        return None
    plains = [_plain(other) for other in roster]
    same = [k for k, other in enumerate(plains) if other == plain]
    if len(same) == 1:
        return same[0]
    if key.endswith(TRUNCATION_MARKS) and len(plain) >= MIN_PREFIX:
        starts = [k for k, other in enumerate(plains) if other.startswith(plain)]
        return starts[0] if len(starts) == 1 else None
    ranked = sorted(((difflib.SequenceMatcher(None, plain, other).ratio(), k) for k, other in enumerate(plains)), key=lambda pair: -pair[0])
    if not ranked or ranked[0][0] < READ_NAME_MIN_RATIO:
        return None
    if len(ranked) > 1 and ranked[0][0] - ranked[1][0] < READ_NAME_MARGIN:
        return None  # two students are as close: better anonymous than the wrong one
    return ranked[0][1]


@dataclass(frozen=True)
class RosterRow:
    """One row of an import: its line number, values, what it would do (``add``, ``update``, ``same``) or its error."""

    line: int
    name: str
    external_id: str = ""
    email: str = ""
    action: str = ""
    error: str = ""


@dataclass
class RosterPreview:
    """The parsed file: every row with its action or error."""

    rows: list[RosterRow] = field(default_factory=list)

    @property
    def good(self) -> list[RosterRow]:
        return [row for row in self.rows if not row.error]

    @property
    def errors(self) -> list[RosterRow]:
        return [row for row in self.rows if row.error]

    def counts(self) -> dict[str, int]:
        """How many rows would be added, updated, left as they are, or are refused."""
        counts = {"add": 0, "update": 0, "same": 0, "error": 0}
        for row in self.rows:
            counts["error" if row.error else row.action] += 1
        return counts


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise RosterError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RosterError(f"The file is not UTF-8 text (byte {error.start + 1}); save it as CSV UTF-8 and try again.") from None


def _row_error(name: str, external_id: str, email: str, raw: str | None) -> str:
    if raw is not None:
        return "wrong number of columns"
    if not name:
        return "the name is empty"
    if len(name) > NAME_MAX:
        return f"the name is longer than {NAME_MAX} characters"
    if name.startswith(FORMULA_PREFIXES):
        return "the name starts with a formula character (= + - @)"
    if len(external_id) > EXTERNAL_ID_MAX:
        return f"the external id is longer than {EXTERNAL_ID_MAX} characters"
    if email:
        try:
            validate_email(email)
        except ValidationError:
            return "the email address is not valid"
    return ""


def roster_parse(*, course: Course, data: bytes) -> RosterPreview:
    """Check every row of a roster CSV against the course's roster; nothing is written."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise RosterError("The file is empty: the first line must name the columns (name, and optionally external_id and email).")
    columns = [COLUMN_ALIASES.get(cell.strip().lower(), "") for cell in header]
    if "name" not in columns:
        raise RosterError(f"No 'name' column in the header ({', '.join(cell.strip() for cell in header)}).")
    unknown = [cell.strip() for cell, column in zip(header, columns, strict=True) if not column and cell.strip()]
    if unknown:
        raise RosterError(f"Unknown columns: {', '.join(unknown)} (use name, external_id, email).")
    existing = list(course.students.all())
    by_id = {s.external_id: s for s in existing if s.external_id}
    by_name = {name_key(s.name): s for s in existing}
    seen_names: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    preview = RosterPreview()
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are not rows
        if len(preview.rows) >= MAX_ROWS:
            raise RosterError(f"More than {MAX_ROWS:,} rows; split the file.")
        values = dict.fromkeys(("name", "external_id", "email"), "")
        for column, cell in zip(columns, cells, strict=False):
            if column:
                values[column] = re.sub(r"\s+", " ", cell).strip()
        raw = None if len(cells) == len(columns) else ",".join(cells)
        error = _row_error(values["name"], values["external_id"], values["email"], raw)
        key = name_key(values["name"])
        if not error and key in seen_names:
            error = f"the same name as line {seen_names[key]}"
        if not error and values["external_id"] and values["external_id"] in seen_ids:
            error = f"the same external id as line {seen_ids[values['external_id']]}"
        action = ""
        if not error:
            seen_names[key] = number
            if values["external_id"]:
                seen_ids[values["external_id"]] = number
            match = by_id.get(values["external_id"]) if values["external_id"] else None
            match = match or by_name.get(key)
            if match is None:
                action = "add"
            elif (match.name, match.external_id, match.email) == (
                values["name"],
                values["external_id"] or match.external_id,
                values["email"] or match.email,
            ):
                action = "same"
            else:
                action = "update"
        preview.rows.append(RosterRow(line=number, action=action, error=error, **values))
    return preview


@transaction.atomic
def roster_import(*, course: Course, data: bytes) -> dict[str, int]:
    """Apply a roster CSV's good rows (parsed again, so the preview cannot be tampered with); returns the counts."""
    preview = roster_parse(course=course, data=data)
    existing = list(course.students.select_for_update())
    by_id = {s.external_id: s for s in existing if s.external_id}
    by_name = {name_key(s.name): s for s in existing}
    for row in preview.good:
        match = (by_id.get(row.external_id) if row.external_id else None) or by_name.get(name_key(row.name))
        if match is None:
            Student.objects.create(course=course, name=row.name, external_id=row.external_id, email=row.email)
        elif row.action == "update":
            match.name = row.name
            match.external_id = row.external_id or match.external_id
            match.email = row.email or match.email
            match.save(update_fields=["name", "external_id", "email"])
    participants_link_by_name(course=course)
    return preview.counts()


def roster_csv_template() -> str:
    """An example file a teacher can fill in."""
    return "name,external_id,email\nAda Lovelace,S-1001,ada@example.edu\n"


# ---- the teacher's edits ----------------------------------------------------------------------------


def student_add(*, course: Course, name: str, external_id: str = "", email: str = "") -> Student:
    """Add one student to the roster (the name must be new to the course, case and spacing ignored)."""
    cleaned = re.sub(r"\s+", " ", name).strip()
    if not cleaned:
        raise ValueError("Give the student a name.")
    if any(name_key(s.name) == name_key(cleaned) for s in course.students.all()):
        raise ValueError(f"{cleaned} is already on this course's roster.")
    student = Student.objects.create(course=course, name=cleaned, external_id=external_id.strip(), email=email.strip())
    participants_link_by_name(course=course)
    return student


def student_rename(*, student: Student, name: str) -> Student:
    """Rename a roster student (not onto another student's name)."""
    cleaned = re.sub(r"\s+", " ", name).strip()
    if not cleaned:
        raise ValueError("Give the student a name.")
    if any(name_key(s.name) == name_key(cleaned) for s in student.course.students.exclude(pk=student.pk)):
        raise ValueError(f"{cleaned} is already on this course's roster.")
    student.name = cleaned
    student.save(update_fields=["name"])
    return student


@transaction.atomic
def student_set_opt_out(*, student: Student, opted_out: bool) -> Student:
    """Opt a student out (their tiles are skipped from now on and what was stored about them goes) or back in.

    Their participants stay as bare names linked to them, so a tile showing them under another name is
    still recognised and skipped; every observation, rollup and alert of those participants is deleted.
    """
    student.opted_out = opted_out
    student.save(update_fields=["opted_out"])
    if opted_out:
        linked = Participant.objects.filter(student=student)
        for model in (Observation, MinuteRollup, Alert):
            model.objects.filter(participant__in=linked).delete()
        for participant_id, session_id in linked.values_list("pk", "session_id"):
            publish_on_commit(session_id=session_id, event={"type": "participant_removed", "participant": participant_id})
    return student


def student_remove(*, student: Student) -> None:
    """Take a student off the roster; their past participations stay, unlinked."""
    student.delete()


def participants_link_by_name(*, course: Course, sessions: Iterable[ClassSession] | None = None) -> int:
    """Link unlinked participants of the course's sessions to the roster student with the same name; returns how many."""
    students = {name_key(s.name): s for s in course.students.filter(opted_out=False)}
    if not students:
        return 0
    participants = Participant.objects.filter(session__course=course, student__isnull=True)
    if sessions is not None:
        participants = participants.filter(session__in=list(sessions))
    linked = 0
    for participant in participants:
        student = students.get(name_key(participant.display_name))
        if student is not None:
            participant.student = student
            participant.save(update_fields=["student"])
            linked += 1
    return linked
