"""Where endorse keeps state: a blob store for files and metadata, a database for the rest."""

from endorse.storage.backends import open_blob_store
from endorse.storage.blobs import BlobInfo, BlobStore
from endorse.storage.local import LocalBlobStore
from endorse.storage.memory import InMemoryBlobStore

__all__ = ["BlobInfo", "BlobStore", "InMemoryBlobStore", "LocalBlobStore", "open_blob_store"]
