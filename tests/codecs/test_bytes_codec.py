"""The ``bytes`` codec: layout, byte order, zero-copy decoding, and agreement with zarr-python."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zarrkit.codecs import BytesCodec, ChunkSpec, CodecPipeline
from zarrkit.errors import CodecError, MetadataError

FIXED_DTYPES = [
    *["bool", "int8", "uint8", "<i2", "<u4", "<i8", "<f2", "<f4", "<f8", "<c8", "<c16"],
    *["<M8[ns]", "S5", "<U3"],
]


@settings(max_examples=60, deadline=None)
@given(
    data=st.sampled_from(FIXED_DTYPES).flatmap(
        lambda dtype: hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3, max_side=5))
    ),
    endian=st.sampled_from(["little", "big"]),
)
def test_round_trip_keeps_every_bit(data: np.ndarray, endian: str) -> None:
    spec = ChunkSpec(data.shape, data.dtype, 0)
    codec = BytesCodec(endian).evolve(spec)  # type: ignore[arg-type]
    encoded = codec.encode(data, spec)
    assert len(encoded) == data.nbytes
    decoded = codec.decode(encoded, spec)
    assert decoded.dtype == data.dtype and decoded.shape == data.shape
    assert decoded.tobytes() == data.tobytes()


def test_endian_sets_the_byte_order_of_the_stored_elements() -> None:
    values = np.array([1, 258], dtype="<u2")
    spec = ChunkSpec((2,), values.dtype, 0)
    assert BytesCodec("little").encode(values, spec) == b"\x01\x00\x02\x01"
    assert BytesCodec("big").encode(values, spec) == b"\x00\x01\x01\x02"
    decoded = BytesCodec("big").decode(b"\x00\x01\x01\x02", spec)
    assert decoded.dtype == np.dtype("<u2") and decoded.tolist() == [1, 258]


def test_decoding_is_a_view_of_the_input_when_no_swap_is_needed() -> None:
    data = np.arange(12, dtype="<f8").tobytes()
    spec = ChunkSpec((3, 4), np.dtype("<f8"), 0.0)
    decoded = BytesCodec("little").decode(data, spec)
    assert np.shares_memory(decoded, np.frombuffer(data, dtype=np.uint8))
    assert decoded.flags.c_contiguous and decoded[2, 3] == 11


def test_encoding_a_non_contiguous_array_writes_c_order() -> None:
    array = np.arange(6, dtype="<i4").reshape(2, 3)
    spec = ChunkSpec((3, 2), array.dtype, 0)
    encoded = BytesCodec("little").encode(array.T, spec)
    assert np.frombuffer(encoded, dtype="<i4").tolist() == [0, 3, 1, 4, 2, 5]


def test_wrong_sizes_raise_codec_error() -> None:
    spec = ChunkSpec((4,), np.dtype("<i4"), 0)
    with pytest.raises(CodecError, match="needs 16 bytes, got 15"):
        BytesCodec("little").decode(b"\x00" * 15, spec)
    with pytest.raises(CodecError, match="shape"):
        BytesCodec("little").encode(np.zeros(3, dtype="<i4"), spec)


def test_json_leaves_out_endian_when_unset() -> None:
    assert BytesCodec(None).to_json() == {"name": "bytes"}
    assert BytesCodec("big").to_json() == {"name": "bytes", "configuration": {"endian": "big"}}
    assert BytesCodec.from_json({}) == BytesCodec(None)
    assert BytesCodec.from_json({"endian": "little"}) == BytesCodec("little")
    with pytest.raises(MetadataError, match="endian"):
        BytesCodec.from_json({"endian": "middle"})
    with pytest.raises(MetadataError, match="unknown configuration field"):
        BytesCodec.from_json({"endianness": "little"})


def test_evolve_drops_endian_for_single_byte_types_and_requires_it_for_others() -> None:
    assert BytesCodec("little").evolve(ChunkSpec((2,), np.dtype("u1"), 0)) == BytesCodec(None)
    assert BytesCodec("little").evolve(ChunkSpec((2,), np.dtype("S4"), b"")) == BytesCodec(None)
    assert BytesCodec("big").evolve(ChunkSpec((2,), np.dtype("<i4"), 0)) == BytesCodec("big")
    with pytest.raises(MetadataError, match="'endian' is required for data type int32"):
        BytesCodec(None).evolve(ChunkSpec((2,), np.dtype("<i4"), 0))
    with pytest.raises(MetadataError, match="vlen-utf8"):
        BytesCodec(None).evolve(ChunkSpec((2,), np.dtype(object), ""))


@pytest.mark.parametrize("dtype", ["<u2", "<f8", "<c8", "int8", "bool", "<M8[s]", "<U4", "S3"])
def test_matches_zarr_python_bytes(write_with_zarr, dtype: str) -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(0, 100, size=(6, 5)).astype(dtype)
    written = write_with_zarr(data, chunks=(3, 5), compressors=None)
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = written.spec()
    assert pipeline.encode(data[3:], spec) == written.chunk("c/1/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0/0"), spec), data[:3])


def test_big_endian_matches_zarr_python(write_with_zarr) -> None:
    import zarr

    data = np.arange(10, dtype="<i4")
    written = write_with_zarr(data, serializer=zarr.codecs.BytesCodec(endian="big"), compressors=None)
    assert written.metadata["codecs"] == [{"name": "bytes", "configuration": {"endian": "big"}}]
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.encode(data, written.spec()) == written.chunk("c/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0"), written.spec()), data)


def test_structured_types_are_stored_as_zarr_python_reads_them(write_with_zarr) -> None:
    little = np.dtype([("a", "<i4"), ("b", "u1"), ("c", "<f8")])
    data = np.array([(1, 2, 0.5), (-3, 4, 1.5), (5, 6, -2.0)], dtype=little)
    written = write_with_zarr(data, compressors=None)
    assert written.metadata["codecs"] == [{"name": "bytes"}]
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = ChunkSpec((3,), little, None)
    assert pipeline.encode(data, spec) == written.chunk("c/0")
    # Big-endian fields are converted to the type's byte order, not written as they are in memory.
    big_endian_fields = data.astype([("a", ">i4"), ("b", "u1"), ("c", ">f8")])
    assert pipeline.encode(big_endian_fields, spec) == written.chunk("c/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0"), spec), data)
