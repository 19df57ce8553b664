"""The developer API's bodies, typed once for the server and the client.

Every body is a ``TypedDict``: what travels is plain JSON, and both sides
read it as a typed mapping (``project["claim"]["version"]``) that mypy checks.
:func:`parse` validates bytes against one of them with pydantic, strictly
(``"2"`` is not an integer, ``true`` not a threshold), and turns every
refusal into :class:`~endorse.errors.InvalidRequest` naming the field, so a
malformed, wrong-typed or out-of-range body always gets a 400 with a message.
Fields a body does not name are ignored, so older servers and clients keep
working when one side learns a new field.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypeVar

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from endorse.errors import InvalidRequest
from endorse.states import ClaimState, ProjectStatus, ReleaseState

__all__ = [
    "ClaimDetails",
    "ClaimRequest",
    "CosignRequest",
    "FileDetails",
    "KeyRegistrationRequest",
    "KeyRegistrationResponse",
    "KeyRevocationResponse",
    "PendingRelease",
    "PendingReleasesResponse",
    "ProjectResponse",
    "PublicKey",
    "ReleaseResponse",
    "SignatureBody",
    "StatusDetails",
    "StatusRequest",
    "adapter",
    "parse",
]

_STRICT = ConfigDict(strict=True)

#: A key id: the hex SHA-256 securesystemslib computes.
KeyId = Annotated[str, Field(min_length=1, max_length=64)]
#: A username as the index accepts it.
Username = Annotated[str, Field(min_length=1, max_length=100)]
#: How many distinct maintainers must sign; more than any project has maintainers.
Threshold = Annotated[int, Field(ge=1, le=1000)]


@with_config(_STRICT)
class PublicKey(TypedDict):
    """A public key as ``endorse key show`` prints it."""

    keyid: KeyId
    #: securesystemslib's key dict: ``keytype``, ``scheme``, ``keyval``.
    key: dict[str, Any]


@with_config(_STRICT)
class SignatureBody(TypedDict):
    """A signature as securesystemslib writes it."""

    keyid: KeyId
    sig: Annotated[str, Field(min_length=1, max_length=2048)]


@with_config(_STRICT)
class KeyRegistrationRequest(TypedDict):
    """``POST /api/v1/keys``: register a machine key (further keys: with an add-key
    statement signed by a registered key, from ``endorse key endorse-machine``)."""

    key: PublicKey
    label: NotRequired[Annotated[str, Field(max_length=100)]]
    statement: NotRequired[dict[str, Any] | None]
    signature: NotRequired[SignatureBody | None]


class KeyRegistrationResponse(TypedDict):
    """The key id registered."""

    keyid: str


class KeyRevocationResponse(TypedDict):
    """The key revoked and the claimed projects whose delegations change."""

    revoked: str
    projects: list[str]


@with_config(_STRICT)
class ClaimRequest(TypedDict):
    """``POST /api/v1/projects/NAME/claim``: the other maintainers and the threshold."""

    maintainers: NotRequired[Annotated[list[Username], Field(max_length=1000)]]
    threshold: NotRequired[Threshold]


@with_config(_STRICT)
class StatusRequest(TypedDict):
    """``POST /api/v1/projects/NAME/status``: a PEP 792 status marker (owners)."""

    status: ProjectStatus
    reason: NotRequired[Annotated[str, Field(max_length=500)]]


@with_config(_STRICT)
class CosignRequest(TypedDict):
    """``POST /api/v1/projects/NAME/pending/ID/signatures``: co-signatures."""

    signatures: Annotated[list[SignatureBody], Field(max_length=1000)]


class ClaimDetails(TypedDict):
    """A project's claim: what a developer needs to sign its next version."""

    state: ClaimState
    role: str
    #: The newest accepted version of the project's role (0 before the first).
    version: int
    threshold: int
    #: Maintainer -> their registered, unrevoked keys.
    maintainers: dict[str, list[PublicKey]]


class FileDetails(TypedDict):
    """One file of a project as the index records it."""

    filename: str
    version: str
    size: int
    sha256: str
    core_metadata_sha256: str | None
    core_metadata_size: int | None
    trust_level: int
    #: False, True, or the reason it was yanked (PEP 592).
    yanked: bool | str


class StatusDetails(TypedDict):
    """A project's PEP 792 status marker."""

    status: ProjectStatus
    reason: str


class ProjectResponse(TypedDict):
    """``GET /api/v1/projects/NAME``: a project's files and claim."""

    name: str
    #: The hash prefix of the project's target folder.
    prefix: str
    claim: ClaimDetails | None
    files: list[FileDetails]
    #: Its status marker (absent from indexes older than PEP 792 support).
    status: NotRequired[StatusDetails]


class ReleaseResponse(TypedDict):
    """What happened to a submitted or co-signed release (201 accepted, 202 pending)."""

    state: ReleaseState
    version: int
    signed_by: list[str]
    threshold: int
    pending_id: int | None
    files: list[str]


class PendingRelease(TypedDict):
    """A release waiting for co-signatures, with the metadata to sign."""

    id: int
    metadata: dict[str, Any]


class PendingReleasesResponse(TypedDict):
    """``GET /api/v1/projects/NAME/pending``."""

    pending: list[PendingRelease]


T = TypeVar("T")
_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def adapter(model: type[T]) -> TypeAdapter[T]:
    """The pydantic adapter of a body type (built once)."""
    if model not in _ADAPTERS:
        _ADAPTERS[model] = TypeAdapter(model)
    return _ADAPTERS[model]


def parse(model: type[T], data: bytes, *, what: str = "the request body") -> T:
    """Validate JSON ``data`` as ``model``; InvalidRequest naming each field that is wrong."""
    try:
        return adapter(model).validate_json(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in e.errors(include_url=False)
        )
        raise InvalidRequest(
            f"{what} is not a valid {model.__name__}: {problems}",
            hint="see the index's /api/v1/openapi.json",
        ) from e
