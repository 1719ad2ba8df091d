"""From array metadata to pipelines: ``pipeline_for``, ``chunk_spec`` and ``default_codecs``."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr

from zarrkit.codecs import (
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    ShardingCodec,
    V2Pipeline,
    VLenBytesCodec,
    VLenUTF8Codec,
    ZstdCodec,
    chunk_spec,
    default_codecs,
    pipeline_for,
)
from zarrkit.errors import MetadataError
from zarrkit.metadata import ArrayMetadataV2, ArrayMetadataV3, DataType, parse_node

pytestmark = pytest.mark.filterwarnings("ignore::zarr.errors.ZarrUserWarning")


def v3_metadata(codecs: tuple, dtype: str = "<i4", chunks: tuple[int, ...] = (4,)) -> ArrayMetadataV3:
    data_type = DataType(np.dtype(dtype))
    return ArrayMetadataV3(shape=(8,), chunks=chunks, data_type=data_type, fill_value=0, codecs=codecs)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"zarr_format": 2},
        {"shards": (6, 8), "chunks": (3, 4)},
        {"filters": [zarr.codecs.TransposeCodec(order=(1, 0))], "compressors": [zarr.codecs.BloscCodec()]},
        {"zarr_format": 2, "order": "F", "filters": [numcodecs.Delta(dtype="<f8")]},
    ],
    ids=["v3-default", "v2-default", "v3-sharded", "v3-transpose-blosc", "v2-F-delta"],
)
def test_reads_every_chunk_zarr_python_wrote(write_with_zarr, options: dict) -> None:
    data = np.arange(12 * 16, dtype="<f8").reshape(12, 16) / 7
    written = write_with_zarr(data, **{"chunks": (6, 8), **options})
    metadata = parse_node(written.objects, path="some/array")
    pipeline = pipeline_for(metadata, path="some/array")
    spec = chunk_spec(metadata)
    assert spec == ChunkSpec((6, 8), np.dtype("<f8"), 0.0)
    separator = "/" if metadata.zarr_format == 3 else "."
    prefix = "c/" if metadata.zarr_format == 3 else ""
    for row in range(2):
        for column in range(2):
            stored = written.chunk(f"{prefix}{row}{separator}{column}")
            region = (slice(row * 6, row * 6 + 6), slice(column * 8, column * 8 + 8))
            # Compared with what zarr-python reads back: delta on floats does not round-trip exactly.
            np.testing.assert_array_equal(pipeline.decode(stored, spec), written.array[region])
            assert pipeline.encode(data[region], spec) == stored


def test_v3_metadata_gives_a_codec_pipeline() -> None:
    metadata = v3_metadata(({"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}))
    pipeline = pipeline_for(metadata)
    assert isinstance(pipeline, CodecPipeline) and pipeline.sharding is None
    sharded = pipeline_for(v3_metadata((ShardingCodec((2,)).to_json(),)))
    assert isinstance(sharded.sharding, ShardingCodec)


def test_v2_metadata_gives_a_v2_pipeline() -> None:
    metadata = ArrayMetadataV2(
        shape=(8,),
        chunks=(4,),
        data_type=DataType(np.dtype(object), "string"),
        fill_value=None,
        filters=({"id": "vlen-utf8"},),
        compressor={"id": "zstd", "level": 1},
    )
    pipeline = pipeline_for(metadata)
    assert isinstance(pipeline, V2Pipeline) and pipeline.sharding is None
    spec = chunk_spec(metadata)
    strings = np.array(["a", "b", "c", "d"], dtype=object)
    assert pipeline.decode(pipeline.encode(strings, spec), spec).tolist() == ["a", "b", "c", "d"]


def test_errors_name_the_array() -> None:
    with pytest.raises(MetadataError, match=r"array 'a/b': unknown codec 'lzf'"):
        pipeline_for(v3_metadata(({"name": "lzf", "configuration": {}},)), path="a/b")
    with pytest.raises(MetadataError, match=r"array 'a/b': .*'endian' is required"):
        pipeline_for(v3_metadata(({"name": "bytes", "configuration": {}},)), path="a/b")
    with pytest.raises(MetadataError, match=r"array 'a/b': .*divide"):
        pipeline_for(v3_metadata((ShardingCodec((3,)).to_json(),)), path="a/b")
    with pytest.raises(MetadataError, match=r"array 'a/b': .*out of order"):
        pipeline_for(v3_metadata(({"name": "crc32c"}, {"name": "bytes", "configuration": {}})), path="a/b")


@pytest.mark.parametrize(
    "dtype", ["int8", "<u2", "<f8", "bool", "<c8", "<M8[ns]", "<U5", "S4", [("a", "<i4"), ("b", "u1")], "V3"]
)
def test_v3_defaults_match_zarr_python(write_with_zarr, dtype) -> None:
    written = write_with_zarr(np.zeros(4, dtype=dtype))
    defaults = default_codecs(DataType(np.dtype(dtype)), zarr_format=3)
    assert defaults.filters == ()
    codecs = [defaults.serializer.to_json(), *(codec.to_json() for codec in defaults.compressors)]
    assert codecs == written.metadata["codecs"]


def test_v3_defaults_for_variable_length_types(write_with_zarr) -> None:
    strings = write_with_zarr(np.array(["a"], dtype=object), dtype=str)
    defaults = default_codecs(DataType(np.dtype(object), "string"), zarr_format=3)
    assert defaults.serializer == VLenUTF8Codec()
    codecs = [defaults.serializer.to_json(), *(codec.to_json() for codec in defaults.compressors)]
    assert codecs == strings.metadata["codecs"]
    raw = default_codecs(DataType(np.dtype(object), "bytes"), zarr_format=3)
    assert raw.serializer == VLenBytesCodec() and raw.compressors == (ZstdCodec(0, False),)


@pytest.mark.parametrize(("dtype", "vlen"), [("<f8", None), ("u1", None), (object, "string")])
def test_v2_defaults_match_zarr_python(write_with_zarr, dtype, vlen) -> None:
    data = np.zeros(4, dtype=dtype) if vlen is None else np.array(["a"] * 4, dtype=object)
    written = write_with_zarr(data, zarr_format=2, **({"dtype": str} if vlen else {}))
    defaults = default_codecs(DataType(np.dtype(dtype), vlen), zarr_format=2)
    assert defaults.serializer is None
    assert defaults.compressors == (written.metadata["compressor"],)
    assert (list(defaults.filters) if defaults.filters else None) == written.metadata["filters"]


def test_v2_default_for_bytes_and_bad_format() -> None:
    defaults = default_codecs(DataType(np.dtype(object), "bytes"), zarr_format=2)
    assert defaults.filters == ({"id": "vlen-bytes"},)
    assert default_codecs(DataType(np.dtype("<i2")), zarr_format=3).serializer == BytesCodec("little")
    with pytest.raises(MetadataError, match="zarr_format must be 2 or 3"):
        default_codecs(DataType(np.dtype("<i2")), zarr_format=4)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_defaults_for_variable_length_bytes_match_zarr_python(write_with_zarr, zarr_format: int) -> None:
    values = np.array([b"a", b"bc"], dtype=object)
    written = write_with_zarr(
        values, dtype=zarr.dtype.VariableLengthBytes(), fill_value=b"", zarr_format=zarr_format
    )
    defaults = default_codecs(DataType(np.dtype(object), "bytes"), zarr_format=zarr_format)
    if zarr_format == 3:
        codecs = [defaults.serializer.to_json(), *(codec.to_json() for codec in defaults.compressors)]
        assert codecs == written.metadata["codecs"]
    else:
        assert list(defaults.filters) == written.metadata["filters"]
        assert defaults.compressors == (written.metadata["compressor"],)
