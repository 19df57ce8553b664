"""The legacy upload API (``POST /legacy/``) that twine speaks.

This face does HTTP: it authenticates, counts the body as it arrives (refused
past the size limit), parses the multipart form into an
:class:`~endorse.index.uploads.UploadRequest` and spools the file; the index
(:meth:`Uploads.accept <endorse.index.uploads.Uploads.accept>`) checks, stores
and records it. The answer comes only after the upload is durably recorded
(and, up to ``upload_wait`` seconds, published), so twine's success means the
file will not be lost.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from endorse.errors import EndorseError, TooLarge, UploadRejected
from endorse.index.accounts import Identity
from endorse.index.uploads import DIGEST_FIELDS, Accepted, UploadRequest
from endorse.services.index import Services
from endorse.web.auth import authenticate
from endorse.web.errors import error_response
from endorse.web.notify import PublishNotifier

logger = logging.getLogger(__name__)

__all__ = ["FORM_OVERHEAD", "UploadEndpoint", "limited_receive", "spool"]

#: Room for the multipart envelope and form fields on top of the file itself.
FORM_OVERHEAD = 1024 * 1024


class UploadEndpoint:
    """ASGI endpoint for ``POST /legacy/``."""

    def __init__(
        self, services: Services, notifier: PublishNotifier, wake: Callable[[], None]
    ) -> None:
        self.services = services
        self.notifier = notifier
        self.wake = wake
        self.limit = services.settings.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one upload request."""
        try:
            response: Response = await self._handle(scope, receive)
        except EndorseError as e:
            logger.info("upload refused: %s", e.message)
            response = error_response(e)
        await response(scope, receive, send)

    async def _handle(self, scope: Scope, receive: Receive) -> PlainTextResponse:
        request = Request(scope, receive)
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.limit + FORM_OVERHEAD
        ):
            raise self._too_large()
        identity = await run_in_threadpool(authenticate, request, self.services.accounts)
        request = Request(
            scope, limited_receive(receive, self.limit + FORM_OVERHEAD, self._too_large())
        )
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise UploadRejected("Expected a multipart/form-data upload (as twine sends).")
        try:
            form = await request.form(max_files=1, max_fields=200, max_part_size=FORM_OVERHEAD)
        except MultiPartException as e:
            raise UploadRejected(f"Malformed multipart upload: {e.message}") from e
        except HTTPException as e:
            raise UploadRejected(f"Malformed multipart upload: {e.detail}") from e
        try:
            accepted = await run_in_threadpool(self._accept, form, identity)
        finally:
            await form.close()
        self.wake()
        await self._wait_published(accepted)
        return PlainTextResponse("OK\n")

    def _too_large(self) -> TooLarge:
        return TooLarge(
            f"File too large: the limit is {self.limit} bytes.",
            hint="ask the index administrator to raise ENDORSE_MAX_UPLOAD_BYTES",
        )

    def _accept(self, form: FormData, identity: Identity) -> Accepted:
        upload = upload_request(form)
        content = form.get("content")
        assert isinstance(content, UploadFile)  # noqa: S101 - upload_request checked it
        with tempfile.TemporaryDirectory(dir=self.services.upload_tmp) as tmp:
            path = spool(content, Path(tmp) / "upload", self.limit, self._too_large())
            return self.services.uploads.accept(upload, path, identity)

    async def _wait_published(self, accepted: Accepted) -> None:
        """Wait (bounded) until a batch covers the file; it is durable either way."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.services.settings.upload_wait
        while True:
            published = await run_in_threadpool(
                self.services.uploads.is_published, accepted.file_id
            )
            remaining = deadline - loop.time()
            if published or remaining <= 0:
                return
            # Another process may run the publisher: poll as well as listen.
            await self.notifier.wait(min(remaining, 0.5))


def upload_request(form: FormData) -> UploadRequest:
    """What a twine form declares; UploadRejected when it is not a twine upload."""
    action = form.get(":action")
    if action != "file_upload":
        raise UploadRejected(f"Unsupported ':action' {action!r}: only 'file_upload' is.")
    if form.get("protocol_version", "1") != "1":
        raise UploadRejected("Unsupported 'protocol_version': only '1' is.")
    content = form.get("content")
    if not isinstance(content, UploadFile) or not content.filename:
        raise UploadRejected("Upload has no 'content' file part.")
    name, version = _text(form, "name"), _text(form, "version")
    if not name or not version:
        raise UploadRejected("Upload is missing the 'name' or 'version' field.")
    if "\\" in content.headers.get("content-disposition", ""):
        # python-multipart keeps only the part after a backslash (an old
        # browser workaround): refuse rather than store under another name.
        raise UploadRejected(f"Invalid filename {content.filename!r}: no paths or backslashes.")
    digests = {field: _text(form, field).lower() for field in DIGEST_FIELDS if _text(form, field)}
    return UploadRequest(
        filename=content.filename,
        name=name,
        version=version,
        filetype=_text(form, "filetype") or None,
        digests=digests,
    )


def spool(content: UploadFile, path: Path, limit: int, too_large: EndorseError) -> Path:
    """Copy an uploaded part to ``path``; ``too_large`` past ``limit`` bytes."""
    with path.open("wb") as out:
        content.file.seek(0)
        shutil.copyfileobj(content.file, out, 1 << 20)
    if path.stat().st_size > limit:
        raise too_large
    return path


def limited_receive(receive: Receive, limit: int, error: EndorseError | None = None) -> Receive:
    """Count a request body as it arrives; raise ``error`` (413) past ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise error or TooLarge(f"Request too large: the limit is {limit} bytes.")
        return message

    return counted


def _text(form: FormData, field: str) -> str:
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""
