"""``/tuf/metadata/`` and ``/tuf/targets/``: what TUF clients and mirrors fetch.

Metadata files are served as stored (``N.root.json``, ``V.ROLE.json``,
``timestamp.json``). Targets are served under their consistent-snapshot name
(``prefix/name/HASH.basename``) straight from storage, and under their plain
name (which pip uses) by looking up the current bytes.
"""

from __future__ import annotations

import re

from packaging.utils import NormalizedName
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse

from endorse.errors import NotFound
from endorse.metadata.paths import LISTING_FILENAMES, parse_target_path, project_dir
from endorse.metadata.storage_keys import target_key
from endorse.services.index import Services
from endorse.storage.db import File, Project
from endorse.web.simple import SimpleViews

_METADATA_NAME = re.compile(r"^(?:\d+\.)?[A-Za-z0-9][A-Za-z0-9_-]*\.json$")
_MUTABLE = {"timestamp.json", "root.json"}
_LISTING_FORMATS = {v: k for k, v in LISTING_FILENAMES.items()}


class TufViews:
    """Handlers for TUF metadata and targets."""

    def __init__(self, services: Services, simple: SimpleViews) -> None:
        self.services = services
        self.simple = simple

    async def metadata(self, request: Request) -> Response:
        """A metadata file."""
        filename = request.path_params["filename"]
        if not _METADATA_NAME.match(filename):
            return _not_found(filename)
        cache = "no-cache" if filename in _MUTABLE else "max-age=300"
        return await self._serve(f"metadata/{filename}", "application/json", cache)

    async def target(self, request: Request) -> Response:
        """A target file, by consistent or plain name."""
        path = request.path_params["path"]
        try:
            name, basename, digest = parse_target_path(path)
        except ValueError:
            return _not_found(path)
        if digest is not None:
            key = f"targets/{path}"
        else:
            try:
                key = await run_in_threadpool(self._plain_key, name, basename)
            except NotFound:
                return _not_found(path)
        media = "application/octet-stream"
        if basename in _LISTING_FORMATS:
            media = "text/html" if basename.endswith(".html") else "application/json"
        elif basename.endswith(".metadata"):
            media = "text/plain"
        return await self._serve(
            key, media, "max-age=31536000, immutable" if digest else "max-age=300"
        )

    def _plain_key(self, name: NormalizedName, basename: str) -> str:
        if basename in _LISTING_FORMATS:
            return self.simple.listing_key(name, _LISTING_FORMATS[basename])
        core = basename.endswith(".metadata")
        filename = basename.removesuffix(".metadata")
        with self.services.db.read_session() as session:
            row = session.scalar(
                select(File)
                .join(Project, Project.id == File.project_id)
                .where(File.filename == filename, Project.name == name, File.removed.is_(False))
            )
        if row is None:
            raise NotFound(basename)
        path = f"{project_dir(name)}/{basename}"
        if core:
            if row.core_metadata_sha256 is None:
                raise NotFound(basename)
            return target_key(path, row.core_metadata_sha256)
        return target_key(path, row.sha256)

    async def _serve(self, key: str, media_type: str, cache: str) -> Response:
        store = self.services.store
        headers = {"Cache-Control": cache}
        local = store.local_path(key)
        if local is not None:
            return FileResponse(local, media_type=media_type, headers=headers)
        try:
            exists = await run_in_threadpool(store.exists, key)
        except ValueError:
            exists = False
        if not exists:
            return _not_found(key)
        return StreamingResponse(store.iter_bytes(key), media_type=media_type, headers=headers)


def _not_found(what: str) -> Response:
    return PlainTextResponse(f"not found: {what}\n", status_code=404)
