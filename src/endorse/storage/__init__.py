"""Where endorse keeps state: a blob store for files and metadata, a database for the rest."""

from endorse.storage.blobs import BlobInfo, BlobStore, open_blob_store

__all__ = ["BlobInfo", "BlobStore", "open_blob_store"]
