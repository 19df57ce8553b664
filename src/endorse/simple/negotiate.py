"""PEP 691 content negotiation for the Simple API."""

from __future__ import annotations

from endorse.simple.render import HTML_CONTENT_TYPE, JSON_CONTENT_TYPE

#: Media types the index can answer with, and the format behind each.
_OFFERS: dict[str, str] = {
    JSON_CONTENT_TYPE: "json",
    "application/vnd.pypi.simple.latest+json": "json",
    HTML_CONTENT_TYPE: "html",
    "application/vnd.pypi.simple.latest+html": "html",
    "text/html": "html",
}
_CONTENT_TYPES = {"json": JSON_CONTENT_TYPE, "html": HTML_CONTENT_TYPE}


class NotAcceptable(Exception):
    """No offered media type is acceptable to the client."""


def negotiate(accept: str | None, format_param: str | None = None) -> tuple[str, str]:
    """Return ``(format, content type)`` for an Accept header (or ``?format=``).

    With no Accept header, or only ``*/*``, the answer is HTML as PEP 691
    requires for old clients; a ``text/html`` request gets ``text/html``.
    """
    if format_param:
        if format_param not in _OFFERS:
            raise NotAcceptable(format_param)
        fmt = _OFFERS[format_param]
        return fmt, format_param if format_param == "text/html" else _CONTENT_TYPES[fmt]
    if not accept:
        return "html", "text/html"
    best: tuple[float, int, str] | None = None
    for order, item in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media in ("*/*", "text/*"):
            candidate = "text/html"
        elif media == "application/*":
            candidate = JSON_CONTENT_TYPE
        elif media in _OFFERS:
            candidate = media
        else:
            continue
        rank = (quality, -order, candidate)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        raise NotAcceptable(accept)
    media = best[2]
    fmt = _OFFERS[media]
    return fmt, "text/html" if media == "text/html" else _CONTENT_TYPES[fmt]
