"""Shared pieces of the benchmark scripts: machine facts, result files, servers, wheels.

Benchmarks are scripts, not tests. Each one writes
``benchmarks/results/<name>.json`` with its parameters, the machine, the date
and its figures, so that every number quoted in ``docs/performance.md`` can be
traced to a file and a command.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
BIN = Path(sys.executable).parent
ENDORSE = str(BIN / "endorse")

#: Cheap Argon2id (upload tokens do not use it, the demo account does).
FAST_ACCOUNT_ENV = {"ENDORSE_PASSWORD_MEMORY_KIB": "256", "ENDORSE_PASSWORD_ITERATIONS": "1"}


# -- machine and results --------------------------------------------------------


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        mem_gib = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "nproc": os.cpu_count(),
        # Other work on the machine skews every figure: the load when the result was written.
        "load_average_1_5_15m_at_end": load,
        "cpu_model": cpu,
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
    }


def write_result(
    name: str, parameters: dict[str, object], figures: dict[str, object], **extra: object
) -> Path:
    """Write ``results/<name>.json`` atomically and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": parameters,
        "figures": figures,
        **extra,
    }
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / max / mean of a list of seconds, rounded to ms."""
    if not values:
        return {}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 4),
        "p90": round(percentile(values, 90), 4),
        "p99": round(percentile(values, 99), 4),
        "max": round(max(values), 4),
        "mean": round(statistics.fmean(values), 4),
    }


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for pip / uv / twine: none of this machine's pip or uv settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "ENDORSE_"))}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_NO_INPUT": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_NO_CONFIG": "1",
        }
    )
    env.update(extra or {})
    return env


def server_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for ``endorse serve``: no stray ENDORSE_* settings of the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENDORSE_")}
    env.update(FAST_ACCOUNT_ENV)
    env.update(extra or {})
    return env


# -- servers ------------------------------------------------------------------------


@dataclass
class Server:
    """A server subprocess on 127.0.0.1 that this script started (and alone stops)."""

    argv: list[str]
    env: dict[str, str]
    log_path: Path
    url: str = ""
    process: subprocess.Popen[str] | None = None

    def stop(self) -> None:
        """SIGTERM our own process, then SIGKILL it if it lingers."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@dataclass
class EndorseServer(Server):
    """``endorse serve`` with its own data folder."""

    data_dir: Path = field(default_factory=Path)
    token: str = ""


def start_endorse(
    data_dir: Path,
    *,
    bins: int = 16,
    unsigned: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    command: str = "",
    extra_args: Sequence[str] = (),
) -> EndorseServer:
    """Start ``endorse serve --port 0`` and wait for its address line and the token.

    ``command`` replaces the ``endorse`` executable (for instance
    ``"python /path/to/patched_endorse.py"`` to measure a proposed change).
    """
    import shlex

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    exe = shlex.split(command) if command else [ENDORSE]
    argv = [*exe, "serve", "--port", "0", "--data-dir", str(data_dir), "--bins", str(bins)]
    if unsigned:
        argv.append("--unsigned")
    argv.extend(extra_args)
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    server = EndorseServer(argv, server_env(env), log_path, data_dir=data_dir)
    log = log_path.open("a")
    server.process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=log, text=True, env=server.env
    )
    try:
        line = _first_line(server.process, timeout)
        if "serving on" not in line:
            raise RuntimeError(f"endorse serve did not start (see {log_path}): {line!r}")
        server.url = line.split("serving on", 1)[1].strip()
        if unsigned:
            # No demo repository (and so no demo token) without TUF: make a token.
            server.token = _bench_token(data_dir)
        else:
            creds = data_dir / "DEMO-CREDENTIALS.txt"
            for row in creds.read_text().splitlines():
                if row.startswith("password:"):
                    server.token = row.split(":", 1)[1].strip()
        _wait_http(server.url + "/health", timeout=30)
    except BaseException:
        server.stop()  # never leave a server behind
        raise
    return server


def _bench_token(data_dir: Path) -> str:
    """An upload token of a ``bench`` user, made through the library."""
    import secrets
    import warnings

    from endorse.services.index import Services
    from endorse.settings import Settings

    settings = Settings(
        data_dir=data_dir, tuf_enabled=False, password_memory_kib=256, password_iterations=1
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        services = Services.open(settings)
    try:
        if "bench" not in services.accounts.list_users():
            services.accounts.create_user("bench", secrets.token_urlsafe(18))
        return services.accounts.create_token("bench", description="benchmark")
    finally:
        services.close()


def start_pypiserver(
    packages: Path,
    log_path: Path,
    *,
    server: str = "auto",
    pythonpath: str = "",
    timeout: float = 60,
) -> Server:
    """Start pypiserver (no auth, no PyPI fallback) on a free port of 127.0.0.1."""
    port = free_port()
    argv = [
        str(BIN / "pypi-server"),
        "run",
        "-p",
        str(port),
        "-i",
        "127.0.0.1",
        "-a",
        ".",
        "-P",
        ".",
        "--disable-fallback",
        "--server",
        server,
        str(packages),
    ]
    env = tool_env({"PYTHONPATH": pythonpath} if pythonpath else None)
    srv = Server(argv, env, log_path, url=f"http://127.0.0.1:{port}")
    log = log_path.open("a")
    srv.process = subprocess.Popen(argv, stdout=log, stderr=log, text=True, env=env)
    try:
        _wait_http(srv.url + "/health", timeout=timeout, process=srv.process)
    except BaseException:
        srv.stop()
        raise
    return srv


_WAITRESS_LAUNCHER = """
import sys
import pathlib
import pypiserver
import waitress

app = pypiserver.app(
    roots=[pathlib.Path(sys.argv[1])], authenticate=[], password_file=".", disable_fallback=True
)
waitress.serve(app, host="127.0.0.1", port=int(sys.argv[2]), threads=int(sys.argv[3]), _quiet=True)
"""


def start_pypiserver_waitress(
    packages: Path, log_path: Path, *, pythonpath: str = "", threads: int = 8, timeout: float = 60
) -> Server:
    """pypiserver's WSGI app under waitress (its docs' production set-up), no auth, no fallback.

    pypiserver 2.x's own ``--server`` choices no longer include waitress, so
    the app is built with ``pypiserver.app(...)`` and served by ``waitress.serve``.
    """
    port = free_port()
    argv = [str(BIN / "python"), "-c", _WAITRESS_LAUNCHER, str(packages), str(port), str(threads)]
    env = tool_env({"PYTHONPATH": pythonpath} if pythonpath else None)
    srv = Server(argv, env, log_path, url=f"http://127.0.0.1:{port}")
    log = log_path.open("a")
    srv.process = subprocess.Popen(argv, stdout=log, stderr=log, text=True, env=env)
    try:
        _wait_http(srv.url + "/health", timeout=timeout, process=srv.process)
    except BaseException:
        srv.stop()
        raise
    return srv


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    holder: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        holder.append(proc.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return holder[0] if holder else ""


def _wait_http(url: str, *, timeout: float, process: subprocess.Popen[str] | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout} s")


# -- distributions -------------------------------------------------------------------


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_bytes(name: str, version: str, deps: Iterable[str] = ()) -> tuple[str, bytes]:
    """A valid pure-Python wheel (filename, bytes), built in memory.

    Same content as ``tests/packages.make_wheel`` but stored, not deflated, and
    never touching the disk, so that 100,000 of them take seconds.
    """
    dist = name.lower().replace("-", "_").replace(".", "_")
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {d}" for d in deps]
    files: dict[str, bytes] = {
        f"{dist}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist}-{version}.dist-info/METADATA": ("\n".join(meta) + "\n\n").encode(),
        f"{dist}-{version}.dist-info/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: endorse-bench\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_path = f"{dist}-{version}.dist-info/RECORD"
    record = "\n".join(_record_line(p, d) for p, d in files.items()) + f"\n{record_path},,\n"
    files[record_path] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as wheel:
        for member, data in files.items():
            wheel.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue()


def write_wheel(folder: Path, name: str, version: str, deps: Iterable[str] = ()) -> Path:
    """Write ``wheel_bytes`` into ``folder`` and return the path."""
    filename, data = wheel_bytes(name, version, deps)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_bytes(data)
    return path


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
