"""``/tuf/metadata/`` and ``/tuf/targets/``: what TUF clients and mirrors fetch.

Metadata files are served as stored (``N.root.json``, ``V.ROLE.json``,
``timestamp.json``). Targets are served under their consistent-snapshot name
(``prefix/name/HASH.basename``) straight from storage, and under their plain
name (which pip uses) by looking up the current bytes.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response, StreamingResponse

from endorse.errors import NotFound, PermissionDenied, StorageError
from endorse.metadata.paths import LISTING_FORMATS, parse_target_path
from endorse.metadata.storage_keys import metadata_file_key, served_target_key
from endorse.services.index import Services

_METADATA_NAME = re.compile(r"^(?:\d+\.)?[A-Za-z0-9][A-Za-z0-9_-]*\.json$")
_MUTABLE = {"timestamp.json", "root.json"}


class TufViews:
    """Handlers for TUF metadata and targets."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def metadata(self, request: Request) -> Response:
        """A metadata file."""
        filename = request.path_params["filename"]
        if not _METADATA_NAME.match(filename):
            return _not_found(filename)
        cache = "no-cache" if filename in _MUTABLE else "max-age=300"
        return await self._serve(metadata_file_key(filename), "application/json", cache)

    async def target(self, request: Request) -> Response:
        """A target file, by consistent or plain name."""
        path = request.path_params["path"]
        try:
            name, basename, digest = parse_target_path(path)
        except ValueError:
            return _not_found(path)
        if basename not in LISTING_FORMATS and not await run_in_threadpool(
            self.services.projects.offers_files, name
        ):
            raise PermissionDenied(
                f"project {name!r} is quarantined (PEP 792): its files are not offered for download"
            )
        if digest is not None:
            key = served_target_key(path)
        else:
            try:
                key = await run_in_threadpool(
                    self.services.listings.plain_target_key, name, basename
                )
            except NotFound:
                return _not_found(path)
        media = "application/octet-stream"
        if basename in LISTING_FORMATS:
            media = "text/html" if basename.endswith(".html") else "application/json"
        elif basename.endswith(".metadata"):
            media = "text/plain"
        return await self._serve(
            key, media, "max-age=31536000, immutable" if digest else "max-age=300"
        )

    async def _serve(self, key: str, media_type: str, cache: str) -> Response:
        store = self.services.store
        headers = {"Cache-Control": cache}
        try:
            local = store.local_path(key)
            if local is not None:
                return FileResponse(local, media_type=media_type, headers=headers)
            exists = await run_in_threadpool(store.exists, key)
        except StorageError:
            # A name no stored object can have (the store refuses the key).
            exists = False
        if not exists:
            return _not_found(key)
        return StreamingResponse(store.iter_bytes(key), media_type=media_type, headers=headers)


def _not_found(what: str) -> Response:
    return PlainTextResponse(f"not found: {what}\n", status_code=404)
