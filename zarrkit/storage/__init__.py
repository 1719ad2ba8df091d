"""Byte stores: the async Store protocol, the local stores (memory, directory, zip, any mapping) and
URL dispatch (:func:`open_store`, :func:`register_protocol`)."""

from zarrkit.storage import object_urls  # noqa: F401 - registers the s3, gs, az, http and https protocols
from zarrkit.storage.base import ByteRange, ReadOnlyView, Store, StoreMapping
from zarrkit.storage.cache import CachingStore
from zarrkit.storage.fsspec import FsspecStore
from zarrkit.storage.local import LocalStore
from zarrkit.storage.mapping import MappingStore
from zarrkit.storage.memory import MemoryStore
from zarrkit.storage.object import ObjectStore
from zarrkit.storage.presign import presign, presign_to_file
from zarrkit.storage.redis import RedisStore
from zarrkit.storage.signed import SignedURLStore, SigningService
from zarrkit.storage.url import MODES, open_store, register_protocol
from zarrkit.storage.zip import ZipStore
from zarrkit.storage.zip_over_store import ZipOverStore

__all__ = [
    "MODES",
    "ByteRange",
    "CachingStore",
    "FsspecStore",
    "LocalStore",
    "MappingStore",
    "MemoryStore",
    "ObjectStore",
    "ReadOnlyView",
    "RedisStore",
    "SignedURLStore",
    "SigningService",
    "Store",
    "StoreMapping",
    "ZipOverStore",
    "ZipStore",
    "open_store",
    "presign",
    "presign_to_file",
    "register_protocol",
]
