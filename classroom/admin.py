"""Django admin for the whole domain."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from classroom.models import AuditEntry, ClassSession, Course, FrameLog, Observation, Participant, Student
from classroom.policy import AGGREGATE, courses_under
from classroom.services import audit_record


class AuditedAdmin(admin.ModelAdmin):
    """Admin pages of per-student data: every list and detail view is written to the audit log."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        audit_record(user=request.user, action="admin.list", target=self.model._meta.verbose_name_plural)  # type: ignore[arg-type]
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        audit_record(user=request.user, action="admin.view", target=f"{self.model._meta.verbose_name} {object_id}")  # type: ignore[arg-type]
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["name", "teacher", "created_at"]
    search_fields = ["name", "teacher__username"]


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ["name", "course", "opted_out"]
    list_filter = ["opted_out", "course"]
    search_fields = ["name"]


@admin.register(ClassSession)
class ClassSessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "course", "status", "started_at", "ended_at", "ingest_token_hint"]
    list_filter = ["status", "course"]
    readonly_fields = ["ingest_token_hash", "ingest_token_hint"]


@admin.register(Participant)
class ParticipantAdmin(AuditedAdmin):
    list_display = ["display_name", "key", "session", "student", "last_seen_at"]
    list_filter = ["session__course"]
    search_fields = ["display_name", "key"]


@admin.register(Observation)
class ObservationAdmin(AuditedAdmin):
    list_display = ["participant", "captured_at", "expression", "confidence", "engagement", "engagement_band"]
    list_filter = ["expression", "engagement_band"]
    list_select_related = ["participant"]
    date_hierarchy = "captured_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Observation]:
        # Rows kept from before a course moved to ``aggregate`` are out of sight here as on every page.
        return super().get_queryset(request).exclude(session__course__in=courses_under(policy=AGGREGATE))


@admin.register(FrameLog)
class FrameLogAdmin(AuditedAdmin):
    list_display = ["frame_id", "session", "status", "faces_found", "latency_ms", "received_at"]
    list_filter = ["status"]
    date_hierarchy = "received_at"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log is read-only: nobody edits or deletes what was recorded."""

    list_display = ["at", "user", "action", "target"]
    list_filter = ["action"]
    search_fields = ["user__username", "target"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
