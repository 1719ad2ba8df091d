"""The file a scanner reads: any path or URL, read through the storage layer with a read-ahead
block cache, as a seekable binary file object that h5py, tifffile and the parsers here accept.

A scanner reads headers, B-tree nodes and tag tables: many small reads close together, and over a
network each request costs a round trip. So the source reads whole blocks (``block_size``, default
1 MiB) and keeps the most recently used ones (``cache_blocks``, default 8):

- Opening asks for the first ``first_blocks`` blocks (default 1) and the file's size in one request
  (``Store.get_with_size``): every format keeps its header at the start, so a header's reads are
  served from that answer, and a file no larger than a block costs exactly one request. The first
  block is never dropped from the cache: parsers keep coming back to the header.
- A read that misses the block right after the last block fetched is a forward scan (a TIFF's tag
  tables one after the other, GRIB messages): it fetches twice as many blocks as the fetch before,
  up to ``cache_blocks // 2``, so a long scan costs few requests while the cache still holds the
  blocks behind it.
- A scanner that will read through most of the file says so (:meth:`ScanSource.expect_long_walk`):
  h5py walking a chunk index that lies among the chunks, in no order at first. The source then
  fetches the next blocks at once, and forward misses fetch up to ``cache_blocks - 2`` blocks.
- Any other miss fetches just the blocks the read needs (one for a small read) and starts the
  growth again: a jump says nothing about where the next read lands.

Blocks already cached are never fetched again, and each run of adjacent blocks is one request. The
source counts the requests and bytes it fetched, so a scan can report what it cost.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from zarrkit.errors import ReferenceError, StoreError, ZarrkitError
from zarrkit.refs.targets import TargetStores, split_target
from zarrkit.runtime import sync
from zarrkit.storage.base import ReadRequest, Store

DEFAULT_BLOCK_SIZE = 1 << 20
"""Bytes fetched per cache block."""

DEFAULT_CACHE_BLOCKS = 8
"""Blocks kept in the cache (the least recently used one goes first)."""

DEFAULT_FIRST_BLOCKS = 1
"""Blocks read when the file is opened, in the same request that learns its size."""


class ScanSource(io.RawIOBase):
    """The file at ``url`` as a read-only, seekable binary file that reads through the storage layer.

    ``storage_options`` go to the store of the URL; ``block_size``, ``cache_blocks`` and
    ``first_blocks`` tune the cache (see the module notes; the first read takes at most
    ``cache_blocks`` blocks). ``requests`` and ``bytes_read`` count what the source fetched. Raises
    StoreError naming the URL for a tuning value that is not positive, and when the file does not
    exist or cannot be read (at open: its first blocks and size are read in one request).
    """

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_blocks: int = DEFAULT_CACHE_BLOCKS,
        first_blocks: int = DEFAULT_FIRST_BLOCKS,
    ) -> None:
        super().__init__()
        self.url = os.fsdecode(url)
        if block_size <= 0 or cache_blocks <= 0 or first_blocks <= 0:
            raise StoreError(f"block_size, cache_blocks and first_blocks must be positive for {self.url!r}")
        self.block_size = block_size
        self.cache_blocks = cache_blocks
        self.requests = 0
        self.bytes_read = 0
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        # The growing read-ahead: where a forward scan's next miss lands, and how many blocks the
        # last fetch took.
        self._next_sequential = 0
        self._previous_fetch = 0
        self._longest_fetch = max(cache_blocks // 2, 1)
        self._long_walk = False
        protocol, _, _ = split_target(self.url)
        self._targets = TargetStores(target_options={protocol: dict(storage_options or {})})
        try:
            self._store, self._key = self._targets.resolve(self.url)
            self.size = self._open(min(first_blocks, cache_blocks))
        except ReferenceError as error:
            self._targets.close()
            raise StoreError(str(error)) from error
        except BaseException:
            self._targets.close()
            raise
        self._blocking_reader = self._store.blocking_reader()

    def _open(self, first_blocks: int) -> int:
        """Read the first blocks into the cache and return the file's size, with one request."""
        first_read = first_blocks * self.block_size
        answer = sync(self._store.get_with_size(self._key, (0, first_read)))
        if answer is None:
            raise StoreError(f"{self.url!r} does not exist")
        data, size = answer
        self.requests = 1
        if len(data) != min(first_read, size):
            raise StoreError(f"reading {self.url!r}: got {len(data)} bytes of its first {first_read}, but it has {size}")
        self._cache_run(0, data)
        self._next_sequential = self._previous_fetch = -(-len(data) // self.block_size)
        return size

    def __repr__(self) -> str:
        return f"ScanSource({self.url!r}, {self.size} bytes)"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset`` from the start, the current position or the end; returns the position."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        position = base + offset
        if position < 0:
            raise ValueError(f"cannot seek to {position} in {self.url!r}")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the current position (fewer bytes at the end of the file)."""
        view = memoryview(buffer).cast("B")
        data = self.read_range(self._position, len(view))
        view[: len(data)] = data
        self._position += len(data)
        return len(data)

    def read_range(self, offset: int, length: int) -> bytes:
        """The bytes ``offset`` to ``offset + length`` (clipped at the end of the file), through the cache.

        Raises StoreError naming the URL when the store fails or the file shrank.
        """
        stop = min(offset + length, self.size)
        if offset >= stop:
            return b""
        first, last = offset // self.block_size, (stop - 1) // self.block_size
        for index in range(first, last + 1):
            if index in self._blocks:
                self._blocks.move_to_end(index)
        missing = [index for index in range(first, last + 1) if index not in self._blocks]
        if missing:
            self._fetch(missing + self._read_ahead(missing, last))
        pieces = []
        for index in range(first, last + 1):
            block = self._blocks[index]
            start = max(offset - index * self.block_size, 0)
            end = min(stop - index * self.block_size, len(block))
            pieces.append(block[start:end])
        # Evict only now, so a read longer than the cache still finds every block it needs. Block 0
        # stays: every format keeps its header there, and parsers come back to it.
        excess = len(self._blocks) - max(self.cache_blocks, last - first + 1)
        for index in [index for index in self._blocks if index != 0][: max(excess, 0)]:
            del self._blocks[index]
        return b"".join(pieces)

    def _read_ahead(self, missing: list[int], last: int) -> list[int]:
        """The blocks after ``last`` to fetch with the ``missing`` blocks of a read ending in block ``last``."""
        if missing[0] != self._next_sequential or missing[-1] != last:
            return []
        wanted = min(2 * self._previous_fetch, self._longest_fetch) - len(missing)
        ahead: list[int] = []
        index = last + 1
        # Stop at a cached block: fetching past it would cost a second request.
        while len(ahead) < wanted and index < self.block_count and index not in self._blocks:
            ahead.append(index)
            index += 1
        return ahead

    @property
    def block_count(self) -> int:
        """The number of blocks the file spans (the last one may be short)."""
        return -(-self.size // self.block_size)

    def expect_long_walk(self) -> None:
        """Tell the source that the scan will read on through most of the file, not in order at
        first (h5py walking a chunk index that lies among the chunks it describes): fetch the blocks
        after the ones read so far now, in one request, and from then on let a forward scan's misses
        fetch all but two of the cache's blocks at once (two stay for the blocks the walk keeps
        coming back to). Only the first call fetches. Raises StoreError as reads do."""
        if self._long_walk:
            return
        self._long_walk = True
        self._longest_fetch = max(self.cache_blocks - 2, 1)
        stop = min(self._next_sequential + self._longest_fetch, self.block_count)
        ahead = [index for index in range(self._next_sequential, stop) if index not in self._blocks]
        if ahead:
            self._fetch(ahead)

    def _fetch(self, indexes: list[int]) -> None:
        """Fetch the blocks ``indexes`` (ascending, none cached): one request per run of adjacent blocks."""
        runs: list[list[int]] = []
        for index in indexes:
            if runs and index == runs[-1][-1] + 1:
                runs[-1].append(index)
            else:
                runs.append([index])
        requests = [(self._key, (run[0] * self.block_size, len(run) * self.block_size)) for run in runs]
        try:
            if self._blocking_reader is not None:
                values = self._blocking_reader(requests)  # local files: read in this thread
            else:
                values = sync(_get_each(self._store, requests))
        except ZarrkitError as error:
            raise StoreError(f"reading {self.url!r}: {error}") from error
        self.requests += len(runs)
        for run, value in zip(runs, values, strict=True):
            expected = min((run[-1] + 1) * self.block_size, self.size) - run[0] * self.block_size
            if value is None or len(value) != expected:
                raise StoreError(f"reading {self.url!r}: the file changed or shrank while it was scanned")
            self._cache_run(run[0], value)
        self._next_sequential = indexes[-1] + 1
        self._previous_fetch = len(indexes)

    def _cache_run(self, first: int, data: bytes) -> None:
        """Cache ``data``, read from the start of block ``first``, as blocks, and count its bytes."""
        self.bytes_read += len(data)
        for start in range(0, len(data), self.block_size):
            self._blocks[first + start // self.block_size] = data[start : start + self.block_size]

    def close(self) -> None:
        """Drop the cache and close the store."""
        self._blocks.clear()
        self._targets.close()
        super().close()


async def _get_each(store: Store, requests: Sequence[ReadRequest]) -> list[bytes | None]:
    # One get per run rather than one get_many: a store that coalesces a batch (ObjectStore merges
    # ranges up to 1 MiB apart) would fetch the cached blocks between the runs again, and the
    # request and byte counts would no longer be what went over the wire.
    return list(await asyncio.gather(*(store.get(key, byte_range) for key, byte_range in requests)))
