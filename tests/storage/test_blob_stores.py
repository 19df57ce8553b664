"""Every blob store keeps the same promises: atomic whole objects, checked keys, prefixes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from endorse.errors import ConfigError, NotFound, StorageError
from endorse.storage import BlobStore, InMemoryBlobStore, LocalBlobStore, open_blob_store

Make = Callable[[Path], BlobStore]
STORES: dict[str, Make] = {
    "memory": lambda _folder: InMemoryBlobStore(),
    "local": lambda folder: LocalBlobStore(folder / "store"),
}


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return STORES[request.param](tmp_path)


def test_put_get_replace_delete(store: BlobStore) -> None:
    store.put("metadata/1.root.json", b"one")
    assert store.exists("metadata/1.root.json")
    assert store.get("metadata/1.root.json") == b"one"
    store.put("metadata/1.root.json", b"two")
    assert store.get("metadata/1.root.json") == b"two"
    store.delete("metadata/1.root.json")
    store.delete("metadata/1.root.json")  # gone already: no error
    assert not store.exists("metadata/1.root.json")
    with pytest.raises(NotFound, match=r"metadata/1\.root\.json"):
        store.get("metadata/1.root.json")
    with pytest.raises(NotFound):
        list(store.iter_bytes("metadata/1.root.json"))


def test_put_file_and_stream_in_chunks(store: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.write_bytes(bytes(range(256)) * 100)
    store.put_file("targets/abcd/p/x.whl", source)
    chunks = list(store.iter_bytes("targets/abcd/p/x.whl", chunk_size=1000))
    assert b"".join(chunks) == source.read_bytes()
    assert len(chunks) == 26


def test_list_by_prefix(store: BlobStore) -> None:
    keys = {"metadata/1.a.json", "metadata/2.a.json", "targets/x/y/z", "events/1.json"}
    for key in keys:
        store.put(key, key.encode())
    assert sorted(i.key for i in store.list("metadata/")) == [
        "metadata/1.a.json",
        "metadata/2.a.json",
    ]
    infos = {i.key: i for i in store.list("")}
    assert set(infos) == {
        "metadata/1.a.json",
        "metadata/2.a.json",
        "targets/x/y/z",
        "events/1.json",
    }
    assert infos["events/1.json"].size == len(b"events/1.json")
    assert all(i.modified.tzinfo is not None for i in infos.values())


@pytest.mark.parametrize("key", ["../escape", "/absolute", "a/../b", "a//b", "a/./b", "sp ace", ""])
def test_keys_that_could_escape_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(StorageError, match="invalid storage key"):
        store.put(key, b"x")


def test_a_stored_object_is_a_copy(store: BlobStore) -> None:
    data = bytearray(b"original")
    store.put("events/1.json", bytes(data))
    data[:] = b"changed!"
    assert store.get("events/1.json") == b"original"


def test_storage_urls_pick_a_backend(tmp_path: Path) -> None:
    assert isinstance(open_blob_store((tmp_path / "s").as_uri()), LocalBlobStore)
    with pytest.raises(ConfigError, match="Not a file:// or s3:// URL"):
        open_blob_store("ftp://example/bucket")
