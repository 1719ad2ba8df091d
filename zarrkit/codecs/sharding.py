"""The ``sharding_indexed`` codec (array -> bytes): many inner chunks stored in one shard.

A shard holds its encoded inner chunks back to back and an index, at its start or end, of one
``(offset, nbytes)`` pair of uint64 per inner chunk (both ``2**64 - 1`` for an empty inner chunk).
Offsets count from the start of the shard, so with the index at the start they include its size.
The index is encoded by its own fixed-size codecs (by default ``bytes`` then ``crc32c``).

The chunk engine reads sharded arrays inner chunk by inner chunk: it fetches the index through
:meth:`ShardingCodec.index_byte_range`, decodes it with :meth:`ShardingCodec.decode_index`, fetches
the byte ranges of the inner chunks it needs and decodes them with :attr:`ShardingCodec.inner_pipeline`;
from a shard it fetched whole, :meth:`ShardIndex.inner_chunks` cuts out every stored inner chunk.
It writes whole shards with :meth:`ShardingCodec.encode_shard`. :meth:`ShardingCodec.encode` and
:meth:`ShardingCodec.decode` handle whole shards, which is what nested sharding needs.

Inner chunks are written in Morton order, as zarr-python writes them, so both produce the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from zarrkit.codecs._support import BytesLike, byte_length, check_choice, check_configuration, required
from zarrkit.codecs.base import ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.chain import CodecPipeline
from zarrkit.codecs.crc32c import Crc32cCodec
from zarrkit.codecs.fill import FillMatcher
from zarrkit.codecs.registry import parse_codec
from zarrkit.errors import CodecError, MetadataError
from zarrkit.metadata import parse_int_tuple
from zarrkit.storage.base import ByteRange

IndexLocation = Literal["start", "end"]

EMPTY = 2**64 - 1
"""The offset and length that mark an empty inner chunk in a shard index."""

_INDEX_DTYPE = np.dtype(np.uint64)


@lru_cache(maxsize=64)
def morton_order(chunks_per_shard: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Every inner chunk position of a shard, in the Morton (Z) order zarr-python writes them in.

    Bits of the positions are interleaved from the lowest up, dimension 0 first at each level, and
    dimensions run out of bits when their extent does; positions are ordered by that code.
    """
    if not chunks_per_shard:
        return ((),)
    positions = np.indices(chunks_per_shard).reshape(len(chunks_per_shard), -1).T
    bits = [(extent - 1).bit_length() for extent in chunks_per_shard]
    codes = np.zeros(len(positions), dtype=np.uint64)
    code_bit = 0
    for level in range(max(bits)):
        for dimension, dimension_bits in enumerate(bits):
            if level < dimension_bits:
                level_bits = (positions[:, dimension] >> level) & 1
                codes |= level_bits.astype(np.uint64) << np.uint64(code_bit)
                code_bit += 1
    ordered = positions[np.argsort(codes, kind="stable")]
    return tuple(tuple(position) for position in ordered.tolist())


@lru_cache(maxsize=64)
def _positions(chunks_per_shard: tuple[int, ...]) -> frozenset[tuple[int, ...]]:
    """Every inner chunk position of a shard, as a set to check positions against."""
    return frozenset(morton_order(chunks_per_shard))


class ShardIndex:
    """The decoded index of one shard: where each inner chunk lies, or that it is empty."""

    def __init__(self, entries: np.ndarray) -> None:
        self._entries = entries

    @property
    def chunks_per_shard(self) -> tuple[int, ...]:
        """The number of inner chunks along each dimension."""
        return self._entries.shape[:-1]

    @property
    def entries(self) -> np.ndarray:
        """The uint64 array of ``(offset, nbytes)`` pairs, of shape ``chunks_per_shard + (2,)``."""
        return self._entries

    def byte_range(self, inner_coords: tuple[int, ...]) -> tuple[int, int] | None:
        """``(offset, length)`` of the inner chunk at ``inner_coords`` in the shard, or None when empty.

        Raises CodecError when ``inner_coords`` lies outside the shard.
        """
        shape = self.chunks_per_shard
        if len(inner_coords) != len(shape) or not all(0 <= i < n for i, n in zip(inner_coords, shape)):
            raise CodecError(f"inner chunk {inner_coords} is outside a shard of {shape} inner chunks")
        offset, length = self._entries[inner_coords].tolist()
        if offset == EMPTY:
            return None
        return offset, length

    def inner_chunks(self, shard: BytesLike) -> Iterator[tuple[tuple[int, ...], memoryview]]:
        """Each stored inner chunk of ``shard`` (the shard this index belongs to): its position in the
        shard and a view of its encoded bytes, in C order of the positions; empty ones are left out.

        Decode the index with the shard's size (:meth:`ShardingCodec.decode_index`) so that every
        entry is known to lie inside the shard's data. Raises CodecError when an entry reaches past
        the end of ``shard``.
        """
        view = memoryview(shard).cast("B")
        entries = self._entries.reshape(-1, 2)
        stored = np.flatnonzero(entries[:, 0] != EMPTY)
        ranges = entries[stored]
        if len(ranges) and int((ranges[:, 0] + ranges[:, 1]).max()) > len(view):
            raise CodecError(f"shard index is corrupt: an inner chunk ends past the {len(view)}-byte shard")
        shape = self.chunks_per_shard
        if shape:
            positions = zip(*(axis.tolist() for axis in np.unravel_index(stored, shape)))
        else:
            positions = iter([()] * len(stored))
        for position, (offset, length) in zip(positions, ranges.tolist()):
            yield position, view[offset : offset + length]

    def is_empty(self) -> bool:
        """True when every inner chunk of the shard is empty."""
        return bool((self._entries[..., 0] == EMPTY).all())


@dataclass(frozen=True)
class ShardingCodec(ArrayBytesCodec):
    """Store a chunk (the shard) as inner chunks of ``chunk_shape``, each encoded by ``codecs``.

    ``codecs`` and ``index_codecs`` accept what :class:`CodecPipeline` accepts, or a CodecPipeline;
    they are kept as tuples of codecs, and :attr:`inner_pipeline` and :attr:`index_pipeline` are
    the pipelines made of them. Raises MetadataError for an invalid chunk shape, codec chain or
    index location, or index codecs that do not fit the index (a ``transpose`` of the wrong
    dimensions, no ``endian``) or whose output size is not fixed (compressors cannot encode it).
    """

    name = "sharding_indexed"

    chunk_shape: Iterable[int]
    codecs: Iterable[Any] = (BytesCodec(),)
    index_codecs: Iterable[Any] = (BytesCodec(), Crc32cCodec())
    index_location: IndexLocation = "end"
    inner_pipeline: CodecPipeline = field(init=False, repr=False, compare=False)
    index_pipeline: CodecPipeline = field(init=False, repr=False, compare=False)
    _index_sizes: dict[tuple[int, ...], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"codec {self.name!r}"
        chunk_shape = self.chunk_shape
        if isinstance(chunk_shape, Iterable) and not isinstance(chunk_shape, (str, bytes, Mapping)):
            chunk_shape = list(chunk_shape)
        chunk_shape = parse_int_tuple(chunk_shape, where=where, field="chunk_shape", minimum=1)
        check_choice(self.name, "index_location", self.index_location, ("start", "end"))
        inner = self.codecs if isinstance(self.codecs, CodecPipeline) else CodecPipeline(self.codecs)
        index = self.index_codecs if isinstance(self.index_codecs, CodecPipeline) else CodecPipeline(self.index_codecs)
        # Fit the index codecs to an index of this many dimensions; the extents do not matter to them.
        try:
            index = index.evolve(_index_spec((1,) * len(chunk_shape)))
        except MetadataError as error:
            raise MetadataError(f"{where}: index_codecs: {error}") from None
        if index.encoded_size(_index_spec((1,) * len(chunk_shape))) is None:
            raise MetadataError(
                f"{where}: index_codecs must produce a fixed size (such as 'bytes' and 'crc32c'), "
                f"got {[codec.name for codec in index.codecs]}"
            )
        object.__setattr__(self, "chunk_shape", chunk_shape)
        object.__setattr__(self, "codecs", inner.codecs)
        object.__setattr__(self, "index_codecs", index.codecs)
        object.__setattr__(self, "inner_pipeline", inner)
        object.__setattr__(self, "index_pipeline", index)
        object.__setattr__(self, "_index_sizes", {})

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> ShardingCodec:
        """Build the codec from its configuration.

        ``chunk_shape``, ``codecs`` and ``index_codecs`` are required; ``index_location`` defaults to
        "end". Raises MetadataError for anything missing or invalid.
        """
        fields = {"chunk_shape", "codecs", "index_codecs", "index_location"}
        configuration = check_configuration(cls.name, configuration, fields)
        where = f"codec {cls.name!r}"
        chains = {}
        for name in ("codecs", "index_codecs"):
            entries = required(cls.name, configuration, name)
            if not isinstance(entries, list) or not entries:
                raise MetadataError(f"{where}: configuration field {name!r} must be a non-empty list")
            parsed = (parse_codec(entry, where=where, field=name) for entry in entries)
            chains[name] = [codec for codec in parsed if codec is not None]
        return cls(
            required(cls.name, configuration, "chunk_shape"),
            chains["codecs"],
            chains["index_codecs"],
            configuration.get("index_location", "end"),
        )

    def to_json(self) -> dict[str, Any]:
        """The metadata entry, with every field written out as zarr-python writes it."""
        return {
            "name": self.name,
            "configuration": {
                "chunk_shape": list(self.chunk_shape),
                "codecs": self.inner_pipeline.to_json(),
                "index_codecs": self.index_pipeline.to_json(),
                "index_location": self.index_location,
            },
        }

    def evolve(self, spec: ChunkSpec) -> ShardingCodec:
        """This codec with its inner codecs fitted to the inner chunks of shards of ``spec``.

        Raises MetadataError when ``chunk_shape`` does not divide the shard shape, or an inner codec
        cannot handle the inner chunks.
        """
        self.chunks_per_shard(spec.shape)
        inner = self.inner_pipeline.evolve(self.inner_spec(spec))
        if inner is self.inner_pipeline:
            return self
        return ShardingCodec(self.chunk_shape, inner, self.index_pipeline, self.index_location)

    def inner_spec(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the inner chunks of a shard of ``spec``."""
        return ChunkSpec(self.chunk_shape, spec.dtype, spec.fill_value)

    def chunks_per_shard(self, shard_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The number of inner chunks along each dimension of a shard of ``shard_shape``.

        Raises MetadataError when ``chunk_shape`` does not have the shard's dimensions or does not
        divide it.
        """
        if len(shard_shape) != len(self.chunk_shape) or any(
            shard % inner for shard, inner in zip(shard_shape, self.chunk_shape)
        ):
            raise MetadataError(
                f"codec 'sharding_indexed': inner chunk shape {list(self.chunk_shape)} must have the "
                f"dimensions of the shard shape {list(shard_shape)} and divide it"
            )
        return tuple(shard // inner for shard, inner in zip(shard_shape, self.chunk_shape))

    def index_size(self, chunks_per_shard: tuple[int, ...]) -> int:
        """The size in bytes of the encoded index of a shard with ``chunks_per_shard`` inner chunks."""
        size = self._index_sizes.get(chunks_per_shard)
        if size is None:
            size = self.index_pipeline.encoded_size(_index_spec(chunks_per_shard))
            assert size is not None  # checked on construction: index codecs have a fixed size
            self._index_sizes[chunks_per_shard] = size
        return size

    def index_byte_range(self, chunks_per_shard: tuple[int, ...]) -> ByteRange:
        """Where the index lies in a shard: ``(0, n)`` at the start, ``(-n, None)`` at the end."""
        size = self.index_size(chunks_per_shard)
        return (0, size) if self.index_location == "start" else (-size, None)

    def decode_index(
        self, data: BytesLike, chunks_per_shard: tuple[int, ...], shard_size: int | None = None
    ) -> ShardIndex:
        """Decode the index bytes ``data`` of a shard, checking every entry.

        With ``shard_size`` (the size of the whole shard, when known) every inner chunk must lie inside
        the shard and outside the index; without it, entries are checked against the index only.
        Raises CodecError when the index has the wrong size, fails its checksum or has an entry that
        cannot be right.
        """
        index_size = self.index_size(chunks_per_shard)
        size = byte_length(data)
        if size != index_size:
            raise CodecError(
                f"shard index must be {index_size} bytes, got {size}: the shard is truncated or not a shard"
            )
        if shard_size is not None and shard_size < index_size:
            raise CodecError(f"shard of {shard_size} bytes is too short to hold its {index_size}-byte index")
        try:
            entries = self.index_pipeline.decode(data, _index_spec(chunks_per_shard))
        except CodecError as error:
            raise CodecError(f"shard index: {error}") from error
        self._check_entries(entries, index_size, shard_size)
        return ShardIndex(entries)

    def _check_entries(self, entries: np.ndarray, index_size: int, shard_size: int | None) -> None:
        offsets = entries[..., 0]
        lengths = entries[..., 1]
        empty = offsets == EMPTY
        self._refuse(empty != (lengths == EMPTY), "has only one of offset and length marked empty")
        used = ~empty
        if self.index_location == "start":
            self._refuse(used & (offsets < index_size), "starts inside the shard index")
        if shard_size is None:
            self._refuse(used & (offsets > EMPTY - lengths), "ends past 2**64")
            return
        data_end = np.uint64(shard_size - (index_size if self.index_location == "end" else 0))
        self._refuse(used & (lengths > data_end), f"is longer than the {shard_size}-byte shard")
        # Unsigned differences wrap only for entries the mask leaves out (empty ones, checked above).
        past_end = used & (offsets > data_end - lengths)
        self._refuse(past_end, f"ends past the end of the {shard_size}-byte shard's data")

    @staticmethod
    def _refuse(bad: np.ndarray, problem: str) -> None:
        if bad.any():
            position = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
            raise CodecError(f"shard index is corrupt: the entry of inner chunk {position} {problem}")

    def encode_shard(
        self, inner_chunks: Mapping[tuple[int, ...], BytesLike | None], chunks_per_shard: tuple[int, ...]
    ) -> bytes | None:
        """A shard holding the encoded ``inner_chunks`` (by position in the shard), or None if there are none.

        Positions missing from ``inner_chunks``, or mapped to None or to no bytes, are empty.
        Raises CodecError for a position outside the shard.
        """
        if not inner_chunks.keys() <= _positions(chunks_per_shard):
            outside = sorted(set(inner_chunks) - _positions(chunks_per_shard))
            raise CodecError(
                f"inner chunk(s) {outside} lie outside a shard of {chunks_per_shard} inner chunks"
            )
        entries = np.full((*chunks_per_shard, 2), EMPTY, dtype=np.uint64)
        parts: list[BytesLike] = []
        offset = self.index_size(chunks_per_shard) if self.index_location == "start" else 0
        for position in morton_order(chunks_per_shard):
            chunk = inner_chunks.get(position)
            if chunk is None:
                continue
            length = byte_length(chunk)
            if length == 0:
                continue
            entries[position] = (offset, length)
            parts.append(chunk)
            offset += length
        if not parts:
            return None
        index = self.index_pipeline.encode(entries, _index_spec(chunks_per_shard))
        return b"".join((index, *parts) if self.index_location == "start" else (*parts, index))

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """The whole shard ``array``; inner chunks holding only the fill value are left empty."""
        chunks_per_shard = self.chunks_per_shard(spec.shape)
        inner_spec = self.inner_spec(spec)
        only_fill = FillMatcher(spec.fill_value, spec.dtype)
        encoded: dict[tuple[int, ...], bytes] = {}
        for position in np.ndindex(*chunks_per_shard):
            chunk = array[self._region(position)]
            if not only_fill.matches(chunk):
                encoded[position] = self.inner_pipeline.encode(chunk, inner_spec)
        shard = self.encode_shard(encoded, chunks_per_shard)
        if shard is None:
            # Only an index, every entry empty: a valid shard that decodes to the fill value.
            empty = np.full((*chunks_per_shard, 2), EMPTY, dtype=np.uint64)
            shard = self.index_pipeline.encode(empty, _index_spec(chunks_per_shard))
        return shard

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """The whole shard stored as ``data``; empty inner chunks hold the fill value.

        Raises CodecError when the shard or one of its inner chunks is corrupt or truncated.
        """
        chunks_per_shard = self.chunks_per_shard(spec.shape)
        size = byte_length(data)
        index_size = self.index_size(chunks_per_shard)
        if size < index_size:
            raise CodecError(f"shard of {size} bytes is too short to hold its {index_size}-byte index")
        view = memoryview(data).cast("B")
        index_bytes = view[:index_size] if self.index_location == "start" else view[size - index_size :]
        index = self.decode_index(index_bytes, chunks_per_shard, size)
        if (index.entries[..., 0] == EMPTY).any():
            shard = np.full(spec.shape, spec.fill_value, dtype=spec.dtype)
        else:
            shard = np.empty(spec.shape, dtype=spec.dtype)
        inner_spec = self.inner_spec(spec)
        for position, inner_bytes in index.inner_chunks(view):
            shard[self._region(position)] = self.inner_pipeline.decode(inner_bytes, inner_spec)
        return shard

    def _region(self, position: tuple[int, ...]) -> tuple[slice, ...]:
        return tuple(slice(i * n, (i + 1) * n) for i, n in zip(position, self.chunk_shape))


def _index_spec(chunks_per_shard: tuple[int, ...]) -> ChunkSpec:
    """The spec of the index of a shard of ``chunks_per_shard`` inner chunks."""
    return ChunkSpec((*chunks_per_shard, 2), _INDEX_DTYPE, EMPTY)
