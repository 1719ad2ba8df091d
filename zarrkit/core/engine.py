"""The chunk engine: turns a selection of an array into batched chunk reads and writes.

One call touches the store as few times as it can. The chunks a selection needs are cut into
batches of a few MiB; each batch is one ``get_many`` (or ``set_many``) call, and is decoded (or
encoded) in the codec pool while later batches are still being fetched. Stores whose reads are
local blocking calls (see ``Store.blocking_reader``) are read and decoded in the same pool task. A
bound on the batches in flight bounds the memory a call holds.

Sharded arrays are read inner chunk by inner chunk: for a shard the selection only touches in part,
the engine fetches the shard index (one byte range), then the byte ranges of the inner chunks it
needs; a shard the selection covers whole is fetched in one request. Writes build whole shards; a
shard that is only partly overwritten is read first and its untouched inner chunks are kept as
they are, without re-encoding.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.fill import FillMatcher
from zarrkit.codecs.pipeline import chunk_spec, pipeline_for
from zarrkit.codecs.sharding import ShardIndex
from zarrkit.core.chunk_grid import ceil_div
from zarrkit.core.indexing import ChunkProjection
from zarrkit.errors import CodecError
from zarrkit.metadata import ArrayMetadata
from zarrkit.runtime import pool_size, run_in_pool
from zarrkit.storage.base import ReadRequest, Store

BATCH_BYTES = 8 * 2**20
"""Decoded bytes per batch: large enough to amortize a store call, small enough to overlap work."""

MAX_BATCH_CHUNKS = 1024

Batch = list[ChunkProjection]


class ChunkEngine:
    """Reads and writes selections of one array, given as chunk projections from an indexer."""

    def __init__(self, store: Store, path: str, metadata: ArrayMetadata, *, write_empty_chunks: bool) -> None:
        self.store = store
        self.path = path
        self.metadata = metadata
        self.write_empty_chunks = write_empty_chunks
        self.fill_value = metadata.resolved_fill_value
        self._key_prefix = f"{path}/" if path else ""
        pipeline = pipeline_for(metadata, path=path)
        spec = chunk_spec(metadata)
        self.sharding = pipeline.sharding
        if self.sharding is None:
            self._pipeline = pipeline
            self.chunk_shape = spec.shape
            self._spec = spec
        else:
            # The unit of reading and writing is the inner chunk; the store holds whole shards.
            self._pipeline = self.sharding.inner_pipeline
            self.chunk_shape = tuple(self.sharding.chunk_shape)
            self._spec = ChunkSpec(self.chunk_shape, spec.dtype, spec.fill_value)
            self._chunks_per_shard = self.sharding.chunks_per_shard(spec.shape)
            self._index_range = self.sharding.index_byte_range(self._chunks_per_shard)
        self._fill = FillMatcher(self.fill_value, metadata.dtype)
        chunk_nbytes = max(1, math.prod(self.chunk_shape) * max(metadata.dtype.itemsize, 1))
        self._batch_chunks = max(1, min(MAX_BATCH_CHUNKS, BATCH_BYTES // chunk_nbytes))

    # -- keys -------------------------------------------------------------------------------------

    def storage_key(self, storage_coords: tuple[int, ...]) -> str:
        """The store key of the chunk (or shard) at ``storage_coords`` in the metadata's chunk grid."""
        return self._key_prefix + self.metadata.chunk_key(storage_coords)

    def _shard_of(self, inner_coords: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(c // n for c, n in zip(inner_coords, self._chunks_per_shard))

    def _position_in_shard(self, inner_coords: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(c % n for c, n in zip(inner_coords, self._chunks_per_shard))

    # -- reading ----------------------------------------------------------------------------------

    async def read(self, projections: Iterable[ChunkProjection], out: np.ndarray) -> None:
        """Fill ``out`` from the chunks of ``projections``; missing chunks read as the fill value.

        Raises CodecError naming the key of a chunk that cannot be decoded, and whatever the store
        raises for failures other than a missing key.
        """
        reader = self.store.blocking_reader()
        if self.sharding is None and reader is not None:
            # Reads are local blocking calls: read and decode each batch in one pool task, which
            # spares two hand-overs between threads per batch (a third faster on 16 KiB chunks).
            batches = self._batches(projections)
            await _bounded_gather(partial(run_in_pool, self._read_and_decode, reader, batch, out) for batch in batches)
            return
        if self.sharding is None:
            work = [(batch, partial(self._fetch_chunks, batch)) for batch in self._batches(projections)]
        else:
            work = [(b.projections, partial(self._fetch_inner_chunks, b)) for b in self._shard_batches(projections)]

        async def read_batch(batch: Batch, fetch: Callable[[], Awaitable[list[Any]]]) -> None:
            chunks = await fetch()
            await run_in_pool(self._decode_into, batch, chunks, out)

        await _bounded_gather(partial(read_batch, batch, fetch) for batch, fetch in work)

    def _read_and_decode(
        self, reader: Callable[[Sequence[ReadRequest]], list[Any]], batch: Batch, out: np.ndarray
    ) -> None:
        self._decode_into(batch, reader([(self.storage_key(p.chunk_coords), None) for p in batch]), out)

    async def _fetch_chunks(self, batch: Batch) -> list[Any]:
        return await self.store.get_many([(self.storage_key(p.chunk_coords), None) for p in batch])

    async def _fetch_inner_chunks(self, shard_batch: ShardBatch) -> list[Any]:
        """The encoded inner chunks of a batch (None where missing), fetched shard by shard."""
        batch, by_shard = shard_batch.projections, shard_batch.shards
        whole = [s for s, members in by_shard.items() if len(members) == self._inner_chunks_inside(s)]
        ranged = [s for s, members in by_shard.items() if len(members) != self._inner_chunks_inside(s)]
        answers = await self.store.get_many(
            [(self.storage_key(s), None) for s in whole] + [(self.storage_key(s), self._index_range) for s in ranged]
        )
        found: list[Any] = [None] * len(batch)
        shards = [(shard_coords, blob) for shard_coords, blob in zip(whole, answers) if blob is not None]
        if shards:
            # Cutting thousands of inner chunks out of whole shards is Python work: keep it off the loop.
            await run_in_pool(self._cut_shards, batch, by_shard, shards, found)
        requests: list[tuple[str, tuple[int, int]]] = []
        wanted: list[int] = []
        for shard_coords, index_blob in zip(ranged, answers[len(whole) :]):
            if index_blob is None:
                continue
            index = self._decode_index(shard_coords, index_blob, None)
            for position in by_shard[shard_coords]:
                byte_range = index.byte_range(self._position_in_shard(batch[position].chunk_coords))
                if byte_range is not None:
                    requests.append((self.storage_key(shard_coords), byte_range))
                    wanted.append(position)
        if requests:
            for position, (key, (_, length)), data in zip(wanted, requests, await self.store.get_many(requests)):
                if data is None or len(data) != length:
                    # The index promised these bytes: a shard that vanished or shrank is corrupt.
                    got = "nothing" if data is None else f"{len(data)} bytes"
                    raise CodecError(
                        f"shard {key!r} is truncated: inner chunk "
                        f"{self._position_in_shard(batch[position].chunk_coords)} should have {length} bytes, got {got}"
                    )
                found[position] = data
        return found

    def _cut_shards(
        self, batch: Batch, by_shard: dict[Any, list[int]], shards: list[tuple[tuple[int, ...], Any]], found: list[Any]
    ) -> None:
        """Fill ``found`` with the inner chunks of ``batch`` sliced out of whole shards (None where empty)."""
        for shard_coords, blob in shards:
            index = self._decode_index(shard_coords, _index_bytes(blob, self._index_range), len(blob))
            view = memoryview(blob)
            for position in by_shard[shard_coords]:
                byte_range = index.byte_range(self._position_in_shard(batch[position].chunk_coords))
                if byte_range is not None:
                    offset, length = byte_range
                    found[position] = view[offset : offset + length]

    def _decode_index(self, shard_coords: tuple[int, ...], data: Any, shard_size: int | None) -> ShardIndex:
        try:
            return self.sharding.decode_index(data, self._chunks_per_shard, shard_size)
        except Exception as error:
            raise CodecError(f"shard index of {self.storage_key(shard_coords)!r}: {error}") from error

    def _decode_into(self, batch: Batch, chunks: Sequence[Any], out: np.ndarray) -> None:
        fill_value = self.fill_value
        for projection, data in zip(batch, chunks):
            if data is None:
                out[projection.out_selection] = fill_value
            else:
                chunk = self._decode(data, projection.chunk_coords)
                out[projection.out_selection] = chunk[projection.chunk_selection]

    def _decode(self, data: Any, chunk_coords: tuple[int, ...]) -> np.ndarray:
        try:
            return self._pipeline.decode(data, self._spec)
        except Exception as error:
            raise CodecError(f"cannot decode chunk {self._describe_chunk(chunk_coords)}: {error}") from error

    def _describe_chunk(self, chunk_coords: tuple[int, ...]) -> str:
        if self.sharding is None:
            return repr(self.storage_key(chunk_coords))
        shard_key = self.storage_key(self._shard_of(chunk_coords))
        return f"{self._position_in_shard(chunk_coords)} of shard {shard_key!r}"

    # -- writing ----------------------------------------------------------------------------------

    async def write(self, projections: Iterable[ChunkProjection], value: np.ndarray) -> None:
        """Write ``value`` (already of the selection's shape and the array's dtype) into the chunks.

        Chunks that end up equal to the fill value are deleted rather than stored, unless the engine
        writes empty chunks. Raises CodecError for existing chunks that cannot be decoded.
        """
        if self.sharding is None:
            jobs = [partial(self._write_batch, batch, value) for batch in self._batches(projections)]
        else:
            jobs = [partial(self._write_shards, batch, value) for batch in self._shard_batches(projections)]
        await _bounded_gather(jobs)

    async def _write_batch(self, batch: Batch, value: np.ndarray) -> None:
        keys = [self.storage_key(p.chunk_coords) for p in batch]
        incomplete = [i for i, p in enumerate(batch) if not p.is_complete_chunk]
        existing: dict[int, Any] = {}
        if incomplete:
            existing = dict(zip(incomplete, await self.store.get_many([(keys[i], None) for i in incomplete])))
        encoded = await run_in_pool(self._merge_and_encode_batch, batch, existing, value)
        await self._put(list(zip(keys, encoded)))

    def _merge_and_encode_batch(self, batch: Batch, existing: dict[int, Any], value: np.ndarray) -> list[Any]:
        return [self._merge_and_encode(p, existing.get(i), value) for i, p in enumerate(batch)]

    def _merge_and_encode(self, projection: ChunkProjection, old: Any, value: np.ndarray) -> bytes | None:
        """The encoded chunk after writing ``value`` into it, or None when it holds only fill values."""
        if old is not None and not projection.is_complete_chunk:
            chunk = np.array(self._decode(old, projection.chunk_coords))
        elif projection.is_complete_chunk and not self._is_edge(projection.chunk_coords):
            chunk = np.empty(self.chunk_shape, dtype=self.metadata.dtype)
        else:
            chunk = np.full(self.chunk_shape, self.fill_value, dtype=self.metadata.dtype)
        chunk[projection.chunk_selection] = value[projection.out_selection]
        if not self.write_empty_chunks and self._fill.matches(chunk):
            return None
        try:
            return self._pipeline.encode(chunk, self._spec)
        except Exception as error:
            raise CodecError(f"cannot encode chunk {self._describe_chunk(projection.chunk_coords)}: {error}") from error

    async def _write_shards(self, shard_batch: ShardBatch, value: np.ndarray) -> None:
        batch, by_shard = shard_batch.projections, shard_batch.shards
        shards = list(by_shard)
        keys = [self.storage_key(s) for s in shards]
        # A shard whose every inner chunk is overwritten whole is built without reading it.
        incomplete = [
            i
            for i, s in enumerate(shards)
            if len(by_shard[s]) != self._inner_chunks_inside(s)
            or not all(batch[k].is_complete_chunk for k in by_shard[s])
        ]
        existing: dict[int, Any] = {}
        if incomplete:
            existing = dict(zip(incomplete, await self.store.get_many([(keys[i], None) for i in incomplete])))
        encoded = await run_in_pool(
            lambda: [
                self._build_shard(s, [batch[k] for k in by_shard[s]], existing.get(i), value)
                for i, s in enumerate(shards)
            ]
        )
        await self._put(list(zip(keys, encoded)))

    def _build_shard(
        self, shard_coords: tuple[int, ...], projections: Batch, old_shard: Any, value: np.ndarray
    ) -> bytes | None:
        inner: dict[tuple[int, ...], Any] = {}
        if old_shard is not None:
            index = self._decode_index(shard_coords, _index_bytes(old_shard, self._index_range), len(old_shard))
            inner.update(index.inner_chunks(old_shard))
        for projection in projections:
            position = self._position_in_shard(projection.chunk_coords)
            encoded = self._merge_and_encode(projection, inner.get(position), value)
            if encoded is None:
                inner.pop(position, None)
            else:
                inner[position] = encoded
        return self.sharding.encode_shard(inner, self._chunks_per_shard)

    async def _put(self, encoded: list[tuple[str, bytes | None]]) -> None:
        await self.store.set_many([(key, data) for key, data in encoded if data is not None])
        await self.store.delete_many([key for key, data in encoded if data is None])

    # -- helpers ----------------------------------------------------------------------------------

    def _is_edge(self, chunk_coords: tuple[int, ...]) -> bool:
        return any((c + 1) * n > s for c, n, s in zip(chunk_coords, self.chunk_shape, self.metadata.shape))

    def _inner_chunks_inside(self, shard_coords: tuple[int, ...]) -> int:
        """How many inner chunks of a shard lie (at least partly) inside the array."""
        count = 1
        for shard_index, per_shard, inner, length in zip(
            shard_coords, self._chunks_per_shard, self.chunk_shape, self.metadata.shape
        ):
            count *= max(0, min(per_shard, ceil_div(length, inner) - shard_index * per_shard))
        return count

    def _batches(self, projections: Iterable[ChunkProjection]) -> list[Batch]:
        items = list(projections)
        size = self._batch_size(len(items))
        return [items[i : i + size] for i in range(0, len(items), size)]

    def _shard_batches(self, projections: Iterable[ChunkProjection]) -> list[ShardBatch]:
        """Batches that never split a shard, so each shard is fetched or written by one batch."""
        items = list(projections)
        by_shard: dict[tuple[int, ...], list[ChunkProjection]] = {}
        for projection in items:
            by_shard.setdefault(self._shard_of(projection.chunk_coords), []).append(projection)
        size = self._batch_size(len(items))
        batches: list[ShardBatch] = []
        current = ShardBatch([], {})
        for shard_coords, members in by_shard.items():
            start = len(current.projections)
            current.projections.extend(members)
            current.shards[shard_coords] = list(range(start, start + len(members)))
            if len(current.projections) >= size:
                batches.append(current)
                current = ShardBatch([], {})
        if current.projections:
            batches.append(current)
        return batches

    def _batch_size(self, count: int) -> int:
        # About eight batches per codec thread, so reading and decoding overlap even for small
        # selections and no thread idles at the end; none larger than BATCH_BYTES.
        return max(1, min(self._batch_chunks, ceil_div(count, 8 * pool_size())))


@dataclass
class ShardBatch:
    """The inner-chunk projections of a few whole shards, and where each shard's are in the list."""

    projections: Batch
    shards: dict[tuple[int, ...], list[int]]


def _index_bytes(shard: Any, index_range: tuple[int, int | None]) -> memoryview:
    offset, length = index_range
    view = memoryview(shard)
    return view[offset:] if length is None else view[offset : offset + length]


async def _bounded_gather(jobs: Iterable[Callable[[], Awaitable[None]]]) -> None:
    """Run ``jobs`` with at most two per codec thread in flight, failing on the first error.

    Jobs are started only when a place is free, so after a failure the rest are never started.
    """
    limit = asyncio.Semaphore(2 * pool_size())

    async def bounded(job: Callable[[], Awaitable[None]]) -> None:
        async with limit:
            await job()

    tasks = [asyncio.ensure_future(bounded(job)) for job in jobs]
    if not tasks:
        return
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
