"""FillMatcher: which chunks hold only the fill value (and so are not stored)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrkit.codecs import FillMatcher
from zarrkit.errors import MetadataError


def test_fixed_size_types_compare_bit_patterns() -> None:
    nan = FillMatcher(np.nan, np.dtype("f8"))
    assert nan.matches(np.full(3, np.nan))
    # inf * 0 gives the NaN with the sign bit set on x86: another bit pattern.
    negative_nan = np.array(0xFFF8000000000000, dtype="u8").view("f8")
    assert not nan.matches(np.full(3, negative_nan))
    zero = FillMatcher(0.0, np.dtype("f8"))
    assert not zero.matches(np.array([0.0, -0.0]))
    assert zero.matches(np.zeros((2, 3))[:, ::2])  # not contiguous
    assert not FillMatcher(0, np.dtype("u1")).matches(np.array([1, 0], dtype="u1"))
    assert not FillMatcher(0, np.dtype("u1")).matches(np.array([0, 1], dtype="u1"))


@pytest.mark.parametrize(
    ("dtype", "fill", "other"),
    [
        (">f8", 1.5, 2.5),
        ("<U3", "ab", "abc"),
        ("|S5", b"abc", b"abd"),
        ("|V3", b"\x01\x02\x03", b"\x01\x02\x04"),
        ([("a", "<i4"), ("b", "S3")], (7, b"xy"), (7, b"xz")),
        ("<M8[s]", np.datetime64("NaT"), np.datetime64(0, "s")),
        ("bool", True, False),
        ("c16", 1 + 2j, 1 - 2j),
    ],
    ids=str,
)
def test_every_kind_of_fixed_size_type(dtype, fill, other) -> None:
    matcher = FillMatcher(fill, np.dtype(dtype))
    chunk = np.full((3, 4), np.array(fill, dtype=dtype), dtype=dtype)
    assert matcher.matches(chunk)
    chunk[2, 3] = other
    assert not matcher.matches(chunk)


def test_object_chunks_compare_by_value() -> None:
    matcher = FillMatcher("", np.dtype(object))
    assert matcher.matches(np.array(["", ""], dtype=object))
    assert not matcher.matches(np.array(["", "x"], dtype=object))
    assert not matcher.matches(np.array([None, ""], dtype=object))


def test_empty_and_zero_dimensional_chunks_and_other_dtypes() -> None:
    matcher = FillMatcher(3, np.dtype("<i2"))
    assert matcher.matches(np.zeros((0, 4), dtype="<i2"))
    assert matcher.matches(np.array(3, dtype="<i2"))
    assert not matcher.matches(np.array(4, dtype="<i2"))
    assert matcher.matches(np.full(5, 3, dtype=">i2"))  # converted to the matcher's dtype first


def test_a_fill_value_that_is_not_one_value_of_the_dtype_is_refused() -> None:
    with pytest.raises(MetadataError, match="not one value"):
        FillMatcher([1.0, 2.0], np.dtype("f8"))
    with pytest.raises(MetadataError, match="does not fit"):
        FillMatcher("abc", np.dtype("i4"))


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.integers(-3, 3), min_size=1, max_size=40),
    dtype=st.sampled_from(["i1", "<i2", ">i4", "<f4", "f8", "S3", "V1", "V5"]),
)
def test_matches_agrees_with_a_bytewise_comparison(values: list[int], dtype: str) -> None:
    np_dtype = np.dtype(dtype)
    rows = np.array(values, dtype="i1").view("u1").repeat(np_dtype.itemsize).reshape(-1, np_dtype.itemsize)
    chunk = rows.reshape(-1).view(np_dtype)
    expected = all(row.tobytes() == rows[0].tobytes() for row in rows)
    assert FillMatcher(chunk[:1].copy().reshape(())[()], np_dtype).matches(chunk) == expected
