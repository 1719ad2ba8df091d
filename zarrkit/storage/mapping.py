"""MappingStore: any ``MutableMapping[str, bytes]`` (a dict, a zarr v2 store, an fsspec map) as a store."""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from zarrkit.errors import PermissionDenied, StoreError, ZarrkitError
from zarrkit.storage.base import ByteRange, ReadRequest, Store, as_bytes, check_byte_range, slice_byte_range

T = TypeVar("T")


class MappingStore(Store):
    """A store over a ``MutableMapping``: a ``KeyError`` from the mapping means a missing key.

    The mapping may block (an fsspec map does network I/O), need not be thread-safe and may call
    back into zarrkit (a mapping wrapped around another store's :meth:`~Store.mapping` view does),
    so every call into it runs on a thread of this store's own: one call at a time, and never on a
    codec pool thread that the inner store may need. A ``get_many`` or ``set_many`` batch is one
    call. Values the mapping returns are handed out as ``bytes``.
    """

    def __init__(self, mapping: MutableMapping[str, bytes], *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.wrapped = mapping
        self._mapping_thread: ThreadPoolExecutor | None = _one_thread()
        _open_stores.add(self)

    def __repr__(self) -> str:
        return f"MappingStore({type(self.wrapped).__name__}, read_only={self.read_only})"

    async def _call(self, what: str, function: Callable[..., T], *args: object) -> T:
        mapping_thread = self._mapping_thread
        if mapping_thread is None:
            raise StoreError(f"{what}: {self!r} is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(mapping_thread, self._translated, what, function, *args)

    def _translated(self, what: str, function: Callable[..., T], *args: object) -> T:
        try:
            return function(*args)
        except ZarrkitError:
            raise
        except PermissionError as error:
            raise PermissionDenied(f"{what}: permission denied by {self!r}: {error}") from error
        except OSError as error:
            raise StoreError(f"{what}: {self!r} failed: {error}") from error

    def _read(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        check_byte_range(key, byte_range)
        try:
            value = as_bytes(key, self.wrapped[key])
        except KeyError:
            return None
        return slice_byte_range(value, byte_range)

    def _read_batch(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        return [self._read(key, byte_range) for key, byte_range in requests]

    def _size(self, key: str) -> int | None:
        value = self._read(key, None)
        return None if value is None else len(value)

    def _keys(self, prefix: str) -> list[str]:
        return sorted(key for key in list(self.wrapped) if isinstance(key, str) and key.startswith(prefix))

    def _write_batch(self, items: Sequence[tuple[str, bytes]]) -> None:
        for key, value in items:
            self.wrapped[key] = as_bytes(key, value)

    def _delete_batch(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                del self.wrapped[key]
            except KeyError:
                pass

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` or the requested range of it; ``None`` if the mapping has no such key.

        Raises StoreError for a malformed range or an OSError from the mapping (PermissionDenied
        for a PermissionError).
        """
        return await self._call(f"reading {key!r}", self._read, key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        return await self._call(f"reading {len(requests)} keys", self._read_batch, requests)

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        return await self._call(f"reading {key!r}", self._size, key)

    async def list(self, prefix: str = "") -> list[str]:
        """Every string key of the mapping that starts with ``prefix``, sorted."""
        return await self._call(f"listing {prefix!r}", self._keys, prefix)

    async def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``. Raises ReadOnlyError on a read-only store."""
        self._check_writable(key)
        await self._call(f"writing {key!r}", self._write_batch, [(key, value)])

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store a batch of ``(key, value)`` pairs. Raises ReadOnlyError on a read-only store."""
        for key, _ in items:
            self._check_writable(key)
        await self._call(f"writing {len(items)} keys", self._write_batch, items)

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""
        self._check_writable(key)
        await self._call(f"deleting {key!r}", self._delete_batch, [key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error."""
        for key in keys:
            self._check_writable(key)
        await self._call(f"deleting {len(keys)} keys", self._delete_batch, keys)

    def close(self) -> None:
        """Stop this store's mapping thread once the calls already made are done; later calls raise
        StoreError. The mapping itself is left as it is."""
        mapping_thread, self._mapping_thread = self._mapping_thread, None
        if mapping_thread is not None:
            mapping_thread.shutdown(wait=False)


def _one_thread() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="zarrkit-mapping")


# A forked child inherits each store's executor but not its thread, and would wait forever for it.
_open_stores: weakref.WeakSet[MappingStore] = weakref.WeakSet()


def _new_threads_after_fork() -> None:
    for store in list(_open_stores):
        if store._mapping_thread is not None:
            store._mapping_thread = _one_thread()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_threads_after_fork)
