"""A small client of the index's developer API (``/api/v1``), typed by :mod:`endorse.api.models`.

Every answer is validated against the model the server answers with; an error
answer becomes the error class of its status (``errors.error_for_status``), so
a refusal reads here as it was raised on the index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
from securesystemslib.signer import Key, Signature

from endorse.api.models import (
    ClaimRequest,
    CosignRequest,
    KeyRegistrationRequest,
    KeyRegistrationResponse,
    KeyRevocationResponse,
    PendingReleasesResponse,
    ProjectResponse,
    ReleaseResponse,
    SignatureBody,
    StatusRequest,
    parse,
)
from endorse.errors import NotFound, error_for_status
from endorse.states import ProjectStatus

__all__ = ["IndexClient"]

T = TypeVar("T")


class IndexClient:
    """Talks to one index with one set of credentials.

    ``transport`` replaces the network (the fast tests send requests straight
    into the web app with it).
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = 120,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(auth=(username, password), timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _answer(self, model: type[T], response: httpx.Response) -> T:
        if response.status_code >= 400:
            message, _, hint = response.text.strip().partition("\nHint: ")
            raise error_for_status(response.status_code, message, hint or None)
        return parse(model, response.content, what="the index's answer")

    def project(self, name: str) -> ProjectResponse:
        """Files and claim of a project."""
        response = self._client.get(f"{self.url}/api/v1/projects/{name}")
        return self._answer(ProjectResponse, response)

    def register_key(
        self,
        key: Key,
        *,
        label: str = "",
        statement: Mapping[str, Any] | None = None,
        signature: Signature | None = None,
    ) -> str:
        """Register a machine key with the index (further keys: with an add-key
        statement signed by a registered key, from ``endorse key endorse-machine``)."""
        body: KeyRegistrationRequest = {
            "key": {"keyid": key.keyid, "key": key.to_dict()},
            "label": label,
        }
        if statement is not None and signature is not None:
            body["statement"] = dict(statement)
            body["signature"] = _signature_body(signature)
        response = self._client.post(f"{self.url}/api/v1/keys", json=body)
        return self._answer(KeyRegistrationResponse, response)["keyid"]

    def revoke_key(self, keyid: str) -> list[str]:
        """Revoke one of your keys; returns the projects affected."""
        response = self._client.post(f"{self.url}/api/v1/keys/{keyid}/revoke")
        return self._answer(KeyRevocationResponse, response)["projects"]

    def claim(self, name: str, *, maintainers: Sequence[str], threshold: int) -> ProjectResponse:
        """Claim a project."""
        body: ClaimRequest = {"maintainers": list(maintainers), "threshold": threshold}
        response = self._client.post(f"{self.url}/api/v1/projects/{name}/claim", json=body)
        return self._answer(ProjectResponse, response)

    def set_status(self, name: str, status: ProjectStatus, reason: str = "") -> ProjectResponse:
        """Set a project's PEP 792 status marker (owners)."""
        body: StatusRequest = {"status": status, "reason": reason}
        response = self._client.post(f"{self.url}/api/v1/projects/{name}/status", json=body)
        return self._answer(ProjectResponse, response)

    def submit_release(self, name: str, metadata: bytes, files: Sequence[Path]) -> ReleaseResponse:
        """Send a signed release (the project transaction) in one request."""
        parts: list[tuple[str, tuple[str, bytes, str]]] = [
            ("metadata", ("metadata.json", metadata, "application/json"))
        ]
        parts += [("content", (f.name, f.read_bytes(), "application/octet-stream")) for f in files]
        response = self._client.post(f"{self.url}/api/v1/projects/{name}/releases", files=parts)
        return self._answer(ReleaseResponse, response)

    def pending(self, name: str) -> list[tuple[int, bytes]]:
        """Pending releases: ``(id, metadata bytes)``."""
        response = self._client.get(f"{self.url}/api/v1/projects/{name}/pending")
        pending = self._answer(PendingReleasesResponse, response)["pending"]
        return [(p["id"], json.dumps(p["metadata"]).encode()) for p in pending]

    def cosign(
        self, name: str, pending_id: int, signatures: Sequence[Signature]
    ) -> ReleaseResponse:
        """Add signatures to a pending release."""
        body: CosignRequest = {"signatures": [_signature_body(s) for s in signatures]}
        response = self._client.post(
            f"{self.url}/api/v1/projects/{name}/pending/{pending_id}/signatures", json=body
        )
        return self._answer(ReleaseResponse, response)

    def role_metadata(self, role: str, version: int) -> bytes:
        """A published version of a role (``/tuf/metadata/V.ROLE.json``)."""
        response = self._client.get(f"{self.url}/tuf/metadata/{version}.{role}.json")
        if response.status_code == 404:
            raise NotFound(f"{version}.{role}.json is not published yet")
        response.raise_for_status()
        return response.content


def _signature_body(signature: Signature) -> SignatureBody:
    return {"keyid": signature.keyid, "sig": signature.signature}
