"""The TUF layout of endorse: role names, target paths, trust levels. No IO here."""

from endorse.metadata.paths import (
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
    BIN_PREFIX,
    CLAIMED,
    RECENTLY_CLAIMED,
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    UNCLAIMED,
    RoleName,
)
from endorse.metadata.trust import TrustLevel

__all__ = [
    "BIN_PREFIX",
    "CLAIMED",
    "RECENTLY_CLAIMED",
    "ROOT",
    "SNAPSHOT",
    "TARGETS",
    "TIMESTAMP",
    "UNCLAIMED",
    "RoleName",
    "TrustLevel",
    "consistent_target_path",
    "core_metadata_target",
    "file_target",
    "listing_target",
    "parse_target_path",
    "project_dir",
    "project_paths_pattern",
    "project_prefix",
]
