"""LocalStore: a directory tree on the local file system, one file per key.

Key ``a/b/c`` is the file ``<root>/a/b/c``; directories are not keys. A value is written to a
temporary file in the key's directory and moved into place with ``os.replace``, so a reader sees
either the old file or the new one, never a partial file. (There is no ``fsync``: after a power
loss a just-written value may be empty or missing, as with zarr-python and most file stores.)

Temporary files end with ``.zarrkit-tmp``; listings skip them and keys ending that way are refused.

File I/O runs in the codec pool so that it never blocks the event loop. A batch (``get_many``,
``set_many``, ``delete_many``) is split into about ``pool_size()`` pool tasks rather than one task
per key, because the chunk engine sends thousands of small chunks per call.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from typing import TypeVar

from zarrkit.errors import PermissionDenied, StoreError
from zarrkit.runtime import pool_size, run_in_pool
from zarrkit.storage.base import ByteRange, ReadRequest, Store, as_bytes, check_byte_range, resolve_byte_range

Item = TypeVar("Item")
Result = TypeVar("Result")

_TEMP_SUFFIX = ".zarrkit-tmp"
# The pid tells a forked child's temporary names from its parent's; the random token tells apart
# processes on different hosts that share a network file system.
_PROCESS_TOKEN = secrets.token_hex(4)
_temp_counter = itertools.count()
# Characters that would let a key name something other than the file it spells.
_FORBIDDEN_IN_KEYS = ("\\", "\0", ":") if os.name == "nt" else ("\\", "\0")
# A concurrent delete may prune a directory between our makedirs and our open: retry a few times.
_CREATE_ATTEMPTS = 3


class LocalStore(Store):
    """A store over the directory ``root``; nothing is created until the first write.

    A missing root reads as an empty store. Keys that would escape the root or name something other
    than one file (absolute, ``..`` or ``.`` segments, empty segments, backslashes) raise StoreError
    naming the key. Deleting a key also removes the directories it leaves empty (never the root),
    so deleting every key under a prefix leaves no trace in listings. ``list`` and ``list_dir``
    follow symbolic links (a link cycle makes ``list`` raise StoreError); ``list_dir`` reports
    every sub-directory, so a directory left empty by something other than this store still shows
    up as a prefix.
    """

    def __init__(self, root: str | os.PathLike[str], *, read_only: bool = False) -> None:
        """Raises StoreError when ``root`` exists but is not a directory."""
        super().__init__(read_only=read_only)
        self.root = os.path.abspath(os.fsdecode(root))
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise StoreError(f"LocalStore root {self.root!r} exists and is not a directory")
        self._root_prefix = self.root.rstrip(os.sep) + os.sep

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r}, read_only={self.read_only})"

    # -- keys and errors --------------------------------------------------------------------------

    def _path_of(self, key: str) -> str:
        """The file path of ``key``; raises StoreError for a key that is not a clean relative path."""
        if (
            not isinstance(key, str)
            or not key
            or key[0] == "/"
            or key[-1] == "/"
            or "//" in key
            or any(character in key for character in _FORBIDDEN_IN_KEYS)
            or ("." in key and _has_dot_segment(key))
        ):
            raise StoreError(
                f"invalid key {key!r} for {self!r}: a key is a relative '/'-separated path without empty, "
                "'.' or '..' segments and without backslashes"
            )
        if key.endswith(_TEMP_SUFFIX):
            raise StoreError(
                f"invalid key {key!r} for {self!r}: names ending in {_TEMP_SUFFIX!r} are reserved"
            )
        return self._root_prefix + key

    def _directory_of(self, prefix: str) -> tuple[str, str, str]:
        """Split a listing prefix into (directory path, key prefix of its entries, name stem).

        ``"a/b"`` lists the entries of directory ``a`` whose names start with ``b``; ``"a/b/"`` all
        entries of ``a/b``. Raises StoreError when the directory part is not a valid key.
        """
        parent_key, _, stem = prefix.rpartition("/")
        if not parent_key:
            return self.root, "", stem
        return self._path_of(parent_key), parent_key + "/", stem

    def _error(self, action: str, key: str, error: OSError) -> StoreError:
        if isinstance(error, PermissionError):
            return PermissionDenied(f"{action} {key!r} in {self!r}: permission denied ({error.strerror})")
        return StoreError(f"{action} {key!r} in {self!r} failed: {error}")

    async def _in_batches(
        self, function: Callable[[Sequence[Item]], list[Result]], items: Sequence[Item]
    ) -> list[Result]:
        """``function`` over slices of ``items`` as about ``pool_size()`` pool tasks, concatenated."""
        batch_size = max(1, -(-len(items) // pool_size()))
        batches = [items[start : start + batch_size] for start in range(0, len(items), batch_size)]
        results = await asyncio.gather(*(run_in_pool(function, batch) for batch in batches))
        return [value for batch_results in results for value in batch_results]

    # -- blocking work, run in the pool -----------------------------------------------------------

    def _read_run(self, key: str, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for requests that all name ``key``: one opening of its file serves them all
        (a partial shard read asks for many ranges of one file). ``None`` for each if it is missing."""
        path = self._path_of(key)
        # os.open/pread rather than open(): the chunk engine reads thousands of small files per
        # call, and the buffered file object costs more than the read itself.
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return _nothing_for(key, requests)
        except OSError as error:
            raise self._error("reading", key, error) from error
        try:
            size = os.fstat(descriptor).st_size
            values: list[bytes | None] = []
            for _, byte_range in requests:
                check_byte_range(key, byte_range)
                start, stop = resolve_byte_range(byte_range, size)
                values.append(_read_fully(descriptor, start, stop - start))
            return values
        except IsADirectoryError:
            return _nothing_for(key, requests)
        except OSError as error:
            raise self._error("reading", key, error) from error
        finally:
            os.close(descriptor)

    def _read_runs(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for ``requests``, reading each run of requests for one key from one opening."""
        values: list[bytes | None] = []
        for key, run in itertools.groupby(requests, key=operator.itemgetter(0)):
            values += self._read_run(key, list(run))
        return values

    def _size(self, key: str) -> int | None:
        try:
            status = os.stat(self._path_of(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            raise self._error("reading", key, error) from error
        return status.st_size if stat.S_ISREG(status.st_mode) else None

    def _write(self, key: str, value: bytes) -> None:
        path = self._path_of(key)
        data = as_bytes(key, value)
        directory, name = os.path.split(path)
        temp_name = f".{name[:64]}.{_PROCESS_TOKEN}-{os.getpid()}-{next(_temp_counter)}{_TEMP_SUFFIX}"
        temp_path = os.path.join(directory, temp_name)
        try:
            _create_file(temp_path, data)
            os.replace(temp_path, path)
        except OSError as error:
            _remove_if_present(temp_path)
            raise self._error("writing", key, error) from error

    def _write_batch(self, items: Sequence[tuple[str, bytes]]) -> list[None]:
        for key, value in items:
            self._write(key, value)
        return []

    def _delete(self, key: str) -> None:
        path = self._path_of(key)
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as error:
            raise self._error("deleting", key, error) from error
        self._prune(os.path.dirname(path))

    def _delete_batch(self, keys: Sequence[str]) -> list[None]:
        for key in keys:
            self._delete(key)
        return []

    def _prune(self, directory: str) -> None:
        """Remove ``directory`` and its ancestors below the root for as long as they are empty."""
        while len(directory) > len(self.root):
            try:
                os.rmdir(directory)
            except OSError:
                return
            directory = os.path.dirname(directory)

    def _list(self, prefix: str) -> list[str]:
        directory, key_prefix, stem = self._directory_of(prefix)
        keys: list[str] = []
        try:
            _collect_keys(directory, key_prefix, stem, keys)
        except OSError as error:
            raise self._error("listing", prefix, error) from error
        keys.sort()
        return keys

    def _list_dir(self, prefix: str) -> tuple[list[str], list[str]]:
        directory_key = prefix[:-1] if prefix.endswith("/") else prefix
        directory = self._path_of(directory_key) if directory_key else self.root
        key_prefix = directory_key + "/" if directory_key else ""
        keys: list[str] = []
        prefixes: list[str] = []
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir():
                        prefixes.append(key_prefix + entry.name + "/")
                    elif entry.is_file() and not entry.name.endswith(_TEMP_SUFFIX):
                        keys.append(key_prefix + entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return [], []
        except OSError as error:
            raise self._error("listing", prefix, error) from error
        return sorted(keys), sorted(prefixes)

    def _delete_prefix(self, prefix: str) -> None:
        directory, _, stem = self._directory_of(prefix)
        try:
            with os.scandir(directory) as entries:
                doomed = [entry for entry in entries if entry.name.startswith(stem)]
            for entry in doomed:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError as error:
            raise self._error("deleting prefix", prefix, error) from error
        self._prune(directory)

    # -- the Store protocol -----------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The content of the file for ``key`` (or the range of it), or ``None`` if there is none.

        Raises StoreError for an invalid key or range or an OS error, PermissionDenied when the
        file may not be read.
        """
        return (await run_in_pool(self._read_run, key, [(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing.

        Requests for the same key are read together, from one opening of its file per pool task.
        """
        if _keys_are_adjacent(requests):
            return await self._in_batches(self._read_runs, requests)
        order = _key_order(requests)
        return _in_request_order(order, await self._in_batches(self._read_runs, [requests[i] for i in order]))

    def blocking_reader(self) -> Callable[[Sequence[ReadRequest]], list[bytes | None]]:
        """Reads the files in the calling thread (the engine calls it from the codec pool)."""
        return self._read_many

    def _read_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        if _keys_are_adjacent(requests):
            return self._read_runs(requests)
        order = _key_order(requests)
        return _in_request_order(order, self._read_runs([requests[i] for i in order]))

    async def getsize(self, key: str) -> int | None:
        """The size of the file for ``key`` in bytes, or ``None`` if there is none."""
        return await run_in_pool(self._size, key)

    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted. Raises StoreError for an invalid prefix."""
        return await run_in_pool(self._list, prefix)

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The keys directly below the directory ``prefix`` and its sub-directories (``"a/b/"``), sorted."""
        return await run_in_pool(self._list_dir, prefix)

    async def set(self, key: str, value: bytes) -> None:
        """Write ``value`` to the file for ``key`` atomically, creating directories as needed.

        Raises ReadOnlyError on a read-only store, StoreError for an invalid key or an OS error
        (such as a file standing where a directory is needed), PermissionDenied when refused.
        """
        self._check_writable(key)
        await run_in_pool(self._write, key, value)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Write a batch of ``(key, value)`` pairs, each atomically. Raises as :meth:`set` does."""
        if items:
            self._check_writable(items[0][0])
            await self._in_batches(self._write_batch, items)

    async def delete(self, key: str) -> None:
        """Remove the file for ``key`` and the directories this leaves empty; missing is not an error."""
        self._check_writable(key)
        await run_in_pool(self._delete, key)

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error."""
        if keys:
            self._check_writable(keys[0])
            await self._in_batches(self._delete_batch, keys)

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix`` (whole directory trees at once).

        Raises ReadOnlyError on a read-only store, StoreError for an invalid prefix or an OS error.
        """
        self._check_writable(prefix)
        await run_in_pool(self._delete_prefix, prefix)


def _has_dot_segment(key: str) -> bool:
    segments = key.split("/")
    return "." in segments or ".." in segments


def _keys_are_adjacent(requests: Sequence[ReadRequest]) -> bool:
    """True when all requests for each key come one after another (always so for distinct keys)."""
    seen: set[str] = set()
    previous: str | None = None
    for key, _ in requests:
        if key != previous:
            if key in seen:
                return False
            seen.add(key)
            previous = key
    return True


def _nothing_for(key: str, requests: Sequence[ReadRequest]) -> list[bytes | None]:
    """``None`` for each request of a missing key, after checking that each range is well formed."""
    for _, byte_range in requests:
        check_byte_range(key, byte_range)
    return [None] * len(requests)


def _read_fully(descriptor: int, offset: int, length: int) -> bytes:
    """``length`` bytes of the open file from ``offset``, or fewer if the file ends first.

    One ``pread`` may return less than asked: Linux caps a read at 2,147,479,552 bytes, and network
    and FUSE file systems may stop short at any size. So read until done or at the end of the file.
    """
    data = os.pread(descriptor, length, offset)
    if len(data) == length or not data:
        return data
    parts = [data]
    done = len(data)
    while done < length:
        part = os.pread(descriptor, length - done, offset + done)
        if not part:
            break
        parts.append(part)
        done += len(part)
    return b"".join(parts)


def _create_file(path: str, data: bytes) -> None:
    """Create the new file ``path`` holding ``data``, creating its missing parent directories."""
    for _ in range(_CREATE_ATTEMPTS - 1):
        try:
            with open(path, "xb") as file:
                file.write(data)
            return
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as file:
        file.write(data)


def _remove_if_present(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # the error that made us clean up is the one worth reporting


def _collect_keys(directory: str, key_prefix: str, stem: str, keys: list[str]) -> None:
    """Append to ``keys`` every file below ``directory`` whose name starts with ``stem``."""
    try:
        with os.scandir(directory) as scan:
            entries = [entry for entry in scan if entry.name.startswith(stem)]
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_dir():
            _collect_keys(entry.path, key_prefix + entry.name + "/", "", keys)
        elif entry.is_file() and not entry.name.endswith(_TEMP_SUFFIX):
            keys.append(key_prefix + entry.name)


def _key_order(requests: Sequence[ReadRequest]) -> list[int]:
    """Positions of ``requests`` sorted by key: a stable sort brings each key's requests together."""
    return sorted(range(len(requests)), key=lambda position: requests[position][0])


def _in_request_order(order: list[int], sorted_values: list[bytes | None]) -> list[bytes | None]:
    """Values read in ``order`` put back in the order of the requests."""
    values: list[bytes | None] = [None] * len(order)
    for position, value in zip(order, sorted_values):
        values[position] = value
    return values
