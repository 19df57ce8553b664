"""A small client of the index's developer API (``/api/v1``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from securesystemslib.signer import Key, Signature

from endorse.errors import EndorseError, NotFound, PermissionDenied


class IndexRefused(EndorseError):
    """The index refused a request; ``status`` is its HTTP code."""

    def __init__(self, message: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class IndexClient:
    """Talks to one index with one set of credentials."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 120) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(auth=(username, password), timeout=timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code < 400:
            return response.json()
        text = response.text.strip()
        message, _, hint = text.partition("\nHint: ")
        if response.status_code == 404:
            raise NotFound(message, hint=hint or None)
        if response.status_code in (401, 403):
            raise PermissionDenied(message, hint=hint or None)
        raise IndexRefused(message, response.status_code, hint or None)

    def project(self, name: str) -> dict[str, Any]:
        """Files and claim of a project."""
        result: dict[str, Any] = self._check(self._client.get(f"{self.url}/api/v1/projects/{name}"))
        return result

    def register_key(
        self,
        key: Key,
        *,
        label: str = "",
        statement: dict[str, Any] | None = None,
        signature: Signature | None = None,
    ) -> str:
        """Register a machine key with the index (further keys: with an add-key
        statement signed by a registered key, from ``endorse key endorse-machine``)."""
        body: dict[str, Any] = {"key": {"keyid": key.keyid, "key": key.to_dict()}, "label": label}
        if statement is not None and signature is not None:
            body["statement"] = statement
            body["signature"] = signature.to_dict()
        result = self._check(self._client.post(f"{self.url}/api/v1/keys", json=body))
        return str(result["keyid"])

    def revoke_key(self, keyid: str) -> list[str]:
        """Revoke one of your keys; returns the projects affected."""
        result = self._check(self._client.post(f"{self.url}/api/v1/keys/{keyid}/revoke"))
        return [str(p) for p in result["projects"]]

    def claim(self, name: str, *, maintainers: Sequence[str], threshold: int) -> dict[str, Any]:
        """Claim a project."""
        body = {"maintainers": list(maintainers), "threshold": threshold}
        result: dict[str, Any] = self._check(
            self._client.post(f"{self.url}/api/v1/projects/{name}/claim", json=body)
        )
        return result

    def submit_release(self, name: str, metadata: bytes, files: Sequence[Path]) -> dict[str, Any]:
        """Send a signed release (the project transaction) in one request."""
        parts: list[tuple[str, tuple[str, bytes, str]]] = [
            ("metadata", ("metadata.json", metadata, "application/json"))
        ]
        parts += [("content", (f.name, f.read_bytes(), "application/octet-stream")) for f in files]
        result: dict[str, Any] = self._check(
            self._client.post(f"{self.url}/api/v1/projects/{name}/releases", files=parts)
        )
        return result

    def pending(self, name: str) -> list[tuple[int, bytes]]:
        """Pending releases: ``(id, metadata bytes)``."""
        result = self._check(self._client.get(f"{self.url}/api/v1/projects/{name}/pending"))
        return [(int(p["id"]), json.dumps(p["metadata"]).encode()) for p in result["pending"]]

    def cosign(self, name: str, pending_id: int, signatures: Sequence[Signature]) -> dict[str, Any]:
        """Add signatures to a pending release."""
        body = {"signatures": [s.to_dict() for s in signatures]}
        result: dict[str, Any] = self._check(
            self._client.post(
                f"{self.url}/api/v1/projects/{name}/pending/{pending_id}/signatures", json=body
            )
        )
        return result

    def role_metadata(self, role: str, version: int) -> bytes:
        """A published version of a role (``/tuf/metadata/V.ROLE.json``)."""
        response = self._client.get(f"{self.url}/tuf/metadata/{version}.{role}.json")
        if response.status_code == 404:
            raise NotFound(f"{version}.{role}.json is not published yet")
        response.raise_for_status()
        return response.content
