"""PEP 691 content negotiation: which form of a Simple API page a client gets.

The one negotiator of endorse: the index serves with it, and the verifying
proxy picks with it what to rebuild for pip and uv.
"""

from __future__ import annotations

from typing import NamedTuple

from endorse.errors import NotAcceptable
from endorse.metadata.paths import ListingFormat
from endorse.simple.render import HTML_CONTENT_TYPE, JSON_CONTENT_TYPE

__all__ = ["Negotiated", "NotAcceptable", "negotiate"]

#: Media types the index can answer with, and the format behind each.
_OFFERS: dict[str, ListingFormat] = {
    JSON_CONTENT_TYPE: "json",
    "application/vnd.pypi.simple.latest+json": "json",
    HTML_CONTENT_TYPE: "html",
    "application/vnd.pypi.simple.latest+html": "html",
    "text/html": "html",
}
_CONTENT_TYPES: dict[ListingFormat, str] = {"json": JSON_CONTENT_TYPE, "html": HTML_CONTENT_TYPE}
_OFFERED = f"ask for {JSON_CONTENT_TYPE} or text/html"


class Negotiated(NamedTuple):
    """The form chosen: the listing format and the content type to answer with."""

    format: ListingFormat
    content_type: str


def negotiate(accept: str | None, format_param: str | None = None) -> Negotiated:
    """The best offer for an Accept header (or PEP 691's ``?format=``); NotAcceptable if none.

    With no Accept header, or only ``*/*``, the answer is HTML as PEP 691
    requires for old clients; a ``text/html`` request gets ``text/html``. The
    highest quality wins, the client's first choice among equals.
    """
    if format_param:
        if format_param not in _OFFERS:
            raise NotAcceptable(f"the format {format_param!r} is not offered; {_OFFERED}")
        return _answer(format_param)
    if not accept:
        return _answer("text/html")
    best: tuple[float, int, str] | None = None
    for order, item in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        quality = _quality(params)
        if quality <= 0:
            continue
        candidate = _candidate(media.lower())
        if candidate is None:
            continue
        rank = (quality, -order, candidate)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        raise NotAcceptable(f"none of the requested media types is offered; {_OFFERED}")
    return _answer(best[2])


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _candidate(media: str) -> str | None:
    if media in ("*/*", "text/*"):
        return "text/html"
    if media == "application/*":
        return JSON_CONTENT_TYPE
    return media if media in _OFFERS else None


def _answer(media: str) -> Negotiated:
    fmt = _OFFERS[media]
    return Negotiated(fmt, "text/html" if media == "text/html" else _CONTENT_TYPES[fmt])
