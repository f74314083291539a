"""Input forms of the teacher pages; they validate only, writes go through classroom.services."""

from __future__ import annotations

from django import forms

from classroom.alerts import THRESHOLD_LIMITS


class CourseCreateForm(forms.Form):
    """A new course's name."""

    name = forms.CharField(max_length=200, strip=True)


class SessionStartForm(forms.Form):
    """An optional title for the session about to start."""

    title = forms.CharField(max_length=200, required=False, strip=True)


class ParticipantRenameForm(forms.Form):
    """A participant's new display name and/or the roster student it is (at least one of the two)."""

    display_name = forms.CharField(max_length=200, strip=True, required=False)
    student = forms.IntegerField(required=False, min_value=1)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not cleaned.get("display_name") and not cleaned.get("student"):
            raise forms.ValidationError("Give a new name or choose a student.", code="required")
        return cleaned


def _minutes_field(seconds_limits: tuple[float, float], label: str) -> forms.FloatField:
    low, high = seconds_limits
    return forms.FloatField(required=False, min_value=round(low / 60, 2), max_value=high / 60, label=label)


class AlertThresholdsForm(forms.Form):
    """A course's alert thresholds, in the units a teacher thinks in; empty fields mean the deployment default."""

    absent_minutes = _minutes_field(THRESHOLD_LIMITS["absent_seconds"], "A student absent for (minutes)")
    not_engaged_minutes = _minutes_field(THRESHOLD_LIMITS["not_engaged_seconds"], "A student not engaged for (minutes)")
    class_drop = forms.FloatField(
        required=False,
        min_value=THRESHOLD_LIMITS["class_drop"][0],
        max_value=THRESHOLD_LIMITS["class_drop"][1],
        label="Class indicator drop",
    )
    class_floor = forms.FloatField(
        required=False,
        min_value=THRESHOLD_LIMITS["class_floor"][0],
        max_value=THRESHOLD_LIMITS["class_floor"][1],
        label="Class indicator floor",
    )
    uploads_stopped_seconds = forms.IntegerField(
        required=False,
        min_value=int(THRESHOLD_LIMITS["uploads_stopped_seconds"][0]),
        max_value=int(THRESHOLD_LIMITS["uploads_stopped_seconds"][1]),
        label="No frames for (seconds)",
    )

    def thresholds(self) -> dict[str, float | None]:
        """The cleaned values in the service's units (seconds), ``None`` for the default."""
        data = self.cleaned_data

        def seconds(minutes: float | None) -> int | None:
            return None if minutes is None else round(minutes * 60)

        return {
            "absent_seconds": seconds(data["absent_minutes"]),
            "not_engaged_seconds": seconds(data["not_engaged_minutes"]),
            "class_drop": data["class_drop"],
            "class_floor": data["class_floor"],
            "uploads_stopped_seconds": data["uploads_stopped_seconds"],
        }


class FlagForm(forms.Form):
    """An optional short note for the marked moment."""

    note = forms.CharField(max_length=120, required=False, strip=True)
