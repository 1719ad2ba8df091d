"""Deciding what lives at a node: read the metadata documents found there, return its metadata.

:func:`parse_node` is the one entry point for metadata read from a store. Given the documents at a
node (any of :data:`METADATA_KEYS`, missing ones None), it decides the format (v2 or v3) and the
kind (array or group), and attaches consolidated metadata to groups that carry it.

When a node has both a v3 ``zarr.json`` and a v2 ``.zarray`` or ``.zgroup`` (a hierarchy converted
in place, or two writers at one path), ``zarr.json`` wins, as in zarr-python, and a warning says
so; a malformed ``zarr.json`` is an error even then, never a silent fallback to v2.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from zarrkit.errors import MetadataError, NodeNotFound

from ._common import describe_node, load_json_document
from .consolidated import parse_v2_consolidated, parse_v3_consolidated
from .paths import normalize_path
from .v2 import ArrayMetadataV2, GroupMetadataV2, parse_array_v2, parse_group_v2
from .v3 import ArrayMetadataV3, GroupMetadataV3, parse_array_v3, parse_group_v3

ArrayMetadata = ArrayMetadataV2 | ArrayMetadataV3
GroupMetadata = GroupMetadataV2 | GroupMetadataV3
NodeMetadata = ArrayMetadata | GroupMetadata

METADATA_KEYS = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")


def parse_node(documents: Mapping[str, bytes | None], *, path: str) -> NodeMetadata:
    """The metadata of the node at ``path``, from the documents stored there.

    ``documents`` maps metadata keys (``"zarr.json"``, ``".zarray"``...) to their bytes, or to None
    (or no entry) when missing. A v2 group with a ``.zmetadata`` document, or a v3 group with a
    ``consolidated_metadata`` member, gets its ``consolidated`` field filled.

    Raises NodeNotFound naming ``path`` when there is no ``zarr.json``, ``.zarray`` or ``.zgroup``,
    and MetadataError naming the path, document and field for malformed JSON or fields, or for a
    node with both ``.zarray`` and ``.zgroup``.
    """
    path = normalize_path(path)
    present = {key: documents[key] for key in METADATA_KEYS if documents.get(key) is not None}
    if "zarr.json" in present:
        if ".zarray" in present or ".zgroup" in present:
            warnings.warn(
                f"node '{path or '/'}' has both Zarr v3 (zarr.json) and Zarr v2 (.zarray/.zgroup) "
                "metadata; using zarr.json",
                UserWarning,
                stacklevel=2,
            )
        document = load_json_document(present["zarr.json"], path=path, key="zarr.json")
        return _parse_v3_node(document, path=path)
    if ".zarray" in present or ".zgroup" in present:
        return _parse_v2_node(present, path=path)
    raise NodeNotFound(f"no array or group at '{path or '/'}' (no zarr.json, .zarray or .zgroup)")


def _parse_v2_node(present: Mapping[str, bytes], *, path: str) -> ArrayMetadataV2 | GroupMetadataV2:
    if ".zarray" in present and ".zgroup" in present:
        raise MetadataError(f"{describe_node('node', path)} has both .zarray and .zgroup; it cannot be both")
    attributes = None
    if ".zattrs" in present:
        attributes = load_json_document(present[".zattrs"], path=path, key=".zattrs")
    if ".zarray" in present:
        zarray = load_json_document(present[".zarray"], path=path, key=".zarray")
        return parse_array_v2(zarray, attributes, path=path)
    zgroup = load_json_document(present[".zgroup"], path=path, key=".zgroup")
    group = parse_group_v2(zgroup, attributes, path=path)
    if ".zmetadata" in present:
        zmetadata = load_json_document(present[".zmetadata"], path=path, key=".zmetadata")
        group = replace(group, consolidated=parse_v2_consolidated(zmetadata, path=path))
    return group


def _parse_v3_node(document: dict[str, Any], *, path: str) -> ArrayMetadataV3 | GroupMetadataV3:
    node_type = document.get("node_type")
    if node_type == "array":
        return parse_array_v3(document, path=path)
    if node_type == "group":
        group = parse_group_v3(document, path=path)
        consolidated = document.get("consolidated_metadata")
        if consolidated is not None:
            group = replace(group, consolidated=parse_v3_consolidated(consolidated, path=path))
        return group
    raise MetadataError(
        f"{describe_node('node', path)}: field 'node_type' of zarr.json must be 'array' or 'group', "
        f"got {node_type!r}"
    )
