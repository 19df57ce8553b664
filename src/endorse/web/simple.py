"""The Simple API: ``/simple/`` and ``/simple/<project>/``.

A project page is served as the exact bytes of its listing target in the
newest published metadata (DESIGN rule 4); ``index.listings`` decides which.
"""

from __future__ import annotations

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from endorse.errors import NotFound
from endorse.services.index import Services
from endorse.simple.negotiate import negotiate
from endorse.simple.render import render_root_html, render_root_json


class SimpleViews:
    """Request handlers of the Simple API."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def root(self, request: Request) -> Response:
        """The list of projects (not a TUF target: installers never read it)."""
        fmt, content_type = negotiate(
            request.headers.get("accept"), request.query_params.get("format")
        )
        names = await run_in_threadpool(self.services.listings.published_names)
        body = render_root_json(names) if fmt == "json" else render_root_html(names)
        return Response(body, media_type=content_type, headers={"Vary": "Accept"})

    async def project(self, request: Request) -> Response:
        """One project's listing, as signed."""
        raw = request.path_params["project"]
        name = canonicalize_name(raw)
        if raw != name or not request.url.path.endswith("/"):
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/simple/{name}/{query}", status_code=301)
        fmt, content_type = negotiate(
            request.headers.get("accept"), request.query_params.get("format")
        )
        try:
            key = await run_in_threadpool(self.services.listings.listing_key, name, fmt)
            body = await run_in_threadpool(self.services.store.get, key)
        except NotFound:
            return PlainTextResponse(f"no project {name!r}\n", status_code=404)
        return Response(
            body,
            media_type=content_type,
            headers={"Vary": "Accept", "Cache-Control": "max-age=60"},
        )
