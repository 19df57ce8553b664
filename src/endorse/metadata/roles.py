"""Role names of the PEP 480 layout, made precise (DESIGN rule 2).

::

    root, timestamp, snapshot, targets
    targets ├── claimed           (offline) → p-<name> project roles, terminating
            ├── recently-claimed  (online)  → rc-<name> project roles, terminating
            └── unclaimed         (online)  → bin-0000 … bin-ffff (TAP 15 succinct)

A project role is named after its parent so that one role name never has two
parents: ``p-<name>`` under ``claimed`` and ``rc-<name>`` under
``recently-claimed``.
"""

from __future__ import annotations

from typing import NewType

from packaging.utils import NormalizedName

from endorse.states import ClaimState

RoleName = NewType("RoleName", str)

ROOT = RoleName("root")
TIMESTAMP = RoleName("timestamp")
SNAPSHOT = RoleName("snapshot")
TARGETS = RoleName("targets")
CLAIMED = RoleName("claimed")
RECENTLY_CLAIMED = RoleName("recently-claimed")
UNCLAIMED = RoleName("unclaimed")

#: ``SuccinctRoles.name_prefix`` of the hashed bins under ``unclaimed``.
BIN_PREFIX = "bin"


def claimed_project_role(name: NormalizedName) -> RoleName:
    """The role a claimed project's developers sign, delegated by ``claimed``."""
    return RoleName(f"p-{name}")


def recently_claimed_project_role(name: NormalizedName) -> RoleName:
    """The role of a project claimed since the last signing event."""
    return RoleName(f"rc-{name}")


def project_role(name: NormalizedName, state: ClaimState) -> RoleName:
    """The role that holds a claimed project's targets in a given claim state."""
    if state is ClaimState.CLAIMED:
        return claimed_project_role(name)
    return recently_claimed_project_role(name)


def is_bin(role: str) -> bool:
    """Whether ``role`` is one of the hashed bins under ``unclaimed``."""
    return role.startswith(BIN_PREFIX + "-")
