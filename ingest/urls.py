"""Routes of the ingest API v1."""

from django.urls import path

from ingest import views
from ingest.openapi import schema_view

urlpatterns = [
    path("sessions/<int:session_id>/frames", views.frames, name="ingest-frames"),
    path("sessions/<int:session_id>/frames/<str:frame_id>", views.frame_result_view, name="ingest-frame-result"),
    path("schema", schema_view, name="ingest-schema"),
    path("pairing", views.pairing, name="ingest-pairing"),
]
