"""What arrays and groups share: reading and writing node metadata, and attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from zarrkit.errors import MetadataError, NodeExists, NodeNotFound, ReadOnlyError
from zarrkit.metadata import METADATA_KEYS, ArrayMetadata, GroupMetadata, parse_node
from zarrkit.metadata.paths import child_path, join_path
from zarrkit.metadata.v2 import GroupMetadataV2
from zarrkit.metadata.v3 import GroupMetadataV3
from zarrkit.runtime import sync
from zarrkit.storage.base import Store

NodeMetadata = ArrayMetadata | GroupMetadata


async def read_node_metadata(store: Store, path: str) -> NodeMetadata:
    """The metadata of the node at ``path``, read with one batched store call.

    Raises NodeNotFound when no node is there and MetadataError when its documents are invalid.
    """
    (metadata,) = await read_nodes_metadata(store, [path])
    if metadata is None:
        raise NodeNotFound(f"no array or group at {'/' + path!r} in {store!r}")
    return metadata


async def read_nodes_metadata(store: Store, paths: list[str]) -> list[NodeMetadata | None]:
    """The metadata of the nodes at ``paths`` (None where there is no node), in one store call.

    Raises MetadataError when a node's documents are invalid.
    """
    requests = [(join_path(path, name), None) for path in paths for name in METADATA_KEYS]
    documents = await store.get_many(requests)
    found: list[NodeMetadata | None] = []
    for position, path in enumerate(paths):
        start = position * len(METADATA_KEYS)
        try:
            found.append(parse_node(dict(zip(METADATA_KEYS, documents[start : start + len(METADATA_KEYS)])), path=path))
        except NodeNotFound:
            found.append(None)
    return found


async def write_node_metadata(store: Store, path: str, metadata: NodeMetadata) -> None:
    """Write the metadata documents of a node, removing a stale v2 ``.zattrs`` when attributes are empty."""
    documents = metadata.to_documents()
    await store.set_many([(join_path(path, name), data) for name, data in documents.items()])
    if metadata.zarr_format == 2 and ".zattrs" not in documents:
        await store.delete(join_path(path, ".zattrs"))


async def create_node(store: Store, path: str, metadata: NodeMetadata, *, overwrite: bool) -> None:
    """Write a new node at ``path``, making room for it and making sure every ancestor is a group.

    Every name on ``path`` must follow the node-name rules (MetadataError otherwise). Missing
    ancestors become groups of the node's Zarr format. A node already at ``path`` raises
    NodeExists unless ``overwrite``, in which case it and everything below it is deleted first; an
    array among the ancestors raises NodeExists before anything is deleted.
    """
    if path:
        child_path("", path)  # new nodes get names the spec allows; reading stays lenient
    parts = path.split("/") if path else []
    ancestors = ["/".join(parts[:depth]) for depth in range(len(parts))]
    *ancestor_metadata, existing = await read_nodes_metadata(store, [*ancestors, path])
    for ancestor, found in zip(ancestors, ancestor_metadata):
        if found is not None and not isinstance(found, GroupMetadata):
            raise NodeExists(f"cannot create {'/' + path!r}: {'/' + ancestor!r} is an array, not a group")
    if existing is not None and not overwrite:
        raise NodeExists(f"{_describe(existing)} already exists at {'/' + path!r}; pass overwrite=True to replace it")
    if overwrite:
        await store.delete_prefix(f"{path}/" if path else "")
        await store.delete_many([join_path(path, name) for name in METADATA_KEYS])
    missing = [ancestor for ancestor, found in zip(ancestors, ancestor_metadata) if found is None]
    for ancestor in missing:
        await write_node_metadata(store, ancestor, empty_group_metadata(metadata.zarr_format))
    await write_node_metadata(store, path, metadata)


def empty_group_metadata(zarr_format: int) -> GroupMetadata:
    """The metadata of a group without attributes. Raises MetadataError for a format other than 2 or 3."""
    if zarr_format == 2:
        return GroupMetadataV2()
    if zarr_format == 3:
        return GroupMetadataV3()
    raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}")


def _describe(metadata: NodeMetadata) -> str:
    return "a group" if isinstance(metadata, GroupMetadata) else "an array"


class Attributes(MutableMapping[str, Any]):
    """The attributes of an array or group; every change is written to the store at once."""

    def __init__(self, read: Callable[[], dict[str, Any]], write: Callable[[dict[str, Any]], None]) -> None:
        self._read = read
        self._write = write

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._write({**self._read(), key: value})

    def __delitem__(self, key: str) -> None:
        attributes = dict(self._read())
        del attributes[key]
        self._write(attributes)

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        """Set several attributes with one metadata write."""
        self._write({**self._read(), **dict(other, **kwargs)})

    def put(self, attributes: dict[str, Any]) -> None:
        """Replace all attributes with ``attributes`` in one metadata write."""
        self._write(dict(attributes))

    def asdict(self) -> dict[str, Any]:
        """A copy of the attributes as a plain dict."""
        return dict(self._read())

    def __repr__(self) -> str:
        return repr(self._read())


class Node:
    """What arrays and groups share: their store, their path and their metadata."""

    kind = "node"

    def __init__(self, store: Store, path: str, metadata: NodeMetadata) -> None:
        self._store = store
        self._path = path
        self._metadata = metadata

    @property
    def metadata(self) -> NodeMetadata:
        """The node's metadata (a frozen dataclass)."""
        return self._metadata

    @property
    def store(self) -> Store:
        """The store that holds the node."""
        return self._store

    @property
    def path(self) -> str:
        """The node's path within its store ("" for the root)."""
        return self._path

    @property
    def name(self) -> str:
        """The node's absolute name within its store, as zarr-python gives it ("/a/b", "/" for the root)."""
        return "/" + self._path

    @property
    def basename(self) -> str:
        """The last part of the node's path."""
        return self._path.rsplit("/", 1)[-1]

    @property
    def zarr_format(self) -> int:
        """2 or 3."""
        return self._metadata.zarr_format

    @property
    def read_only(self) -> bool:
        """True when the node's store was opened read-only."""
        return self._store.read_only

    @property
    def attrs(self) -> Attributes:
        """The node's attributes; changes are written to the store at once."""
        return Attributes(lambda: self._metadata.attributes, self._write_attributes)

    def _check_writable(self) -> None:
        if self._store.read_only:
            raise ReadOnlyError(f"{self.kind} {self.name!r} is read-only (its store was opened with mode 'r')")

    def _write_attributes(self, attributes: dict[str, Any]) -> None:
        self._check_writable()
        self._replace_metadata(dataclasses.replace(self._metadata, attributes=attributes))

    def _replace_metadata(self, metadata: NodeMetadata) -> None:
        """Write new metadata for this node and use it from now on."""
        sync(write_node_metadata(self._store, self._path, metadata))
        self._metadata = metadata
