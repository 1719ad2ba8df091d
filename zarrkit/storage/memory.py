"""MemoryStore: a store held in a plain ``dict`` of bytes, for tests, scratch arrays and caches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zarrkit.storage.base import ByteRange, ReadRequest, Store, as_bytes, check_byte_range, slice_byte_range


class MemoryStore(Store):
    """A store whose keys and values live in a ``dict`` in this process.

    ``data`` is used as is, not copied, so two stores built on the same dict share their content
    (``memory://name`` URLs rely on this). Every operation completes without awaiting anything, so
    a value is replaced atomically and ``get_many`` costs one dict lookup per request.
    """

    def __init__(self, data: dict[str, bytes] | None = None, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self._data: dict[str, bytes] = {} if data is None else data

    def __repr__(self) -> str:
        return f"MemoryStore(<{len(self._data)} keys>, read_only={self.read_only})"

    def _read(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        check_byte_range(key, byte_range)
        value = self._data.get(key)
        return None if value is None else slice_byte_range(value, byte_range)

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` or the requested range of it; ``None`` if missing.

        Raises StoreError for a malformed byte range.
        """
        return self._read(key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        return self._read_many(requests)

    def blocking_reader(self) -> Callable[[Sequence[ReadRequest]], list[bytes | None]]:
        """Reads from the dict, in the calling thread."""
        return self._read_many

    def _read_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        return [self._read(key, byte_range) for key, byte_range in requests]

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        value = self._data.get(key)
        return None if value is None else len(value)

    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        return sorted(key for key in list(self._data) if key.startswith(prefix))

    async def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key``.

        Raises ReadOnlyError on a read-only store, StoreError when ``value`` is not bytes-like.
        """
        self._check_writable(key)
        self._data[key] = as_bytes(key, value)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store a batch of ``(key, value)`` pairs. Raises ReadOnlyError on a read-only store."""
        for key, value in items:
            self._check_writable(key)
            self._data[key] = as_bytes(key, value)

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""
        self._check_writable(key)
        self._data.pop(key, None)

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error."""
        for key in keys:
            self._check_writable(key)
            self._data.pop(key, None)
