"""CachingStore: a local on-disk read cache in front of any store, bounded in size; ``cache::<url>``.

Each value read (or byte range of one) is kept in a file under the cache directory: one
sub-directory per store key (named by a hash of the store's namespace and the key), one file per
byte range in it (``all`` for the whole value, ``r<offset>-<length>``, ``r<offset>-end``,
``s<n>`` for a suffix). Files are written to a temporary name and renamed, so a reader never sees a
partial entry. A range is served from the cached whole value when there is one.

The cache holds at most ``max_bytes`` of values: when an entry would exceed the bound, the least
recently used entries are removed first (recency survives restarts through the files' modification
times). Missing keys are not cached. Writes and deletes through the CachingStore go to the inner
store and then drop that key's entries; changes made to the inner store by others are not seen
until the entries are evicted, so cache data that does not change underneath (or is written only
through this store). Several processes may share a directory; each enforces the bound on the
entries it knows of.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zarrkit.errors import PermissionDenied, StoreError
from zarrkit.runtime import run_in_pool
from zarrkit.storage.base import ByteRange, ReadRequest, Store, check_byte_range, resolve_byte_range, slice_byte_range
from zarrkit.storage.url import open_store, register_protocol

DEFAULT_MAX_BYTES = 1 << 30
"""The size bound of a cache opened from a ``cache::`` URL without ``cache_max_bytes``: 1 GiB."""

_WHOLE = "all"
_TEMP_SUFFIX = ".tmp"
# Only files laid out as this module writes them are ever indexed or evicted, so a cache pointed at
# a directory that holds other files leaves them alone.
_ENTRY_PATTERN = re.compile(r"[0-9a-f]{2}/[0-9a-f]{38}/(all|r\d+-(\d+|end)|s\d+)")
_TEMP_PATTERN = re.compile(r"[0-9a-f]{2}/[0-9a-f]{38}/\..*\.[0-9a-f]{12}\.tmp")


def default_cache_directory() -> Path:
    """``$XDG_CACHE_HOME/zarrkit`` (``~/.cache/zarrkit`` when the variable is unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "zarrkit"


def _range_tag(byte_range: ByteRange | None) -> str:
    """The file name of a byte range's entry within its key's directory."""
    if byte_range is None:
        return _WHOLE
    offset, length = byte_range
    if offset < 0:
        return f"s{-offset}"
    return f"r{offset}-{'end' if length is None else length}"


class CachingStore(Store):
    """A read cache in ``directory`` in front of ``inner``, holding at most ``max_bytes`` of values.

    ``namespace`` names the inner store's content in the cache (a ``cache::`` URL uses its inner
    URL): stores given the same namespace and directory share entries, also across runs. Without
    one, the entries belong to this CachingStore alone. Reads that miss go to the inner store in one
    ``get_many`` and are then cached; listings and sizes always come from the inner store. The
    store is read-only when ``inner`` is. ``close_store`` makes :meth:`close` close ``inner`` too.
    """

    def __init__(
        self,
        inner: Store,
        directory: str | os.PathLike[str],
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        namespace: str | None = None,
        close_store: bool = False,
    ) -> None:
        """Open (or create) the cache directory and index the entries already in it.

        Raises StoreError for a negative ``max_bytes`` or a directory that cannot be created,
        PermissionDenied when it may not be.
        """
        super().__init__(read_only=inner.read_only)
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise StoreError(f"max_bytes of the cache in {os.fsdecode(directory)!r} must be >= 0, got {max_bytes!r}")
        self.inner = inner
        self.directory = Path(directory).absolute()
        self.max_bytes = max_bytes
        self.namespace = namespace if namespace is not None else f"private-{secrets.token_hex(16)}"
        self.supports_listing = inner.supports_listing
        self._close_store = close_store
        self._lock = threading.Lock()
        self._entries: OrderedDict[Path, int] = OrderedDict()  # least recently used first
        self._total = 0
        # Counts writes through this store, so that a read that overlapped a write does not cache
        # what it read: the value may predate the write.
        self._writes = 0
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._index_existing_entries()
        except PermissionError as error:
            raise PermissionDenied(f"cannot use cache directory {str(self.directory)!r}: {error}") from error
        except OSError as error:
            raise StoreError(f"cannot use cache directory {str(self.directory)!r}: {error}") from error

    def __repr__(self) -> str:
        return f"CachingStore({self.inner!r}, {str(self.directory)!r}, max_bytes={self.max_bytes})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled cache indexes the directory afresh; the namespace keeps its entries shared.
        options = {"namespace": self.namespace, "close_store": self._close_store}
        return (functools.partial(CachingStore, **options), (self.inner, self.directory, self.max_bytes))

    @property
    def cached_bytes(self) -> int:
        """The bytes of values this store knows to be in the cache directory."""
        return self._total

    # -- the cache files (blocking; run in the pool) ----------------------------------------------

    def _key_directory(self, key: str) -> Path:
        digest = hashlib.sha256(f"{self.namespace}\0{key}".encode()).hexdigest()
        return self.directory / digest[:2] / digest[2:40]

    def _index_existing_entries(self) -> None:
        found: list[tuple[float, Path, int]] = []
        for path in self.directory.glob("*/*/*"):
            relative = path.relative_to(self.directory).as_posix()
            if _TEMP_PATTERN.fullmatch(relative):
                path.unlink(missing_ok=True)  # left by a writer that died before renaming it
            elif _ENTRY_PATTERN.fullmatch(relative):
                status = path.stat()
                found.append((status.st_mtime, path, status.st_size))
        for _, path, size in sorted(found):
            self._entries[path] = size
            self._total += size
        self._evict(keep=None)

    def _cache_error(self, error: OSError) -> StoreError:
        if isinstance(error, PermissionError):
            return PermissionDenied(f"cache directory {str(self.directory)!r}: {error}")
        return StoreError(f"cache directory {str(self.directory)!r} failed: {error}")

    def _lookup_all(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        try:
            return [self._lookup(key, byte_range) for key, byte_range in requests]
        except OSError as error:
            raise self._cache_error(error) from error

    def _lookup(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        key_directory = self._key_directory(key)
        value = self._read_entry(key_directory / _range_tag(byte_range))
        if value is None and byte_range is not None:
            whole = self._read_entry(key_directory / _WHOLE)
            value = None if whole is None else slice_byte_range(whole, byte_range)
        return value

    def _read_entry(self, path: Path) -> bytes | None:
        try:
            with open(path, "rb") as file:
                value = file.read()
            os.utime(path)  # the recency a later run's index starts from
        except FileNotFoundError:
            with self._lock:
                self._forget(path)
            return None
        with self._lock:
            if path in self._entries:
                self._entries.move_to_end(path)
        return value

    def _store_all(self, items: Sequence[tuple[str, ByteRange | None, bytes]], writes_before: int) -> None:
        try:
            for key, byte_range, value in items:
                if len(value) <= self.max_bytes:
                    self._store(key, byte_range, value, writes_before)
        except OSError as error:
            raise self._cache_error(error) from error

    def _store(self, key: str, byte_range: ByteRange | None, value: bytes, writes_before: int) -> None:
        key_directory = self._key_directory(key)
        path = key_directory / _range_tag(byte_range)
        temp_path = key_directory / f".{path.name}.{secrets.token_hex(6)}{_TEMP_SUFFIX}"
        key_directory.mkdir(parents=True, exist_ok=True)
        try:
            temp_path.write_bytes(value)
        except OSError:
            temp_path.unlink(missing_ok=True)
            raise
        with self._lock:
            if self._writes != writes_before:
                temp_path.unlink()  # something was written while we read: this value may be stale
                return
            os.replace(temp_path, path)
            self._forget(path)
            self._entries[path] = len(value)
            self._total += len(value)
            self._evict(keep=path)

    def _evict(self, keep: Path | None) -> None:
        """Remove least recently used entries (never ``keep``) until the bound holds. Holds the lock."""
        while self._total > self.max_bytes and self._entries:
            path, size = next(iter(self._entries.items()))
            if path == keep:
                self._entries.move_to_end(path)
                if len(self._entries) == 1:
                    return
                continue
            self._forget(path)
            path.unlink(missing_ok=True)
            try:
                path.parent.rmdir()
            except OSError:
                pass  # other ranges of the key are still cached

    def _forget(self, path: Path) -> None:
        size = self._entries.pop(path, None)
        if size is not None:
            self._total -= size

    def _invalidate(self, keys: Sequence[str]) -> None:
        """Drop every cached range of ``keys``, and make reads in flight not cache what they read."""
        with self._lock:
            self._writes += 1
            for key in keys:
                key_directory = self._key_directory(key)
                try:
                    names = os.listdir(key_directory)
                except FileNotFoundError:
                    continue
                for name in names:
                    self._forget(key_directory / name)
                shutil.rmtree(key_directory, ignore_errors=True)

    # -- the Store protocol -----------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the byte range of it), from the cache or else from the inner
        store; ``None`` if it is missing. Raises as the inner store does."""
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of requests, in order: cached ones from the cache directory, the
        rest from the inner store in one ``get_many`` (and then cached)."""
        for key, byte_range in requests:
            check_byte_range(key, byte_range)
        if not requests:
            return []
        values = await run_in_pool(self._lookup_all, requests)
        misses = [index for index, value in enumerate(values) if value is None]
        if not misses:
            return values
        writes_before = self._writes
        fetched = await self.inner.get_many([requests[index] for index in misses])
        to_store = []
        for index, value in zip(misses, fetched):
            values[index] = value
            if value is not None:
                key, byte_range = requests[index]
                to_store.append((key, byte_range, value))
        if to_store:
            await run_in_pool(self._store_all, to_store, writes_before)
        return values

    async def get_with_size(self, key: str, byte_range: ByteRange | None = None) -> tuple[bytes, int] | None:
        """The bytes of ``byte_range`` of ``key`` and the whole value's size; ``None`` if it is missing.

        The size always comes from the inner store: a cached range costs the inner store's size
        request, a miss its ``get_with_size`` (whose bytes are then cached). A cached range whose
        length disagrees with the size is not served. Raises as the inner store does.
        """
        check_byte_range(key, byte_range)
        cached = (await run_in_pool(self._lookup_all, [(key, byte_range)]))[0]
        if cached is not None:
            size = await self.inner.getsize(key)
            if size is None:
                return None
            start, stop = resolve_byte_range(byte_range, size)
            if len(cached) == stop - start:
                return cached, size
        writes_before = self._writes
        fetched = await self.inner.get_with_size(key, byte_range)
        if fetched is not None:
            await run_in_pool(self._store_all, [(key, byte_range, fetched[0])], writes_before)
        return fetched

    async def exists(self, key: str) -> bool:
        """True if ``key`` holds a value in the inner store."""
        return await self.inner.exists(key)

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in the inner store, or ``None`` if it is missing."""
        return await self.inner.getsize(key)

    async def list(self, prefix: str = "") -> list[str]:
        """Every key of the inner store that starts with ``prefix``, sorted."""
        return await self.inner.list(prefix)

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The inner store's keys directly below ``prefix`` and its sub-prefixes, each sorted."""
        return await self.inner.list_dir(prefix)

    async def set(self, key: str, value: bytes) -> None:
        """Write ``value`` to the inner store, then drop the cached entries of ``key``.

        Raises ReadOnlyError on a read-only store, and as the inner store does.
        """
        await self.set_many([(key, value)])

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Write a batch to the inner store, then drop the cached entries of those keys."""
        if items:
            self._check_writable(items[0][0])
            try:
                await self.inner.set_many(items)
            finally:
                await run_in_pool(self._invalidate, [key for key, _ in items])

    async def delete(self, key: str) -> None:
        """Remove ``key`` from the inner store and its entries from the cache."""
        await self.delete_many([key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys from the inner store and their entries from the cache."""
        if keys:
            self._check_writable(keys[0])
            try:
                await self.inner.delete_many(keys)
            finally:
                await run_in_pool(self._invalidate, keys)

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix`` from the inner store and the cache."""
        self._check_writable(prefix)
        keys = await self.inner.list(prefix)
        try:
            await self.inner.delete_prefix(prefix)
        finally:
            await run_in_pool(self._invalidate, keys)

    def close(self) -> None:
        """Close the inner store if this store was told to (``close_store``); the cache files stay."""
        if self._close_store:
            self.inner.close()


_CACHE_OPTIONS = ("cache_directory", "cache_max_bytes")


def open_cache(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """The opener of ``cache::<url>``: a CachingStore in front of the store ``<url>`` names.

    ``storage_options`` may hold ``cache_directory`` (default :func:`default_cache_directory`) and
    ``cache_max_bytes`` (default :data:`DEFAULT_MAX_BYTES`); the other options go to the inner
    store. The cache's namespace is the inner URL with those options, so runs that open the same
    URL with the same options share entries.
    Raises StoreError (or what the inner store's opener raises) naming the URL.
    """
    inner_url = url[len("cache::") :]
    if not inner_url:
        raise StoreError(f"{url!r} names no store to cache: use cache::<url>")
    directory = storage_options.pop("cache_directory", None) or default_cache_directory()
    max_bytes = storage_options.pop("cache_max_bytes", DEFAULT_MAX_BYTES)
    namespace = inner_url + json.dumps(storage_options, sort_keys=True, default=repr) if storage_options else inner_url
    inner = open_store(inner_url, mode=mode, storage_options=storage_options)
    try:
        return CachingStore(inner, directory, max_bytes, namespace=namespace, close_store=True)
    except BaseException:
        inner.close()
        raise


register_protocol("cache", open_cache)
