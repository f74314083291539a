"""Input forms of the teacher pages; they validate only, writes go through classroom.services."""

from __future__ import annotations

from django import forms


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
