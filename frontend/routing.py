"""WebSocket routes."""

from django.urls import path

from frontend.consumers import SessionDashboardConsumer

websocket_urlpatterns = [
    path("ws/sessions/<int:session_id>/", SessionDashboardConsumer.as_asgi()),
]
