"""The store protocol: an async, batch-first map from string keys to bytes.

A key is a ``/``-separated path relative to the store's root (``a/b/zarr.json``, ``a/b/c/0/1``).
Missing is a value, failure is an exception: ``get`` answers ``None`` for a missing key and raises
a :class:`~zarrkit.errors.StoreError` subclass for anything else.

A byte range is ``(offset, length)``, ``(offset, None)`` (from ``offset`` to the end) or
``(-n, None)`` (the last ``n`` bytes). The chunk engine reads only through :meth:`Store.get_many`,
which backends override to coalesce and overlap requests.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, MutableMapping, Sequence

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.runtime import sync

ByteRange = tuple[int, int | None]
"""``(offset, length)``, ``(offset, None)`` to the end, or ``(-n, None)`` for the last n bytes."""

ReadRequest = tuple[str, ByteRange | None]
"""A key and an optional byte range: one item of a :meth:`Store.get_many` batch."""


def as_bytes(key: str, value: object) -> bytes:
    """``value`` as immutable ``bytes``, copying only when it is another bytes-like object.

    Raises StoreError naming ``key`` when ``value`` is not bytes-like; ``bytes(5)`` would silently
    store five zero bytes, so integers and strings are refused rather than converted.
    """
    if type(value) is bytes:
        return value
    try:
        return memoryview(value).tobytes()  # type: ignore[arg-type]
    except TypeError:
        raise StoreError(f"value for key {key!r} must be bytes-like, got {type(value).__name__}") from None


def check_byte_range(key: str, byte_range: ByteRange | None) -> None:
    """Raise StoreError unless ``byte_range`` is ``None`` or one of the three valid forms."""
    if byte_range is None:
        return
    try:
        offset, length = byte_range
    except (TypeError, ValueError):
        raise StoreError(f"byte range for key {key!r} must be (offset, length), got {byte_range!r}") from None
    valid = (
        isinstance(offset, int)
        and (length is None or (isinstance(length, int) and length >= 0 and offset >= 0))
        and not (offset < 0 and length is not None)
    )
    if not valid:
        raise StoreError(
            f"invalid byte range {byte_range!r} for key {key!r}: use (offset, length), (offset, None) or (-n, None)"
        )


def resolve_byte_range(byte_range: ByteRange | None, size: int) -> tuple[int, int]:
    """Turn a byte range into absolute ``(start, stop)`` within an object of ``size`` bytes.

    Ranges are clipped to the object: a range past the end yields an empty slice, as slicing does.
    """
    if byte_range is None:
        return 0, size
    offset, length = byte_range
    if offset < 0:
        return max(size + offset, 0), size
    start = min(offset, size)
    stop = size if length is None else min(offset + length, size)
    return start, stop


def slice_byte_range(value: bytes, byte_range: ByteRange | None) -> bytes:
    """The part of ``value`` that ``byte_range`` selects (all of it for ``None``).

    Clipped as :func:`resolve_byte_range` clips; the range must already be valid (see
    :func:`check_byte_range`).
    """
    if byte_range is None:
        return value
    start, stop = resolve_byte_range(byte_range, len(value))
    return value[start:stop]


class Store(ABC):
    """Base class of every zarrkit store.

    Subclasses implement ``get``, ``set``, ``delete`` and ``list``; everything else has a correct
    default built on those, which backends override where they can do better.
    """

    supports_listing: bool = True
    supports_partial_reads: bool = True

    def __init__(self, *, read_only: bool = False) -> None:
        self._read_only = read_only

    @property
    def read_only(self) -> bool:
        """True when every write raises :class:`~zarrkit.errors.ReadOnlyError`."""
        return self._read_only

    def _check_writable(self, key: str) -> None:
        if self._read_only:
            raise ReadOnlyError(f"cannot write {key!r}: {self!r} was opened read-only")

    # -- reads ------------------------------------------------------------------------------------

    @abstractmethod
    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the requested byte range of it), or ``None`` if it is missing.

        Raises StoreError (or a subclass) when the backend fails or the range is malformed.
        """

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        return list(await asyncio.gather(*(self.get(key, byte_range) for key, byte_range in requests)))

    def blocking_reader(self) -> Callable[[Sequence[ReadRequest]], list[bytes | None]] | None:
        """A function that answers a ``get_many`` batch in the calling thread, or None.

        Stores whose reads are local blocking calls (memory, local files) offer one, so the chunk
        engine can read and decode a batch in one codec-pool task instead of handing it between
        threads; stores that do network I/O answer None and are read through ``get_many``.
        """
        return None

    async def exists(self, key: str) -> bool:
        """True if ``key`` holds a value."""
        return await self.getsize(key) is not None

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        value = await self.get(key)
        return None if value is None else len(value)

    async def get_with_size(self, key: str, byte_range: ByteRange | None = None) -> tuple[bytes, int] | None:
        """The bytes of ``byte_range`` of ``key`` (clipped at the end, as :meth:`get` clips) and the size
        of the whole value, or ``None`` if the key is missing.

        A reader that needs both (the header of a file and how far it reaches) asks once; stores that
        learn the size from the read itself (object stores) answer with one request. This default asks
        :meth:`getsize`, then :meth:`get`. Raises as :meth:`get` does, and StoreError if the value
        changes between the two calls.
        """
        check_byte_range(key, byte_range)
        size = await self.getsize(key)
        if size is None:
            return None
        value = await self.get(key, byte_range)
        if value is None:
            return None
        start, stop = resolve_byte_range(byte_range, size)
        if len(value) != stop - start:
            raise StoreError(
                f"reading {key!r} from {self!r}: its size changed while it was read ({size} bytes, then "
                f"{len(value)} bytes for range {byte_range!r})"
            )
        return value, size

    @abstractmethod
    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The keys directly below ``prefix`` and the names of the sub-prefixes, each sorted.

        ``prefix`` names a directory (``"a/b"`` or ``"a/b/"``; ``""`` is the root). Keys are
        returned whole (``"a/b/zarr.json"``); sub-prefixes as ``"a/b/c/"``.
        """
        directory = _as_directory(prefix)
        keys: list[str] = []
        prefixes: set[str] = set()
        for key in await self.list(directory):
            head, sep, _ = key[len(directory):].partition("/")
            if sep:
                prefixes.add(directory + head + "/")
            else:
                keys.append(key)
        return sorted(keys), sorted(prefixes)

    # -- writes -----------------------------------------------------------------------------------

    @abstractmethod
    async def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``, atomically: a reader sees the old value or the new one.

        Raises ReadOnlyError on a read-only store.
        """

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store a batch of ``(key, value)`` pairs, concurrently.

        Raises ReadOnlyError on a read-only store before anything is written.
        """
        if items:
            self._check_writable(items[0][0])
        await asyncio.gather(*(self.set(key, value) for key, value in items))

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error."""
        await asyncio.gather(*(self.delete(key) for key in keys))

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix``."""
        self._check_writable(prefix)
        await self.delete_many(await self.list(prefix))

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release the store's resources; a closed store must not be used again."""

    # -- views ------------------------------------------------------------------------------------

    def mapping(self) -> StoreMapping:
        """A synchronous ``MutableMapping`` view of this store."""
        return StoreMapping(self)

    def with_read_only(self) -> Store:
        """This store if it is read-only, else a :class:`ReadOnlyView` of it.

        The view reads the same data (including later writes through this store) and raises
        ReadOnlyError on every write.
        """
        return self if self.read_only else ReadOnlyView(self)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _as_directory(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


class ReadOnlyView(Store):
    """A read-only view of another store: reads go to ``store``, writes raise ReadOnlyError.

    Closing the view leaves ``store`` open: the store belongs to whoever opened it.
    """

    def __init__(self, store: Store) -> None:
        super().__init__(read_only=True)
        self.store = store
        self.supports_listing = store.supports_listing
        self.supports_partial_reads = store.supports_partial_reads

    def __repr__(self) -> str:
        return f"ReadOnlyView({self.store!r})"

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the range of it) in the viewed store; raises as that store does."""
        return await self.store.get(key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        return await self.store.get_many(requests)

    def blocking_reader(self) -> Callable[[Sequence[ReadRequest]], list[bytes | None]] | None:
        """The viewed store's blocking reader (reads are not writes)."""
        return self.store.blocking_reader()

    async def exists(self, key: str) -> bool:
        """True if ``key`` holds a value in the viewed store."""
        return await self.store.exists(key)

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        return await self.store.getsize(key)

    async def get_with_size(self, key: str, byte_range: ByteRange | None = None) -> tuple[bytes, int] | None:
        """The bytes of ``byte_range`` of ``key`` and the whole value's size, from the viewed store
        (one request where it manages one); ``None`` if missing. Raises as that store does."""
        return await self.store.get_with_size(key, byte_range)

    async def list(self, prefix: str = "") -> list[str]:
        """Every key of the viewed store that starts with ``prefix``, sorted."""
        return await self.store.list(prefix)

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The keys directly below ``prefix`` and the names of the sub-prefixes, each sorted."""
        return await self.store.list_dir(prefix)

    async def set(self, key: str, value: bytes) -> None:
        """Raises ReadOnlyError."""
        self._check_writable(key)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Raises ReadOnlyError naming the first key; an empty batch writes nothing and passes."""
        if items:
            self._check_writable(items[0][0])

    async def delete(self, key: str) -> None:
        """Raises ReadOnlyError."""
        self._check_writable(key)

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Raises ReadOnlyError naming the first key; an empty batch deletes nothing and passes."""
        if keys:
            self._check_writable(keys[0])


class StoreMapping(MutableMapping[str, bytes]):
    """A synchronous ``MutableMapping[str, bytes]`` view of a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __getitem__(self, key: str) -> bytes:
        value = sync(self.store.get(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: bytes) -> None:
        sync(self.store.set(key, value))

    def __delitem__(self, key: str) -> None:
        if not sync(self.store.exists(key)):
            raise KeyError(key)
        sync(self.store.delete(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and sync(self.store.exists(key))

    def __iter__(self) -> Iterator[str]:
        return iter(sync(self.store.list("")))

    def __len__(self) -> int:
        return len(sync(self.store.list("")))

    def __repr__(self) -> str:
        return f"StoreMapping({self.store!r})"
