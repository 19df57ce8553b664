"""Helpers of ``bench_pep480.py``: a repository with many recently-claimed projects,
the signing event that moves them into ``claimed``, and what a fresh client downloads.

Setup (not measured) goes through the library in-process: ``Services.open``,
``ensure_repository`` (demo keys), then users, developer keys, projects,
files, claims, role versions and queue entries are bulk-inserted with
SQLAlchemy Core using the models of :mod:`endorse.storage.db`, exactly the rows
``claim_project`` and ``Releases._accept`` would leave; each project's
developer-signed version 1 (built with :func:`endorse.developer.build_release`,
signed with its own Ed25519 key) is stored with ``store.put(developer_role_key(...))``.
The real :class:`~endorse.publisher.publisher.Publisher` then publishes them
into ``recently-claimed`` (``publish_once()`` until idle).

Measured: :meth:`SigningEvents.prepare_claimed`, signing with the demo offline
``claimed`` key, :meth:`SigningEvents.publish`, the publisher batch that
applies the event, and the batches that drain the queue after it.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import logging
import pstats
import statistics
import tempfile
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import NormalizedName
from securesystemslib.signer import CryptoSigner
from sqlalchemy import func, insert, select
from tuf.api.exceptions import RepositoryError
from tuf.api.metadata import Metadata, Snapshot, Timestamp
from tuf.ngclient import Updater, UpdaterConfig, Urllib3Fetcher

from _common import wheel_bytes
from endorse.developer import build_release, sign_release
from endorse.metadata.paths import core_metadata_target, file_target, listing_target
from endorse.metadata.roles import CLAIMED, RECENTLY_CLAIMED, SNAPSHOT, TARGETS, UNCLAIMED
from endorse.metadata.storage_keys import (
    TIMESTAMP_KEY,
    developer_role_key,
    metadata_key,
    target_key,
)
from endorse.metadata.trust import TrustLevel
from endorse.packages.distributions import inspect_distribution
from endorse.packages.names import confusable_key
from endorse.publisher.bootstrap import OFFLINE_KEYRING
from endorse.publisher.keyring import Keyring
from endorse.publisher.publisher import Publisher
from endorse.services.demo import ensure_repository
from endorse.services.index import Services
from endorse.services.publishing import online_keyring
from endorse.settings import Settings
from endorse.states import ClaimState
from endorse.storage.db import (
    ClaimMaintainer,
    DeveloperKey,
    File,
    FileRegistry,
    Project,
    ProjectClaim,
    ProjectMember,
    ProjectRoleVersion,
    QueueEntry,
    User,
)

#: Names of claimed projects (11 characters) and of their maintainers (8
#: characters, the same form as ``endorse.research.metadata_cost``'s, so that
#: the builder and the real publisher can be compared byte for byte).
CLAIMED_NAME = "proj-{:06d}"
MAINTAINER_NAME = "m{:07d}"
UNCLAIMED_NAME = "free-{:06d}"
#: Projects whose file bytes are stored too (the ones a client downloads).
STORED_SAMPLES = 5


def claimed_names(count: int) -> list[NormalizedName]:
    """The claimed projects' names, in order."""
    return [NormalizedName(CLAIMED_NAME.format(i)) for i in range(count)]


# -- wheels -----------------------------------------------------------------------


@dataclass(frozen=True)
class Wheel:
    """What the index records of one small wheel (as ``inspect_distribution`` would)."""

    name: NormalizedName
    filename: str
    data: bytes
    sha256: str
    blake2_256: str
    core: bytes

    @property
    def core_sha256(self) -> str:
        return hashlib.sha256(self.core).hexdigest()


def make_wheel(name: str, version: str) -> Wheel:
    """A tiny wheel and its digests, without touching the disk."""
    filename, data = wheel_bytes(name, version)
    dist = name.replace("-", "_")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        core = zf.read(f"{dist}-{version}.dist-info/METADATA")
    return Wheel(
        NormalizedName(name),
        filename,
        data,
        hashlib.sha256(data).hexdigest(),
        hashlib.blake2b(data, digest_size=32).hexdigest(),
        core,
    )


def check_wheel_matches_library(wheel: Wheel, folder: Path) -> None:
    """The in-memory digests are what the index's own inspection computes."""
    path = folder / wheel.filename
    path.write_bytes(wheel.data)
    dist = inspect_distribution(path, wheel.filename)
    assert dist.sha256 == wheel.sha256 and dist.blake2_256 == wheel.blake2_256
    assert dist.core_metadata == wheel.core
    path.unlink()


def _file_row(
    file_id: int, project_id: int, w: Wheel, level: TrustLevel, uploader: int
) -> dict[str, Any]:
    # Mirrors endorse.index.uploads._file_record.
    return {
        "id": file_id,
        "project_id": project_id,
        "version": "1.0",
        "filename": w.filename,
        "packagetype": "bdist_wheel",
        "python_version": "py3",
        "requires_python": None,
        "size": len(w.data),
        "sha256": w.sha256,
        "blake2_256": w.blake2_256,
        "core_metadata_sha256": w.core_sha256,
        "core_metadata_size": len(w.core),
        "uploader_id": uploader,
        "trust_level": int(level),
    }


def _store_wheel(services: Services, w: Wheel) -> None:
    store = services.store
    store.put(target_key(file_target(w.name, w.filename), w.sha256), w.data)
    store.put(target_key(core_metadata_target(w.name, w.filename), w.core_sha256), w.core)


# -- the repository -----------------------------------------------------------------


@dataclass
class EventRepo:
    """A data folder with ``claims`` recently-claimed and ``unclaimed`` index-signed projects."""

    data_dir: Path
    bins: int
    claims: int
    unclaimed: int
    setup: dict[str, float] = field(default_factory=dict)
    samples_claimed: list[Wheel] = field(default_factory=list)
    samples_unclaimed: list[Wheel] = field(default_factory=list)

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            bin_count=self.bins,
            password_memory_kib=256,
            password_iterations=1,
        )

    def open(self) -> Services:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Services.open(self.settings())


def _next_id(session: Any, model: Any) -> int:
    return int(session.scalar(select(func.max(model.id))) or 0) + 1


def build_event_repo(
    data_dir: Path, *, bins: int, claims: int, unclaimed: int, echo: Callable[[str], None] = print
) -> EventRepo:
    """Initialise a repository and publish ``claims`` recently-claimed projects (setup)."""
    repo = EventRepo(data_dir, bins, claims, unclaimed)
    services = repo.open()
    try:
        t = time.perf_counter()
        ensure_repository(services)
        repo.setup["init_seconds"] = round(time.perf_counter() - t, 2)

        t = time.perf_counter()
        names = claimed_names(claims)
        signers = [CryptoSigner.generate_ed25519() for _ in range(claims)]
        wheels = [make_wheel(n, "1.0") for n in names]
        free = [make_wheel(UNCLAIMED_NAME.format(i), "1.0") for i in range(unclaimed)]
        with tempfile.TemporaryDirectory() as tmp:
            check_wheel_matches_library(wheels[0], Path(tmp))
        repo.setup["keys_and_wheels_seconds"] = round(time.perf_counter() - t, 2)

        # Each project's version 1, built and signed by the developer library.
        t = time.perf_counter()
        blobs: list[tuple[str, bytes]] = []
        for i, (name, signer, w) in enumerate(zip(names, signers, wheels, strict=True)):
            project_json = {
                "name": name,
                "files": [
                    {
                        "filename": w.filename,
                        "size": len(w.data),
                        "sha256": w.sha256,
                        "core_metadata_size": len(w.core),
                        "core_metadata_sha256": w.core_sha256,
                    }
                ],
                "claim": {
                    "version": 0,
                    "threshold": 1,
                    "maintainers": {
                        MAINTAINER_NAME.format(i): [
                            {"keyid": signer.public_key.keyid, "key": signer.public_key.to_dict()}
                        ]
                    },
                },
            }
            md = build_release(project_json, [], previous=None)
            sign_release(md, signer)
            blobs.append((developer_role_key(name, 1), md.to_bytes()))
        repo.setup["sign_v1_seconds"] = round(time.perf_counter() - t, 2)

        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda kv: services.store.put(*kv), blobs))
            list(
                pool.map(
                    lambda w: _store_wheel(services, w),
                    wheels[:STORED_SAMPLES] + free[:STORED_SAMPLES],
                )
            )
        repo.samples_claimed = wheels[:STORED_SAMPLES]
        repo.samples_unclaimed = free[:STORED_SAMPLES]
        repo.setup["store_v1_seconds"] = round(time.perf_counter() - t, 2)

        # All but the last project in bulk; the last one alone, timed: one claim
        # published while recently-claimed already holds claims - 1 projects.
        t = time.perf_counter()
        _bulk_insert(services, names[:-1], signers[:-1], wheels[:-1], free)
        repo.setup["db_insert_seconds"] = round(time.perf_counter() - t, 2)

        t = time.perf_counter()
        batches = drain(services, echo=echo)
        repo.setup["publish_recently_claimed_seconds"] = round(time.perf_counter() - t, 2)
        repo.setup["publish_recently_claimed_batches"] = len(batches)

        _bulk_insert(services, names[-1:], signers[-1:], wheels[-1:], [], first=claims - 1)
        rc_before = stored_sizes(data_dir)["recently-claimed"]
        publisher = Publisher(
            services.settings, services.db, services.store, online_keyring(services)
        )
        publisher.repo.load()  # type: ignore[union-attr]
        t = time.perf_counter()
        result = publisher.publish_once()
        repo.setup["one_claim_batch_seconds"] = round(time.perf_counter() - t, 3)
        repo.setup["one_claim_batch_roles_written"] = result.roles_written if result else 0
        repo.setup["one_claim_batch_recently_claimed_bytes_before"] = rc_before
        repo.setup["one_claim_batch_recently_claimed_bytes_after"] = stored_sizes(data_dir)[
            "recently-claimed"
        ]
    finally:
        services.close()
    return repo


def _bulk_insert(
    services: Services,
    names: list[NormalizedName],
    signers: list[CryptoSigner],
    wheels: list[Wheel],
    free: list[Wheel],
    *,
    first: int = 0,
) -> None:
    """The rows claim_project + an accepted v1 leave, and those of index-signed uploads.

    ``first`` is the index of ``names[0]`` (for the maintainer's user name)."""
    with services.db.session() as session:
        uid = _next_id(session, User)
        pid = _next_id(session, Project)
        fid = _next_id(session, File)
        users, keys, projects, members, files, registry = [], [], [], [], [], []
        claims, maintainers, versions, queue = [], [], [], []
        for i, (name, signer, w) in enumerate(zip(names, signers, wheels, strict=True)):
            u, p, f = uid + i, pid + i, fid + i
            users.append(
                {"id": u, "username": MAINTAINER_NAME.format(first + i), "password_hash": "!bench"}
            )
            keys.append(
                {
                    "user_id": u,
                    "keyid": signer.public_key.keyid,
                    "key": signer.public_key.to_dict(),
                    "label": "bench",
                }
            )
            projects.append(
                {
                    "id": p,
                    "name": name,
                    "display_name": name,
                    "confusable_key": confusable_key(name),
                }
            )
            members.append({"project_id": p, "user_id": u, "role": "owner"})
            files.append(_file_row(f, p, w, TrustLevel.DEVELOPER_SIGNED, u))
            registry.append({"filename": w.filename})
            claims.append(
                {
                    "project_id": p,
                    "state": ClaimState.RECENTLY_CLAIMED,
                    "threshold": 1,
                    "claimed_by": u,
                    "delegation_dirty": True,
                }
            )
            maintainers.append({"project_id": p, "user_id": u})
            versions.append(
                {"project_id": p, "version": 1, "blob_key": developer_role_key(name, 1)}
            )
            queue.append({"project_id": p})
        owner = uid + len(names)
        if free:
            users.append({"id": owner, "username": "free-owner", "password_hash": "!bench"})
        base_p, base_f = pid + len(names), fid + len(names)
        for j, w in enumerate(free):
            p, f = base_p + j, base_f + j
            projects.append(
                {
                    "id": p,
                    "name": w.name,
                    "display_name": w.name,
                    "confusable_key": confusable_key(w.name),
                }
            )
            members.append({"project_id": p, "user_id": owner, "role": "owner"})
            files.append(_file_row(f, p, w, TrustLevel.INDEX_SIGNED, owner))
            registry.append({"filename": w.filename})
            queue.append({"project_id": p})
        for model, rows in (
            (User, users),
            (DeveloperKey, keys),
            (Project, projects),
            (ProjectMember, members),
            (File, files),
            (FileRegistry, registry),
            (ProjectClaim, claims),
            (ClaimMaintainer, maintainers),
            (ProjectRoleVersion, versions),
            (QueueEntry, queue),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start : start + 5000])


def drain(services: Services, echo: Callable[[str], None] = print) -> list[float]:
    """``publish_once()`` until idle; returns the seconds of each batch."""
    publisher = Publisher(services.settings, services.db, services.store, online_keyring(services))
    seconds: list[float] = []
    while True:
        t = time.perf_counter()
        result = publisher.publish_once()
        if result is None:
            return seconds
        seconds.append(time.perf_counter() - t)
        echo(
            f"      batch {result.batch_id}: {result.projects} projects, "
            f"{result.roles_written} roles in {seconds[-1]:.1f} s"
        )


# -- the signing event ------------------------------------------------------------


class Profiler:
    """cProfile around named phases (off unless a folder is given)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.top: dict[str, list[str]] = {}

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        if self.folder is None:
            return fn()
        prof = cProfile.Profile()
        prof.enable()
        try:
            return fn()
        finally:
            prof.disable()
            self.folder.mkdir(parents=True, exist_ok=True)
            prof.dump_stats(self.folder / f"{name}.prof")
            out = io.StringIO()
            stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
            stats.print_stats(25)
            self.top[name] = out.getvalue().splitlines()[:60]


def run_event(
    repo: EventRepo, profiler: Profiler, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Time the signing event that moves every recently-claimed project into ``claimed``."""
    before = stored_sizes(repo.data_dir)
    services = repo.open()
    try:
        events = services.events
        keyring = Keyring.load(services.settings.keys_dir / OFFLINE_KEYRING)

        def sign() -> None:
            signed = keyring.add_signatures("claimed", events.metadata(status.id))
            events.add_signatures(status.id, signed)

        t = time.perf_counter()
        status = profiler.run("prepare_claimed", events.prepare_claimed)
        prepare = time.perf_counter() - t
        moved = len(status.summary.get("moved", []))
        echo(f"      prepare_claimed: {prepare:.2f} s ({moved} moved)")
        t = time.perf_counter()
        profiler.run("sign", sign)
        sign = time.perf_counter() - t
        echo(f"      sign (demo offline claimed key): {sign:.2f} s")
        t = time.perf_counter()
        profiler.run("publish", lambda: events.publish(status.id))
        publish = time.perf_counter() - t
        echo(f"      publish (hand to the publisher): {publish:.2f} s")
        publisher = Publisher(
            services.settings, services.db, services.store, online_keyring(services)
        )
        t = time.perf_counter()
        first = profiler.run("apply_batch", publisher.publish_once)
        apply_seconds = time.perf_counter() - t
        echo(
            f"      publisher batch that applies it: {apply_seconds:.2f} s "
            f"({first.projects if first else 0} queued projects, {first.roles_written if first else 0} roles)"
        )
        t = time.perf_counter()
        rest = profiler.run("drain_after_event", lambda: drain(services, echo=echo))
        drain_seconds = time.perf_counter() - t
        echo(f"      later batches until idle: {drain_seconds:.2f} s ({len(rest)} batches)")
    finally:
        services.close()
    after = stored_sizes(repo.data_dir)
    return {
        "moved": moved,
        "prepare_claimed_seconds": round(prepare, 3),
        "sign_seconds": round(sign, 3),
        "publish_seconds": round(publish, 3),
        "apply_batch_seconds": round(apply_seconds, 3),
        "apply_batch_projects": first.projects if first else 0,
        "apply_batch_roles_written": first.roles_written if first else 0,
        "drain_after_event_seconds": round(drain_seconds, 3),
        "drain_after_event_batches": len(rest),
        "event_total_seconds": round(prepare + sign + publish + apply_seconds, 3),
        "until_idle_seconds": round(prepare + sign + publish + apply_seconds + drain_seconds, 3),
        "stored_before": before,
        "stored_after": after,
    }


def stored_sizes(data_dir: Path) -> dict[str, Any]:
    """Bytes of the newest timestamp, snapshot, targets, claimed, recently-claimed, unclaimed."""
    meta = data_dir / "store" / "metadata"
    ts = Metadata[Timestamp].from_bytes((data_dir / "store" / TIMESTAMP_KEY).read_bytes())
    snap_version = ts.signed.snapshot_meta.version
    snap_bytes = (data_dir / "store" / metadata_key(SNAPSHOT, snap_version)).read_bytes()
    snap = Metadata[Snapshot].from_bytes(snap_bytes)
    out: dict[str, Any] = {
        "timestamp": (data_dir / "store" / TIMESTAMP_KEY).stat().st_size,
        "snapshot": len(snap_bytes),
        "snapshot_version": snap_version,
        "snapshot_entries": len(snap.signed.meta),
        "snapshot_entries_p": sum(1 for k in snap.signed.meta if k.startswith("p-")),
        "snapshot_entries_rc": sum(1 for k in snap.signed.meta if k.startswith("rc-")),
        "snapshot_entries_bins": sum(1 for k in snap.signed.meta if k.startswith("bin-")),
    }
    for role in (TARGETS, CLAIMED, RECENTLY_CLAIMED, UNCLAIMED):
        version = snap.signed.meta[f"{role}.json"].version
        out[role] = (meta / f"{version}.{role}.json").stat().st_size
        out[f"{role}_version"] = version
    return out


# -- a fresh, unmodified ngclient -------------------------------------------------


class CountingFetcher(Urllib3Fetcher):
    """The stock urllib3 fetcher, counting the bytes of each URL it fetches
    (as in ``bench_metadata_bytes.py``)."""

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
    """The role class of a metadata URL: bins, claimed and recently-claimed project roles folded."""
    name = url.rsplit("/", 1)[1].removesuffix(".json")
    parts = name.split(".", 1)
    role = parts[1] if len(parts) == 2 and parts[0].isdigit() else name
    if role.startswith("bin-"):
        return "bin"
    if role.startswith("p-"):
        return "p-<project>"
    if role.startswith("rc-"):
        return "rc-<project>"
    return role


def fresh_install(
    url: str, root: bytes, target_paths: list[str], work: Path, config: UpdaterConfig | None = None
) -> dict[str, Any]:
    """A fresh Updater verifies ``target_paths`` and downloads the last one; bytes per role.

    With ``config`` None the Updater is entirely stock (default ``UpdaterConfig``).
    A refusal (for instance a role over ngclient's size limit) is recorded, with
    the bytes fetched until then.
    """
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
        config=config or UpdaterConfig(),
        bootstrap=root,
    )
    error = None
    lookup_done = 0
    target_bytes = 0
    t = time.perf_counter()
    try:
        updater.refresh()
        info = None
        for path in target_paths:
            info = updater.get_targetinfo(path)
            if info is None:
                raise RuntimeError(f"ngclient found no target {path!r}")
        lookup_done = len(fetcher.fetched)
        assert info is not None
        updater.download_target(info)
        target_bytes = sum(n for _u, n in fetcher.fetched[lookup_done:])
    except (RepositoryError, RuntimeError, OSError) as e:
        error = f"{type(e).__name__}: {e}"
        lookup_done = len(fetcher.fetched)
    seconds = time.perf_counter() - t
    per_role: Counter[str] = Counter()
    for u, n in fetcher.fetched[:lookup_done]:
        per_role[role_of(u)] += n
    total = sum(per_role.values())
    return {
        "targets": target_paths,
        "ok": error is None,
        "error": error,
        "metadata_bytes": total,
        "metadata_bytes_with_root": total + len(root),
        "root_bootstrap_bytes": len(root),
        "metadata_bytes_per_role": dict(per_role),
        "metadata_fetches": lookup_done,
        "target_file_bytes": target_bytes,
        "seconds": round(seconds, 3),
    }


def install_paths(w: Wheel, *, claimed: bool) -> list[str]:
    """What pip needs verified to install one wheel: listing (index-signed only), .metadata, wheel.

    A claimed project's listing is not a target: it is built from the
    developer-signed targets themselves.
    """
    paths = [core_metadata_target(w.name, w.filename), file_target(w.name, w.filename)]
    if not claimed:
        paths.insert(0, listing_target(w.name, "json"))
    return paths


def median_install(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The sample with the median metadata bytes, plus min / median / max."""
    totals = [r["metadata_bytes"] for r in results]
    mid = sorted(range(len(totals)), key=lambda i: totals[i])[len(totals) // 2]
    return {
        "metadata_bytes_min": min(totals),
        "metadata_bytes_median": statistics.median(totals),
        "metadata_bytes_max": max(totals),
        "median_sample": results[mid],
        "all_ok": all(r["ok"] for r in results),
    }


logging.getLogger("tuf").setLevel(logging.ERROR)
