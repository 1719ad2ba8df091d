"""CachingStore and ``cache::<url>``: hits avoid the inner store, the size bound holds, writes
invalidate. The conformance suite also runs a CachingStore, for everything a store must do."""

from __future__ import annotations

import asyncio
import pickle
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from tests.servers.redis import RedisServer
from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.runtime import sync
from zarrkit.storage import CachingStore, MemoryStore, RedisStore, Store, open_store
from zarrkit.storage.base import ByteRange, ReadRequest


class RecordingStore(MemoryStore):
    """A MemoryStore that records the requests it is asked to read; a test may hold reads at a gate."""

    def __init__(self, data: dict[str, bytes] | None = None, *, read_only: bool = False) -> None:
        super().__init__(data, read_only=read_only)
        self.reads: list[ReadRequest] = []
        self.gate: asyncio.Event | None = None
        self.waiting = asyncio.Event()

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        values = await super().get_many(requests)  # read now, answer when the gate opens
        self.reads += requests
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        return values


def cache_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file())


@pytest.fixture
def inner() -> RecordingStore:
    return RecordingStore({f"k{index}": bytes([index]) * 300 for index in range(10)} | {"blob": bytes(range(256))})


def test_hits_do_not_read_the_inner_store(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, 10_000)
    assert sync(cache.get("k1")) == bytes([1]) * 300
    assert sync(cache.get("k1")) == bytes([1]) * 300
    assert inner.reads == [("k1", None)]
    inner.reads.clear()
    values = sync(cache.get_many([("k1", None), ("k2", None), ("missing", None), ("k1", (10, 5))]))
    assert values == [bytes([1]) * 300, bytes([2]) * 300, None, bytes([1]) * 5]
    assert inner.reads == [("k2", None), ("missing", None)]  # one batch of the misses; ranges of cached values
    inner.reads.clear()
    assert sync(cache.get("missing")) is None
    assert inner.reads == [("missing", None)]  # missing keys are not cached


def test_byte_ranges_are_cached_by_range(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, 10_000)
    ranges = [(10, 20), (10, None), (-7, None), (300, 4), (0, 0)]
    expected = [bytes(range(256))[offset:] if length is None else bytes(range(256))[offset : offset + length] for offset, length in ranges]
    assert sync(cache.get_many([("blob", byte_range) for byte_range in ranges])) == expected
    assert sync(cache.get_many([("blob", byte_range) for byte_range in ranges])) == expected
    assert [byte_range for _, byte_range in inner.reads] == ranges
    assert sorted(path.name for path in cache_files(tmp_path)) == ["r0-0", "r10-20", "r10-end", "r300-4", "s7"]
    assert sync(cache.get("blob", (11, 2))) == bytes([11, 12])  # not cached yet: read
    assert len(inner.reads) == len(ranges) + 1


def test_the_size_bound_holds_and_the_least_recently_used_go_first(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, max_bytes=1000)  # room for three values of 300 bytes
    for key in ["k0", "k1", "k2"]:
        sync(cache.get(key))
    sync(cache.get("k0"))  # k1 is now the least recently used
    sync(cache.get("k3"))
    assert cache.cached_bytes == 900
    assert sum(path.stat().st_size for path in cache_files(tmp_path)) == 900
    inner.reads.clear()
    sync(cache.get_many([("k0", None), ("k2", None), ("k3", None)]))
    assert inner.reads == []
    sync(cache.get("k1"))
    assert inner.reads == [("k1", None)]
    for index in range(10):
        sync(cache.get(f"k{index}"))
        assert sum(path.stat().st_size for path in cache_files(tmp_path)) <= 1000


def test_values_larger_than_the_bound_are_not_cached(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, max_bytes=299)
    sync(cache.get("k1"))
    sync(cache.get("k1"))
    assert inner.reads == [("k1", None), ("k1", None)] and cache_files(tmp_path) == []
    assert sync(cache.get("k1", (0, 10))) == bytes([1]) * 10
    assert cache.cached_bytes == 10


def test_writes_and_deletes_go_through_and_invalidate(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, 10_000)
    sync(cache.get_many([("k1", None), ("k1", (0, 2)), ("k2", None), ("k3", None)]))
    sync(cache.set("k1", b"new value"))
    assert sync(inner.get("k1")) == b"new value"
    assert sync(cache.get("k1")) == b"new value" and sync(cache.get("k1", (0, 2))) == b"ne"
    sync(cache.delete("k2"))
    assert sync(cache.get("k2")) is None
    sync(cache.set_many([("d/a", b"1"), ("d/b", b"2")]))
    assert sync(cache.get_many([("d/a", None), ("d/b", None)])) == [b"1", b"2"]
    sync(cache.delete_prefix("d/"))
    assert sync(cache.get_many([("d/a", None), ("d/b", None)])) == [None, None]
    assert sync(cache.list("d/")) == []
    assert sync(cache.get("k3")) == bytes([3]) * 300


def test_a_read_racing_a_write_does_not_cache_the_old_value(tmp_path: Path, inner: RecordingStore) -> None:
    cache = CachingStore(inner, tmp_path, 10_000)

    async def race() -> tuple[bytes | None, bytes | None]:
        inner.gate = asyncio.Event()
        inner.waiting = asyncio.Event()
        read = asyncio.ensure_future(cache.get("k1"))
        await inner.waiting.wait()  # the inner store has read the old value
        await cache.set("k1", b"written meanwhile")
        inner.gate.set()
        inner.gate = None
        return await read, await cache.get("k1")

    old, after = sync(race())
    assert old == bytes([1]) * 300
    assert after == b"written meanwhile"


def test_entries_persist_for_the_same_namespace(tmp_path: Path, inner: RecordingStore) -> None:
    first = CachingStore(inner, tmp_path, 10_000, namespace="dataset-a")
    sync(first.get_many([("k1", None), ("blob", (1, 2))]))
    second_inner = RecordingStore(inner._data)
    second = CachingStore(second_inner, tmp_path, 10_000, namespace="dataset-a")
    assert second.cached_bytes == 302
    assert sync(second.get_many([("k1", None), ("blob", (1, 2))])) == [bytes([1]) * 300, b"\x01\x02"]
    assert second_inner.reads == []
    other = CachingStore(second_inner, tmp_path, 10_000, namespace="dataset-b")
    sync(other.get("k1"))
    assert second_inner.reads == [("k1", None)]
    private = CachingStore(second_inner, tmp_path, 10_000)
    sync(private.get("k1"))
    assert second_inner.reads == [("k1", None), ("k1", None)]


def test_a_smaller_bound_on_reopening_evicts_at_once(tmp_path: Path, inner: RecordingStore) -> None:
    sync(CachingStore(inner, tmp_path, 10_000, namespace="n").get_many([(f"k{index}", None) for index in range(5)]))
    reopened = CachingStore(inner, tmp_path, 700, namespace="n")
    assert reopened.cached_bytes == 600
    assert sum(path.stat().st_size for path in cache_files(tmp_path)) == 600


def test_cache_files_are_complete_and_other_files_are_left_alone(tmp_path: Path, inner: RecordingStore) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "ab").mkdir()
    (tmp_path / "ab" / "photo.jpg").write_bytes(b"x" * 5000)
    cache = CachingStore(inner, tmp_path, 10_000)
    sync(cache.get("k1"))
    (entry,) = [path for path in cache_files(tmp_path) if path.name == "all"]
    assert entry.read_bytes() == bytes([1]) * 300
    stray = entry.parent / ".all.0123456789ab.tmp"  # as a writer that died before renaming leaves it
    stray.write_bytes(b"partial")
    reopened = CachingStore(inner, tmp_path, 100)  # a bound that evicts everything it knows
    assert not stray.exists() and not entry.exists()
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "ab" / "photo.jpg").exists()
    assert reopened.cached_bytes == 0


def test_a_read_only_inner_store_makes_a_read_only_cache(tmp_path: Path) -> None:
    cache = CachingStore(MemoryStore({"k": b"v"}, read_only=True), tmp_path)
    assert cache.read_only
    with pytest.raises(ReadOnlyError):
        sync(cache.set("k", b"x"))
    assert sync(cache.get("k")) == b"v"


def test_bad_bounds_and_directories_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="max_bytes"):
        CachingStore(MemoryStore(), tmp_path, -1)
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(StoreError, match="cache directory"):
        CachingStore(MemoryStore(), tmp_path / "file" / "cache")


def test_cache_urls_wrap_the_inner_url(tmp_path: Path) -> None:
    name = f"memory://cached-{uuid.uuid4().hex}"
    options = {"cache_directory": str(tmp_path / "c"), "cache_max_bytes": 5000}
    writer = open_store(f"cache::{name}", mode="w", storage_options=options)
    assert isinstance(writer, CachingStore) and not writer.read_only and writer.max_bytes == 5000
    sync(writer.set("k", b"through"))
    assert sync(open_store(name).get("k")) == b"through"
    reader = open_store(f"cache::{name}", storage_options=options)
    assert reader.read_only and sync(reader.get("k")) == b"through"
    assert [path.name for path in cache_files(tmp_path / "c")] == ["all"]
    with pytest.raises(StoreError, match="names no store"):
        open_store("cache::")


def test_cache_urls_pass_other_options_to_the_inner_store(tmp_path: Path, redis_server: RedisServer) -> None:
    url = f"cache::{redis_server.fresh_url()}"
    store = open_store(url, mode="w", storage_options={"cache_directory": str(tmp_path), "timeout": 3})
    assert isinstance(store, CachingStore) and isinstance(store.inner, RedisStore)
    sync(store.set("k", b"v"))
    assert sync(store.get("k")) == b"v"
    store.close()
    with pytest.raises(StoreError, match=r"\['anon'\].*redis://"):
        open_store(url, storage_options={"cache_directory": str(tmp_path), "anon": True})


def test_arrays_read_through_the_cache_read_nothing_twice(tmp_path: Path) -> None:
    inner = RecordingStore()
    values = np.arange(2000, dtype="f4").reshape(40, 50)
    array = zarrkit.create_array(inner, shape=values.shape, dtype="f4", chunks=(10, 10), shards=(20, 20))
    array[...] = values
    cache: Store = CachingStore(inner, tmp_path, 1 << 20)
    np.testing.assert_array_equal(zarrkit.open_array(cache)[5:35, 3:47], values[5:35, 3:47])
    reads = len(inner.reads)
    assert any(key.startswith("c/") for key, _ in inner.reads)
    np.testing.assert_array_equal(zarrkit.open_array(cache)[5:35, 3:47], values[5:35, 3:47])
    # Only the probes for metadata that does not exist (v2 names) reach the inner store again.
    assert all(sync(inner.get(key)) is None for key, _ in inner.reads[reads:])


def test_a_pickled_cache_shares_the_entries(tmp_path: Path) -> None:
    inner = MemoryStore({"k": b"value"})
    cache = CachingStore(inner, tmp_path, 1000)
    sync(cache.get("k"))
    copy = pickle.loads(pickle.dumps(cache))
    assert (copy.directory, copy.max_bytes, copy.namespace, copy.cached_bytes) == (tmp_path, 1000, cache.namespace, 5)
    sync(copy.inner.set("k", b"changed underneath"))  # the copy's inner store is a copy too
    assert sync(copy.get("k")) == b"value"  # served from the shared entry
