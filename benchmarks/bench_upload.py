#!/usr/bin/env python3
"""Uploads per second end to end, and upload -> published latency, signed vs unsigned.

Starts ``endorse serve`` twice on fresh data folders of this machine, once
with TUF signing (the product) and once with ``--unsigned`` (the baseline:
same server, same publisher loop, no metadata), and posts the same number of
distinct small wheels from N concurrent httpx clients to each. endorse answers
an upload only once it is durable *and* published (``ENDORSE_UPLOAD_WAIT``),
so request latency is the upload -> published latency; an independent
observer measures it again from outside:

* signed: it polls ``timestamp.json`` and, on each new version, follows
  snapshot -> the file's hashed bin and checks that the bin lists the file;
* unsigned: it polls each pending file's PEP 691 Simple page.

Target (issue 3): signed throughput at least 1 / 1.5 of unsigned throughput.

    .venv/bin/python benchmarks/bench_upload.py     # 200 uploads, 16 clients, 16,384 bins
    .venv/bin/python benchmarks/bench_upload.py --bins 16 --uploads 100
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    EndorseServer,
    rss_mib,
    start_endorse,
    summary,
    wheel_bytes,
    write_result,
)
from _upload import Item, UploadRun, simple_observer, tuf_observer, upload_all

TARGET_RATIO = 1.5


def make_items(count: int, tag: str, versions: int) -> list[Item]:
    """``count`` distinct wheels: ``count // versions`` projects with ``versions`` each."""
    items = []
    for i in range(count):
        name = f"bench-{tag}-{i // versions:05d}"
        version = f"1.0.{i % versions}"
        filename, data = wheel_bytes(name, version)
        items.append(Item(name, version, filename, data))
    return items


def batches_since(data_dir: Path, first_id: int) -> dict[str, float]:
    """What the publisher did in the measured window (read from its SQLite file)."""
    con = sqlite3.connect(data_dir / "endorse.sqlite3")
    try:
        rows = con.execute(
            "SELECT started, finished, projects FROM batches WHERE id > ? ORDER BY id", (first_id,)
        ).fetchall()
    finally:
        con.close()
    from datetime import datetime

    durations = [
        (datetime.fromisoformat(f) - datetime.fromisoformat(s)).total_seconds()
        for s, f, _ in rows
        if f
    ]
    sizes = [p for _, _, p in rows]
    return {
        "batches": len(rows),
        "mean_projects_per_batch": round(sum(sizes) / len(sizes), 2) if sizes else 0,
        "batch_seconds": summary(durations),
    }


def wait_published(base: str, items: list[Item], timeout: float = 300) -> None:
    """Until every item is listed (with ENDORSE_UPLOAD_WAIT=0 the answer comes first).

    The first batch of a new repository also records the state of every
    online role (at 16,384 bins it reads every bin), which must not fall into
    the measured window.
    """
    import httpx

    deadline = time.monotonic() + timeout
    for item in items:
        while True:
            r = httpx.get(f"{base}/simple/{item.name}/", timeout=30)
            if r.status_code == 200 and item.filename in r.text:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"warm-up upload {item.filename} not published after {timeout} s"
                )
            time.sleep(0.1)


def last_batch_id(data_dir: Path) -> int:
    con = sqlite3.connect(data_dir / "endorse.sqlite3")
    try:
        return int(con.execute("SELECT coalesce(max(id), 0) FROM batches").fetchone()[0])
    finally:
        con.close()


def run_mode(
    mode: str,
    work: Path,
    args: argparse.Namespace,
    round_no: int,
) -> dict[str, object]:
    """One server; a throughput phase (no observer) and a latency phase (observer)."""
    signed = mode == "signed"
    data_dir = work / f"{mode}-{round_no}"
    started = time.perf_counter()
    env = {"ENDORSE_UPLOAD_WAIT": str(args.upload_wait)}
    server = start_endorse(
        data_dir, bins=args.bins, unsigned=not signed, env=env, command=args.endorse
    )
    startup = time.perf_counter() - started
    auth = ("__token__", server.token)
    phases: dict[str, dict[str, object]] = {}
    try:
        # Warm-up: the first batch seeds the publisher's role state; not measured.
        warm = make_items(args.warmup, f"w{mode[0]}{round_no}", 1)
        asyncio.run(upload_all(server.url + "/legacy/", warm, clients=1, auth=auth))
        wait_published(server.url, warm)
        wanted = {"both": ["throughput", "latency"], "off": ["throughput"], "on": ["latency"]}[
            args.observe
        ]
        for phase in wanted:
            first_batch = last_batch_id(data_dir)
            items = make_items(args.uploads, f"{mode[0]}{phase[0]}{round_no}", args.versions)
            observer, obs_stats = None, {}
            if phase == "latency":
                observer, obs_stats = (
                    tuf_observer(server.url, poll=args.poll)
                    if signed
                    else simple_observer(server.url, poll=args.poll)
                )
            profiler = None
            if args.py_spy and phase == "throughput":
                out = (
                    work.parent / f"profile-{mode}-{round_no}.txt"
                    if args.work is None
                    else work / f"profile-{mode}-{round_no}.txt"
                )
                profiler = start_py_spy(args.py_spy, server, out)
            run: UploadRun = asyncio.run(
                upload_all(
                    server.url + "/legacy/",
                    items,
                    clients=args.clients,
                    auth=auth,
                    observer=observer,
                )
            )
            if profiler is not None:
                stop_py_spy(profiler)
            ok = run.ok
            failures = [t for t in run.timings if t.status != 200]
            observed = [t.observed - t.start for t in ok if t.observed is not None]
            phases[phase] = {
                "uploads_ok": len(ok),
                "uploads_failed": len(failures),
                "failure_samples": [f"{t.status} {t.error}" for t in failures[:5]],
                "wall_seconds": round(run.wall, 3),
                "uploads_per_second": round(len(ok) / run.wall, 2) if run.wall else 0,
                "request_latency_seconds": summary([t.end - t.start for t in ok]),
                "observed_publish_latency_seconds": summary(observed),
                "observed_count": len(observed),
                "observer": ("timestamp.json -> snapshot -> bin" if signed else "Simple JSON page")
                if observer
                else "off",
                "observer_stats": obs_stats,
                "publisher": batches_since(data_dir, first_batch),
            }
        rss = rss_mib(server.process.pid) if server.process else None
    finally:
        server.stop()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    main_phase = phases.get("throughput") or phases["latency"]
    lat_phase = phases.get("latency") or phases["throughput"]
    return {
        "mode": mode,
        "round": round_no,
        "server_startup_seconds": round(startup, 2),
        "uploads_per_second": main_phase["uploads_per_second"],
        # Request latency without the observer's extra load; observed latency needs it.
        "request_latency_seconds": main_phase["request_latency_seconds"],
        "observed_publish_latency_seconds": lat_phase["observed_publish_latency_seconds"],
        "request_latency_with_observer_seconds": lat_phase["request_latency_seconds"],
        "server_rss_mib_after": rss,
        "phases": phases,
    }


def summarise(results: list[dict[str, object]]) -> dict[str, object]:
    """Mean uploads/s per mode, their ratio, and the latencies of each mode's median round."""

    def rows(mode: str) -> list[dict[str, object]]:
        return [r for r in results if r["mode"] == mode]

    def mean_rate(mode: str) -> float:
        rates = [float(r["uploads_per_second"]) for r in rows(mode)]  # type: ignore[arg-type]
        return sum(rates) / len(rates)

    def median_round(mode: str, phase: str, key: str) -> dict[str, float]:
        # Each phase keeps only a summary of its latencies: quote the round with the
        # median throughput, so that one unlucky round does not decide the figure.
        ordered = sorted(rows(mode), key=lambda r: float(r["uploads_per_second"]))  # type: ignore[arg-type]
        chosen = ordered[(len(ordered) - 1) // 2]
        phases = chosen["phases"]  # type: ignore[index]
        return phases.get(phase, {}).get(key, {})  # type: ignore[union-attr,no-any-return]

    unsigned_rate, signed_rate = mean_rate("unsigned"), mean_rate("signed")
    ratio = unsigned_rate / signed_rate if signed_rate else float("inf")
    figures: dict[str, object] = {
        "unsigned_uploads_per_second": round(unsigned_rate, 2),
        "signed_uploads_per_second": round(signed_rate, 2),
        "slowdown_unsigned_over_signed": round(ratio, 3),
        "target_slowdown_max": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
    }
    for mode in ("signed", "unsigned"):
        figures[f"{mode}_request_latency_seconds"] = median_round(
            mode, "throughput", "request_latency_seconds"
        )
        figures[f"{mode}_observed_publish_latency_seconds"] = median_round(
            mode, "latency", "observed_publish_latency_seconds"
        )
        figures[f"{mode}_request_latency_with_observer_seconds"] = median_round(
            mode, "latency", "request_latency_seconds"
        )
    figures["runs"] = results
    return figures


def start_py_spy(py_spy: str, server: EndorseServer, out: Path) -> subprocess.Popen[bytes]:
    """Sample the server (all threads) while the measured uploads run."""
    assert server.process is not None
    proc = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--rate",
            "200",
            "--format",
            "raw",
            "--threads",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    print(f"  py-spy sampling the signed server into {out}", flush=True)
    return proc


def stop_py_spy(proc: subprocess.Popen[bytes]) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--bins", type=int, default=16384, help="hashed bins of both repositories")
    parser.add_argument(
        "--versions", type=int, default=1, help="files per project (1: every upload a new project)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="alternate unsigned/signed this many times"
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument(
        "--upload-wait", type=float, default=30.0, help="ENDORSE_UPLOAD_WAIT of the servers"
    )
    parser.add_argument("--poll", type=float, default=0.02, help="observer poll interval (s)")
    parser.add_argument(
        "--observe",
        choices=["both", "on", "off"],
        default="both",
        help="both: a throughput phase without and a latency phase with the observer, "
        "on the same server",
    )
    parser.add_argument("--py-spy", default="", help="path of py-spy: sample the signed server")
    parser.add_argument(
        "--endorse",
        default="",
        help="command to run instead of `endorse` (to measure a proposed change)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data folders")
    parser.add_argument("--work", type=Path, default=None, help="folder for data dirs [temp]")
    parser.add_argument("--name", default="bench_upload", help="result file name")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="endorse-bench-upload-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"bench_upload: {args.uploads} uploads from {args.clients} clients, {args.bins} bins, "
        f"{args.rounds} round(s); work in {work}",
        flush=True,
    )
    results: list[dict[str, object]] = []
    for round_no in range(1, args.rounds + 1):
        for mode in ("unsigned", "signed"):
            r = run_mode(mode, work, args, round_no)
            results.append(r)
            for phase, p in r["phases"].items():  # type: ignore[union-attr]
                lat, obs = p["request_latency_seconds"], p["observed_publish_latency_seconds"]
                print(
                    f"  {mode:8s} round {round_no} {phase:10s}: "
                    f"{p['uploads_per_second']:7.2f} uploads/s "
                    f"({p['uploads_ok']} ok, {p['uploads_failed']} failed, {p['wall_seconds']} s); "
                    f"request p50 {lat.get('p50')} p99 {lat.get('p99')} s; "
                    f"observed published p50 {obs.get('p50')} p99 {obs.get('p99')} s "
                    f"({p['observed_count']} seen); {p['publisher']['batches']} batches",
                    flush=True,
                )

    figures = summarise(results)
    unsigned_rate = float(figures["unsigned_uploads_per_second"])  # type: ignore[arg-type]
    signed_rate = float(figures["signed_uploads_per_second"])  # type: ignore[arg-type]
    ratio = float(figures["slowdown_unsigned_over_signed"])  # type: ignore[arg-type]
    path = write_result(
        args.name,
        {
            "uploads": args.uploads,
            "clients": args.clients,
            "bins": args.bins,
            "files_per_project": args.versions,
            "rounds": args.rounds,
            "warmup_uploads": args.warmup,
            "upload_wait": args.upload_wait,
            "observer_poll_seconds": args.poll,
            "observe": args.observe,
            "endorse_command": args.endorse or "endorse",
            "wheel_bytes": len(wheel_bytes("bench-x-00000", "1.0.0")[1]),
        },
        figures,
    )
    print(
        f"signed {signed_rate:.2f} uploads/s vs unsigned {unsigned_rate:.2f} uploads/s: "
        f"signing costs {ratio:.2f}x "
        f"(target <= {TARGET_RATIO}x: {'MET' if ratio <= TARGET_RATIO else 'MISSED'})"
    )
    print(f"wrote {path}")
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
