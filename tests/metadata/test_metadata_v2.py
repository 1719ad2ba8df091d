"""Zarr v2 array and group metadata: parsing, validation and serialization."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    ArrayMetadataV2,
    ChunkKeyEncoding,
    GroupMetadataV2,
    data_type_from_user,
    parse_node,
)

ZARRAY = {
    "zarr_format": 2,
    "shape": [10, 20],
    "chunks": [5, 7],
    "dtype": "<f4",
    "fill_value": "NaN",
    "order": "C",
    "compressor": {"id": "zlib", "level": 1},
    "filters": None,
}


def array_of(user_dtype, **fields) -> ArrayMetadataV2:
    """Build v2 array metadata of shape (4,) and chunks (2,) from a user dtype."""
    fields.setdefault("fill_value", 0)
    data_type = data_type_from_user(user_dtype, zarr_format=2)
    return ArrayMetadataV2(shape=[4], chunks=[2], data_type=data_type, **fields)


def parse(zarray: dict, zattrs: dict | None = None, path: str = "g/a") -> ArrayMetadataV2:
    documents = {".zarray": json.dumps(zarray).encode()}
    if zattrs is not None:
        documents[".zattrs"] = json.dumps(zattrs).encode()
    return parse_node(documents, path=path)


def test_parse_a_typical_zarray():
    metadata = parse(ZARRAY, {"_ARRAY_DIMENSIONS": ["y", "x"], "units": "m"})
    assert metadata.shape == (10, 20) and metadata.chunks == (5, 7) and metadata.ndim == 2
    assert metadata.dtype == np.dtype("<f4")
    assert np.isnan(metadata.fill_value) and np.isnan(metadata.resolved_fill_value)
    assert metadata.compressor == {"id": "zlib", "level": 1} and metadata.filters is None
    assert metadata.dimension_separator == "." and metadata.order == "C"
    assert metadata.dimension_names == ("y", "x")
    assert metadata.chunk_key_encoding == ChunkKeyEncoding("v2", ".")
    assert metadata.chunk_key((1, 2)) == "1.2"
    assert metadata.attributes["units"] == "m"


def test_documents_round_trip_and_match_the_v2_layout():
    metadata = parse({**ZARRAY, "dimension_separator": "/", "order": "F"}, {"k": [1, 2]})
    documents = metadata.to_documents()
    assert set(documents) == {".zarray", ".zattrs"}
    zarray = json.loads(documents[".zarray"])
    assert zarray == {**ZARRAY, "dimension_separator": "/", "order": "F"}
    assert documents[".zarray"].startswith(b'{\n    "zarr_format": 2,')
    assert parse_node(documents, path="g/a") == metadata
    assert metadata.chunk_key((0, 3)) == "0/3"


def test_empty_filters_are_written_as_null_and_zattrs_only_when_there_are_attributes():
    metadata = parse({**ZARRAY, "filters": []})
    assert metadata.filters is None
    documents = metadata.to_documents()
    assert json.loads(documents[".zarray"])["filters"] is None
    assert ".zattrs" not in documents


def test_null_fill_value_reads_as_the_default():
    metadata = parse({**ZARRAY, "dtype": "<i8", "fill_value": None})
    assert metadata.fill_value is None and metadata.resolved_fill_value == 0
    assert json.loads(metadata.to_documents()[".zarray"])["fill_value"] is None


def test_variable_length_strings_need_their_filter():
    metadata = parse({**ZARRAY, "dtype": "|O", "fill_value": "", "filters": [{"id": "vlen-utf8"}]})
    assert metadata.data_type.vlen == "string" and metadata.fill_value == ""
    with pytest.raises(MetadataError, match="vlen-utf8"):
        array_of(str, fill_value="")


def test_equality_compares_fill_value_bits():
    first = parse(ZARRAY)
    assert first == parse(ZARRAY)
    assert first != parse({**ZARRAY, "fill_value": 0.0})


def test_zero_dimensional_array():
    metadata = parse({**ZARRAY, "shape": [], "chunks": []})
    assert metadata.chunk_key(()) == "0" and metadata.ndim == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"zarr_format": 3}, "field 'zarr_format' must be 2"),
        ({"shape": [10, -1]}, "field 'shape' must be a list of non-negative integers"),
        ({"shape": "10"}, "field 'shape'"),
        ({"chunks": [0, 7]}, r"field 'chunks' must be a list of positive integers, got \[0, 7\]"),
        ({"chunks": [5]}, "field 'chunks' .* 1 dimensions; shape has 2"),
        ({"order": "K"}, "field 'order'"),
        ({"dimension_separator": "-"}, "field 'dimension_separator'"),
        ({"compressor": "zlib"}, "field 'compressor'"),
        ({"filters": [{"level": 1}]}, "field 'filters'"),
        ({"filters": {"id": "zlib"}}, "field 'filters'"),
        ({"fill_value": "0x7fc00000"}, "field 'fill_value'"),
        ({"dtype": "<q8"}, "field 'dtype'"),
    ],
)
def test_malformed_zarray_fields_name_the_array_and_field(changes, message):
    with pytest.raises(MetadataError, match=r"array 'g/a': " + message):
        parse({**ZARRAY, **changes})


@pytest.mark.parametrize("field", ["shape", "chunks", "dtype", "fill_value", "order", "compressor"])
def test_missing_mandatory_fields_are_named(field):
    zarray = {key: value for key, value in ZARRAY.items() if key != field}
    with pytest.raises(MetadataError, match=f"array 'g/a': mandatory field '{field}' is missing"):
        parse(zarray)


def test_attributes_must_be_an_object():
    with pytest.raises(MetadataError, match=r"node 'g/a': document '\.zattrs' must hold a JSON object"):
        parse(ZARRAY, [1, 2])
    with pytest.raises(MetadataError, match="array: field 'attributes'"):
        array_of("u1", attributes=[])


def test_constructor_converts_user_values():
    metadata = array_of(">i2", fill_value=3, filters=[])
    assert metadata.shape == (4,) and metadata.filters is None
    numpy_sizes = ArrayMetadataV2(
        shape=(np.int64(4),), chunks=[np.uint8(2)], data_type=metadata.data_type, fill_value=None
    )
    assert numpy_sizes.shape == (4,) and type(numpy_sizes.chunks[0]) is int
    assert metadata.fill_value == 3 and isinstance(metadata.fill_value, np.int16)
    assert json.loads(metadata.to_documents()[".zarray"])["dtype"] == ">i2"
    with pytest.raises(MetadataError, match="array: fill value"):
        array_of("u1", fill_value=-1)


def test_group_documents():
    group = GroupMetadataV2(attributes={"a": float("nan")})
    documents = group.to_documents()
    assert json.loads(documents[".zgroup"]) == {"zarr_format": 2}
    # NaN in attributes is written as zarr-python writes it, and read back.
    assert b'"a": NaN' in documents[".zattrs"]
    assert np.isnan(parse_node(documents, path="").attributes["a"])
    assert GroupMetadataV2().to_documents() == {".zgroup": b'{\n    "zarr_format": 2\n}'}
