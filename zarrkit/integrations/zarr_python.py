"""Any zarrkit store as a zarr-python 3 store, so zarr-python and xarray read and write through it.

::

    import zarr
    from zarrkit.storage import open_store
    from zarrkit.integrations.zarr_python import ZarrkitStore

    store = ZarrkitStore(open_store("s3://bucket/data.zarr", mode="a", storage_options=options))
    zarr.create_array(store, name="t", shape=(100,), dtype="f4")[:] = 1.0
    dataset.to_zarr(store)  # xarray

zarr-python awaits store methods on an event loop of its own (or on the caller's loop, through its
async API), while zarrkit's network stores hold connections that belong to zarrkit's I/O loop
(:func:`zarrkit.runtime.io_loop`). So :class:`ZarrkitStore` hands each operation to that loop and
awaits the result without blocking the caller's loop. Stores that read in the calling thread
(those that offer a :meth:`~zarrkit.storage.base.Store.blocking_reader`: memory and local files)
hold nothing tied to a loop; their coroutines are awaited directly on whatever loop calls, which
saves a hand-over between threads per operation.

zarr-python must be installed (``pip install 'zarr>=3.1'``); importing this module without it
raises :class:`~zarrkit.errors.UnsupportedFeature`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable
from typing import TypeVar

from zarrkit.errors import ReadOnlyError, StoreError, UnsupportedFeature
from zarrkit.runtime import io_loop, sync
from zarrkit.storage.base import ByteRange, Store

try:
    from zarr.abc import store as zarr_store
    from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
except ImportError as error:
    raise UnsupportedFeature(
        "zarrkit.integrations.zarr_python needs zarr-python 3; install it with pip install 'zarr>=3.1'"
    ) from error

T = TypeVar("T")

__all__ = ["ZarrkitStore"]


class ZarrkitStore(zarr_store.Store):
    """A zarr-python 3 store that keeps its keys and values in the zarrkit store ``zarrkit_store``.

    ``read_only=None`` follows ``zarrkit_store``; ``read_only=True`` makes a read-only bridge over
    a writable store. Writes to a read-only bridge raise the ``ValueError`` that zarr-python's own
    stores raise. Other failures are the zarrkit store's own errors (``PermissionDenied``,
    ``TransientStoreError``, ...); a missing key reads as ``None`` and ``getsize`` of one raises
    ``FileNotFoundError``, as zarr-python expects.

    Two bridges are equal when they have the same ``read_only`` and wrap the same data: the same
    zarrkit store, or zarrkit stores of one class with equal state (the same root directory, equal
    contents of a memory store), which is what a pickled copy is of its original. Closing the
    bridge leaves ``zarrkit_store`` open: the store belongs to whoever opened it.

    ``set_if_not_exists`` checks and then writes, so two writers racing for one key may both
    write: zarrkit stores have no conditional write.
    """

    def __init__(self, zarrkit_store: Store, *, read_only: bool | None = None) -> None:
        """Raises StoreError when ``zarrkit_store`` is not a zarrkit Store, ReadOnlyError when a
        writable bridge (``read_only=False``) is asked over a read-only store."""
        if not isinstance(zarrkit_store, Store):
            raise StoreError(
                f"ZarrkitStore wraps a zarrkit Store, got {type(zarrkit_store).__name__}; "
                "open paths and URLs with zarrkit.storage.open_store first"
            )
        if read_only is None:
            read_only = zarrkit_store.read_only
        elif not read_only and zarrkit_store.read_only:
            raise ReadOnlyError(f"cannot make a writable zarr-python store over read-only {zarrkit_store!r}")
        super().__init__(read_only=read_only)
        self.zarrkit_store = zarrkit_store
        self._loop_agnostic = zarrkit_store.blocking_reader() is not None

    def __repr__(self) -> str:
        return f"ZarrkitStore({self.zarrkit_store!r}, read_only={self.read_only})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ZarrkitStore)
            and self.read_only == other.read_only
            and _same_data(self.zarrkit_store, other.zarrkit_store)
        )

    def with_read_only(self, read_only: bool = False) -> ZarrkitStore:
        """A new, unopened bridge over the same zarrkit store with the given ``read_only``.

        Raises ReadOnlyError when ``read_only`` is False and the zarrkit store is read-only.
        """
        return ZarrkitStore(self.zarrkit_store, read_only=read_only)

    async def _run(self, operation: Awaitable[T]) -> T:
        """Await a zarrkit store coroutine on the loop it may run on, without blocking this loop."""
        if self._loop_agnostic:
            return await operation
        loop = io_loop()
        if asyncio.get_running_loop() is loop:
            return await operation
        # Cancelling the caller's task cancels the operation on zarrkit's loop too.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_as_coroutine(operation), loop))

    # -- capabilities -----------------------------------------------------------------------------

    @property
    def supports_writes(self) -> bool:
        """True unless the zarrkit store itself is read-only (a read-only bridge still says True)."""
        return not self.zarrkit_store.read_only

    @property
    def supports_deletes(self) -> bool:
        """True unless the zarrkit store itself is read-only."""
        return not self.zarrkit_store.read_only

    @property
    def supports_listing(self) -> bool:
        """Whether the zarrkit store can list its keys."""
        return self.zarrkit_store.supports_listing

    # -- reads ------------------------------------------------------------------------------------

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: zarr_store.ByteRequest | None = None
    ) -> Buffer | None:
        """The value of ``key`` (or the requested byte range of it) as a ``prototype`` buffer, or None.

        A range is clipped to the value, as zarrkit stores clip. Raises TypeError for a byte range
        that is not a zarr-python ByteRequest, StoreError for one with negative numbers or an end
        before its start, and whatever the zarrkit store raises.
        """
        value = await self._run(self.zarrkit_store.get(key, _as_byte_range(key, byte_range)))
        return None if value is None else prototype.buffer.from_bytes(value)

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, zarr_store.ByteRequest | None]],
    ) -> list[Buffer | None]:
        """The values for ``(key, byte_range)`` pairs in order, read as one zarrkit ``get_many`` batch.

        Raises as :meth:`get` does.
        """
        requests = [(key, _as_byte_range(key, byte_range)) for key, byte_range in key_ranges]
        values = await self._run(self.zarrkit_store.get_many(requests))
        from_bytes = prototype.buffer.from_bytes
        return [None if value is None else from_bytes(value) for value in values]

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, zarr_store.ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        """``(key, buffer or None)`` for each ``(key, prototype, byte_range)``, read as one batch."""
        requests = list(requests)
        batch = [(key, _as_byte_range(key, byte_range)) for key, _, byte_range in requests]
        values = await self._run(self.zarrkit_store.get_many(batch))
        for (key, prototype, _), value in zip(requests, values):
            yield key, None if value is None else prototype.buffer.from_bytes(value)

    async def exists(self, key: str) -> bool:
        """True if ``key`` holds a value."""
        return await self._run(self.zarrkit_store.exists(key))

    async def getsize(self, key: str) -> int:
        """The size of the value at ``key`` in bytes; raises FileNotFoundError if it is missing."""
        size = await self._run(self.zarrkit_store.getsize(key))
        if size is None:
            raise FileNotFoundError(key)
        return size

    def list(self) -> AsyncIterator[str]:
        """Every key of the store."""
        return self._listed("")

    def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        """Every key that starts with ``prefix``."""
        return self._listed(prefix)

    async def _listed(self, prefix: str) -> AsyncGenerator[str, None]:
        for key in await self._run(self.zarrkit_store.list(prefix)):
            yield key

    async def list_dir(self, prefix: str) -> AsyncGenerator[str, None]:
        """The names of the keys and sub-directories directly below the directory ``prefix``.

        Names are relative to ``prefix`` and carry no trailing ``/`` (``"c"`` for ``prefix/c/0``).
        """
        directory = _as_directory(prefix)
        keys, prefixes = await self._run(self.zarrkit_store.list_dir(directory))
        for key in keys:
            yield key[len(directory) :]
        for sub_directory in prefixes:
            yield sub_directory[len(directory) : -1]

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: Buffer) -> None:
        """Store ``value`` under ``key``.

        Raises ValueError on a read-only bridge, StoreError when ``value`` is neither a zarr-python
        Buffer nor bytes-like, and whatever the zarrkit store raises.
        """
        self._check_writable()
        await self._run(self.zarrkit_store.set(key, _as_bytes(value)))

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        """Store ``value`` under ``key`` unless the key holds a value already. Raises as :meth:`set`."""
        self._check_writable()
        if not await self.exists(key):
            await self._run(self.zarrkit_store.set(key, _as_bytes(value)))

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        """Store ``(key, value)`` pairs as one zarrkit ``set_many`` batch. Raises as :meth:`set`."""
        self._check_writable()
        items = [(key, _as_bytes(value)) for key, value in values]
        await self._run(self.zarrkit_store.set_many(items))

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ValueError on a read-only bridge."""
        self._check_writable()
        await self._run(self.zarrkit_store.delete(key))

    async def delete_dir(self, prefix: str) -> None:
        """Remove every key below the directory ``prefix`` (every key for ``""``).

        Raises ValueError on a read-only bridge.
        """
        self._check_writable()
        await self._run(self.zarrkit_store.delete_prefix(_as_directory(prefix)))

    # -- zarr-python's synchronous store protocol -------------------------------------------------

    def get_sync(
        self,
        key: str,
        *,
        prototype: BufferPrototype | None = None,
        byte_range: zarr_store.ByteRequest | None = None,
    ) -> Buffer | None:
        """:meth:`get` for callers outside any event loop; memory and local stores read in this thread.

        Raises as :meth:`get` does; RuntimeError when called from zarrkit's own I/O loop.
        """
        request = (key, _as_byte_range(key, byte_range))
        reader = self.zarrkit_store.blocking_reader()
        value = reader([request])[0] if reader is not None else sync(self.zarrkit_store.get(*request))
        if value is None:
            return None
        return (prototype or default_buffer_prototype()).buffer.from_bytes(value)

    def set_sync(self, key: str, value: Buffer) -> None:
        """:meth:`set` for callers outside any event loop. Raises as :meth:`set` does."""
        self._check_writable()
        sync(self.zarrkit_store.set(key, _as_bytes(value)))

    def delete_sync(self, key: str) -> None:
        """:meth:`delete` for callers outside any event loop. Raises as :meth:`delete` does."""
        self._check_writable()
        sync(self.zarrkit_store.delete(key))


def _as_byte_range(key: str, byte_range: zarr_store.ByteRequest | None) -> ByteRange | None:
    """A zarr-python ByteRequest as zarrkit's ``(offset, length)`` form.

    Raises TypeError for anything else (zarr-python's store tests match its "Unexpected
    byte_range" wording), StoreError naming ``key`` for negative numbers or an end before the start.
    """
    if byte_range is None:
        return None
    if isinstance(byte_range, zarr_store.RangeByteRequest):
        if byte_range.start < 0 or byte_range.end < byte_range.start:
            raise StoreError(f"invalid byte range {byte_range} for key {key!r}: need 0 <= start <= end")
        return byte_range.start, byte_range.end - byte_range.start
    if isinstance(byte_range, zarr_store.OffsetByteRequest):
        if byte_range.offset < 0:
            raise StoreError(f"invalid byte range {byte_range} for key {key!r}: the offset is negative")
        return byte_range.offset, None
    if isinstance(byte_range, zarr_store.SuffixByteRequest):
        if byte_range.suffix < 0:
            raise StoreError(f"invalid byte range {byte_range} for key {key!r}: the suffix is negative")
        # (-0, None) would be the whole value; the last zero bytes are the empty range at 0.
        return (-byte_range.suffix, None) if byte_range.suffix else (0, 0)
    raise TypeError(
        f"Unexpected byte_range, got {byte_range!r} for key {key!r}: "
        "use RangeByteRequest, OffsetByteRequest, SuffixByteRequest or None"
    )


def _as_bytes(value: Buffer | bytes) -> object:
    """The bytes of a zarr-python Buffer; anything else goes on to the zarrkit store, which checks it."""
    return value.to_bytes() if isinstance(value, Buffer) else value


def _as_directory(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _same_data(first: Store, second: Store) -> bool:
    """True for one zarrkit store, or two of one class with equal state (a pickled copy and its original).

    A store class that defines its own equality (by URL, say) is compared by it; stores inside a
    wrapper store (a read-only view, a cache) are compared the same way.
    """
    if first is second:
        return True
    if type(first) is not type(second):
        return False
    if type(first).__eq__ is not object.__eq__:
        return first == second
    first_state, second_state = vars(first), vars(second)
    if first_state.keys() != second_state.keys():
        return False
    return all(
        _same_data(value, second_state[name]) if isinstance(value, Store) else value == second_state[name]
        for name, value in first_state.items()
    )


async def _as_coroutine(operation: Awaitable[T]) -> T:
    return await operation
