"""The JSON API behind the developer commands (PEP 480): keys, claims, signed releases.

::

    GET  /api/v1/projects/{name}                         files and claim (keys, threshold, version)
    POST /api/v1/keys                                    register a machine key
    POST /api/v1/keys/{keyid}/revoke                     revoke one of your keys
    POST /api/v1/projects/{name}/claim                   claim a project (owners)
    POST /api/v1/projects/{name}/releases                a signed release (multipart)
    GET  /api/v1/projects/{name}/pending                 releases waiting for co-signatures
    POST /api/v1/projects/{name}/pending/{id}/signatures add co-signatures
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from securesystemslib.signer import Signature
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from endorse.errors import EndorseError, NotFound, UploadRejected
from endorse.index.accounts import Identity
from endorse.index.claims import claim_info, claim_project, parse_key, register_key, revoke_key
from endorse.index.releases import Releases
from endorse.metadata.paths import project_prefix
from endorse.services.index import Services
from endorse.storage.db import File, Project
from endorse.web.auth import authenticate
from endorse.web.upload import limited_receive

#: A release may carry this many files at most.
MAX_RELEASE_FILES = 100
#: A release's whole body may be this many times the file size limit.
RELEASE_SIZE_FACTOR = 4
MAX_METADATA_BYTES = 10 * 1024 * 1024


class DeveloperApi:
    """Handlers of ``/api/v1``."""

    def __init__(self, services: Services, on_accept: Any) -> None:
        self.services = services
        self.releases = Releases(services.db, services.store)
        self.on_accept = on_accept

    async def _identity(self, request: Request) -> Identity:
        return await run_in_threadpool(authenticate, request, self.services.accounts)

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as e:
            raise UploadRejected(f"the request body is not JSON: {e}") from e
        if not isinstance(body, dict):
            raise UploadRejected("the request body must be a JSON object")
        return body

    async def project(self, request: Request) -> Response:
        """A project's files and claim, for building the next signed version."""
        name = canonicalize_name(request.path_params["project"])
        return JSONResponse(await run_in_threadpool(self._project_json, name))

    def _project_json(self, name: str) -> dict[str, Any]:
        with self.services.db.read_session() as session:
            proj = session.scalar(select(Project).where(Project.name == name))
            if proj is None:
                raise NotFound(f"no project {name!r}")
            info = claim_info(session, proj)
            files = session.scalars(
                select(File).where(File.project_id == proj.id, File.removed.is_(False))
            ).all()
            return {
                "name": proj.name,
                "prefix": project_prefix(proj.name),  # type: ignore[arg-type]
                "claim": info.to_json() if info else None,
                "files": [
                    {
                        "filename": f.filename,
                        "version": f.version,
                        "size": f.size,
                        "sha256": f.sha256,
                        "core_metadata_sha256": f.core_metadata_sha256,
                        "core_metadata_size": f.core_metadata_size,
                        "trust_level": f.trust_level,
                        "yanked": f.yanked_reason or True if f.yanked else False,
                    }
                    for f in files
                ],
            }

    async def register_key(self, request: Request) -> Response:
        """Register a machine key (further keys need a signature by an existing one)."""
        identity = await self._identity(request)
        body = await self._json(request)
        key = parse_key(body.get("key"))
        signature = None
        statement = body.get("statement")
        try:
            if body.get("signature"):
                signature = Signature.from_dict(dict(body["signature"]))
        except (KeyError, TypeError, ValueError) as e:
            raise UploadRejected(f"malformed signature: {e}") from e
        if statement is not None and not isinstance(statement, dict):
            raise UploadRejected("the add-key statement must be a JSON object")
        keyid = await run_in_threadpool(
            lambda: register_key(
                self.services.db,
                identity,
                key,
                label=str(body.get("label", "")),
                statement=statement,
                signature=signature,
            )
        )
        self.on_accept()
        return JSONResponse({"keyid": keyid}, status_code=201)

    async def revoke_key(self, request: Request) -> Response:
        """Revoke one of the caller's keys (a lost or retired machine)."""
        identity = await self._identity(request)
        keyid = request.path_params["keyid"]
        projects = await run_in_threadpool(
            lambda: revoke_key(self.services.db, keyid, identity=identity)
        )
        self.on_accept()
        return JSONResponse({"revoked": keyid, "projects": projects})

    async def claim(self, request: Request) -> Response:
        """Claim a project: its maintainers' keys will sign its files."""
        identity = await self._identity(request)
        body = await self._json(request)
        name = request.path_params["project"]
        maintainers = [str(m) for m in body.get("maintainers", [])]
        threshold = int(body.get("threshold", 1))
        await run_in_threadpool(
            lambda: claim_project(
                self.services.db, identity, name, maintainers=maintainers, threshold=threshold
            )
        )
        return JSONResponse(await run_in_threadpool(self._project_json, canonicalize_name(name)))

    async def release(self, request: Request) -> Response:
        """A signed release: ``metadata`` (the signed role) and ``content`` file parts."""
        identity = await self._identity(request)
        limit = self.services.settings.max_upload_bytes
        body_limit = limit * RELEASE_SIZE_FACTOR
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > body_limit:
            raise UploadRejected(f"Release too large: the limit is {body_limit} bytes.", status=413)
        request = Request(request.scope, limited_receive(request.receive, body_limit))
        try:
            form = await request.form(max_files=MAX_RELEASE_FILES + 1, max_part_size=1 << 20)
        except MultiPartException as e:
            raise UploadRejected(f"Malformed multipart upload: {e.message}") from e
        try:
            metadata = form.get("metadata")
            if not isinstance(metadata, UploadFile):
                raise UploadRejected("the release has no 'metadata' part (the signed role)")
            raw = await metadata.read(MAX_METADATA_BYTES + 1)
            if len(raw) > MAX_METADATA_BYTES:
                raise UploadRejected("the signed metadata is larger than 10 MB", status=413)
            contents = [c for c in form.getlist("content") if isinstance(c, UploadFile)]
            with tempfile.TemporaryDirectory(dir=self.services.upload_tmp) as tmp:
                uploads: list[tuple[str, Path]] = []
                for i, content in enumerate(contents):
                    if not content.filename:
                        raise UploadRejected("a 'content' part has no filename")
                    path = Path(tmp) / str(i)
                    with path.open("wb") as out:
                        content.file.seek(0)
                        shutil.copyfileobj(content.file, out, 1 << 20)
                    if path.stat().st_size > limit:
                        raise UploadRejected(
                            f"File too large: the limit is {limit} bytes.", status=413
                        )
                    uploads.append((content.filename, path))
                outcome = await run_in_threadpool(
                    self.releases.submit, identity, request.path_params["project"], raw, uploads
                )
        finally:
            await form.close()
        if outcome.state == "accepted":
            self.on_accept()
        return JSONResponse(
            outcome.to_json(), status_code=201 if outcome.state == "accepted" else 202
        )

    async def pending(self, request: Request) -> Response:
        """Releases of a project waiting for co-signatures, with their metadata."""
        items = await run_in_threadpool(self.releases.pending, request.path_params["project"])
        return JSONResponse(
            {"pending": [{"id": i, "metadata": json.loads(data)} for i, data in items]}
        )

    async def cosign(self, request: Request) -> Response:
        """Add maintainers' signatures to a pending release."""
        identity = await self._identity(request)
        body = await self._json(request)
        try:
            signatures = [Signature.from_dict(dict(s)) for s in body.get("signatures", [])]
        except (KeyError, TypeError, ValueError) as e:
            raise UploadRejected(f"malformed signature: {e}") from e
        outcome = await run_in_threadpool(
            self.releases.add_signatures,
            identity,
            request.path_params["project"],
            int(request.path_params["pending_id"]),
            signatures,
        )
        if outcome.state == "accepted":
            self.on_accept()
        return JSONResponse(
            outcome.to_json(), status_code=201 if outcome.state == "accepted" else 202
        )


__all__ = ["DeveloperApi", "EndorseError"]
