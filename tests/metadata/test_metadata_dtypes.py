"""Data types: what users may ask for, and the v2 and v3 JSON forms in both directions."""

from __future__ import annotations

import numpy as np
import pytest

from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.metadata import (
    DataType,
    data_type_from_user,
    parse_v2_dtype,
    parse_v3_data_type,
    v2_dtype_json,
    v2_object_codec_id,
    v3_data_type_json,
)


def datetime_json(name: str, unit: str, scale_factor: int) -> dict:
    return {"name": name, "configuration": {"unit": unit, "scale_factor": scale_factor}}


def structured_json(*fields: list) -> dict:
    return {"name": "structured", "configuration": {"fields": list(fields)}}


NESTED = np.dtype([("a", "<i4"), ("b", ">f8", (2, 3)), ("c", [("x", "u1"), ("y", "S3")])])
PACKED = np.dtype([("a", "<i4"), ("c", [("x", "u1"), ("y", "<f4")])])

# (what the user asks for, the v2 dtype field, the v3 data_type field)
ROUND_TRIPS = [
    ("bool", "|b1", "bool"),
    ("int8", "|i1", "int8"),
    ("<i2", "<i2", "int16"),
    (">i4", ">i4", "int32"),
    ("int64", "<i8", "int64"),
    ("uint8", "|u1", "uint8"),
    (">u2", ">u2", "uint16"),
    ("uint32", "<u4", "uint32"),
    ("uint64", "<u8", "uint64"),
    ("float16", "<f2", "float16"),
    ("float32", "<f4", "float32"),
    (">f8", ">f8", "float64"),
    ("complex64", "<c8", "complex64"),
    ("complex128", "<c16", "complex128"),
    ("M8[ns]", "<M8[ns]", datetime_json("numpy.datetime64", "ns", 1)),
    ("M8[D]", "<M8[D]", datetime_json("numpy.datetime64", "D", 1)),
    ("m8[10s]", "<m8[10s]", datetime_json("numpy.timedelta64", "s", 10)),
    ("S10", "|S10", {"name": "null_terminated_bytes", "configuration": {"length_bytes": 10}}),
    ("U5", "<U5", {"name": "fixed_length_utf32", "configuration": {"length_bytes": 20}}),
    ("V7", "|V7", "r56"),
    (
        PACKED,
        [["a", "<i4"], ["c", [["x", "|u1"], ["y", "<f4"]]]],
        structured_json(["a", "int32"], ["c", structured_json(["x", "uint8"], ["y", "float32"])]),
    ),
]


@pytest.mark.parametrize(
    ("user", "v2_json", "v3_json"), ROUND_TRIPS, ids=[str(case[0]) for case in ROUND_TRIPS]
)
def test_v2_and_v3_forms_round_trip(user, v2_json, v3_json):
    v2 = data_type_from_user(user, zarr_format=2)
    v3 = data_type_from_user(user, zarr_format=3)
    assert v2.dtype == np.dtype(user)
    assert v3.dtype == np.dtype(user).newbyteorder("=")
    assert v2_dtype_json(v2) == v2_json
    assert v3_data_type_json(v3) == v3_json
    assert parse_v2_dtype(v2_json, filters=None, path="a") == v2
    assert parse_v3_data_type(v3_json, path="a") == v3


def test_v2_keeps_byte_order_and_v3_makes_it_native():
    assert data_type_from_user(">f8", zarr_format=2).dtype.str == ">f8"
    assert data_type_from_user(">f8", zarr_format=3).dtype.isnative
    structured = data_type_from_user([("a", ">i4"), ("b", [("c", ">f8")])], zarr_format=3).dtype
    assert structured["a"].isnative and structured["b"]["c"].isnative


@pytest.mark.parametrize("user", [str, "str", "string", np.dtypes.StringDType()])
def test_variable_length_strings(user):
    for zarr_format in (2, 3):
        data_type = data_type_from_user(user, zarr_format=zarr_format)
        assert data_type == DataType(np.dtype(object), "string")
    assert v3_data_type_json(data_type) == "string"
    assert v2_dtype_json(data_type) == "|O"
    assert v2_object_codec_id(data_type) == "vlen-utf8"


@pytest.mark.parametrize("user", [bytes, "bytes"])
def test_variable_length_bytes(user):
    data_type = data_type_from_user(user, zarr_format=3)
    assert data_type == DataType(np.dtype(object), "bytes")
    assert v3_data_type_json(data_type) == "bytes"
    assert v2_object_codec_id(data_type) == "vlen-bytes"


def test_h5py_variable_length_object_dtypes():
    assert data_type_from_user(np.dtype("O", metadata={"vlen": str}), zarr_format=3).vlen == "string"
    assert data_type_from_user(np.dtype("O", metadata={"vlen": bytes}), zarr_format=2).vlen == "bytes"


def test_v3_reads_every_spelling_of_variable_length_bytes_and_strings():
    assert parse_v3_data_type("variable_length_bytes", path="a").vlen == "bytes"
    assert parse_v3_data_type("bytes", path="a").vlen == "bytes"
    assert parse_v3_data_type({"name": "string"}, path="a").vlen == "string"


def test_v2_object_dtype_takes_its_kind_from_the_filters():
    assert parse_v2_dtype("|O", filters=[{"id": "vlen-utf8"}], path="a").vlen == "string"
    assert parse_v2_dtype("|O", filters=[{"id": "zlib"}, {"id": "vlen-bytes"}], path="a").vlen == "bytes"
    with pytest.raises(MetadataError, match=r"array 'g/a'.*'dtype'.*'filters'"):
        parse_v2_dtype("|O", filters=None, path="g/a")
    with pytest.raises(UnsupportedFeature, match="vlen-array"):
        parse_v2_dtype("|O", filters=[{"id": "vlen-array", "dtype": "<i4"}], path="a")


def test_v2_structured_with_subarrays_and_nesting_round_trips():
    data_type = data_type_from_user(NESTED, zarr_format=2)
    document = v2_dtype_json(data_type)
    assert document == [["a", "<i4"], ["b", ">f8", [2, 3]], ["c", [["x", "|u1"], ["y", "|S3"]]]]
    parsed = parse_v2_dtype(document, filters=None, path="a")
    assert parsed.dtype == NESTED
    assert parsed.dtype["b"].shape == (2, 3)


def test_v2_structured_padding_fields_keep_offsets():
    padded = np.dtype({"names": ["a", "b"], "formats": ["<i4", "<i4"], "offsets": [0, 8], "itemsize": 16})
    document = v2_dtype_json(data_type_from_user(padded, zarr_format=2))
    assert document == [["a", "<i4"], ["", "|V4"], ["b", "<i4"], ["", "|V4"]]
    parsed = parse_v2_dtype(document, filters=None, path="a").dtype
    assert parsed == padded
    assert parsed.fields["b"][1] == 8 and parsed.itemsize == 16


def test_v3_reads_zarr_python_and_registered_extension_spellings():
    raw_bytes = {"name": "raw_bytes", "configuration": {"length_bytes": 3}}
    assert parse_v3_data_type(raw_bytes, path="a").dtype == np.dtype("V3")
    assert parse_v3_data_type("r16", path="a").dtype == np.dtype("V2")
    assert parse_v3_data_type({"name": "int32"}, path="a").dtype == np.dtype("int32")
    micro = {"name": "datetime64", "configuration": {"unit": "μs", "scale_factor": 5}}
    assert parse_v3_data_type(micro, path="a").dtype == np.dtype("M8[5us]")
    struct = {
        "name": "struct",
        "configuration": {
            "fields": [{"name": "x", "data_type": "float32"}, {"name": "n", "data_type": "uint8"}]
        },
    }
    assert parse_v3_data_type(struct, path="a").dtype == np.dtype([("x", "f4"), ("n", "u1")])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("int128", "unknown data type 'int128'"),
        ("r12", "multiple of 8"),
        ({"name": "numpy.datetime64", "configuration": {"unit": "ns"}}, "scale_factor.*unit"),
        ({"name": "numpy.datetime64", "configuration": {"unit": "parsec", "scale_factor": 1}}, "unit"),
        ({"name": "fixed_length_utf32", "configuration": {"length_bytes": 5}}, "multiple of 4"),
        ({"name": "null_terminated_bytes", "configuration": {"length_bytes": 0}}, "positive"),
        ({"name": "int32", "configuration": {"endian": "big"}}, "no configuration"),
        ({"name": "structured", "configuration": {"fields": [["a", "int8"], ["a", "int8"]]}}, "twice"),
        ({"name": "structured", "configuration": {"fields": [["s", "string"]]}}, "variable-length"),
        ({"name": "structured", "configuration": {"fields": []}}, "non-empty"),
        (7, "must be a name or an object"),
    ],
)
def test_malformed_v3_data_types_name_the_array_and_field(value, message):
    with pytest.raises(MetadataError, match=r"array 'x/y': field 'data_type'") as error:
        parse_v3_data_type(value, path="x/y")
    assert error.match(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("<f16", "128-bit floating point"),
        ("|S0", "length of at least 1"),
        ("not-a-type", "not a NumPy type string"),
        ([["a", "<i4"], ["a", "<i4"]], "twice"),
        ([["a"]], r"\[name, type\]"),
        ([["a", "|O"]], "object fields"),
        ([["a", "<i4", [-1]]], "shape"),
        (42, "type string or a list"),
    ],
)
def test_malformed_v2_dtypes_name_the_array_and_field(value, message):
    with pytest.raises(MetadataError, match=r"array 'a': field 'dtype'") as error:
        parse_v2_dtype(value, filters=None, path="a")
    assert error.match(message)


@pytest.mark.parametrize(
    ("user", "zarr_format", "message"),
    [
        (object, 2, "ambiguous"),
        ("longdouble", 3, "floating point"),
        ("U0", 2, "length"),
        ("(2,3)f8", 2, "subarray"),
        (NESTED, 3, "subarray shape"),
        (np.dtype({"names": ["a"], "formats": ["<i4"], "offsets": [4], "itemsize": 8}), 3, "packed"),
        (np.dtype([(("title", "a"), "<i4")]), 2, "titles"),
        ("no such type", 2, "not a data type"),
        ("int8", 4, "zarr_format"),
    ],
)
def test_user_types_the_format_cannot_store_are_refused(user, zarr_format, message):
    with pytest.raises(MetadataError, match=message):
        data_type_from_user(user, zarr_format=zarr_format)


def test_data_type_invariants():
    with pytest.raises(MetadataError):
        DataType(np.dtype(object))
    with pytest.raises(MetadataError):
        DataType(np.dtype("f8"), "string")
    assert str(DataType(np.dtype(object), "bytes")) == "variable-length bytes"
    assert DataType("f4") == DataType(np.dtype("float32"))
