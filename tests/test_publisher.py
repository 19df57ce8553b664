"""The snapshot process: parallel uploads, crashes mid-batch, expiry refresh, pruning.

The batch logic runs in-process (the fast tier); the child process, parallel
clients and SIGKILL need real processes.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from endorse.clock import ManualClock
from endorse.metadata.paths import file_target
from endorse.publisher.prune import prune
from endorse.services.demo import ensure_repository
from endorse.services.index import InsecureIndexWarning, Services
from endorse.settings import Settings
from endorse.storage.published import PublishedMetadata
from tests.conftest import ENDORSE, IndexServer, http_upload, server_env, wait_until
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel


def verify_all(
    server: IndexServer | InProcessIndex, folder: Path, filenames: dict[str, str]
) -> None:
    """A fresh ngclient refreshes and downloads-and-verifies each file (name -> project)."""
    updater = server.updater(folder)
    updater.refresh()
    for filename, project in filenames.items():
        info = updater.get_targetinfo(file_target(project, filename))  # type: ignore[arg-type]
        assert info is not None, f"{filename} is not in the signed metadata"
        updater.download_target(info)


def test_200_parallel_uploads_from_16_clients(server: IndexServer, tmp_path: Path) -> None:
    """Every accepted upload is published exactly once and verifies."""
    wheels = [make_wheel(tmp_path / "w", f"par-{i % 40}", f"1.{i // 40}") for i in range(200)]
    with httpx.Client() as client, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda w: http_upload(client, server, w), wheels))
    assert [r.status_code for r in responses] == [200] * 200, {r.text for r in responses}
    server.wait_published()
    expected = {w.name: f"par-{i % 40}" for i, w in enumerate(wheels)}
    verify_all(server, tmp_path / "client", expected)
    for project in {f"par-{i}" for i in range(40)}:
        page = server.get(
            f"/simple/{project}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
        ).json()
        names = [f["filename"] for f in page["files"]]
        assert len(names) == len(set(names)) == 5, names


def publisher_pids(server: IndexServer) -> list[int]:
    """The publisher processes ``endorse serve`` started, in order (from its log)."""
    assert server.log_path is not None
    return [
        int(p) for p in re.findall(r"publisher process (\d+) started", server.log_path.read_text())
    ]


def is_running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie no longer runs)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def test_serve_publishes_from_a_child_process_it_restarts(
    server: IndexServer, tmp_path: Path
) -> None:
    """The publisher has a process (and a core) of its own; killed, it comes back."""
    assert server.process is not None
    wait_until(lambda: publisher_pids(server))
    first = publisher_pids(server)[0]
    assert first != server.process.pid and is_running(first)
    with httpx.Client() as client:
        wheel = make_wheel(tmp_path / "w", "child-pub", "1.0")
        assert http_upload(client, server, wheel).status_code == 200
        server.wait_published()

        os.kill(first, signal.SIGKILL)
        wait_until(lambda: len(publisher_pids(server)) == 2)
        assert server.log_path is not None
        assert f"publisher process {first} exited with code -9; restarting" in (
            server.log_path.read_text()
        )
        second = publisher_pids(server)[1]
        assert is_running(second)
        again = make_wheel(tmp_path / "w", "child-pub", "1.1")
        assert http_upload(client, server, again).status_code == 200
    server.wait_published()
    verify_all(server, tmp_path / "client", {wheel.name: "child-pub", again.name: "child-pub"})


def test_publisher_process_ends_with_its_server(server: IndexServer) -> None:
    """Even a SIGKILLed server leaves no publisher behind (its stdin reaches EOF)."""
    assert server.process is not None
    wait_until(lambda: publisher_pids(server))
    child = publisher_pids(server)[0]
    server.process.kill()
    server.process.wait()
    wait_until(lambda: not is_running(child), timeout=20)


class PublisherProcess:
    """``endorse publisher -vv`` as a real subprocess whose log lines we can watch."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [ENDORSE, "publisher", "-vv", "--data-dir", str(data_dir)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    def steps(self) -> int:
        return sum(1 for line in self.lines if " wrote " in line or "published batch" in line)

    def kill_after(self, steps: int, timeout: float = 60) -> bool:
        """SIGKILL once ``steps`` write steps were logged; False if it never got there."""
        deadline = time.monotonic() + timeout
        while self.steps() < steps and time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            time.sleep(0.001)
        reached = self.steps() >= steps
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return reached


def test_publisher_sigkilled_mid_batch_20_times(make_server: object, tmp_path: Path) -> None:
    """SIGKILL at random points of batches: metadata always verifies, nothing is lost,
    no half-written file is served."""
    env = {"ENDORSE_UPLOAD_WAIT": "0", "ENDORSE_BATCH_MAX": "8"}
    server: IndexServer = make_server(env=env, args=["--no-publisher"])  # type: ignore[operator]
    accepted: dict[str, str] = {}
    stop = threading.Event()

    def upload_continuously() -> None:
        with httpx.Client() as client:
            i = 0
            while not stop.is_set() and i < 400:
                project = f"crash-{i % 12}"
                wheel = make_wheel(tmp_path / "w", project, f"0.{i}")
                if http_upload(client, server, wheel).status_code == 200:
                    accepted[wheel.name] = project
                i += 1

    uploader = threading.Thread(target=upload_continuously)
    uploader.start()
    rng = random.Random(20261125)
    kills = mid_batch = 0
    try:
        while kills < 20:
            publisher = PublisherProcess(server.data_dir, server_env(env))
            mid_batch += publisher.kill_after(rng.randint(1, 12))
            kills += 1
            # Whatever state the kill left, what is served verifies.
            verify_all(server, tmp_path / f"after-kill-{kills}", {})
            assert_no_partial_files(server.data_dir / "store")
    finally:
        stop.set()
        uploader.join()
    final = PublisherProcess(server.data_dir, server_env(env))
    try:
        server.wait_published(timeout=120)
    finally:
        final.process.terminate()
        final.process.wait()
    assert mid_batch >= 15, f"only {mid_batch} of 20 kills landed inside a batch"
    assert len(accepted) > 20
    verify_all(server, tmp_path / "final", accepted)


def assert_no_partial_files(store: Path) -> None:
    """Served metadata names hold whole JSON documents; temp files never have served names."""
    for path in (store / "metadata").iterdir():
        if path.name.startswith(".tmp-"):
            continue
        json.loads(path.read_bytes())


def test_online_roles_refreshed_before_expiry_without_uploads(tmp_path: Path) -> None:
    """With a controllable clock: timestamp/snapshot re-signed after half their life,
    bins after half of theirs, and the result verifies with ngclient."""
    clock = ManualClock()
    index = InProcessIndex.start(tmp_path / "index", publish=False, clock=clock, bin_count=8)
    try:
        settings = index.services.settings
        publisher = index.publication.publisher
        start = PublishedMetadata(index.services.store).timestamp().signed
        assert start.expires - settings.expiry.timestamp == clock.now()

        assert publisher.publish_once() is None  # nothing due yet

        clock.advance(timedelta(hours=13))
        result = publisher.publish_once()
        assert result is not None
        published = PublishedMetadata(index.services.store, timestamp_ttl=0)
        timestamp = published.timestamp().signed
        assert timestamp.version == start.version + 1
        assert timestamp.expires == clock.now() + settings.expiry.timestamp
        assert published.snapshot().signed.expires == clock.now() + settings.expiry.snapshot
        assert publisher.publish_once() is None  # fresh again

        clock.advance(timedelta(days=3, hours=12))
        assert publisher.publish_once() is not None
        snapshot = published.snapshot().signed
        for name in ("bin-0", "bin-7", "unclaimed", "recently-claimed"):
            assert published.role(name).signed.expires == clock.now() + settings.expiry.bins
            assert snapshot.meta[f"{name}.json"].version == 2
        verify_all(index, tmp_path / "client", {})
    finally:
        index.stop()


def test_prune_keeps_root_and_what_the_newest_timestamp_reaches(tmp_path: Path) -> None:
    """Mark-and-sweep removes superseded versions and listings, never root."""
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        for i in range(4):
            wheel = make_wheel(tmp_path / "w", "prune-me", f"1.{i}")
            assert server.upload(wheel).status_code == 200
        metadata = server.data_dir / "store" / "metadata"
        before = {p.name for p in metadata.iterdir()}
        assert "1.root.json" in before and "2.snapshot.json" in before
        result = server.admin("prune", "--grace", "0")
        assert "pruned" in result.stdout
        after = {p.name for p in metadata.iterdir()}
        assert "1.root.json" in after
        assert "2.snapshot.json" not in after
        snapshots = [n for n in after if re.fullmatch(r"\d+\.snapshot\.json", n)]
        assert len(snapshots) == 1
        html_listings = list((server.data_dir / "store" / "targets").rglob("*.index.html"))
        assert len(html_listings) == 1
        verify_all(
            server,
            tmp_path / "client",
            {f"prune_me-1.{i}-py3-none-any.whl": "prune-me" for i in range(4)},
        )
    finally:
        server.stop()


def test_prune_respects_grace(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "i", bin_count=4)
    services = Services.open(settings)
    ensure_repository(services)
    assert prune(services.store, services.db, timedelta(hours=1)).metadata == 0


def test_unsigned_mode_serves_but_publishes_no_metadata(tmp_path: Path) -> None:
    """The benchmark baseline says loudly that nothing is signed, and signs nothing."""
    with pytest.warns(InsecureIndexWarning, match="TUF signing is OFF"):
        server = InProcessIndex.start(tmp_path / "index", tuf_enabled=False)
    try:
        token = server.add_user("carol", "a-long-password")
        wheel = make_wheel(tmp_path / "w", "plain-pkg", "1.0")
        assert server.upload(wheel, token=token).status_code == 200
        assert wheel.name in server.get("/simple/plain-pkg/").text
        assert server.get("/tuf/metadata/timestamp.json").status_code == 404
    finally:
        server.stop()
