"""MappingStore and MemoryStore beyond the conformance suite."""

from __future__ import annotations

import asyncio
import errno
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import PermissionDenied, StoreError
from zarrkit.runtime import pool_size, sync
from zarrkit.storage import LocalStore, MappingStore, MemoryStore


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


class PassThrough(MutableMapping[str, bytes]):
    """A mapping that hands every call to another mapping, as a caching or logging wrapper does."""

    def __init__(self, inner: MutableMapping[str, bytes]) -> None:
        self.inner = inner
        self.threads: set[str] = set()

    def __getitem__(self, key: str) -> bytes:
        self.threads.add(threading.current_thread().name)
        return self.inner[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.inner[key] = value

    def __delitem__(self, key: str) -> None:
        del self.inner[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)


def finishes_within(seconds: float, work: Callable[[], object]) -> bool:
    """Run ``work`` in a daemon thread; False if it has not returned after ``seconds`` (a deadlock)."""
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done.wait(seconds)


def test_a_mapping_that_reads_another_store_does_not_deadlock(tmp_path: Path) -> None:
    inner = LocalStore(tmp_path)
    sync(inner.set_many([(f"c/{index}", bytes([index])) for index in range(64)]))
    store = MappingStore(PassThrough(inner.mapping()))

    async def concurrent_reads() -> list[bytes | None]:
        # More simultaneous calls than the codec pool has threads: each waits for the inner store.
        return list(await asyncio.gather(*(store.get(f"c/{index}") for index in range(64))))

    results: list[list[bytes | None]] = []
    assert finishes_within(20, lambda: results.append(sync(concurrent_reads())))
    assert results == [[bytes([index]) for index in range(64)]]


def test_an_array_read_through_a_mapping_over_a_store_view_does_not_deadlock(tmp_path: Path) -> None:
    local = LocalStore(tmp_path)
    array = zarrkit.create_array(local, shape=(64,), dtype="i4", chunks=(1,))
    array[...] = np.arange(64)
    totals: list[int] = []
    assert finishes_within(20, lambda: totals.append(int(zarrkit.open_array(PassThrough(local.mapping()))[...].sum())))
    assert totals == [sum(range(64))]


def test_the_mapping_is_never_called_on_a_codec_pool_thread() -> None:
    mapping = PassThrough({"k": b"v"})
    store = MappingStore(mapping)

    async def reads() -> list[bytes | None]:
        return list(await asyncio.gather(*(store.get("k") for _ in range(4 * pool_size()))))

    assert sync(reads()) == [b"v"] * 4 * pool_size()
    assert sync(store.get_many([("k", None)])) == [b"v"]
    assert len(mapping.threads) == 1
    assert not any(name.startswith("zarrkit-codec") for name in mapping.threads)


def test_close_stops_the_mapping_thread_and_later_calls_raise() -> None:
    threads: list[threading.Thread] = []

    class Recording(dict):
        def __getitem__(self, key: str) -> bytes:
            threads.append(threading.current_thread())
            return super().__getitem__(key)

    store = MappingStore(Recording(k=b"v"))
    assert sync(store.get("k")) == b"v"
    store.close()
    threads[0].join(10)
    assert not threads[0].is_alive()
    with pytest.raises(StoreError, match="'k'.*closed"):
        sync(store.get("k"))
    store.close()


def _read_in_child(store: MappingStore) -> None:
    if sync(store.get("k")) != b"v":
        raise SystemExit(1)


def test_a_forked_child_gets_its_own_mapping_thread() -> None:
    store = MappingStore({"k": b"v"})
    assert sync(store.get("k")) == b"v"  # the parent's thread exists before the fork
    child = multiprocessing.get_context("fork").Process(target=_read_in_child, args=(store,))
    child.start()
    child.join(20)
    if child.is_alive():
        child.kill()
    assert child.exitcode == 0


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
