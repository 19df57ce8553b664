"""The upload client of the benchmarks: N concurrent twine-protocol uploads with httpx.

It speaks what twine speaks (``POST`` multipart, ``:action=file_upload``,
``protocol_version=1``, ``sha256_digest``, file part ``content``), so the same
code posts to endorse's ``/legacy/`` and to pypiserver's ``/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from tuf.api.metadata import SuccinctRoles

from endorse.metadata.paths import file_target


@dataclass(frozen=True)
class Item:
    """One file to upload."""

    name: str
    version: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(eq=False)
class Timing:
    """When one upload started and ended (``time.perf_counter`` seconds)."""

    item: Item
    start: float = 0.0
    end: float = 0.0
    status: int = 0
    error: str = ""
    observed: float | None = None


@dataclass
class UploadRun:
    """The result of one concurrent upload run."""

    timings: list[Timing] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def wall(self) -> float:
        """Seconds from the first request to the last answer."""
        return self.ended - self.started

    @property
    def ok(self) -> list[Timing]:
        """Uploads answered 200."""
        return [t for t in self.timings if t.status == 200]


def _form(item: Item) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    data = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": item.name,
        "version": item.version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": item.sha256,
    }
    return data, {"content": (item.filename, item.data, "application/octet-stream")}


Observer = Callable[[list[Timing], asyncio.Event], Awaitable[None]]


async def upload_all(
    url: str,
    items: list[Item],
    *,
    clients: int,
    auth: tuple[str, str] | None,
    timeout: float = 120.0,
    observer: Observer | None = None,
) -> UploadRun:
    """Upload ``items`` from ``clients`` concurrent workers; time each request."""
    run = UploadRun(timings=[Timing(item) for item in items])
    queue: asyncio.Queue[Timing] = asyncio.Queue()
    for t in run.timings:
        queue.put_nowait(t)
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(auth=auth, timeout=timeout, limits=limits) as client:

        async def worker() -> None:
            while True:
                try:
                    t = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                data, files = _form(t.item)
                t.start = time.perf_counter()
                try:
                    response = await client.post(url, data=data, files=files)
                    t.status = response.status_code
                    if response.status_code != 200:
                        t.error = response.text[:200]
                except httpx.HTTPError as e:
                    t.error = repr(e)
                t.end = time.perf_counter()

        watcher = asyncio.create_task(observer(run.timings, done)) if observer else None
        run.started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        run.ended = time.perf_counter()
        if watcher is not None:
            done.set()
            await watcher
    return run


# -- independent "is it published yet" observers ---------------------------------------


def tuf_observer(
    base_url: str, poll: float = 0.02, grace: float = 35.0
) -> tuple[Observer, dict[str, float]]:
    """Watch ``timestamp.json``; for each new version find which pending files it covers.

    A file counts as published when a timestamp leads (through snapshot and
    the file's hashed bin) to a bin that lists its target path: the
    definition of "covered by a newly signed timestamp". One task polls
    ``timestamp.json`` and notes when each version was first seen; another
    walks every seen version in order and gives each file the first-seen time
    of the first version that covers it, so a slow check never delays a time.
    The poll interval bounds the error (the time is an upper bound).
    """
    stats: dict[str, float] = {
        "timestamps_seen": 0,
        "snapshots_checked": 0,
        "bin_fetches": 0,
        "polls": 0,
    }

    async def observe(timings: list[Timing], done: asyncio.Event) -> None:
        meta = base_url + "/tuf/metadata/"
        seen: list[tuple[int, int, float]] = []  # (timestamp version, snapshot version, first seen)
        new_version = asyncio.Event()
        stop_polling = asyncio.Event()
        async with httpx.AsyncClient(timeout=30) as client:

            async def poller() -> None:
                last = 0
                while not stop_polling.is_set():
                    ts = json.loads((await client.get(meta + "timestamp.json")).content)
                    now = time.perf_counter()
                    stats["polls"] += 1
                    version = ts["signed"]["version"]
                    if version != last:
                        last = version
                        seen.append(
                            (version, ts["signed"]["meta"]["snapshot.json"]["version"], now)
                        )
                        stats["timestamps_seen"] += 1
                        new_version.set()
                    await asyncio.sleep(poll)

            poll_task = asyncio.create_task(poller())
            succinct: SuccinctRoles | None = None
            bins: dict[tuple[str, int], set[str]] = {}
            checked = 0
            done_at: float | None = None

            async def fetch_bin(role: str, version: int) -> None:
                raw = (await client.get(f"{meta}{version}.{role}.json")).content
                bins[(role, version)] = set(json.loads(raw)["signed"]["targets"])
                stats["bin_fetches"] += 1

            try:
                while True:
                    pending = [
                        t
                        for t in timings
                        if t.start and t.observed is None and t.status in (0, 200)
                    ]
                    if done.is_set():
                        done_at = done_at or time.perf_counter()
                        if not pending or time.perf_counter() - done_at > grace:
                            return
                    if checked >= len(seen):
                        new_version.clear()
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(new_version.wait(), 0.5)
                        continue
                    _ts_version, snap_v, first_seen = seen[checked]
                    checked += 1
                    # Only files whose request had started by then can be covered.
                    pending = [t for t in pending if t.start <= first_seen]
                    if not pending:
                        continue
                    snap = json.loads((await client.get(f"{meta}{snap_v}.snapshot.json")).content)
                    stats["snapshots_checked"] += 1
                    roles = snap["signed"]["meta"]
                    if succinct is None:
                        uv = roles["unclaimed.json"]["version"]
                        unclaimed = json.loads(
                            (await client.get(f"{meta}{uv}.unclaimed.json")).content
                        )
                        succinct = SuccinctRoles.from_dict(
                            dict(unclaimed["signed"]["delegations"]["succinct_roles"])
                        )
                    wanted: dict[Timing, tuple[str, str, int]] = {}
                    for t in pending:
                        path = file_target(t.item.name, t.item.filename)  # type: ignore[arg-type]
                        role = succinct.get_role_for_target(path)
                        wanted[t] = (path, role, roles[f"{role}.json"]["version"])
                    missing = {(r, v) for _p, r, v in wanted.values() if (r, v) not in bins}
                    await asyncio.gather(*(fetch_bin(r, v) for r, v in missing))
                    for t, (path, role, version) in wanted.items():
                        if path in bins[(role, version)]:
                            t.observed = first_seen
            finally:
                stop_polling.set()
                await poll_task

    return observe, stats


def simple_observer(
    base_url: str, poll: float = 0.01, grace: float = 35.0
) -> tuple[Observer, dict[str, float]]:
    """Poll each pending file's PEP 691 Simple page until the file is listed."""
    stats: dict[str, float] = {"page_fetches": 0}
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}

    async def observe(timings: list[Timing], done: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=30) as client:

            async def check(t: Timing) -> None:
                r = await client.get(f"{base_url}/simple/{t.item.name}/", headers=accept)
                stats["page_fetches"] += 1
                if r.status_code == 200:
                    names = {f["filename"] for f in r.json().get("files", [])}
                    if t.item.filename in names:
                        t.observed = time.perf_counter()

            done_at: float | None = None
            while True:
                pending = [
                    t for t in timings if t.start and t.observed is None and t.status in (0, 200)
                ]
                if done.is_set():
                    done_at = done_at or time.perf_counter()
                    if not pending or time.perf_counter() - done_at > grace:
                        return
                await asyncio.gather(*(check(t) for t in pending))
                await asyncio.sleep(poll)

    return observe, stats
