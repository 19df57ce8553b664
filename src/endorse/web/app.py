"""``create_app(services)``: the ASGI application of ``endorse serve``.

The app never signs and never imports the publisher: whoever runs it (``endorse
serve``) may hand it a :class:`Publication`, which the app starts and stops
with its lifespan and wakes when an upload is accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from endorse.api.openapi import ENDPOINTS, OPENAPI_PATH, openapi_document
from endorse.errors import EndorseError
from endorse.services.index import Services
from endorse.web.api import DeveloperApi
from endorse.web.errors import handle_endorse_error, handle_http_exception
from endorse.web.json_api import JsonApiViews
from endorse.web.notify import PublishNotifier
from endorse.web.pages import Pages
from endorse.web.simple import SimpleViews
from endorse.web.tuf import TufViews
from endorse.web.upload import UploadEndpoint

logger = logging.getLogger(__name__)

__all__ = ["Publication", "create_app"]


class Publication(Protocol):
    """What the web face knows of the publisher: it starts, is woken, and stops."""

    def start(self, on_batch: Callable[[], None]) -> None:
        """Start publishing; call ``on_batch`` (from any thread) after each batch."""
        ...

    def wake(self) -> None:
        """Something was accepted: publish soon."""
        ...

    def stop(self) -> None:
        """Finish the batch under way and stop (blocking)."""
        ...


def create_app(services: Services, publication: Publication | None = None) -> Starlette:
    """Build the app; with a ``publication``, its lifespan runs the publisher."""
    notifier = PublishNotifier()
    wake = publication.wake if publication is not None else _nothing
    simple = SimpleViews(services)
    tuf = TufViews(services)
    pages = Pages(services)
    json_api = JsonApiViews(services)
    upload = UploadEndpoint(services, notifier, wake)
    api = DeveloperApi(services, wake)
    openapi = openapi_document()

    def on_batch() -> None:
        # What a request reads next is the new batch, not a timestamp cached before it.
        services.published.forget_timestamp()
        notifier.notify()

    async def openapi_json(_request: Request) -> Response:
        return JSONResponse(openapi)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if publication is not None:
            publication.start(on_batch)
        try:
            yield
        finally:
            if publication is not None:
                await asyncio.to_thread(publication.stop)

    routes = [
        Route("/", pages.home),
        Route("/health", pages.health),
        Route("/legacy/", upload, methods=["POST"]),
        Route("/legacy", upload, methods=["POST"]),
        Route("/simple/", simple.root),
        Route("/simple/{project}/", simple.project),
        Route("/simple/{project}", simple.project),
        Route("/project/{project}/", pages.project),
        Route("/pypi/{project}/json", json_api.project),
        Route("/pypi/{project}/{version}/json", json_api.release),
        Route("/tuf/metadata/{filename}", tuf.metadata),
        Route("/tuf/targets/{path:path}", tuf.target),
        Route(OPENAPI_PATH, openapi_json),
        *_api_routes(api),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            EndorseError: handle_endorse_error,
            HTTPException: handle_http_exception,
        },
    )


def _api_routes(api: DeveloperApi) -> list[Route]:
    """One route per endpoint of ``api/openapi.py``, to the handler it names."""
    routes = []
    for endpoint in ENDPOINTS:
        path = endpoint.path
        for name in endpoint.integer_parameters:
            path = path.replace(f"{{{name}}}", f"{{{name}:int}}")
        handler: Callable[[Request], Any] = getattr(api, endpoint.operation)
        routes.append(Route(path, handler, methods=[endpoint.method]))
    return routes


def _nothing() -> None:
    pass
