#!/usr/bin/env python3
"""Run every benchmark one after the other (they share 2 cores: never in parallel).

    .venv/bin/python benchmarks/run_all.py            # full size, about 50 minutes
    .venv/bin/python benchmarks/run_all.py --quick    # small sizes, about 5 minutes

Each script writes its own ``benchmarks/results/<name>.json``; ``--quick``
writes ``<name>-quick.json`` so that full-size results are not overwritten.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL: list[list[str]] = [
    ["bench_upload.py", "--rounds", "2"],
    ["bench_upload.py", "--rounds", "2", "--bins", "16", "--name", "bench_upload_16bins"],
    ["bench_vs_pypiserver.py", "--reps", "9", "--no-wait-variant"],
    ["bench_metadata_bytes.py"],
    ["bench_backsign.py"],
]
QUICK: list[list[str]] = [
    ["bench_upload.py", "--uploads", "60", "--clients", "8", "--bins", "1024",
     "--name", "bench_upload-quick"],
    ["bench_vs_pypiserver.py", "--uploads", "60", "--reps", "2", "--endorse-bins", "16",
     "--simple-requests", "200", "--name", "bench_vs_pypiserver-quick"],
    ["bench_metadata_bytes.py", "--config", "1024:20000:2000", "--config", "16:20000:2000",
     "--real-files", "200", "--samples", "3", "--name", "bench_metadata_bytes-quick"],
    ["bench_backsign.py", "--files", "5000", "--bins", "1024", "--name", "bench_backsign-quick"],
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--only", action="append", default=None, help="run only scripts whose name contains this"
    )
    parser.add_argument("--waitress-path", default="", help="passed to bench_vs_pypiserver.py")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.only:
        plan = [p for p in plan if any(o in p[0] for o in args.only)]
    failed = []
    for argv in plan:
        cmd = [sys.executable, str(HERE / argv[0]), *argv[1:]]
        if args.waitress_path and argv[0] == "bench_vs_pypiserver.py":
            cmd += ["--waitress-path", args.waitress_path]
        print(f"\n=== {' '.join(argv)}", flush=True)
        t = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"=== {argv[0]} exited {rc} after {time.perf_counter() - t:.0f} s", flush=True)
        if rc:
            failed.append(argv[0])
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
