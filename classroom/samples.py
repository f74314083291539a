"""Storing one processed frame's results as the course's policy allows: per-student rows and the class sample.

Every layer that shows class figures (live series, class alerts, class rollups) reads
:class:`~classroom.models.ClassSample`, so the ``aggregate`` policy can store no per-student row at all.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from classroom.models import EXPRESSIONS, ClassSample, ClassSession, Observation
from classroom.policy import course_policy, per_student_allowed
from classroom.stillness import STILL


def class_sample_build(*, session_id: int, captured_at: datetime, observations: list[Observation]) -> ClassSample:
    """The class sample of one frame's observations (sums and counts only; unsaved).

    A still picture (:mod:`classroom.stillness`) is counted only under ``bands["still"]``: it is not a face present,
    so it weighs in neither the engagement mean nor the expression mix.
    """
    moving = [o for o in observations if o.engagement_band != STILL]
    with_probabilities = [o.probabilities for o in moving if o.probabilities is not None]
    return ClassSample(
        session_id=session_id,
        captured_at=captured_at,
        present=len(moving),
        engagement_sum=round(sum(o.engagement for o in moving), 4),
        bands=dict(Counter(o.engagement_band for o in observations)),
        expressions=dict(Counter(o.expression for o in moving if o.expression)),
        probability_sums=[round(sum(column), 5) for column in zip(*with_probabilities, strict=True)] if with_probabilities else None,
    )


def class_figures(*, sample: ClassSample | None) -> dict[str, Any]:
    """Whole-class figures of one frame: the share of faces shown each apparent expression (``expression_mix``, from
    the same shown expressions the cards, rollups and reports use; ``expressions`` the counts), mean engagement,
    faces present, and still pictures (``still``: counted in none of the others)."""
    still = int(sample.bands.get(STILL, 0)) if sample is not None else 0
    if sample is None or not sample.present:
        return {"expression_mix": None, "expressions": None, "engagement": None, "present": 0, "still": still}
    counts = {name: int(sample.expressions.get(name, 0)) for name in EXPRESSIONS}
    shown = sum(counts.values())
    return {
        "expression_mix": {name: round(count / shown, 4) for name, count in counts.items()} if shown else None,
        "expressions": counts if shown else None,
        "engagement": round(sample.engagement_sum / sample.present, 4),
        "present": sample.present,
        "still": still,
    }


def frame_results_store(*, session: ClassSession, captured_at: datetime, observations: list[Observation]) -> ClassSample:
    """Store a frame's class sample, and its per-student observations unless the policy is ``aggregate``.

    Call inside the frame's transaction. Returns the stored sample.
    """
    if per_student_allowed(policy=course_policy(course=session.course)):
        Observation.objects.bulk_create(observations)
    sample = class_sample_build(session_id=session.pk, captured_at=captured_at, observations=observations)
    sample.save()
    return sample
