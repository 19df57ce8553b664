"""The Simple API: ``/simple/`` and ``/simple/<project>/``.

A project page is served as the exact bytes of its listing target in the
newest published metadata (DESIGN rule 4), so what pip is shown is what TUF
signs, and it appears only once that metadata is published.
"""

from __future__ import annotations

from packaging.utils import NormalizedName, canonicalize_name
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from endorse.errors import NotFound
from endorse.metadata.paths import listing_target
from endorse.metadata.storage_keys import target_key
from endorse.services.index import Services
from endorse.simple.negotiate import NotAcceptable, negotiate
from endorse.simple.render import render_root_html, render_root_json
from endorse.storage.db import Project, ProjectRoleVersion, PublishedListing


class SimpleViews:
    """Request handlers of the Simple API."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def root(self, request: Request) -> Response:
        """The list of projects (not a TUF target: installers never read it)."""
        try:
            fmt, content_type = negotiate(
                request.headers.get("accept"), request.query_params.get("format")
            )
        except NotAcceptable:
            return _not_acceptable()
        names = await run_in_threadpool(self._published_names)
        body = render_root_json(names) if fmt == "json" else render_root_html(names)
        return Response(body, media_type=content_type, headers={"Vary": "Accept"})

    async def project(self, request: Request) -> Response:
        """One project's listing, as signed."""
        raw = request.path_params["project"]
        name = canonicalize_name(raw)
        if raw != name or not request.url.path.endswith("/"):
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/simple/{name}/{query}", status_code=301)
        try:
            fmt, content_type = negotiate(
                request.headers.get("accept"), request.query_params.get("format")
            )
        except NotAcceptable:
            return _not_acceptable()
        try:
            key = await run_in_threadpool(self.listing_key, name, fmt)
            body = await run_in_threadpool(self.services.store.get, key)
        except NotFound:
            return PlainTextResponse(f"no project {name!r}\n", status_code=404)
        return Response(
            body,
            media_type=content_type,
            headers={"Vary": "Accept", "Cache-Control": "max-age=60"},
        )

    def listing_key(self, name: NormalizedName, fmt: str) -> str:
        """Storage key of the listing the newest metadata covers.

        An index-signed project's listing is a target in its bin. A claimed
        project's listing is built by the publisher from its developer-signed
        role alone (clients rebuild it from that role and need not trust it).
        """
        if not self.services.settings.tuf_enabled or self._is_claimed(name):
            return self._unsigned_listing_key(name, fmt)
        path = listing_target(name, fmt)  # type: ignore[arg-type]
        target = self.services.published.find_index_signed_target(path)
        if target is None:
            raise NotFound(f"no project {name!r}")
        return target_key(path, target.hashes["sha256"])

    def _is_claimed(self, name: NormalizedName) -> bool:
        with self.services.db.read_session() as session:
            return (
                session.scalar(
                    select(ProjectRoleVersion.id)
                    .join(Project, Project.id == ProjectRoleVersion.project_id)
                    .where(Project.name == name, ProjectRoleVersion.published.is_not(None))
                    .limit(1)
                )
                is not None
            )

    def _unsigned_listing_key(self, name: NormalizedName, fmt: str) -> str:
        with self.services.db.read_session() as session:
            row = session.execute(
                select(PublishedListing.html_key, PublishedListing.json_key)
                .join(Project, Project.id == PublishedListing.project_id)
                .where(Project.name == name)
            ).first()
        if row is None:
            raise NotFound(f"no project {name!r}")
        return str(row.json_key if fmt == "json" else row.html_key)

    def _published_names(self) -> list[str]:
        with self.services.db.read_session() as session:
            return list(
                session.scalars(
                    select(Project.name)
                    .join(PublishedListing, PublishedListing.project_id == Project.id)
                    .order_by(Project.name)
                )
            )


def _not_acceptable() -> Response:
    return PlainTextResponse(
        "none of the requested media types is offered; ask for "
        "application/vnd.pypi.simple.v1+json or text/html\n",
        status_code=406,
    )
