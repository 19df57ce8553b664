"""The developer side of PEP 480: build, sign and send releases of claimed projects."""

from endorse.developer.client import IndexClient
from endorse.developer.release import build_release, sign_release

__all__ = ["IndexClient", "build_release", "sign_release"]
