"""PEP 792 project status markers (issue 12): set by owners (active, archived,
deprecated) and administrators (also quarantined), carried by the signed listings,
and obeyed by the index: archived and quarantined projects take no uploads, a
quarantined project offers no file. In process, with an unmodified ngclient."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from endorse.errors import PermissionDenied
from endorse.metadata.paths import file_target, listing_target
from endorse.states import ProjectStatus
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel

PROJECT = "status-pkg"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[InProcessIndex]:
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    try:
        assert server.upload(make_wheel(tmp_path / "w", PROJECT, "1.0")).status_code == 200
        yield server
    finally:
        server.stop()


def signed_listing(index: InProcessIndex, folder: Path) -> dict[str, object]:
    """The project's PEP 691 listing as an unmodified ngclient verifies it."""
    updater = index.updater(folder)
    updater.refresh()
    info = updater.get_targetinfo(listing_target(PROJECT, "json"))  # type: ignore[arg-type]
    assert info is not None
    listing: dict[str, object] = json.loads(Path(updater.download_target(info)).read_bytes())
    return listing


def test_owner_archives_and_deprecates_the_signed_listing_says_so(
    index: InProcessIndex, tmp_path: Path
) -> None:
    owner = index.client()
    answer = owner.set_status(PROJECT, ProjectStatus.ARCHIVED, "no longer maintained")
    assert answer["status"] == {"status": "archived", "reason": "no longer maintained"}
    index.publish()
    listing = signed_listing(index, tmp_path / "c1")
    assert listing["project-status"] == {"status": "archived", "reason": "no longer maintained"}
    assert listing["files"], "an archived project still offers its files"
    html = index.get(f"/simple/{PROJECT}/").text
    assert '<meta name="pypi:project-status" content="archived">' in html
    refused = index.upload(make_wheel(tmp_path / "w", PROJECT, "2.0"))
    assert refused.status_code == 409
    assert "is archived (PEP 792): it takes no new uploads" in refused.text

    owner.set_status(PROJECT, ProjectStatus.DEPRECATED, "use other-pkg")
    index.publish()
    assert signed_listing(index, tmp_path / "c2")["project-status"] == {
        "status": "deprecated",
        "reason": "use other-pkg",
    }
    assert index.upload(make_wheel(tmp_path / "w", PROJECT, "2.0")).status_code == 200


def test_quarantine_is_for_administrators_and_offers_no_file(
    index: InProcessIndex, tmp_path: Path
) -> None:
    owner = index.client()
    with pytest.raises(PermissionDenied, match="only an administrator quarantines a project"):
        owner.set_status(PROJECT, ProjectStatus.QUARANTINED)
    index.admin("project", "status", PROJECT, "quarantined", "--reason", "malware (#42)")
    index.publish()
    listing = signed_listing(index, tmp_path / "c1")
    assert listing["project-status"] == {"status": "quarantined", "reason": "malware (#42)"}
    assert listing["files"] == []
    wheel = f"/tuf/targets/{file_target(PROJECT, 'status_pkg-1.0-py3-none-any.whl')}"  # type: ignore[arg-type]
    blocked = index.get(wheel)
    assert blocked.status_code == 403 and "is quarantined (PEP 792)" in blocked.text
    assert index.upload(make_wheel(tmp_path / "w", PROJECT, "3.0")).status_code == 409
    with pytest.raises(PermissionDenied, match="only an administrator lifts a quarantine"):
        owner.set_status(PROJECT, ProjectStatus.ACTIVE)

    index.admin("project", "status", PROJECT, "active")
    index.publish()
    back = signed_listing(index, tmp_path / "c2")
    assert back["project-status"] == {"status": "active"}
    assert [f["filename"] for f in back["files"]] == ["status_pkg-1.0-py3-none-any.whl"]  # type: ignore[attr-defined]
    index.services.projects._statuses.clear()  # the download check caches for 2 s
    assert index.get(wheel).status_code == 200


def test_status_request_is_validated(index: InProcessIndex) -> None:
    owner = index.client()
    response = owner._client.post(
        f"{index.url}/api/v1/projects/{PROJECT}/status", json={"status": "stolen"}
    )
    assert response.status_code == 400 and "status" in response.text
    other = index.post(
        f"/api/v1/projects/{PROJECT}/status",
        json={"status": "archived", "reason": "x" * 501},
        auth=("__token__", index.token),
    )
    assert other.status_code == 400
