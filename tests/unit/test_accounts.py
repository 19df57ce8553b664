"""Accounts: Argon2id passwords, hashed tokens, scopes and trust levels, revocation."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.utils import NormalizedName

from endorse.errors import AuthenticationFailed, EndorseError, NotFound, PermissionDenied
from endorse.index.accounts import TOKEN_PREFIX, Accounts, check_upload_rights
from endorse.metadata.trust import TrustLevel
from endorse.settings import Settings
from endorse.storage.db import Database, Project
from endorse.storage.db.schema import prepare

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Env:
    """Accounts on a fresh SQLite file, and that file for inspection."""

    accounts: Accounts
    db: Database
    path: Path

    def dump(self) -> str:
        """Everything the database holds, as SQL text."""
        with closing(sqlite3.connect(self.path)) as conn:
            return "\n".join(conn.iterdump())

    def scalar(self, sql: str) -> object:
        with closing(sqlite3.connect(self.path)) as conn:
            return conn.execute(sql).fetchone()[0]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    path = tmp_path / "x.db"
    db = Database(f"sqlite:///{path}")
    prepare(db)
    # Cheap Argon2id through the settings, as in production code paths.
    accounts = Accounts(db, Settings(password_memory_kib=256, password_iterations=1))
    yield Env(accounts, db, path)
    db.dispose()


# ---------------------------------------------------------------------------- passwords


def test_password_is_stored_as_argon2id_never_in_plain_text(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    stored = env.scalar("SELECT password_hash FROM users WHERE username = 'alice'")
    assert isinstance(stored, str)
    assert stored.startswith("$argon2id$v=19$m=256,t=1,p=1$")
    assert PASSWORD not in env.dump()


def test_password_authenticates_with_index_signed_trust(env: Env) -> None:
    user_id = env.accounts.create_user("alice", PASSWORD)
    identity = env.accounts.authenticate("alice", PASSWORD)
    assert (identity.user_id, identity.username, identity.method) == (user_id, "alice", "password")
    assert identity.token_projects is None
    assert identity.upload_trust == TrustLevel.INDEX_SIGNED
    assert identity.may_touch(NormalizedName("anything"))


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", PASSWORD + "!"),
        ("alice", PASSWORD.upper()),
        ("alice", ""),
        ("Alice", PASSWORD),
        ("mallory", PASSWORD),
        ("__token__", PASSWORD),
    ],
    ids=["wrong", "case", "empty", "username-case", "unknown-user", "token-username"],
)
def test_wrong_password_or_unknown_user_fails_alike(env: Env, username: str, password: str) -> None:
    """One message for both, so names cannot be probed."""
    env.accounts.create_user("alice", PASSWORD)
    with pytest.raises(AuthenticationFailed, match=r"^invalid username or password$"):
        env.accounts.authenticate(username, password)


def test_short_password_refused(env: Env) -> None:
    with pytest.raises(EndorseError, match=r"password too short \(9 characters\)") as refused:
        env.accounts.create_user("alice", "123456789")
    assert refused.value.hint is not None
    assert "10" in refused.value.hint
    env.accounts.create_user("alice", "1234567890")
    assert env.accounts.list_users() == ["alice"]


@pytest.mark.parametrize("username", ["", "__token__", "-alice", "al ice", "a/b", "x" * 101])
def test_bad_username_refused(env: Env, username: str) -> None:
    with pytest.raises(EndorseError, match="invalid username"):
        env.accounts.create_user(username, PASSWORD)
    assert env.accounts.list_users() == []


def test_duplicate_user_refused(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    with pytest.raises(EndorseError, match="already exists"):
        env.accounts.create_user("alice", "another-password")
    assert env.accounts.authenticate("alice", PASSWORD).username == "alice"


def test_password_that_looks_like_a_token(env: Env) -> None:
    """A password create_user accepts must log in (refusing it up front is fine too)."""
    password = TOKEN_PREFIX + "my-password"
    try:
        env.accounts.create_user("alice", password)
    except EndorseError:
        return
    assert env.accounts.authenticate("alice", password).method == "password"


# ------------------------------------------------------------------------------- tokens


def test_token_is_stored_only_as_its_sha256(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    token = env.accounts.create_token("alice", description="ci")
    assert token.startswith(TOKEN_PREFIX)
    assert len(token) > len(TOKEN_PREFIX) + 40
    stored = env.scalar("SELECT token_hash FROM api_tokens")
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in env.dump()
    assert token.removeprefix(TOKEN_PREFIX) not in env.dump()


def test_tokens_are_unique(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    assert len({env.accounts.create_token("alice") for _ in range(5)}) == 5


def test_unscoped_token_is_index_signed(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    token = env.accounts.create_token("alice")
    # The username does not matter with a token (twine sends __token__).
    for username in ("__token__", "alice", "whoever"):
        identity = env.accounts.authenticate(username, token)
        assert (identity.username, identity.method) == ("alice", "token")
        assert identity.token_projects is None
        assert identity.upload_trust == TrustLevel.INDEX_SIGNED


def test_scoped_token_gives_strong_auth_trust_and_normalised_scope(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    token = env.accounts.create_token("alice", projects=["Hello.World", "other", "OTHER"])
    assert env.scalar("SELECT projects FROM api_tokens") == '["hello-world", "other"]'
    identity = env.accounts.authenticate("__token__", token)
    assert identity.token_projects == frozenset({"hello-world", "other"})
    assert identity.upload_trust == TrustLevel.INDEX_SIGNED_STRONG_AUTH
    assert identity.may_touch(NormalizedName("hello-world"))
    assert not identity.may_touch(NormalizedName("third"))


@pytest.mark.parametrize(
    "token",
    [TOKEN_PREFIX + "A" * 43, TOKEN_PREFIX, TOKEN_PREFIX + "' OR 1=1 --"],
    ids=["random", "prefix-only", "sql"],
)
def test_unknown_token_refused(env: Env, token: str) -> None:
    env.accounts.create_user("alice", PASSWORD)
    env.accounts.create_token("alice")
    with pytest.raises(AuthenticationFailed, match="invalid or revoked API token"):
        env.accounts.authenticate("__token__", token)


def test_revoked_token_refused(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    env.accounts.create_user("bob", PASSWORD)
    first = env.accounts.create_token("alice")
    second = env.accounts.create_token("alice", projects=["one"])
    bobs = env.accounts.create_token("bob")
    assert env.accounts.authenticate("__token__", first).username == "alice"
    assert env.accounts.revoke_tokens("alice") == 2
    for token in (first, second):
        with pytest.raises(AuthenticationFailed, match="invalid or revoked API token"):
            env.accounts.authenticate("__token__", token)
    assert env.accounts.authenticate("__token__", bobs).username == "bob"
    assert env.accounts.revoke_tokens("alice") == 0
    fresh = env.accounts.create_token("alice")
    assert env.accounts.authenticate("__token__", fresh).username == "alice"
    # Revoking tokens leaves the password alone.
    assert env.accounts.authenticate("alice", PASSWORD).method == "password"


def test_token_for_unknown_user_refused(env: Env) -> None:
    with pytest.raises(NotFound, match="no user 'ghost'"):
        env.accounts.create_token("ghost")
    with pytest.raises(NotFound):
        env.accounts.revoke_tokens("ghost")


def test_token_scoped_to_an_invalid_project_name_refused(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    with pytest.raises(EndorseError):
        env.accounts.create_token("alice", projects=["not a name!"])


# ------------------------------------------------------------------------ upload rights


def _project(env: Env, name: str) -> Project:
    with env.db.session() as session:
        project = Project(name=name, display_name=name, confusable_key=name)
        session.add(project)
    return project


def test_upload_rights_need_membership_and_token_scope(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    env.accounts.create_user("bob", PASSWORD)
    project = _project(env, "hello-world")
    env.accounts.add_member("Hello.World", "alice", "owner")
    alice = env.accounts.authenticate("alice", PASSWORD)
    bob = env.accounts.authenticate("bob", PASSWORD)
    scoped_elsewhere = env.accounts.authenticate(
        "__token__", env.accounts.create_token("alice", projects=["other"])
    )
    scoped_here = env.accounts.authenticate(
        "__token__", env.accounts.create_token("alice", projects=["hello-world"])
    )
    with env.db.read_session() as session:
        check_upload_rights(session, alice, project)
        check_upload_rights(session, scoped_here, project)
        with pytest.raises(PermissionDenied, match="'bob' is not an owner or maintainer"):
            check_upload_rights(session, bob, project)
        with pytest.raises(PermissionDenied, match="not scoped to project 'hello-world'"):
            check_upload_rights(session, scoped_elsewhere, project)
    env.accounts.add_member("hello-world", "bob")
    assert env.accounts.members("hello-world") == [("alice", "owner"), ("bob", "maintainer")]
    with env.db.read_session() as session:
        check_upload_rights(session, bob, project)


def test_add_member_refuses_unknown_project_user_and_role(env: Env) -> None:
    env.accounts.create_user("alice", PASSWORD)
    _project(env, "hello-world")
    with pytest.raises(NotFound, match="no project 'nothing'"):
        env.accounts.add_member("nothing", "alice")
    with pytest.raises(NotFound, match="no user 'ghost'"):
        env.accounts.add_member("hello-world", "ghost")
    with pytest.raises(EndorseError, match="unknown project role 'admin'"):
        env.accounts.add_member("hello-world", "alice", "admin")
    assert env.accounts.members("hello-world") == []
