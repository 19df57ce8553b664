"""Attackers of the verifying client, with exactly the powers the TUF spec gives them.

:class:`Mirror` is a mirror (or CDN, or network attacker) between the client
and the index: it passes requests through to the index and can alter, replay,
pad or withhold any response, but holds no key.

:class:`KeyHolder` extends the stolen-online-keys attacker of
``tests/attacks/attacker.py`` with forgeries it serves to one victim through a
mirror, without writing them to the index (fast-forward, and a timestamp that
names an old snapshot).
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, MetaFile, Snapshot, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from endorse.metadata.roles import SNAPSHOT, TIMESTAMP
from endorse.metadata.storage_keys import metadata_key
from tests.attacks.attacker import OnlineKeyAttacker

Change = Callable[[bytes], bytes]
#: Answers a request path with bytes of the attacker's choosing, or None to pass it on.
Responder = Callable[[str], bytes | None]


class Mirror:
    """A pass-through mirror of an index whose answers an attacker can rewrite."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self._rules: list[tuple[re.Pattern[str], Change]] = []
        self._responders: list[Responder] = []
        self._statuses: list[tuple[re.Pattern[str], int]] = []
        self.requests: list[str] = []
        self._http = httpx.Client(timeout=60)
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                status, body, content_type = mirror.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    @property
    def url(self) -> str:
        """The mirror's base URL (what the victim passes as ``--index``)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fetch(self, path: str) -> bytes:
        """What the index serves at ``path`` now (to record it for a replay)."""
        response = self._http.get(self.upstream + path)
        response.raise_for_status()
        return response.content

    def answer(self, path: str) -> tuple[int, bytes, str]:
        """The upstream's answer, after the attacker's rules."""
        for pattern, status in self._statuses:
            if pattern.search(path):
                return status, f"{status}\n".encode(), "text/plain"
        for responder in self._responders:
            own = responder(path)
            if own is not None:
                return 200, own, "application/octet-stream"
        rules = [change for pattern, change in self._rules if pattern.search(path)]
        response = self._http.get(self.upstream + path)
        body = response.content
        status = response.status_code
        for change in rules:
            body = change(body)
            status = 200
        return status, body, response.headers.get("content-type", "application/octet-stream")

    def tamper(self, pattern: str, change: Change) -> None:
        """Rewrite every answer whose path matches ``pattern`` (a regular expression)."""
        self._rules.append((re.compile(pattern), change))

    def fail(self, pattern: str, status: int) -> None:
        """Answer paths matching ``pattern`` with an HTTP error status."""
        self._statuses.append((re.compile(pattern), status))

    def respond(self, responder: Responder) -> None:
        """Let ``responder`` answer requests before the upstream does."""
        self._responders.append(responder)

    def serve(self, pattern: str, data: bytes) -> None:
        """Answer paths matching ``pattern`` with fixed bytes (a replay)."""
        self.tamper(pattern, lambda _old: data)

    def honest(self) -> None:
        """Stop attacking."""
        self._rules.clear()
        self._responders.clear()
        self._statuses.clear()

    def stop(self) -> None:
        """Go away: connections are refused from now on."""
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._http.close()
            self.running = False


class KeyHolder(OnlineKeyAttacker):
    """Holds every online key; signs forgeries for one victim, leaving the index alone."""

    def _sign(self, role: str, md: Metadata[Any]) -> bytes:
        self.repo.sign(role, md)
        return md.to_bytes(JSONSerializer(compact=True))

    def fast_forward(self, jump: int) -> dict[str, bytes]:
        """A snapshot and a timestamp ``jump`` versions ahead, validly signed:
        ``{mirror path pattern: bytes}``."""
        self.repo.load()
        snapshot_md = copy.deepcopy(self.repo.open(SNAPSHOT))  # not into the index's state
        assert isinstance(snapshot_md.signed, Snapshot)
        snapshot_md.signed.version += jump
        snapshot = self._sign(SNAPSHOT, snapshot_md)
        timestamp_md = copy.deepcopy(self.repo.open(TIMESTAMP))
        assert isinstance(timestamp_md.signed, Timestamp)
        timestamp_md.signed.version += jump
        timestamp_md.signed.snapshot_meta = MetaFile(
            snapshot_md.signed.version,
            len(snapshot),
            {"sha256": hashlib.sha256(snapshot).hexdigest()},
        )
        timestamp = self._sign(TIMESTAMP, timestamp_md)
        return {
            r"/tuf/metadata/timestamp\.json$": timestamp,
            rf"/tuf/metadata/{snapshot_md.signed.version}\.snapshot\.json$": snapshot,
        }

    def forge_role_signed_by(
        self, role: str, change: Callable[[Targets], None], signers: list[Signer]
    ) -> None:
        """A new version of a developer-signed role, signed with keys the attacker
        stole from developers, published with the online keys."""
        md = self.repo.open(role)
        assert isinstance(md.signed, Targets)
        change(md.signed)
        md.signed.version += 1
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        self.repo.write(role, md)
        self._publish()

    def timestamp_for_snapshot(self, snapshot_version: int) -> bytes:
        """A new, validly signed timestamp that names an old (stored) snapshot."""
        self.repo.load()
        old = self.store.get(metadata_key(SNAPSHOT, snapshot_version))
        timestamp_md = copy.deepcopy(self.repo.open(TIMESTAMP))
        assert isinstance(timestamp_md.signed, Timestamp)
        timestamp_md.signed.version += 1
        timestamp_md.signed.snapshot_meta = MetaFile(
            snapshot_version, len(old), {"sha256": hashlib.sha256(old).hexdigest()}
        )
        return self._sign(TIMESTAMP, timestamp_md)
