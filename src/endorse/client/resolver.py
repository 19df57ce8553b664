"""What files a project has, and how far each is trusted, from verified metadata only.

Every lookup walks the delegations with
:class:`~endorse.client.delegations.DelegationWalker`, which verifies each role
against the delegation of its parent on that lookup's own path; what a lookup
means is decided here, from that path (``targets → claimed → p-<name>``),
never from a role's name.

An **index-signed** project's listing is a target (``<prefix>/<name>/index.v1.json``)
in its bin under ``unclaimed``; the client reads the verified bytes.

A **claimed** project has no listing target: ``claimed`` (or
``recently-claimed``) delegates the project's folder to a terminating project
role that its developers sign, so the search for the listing ends in that role
and finds nothing. By then the walk has verified the project role
(signatures of the developers' keys, version and expiry against snapshot); the
client builds the listing from that role's targets alone (DESIGN rule 4): no
index, mirror or network can add, alter or hide a file of it. It also counts
the maintainers who signed, from the signed ``x-endorse-maintainers`` map, so
that several keys of one maintainer never meet a threshold alone.

Every file is looked up again before it is served, that lookup must end in
the role its project's listing came from, and its bytes are checked against
the signed length and hash.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import DelegatedRole, TargetFile

from endorse.client.delegations import Lookup, RolePath, VerifiedRole
from endorse.client.errors import UpstreamUnavailable, VerificationFailed
from endorse.client.trust import FileTrust, Source, index_signed_trust
from endorse.client.updater import (
    ClientCache,
    CountingFetcher,
    OfflineFetcher,
    RootPin,
    Upstream,
    describe_tuf_error,
    initial_root,
    is_unreachable,
    open_updater,
    open_view,
)
from endorse.client.view import RepositoryView
from endorse.errors import NotFound
from endorse.metadata.delegations import MAINTAINERS_FIELD
from endorse.metadata.paths import (
    LISTING_FILENAMES,
    ListingFormat,
    file_target,
    listing_target,
    parse_target_path,
    project_dir,
    project_paths_pattern,
)
from endorse.metadata.roles import CLAIMED, RECENTLY_CLAIMED, UNCLAIMED
from endorse.metadata.trust import TrustLevel
from endorse.simple.render import (
    ACTIVE,
    TARGETS_FROM_PROJECT_PAGE,
    ListedFile,
    StatusMarker,
    render_project_html,
    render_project_json,
)
from endorse.states import ProjectStatus

__all__ = [
    "IndexSession",
    "ProjectView",
    "VerifiedIndex",
    "VerifiedTarget",
    "version_of",
]

logger = logging.getLogger(__name__)

#: Placeholder upload time of files listed from a developer-signed role (which
#: does not sign one); it is left out of the JSON the client serves.
_NO_UPLOAD_TIME = datetime(1970, 1, 1, tzinfo=UTC)
_CORE_SUFFIX = ".metadata"


def version_of(filename: str, project: NormalizedName) -> str | None:
    """The version in a wheel or sdist filename, if the file is one of ``project``'s."""
    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return str(version) if name == project else None


@dataclass(frozen=True)
class ProjectView:
    """A project as the verified metadata shows it."""

    name: NormalizedName
    source: Source
    #: The role that signs the project's files (a bin is per file: the listing's).
    role: str
    files: tuple[ListedFile, ...]
    #: Trust of every file for a developer-signed project (None: per file, from its bin).
    trust: FileTrust | None = None
    #: The delegation path of the developer-signed role every file must come from.
    role_path: RolePath = ()
    #: The PEP 792 status marker the signed listing carries (developer-signed roles
    #: carry none: such a project is shown active).
    marker: StatusMarker = ACTIVE

    def render(self, fmt: ListingFormat) -> bytes:
        """The PEP 503 or PEP 691 page pip and uv are shown."""
        if fmt == "html":
            return render_project_html(self.name, self.files, self.marker)
        body = render_project_json(self.name, self.files, self.marker)
        if self.source is Source.INDEX_SIGNED:
            return body
        page = json.loads(body)
        for entry in page["files"]:
            entry.pop("upload-time", None)  # not signed by the developers: not shown
        return (json.dumps(page, sort_keys=True, separators=(",", ":")) + "\n").encode()


@dataclass(frozen=True)
class VerifiedTarget:
    """A target ngclient found, with the trust of the file it belongs to."""

    project: NormalizedName
    filename: str
    target: TargetFile
    trust: FileTrust

    @property
    def is_core_metadata(self) -> bool:
        """Whether this is a PEP 658 ``.metadata`` file rather than a distribution."""
        return self.filename.endswith(_CORE_SUFFIX)

    @property
    def description(self) -> str:
        """What this is, for messages: ``the listing of beta``, ``x.whl of beta``."""
        if self.filename in LISTING_FILENAMES.values():
            return f"the listing of {self.project}"
        return f"{self.filename} of {self.project}"

    @property
    def sha256(self) -> str:
        """The signed SHA-256."""
        return self.target.hashes.get("sha256", "")

    def to_json(self) -> dict[str, Any]:
        """For ``--json`` output."""
        return {
            "project": self.project,
            "filename": self.filename,
            "version": version_of(self.filename, self.project),
            "sha256": self.sha256,
            "size": self.target.length,
            **self.trust.to_json(),
        }


def _refusal(
    error: BaseException, what: str, project: str | None, filename: str | None
) -> VerificationFailed | UpstreamUnavailable:
    """Our error for a python-tuf one, naming what was refused and the check."""
    # A refused connection reaches us as SlowRetrievalError (urllib3's
    # NewConnectionError is a ConnectTimeoutError): both mean "unreachable".
    if isinstance(error, tuf_errors.DownloadError) and not isinstance(
        error, tuf_errors.DownloadLengthMismatchError
    ):
        cause = error.__cause__ or error
        return UpstreamUnavailable(
            f"cannot fetch {what}: {type(cause).__name__}: {cause}",
            hint="the upstream index or mirror is unreachable or incomplete; try again, "
            "or point --index at another mirror",
        )
    check, hint = describe_tuf_error(error)
    return VerificationFailed(
        f"refused {what}: {check} check failed ({type(error).__name__}: {error})",
        check=check,
        project=project,
        filename=filename,
        hint=hint,
    )


def _layout_refusal(what: str, project: str, problem: str) -> VerificationFailed:
    return VerificationFailed(
        f"refused {what}: {problem}",
        check="delegation",
        project=project,
        hint="the index's role tree breaks endorse's layout (DESIGN rule 2): do not install "
        "from this upstream; tell its operators (if this is a mirror, try the index itself)",
    )


def _branch(role: VerifiedRole) -> str | None:
    """The top-level delegation a role sits under (``claimed``, ``unclaimed``, ...)."""
    return role.path[1] if len(role.path) > 1 else None


class IndexSession:
    """One refreshed view of the index: every decision comes from verified metadata.

    Each lookup walks the delegations with
    :class:`~endorse.client.delegations.DelegationWalker`, and trust is decided
    from the delegation *path* that answered it (``targets → claimed →
    p-<name>``), never from a role name. ngclient's Updater is not
    thread-safe; every use of the view holds ``_lock``. Downloads of files run
    outside the lock, into a private temporary name.
    """

    def __init__(
        self,
        view: RepositoryView,
        cache: ClientCache,
        *,
        offline: bool,
        description: str,
        offline_reason: str = "",
    ) -> None:
        self.view = view
        self.cache = cache
        self.offline = offline
        #: Why the upstream could not be reached, when ``offline``.
        self.offline_reason = offline_reason
        self.description = description
        self.created = time.monotonic()
        self._lock = threading.RLock()
        self._projects: dict[NormalizedName, ProjectView | None] = {}

    # -- what the session trusts ---------------------------------------------

    def status(self) -> dict[str, Any]:
        """Versions and expiry of the top-level metadata this session verified."""
        out: dict[str, Any] = {"offline": self.offline}
        if self.offline:
            out["offline_reason"] = self.offline_reason
        for role in ("root", "timestamp", "snapshot", "targets"):
            signed = self.view.top_level(role)
            if signed is not None:
                out[role] = {"version": signed.version, "expires": signed.expires.isoformat()}
        return out

    def _lookup(self, target_path: str, project: str, what: str) -> Lookup:
        with self._lock:
            try:
                return self.view.find(target_path)
            except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
                if self.offline and isinstance(e, tuf_errors.DownloadError):
                    raise UpstreamUnavailable(
                        f"offline, and the metadata for {what} was never cached: {e}",
                        hint="connect to the upstream once so the client can verify it",
                    ) from e
                raise _refusal(e, what, project, None) from e

    # -- projects -------------------------------------------------------------

    def project(self, name: NormalizedName) -> ProjectView | None:
        """The verified view of a project, or None if the index has no such project."""
        with self._lock:
            if name not in self._projects:
                self._projects[name] = self._resolve(name)
            return self._projects[name]

    def _resolve(self, name: NormalizedName) -> ProjectView | None:
        what = f"the listing of {name}"
        found = self._lookup(listing_target(name, "json"), name, what)
        if found.target is not None:
            assert found.role is not None  # noqa: S101 - a found target has a role
            if _branch(found.role) != UNCLAIMED:
                raise _layout_refusal(
                    what,
                    name,
                    f"it is signed by role {found.role.name} ({found.role.describe()}); "
                    "endorse's index signs listings only in the bins under unclaimed",
                )
            return self._index_signed(name, found.target, found.role)
        role = found.role
        if role is None or _branch(role) not in (CLAIMED, RECENTLY_CLAIMED):
            return None  # the search ended in a bin, or nowhere: no such project
        return self._developer_signed(name, role)

    def _index_signed(
        self, name: NormalizedName, info: TargetFile, role: VerifiedRole
    ) -> ProjectView:
        what = f"the listing of {name}"
        with self.open_verified(
            VerifiedTarget(name, "index.v1.json", info, _listing_trust())
        ) as fh:
            data = fh.read()
        try:
            page = json.loads(data)
            if page.get("name") != name:
                raise ValueError(f"it names project {page.get('name')!r}")
            files = [self._listed(name, entry) for entry in page["files"]]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise VerificationFailed(
                f"refused {what}: it verifies, but is not a listing of {name} ({e})",
                check="listing format",
                project=name,
                hint="the index signed a malformed listing; tell its operators",
            ) from e
        listed = tuple(f for f in files if f is not None)
        marker = _marker(page.get("project-status"))
        if marker.status is not ProjectStatus.ACTIVE:
            logger.warning(
                "%s is %s (PEP 792)%s",
                name,
                marker.status,
                f": {marker.reason}" * bool(marker.reason),
            )
        return ProjectView(
            name, Source.INDEX_SIGNED, role.name, listed, role_path=role.path, marker=marker
        )

    def _listed(self, name: NormalizedName, entry: dict[str, Any]) -> ListedFile | None:
        filename = str(entry["filename"])
        expected = TARGETS_FROM_PROJECT_PAGE + file_target(name, filename)
        version = version_of(filename, name)
        if entry.get("url") == expected and version is None:
            # A format installers no longer use (an egg, a Windows installer, …).
            logger.debug("%r of %s is not a wheel or sdist: not offered", filename, name)
            return None
        if entry.get("url") != expected or version is None:
            # Wrong software: a signed listing may only point into the project's own folder.
            logger.warning(
                "dropped %r from the listing of %s: it is not a file of %s (url %r)",
                filename,
                name,
                name,
                entry.get("url"),
            )
            return None
        yanked = entry.get("yanked", False)
        core = entry.get("core-metadata")
        uploaded = entry.get("upload-time")
        return ListedFile(
            filename=filename,
            version=version,
            target_path=file_target(name, filename),
            sha256=str(entry["hashes"]["sha256"]),
            size=int(entry["size"]),
            upload_time=(
                datetime.fromisoformat(uploaded.replace("Z", "+00:00"))
                if isinstance(uploaded, str)
                else _NO_UPLOAD_TIME
            ),
            requires_python=entry.get("requires-python"),
            yanked=bool(yanked),
            yanked_reason=yanked if isinstance(yanked, str) else "",
            core_metadata_sha256=str(core["sha256"]) if isinstance(core, dict) else None,
        )

    def _developer_signed(self, name: NormalizedName, role: VerifiedRole) -> ProjectView:
        """The project whose listing search ended in ``role``, a developer-signed role."""
        what = f"the project role {role.name} of {name}"
        delegation = role.delegation
        if (
            not isinstance(delegation, DelegatedRole)
            or not delegation.terminating
            or delegation.paths != [project_paths_pattern(name)]
            or role.signed.delegations is not None
        ):
            raise _layout_refusal(
                what,
                name,
                f"{role.describe()} is not a terminating delegation of {name}'s folder "
                "alone to a role that delegates no further",
            )
        source = Source.CLAIMED if _branch(role) == CLAIMED else Source.RECENTLY_CLAIMED
        maintainers = self._check_maintainers(name, role, delegation)
        prefix = project_dir(name) + "/"
        files = []
        for path, target in sorted(role.signed.targets.items()):
            basename = path.removeprefix(prefix)
            if (
                not path.startswith(prefix)
                or "/" in basename
                or basename.endswith(_CORE_SUFFIX)
                or basename in LISTING_FILENAMES.values()
            ):
                continue
            version = version_of(basename, name)
            sha256 = target.hashes.get("sha256")
            if version is None or sha256 is None:
                logger.warning(
                    "dropped %r from %s: not a distribution of %s", path, role.name, name
                )
                continue
            core = role.signed.targets.get(path + _CORE_SUFFIX)
            yanked = target.custom.get("yanked") if isinstance(target.custom, dict) else None
            files.append(
                ListedFile(
                    filename=basename,
                    version=version,
                    target_path=path,
                    sha256=sha256,
                    size=target.length,
                    upload_time=_NO_UPLOAD_TIME,
                    yanked=bool(yanked),
                    yanked_reason=yanked if isinstance(yanked, str) else "",
                    core_metadata_sha256=core.hashes.get("sha256") if core else None,
                )
            )
        trust = FileTrust(
            TrustLevel.DEVELOPER_SIGNED, source, role.name, f"{role.name}, {maintainers}"
        )
        return ProjectView(name, source, role.name, tuple(files), trust, role.path)

    def _check_maintainers(
        self, name: NormalizedName, role: VerifiedRole, delegation: DelegatedRole
    ) -> str:
        """Count distinct maintainers over the verified role (DESIGN rule 7).

        The signed map is present only when a maintainer has several keys; without
        it keys and maintainers count the same, and the walk has counted the keys.
        The map and the signatures are the ones verified along this role's own
        delegation path, never re-read by name.
        """
        if MAINTAINERS_FIELD not in delegation.unrecognized_fields:
            n = delegation.threshold
            return f"{n} developer keys" if n > 1 else "a developer key"
        # Imported here: only projects whose maintainers have several keys need it.
        from endorse.metadata.maintainers import (
            InvalidMaintainerMap,
            ThresholdNotMet,
            verify_delegate_maintainers,
        )

        assert role.parent is not None and role.metadata is not None  # noqa: S101 - delegated
        try:
            signed = verify_delegate_maintainers(role.parent.signed, role.name, role.metadata)
        except (ThresholdNotMet, InvalidMaintainerMap) as e:
            raise VerificationFailed(
                f"refused the project role {role.name} of {name}: {e.message}",
                check="maintainer threshold",
                project=name,
                hint=e.hint or "another maintainer must sign this release",
            ) from e
        total = len(maintainer_names(delegation))
        return f"{len(signed)} of {total} maintainers ({', '.join(sorted(signed))})"

    # -- targets --------------------------------------------------------------

    def target(self, target_path: str) -> VerifiedTarget:
        """A file or ``.metadata`` target of a project, with its trust; NotFound if unsigned.

        The file's own lookup must end in the role its project's listing came
        from (a developer-signed project) or in a bin under unclaimed (an
        index-signed one): a file is never trusted for what another role says
        about its project.
        """
        try:
            name, basename, digest = parse_target_path(target_path)
        except ValueError as e:
            raise NotFound(f"not a target path: {target_path!r}") from e
        if digest is not None or basename in LISTING_FILENAMES.values():
            raise NotFound(f"not served by the verifying index: {target_path!r}")
        view = self.project(name)
        if view is None:
            raise NotFound(f"no project {name!r} in the verified metadata")
        what = f"{basename} of {name}"
        found = self._lookup(target_path, name, what)
        if found.target is None or found.role is None:
            raise NotFound(f"{basename} of {name} is not signed by the index or its developers")
        if view.trust is not None:
            if found.role.path != view.role_path:
                raise _layout_refusal(
                    what,
                    name,
                    f"it is signed by {found.role.describe()}, but {name}'s listing comes from "
                    f"{' → '.join(view.role_path)}",
                )
            return VerifiedTarget(name, basename, found.target, view.trust)
        dist_path = target_path.removesuffix(_CORE_SUFFIX)
        dist = found if dist_path == target_path else self._lookup(dist_path, name, what)
        for lookup in (found, dist):
            if lookup.role is not None and _branch(lookup.role) != UNCLAIMED:
                raise _layout_refusal(
                    what,
                    name,
                    f"it is signed by {lookup.role.describe()}, but {name} is an index-signed "
                    "project, whose files are signed in the bins under unclaimed",
                )
        if dist.target is None or dist.role is None:
            raise NotFound(f"{basename} of {name}: its distribution is not signed")
        return VerifiedTarget(
            name, basename, found.target, index_signed_trust(dist.target.custom, dist.role.name)
        )

    def open_verified(self, verified: VerifiedTarget) -> IO[bytes]:
        """An open file whose bytes match the signed length and hash (fetched if needed).

        The caller closes it. The hash is checked on this open file, so what is
        served is exactly what was checked.
        """
        target = verified.target
        dest = self.cache.target_file(target.path)
        fh = _open_if_valid(dest, target)
        if fh is None:
            self._download(verified, dest)
            fh = _open_if_valid(dest, target)
            if fh is None:  # replaced under us between download and open
                raise VerificationFailed(
                    f"refused {verified.description}: the cached copy changed after it was "
                    "verified",
                    check="length and hash",
                    project=verified.project,
                    filename=verified.filename,
                )
        return fh

    def _download(self, verified: VerifiedTarget, dest: Path) -> None:
        what = verified.description
        if self.offline:
            raise UpstreamUnavailable(
                f"offline, and {what} is not in the verified cache",
                hint="connect to the upstream once, or install what is cached",
            )
        part = dest.with_name(f"{dest.name}.{uuid.uuid4().hex}.part")
        try:
            self.view.download(verified.target, part)
            os.replace(part, dest)
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as e:
            error = _refusal(e, what, verified.project, verified.filename)
            raise error from e
        finally:
            part.unlink(missing_ok=True)


def maintainer_names(delegation: DelegatedRole) -> list[str]:
    """The maintainers a delegation's signed map names."""
    raw = delegation.unrecognized_fields.get(MAINTAINERS_FIELD)
    return sorted(str(m) for m in raw) if isinstance(raw, dict) else []


def _marker(raw: object) -> StatusMarker:
    """The status marker of a signed PEP 691 listing; an unknown status counts as active."""
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), str):
        return ACTIVE
    try:
        status = ProjectStatus(raw["status"])
    except ValueError:
        return ACTIVE
    reason = raw.get("reason")
    return StatusMarker(status, reason if isinstance(reason, str) else "")


def _listing_trust() -> FileTrust:
    return FileTrust(TrustLevel.INDEX_SIGNED, Source.INDEX_SIGNED, "bin", "the project's bin")


def _open_if_valid(path: Path, target: TargetFile) -> IO[bytes] | None:
    try:
        fh = path.open("rb")
    except OSError:
        return None
    try:
        target.verify_length_and_hashes(fh)
    except tuf_errors.LengthOrHashMismatchError:
        fh.close()
        return None
    fh.seek(0)
    return fh


@dataclass
class VerifiedIndex:
    """Sessions over one upstream: refreshed every ``refresh_interval`` seconds,
    and answered from the cache while the upstream is unreachable."""

    upstream: Upstream
    cache: ClientCache
    pin: RootPin = field(default_factory=RootPin)
    refresh_interval: float = 60.0
    clock: Callable[[], float] = time.monotonic
    fetcher: CountingFetcher = field(init=False)
    #: Where trust in the root came from (for people).
    root_source: str = field(init=False, default="")
    _session: IndexSession | None = field(init=False, default=None)
    _failure: tuple[float, Exception] | None = field(init=False, default=None)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.fetcher = CountingFetcher(self.upstream)

    def current(self) -> IndexSession | None:
        """The last refreshed session, without refreshing."""
        return self._session

    def session(self) -> IndexSession:
        """The current session, refreshed when due; raises what the refresh raised."""
        with self._lock:
            now = self.clock()
            current = self._session
            if current is not None and now - current.created < self.refresh_interval:
                return current
            if self._failure is not None and now - self._failure[0] < 1.0:
                raise self._failure[1]
            try:
                self._session = self._refresh()
                self._failure = None
            except (VerificationFailed, UpstreamUnavailable) as e:
                self._failure = (now, e)
                raise
            return self._session

    def _refresh(self) -> IndexSession:
        bootstrap, self.root_source = initial_root(
            self.upstream, self.cache, self.pin, self.fetcher
        )
        updater = open_updater(self.upstream, self.cache, bootstrap, self.fetcher)
        try:
            updater.refresh()
        except tuf_errors.RepositoryError as e:
            raise _refusal(e, f"the metadata of {self.upstream.url}", None, None) from e
        except tuf_errors.DownloadError as e:
            refusal = _refusal(e, f"the metadata of {self.upstream.url}", None, None)
            if isinstance(refusal, VerificationFailed):
                raise refusal from e
            if not is_unreachable(e):
                raise UpstreamUnavailable(
                    f"{refusal.message}: the upstream answered, so the client does not fall "
                    "back to its cache (a mirror that withholds metadata could otherwise hold "
                    "you on old files)",
                    hint="check the --index address (the index's base URL, not /legacy/ or "
                    "/simple/), or use another mirror",
                ) from e
            return self._offline(refusal)
        session = IndexSession(
            open_view(updater, self.upstream, self.cache, self.fetcher),
            self.cache,
            offline=False,
            description=self.root_source,
        )
        status = session.status()
        logger.info(
            "verified %s: timestamp v%s, snapshot v%s (%s)",
            self.upstream.url,
            status.get("timestamp", {}).get("version"),
            status.get("snapshot", {}).get("version"),
            self.root_source,
        )
        return session

    def _offline(self, unreachable: UpstreamUnavailable) -> IndexSession:
        fetcher = OfflineFetcher(self.upstream, self.cache)
        updater = open_updater(self.upstream, self.cache, None, fetcher)
        try:
            updater.refresh()
        except tuf_errors.RepositoryError as e:
            check, _ = describe_tuf_error(e)
            raise VerificationFailed(
                f"refused the cached metadata of {self.upstream.url}: the upstream is "
                f"unreachable, and the {check} check failed on what was verified earlier "
                f"({type(e).__name__}: {e})",
                check=check,
                hint="the client works offline only until the metadata it verified earlier "
                "expires (an unreachable index must not freeze you on old files); connect "
                "to the upstream again",
            ) from e
        except tuf_errors.DownloadError as e:
            raise UpstreamUnavailable(
                f"{unreachable.message}; and there is no usable cached metadata ({e})",
                hint=unreachable.hint,
            ) from e
        session = IndexSession(
            open_view(updater, self.upstream, self.cache, fetcher),
            self.cache,
            offline=True,
            description=self.root_source,
            offline_reason=unreachable.message,
        )
        expires = session.status().get("timestamp", {}).get("expires", "?")
        logger.warning(
            "%s is unreachable (%s): serving from metadata verified earlier, valid until %s",
            self.upstream.url,
            unreachable.message,
            expires,
        )
        return session
