"""PyPI's JSON API (issue 12): Warehouse's shape, the files the Simple API lists,
each with the trust level the index records. In process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from endorse.metadata.paths import file_target
from tests.inprocess import InProcessIndex
from tests.packages import make_sdist, make_wheel

HEADERS = (
    "Summary: A project for the JSON API\n"
    "Author: Alice\n"
    "License-Expression: MIT\n"
    "Keywords: json,api\n"
    "Classifier: Programming Language :: Python :: 3\n"
    "Project-URL: Source, https://example.org/src\n"
)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[tuple[InProcessIndex, dict[str, Path]]]:
    server = InProcessIndex.start(tmp_path / "index", in_memory=False)
    dist = tmp_path / "dist"
    files = {
        "1.0-whl": make_wheel(dist, "json-pkg", "1.0", headers=HEADERS),
        "1.0-sdist": make_sdist(dist, "json-pkg", "1.0"),
        "2.0-whl": make_wheel(dist, "json-pkg", "2.0", deps=["beta>=1"], headers=HEADERS),
        "3.0rc1-whl": make_wheel(dist, "json-pkg", "3.0rc1", headers=HEADERS),
    }
    try:
        for path in files.values():
            assert server.upload(path).status_code == 200
        yield server, files
    finally:
        server.stop()


def test_project_document_has_warehouses_shape(
    index: tuple[InProcessIndex, dict[str, Path]],
) -> None:
    server, files = index
    document: dict[str, Any] = server.get("/pypi/json-pkg/json").json()
    info = document["info"]
    assert info["name"] == "json-pkg" and info["version"] == "2.0"  # no pre-release
    assert info["summary"] == "A project for the JSON API" and info["author"] == "Alice"
    assert info["requires_dist"] == ["beta>=1"] and info["keywords"] == "json,api"
    assert info["classifiers"] == ["Programming Language :: Python :: 3"]
    assert info["project_urls"] == {"Source": "https://example.org/src"}
    assert info["license_expression"] == "MIT" and info["yanked"] is False
    assert set(document["releases"]) == {"1.0", "2.0", "3.0rc1"}
    assert [f["filename"] for f in document["releases"]["1.0"]] == [
        files["1.0-whl"].name,
        files["1.0-sdist"].name,
    ]
    (shown,) = document["urls"]
    assert shown["filename"] == files["2.0-whl"].name
    assert shown["digests"]["sha256"] == hashlib.sha256(files["2.0-whl"].read_bytes()).hexdigest()
    assert shown["url"] == f"{server.url}/tuf/targets/{file_target('json-pkg', shown['filename'])}"  # type: ignore[arg-type]
    assert server.get(shown["url"]).content == files["2.0-whl"].read_bytes()
    assert shown["trust"] == {"level": 1, "label": "index-signed"}
    assert document["endorse"] == {
        "claim": None,
        "project_status": {"status": "active", "reason": ""},
    }
    assert document["last_serial"] > 0
    # The same files as the Simple API listing, with the same hashes.
    listing = server.get(
        "/simple/json-pkg/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    ).json()
    listed = {f["filename"]: f["hashes"]["sha256"] for f in listing["files"]}
    documented = {
        f["filename"]: f["digests"]["sha256"] for fs in document["releases"].values() for f in fs
    }
    assert documented == listed


def test_release_document_and_yanks(index: tuple[InProcessIndex, dict[str, Path]]) -> None:
    server, files = index
    release = server.get("/pypi/json-pkg/1.0/json").json()
    assert release["info"]["version"] == "1.0" and "releases" not in release
    assert {f["filename"] for f in release["urls"]} == {
        files["1.0-whl"].name,
        files["1.0-sdist"].name,
    }
    server.admin("yank", "json-pkg", "2.0", "--reason", "broken")
    server.publish()
    after = server.get("/pypi/json-pkg/json").json()
    assert after["info"]["version"] == "1.0"  # the newest release not yanked
    yanked = server.get("/pypi/json-pkg/2.0/json").json()
    assert yanked["info"]["yanked"] is True and yanked["info"]["yanked_reason"] == "broken"
    assert yanked["urls"][0]["yanked"] is True


def test_missing_projects_and_versions_and_spellings(
    index: tuple[InProcessIndex, dict[str, Path]],
) -> None:
    server, _ = index
    missing = server.get("/pypi/no-such-project/json")
    assert missing.status_code == 404 and "no project 'no-such-project'" in missing.text
    absent = server.get("/pypi/json-pkg/9.9/json")
    assert absent.status_code == 404 and "has no release '9.9'" in absent.text
    assert server.get("/pypi/json-pkg/not a version/json").status_code == 404
    moved = server.get("/pypi/JSON_Pkg/json", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/pypi/json-pkg/json"
