"""Users with Argon2id-hashed passwords, project-scoped upload tokens, project membership."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from endorse.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from endorse.index.projects import require_project
from endorse.metadata.trust import TrustLevel
from endorse.settings import Settings
from endorse.states import AuthMethod, ProjectRole
from endorse.storage.db import (
    ApiToken,
    Database,
    Project,
    ProjectMember,
    Session,
    User,
    queries,
    utcnow,
)

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "endorse_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 10
_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class Identity:
    """Who a request authenticated as, and with what."""

    user_id: int
    username: str
    #: Projects a scoped token is limited to; None for a password or unscoped token.
    token_projects: frozenset[NormalizedName] | None
    method: AuthMethod

    @property
    def upload_trust(self) -> TrustLevel:
        """Trust level of a file this identity uploads (DESIGN rule 8, levels 1-2)."""
        if self.token_projects is not None:
            return TrustLevel.INDEX_SIGNED_STRONG_AUTH
        return TrustLevel.INDEX_SIGNED

    def may_touch(self, project: NormalizedName) -> bool:
        """Whether the credential itself (not membership) allows this project."""
        return self.token_projects is None or project in self.token_projects

    def refuse_scoped_token(self, what: str) -> None:
        """Raise PermissionDenied when a project-scoped token tries ``what``."""
        if self.token_projects is not None:
            raise PermissionDenied(
                f"a project-scoped token cannot {what}",
                hint="use your password or an unscoped token",
            )


def hash_token(token: str) -> str:
    """Tokens are 256-bit random: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Account operations over the database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self._hasher = PasswordHasher(
            time_cost=settings.password_iterations,
            memory_cost=settings.password_memory_kib,
            parallelism=1,
        )
        # Verified against when a username is unknown, so that unknown names
        # cost the same time as wrong passwords and cannot be probed.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def create_user(self, username: str, password: str) -> int:
        """Create an account; refuse bad names, short passwords and duplicates."""
        if not _USERNAME_RE.match(username) or username == "__token__":
            raise InvalidRequest(
                f"invalid username {username!r}",
                hint="use letters, digits, '.', '_' and '-' (at most 100)",
            )
        if password.startswith(TOKEN_PREFIX):
            raise InvalidRequest(
                f"a password may not start with {TOKEN_PREFIX!r} (that marks API tokens)"
            )
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidRequest(
                f"password too short ({len(password)} characters)",
                hint=f"use at least {MIN_PASSWORD_LENGTH} characters",
            )
        with self.db.session() as session:
            if queries.user_by_name(session, username) is not None:
                raise Conflict(f"user {username!r} already exists")
            user = User(username=username, password_hash=self._hasher.hash(password))
            session.add(user)
            session.flush()
            logger.info("created user %s", username)
            return user.id

    def list_users(self) -> list[str]:
        """Every username."""
        with self.db.read_session() as session:
            return queries.usernames(session)

    def user_id(self, username: str) -> int:
        """The id of a user; NotFound when there is none."""
        with self.db.read_session() as session:
            return require_user(session, username).id

    def create_token(
        self,
        username: str,
        *,
        projects: list[str] | None = None,
        description: str = "",
    ) -> str:
        """Create an upload token and return it (shown once, stored hashed)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            scoped = (
                sorted({canonicalize_name(p, validate=True) for p in projects})
                if projects
                else None
            )
        except InvalidName as e:
            raise InvalidRequest(f"invalid project name: {e}") from e
        with self.db.session() as session:
            user = require_user(session, username)
            session.add(
                ApiToken(
                    user_id=user.id,
                    token_hash=hash_token(token),
                    description=description,
                    projects=scoped,
                )
            )
        logger.info("created token for %s (projects: %s)", username, scoped or "all")
        return token

    def revoke_tokens(self, username: str) -> int:
        """Revoke every token of a user; return how many."""
        with self.db.session() as session:
            user = require_user(session, username)
            tokens = queries.active_tokens(session, user.id)
            for token in tokens:
                token.revoked = utcnow()
            return len(tokens)

    def authenticate(self, username: str, password: str) -> Identity:
        """Check HTTP Basic credentials: a token (any username) or a password."""
        if password.startswith(TOKEN_PREFIX):
            return self._authenticate_token(password)
        with self.db.read_session() as session:
            user = queries.user_by_name(session, username)
        if user is None:
            self._verify_password(self._dummy_hash, password)
            raise AuthenticationFailed("invalid username or password")
        if not self._verify_password(user.password_hash, password):
            raise AuthenticationFailed("invalid username or password")
        return Identity(user.id, user.username, None, AuthMethod.PASSWORD)

    def administrator_as(self, username: str) -> Identity:
        """An administrator acting for ``username`` on the index's database."""
        with self.db.read_session() as session:
            user = require_user(session, username)
        return Identity(user.id, user.username, None, AuthMethod.ADMIN)

    def _verify_password(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _authenticate_token(self, token: str) -> Identity:
        digest = hash_token(token)
        with self.db.read_session() as session:
            row = queries.token_by_hash(session, digest)
            if (
                row is None
                or row.revoked is not None
                or not hmac.compare_digest(row.token_hash, digest)
            ):
                raise AuthenticationFailed(
                    "invalid or revoked API token",
                    hint="create a new one with `endorse admin token create`",
                )
            user = queries.user_by_id(session, row.user_id)
            scope = frozenset(NormalizedName(p) for p in row.projects) if row.projects else None
            return Identity(user.id, user.username, scope, AuthMethod.TOKEN)

    def add_member(
        self, project: str, username: str, role: ProjectRole | str = ProjectRole.MAINTAINER
    ) -> None:
        """Give a user upload rights on a project (``role`` as a command line spells it)."""
        try:
            role = ProjectRole(role)
        except ValueError as e:
            raise InvalidRequest(
                f"unknown project role {role!r}", hint="use owner or maintainer"
            ) from e
        with self.db.session() as session:
            proj = require_project(session, project)
            user = require_user(session, username)
            member = queries.membership(session, proj.id, user.id)
            if member is None:
                session.add(ProjectMember(project_id=proj.id, user_id=user.id, role=role))
            else:
                member.role = role

    def members(self, project: str) -> list[tuple[str, ProjectRole]]:
        """``(username, role)`` of every member of a project; NotFound if there is none."""
        with self.db.read_session() as session:
            require_project(session, project)
            return queries.members(session, canonicalize_name(project))


def check_upload_rights(session: Session, identity: Identity, project: Project) -> None:
    """Raise PermissionDenied unless ``identity`` may upload to ``project``."""
    name = NormalizedName(project.name)
    if not identity.may_touch(name):
        raise PermissionDenied(
            f"this API token is not scoped to project {name!r}",
            hint="use a token created for this project",
        )
    if queries.membership(session, project.id, identity.user_id) is None:
        owners = [u for u, role in queries.members(session, name) if role == ProjectRole.OWNER]
        hint = (
            f"ask an owner ({', '.join(owners)}) to add you: "
            f"`endorse admin project add-member {name} {identity.username}`"
            if owners
            else f"{name} has no owner yet (it was imported): an administrator makes you one "
            f"with `endorse admin project add-member {name} {identity.username} --role owner`"
        )
        raise PermissionDenied(
            f"user {identity.username!r} is not an owner or maintainer of project {name!r}",
            hint=hint,
        )


def require_user(session: Session, username: str) -> User:
    """The user of that name; NotFound when there is none."""
    user = queries.user_by_name(session, username)
    if user is None:
        raise NotFound(f"no user {username!r}", hint="create one with `endorse admin user add`")
    return user
