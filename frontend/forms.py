"""Input forms of the teacher pages; they validate only, writes go through classroom.services."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User

from classroom.alerts import THRESHOLD_LIMITS
from classroom.models import Course
from classroom.profiles import TimeZoneError, time_zone_names, time_zone_validate


class CourseCreateForm(forms.Form):
    """A new course (admins only): its name and the teacher who teaches it (default: the admin)."""

    name = forms.CharField(max_length=200, strip=True)
    teacher = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True).order_by("username"), required=False)


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


class StudentForm(forms.Form):
    """One roster student: a name, optionally the school's id and an email address."""

    name = forms.CharField(max_length=200, strip=True, widget=forms.TextInput(attrs={"placeholder": "name", "aria-label": "Name"}))
    external_id = forms.CharField(
        max_length=64,
        required=False,
        strip=True,
        label="External id",
        widget=forms.TextInput(attrs={"placeholder": "external id (optional)", "aria-label": "External id"}),
    )
    email = forms.EmailField(required=False, widget=forms.EmailInput(attrs={"placeholder": "email (optional)", "aria-label": "Email"}))


class StudentUpdateForm(forms.Form):
    """Rename a roster student and/or opt them out or back in."""

    name = forms.CharField(max_length=200, strip=True, required=False)
    opted_out = forms.TypedChoiceField(choices=[("", "unchanged"), ("1", "opted out"), ("0", "opted in")], required=False, coerce=str)


class RosterUploadForm(forms.Form):
    """A roster CSV to preview."""

    file = forms.FileField(label="Roster CSV (UTF-8: name, external_id, email)")


class RosterConfirmForm(forms.Form):
    """The previewed file, sent back to be imported (it is checked again)."""

    content = forms.CharField(widget=forms.HiddenInput, max_length=3 * 1024 * 1024)


class TeacherCreateForm(forms.Form):
    """A new teacher: a username and the address their set-password link goes to."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]{1,150}$", max_length=150, error_messages={"invalid": "Letters, digits and @ . + - _ only."}
    )
    email = forms.EmailField()


class SessionFilterForm(forms.Form):
    """The admin's session list filters; all optional."""

    course = forms.ModelChoiceField(queryset=Course.objects.order_by("name"), required=False)
    teacher = forms.ModelChoiceField(queryset=User.objects.filter(courses__isnull=False).distinct().order_by("username"), required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))


class TimeZoneForm(forms.Form):
    """The user's time zone: one of the IANA zones this server knows, refused with the reason (empty, malformed, unknown)."""

    # A text field under a select: the refusal says which of the three it was, where a choice field says only "invalid".
    time_zone = forms.CharField(
        label="Time zone",
        required=False,
        strip=False,
        widget=forms.Select(
            choices=[("", "— choose —"), *((name, name) for name in time_zone_names())], attrs={"aria-describedby": "time-zone-help"}
        ),
        help_text="Every page, chart and export shows times in this zone.",
    )

    def clean_time_zone(self) -> str:
        try:
            return time_zone_validate(name=self.cleaned_data.get("time_zone") or "")
        except TimeZoneError as error:
            raise forms.ValidationError(str(error), code="invalid_time_zone") from error
