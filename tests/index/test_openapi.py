"""The developer API's OpenAPI document: valid, served, and the same as what is routed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from securesystemslib.signer import CryptoSigner
from starlette.routing import Route

from endorse.api.models import ProjectResponse, adapter
from endorse.api.openapi import API_PREFIX, ENDPOINTS, OPENAPI_PATH, openapi_document
from endorse.web import create_app
from tests.inprocess import InProcessIndex
from tests.packages import make_wheel


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessIndex]:
    started = InProcessIndex.start(tmp_path_factory.mktemp("openapi") / "index")
    yield started
    started.stop()


def test_the_document_is_valid_openapi() -> None:
    document = openapi_document()
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1")
    schemas = document["components"]["schemas"]
    for endpoint in ENDPOINTS:
        for model in endpoint.responses.values():
            assert model.__name__ in schemas
        if endpoint.request is not None:
            assert endpoint.request.__name__ in schemas


def test_the_index_serves_it(index: InProcessIndex) -> None:
    served = index.get(OPENAPI_PATH)
    assert served.status_code == 200
    assert served.json() == openapi_document()


def test_every_api_route_is_documented_and_every_documented_operation_routed(
    index: InProcessIndex,
) -> None:
    app = create_app(index.services)
    routed = {
        (method, route.path.replace(":int", ""))
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith(API_PREFIX)
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {
        (method.upper(), path)
        for path, operations in openapi_document()["paths"].items()
        for method in operations
    }
    assert routed - {("GET", OPENAPI_PATH)} == documented


def test_answers_match_their_documented_models(index: InProcessIndex, tmp_path: Path) -> None:
    """What the server answers validates strictly against the model the document names."""
    assert index.upload(make_wheel(tmp_path, "modelled", "1.0")).status_code == 200
    signer = CryptoSigner.generate_ed25519()
    client = index.client()
    client.register_key(signer.public_key)
    claimed = client.claim("modelled", maintainers=[], threshold=1)
    raw = index.get("/api/v1/projects/modelled")
    project = adapter(ProjectResponse).validate_json(raw.content)
    assert project == claimed
    assert project["claim"] is not None and project["claim"]["state"] == "pending"
    assert [f["filename"] for f in project["files"]] == ["modelled-1.0-py3-none-any.whl"]
    assert index.get("/api/v1/projects/modelled/pending").json() == {"pending": []}


def test_a_body_of_the_wrong_shape_is_refused_by_field(index: InProcessIndex) -> None:
    response = index.post(
        "/api/v1/keys",
        json={"key": {"keyid": 5, "key": []}, "label": 3},
        auth=("__token__", index.token),
    )
    assert response.status_code == 400
    for field in ("key.keyid", "key.key", "label"):
        assert field in response.text
    assert "/api/v1/openapi.json" in response.text
