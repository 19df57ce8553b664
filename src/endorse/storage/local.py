"""A blob store in a local folder (the embedded default)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from endorse.errors import NotFound
from endorse.storage.blobs import BlobInfo, check_key


class LocalBlobStore:
    """Objects as files below ``root``; writes go to a temp file, then ``os.replace``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` atomically and durably."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def put_file(self, key: str, source: Path) -> None:
        """Copy a local file in atomically and durably."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f, source.open("rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)

    def get(self, key: str) -> bytes:
        """Read an object."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError) as e:
            raise NotFound(f"no stored object {key!r}") from e

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object if present."""
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[BlobInfo]:
        """Objects whose key starts with ``prefix`` (temp files are skipped)."""
        folder, _, _ = prefix.rpartition("/")
        base = self.root / folder if folder else self.root
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for filename in files:
                if filename.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / filename
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                stat = full.stat()
                yield BlobInfo(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def local_path(self, key: str) -> Path | None:
        """The file that holds the object (for zero-copy serving)."""
        path = self._path(key)
        return path if path.is_file() else None

    def iter_bytes(self, key: str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Stream the object."""
        try:
            f = self._path(key).open("rb")
        except FileNotFoundError as e:
            raise NotFound(f"no stored object {key!r}") from e
        with f:
            while chunk := f.read(chunk_size):
                yield chunk


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
