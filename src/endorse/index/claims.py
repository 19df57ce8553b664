"""Developer keys and claiming a project (PEP 480), on the index side.

Nothing here signs: the index records public keys, who maintains what, and
which threshold a project's releases need. The publisher turns that into the
per-project delegation under ``recently-claimed``; administrators move it into
``claimed`` in a signing event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName
from securesystemslib.signer import Key, Signature

from endorse.errors import (
    Conflict,
    InvalidRequest,
    KeyAdditionInvalid,
    NotFound,
    PermissionDenied,
)
from endorse.index.accounts import Identity, require_user
from endorse.index.projects import require_project
from endorse.metadata.key_addition import verify_key_addition
from endorse.metadata.roles import RoleName, project_role
from endorse.states import AuthMethod, ClaimState, ProjectRole
from endorse.storage.db import (
    ClaimMaintainer,
    Database,
    DeveloperKey,
    Project,
    ProjectClaim,
    QueueEntry,
    Session,
    queries,
    utcnow,
)

logger = logging.getLogger(__name__)

__all__ = ["ClaimInfo", "Claims", "claim_info", "parse_key"]


def parse_key(raw: Any) -> Key:
    """A public key from ``{"keyid": ..., "key": {...}}`` (as ``endorse key show`` prints)."""
    try:
        return Key.from_dict(str(raw["keyid"]), dict(raw["key"]))
    except (KeyError, TypeError, ValueError) as e:
        raise InvalidRequest(
            f"not a public key: {e}", hint="use the output of `endorse key show`"
        ) from e


@dataclass(frozen=True)
class ClaimInfo:
    """What a developer's client needs to sign the next version."""

    name: NormalizedName
    state: ClaimState
    role: RoleName
    version: int
    threshold: int
    maintainers: dict[str, list[Key]]


def claim_info(session: Session, project: Project) -> ClaimInfo | None:
    """The claim of a project, or None if it is index-signed."""
    claim = queries.claim_of(session, project.id)
    if claim is None:
        return None
    name = NormalizedName(project.name)
    newest = queries.newest_role_version(session, project.id)
    return ClaimInfo(
        name=name,
        state=claim.state,
        role=project_role(name, claim.state),
        version=newest.version if newest is not None else 0,
        threshold=claim.threshold,
        maintainers=queries.claim_keys(session, project.id),
    )


class Claims:
    """Registers and revokes developer keys, and records claims."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def info(self, project: str) -> ClaimInfo | None:
        """A project's claim, or None when it is index-signed; NotFound without a project."""
        with self.db.read_session() as session:
            return claim_info(session, require_project(session, project))

    def register_key(
        self,
        identity: Identity,
        key: Key,
        *,
        label: str = "",
        statement: Mapping[str, Any] | None = None,
        signature: Signature | None = None,
    ) -> str:
        """Register a maintainer's machine key.

        The very first key of an account needs only the account's credentials
        (not a project-scoped token). Every further key must come with an
        add-key statement (``endorse key endorse-machine``) signed by a
        registered key of the same maintainer, so that a stolen password alone
        cannot add a key. Once an account had keys and all are revoked, only an
        administrator (an identity from :meth:`Accounts.administrator_as`)
        registers its next key.
        """
        identity.refuse_scoped_token("manage developer keys")
        with self.db.session() as session:
            if queries.developer_key(session, key.keyid) is not None:
                raise Conflict(f"key {key.keyid[:12]} is already registered")
            added_by = None
            if identity.method is not AuthMethod.ADMIN:
                added_by = _check_key_addition(session, identity, key, statement, signature)
            session.add(
                DeveloperKey(
                    user_id=identity.user_id,
                    keyid=key.keyid,
                    key=key.to_dict(),
                    label=label,
                    added_by=added_by,
                )
            )
            _mark_claims_changed(session, identity.user_id)
        logger.info("registered key %s for %s", key.keyid[:12], identity.username)
        return key.keyid

    def revoke_key(self, keyid: str, *, identity: Identity | None) -> list[NormalizedName]:
        """Revoke a developer key: its owner's (``identity``), or any (None: an administrator).

        Returns the projects whose delegations change. Recently-claimed ones
        change in the next batch; claimed ones in the next signing event.
        """
        if identity is not None:
            identity.refuse_scoped_token("manage developer keys")
        with self.db.session() as session:
            row = queries.developer_key(session, keyid)
            if row is None or row.revoked is not None:
                raise NotFound(f"no active developer key {keyid[:12]}")
            if identity is not None and row.user_id != identity.user_id:
                raise PermissionDenied(f"key {keyid[:12]} is not one of your keys")
            row.revoked = utcnow()
            projects = _mark_claims_changed(session, row.user_id)
        logger.info("revoked key %s", keyid[:12])
        return projects

    def claim_project(
        self, identity: Identity, project: str, *, maintainers: list[str], threshold: int
    ) -> None:
        """Record a claim; the project is delegated once its first signed version is accepted."""
        with self.db.session() as session:
            proj = require_project(session, project)
            name = NormalizedName(proj.name)
            member = queries.membership(session, proj.id, identity.user_id)
            if member is None or member.role is not ProjectRole.OWNER:
                raise PermissionDenied(f"only an owner of {name!r} may claim it")
            if queries.claim_of(session, proj.id) is not None:
                raise Conflict(
                    f"{name!r} is already claimed",
                    hint="change keys with `endorse key` commands; the delegation follows",
                )
            names = sorted(set(maintainers) | {identity.username})
            if not 1 <= threshold <= len(names):
                raise InvalidRequest(
                    f"threshold {threshold} is impossible with {len(names)} maintainer(s)",
                    hint="a threshold counts distinct maintainers, not machine keys",
                )
            for username in names:
                user = require_user(session, username)
                if queries.membership(session, proj.id, user.id) is None:
                    raise InvalidRequest(f"{username!r} is not an owner or maintainer of {name!r}")
                if not queries.active_keys(session, user.id):
                    raise InvalidRequest(
                        f"{username!r} has no registered developer key",
                        hint="each maintainer registers a key first: `endorse key register`",
                    )
                session.add(ClaimMaintainer(project_id=proj.id, user_id=user.id))
            session.add(
                ProjectClaim(
                    project_id=proj.id,
                    state=ClaimState.PENDING,
                    threshold=threshold,
                    claimed_by=identity.user_id,
                )
            )
        logger.info("claim of %s recorded (threshold %d, maintainers %s)", name, threshold, names)


def _check_key_addition(
    session: Session,
    identity: Identity,
    key: Key,
    statement: Mapping[str, Any] | None,
    signature: Signature | None,
) -> str | None:
    """The registered key that endorsed ``key`` (None for an account's first key)."""
    existing = queries.active_keys(session, identity.user_id)
    if not existing:
        if queries.has_had_keys(session, identity.user_id):
            raise PermissionDenied(
                "every key of this account was revoked: a stolen password must not be "
                "enough to add a new one",
                hint="ask an administrator: `endorse admin register-key USER KEY.json`",
            )
        return None
    if signature is None or statement is None:
        raise PermissionDenied(
            "adding another machine's key needs a signature by one of your registered keys",
            hint="run `endorse key endorse-machine NEW --by EXISTING` on a machine "
            "that holds a registered key",
        )
    signer = next((k for k in existing if k.keyid == signature.keyid), None)
    if signer is None:
        raise PermissionDenied(
            f"key {signature.keyid[:12]} that signed the statement is not a "
            f"registered key of {identity.username!r}"
        )
    try:
        addition = verify_key_addition(statement, signature, signer, maintainer=identity.username)
    except KeyAdditionInvalid as e:
        raise PermissionDenied(f"the add-key statement is refused: {e.message}") from e
    if addition.new_key.keyid != key.keyid:
        raise PermissionDenied("the add-key statement names another key")
    return signer.keyid


def _mark_claims_changed(session: Session, user_id: int) -> list[NormalizedName]:
    """Mark every claim ``user_id`` maintains for re-delegation, and queue those projects."""
    changed = queries.claims_maintained_by(session, user_id)
    for claim, _name in changed:
        claim.delegation_dirty = True
        session.add(QueueEntry(project_id=claim.project_id))
    return [name for _claim, name in changed]
