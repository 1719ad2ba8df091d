"""Test helpers shared by several test modules."""

from __future__ import annotations

from collections.abc import Sequence

from zarrkit.storage.base import ByteRange, ReadRequest, Store


class RecordingStore(Store):
    """A store that forwards to another and records every read call, to test how the engine reads."""

    def __init__(self, inner: Store) -> None:
        super().__init__(read_only=inner.read_only)
        self.inner = inner
        self.read_calls: list[list[ReadRequest]] = []

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        self.read_calls.append([(key, byte_range)])
        return await self.inner.get(key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        self.read_calls.append(list(requests))
        return await self.inner.get_many(requests)

    async def getsize(self, key: str) -> int | None:
        return await self.inner.getsize(key)

    async def set(self, key: str, value: bytes) -> None:
        await self.inner.set(key, value)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def list(self, prefix: str = "") -> list[str]:
        return await self.inner.list(prefix)

    def requests(self) -> list[ReadRequest]:
        """Every request made so far, flattened."""
        return [request for call in self.read_calls for request in call]


def kerchunk_hdf5(path: str, **options: object) -> dict:
    """kerchunk's scan of an HDF5/NetCDF4 file (``SingleHdf5ToZarr(path, **options).translate()``),
    with the garbage collector paused: kerchunk holds h5py's lock while it waits for zarr-python's
    I/O thread, and a collection there that frees an h5py object deadlocks the process."""
    from kerchunk.hdf import SingleHdf5ToZarr

    from zarrkit.runtime import collector_paused

    with collector_paused():
        return SingleHdf5ToZarr(path, **options).translate()
