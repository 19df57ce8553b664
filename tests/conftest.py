"""Shared fixtures: a real ``endorse serve`` subprocess and real client tools; the two tiers.

The suite has two tiers. The **fast tier** starts no process: the web app in
this process (``tests/inprocess.py``), an unmodified ngclient through a
fetcher over it, the in-memory blob store and SQLite in memory. The
**subprocess tier** is what only a real process shows: ``endorse serve`` with
twine, pip and uv, SIGKILL, PostgreSQL and S3. A test is in the subprocess tier
when it uses a fixture that starts a process (:data:`PROCESS_FIXTURES`), sits
in a module that starts them itself (:data:`PROCESS_MODULES`), or is marked
``subprocess``; a test marked ``slow`` is long although in-process.
``pytest --fast`` (``./scripts/test --fast``) runs the fast tier alone, and
there any attempt to start a process fails the test, so a test that belongs
to the other tier cannot hide in it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from tuf.ngclient import Updater

BIN = Path(sys.executable).parent
TESTS = Path(__file__).parent

#: Fixtures that start ``endorse serve`` or another process.
PROCESS_FIXTURES = frozenset(
    {"server", "make_server", "served_index", "world", "short_lived", "softhsm"}
)
#: Modules whose tests start processes without one of those fixtures.
PROCESS_MODULES = frozenset(
    {
        "client/test_attacks_online_keys.py",
        "client/test_root_rotation.py",
        "test_developer_cli.py",
        "test_scale_mode.py",
    }
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--fast``: the fast tier alone."""
    parser.addoption(
        "--fast",
        action="store_true",
        help="run the fast tier alone: no test that starts a process, none marked slow",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the subprocess tier; with ``--fast``, deselect it and the slow tests."""
    for item in items:
        module = item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())) or module in PROCESS_MODULES:
            item.add_marker(pytest.mark.subprocess)
    if not config.getoption("--fast"):
        return
    fast = [
        i
        for i in items
        if not i.get_closest_marker("subprocess") and not i.get_closest_marker("slow")
    ]
    config.hook.pytest_deselected(items=[i for i in items if i not in fast])
    items[:] = fast


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the fast tier, starting a process fails the test (it belongs to the other tier)."""
    if not request.config.getoption("--fast"):
        yield
        return

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} starts a process: it belongs to the subprocess tier "
            "(use a fixture of tests/conftest.py PROCESS_FIXTURES, or mark it subprocess)"
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess.Popen, "_execute_child", refuse)
        yield


ENDORSE = str(BIN / "endorse")

#: Cheap Argon2id for tests: the cost parameter is a setting, never patched.
FAST_ENV = {
    "ENDORSE_PASSWORD_MEMORY_KIB": "256",
    "ENDORSE_PASSWORD_ITERATIONS": "1",
    "ENDORSE_PUBLISH_INTERVAL": "0.1",
}


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for client tools: no pip config or extra indexes of this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "ENDORSE_"))}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_NO_CONFIG": "1",
            "UV_NO_CACHE": "1",
            "UV_OFFLINE": "0",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class IndexServer:
    """A running ``endorse serve`` on 127.0.0.1 with its own data folder."""

    data_dir: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    url: str = ""
    token: str = ""
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 60) -> IndexServer:
        """Start the server and wait until it prints its address."""
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [ENDORSE, "serve", "--port", "0", "--data-dir", str(self.data_dir), *self.args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=self.env,
        )
        line_holder: list[str] = []

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            line_holder.append(self.process.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not line_holder or "serving on" not in line_holder[0]:
            self.stop()
            raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")
        self.url = line_holder[0].strip().rsplit(" ", 1)[1]
        creds = self.data_dir / "DEMO-CREDENTIALS.txt"
        if creds.exists():
            self.token = creds.read_text().split("password: ", 1)[1].strip()
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def admin(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run ``endorse admin ...`` against this server's data folder."""
        return subprocess.run(
            [ENDORSE, "admin", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=self.env,
            input=input,
            check=check,
        )

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        """GET a path of the server."""
        return httpx.get(self.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, **kwargs: object) -> httpx.Response:
        """POST to a path of the server."""
        return httpx.post(self.url + path, timeout=60, **kwargs)  # type: ignore[arg-type]

    def updater(self, folder: Path) -> Updater:
        """A fresh, unmodified ngclient Updater trusting the served root v1."""
        folder.mkdir(parents=True, exist_ok=True)
        metadata_dir = folder / "metadata"
        metadata_dir.mkdir(exist_ok=True)
        root = self.get("/tuf/metadata/1.root.json").content
        return Updater(
            metadata_dir=str(metadata_dir),
            metadata_base_url=f"{self.url}/tuf/metadata/",
            target_base_url=f"{self.url}/tuf/targets/",
            target_dir=str(folder / "targets"),
            bootstrap=root,
        )

    def wait_published(self, timeout: float = 60) -> None:
        """Wait until the publish queue is empty."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.admin("status", "--json").stdout
            if '"pending_projects": 0' in status:
                return
            time.sleep(0.2)
        raise TimeoutError("publish queue did not drain")


#: The machine's PostgreSQL server (CI starts one; trust authentication, user postgres).
POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL server, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as e:
        if os.environ.get("ENDORSE_TEST_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({e})")
    name = f"endorse_test_{secrets.token_hex(4)}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        admin.close()


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for an endorse process in tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    env.update(FAST_ENV)
    env.update(extra or {})
    return env


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[object]:
    """Factory: ``make_server(env={...}, args=[...])`` starts a fresh index."""
    servers: list[IndexServer] = []

    def factory(
        env: dict[str, str] | None = None, args: list[str] | None = None, name: str = "index"
    ) -> IndexServer:
        server = IndexServer(tmp_path / name, server_env(env), list(args or []))
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: object) -> IndexServer:
    """A fresh index on embedded defaults (SQLite, local folder, demo keys)."""
    return make_server()  # type: ignore[operator, no-any-return]


def twine_upload(
    server: IndexServer,
    files: list[Path],
    *,
    token: str | None = None,
    username: str = "__token__",
    password: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a real ``twine upload`` subprocess (``--verbose``: twine then shows the
    server's message; without it twine prints only the HTTP status line)."""
    return subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            "--verbose",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{server.url}/legacy/",
            "-u",
            username,
            "-p",
            password if password is not None else (token or server.token),
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=tool_env(),
        timeout=300,
    )


def _run_tool(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=tool_env(), timeout=300)


def pip_install(
    server: IndexServer, target: Path, *requirements: str, index_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real ``pip install --target`` subprocess against the index only."""
    index = index_url or f"{server.url}/simple/"
    return _run_tool(
        [sys.executable, "-m", "pip", "install", "--isolated", "--no-cache-dir",
         "--index-url", index, "--target", str(target), *requirements]
    )  # fmt: skip


def uv_install(
    server: IndexServer, target: Path, *requirements: str, index_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real ``uv pip install --target`` subprocess against the index only."""
    index = index_url or f"{server.url}/simple/"
    return _run_tool(
        [str(BIN / "uv"), "pip", "install", "--python", sys.executable, "--no-cache",
         "--index-url", index, "--target", str(target), *requirements]
    )  # fmt: skip


def upload_form(path: Path) -> dict[str, str]:
    """The form fields twine sends for a distribution file."""
    import hashlib

    from packaging.utils import parse_sdist_filename, parse_wheel_filename

    if path.name.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
        filetype, pyversion = "bdist_wheel", "py3"
    else:
        name, version = parse_sdist_filename(path.name)
        filetype, pyversion = "sdist", "source"
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": str(name),
        "version": str(version),
        "filetype": filetype,
        "pyversion": pyversion,
        "sha256_digest": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def http_upload(
    client: httpx.Client, server: IndexServer, path: Path, token: str | None = None
) -> httpx.Response:
    """POST one file to the upload API the way twine does."""
    return client.post(
        f"{server.url}/legacy/",
        data=upload_form(path),
        files={"content": (path.name, path.read_bytes(), "application/octet-stream")},
        auth=("__token__", token or server.token),
        timeout=120,
    )


def wait_until(
    predicate: Callable[[], object], timeout: float = 30, *, poll: float = 0.05, what: str = ""
) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(poll)
