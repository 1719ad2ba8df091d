"""gzip, zstd and blosc: their JSON, their bytes against zarr-python, and corrupt input."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrkit.codecs import BloscCodec, ChunkSpec, CodecPipeline, GzipCodec, ZstdCodec, as_codec
from zarrkit.codecs.wrapped import NumcodecsBackedCodec
from zarrkit.errors import CodecError, MetadataError

BYTES_SPEC = ChunkSpec((0,), np.dtype("u1"), 0)

CODEC_PAIRS = [
    (GzipCodec(1), zarr.codecs.GzipCodec(level=1)),
    (GzipCodec(9), zarr.codecs.GzipCodec(level=9)),
    (ZstdCodec(0), zarr.codecs.ZstdCodec()),
    (ZstdCodec(5, checksum=True), zarr.codecs.ZstdCodec(level=5, checksum=True)),
    (ZstdCodec(-3), zarr.codecs.ZstdCodec(level=-3)),
    (
        BloscCodec("lz4", 5, "shuffle", 4, 0),
        zarr.codecs.BloscCodec(cname="lz4", clevel=5, shuffle="shuffle", typesize=4),
    ),
    (
        BloscCodec("zstd", 3, "bitshuffle", 4, 256),
        zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="bitshuffle", typesize=4, blocksize=256),
    ),
    (
        BloscCodec("zlib", 1, "noshuffle", 4, 0),
        zarr.codecs.BloscCodec(cname="zlib", clevel=1, shuffle="noshuffle"),
    ),
]


@pytest.mark.parametrize(("ours", "theirs"), CODEC_PAIRS, ids=lambda codec: repr(codec))
def test_bytes_and_json_match_zarr_python(write_with_zarr, ours, theirs) -> None:
    data = (np.arange(3000, dtype="<i4") % 97).reshape(30, 100)
    written = write_with_zarr(data, chunks=(10, 100), compressors=[theirs])
    assert written.metadata["codecs"][1] == ours.to_json()
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.codecs[1] == ours
    spec = written.spec()
    for row in range(3):
        rows = data[row * 10 : (row + 1) * 10]
        assert pipeline.encode(rows, spec) == written.chunk(f"c/{row}/0")
        np.testing.assert_array_equal(pipeline.decode(written.chunk(f"c/{row}/0"), spec), rows)


@settings(max_examples=30, deadline=None)
@given(
    payload=st.binary(max_size=2000),
    codec=st.sampled_from([GzipCodec(3), ZstdCodec(2, True), BloscCodec("lz4", 5, "shuffle", 2)]),
)
def test_round_trip_any_bytes(payload: bytes, codec) -> None:
    assert bytes(codec.decode(codec.encode(payload, BYTES_SPEC), BYTES_SPEC)) == payload


@pytest.mark.parametrize(
    "codec", [GzipCodec(5), ZstdCodec(0), ZstdCodec(0, True), BloscCodec("zstd", 5, "shuffle", 4)], ids=repr
)
def test_empty_input_round_trips(codec) -> None:
    # numcodecs cannot decode the zstd and blosc frames it writes for empty input; the codecs can.
    assert bytes(codec.decode(codec.encode(b"", BYTES_SPEC), BYTES_SPEC)) == b""


@pytest.mark.parametrize(
    "codec", [GzipCodec(5), ZstdCodec(0, True), BloscCodec("zstd", 5, "shuffle", 4)], ids=repr
)
def test_corrupt_and_truncated_data_raise_codec_error(codec) -> None:
    encoded = codec.encode(np.arange(2000, dtype="<i4").tobytes(), BYTES_SPEC)
    with pytest.raises(CodecError, match=codec.name):
        codec.decode(encoded[: len(encoded) // 2], BYTES_SPEC)
    with pytest.raises(CodecError, match=codec.name):
        codec.decode(b"not compressed at all", BYTES_SPEC)


def test_zstd_checksum_catches_a_flipped_bit() -> None:
    codec = ZstdCodec(1, checksum=True)
    encoded = bytearray(codec.encode(b"abcdefgh" * 100, BYTES_SPEC))
    encoded[-1] ^= 0x01
    with pytest.raises(CodecError, match="zstd"):
        codec.decode(bytes(encoded), BYTES_SPEC)


def test_blosc_takes_typesize_and_shuffle_from_the_data_type(write_with_zarr) -> None:
    codec = BloscCodec(cname="lz4")
    assert codec.evolve(ChunkSpec((4,), np.dtype("<f8"), 0.0)) == BloscCodec("lz4", 5, "shuffle", 8)
    assert codec.evolve(ChunkSpec((4,), np.dtype("u1"), 0)) == BloscCodec("lz4", 5, "bitshuffle", 1)
    assert codec.evolve(ChunkSpec((4,), np.dtype(object), "")) == BloscCodec("lz4", 5, "bitshuffle", 1)
    # Unevolved, it still compresses as the evolved codec does.
    data = np.linspace(0, 1, 500)
    written = write_with_zarr(data, compressors=[zarr.codecs.BloscCodec(cname="lz4")])
    assert written.metadata["codecs"][1] == codec.evolve(written.spec()).to_json()
    assert CodecPipeline(["bytes", codec]).encode(data, written.spec()) == written.chunk("c/0")


def test_invalid_configurations_raise_metadata_error() -> None:
    with pytest.raises(MetadataError, match="'level' must be from 0 to 9"):
        GzipCodec.from_json({"level": 10})
    with pytest.raises(MetadataError, match="'level' is required"):
        GzipCodec.from_json({})
    with pytest.raises(MetadataError, match="'level' must be an integer"):
        ZstdCodec.from_json({"level": "3"})
    with pytest.raises(MetadataError, match="'checksum' must be true or false"):
        ZstdCodec.from_json({"level": 3, "checksum": 1})
    with pytest.raises(MetadataError, match="'typesize' is required"):
        BloscCodec.from_json({"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "blocksize": 0})
    with pytest.raises(MetadataError, match="'shuffle' must be one of"):
        BloscCodec.from_json({"cname": "lz4", "clevel": 5, "shuffle": 1, "typesize": 4, "blocksize": 0})
    with pytest.raises(MetadataError, match="'cname' must be one of"):
        BloscCodec.from_json({"cname": "brotli", "clevel": 5, "shuffle": "noshuffle", "blocksize": 0})
    assert BloscCodec.from_json({"cname": "lz4", "clevel": 1, "shuffle": "noshuffle"}) == BloscCodec(
        "lz4", 1, "noshuffle", None, 0
    )


@pytest.mark.parametrize(
    "codec",
    [GzipCodec(5), ZstdCodec(0), BloscCodec("lz4", 5, "shuffle", 4), as_codec(numcodecs.Zlib(1))],
    ids=lambda codec: codec.name,
)
def test_every_numcodecs_backed_codec_reports_failures_alike(codec) -> None:
    assert isinstance(codec, NumcodecsBackedCodec)
    with pytest.raises(CodecError, match=f"codec '{codec.name}': corrupt or truncated data"):
        codec.decode(b"\x00\x01 not a frame", BYTES_SPEC)
    with pytest.raises(CodecError, match=f"codec '{codec.name}': cannot encode"):
        codec.encode(object(), BYTES_SPEC)


def test_an_unevolved_blosc_builds_its_numcodecs_object_per_item_size() -> None:
    codec = BloscCodec("lz4")
    for dtype in ("<u2", "<f8"):
        spec = ChunkSpec((64,), np.dtype(dtype), 0)
        data = np.arange(64, dtype=dtype)
        assert codec.encode(data, spec) == codec.evolve(spec).encode(data, spec)
        assert bytes(codec.decode(codec.encode(data, spec), spec)) == data.tobytes()
