"""``Group``: a node that holds arrays and other groups, with attributes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from zarrkit.core.array import Array
from zarrkit.core.creation import create_array
from zarrkit.core.node import (
    Node,
    NodeMetadata,
    prepare_node_path,
    read_node_metadata,
    read_nodes_metadata,
    write_node_metadata,
)
from zarrkit.errors import NodeNotFound, UnsupportedFeature
from zarrkit.metadata import ArrayMetadata, GroupMetadata
from zarrkit.metadata.consolidated import ConsolidatedMetadata
from zarrkit.metadata.paths import join_path, normalize_path
from zarrkit.metadata.v2 import GroupMetadataV2
from zarrkit.metadata.v3 import GroupMetadataV3
from zarrkit.runtime import sync
from zarrkit.storage.base import Store


class Group(Node):
    """A Zarr v2 or v3 group.

    ``group["a/b"]`` opens a member (raising NodeNotFound), iteration yields member names, and
    ``create_array``/``create_group`` add members. When the group carries consolidated metadata,
    members are found there without reading the store.
    """

    kind = "group"
    _metadata: GroupMetadata

    @property
    def consolidated(self) -> ConsolidatedMetadata | None:
        """The group's consolidated metadata, when it has any."""
        return self._metadata.consolidated

    def __repr__(self) -> str:
        return f"<zarrkit.Group {self.name!r} zarr_format={self.zarr_format}>"

    # -- members ----------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Array | Group:
        path = join_path(self._path, normalize_path(name))
        consolidated = self.consolidated
        if consolidated is not None:
            relative = path[len(self._path) + 1 :] if self._path else path
            if relative not in consolidated.nodes:
                raise NodeNotFound(f"no array or group {relative!r} in the consolidated metadata of {self.name!r}")
            return _node(self._store, path, consolidated.nodes[relative], consolidated.nodes, relative)
        return open_node(self._store, path)

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except NodeNotFound:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, _ in self.members())

    def __len__(self) -> int:
        return len(self.members())

    def members(self, max_depth: int | None = 0) -> list[tuple[str, Array | Group]]:
        """The members as ``(relative path, node)`` pairs, sorted by path.

        ``max_depth=0`` gives direct members only; ``None`` descends the whole hierarchy. Raises
        UnsupportedFeature when the store cannot list and the group has no consolidated metadata.
        """
        if self.consolidated is not None:
            nodes = self.consolidated.nodes
            return [
                (relative, _node(self._store, join_path(self._path, relative), metadata, nodes, relative))
                for relative, metadata in sorted(nodes.items())
                if max_depth is None or relative.count("/") <= max_depth
            ]
        found = sync(_list_members(self._store, self._path, max_depth))
        return [(relative, _from_metadata(self._store, join_path(self._path, relative), m)) for relative, m in found]

    def keys(self) -> list[str]:
        """The names of the direct members."""
        return [name for name, _ in self.members()]

    def arrays(self) -> list[tuple[str, Array]]:
        """The direct members that are arrays."""
        return [(name, node) for name, node in self.members() if isinstance(node, Array)]

    def groups(self) -> list[tuple[str, Group]]:
        """The direct members that are groups."""
        return [(name, node) for name, node in self.members() if isinstance(node, Group)]

    def array_keys(self) -> list[str]:
        """The names of the direct members that are arrays."""
        return [name for name, _ in self.arrays()]

    def group_keys(self) -> list[str]:
        """The names of the direct members that are groups."""
        return [name for name, _ in self.groups()]

    def tree(self) -> str:
        """The hierarchy below this group as indented text, arrays with their shape and dtype."""
        lines = [self.name]
        for relative, node in self.members(max_depth=None):
            depth = relative.count("/")
            label = relative.rsplit("/", 1)[-1]
            if isinstance(node, Array):
                label += f" {node.shape} {node.dtype}"
            lines.append("    " * (depth + 1) + label)
        return "\n".join(lines)

    # -- adding members ---------------------------------------------------------------------------

    def create_array(self, name: str, **kwargs: Any) -> Array:
        """Create an array below this group; takes the keywords of :func:`zarrkit.create_array`.

        The array has the group's Zarr format unless ``zarr_format`` says otherwise.
        """
        self._check_writable()
        kwargs.setdefault("zarr_format", self.zarr_format)
        return create_array(self._store, path=join_path(self._path, normalize_path(name)), **kwargs)

    def create_group(self, name: str, *, attributes: dict[str, Any] | None = None, overwrite: bool = False) -> Group:
        """Create a group below this group, of the same Zarr format."""
        self._check_writable()
        path = join_path(self._path, normalize_path(name))
        return create_group(self._store, path=path, zarr_format=self.zarr_format, attributes=attributes, overwrite=overwrite)

    def require_group(self, name: str) -> Group:
        """The member group ``name``, created if it does not exist."""
        try:
            node = self[name]
        except NodeNotFound:
            return self.create_group(name)
        if not isinstance(node, Group):
            raise NodeNotFound(f"{join_path(self._path, name)!r} is an array, not a group")
        return node



def create_group(
    store: Store, *, path: str, zarr_format: int = 3, attributes: dict[str, Any] | None = None, overwrite: bool = False
) -> Group:
    """Create a group at ``path`` (and any missing parent groups).

    Raises NodeExists when a node is already there and ``overwrite`` is false.
    """
    group_type = GroupMetadataV2 if zarr_format == 2 else GroupMetadataV3
    metadata = group_type(attributes=dict(attributes or {}))
    sync(prepare_node_path(store, path, zarr_format=zarr_format, overwrite=overwrite))
    sync(write_node_metadata(store, path, metadata))
    return Group(store, path, metadata)


def consolidate_metadata(store: Store, path: str) -> Group:
    """Write the metadata of every node below the group at ``path`` into the group's own metadata.

    Raises NodeNotFound when no group is at ``path``.
    """
    metadata = sync(read_node_metadata(store, path))
    if not isinstance(metadata, GroupMetadata):
        raise NodeNotFound(f"{'/' + path!r} is an array; only groups hold consolidated metadata")
    listed = Group(store, path, dataclasses.replace(metadata, consolidated=None))
    nodes = {
        relative: _without_consolidated(node.metadata) for relative, node in listed.members(max_depth=None)
    }
    consolidated = dataclasses.replace(metadata, consolidated=ConsolidatedMetadata(nodes))
    sync(write_node_metadata(store, path, consolidated))
    return Group(store, path, consolidated)


def _without_consolidated(metadata: NodeMetadata) -> NodeMetadata:
    if isinstance(metadata, GroupMetadata):
        return dataclasses.replace(metadata, consolidated=None)
    return metadata


def open_node(store: Store, path: str) -> Array | Group:
    """The array or group at ``path``. Raises NodeNotFound when there is none."""
    return _from_metadata(store, path, sync(read_node_metadata(store, path)))


def _from_metadata(store: Store, path: str, metadata: NodeMetadata) -> Array | Group:
    if isinstance(metadata, ArrayMetadata):
        return Array(store, path, metadata)
    return Group(store, path, metadata)


def _node(
    store: Store, path: str, metadata: NodeMetadata, nodes: dict[str, NodeMetadata], relative: str
) -> Array | Group:
    """A node taken from consolidated metadata; a group gets the part of it below that group."""
    if isinstance(metadata, ArrayMetadata):
        return Array(store, path, metadata)
    prefix = relative + "/"
    below = {p[len(prefix) :]: m for p, m in nodes.items() if p.startswith(prefix)}
    return Group(store, path, dataclasses.replace(metadata, consolidated=ConsolidatedMetadata(below)))


async def _list_members(store: Store, path: str, max_depth: int | None) -> list[tuple[str, NodeMetadata]]:
    """Members found by listing the store, level by level, one batched metadata read per level."""
    if not store.supports_listing:
        raise UnsupportedFeature(
            f"group {'/' + path!r}: the store cannot list keys and the group has no consolidated metadata"
        )
    found: list[tuple[str, NodeMetadata]] = []
    level = [""]
    depth = 0
    while level:
        candidates: list[str] = []
        for relative in level:
            _, prefixes = await store.list_dir(join_path(path, relative))
            candidates += [join_path(relative, p.rstrip("/").rsplit("/", 1)[-1]) for p in prefixes]
        metadata = await read_nodes_metadata(store, [join_path(path, c) for c in candidates])
        nodes = [(c, m) for c, m in zip(candidates, metadata) if m is not None]
        found += nodes
        if max_depth is not None and depth >= max_depth:
            break
        level = [c for c, m in nodes if isinstance(m, GroupMetadata)]
        depth += 1
    return sorted(found, key=lambda item: item[0])
