"""``Group``: a node that holds arrays and other groups, with attributes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

from zarrkit.core.array import Array
from zarrkit.core.creation import create_array
from zarrkit.core.node import (
    Node,
    NodeMetadata,
    create_node,
    empty_group_metadata,
    read_node_metadata,
    read_nodes_metadata,
    write_node_metadata,
)
from zarrkit.errors import NodeExists, NodeNotFound, UnsupportedFeature
from zarrkit.metadata import ArrayMetadata, GroupMetadata
from zarrkit.metadata.consolidated import ConsolidatedMetadata
from zarrkit.metadata.paths import join_path
from zarrkit.runtime import sync
from zarrkit.storage.base import Store


class Group(Node):
    """A Zarr v2 or v3 group.

    ``group["a/b"]`` opens a member (raising NodeNotFound), iteration yields member names, and
    ``create_array``/``create_group`` add members. When the group was opened with consolidated
    metadata, members are found there without reading the store; members created afterwards are
    found in the store, and the stored consolidated metadata stays as it was until
    :func:`zarrkit.consolidate_metadata` runs again (as in zarr-python).
    """

    kind = "group"
    _metadata: GroupMetadata

    def __init__(self, store: Store, path: str, metadata: GroupMetadata, *, consolidated_is_stored: bool = True):
        super().__init__(store, path, metadata)
        # A subgroup opened through its parent's consolidated metadata gets a view of it that its
        # own zarr.json does not hold: that view must never be written into the subgroup's metadata.
        self._consolidated_is_stored = consolidated_is_stored

    @property
    def consolidated(self) -> ConsolidatedMetadata | None:
        """The consolidated metadata this group answers member lookups from, if any."""
        return self._metadata.consolidated

    def __repr__(self) -> str:
        return f"<zarrkit.Group {self.name!r} zarr_format={self.zarr_format}>"

    # -- members ----------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Array | Group:
        relative = join_path("", name)
        path = join_path(self._path, relative)
        consolidated = self.consolidated
        if consolidated is None:
            return open_node(self._store, path)
        if relative not in consolidated.nodes:
            raise NodeNotFound(f"no array or group {relative!r} in the consolidated metadata of {self.name!r}")
        return self._from_consolidated(relative, consolidated.nodes[relative])

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except NodeNotFound:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._member_metadata(0))

    def members(self, max_depth: int | None = 0) -> list[tuple[str, Array | Group]]:
        """The members as ``(relative path, node)`` pairs, sorted by path.

        ``max_depth=0`` gives direct members only; ``None`` descends the whole hierarchy. Raises
        UnsupportedFeature when the store cannot list and the group has no consolidated metadata.
        """
        return [
            (relative, self._node_at(relative, metadata)) for relative, metadata in self._member_metadata(max_depth)
        ]

    def keys(self) -> list[str]:
        """The names of the direct members, sorted."""
        return [name for name, _ in self._member_metadata(0)]

    def arrays(self) -> list[tuple[str, Array]]:
        """The direct members that are arrays."""
        return [(name, node) for name, node in self.members() if isinstance(node, Array)]

    def groups(self) -> list[tuple[str, Group]]:
        """The direct members that are groups."""
        return [(name, node) for name, node in self.members() if isinstance(node, Group)]

    def array_keys(self) -> list[str]:
        """The names of the direct members that are arrays, sorted."""
        return [name for name, metadata in self._member_metadata(0) if not isinstance(metadata, GroupMetadata)]

    def group_keys(self) -> list[str]:
        """The names of the direct members that are groups, sorted."""
        return [name for name, metadata in self._member_metadata(0) if isinstance(metadata, GroupMetadata)]

    def tree(self) -> str:
        """The hierarchy below this group as indented text, arrays with their shape and dtype."""
        lines = [self.name]
        for relative, metadata in self._member_metadata(None):
            label = relative.rsplit("/", 1)[-1]
            if isinstance(metadata, ArrayMetadata):
                label += f" {metadata.shape} {metadata.dtype}"
            lines.append("    " * (relative.count("/") + 1) + label)
        return "\n".join(lines)

    def _member_metadata(self, max_depth: int | None) -> list[tuple[str, NodeMetadata]]:
        """The members' metadata as ``(relative path, metadata)`` pairs, sorted by path."""
        if self.consolidated is not None:
            return sorted(
                (relative, metadata)
                for relative, metadata in self.consolidated.nodes.items()
                if max_depth is None or relative.count("/") <= max_depth
            )
        return sync(_list_members(self._store, self._path, max_depth))

    def _node_at(self, relative: str, metadata: NodeMetadata) -> Array | Group:
        if self.consolidated is not None:
            return self._from_consolidated(relative, metadata)
        return _from_metadata(self._store, join_path(self._path, relative), metadata)

    def _from_consolidated(self, relative: str, metadata: NodeMetadata) -> Array | Group:
        """A member taken from consolidated metadata; a group gets the part of it below that group."""
        path = join_path(self._path, relative)
        if isinstance(metadata, ArrayMetadata):
            return Array(self._store, path, metadata)
        prefix = relative + "/"
        below = {p[len(prefix) :]: m for p, m in self.consolidated.nodes.items() if p.startswith(prefix)}
        view = dataclasses.replace(metadata, consolidated=ConsolidatedMetadata(below))
        return Group(self._store, path, view, consolidated_is_stored=False)

    # -- adding members ---------------------------------------------------------------------------

    def create_array(self, name: str, **kwargs: Any) -> Array:
        """Create an array below this group; takes the keywords of :func:`zarrkit.create_array`.

        The array has the group's Zarr format unless ``zarr_format`` says otherwise. Raises
        ReadOnlyError on a read-only store and NodeExists when a node is there.
        """
        self._check_writable()
        kwargs.setdefault("zarr_format", self.zarr_format)
        array = create_array(self._store, path=join_path(self._path, name), **kwargs)
        self._forget_consolidated()
        return array

    def create_group(self, name: str, *, attributes: dict[str, Any] | None = None, overwrite: bool = False) -> Group:
        """Create a group below this group, of the same Zarr format.

        Raises ReadOnlyError on a read-only store and NodeExists when a node is there.
        """
        self._check_writable()
        path = join_path(self._path, name)
        group = create_group(
            self._store, path=path, zarr_format=self.zarr_format, attributes=attributes, overwrite=overwrite
        )
        self._forget_consolidated()
        return group

    def require_group(self, name: str) -> Group:
        """The member group ``name``, created if it does not exist. Raises NodeExists if an array is there."""
        try:
            node = self[name]
        except NodeNotFound:
            return self.create_group(name)
        if not isinstance(node, Group):
            raise NodeExists(f"{node.name!r} is an array, not a group")
        return node

    def _forget_consolidated(self) -> None:
        # The consolidated metadata no longer lists every member: answer from the store from now on.
        if self._metadata.consolidated is not None:
            self._metadata = dataclasses.replace(self._metadata, consolidated=None)
            self._consolidated_is_stored = False

    def _replace_metadata(self, metadata: NodeMetadata) -> None:
        if self._consolidated_is_stored:
            super()._replace_metadata(metadata)
            return
        # Write what this group's own zarr.json holds (no consolidated view); keep the view in memory.
        sync(write_node_metadata(self._store, self._path, _stored_form(self._store, self._path, metadata)))
        self._metadata = metadata


def _stored_form(store: Store, path: str, metadata: NodeMetadata) -> NodeMetadata:
    """``metadata`` with the consolidated metadata that the node's own document holds in the store."""
    stored = sync(read_node_metadata(store, path))
    return dataclasses.replace(metadata, consolidated=getattr(stored, "consolidated", None))


def create_group(
    store: Store, *, path: str, zarr_format: int = 3, attributes: dict[str, Any] | None = None, overwrite: bool = False
) -> Group:
    """Create a group at ``path`` (and any missing parent groups).

    Raises NodeExists when a node is already there and ``overwrite`` is false, MetadataError for a
    Zarr format other than 2 or 3.
    """
    metadata = dataclasses.replace(empty_group_metadata(zarr_format), attributes=dict(attributes or {}))
    sync(create_node(store, path, metadata, overwrite=overwrite))
    return Group(store, path, metadata)


def consolidate_metadata(store: Store, path: str) -> Group:
    """Write the metadata of every node below the group at ``path`` into the group's own metadata.

    Raises NodeNotFound when no group is at ``path``.
    """
    metadata = sync(read_node_metadata(store, path))
    if not isinstance(metadata, GroupMetadata):
        raise NodeNotFound(f"{'/' + path!r} is an array; only groups hold consolidated metadata")
    nodes = dict(sync(_list_members(store, path, None)))
    consolidated = dataclasses.replace(metadata, consolidated=ConsolidatedMetadata(nodes))
    sync(write_node_metadata(store, path, consolidated))
    return Group(store, path, consolidated)


def open_node(store: Store, path: str) -> Array | Group:
    """The array or group at ``path``. Raises NodeNotFound when there is none."""
    return _from_metadata(store, path, sync(read_node_metadata(store, path)))


def _from_metadata(store: Store, path: str, metadata: NodeMetadata) -> Array | Group:
    if isinstance(metadata, ArrayMetadata):
        return Array(store, path, metadata)
    return Group(store, path, metadata)


async def _list_members(store: Store, path: str, max_depth: int | None) -> list[tuple[str, NodeMetadata]]:
    """Members found by listing the store level by level: per level, the directories are listed
    concurrently and the candidates' metadata is read in one batched call.
    """
    if not store.supports_listing:
        raise UnsupportedFeature(
            f"group {'/' + path!r}: the store cannot list keys and the group has no consolidated metadata"
        )
    found: list[tuple[str, NodeMetadata]] = []
    level = [""]
    depth = 0
    while level:
        listings = await asyncio.gather(*(store.list_dir(join_path(path, relative)) for relative in level))
        candidates = [
            join_path(relative, prefix.rstrip("/").rsplit("/", 1)[-1])
            for relative, (_, prefixes) in zip(level, listings)
            for prefix in prefixes
        ]
        metadata = await read_nodes_metadata(store, [join_path(path, c) for c in candidates])
        nodes = [(c, m) for c, m in zip(candidates, metadata) if m is not None]
        found += nodes
        if max_depth is not None and depth >= max_depth:
            break
        level = [c for c, m in nodes if isinstance(m, GroupMetadata)]
        depth += 1
    return sorted(found, key=lambda item: item[0])
