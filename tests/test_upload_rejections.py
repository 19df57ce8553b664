"""Bad input gets a clear error and loses nothing.

Every refused upload is checked the same way: the HTTP status is the right
4xx, the answer (or twine's output) says what was wrong, and nothing of the
upload is kept: no new blob under ``targets/``, no new database row,
nothing left in the upload spool, and the Simple API does not list it (a new
project stays a 404).

The requests go into an in-process index (the fast tier; most tests share one
module-scoped index, because none of their uploads is accepted; the size
limit and the tests whose upload may be accepted by mistake start their own).
The twine tests need the real client, so they run against a real ``endorse
serve`` set up the same way (``served_index``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from packaging.utils import canonicalize_name

from endorse.metadata.paths import file_target
from tests.conftest import BIN, IndexServer, server_env, tool_env, twine_upload
from tests.inprocess import InProcessIndex
from tests.packages import make_sdist, make_wheel

JSON_LISTING = "application/vnd.pypi.simple.v1+json"
#: Tables an accepted upload adds to; a refused one must leave them as they were.
TABLES = ("projects", "project_members", "files", "file_registry", "publish_queue")
BOB_PASSWORD = "a-long-password"
BOUNDARY = "endorse-test-boundary-7f3a"
SIZE_LIMIT = 50_000
#: web/upload.py allows this much multipart envelope on top of the file.
FORM_OVERHEAD = 1024 * 1024

#: An index under test: in this process, or a real ``endorse serve``.
Served = InProcessIndex | IndexServer


# --------------------------------------------------------------------------- the index


@dataclass(frozen=True)
class Index:
    """The shared index: demo owns ``hello-world``; bob owns nothing."""

    server: Served
    #: hello_world-1.0-py3-none-any.whl, accepted at setup.
    wheel: Path
    bob_token: str
    #: A token of demo (owner of hello-world) limited to project ``other``.
    scoped_token: str
    #: carol's token: it uploaded carol-project 1.0, then was revoked.
    revoked_token: str

    def auth(self, who: str) -> tuple[str, str]:
        """HTTP Basic credentials by nickname."""
        return {
            "demo": ("__token__", self.server.token),
            "bob-token": ("__token__", self.bob_token),
            "bob-password": ("bob", BOB_PASSWORD),
            "scoped": ("__token__", self.scoped_token),
            "revoked": ("__token__", self.revoked_token),
        }[who]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """The in-process index for the module, with its accounts, tokens and a project."""
    root = tmp_path_factory.mktemp("rejections")
    server = InProcessIndex.start(root / "index")
    try:
        dists = root / "dists"
        wheel = make_wheel(dists, "hello-world", "1.0")
        for path in (wheel, make_sdist(dists, "hello-world", "1.0")):
            assert server.upload(path).status_code == 200
        accounts = server.services.accounts
        accounts.create_user("bob", BOB_PASSWORD)
        bob_token = accounts.create_token("bob")
        scoped_token = accounts.create_token("demo", projects=["other"])
        carol_token = server.add_user("carol", "carols-password")
        carol = server.upload(make_wheel(dists, "carol-project", "1.0"), token=carol_token)
        assert carol.status_code == 200, carol.text
        accounts.revoke_tokens("carol")
        yield Index(server, wheel, bob_token, scoped_token, carol_token)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def served_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """The same setup on a real ``endorse serve``, for the tests that run twine."""
    root = tmp_path_factory.mktemp("rejections-served")
    server = IndexServer(root / "index", server_env()).start()
    try:
        dists = root / "dists"
        wheel = make_wheel(dists, "hello-world", "1.0")
        sdist = make_sdist(dists, "hello-world", "1.0")
        setup = twine_upload(server, [wheel, sdist])
        assert setup.returncode == 0, setup.stdout + setup.stderr
        server.admin("user", "add", "bob", "--password-stdin", input=f"{BOB_PASSWORD}\n")
        bob_token = server.admin("token", "create", "bob").stdout.strip()
        scoped_token = server.admin("token", "create", "demo", "--project", "other").stdout.strip()
        server.admin("user", "add", "carol", "--password-stdin", input="carols-password\n")
        carol_token = server.admin("token", "create", "carol").stdout.strip()
        carol = twine_upload(server, [make_wheel(dists, "carol-project", "1.0")], token=carol_token)
        assert carol.returncode == 0, carol.stdout + carol.stderr
        server.admin("token", "revoke", "carol")
        server.wait_published()
        yield Index(server, wheel, bob_token, scoped_token, carol_token)
    finally:
        server.stop()


@pytest.fixture
def fresh_index(tmp_path: Path) -> Iterator[Callable[..., InProcessIndex]]:
    """Factory: a fresh in-process index with these settings."""
    started: list[InProcessIndex] = []

    def start(**settings: object) -> InProcessIndex:
        started.append(InProcessIndex.start(tmp_path / f"index-{len(started)}", **settings))
        return started[-1]

    yield start
    for server in started:
        server.stop()


# ------------------------------------------------------------ what "nothing stored" means


@dataclass(frozen=True)
class State:
    """What an upload could leave behind."""

    blobs: frozenset[str]
    rows: dict[str, int]
    projects: frozenset[str]
    spooled: frozenset[str]


def state(server: Served) -> State:
    """Blobs under ``targets/``, row counts, project names and spool contents."""
    spool = server.data_dir / "tmp"
    spooled = frozenset(p.name for p in spool.iterdir()) if spool.is_dir() else frozenset()
    if isinstance(server, InProcessIndex):
        projects = frozenset(name for (name,) in server.query("SELECT name FROM projects"))
        blobs = frozenset(k.removeprefix("targets/") for k in server.blob_keys("targets/"))
        return State(blobs, server.row_counts(*TABLES), projects, spooled)
    targets = server.data_dir / "store" / "targets"
    blobs = (
        frozenset(p.relative_to(targets).as_posix() for p in targets.rglob("*") if p.is_file())
        if targets.is_dir()
        else frozenset()
    )
    db_uri = (server.data_dir / "endorse.sqlite3").as_uri() + "?mode=ro"
    with closing(sqlite3.connect(db_uri, uri=True)) as db:
        rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608
        projects = frozenset(name for (name,) in db.execute("SELECT name FROM projects"))
    return State(blobs, rows, projects, spooled)


def pending_projects(server: Served) -> int:
    """The publish queue length as ``endorse admin status --json`` reports it."""
    if isinstance(server, InProcessIndex):
        return server.services.status().pending_projects
    return int(json.loads(server.admin("status", "--json").stdout)["pending_projects"])


def listed(server: Served, project: str) -> dict[str, str] | None:
    """Filename -> sha256 of a project's JSON listing; None when it is a 404."""
    page = server.get(f"/simple/{canonicalize_name(project)}/", headers={"Accept": JSON_LISTING})
    if page.status_code == 404:
        return None
    assert page.status_code == 200, page.text
    return {f["filename"]: f["hashes"]["sha256"] for f in page.json()["files"]}


def assert_nothing_recorded(
    server: Served, before: State, project: str, filename: str | None
) -> None:
    """No row, no spooled file, and the Simple API does not list ``filename``.

    A project that did not exist before must still be a 404.
    """
    after = state(server)
    assert after.rows == before.rows
    assert after.projects == before.projects
    assert after.spooled == frozenset()
    files = listed(server, project)
    if canonicalize_name(project) not in before.projects:
        assert files is None, f"new project {project!r} is listed"
    elif filename is not None:
        assert files is not None
        assert filename not in files


def assert_nothing_stored(
    server: Served, before: State, project: str, filename: str | None
) -> None:
    """Nothing recorded and no new blob under ``targets/``."""
    assert_nothing_recorded(server, before, project, filename)
    assert state(server).blobs == before.blobs


def assert_refused(response: httpx.Response, status: int, message: str) -> None:
    """The status is right and the body says what was wrong."""
    assert response.status_code == status, response.text
    assert message in response.text, response.text


# ------------------------------------------------------------------- building requests


def multipart(
    fields: dict[str, str], files: list[tuple[str, str, bytes]], boundary: str = BOUNDARY
) -> bytes:
    """A multipart/form-data body, byte for byte as given (no escaping of filenames)."""
    out = io.BytesIO()
    for key, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for key, filename, data in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue()


def upload_fields(content: bytes, overrides: dict[str, str | None]) -> dict[str, str]:
    """The form fields twine sends, with ``overrides`` (None drops a field)."""
    fields: dict[str, str | None] = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
        "name": "hello-world",
        "version": "2.0",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def post(
    server: Served,
    body: bytes | Iterator[bytes],
    *,
    auth: tuple[str, str] | None,
    content_type: str = f"multipart/form-data; boundary={BOUNDARY}",
) -> httpx.Response:
    """POST a raw body to the upload URL."""
    return server.post("/legacy/", content=body, headers={"Content-Type": content_type}, auth=auth)


def upload(
    server: Served,
    filename: str,
    content: bytes,
    auth: tuple[str, str] | None,
    fields: dict[str, str | None] | None = None,
) -> httpx.Response:
    """Upload ``content`` as ``filename`` the way twine does."""
    body = multipart(upload_fields(content, fields or {}), [("content", filename, content)])
    return post(server, body, auth=auth)


def twine(
    server: IndexServer, files: list[Path], username: str, password: str, *, verbose: bool = True
) -> str:
    """Run ``twine upload`` (``--verbose`` unless asked not to), expect failure, return
    its output on one line."""
    result = subprocess.run(
        [
            str(BIN / "twine"),
            "upload",
            *(["--verbose"] if verbose else []),
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            f"{server.url}/legacy/",
            "-u",
            username,
            "-p",
            password,
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        env=tool_env({"COLUMNS": "1000"}),
        timeout=300,
    )
    assert result.returncode != 0, result.stdout + result.stderr
    return " ".join((result.stdout + result.stderr).split())


# ------------------------------------------------------------- crafted distributions

#: Builds ``(filename, content)`` in a scratch folder.
Build = Callable[[Path], tuple[str, bytes]]


def wheel(version: str = "2.0", **kwargs: str) -> Build:
    """A good hello-world wheel (tests/packages.py), options passed to make_wheel."""

    def build(folder: Path) -> tuple[str, bytes]:
        path = make_wheel(folder, "hello-world", version, **kwargs)  # type: ignore[arg-type]
        return path.name, path.read_bytes()

    return build


def sdist(version: str = "2.0") -> Build:
    """A good hello-world sdist."""

    def build(folder: Path) -> tuple[str, bytes]:
        path = make_sdist(folder, "hello-world", version)
        return path.name, path.read_bytes()

    return build


def named(filename: str, content: bytes | Build | None = None) -> Build:
    """``content`` (bytes, or what a builder makes; a good wheel by default) as ``filename``."""

    def build(folder: Path) -> tuple[str, bytes]:
        make = content or wheel()
        data = make if isinstance(make, bytes) else make(folder)[1]
        return filename, data

    return build


def wheel_members(version: str = "2.0", tag: str = "py3-none-any") -> dict[str, bytes]:
    """The members of a minimal hello-world wheel, to be tampered with."""
    info = f"hello_world-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: hello-world\nVersion: {version}\n\n"
    return {
        "hello_world/__init__.py": b"",
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n".encode(),
        f"{info}/RECORD": b"",
    }


def zip_bytes(members: dict[str, bytes]) -> bytes:
    """A zip archive holding exactly ``members`` (names are not cleaned)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def sdist_members(version: str = "2.0", pkg_info_version: str | None = None) -> dict[str, bytes]:
    """The members of a minimal hello-world sdist."""
    meta = f"Metadata-Version: 2.1\nName: hello-world\nVersion: {pkg_info_version or version}\n\n"
    return {
        f"hello_world-{version}/PKG-INFO": meta.encode(),
        f"hello_world-{version}/pyproject.toml": b'[project]\nname = "hello-world"\n',
    }


def tar_gz(members: dict[str, bytes]) -> bytes:
    """A .tar.gz archive holding exactly ``members`` (names are not cleaned)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def without(members: dict[str, bytes], suffix: str) -> dict[str, bytes]:
    """``members`` minus those whose name ends with ``suffix``."""
    return {k: v for k, v in members.items() if not k.endswith(suffix)}


def truncated_wheel(folder: Path) -> tuple[str, bytes]:
    """The first half of a good wheel."""
    filename, data = wheel()(folder)
    return filename, data[: len(data) // 2]


def invalid_filename(filename: str) -> str:
    """The start of the refusal of a bad filename."""
    return f"Invalid filename {filename!r}: only letters, digits and . _ + ! - are allowed"


@dataclass(frozen=True)
class Bad:
    """One bad upload by demo (the owner), and the refusal it must get."""

    build: Build
    message: str
    fields: dict[str, str | None] = field(default_factory=dict)
    project: str = "hello-world"
    status: int = 400


WHL = "hello_world-2.0-py3-none-any.whl"
TGZ = "hello_world-2.0.tar.gz"
LONG = "hello_world-2.0-" + "py3." * 60 + "py3-none-any.whl"
WRONG_DIGEST_FOR_ANY_CONTENT = hashlib.sha256(b"not the uploaded bytes").hexdigest()

BAD_UPLOADS: dict[str, Bad | object] = {
    # Digests.
    "sha256-mismatch": Bad(
        wheel(),
        f"The sha256_digest of {WHL!r} does not match the uploaded bytes",
        {"sha256_digest": WRONG_DIGEST_FOR_ANY_CONTENT},
    ),
    "blake2-mismatch": Bad(
        wheel(),
        f"The blake2_256_digest of {WHL!r} does not match the uploaded bytes",
        {"sha256_digest": None, "blake2_256_digest": "0" * 64},
    ),
    "sha256-right-blake2-wrong": Bad(
        wheel(), "The blake2_256_digest of", {"blake2_256_digest": "f" * 64}
    ),
    "md5-mismatch": Bad(
        wheel(), "The md5_digest of", {"sha256_digest": None, "md5_digest": "0" * 32}
    ),
    "uppercase-wrong-sha256": Bad(
        wheel(), "The sha256_digest of", {"sha256_digest": WRONG_DIGEST_FOR_ANY_CONTENT.upper()}
    ),
    "no-digest": Bad(wheel(), "Include at least one message digest", {"sha256_digest": None}),
    "digest-not-ascii": pytest.param(
        Bad(wheel(), "sha256_digest", {"sha256_digest": "\u00e9" * 64}),
    ),
    # Declared name and version against the filename and the core metadata.
    "name-field-mismatch": Bad(
        wheel(),
        f"Filename {WHL!r} does not match the project name 'hello-moon'",
        {"name": "hello-moon"},
    ),
    "version-field-mismatch": Bad(
        wheel(), f"Filename {WHL!r} does not match the version '2.1'", {"version": "2.1"}
    ),
    "version-field-invalid": Bad(wheel(), "Invalid version 'two'", {"version": "two"}),
    "name-field-missing": Bad(
        wheel(), "Upload is missing the 'name' or 'version' field", {"name": None}
    ),
    "filetype-mismatch": Bad(
        wheel(), f"Invalid filetype 'sdist' for {WHL!r}", {"filetype": "sdist"}
    ),
    "sdist-name-field-mismatch": Bad(
        sdist(), f"Filename {TGZ!r} does not match the project name", {"name": "hello-moon"}
    ),
    "sdist-version-field-mismatch": Bad(
        sdist(), f"Filename {TGZ!r} does not match the version", {"version": "2.0.1"}
    ),
    "wheel-metadata-names-other-project": Bad(
        wheel(metadata_name="hello-moon"),
        f"The core metadata of {WHL!r} names hello-moon 2.0, which does not match",
    ),
    "wheel-metadata-names-other-version": Bad(
        wheel("2.0", filename="hello_world-2.1-py3-none-any.whl"),
        "The core metadata of 'hello_world-2.1-py3-none-any.whl' names hello-world 2.0",
        {"version": "2.1"},
    ),
    "sdist-pkg-info-names-other-version": Bad(
        named(TGZ, tar_gz(sdist_members("2.0", pkg_info_version="2.0.post1"))),
        f"The core metadata of {TGZ!r} names hello-world 2.0.post1",
    ),
    # Paths and tricks in the filename.
    "dotdot-slash": Bad(
        named("../evil-1.0.tar.gz", sdist()),
        invalid_filename("../evil-1.0.tar.gz"),
        {"name": "evil", "version": "1.0"},
        project="evil",
    ),
    "subfolder": Bad(
        named("a/b-1.0-py3-none-any.whl"),
        invalid_filename("a/b-1.0-py3-none-any.whl"),
        {"name": "b", "version": "1.0"},
        project="b",
    ),
    "backslash": Bad(
        named("a\\b-1.0-py3-none-any.whl"),
        "Invalid filename 'a\\\\b-1.0-py3-none-any.whl'",
        {"name": "b", "version": "1.0"},
        project="b",
    ),
    "dotdot-backslash": Bad(
        named("..\\evil-1.0.tar.gz", sdist()),
        "Invalid filename '..\\\\evil-1.0.tar.gz'",
        {"name": "evil", "version": "1.0"},
        project="evil",
    ),
    "leading-dot": Bad(named("." + WHL), invalid_filename("." + WHL)),
    "nul-byte": Bad(named(WHL + "\x00.tar.gz"), invalid_filename(WHL + "\x00.tar.gz")),
    "trailing-space": Bad(named(WHL + " "), invalid_filename(WHL + " ")),
    "cyrillic-lookalike": Bad(
        named("h\u0435llo_world-2.0-py3-none-any.whl"),
        invalid_filename("h\u0435llo_world-2.0-py3-none-any.whl"),
    ),
    "over-long": Bad(named(LONG), invalid_filename(LONG)),
    # Extensions that are neither a wheel nor an sdist (PEP 527).
    "exe": Bad(named("hello_world-2.0.exe"), "Invalid file extension: 'hello_world-2.0.exe'"),
    "egg": Bad(named("hello_world-2.0-py3.11.egg"), "Invalid file extension"),
    "zip": Bad(named("hello_world-2.0.zip"), "Invalid file extension"),
    "tar-bz2": Bad(named("hello_world-2.0.tar.bz2"), "Invalid file extension"),
    # Archives that are broken or try something.
    "wheel-random-bytes": Bad(
        named(WHL, os.urandom(4096)), f"Wheel {WHL!r} is not a valid zip archive"
    ),
    "wheel-truncated": Bad(truncated_wheel, f"Wheel {WHL!r} is not a valid zip archive"),
    "wheel-without-metadata": Bad(
        named(WHL, zip_bytes(without(wheel_members(), "/METADATA"))),
        f"Wheel {WHL!r} must hold exactly one .dist-info/METADATA, found 0",
    ),
    "wheel-two-metadata": Bad(
        named(
            WHL,
            zip_bytes(
                {**wheel_members(), "other-1.0.dist-info/METADATA": b"Name: other\nVersion: 1.0\n"}
            ),
        ),
        f"Wheel {WHL!r} must hold exactly one .dist-info/METADATA, found 2",
    ),
    "wheel-without-WHEEL": Bad(
        named(WHL, zip_bytes(without(wheel_members(), "/WHEEL"))),
        f"Wheel {WHL!r} has no .dist-info/WHEEL file",
    ),
    "wheel-absolute-member": Bad(
        named(WHL, zip_bytes({**wheel_members(), "/etc/cron.d/evil": b"* * * * * root sh\n"})),
        f"Archive {WHL!r} has a member that escapes its folder: '/etc/cron.d/evil'",
    ),
    "wheel-dotdot-member": Bad(
        named(WHL, zip_bytes({**wheel_members(), "hello_world/../../evil.pth": b"import os\n"})),
        f"Archive {WHL!r} has a member that escapes its folder",
    ),
    "wheel-linux-platform-tag": Bad(
        named(
            "hello_world-2.0-cp311-cp311-linux_x86_64.whl",
            zip_bytes(wheel_members(tag="cp311-cp311-linux_x86_64")),
        ),
        "unsupported platform tag 'linux_x86_64': use a manylinux or musllinux tag",
    ),
    "wheel-bad-filename": Bad(
        named("hello_world-2.0.whl"), "Invalid wheel filename 'hello_world-2.0.whl'"
    ),
    "sdist-not-gzip": Bad(
        named(TGZ, b"PK\x03\x04 this is not gzip" * 64),
        f"Sdist {TGZ!r} is not a valid .tar.gz archive",
    ),
    "sdist-dotdot-member": Bad(
        named(TGZ, tar_gz({**sdist_members(), "hello_world-2.0/../../evil.py": b"x = 1\n"})),
        f"Archive {TGZ!r} has a member that escapes its folder",
    ),
    "sdist-absolute-member": Bad(
        named(TGZ, tar_gz({"/tmp/evil.sh": b"rm -rf ~\n", **sdist_members()})),
        f"Archive {TGZ!r} has a member that escapes its folder: '/tmp/evil.sh'",
    ),
    "sdist-without-pkg-info": Bad(
        named(TGZ, tar_gz(without(sdist_members(), "/PKG-INFO"))),
        f"Sdist {TGZ!r} has no hello_world-2.0/PKG-INFO file",
    ),
    "sdist-bad-filename": Bad(
        named("helloworld.tar.gz", sdist()), "Invalid sdist filename 'helloworld.tar.gz'"
    ),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS.values()), ids=list(BAD_UPLOADS))
def test_bad_distribution_refused(index: Index, tmp_path: Path, case: Bad) -> None:
    """A bad digest, name, filename, extension or archive: 400, and nothing kept."""
    server = index.server
    filename, content = case.build(tmp_path)
    before = state(server)
    response = upload(server, filename, content, index.auth("demo"), case.fields)
    assert_refused(response, case.status, case.message)
    assert_nothing_stored(server, before, case.project, filename)


# ----------------------------------------------------------------- malformed requests


def _form(fields: dict[str, str], *files: tuple[str, str, bytes]) -> bytes:
    return multipart(fields, list(files))


GOOD_FIELDS = {
    ":action": "file_upload",
    "protocol_version": "1",
    "name": "hello-world",
    "version": "2.0",
    "sha256_digest": "0" * 64,
}
A_FILE = ("content", WHL, b"not inspected")
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

MALFORMED: dict[str, tuple[bytes, str, str]] = {
    "garbage-multipart": (
        b"\x82\x00 not multipart at all \xff" * 50,
        MULTIPART,
        "Invalid multipart data",
    ),
    "missing-boundary": (
        _form(GOOD_FIELDS, A_FILE),
        "multipart/form-data",
        "Missing boundary in multipart",
    ),
    "wrong-boundary": (
        multipart(GOOD_FIELDS, [A_FILE], boundary="another-boundary"),
        MULTIPART,
        "Invalid multipart data",
    ),
    "no-content-part": (_form(GOOD_FIELDS), MULTIPART, "Upload has no 'content' file part"),
    "content-not-a-file": (
        _form({**GOOD_FIELDS, "content": "PK\x03\x04"}),
        MULTIPART,
        "Upload has no 'content' file part",
    ),
    "two-files": (
        _form(GOOD_FIELDS, A_FILE, ("content", "x-1.0.tar.gz", b"x")),
        MULTIPART,
        "Too many files. Maximum number of files is 1",
    ),
    "wrong-action": (
        _form({**GOOD_FIELDS, ":action": "remove_pkg"}, A_FILE),
        MULTIPART,
        "Unsupported ':action' 'remove_pkg': only 'file_upload' is",
    ),
    "no-action": (
        _form({k: v for k, v in GOOD_FIELDS.items() if k != ":action"}, A_FILE),
        MULTIPART,
        "Unsupported ':action' None",
    ),
    "protocol-version-2": (
        _form({**GOOD_FIELDS, "protocol_version": "2"}, A_FILE),
        MULTIPART,
        "Unsupported 'protocol_version'",
    ),
    # Not a form at all: read as an empty form, so the first thing missing is named.
    "json-body": (
        json.dumps(GOOD_FIELDS).encode(),
        "application/json",
        "Expected a multipart/form-data upload",
    ),
    "urlencoded-body": (
        str(httpx.QueryParams(GOOD_FIELDS)).encode(),
        "application/x-www-form-urlencoded",
        "Expected a multipart/form-data upload",
    ),
}


@pytest.mark.parametrize(
    ("body", "content_type", "message"), MALFORMED.values(), ids=list(MALFORMED)
)
def test_malformed_request_refused(
    index: Index, body: bytes, content_type: str, message: str
) -> None:
    """A request twine would never send: 400 with what is wrong, and nothing kept."""
    server = index.server
    before = state(server)
    response = post(server, body, auth=index.auth("demo"), content_type=content_type)
    assert_refused(response, 400, message)
    assert_nothing_stored(server, before, "hello-world", WHL)


def test_get_on_upload_url_refused(index: Index) -> None:
    """Only POST uploads."""
    response = index.server.get("/legacy/", auth=index.auth("demo"))
    assert_refused(response, 405, "GET is not allowed on /legacy/")


@pytest.mark.parametrize("path", ["/", "/simple/", "/simple/hello-world/"])
def test_upload_to_another_url_is_told_the_upload_url(index: Index, path: str) -> None:
    """twine pointed at the front page or the Simple API: 405 and where to upload."""
    response = index.server.post(path, content=b"", auth=index.auth("demo"))
    assert_refused(response, 405, f"POST is not allowed on {path}")
    assert "upload with twine to http" in response.text and "/legacy/" in response.text


# ------------------------------------------------------------------------ credentials


def _basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


#: id -> (headers, message)
BAD_CREDENTIALS: dict[str, tuple[dict[str, str], str]] = {
    "missing": ({}, "needs credentials (HTTP Basic"),
    "bearer-scheme": ({"Authorization": "Bearer abc"}, "needs credentials (HTTP Basic"),
    "basic-not-base64": ({"Authorization": "Basic !!!"}, "Malformed Basic authorization header"),
    "basic-without-colon": (_basic(b"__token__"), "Malformed Basic authorization header"),
    "unknown-token": (_basic(b"__token__:endorse_" + b"A" * 43), "invalid or revoked API token"),
    "wrong-password": (_basic(b"bob:not-bobs-password"), "invalid username or password"),
    "unknown-user": (_basic(b"mallory:" + BOB_PASSWORD.encode()), "invalid username or password"),
    "empty-password": (_basic(b"bob:"), "invalid username or password"),
}


@pytest.mark.parametrize(
    ("headers", "message"), BAD_CREDENTIALS.values(), ids=list(BAD_CREDENTIALS)
)
def test_bad_credentials_refused(
    index: Index, tmp_path: Path, headers: dict[str, str], message: str
) -> None:
    """Missing, malformed or wrong credentials: 401 with a Basic challenge."""
    server = index.server
    path = make_wheel(tmp_path, "hello-world", "2.0")
    content = path.read_bytes()
    body = multipart(upload_fields(content, {}), [("content", path.name, content)])
    before = state(server)
    response = server.post("/legacy/", content=body, headers={"Content-Type": MULTIPART, **headers})
    assert_refused(response, 401, message)
    assert response.headers["WWW-Authenticate"] == 'Basic realm="endorse"'
    assert_nothing_stored(server, before, "hello-world", path.name)


def test_revoked_token_refused(index: Index, tmp_path: Path) -> None:
    """carol's token uploaded carol-project 1.0; once revoked it uploads nothing."""
    server = index.server
    path = make_wheel(tmp_path, "carol-project", "2.0")
    before = state(server)
    response = upload(
        server, path.name, path.read_bytes(), index.auth("revoked"), {"name": "carol-project"}
    )
    assert_refused(response, 401, "invalid or revoked API token")
    assert_nothing_stored(server, before, "carol-project", path.name)


# --------------------------------------------------------- rights on someone's project

#: id -> (credentials, declared name, wheel project, message); the version comes from the test.
NOT_ALLOWED: dict[str, tuple[str, str, str, str]] = {
    "other-users-project-token": (
        "bob-token",
        "hello-world",
        "hello-world",
        "user 'bob' is not an owner or maintainer of project 'hello-world'",
    ),
    "other-users-project-password": (
        "bob-password",
        "hello-world",
        "hello-world",
        "user 'bob' is not an owner or maintainer of project 'hello-world'",
    ),
    "other-users-project-unnormalised-name": (
        "bob-token",
        "Hello.World",
        "hello-world",
        "user 'bob' is not an owner or maintainer of project 'hello-world'",
    ),
    "token-scoped-to-other-project": (
        "scoped",
        "hello-world",
        "hello-world",
        "this API token is not scoped to project 'hello-world'",
    ),
    "scoped-token-creates-project": (
        "scoped",
        "brand-new-project",
        "brand-new-project",
        "A project-scoped token cannot create the new project 'brand-new-project'",
    ),
}


@pytest.mark.parametrize(
    ("who", "declared", "project", "message"), NOT_ALLOWED.values(), ids=list(NOT_ALLOWED)
)
def test_upload_rights_refused(
    index: Index, tmp_path: Path, who: str, declared: str, project: str, message: str
) -> None:
    """Authenticated but not allowed on this project: 403, nothing recorded.

    Blobs are checked in ``test_refused_upload_leaves_no_blob``.
    """
    server = index.server
    path = make_wheel(tmp_path, project, "3.0")
    before = state(server)
    response = upload(
        server, path.name, path.read_bytes(), index.auth(who), {"name": declared, "version": "3.0"}
    )
    assert_refused(response, 403, message)
    assert_nothing_recorded(server, before, project, path.name)


def test_rights_are_checked_before_the_filename(index: Index) -> None:
    """A token scoped to another project, uploading a file hello-world already has,
    is told it may not upload there, not "File already exists" (issue 12)."""
    server = index.server
    before = state(server)
    response = upload(
        server, index.wheel.name, index.wheel.read_bytes(), index.auth("scoped"),
        {"name": "hello-world", "version": "1.0"},
    )  # fmt: skip
    assert_refused(response, 403, "this API token is not scoped to project 'hello-world'")
    assert_nothing_recorded(server, before, "hello-world", None)


CONFUSABLES = ["he11o-world", "hel-lo-world", "hell0_w0rld", "HeLLo.Wor1d"]


@pytest.mark.parametrize("name", CONFUSABLES)
def test_confusable_project_name_refused(index: Index, tmp_path: Path, name: str) -> None:
    """A new name that folds to hello-world's confusable key is refused, not created.

    (``hello.world`` is not here: it normalises to hello-world itself, so it is
    a question of ownership, covered by ``test_upload_rights_refused``.)
    Blobs are checked in ``test_refused_upload_leaves_no_blob``.
    """
    server = index.server
    normalised = canonicalize_name(name)
    assert normalised != "hello-world"
    path = make_wheel(tmp_path, name, "1.0")
    before = state(server)
    response = upload(
        server, path.name, path.read_bytes(), index.auth("demo"), {"name": name, "version": "1.0"}
    )
    assert_refused(
        response,
        400,
        f"The name {normalised!r} is too similar to an existing project 'hello-world'",
    )
    assert_nothing_recorded(server, before, normalised, path.name)


BLOB_CASES = {
    "not-owner": ("bob-token", "hello-world", "9.1"),
    "token-scoped-to-other-project": ("scoped", "hello-world", "9.2"),
    "scoped-token-creates-project": ("scoped", "brand-new-project", "9.3"),
    "confusable-name": ("demo", "he11o-world", "9.4"),
}


@pytest.mark.parametrize(("who", "project", "version"), BLOB_CASES.values(), ids=list(BLOB_CASES))
def test_refused_upload_leaves_no_blob(
    index: Index, tmp_path: Path, who: str, project: str, version: str
) -> None:
    """A refusal decided when the upload is recorded must not leave bytes in the store."""
    server = index.server
    path = make_wheel(tmp_path, project, version)
    before = state(server)
    response = upload(
        server, path.name, path.read_bytes(), index.auth(who), {"name": project, "version": version}
    )
    assert response.status_code in {400, 403}, response.text
    assert state(server).blobs == before.blobs


# ---------------------------------------------------------------- twine: real client


@pytest.mark.parametrize("changed", [False, True], ids=["same-bytes", "different-bytes"])
def test_twine_reupload_refused(served_index: Index, tmp_path: Path, changed: bool) -> None:
    """An existing filename is never replaced: the signed file stays what it was."""
    index = served_index
    server = index.server
    original = index.wheel.read_bytes()
    path = (
        make_wheel(tmp_path, "hello-world", "1.0", payload="# other bytes")
        if changed
        else index.wheel
    )
    assert (path.read_bytes() != original) is changed
    before = state(server)
    output = twine(server, [path], "__token__", server.token)
    assert "400 Bad Request" in output
    assert f"File already exists ({path.name!r})" in output
    assert_nothing_stored(server, before, "hello-world", None)
    assert pending_projects(server) == 0
    assert listed(server, "hello-world")[path.name] == hashlib.sha256(original).hexdigest()  # type: ignore[index]
    served = server.get(f"/tuf/targets/{file_target(canonicalize_name('hello-world'), path.name)}")
    assert served.content == original


@pytest.mark.parametrize(
    ("version", "changed"), [("1.1", False), ("1.2", True)], ids=["same-bytes", "different-bytes"]
)
def test_twine_reupload_after_removal_refused(
    served_index: Index, tmp_path: Path, version: str, changed: bool
) -> None:
    """A removed file's name stays reserved for ever (PyPI's rule)."""
    index = served_index
    server = index.server
    path = make_wheel(tmp_path / "first", "hello-world", version)
    first = twine_upload(server, [path])
    assert first.returncode == 0, first.stdout + first.stderr
    server.admin("remove", "hello-world", "--file", path.name, "--yes")
    server.wait_published()
    if changed:
        path = make_wheel(tmp_path / "second", "hello-world", version, payload="# new bytes")
    before = state(server)
    output = twine(server, [path], "__token__", server.token)
    assert "400 Bad Request" in output
    assert f"File already exists ({path.name!r})" in output
    assert "even after it was removed" in output
    assert_nothing_stored(server, before, "hello-world", path.name)
    assert pending_projects(server) == 0


TWINE_BAD_CREDENTIALS: dict[str, tuple[str, Callable[[Index], str], str]] = {
    "unknown-token": ("__token__", lambda _: "endorse_" + "B" * 43, "invalid or revoked API token"),
    "revoked-token": ("__token__", lambda i: i.revoked_token, "invalid or revoked API token"),
    "wrong-password": ("bob", lambda _: "not-bobs-password", "invalid username or password"),
}


@pytest.mark.parametrize(
    ("username", "password", "message"),
    TWINE_BAD_CREDENTIALS.values(),
    ids=list(TWINE_BAD_CREDENTIALS),
)
def test_twine_bad_credentials_refused(
    served_index: Index,
    tmp_path: Path,
    username: str,
    password: Callable[[Index], str],
    message: str,
) -> None:
    """twine exits non-zero and shows the server's reason."""
    index = served_index
    server = index.server
    path = make_wheel(tmp_path, "hello-world", "4.0")
    before = state(server)
    output = twine(server, [path], username, password(index))
    assert "401 Unauthorized" in output
    assert message in output
    assert_nothing_stored(server, before, "hello-world", path.name)
    assert pending_projects(server) == 0


def test_twine_upload_to_someone_elses_project_refused(served_index: Index, tmp_path: Path) -> None:
    """bob's valid token cannot add a release to demo's project."""
    index = served_index
    server = index.server
    path = make_wheel(tmp_path, "hello-world", "4.1")
    before = state(server)
    output = twine(server, [path], "__token__", index.bob_token)
    assert "403 Forbidden" in output
    assert "user 'bob' is not an owner or maintainer of project 'hello-world'" in output
    assert_nothing_recorded(server, before, "hello-world", path.name)
    assert pending_projects(server) == 0


# --------------------------------------------------------------------------- size limit


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _big_wheel(folder: Path) -> tuple[str, bytes]:
    """A real wheel over the limit (random payload does not compress)."""
    path = make_wheel(folder, "big-project", "1.0", payload="# " + os.urandom(2 * SIZE_LIMIT).hex())
    return path.name, path.read_bytes()


def _far_over(_folder: Path) -> tuple[str, bytes]:
    """More than the limit plus the multipart allowance: refused before it is all read."""
    return "big_project-1.0-py3-none-any.whl", os.urandom(SIZE_LIMIT + FORM_OVERHEAD + 100_000)


@pytest.fixture(
    scope="module",
    params=["in-process", pytest.param("endorse-serve", marks=pytest.mark.subprocess)],
)
def limited_index(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """An index with a small upload limit, in this process and as a real ``endorse serve``
    (whose server may close the connection while a client still sends); shared by the
    size-limit cases, which store nothing."""
    folder = tmp_path_factory.mktemp(f"limited-{request.param}")
    server: Served
    if request.param == "in-process":
        server = InProcessIndex.start(folder / "index", max_upload_bytes=SIZE_LIMIT)
    else:
        env = server_env({"ENDORSE_MAX_UPLOAD_BYTES": str(SIZE_LIMIT)})
        server = IndexServer(folder / "index", env).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("build", "chunked"),
    [(_big_wheel, False), (_far_over, False), (_big_wheel, True), (_far_over, True)],
    ids=[
        "content-length-over-limit",
        "content-length-far-over-limit",
        "chunked-over-limit",
        "chunked-far-over-limit",
    ],
)
def test_oversized_upload_refused(
    limited_index: Served, tmp_path: Path, build: Build, chunked: bool
) -> None:
    """Past ENDORSE_MAX_UPLOAD_BYTES: 413, with or without an honest Content-Length."""
    server = limited_index
    filename, content = build(tmp_path)
    assert len(content) > SIZE_LIMIT
    body = multipart(
        upload_fields(content, {"name": "big-project", "version": "1.0"}),
        [("content", filename, content)],
    )
    before = state(server)
    try:
        response = post(
            server, _chunks(body) if chunked else body, auth=("__token__", server.token)
        )
    except httpx.TransportError:
        # The server answered 413 and closed the connection while the client was
        # still sending; some clients then see the closed socket, not the answer.
        assert build is _far_over
        assert_nothing_stored(server, before, "big-project", filename)
        return
    sent = response.request.headers
    if chunked:
        assert "content-length" not in sent
        assert sent["transfer-encoding"] == "chunked"
    else:
        assert sent["content-length"] == str(len(body))
    assert_refused(response, 413, f"File too large: the limit is {SIZE_LIMIT} bytes")
    assert_nothing_stored(server, before, "big-project", filename)


# ------------------------------------------------- accepted by mistake: own servers


@pytest.mark.parametrize(
    "wire_filename",
    [
        "C:\\Users\\me\\win_path-1.0-py3-none-any.whl",
        # A quoted-string escapes each backslash: this is \\server\share\... unquoted.
        "\\\\\\\\server\\\\share\\\\win_path-1.0-py3-none-any.whl",
    ],
    ids=["drive-letter", "unc"],
)
def test_windows_path_filename_refused(
    fresh_index: Callable[..., InProcessIndex], tmp_path: Path, wire_filename: str
) -> None:
    """A filename with a Windows path is refused like any other path.

    Own index: today the upload is accepted (as ``win_path-1.0-py3-none-any.whl``).
    """
    server = fresh_index()
    content = make_wheel(tmp_path, "win-path", "1.0").read_bytes()
    before = state(server)
    response = upload(
        server,
        wire_filename,
        content,
        ("__token__", server.token),
        {"name": "win-path", "version": "1.0"},
    )
    assert_refused(response, 400, "Invalid filename")
    assert_nothing_stored(server, before, "win-path", "win_path-1.0-py3-none-any.whl")


def test_upload_helpers_accept_a_good_upload(index: Index, tmp_path: Path) -> None:
    """Control: the hand-built request that every refusal above varies is accepted."""
    server = index.server
    path = make_wheel(tmp_path, "hello-world", "5.0")
    before = state(server)
    response = upload(
        server,
        path.name,
        path.read_bytes(),
        index.auth("demo"),
        {"version": "5.0", "filetype": "bdist_wheel"},
    )
    assert response.status_code == 200, response.text
    server.wait_published()
    after = state(server)
    # So the checks above can see a stored upload when there is one.
    assert after.rows["files"] == before.rows["files"] + 1
    assert after.rows["file_registry"] == before.rows["file_registry"] + 1
    assert any(blob.endswith(f".{path.name}") for blob in after.blobs - before.blobs)
    assert after.spooled == frozenset()
    assert path.name in (listed(server, "hello-world") or {})


def test_twine_to_the_front_page_is_told_the_upload_url(served_index: Index) -> None:
    server = served_index.server
    result = subprocess.run(
        [str(BIN / "twine"), "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.url}/", "-u", "__token__", "-p", server.token,
         str(served_index.wheel)],
        capture_output=True, text=True, timeout=300,
        env=tool_env({"COLUMNS": "1000"}),
    )  # fmt: skip
    output = re.sub(r"\x1b\[[0-9;]*m", "", " ".join((result.stdout + result.stderr).split()))
    assert result.returncode != 0 and "405 Method Not Allowed" in output
    assert "POST is not allowed on /" in output


def test_twine_shows_the_reason_without_verbose(served_index: Index) -> None:
    """twine prints a refused upload's status line, not its body: the message must be
    the reason phrase, as PyPI sends it (issue 12)."""
    server = served_index.server
    output = twine(server, [served_index.wheel], "__token__", server.token, verbose=False)
    assert "HTTPError: 400 Bad Request from" in output
    assert f"File already exists ({served_index.wheel.name!r})" in output
    answer = httpx.post(f"{server.url}/legacy/", content=b"x")
    assert answer.status_code == 401 and answer.reason_phrase.startswith("This needs credentials")
    assert "x-endorse-reason" not in answer.headers
