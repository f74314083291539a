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
    """A participant's new display name."""

    display_name = forms.CharField(max_length=200, strip=True)
