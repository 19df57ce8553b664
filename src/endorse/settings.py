"""One frozen settings object, built once by each face and passed down.

Every field can be set from the environment as ``ENDORSE_<FIELD NAME IN CAPITALS>``
(for example ``ENDORSE_DATABASE_URL``); command-line options override the
environment. Defaults run on one machine with nothing to start: SQLite and a
local folder inside ``data_dir``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from endorse.errors import ConfigError

ENV_PREFIX = "ENDORSE_"


@dataclass(frozen=True)
class Expiry:
    """How long each role's metadata stays valid after it is signed."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=365)
    claimed: timedelta = timedelta(days=365)
    recently_claimed: timedelta = timedelta(days=7)
    unclaimed: timedelta = timedelta(days=7)
    bins: timedelta = timedelta(days=7)
    snapshot: timedelta = timedelta(days=1)
    timestamp: timedelta = timedelta(days=1)

    def for_role_kind(self, kind: str) -> timedelta:
        """Return the lifetime of a role kind (``recently-claimed`` or ``recently_claimed``)."""
        value = getattr(self, kind.replace("-", "_"), None)
        if not isinstance(value, timedelta):
            raise ConfigError(f"no expiry is configured for role kind {kind!r}")
        return value


@dataclass(frozen=True)
class Settings:
    """Everything a face of endorse needs to know about its deployment."""

    data_dir: Path = Path("endorse-data")
    #: SQLAlchemy URL; default ``sqlite:///<data_dir>/endorse.sqlite3``.
    database_url: str = ""
    #: ``file:///path`` or ``s3://bucket/prefix``; default ``<data_dir>/store``.
    storage_url: str = ""
    #: Endpoint of an S3-compatible service (MinIO, Ceph, R2 ...); empty for AWS.
    s3_endpoint_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    #: Number of hashed bins under ``unclaimed`` (a power of two; fixed at init).
    bin_count: int = 16
    max_upload_bytes: int = 100 * 1024 * 1024
    #: Publish TUF metadata. Off only for benchmarks: an unsigned index warns loudly.
    tuf_enabled: bool = True
    #: Run the publisher inside ``endorse serve`` (off when a separate
    #: ``endorse publisher`` process runs it).
    run_publisher: bool = True
    #: Seconds the publisher waits between polls of the queue when idle.
    publish_interval: float = 0.5
    #: Most queue entries one batch takes.
    batch_max: int = 2000
    #: Seconds an upload request waits for its file to be published before it
    #: answers anyway (the upload is durable either way).
    upload_wait: float = 30.0
    #: Seconds a superseded metadata or listing file is kept for clients that
    #: are mid-update before it is pruned.
    prune_grace: float = 3600.0
    #: Argon2id cost for account passwords (memory in KiB, iterations).
    password_memory_kib: int = 65536
    password_iterations: int = 3
    expiry: Expiry = field(default_factory=Expiry)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'endorse.sqlite3'}"

    @property
    def resolved_storage_url(self) -> str:
        """The storage URL, defaulting to a folder inside ``data_dir``."""
        return self.storage_url or (self.data_dir.resolve() / "store").as_uri()

    @property
    def keys_dir(self) -> Path:
        """Where locally held key files (demo keys, online keyring) live."""
        return self.data_dir / "keys"

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides: Any) -> Settings:
        """Build settings from ``ENDORSE_*`` variables, then apply ``overrides``.

        ``overrides`` with the value ``None`` are ignored, so CLI options that
        were not given fall through to the environment and the defaults.
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "expiry":
                continue
            key = ENV_PREFIX + f.name.upper()
            if key in environ:
                values[f.name] = _cast(key, environ[key], f.type)
        settings = cls(**values)
        settings = replace(settings, expiry=_expiry_from_env(environ))
        given = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(settings, **given)
        settings.validate()
        return settings

    def to_env(self) -> dict[str, str]:
        """These settings as ``ENDORSE_*`` variables (``from_env`` reads them back)."""
        env: dict[str, str] = {}
        for f in fields(self):
            if f.name == "expiry":
                continue
            value = getattr(self, f.name)
            text = str(value).lower() if isinstance(value, bool) else str(value)
            env[ENV_PREFIX + f.name.upper()] = text
        for f in dataclasses.fields(Expiry):
            lifetime: timedelta = getattr(self.expiry, f.name)
            days = lifetime / timedelta(days=1)
            env[_expiry_variable(f.name)] = repr(days)
        return env

    def validate(self) -> None:
        """Raise ConfigError when a value cannot work."""
        if self.bin_count < 2 or self.bin_count & (self.bin_count - 1):
            raise ConfigError(
                f"Config 'ENDORSE_BIN_COUNT' has value {self.bin_count!r}. "
                "Not a power of two of at least 2.",
                hint="use 16 for a demo, 16384 for PyPI's scale (PEP 458)",
            )
        if self.max_upload_bytes <= 0:
            raise ConfigError(
                f"Config 'ENDORSE_MAX_UPLOAD_BYTES' has value {self.max_upload_bytes!r}."
            )


def _expiry_variable(role_kind: str) -> str:
    return f"{ENV_PREFIX}EXPIRY_{role_kind.upper()}_DAYS"


def _expiry_from_env(environ: Mapping[str, str]) -> Expiry:
    values: dict[str, timedelta] = {}
    for f in dataclasses.fields(Expiry):
        key = _expiry_variable(f.name)
        if key in environ:
            days = _cast(key, environ[key], "float")
            values[f.name] = timedelta(days=days)
    return Expiry(**values)


def _cast(key: str, raw: str, type_name: object) -> Any:
    name = str(type_name)
    try:
        if name == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if name == "int":
            return int(raw)
        if name == "float":
            return float(raw)
        if name == "Path":
            return Path(raw)
    except ValueError as e:
        raise ConfigError(f"Config '{key}' has value {raw!r}. Not a valid {name}.") from e
    return raw
