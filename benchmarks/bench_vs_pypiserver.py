#!/usr/bin/env python3
"""endorse against pypiserver, the unsigned index a user would pick instead.

Same machine, same run, same files, same clients:

1. uploads/s: N distinct small wheels posted by C concurrent httpx clients
   (twine's protocol) to pypiserver's ``/`` and to endorse's ``/legacy/``.
   endorse answers only once the file is durable and signed metadata covering
   it is published; pypiserver once the file is written.
2. ``pip install`` wall time: 20 projects (3 versions each, dependencies
   between them: ``inst-00`` pulls in all 20) installed with
   ``pip install --target <fresh dir> --no-cache-dir`` from each index,
   interleaved, a few repetitions, median. ``uv pip install`` is timed the same
   way as context (uv spends less time in itself, so the index shows more).
3. Simple API requests/s (context): concurrent GETs of project pages.

pypiserver runs with ``--server auto`` (what ``pip install pypiserver``
gives: wsgiref unless paste, cherrypy or twisted is importable) and, when
``--waitress-path`` points at an installed ``waitress`` (or it is importable),
also as ``pypiserver.app(...)`` served by waitress with 8 threads (its docs'
production set-up; pypiserver 2's ``--server`` no longer offers waitress).

Target (issue 3): endorse no slower than pypiserver at serving installs.

    .venv/bin/python benchmarks/bench_vs_pypiserver.py
    .venv/bin/python benchmarks/bench_vs_pypiserver.py --waitress-path /tmp/tools-waitress --reps 7
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from _common import (
    BIN,
    Server,
    start_endorse,
    start_pypiserver,
    start_pypiserver_waitress,
    summary,
    tool_env,
    wheel_bytes,
    write_result,
)
from _upload import Item, upload_all

PROJECTS = 20
VERSIONS = ("1.0", "1.1", "2.0")


def install_set() -> list[Item]:
    """20 projects x 3 versions; inst-i depends on inst-(2i+1) and inst-(2i+2) when they exist."""
    items = []
    for i in range(PROJECTS):
        deps = [f"inst-{c:02d}>=1.0" for c in (2 * i + 1, 2 * i + 2) if c < PROJECTS]
        for v in VERSIONS:
            filename, data = wheel_bytes(f"inst-{i:02d}", v, deps)
            items.append(Item(f"inst-{i:02d}", v, filename, data))
    return items


def upload_set(count: int, tag: str) -> list[Item]:
    items = []
    for i in range(count):
        name = f"up-{tag}-{i:05d}"
        filename, data = wheel_bytes(name, "1.0.0")
        items.append(Item(name, "1.0.0", filename, data))
    return items


def upload_url(kind: str, base: str) -> str:
    return base + ("/legacy/" if kind.startswith("endorse") else "/")


def run_uploads(
    kind: str, server: Server, token: str, items: list[Item], clients: int
) -> dict[str, object]:
    auth = ("__token__", token) if token else ("bench", "bench")
    run = asyncio.run(upload_all(upload_url(kind, server.url), items, clients=clients, auth=auth))
    ok = run.ok
    failed = [t for t in run.timings if t.status != 200]
    return {
        "uploads_ok": len(ok),
        "uploads_failed": len(failed),
        "failure_samples": [f"{t.status} {t.error}" for t in failed[:3]],
        "wall_seconds": round(run.wall, 3),
        "uploads_per_second": round(len(ok) / run.wall, 2) if run.wall else 0,
        "request_latency_seconds": summary([t.end - t.start for t in ok]),
    }


def wait_listed(base: str, timeout: float) -> None:
    """Until every install-set project page lists all its versions (no-wait variant)."""
    deadline = time.monotonic() + timeout
    for i in range(PROJECTS):
        while True:
            r = httpx.get(f"{base}/simple/inst-{i:02d}/", timeout=10)
            if r.status_code == 200 and all(f"-{v}-py3" in r.text for v in VERSIONS):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"inst-{i:02d} not fully listed at {base} after {timeout} s")
            time.sleep(0.1)


def pip_install(index: str, target: Path) -> float:
    cmd = [
        str(BIN / "python"), "-m", "pip", "install", "--isolated", "--no-cache-dir", "--no-input",
        "--disable-pip-version-check", "--quiet", "--target", str(target),
        "--index-url", index, "inst-00",
    ]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, env=tool_env(), capture_output=True, text=True, timeout=300, check=False
    )
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"pip install from {index} failed: {proc.stderr[-2000:]}")
    installed = sorted(
        p.name for p in target.glob("inst_*") if p.is_dir() and not p.name.endswith(".dist-info")
    )
    if len(installed) != PROJECTS:
        raise RuntimeError(f"pip installed {len(installed)} of {PROJECTS} projects from {index}")
    return elapsed


def uv_install(index: str, target: Path) -> float | None:
    uv = BIN / "uv"
    if not uv.exists():
        return None
    cmd = [
        str(uv), "pip", "install", "--no-cache", "--quiet", "--python", str(BIN / "python"),
        "--target", str(target), "--index-url", index, "inst-00",
    ]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(
        cmd,
        env=tool_env({"UV_NO_CACHE": "1"}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"uv pip install from {index} failed: {proc.stderr[-2000:]}")
    return elapsed


async def simple_rps(base: str, names: list[str], requests: int, clients: int) -> float:
    """Requests/s of concurrent Simple API project-page GETs (HTML, as pip asks)."""
    async with httpx.AsyncClient(
        timeout=60, limits=httpx.Limits(max_connections=clients)
    ) as client:
        queue = list(range(requests))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                r = await client.get(f"{base}/simple/{names[i % len(names)]}/")
                if r.status_code != 200:
                    raise RuntimeError(f"GET /simple/{names[i % len(names)]}/ -> {r.status_code}")

        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        return requests / (time.perf_counter() - t)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5, help="pip installs per index (median)")
    parser.add_argument("--simple-requests", type=int, default=1000)
    parser.add_argument(
        "--endorse-bins", type=int, action="append", default=None, help="[16 and 16384]"
    )
    parser.add_argument(
        "--waitress-path", default="", help="a folder with waitress installed (pip --target)"
    )
    parser.add_argument("--no-uv", action="store_true")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.05,
        help="endorse counts as no slower within this fraction of pypiserver's median [0.05]",
    )
    parser.add_argument(
        "--no-wait-variant",
        action="store_true",
        help="also run endorse (16 bins) with ENDORSE_UPLOAD_WAIT=0 "
        "(answers once durable, before publication)",
    )
    parser.add_argument(
        "--endorse",
        default="",
        help="command to run instead of `endorse` (to measure a proposed change)",
    )
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--name", default="bench_vs_pypiserver")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="endorse-bench-vs-pypiserver-"))
    work.mkdir(parents=True, exist_ok=True)
    bins_list = args.endorse_bins or [16, 16384]
    print(
        f"bench_vs_pypiserver: {args.uploads} uploads from {args.clients} clients; "
        f"pip install of {PROJECTS} projects x {args.reps}; work in {work}",
        flush=True,
    )

    servers: dict[str, tuple[Server, str]] = {}
    try:
        packages = work / "pypiserver-auto"
        packages.mkdir()
        servers["pypiserver (auto)"] = (
            start_pypiserver(packages, work / "pypiserver-auto.log"),
            "",
        )
        waitress_ok = False
        probe = subprocess.run(
            [str(BIN / "python"), "-c", "import waitress"],
            env=tool_env({"PYTHONPATH": args.waitress_path} if args.waitress_path else None),
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            packages_w = work / "pypiserver-waitress"
            packages_w.mkdir()
            servers["pypiserver (waitress)"] = (
                start_pypiserver_waitress(
                    packages_w, work / "pypiserver-waitress.log", pythonpath=args.waitress_path
                ),
                "",
            )
            waitress_ok = True
        for bins in bins_list:
            srv = start_endorse(work / f"endorse-{bins}", bins=bins, command=args.endorse)
            servers[f"endorse ({bins} bins)"] = (srv, srv.token)
        if args.no_wait_variant:
            srv = start_endorse(
                work / "endorse-nowait",
                bins=16,
                command=args.endorse,
                env={"ENDORSE_UPLOAD_WAIT": "0"},
            )
            servers["endorse (16 bins, no upload wait)"] = (srv, srv.token)
        print(
            "  servers: " + ", ".join(f"{k} {s.url}" for k, (s, _t) in servers.items()), flush=True
        )

        # 1. uploads
        uploads: dict[str, dict[str, object]] = {}
        for i, (kind, (srv, token)) in enumerate(servers.items()):
            uploads[kind] = run_uploads(
                kind, srv, token, upload_set(args.uploads, f"u{i}"), args.clients
            )
            u = uploads[kind]
            print(
                f"  uploads  {kind:22s}: {u['uploads_per_second']:7.2f} /s ({u['uploads_ok']} ok, "
                f"{u['uploads_failed']} failed); p50 {u['request_latency_seconds'].get('p50')} s",  # type: ignore[union-attr]
                flush=True,
            )

        # 2. the install set, uploaded to each index (endorse answers once published)
        for kind, (srv, token) in servers.items():
            r = run_uploads(kind, srv, token, install_set(), 4)
            if r["uploads_failed"]:
                raise RuntimeError(
                    f"could not upload the install set to {kind}: {r['failure_samples']}"
                )
            wait_listed(srv.url, timeout=60)
        installs: dict[str, list[float]] = {k: [] for k in servers}
        uv_installs: dict[str, list[float]] = {k: [] for k in servers}
        for rep in range(args.reps + 1):  # rep 0 warms up and is not counted
            for kind, (srv, _token) in servers.items():
                index = srv.url + "/simple/"
                target = work / f"target-{rep}-{abs(hash(kind))}"
                elapsed = pip_install(index, target)
                shutil.rmtree(target, ignore_errors=True)
                if not args.no_uv:
                    uv_t = uv_install(index, target)
                    shutil.rmtree(target, ignore_errors=True)
                    if rep and uv_t is not None:
                        uv_installs[kind].append(uv_t)
                if rep:
                    installs[kind].append(elapsed)
            print(f"  pip install rep {rep}{' (warm-up)' if rep == 0 else ''} done", flush=True)

        # 3. Simple API throughput (context)
        names = [f"inst-{i:02d}" for i in range(PROJECTS)]
        rps = {
            kind: round(asyncio.run(simple_rps(srv.url, names, args.simple_requests, 8)), 1)
            for kind, (srv, _t) in servers.items()
        }
    finally:
        for srv, _token in servers.values():
            srv.stop()

    pip_median = {k: round(statistics.median(v), 3) for k, v in installs.items()}
    uv_median = {k: round(statistics.median(v), 3) for k, v in uv_installs.items() if v}
    pypi_kinds = [k for k in servers if k.startswith("pypiserver")]
    endorse_kinds = [k for k in servers if k.startswith("endorse")]
    best_pypi = min(pip_median[k] for k in pypi_kinds)
    verdicts = {k: pip_median[k] <= best_pypi * (1 + args.tolerance) for k in endorse_kinds}
    for kind in servers:
        print(
            f"  {kind:22s}: pip install median {pip_median[kind]:.3f} s "
            f"(runs {', '.join(f'{x:.2f}' for x in installs[kind])})"
            + (f"; uv {uv_median[kind]:.3f} s" if kind in uv_median else "")
            + f"; uploads {uploads[kind]['uploads_per_second']} /s; Simple API {rps[kind]} req/s"
        )
    figures = {
        "uploads_per_second": {k: v["uploads_per_second"] for k, v in uploads.items()},
        "pip_install_median_seconds": pip_median,
        "uv_install_median_seconds": uv_median,
        "simple_api_requests_per_second": rps,
        "pip_install_runs_seconds": {k: [round(x, 3) for x in v] for k, v in installs.items()},
        "uv_install_runs_seconds": {k: [round(x, 3) for x in v] for k, v in uv_installs.items()},
        "target": "endorse pip install median <= fastest pypiserver pip install median "
        f"(+{args.tolerance:.0%} noise)",
        "target_met": verdicts,
        "pip_install_ratio_endorse_over_fastest_pypiserver": {
            k: round(pip_median[k] / best_pypi, 3) for k in endorse_kinds
        },
        "uploads": uploads,
    }
    path = write_result(
        args.name,
        {
            "uploads": args.uploads,
            "clients": args.clients,
            "install_projects": PROJECTS,
            "install_versions_per_project": len(VERSIONS),
            "reps": args.reps,
            "tolerance": args.tolerance,
            "simple_requests": args.simple_requests,
            "endorse_bins": bins_list,
            "endorse_command": args.endorse or "endorse",
            "pypiserver_waitress": waitress_ok,
            "pip": subprocess.run(
                [str(BIN / "python"), "-m", "pip", "--version"],
                capture_output=True,
                text=True,
                check=False,
                env=tool_env(),
            ).stdout.strip(),
        },
        figures,
    )
    for kind, met in verdicts.items():
        print(
            f"{kind}: pip install {pip_median[kind]:.3f} s vs pypiserver {best_pypi:.3f} s: "
            f"ratio {pip_median[kind] / best_pypi:.3f}: {'MET' if met else 'MISSED'} "
            f"(no slower, {args.tolerance:.0%} tolerance)"
        )
    print(f"wrote {path}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
