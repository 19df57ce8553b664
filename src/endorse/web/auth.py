"""HTTP Basic credentials: a username and password, or ``__token__`` and a token."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from endorse.errors import AuthenticationFailed
from endorse.index.accounts import Accounts, Identity


def authenticate(request: Request, accounts: Accounts) -> Identity:
    """Check the request's Basic credentials (blocking: call in a thread)."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise AuthenticationFailed(
            "This needs credentials (HTTP Basic: username and password, "
            "or __token__ and an API token)."
        )
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as e:
        raise AuthenticationFailed("Malformed Basic authorization header.") from e
    if not sep:
        raise AuthenticationFailed("Malformed Basic authorization header.")
    return accounts.authenticate(username, password)
