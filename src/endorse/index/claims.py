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

from packaging.utils import NormalizedName, canonicalize_name
from securesystemslib.signer import Key, Signature
from sqlalchemy import select
from sqlalchemy.orm import Session

from endorse.errors import EndorseError, NotFound, PermissionDenied, UploadRejected
from endorse.index.accounts import OWNER, Identity
from endorse.metadata.roles import claimed_project_role, recently_claimed_project_role
from endorse.signing.machines import KeyAdditionInvalid, verify_key_addition
from endorse.storage.db import (
    ClaimMaintainer,
    Database,
    DeveloperKey,
    Project,
    ProjectClaim,
    ProjectMember,
    ProjectRoleVersion,
    QueueEntry,
    User,
    utcnow,
)

logger = logging.getLogger(__name__)

PENDING = "pending"
RECENTLY_CLAIMED_STATE = "recently-claimed"
CLAIMED_STATE = "claimed"


class ClaimError(EndorseError):
    """A claim or key operation was refused."""


def parse_key(raw: Any) -> Key:
    """A public key from ``{"keyid": ..., "key": {...}}`` (as ``endorse key show`` prints)."""
    try:
        return Key.from_dict(str(raw["keyid"]), dict(raw["key"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ClaimError(
            f"not a public key: {e}", hint="use the output of `endorse key show`"
        ) from e


def register_key(
    db: Database,
    identity: Identity | None,
    key: Key,
    *,
    label: str = "",
    statement: Mapping[str, Any] | None = None,
    signature: Signature | None = None,
    username: str | None = None,
) -> str:
    """Register a maintainer's machine key.

    The very first key of an account needs only the account's credentials
    (not a project-scoped token). Every further key must come with an add-key
    statement (``endorse key endorse-machine``) signed by a registered key of
    the same maintainer, so that a stolen password alone cannot add a key.
    Once an account had keys and all are revoked, only an administrator
    (``identity`` None, ``username`` given) registers its next key.
    """
    with db.session() as session:
        if identity is None:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user {username!r}")
            identity = Identity(user.id, user.username, None, "admin")
            administrator = True
        else:
            administrator = False
            if identity.token_projects is not None:
                raise PermissionDenied(
                    "a project-scoped token cannot manage developer keys",
                    hint="use your password or an unscoped token",
                )
        if session.scalar(select(DeveloperKey).where(DeveloperKey.keyid == key.keyid)):
            raise ClaimError(f"key {key.keyid[:12]} is already registered")
        had_keys = (
            session.scalar(select(DeveloperKey.id).where(DeveloperKey.user_id == identity.user_id))
            is not None
        )
        existing = session.scalars(
            select(DeveloperKey).where(
                DeveloperKey.user_id == identity.user_id, DeveloperKey.revoked.is_(None)
            )
        ).all()
        added_by = None
        if had_keys and not existing and not administrator:
            raise PermissionDenied(
                "every key of this account was revoked: a stolen password must not be "
                "enough to add a new one",
                hint="ask an administrator: `endorse admin register-key USER KEY.json`",
            )
        if existing and not administrator:
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
                addition = verify_key_addition(
                    statement,
                    signature,
                    Key.from_dict(signer.keyid, dict(signer.key)),
                    maintainer=identity.username,
                )
            except KeyAdditionInvalid as e:
                raise PermissionDenied(f"the add-key statement is refused: {e.message}") from e
            if addition.new_key.keyid != key.keyid:
                raise PermissionDenied("the add-key statement names another key")
            added_by = signer.keyid
        session.add(
            DeveloperKey(
                user_id=identity.user_id,
                keyid=key.keyid,
                key=key.to_dict(),
                label=label,
                added_by=added_by,
            )
        )
        _mark_user_claims_dirty(session, identity.user_id)
    logger.info("registered key %s for %s", key.keyid[:12], identity.username)
    return key.keyid


def revoke_key(db: Database, keyid: str, *, identity: Identity | None) -> list[str]:
    """Revoke a developer key (its owner, or an administrator when ``identity`` is None).

    Returns the projects whose delegations change. Recently-claimed ones change
    in the next batch; claimed ones in the next signing event.
    """
    with db.session() as session:
        row = session.scalar(select(DeveloperKey).where(DeveloperKey.keyid == keyid))
        if row is None or row.revoked is not None:
            raise NotFound(f"no active developer key {keyid[:12]}")
        if identity is not None and identity.token_projects is not None:
            raise PermissionDenied("a project-scoped token cannot manage developer keys")
        if identity is not None and row.user_id != identity.user_id:
            raise PermissionDenied(f"key {keyid[:12]} is not one of your keys")
        row.revoked = utcnow()
        projects = _mark_user_claims_dirty(session, row.user_id)
    logger.info("revoked key %s", keyid[:12])
    return projects


def _mark_user_claims_dirty(session: Session, user_id: int) -> list[str]:
    rows = session.execute(
        select(ProjectClaim, Project.name)
        .join(ClaimMaintainer, ClaimMaintainer.project_id == ProjectClaim.project_id)
        .join(Project, Project.id == ProjectClaim.project_id)
        .where(ClaimMaintainer.user_id == user_id)
    ).all()
    for claim, _name in rows:
        claim.delegation_dirty = True
        session.add(QueueEntry(project_id=claim.project_id))
    return [name for _claim, name in rows]


def claim_project(
    db: Database,
    identity: Identity,
    project: str,
    *,
    maintainers: list[str],
    threshold: int,
) -> None:
    """Record a claim; the project is delegated once its first signed version is accepted."""
    name = canonicalize_name(project)
    with db.session() as session:
        proj = _project(session, name)
        owner = session.scalar(
            select(ProjectMember).where(
                ProjectMember.project_id == proj.id,
                ProjectMember.user_id == identity.user_id,
                ProjectMember.role == OWNER,
            )
        )
        if owner is None:
            raise PermissionDenied(f"only an owner of {name!r} may claim it")
        if session.get(ProjectClaim, proj.id) is not None:
            raise ClaimError(
                f"{name!r} is already claimed",
                hint="change keys with `endorse key` commands; the delegation follows",
            )
        names = sorted(set(maintainers) | {identity.username})
        if not 1 <= threshold <= len(names):
            raise ClaimError(
                f"threshold {threshold} is impossible with {len(names)} maintainer(s)",
                hint="a threshold counts distinct maintainers, not machine keys",
            )
        for username in names:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user {username!r}")
            member = session.scalar(
                select(ProjectMember).where(
                    ProjectMember.project_id == proj.id, ProjectMember.user_id == user.id
                )
            )
            if member is None:
                raise ClaimError(f"{username!r} is not an owner or maintainer of {name!r}")
            if not active_keys(session, user.id):
                raise ClaimError(
                    f"{username!r} has no registered developer key",
                    hint="each maintainer registers a key first: `endorse key register`",
                )
            session.add(ClaimMaintainer(project_id=proj.id, user_id=user.id))
        session.add(
            ProjectClaim(
                project_id=proj.id, state=PENDING, threshold=threshold, claimed_by=identity.user_id
            )
        )
    logger.info("claim of %s recorded (threshold %d, maintainers %s)", name, threshold, names)


def active_keys(session: Session, user_id: int) -> list[Key]:
    """A user's registered, unrevoked developer keys."""
    rows = session.scalars(
        select(DeveloperKey).where(DeveloperKey.user_id == user_id, DeveloperKey.revoked.is_(None))
    ).all()
    return [Key.from_dict(r.keyid, dict(r.key)) for r in rows]


def claim_keys(session: Session, project_id: int) -> dict[str, list[Key]]:
    """``maintainer -> active keys`` of a claimed project."""
    rows = session.execute(
        select(User.id, User.username)
        .join(ClaimMaintainer, ClaimMaintainer.user_id == User.id)
        .where(ClaimMaintainer.project_id == project_id)
        .order_by(User.username)
    ).all()
    return {username: active_keys(session, user_id) for user_id, username in rows}


def project_role_name(name: NormalizedName, state: str) -> str:
    """The role that holds a claimed project's targets in a given claim state."""
    if state == CLAIMED_STATE:
        return claimed_project_role(name)
    return recently_claimed_project_role(name)


@dataclass(frozen=True)
class ClaimInfo:
    """What a developer's client needs to sign the next version."""

    name: NormalizedName
    state: str
    role: str
    version: int
    threshold: int
    maintainers: dict[str, list[Key]]

    def to_json(self) -> dict[str, Any]:
        """JSON form for the API."""
        return {
            "state": self.state,
            "role": self.role,
            "version": self.version,
            "threshold": self.threshold,
            "maintainers": {
                m: [{"keyid": k.keyid, "key": k.to_dict()} for k in keys]
                for m, keys in self.maintainers.items()
            },
        }


def claim_info(session: Session, project: Project) -> ClaimInfo | None:
    """The claim of a project, or None if it is index-signed."""
    claim = session.get(ProjectClaim, project.id)
    if claim is None:
        return None
    name = NormalizedName(project.name)
    version = (
        session.scalar(
            select(ProjectRoleVersion.version)
            .where(ProjectRoleVersion.project_id == project.id)
            .order_by(ProjectRoleVersion.version.desc())
            .limit(1)
        )
        or 0
    )
    return ClaimInfo(
        name=name,
        state=claim.state,
        role=project_role_name(name, claim.state),
        version=version,
        threshold=claim.threshold,
        maintainers=claim_keys(session, project.id),
    )


def _project(session: Session, name: NormalizedName) -> Project:
    proj = session.scalar(select(Project).where(Project.name == name))
    if proj is None:
        raise NotFound(f"no project {name!r}")
    return proj


def refuse_unsigned_upload(session: Session, project: Project) -> None:
    """A plain twine upload never becomes a developer-signed file (DESIGN rule 2)."""
    if session.get(ProjectClaim, project.id) is not None:
        raise UploadRejected(
            f"Project {project.name!r} is claimed (PEP 480): its files must be signed by "
            "its developers.",
            status=409,
            hint="upload with `endorse upload dist/*`, which signs with your developer key",
        )
