"""Consolidated metadata: the metadata of every node below a group, stored with the group.

Both forms are zarr-python conventions, not part of the specifications:

- v2: a ``.zmetadata`` document next to the group's ``.zgroup``:
  ``{"zarr_consolidated_format": 1, "metadata": {".zgroup": {...}, "a/.zarray": {...}, ...}}``.
- v3: a member of the group's ``zarr.json``:
  ``"consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {"a": {...}}}``.

Paths are relative to the group that holds the consolidated metadata (``"a"``, ``"a/b"``), and
every node below the group appears in one flat mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from zarrkit.errors import MetadataError

from ._common import describe_node, load_json_document
from .paths import join_path, normalize_path
from .v2 import ArrayMetadataV2, GroupMetadataV2, parse_array_v2, parse_group_v2
from .v3 import ArrayMetadataV3, GroupMetadataV3, parse_array_v3, parse_group_v3

Node = ArrayMetadataV2 | GroupMetadataV2 | ArrayMetadataV3 | GroupMetadataV3
_NODE_TYPES = (ArrayMetadataV2, GroupMetadataV2, ArrayMetadataV3, GroupMetadataV3)
_V2_DOCUMENT_NAMES = (".zarray", ".zgroup", ".zattrs")


@dataclass(frozen=True, eq=False)
class ConsolidatedMetadata:
    """The metadata of the nodes below a group, keyed by path relative to the group.

    The groups in ``nodes`` carry no consolidated metadata of their own: the flat mapping holds
    their descendants. Construction normalizes the paths and raises MetadataError for the root
    path, a malformed path or a value that is not node metadata.
    """

    nodes: dict[str, Node]

    def __post_init__(self) -> None:
        nodes = {}
        for path, node in self.nodes.items():
            relative = normalize_path(path)
            if not relative:
                raise MetadataError("consolidated metadata cannot hold the group itself (path '')")
            if not isinstance(node, _NODE_TYPES):
                raise MetadataError(f"consolidated metadata for '{relative}' is not node metadata: {node!r}")
            if isinstance(node, (GroupMetadataV2, GroupMetadataV3)) and node.consolidated is not None:
                node = replace(node, consolidated=None)
            nodes[relative] = node
        object.__setattr__(self, "nodes", nodes)

    def children(self, path: str = "") -> dict[str, Node]:
        """The direct children of the node at ``path`` (relative to the group), by name.

        ``""`` (the default) is the group itself; a path no node has, or an array's, has no children.
        It lets a group opened with consolidated metadata list its members without reading the store.
        Raises MetadataError for a malformed path (see :func:`~zarrkit.metadata.paths.normalize_path`).
        """
        parent_path = normalize_path(path)
        children = {}
        for node_path, node in self.nodes.items():
            parent, _, name = node_path.rpartition("/")
            if parent == parent_path:
                children[name] = node
        return children

    def to_v2_json(self, group: GroupMetadataV2) -> dict[str, Any]:
        """The ``.zmetadata`` document of ``group`` (whose own documents it repeats) as JSON.

        Raises MetadataError when a node is not Zarr v2 metadata.
        """
        metadata: dict[str, Any] = {".zgroup": {"zarr_format": 2}}
        if group.attributes:
            metadata[".zattrs"] = group.attributes
        for path, node in sorted(self.nodes.items()):
            if node.zarr_format != 2:
                raise MetadataError(
                    f"consolidated metadata for '{path}': a v2 group cannot hold Zarr v3 nodes"
                )
            for name, document in node.to_json_documents().items():
                metadata[f"{path}/{name}"] = document
        return {"zarr_consolidated_format": 1, "metadata": metadata}

    def to_v3_json(self) -> dict[str, Any]:
        """The ``consolidated_metadata`` member of a v3 group's ``zarr.json``.

        Raises MetadataError when a node is not Zarr v3 metadata.
        """
        metadata = {}
        for path, node in sorted(self.nodes.items()):
            if node.zarr_format != 3:
                raise MetadataError(
                    f"consolidated metadata for '{path}': a v3 group cannot hold Zarr v2 nodes"
                )
            metadata[path] = node.to_json()
        return {"kind": "inline", "must_understand": False, "metadata": metadata}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.nodes == other.nodes


def parse_v2_consolidated(document: Mapping[str, Any], *, path: str) -> ConsolidatedMetadata:
    """Parse the ``.zmetadata`` object of the v2 group at ``path``.

    The entries for the group itself are skipped (its own documents are authoritative), and so is
    a ``.zattrs`` entry without the ``.zarray`` or ``.zgroup`` it would belong to. Raises
    MetadataError naming the group and the entry for a malformed document.
    """
    where = f"{describe_node('group', path)}: document '.zmetadata'"
    format_version = document.get("zarr_consolidated_format", 1)
    if format_version != 1:
        raise MetadataError(
            f"{where}: field 'zarr_consolidated_format' must be 1, got {format_version!r}"
        )
    metadata = document.get("metadata")
    if not isinstance(metadata, Mapping):
        raise MetadataError(f"{where}: field 'metadata' must be an object, got {metadata!r}")
    documents_by_node: dict[str, dict[str, dict[str, Any]]] = {}
    for key, value in metadata.items():
        node_path, _, name = key.rpartition("/")
        if name not in _V2_DOCUMENT_NAMES:
            raise MetadataError(f"{where}: entry {key!r} is not a .zarray, .zgroup or .zattrs document")
        relative = _relative_path(node_path, where=where)
        document = load_json_document(value, path=join_path(path, relative), key=name)
        documents_by_node.setdefault(relative, {})[name] = document
    nodes: dict[str, ArrayMetadataV2 | GroupMetadataV2] = {}
    for relative, documents in documents_by_node.items():
        if not relative:
            continue
        full_path = join_path(path, relative)
        if ".zarray" in documents and ".zgroup" in documents:
            raise MetadataError(f"{where}: node '{full_path}' has both .zarray and .zgroup entries")
        if ".zarray" in documents:
            nodes[relative] = parse_array_v2(documents[".zarray"], documents.get(".zattrs"), path=full_path)
        elif ".zgroup" in documents:
            nodes[relative] = parse_group_v2(documents[".zgroup"], documents.get(".zattrs"), path=full_path)
    return ConsolidatedMetadata(nodes)


def parse_v3_consolidated(value: Mapping[str, Any], *, path: str) -> ConsolidatedMetadata | None:
    """Parse the ``consolidated_metadata`` member of the v3 group at ``path``.

    Returns None for a kind other than ``inline`` that is marked ``"must_understand": false``.
    Child groups that carry their own nested consolidated metadata (older zarr-python) have
    its nodes merged into the flat mapping. Raises MetadataError naming the group and entry.
    """
    where = f"{describe_node('group', path)}: field 'consolidated_metadata'"
    kind = value.get("kind")
    if kind != "inline":
        if value.get("must_understand") is False:
            return None
        raise MetadataError(f"{where}: unsupported kind {kind!r} (only 'inline')")
    metadata = value.get("metadata")
    if not isinstance(metadata, Mapping):
        raise MetadataError(f"{where}: member 'metadata' must be an object, got {metadata!r}")
    nodes: dict[str, ArrayMetadataV3 | GroupMetadataV3] = {}
    nested: dict[str, ArrayMetadataV3 | GroupMetadataV3] = {}
    for node_path, document in metadata.items():
        relative = _relative_path(node_path, where=where)
        if not relative:
            raise MetadataError(f"{where}: entry {node_path!r} names the group itself")
        full_path = join_path(path, relative)
        if not isinstance(document, Mapping):
            raise MetadataError(f"{where}: entry '{node_path}' must be a zarr.json object")
        node_type = document.get("node_type")
        if node_type == "array":
            nodes[relative] = parse_array_v3(document, path=full_path)
        elif node_type == "group":
            nodes[relative] = parse_group_v3(document, path=full_path)
            inner = document.get("consolidated_metadata")
            inner_consolidated = parse_v3_consolidated(inner, path=full_path) if inner else None
            if inner_consolidated is not None:
                for inner_path, node in inner_consolidated.nodes.items():
                    nested[join_path(relative, inner_path)] = node
        else:
            raise MetadataError(f"{where}: entry '{node_path}' has node_type {node_type!r}")
    return ConsolidatedMetadata({**nested, **nodes})


def _relative_path(node_path: str, *, where: str) -> str:
    """The normalized form of a path in consolidated metadata; MetadataError if malformed."""
    try:
        return normalize_path(node_path)
    except MetadataError as error:
        raise MetadataError(f"{where}: {error}") from None
