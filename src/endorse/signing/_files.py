"""Writing key material and descriptors: all or nothing, mode 0600, never overwriting."""

from __future__ import annotations

import os
from pathlib import Path

from endorse.errors import EndorseError


def write_new_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file with mode 0600: all of it or nothing, never overwriting."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if ``path`` exists: no key is ever overwritten
        except FileExistsError as e:
            raise _exists(path) from e
        except OSError:
            # A file system without hard links: check, then rename (a narrow race).
            if path.exists():
                raise _exists(path) from None
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _exists(path: Path) -> EndorseError:
    return EndorseError(
        f"{str(path)!r} already exists",
        hint="choose another key name; endorse never overwrites a key",
    )


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
