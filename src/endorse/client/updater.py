"""An unmodified ngclient ``Updater`` over a persistent per-upstream cache.

::

    ~/.cache/endorse/<sha256(upstream URL)[:16]>/
        upstream.txt          the URL, for people
        metadata/             ngclient's trusted metadata (root history, timestamp, ...)
        targets/              verified files and listings (ngclient's file names)

The first trusted root comes from one of: a root file the user pins
(``--root``), a SHA-256 the user pins and the index prints (``--root-sha256``),
or, only when asked for loudly, whatever the upstream serves first
(``--trust-on-first-use``). After that the cached root is the anchor and
ngclient follows root rotations (each new root signed by a threshold of the
old one and of itself) and, on a timestamp or snapshot key rotation, drops the
cached timestamp and snapshot (fast-forward recovery).

When the upstream cannot be reached, :class:`OfflineFetcher` answers
ngclient from the cache, so ngclient itself re-verifies every cached file,
expiry included: the client keeps working until the cached metadata expires,
and not a moment longer.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, Root
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

from endorse import __version__
from endorse.client.delegations import RoleWithTwoParents
from endorse.client.errors import NoTrustedRoot, UpstreamUnavailable, VerificationFailed
from endorse.client.view import RepositoryView
from endorse.errors import ConfigError

__all__ = [
    "DEFAULT_CACHE_DIR",
    "ClientCache",
    "CountingFetcher",
    "OfflineFetcher",
    "RootPin",
    "Upstream",
    "describe_tuf_error",
    "initial_root",
    "is_unreachable",
    "open_updater",
    "open_view",
    "updater_config",
]

logger = logging.getLogger(__name__)

#: Where per-upstream caches live unless ``--cache-dir`` / ``ENDORSE_CLIENT_CACHE`` says.
DEFAULT_CACHE_DIR = Path("~/.cache/endorse")
#: python-tuf's own limit for a root file; a bootstrap root is read with it too.
ROOT_MAX_LENGTH = UpdaterConfig().root_max_length
USER_AGENT = f"endorse/{__version__}"
#: Connections kept open to the upstream: about what an installer runs in parallel.
UPSTREAM_CONNECTIONS = 16

_SIMPLE_SUFFIX = re.compile(r"/simple/?$")
_UPLOAD_SUFFIX = re.compile(r"/legacy/?$")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_VERSIONED = re.compile(r"^(\d+)\.(.+)\.json$")


@dataclass(frozen=True)
class Upstream:
    """An endorse index, or any mirror that copies its ``/tuf/`` tree."""

    url: str

    @classmethod
    def parse(cls, url: str) -> Upstream:
        """Accept the index's base URL or its ``/simple/`` URL."""
        base = _SIMPLE_SUFFIX.sub("", url.strip()).rstrip("/")
        if _UPLOAD_SUFFIX.search(base):
            raise ConfigError(
                f"{url!r} is the index's upload URL (what twine posts to), not the index",
                hint=f"pass the index's base URL: --index {_UPLOAD_SUFFIX.sub('', base)}",
            )
        if not base.startswith(("http://", "https://")):
            raise VerificationFailed(
                f"{url!r} is not an http(s) URL",
                check="upstream URL",
                hint="pass the index's address, e.g. --index https://index.example.org",
            )
        return cls(base)

    @property
    def metadata_url(self) -> str:
        """Base URL of the TUF metadata."""
        return f"{self.url}/tuf/metadata/"

    @property
    def targets_url(self) -> str:
        """Base URL of the TUF targets (files, core metadata, listings)."""
        return f"{self.url}/tuf/targets/"

    @property
    def key(self) -> str:
        """Name of this upstream's cache folder."""
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ClientCache:
    """The cache folder of one upstream."""

    root: Path

    @classmethod
    def for_upstream(cls, upstream: Upstream, base: Path | None = None) -> ClientCache:
        """``<base>/<key>``; creates the folders."""
        folder = (base or DEFAULT_CACHE_DIR).expanduser() / upstream.key
        cache = cls(folder)
        cache.metadata_dir.mkdir(parents=True, exist_ok=True)
        cache.targets_dir.mkdir(parents=True, exist_ok=True)
        note = folder / "upstream.txt"
        if not note.exists():
            note.write_text(upstream.url + "\n")
        return cache

    @property
    def metadata_dir(self) -> Path:
        """ngclient's metadata folder."""
        return self.root / "metadata"

    @property
    def targets_dir(self) -> Path:
        """Verified files and listings."""
        return self.root / "targets"

    def has_root(self) -> bool:
        """Whether a trusted root was cached by an earlier run."""
        return (self.metadata_dir / "root.json").exists()

    def target_file(self, target_path: str) -> Path:
        """Where the verified bytes of a target are kept (ngclient's naming)."""
        return self.targets_dir / quote(target_path, safe="")

    def role_bytes(self, role: str) -> bytes | None:
        """The bytes ngclient persisted for a role, if any."""
        path = self.metadata_dir / f"{quote(role, safe='')}.json"
        try:
            return path.read_bytes()
        except OSError:
            return None


@dataclass(frozen=True)
class RootPin:
    """Where the first trusted root comes from, when the cache has none."""

    root_file: Path | None = None
    root_sha256: str | None = None
    trust_on_first_use: bool = False


class CountingFetcher(Urllib3Fetcher):
    """ngclient's urllib3 fetcher, counting the bytes it downloads."""

    def __init__(self, upstream: Upstream) -> None:
        super().__init__(app_user_agent=USER_AGENT)
        # urllib3 keeps one connection per host by default, and the proxy fetches for
        # uv's parallel downloads: each surplus connection was closed with a "Connection
        # pool is full" warning on the user's terminal. ngclient's ProxyEnvironment hands
        # its keyword arguments to every PoolManager it makes (python-tuf 7, pinned).
        self._proxy_env._kw_args["maxsize"] = UPSTREAM_CONNECTIONS
        self.metadata_url = upstream.metadata_url
        self.metadata_bytes = 0
        self.target_bytes = 0
        self.requests = 0
        self._lock = threading.Lock()

    def _fetch(self, url: str) -> Iterator[bytes]:
        chunks = super()._fetch(url)
        is_metadata = url.startswith(self.metadata_url)
        with self._lock:
            self.requests += 1
        return self._count(chunks, is_metadata)

    def _count(self, chunks: Iterator[bytes], is_metadata: bool) -> Iterator[bytes]:
        for chunk in chunks:
            with self._lock:
                if is_metadata:
                    self.metadata_bytes += len(chunk)
                else:
                    self.target_bytes += len(chunk)
            yield chunk


class OfflineFetcher(FetcherInterface):
    """Answers ngclient from the cache when the upstream is unreachable.

    Only metadata is answered; ngclient verifies it as if it had been
    downloaded (signatures, versions, expiry). There is no newer root
    offline: ``N.root.json`` is a 404, which ends ngclient's root loop.
    """

    def __init__(self, upstream: Upstream, cache: ClientCache) -> None:
        self.upstream = upstream
        self.cache = cache

    def _fetch(self, url: str) -> Iterator[bytes]:
        if not url.startswith(self.upstream.metadata_url):
            raise tuf_errors.DownloadError(f"offline: {url} is not in the verified cache")
        name = unquote(url.removeprefix(self.upstream.metadata_url))
        role = "timestamp"
        if name != "timestamp.json":
            match = _VERSIONED.fullmatch(name)
            if match is None:
                raise tuf_errors.DownloadError(f"offline: no such metadata {name!r}")
            role = match.group(2)
            if role == Root.type:
                raise tuf_errors.DownloadHTTPError("offline: no newer root", 404)
        data = self.cache.role_bytes(role)
        if data is None:
            raise tuf_errors.DownloadError(
                f"offline, and {role} metadata was never fetched while online"
            )
        return iter([data])


def _fetch_root(fetcher: FetcherInterface, upstream: Upstream, name: str) -> bytes | None:
    try:
        return fetcher.download_bytes(upstream.metadata_url + name, ROOT_MAX_LENGTH)
    except tuf_errors.DownloadHTTPError as e:
        if e.status_code in (403, 404):
            return None
        raise UpstreamUnavailable(
            f"cannot fetch {name} from {upstream.url}: {e}",
            hint="check the --index address and that the index is running",
        ) from e
    except tuf_errors.DownloadError as e:
        raise UpstreamUnavailable(
            f"cannot fetch {name} from {upstream.url}: {e.__cause__ or e}",
            hint="check the --index address and that the index is running",
        ) from e


def _root_version(data: bytes, where: str) -> int:
    try:
        return Metadata[Root].from_bytes(data).signed.version
    except Exception as e:
        raise NoTrustedRoot(
            f"{where} is not TUF root metadata: {e}",
            check="root format",
            hint="pin the root.json the index's operators publish",
        ) from e


def initial_root(
    upstream: Upstream, cache: ClientCache, pin: RootPin, fetcher: FetcherInterface
) -> tuple[bytes | None, str]:
    """The bootstrap root to hand to ngclient (None: the cached root), and where
    trust in it comes from, in words."""
    if pin.root_file is not None:
        try:
            data = pin.root_file.read_bytes()
        except OSError as e:
            raise NoTrustedRoot(
                f"cannot read the pinned root {str(pin.root_file)!r}: {e}",
                check="pinned root",
            ) from e
        version = _root_version(data, f"the pinned root {str(pin.root_file)!r}")
        return data, f"pinned root file {pin.root_file} (root v{version})"
    if cache.has_root():
        return None, f"trusted root cached in {cache.metadata_dir}"
    if pin.root_sha256:
        wanted = pin.root_sha256.strip().lower()
        if not _SHA256.fullmatch(wanted):
            raise ConfigError(
                f"--root-sha256 must be the 64 hex digits of a SHA-256, not {pin.root_sha256!r} "
                f"({len(wanted)} characters)",
                hint="copy the whole hash that `endorse serve` prints after 'root metadata:'",
            )
        seen = []
        for name in ("root.json", "1.root.json"):
            served = _fetch_root(fetcher, upstream, name)
            if served is None:
                continue
            digest = hashlib.sha256(served).hexdigest()
            seen.append(f"{name} {digest}")
            if digest == wanted:
                version = _root_version(served, name)
                return served, f"root v{version} matching the pinned sha256 {wanted[:16]}…"
        raise NoTrustedRoot(
            f"no root metadata from {upstream.url} matches the pinned sha256 {wanted} "
            f"(served: {', '.join(seen) or 'nothing'})",
            check="pinned root hash",
            hint="you may not be talking to the index you think (or to a mirror of it): "
            "check the address and the hash with the index's operators",
        )
    if pin.trust_on_first_use:
        first = _fetch_root(fetcher, upstream, "1.root.json")
        if first is None:
            first = _fetch_root(fetcher, upstream, "root.json")
        if first is None:
            raise NoTrustedRoot(
                f"{upstream.url} serves no root metadata",
                check="root",
                hint="is this an endorse index (or a mirror of one)?",
            )
        version = _root_version(first, "the root served on first use")
        digest = hashlib.sha256(first).hexdigest()
        logger.warning(
            "TRUST ON FIRST USE: trusting root v%d (sha256 %s) as served by %s, with no "
            "check that it is the real index's; whoever answered this first request decides "
            "what you install from now on",
            version,
            digest,
            upstream.url,
        )
        return first, f"TRUST ON FIRST USE of root v{version} (sha256 {digest})"
    raise NoTrustedRoot(
        f"no trusted root for {upstream.url}: nothing to verify the index with",
        check="root",
        hint="pin the index's root: --root FILE (a root.json from its operators) or "
        "--root-sha256 HEX (printed by `endorse serve`); --trust-on-first-use only if "
        "you accept whatever answers first",
    )


def updater_config() -> UpdaterConfig:
    """ngclient's defaults (length limits, 32 delegations per lookup), with our user agent."""
    return UpdaterConfig(app_user_agent=USER_AGENT)


def open_updater(
    upstream: Upstream,
    cache: ClientCache,
    bootstrap: bytes | None,
    fetcher: FetcherInterface,
) -> Updater:
    """A new, not yet refreshed, unmodified ngclient Updater."""
    try:
        return Updater(
            metadata_dir=str(cache.metadata_dir),
            metadata_base_url=upstream.metadata_url,
            target_dir=str(cache.targets_dir),
            target_base_url=upstream.targets_url,
            fetcher=fetcher,
            config=updater_config(),
            bootstrap=bootstrap,
        )
    except OSError as e:
        raise NoTrustedRoot(
            f"cannot load the trusted root from {cache.metadata_dir}: {e}", check="root"
        ) from e
    except tuf_errors.RepositoryError as e:
        raise NoTrustedRoot(
            f"the trusted root is not valid root metadata: {e}",
            check="root",
            hint=f"delete {cache.root} and pin the index's root again",
        ) from e


def open_view(
    updater: Updater, upstream: Upstream, cache: ClientCache, fetcher: FetcherInterface
) -> RepositoryView:
    """The lookups and downloads of a refreshed Updater made by :func:`open_updater`."""
    return RepositoryView(
        updater,
        metadata_dir=cache.metadata_dir,
        metadata_base_url=upstream.metadata_url,
        fetcher=fetcher,
        config=updater_config(),
    )


#: HTTP answers that mean "the index cannot be reached" (a gateway or a CDN speaking for it).
_UNREACHABLE_STATUSES = frozenset({502, 503, 504})


def is_unreachable(error: tuf_errors.DownloadError) -> bool:
    """Whether a failed download means the upstream cannot be reached at all.

    No answer (connection refused, DNS, a timeout) or a gateway's "the origin is
    unavailable" is. Any other HTTP answer is not: a reachable index or mirror
    that answers 404 for ``timestamp.json`` is not treated as offline, or any
    mirror could hold a returning client on its cached metadata until it
    expires, without the client ever falling back to an honest upstream.
    """
    if isinstance(error, tuf_errors.DownloadHTTPError):
        return error.status_code in _UNREACHABLE_STATUSES
    return not isinstance(error, tuf_errors.DownloadLengthMismatchError)


_CHECKS: list[tuple[type[BaseException], str, str]] = [
    (
        RoleWithTwoParents,
        "delegation (one role, two parents)",
        "do not install from this upstream: its metadata delegates one role name from two "
        "places, which is how a compromised index or mirror substitutes a developer-signed "
        "role. Tell the index's operators (if this is a mirror, try the index itself)",
    ),
    (
        tuf_errors.ExpiredMetadataError,
        "expiry",
        "the metadata has expired: the index, a mirror or the network is serving stale "
        "metadata (a freeze attack), or the index has stopped re-signing. Check your "
        "clock, then tell the index's operators",
    ),
    (
        tuf_errors.BadVersionNumberError,
        "version (rollback)",
        "an older version than one you already trust was served: a rollback or "
        "mix-and-match attack by the index, a mirror or the network. Your trusted "
        "metadata is unchanged; try again later, or from the index itself",
    ),
    (
        tuf_errors.UnsignedMetadataError,
        "signature threshold",
        "metadata not signed by the keys that must sign it: forged or tampered. If the "
        "index was re-created on purpose, delete the client cache and pin its new root",
    ),
    (
        tuf_errors.LengthOrHashMismatchError,
        "length and hash",
        "the bytes served differ from the signed length and hash: the file or metadata "
        "was altered between the index and you (a malicious mirror or the network)",
    ),
    (
        tuf_errors.DownloadLengthMismatchError,
        "length limit (endless data)",
        "more bytes were sent than the signed length (or ngclient's limit) allows: an "
        "endless-data attack, or a broken mirror",
    ),
    (
        tuf_errors.RepositoryError,
        "metadata consistency",
        "the metadata does not verify; do not install from this upstream until its "
        "operators fix it",
    ),
]


def describe_tuf_error(error: BaseException) -> tuple[str, str]:
    """``(check, hint)`` for a python-tuf exception."""
    for kind, check, hint in _CHECKS:
        if isinstance(error, kind):
            return check, hint
    return "download", "check that the upstream is reachable"
