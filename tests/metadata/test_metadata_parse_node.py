"""parse_node: deciding format and kind from the documents found at a node."""

from __future__ import annotations

import json

import pytest

from zarrkit.errors import MetadataError, NodeNotFound
from zarrkit.metadata import (
    METADATA_KEYS,
    ArrayMetadataV2,
    ArrayMetadataV3,
    GroupMetadataV2,
    GroupMetadataV3,
    data_type_from_user,
    parse_node,
)

V2_ARRAY = json.dumps(
    {
        "zarr_format": 2,
        "shape": [2],
        "chunks": [2],
        "dtype": "<i4",
        "fill_value": 0,
        "order": "C",
        "compressor": None,
        "filters": None,
    }
).encode()
V2_GROUP = b'{"zarr_format": 2}'
V3_GROUP = b'{"zarr_format": 3, "node_type": "group", "attributes": {"v": 3}}'


def test_metadata_keys():
    assert METADATA_KEYS == ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")


def test_each_kind_is_recognized():
    assert isinstance(parse_node({".zarray": V2_ARRAY, ".zgroup": None}, path="a"), ArrayMetadataV2)
    group = parse_node({".zgroup": V2_GROUP, ".zattrs": b'{"x": 1}'}, path="a")
    assert isinstance(group, GroupMetadataV2) and group.attributes == {"x": 1}
    assert isinstance(parse_node({"zarr.json": V3_GROUP}, path="a"), GroupMetadataV3)
    int32 = data_type_from_user("i4", zarr_format=3)
    v3_array = ArrayMetadataV3(shape=[2], chunks=[2], data_type=int32, fill_value=0, codecs=["bytes"])
    assert parse_node(v3_array.to_documents(), path="a") == v3_array


@pytest.mark.parametrize(
    "documents",
    [
        {},
        {"zarr.json": None, ".zarray": None},
        {".zattrs": b"{}"},
        {".zattrs": b"not json"},
        {".zmetadata": b"{}"},
    ],
)
def test_no_metadata_means_node_not_found(documents):
    with pytest.raises(NodeNotFound, match="no array or group at 'a/b'"):
        parse_node(documents, path="/a/b/")


def test_array_and_group_at_one_node_is_an_error():
    with pytest.raises(MetadataError, match="node 'a' has both .zarray and .zgroup"):
        parse_node({".zarray": V2_ARRAY, ".zgroup": V2_GROUP}, path="a")


def test_zarr_json_wins_over_v2_documents_with_a_warning():
    with pytest.warns(UserWarning, match="using zarr.json"):
        metadata = parse_node({"zarr.json": V3_GROUP, ".zarray": V2_ARRAY}, path="a")
    assert isinstance(metadata, GroupMetadataV3) and metadata.attributes == {"v": 3}


def test_a_broken_zarr_json_is_not_hidden_by_v2_documents():
    message = "node 'a': document 'zarr.json' is not valid JSON"
    with pytest.warns(UserWarning), pytest.raises(MetadataError, match=message):
        parse_node({"zarr.json": b"{not json", ".zgroup": V2_GROUP}, path="a")


@pytest.mark.parametrize(
    ("documents", "message"),
    [
        ({"zarr.json": b"[1, 2]"}, "document 'zarr.json' must hold a JSON object"),
        ({"zarr.json": b"\xff\xfe"}, "document 'zarr.json' is not valid JSON"),
        ({".zarray": b"{"}, r"document '\.zarray' is not valid JSON"),
        ({".zgroup": V2_GROUP, ".zattrs": b"nope"}, r"document '\.zattrs' is not valid JSON"),
        ({".zgroup": b'{"zarr_format": 3}'}, "group 'a': field 'zarr_format' must be 2"),
        (
            {"zarr.json": b'{"zarr_format": 2, "node_type": "group"}'},
            "group 'a': field 'zarr_format' must be 3",
        ),
        ({"zarr.json": b'{"zarr_format": 3}'}, "node 'a': field 'node_type'"),
        (
            {".zgroup": V2_GROUP, ".zmetadata": b'{"metadata": []}'},
            "group 'a': document '.zmetadata': field 'metadata'",
        ),
    ],
)
def test_malformed_documents_name_the_node_and_document(documents, message):
    with pytest.raises(MetadataError, match=message):
        parse_node(documents, path="a")


@pytest.mark.parametrize("entry", [None, 5, [1], "not json", True], ids=repr)
def test_consolidated_entries_that_are_not_documents_are_metadata_errors(entry):
    zmetadata = {"metadata": {"a/.zgroup": {"zarr_format": 2}, "a/.zattrs": entry}}
    documents = {".zgroup": V2_GROUP, ".zmetadata": json.dumps(zmetadata).encode()}
    with pytest.raises(MetadataError, match="node 'g/a': document '.zattrs'"):
        parse_node(documents, path="g")


def test_deeply_nested_json_is_a_metadata_error():
    nested = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MetadataError, match="node 'a': document '.zarray' nests too deeply"):
        parse_node({".zarray": nested}, path="a")


def test_documents_may_be_memoryviews():
    assert parse_node({".zarray": memoryview(V2_ARRAY)}, path="a").shape == (2,)
