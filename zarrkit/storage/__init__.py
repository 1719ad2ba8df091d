"""Byte stores: the async Store protocol, the local stores (memory, directory, zip, any mapping) and
URL dispatch (:func:`open_store`, :func:`register_protocol`)."""

from zarrkit.storage.base import ByteRange, ReadOnlyView, Store, StoreMapping
from zarrkit.storage.local import LocalStore
from zarrkit.storage.mapping import MappingStore
from zarrkit.storage.memory import MemoryStore
from zarrkit.storage.url import MODES, open_store, register_protocol
from zarrkit.storage.zip import ZipStore

__all__ = [
    "MODES",
    "ByteRange",
    "LocalStore",
    "MappingStore",
    "MemoryStore",
    "ReadOnlyView",
    "Store",
    "StoreMapping",
    "ZipStore",
    "open_store",
    "register_protocol",
]
