"""First start on an empty data folder: a demo repository, clearly labelled."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from endorse.publisher.bootstrap import (
    OFFLINE_KEYRING,
    ONLINE_KEYRING,
    generate_demo_keyrings,
    initialise_repository,
)
from endorse.publisher.keyring import Keyring
from endorse.services.index import Services

logger = logging.getLogger(__name__)

DEMO_USER = "demo"
CREDENTIALS_FILE = "DEMO-CREDENTIALS.txt"


@dataclass(frozen=True)
class DemoSetup:
    """What a first start created."""

    created: bool
    root_sha256: str
    credentials: Path | None
    token: str | None


def ensure_repository(
    services: Services, progress: Callable[[int, int], None] | None = None
) -> DemoSetup:
    """Initialise a demo repository and account unless the store already has one."""
    settings = services.settings
    store = services.store
    if services.published.is_initialised():
        return DemoSetup(False, services.published.root_sha256(), None, None)
    if (settings.keys_dir / ONLINE_KEYRING).exists():
        # An earlier first start was interrupted after making the keys.
        online = Keyring.load(settings.keys_dir / ONLINE_KEYRING)
        offline = Keyring.load(settings.keys_dir / OFFLINE_KEYRING)
    else:
        online, offline = generate_demo_keyrings(settings)
    result = initialise_repository(settings, store, online, offline, services.clock, progress)
    token = None
    credentials = None
    if DEMO_USER not in services.accounts.list_users():
        services.accounts.create_user(DEMO_USER, secrets.token_urlsafe(18))
        token = services.accounts.create_token(DEMO_USER, description="demo token")
        credentials = settings.data_dir / CREDENTIALS_FILE
        fd = os.open(credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(
                "DEMO credentials of this endorse index (not for production)\n"
                f"username: __token__\npassword: {token}\n"
            )
    return DemoSetup(True, result.root_sha256, credentials, token)
