"""The one error tree: every class drawn, every user error a stable 4xx, one mapping per face."""

from __future__ import annotations

import inspect

import pytest

from endorse import errors
from endorse.cli._exit import ExitCode, exit_code_for
from endorse.errors import (
    AuthenticationFailed,
    ConfigError,
    Conflict,
    EndorseError,
    IndexUnavailable,
    NotFound,
    PermissionDenied,
    PolicyNotMet,
    ReleaseRejected,
    StorageError,
    ThresholdNotMet,
    TooLarge,
    UserError,
    VerificationFailed,
    error_for_status,
)
from endorse.web.errors import error_response

CLASSES = [
    obj
    for _, obj in inspect.getmembers(errors, inspect.isclass)
    if issubclass(obj, EndorseError) and obj.__module__ == errors.__name__
]


def test_every_error_class_is_drawn_in_the_tree() -> None:
    tree = errors.__doc__ or ""
    for cls in CLASSES:
        assert f" {cls.__name__} " in tree or f"── {cls.__name__}" in tree, cls.__name__
    assert len(CLASSES) >= 20


@pytest.mark.parametrize("cls", [c for c in CLASSES if issubclass(c, UserError)], ids=repr)
def test_a_user_error_is_a_4xx(cls: type[UserError]) -> None:
    assert 400 <= cls.status < 500
    extra = {"maintainers": set(), "threshold": 2} if cls is ThresholdNotMet else {}
    response = error_response(cls("what was wrong", hint="what to do", **extra))
    assert response.status_code == cls.status
    assert response.body == b"what was wrong\nHint: what to do\n"


@pytest.mark.parametrize("cls", [c for c in CLASSES if not issubclass(c, UserError)], ids=repr)
def test_anything_else_is_the_index_s_fault(cls: type[EndorseError]) -> None:
    assert cls.status == 500


def test_statuses_read_back_into_the_class_the_server_raised() -> None:
    for cls in (NotFound, PermissionDenied, AuthenticationFailed, Conflict, TooLarge):
        error = error_for_status(cls.status, "message", "hint")
        assert type(error) is cls and error.message == "message" and error.hint == "hint"
    assert error_for_status(ReleaseRejected.status, "x").status == 400
    assert isinstance(error_for_status(502, "bad gateway"), IndexUnavailable)


def test_only_authentication_asks_for_credentials() -> None:
    asked = error_response(AuthenticationFailed("no"))
    assert asked.headers["WWW-Authenticate"] == 'Basic realm="endorse"'
    assert "WWW-Authenticate" not in error_response(PermissionDenied("no")).headers


def test_the_cli_maps_refusals_usage_and_errors_to_their_exit_codes() -> None:
    assert exit_code_for(VerificationFailed("x", check="signature")) is ExitCode.REFUSED
    assert (
        exit_code_for(PolicyNotMet("x", project="p", filename="f", rule="r", level=1, required=3))
        is ExitCode.REFUSED
    )
    assert exit_code_for(ConfigError("x")) is ExitCode.USAGE
    assert exit_code_for(StorageError("x")) is ExitCode.ERROR
    assert exit_code_for(NotFound("x")) is ExitCode.ERROR
