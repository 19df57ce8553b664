"""A local verifying index for unmodified pip and uv.

::

    GET /simple/<name>/              PEP 691 JSON or PEP 503 HTML, built from verified metadata
    GET /tuf/targets/<prefix>/<name>/<file>     a file or its .metadata, verified before it is sent
    GET /health                      what the proxy trusts (JSON)

Listings are rendered with :mod:`endorse.simple.render`, so their links are
the same relative ``../../tuf/targets/...`` links the index serves, and they
resolve to this proxy. A file is looked up through ngclient, checked against
the client's policy, fetched into the cache, and its bytes are checked against
the signed length and hash on the open file that is then sent.

**Refusals are loud.** A verification failure or a policy refusal is an HTTP
403 whose *reason phrase* carries the message: pip and uv both print the
status line of a failed download, and neither retries a 403. (The proxy is a
``http.server`` rather than a Starlette app for this reason: ASGI has no way to
set a reason phrase.) The body carries the message and the hint, and the
proxy logs both. An unreachable upstream is a 504. pip shows nothing but "no
matching distribution" for a refused *listing*; ``endorse install`` prints
the refusals itself after pip exits.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from packaging.utils import NormalizedName, canonicalize_name

from endorse.client.errors import PolicyNotMet, UpstreamUnavailable, VerificationFailed
from endorse.client.policy import Policy
from endorse.client.resolver import VerifiedIndex, VerifiedTarget
from endorse.client.updater import Upstream
from endorse.errors import EndorseError, NotAcceptable, NotFound
from endorse.metadata.paths import ListingFormat
from endorse.simple.negotiate import negotiate as shared_negotiate
from endorse.simple.render import (
    HTML_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    render_root_html,
    render_root_json,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["Activity", "ProxyApp", "ProxyServer", "Refusal", "Response"]

logger = logging.getLogger(__name__)

_TEXT = "text/plain; charset=utf-8"
_NO_STORE = {"Cache-Control": "no-store"}
_UNSAFE_HEADER = {"X-Endorse-Verification": "DISABLED", **_NO_STORE}
_PROJECT_PATH = re.compile(r"^/simple/([^/]+)(/?)$")
_REASON_MAX = 600


@dataclass(frozen=True)
class Refusal:
    """Something the proxy refused to serve, and why."""

    what: str
    message: str
    hint: str | None
    #: "verification", "policy" or "upstream".
    kind: str
    project: str | None = None
    filename: str | None = None
    #: The failed check (verification) or the rule (policy).
    check: str | None = None

    def to_json(self) -> dict[str, Any]:
        """For ``--json`` output."""
        return {
            "kind": self.kind,
            "project": self.project,
            "filename": self.filename,
            "check": self.check,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Activity:
    """What the proxy served and refused (``endorse install`` reports it)."""

    served: dict[str, VerifiedTarget] = field(default_factory=dict)
    unverified: dict[str, int] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serve(self, verified: VerifiedTarget) -> None:
        """Record a distribution file sent to the installer."""
        with self._lock:
            self.served[verified.target.path] = verified

    def serve_unverified(self, path: str, size: int) -> None:
        """Record a file sent with verification disabled."""
        with self._lock:
            self.unverified[path] = size

    def refuse(self, refusal: Refusal) -> None:
        """Record a refusal (each distinct message once)."""
        with self._lock:
            if refusal not in self.refusals:
                self.refusals.append(refusal)


@dataclass
class Response:
    """What the HTTP layer sends: a body, or an open verified file."""

    status: int
    body: bytes = b""
    content_type: str = _TEXT
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(_NO_STORE))
    file: IO[bytes] | None = None
    length: int | None = None


def _reason(text: str) -> str:
    """A one-line, latin-1-safe HTTP reason phrase."""
    line = " ".join(text.split())
    line = line.encode("latin-1", "replace").decode("latin-1")
    return line if len(line) <= _REASON_MAX else line[: _REASON_MAX - 3] + "..."


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def negotiate(accept: str | None, format_param: str | None) -> ListingFormat:
    """PEP 691 by the index's own rules; HTML when nothing offered is acceptable."""
    try:
        return shared_negotiate(accept, format_param).format
    except NotAcceptable:
        return "html"


class ProxyApp:
    """Routes requests; knows nothing of sockets (tests call ``handle`` directly)."""

    def __init__(
        self,
        index: VerifiedIndex,
        policy: Policy | None = None,
        *,
        unsafe: bool = False,
        activity: Activity | None = None,
        log_refusals: bool = True,
    ) -> None:
        self.index = index
        #: Log refusals as errors (``endorse install`` reports them itself, at the end).
        self.log_refusals = log_refusals
        self.policy = policy or Policy()
        self.unsafe = unsafe
        self.activity = activity or Activity()
        self._http: httpx.Client | None = None
        if unsafe:
            import httpx  # only the unsafe pass-through needs it

            self._http = httpx.Client(timeout=60)

    @property
    def upstream(self) -> Upstream:
        """The index or mirror behind this proxy."""
        return self.index.upstream

    def close(self) -> None:
        """Release the connection pool of the unsafe mode."""
        if self._http is not None:
            self._http.close()

    def handle(self, path: str, headers: dict[str, str]) -> Response:
        """Answer one GET (the server sends the same headers without a body for HEAD)."""
        split = urlsplit(path)
        route = unquote(split.path)
        query = parse_qs(split.query)
        try:
            if route in ("", "/"):
                return self._home()
            if route == "/health":
                return self._health()
            if route == "/simple/":
                return self._root(headers, query)
            match = _PROJECT_PATH.match(route)
            if match:
                raw, slash = match.groups()
                name = canonicalize_name(raw)
                if raw != name or not slash:
                    suffix = f"?{split.query}" if split.query else ""
                    return Response(
                        301, b"", headers={"Location": f"/simple/{name}/{suffix}", **_NO_STORE}
                    )
                fmt = negotiate(headers.get("accept"), _first(query, "format"))
                return self._listing(name, fmt)
            if route.startswith("/tuf/targets/"):
                return self._target(route.removeprefix("/tuf/targets/"))
            return Response(404, f"not found: {route}\n".encode())
        except NotFound as e:
            return Response(404, f"{e.message}\n".encode(), reason=_reason(e.message))
        except EndorseError as e:
            return self._refused(e, route)

    # -- answers --------------------------------------------------------------

    def _home(self) -> Response:
        text = (
            f"endorse verifying proxy for {self.upstream.url}\n"
            "use it as: pip install --index-url <this address>/simple/ PROJECT\n"
        )
        if self.unsafe:
            text += "WARNING: package verification is DISABLED\n"
        return Response(200, text.encode())

    def _health(self) -> Response:
        body: dict[str, Any] = {"upstream": self.upstream.url, "verification": not self.unsafe}
        if not self.unsafe:
            body.update(self.index.session().status())
            body["root"] = self.index.root_source
            body["policy"] = self.policy.describe()
        return Response(200, json.dumps(body).encode(), "application/json")

    def _root(self, headers: dict[str, str], query: dict[str, list[str]]) -> Response:
        # The project list is not a TUF target; installers never read it.
        if negotiate(headers.get("accept"), _first(query, "format")) == "json":
            return Response(200, render_root_json([]), JSON_CONTENT_TYPE)
        return Response(200, render_root_html([]), HTML_CONTENT_TYPE)

    def _listing(self, name: NormalizedName, fmt: ListingFormat) -> Response:
        content_type = JSON_CONTENT_TYPE if fmt == "json" else HTML_CONTENT_TYPE
        if self.unsafe:
            return self._passthrough(f"/simple/{name}/", content_type, None)
        session = self.index.session()
        view = session.project(name)
        if view is None:
            raise NotFound(f"no project {name!r} in the verified metadata")
        return Response(
            200, view.render(fmt), content_type, headers={"Vary": "Accept", **_NO_STORE}
        )

    def _target(self, target_path: str) -> Response:
        if self.unsafe:
            return self._passthrough(
                f"/tuf/targets/{target_path}", "application/octet-stream", target_path
            )
        session = self.index.session()
        verified = session.target(target_path)
        self.policy.check(
            verified.project, verified.filename.removesuffix(".metadata"), verified.trust
        )
        fh = session.open_verified(verified)
        if not verified.is_core_metadata:
            self.activity.serve(verified)
            logger.info(
                "served %s of %s: trust level %d (%s)",
                verified.filename,
                verified.project,
                verified.trust.level,
                verified.trust.reason,
            )
        return Response(
            200,
            content_type="text/plain" if verified.is_core_metadata else "application/octet-stream",
            file=fh,
            length=verified.target.length,
            headers={"X-Endorse-Trust": str(int(verified.trust.level)), **_NO_STORE},
        )

    def _passthrough(self, path: str, content_type: str, target_path: str | None) -> Response:
        import httpx

        assert self._http is not None  # noqa: S101 - set whenever unsafe is
        logger.warning("UNVERIFIED: passing %s through from %s", path, self.upstream.url)
        try:
            upstream = self._http.get(self.upstream.url + path, headers={"Accept": content_type})
        except httpx.HTTPError as e:
            raise UpstreamUnavailable(f"cannot fetch {path} from {self.upstream.url}: {e}") from e
        if upstream.status_code >= 400:
            return Response(upstream.status_code, upstream.content, headers=dict(_UNSAFE_HEADER))
        if target_path is not None and not target_path.endswith(".metadata"):
            self.activity.serve_unverified(target_path, len(upstream.content))
        return Response(
            200,
            upstream.content,
            upstream.headers.get("content-type", content_type),
            headers=dict(_UNSAFE_HEADER),
        )

    def _refused(self, error: EndorseError, route: str) -> Response:
        if isinstance(error, PolicyNotMet):
            refusal = Refusal(
                route,
                error.message,
                error.hint,
                "policy",
                error.project,
                error.filename,
                error.rule,
            )
            status = 403
        elif isinstance(error, VerificationFailed):
            refusal = Refusal(
                route,
                error.message,
                error.hint,
                "verification",
                error.project,
                error.filename,
                error.check,
            )
            status = 403
        elif isinstance(error, UpstreamUnavailable):
            refusal = Refusal(route, error.message, error.hint, "upstream")
            status = 504
        else:
            refusal = Refusal(route, error.message, error.hint, "error")
            status = 500
        self.activity.refuse(refusal)
        level = logging.ERROR if self.log_refusals else logging.DEBUG
        logger.log(level, "%s: %s", route, error.message)
        if error.hint:
            logger.log(level, "hint: %s", error.hint)
        prefix = "endorse: "
        body = f"{prefix}{error.message}\n"
        if error.hint:
            body += f"hint: {error.hint}\n"
        return Response(status, body.encode(), reason=_reason(prefix + error.message))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: Headers and body leave in separate writes; with Nagle's algorithm on, the
    #: body waits for the installer's delayed ACK (40 ms per request on Linux).
    disable_nagle_algorithm = True
    server: ProxyServer

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            response = self.server.app.handle(self.path, headers)
        except Exception:  # the face boundary: never let a bug look like a file
            logger.exception("internal error answering %s", self.path)
            response = Response(500, b"endorse: internal error (see the proxy's log)\n")
        try:
            self.send_response(response.status, response.reason)
            self.send_header("Content-Type", response.content_type)
            length = response.length if response.file is not None else len(response.body)
            self.send_header("Content-Length", str(length))
            for key, value in response.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if head:
                return
            if response.file is not None:
                shutil.copyfileobj(response.file, self.wfile, 1024 * 1024)
            else:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("client went away during %s", self.path)
        finally:
            if response.file is not None:
                response.file.close()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class ProxyServer(ThreadingHTTPServer):
    """The proxy on a local socket; ``port=0`` picks a free port."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        app: ProxyApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sock: socket.socket | None = None,
    ) -> None:
        """Bind ``host:port``, or serve ``sock``: a socket already listening."""
        super().__init__((host, port), _Handler, bind_and_activate=sock is None)
        if sock is not None:
            self.socket.close()
            self.socket = sock
            self.server_address = sock.getsockname()
        self.app = app
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def index_url(self) -> str:
        """What to give pip as ``--index-url``."""
        return f"{self.url}/simple/"

    def start(self) -> ProxyServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            # ``stop()`` waits for the loop to look at its flag: poll often.
            target=self.serve_forever,
            kwargs={"poll_interval": 0.005},
            name="endorse-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        self.app.close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
