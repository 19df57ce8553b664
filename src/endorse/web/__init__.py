"""The ASGI face of the index: upload API, Simple API, TUF metadata and targets."""

from endorse.web.app import create_app

__all__ = ["create_app"]
