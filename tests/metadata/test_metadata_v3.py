"""Zarr v3 array and group metadata: parsing, extension rules and serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    ArrayMetadataV3,
    ChunkKeyEncoding,
    GroupMetadataV3,
    data_type_from_user,
    parse_node,
)

ZARR_JSON = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [10, 20],
    "data_type": "float32",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 7]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": "0x7fc00001",
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, "gzip"],
    "attributes": {"units": "m"},
    "dimension_names": ["y", None],
}


def array_of(user_dtype, **fields) -> ArrayMetadataV3:
    """Build v3 array metadata of shape (4,) and chunks (2,) from a user dtype.

    The dtype is taken with the v2 rules, so that the constructor's own v3 handling is what runs.
    """
    fields.setdefault("codecs", ["bytes"])
    data_type = data_type_from_user(user_dtype, zarr_format=2)
    return ArrayMetadataV3(shape=[4], chunks=[2], data_type=data_type, **fields)


def regular_grid(*chunk_shape: int) -> dict:
    return {"name": "regular", "configuration": {"chunk_shape": list(chunk_shape)}}


def parse(document: dict, path: str = "g/a"):
    return parse_node({"zarr.json": json.dumps(document).encode()}, path=path)


def test_parse_a_typical_array():
    metadata = parse(ZARR_JSON)
    assert isinstance(metadata, ArrayMetadataV3)
    assert metadata.shape == (10, 20) and metadata.chunks == (5, 7) and metadata.ndim == 2
    assert metadata.dtype == np.dtype("float32") and metadata.order == "C"
    assert np.array(metadata.fill_value).view("u4") == 0x7FC00001
    assert metadata.resolved_fill_value is metadata.fill_value
    assert metadata.codecs == (
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "gzip", "configuration": {}},
    )
    assert metadata.chunk_key((1, 2)) == "c/1/2"
    assert metadata.dimension_names == ("y", None)


def test_documents_round_trip():
    metadata = parse(ZARR_JSON)
    documents = metadata.to_documents()
    assert set(documents) == {"zarr.json"}
    document = json.loads(documents["zarr.json"])
    assert document["fill_value"] == "0x7fc00001"
    assert document["codecs"][1] == {"name": "gzip", "configuration": {}}
    assert "storage_transformers" not in document
    assert parse_node(documents, path="g/a") == metadata


def test_nan_fill_values_are_strings_in_the_json_text():
    metadata = parse({**ZARR_JSON, "fill_value": "NaN"})
    text = metadata.to_documents()["zarr.json"]
    assert b'"fill_value": "NaN"' in text
    json.loads(text, parse_constant=lambda token: pytest.fail(f"bare {token} in JSON"))


def test_v2_chunk_key_encoding_and_zero_dimensional_arrays():
    metadata = parse({**ZARR_JSON, "chunk_key_encoding": {"name": "v2"}})
    assert metadata.chunk_key_encoding == ChunkKeyEncoding("v2", ".")
    assert metadata.chunk_key((3, 4)) == "3.4"
    scalar = parse({**ZARR_JSON, "shape": [], "chunk_grid": regular_grid(), "dimension_names": None})
    assert scalar.chunk_key(()) == "c" and scalar.dimension_names is None


def test_zero_length_chunks_are_allowed_only_along_empty_dimensions():
    grid = regular_grid(0, 7)
    metadata = parse({**ZARR_JSON, "shape": [0, 20], "chunk_grid": grid})
    assert metadata.shape == (0, 20) and metadata.chunks == (0, 7)
    with pytest.raises(MetadataError, match="array 'g/a': field 'chunk_grid'.*zero"):
        parse({**ZARR_JSON, "chunk_grid": grid})


class TestMustUnderstand:
    def test_unknown_top_level_field_fails(self):
        with pytest.raises(MetadataError, match="array 'g/a': unknown field 'spam'"):
            parse({**ZARR_JSON, "spam": {"x": 1}})
        with pytest.raises(MetadataError, match="unknown field 'spam'"):
            parse({**ZARR_JSON, "spam": {"must_understand": True}})

    def test_ignorable_top_level_field_is_kept_and_written_back(self):
        extension = {"must_understand": False, "payload": [1, 2]}
        metadata = parse({**ZARR_JSON, "spam": extension})
        assert metadata.extra_fields == {"spam": extension}
        assert json.loads(metadata.to_documents()["zarr.json"])["spam"] == extension

    def test_top_level_must_understand_flag_is_tolerated(self):
        assert parse({**ZARR_JSON, "must_understand": False}) == parse(ZARR_JSON)
        with pytest.raises(MetadataError, match="field 'must_understand'"):
            parse({**ZARR_JSON, "must_understand": "no"})

    def test_unknown_chunk_grid_fails_even_when_marked_optional(self):
        grid = {
            "name": "rectilinear",
            "configuration": {"chunk_shapes": [[5, 5], [7]]},
            "must_understand": False,
        }
        message = "array 'g/a': field 'chunk_grid': unsupported chunk grid 'rectilinear'"
        with pytest.raises(MetadataError, match=message):
            parse({**ZARR_JSON, "chunk_grid": grid})

    def test_storage_transformers(self):
        unknown = {"name": "sharding", "configuration": {}}
        message = "field 'storage_transformers': unsupported storage transformer 'sharding'"
        with pytest.raises(MetadataError, match=message):
            parse({**ZARR_JSON, "storage_transformers": [unknown]})
        optional = {**unknown, "must_understand": False}
        metadata = parse({**ZARR_JSON, "storage_transformers": [optional]})
        assert metadata.storage_transformers == (optional,)
        assert json.loads(metadata.to_documents()["zarr.json"])["storage_transformers"] == [optional]
        assert parse({**ZARR_JSON, "storage_transformers": []}).storage_transformers == ()

    def test_codec_must_understand_is_kept(self):
        codec = {"name": "crc32c", "must_understand": False}
        metadata = parse({**ZARR_JSON, "codecs": [*ZARR_JSON["codecs"], codec]})
        assert metadata.codecs[-1] == {"name": "crc32c", "configuration": {}, "must_understand": False}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"zarr_format": 2}, "field 'zarr_format' must be 3"),
        ({"shape": [1.5, 2]}, "field 'shape'"),
        ({"chunk_grid": regular_grid(5)}, "1 dimensions; shape has 2"),
        ({"chunk_grid": {"name": "regular", "configuration": {"shape": [5, 7]}}}, "chunk_shape"),
        ({"chunk_grid": regular_grid(5, -7)}, "chunk_grid.chunk_shape"),
        ({"chunk_key_encoding": {"name": "default", "configuration": {"separator": ":"}}}, "separator"),
        ({"codecs": []}, "field 'codecs' must be a non-empty list"),
        ({"codecs": [{"configuration": {}}]}, "field 'codecs'"),
        ({"codecs": [{"name": "gzip", "configuration": 5}]}, "field 'codecs'"),
        ({"codecs": [{"name": "gzip", "level": 5}]}, "field 'codecs' has unknown members"),
        ({"dimension_names": ["y"]}, "field 'dimension_names' has 1 names for 2 dimensions"),
        ({"dimension_names": ["y", 3]}, "field 'dimension_names'"),
        ({"attributes": [1]}, "field 'attributes'"),
        ({"fill_value": None}, "field 'fill_value'"),
        ({"data_type": "float128"}, "field 'data_type'"),
    ],
)
def test_malformed_fields_name_the_array_and_field(changes, message):
    with pytest.raises(MetadataError, match=r"array 'g/a': .*" + message):
        parse({**ZARR_JSON, **changes})


def test_node_type_decides_how_the_document_is_read():
    with pytest.raises(MetadataError, match="group 'g/a': unknown field '(shape|data_type|chunk_grid)'"):
        parse({**ZARR_JSON, "node_type": "group"})
    with pytest.raises(MetadataError, match="node 'g/a': field 'node_type'.*'array' or 'group'"):
        parse({**ZARR_JSON, "node_type": "table"})


@pytest.mark.parametrize(
    "field", ["shape", "data_type", "chunk_grid", "chunk_key_encoding", "fill_value", "codecs", "node_type"]
)
def test_missing_mandatory_fields_are_named(field):
    document = {key: value for key, value in ZARR_JSON.items() if key != field}
    with pytest.raises(MetadataError, match=f"'{field}'"):
        parse(document)


def test_constructor_normalizes_user_values():
    metadata = array_of(">i2", fill_value=-1, dimension_names=["x"])
    assert metadata.dtype.isnative and metadata.dtype == np.dtype("int16")
    assert metadata.fill_value == -1 and isinstance(metadata.fill_value, np.int16)
    assert metadata.codecs == ({"name": "bytes", "configuration": {}},)
    assert metadata.dimension_names == ("x",)
    assert metadata.chunk_key_encoding == ChunkKeyEncoding("default", "/")
    with pytest.raises(MetadataError, match="array: field 'fill_value' must not be null"):
        array_of("i2", fill_value=None)
    with pytest.raises(MetadataError, match="subarray"):
        array_of([("a", "i1", (2,))], fill_value=b"\0\0")


def test_group_round_trip_with_extension_field():
    extension = {"must_understand": False}
    document = {"zarr_format": 3, "node_type": "group", "attributes": {"a": 1}, "ext": extension}
    group = parse(document, path="")
    assert isinstance(group, GroupMetadataV3)
    assert group.attributes == {"a": 1} and group.consolidated is None
    assert json.loads(group.to_documents()["zarr.json"]) == document
    assert parse({"zarr_format": 3, "node_type": "group"}, path="") == GroupMetadataV3()
    with pytest.raises(MetadataError, match="group '/': unknown field 'ext'"):
        parse({**document, "ext": 1}, path="")
    with pytest.raises(MetadataError, match="group '/': field 'consolidated_metadata'"):
        parse({**document, "consolidated_metadata": "inline"}, path="")
