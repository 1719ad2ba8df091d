"""ZarrkitFileSystem: any zarrkit Store as an fsspec filesystem, for fsspec-based code.

This module imports fsspec; :func:`zarrkit.storage.fsspec.store_as_filesystem` imports it on demand.
Paths are the store's keys (``a/b/zarr.json``; a leading ``/`` or ``zarrkit://`` is ignored), and
directories are the prefixes that keys imply: there are no empty directories, so ``mkdir`` does
nothing. Reads and writes go through the store's batch calls where fsspec offers batches (``cat``
of several paths and ``cat_ranges`` are one ``get_many``). Missing keys raise FileNotFoundError,
as fsspec expects; the store's own errors (PermissionDenied, ...) pass through unchanged.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile

from zarrkit.runtime import sync
from zarrkit.storage.base import ByteRange, ReadRequest, Store


def _byte_range(start: int | None, end: int | None, size: int | None) -> ByteRange | None:
    """The zarrkit byte range for fsspec's ``(start, end)``; ``size`` (of an existing value) is needed
    only when ``end`` is negative or a negative ``start`` comes with an ``end``."""
    if start is None and end is None:
        return None
    start = start or 0
    if end is None:
        return (start, None)
    if start < 0 or end < 0:
        assert size is not None
        start = max(size + start, 0) if start < 0 else start
        end = size + end if end < 0 else end
    return (start, max(end - start, 0))


class ZarrkitFileSystem(AbstractFileSystem):
    """An fsspec filesystem over ``store``: its paths are the store's keys."""

    protocol = "zarrkit"
    root_marker = ""
    # fsspec caches instances by the repr of their arguments; two stores may share a repr.
    cachable = False

    def __init__(self, store: Store, **storage_options: Any) -> None:
        super().__init__(**storage_options)
        self.store = store

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(item) for item in path]
        text = str(path)
        if text.startswith("zarrkit://"):
            text = text[len("zarrkit://") :]
        return text.strip("/")

    # -- reads ------------------------------------------------------------------------------------

    def _needs_size(self, start: int | None, end: int | None) -> bool:
        return (end is not None and end < 0) or (start is not None and start < 0 and end is not None)

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        """The bytes of the key ``path`` from ``start`` to ``end`` (negative: from the end).

        Raises FileNotFoundError when the key is missing.
        """
        result = self.cat_ranges([path], [start], [end], on_error="raise")[0]
        assert isinstance(result, bytes)  # on_error="raise" raises instead of returning errors
        return result

    def cat_ranges(
        self,
        paths: list[str],
        starts: int | list[int | None] | None,
        ends: int | list[int | None] | None,
        max_gap: int | None = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[bytes | Exception]:
        """The byte ranges of several keys, in one ``get_many``; FileNotFoundError for a missing key
        (returned in its place when ``on_error="return"``, raised otherwise)."""
        count = len(paths)
        starts = starts if isinstance(starts, list) else [starts] * count
        ends = ends if isinstance(ends, list) else [ends] * count
        keys = [self._strip_protocol(path) for path in paths]
        sizes = self._sizes([key for key, start, end in zip(keys, starts, ends) if self._needs_size(start, end)])
        requested: list[int] = []
        requests: list[ReadRequest] = []
        for position, (key, start, end) in enumerate(zip(keys, starts, ends)):
            if self._needs_size(start, end) and sizes[key] is None:
                continue  # missing: its size says so already
            requested.append(position)
            requests.append((key, _byte_range(start, end, sizes.get(key))))
        found = dict(zip(requested, sync(self.store.get_many(requests))))
        results: list[bytes | Exception] = []
        for position, path in enumerate(paths):
            value = found.get(position)
            if value is not None:
                results.append(value)
            elif on_error == "return":
                results.append(FileNotFoundError(errno.ENOENT, "no such key", path))
            else:
                raise FileNotFoundError(errno.ENOENT, "no such key", path)
        return results

    def _sizes(self, keys: list[str]) -> dict[str, int | None]:
        if not keys:
            return {}

        async def sizes() -> list[int | None]:
            return list(await asyncio.gather(*(self.store.getsize(key) for key in keys)))

        return dict(zip(keys, sync(sizes())))

    def cat(self, path: Any, recursive: bool = False, on_error: str = "raise", **kwargs: Any) -> Any:
        """The contents of a key, or ``{path: bytes}`` for a list of keys (read in one ``get_many``)."""
        if not isinstance(path, list) or recursive:
            return super().cat(path, recursive=recursive, on_error=on_error, **kwargs)
        values = self.cat_ranges(path, None, None, on_error="raise" if on_error == "raise" else "return")
        if on_error == "omit":
            return {item: value for item, value in zip(path, values) if not isinstance(value, Exception)}
        return dict(zip(path, values))

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """``{"name", "size", "type"}`` of a key (a file) or a prefix (a directory).

        Raises FileNotFoundError when neither exists.
        """
        key = self._strip_protocol(path)
        size = sync(self.store.getsize(key)) if key else None
        if size is not None:
            return {"name": key, "size": size, "type": "file"}
        if not key or any(sync(self.store.list_dir(key))):
            return {"name": key, "size": 0, "type": "directory"}
        raise FileNotFoundError(errno.ENOENT, "no such key or prefix", path)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """The keys and sub-prefixes directly below ``path`` (a key lists itself).

        Raises FileNotFoundError when there is nothing at or below ``path``.
        """
        key = self._strip_protocol(path)
        keys, prefixes = sync(self.store.list_dir(key))
        if keys or prefixes:
            sizes = self._sizes(keys)
            entries = [{"name": item, "size": sizes[item], "type": "file"} for item in keys]
            entries += [{"name": prefix.rstrip("/"), "size": 0, "type": "directory"} for prefix in prefixes]
        elif not key:
            entries = []  # an empty store
        else:
            size = sync(self.store.getsize(key))
            if size is None:
                raise FileNotFoundError(errno.ENOENT, "no such key or prefix", path)
            entries = [{"name": key, "size": size, "type": "file"}]
        if detail:
            return entries
        return [entry["name"] for entry in entries]

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every key below ``path`` (one ``list`` call); with ``maxdepth``, fsspec's own walk."""
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        key = self._strip_protocol(path)
        directory = key + "/" if key else ""
        names = sync(self.store.list(directory))
        if key and sync(self.store.exists(key)):
            names = [key, *names]
        if withdirs:
            directories: set[str] = set()
            for name in names:
                parts = name.split("/")
                directories.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
            names = sorted(set(names) | {name for name in directories if name.startswith(directory)})
        if not detail:
            return names
        return {name: self.info(name) for name in names}

    # -- writes -----------------------------------------------------------------------------------

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Store ``value`` under the key ``path``; with ``mode="create"`` an existing key raises
        FileExistsError. The store raises ReadOnlyError when it is read-only."""
        key = self._strip_protocol(path)
        if mode == "create" and sync(self.store.exists(key)):
            raise FileExistsError(errno.EEXIST, "key exists", path)
        sync(self.store.set(key, value))

    def rm_file(self, path: str) -> None:
        """Delete the key ``path``; raises FileNotFoundError when it is missing."""
        key = self._strip_protocol(path)
        if not sync(self.store.exists(key)):
            raise FileNotFoundError(errno.ENOENT, "no such key", path)
        sync(self.store.delete(key))

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete keys, and with ``recursive`` every key below the given prefixes.

        Raises FileNotFoundError for a path that is neither a key nor (with ``recursive``) a prefix.
        """
        for item in path if isinstance(path, list) else [path]:
            key = self._strip_protocol(item)
            below = recursive and (not key or bool(sync(self.store.list(key + "/"))))
            if below:
                sync(self.store.delete_prefix(key + "/" if key else ""))
            if key and sync(self.store.exists(key)):
                sync(self.store.delete(key))
            elif not below:
                raise FileNotFoundError(errno.ENOENT, "no such key", item)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Nothing to do: prefixes exist as soon as a key below them does."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Nothing to do: prefixes exist as soon as a key below them does."""

    def rmdir(self, path: str) -> None:
        """Nothing to remove for an empty prefix; raises OSError (ENOTEMPTY) when keys lie below it."""
        key = self._strip_protocol(path)
        if any(sync(self.store.list_dir(key))):
            raise OSError(errno.ENOTEMPTY, "prefix has keys below it", path)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ZarrkitFile:
        return ZarrkitFile(self, self._strip_protocol(path), mode, block_size, autocommit, cache_options=cache_options)


class ZarrkitFile(AbstractBufferedFile):
    """A file of :class:`ZarrkitFileSystem`: reads fetch byte ranges of the key; a written file is
    stored as one value when it is closed (``"xb"`` refuses an existing key, ``"ab"`` appends)."""

    fs: ZarrkitFileSystem

    def _fetch_range(self, start: int, end: int) -> bytes:
        value = sync(self.fs.store.get(self.path, (start, max(end - start, 0))))
        if value is None:
            raise FileNotFoundError(errno.ENOENT, "no such key", self.path)
        return value

    def _initiate_upload(self) -> None:
        self._parts: list[bytes] = []
        if self.mode == "xb" and sync(self.fs.store.exists(self.path)):
            raise FileExistsError(errno.EEXIST, "key exists", self.path)
        if self.mode == "ab":
            existing = sync(self.fs.store.get(self.path))
            if existing is not None:
                self._parts.append(existing)

    def _upload_chunk(self, final: bool = False) -> bool:
        self._parts.append(self.buffer.getvalue())
        if final:
            sync(self.fs.store.set(self.path, b"".join(self._parts)))
        return True
