"""``create_app(services)``: the ASGI application of ``endorse serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from starlette.applications import Starlette
from starlette.routing import Route

from endorse.errors import EndorseError
from endorse.repository.lock import leader_lock
from endorse.repository.prune import prune
from endorse.repository.publisher import Publisher
from endorse.services import Services
from endorse.web.api import DeveloperApi
from endorse.web.errors import handle_endorse_error
from endorse.web.notify import PublishNotifier
from endorse.web.pages import Pages
from endorse.web.simple import SimpleViews
from endorse.web.tuf import TufViews
from endorse.web.upload import UploadEndpoint

logger = logging.getLogger(__name__)


def create_app(services: Services) -> Starlette:
    """Build the app; when configured, its lifespan runs the publisher in a thread."""
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
        stop = threading.Event()
        thread = None
        if services.settings.run_publisher:
            thread = start_publisher_thread(services, stop, wake, notifier.notify)
        try:
            yield
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)

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


def start_publisher_thread(
    services: Services,
    stop: threading.Event,
    wake: threading.Event,
    notify: Callable[[], None],
) -> threading.Thread:
    """Run the publisher loop in a daemon thread of this process."""
    settings = services.settings
    keyring = services.online_keyring() if settings.tuf_enabled else None
    publisher = Publisher(
        settings,
        services.db,
        services.store,
        keyring,
        on_batch=lambda _result: notify(),
    )
    lock = leader_lock(services.db, settings.data_dir)
    grace = timedelta(seconds=settings.prune_grace)

    thread = threading.Thread(
        target=publisher.run,
        args=(lock, stop, wake),
        kwargs={"prune": lambda: prune(services.store, services.db, grace)},
        name="endorse-publisher",
        daemon=True,
    )
    thread.start()
    return thread
