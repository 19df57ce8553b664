#!/usr/bin/env python3
"""The verifying client against plain pip, from the same index, in the same run.

One ``endorse serve`` (signed, 16 bins unless ``--bins``) holds 20 projects x 3
versions with dependencies between them (``inst-00`` pulls in all 20, as in
``bench_vs_pypiserver.py``); the newest version of the first ``--claimed``
projects is developer-signed and moved into ``claimed`` by a signing event, so
the client walks both branches of the role tree. Then, interleaved, ``--reps``
times each (after one warm-up round):

* ``pip``: plain ``pip install --isolated --target T inst-00`` from the index's
  ``/simple/``, unverified, with pip's own cache empty (cold) or kept (warm);
* ``endorse install``: the real command (``--root`` pinned), which runs pip
  through an in-process verifying proxy, with the client cache (``metadata/``
  and verified files) and pip's cache empty (cold) or kept (warm);
* ``library``: the same install through ``endorse.client`` called from a short
  Python script, which shows what the verifying itself costs without the
  start-up of the ``endorse`` command (it imports every face of endorse).

Figures: median wall times, the ratios endorse / pip (targets: warm <= 1.15,
cold <= 1.5), and the metadata bytes per install the client downloads (from
``endorse install --json``). Results go to ``benchmarks/results/bench_client.json``.

    .venv/bin/python benchmarks/bench_client.py
    .venv/bin/python benchmarks/bench_client.py --reps 3 --bins 16384
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx

from _common import BIN, ENDORSE, start_endorse, summary, tool_env, wheel_bytes, write_result
from _upload import Item, upload_all

PROJECTS = 20
OLD_VERSIONS = ("1.0", "1.1")
NEW_VERSION = "2.0"

_LIBRARY_INSTALL = """
import json, sys
from pathlib import Path
from endorse.client.install import run_install
url, cache, root, *args = sys.argv[1:]

def open_app():
    from endorse.client import ClientCache, ProxyApp, RootPin, Upstream, VerifiedIndex
    upstream = Upstream.parse(url)
    index = VerifiedIndex(upstream, ClientCache.for_upstream(upstream, Path(cache)), RootPin(Path(root)))
    index.session()
    return ProxyApp(index, log_refusals=False)

result = run_install(open_app, "pip", args, python=sys.executable, stdout=sys.stderr)
print(json.dumps(result.to_json()))
sys.exit(result.returncode)
"""


def deps_of(i: int) -> list[str]:
    return [f"inst-{c:02d}>=1.0" for c in (2 * i + 1, 2 * i + 2) if c < PROJECTS]


def wheel_file(folder: Path, name: str, version: str, deps: list[str]) -> Path:
    filename, data = wheel_bytes(name, version, deps)
    path = folder / filename
    path.write_bytes(data)
    return path


def publish_world(url: str, token: str, data_dir: Path, work: Path, claimed: int) -> None:
    """Upload 1.0 and 1.1 of every project; 2.0 with a password, or signed by a developer."""
    from securesystemslib.signer import CryptoSigner

    from endorse.developer import IndexClient, build_release, sign_release

    items = []
    for i in range(PROJECTS):
        versions = OLD_VERSIONS if i < claimed else (*OLD_VERSIONS, NEW_VERSION)
        for v in versions:
            filename, data = wheel_bytes(f"inst-{i:02d}", v, deps_of(i))
            items.append(Item(f"inst-{i:02d}", v, filename, data))
    run = asyncio.run(upload_all(url + "/legacy/", items, clients=4, auth=("__token__", token)))
    if len(run.ok) != len(items):
        raise RuntimeError(
            f"uploads failed: {[t.error for t in run.timings if t.status != 200][:3]}"
        )
    if not claimed:
        return
    client = IndexClient(url, "__token__", token)
    signer = CryptoSigner.generate_ed25519()
    client.register_key(signer.public_key, label="bench")
    dist = work / "signed"
    dist.mkdir(exist_ok=True)
    for i in range(claimed):
        name = f"inst-{i:02d}"
        client.claim(name, maintainers=[], threshold=1)
        wheel = wheel_file(dist, name, NEW_VERSION, deps_of(i))
        md = build_release(client.project(name), [wheel], previous=None)
        sign_release(md, signer)
        client.submit_release(name, md.to_bytes(), [wheel])
    deadline = time.monotonic() + 120
    for i in range(claimed):
        while client.project(f"inst-{i:02d}")["claim"]["version"] < 1:
            if time.monotonic() > deadline:
                raise RuntimeError("signed releases were not published")
            time.sleep(0.2)
    signing_event(data_dir)


def signing_event(data_dir: Path) -> None:
    """Move the recently-claimed projects into claimed (the demo's offline key)."""
    from endorse.publisher.bootstrap import OFFLINE_KEYRING
    from endorse.publisher.keyring import Keyring
    from endorse.services.index import Services
    from endorse.settings import Settings

    services = Services.open(Settings(data_dir=data_dir))
    try:
        events = services.events
        status = events.prepare_claimed()
        keyring = Keyring.load(data_dir / "keys" / OFFLINE_KEYRING)
        events.add_signatures(
            status.id, keyring.add_signatures("claimed", events.metadata(status.id))
        )
        events.publish(status.id)
    finally:
        services.close()


def wait_listed(url: str, claimed: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for i in range(PROJECTS):
        while True:
            r = httpx.get(f"{url}/simple/inst-{i:02d}/", timeout=10)
            if r.status_code == 200 and f"-{NEW_VERSION}-py3" in r.text:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"inst-{i:02d} {NEW_VERSION} not listed after {timeout} s")
            time.sleep(0.2)
    # The move into claimed is published by the running publisher.
    while claimed and time.monotonic() < deadline:
        snapshot_version = httpx.get(f"{url}/tuf/metadata/timestamp.json").json()["signed"]["meta"][
            "snapshot.json"
        ]["version"]
        meta = httpx.get(f"{url}/tuf/metadata/{snapshot_version}.snapshot.json").json()["signed"][
            "meta"
        ]
        if f"p-inst-{claimed - 1:02d}.json" in meta:
            return
        time.sleep(0.2)
    if claimed:
        raise RuntimeError("the signing event was not published")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return elapsed, proc.stdout


def check_installed(target: Path) -> None:
    found = sorted(
        p.name for p in target.glob("inst_*") if p.is_dir() and not p.name.endswith(".dist-info")
    )
    if len(found) != PROJECTS:
        raise RuntimeError(f"installed {len(found)} of {PROJECTS} projects")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--reps", type=int, default=5, help="measured rounds (after one warm-up) [5]"
    )
    parser.add_argument("--bins", type=int, default=16, help="hashed bins of the index [16]")
    parser.add_argument(
        "--claimed", type=int, default=5, help="projects whose 2.0 is developer-signed [5]"
    )
    parser.add_argument(
        "--endorse", default="", help="command to run the index instead of `endorse` (a patch)"
    )
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--name", default="bench_client")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="endorse-bench-client-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"bench_client: {PROJECTS} projects ({args.claimed} claimed), {args.bins} bins, "
        f"{args.reps} reps; work in {work}",
        flush=True,
    )

    server = start_endorse(work / "index", bins=args.bins, command=args.endorse)
    try:
        publish_world(server.url, server.token, server.data_dir, work, args.claimed)
        wait_listed(server.url, args.claimed)
        root = work / "root.json"
        root.write_bytes(httpx.get(server.url + "/tuf/metadata/1.root.json").content)
        env = tool_env()
        warm = {
            "pip": work / "pip-cache-warm",
            "endorse": work / "client-cache-warm",
            "endorse-pip": work / "pip-cache-warm-e",
            "library": work / "client-cache-warm-lib",
        }
        times: dict[str, list[float]] = {}
        meta_bytes: dict[str, list[int]] = {}
        target_bytes: dict[str, list[int]] = {}
        levels: dict[str, int] = {}

        def run(kind: str, rep: int) -> None:
            cold = kind.endswith("cold")
            target = work / f"t-{kind}-{rep}"
            scratch = work / f"scratch-{kind}-{rep}"
            pip_cache = (
                str(scratch / "pip")
                if cold
                else str(warm["pip" if kind.startswith("pip") else "endorse-pip"])
            )
            pip_args = ["--quiet", "--target", str(target), "--cache-dir", pip_cache, "inst-00"]
            if kind.startswith("pip"):
                cmd = [str(BIN / "python"), "-m", "pip", "install", "--isolated", "--index-url",
                       server.url + "/simple/", *pip_args]  # fmt: skip
                elapsed, out = timed(cmd, env)
                report = None
            elif kind.startswith("endorse"):
                cache = scratch / "client" if cold else warm["endorse"]
                cmd = [ENDORSE, "install", "--index", server.url, "--root", str(root), "--json",
                       "--python", str(BIN / "python"),
                       "--cache-dir", str(cache), "--", *pip_args]  # fmt: skip
                elapsed, out = timed(cmd, env)
                report = json.loads(out)
            else:
                cache = scratch / "client" if cold else warm["library"]
                cmd = [
                    str(BIN / "python"),
                    "-c",
                    _LIBRARY_INSTALL,
                    server.url,
                    str(cache),
                    str(root),
                    *pip_args,
                ]
                elapsed, out = timed(cmd, env)
                report = json.loads(out)
            check_installed(target)
            shutil.rmtree(target, ignore_errors=True)
            shutil.rmtree(scratch, ignore_errors=True)
            if rep == 0:
                return
            times.setdefault(kind, []).append(elapsed)
            if report is not None:
                meta_bytes.setdefault(kind, []).append(report["bytes"]["metadata"])
                target_bytes.setdefault(kind, []).append(report["bytes"]["targets"])
                for f in report["files"]:
                    levels[f["filename"]] = f["trust"]

        kinds = [
            "pip-cold",
            "pip-warm",
            "endorse-cold",
            "endorse-warm",
            "library-cold",
            "library-warm",
        ]
        for rep in range(args.reps + 1):  # round 0 fills the warm caches and is not counted
            for kind in kinds:
                run(kind, rep)
            print(
                f"  round {rep}{' (warm-up)' if rep == 0 else ''}: "
                + ", ".join(f"{k} {times[k][-1]:.2f} s" for k in kinds if k in times and rep),
                flush=True,
            )
    finally:
        server.stop()

    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = {
        "warm": round(med["endorse-warm"] / med["pip-warm"], 3),
        "cold": round(med["endorse-cold"] / med["pip-cold"], 3),
    }
    library_ratio = {
        "warm": round(med["library-warm"] / med["pip-warm"], 3),
        "cold": round(med["library-cold"] / med["pip-cold"], 3),
    }
    metadata = {k: int(statistics.median(v)) for k, v in meta_bytes.items()}
    figures: dict[str, object] = {
        "wall_seconds": {k: summary(v) for k, v in times.items()},
        "ratio_endorse_install_vs_pip": ratio,
        "ratio_library_vs_pip": library_ratio,
        "metadata_bytes_per_install": metadata,
        "listing_and_file_bytes_per_install": {
            k: int(statistics.median(v)) for k, v in target_bytes.items()
        },
        "trust_levels": dict(sorted(levels.items())),
        "targets": {"warm": 1.15, "cold": 1.5},
    }
    startup = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([ENDORSE, "--version"], env=env, capture_output=True, check=True)
        startup.append(time.perf_counter() - t)
    figures["endorse_command_startup_seconds"] = summary(startup)
    library_import = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run(
            [str(BIN / "python"), "-c", "import endorse.client.proxy"],
            env=env,
            capture_output=True,
            check=True,
        )
        library_import.append(time.perf_counter() - t)
    figures["library_import_seconds"] = summary(library_import)
    path = write_result(
        args.name,
        {
            "projects": PROJECTS,
            "versions": [*OLD_VERSIONS, NEW_VERSION],
            "claimed": args.claimed,
            "bins": args.bins,
            "reps": args.reps,
            "index_command": args.endorse or "endorse",
        },
        figures,
    )
    for k in kinds:
        print(f"  {k:13s} median {med[k]:.3f} s")
    print(
        f"  endorse install / pip: warm {ratio['warm']}x, cold {ratio['cold']}x "
        "(targets 1.15x, 1.5x)"
    )
    print(f"  library / pip:         warm {library_ratio['warm']}x, cold {library_ratio['cold']}x")
    print(f"  metadata bytes per install: {metadata}")
    print(
        f"  start-up: endorse --version {statistics.median(startup):.3f} s, "
        f"python -c 'import endorse.client.proxy' {statistics.median(library_import):.3f} s"
    )
    print(f"  wrote {path}")


if __name__ == "__main__":
    main()
