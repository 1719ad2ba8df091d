"""The file a scanner reads: any path or URL, read through the storage layer with a read-ahead
block cache, as a seekable binary file object that h5py, tifffile and the parsers here accept.

A scanner reads headers, B-tree nodes and tag tables: many small reads close together. Each read
that misses the cache fetches whole blocks (``block_size``, default 1 MiB) with one ``get_many``,
so a header parsed in a hundred small reads costs a request or two. The source counts the requests
and bytes it fetched, so a scan can report what it cost.
"""

from __future__ import annotations

import io
import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from zarrkit.errors import ReferenceError, StoreError, ZarrkitError
from zarrkit.refs.targets import TargetStores, split_target
from zarrkit.runtime import sync

DEFAULT_BLOCK_SIZE = 1 << 20
"""Bytes fetched per cache block."""

DEFAULT_CACHE_BLOCKS = 8
"""Blocks kept in the cache (the least recently used one goes first)."""


class ScanSource(io.RawIOBase):
    """The file at ``url`` as a read-only, seekable binary file that reads through the storage layer.

    ``storage_options`` go to the store of the URL. Raises StoreError naming the URL when the file
    does not exist or cannot be read (at open: its size is asked for once).
    """

    def __init__(
        self,
        url: str | os.PathLike[str],
        *,
        storage_options: Mapping[str, Any] | None = None,
        block_size: int = DEFAULT_BLOCK_SIZE,
        cache_blocks: int = DEFAULT_CACHE_BLOCKS,
    ) -> None:
        super().__init__()
        self.url = os.fsdecode(url)
        if block_size <= 0 or cache_blocks <= 0:
            raise StoreError(f"block_size and cache_blocks must be positive for {self.url!r}")
        self.block_size = block_size
        self.cache_blocks = cache_blocks
        protocol, _, _ = split_target(self.url)
        self._targets = TargetStores(target_options={protocol: dict(storage_options or {})})
        try:
            self._store, self._key = self._targets.resolve(self.url)
            size = sync(self._store.getsize(self._key))
        except ReferenceError as error:
            raise StoreError(str(error)) from error
        if size is None:
            raise StoreError(f"{self.url!r} does not exist")
        self.size = size
        self._blocking_reader = self._store.blocking_reader()
        self.requests = 1  # the size request
        self.bytes_read = 0
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

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
        self._fetch([index for index in range(first, last + 1) if index not in self._blocks])
        pieces = []
        for index in range(first, last + 1):
            block = self._blocks[index]
            start = max(offset - index * self.block_size, 0)
            end = min(stop - index * self.block_size, len(block))
            pieces.append(block[start:end])
        # Evict only now, so a read longer than the cache still finds every block it needs.
        while len(self._blocks) > max(self.cache_blocks, last - first + 1):
            self._blocks.popitem(last=False)
        return b"".join(pieces)

    def _fetch(self, indexes: list[int]) -> None:
        if not indexes:
            return
        requests = [(self._key, (index * self.block_size, self.block_size)) for index in indexes]
        try:
            if self._blocking_reader is not None:
                blocks = self._blocking_reader(requests)  # local files: read in this thread
            else:
                blocks = sync(self._store.get_many(requests))
        except ZarrkitError as error:
            raise StoreError(f"reading {self.url!r}: {error}") from error
        # Adjacent blocks travel in one request (object stores merge adjacent ranges).
        self.requests += 1 + sum(1 for before, after in zip(indexes, indexes[1:]) if after != before + 1)
        for index, block in zip(indexes, blocks, strict=True):
            expected = min(self.block_size, self.size - index * self.block_size)
            if block is None or len(block) != expected:
                raise StoreError(f"reading {self.url!r}: the file changed or shrank while it was scanned")
            self.bytes_read += len(block)
            self._blocks[index] = block

    def close(self) -> None:
        """Drop the cache and close the store."""
        self._blocks.clear()
        self._targets.close()
        super().close()
