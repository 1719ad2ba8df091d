"""The ``sharding_indexed`` codec: the shard layout, its index, partial reads, and zarr-python's shards."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.core.indexing import _morton_order

from zarrkit.codecs import (
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    Crc32cCodec,
    GzipCodec,
    ShardIndex,
    ShardingCodec,
    TransposeCodec,
    ZstdCodec,
)
from zarrkit.codecs.sharding import EMPTY, morton_order
from zarrkit.errors import CodecError, MetadataError


def shard_data() -> np.ndarray:
    """An 8x8 shard of 2x4 inner chunks with some inner chunks holding only the fill value 0."""
    data = np.arange(1, 65, dtype="<i4").reshape(8, 8)
    data[0:2, 4:8] = 0
    data[6:8, 0:4] = 0
    return data


def test_morton_order_is_the_order_zarr_python_writes() -> None:
    assert morton_order((2, 2)) == ((0, 0), (1, 0), (0, 1), (1, 1))
    assert morton_order(()) == ((),)
    for shape in [(4, 4), (3, 5), (2, 3, 4), (33,), (1, 7), (5, 1, 3)]:
        assert morton_order(shape) == tuple(map(tuple, _morton_order(shape).tolist()))


@pytest.mark.parametrize("index_location", ["end", "start"])
@pytest.mark.parametrize(
    "inner_codecs",
    [[zarr.codecs.BytesCodec()], [zarr.codecs.BytesCodec(), zarr.codecs.GzipCodec(level=1)]],
    ids=["bytes", "gzip"],
)
def test_shards_match_zarr_python(write_with_zarr, index_location: str, inner_codecs: list) -> None:
    data = np.concatenate([shard_data(), shard_data() + 100], axis=1)
    written = write_with_zarr(
        data,
        chunks=(8, 8),
        serializer=zarr.codecs.ShardingCodec(
            chunk_shape=(2, 4), codecs=inner_codecs, index_location=index_location
        ),
        compressors=None,
        fill_value=0,
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    sharding = pipeline.sharding
    assert isinstance(sharding, ShardingCodec)
    assert sharding.to_json() == written.metadata["codecs"][0]
    spec = written.spec()
    for shard in range(2):
        stored = written.chunk(f"c/0/{shard}")
        part = data[:, shard * 8 : (shard + 1) * 8]
        assert pipeline.encode(part, spec) == stored
        np.testing.assert_array_equal(pipeline.decode(stored, spec), part)


def test_partial_reads_through_the_index(write_with_zarr) -> None:
    data = shard_data()
    written = write_with_zarr(
        data,
        shards=(8, 8),
        chunks=(2, 4),
        compressors=[zarr.codecs.ZstdCodec(level=1)],
        fill_value=0,
    )
    sharding = CodecPipeline.from_json(written.metadata["codecs"]).sharding
    assert sharding is not None
    shard = written.chunk("c/0/0")
    chunks_per_shard = sharding.chunks_per_shard((8, 8))
    assert chunks_per_shard == (4, 2)
    assert sharding.index_size(chunks_per_shard) == 16 * 8 + 4
    offset, length = sharding.index_byte_range(chunks_per_shard)
    assert (offset, length) == (-(16 * 8 + 4), None)
    index = sharding.decode_index(shard[offset:], chunks_per_shard)
    assert index.byte_range((0, 1)) is None and index.byte_range((3, 0)) is None
    assert not index.is_empty()
    inner_spec = sharding.inner_spec(written.spec())
    for position in [(0, 0), (2, 1), (3, 1)]:
        start, size = index.byte_range(position)
        inner = sharding.inner_pipeline.decode(shard[start : start + size], inner_spec)
        row, column = position
        np.testing.assert_array_equal(inner, data[row * 2 : row * 2 + 2, column * 4 : column * 4 + 4])


def test_encode_shard_matches_zarr_python_and_skips_missing_chunks(write_with_zarr) -> None:
    data = shard_data()
    written = write_with_zarr(data, shards=(8, 8), chunks=(2, 4), compressors=None, fill_value=0)
    sharding = CodecPipeline.from_json(written.metadata["codecs"]).sharding
    inner_spec = sharding.inner_spec(written.spec())

    def encoded(row: int, column: int) -> memoryview:
        inner = data[row * 2 : (row + 1) * 2, column * 4 : (column + 1) * 4]
        return memoryview(sharding.inner_pipeline.encode(inner, inner_spec))

    # The two inner chunks that hold only the fill value are the ones zarr-python leaves out.
    inner_chunks = {
        (row, column): encoded(row, column)
        for row in range(4)
        for column in range(2)
        if (row, column) not in {(0, 1), (3, 0)}
    }
    assert sharding.encode_shard(inner_chunks, (4, 2)) == written.chunk("c/0/0")
    assert sharding.encode_shard({}, (4, 2)) is None
    with pytest.raises(CodecError, match=r"\(4, 0\).*outside"):
        sharding.encode_shard({(4, 0): b"x"}, (4, 2))


def test_index_at_the_start_counts_offsets_from_the_shard_start() -> None:
    sharding = ShardingCodec((2,), [BytesCodec("little")], index_location="start")
    shard = sharding.encode_shard({(1,): b"\x01" * 8}, (2,))
    index_size = sharding.index_size((2,))
    assert index_size == 36 and sharding.index_byte_range((2,)) == (0, 36)
    index = sharding.decode_index(shard[:index_size], (2,), len(shard))
    assert index.byte_range((0,)) is None
    assert index.byte_range((1,)) == (36, 8)


def test_nested_sharding_matches_zarr_python(write_with_zarr) -> None:
    data = np.arange(64, dtype="<i4").reshape(8, 8)
    data[:4, :4] = 0
    data[4:6, 4:6] = 0
    inner = zarr.codecs.ShardingCodec(
        chunk_shape=(2, 2), codecs=[zarr.codecs.BytesCodec(), zarr.codecs.ZstdCodec()], index_location="start"
    )
    written = write_with_zarr(
        data,
        serializer=zarr.codecs.ShardingCodec(chunk_shape=(4, 4), codecs=[inner]),
        compressors=None,
        fill_value=0,
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.to_json() == written.metadata["codecs"]
    spec = written.spec()
    assert pipeline.encode(data, spec) == written.chunk("c/0/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0/0"), spec), data)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    index_location=st.sampled_from(["start", "end"]),
    fill_ratio=st.floats(0, 1),
)
def test_round_trip_with_random_empty_inner_chunks(seed: int, index_location: str, fill_ratio: float) -> None:
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(6, 4))
    for row in range(3):
        for column in range(2):
            if rng.random() < fill_ratio:
                data[row * 2 : row * 2 + 2, column * 2 : column * 2 + 2] = np.nan
    sharding = ShardingCodec((2, 2), [BytesCodec(), GzipCodec(1)], index_location=index_location)
    spec = ChunkSpec((6, 4), np.dtype("<f8"), np.nan)
    decoded = sharding.decode(sharding.encode(data, spec), spec)
    np.testing.assert_array_equal(decoded, data)


def test_a_shard_of_fill_values_is_only_an_index() -> None:
    sharding = ShardingCodec((2,))
    spec = ChunkSpec((4,), np.dtype("<f4"), np.float32(-1.5))
    shard = sharding.encode(np.full(4, -1.5, dtype="<f4"), spec)
    assert len(shard) == sharding.index_size((2,))
    assert sharding.decode_index(shard, (2,)).is_empty()
    np.testing.assert_array_equal(sharding.decode(shard, spec), np.full(4, -1.5, dtype="<f4"))


class TestCorruptShards:
    sharding = ShardingCodec((2,), [BytesCodec("little")])
    spec = ChunkSpec((4,), np.dtype("<u2"), 0)

    def shard(self) -> bytes:
        return self.sharding.encode(np.array([1, 2, 3, 4], dtype="<u2"), self.spec)

    def index_bytes(self, entries: list[int]) -> bytes:
        index_spec = ChunkSpec((2, 2), np.dtype(np.uint64), EMPTY)
        index = np.array(entries, dtype=np.uint64).reshape(2, 2)
        return self.sharding.index_pipeline.encode(index, index_spec)

    def test_checksum_mismatch(self) -> None:
        shard = bytearray(self.shard())
        shard[-6] ^= 0x10
        with pytest.raises(CodecError, match="shard index: codec 'crc32c': checksum mismatch"):
            self.sharding.decode(bytes(shard), self.spec)

    def test_truncated_shard(self) -> None:
        with pytest.raises(CodecError, match="too short"):
            self.sharding.decode(self.shard()[:20], self.spec)
        with pytest.raises(CodecError, match="must be 36 bytes, got 35"):
            self.sharding.decode_index(self.shard()[-35:], (2,))
        with pytest.raises(CodecError):
            self.sharding.decode(self.shard()[2:], self.spec)

    def test_offsets_past_the_end_are_refused(self) -> None:
        index = self.index_bytes([0, 4, 100, 4])
        with pytest.raises(CodecError, match=r"inner chunk \(1,\) ends past the end of the 44-byte shard"):
            self.sharding.decode_index(index, (2,), 44)
        with pytest.raises(CodecError, match="longer than"):
            self.sharding.decode_index(self.index_bytes([0, 2**40, EMPTY, EMPTY]), (2,), 44)
        with pytest.raises(CodecError, match="past 2\\*\\*64"):
            self.sharding.decode_index(self.index_bytes([2**63, 2**63, EMPTY, EMPTY]), (2,))
        with pytest.raises(CodecError, match="only one of offset and length"):
            self.sharding.decode_index(self.index_bytes([0, 4, EMPTY, 4]), (2,))
        start = ShardingCodec((2,), [BytesCodec("little")], index_location="start")
        with pytest.raises(CodecError, match="starts inside the shard index"):
            start.decode_index(self.index_bytes([0, 4, EMPTY, EMPTY]), (2,))

    def test_inner_coordinates_outside_the_shard(self) -> None:
        index = ShardIndex(np.full((2, 2), EMPTY, dtype=np.uint64))
        for outside in [(5,), (-1,), (0, 1)]:
            with pytest.raises(CodecError, match="outside a shard"):
                index.byte_range(outside)


def test_configuration_is_validated() -> None:
    entry = ShardingCodec((2, 2), [BytesCodec(), ZstdCodec(1)]).to_json()
    assert entry == {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": [2, 2],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, ZstdCodec(1).to_json()],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}],
            "index_location": "end",
        },
    }
    configuration = entry["configuration"]
    assert ShardingCodec.from_json(configuration) == ShardingCodec((2, 2), [BytesCodec(), ZstdCodec(1)])
    without_location = {key: value for key, value in configuration.items() if key != "index_location"}
    assert ShardingCodec.from_json(without_location).index_location == "end"
    with pytest.raises(MetadataError, match="'index_codecs' is required"):
        ShardingCodec.from_json({"chunk_shape": [2], "codecs": ["bytes"]})
    with pytest.raises(MetadataError, match="'index_codecs' must be a non-empty list"):
        ShardingCodec.from_json({"chunk_shape": [2], "codecs": ["bytes"], "index_codecs": []})
    with pytest.raises(MetadataError, match="index_codecs must produce a fixed size"):
        ShardingCodec((2,), index_codecs=[BytesCodec(), GzipCodec(1)])
    with pytest.raises(MetadataError, match="index_location"):
        ShardingCodec((2,), index_location="middle")  # type: ignore[arg-type]
    with pytest.raises(MetadataError, match="divide it"):
        ShardingCodec((3, 2)).evolve(ChunkSpec((4, 4), np.dtype("<i4"), 0))
    evolved = ShardingCodec((2,), [BytesCodec()]).evolve(ChunkSpec((4,), np.dtype("u1"), 0))
    assert evolved.inner_pipeline.codecs == (BytesCodec(None),)


def test_sharded_strings_match_zarr_python(write_with_zarr) -> None:
    data = np.array(["x", "y", "", "", "zz", "", "w", "v"], dtype=object)
    written = write_with_zarr(data, dtype=str, chunks=(2,), shards=(8,), fill_value="")
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    spec = ChunkSpec((8,), np.dtype(object), "")
    assert pipeline.encode(data, spec) == written.chunk("c/0")
    assert pipeline.decode(written.chunk("c/0"), spec).tolist() == data.tolist()


@pytest.mark.parametrize(
    ("index_codecs", "message"),
    [
        ([TransposeCodec((2, 0, 1)), BytesCodec("little"), Crc32cCodec()], "does not match a chunk of 2 dimensions"),
        ([BytesCodec(None), Crc32cCodec()], "'endian' is required"),
    ],
)
def test_index_codecs_are_fitted_to_the_index(index_codecs, message) -> None:
    with pytest.raises(MetadataError, match=f"codec 'sharding_indexed': index_codecs: .*{message}"):
        ShardingCodec((2,), index_codecs=index_codecs)
    entry = {
        "chunk_shape": [2],
        "codecs": ["bytes"],
        "index_codecs": [codec.to_json() for codec in index_codecs],
    }
    with pytest.raises(MetadataError, match="array 'a': codec 'sharding_indexed'"):
        CodecPipeline.from_json([{"name": "sharding_indexed", "configuration": entry}], path="a")


def test_a_transposed_index_round_trips() -> None:
    sharding = ShardingCodec((2, 2), index_codecs=[TransposeCodec((2, 1, 0)), BytesCodec("big")])
    spec = ChunkSpec((4, 4), np.dtype("<i4"), 0)
    data = np.arange(16, dtype="<i4").reshape(4, 4)
    shard = sharding.encode(data, spec)
    np.testing.assert_array_equal(sharding.decode(shard, spec), data)


def test_encode_shard_treats_none_as_empty() -> None:
    sharding = ShardingCodec((2,), [BytesCodec("little")])
    shard = sharding.encode_shard({(0,): None, (1,): b"\x01\x00\x02\x00"}, (2,))
    assert shard is not None
    index = sharding.decode_index(shard[-sharding.index_size((2,)) :], (2,), len(shard))
    assert index.byte_range((0,)) is None and index.byte_range((1,)) == (0, 4)
    assert sharding.encode_shard({(0,): None, (1,): None}, (2,)) is None
    with pytest.raises(CodecError, match=r"inner chunk\(s\) \[\(2,\)\] lie outside"):
        sharding.encode_shard({(0,): b"ab", (2,): None}, (2,))


@pytest.mark.parametrize("index_location", ["start", "end"])
def test_inner_chunks_walks_the_stored_inner_chunks(index_location: str) -> None:
    sharding = ShardingCodec((2, 4), [BytesCodec("little")], index_location=index_location)
    spec = ChunkSpec((8, 8), np.dtype("<i4"), 0)
    data = shard_data()
    shard = sharding.encode(data, spec)
    index_range = sharding.index_byte_range((4, 2))
    start = index_range[0] if index_range[0] >= 0 else len(shard) + index_range[0]
    index = sharding.decode_index(shard[start : start + sharding.index_size((4, 2))], (4, 2), len(shard))
    found = dict(index.inner_chunks(shard))
    # The inner chunks holding only the fill value were not stored.
    assert sorted(found) == [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (3, 1)]
    for (row, column), inner in found.items():
        expected = data[row * 2 : row * 2 + 2, column * 4 : column * 4 + 4]
        assert isinstance(inner, memoryview) and inner.tobytes() == expected.tobytes()
    assert [position for position, _ in index.inner_chunks(shard)] == sorted(found)


def test_inner_chunks_of_zero_dimensional_and_truncated_shards() -> None:
    sharding = ShardingCodec((), [BytesCodec("little")])
    spec = ChunkSpec((), np.dtype("<i2"), 0)
    shard = sharding.encode(np.array(5, dtype="<i2"), spec)
    index = sharding.decode_index(shard[-sharding.index_size(()) :], ())
    assert [(position, inner.tobytes()) for position, inner in index.inner_chunks(shard)] == [((), b"\x05\x00")]
    with pytest.raises(CodecError, match="ends past the 1-byte shard"):
        list(index.inner_chunks(shard[:1]))
