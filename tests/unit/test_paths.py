"""Target paths: a hash-prefixed folder per project, and nothing else gets through."""

from __future__ import annotations

import hashlib

import pytest
from packaging.utils import NormalizedName, canonicalize_name

from endorse.metadata.paths import (
    PREFIX_HEX_DIGITS,
    consistent_target_path,
    core_metadata_target,
    file_target,
    listing_target,
    parse_target_path,
    project_dir,
    project_paths_pattern,
    project_prefix,
)
from endorse.metadata.roles import (
    CLAIMED,
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
    claimed_project_role,
    is_bin,
    recently_claimed_project_role,
)

NAME = NormalizedName("hello-world")
PREFIX = hashlib.sha256(b"hello-world").hexdigest()[:4]
DIGEST = "ab" * 32


def test_prefix_is_four_hex_digits_of_sha256_of_the_normalised_name() -> None:
    assert PREFIX_HEX_DIGITS == 4
    assert project_prefix(NAME) == PREFIX
    assert project_dir(NAME) == f"{PREFIX}/hello-world"


@pytest.mark.parametrize("raw", ["Hello_World", "hello.world", "HELLO--world"])
def test_spellings_of_one_project_share_one_folder(raw: str) -> None:
    assert project_dir(canonicalize_name(raw)) == project_dir(NAME)


def test_every_target_of_a_project_is_under_its_folder_pattern() -> None:
    wheel = "hello_world-1.0-py3-none-any.whl"
    assert file_target(NAME, wheel) == f"{PREFIX}/hello-world/{wheel}"
    assert core_metadata_target(NAME, wheel) == f"{PREFIX}/hello-world/{wheel}.metadata"
    assert listing_target(NAME, "html") == f"{PREFIX}/hello-world/index.html"
    assert listing_target(NAME, "json") == f"{PREFIX}/hello-world/index.v1.json"
    assert project_paths_pattern(NAME) == f"{PREFIX}/hello-world/*"


def test_consistent_target_path_puts_the_hash_before_the_basename() -> None:
    path = file_target(NAME, "hello_world-1.0.tar.gz")
    assert (
        consistent_target_path(path, DIGEST)
        == f"{PREFIX}/hello-world/{DIGEST}.hello_world-1.0.tar.gz"
    )


@pytest.mark.parametrize(
    "basename",
    ["hello_world-1.0-py3-none-any.whl", "hello_world-1.0.tar.gz", "x.whl.metadata", "index.html"],
)
def test_parse_round_trips_plain_and_consistent_paths(basename: str) -> None:
    path = f"{PREFIX}/hello-world/{basename}"
    assert parse_target_path(path) == (NAME, basename, None)
    assert parse_target_path(consistent_target_path(path, DIGEST)) == (NAME, basename, DIGEST)


def _prefixed(name: str, basename: str = "x-1.0.tar.gz") -> str:
    """A path whose prefix is right for ``name`` as written."""
    return f"{hashlib.sha256(name.encode()).hexdigest()[:4]}/{name}/{basename}"


@pytest.mark.parametrize(
    "path",
    [
        f"{PREFIX}/hello-world/../x-1.0.tar.gz",
        f"{PREFIX}/hello-world/..",
        f"{PREFIX}/../hello-world/x-1.0.tar.gz",
        f"../{PREFIX}/hello-world/x-1.0.tar.gz",
        f"/{PREFIX}/hello-world/x-1.0.tar.gz",
        f"{PREFIX}/hello-world/sub/x-1.0.tar.gz",
        f"{PREFIX}/hello-world",
        f"{PREFIX}/hello-world/",
        f"{PREFIX}/hello-world/.hidden",
        f"{PREFIX}/hello-world/x..y.tar.gz",
        f"{PREFIX}/hello-world/a\\b.tar.gz",
        f"{PREFIX}/hello-world/x 1.0.tar.gz",
        f"{PREFIX}/hello-world/x%2F1.0.tar.gz",
        f"{PREFIX}/hello-world/{DIGEST}.../x",
        f"{PREFIX}/hello-world/{DIGEST}..tar.gz",
        "0000/hello-world/x-1.0.tar.gz",
        f"{PREFIX.upper()}/hello-world/x-1.0.tar.gz",
        f"{PREFIX}0/hello-world/x-1.0.tar.gz",
        _prefixed("Hello-World"),
        _prefixed("hello_world"),
        _prefixed("hello.world"),
        "",
    ],
    ids=lambda p: repr(p)[:60],
)
def test_parse_refuses_traversal_wrong_prefix_and_unnormalised_names(path: str) -> None:
    with pytest.raises(ValueError, match="not a target path"):
        parse_target_path(path)


@pytest.mark.parametrize("name", ["a b", "-", "-x", "\u00e9t\u00e9", "a%2f", "hello-world\n"])
def test_parse_refuses_names_that_are_no_project_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a target path"):
        parse_target_path(_prefixed(name))


def test_parse_refuses_a_trailing_newline_in_the_basename() -> None:
    with pytest.raises(ValueError, match="not a target path"):
        parse_target_path(f"{PREFIX}/hello-world/x-1.0.tar.gz\n")


def test_project_role_names_never_collide() -> None:
    """Names chosen to collide with the layout's: a project called like a role, a
    bin, or another project's role still gets roles of its own."""
    hostile = ["claimed", "unclaimed", "recently-claimed", "targets", "bin-0", "bin-3fff",
               "p-foo", "rc-foo", "foo", "c-foo", "p", "rc", "root", "snapshot"]  # fmt: skip
    fixed = {ROOT, TIMESTAMP, SNAPSHOT, TARGETS, CLAIMED, RECENTLY_CLAIMED, UNCLAIMED}
    roles: dict[str, str] = {}
    for raw in hostile:
        name = canonicalize_name(raw)
        for role in (claimed_project_role(name), recently_claimed_project_role(name)):
            assert role not in fixed and not is_bin(role)
            assert roles.setdefault(role, name) == name, f"{role} names two projects"
    assert len(roles) == 2 * len(hostile)
