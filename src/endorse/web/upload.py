"""The legacy upload API (``POST /legacy/``) that twine speaks.

The request body is counted as it arrives and refused past the size limit;
the file is checked completely before any byte is stored; the answer comes
only after the upload is durably recorded (and, up to ``upload_wait``
seconds, published), so twine's success means the file will not be lost.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send

from endorse.errors import EndorseError, UploadRejected
from endorse.index.accounts import Identity
from endorse.index.uploads import (
    Accepted,
    check_filename_unused,
    discard_distribution,
    precheck_upload,
    record_upload,
    store_distribution,
)
from endorse.packages.distributions import inspect_distribution
from endorse.services.index import Services
from endorse.storage.db import File
from endorse.web.auth import authenticate
from endorse.web.errors import error_response
from endorse.web.notify import PublishNotifier

logger = logging.getLogger(__name__)

#: Room for the multipart envelope and form fields on top of the file itself.
FORM_OVERHEAD = 1024 * 1024
_HEX = re.compile(r"[0-9a-f]{32,128}")
_DIGEST_FIELDS = {"sha256_digest": "sha256", "blake2_256_digest": "blake2_256", "md5_digest": "md5"}


class _BodyTooLarge(UploadRejected):
    pass


class UploadEndpoint:
    """ASGI endpoint for ``POST /legacy/``."""

    def __init__(
        self, services: Services, notifier: PublishNotifier, wake: threading.Event
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
        if request.method != "POST":
            raise UploadRejected("Use POST to upload.", status=405)
        declared = request.headers.get("content-length")
        if (
            declared is not None
            and declared.isdigit()
            and int(declared) > self.limit + FORM_OVERHEAD
        ):
            raise self._too_large()
        identity = await run_in_threadpool(self._authenticate, request)
        request = Request(scope, self._limited(receive))
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
        self.wake.set()
        await self._wait_published(accepted)
        return PlainTextResponse("OK\n")

    def _too_large(self) -> UploadRejected:
        return _BodyTooLarge(
            f"File too large: the limit is {self.limit} bytes.",
            status=413,
            hint="ask the index administrator to raise ENDORSE_MAX_UPLOAD_BYTES",
        )

    def _limited(self, receive: Receive) -> Receive:
        return limited_receive(receive, self.limit + FORM_OVERHEAD, self._too_large())

    def _authenticate(self, request: Request) -> Identity:
        return authenticate(request, self.services.accounts)

    def _accept(self, form: FormData, identity: Identity) -> Accepted:
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
        digests = {
            field: _text(form, field).lower() for field in _DIGEST_FIELDS if _text(form, field)
        }
        if not digests:
            raise UploadRejected(
                "Include at least one message digest (sha256_digest or blake2_256_digest)."
            )
        filename = content.filename
        if "\\" in content.headers.get("content-disposition", ""):
            # python-multipart keeps only the part after a backslash (an old
            # browser workaround): refuse rather than store under another name.
            raise UploadRejected(f"Invalid filename {filename!r}: no paths or backslashes.")
        for field, value in digests.items():
            if not _HEX.fullmatch(value):
                raise UploadRejected(f"The {field} must be hexadecimal, got {value!r}.")
        check_filename_unused(self.services.db, filename)
        with tempfile.TemporaryDirectory(dir=self.services.upload_tmp) as tmp:
            path = Path(tmp) / "upload"
            with path.open("wb") as out:
                content.file.seek(0)
                shutil.copyfileobj(content.file, out, 1 << 20)
            if path.stat().st_size > self.limit:
                raise self._too_large()
            dist = inspect_distribution(
                path,
                filename,
                declared_name=name,
                declared_version=version,
                declared_type=_text(form, "filetype") or None,
            )
            for field, expected in digests.items():
                actual: Any = getattr(dist, _DIGEST_FIELDS[field])
                if not hmac.compare_digest(actual, expected):
                    raise UploadRejected(
                        f"The {field} of {filename!r} does not match the uploaded bytes "
                        f"(declared {expected}, got {actual}).",
                        hint="the file was altered or truncated in transit; upload it again",
                    )
            precheck_upload(self.services.db, dist, identity)
            store_distribution(self.services.store, dist, path)
        try:
            return record_upload(self.services.db, dist, identity, display_name=name)
        except EndorseError:
            discard_distribution(self.services.db, self.services.store, dist)
            raise

    async def _wait_published(self, accepted: Accepted) -> None:
        """Wait (bounded) until a batch covers the file; it is durable either way."""
        settings = self.services.settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.upload_wait
        while True:
            published = await run_in_threadpool(self._is_published, accepted.file_id)
            remaining = deadline - loop.time()
            if published or remaining <= 0:
                return
            # Another process may run the publisher: poll as well as listen.
            await self.notifier.wait(min(remaining, 0.5))

    def _is_published(self, file_id: int) -> bool:
        with self.services.db.read_session() as session:
            return session.scalar(select(File.published).where(File.id == file_id)) is not None


def limited_receive(receive: Receive, limit: int, error: UploadRejected | None = None) -> Receive:
    """Count a request body as it arrives; raise ``error`` (413) past ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise error or UploadRejected(
                    f"Request too large: the limit is {limit} bytes.", status=413
                )
        return message

    return counted


def _text(form: FormData, field: str) -> str:
    value = form.get(field)
    return value.strip() if isinstance(value, str) else ""
