"""An endorse index in this process, for the fast tier: no subprocess, no socket.

:class:`InProcessIndex` is the web app of ``endorse serve`` over an in-memory
blob store and SQLite in memory (or a folder, for tests that also run admin
commands), reached through ``httpx.ASGITransport``. Its publisher runs in
this process: when an upload or a release wakes it, it publishes at once,
before the upload answers, as ``endorse serve`` does but deterministically.
``updater()`` gives an unmodified ``tuf.ngclient.Updater`` whose
``FetcherInterface`` sends its requests into the same app.

It answers the parts of ``tests.conftest.IndexServer`` that tests use
(``url``, ``token``, ``data_dir``, ``get``, ``updater``, ``wait_published``),
so a test reads the same against either.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
from anyio.from_thread import BlockingPortal
from click.testing import CliRunner
from sqlalchemy import text
from starlette.applications import Starlette
from tuf.api.exceptions import DownloadHTTPError
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

from endorse.clock import Clock
from endorse.developer import IndexClient
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.publisher.publisher import Publisher
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import open_publisher
from endorse.settings import Settings
from endorse.storage import InMemoryBlobStore
from tests.conftest import FAST_ENV, upload_form

#: The in-process index's base URL (never resolved: requests go into the app).
URL = "http://index.test"


class _Chunks(httpx.AsyncByteStream):
    """A request body, in the chunks the client sent it in."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> Iterator[bytes]:  # type: ignore[override]
        for chunk in self._chunks:
            yield chunk


class AppTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app, through ``httpx.ASGITransport``.

    The app runs on an event loop in a thread of its own (anyio's blocking
    portal), as under a server, so sync clients (ngclient, ``IndexClient``) can
    use it; its lifespan runs as a server runs it, from the first request to
    :meth:`shutdown`. A request body keeps its chunks: a chunked upload reaches
    the app as several messages.
    """

    def __init__(self, app: Starlette) -> None:
        self._portal_context: AbstractContextManager[BlockingPortal] = (
            anyio.from_thread.start_blocking_portal()
        )
        self._portal = self._portal_context.__enter__()
        self._lifespan = self._portal.wrap_async_context_manager(app.router.lifespan_context(app))
        self._lifespan.__enter__()
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request into the app and read the whole answer."""
        chunks = list(request.stream)  # type: ignore[arg-type]  # sync clients give sync streams

        async def send() -> tuple[int, httpx.Headers, bytes]:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, stream=_Chunks(chunks)
            )
            response = await self._asgi.handle_async_request(inner)
            return response.status_code, response.headers, await response.aread()

        status, headers, content = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        """A client closing: the app serves others still (see :meth:`shutdown`)."""

    def shutdown(self) -> None:
        """End the app's lifespan and stop its event loop."""
        try:
            self._lifespan.__exit__(None, None, None)
        finally:
            self._portal_context.__exit__(None, None, None)


class AppFetcher(FetcherInterface):
    """ngclient's network seam, answered by the app (the Updater itself is unmodified)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        #: Every URL fetched, in order.
        self.fetched: list[str] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        self.fetched.append(url)
        response = self.http.get(url)
        if response.status_code != 200:
            raise DownloadHTTPError(f"{url}: {response.status_code}", response.status_code)
        return iter([response.content])


@dataclass
class SynchronousPublication:
    """The publisher of an in-process index: woken, it publishes everything pending at once."""

    publisher: Publisher
    #: Off: nothing is published until the test calls :meth:`publish`.
    automatic: bool = True
    on_batch: Callable[[], None] = field(default=lambda: None)

    def start(self, on_batch: Callable[[], None]) -> None:
        """Remember whom to tell after a batch."""
        self.on_batch = on_batch

    def wake(self) -> None:
        """Publish now (when automatic)."""
        if self.automatic:
            self.publish()

    def publish(self) -> int:
        """Publish every pending batch; return the files published."""
        published = self.publisher.publish_pending()
        self.on_batch()
        return published

    def stop(self) -> None:
        """Nothing runs in the background."""


@dataclass
class InProcessIndex:
    """An index in this process (see the module docstring)."""

    services: Services
    publication: SynchronousPublication
    transport: AppTransport
    http: httpx.Client
    token: str
    root_sha256: str
    url: str = URL

    @classmethod
    def start(
        cls,
        data_dir: Path,
        *,
        in_memory: bool = True,
        publish: bool = True,
        clock: Clock | None = None,
        **settings: Any,
    ) -> InProcessIndex:
        """A fresh demo index: keys under ``data_dir/keys``, state in memory (or in the folder)."""
        from endorse.web import create_app

        options: dict[str, Any] = {
            "bin_count": 16,
            "password_memory_kib": 256,
            "password_iterations": 1,
            # Without an automatic publisher an upload would wait for nothing.
            "upload_wait": 30.0 if publish else 0.0,
            **settings,
        }
        if in_memory:
            options["database_url"] = "sqlite://"
        services = Services.open(
            Settings(data_dir=data_dir, **options),
            store=InMemoryBlobStore() if in_memory else None,
            clock=clock,
        )
        if services.settings.tuf_enabled:
            setup = ensure_repository(services)
            assert setup.token is not None
            token, root_sha256 = setup.token, setup.root_sha256
        else:  # no repository, as `endorse serve --unsigned`: only an account
            services.accounts.create_user("demo", "demo-password-long")
            token, root_sha256 = services.accounts.create_token("demo"), ""
        publication = SynchronousPublication(open_publisher(services), automatic=publish)
        transport = AppTransport(create_app(services, publication))
        http = httpx.Client(transport=transport, base_url=URL, timeout=60)
        return cls(services, publication, transport, http, token, root_sha256)

    def stop(self) -> None:
        """Close the client, the app's loop and the database."""
        self.http.close()
        self.transport.shutdown()
        self.services.close()

    @property
    def data_dir(self) -> Path:
        """The index's folder (keys, spool; the database and store too unless in memory)."""
        return self.services.settings.data_dir

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of the index."""
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST to a path of the index."""
        return self.http.post(path, **kwargs)

    def updater(self, folder: Path, *, bootstrap: bool = True) -> Updater:
        """An unmodified ngclient Updater over the app, trusting root v1 (``bootstrap``)
        or what ``folder`` already holds."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metadata").mkdir(exist_ok=True)
        root = self.get("/tuf/metadata/1.root.json").content if bootstrap else None
        return Updater(
            metadata_dir=str(folder / "metadata"),
            metadata_base_url=f"{self.url}/tuf/metadata/",
            target_base_url=f"{self.url}/tuf/targets/",
            target_dir=str(folder / "targets"),
            fetcher=AppFetcher(self.http),
            bootstrap=root,
        )

    def client(self, username: str = "__token__", password: str | None = None) -> IndexClient:
        """The developer commands' client, talking to the app."""
        return IndexClient(self.url, username, password or self.token, transport=self.transport)

    def upload(
        self,
        path: Path,
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        fields: dict[str, str | None] | None = None,
    ) -> httpx.Response:
        """Upload a distribution file as twine does (``fields`` override, None drops one)."""
        form: dict[str, str | None] = dict(upload_form(path))
        form.update(fields or {})
        return self.http.post(
            "/legacy/",
            data={k: v for k, v in form.items() if v is not None},
            files={"content": (path.name, path.read_bytes(), "application/octet-stream")},
            auth=auth or ("__token__", token or self.token),
        )

    def restart_publisher(self) -> None:
        """A new publisher with the keyring as it is now (``endorse serve`` started again)."""
        self.services.published.forget_timestamp()
        self.publication.publisher = open_publisher(self.services)

    def publish(self) -> int:
        """Publish what is pending now (for an index started with ``publish=False``)."""
        return self.publication.publish()

    def wait_published(self) -> None:
        """Everything accepted is published already, unless publishing is manual."""
        self.publish()

    def admin(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``endorse admin ...`` in this process (click's runner) on this index's folder.

        Only for an index started with ``in_memory=False``: the command opens
        the index's database and store from its data folder, as it would on
        the index's machine.
        """
        from endorse.cli import main

        if self.services.db.in_memory:
            raise TypeError("admin commands need an index started with in_memory=False")
        result = CliRunner(env=FAST_ENV).invoke(
            main, ["admin", *args, "--data-dir", str(self.data_dir)], input=input
        )
        done = subprocess.CompletedProcess(
            ["endorse", "admin", *args], result.exit_code, result.stdout, result.stderr
        )
        if check and result.exit_code != 0:
            raise AssertionError(f"endorse admin {' '.join(args)}: {done}") from result.exception
        return done

    def signing_event(self) -> dict[str, list[str]]:
        """Prepare, sign (the demo's offline claimed key) and publish a signing event."""
        events = self.services.events
        status = events.prepare_claimed()
        keyring = Keyring.load(self.data_dir / "keys" / OFFLINE_KEYRING)
        events.add_signatures(
            status.id, keyring.add_signatures("claimed", events.metadata(status.id))
        )
        events.publish(status.id)
        self.publish()
        return {k: status.summary[k] for k in ("moved", "keys_changed")}

    def add_user(self, username: str, password: str) -> str:
        """A new account and an unscoped token of it."""
        self.services.accounts.create_user(username, password)
        return self.services.accounts.create_token(username)

    def query(self, sql: str) -> list[tuple[object, ...]]:
        """The rows of a read-only SQL query (for checks of what is stored)."""
        with self.services.db.connection() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]

    def row_counts(self, *tables: str) -> dict[str, int]:
        """Rows per table now."""
        return {t: int(str(self.query(f"SELECT count(*) FROM {t}")[0][0])) for t in tables}  # noqa: S608

    def blob_keys(self, prefix: str = "targets/") -> frozenset[str]:
        """Every stored object under ``prefix``."""
        return frozenset(info.key for info in self.services.store.list(prefix))


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()
