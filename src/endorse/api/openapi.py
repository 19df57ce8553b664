"""The developer API's endpoints, and the OpenAPI document built from them.

:data:`ENDPOINTS` is the one list of the API: the web face routes each
endpoint to the handler its ``operation`` names, and :func:`openapi_document`
describes the same list, with the body schemas pydantic derives from
:mod:`endorse.api.models`, so the document cannot drift from what is served.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import TypeAdapter

from endorse import __version__
from endorse.api.models import (
    ClaimRequest,
    CosignRequest,
    KeyRegistrationRequest,
    KeyRegistrationResponse,
    KeyRevocationResponse,
    PendingReleasesResponse,
    ProjectResponse,
    ReleaseResponse,
    StatusRequest,
    adapter,
)

__all__ = ["API_PREFIX", "ENDPOINTS", "OPENAPI_PATH", "Endpoint", "openapi_document"]

API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"
_REF = "#/components/schemas/{model}"

#: Every error answer: the message, then ``Hint: ...`` when there is one.
_ERRORS = {
    400: "malformed, wrong-typed or out-of-range input, or a check refused it",
    401: "credentials missing or wrong (HTTP Basic: a password, or __token__ and a token)",
    403: "authenticated, but not allowed (not a maintainer, a bad or unknown signature)",
    404: "no such project, key or pending release",
    409: "clashes with the index's state (already claimed, not claimed, stale, concurrent)",
    413: "a body or file over its limit",
}


@dataclass(frozen=True)
class Endpoint:
    """One operation of the developer API."""

    method: Literal["GET", "POST"]
    #: The path under the index's root, parameters in braces (``{project}``).
    path: str
    #: The handler's name in ``web/api.py``, and the OpenAPI ``operationId``.
    operation: str
    summary: str
    #: Status -> the body type answered with it.
    responses: dict[int, type[Any]]
    #: The JSON body it takes, if any.
    request: type[Any] | None = None
    #: Takes ``multipart/form-data`` (a signed release with its files).
    multipart: bool = False
    #: Needs HTTP Basic credentials.
    authenticated: bool = True
    #: Path parameters that are integers.
    integer_parameters: tuple[str, ...] = field(default_factory=tuple)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        f"{API_PREFIX}/projects/{{project}}",
        "project",
        "A project's files and claim (keys, threshold, current version)",
        {200: ProjectResponse},
        authenticated=False,
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/keys",
        "register_key",
        "Register a machine key (further keys: with an add-key statement)",
        {201: KeyRegistrationResponse},
        request=KeyRegistrationRequest,
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/keys/{{keyid}}/revoke",
        "revoke_key",
        "Revoke one of your keys",
        {200: KeyRevocationResponse},
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/projects/{{project}}/claim",
        "claim",
        "Claim a project (owners): its maintainers' keys sign its files from now on",
        {200: ProjectResponse},
        request=ClaimRequest,
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/projects/{{project}}/status",
        "set_status",
        "Set a project's PEP 792 status marker (owners: active, archived, deprecated)",
        {200: ProjectResponse},
        request=StatusRequest,
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/projects/{{project}}/releases",
        "release",
        "A signed release: one 'metadata' part (the signed role) and up to 100 'content' files",
        {201: ReleaseResponse, 202: ReleaseResponse},
        multipart=True,
    ),
    Endpoint(
        "GET",
        f"{API_PREFIX}/projects/{{project}}/pending",
        "pending",
        "Releases waiting for co-signatures, with their metadata",
        {200: PendingReleasesResponse},
        authenticated=False,
    ),
    Endpoint(
        "POST",
        f"{API_PREFIX}/projects/{{project}}/pending/{{pending_id}}/signatures",
        "cosign",
        "Add co-signatures to a pending release",
        {201: ReleaseResponse, 202: ReleaseResponse},
        request=CosignRequest,
        integer_parameters=("pending_id",),
    ),
)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`ENDPOINTS`."""
    models = {m for e in ENDPOINTS for m in [*e.responses.values(), e.request] if m is not None}
    named = sorted(models, key=lambda m: m.__name__)
    # Each model's own schema is a reference into the definitions, which are the
    # document's components.
    _references, definitions = TypeAdapter.json_schemas(
        [(m.__name__, "validation", adapter(m)) for m in named], ref_template=_REF
    )
    components = dict(definitions.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "endorse developer API",
            "version": __version__,
            "description": "Keys, claims and signed releases of claimed projects (PEP 480).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
    }


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if name in endpoint.integer_parameters else "string"},
        }
        for name in _path_parameters(endpoint.path)
    ]
    responses: dict[str, Any] = {
        str(status): {
            "description": _first_line(model.__doc__),
            "content": {"application/json": {"schema": _ref(model)}},
        }
        for status, model in endpoint.responses.items()
    }
    for status, description in _ERRORS.items():
        responses[str(status)] = {
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    operation: dict[str, Any] = {
        "operationId": endpoint.operation,
        "summary": endpoint.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if endpoint.authenticated:
        operation["security"] = [{"basic": []}]
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(endpoint.request)}},
        }
    elif endpoint.multipart:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["metadata"],
                        "properties": {
                            "metadata": {"type": "string", "contentMediaType": "application/json"},
                            "content": {
                                "type": "array",
                                "items": {
                                    "type": "string",
                                    "contentMediaType": "application/octet-stream",
                                },
                            },
                        },
                    }
                }
            },
        }
    return operation


def _ref(model: type[Any]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _first_line(doc: str | None) -> str:
    return doc.strip().splitlines()[0] if doc else ""


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
