"""The publisher's batch logic, in this process: what a batch writes, in which order,
and what a failed one leaves behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.api.metadata import Targets
from tuf.repository import AbortEdit

from endorse.metadata.paths import file_target, listing_target
from endorse.metadata.storage_keys import TIMESTAMP_KEY
from endorse.publisher.repository import StoredRepository
from endorse.storage.db import QueueEntry, queries
from endorse.storage.memory import InMemoryBlobStore
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel

JSON_LISTING = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[InProcessIndex]:
    """An in-process index whose publisher runs only when the test says."""
    started = InProcessIndex.start(tmp_path / "index", publish=False)
    yield started
    started.stop()


def timestamp_version(index: InProcessIndex) -> int:
    return int(json.loads(index.services.store.get(TIMESTAMP_KEY))["signed"]["version"])


def test_a_batch_that_fails_before_its_timestamp_leaves_the_published_state_whole(
    index: InProcessIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path / "w", "crashing", "1.0")
    assert index.upload(wheel).status_code == 200
    before = timestamp_version(index)
    store = index.services.store
    assert isinstance(store, InMemoryBlobStore)
    put = store.put

    def fail_on_timestamp(key: str, data: bytes) -> None:
        if key == TIMESTAMP_KEY:
            raise OSError("the disk is gone")
        put(key, data)

    monkeypatch.setattr(store, "put", fail_on_timestamp)
    with pytest.raises(OSError, match="the disk is gone"):
        index.publish()

    assert timestamp_version(index) == before
    assert index.services.status().pending_projects == 1
    target = file_target("crashing", wheel.name)  # type: ignore[arg-type]
    updater = index.updater(tmp_path / "during")
    updater.refresh()  # the previous state, whole
    assert updater.get_targetinfo(target) is None
    assert index.get("/simple/crashing/").status_code == 404

    monkeypatch.setattr(store, "put", put)
    assert index.publish() == 1
    assert timestamp_version(index) == before + 1
    assert index.services.status().pending_projects == 0
    fresh = index.updater(tmp_path / "after")
    fresh.refresh()
    info = fresh.get_targetinfo(target)
    assert info is not None
    assert Path(fresh.download_target(info)).read_bytes() == wheel.read_bytes()


def test_an_aborted_edit_leaves_the_working_set_as_it_was(index: InProcessIndex) -> None:
    """python-tuf's promise: after AbortEdit nothing is stored, whatever the edit changed."""
    publisher = index.publication.publisher
    repo = publisher.repo
    assert isinstance(repo, StoredRepository)
    repo.load()
    before = repo.read("bin-0").signed
    assert isinstance(before, Targets)
    version, targets = before.version, dict(before.targets)
    with repo.edit_targets("bin-0") as bin_targets:
        bin_targets.targets.clear()
        bin_targets.version = 99
        raise AbortEdit
    after = repo.read("bin-0").signed
    assert isinstance(after, Targets)
    assert (after.version, after.targets) == (version, targets)
    assert not repo.was_written("bin-0")


def test_a_queued_project_that_did_not_change_signs_nothing_new(
    index: InProcessIndex, tmp_path: Path
) -> None:
    assert index.upload(make_wheel(tmp_path / "w", "steady", "1.0")).status_code == 200
    index.publish()
    before = timestamp_version(index)
    with index.services.db.session() as session:
        project = queries.project_by_name(session, "steady")  # type: ignore[arg-type]
        assert project is not None
        session.add(QueueEntry(project_id=project.id))
    result = index.publication.publisher.publish_once()
    assert result is not None and result.projects == 1
    assert result.roles_written == 0
    assert timestamp_version(index) == before
    assert index.services.status().pending_projects == 0


def test_a_yank_and_a_removal_change_the_signed_listing_in_the_next_batch(
    index: InProcessIndex, tmp_path: Path
) -> None:
    wheels = [make_wheel(tmp_path / "w", "changing", v) for v in ("1.0", "2.0", "3.0")]
    for wheel in wheels:
        assert index.upload(wheel).status_code == 200
    index.publish()
    index.services.uploads.set_yanked("changing", "2.0", yanked=True, reason="broken build")
    index.services.uploads.remove_files("changing", version="3.0", filename=None)
    page = index.get("/simple/changing/", headers={"Accept": JSON_LISTING}).json()
    assert {f["filename"] for f in page["files"]} == {w.name for w in wheels}  # not yet

    index.publish()

    served = index.get("/simple/changing/", headers={"Accept": JSON_LISTING})
    listing = {f["filename"]: f["yanked"] for f in served.json()["files"]}
    assert listing == {wheels[0].name: False, wheels[1].name: "broken build"}
    updater = index.updater(tmp_path / "client")
    updater.refresh()
    info = updater.get_targetinfo(listing_target("changing", "json"))  # type: ignore[arg-type]
    assert info is not None
    assert Path(updater.download_target(info)).read_bytes() == served.content
    assert updater.get_targetinfo(file_target("changing", wheels[2].name)) is None  # type: ignore[arg-type]
