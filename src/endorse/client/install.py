"""``endorse install``: pip (or uv) through an in-process verifying proxy.

The proxy listens on a free port of 127.0.0.1 in a thread of this process;
the installer runs as a subprocess. It is started first, and endorse verifies
the index while the installer starts up (see :func:`run_install`); this
module imports nothing of the verifying side at import time for that reason.
The installer runs with only that proxy as its index and no
configuration of its own that could add another: pip with ``--isolated`` and
``PIP_CONFIG_FILE`` set to the null device (``--isolated`` alone still reads
the global and site configuration files), uv with ``UV_NO_CONFIG`` and
without its index variables. Arguments that would add an index, a find-links
location or a direct URL are refused before the installer starts, in the
command line and in every requirements file it names: they would fetch
files the proxy never sees.

The installer installs into the user's environment, chosen as pip and uv
choose it (:func:`target_environment`): ``--python`` if given, else the
active virtual environment (``VIRTUAL_ENV``, or a conda one), else the
``python3`` on ``PATH`` — never the interpreter endorse itself runs in, which
may be a pipx or server virtual environment.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from endorse.client.errors import VerificationFailed
from endorse.errors import ConfigError

if TYPE_CHECKING:
    from endorse.client.proxy import ProxyApp, Refusal
    from endorse.client.resolver import VerifiedTarget

__all__ = [
    "InstallResult",
    "Installer",
    "TargetEnvironment",
    "check_arguments",
    "installer_command",
    "installer_env",
    "run_install",
    "target_environment",
]

logger = logging.getLogger(__name__)

Installer = Literal["pip", "uv"]

#: Options that point an installer at another source of files.
_SOURCE_OPTIONS = (
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--index",
    "--default-index",
    "--trusted-host",
    "--allow-insecure-host",
)
_REQUIREMENT_FILE_OPTIONS = ("-r", "--requirement", "-c", "--constraint", "--requirements")
#: Environment variables of pip and uv that add a source of files.
_UV_SOURCE_VARIABLES = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_INSECURE_HOST",
    "UV_KEYRING_PROVIDER",
    "UV_OFFLINE",
)


@dataclass(frozen=True)
class TargetEnvironment:
    """The Python environment the installer installs into."""

    #: The interpreter (pip runs as ``PYTHON -m pip``, uv gets ``--python PYTHON``).
    python: str
    #: The environment's folder: a virtual environment's root, or the interpreter's prefix.
    prefix: Path
    #: Why this one, for people ("the active virtual environment (VIRTUAL_ENV)").
    chosen_by: str

    def describe(self) -> str:
        """``/home/a/.venv (the active virtual environment, VIRTUAL_ENV)``."""
        return f"{self.prefix} ({self.chosen_by})"

    def to_json(self) -> dict[str, str]:
        """For ``--json`` output."""
        return {"python": self.python, "prefix": str(self.prefix), "chosen_by": self.chosen_by}


def _bin_dir() -> str:
    return "Scripts" if os.name == "nt" else "bin"


def _environment_of(python: Path, chosen_by: str) -> TargetEnvironment:
    # A virtual environment is the folder above bin/ with a pyvenv.cfg; don't resolve
    # symlinks first: a venv's python links to the base interpreter.
    folder = python.parent.parent
    prefix = folder if (folder / "pyvenv.cfg").exists() else python.resolve().parent.parent
    return TargetEnvironment(str(python), prefix, chosen_by)


def target_environment(
    python: str | None, environ: Mapping[str, str] | None = None
) -> TargetEnvironment:
    """The environment to install into: ``--python``, else the active virtual
    environment, else the ``python3`` (or ``python``) on ``PATH``.

    ``python`` is an interpreter's path or name on ``PATH``, or a virtual
    environment's folder. Raises ConfigError when there is no such Python.
    """
    env = os.environ if environ is None else environ
    search_path = env.get("PATH")
    if python:
        candidate = Path(python).expanduser()
        if candidate.is_dir():
            candidate = candidate / _bin_dir() / "python"
        found = str(candidate) if candidate.is_file() else shutil.which(python, path=search_path)
        if found is None:
            raise ConfigError(
                f"--python {python!r} is not a Python interpreter or environment",
                hint="pass an interpreter (e.g. --python .venv/bin/python), a virtual "
                "environment's folder, or a name on PATH (python3.12)",
            )
        return _environment_of(Path(found), "--python")
    for variable, what in (("VIRTUAL_ENV", "virtual"), ("CONDA_PREFIX", "conda")):
        active = env.get(variable)
        if active:
            interpreter = Path(active) / _bin_dir() / "python"
            if not interpreter.exists():
                raise ConfigError(
                    f"the active {what} environment {active!r} ({variable}) has no "
                    f"{_bin_dir()}/python",
                    hint="activate a working environment, or pass --python",
                )
            return TargetEnvironment(
                str(interpreter), Path(active), f"the active {what} environment, {variable}"
            )
    for name in ("python3", "python"):
        found = shutil.which(name, path=search_path)
        if found is not None:
            return _environment_of(Path(found), f"{name} on PATH")
    raise ConfigError(
        "no Python to install into: no active virtual environment and no python3 on PATH",
        hint="activate a virtual environment, or pass --python /path/to/python",
    )


def _python_argument(installer: Installer, args: Sequence[str]) -> tuple[str | None, list[str]]:
    """An installer's own ``--python`` (pip wants it before ``install``), taken out of ``args``."""
    names = ("--python",) if installer == "pip" else ("--python", "-p")
    rest: list[str] = []
    python: str | None = None
    tokens = iter(args)
    for token in tokens:
        option, eq, value = token.partition("=")
        if option in names:
            python = value if eq else next(tokens, None)
            continue
        rest.append(token)
    return python, rest


@dataclass
class InstallResult:
    """What ``endorse install`` did."""

    installer: Installer
    returncode: int
    command: list[str]
    #: Where the installer installed (None: uv chose, with ``--system``).
    environment: TargetEnvironment | None = None
    #: The index or mirror the files came from.
    upstream: str = ""
    served: list[VerifiedTarget] = field(default_factory=list)
    unverified: dict[str, int] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    metadata_bytes: int = 0
    target_bytes: int = 0
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        """Whether verification or policy refused something the installer asked for."""
        return any(r.kind in ("verification", "policy") for r in self.refusals)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "installer": self.installer,
            "upstream": self.upstream,
            "returncode": self.returncode,
            "environment": self.environment.to_json() if self.environment else None,
            "metadata": self.status,
            "bytes": {"metadata": self.metadata_bytes, "targets": self.target_bytes},
            "seconds": round(self.seconds, 3),
            "files": [v.to_json() for v in self.served],
            "unverified": [{"target": p, "size": n} for p, n in self.unverified.items()],
            "refused": [r.to_json() for r in self.refusals],
        }


def _unsafe_argument(token: str, where: str) -> VerificationFailed:
    return VerificationFailed(
        f"{where}: {token!r} would make the installer fetch files the verifying proxy never sees",
        check="installer arguments",
        hint="remove it (endorse install sets the index itself), or pass "
        "--unsafely-disable-package-verification if you accept unverified files",
    )


def _is_direct_reference(token: str) -> bool:
    return "://" in token or token.startswith(("git+", "hg+", "svn+", "bzr+"))


def _check_tokens(tokens: Sequence[str], where: str, base: Path, seen: set[Path]) -> None:
    follow_next = False
    for token in tokens:
        if follow_next:
            follow_next = False
            _check_requirements_file(base / token, seen)
            continue
        option, eq, value = token.partition("=")
        if option in _SOURCE_OPTIONS or (
            token.startswith(("-i", "-f")) and not token.startswith("--") and len(token) > 2
        ):
            raise _unsafe_argument(token, where)
        if option in _REQUIREMENT_FILE_OPTIONS:
            if eq:
                _check_requirements_file(base / value, seen)
            else:
                follow_next = True
            continue
        if token.startswith(("-r", "-c")) and not token.startswith("--") and len(token) > 2:
            _check_requirements_file(base / token[2:], seen)
            continue
        if _is_direct_reference(token):
            raise _unsafe_argument(token, where)


def _check_requirements_file(path: Path, seen: set[Path]) -> None:
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    try:
        text = path.read_text()
    except OSError:
        return  # the installer reports a missing file itself
    joined = text.replace("\\\n", " ")
    for number, line in enumerate(joined.splitlines(), 1):
        stripped = line.split(" #", 1)[0].strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            tokens = shlex.split(stripped)
        except ValueError:
            tokens = stripped.split()
        _check_tokens(tokens, f"{path}:{number}", path.parent, seen)


def check_arguments(args: Sequence[str], cwd: Path | None = None) -> None:
    """Raise VerificationFailed for an argument that would bypass the proxy."""
    _check_tokens(list(args), "installer arguments", cwd or Path.cwd(), set())


def _uv_executable() -> str:
    beside = Path(sys.executable).parent / "uv"
    if beside.exists():
        return str(beside)
    found = shutil.which("uv")
    if found is None:
        raise VerificationFailed(
            "uv is not installed",
            check="installer",
            hint="install uv, or use --installer pip",
        )
    return found


def installer_command(
    installer: Installer,
    index_url: str,
    args: Sequence[str],
    environment: TargetEnvironment | None,
) -> list[str]:
    """The installer's command line, with the proxy as its only index.

    ``environment`` None is only for uv with ``--system`` among ``args``.
    """
    if installer == "pip":
        if environment is None:
            raise ValueError("pip needs an environment to run in")
        python = environment.python
        return [python, "-m", "pip", "install", "--isolated", "--index-url", index_url, *args]
    command = [_uv_executable(), "pip", "install", "--index-url", index_url]
    if environment is not None:
        command += ["--python", environment.python]
    return [*command, *args]


def installer_env(installer: Installer, environ: Mapping[str, str]) -> dict[str, str]:
    """The installer's environment: nothing that adds an index or bypasses localhost."""
    env = {k: v for k, v in environ.items() if not k.startswith("PIP_")}
    if installer == "pip":
        env["PIP_CONFIG_FILE"] = os.devnull
    else:
        env = {k: v for k, v in env.items() if k not in _UV_SOURCE_VARIABLES}
        env = {k: v for k, v in env.items() if not k.startswith("UV_INDEX_")}
        env["UV_NO_CONFIG"] = "1"
    no_proxy = [p for p in env.get("NO_PROXY", env.get("no_proxy", "")).split(",") if p]
    for host in ("127.0.0.1", "localhost"):
        if host not in no_proxy:
            no_proxy.append(host)
    env["NO_PROXY"] = env["no_proxy"] = ",".join(no_proxy)
    return env


def run_install(
    open_app: Callable[[], ProxyApp],
    installer: Installer,
    args: Sequence[str],
    *,
    unsafe: bool = False,
    environ: Mapping[str, str] | None = None,
    python: str | None = None,
    stdout: Any = None,
    port: int = 0,
) -> InstallResult:
    """Run the installer through the proxy of ``open_app()``; report what was served.

    The installer starts first, with the proxy's socket already listening, and
    ``open_app`` (importing the verifying side, refreshing and verifying the
    index's metadata) runs while the installer starts up: pip takes 0.3-0.4 s
    before its first request, and that request waits in the socket's backlog
    until the proxy serves. Nothing is answered before ``open_app`` returned.
    If it raises (the index did not verify), the installer is killed before it
    received a byte and the error propagates. ``unsafe`` must be what the app
    will be: arguments are checked before the installer starts.
    """
    if not unsafe:
        check_arguments(args)
    own_python, args = _python_argument(installer, args)
    environment = None
    if installer == "pip" or "--system" not in args or python or own_python:
        environment = target_environment(python or own_python, environ)
    started = time.monotonic()
    listener = socket.create_server(("127.0.0.1", port))
    index_url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
    command = installer_command(installer, index_url, args, environment)
    logger.info("running %s", shlex.join(command))
    process = subprocess.Popen(
        command,
        env=installer_env(installer, os.environ if environ is None else environ),
        stdout=stdout,
    )
    try:
        app = open_app()
        if app.unsafe != unsafe:
            raise ValueError("run_install(unsafe=...) must match the app it opens")
        from endorse.client.proxy import ProxyServer

        with ProxyServer(app, sock=listener):
            returncode = process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
    activity = app.activity
    session = app.index.current()
    return InstallResult(
        installer=installer,
        returncode=returncode,
        command=command,
        environment=environment,
        upstream=app.upstream.url,
        served=list(activity.served.values()),
        unverified=dict(activity.unverified),
        refusals=list(activity.refusals),
        status=session.status() if session is not None and not app.unsafe else {},
        # Since the index was opened: the refresh in open_app() counts.
        metadata_bytes=app.index.fetcher.metadata_bytes,
        target_bytes=app.index.fetcher.target_bytes,
        seconds=time.monotonic() - started,
    )
