#!/usr/bin/env python3
"""Metadata bytes a fresh, unmodified ``tuf.ngclient`` downloads to verify one file.

For each configuration ``BINS:FILES:PROJECTS`` it builds a repository, serves
it with ``endorse serve --no-publisher`` and runs a fresh ngclient ``Updater``
(empty metadata folder, bootstrapped with ``1.root.json``) against it, once
per sample file, counting the bytes of every metadata fetch per role (root,
timestamp, snapshot, targets, claimed, recently-claimed, unclaimed, bin).

How the repository is filled (stated in the result file too):

1. real files: ``--real-files`` tiny wheels are imported with the library's
   bulk import (``import_directory``), so every sampled file, its listing and
   its bins are what endorse itself publishes;
2. padding to scale: synthetic targets of ``PROJECTS`` projects with
   ``FILES`` files in total are added to every hashed bin through endorse's
   own ``StoredRepository`` (signed with the online bins key), followed by a
   new snapshot and timestamp. Each padding project has its files (a share
   ``--wheel-share`` of them wheels, each with a PEP 658 ``.metadata``
   target), and its two listings, under endorse's path scheme
   (``prefix/name/file``), so the bins hold what a PyPI-sized endorse index
   would put in them. Target sizes and hashes are synthetic.

The defaults measure PEP 458's 16,384 bins at PyPI's scale (600,000
projects, 6.5 million files), a mid-sized index of 100,000 files with 16,384
and with 16 bins (context), and print the figures.

    .venv/bin/python benchmarks/bench_metadata_bytes.py
    .venv/bin/python benchmarks/bench_metadata_bytes.py \\
        --config 16384:100000:10000 --config 16:100000:10000
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tuf.api.metadata import TargetFile, Targets
from tuf.ngclient import Updater, UpdaterConfig, Urllib3Fetcher

from _common import start_endorse, write_result, write_wheel
from endorse.clock import SystemClock
from endorse.metadata.layout import bin_names
from endorse.metadata.paths import core_metadata_target, file_target, listing_target
from endorse.metadata.roles import UNCLAIMED
from endorse.metadata.trust import TrustLevel, trust_custom
from endorse.publisher.repository import StoredRepository
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import import_directory, online_keyring
from endorse.settings import Settings

ROLE_ORDER = [
    "root",
    "timestamp",
    "snapshot",
    "targets",
    "claimed",
    "recently-claimed",
    "unclaimed",
    "bin",
]


class CountingFetcher(Urllib3Fetcher):
    """The stock urllib3 fetcher, counting the bytes of each URL it fetches."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[tuple[str, int]] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        count = 0
        try:
            for chunk in super()._fetch(url):
                count += len(chunk)
                yield chunk
        finally:
            self.fetched.append((url, count))


def role_of(url: str) -> str:
    """The role a metadata URL belongs to (bins folded into ``bin``)."""
    name = url.rsplit("/", 1)[1].removesuffix(".json")
    parts = name.split(".", 1)
    role = parts[1] if len(parts) == 2 and parts[0].isdigit() else name
    return "bin" if role.startswith("bin-") else role


# -- building the repository -----------------------------------------------------------------


def padding_targets(
    files: int, projects: int, wheel_share: float
) -> Iterator[tuple[str, TargetFile]]:
    """Targets of synthetic projects, as endorse lays them out (files, .metadata, listings)."""
    per_project, extra = divmod(files, projects)
    tags = ["py3-none-any", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64"]
    custom = {"custom": trust_custom(TrustLevel.INDEX_SIGNED)}
    for p in range(projects):
        name = f"pad-{p:06d}"
        dist = name.replace("-", "_")
        count = per_project + (1 if p < extra else 0)
        for v in range(count):
            h = hashlib.sha256(f"{name}/{v}".encode()).digest()
            size = 2_000 + int.from_bytes(h[:3], "big") * 8
            if (v + p) % 100 < wheel_share * 100:
                filename = f"{dist}-1.{v}.0-{tags[(p + v) % 2]}.whl"
                path = file_target(name, filename)  # type: ignore[arg-type]
                yield path, TargetFile(size, {"sha256": h.hex()}, path, dict(custom))
                core = core_metadata_target(name, filename)  # type: ignore[arg-type]
                yield (
                    core,
                    TargetFile(600 + h[3] * 4, {"sha256": hashlib.sha256(h).hexdigest()}, core),
                )
            else:
                filename = f"{dist}-1.{v}.0.tar.gz"
                path = file_target(name, filename)  # type: ignore[arg-type]
                yield path, TargetFile(size, {"sha256": h.hex()}, path, dict(custom))
        for fmt in ("html", "json"):
            path = listing_target(name, fmt)  # type: ignore[arg-type]
            lh = hashlib.sha256(path.encode()).hexdigest()
            yield path, TargetFile(300 + count * 350, {"sha256": lh}, path)


def build_repository(
    data_dir: Path,
    work: Path,
    bins: int,
    files: int,
    projects: int,
    real_files: int,
    wheel_share: float,
) -> dict[str, object]:
    settings = Settings(
        data_dir=data_dir, bin_count=bins, password_memory_kib=256, password_iterations=1
    )
    info: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        services = Services.open(settings)
    try:
        t = time.perf_counter()
        ensure_repository(services)
        info["init_seconds"] = round(time.perf_counter() - t, 1)
        # 1. real files through the bulk import.
        wheels = work / f"real-{real_files}"
        if not wheels.exists():
            real_projects = max(1, real_files // 10)
            for i in range(real_files):
                write_wheel(wheels, f"real-{i % real_projects:05d}", f"1.0.{i // real_projects}")
        keyring = online_keyring(services)
        t = time.perf_counter()
        result = import_directory(services, wheels)
        info["real_files_imported"] = result.imported
        info["import_seconds"] = round(time.perf_counter() - t, 1)
        # 2. padding targets, written into every bin by endorse's StoredRepository.
        pad_files = max(0, files - real_files)
        pad_projects = max(0, projects - max(1, real_files // 10))
        if pad_files and pad_projects:
            t = time.perf_counter()
            repo = StoredRepository(services.store, keyring, settings.expiry, SystemClock())
            repo.load()
            unclaimed = repo.open(UNCLAIMED).signed
            assert isinstance(unclaimed, Targets)
            assert (
                unclaimed.delegations is not None
                and unclaimed.delegations.succinct_roles is not None
            )
            succinct = unclaimed.delegations.succinct_roles
            buckets: dict[str, list[tuple[str, TargetFile]]] = defaultdict(list)
            n = 0
            for path, target in padding_targets(pad_files, pad_projects, wheel_share):
                buckets[succinct.get_role_for_target(path)].append((path, target))
                n += 1
            info["padding_targets"] = n
            info["padding_generate_seconds"] = round(time.perf_counter() - t, 1)
            t = time.perf_counter()
            names = bin_names(unclaimed)
            for i, role in enumerate(names, 1):
                with repo.edit_targets(role) as bin_targets:
                    bin_targets.targets.update(buckets.pop(role, []))
                # StoredRepository keeps every role it wrote in memory; a benchmark
                # that writes all bins at PyPI scale must let them go.
                repo._md.pop(role, None)
                if i % 2048 == 0:
                    print(f"    padded {i}/{len(names)} bins", flush=True)
            repo.do_snapshot()
            repo.do_timestamp()
            info["padding_write_seconds"] = round(time.perf_counter() - t, 1)
        sizes = sorted(
            p.stat().st_size
            for p in (data_dir / "store" / "metadata").glob("*.bin-*.json")
            if _newest(p)
        )
        info["bin_bytes_min_median_max"] = (
            [sizes[0], sizes[len(sizes) // 2], sizes[-1]] if sizes else []
        )
    finally:
        services.close()
    return info


def _newest(path: Path) -> bool:
    """Whether ``V.bin-x.json`` is the highest version of that bin on disk (cheap check)."""
    version, _, role = path.name.partition(".")
    return not (path.parent / f"{int(version) + 1}.{role}").exists()


# -- measuring ---------------------------------------------------------------------------------


def sample_files(data_dir: Path, count: int) -> list[tuple[str, str]]:
    """(target path of a real wheel, target path of its JSON listing) for ``count`` projects."""
    import sqlite3

    con = sqlite3.connect(data_dir / "endorse.sqlite3")
    try:
        rows = con.execute(
            "SELECT p.name, f.filename FROM files f JOIN projects p ON p.id = f.project_id "
            "WHERE p.name LIKE 'real-%' GROUP BY p.id ORDER BY p.id LIMIT ?",
            (count,),
        ).fetchall()
    finally:
        con.close()
    return [(file_target(n, f), listing_target(n, "json")) for n, f in rows]


def measure(url: str, root: bytes, target_paths: list[str], work: Path) -> dict[str, object]:
    """A fresh Updater fetches what it needs to verify ``target_paths``; bytes per role."""
    meta_dir = Path(tempfile.mkdtemp(dir=work, prefix="client-"))
    targets_dir = meta_dir / "targets"
    targets_dir.mkdir()
    fetcher = CountingFetcher()
    updater = Updater(
        metadata_dir=str(meta_dir),
        metadata_base_url=url + "/tuf/metadata/",
        target_base_url=url + "/tuf/targets/",
        target_dir=str(targets_dir),
        fetcher=fetcher,
        config=UpdaterConfig(),
        bootstrap=root,
    )
    t = time.perf_counter()
    updater.refresh()
    metadata_done = len(fetcher.fetched)
    for path in target_paths:
        info = updater.get_targetinfo(path)
        if info is None:
            raise RuntimeError(f"ngclient found no target {path!r}")
    lookup_done = len(fetcher.fetched)
    for path in target_paths[:1]:
        info = updater.get_targetinfo(path)
        assert info is not None
        updater.download_target(info)
    seconds = time.perf_counter() - t
    per_role: Counter[str] = Counter()
    fetches: Counter[str] = Counter()
    metadata_urls = fetcher.fetched[:lookup_done]
    for u, n in metadata_urls:
        per_role[role_of(u)] += n
        fetches[role_of(u)] += 1
    target_bytes = sum(n for _u, n in fetcher.fetched[lookup_done:])
    shutil.rmtree(meta_dir, ignore_errors=True)
    return {
        "targets": target_paths,
        "metadata_bytes_total": sum(per_role.values()),
        "root_bootstrap_bytes": len(root),
        "metadata_bytes_total_with_root": sum(per_role.values()) + len(root),
        "metadata_bytes_per_role": {r: per_role.get(r, 0) for r in ROLE_ORDER},
        "fetches_per_role": {r: fetches.get(r, 0) for r in ROLE_ORDER},
        "top_level_fetches": metadata_done,
        "target_file_bytes": target_bytes,
        "seconds": round(seconds, 3),
    }


def run_config(spec: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    bins, files, projects = (int(x) for x in spec.split(":"))
    data_dir = work / f"repo-{bins}-{files}"
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"  {spec}: building ({bins} bins, {files} files, {projects} projects) ...", flush=True)
    t = time.perf_counter()
    build = build_repository(
        data_dir, work, bins, files, projects, args.real_files, args.wheel_share
    )
    build["build_seconds"] = round(time.perf_counter() - t, 1)
    print(f"    built in {build['build_seconds']} s: {build}", flush=True)
    server = start_endorse(data_dir, bins=bins, extra_args=["--no-publisher"])
    try:
        root = (data_dir / "store" / "metadata" / "1.root.json").read_bytes()
        samples = sample_files(data_dir, args.samples)
        one_file = [measure(server.url, root, [f], work) for f, _listing in samples]
        install = [measure(server.url, root, [listing, f], work) for f, listing in samples]
    finally:
        server.stop()
    if not args.keep:
        shutil.rmtree(data_dir, ignore_errors=True)
    totals = [int(m["metadata_bytes_total"]) for m in one_file]  # type: ignore[call-overload]
    median_i = sorted(range(len(totals)), key=lambda i: totals[i])[len(totals) // 2]
    result = {
        "config": spec,
        "bins": bins,
        "files": files,
        "projects": projects,
        "targets_per_bin_mean": round((build.get("padding_targets", 0) or 0) / bins, 1),  # type: ignore[operator]
        "build": build,
        "one_file_metadata_bytes": {
            "min": min(totals),
            "median": statistics.median(totals),
            "max": max(totals),
        },
        "one_file_median_breakdown": one_file[median_i]["metadata_bytes_per_role"],
        "listing_plus_file_metadata_bytes_median": statistics.median(
            int(m["metadata_bytes_total"])
            for m in install  # type: ignore[call-overload]
        ),
        "samples_one_file": one_file,
        "samples_listing_plus_file": install,
    }
    breakdown = result["one_file_median_breakdown"]
    print(
        f"    one file: median {result['one_file_metadata_bytes']['median']:,} bytes of metadata "  # type: ignore[index]
        f"(min {min(totals):,}, max {max(totals):,}); listing + file: "
        f"{result['listing_plus_file_metadata_bytes_median']:,} bytes"
    )
    print(
        "    per role: "
        + ", ".join(f"{r} {breakdown[r]:,}" for r in ROLE_ORDER)  # type: ignore[index]
        + f" (plus {one_file[0]['root_bootstrap_bytes']:,} bytes of 1.root.json, "
        "given out of band)",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="BINS:FILES:PROJECTS (repeatable) "
        "[16384:6500000:600000, 16384:100000:10000, 16:100000:10000]",
    )
    parser.add_argument(
        "--real-files", type=int, default=1000, help="real wheels imported (10 per project)"
    )
    parser.add_argument(
        "--wheel-share", type=float, default=0.6, help="share of padding files that are wheels"
    )
    parser.add_argument(
        "--samples", type=int, default=5, help="files verified, each by a fresh client"
    )
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--name", default="bench_metadata_bytes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    configs = args.config or ["16384:6500000:600000", "16384:100000:10000", "16:100000:10000"]
    work = args.work or Path(tempfile.mkdtemp(prefix="endorse-bench-metadata-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"bench_metadata_bytes: {configs}; work in {work}", flush=True)
    results = [run_config(spec, args, work) for spec in configs]
    figures = {
        r["config"]: {
            "one_file_metadata_bytes_median": r["one_file_metadata_bytes"]["median"],  # type: ignore[index]
            "per_role": r["one_file_median_breakdown"],
            "root_bootstrap_bytes": r["samples_one_file"][0]["root_bootstrap_bytes"],  # type: ignore[index]
            "listing_plus_file_metadata_bytes_median": r["listing_plus_file_metadata_bytes_median"],
            "bin_bytes_min_median_max": r["build"]["bin_bytes_min_median_max"],  # type: ignore[index]
        }
        for r in results
    }
    path = write_result(
        args.name,
        {
            "configs": configs,
            "real_files": args.real_files,
            "wheel_share_of_padding": args.wheel_share,
            "samples": args.samples,
            "client": "tuf.ngclient.Updater (unmodified, default UpdaterConfig), fresh "
            "metadata dir, bootstrapped with 1.root.json; bytes counted in a "
            "Urllib3Fetcher subclass",
            "fill": "real wheels via import_directory, then synthetic targets of PROJECTS "
            "projects / FILES files added to every bin with StoredRepository (endorse "
            "path scheme, .metadata for wheels, "
            "two listings per project), then snapshot and timestamp",
        },
        figures,
        details=results,
    )
    print(f"wrote {path}")
    if not args.keep and args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
