"""Who each face in a frame is: one participant per person, named from every source the frame offers.

A face arrives with the participant key the tracker gave it (a page tile's name, or ``track-N``), the name the
meeting page gave its tile (the extension reads it from the page's DOM), and the name read from the label the
meeting app paints on the tile. The page's name wins; the painted one names a tile the page did not, and is
kept beside a page name as a cross-check (a disagreement is logged and shown on the card's rename form). Either
name is matched to the course roster, forgiving OCR slips, and a roster student who opted out is skipped under
any name. A teacher's rename is never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Q

from classroom.events import participant_event, publish_on_commit
from classroom.models import ClassSession, Observation, Participant, Student
from classroom.roster import name_key, names_agree, roster_match

logger = logging.getLogger(__name__)

BOX_MOVE_FRACTION = 0.25  # a stored last_box is rewritten once the face has moved this share of its size
KEY_MAX = 200
LABEL_KEY_PREFIX = "label:"


@dataclass(frozen=True)
class FaceIdentity:
    """What a frame says about who one face is.

    ``key`` is the tracker's participant key; ``page_name`` the tile's name on the meeting page (``None``
    where the page gave none); ``painted_name`` the settled name read from the tile's painted label (``None``
    while unread or unreadable); ``box`` the face in frame pixels; ``tile`` its tile's rectangle.
    """

    key: str
    page_name: str | None
    painted_name: str | None
    box: tuple[float, float, float, float]
    tile: tuple[int, int, int, int] | None = None  # the tile the face is in (x, y, w, h), None outside tiles


@dataclass(frozen=True)
class _Wanted:
    key: str
    name: str
    source: str
    student: Student | None
    painted: str


def _moved(stored: list[float] | None, box: list[float]) -> bool:
    """Whether ``box`` is far enough from the stored ``last_box`` to be worth a write."""
    if not stored or len(stored) != 4:
        return True
    size = max(box[2], box[3], 1.0)
    return max(abs(a - b) for a, b in zip(stored, box, strict=True)) > BOX_MOVE_FRACTION * size


def _wanted(face: FaceIdentity, students: Sequence[Student]) -> _Wanted:
    painted = face.painted_name or ""
    if face.page_name:
        student = roster_match(name=face.page_name, students=students)
        name = student.name if student else face.page_name
        return _Wanted(key=face.key, name=name, source=Participant.NameSource.PAGE, student=student, painted=painted)
    if painted:
        student = roster_match(name=painted, students=students)
        return _Wanted(
            key=face.key, name=student.name if student else painted, source=Participant.NameSource.PICTURE, student=student, painted=painted
        )
    return _Wanted(
        key=face.key, name=face.key.replace("track-", "Participant "), source=Participant.NameSource.TRACK, student=None, painted=""
    )


def _cross_check(participant: Participant, wanted: _Wanted) -> None:
    """Log a page name that a newly read label contradicts (the label reads as someone else)."""
    if wanted.source != Participant.NameSource.PAGE or not wanted.painted or wanted.painted == participant.painted_name:
        return
    if not names_agree(first=wanted.painted, second=participant.display_name):
        logger.info(
            "session %s: tile %r is named %r on the page, its label reads %r",
            participant.session_id,
            wanted.key,
            participant.display_name,
            wanted.painted,
        )


def _inside(box: list[float] | None, tile: tuple[int, int, int, int]) -> bool:
    if not box or len(box) != 4:
        return False
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    return tile[0] <= cx < tile[0] + tile[2] and tile[1] <= cy < tile[1] + tile[3]


def _strays_merge(*, session: ClassSession, named: list[tuple[Participant, tuple[int, int, int, int] | None]], in_use: set[int]) -> None:
    """Fold the anonymous participants a face had before its label was read into the participant it is now.

    A label settles after a few frames; until then the face is an anonymous track (and a track may be
    replaced when frames finish out of order). When a tile's name settles, the anonymous participants last
    seen in that tile are the same person: their observations move to the named participant and their
    cards go. Runs only on the frame a name settles.
    """
    anonymous = [p for p in Participant.objects.filter(session=session, name_source=Participant.NameSource.TRACK) if p.pk not in in_use]
    for target, tile in named:
        strays = [p for p in anonymous if tile is not None and _inside(p.last_box, tile)]
        if not strays:
            continue
        ids = [p.pk for p in strays]
        Observation.objects.filter(participant_id__in=ids).update(participant=target)
        Participant.objects.filter(pk__in=ids).delete()
        anonymous = [p for p in anonymous if p.pk not in ids]
        for stray in ids:
            publish_on_commit(session_id=session.pk, event={"type": "participant_removed", "participant": stray})


def participants_resolve(*, session: ClassSession, faces: Sequence[FaceIdentity]) -> tuple[list[Participant | None], int]:
    """The participant of every face (created on first sight, named as the module says), ``None`` for opted-out
    students; and how many faces were skipped so.

    A fixed number of queries whatever the number of faces: one read of the roster, one of the session's
    participants with these keys or names, one bulk insert of the new ones (and a re-read if another process
    raced it), and one bulk update of those whose box or name changed (rare: most faces keep their place and
    name); on the frame a tile's name settles, a few more to fold its anonymous past into it (:func:`_strays_merge`).
    When they were seen is the stored frame's to write (:func:`classroom.frames.frame_readings_record`): a frame
    dropped before it is read marks nobody seen, and the ingest stage takes no write lock on every frame.
    """
    students = list(Student.objects.filter(course_id=session.course_id))
    opted_out_ids = {s.pk for s in students if s.opted_out}
    plans: list[_Wanted | None] = []
    for face in faces:
        first = _wanted(face, students)
        plans.append(None if first.student is not None and first.student.opted_out else first)
    named = {plan.name for plan in plans if plan is not None and plan.source == Participant.NameSource.PICTURE}
    keys = {plan.key for plan in plans if plan is not None}

    def read() -> tuple[dict[str, Participant], dict[str, Participant]]:
        found = list(Participant.objects.filter(Q(key__in=keys) | Q(display_name__in=named), session=session))
        by_name = {name_key(p.display_name): p for p in found if p.name_source != Participant.NameSource.TRACK}
        return {p.key: p for p in found}, by_name

    by_key, by_name = read()
    # Where each picture-named face goes: the participant already called so (they came back under a new track),
    # else its track's participant if that is still anonymous (named now, its history kept), else a new one.
    for index, plan in enumerate(plans):
        if plan is None or plan.source != Participant.NameSource.PICTURE:
            continue
        same = by_name.get(name_key(plan.name))
        track = by_key.get(plan.key)
        if same is not None:
            plans[index] = _Wanted(key=same.key, name=plan.name, source=plan.source, student=plan.student, painted=plan.painted)
        elif track is not None and track.name_source not in (Participant.NameSource.TRACK, Participant.NameSource.PICTURE):
            pass  # the teacher named this track: keep it
        elif (
            track is not None
            and track.name_source == Participant.NameSource.PICTURE
            and name_key(track.display_name) != name_key(plan.name)
        ):
            key = (LABEL_KEY_PREFIX + name_key(plan.name))[:KEY_MAX]  # the tile now shows someone else
            plans[index] = _Wanted(key=key, name=plan.name, source=plan.source, student=plan.student, painted=plan.painted)
    wanted: dict[str, _Wanted] = {}
    for chosen in plans:
        if chosen is not None:
            wanted.setdefault(chosen.key, chosen)
    missing = [
        Participant(
            session=session, key=key, display_name=plan.name, student=plan.student, name_source=plan.source, painted_name=plan.painted
        )
        for key, plan in wanted.items()
        if key not in by_key
    ]
    if missing:
        # ignore_conflicts: another ingest process may create the same participant at the same moment.
        Participant.objects.bulk_create(missing, ignore_conflicts=True)
        keys |= set(wanted)
        by_key, _ = read()
    result: list[Participant | None] = []
    changed: dict[int, Participant] = {}
    fields: set[str] = set()  # only what changed is written: most frames move a few boxes and nothing else
    announce: dict[int, Participant] = {}  # named now, or their label reads anew: every open page hears of it
    settled: list[tuple[Participant, tuple[int, int, int, int] | None]] = []  # faces whose name settled in this frame
    for face, plan in zip(faces, plans, strict=True):
        participant = by_key.get(plan.key) if plan is not None else None
        if plan is None or participant is None or participant.student_id in opted_out_ids:  # opted out, under any name
            result.append(None)
            continue
        box = [round(float(v), 1) for v in face.box]
        if _moved(participant.last_box, box):
            participant.last_box = box
            changed[participant.pk] = participant
            fields.add("last_box")
        _cross_check(participant, plan)
        if plan.painted and plan.painted != participant.painted_name:
            participant.painted_name = plan.painted
            changed[participant.pk] = announce[participant.pk] = participant
            fields.add("painted_name")
        track = by_key.get(face.key)
        if participant.name_source == Participant.NameSource.TRACK and plan.source == Participant.NameSource.PICTURE:
            participant.display_name, participant.name_source, participant.student = plan.name, plan.source, plan.student
            changed[participant.pk] = announce[participant.pk] = participant
            fields |= {"display_name", "name_source", "student"}
            settled.append((participant, face.tile))
        elif track is not None and track.pk != participant.pk and track.name_source == Participant.NameSource.TRACK:
            settled.append((participant, face.tile))  # named after someone already known: their anonymous track folds in
        result.append(participant)
    if changed:  # bulk_update costs per row, and most faces in a class keep their place and name
        Participant.objects.bulk_update(list(changed.values()), sorted(fields))
    for participant in announce.values():
        publish_on_commit(session_id=session.pk, event=participant_event(participant=participant))
    if settled:
        _strays_merge(session=session, named=settled, in_use={p.pk for p in result if p is not None})
    return result, sum(1 for participant in result if participant is None)


def participants_resolve_empty_tiles(*, session: ClassSession, names: Sequence[str]) -> list[Participant]:
    """The participants of named client tiles in which no face was found, created on first sight; returns those created.

    A student whose camera shows no face (looking away, out of the picture, a camera page pointed at the wall) is
    still in the class: their tile is named, so they get a participant that stays *absent*, counts as absent in the
    attendance and raises the absence alert like any other. The name is matched to the roster as a page name is
    (:func:`roster_match`); an opted-out student gets nothing. A participant that exists already is left as it is:
    nothing here says they were seen (``last_seen_at`` is the last frame their face was in).
    """
    wanted = {name.strip(): None for name in names if name.strip()}
    if not wanted:
        return []
    existing = set(Participant.objects.filter(session=session, key__in=list(wanted)).values_list("key", flat=True))
    missing = [name for name in wanted if name not in existing]
    if not missing:
        return []
    students = list(Student.objects.filter(course_id=session.course_id))
    created = []
    for name in missing:
        student = roster_match(name=name, students=students)
        if student is not None and student.opted_out:
            continue
        created.append(
            Participant(
                session=session,
                key=name[:KEY_MAX],
                display_name=student.name if student else name,
                name_source=Participant.NameSource.PAGE,
                student=student,
            )
        )
    # ignore_conflicts: the face may have been found in the same tile by another ingest process at the same moment.
    Participant.objects.bulk_create(created, ignore_conflicts=True)
    stored = list(Participant.objects.filter(session=session, key__in=[p.key for p in created], last_seen_at__isnull=True))
    for participant in stored:
        publish_on_commit(session_id=session.pk, event=participant_event(participant=participant))
    return stored
