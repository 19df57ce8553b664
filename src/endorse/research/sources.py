"""Where the download tables are, and reading them (the only IO of the computation).

The data folder holds the public monthly dumps of ``hugovk/top-pypi-packages``.
It lives outside the repository (``shared/data`` beside the checkout), so the
default is searched for: an explicit folder first (``--data-dir`` or
``ENDORSE_DATA_FILES``), then ``../shared/data`` from the current directory,
then ``../shared/data`` from the repository root.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from endorse.errors import ConfigError, NotFound
from endorse.research.downloads import DownloadTable, parse_download_table

__all__ = [
    "BASELINE_FILE",
    "CURRENT_FILE",
    "candidate_data_dirs",
    "find_data_dir",
    "load_table",
    "repository_root",
]

CURRENT_FILE = "top-pypi-packages-30-days-2026-04.json"
BASELINE_FILE = "top-pypi-packages-30-days-2020-11.json"
_SHARED = Path("..") / "shared" / "data"


def repository_root() -> Path | None:
    """The checkout this module runs from (the folder with ``pyproject.toml``), if any."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "endorse").is_dir():
            return parent
    return None


def candidate_data_dirs(explicit: Path | None, cwd: Path | None = None) -> list[Path]:
    """Folders to search for the data files, in order."""
    if explicit is not None:
        return [explicit]
    candidates = [(cwd or Path.cwd()) / _SHARED]
    root = repository_root()
    if root is not None:
        candidates.append(root / _SHARED)
    return candidates


def find_data_dir(
    explicit: Path | None, files: Sequence[str] = (CURRENT_FILE, BASELINE_FILE)
) -> Path:
    """The first candidate folder that holds every one of ``files``."""
    candidates = candidate_data_dirs(explicit)
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise NotFound(
        f"no folder with {' and '.join(files)} (tried {tried})",
        hint="pass --data-dir, or set ENDORSE_DATA_FILES to the folder that holds them",
    )


def load_table(path: Path) -> DownloadTable:
    """Read one ``top-pypi-packages`` JSON dump."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise ConfigError(f"{path} does not hold a JSON object")
    try:
        return parse_download_table(doc)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from e
