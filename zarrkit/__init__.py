"""zarrkit: chunked, compressed N-dimensional arrays in the Zarr format (v2 and v3), on any storage.

The public API speaks zarr-python 3's language::

    import zarrkit
    group = zarrkit.open_group("data.zarr", mode="w")
    array = group.create_array("t", shape=(100, 100), dtype="f4", chunks=(10, 10))
    array[:10] = 1.0
"""

from zarrkit import errors
from zarrkit.api import (
    combine,
    consolidate_metadata,
    create_array,
    create_group,
    load_refs,
    open,
    open_array,
    open_group,
    save_refs,
    scan,
)
from zarrkit.core.array import Array
from zarrkit.core.group import Group
from zarrkit.refs import Reference, ReferenceSet, ReferenceStore
from zarrkit.storage import LocalStore, MappingStore, MemoryStore, Store, ZipStore, open_store

__all__ = [
    "Array",
    "Group",
    "LocalStore",
    "MappingStore",
    "MemoryStore",
    "Reference",
    "ReferenceSet",
    "ReferenceStore",
    "Store",
    "ZipStore",
    "combine",
    "consolidate_metadata",
    "create_array",
    "create_group",
    "errors",
    "load_refs",
    "open",
    "open_array",
    "open_group",
    "open_store",
    "save_refs",
    "scan",
]
