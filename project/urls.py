"""URL routes: admin, the ingest API, the dashboard."""

from django.contrib import admin
from django.urls import include, path

from classroom.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("ingest.urls")),
    path("", include("frontend.urls")),
]
