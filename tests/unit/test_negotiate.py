"""PEP 691 content negotiation for the Simple API."""

from __future__ import annotations

import pytest

from endorse.simple.negotiate import NotAcceptable, negotiate

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)
UV_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.01"
)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, ("html", "text/html")),
        ("", ("html", "text/html")),
        (PIP_ACCEPT, ("json", JSON)),
        (UV_ACCEPT, ("json", JSON)),
        ("*/*", ("html", "text/html")),
        ("text/*", ("html", "text/html")),
        ("text/html", ("html", "text/html")),
        (HTML, ("html", HTML)),
        (JSON, ("json", JSON)),
        ("application/vnd.pypi.simple.latest+json", ("json", JSON)),
        ("application/vnd.pypi.simple.latest+html", ("html", HTML)),
        # The highest quality wins, whatever the order.
        (f"text/html;q=0.5, {JSON};q=0.9", ("json", JSON)),
        (f"{HTML};q=0.9, {JSON};q=0.8", ("html", HTML)),
        # Equal quality: the client's first choice.
        (f"{HTML}, {JSON}", ("html", HTML)),
        (f"{JSON}, {HTML}", ("json", JSON)),
        # Unknown types are skipped, known ones still chosen.
        (f"image/png, {JSON};q=0.1", ("json", JSON)),
        ("application/vnd.pypi.simple.v2+json, text/html;q=0.1", ("html", "text/html")),
        # Spaces around parameters.
        (f"{JSON} ; q=0.2 , text/html ; q=0.3", ("html", "text/html")),
    ],
    ids=repr,
)
def test_negotiate_picks_the_best_offer(accept: str | None, expected: tuple[str, str]) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"{JSON};q=0, text/html", ("html", "text/html")),
        (f"{JSON};q=0.0, */*;q=0.1", ("html", "text/html")),
        (f"text/html;q=0, {HTML};q=0.5", ("html", HTML)),
        (f"{JSON};q=nonsense, {HTML};q=0.1", ("html", HTML)),
    ],
    ids=repr,
)
def test_quality_zero_excludes_a_type(accept: str, expected: tuple[str, str]) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize(
    "accept",
    [
        "image/png",
        "application/vnd.pypi.simple.v2+json",
        f"{JSON};q=0, {HTML};q=0, text/html;q=0",
        "*/*;q=0",
    ],
)
def test_nothing_acceptable_raises(accept: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(accept)


@pytest.mark.parametrize(
    ("format_param", "expected"),
    [
        (JSON, ("json", JSON)),
        (HTML, ("html", HTML)),
        ("text/html", ("html", "text/html")),
        ("application/vnd.pypi.simple.latest+json", ("json", JSON)),
    ],
)
def test_format_query_parameter_overrides_accept(
    format_param: str, expected: tuple[str, str]
) -> None:
    assert negotiate("text/html", format_param) == expected
    assert negotiate(None, format_param) == expected


@pytest.mark.parametrize("format_param", ["json", "application/json", "image/png"])
def test_unknown_format_query_parameter_raises(format_param: str) -> None:
    with pytest.raises(NotAcceptable):
        negotiate(JSON, format_param)


def test_empty_format_query_parameter_is_ignored() -> None:
    assert negotiate(JSON, "") == ("json", JSON)


def test_media_types_are_case_insensitive() -> None:
    assert negotiate("Application/Vnd.PyPI.Simple.V1+JSON") == ("json", JSON)


def test_application_wildcard_gets_an_application_type() -> None:
    assert negotiate("application/*")[1].startswith("application/")
