"""Teacher pages, sign-in, and the static files the pages load."""

import re

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from frontend import views

urlpatterns = [
    path("", views.home, name="dashboard-home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("accounts/profile/", views.profile_view, name="profile"),
    path("accounts/profile/time-zone/", views.profile_time_zone_detect_view, name="profile-time-zone-detect"),
    path("staff/teachers/new/", views.teacher_create_view, name="teacher-create"),
    path("staff/sessions/", views.admin_sessions_view, name="admin-sessions"),
    path("courses/new/", views.course_create_view, name="course-create"),
    path("courses/<int:course_id>/", views.course_detail, name="course-detail"),
    path("courses/<int:course_id>/sessions/start/", views.session_start_view, name="session-start"),
    path("courses/<int:course_id>/alerts/", views.course_alerts_view, name="course-alerts"),
    path("courses/<int:course_id>/roster/add/", views.roster_add_view, name="roster-add"),
    path("courses/<int:course_id>/roster/import/", views.roster_import_view, name="roster-import"),
    path("courses/<int:course_id>/roster/<int:student_id>/", views.roster_update_view, name="roster-update"),
    path("courses/<int:course_id>/roster/<int:student_id>/remove/", views.roster_remove_view, name="roster-remove"),
    path("sessions/<int:session_id>/", views.session_live, name="session-live"),
    path("sessions/<int:session_id>/end/", views.session_end_view, name="session-end"),
    path("sessions/<int:session_id>/report/", views.session_report_view, name="session-report"),
    path("sessions/<int:session_id>/export.csv", views.session_export_csv, name="session-export-csv"),
    path("sessions/<int:session_id>/export.json", views.session_export_json, name="session-export-json"),
    path("sessions/<int:session_id>/attendance.csv", views.session_export_attendance, name="session-export-attendance"),
    path("sessions/<int:session_id>/rotate-token/", views.session_rotate_token_view, name="session-rotate-token"),
    path("sessions/<int:session_id>/participants/<int:participant_id>/rename/", views.participant_rename, name="participant-rename"),
    path(
        "sessions/<int:session_id>/participants/<int:participant_id>/timeline/",
        views.participant_timeline_view,
        name="participant-timeline",
    ),
    path("sessions/<int:session_id>/alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge_view, name="alert-acknowledge"),
    path("sessions/<int:session_id>/flags/", views.flag_create_view, name="flag-create"),
    path("sessions/<int:session_id>/pairing-code/", views.pairing_code_view, name="pairing-code"),
    path("sessions/<int:session_id>/camera/", views.session_camera, name="session-camera"),
    path(views.PLOTLY_JS_PATH, views.plotly_js, name="plotly-js"),
    path("extension/uploads.js", views.extension_uploads_js, name="extension-uploads-js"),
    re_path(rf"^{re.escape(settings.STATIC_URL.lstrip('/'))}(?P<path>.+)$", views.static_file, name="static-file"),
]
