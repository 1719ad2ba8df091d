"""``vlen-utf8`` and ``vlen-bytes``: the layout, round trips, malformed input, and zarr-python's chunks."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zarrkit.codecs import ChunkSpec, CodecPipeline, VLenBytesCodec, VLenUTF8Codec
from zarrkit.errors import CodecError, MetadataError


def layout(values: list[bytes]) -> bytes:
    """The spec's layout, written out independently of the codec."""
    return struct.pack("<I", len(values)) + b"".join(struct.pack("<I", len(v)) + v for v in values)


def object_array(values: list, shape: tuple[int, ...]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array.reshape(shape)


def test_utf8_layout() -> None:
    strings = object_array(["a", "", "héllo", "日本"], (2, 2))
    spec = ChunkSpec((2, 2), np.dtype(object), "")
    encoded = VLenUTF8Codec().encode(strings, spec)
    assert bytes(encoded) == layout([s.encode() for s in ["a", "", "héllo", "日本"]])
    decoded = VLenUTF8Codec().decode(encoded, spec)
    assert decoded.dtype == object and decoded.shape == (2, 2)
    assert decoded.tolist() == [["a", ""], ["héllo", "日本"]]


def test_bytes_layout() -> None:
    values = [b"\x00\x01", b"", b"xyz"]
    spec = ChunkSpec((3,), np.dtype(object), b"")
    assert bytes(VLenBytesCodec().encode(object_array(values, (3,)), spec)) == layout(values)
    assert VLenBytesCodec().decode(layout(values), spec).tolist() == values


@settings(max_examples=60, deadline=None)
@given(
    strings=hnp.arrays(
        object, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), elements=st.text(max_size=12)
    )
)
def test_utf8_round_trip(strings: np.ndarray) -> None:
    spec = ChunkSpec(strings.shape, np.dtype(object), "")
    decoded = VLenUTF8Codec().decode(VLenUTF8Codec().encode(strings, spec), spec)
    assert decoded.shape == strings.shape
    assert decoded.tolist() == strings.tolist()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.binary(max_size=20), min_size=1, max_size=30))
def test_bytes_round_trip(values: list[bytes]) -> None:
    spec = ChunkSpec((len(values),), np.dtype(object), b"")
    array = object_array(values, (len(values),))
    assert VLenBytesCodec().decode(VLenBytesCodec().encode(array, spec), spec).tolist() == values


def test_encodes_fixed_width_string_arrays_too() -> None:
    spec = ChunkSpec((2,), np.dtype(object), "")
    assert bytes(VLenUTF8Codec().encode(np.array(["ab", "c"]), spec)) == layout([b"ab", b"c"])


def test_malformed_input_raises_codec_error() -> None:
    spec = ChunkSpec((2,), np.dtype(object), "")
    good = layout([b"ab", b"cd"])
    with pytest.raises(CodecError, match="truncated"):
        VLenUTF8Codec().decode(good[:2], spec)
    with pytest.raises(CodecError, match="corrupt or truncated"):
        VLenUTF8Codec().decode(good[:-1], spec)
    with pytest.raises(CodecError, match="needs 2 elements, data holds 3"):
        VLenUTF8Codec().decode(layout([b"a", b"b", b"c"]), spec)
    with pytest.raises(CodecError, match="vlen-utf8"):
        VLenUTF8Codec().decode(layout([b"\xff\xfe", b"ok"]), spec)


def test_wrong_element_types_raise_codec_error() -> None:
    spec = ChunkSpec((2,), np.dtype(object), "")
    with pytest.raises(CodecError, match="every element must be str"):
        VLenUTF8Codec().encode(object_array(["a", 3], (2,)), spec)
    with pytest.raises(CodecError, match="every element must be bytes"):
        VLenBytesCodec().encode(object_array([b"a", "b"], (2,)), spec)


def test_json() -> None:
    assert VLenUTF8Codec().to_json() == {"name": "vlen-utf8", "configuration": {}}
    assert VLenBytesCodec().to_json() == {"name": "vlen-bytes", "configuration": {}}
    assert VLenUTF8Codec.from_json({}) == VLenUTF8Codec()
    with pytest.raises(MetadataError, match="unknown configuration field"):
        VLenBytesCodec.from_json({"encoding": "ascii"})


def test_strings_match_zarr_python(write_with_zarr) -> None:
    strings = np.array(["alpha", "", "βeta", "gamma" * 20, "d", "e"], dtype=object)
    written = write_with_zarr(strings, dtype=str, chunks=(3,), compressors=None)
    assert written.metadata["codecs"] == [{"name": "vlen-utf8", "configuration": {}}]
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = ChunkSpec((3,), np.dtype(object), "")
    for index in range(2):
        chunk = written.chunk(f"c/{index}")
        assert pipeline.encode(strings[index * 3 : index * 3 + 3], spec) == chunk
        assert pipeline.decode(chunk, spec).tolist() == strings[index * 3 : index * 3 + 3].tolist()


def test_bytes_match_zarr_python(write_with_zarr) -> None:
    values = object_array([b"x", b"", b"\x00\xff" * 10, b"tail"], (2, 2))
    written = write_with_zarr(
        values, dtype=zarr.dtype.VariableLengthBytes(), fill_value=b"", compressors=None
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = ChunkSpec((2, 2), np.dtype(object), b"")
    assert pipeline.encode(values, spec) == written.chunk("c/0/0")
    assert pipeline.decode(written.chunk("c/0/0"), spec).tolist() == values.tolist()


def test_checksums_and_compressors_after_a_vlen_codec() -> None:
    strings = object_array(["a", "", "bc", "d"], (4,))
    spec = ChunkSpec((4,), np.dtype(object), "")
    gzip = {"name": "gzip", "configuration": {"level": 1}}
    pipeline = CodecPipeline([VLenUTF8Codec(), "crc32c", gzip, "crc32c"])
    assert pipeline.decode(memoryview(pipeline.encode(strings, spec)), spec).tolist() == ["a", "", "bc", "d"]
