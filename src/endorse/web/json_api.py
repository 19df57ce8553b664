"""``/pypi/NAME/json`` and ``/pypi/NAME/VERSION/json``: PyPI's JSON API, for tools.

The documents are built by :mod:`endorse.index.project_json`; they are not
signed (TUF covers the Simple API and the files).
"""

from __future__ import annotations

from packaging.utils import canonicalize_name
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from endorse.services.index import Services

__all__ = ["JsonApiViews"]


class JsonApiViews:
    """Handlers of PyPI's JSON API."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def project(self, request: Request) -> Response:
        """A project: the newest release's info and every release's files."""
        raw = request.path_params["project"]
        name = canonicalize_name(raw)
        if raw != name:
            return RedirectResponse(f"/pypi/{name}/json", status_code=301)
        base = str(request.base_url).rstrip("/")
        document = await run_in_threadpool(self.services.project_json.project, name, base)
        return JSONResponse(document, headers={"Cache-Control": "max-age=60"})

    async def release(self, request: Request) -> Response:
        """One release: its info and files."""
        raw, version = request.path_params["project"], request.path_params["version"]
        name = canonicalize_name(raw)
        if raw != name:
            return RedirectResponse(f"/pypi/{name}/{version}/json", status_code=301)
        base = str(request.base_url).rstrip("/")
        document = await run_in_threadpool(self.services.project_json.release, name, version, base)
        return JSONResponse(document, headers={"Cache-Control": "max-age=60"})
