"""MappingStore and MemoryStore beyond the conformance suite."""

from __future__ import annotations

import asyncio
import errno
import threading
import time
from collections.abc import Iterator, MutableMapping

import pytest

from zarrkit.errors import PermissionDenied, StoreError
from zarrkit.runtime import sync
from zarrkit.storage import MappingStore, MemoryStore


class FailingMapping(MutableMapping[str, bytes]):
    """A mapping whose every access raises the given error, like a remote map that lost access."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getitem__(self, key: str) -> bytes:
        raise self.error

    def __setitem__(self, key: str, value: bytes) -> None:
        raise self.error

    def __delitem__(self, key: str) -> None:
        raise self.error

    def __iter__(self) -> Iterator[str]:
        raise self.error

    def __len__(self) -> int:
        raise self.error


class SingleThreadedMapping(dict):
    """A dict that fails if two threads are ever inside it at once."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Lock()

    def __getitem__(self, key: str) -> bytes:
        if not self.inside.acquire(blocking=False):
            raise AssertionError("two threads inside the mapping at once")
        try:
            time.sleep(0.001)  # widen the window in which a second thread would be caught
            return super().__getitem__(key)
        finally:
            self.inside.release()


def test_permission_errors_from_the_mapping_raise_permission_denied() -> None:
    store = MappingStore(FailingMapping(PermissionError(errno.EACCES, "denied")))
    with pytest.raises(PermissionDenied, match="'k'"):
        sync(store.get("k"))
    with pytest.raises(PermissionDenied, match="listing"):
        sync(store.list())


def test_os_errors_from_the_mapping_raise_store_error() -> None:
    store = MappingStore(FailingMapping(OSError(errno.EIO, "I/O error")))
    with pytest.raises(StoreError, match="'k'.*I/O error"):
        sync(store.set("k", b"v"))


def test_calls_into_the_mapping_never_overlap() -> None:
    mapping = SingleThreadedMapping()
    mapping.update({f"k{index}": b"v" for index in range(50)})
    store = MappingStore(mapping)

    async def many_reads() -> list[bytes | None]:
        return list(await asyncio.gather(*(store.get(f"k{index}") for index in range(50))))

    assert sync(many_reads()) == [b"v"] * 50


def test_a_mapping_store_over_another_stores_view() -> None:
    inner = MemoryStore()
    store = MappingStore(inner.mapping())
    sync(store.set("a/b", b"1"))
    assert sync(inner.get("a/b")) == b"1"
    assert sync(store.get("a/b", (0, 1))) == b"1"
    assert sync(store.list_dir("a")) == (["a/b"], [])


def test_memory_stores_share_the_dict_they_are_given() -> None:
    data: dict[str, bytes] = {}
    sync(MemoryStore(data).set("k", b"v"))
    assert data == {"k": b"v"}
    assert sync(MemoryStore(data, read_only=True).get("k")) == b"v"
