"""The helpers every store shares: byte ranges."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zarrkit.storage.base import ByteRange, slice_byte_range

BYTE_RANGES = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 40), st.integers(0, 40)),
    st.tuples(st.integers(0, 40), st.none()),
    st.tuples(st.integers(-40, -1), st.none()),
)


@given(st.binary(max_size=30), BYTE_RANGES)
def test_slice_byte_range_agrees_with_slicing(value: bytes, byte_range: ByteRange | None) -> None:
    if byte_range is None:
        expected = value
    elif byte_range[1] is None:
        expected = value[byte_range[0] :]
    else:
        expected = value[byte_range[0] : byte_range[0] + byte_range[1]]
    assert slice_byte_range(value, byte_range) == expected


def test_slice_byte_range_hands_back_the_value_itself_when_it_takes_all_of_it() -> None:
    value = b"abc"
    assert slice_byte_range(value, None) is value
