"""Routes of the ingest API v1."""

from django.urls import path

from ingest import views

urlpatterns = [path("sessions/<int:session_id>/frames", views.frames, name="ingest-frames")]
