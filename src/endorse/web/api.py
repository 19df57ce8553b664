"""The developer API (PEP 480): keys, claims, signed releases. Endpoints: ``api/openapi.py``.

Each handler parses its body into the typed request of :mod:`endorse.api.models`
(a malformed, wrong-typed or out-of-range body is a 400 naming the field),
calls the index, and answers with the typed response built here.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name
from securesystemslib.signer import Key, Signature
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from endorse.api.models import (
    ClaimDetails,
    ClaimRequest,
    CosignRequest,
    FileDetails,
    KeyRegistrationRequest,
    KeyRegistrationResponse,
    KeyRevocationResponse,
    PendingReleasesResponse,
    ProjectResponse,
    PublicKey,
    ReleaseResponse,
    SignatureBody,
    StatusRequest,
    parse,
)
from endorse.errors import InvalidRequest, NotFound, PermissionDenied, TooLarge, UploadRejected
from endorse.index.accounts import Identity
from endorse.index.claims import ClaimInfo, parse_key
from endorse.index.projects import ProjectFile
from endorse.index.releases import MAX_RELEASE_FILES, ReleaseOutcome
from endorse.metadata.paths import project_prefix
from endorse.services.index import Services
from endorse.states import ReleaseState
from endorse.web.auth import authenticate
from endorse.web.upload import limited_receive, spool

__all__ = ["DeveloperApi"]

#: A release's whole body may be this many times the file size limit.
RELEASE_SIZE_FACTOR = 4
MAX_METADATA_BYTES = 10 * 1024 * 1024
#: A JSON body (keys, claims, co-signatures) is small.
MAX_JSON_BODY = 1024 * 1024
#: Largest database id; bigger ones name nothing.
_MAX_ID = 2**63 - 1


class DeveloperApi:
    """Handlers of ``/api/v1``."""

    def __init__(self, services: Services, wake: Callable[[], None]) -> None:
        self.services = services
        #: Tells the publisher there is something to publish.
        self.wake = wake

    async def _identity(self, request: Request) -> Identity:
        return await run_in_threadpool(authenticate, request, self.services.accounts)

    async def _body(self, request: Request) -> bytes:
        request = Request(request.scope, limited_receive(request.receive, MAX_JSON_BODY))
        return await request.body()

    async def project(self, request: Request) -> Response:
        """A project's files and claim, for building the next signed version."""
        name = canonicalize_name(request.path_params["project"])
        return JSONResponse(await run_in_threadpool(self._project_response, name))

    def _project_response(self, name: str) -> ProjectResponse:
        project = self.services.projects.files(name)
        info = self.services.claims.info(project.name)
        status, reason = self.services.projects.status(project.name)
        return {
            "name": project.name,
            "prefix": project_prefix(project.name),
            "claim": _claim_details(info) if info else None,
            "files": [_file_details(f) for f in reversed(project.files)],
            "status": {"status": status, "reason": reason},
        }

    async def set_status(self, request: Request) -> Response:
        """Set a project's PEP 792 status marker (its owners)."""
        identity = await self._identity(request)
        body = parse(StatusRequest, await self._body(request))
        name = canonicalize_name(request.path_params["project"])
        if not identity.may_touch(name):
            raise PermissionDenied(f"this API token is not scoped to project {name!r}")
        await run_in_threadpool(
            lambda: self.services.projects.set_status(
                name, body["status"], body.get("reason", ""), by_owner=identity.user_id
            )
        )
        self.wake()
        return JSONResponse(await run_in_threadpool(self._project_response, name))

    async def register_key(self, request: Request) -> Response:
        """Register a machine key (further keys need a signature by an existing one)."""
        identity = await self._identity(request)
        body = parse(KeyRegistrationRequest, await self._body(request))
        key = parse_key(body["key"])
        raw_signature = body.get("signature")
        signature = _signature(raw_signature) if raw_signature else None
        keyid = await run_in_threadpool(
            lambda: self.services.claims.register_key(
                identity,
                key,
                label=body.get("label", ""),
                statement=body.get("statement"),
                signature=signature,
            )
        )
        self.wake()
        response: KeyRegistrationResponse = {"keyid": keyid}
        return JSONResponse(response, status_code=201)

    async def revoke_key(self, request: Request) -> Response:
        """Revoke one of the caller's keys (a lost or retired machine)."""
        identity = await self._identity(request)
        keyid = request.path_params["keyid"]
        projects = await run_in_threadpool(
            lambda: self.services.claims.revoke_key(keyid, identity=identity)
        )
        self.wake()
        response: KeyRevocationResponse = {"revoked": keyid, "projects": list(projects)}
        return JSONResponse(response)

    async def claim(self, request: Request) -> Response:
        """Claim a project: its maintainers' keys will sign its files."""
        identity = await self._identity(request)
        body = parse(ClaimRequest, await self._body(request))
        name = canonicalize_name(request.path_params["project"])
        await run_in_threadpool(
            lambda: self.services.claims.claim_project(
                identity,
                name,
                maintainers=body.get("maintainers", []),
                threshold=body.get("threshold", 1),
            )
        )
        return JSONResponse(await run_in_threadpool(self._project_response, name))

    async def release(self, request: Request) -> Response:
        """A signed release: ``metadata`` (the signed role) and ``content`` file parts."""
        identity = await self._identity(request)
        limit = self.services.settings.max_upload_bytes
        body_limit = limit * RELEASE_SIZE_FACTOR
        declared = request.headers.get("content-length", "")
        too_large = TooLarge(f"Release too large: the limit is {body_limit} bytes.")
        if declared.isdigit() and int(declared) > body_limit:
            raise too_large
        request = Request(request.scope, limited_receive(request.receive, body_limit, too_large))
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
                raise TooLarge("the signed metadata is larger than 10 MB")
            contents = form.getlist("content")
            file_too_large = TooLarge(f"File too large: the limit is {limit} bytes.")
            with tempfile.TemporaryDirectory(dir=self.services.upload_tmp) as tmp:
                uploads: list[tuple[str, Path]] = []
                for i, content in enumerate(contents):
                    if not isinstance(content, UploadFile) or not content.filename:
                        raise UploadRejected("a 'content' part has no filename (it is not a file)")
                    path = spool(content, Path(tmp) / str(i), limit, file_too_large)
                    uploads.append((content.filename, path))
                outcome = await run_in_threadpool(
                    self.services.releases.submit,
                    identity,
                    request.path_params["project"],
                    raw,
                    uploads,
                )
        finally:
            await form.close()
        return self._outcome(outcome)

    async def pending(self, request: Request) -> Response:
        """Releases of a project waiting for co-signatures, with their metadata."""
        items = await run_in_threadpool(
            self.services.releases.pending, request.path_params["project"]
        )
        response: PendingReleasesResponse = {
            "pending": [{"id": i, "metadata": json.loads(data)} for i, data in items]
        }
        return JSONResponse(response)

    async def cosign(self, request: Request) -> Response:
        """Add maintainers' signatures to a pending release."""
        identity = await self._identity(request)
        body = parse(CosignRequest, await self._body(request))
        pending_id = int(request.path_params["pending_id"])
        if pending_id > _MAX_ID:
            raise NotFound(f"no pending release {pending_id}")
        signatures = [_signature(s) for s in body["signatures"]]
        outcome = await run_in_threadpool(
            self.services.releases.add_signatures,
            identity,
            request.path_params["project"],
            pending_id,
            signatures,
        )
        return self._outcome(outcome)

    def _outcome(self, outcome: ReleaseOutcome) -> Response:
        accepted = outcome.state is ReleaseState.ACCEPTED
        if accepted:
            self.wake()
        response: ReleaseResponse = {
            "state": outcome.state,
            "version": outcome.version,
            "signed_by": outcome.signed_by,
            "threshold": outcome.threshold,
            "pending_id": outcome.pending_id,
            "files": outcome.files,
        }
        return JSONResponse(response, status_code=201 if accepted else 202)


def _signature(raw: SignatureBody) -> Signature:
    try:
        return Signature.from_dict({"keyid": raw["keyid"], "sig": raw["sig"]})
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidRequest(f"malformed signature: {e}") from e


def _public_key(key: Key) -> PublicKey:
    return {"keyid": key.keyid, "key": key.to_dict()}


def _claim_details(info: ClaimInfo) -> ClaimDetails:
    return {
        "state": info.state,
        "role": info.role,
        "version": info.version,
        "threshold": info.threshold,
        "maintainers": {m: [_public_key(k) for k in keys] for m, keys in info.maintainers.items()},
    }


def _file_details(f: ProjectFile) -> FileDetails:
    return {
        "filename": f.filename,
        "version": f.version,
        "size": f.size,
        "sha256": f.sha256,
        "core_metadata_sha256": f.core_metadata_sha256,
        "core_metadata_size": f.core_metadata_size,
        "trust_level": int(f.trust_level),
        "yanked": (f.yanked_reason or True) if f.yanked else False,
    }
