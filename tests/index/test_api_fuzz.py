"""Every developer-API and upload endpoint, sent malformed, wrong-typed and
out-of-range bodies: each answer is a 4xx with a message, never a 5xx, and
nothing is stored.

The bodies are made systematically from a valid one per endpoint: not JSON,
JSON of another shape, each field left out, each field replaced by a value of
every other JSON type, and numbers and strings past their range. The web app
runs in this process and raises any unhandled exception into the test, so a
500 cannot slip through as an answer either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.signer import CryptoSigner

from endorse.developer import build_release, sign_release
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel

#: Every table of the schema: a refused request changes none of them.
TABLES = (
    "users",
    "api_tokens",
    "projects",
    "project_members",
    "files",
    "file_registry",
    "publish_queue",
    "batches",
    "published_listings",
    "role_state",
    "superseded_targets",
    "developer_keys",
    "project_claims",
    "claim_maintainers",
    "project_role_versions",
    "pending_releases",
    "signing_events",
)

#: A value of each JSON type, to put where another type belongs.
WRONG_TYPES: dict[str, Any] = {
    "null": None,
    "true": True,
    "int": 7,
    "negative": -1,
    "huge": 10**30,
    "float": 2.5,
    "string": "x",
    "empty-string": "",
    "list": [1, "two"],
    "object": {"nested": {"deeper": []}},
}
#: Strings past what any field holds.
LONG = "a" * 100_000


@dataclass(frozen=True)
class World:
    """An index with a claimed project, a pending release and a registered key."""

    index: InProcessIndex
    signer: CryptoSigner
    pending_id: int
    keyid: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("fuzz")
    index = InProcessIndex.start(folder / "index")
    try:
        assert index.upload(make_wheel(folder / "w", "hello-world", "1.0")).status_code == 200
        assert index.upload(make_wheel(folder / "w", "claimed-pkg", "1.0")).status_code == 200
        index.services.accounts.create_user("bob", "bobs-long-password")
        index.services.accounts.add_member("claimed-pkg", "bob")
        client, bob = index.client(), index.client("bob", "bobs-long-password")
        signer, bob_key = CryptoSigner.generate_ed25519(), CryptoSigner.generate_ed25519()
        keyid = client.register_key(signer.public_key)
        bob.register_key(bob_key.public_key)
        client.claim("claimed-pkg", maintainers=["bob"], threshold=2)
        md = build_release(client.project("claimed-pkg"), [], previous=None)
        sign_release(md, signer)
        outcome = client.submit_release("claimed-pkg", md.to_bytes(), [])
        assert outcome["state"] == "pending" and outcome["pending_id"] is not None
        yield World(index, signer, outcome["pending_id"], keyid)
    finally:
        index.stop()


def stored(index: InProcessIndex) -> tuple[dict[str, int], frozenset[str]]:
    """Rows per table and every stored object: what a refused request must leave alone."""
    return index.row_counts(*TABLES), index.blob_keys("")


def json_bodies(valid: dict[str, Any], ranges: dict[str, list[Any]]) -> dict[str, bytes]:
    """Malformed, wrong-typed and out-of-range variants of a valid JSON body."""
    bodies: dict[str, bytes] = {
        "empty": b"",
        "not-json": b"{'threshold': 2,",
        "binary": bytes(range(256)),
        "json-null": b"null",
        "json-list": b"[]",
        "json-string": b'"a string"',
        "json-number": b"42",
        "nested-deep": b"[" * 10_000 + b"]" * 10_000,
    }
    for field, good in valid.items():
        missing = {k: v for k, v in valid.items() if k != field}
        bodies[f"{field}-missing"] = json.dumps(missing).encode()
        for label, value in WRONG_TYPES.items():
            if type(value) is type(good):
                continue
            bodies[f"{field}-{label}"] = json.dumps({**valid, field: value}).encode()
        for i, value in enumerate(ranges.get(field, [])):
            bodies[f"{field}-range-{i}"] = json.dumps({**valid, field: value}).encode()
    return bodies


def _cases() -> list[Any]:
    key = CryptoSigner.generate_ed25519().public_key
    valid_key = {"keyid": key.keyid, "key": key.to_dict()}
    cases: list[Any] = []
    register = {"key": valid_key, "label": "laptop", "statement": {}, "signature": None}
    for name, body in json_bodies(
        register,
        {
            "label": [LONG],
            "key": [
                {"keyid": key.keyid},
                {"keyid": LONG, "key": key.to_dict()},
                {"keyid": key.keyid, "key": {"keytype": "rsa", "scheme": "x", "keyval": {}}},
                {"keyid": key.keyid, "key": {"keyval": {"public": 5}}},
            ],
            "signature": [{"keyid": "ab", "sig": 5}, {"keyid": LONG, "sig": "00"}, {"sig": "x"}],
            "statement": [{"type": "endorse/add-key/v1"}, {"maintainer": ["x"]}],
        },
    ).items():
        cases.append(pytest.param("POST", "/api/v1/keys", body, id=f"register-key-{name}"))
    claim = {"maintainers": ["bob"], "threshold": 1}
    for name, body in json_bodies(
        claim,
        {
            "threshold": [0, -5, 1001, 10**30, 3],
            "maintainers": [["bob"] * 2000, [LONG], [""], ["no-such-user"]],
        },
    ).items():
        for project in ("hello-world", "claimed-pkg", "no-such-project"):
            if (project, name) == ("hello-world", "maintainers-missing"):
                continue  # demo alone may claim hello-world: that body is valid
            cases.append(
                pytest.param(
                    "POST", f"/api/v1/projects/{project}/claim", body, id=f"claim-{project}-{name}"
                )
            )
    status = {"status": "archived", "reason": "moved"}
    for name, body in json_bodies(
        status, {"status": ["stolen", "", "ARCHIVED", LONG], "reason": [LONG]}
    ).items():
        if name == "reason-missing":
            continue  # a reason is optional: that body is valid
        for project in ("hello-world", "no-such-project"):
            cases.append(
                pytest.param(
                    "POST",
                    f"/api/v1/projects/{project}/status",
                    body,
                    id=f"status-{project}-{name}",
                )
            )
    cosign = {"signatures": [{"keyid": "ab" * 32, "sig": "00"}]}
    for name, body in json_bodies(
        cosign,
        {
            "signatures": [
                [{"keyid": "ab" * 32}],
                [{"keyid": "ab" * 32, "sig": LONG}],
                [{"keyid": "ab" * 32, "sig": "not hex"}],
                [{"keyid": "ab" * 32, "sig": "00"}] * 1001,
                ["a string"],
            ]
        },
    ).items():
        cases.append(pytest.param("POST", "COSIGN", body, id=f"cosign-{name}"))
    return cases


@pytest.mark.parametrize(("method", "path", "body"), _cases())
def test_bad_json_bodies_get_a_4xx_with_a_message(
    world: World, method: str, path: str, body: bytes
) -> None:
    index = world.index
    if path == "COSIGN":
        path = f"/api/v1/projects/claimed-pkg/pending/{world.pending_id}/signatures"
    before = stored(index)
    response = index.http.request(
        method,
        path,
        content=body,
        headers={"Content-Type": "application/json"},
        auth=("__token__", index.token),
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.text.strip(), "a refusal says what was wrong"
    assert stored(index) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/projects/no-such-project"),
        ("GET", "/api/v1/projects/" + "x" * 5000),
        ("GET", "/api/v1/projects/%00%ff"),
        ("GET", "/api/v1/projects/no-such-project/pending"),
        ("POST", "/api/v1/keys/not-a-key/revoke"),
        ("POST", "/api/v1/keys/" + "ab" * 5000 + "/revoke"),
        ("POST", "/api/v1/projects/claimed-pkg/pending/99999999999999999999999/signatures"),
        ("POST", "/api/v1/projects/claimed-pkg/pending/0/signatures"),
        ("POST", "/api/v1/projects/no-such-project/pending/1/signatures"),
        ("GET", "/api/v1/projects/claimed-pkg/pending/1/signatures"),
        ("POST", "/api/v1/projects/claimed-pkg"),
        ("GET", "/api/v1/keys"),
    ],
)
def test_bad_paths_and_methods_get_a_4xx(world: World, method: str, path: str) -> None:
    index = world.index
    before = stored(index)
    body = json.dumps({"signatures": []}).encode()
    response = index.http.request(
        method,
        path,
        content=body if method == "POST" else None,
        headers={"Content-Type": "application/json"},
        auth=("__token__", index.token),
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.text.strip()
    assert stored(index) == before


def _release_forms(signed: bytes) -> dict[str, tuple[dict[str, Any], list[tuple[str, Any]]]]:
    """Malformed signed releases: multipart ``(data, files)`` pairs."""
    valid = json.loads(signed)

    def metadata(doc: Any) -> tuple[str, Any]:
        return ("metadata", ("metadata.json", json.dumps(doc).encode(), "application/json"))

    def with_signed(**changes: Any) -> dict[str, Any]:
        return {**valid, "signed": {**valid["signed"], **changes}}

    return {
        "no-metadata-part": ({}, [("content", ("x.whl", b"PK", "application/octet-stream"))]),
        "metadata-as-field": ({"metadata": signed.decode()}, []),
        "metadata-not-json": ({}, [("metadata", ("m.json", b"{not json", "application/json"))]),
        "metadata-binary": ({}, [("metadata", ("m.json", bytes(range(256)), "application/json"))]),
        "metadata-list": ({}, [metadata([1, 2])]),
        "metadata-null": ({}, [metadata(None)]),
        "signed-missing": ({}, [metadata({"signatures": valid["signatures"]})]),
        "signatures-not-a-list": ({}, [metadata({**valid, "signatures": "x"})]),
        "version-string": ({}, [metadata(with_signed(version="2"))]),
        "version-negative": ({}, [metadata(with_signed(version=-1))]),
        "version-huge": ({}, [metadata(with_signed(version=10**30))]),
        "expires-garbage": ({}, [metadata(with_signed(expires="tomorrow"))]),
        "targets-list": ({}, [metadata(with_signed(targets=[1]))]),
        "target-length-string": (
            {},
            [metadata(with_signed(targets={"a/b/c": {"length": "9", "hashes": {}}}))],
        ),
        "type-root": ({}, [metadata(with_signed(_type="root"))]),
        "content-without-filename": (
            {},
            [metadata(valid), ("content", ("", b"data", "application/octet-stream"))],
        ),
        "content-not-a-distribution": (
            {},
            [metadata(valid), ("content", ("notes.txt", b"hello", "text/plain"))],
        ),
    }


def test_bad_releases_get_a_4xx_with_a_message_and_store_nothing(world: World) -> None:
    index = world.index
    md = build_release(index.client().project("claimed-pkg"), [], previous=None)
    sign_release(md, world.signer)
    for name, (data, files) in _release_forms(md.to_bytes()).items():
        before = stored(index)
        response = index.http.post(
            "/api/v1/projects/claimed-pkg/releases",
            data=data,
            files=files or None,
            auth=("__token__", index.token),
        )
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.text.strip(), name
        assert stored(index) == before, name
    for name, (content, content_type) in {
        "json-body": (b"{}", "application/json"),
        "no-boundary": (b"--x\r\n", "multipart/form-data"),
        "garbage-multipart": (bytes(range(256)) * 8, "multipart/form-data; boundary=b"),
    }.items():
        before = stored(index)
        response = index.http.post(
            "/api/v1/projects/claimed-pkg/releases",
            content=content,
            headers={"Content-Type": content_type},
            auth=("__token__", index.token),
        )
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.text.strip(), name
        assert stored(index) == before, name


def _legacy_forms(wheel: Path) -> dict[str, tuple[dict[str, Any], Any]]:
    """Malformed twine uploads: ``(fields, files)``."""
    good = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "hello-world",
        "version": "9.0",
        "sha256_digest": "0" * 64,
    }
    content = {"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")}
    forms: dict[str, tuple[dict[str, Any], Any]] = {}
    for field in good:
        forms[f"{field}-missing"] = ({k: v for k, v in good.items() if k != field}, content)
        for label, value in {
            "empty": "",
            "long": LONG[:900_000],
            "binary": "\x00\xff",
            "spaces": "   ",
            "number": "12345",
        }.items():
            forms[f"{field}-{label}"] = ({**good, field: value}, content)
    forms["content-as-field"] = ({**good, "content": "PK\x03\x04"}, None)
    forms["content-empty-file"] = (good, {"content": (wheel.name, b"", "application/octet-stream")})
    forms["filetype-unknown"] = ({**good, "filetype": "bdist_egg"}, content)
    forms["digest-not-hex"] = ({**good, "sha256_digest": "z" * 64}, content)
    forms["digest-too-short"] = ({**good, "sha256_digest": "ab"}, content)
    forms["md5-only-wrong"] = (
        {**{k: v for k, v in good.items() if k != "sha256_digest"}, "md5_digest": "0" * 32},
        content,
    )
    return forms


def test_bad_legacy_uploads_get_a_4xx_with_a_message_and_store_nothing(
    world: World, tmp_path: Path
) -> None:
    index = world.index
    wheel = make_wheel(tmp_path, "hello-world", "9.0")
    for name, (fields, files) in _legacy_forms(wheel).items():
        before = stored(index)
        response = index.http.post(
            "/legacy/", data=fields, files=files, auth=("__token__", index.token)
        )
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        assert response.text.strip(), name
        assert stored(index) == before, name


def test_the_valid_bodies_the_fuzzing_starts_from_are_accepted(
    world: World, tmp_path: Path
) -> None:
    """Control: what every case above varies is accepted, so the refusals are the
    variations', not the setup's."""
    index = world.index
    key = CryptoSigner.generate_ed25519().public_key
    bob = index.client("bob", "bobs-long-password")
    assert index.upload(make_wheel(tmp_path, "hello-world", "9.1")).status_code == 200
    response = index.http.post(
        "/api/v1/keys",
        json={"key": {"keyid": key.keyid, "key": key.to_dict()}, "label": "laptop"},
        auth=("__token__", index.add_user("carol", "carols-long-password")),
    )
    assert response.status_code == 201, response.text
    assert bob.project("claimed-pkg")["claim"] is not None
    ((pending_id, raw),) = bob.pending("claimed-pkg")
    assert pending_id == world.pending_id and json.loads(raw)["signed"]["version"] == 1
