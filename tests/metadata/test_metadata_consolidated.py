"""Consolidated metadata in both formats, against what zarr-python writes and reads."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    METADATA_KEYS,
    ArrayMetadataV2,
    ArrayMetadataV3,
    ConsolidatedMetadata,
    GroupMetadataV2,
    GroupMetadataV3,
    data_type_from_user,
    parse_node,
)


def zarr_python_hierarchy(zarr_format: int) -> dict[str, bytes]:
    """A consolidated hierarchy written by zarr-python: a group 'g' holding an array, and an array 's'."""
    store = MemoryStore()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        root = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "t"})
        group = root.create_group("g", attributes={"x": 1})
        group.create_array(
            "arr", shape=(4, 5), chunks=(2, 2), dtype="f4", fill_value=float("nan"), attributes={"units": "m"}
        )
        root.create_array("s", shape=(), dtype="i2", fill_value=3)
        zarr.consolidate_metadata(store)
    return {key: value.to_bytes() for key, value in store._store_dict.items()}


def small_array(zarr_format: int) -> ArrayMetadataV2 | ArrayMetadataV3:
    data_type = data_type_from_user("u1", zarr_format=zarr_format)
    if zarr_format == 2:
        return ArrayMetadataV2(shape=[2], chunks=[2], data_type=data_type, fill_value=0)
    return ArrayMetadataV3(shape=[2], chunks=[2], data_type=data_type, fill_value=0, codecs=["bytes"])


def group_document(consolidated_metadata: dict) -> bytes:
    document = {**GroupMetadataV3().to_json(), "consolidated_metadata": consolidated_metadata}
    return json.dumps(document).encode()


def inline(metadata: dict) -> dict:
    return {"kind": "inline", "must_understand": False, "metadata": metadata}


def node_documents(documents: dict[str, bytes], path: str) -> dict[str, bytes | None]:
    prefix = f"{path}/" if path else ""
    return {key: documents.get(prefix + key) for key in METADATA_KEYS}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_consolidated_metadata_matches_the_nodes_themselves(zarr_format):
    documents = zarr_python_hierarchy(zarr_format)
    root = parse_node(node_documents(documents, ""), path="")
    assert root.zarr_format == zarr_format and root.attributes == {"title": "t"}
    consolidated = root.consolidated
    assert sorted(consolidated.nodes) == ["g", "g/arr", "s"]
    for path, node in consolidated.nodes.items():
        assert node == parse_node(node_documents(documents, path), path=path)
    array = consolidated.nodes["g/arr"]
    assert np.isnan(array.fill_value) and array.attributes == {"units": "m"}
    assert consolidated.nodes["g"].consolidated is None
    assert set(consolidated.children()) == {"g", "s"}
    assert set(consolidated.children("g")) == {"arr"}
    assert consolidated.children("/g/") == {"arr": array}
    assert consolidated.children("g/arr") == {} and consolidated.children("missing") == {}
    with pytest.raises(MetadataError, match="empty segment"):
        consolidated.children("g//arr")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_reads_consolidated_metadata_written_by_zarrkit(zarr_format, zarr_python_open):
    root = parse_node(node_documents(zarr_python_hierarchy(zarr_format), ""), path="")
    # Only the root documents: zarr-python must find every node in the consolidated metadata.
    group = zarr_python_open(root.to_documents(), zarr_format=zarr_format, use_consolidated=True)
    members = dict(group.members(max_depth=None))
    assert set(members) == {"g", "g/arr", "s"}
    assert np.isnan(members["g/arr"].fill_value) and members["g/arr"].shape == (4, 5)
    assert dict(members["g/arr"].attrs) == {"units": "m"}
    assert dict(members["g"].attrs) == {"x": 1}
    assert members["s"].fill_value == 3


def test_v2_zmetadata_layout():
    array = small_array(2)
    consolidated = ConsolidatedMetadata({"/a/": GroupMetadataV2({"k": 1}), "a/b": array})
    group = GroupMetadataV2({"root": True}, consolidated)
    zmetadata = json.loads(group.to_documents()[".zmetadata"])
    assert zmetadata["zarr_consolidated_format"] == 1
    assert zmetadata["metadata"] == {
        ".zgroup": {"zarr_format": 2},
        ".zattrs": {"root": True},
        "a/.zgroup": {"zarr_format": 2},
        "a/.zattrs": {"k": 1},
        "a/b/.zarray": array.to_json(),
    }
    assert parse_node(group.to_documents(), path="") == group


def test_v3_nested_consolidated_metadata_of_child_groups_is_merged():
    array = small_array(3)
    child = {**GroupMetadataV3().to_json(), "consolidated_metadata": inline({"b": array.to_json()})}
    root = parse_node({"zarr.json": group_document(inline({"a": child}))}, path="")
    assert root.consolidated.nodes == {"a": GroupMetadataV3(), "a/b": array}


def test_unknown_ignorable_consolidation_kind_is_ignored():
    optional = group_document({"kind": "external", "must_understand": False})
    assert parse_node({"zarr.json": optional}, path="").consolidated is None
    message = "group '/': field 'consolidated_metadata': unsupported kind 'external'"
    with pytest.raises(MetadataError, match=message):
        parse_node({"zarr.json": group_document({"kind": "external"})}, path="")


def test_orphan_attributes_in_zmetadata_are_skipped():
    metadata = {".zgroup": {"zarr_format": 2}, "gone/.zattrs": {"x": 1}}
    zmetadata = json.dumps({"zarr_consolidated_format": 1, "metadata": metadata}).encode()
    group = parse_node({".zgroup": b'{"zarr_format": 2}', ".zmetadata": zmetadata}, path="")
    assert group.consolidated.nodes == {}


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"a/.zarray": {"zarr_format": 2}}, "array 'r/a': mandatory field 'dtype'"),
        ({"a/.zarray": {}, "a/.zgroup": {"zarr_format": 2}}, "node 'r/a' has both"),
        ({"a/data": {}}, "entry 'a/data' is not a .zarray"),
        ({"a//b/.zgroup": {"zarr_format": 2}}, "empty segment"),
        ({"a/.zgroup": "{broken"}, "not valid JSON"),
    ],
)
def test_malformed_zmetadata_names_the_group_and_entry(metadata, message):
    zmetadata = json.dumps({"zarr_consolidated_format": 1, "metadata": metadata}).encode()
    with pytest.raises(MetadataError, match=message):
        parse_node({".zgroup": b'{"zarr_format": 2}', ".zmetadata": zmetadata}, path="r")
    future = b'{"zarr_consolidated_format": 2, "metadata": {}}'
    with pytest.raises(MetadataError, match="zarr_consolidated_format"):
        parse_node({".zgroup": b'{"zarr_format": 2}', ".zmetadata": future}, path="r")


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"": GroupMetadataV3().to_json()}, "names the group itself"),
        ({"a": [1]}, "entry 'a' must be a zarr.json object"),
        ({"a": {"zarr_format": 3, "node_type": "table"}}, "node_type 'table'"),
        ({"a": {"zarr_format": 3, "node_type": "array"}}, "array 'r/a': mandatory field"),
    ],
)
def test_malformed_inline_consolidated_metadata_names_the_group_and_entry(metadata, message):
    with pytest.raises(MetadataError, match=message):
        parse_node({"zarr.json": group_document(inline(metadata))}, path="r")


def test_formats_cannot_be_mixed():
    with pytest.raises(MetadataError, match="v3 group cannot hold Zarr v2 nodes"):
        GroupMetadataV3(consolidated=ConsolidatedMetadata({"a": small_array(2)})).to_documents()
    with pytest.raises(MetadataError, match="v2 group cannot hold Zarr v3 nodes"):
        GroupMetadataV2(consolidated=ConsolidatedMetadata({"a": small_array(3)})).to_documents()
    with pytest.raises(MetadataError, match="cannot hold the group itself"):
        ConsolidatedMetadata({"/": GroupMetadataV3()})
    with pytest.raises(MetadataError, match="not node metadata"):
        ConsolidatedMetadata({"a": {"zarr_format": 3}})
