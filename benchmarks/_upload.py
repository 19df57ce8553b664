"""The upload client of the benchmarks: N concurrent twine-protocol uploads with httpx.

It speaks what twine speaks (``POST`` multipart, ``:action=file_upload``,
``protocol_version=1``, ``sha256_digest``, file part ``content``), so the same
code posts to endorse's ``/legacy/`` and to pypiserver's ``/``.
"""

from __future__ import annotations

import asyncio
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


@dataclass
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


def tuf_observer(base_url: str, poll: float = 0.01, grace: float = 35.0) -> tuple[Observer, dict[str, float]]:
    """Watch ``timestamp.json``; on each new version find which pending files its bins cover.

    A file counts as published when the newest timestamp leads (through
    snapshot and the file's hashed bin) to a bin that lists its target path,
    the definition of "covered by a newly signed timestamp". The time recorded
    is when the poll that saw the new timestamp came back (an upper bound;
    the poll interval bounds the error).
    """
    stats: dict[str, float] = {"timestamps_seen": 0, "bin_fetches": 0, "check_seconds": 0.0}

    async def observe(timings: list[Timing], done: asyncio.Event) -> None:
        meta = base_url + "/tuf/metadata/"
        async with httpx.AsyncClient(timeout=30) as client:
            unclaimed_succinct: SuccinctRoles | None = None
            bins: dict[tuple[str, int], set[str]] = {}
            seen_version = 0
            done_at: float | None = None
            while True:
                pending = [t for t in timings if t.start and t.observed is None and t.status in (0, 200)]
                if done.is_set():
                    done_at = done_at or time.perf_counter()
                    if not pending or time.perf_counter() - done_at > grace:
                        return
                ts = json.loads((await client.get(meta + "timestamp.json")).content)
                seen = time.perf_counter()
                version = ts["signed"]["version"]
                if version != seen_version and pending:
                    seen_version = version
                    stats["timestamps_seen"] += 1
                    snap_v = ts["signed"]["meta"]["snapshot.json"]["version"]
                    snap = json.loads((await client.get(f"{meta}{snap_v}.snapshot.json")).content)
                    roles = snap["signed"]["meta"]
                    if unclaimed_succinct is None:
                        uv = roles["unclaimed.json"]["version"]
                        unclaimed = json.loads((await client.get(f"{meta}{uv}.unclaimed.json")).content)
                        unclaimed_succinct = SuccinctRoles.from_dict(
                            dict(unclaimed["signed"]["delegations"]["succinct_roles"])
                        )
                    for t in pending:
                        path = file_target(t.item.name, t.item.filename)  # type: ignore[arg-type]
                        role = unclaimed_succinct.get_role_for_target(path)
                        key = (role, roles[f"{role}.json"]["version"])
                        if key not in bins:
                            raw = (await client.get(f"{meta}{key[1]}.{role}.json")).content
                            bins[key] = set(json.loads(raw)["signed"]["targets"])
                            stats["bin_fetches"] += 1
                        if path in bins[key]:
                            t.observed = seen
                    stats["check_seconds"] += time.perf_counter() - seen
                await asyncio.sleep(poll)

    return observe, stats


def simple_observer(base_url: str, poll: float = 0.01, grace: float = 35.0) -> tuple[Observer, dict[str, float]]:
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
                pending = [t for t in timings if t.start and t.observed is None and t.status in (0, 200)]
                if done.is_set():
                    done_at = done_at or time.perf_counter()
                    if not pending or time.perf_counter() - done_at > grace:
                        return
                await asyncio.gather(*(check(t) for t in pending))
                await asyncio.sleep(poll)

    return observe, stats
