"""numcodecs codecs under ``numcodecs.<id>`` in v3, and ``as_codec`` for codec-like objects."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
import zarr.codecs.numcodecs as zarr_numcodecs

from zarrkit.codecs import (
    BloscCodec,
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    Crc32cCodec,
    GzipCodec,
    VLenBytesCodec,
    VLenUTF8Codec,
    ZstdCodec,
    as_codec,
    codec_from_json,
)
from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec
from zarrkit.errors import CodecError, MetadataError

pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning")


@pytest.mark.parametrize(
    ("codec_id", "kind"),
    [
        ("delta", ArrayArrayCodec),
        ("fixedscaleoffset", ArrayArrayCodec),
        ("quantize", ArrayArrayCodec),
        ("bitround", ArrayArrayCodec),
        ("packbits", ArrayArrayCodec),
        ("astype", ArrayArrayCodec),
        ("zlib", BytesBytesCodec),
        ("lzma", BytesBytesCodec),
        ("bz2", BytesBytesCodec),
        ("lz4", BytesBytesCodec),
        ("shuffle", BytesBytesCodec),
        ("adler32", BytesBytesCodec),
        ("crc32", BytesBytesCodec),
        ("fletcher32", BytesBytesCodec),
        ("jenkins_lookup3", BytesBytesCodec),
        ("json2", ArrayBytesCodec),
        ("vlen-array", ArrayBytesCodec),
    ],
)
def test_each_id_has_zarr_pythons_kind(codec_id: str, kind: type) -> None:
    configurations = {
        "delta": {"dtype": "<i4"},
        "fixedscaleoffset": {"offset": 0, "scale": 1, "dtype": "<f8"},
        "quantize": {"digits": 2, "dtype": "<f8"},
        "bitround": {"keepbits": 5},
        "astype": {"encode_dtype": "<f4", "decode_dtype": "<f8"},
        "vlen-array": {"dtype": "<i4"},
    }
    entry = {"name": f"numcodecs.{codec_id}", "configuration": configurations.get(codec_id, {})}
    codec = codec_from_json(entry, path="a")
    assert isinstance(codec, kind)
    assert codec.to_json()["name"] == f"numcodecs.{codec_id}"


def test_filters_and_compressors_match_zarr_python(write_with_zarr) -> None:
    data = np.cumsum(np.arange(400, dtype="<i4"), dtype="<i4").reshape(20, 20)
    written = write_with_zarr(
        data,
        chunks=(10, 10),
        filters=[zarr_numcodecs.Delta(dtype="<i4")],
        compressors=[zarr_numcodecs.BZ2(level=3), zarr_numcodecs.CRC32()],
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.to_json() == written.metadata["codecs"]
    spec = written.spec()
    assert pipeline.encode(data[10:, :10], spec) == written.chunk("c/1/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0/1"), spec), data[:10, 10:])
    corrupt = bytearray(written.chunk("c/0/1"))
    corrupt[-1] ^= 1
    with pytest.raises(CodecError, match="numcodecs.crc32"):
        pipeline.decode(bytes(corrupt), spec)


def test_dtype_changing_filters_match_zarr_python(write_with_zarr) -> None:
    data = np.linspace(-5, 5, 60).reshape(6, 10)
    written = write_with_zarr(
        data,
        chunks=(3, 10),
        filters=[zarr_numcodecs.FixedScaleOffset(offset=0, scale=100, dtype="<f8", astype="<i2")],
        compressors=[zarr_numcodecs.Zlib(level=4)],
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = written.spec()
    assert pipeline.bytes_spec(spec).dtype == np.dtype("<i2")
    assert pipeline.encode(data[3:], spec) == written.chunk("c/1/0")
    np.testing.assert_allclose(pipeline.decode(written.chunk("c/0/0"), spec), data[:3], atol=0.006)
    np.testing.assert_allclose(pipeline.decode(written.chunk("c/0/0"), spec), written.array[:3])


def test_packbits_changes_shape_and_type() -> None:
    bits = np.array([[True, False, True], [False, False, True]])
    pipeline = CodecPipeline([{"name": "numcodecs.packbits", "configuration": {}}, BytesCodec(None)])
    spec = ChunkSpec((2, 3), np.dtype(bool), False)
    assert pipeline.bytes_spec(spec) == ChunkSpec((2,), np.dtype(np.uint8), 0)
    np.testing.assert_array_equal(pipeline.decode(pipeline.encode(bits, spec), spec), bits)


def test_checksums_have_a_fixed_encoded_size() -> None:
    spec = ChunkSpec((4,), np.dtype("<u8"), 0)
    adler32 = {"name": "numcodecs.adler32", "configuration": {}}
    zlib = {"name": "numcodecs.zlib", "configuration": {}}
    assert CodecPipeline(["bytes", adler32]).encoded_size(spec) == 36
    assert CodecPipeline(["bytes", zlib]).encoded_size(spec) is None


def test_bad_numcodecs_configuration_is_a_metadata_error() -> None:
    with pytest.raises(MetadataError, match="array 'a/b': codec 'numcodecs.delta'"):
        codec_from_json({"name": "numcodecs.delta", "configuration": {"dtyp": "<i4"}}, path="a/b")


def test_a_filter_configured_for_another_type_is_a_codec_error() -> None:
    pipeline = CodecPipeline([{"name": "numcodecs.delta", "configuration": {"dtype": "<i4"}}, "bytes"])
    spec = ChunkSpec((4,), np.dtype("<i8"), 0)
    with pytest.raises(CodecError, match="does its configuration match"):
        pipeline.encode(np.arange(4, dtype="<i8"), spec)


@pytest.mark.parametrize(
    ("numcodec", "expected"),
    [
        (numcodecs.Zstd(level=3, checksum=True), ZstdCodec(3, True)),
        (numcodecs.GZip(level=4), GzipCodec(4)),
        (
            numcodecs.Blosc(cname="zstd", clevel=2, shuffle=numcodecs.Blosc.BITSHUFFLE),
            BloscCodec("zstd", 2, "bitshuffle"),
        ),
        (numcodecs.Blosc(cname="lz4", shuffle=numcodecs.Blosc.AUTOSHUFFLE), BloscCodec("lz4", 5, None)),
        (numcodecs.CRC32C(), Crc32cCodec()),
        (numcodecs.VLenUTF8(), VLenUTF8Codec()),
        (numcodecs.VLenBytes(), VLenBytesCodec()),
    ],
    ids=lambda value: type(value).__name__,
)
def test_as_codec_turns_numcodecs_objects_into_native_codecs(numcodec, expected) -> None:
    assert as_codec(numcodec) == expected


def test_as_codec_wraps_the_rest_and_accepts_other_forms() -> None:
    wrapped = as_codec(numcodecs.Zlib(level=2))
    assert wrapped.to_json() == {"name": "numcodecs.zlib", "configuration": {"level": 2}}
    assert as_codec({"id": "delta", "dtype": "<i8"}).to_json() == {
        "name": "numcodecs.delta",
        "configuration": {"dtype": "<i8"},
    }
    assert as_codec(zarr.codecs.GzipCodec(level=2)) == GzipCodec(2)
    assert as_codec({"name": "crc32c"}) == Crc32cCodec()
    assert as_codec("bytes") == BytesCodec(None)
    codec = ZstdCodec(1)
    assert as_codec(codec) is codec
    with pytest.raises(MetadataError, match="is not a codec"):
        as_codec(3.5)
    with pytest.raises(MetadataError, match="has no Zarr v3 form"):
        as_codec({"id": "no-such-codec"})
    with pytest.raises(MetadataError, match="not used to write"):
        as_codec({"name": "x-unknown", "must_understand": False})


def test_pickle_is_refused_because_numcodecs_cannot_decode_it() -> None:
    # numcodecs disables Pickle.decode (unpickling stored bytes runs any code): an array naming it
    # must fail when opened, not on every read.
    with pytest.raises(MetadataError, match="array 'a': unknown codec 'numcodecs.pickle'"):
        codec_from_json({"name": "numcodecs.pickle", "configuration": {}}, path="a")
    with pytest.raises(MetadataError, match="'pickle' has no Zarr v3 form"):
        as_codec(numcodecs.Pickle())


def test_object_serializers_round_trip_strings() -> None:
    pipeline = CodecPipeline([{"name": "numcodecs.json2", "configuration": {}}])
    spec = ChunkSpec((3,), np.dtype(object), "")
    strings = np.array(["a", "", "ü"], dtype=object)
    assert pipeline.decode(pipeline.encode(strings, spec), spec).tolist() == ["a", "", "ü"]


@pytest.mark.parametrize("shuffle", [[1], 7, True, "1", None])
def test_numcodecs_blosc_with_an_unknown_shuffle_is_a_metadata_error(shuffle) -> None:
    with pytest.raises(MetadataError, match="shuffle must be -1"):
        as_codec({"id": "blosc", "cname": "lz4", "shuffle": shuffle})


def test_numcodecs_blosc_shuffle_numbers_map_to_names() -> None:
    assert as_codec({"id": "blosc", "cname": "lz4", "shuffle": 2}) == BloscCodec("lz4", 5, "bitshuffle")
    assert as_codec({"id": "blosc", "cname": "lz4", "shuffle": np.int64(0)}) == BloscCodec("lz4", 5, "noshuffle")
    assert as_codec({"id": "blosc", "cname": "lz4"}) == BloscCodec("lz4", 5, "shuffle")


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "numcodecs.zstd", "configuration": {"level": 1}},
        {"name": "numcodecs.blosc", "configuration": {"cname": "lz4"}},
    ],
    ids=lambda entry: entry["name"],
)
def test_wrapped_zstd_and_blosc_read_back_empty_frames(entry) -> None:
    # numcodecs writes a frame for empty input that it then refuses to decode.
    codec = codec_from_json(entry, path="a")
    spec = ChunkSpec((0,), np.dtype("u1"), 0)
    assert bytes(codec.decode(codec.encode(b"", spec), spec)) == b""
    with pytest.raises(CodecError, match=f"codec '{entry['name']}': corrupt or truncated data"):
        codec.decode(b"\x28\xb5\x2f\xfd garbage", spec)
