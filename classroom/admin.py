"""Django admin for the whole domain."""

from django.contrib import admin

from classroom.models import ClassSession, Course, FrameLog, Observation, Participant, Student


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
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["display_name", "key", "session", "student", "last_seen_at"]
    list_filter = ["session__course"]
    search_fields = ["display_name", "key"]


@admin.register(Observation)
class ObservationAdmin(admin.ModelAdmin):
    list_display = ["participant", "captured_at", "expression", "confidence", "engagement", "engagement_band"]
    list_filter = ["expression", "engagement_band"]
    list_select_related = ["participant"]
    date_hierarchy = "captured_at"


@admin.register(FrameLog)
class FrameLogAdmin(admin.ModelAdmin):
    list_display = ["frame_id", "session", "status", "faces_found", "latency_ms", "received_at"]
    list_filter = ["status"]
    date_hierarchy = "received_at"
