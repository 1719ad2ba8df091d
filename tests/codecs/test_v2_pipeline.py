"""The v2 chunk encoding: numcodecs filters and compressors, object codecs, F order; against zarr-python."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest

from zarrkit.codecs import ChunkSpec, V2Pipeline
from zarrkit.errors import CodecError, MetadataError


def v2_pipeline(written) -> V2Pipeline:
    metadata = written.metadata
    return V2Pipeline(metadata["filters"], metadata["compressor"], metadata["order"])


@pytest.mark.parametrize(
    ("filters", "compressor"),
    [
        (None, None),
        (None, numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.SHUFFLE)),
        (None, numcodecs.Blosc(cname="zstd", shuffle=numcodecs.Blosc.AUTOSHUFFLE)),
        ([numcodecs.Delta(dtype="<i8")], numcodecs.Zlib(level=3)),
        ([numcodecs.Delta(dtype="<i8", astype="<i2")], numcodecs.Blosc(cname="zstd")),
        ([numcodecs.Shuffle(elementsize=8)], numcodecs.GZip(level=2)),
    ],
    ids=["raw", "blosc", "blosc-autoshuffle", "delta-zlib", "delta-astype-blosc", "shuffle-gzip"],
)
def test_numeric_chunks_match_zarr_python(write_with_zarr, filters, compressor) -> None:
    data = np.arange(120, dtype="<i8").reshape(12, 10) * 3
    written = write_with_zarr(data, zarr_format=2, chunks=(6, 10), filters=filters, compressors=compressor)
    pipeline = v2_pipeline(written)
    spec = written.spec()
    assert pipeline.encode(data[6:], spec) == written.chunk("1.0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("0.0"), spec), data[:6])


def test_fixedscaleoffset_filter_matches_zarr_python(write_with_zarr) -> None:
    data = np.linspace(0, 10, 50)
    written = write_with_zarr(
        data,
        zarr_format=2,
        chunks=(25,),
        filters=[numcodecs.FixedScaleOffset(offset=0, scale=10, dtype="<f8", astype="<u1")],
        compressors=numcodecs.Zstd(level=1),
    )
    pipeline = v2_pipeline(written)
    spec = written.spec()
    assert pipeline.encode(data[25:], spec) == written.chunk("1")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("0"), spec), written.array[:25])
    np.testing.assert_allclose(pipeline.decode(written.chunk("0"), spec), data[:25], atol=0.05)


def test_fortran_order_chunks_decode_to_the_logical_array(write_with_zarr) -> None:
    data = np.arange(48, dtype="<u2").reshape(4, 12)
    written = write_with_zarr(
        data, zarr_format=2, chunks=(4, 6), order="F", compressors=numcodecs.Zstd(level=1)
    )
    assert written.metadata["order"] == "F"
    pipeline = v2_pipeline(written)
    spec = written.spec()
    decoded = pipeline.decode(written.chunk("0.1"), spec)
    np.testing.assert_array_equal(decoded, data[:, 6:])
    assert pipeline.encode(data[:, :6], spec) == written.chunk("0.0")
    raw = V2Pipeline(None, None, "F").encode(data[:, :6], spec)
    assert raw == np.asfortranarray(data[:, :6]).tobytes(order="F")


def test_object_chunks_with_vlen_filters_match_zarr_python(write_with_zarr) -> None:
    strings = np.array(["a", "bb", "", "dddd", "é", "f" * 50], dtype=object).reshape(2, 3)
    written = write_with_zarr(strings, dtype=str, zarr_format=2, chunks=(1, 3))
    assert written.metadata["filters"] == [{"id": "vlen-utf8"}]
    pipeline = v2_pipeline(written)
    spec = ChunkSpec((1, 3), np.dtype(object), "")
    assert pipeline.encode(strings[1:], spec) == written.chunk("1.0")
    decoded = pipeline.decode(written.chunk("0.0"), spec)
    assert decoded.dtype == object and decoded.tolist() == [["a", "bb", ""]]


def test_fortran_order_object_chunks_round_trip() -> None:
    strings = np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object)
    pipeline = V2Pipeline([{"id": "vlen-utf8"}], {"id": "zstd", "level": 1}, "F")
    spec = ChunkSpec((2, 3), np.dtype(object), "")
    encoded = pipeline.encode(strings, spec)
    assert numcodecs.VLenUTF8().decode(numcodecs.Zstd().decode(encoded)).tolist() == list("adbecf")
    assert pipeline.decode(encoded, spec).tolist() == strings.tolist()


def test_an_object_codec_may_stand_in_the_compressor_position() -> None:
    values = np.array([b"x", b"yz"], dtype=object)
    pipeline = V2Pipeline(None, {"id": "vlen-bytes"})
    spec = ChunkSpec((2,), np.dtype(object), b"")
    assert pipeline.decode(pipeline.encode(values, spec), spec).tolist() == [b"x", b"yz"]


def test_errors() -> None:
    spec = ChunkSpec((4,), np.dtype("<i4"), 0)
    pipeline = V2Pipeline(None, {"id": "zlib", "level": 1})
    with pytest.raises(CodecError, match="codec 'zlib': corrupt or truncated data"):
        pipeline.decode(b"garbage", spec)
    with pytest.raises(CodecError, match="needs 16 bytes, decoded 12"):
        pipeline.decode(numcodecs.Zlib(1).encode(b"\x00" * 12), spec)
    with pytest.raises(CodecError, match="shape"):
        pipeline.encode(np.zeros(3, dtype="<i4"), spec)
    object_spec = ChunkSpec((2,), np.dtype(object), "")
    with pytest.raises(CodecError, match="without an object codec"):
        V2Pipeline(None, None).encode(np.array(["a", "b"], dtype=object), object_spec)
    with pytest.raises(CodecError, match="without an object codec"):
        V2Pipeline(None, None).decode(b"\x00" * 16, object_spec)
    unknown = r"array 'x/y': field 'compressor': numcodecs cannot build codec 'lzf'"
    with pytest.raises(MetadataError, match=unknown):
        V2Pipeline(None, {"id": "lzf"}, path="x/y")
    with pytest.raises(MetadataError, match="field 'filters' must be an object with an 'id'"):
        V2Pipeline([{"level": 1}], None)
    with pytest.raises(MetadataError, match="'order' must be 'C' or 'F'"):
        V2Pipeline(None, None, "K")  # type: ignore[arg-type]
    assert V2Pipeline(None, None).sharding is None
