"""The ``crc32c`` codec: the appended checksum, mismatches and truncation."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrkit.codecs import ChunkSpec, CodecPipeline, Crc32cCodec
from zarrkit.errors import CodecError, MetadataError

SPEC = ChunkSpec((0,), np.dtype("u1"), 0)


def test_appends_the_little_endian_crc32c() -> None:
    # 0xE3069283 is the CRC-32C check value of "123456789" (RFC 3720).
    assert Crc32cCodec().encode(b"123456789", SPEC) == b"123456789" + bytes.fromhex("839206e3")
    assert Crc32cCodec().encoded_size(10) == 14


@settings(max_examples=50, deadline=None)
@given(payload=st.binary(max_size=500))
def test_round_trip(payload: bytes) -> None:
    codec = Crc32cCodec()
    assert bytes(codec.decode(codec.encode(payload, SPEC), SPEC)) == payload


@settings(max_examples=50, deadline=None)
@given(payload=st.binary(min_size=1, max_size=200), data=st.data())
def test_any_flipped_bit_is_a_mismatch(payload: bytes, data) -> None:
    encoded = bytearray(Crc32cCodec().encode(payload, SPEC))
    position = data.draw(st.integers(0, len(encoded) * 8 - 1))
    encoded[position // 8] ^= 1 << (position % 8)
    with pytest.raises(CodecError, match="checksum mismatch"):
        Crc32cCodec().decode(bytes(encoded), SPEC)


def test_truncated_input_raises_codec_error() -> None:
    with pytest.raises(CodecError, match="truncated"):
        Crc32cCodec().decode(b"\x01\x02\x03", SPEC)
    encoded = Crc32cCodec().encode(b"some data", SPEC)
    with pytest.raises(CodecError, match="checksum mismatch"):
        Crc32cCodec().decode(encoded[:-1], SPEC)


def test_json() -> None:
    assert Crc32cCodec().to_json() == {"name": "crc32c"}
    assert Crc32cCodec.from_json({}) == Crc32cCodec()
    with pytest.raises(MetadataError, match="unknown configuration field"):
        Crc32cCodec.from_json({"location": "start"})


def test_matches_zarr_python(write_with_zarr) -> None:
    data = np.arange(50, dtype="<u8")
    written = write_with_zarr(data, compressors=[zarr.codecs.Crc32cCodec()])
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.encode(data, written.spec()) == written.chunk("c/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0"), written.spec()), data)
    corrupt = bytearray(written.chunk("c/0"))
    corrupt[3] ^= 0xFF
    with pytest.raises(CodecError, match="checksum mismatch"):
        pipeline.decode(bytes(corrupt), written.spec())
