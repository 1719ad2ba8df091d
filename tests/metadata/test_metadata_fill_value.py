"""Fill values: every JSON form in both formats, exact bits, defaults and user values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    DataType,
    data_type_from_user,
    default_fill_value,
    fill_value_from_user,
    fill_value_json,
    parse_fill_value,
)


def data_type(user, zarr_format=3) -> DataType:
    return data_type_from_user(user, zarr_format=zarr_format)


def bits(value, dtype) -> bytes:
    return np.array(value, dtype=dtype).tobytes()


def round_trip(value, dt: DataType, zarr_format: int):
    """Serialize through real JSON text and parse back."""
    text = json.dumps(fill_value_json(value, dt, zarr_format=zarr_format), allow_nan=False)
    return parse_fill_value(json.loads(text), dt, zarr_format=zarr_format, path="a")


def float_with_bits(pattern: int, size: int) -> np.floating:
    return np.array(pattern, dtype=f"u{size}").view(f"f{size}")[()]


SAMPLES = [
    ("bool", True),
    ("int8", -128),
    ("uint64", 2**64 - 1),
    ("int64", -(2**63)),
    ("float16", 65504.0),
    ("float32", -0.0),
    ("float64", float("inf")),
    (">f8", float("-inf")),
    ("float32", float("nan")),
    ("complex64", complex(1.5, -2.0)),
    ("complex128", complex(float("inf"), float("nan"))),
    ("M8[ns]", np.datetime64("2001-02-03T04:05:06", "ns")),
    ("m8[10s]", np.timedelta64("NaT")),
    ("S5", b"ab\x00c"),
    ("U3", "héé"),
    ("V3", b"\x00\xff\x10"),
    ([("a", "<i4"), ("b", "S2")], (7, b"xy")),
    (str, "fill"),
    (bytes, b"\x00\x01"),
]


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(("user", "value"), SAMPLES, ids=[f"{case[0]}-{case[1]!r}" for case in SAMPLES])
def test_fill_values_round_trip_exactly(user, value, zarr_format):
    dt = data_type(user, zarr_format)
    expected = fill_value_from_user(value, dt)
    parsed = round_trip(expected, dt, zarr_format)
    if dt.vlen is None:
        assert isinstance(parsed, np.generic)
        assert bits(parsed, dt.dtype) == bits(expected, dt.dtype)
    else:
        assert type(parsed) is type(expected) and parsed == expected


@pytest.mark.parametrize(
    ("user", "zarr_format", "value", "expected"),
    [
        ("float32", 3, float("nan"), "NaN"),
        ("float32", 2, float("nan"), "NaN"),
        ("float64", 3, float("-inf"), "-Infinity"),
        ("float16", 3, 1.5, 1.5),
        ("float32", 3, 0.1, float(np.float32(0.1))),
        ("complex64", 3, complex(0, float("inf")), [0.0, "Infinity"]),
        ("int16", 3, -7, -7),
        ("bool", 2, False, False),
        ("M8[s]", 3, np.datetime64("NaT"), -(2**63)),
        ("S4", 2, b"ab", "YWIAAA=="),  # v2 base64 keeps the NUL padding (tensorstore checks the length)
        ("U4", 3, "ab", "ab"),
        ("V2", 2, b"\x01\x02", "AQI="),
        ("V2", 3, b"\x01\x02", [1, 2]),
        ([("a", "u1"), ("b", "u1")], 3, (1, 2), "AQI="),
        (bytes, 3, b"ab", "YWI="),
        (str, 2, "x", "x"),
    ],
)
def test_json_forms_are_the_ones_the_specs_and_zarr_python_use(user, zarr_format, value, expected):
    dt = data_type(user, zarr_format)
    assert fill_value_json(fill_value_from_user(value, dt), dt, zarr_format=zarr_format) == expected


@pytest.mark.parametrize(
    ("size", "pattern", "text"),
    [
        (2, 0x7E01, "0x7e01"),
        (4, 0x7FC00001, "0x7fc00001"),
        (4, 0xFFC00000, "0xffc00000"),
        (8, 0x7FF0000000000001, "0x7ff0000000000001"),
    ],
)
def test_nan_payloads_are_written_as_hex_in_v3_and_come_back_bit_exact(size, pattern, text):
    dt = data_type(f"float{size * 8}")
    value = float_with_bits(pattern, size)
    assert fill_value_json(value, dt, zarr_format=3) == text
    assert bits(round_trip(value, dt, 3), dt.dtype) == bits(value, dt.dtype)
    # v2 has no form for a payload: the value stays a NaN, the payload is lost.
    assert fill_value_json(value, data_type(f"float{size * 8}", 2), zarr_format=2) == "NaN"


def test_hex_forms_parse_to_exact_bits():
    one = parse_fill_value("0x3c00", data_type("float16"), zarr_format=3, path="a")
    assert bits(one, "f2") == bits(1.0, "f2")
    upper_case = parse_fill_value("0x7FF8000000000001", data_type("float64"), zarr_format=3, path="a")
    assert bits(upper_case, "f8") == bits(float_with_bits(0x7FF8000000000001, 8), "f8")
    complex64 = data_type("complex64")
    complex_value = parse_fill_value(["0x7fc00001", "-Infinity"], complex64, zarr_format=3, path="a")
    parts = np.array([complex_value]).view("u4")
    assert parts[0] == 0x7FC00001 and np.isneginf(complex_value.imag)


@pytest.mark.parametrize(
    "pattern", [0, 1, 0x7F800000, 0x7FC00000, 0x7FC00001, 0xFF800001, 0x80000000, 0x3F800000]
)
def test_float32_bit_patterns_round_trip(pattern):
    dt = data_type("float32")
    value = float_with_bits(pattern, 4)
    assert bits(round_trip(value, dt, 3), "f4") == bits(value, "f4")


@given(st.integers(0, 2**64 - 1))
def test_any_float64_bit_pattern_round_trips_in_v3(pattern):
    dt = data_type("float64")
    value = float_with_bits(pattern, 8)
    assert bits(round_trip(value, dt, 3), "f8") == bits(value, "f8")


@given(st.integers(0, 2**16 - 1))
def test_any_non_nan_float16_round_trips_in_v2(pattern):
    dt = data_type("float16", 2)
    value = float_with_bits(pattern, 2)
    parsed = round_trip(value, dt, 2)
    if np.isnan(value):
        assert np.isnan(parsed)
    else:
        assert bits(parsed, "f2") == bits(value, "f2")


@given(st.integers(-(2**63), 2**63 - 1))
def test_any_int64_and_datetime_round_trips(number):
    assert round_trip(np.int64(number), data_type("int64"), 3) == number
    dt = data_type("M8[us]", 2)
    assert round_trip(np.int64(number).view("M8[us]"), dt, 2).view("i8") == number


def test_other_accepted_json_forms():
    assert parse_fill_value(2.0, data_type("int32"), zarr_format=3, path="a") == 2
    assert parse_fill_value(1, data_type("bool", 2), zarr_format=2, path="a") is np.True_
    assert np.isnat(parse_fill_value("NaT", data_type("M8[ns]"), zarr_format=3, path="a"))
    raw = data_type("V2")
    assert parse_fill_value("AQI=", raw, zarr_format=3, path="a").tobytes() == b"\x01\x02"
    struct = data_type([("x", "f4"), ("p", [("q", "u1")])])
    record = parse_fill_value({"x": "NaN", "p": {"q": 3}}, struct, zarr_format=3, path="a")
    assert np.isnan(record["x"]) and record["p"]["q"] == 3
    assert parse_fill_value(None, data_type("f4", 2), zarr_format=2, path="a") is None


def test_zarr_python_2_object_default_of_zero_means_no_fill_value():
    assert parse_fill_value(0, data_type(str, 2), zarr_format=2, path="a") is None
    with pytest.raises(MetadataError):
        parse_fill_value(0, data_type(str, 3), zarr_format=3, path="a")


@pytest.mark.parametrize(
    ("user", "zarr_format", "value", "message"),
    [
        ("uint8", 3, 256, r"\[0, 255\]"),
        ("int8", 3, 1.5, "integer"),
        ("int8", 3, True, "integer"),
        ("bool", 3, 1, "true or false"),
        ("float32", 3, "0x7fc0", "8 hex digits"),
        ("float32", 2, "0x7fc00000", "not a float"),
        ("float32", 3, "nan", "not a float"),
        ("float32", 3, None, "null"),
        ("complex64", 3, [1.0], r"\[real, imag\]"),
        ("S2", 2, "YWJj", "at most 2 bytes"),
        ("S2", 2, "not base64!", "base64"),
        ("U2", 3, "abc", "at most 2 characters"),
        ("V2", 3, [1, 256], "byte values"),
        ("V2", 2, "AQID", "3 bytes"),
        ("M8[s]", 3, 1.5, "64-bit integer"),
        ([("a", "u1")], 3, {"b": 1}, "exactly the fields"),
        (str, 3, 5, "expected a string"),
    ],
)
def test_malformed_fill_values_name_the_array_and_field(user, zarr_format, value, message):
    dt = data_type(user, zarr_format)
    with pytest.raises(MetadataError, match=r"array 'g/a': field 'fill_value'") as error:
        parse_fill_value(value, dt, zarr_format=zarr_format, path="g/a")
    assert error.match(message)


def test_defaults_are_what_zarr_python_reads_for_a_null_fill_value():
    assert default_fill_value(data_type("float32")) == 0
    assert default_fill_value(data_type("bool")) is np.False_
    assert np.isnat(default_fill_value(data_type("M8[ns]")))
    assert np.isnat(default_fill_value(data_type(">m8[s]", 2)))
    assert default_fill_value(data_type("S3")) == b""
    assert default_fill_value(data_type("V2")).tobytes() == b"\x00\x00"
    assert default_fill_value(data_type([("a", "i4"), ("b", "S2")])).tobytes() == bytes(6)
    assert default_fill_value(data_type(str)) == "" and default_fill_value(data_type(bytes)) == b""


def test_user_values_are_converted_or_refused():
    assert fill_value_from_user(3, data_type("float32")).dtype == np.float32
    assert fill_value_from_user(2.0, data_type("uint8")) == 2
    assert fill_value_from_user([1, b"x"], data_type([("a", "i2"), ("b", "S1")]))["b"] == b"x"
    assert fill_value_from_user(None, data_type("f4")) is None
    refused = [
        ("uint8", 300),
        ("int8", 0.5),
        ("int8", True),
        ("bool", 2),
        ("S2", b"abc"),
        ("U1", "ab"),
        ("V2", b"\x00"),
        ("f4", "not a number"),
        (str, b"x"),
        (bytes, "x"),
    ]
    for user, value in refused:
        with pytest.raises(MetadataError, match="array 'p/q': fill value"):
            fill_value_from_user(value, data_type(user), path="p/q")


@pytest.mark.parametrize(
    ("user", "value"),
    [
        ("float64", [1.0, 2.0]),
        ("float64", (1.0, 2.0)),
        ("float64", np.array([1.0, 2.0])),
        ("float32", [0.0]),
        ("complex128", [1.0, 2.0, 3.0]),
        ("complex128", np.array([1.0, 2.0])),
        ("U2", ["a", "b"]),
        ("S2", (b"a", b"b")),
        ("M8[s]", [0, 1]),
        ("int32", np.array([1, 2])),
    ],
    ids=str,
)
def test_a_sequence_is_not_one_fill_value(user, value):
    with pytest.raises(MetadataError, match="array 'p': fill value .* (must be one|not a whole number)"):
        fill_value_from_user(value, data_type(user), path="p")


@pytest.mark.parametrize("value", [True, np.True_, "1.5", "NaN", b"1"])
@pytest.mark.parametrize("user", ["float32", "complex64"])
def test_bools_and_strings_are_not_float_fill_values(user, value):
    with pytest.raises(MetadataError, match="is not a number"):
        fill_value_from_user(value, data_type(user), path="p")


@pytest.mark.parametrize("form", [[1.5, -2.0], (1.5, -2.0), np.array(1.5 - 2j), 1.5 - 2j, np.complex64(1.5 - 2j)])
def test_complex_fill_values_from_a_pair_a_number_or_a_zero_dimensional_array(form):
    value = fill_value_from_user(form, data_type("complex128"))
    assert isinstance(value, np.complex128) and value == complex(1.5, -2.0)


def test_a_complex_pair_keeps_the_bits_of_each_part():
    payload = float_with_bits(0x7FC00001, 4)
    value = fill_value_from_user([payload, np.float32(-0.0)], data_type("complex64"))
    assert np.array([value]).view("u4").tolist() == [0x7FC00001, 0x80000000]
    assert fill_value_json(value, data_type("complex64"), zarr_format=3) == ["0x7fc00001", -0.0]


def test_zero_dimensional_arrays_are_one_value():
    assert fill_value_from_user(np.array(7), data_type("uint8")) == 7
    assert fill_value_from_user(np.array(2.5), data_type("float32")) == np.float32(2.5)
    assert fill_value_from_user(np.array("ab"), data_type("U2")) == "ab"
