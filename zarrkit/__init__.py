"""zarrkit: chunked, compressed N-dimensional arrays in the Zarr format (v2 and v3), on any storage.

The public API speaks zarr-python 3's language::

    import zarrkit
    group = zarrkit.open_group("data.zarr", mode="w")
    array = group.create_array("t", shape=(100, 100), dtype="f4", chunks=(10, 10))
    array[:10] = 1.0
"""

from zarrkit import errors
from zarrkit.api import (
    consolidate_metadata,
    create_array,
    create_group,
    open,
    open_array,
    open_group,
)
from zarrkit.core.array import Array
from zarrkit.core.group import Group
from zarrkit.storage import LocalStore, MappingStore, MemoryStore, Store, ZipStore, open_store

__all__ = [
    "Array",
    "Group",
    "LocalStore",
    "MappingStore",
    "MemoryStore",
    "Store",
    "ZipStore",
    "consolidate_metadata",
    "create_array",
    "create_group",
    "errors",
    "open",
    "open_array",
    "open_group",
    "open_store",
]
