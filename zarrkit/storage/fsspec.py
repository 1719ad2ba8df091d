"""The fsspec bridge, both ways.

- :class:`FsspecStore` serves any fsspec filesystem as a zarrkit Store. Async filesystems (s3fs,
  gcsfs, adlfs, http) are driven natively: their coroutines run on fsspec's loop (or on the loop
  that awaits the store, for a filesystem made with ``asynchronous=True``) while zarrkit's loop
  waits without blocking. Synchronous filesystems (local, memory, sftp, ...) run in the codec pool.
- :func:`store_as_filesystem` and :func:`store_as_mapping` serve any zarrkit Store to fsspec-based
  code: an fsspec filesystem over the store, and an ``fsspec.FSMap`` over that, which zarr-python's
  ``FsspecStore.from_mapper`` and ``zarr.open(store=mapping)`` accept.

Which URLs go to fsspec: ``fsspec::<url>`` always does (``fsspec::memory://x`` is fsspec's memory
filesystem, not zarrkit's ``memory://``), chained URLs included (``fsspec::simplecache::s3://...``).
A URL whose protocol zarrkit does not register itself goes to fsspec when fsspec knows the
protocol (:func:`fsspec_knows`): :func:`open_with_fsspec` is URL dispatch's opener for those.
Protocols zarrkit registers itself (``file``, ``memory``, ``zip``, ``s3``, ``gs``, ``az``,
``http(s)``, ``redis``, ``cache``, ...) never go to fsspec unless asked with ``fsspec::``.

What fsspec's errors become: FileNotFoundError, IsADirectoryError and NotADirectoryError mean a
missing key (``None``; fsspec's http filesystem raises FileNotFoundError for 404); PermissionError
and errors carrying an HTTP status of 401 or 403 raise PermissionDenied; TimeoutError,
ConnectionError and statuses of 500 and above raise TransientStoreError (the filesystem's own
retries, if any, have run); any other error raises StoreError. Each message names the URL and key.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from zarrkit.errors import PermissionDenied, StoreError, TransientStoreError, UnsupportedFeature
from zarrkit.runtime import pool_size, run_in_pool, sync
from zarrkit.storage.base import (
    ByteRange,
    ReadRequest,
    Store,
    StoreMapping,
    as_bytes,
    check_byte_range,
    resolve_byte_range,
)
from zarrkit.storage.optional import import_optional
from zarrkit.storage.url import register_protocol

_MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
_FSSPEC_PREFIX = "fsspec::"
_GLOB_CHARACTERS = frozenset("*?[")


def _fsspec() -> ModuleType:
    return import_optional("fsspec", needed_for="the fsspec bridge", extra="fsspec")


def _fsspec_range(byte_range: ByteRange | None) -> tuple[int | None, int | None]:
    """fsspec's ``(start, end)`` for a valid byte range of non-zero length (``end`` exclusive)."""
    if byte_range is None:
        return None, None
    offset, length = byte_range
    return offset, None if length is None else offset + length


class FsspecStore(Store):
    """Any fsspec filesystem, below the directory ``root``, as a zarrkit Store.

    ``root`` is a path in ``fs`` (its protocol may be included). ``url`` is used in messages
    (default: the filesystem's protocol and ``root``). ``directories`` says whether the filesystem
    has real directories: then writes into a missing directory create it and deletes remove the
    directories they leave empty, so listings show no empty prefixes. fsspec does not tell, so the
    default assumes synchronous filesystems (local, memory, sftp, hdfs) have directories and async
    ones (object stores, http) do not.

    A write is atomic when the filesystem's ``pipe_file`` is (object stores and memory are; local
    and sftp write in place, so use zarrkit's LocalStore for local directories).
    """

    def __init__(
        self,
        fs: Any,
        root: str = "",
        *,
        read_only: bool = False,
        url: str | None = None,
        directories: bool | None = None,
    ) -> None:
        super().__init__(read_only=read_only)
        self.fs = fs
        self.root = fs._strip_protocol(root).rstrip("/") if root else ""
        self._base = self.root + "/" if self.root else fs.root_marker  # what precedes a key in a path
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        self.url = url or f"{protocol}://{self.root}"
        self._directories = not fs.async_impl if directories is None else directories

    def __repr__(self) -> str:
        return f"FsspecStore({self.url!r}, read_only={self.read_only})"

    # -- paths, calls and errors ------------------------------------------------------------------

    def _path(self, key: str) -> str:
        if not isinstance(key, str):
            raise StoreError(f"invalid key {key!r} for {self!r}: keys are strings")
        if not key:
            return self.root or self.fs.root_marker
        return self._base + key

    def _key(self, path: str) -> str | None:
        """The key of a path listed by the filesystem, or None if it is not below the root."""
        path = self.fs._strip_protocol(path)
        return path[len(self._base) :] if path.startswith(self._base) and path != self._base else None

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``fs.<method>(*args, **kwargs)``: natively for async filesystems, in the pool otherwise."""
        fs = self.fs
        if not fs.async_impl:
            return await run_in_pool(functools.partial(getattr(fs, method), *args, **kwargs))
        coroutine = getattr(fs, "_" + method)(*args, **kwargs)
        if fs.asynchronous:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, fs.loop))

    def _error(self, action: str, key: str | None, error: BaseException) -> StoreError:
        where = f"{action} {self.url}" if key is None else f"{action} {key!r} in {self.url}"
        # HTTP-based filesystems raise their client's errors, which carry the status.
        status = getattr(error, "status", None)
        if isinstance(error, PermissionError) or status in (401, 403):
            return PermissionDenied(f"{where}: permission denied ({error})")
        if isinstance(error, (TimeoutError, ConnectionError)) or (isinstance(status, int) and status >= 500):
            return TransientStoreError(f"{where} failed: {error!r}")
        return StoreError(f"{where} failed: {error!r}")

    async def _checked(self, action: str, key: str | None, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return await self._call(method, *args, **kwargs)
        except StoreError:
            raise
        except Exception as error:
            raise self._error(action, key, error) from error

    async def check(self) -> None:
        """Ask the filesystem whether the root exists, so that an unreachable server or refused
        credentials fail now. Raises StoreError (PermissionDenied, TransientStoreError) naming the URL."""
        await self._checked("opening", None, "exists", self._path(""))

    def _data(self, key: str, byte_range: ByteRange | None, result: object) -> bytes:
        """Bytes that ``cat`` returned, refused when they are more than the range asked for."""
        data = bytes(result)  # type: ignore[call-overload]
        if byte_range is not None and byte_range[1] is not None and len(data) > byte_range[1]:
            raise StoreError(f"reading {key!r} in {self.url}: asked for {byte_range!r}, got {len(data)} bytes")
        return data

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the byte range of it), or ``None`` if it is missing.

        Raises StoreError for a malformed range or a failing filesystem (see the module docstring).
        """
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing.

        The batch goes to the filesystem's ``cat_ranges``: concurrent on async filesystems, in a few
        pool tasks on synchronous ones.
        """
        values: list[bytes | None] = [None] * len(requests)
        reads: list[int] = []
        # Requests answered from the key's size: empty ranges (fsspec gives them no portable meaning;
        # S3 would answer the whole object) and ranges the filesystem refused, which are fine if they
        # select nothing (S3 answers 416 to a range past the end or of an empty object) and an error
        # otherwise.
        sized: list[int] = []
        refusals: dict[int, BaseException] = {}
        for index, (key, byte_range) in enumerate(requests):
            check_byte_range(key, byte_range)
            (sized if byte_range is not None and byte_range[1] == 0 else reads).append(index)
        if reads:
            results = await self._cat_ranges([requests[index] for index in reads])
            for index, result in zip(reads, results):
                key, byte_range = requests[index]
                if isinstance(result, _MISSING):
                    continue
                if isinstance(result, BaseException):
                    if byte_range is None:
                        raise self._error("reading", key, result) from result
                    refusals[index] = result
                    sized.append(index)
                else:
                    values[index] = self._data(key, byte_range, result)
        if sized:
            sizes = await asyncio.gather(*(self.getsize(requests[index][0]) for index in sized))
            for index, size in zip(sized, sizes):
                key, byte_range = requests[index]
                refusal = refusals.get(index)
                if refusal is not None and size is not None:
                    start, stop = resolve_byte_range(byte_range, size)
                    if start < stop:
                        raise self._error("reading", key, refusal) from refusal
                values[index] = None if size is None else b""
        return values

    async def _cat_ranges(self, requests: Sequence[ReadRequest]) -> list[object]:
        paths = [self._path(key) for key, _ in requests]
        starts, ends = zip(*(_fsspec_range(byte_range) for _, byte_range in requests))
        if self.fs.async_impl:
            return await self._call("cat_ranges", paths, list(starts), list(ends), on_error="return")
        size = max(1, -(-len(paths) // pool_size()))
        batches = [slice(start, start + size) for start in range(0, len(paths), size)]
        results = await asyncio.gather(
            *(
                self._call("cat_ranges", paths[part], list(starts[part]), list(ends[part]), on_error="return")
                for part in batches
            )
        )
        return [result for batch in results for result in batch]

    def _fresh(self, path: str) -> str:
        """``path``, after dropping the filesystem's cached listings of it and its parents.

        Filesystems such as s3fs answer ``info`` and ``ls`` from listings cached earlier, which miss
        what other writers did since: a chunk written elsewhere would read as missing.
        """
        self.fs.invalidate_cache(path)
        return path

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        try:
            info = await self._call("info", self._fresh(self._path(key)))
        except _MISSING:
            return None
        except Exception as error:
            raise self._error("sizing", key, error) from error
        return int(info["size"]) if info.get("type") == "file" else None

    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        directory = prefix.rpartition("/")[0]
        try:
            paths = await self._call("find", self._fresh(self._path(directory)), withdirs=False)
        except _MISSING:
            return []
        except Exception as error:
            raise self._error("listing", prefix, error) from error
        keys = (self._key(path) for path in paths)
        return sorted(key for key in keys if key is not None and key.startswith(prefix))

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The keys directly below the directory ``prefix`` and its sub-directories (``"a/b/"``), sorted."""
        directory = prefix.rstrip("/")
        base = directory + "/" if directory else ""
        try:
            entries = await self._call("ls", self._fresh(self._path(directory)), detail=True)
        except _MISSING:
            return [], []
        except Exception as error:
            raise self._error("listing", prefix, error) from error
        keys: list[str] = []
        prefixes: list[str] = []
        for entry in entries:
            key = self._key(entry["name"])
            # ls of a file lists the file itself, and some filesystems list a directory in itself.
            if key is None or not key.startswith(base) or key == directory or "/" in key[len(base) :]:
                continue
            if entry.get("type") == "directory":
                prefixes.append(key + "/")
            else:
                keys.append(key)
        return sorted(keys), sorted(prefixes)

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: bytes) -> None:
        """Write ``value`` to ``key`` with the filesystem's ``pipe_file``.

        Raises ReadOnlyError on a read-only store, StoreError (or PermissionDenied) when refused.
        """
        self._check_writable(key)
        data = as_bytes(key, value)
        path = self._path(key)
        try:
            await self._call("pipe_file", path, data)
        except FileNotFoundError:
            if not self._directories:
                raise self._error("writing", key, FileNotFoundError(path)) from None
            await self._checked("writing", key, "makedirs", path.rpartition("/")[0], exist_ok=True)
            await self._checked("writing", key, "pipe_file", path, data)
        except Exception as error:
            raise self._error("writing", key, error) from error

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""
        await self.delete_many([key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys (and the directories this leaves empty); missing keys are not an error."""
        if not keys:
            return
        self._check_writable(keys[0])
        if self.fs.async_impl and len(keys) > 1 and not any(_GLOB_CHARACTERS.intersection(key) for key in keys):
            # Object stores delete a list in few requests (S3: a thousand keys per request), and
            # deleting a missing key is not an error there. fsspec's rm expands glob patterns, so
            # keys that look like one are deleted one by one.
            await self._checked("deleting", keys[0], "rm", [self._path(key) for key in keys])
        else:
            await asyncio.gather(*(self._remove(key) for key in keys))
        if self._directories:
            await self._prune(keys)

    async def _remove(self, key: str) -> None:
        try:
            await self._call("rm_file", self._path(key))
        except _MISSING:
            pass
        except Exception as error:
            raise self._error("deleting", key, error) from error

    async def _prune(self, keys: Sequence[str]) -> None:
        """Remove the directories below the root that held ``keys`` and are empty now, deepest first."""
        directories: set[str] = set()
        for key in keys:
            parts = key.split("/")[:-1]
            directories.update("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        for directory in sorted(directories, key=lambda name: name.count("/"), reverse=True):
            try:
                await self._call("rmdir", self._path(directory))
            except OSError:
                pass  # not empty, or already gone: either way nothing to prune

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix``. Raises ReadOnlyError on a read-only store."""
        self._check_writable(prefix)
        await self.delete_many(await self.list(prefix))


def store_as_filesystem(store: Store) -> Any:
    """An fsspec filesystem (``fsspec.AbstractFileSystem``) whose paths are the keys of ``store``.

    fsspec-based code can read and write the store through it (``cat``, ``pipe``, ``open``, ``ls``,
    ``find``, ...); see :mod:`zarrkit.storage.fsspec_filesystem`. Raises UnsupportedFeature when
    fsspec is not installed.
    """
    _fsspec()
    from zarrkit.storage.fsspec_filesystem import ZarrkitFileSystem

    return ZarrkitFileSystem(store)


def store_as_mapping(store: Store | StoreMapping, root: str = "") -> Any:
    """An ``fsspec.FSMap`` over ``store`` (below the key prefix ``root``).

    zarr-python takes it as a store (``zarr.open_group(store=mapping)`` or
    ``FsspecStore.from_mapper(mapping)``), as does other fsspec-based code. Raises
    UnsupportedFeature when fsspec is not installed.
    """
    fsspec = _fsspec()
    if isinstance(store, StoreMapping):
        store = store.store
    return fsspec.FSMap(root, store_as_filesystem(store))


def fsspec_knows(protocol: str) -> bool:
    """True when fsspec is installed and has (or can import) a filesystem for ``protocol``."""
    try:
        fsspec = _fsspec()
    except UnsupportedFeature:
        return False
    return protocol in fsspec.available_protocols()


def open_with_fsspec(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """An FsspecStore for ``url`` (any fsspec URL, chained ones included), read-only in mode ``"r"``.

    ``storage_options`` go to the filesystem. The root is checked at once (``exists``), so bad
    credentials or an unreachable server fail here. Raises StoreError for a protocol fsspec does not
    know (naming the URL), UnsupportedFeature when fsspec or the filesystem's package is missing,
    PermissionDenied when refused.
    """
    fsspec = _fsspec()
    try:
        fs, root = fsspec.core.url_to_fs(url, **storage_options)
    except ImportError as error:
        raise UnsupportedFeature(f"cannot open {url!r} through fsspec: {error}") from error
    except ValueError as error:
        raise StoreError(f"cannot open {url!r} through fsspec: {error}") from error
    except TypeError as error:
        raise StoreError(f"storage_options do not apply to {url!r}: {error}") from error
    store = FsspecStore(fs, root, read_only=mode == "r", url=url)
    sync(store.check())
    return store


def _open_fsspec_prefixed(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """``fsspec::<url>``: ``<url>`` through fsspec, even where zarrkit has a store of its own."""
    return open_with_fsspec(url[len(_FSSPEC_PREFIX) :], mode, storage_options)


register_protocol("fsspec", _open_fsspec_prefixed)
