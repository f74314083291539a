"""ASGI entry point: HTTP through Django, WebSockets through Channels (auth + allowed origins)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
django_asgi_app = get_asgi_application()

try:
    from daphne import http_protocol
except ImportError:  # pragma: no cover - served by another ASGI server
    pass
else:

    class _WebRequest(http_protocol.WebRequest):
        """daphne's request without Twisted's own parse of a form body into ``args``, which nothing reads:
        Django parses the upload again, and under load that first parse was a quarter of the web process's time."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, parsePOSTFormSubmission=False, **kwargs)

    # daphne's HTTP factory looks this name up for every connection it builds.
    http_protocol.WebRequest = _WebRequest

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up first)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from frontend.routing import websocket_urlpatterns  # noqa: E402
from ingest.asgi import BodySizeLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_asgi_app),  # type: ignore[arg-type]  # Django types receive/send more narrowly
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
