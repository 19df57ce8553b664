#!/usr/bin/env python3
"""Time to back-sign an existing index: ``import_directory`` of many small wheels.

Generates synthetic tiny wheels (setup, not measured: stored zips built in
memory, written by worker processes), initialises a demo repository with
PEP 458's 16,384 hashed bins, then runs the library's bulk import
(``endorse.services.publishing.import_directory``, what ``endorse admin
import`` calls) and reports files/s and its two phases:

* checking and storing: every file is inspected (name, version, archive,
  core metadata), copied into the blob store with its PEP 658 metadata, and
  recorded in the database in chunks;
* signing: the publisher turns all of it into listings, hashed bins,
  snapshot and timestamp, in batches of ``batch_max`` projects.

The baseline, in the same process, is the same import into an unsigned
index (``tuf_enabled=False``): identical checking and storing, publishing
without metadata. Its difference to the signed run is the cost of TUF.

    .venv/bin/python benchmarks/bench_backsign.py      # 100,000 files, 10,000 projects
    .venv/bin/python benchmarks/bench_backsign.py --files 10000 --projects 1000
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import logging
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import wheel_bytes, write_result
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import import_directory
from endorse.settings import Settings


def _write_projects(args: tuple[Path, int, int, int]) -> int:
    folder, first, last, versions = args
    count = 0
    for p in range(first, last):
        sub = folder / f"{p // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        for v in range(versions):
            filename, data = wheel_bytes(f"bs-{p:06d}", f"1.0.{v}")
            (sub / filename).write_bytes(data)
            count += 1
    return count


def generate(folder: Path, projects: int, versions: int, jobs: int) -> int:
    """Write ``projects * versions`` wheels below ``folder`` (in parallel)."""
    step = max(1, projects // (jobs * 8))
    chunks = [(folder, i, min(projects, i + step), versions) for i in range(0, projects, step)]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return sum(pool.map(_write_projects, chunks))


class Phases:
    """Progress callback that notes when each stage of the import starts and ends."""

    def __init__(self, echo_every: float = 15.0) -> None:
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.echo_every = echo_every
        self._echoed = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        self.first.setdefault(stage, now)
        self.last[stage] = now
        self.count[stage] = done
        if now - self._echoed > self.echo_every:
            self._echoed = now
            print(f"    {stage}: {done}/{total}", flush=True)


def run_import(
    data_dir: Path, wheels: Path, *, bins: int, signed: bool, batch_max: int, profile: Path | None
) -> dict[str, object]:
    settings = Settings(
        data_dir=data_dir,
        bin_count=bins,
        tuf_enabled=signed,
        batch_max=batch_max,
        password_memory_kib=256,
        password_iterations=1,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unsigned baseline warns, as it should
        services = Services.open(settings)
    try:
        init_seconds = 0.0
        if signed:
            t = time.perf_counter()
            ensure_repository(services)
            init_seconds = time.perf_counter() - t
        phases = Phases()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        result = import_directory(services, wheels, progress=phases)
        if profiler:
            profiler.disable()
        total = time.perf_counter() - started
    finally:
        services.close()
    storing_end = phases.last.get("checking and storing", started)
    signing = total - (storing_end - started)
    out: dict[str, object] = {
        "mode": "signed" if signed else "unsigned",
        "repository_init_seconds": round(init_seconds, 2),
        "imported": result.imported,
        "skipped": len(result.skipped),
        "batches": result.batches,
        "total_seconds": round(total, 2),
        "files_per_second": round(result.imported / total, 1) if total else 0,
        "checking_and_storing_seconds": round(storing_end - started, 2),
        "publishing_seconds": round(signing, 2),
        "store_bytes": _du(data_dir / "store"),
        "metadata_files": _count(data_dir / "store" / "metadata"),
    }
    if profiler and profile:
        profiler.dump_stats(profile)
        buf = io.StringIO()
        stats = pstats.Stats(profiler, stream=buf).sort_stats("cumulative")
        stats.print_stats(30)
        buf.write("\n---- by own time ----\n")
        stats.sort_stats("tottime").print_stats(25)
        profile.with_suffix(".txt").write_text(buf.getvalue())
        out["profile"] = str(profile)
    return out


def _du(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def _count(folder: Path) -> int:
    try:
        return sum(1 for _ in os.scandir(folder))
    except OSError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=None, help="[files / 10]")
    parser.add_argument("--bins", type=int, default=16384)
    parser.add_argument(
        "--batch-max", type=int, default=Settings.batch_max, help="ENDORSE_BATCH_MAX"
    )
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, help="processes generating wheels"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the unsigned baseline import"
    )
    parser.add_argument(
        "--cprofile", type=Path, default=None, help="write a cProfile of the signed import here"
    )
    parser.add_argument("--work", type=Path, default=None, help="folder for wheels and data [temp]")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--name", default="bench_backsign")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    projects = args.projects or max(1, args.files // 10)
    versions = max(1, args.files // projects)
    work = args.work or Path(tempfile.mkdtemp(prefix="endorse-bench-backsign-"))
    wheels = work / "wheels"
    print(
        f"bench_backsign: {projects * versions} files ({projects} projects x {versions}), "
        f"{args.bins} bins; work in {work}"
    )
    t = time.perf_counter()
    if wheels.exists():
        count = sum(1 for _ in wheels.rglob("*.whl"))
        print(f"  reusing {count} wheels in {wheels}")
    else:
        count = generate(wheels, projects, versions, args.jobs)
    gen_seconds = time.perf_counter() - t
    print(f"  setup: {count} wheels in {gen_seconds:.1f} s (not measured)", flush=True)

    runs: list[dict[str, object]] = []
    modes = [True] if args.no_baseline else [False, True]
    for signed in modes:
        data_dir = work / ("data-signed" if signed else "data-unsigned")
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"  importing ({'signed' if signed else 'unsigned baseline'}) ...", flush=True)
        r = run_import(
            data_dir,
            wheels,
            bins=args.bins,
            signed=signed,
            batch_max=args.batch_max,
            profile=args.cprofile if signed else None,
        )
        runs.append(r)
        print(
            f"  {r['mode']:8s}: {r['imported']} files in {r['total_seconds']} s = "
            f"{r['files_per_second']} files/s (checking+storing "
            f"{r['checking_and_storing_seconds']} s, publishing/signing "
            f"{r['publishing_seconds']} s, {r['batches']} batches; "
            f"repository init {r['repository_init_seconds']} s)",
            flush=True,
        )
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    signed_run = runs[-1]
    figures: dict[str, object] = {
        "files": signed_run["imported"],
        "signed_total_seconds": signed_run["total_seconds"],
        "signed_files_per_second": signed_run["files_per_second"],
        "signed_checking_and_storing_seconds": signed_run["checking_and_storing_seconds"],
        "signed_signing_seconds": signed_run["publishing_seconds"],
        "repository_init_seconds": signed_run["repository_init_seconds"],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "runs": runs,
    }
    if len(runs) == 2:
        base = runs[0]
        figures["unsigned_total_seconds"] = base["total_seconds"]
        figures["unsigned_files_per_second"] = base["files_per_second"]
        figures["unsigned_publishing_seconds"] = base["publishing_seconds"]
        figures["slowdown_signed_over_unsigned"] = round(
            float(signed_run["total_seconds"]) / float(base["total_seconds"]),
            2,  # type: ignore[arg-type]
        )
    path = write_result(
        args.name,
        {
            "files": count,
            "projects": projects,
            "files_per_project": versions,
            "bins": args.bins,
            "batch_max": args.batch_max,
            "wheel_bytes": len(wheel_bytes("bs-000000", "1.0.0")[1]),
            "generation_seconds_not_measured": round(gen_seconds, 1),
        },
        figures,
    )
    print(f"wrote {path}")
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
