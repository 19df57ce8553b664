"""``create_app(services)``: the ASGI application of ``endorse serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Route

from endorse.errors import EndorseError
from endorse.publisher.process import PublisherProcess
from endorse.services.index import Services
from endorse.web.api import DeveloperApi
from endorse.web.errors import handle_endorse_error
from endorse.web.notify import PublishNotifier
from endorse.web.pages import Pages
from endorse.web.simple import SimpleViews
from endorse.web.tuf import TufViews
from endorse.web.upload import UploadEndpoint

logger = logging.getLogger(__name__)


def create_app(services: Services) -> Starlette:
    """Build the app; when configured, its lifespan runs the publisher process."""
    notifier = PublishNotifier()
    wake = threading.Event()
    simple = SimpleViews(services)
    tuf = TufViews(services, simple)
    pages = Pages(services)
    upload = UploadEndpoint(services, notifier, wake)
    api = DeveloperApi(services, wake.set)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        notifier.attach(asyncio.get_running_loop())
        publisher = None
        if services.settings.run_publisher:
            publisher = PublisherProcess(
                services.settings, wake, notifier.notify, verbose=_verbosity()
            ).start()
        try:
            yield
        finally:
            if publisher is not None:
                await asyncio.to_thread(publisher.stop)

    routes = [
        Route("/", pages.home),
        Route("/health", pages.health),
        Route("/legacy/", upload, methods=["POST"]),
        Route("/legacy", upload, methods=["POST"]),
        Route("/simple/", simple.root),
        Route("/simple/{project}/", simple.project),
        Route("/simple/{project}", simple.project),
        Route("/project/{project}/", pages.project),
        Route("/tuf/metadata/{filename}", tuf.metadata),
        Route("/tuf/targets/{path:path}", tuf.target),
        Route("/api/v1/projects/{project}", api.project),
        Route("/api/v1/keys", api.register_key, methods=["POST"]),
        Route("/api/v1/keys/{keyid}/revoke", api.revoke_key, methods=["POST"]),
        Route("/api/v1/projects/{project}/claim", api.claim, methods=["POST"]),
        Route("/api/v1/projects/{project}/releases", api.release, methods=["POST"]),
        Route("/api/v1/projects/{project}/pending", api.pending),
        Route(
            "/api/v1/projects/{project}/pending/{pending_id:int}/signatures",
            api.cosign,
            methods=["POST"],
        ),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={EndorseError: handle_endorse_error},
    )


def _verbosity() -> int:
    """The ``-v`` count the server runs with, for its publisher process."""
    level = logging.getLogger("endorse").getEffectiveLevel()
    return 2 if level <= logging.DEBUG else 0
