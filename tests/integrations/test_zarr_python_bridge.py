"""The zarr-python bridge: zarr-python's own store test suite, then real use by zarr-python and xarray.

``TestStoreSuite`` runs ``zarr.testing.store.StoreTests`` against :class:`ZarrkitStore` over each
zarrkit backend: memory, local files, redis (a real redis-server) and S3 (moto's server). It also
runs over ``LoopBoundStore``, a memory store
that behaves like a network store: it offers no blocking reader, and fails any operation that is not
awaited on zarrkit's I/O loop, so the whole suite also proves that the bridge hands such stores'
work to that loop. The async tests run on zarr-python's own loop thread (see conftest.py).
"""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import xarray as xr
import zarr
import zarr.api.asynchronous as zarr_async
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import cpu, default_buffer_prototype
from zarr.core.sync import sync as zarr_sync
from zarr.testing.store import StoreTests

import zarrkit
from zarrkit.errors import PermissionDenied, ReadOnlyError, StoreError
from zarrkit.integrations.zarr_python import ZarrkitStore
from zarrkit.runtime import io_loop
from zarrkit.runtime import sync as zarrkit_sync
from zarrkit.storage import LocalStore, MemoryStore, open_store
from zarrkit.storage.base import ByteRange, ReadRequest, Store
from zarrkit.storage.redis import RedisStore

T = TypeVar("T")

pytestmark = pytest.mark.filterwarnings(
    # zarr-python and xarray warn that consolidated metadata has no stable v3 spec yet.
    "ignore:Consolidated metadata is currently not part:zarr.errors.ZarrUserWarning",
    "ignore::zarr.errors.UnstableSpecificationWarning",
)


class LoopBoundStore(Store):
    """A memory store that, like a network store holding connections, works only on zarrkit's loop."""

    def __init__(self, inner: MemoryStore | None = None, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        self.inner = MemoryStore() if inner is None else inner

    def __repr__(self) -> str:
        return f"LoopBoundStore({self.inner!r})"

    def _on_zarrkit_loop(self) -> MemoryStore:
        assert asyncio.get_running_loop() is io_loop(), "a loop-bound store was awaited on a foreign loop"
        return self.inner

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        return await self._on_zarrkit_loop().get(key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        return await self._on_zarrkit_loop().get_many(requests)

    async def exists(self, key: str) -> bool:
        return await self._on_zarrkit_loop().exists(key)

    async def getsize(self, key: str) -> int | None:
        return await self._on_zarrkit_loop().getsize(key)

    async def list(self, prefix: str = "") -> list[str]:
        return await self._on_zarrkit_loop().list(prefix)

    async def set(self, key: str, value: bytes) -> None:
        self._check_writable(key)
        await self._on_zarrkit_loop().set(key, value)

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        self._check_writable("batch")
        await self._on_zarrkit_loop().set_many(items)

    async def delete(self, key: str) -> None:
        self._check_writable(key)
        await self._on_zarrkit_loop().delete(key)


class RefusingStore(MemoryStore):
    """A memory store whose backend refuses every read, as a server answering 403 does."""

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        raise PermissionDenied(f"reading {key!r}: 403 Forbidden")


BackendOpener = Callable[[str], Store]


@pytest.fixture
def open_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendOpener]:
    """``open_backend(kind)``: a fresh, empty, writable zarrkit store of that kind, closed after the test."""
    opened: list[Store] = []

    def open_one(kind: str) -> Store:
        if kind == "memory":
            store: Store = MemoryStore()
        elif kind == "local":
            store = LocalStore(tmp_path / f"store-{len(opened)}")
        elif kind == "redis":
            store = RedisStore(request.getfixturevalue("redis_server").fresh_url())
        elif kind == "s3":
            server = request.getfixturevalue("s3_server")
            store = open_store(server.fresh_url(), mode="a", storage_options=server.storage_options)
        else:
            assert kind == "loop-bound", kind
            store = LoopBoundStore()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


BACKENDS = ["memory", "local", "loop-bound", "redis", "s3"]


async def on_zarrkit_loop(operation: Coroutine[Any, Any, T]) -> T:
    """Run a zarrkit store operation directly (not through the bridge), wherever the caller's loop is."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(operation, io_loop()))


# -- zarr-python's store test suite -------------------------------------------------------------


class TestStoreSuite(StoreTests[ZarrkitStore, cpu.Buffer]):
    store_cls = ZarrkitStore
    buffer_cls = cpu.Buffer

    @pytest.fixture(params=BACKENDS)
    def store_kwargs(self, request: pytest.FixtureRequest, open_backend: BackendOpener) -> dict[str, Any]:
        return {"zarrkit_store": open_backend(request.param)}

    # zarr-python's own fixtures are async; these open the bridge on zarr-python's loop instead.
    @pytest.fixture
    def store(self, open_kwargs: dict[str, Any]) -> ZarrkitStore:
        return zarr_sync(ZarrkitStore.open(**open_kwargs))

    @pytest.fixture
    def store_not_open(self, store_kwargs: dict[str, Any]) -> ZarrkitStore:
        return ZarrkitStore(**store_kwargs)

    async def set(self, store: ZarrkitStore, key: str, value: cpu.Buffer) -> None:
        await on_zarrkit_loop(store.zarrkit_store.set(key, value.to_bytes()))

    async def get(self, store: ZarrkitStore, key: str) -> cpu.Buffer:
        value = await on_zarrkit_loop(store.zarrkit_store.get(key))
        assert value is not None, f"{key!r} is missing from {store.zarrkit_store!r}"
        return self.buffer_cls.from_bytes(value)

    def test_store_repr(self, store: ZarrkitStore) -> None:
        assert repr(store) == f"ZarrkitStore({store.zarrkit_store!r}, read_only=False)"

    def test_store_supports_writes(self, store: ZarrkitStore) -> None:
        assert store.supports_writes
        assert store.supports_deletes

    def test_store_supports_listing(self, store: ZarrkitStore) -> None:
        assert store.supports_listing


# -- the bridge's own contract ------------------------------------------------------------------

BLOB = bytes(range(200))
prototype = default_buffer_prototype()


@pytest.fixture(params=BACKENDS)
def bridge(request: pytest.FixtureRequest, open_backend: BackendOpener) -> ZarrkitStore:
    store = ZarrkitStore(open_backend(request.param))
    zarrkit_sync(store.zarrkit_store.set("blob", BLOB))
    return store


@pytest.mark.parametrize(
    ("byte_range", "expected"),
    [
        (RangeByteRequest(10, 20), BLOB[10:20]),
        (RangeByteRequest(190, 500), BLOB[190:]),
        (RangeByteRequest(300, 400), b""),
        (RangeByteRequest(5, 5), b""),
        (OffsetByteRequest(150), BLOB[150:]),
        (OffsetByteRequest(500), b""),
        (SuffixByteRequest(7), BLOB[-7:]),
        (SuffixByteRequest(0), b""),
        (SuffixByteRequest(1000), BLOB),
    ],
)
def test_byte_requests_are_clipped_to_the_value(bridge: ZarrkitStore, byte_range: Any, expected: bytes) -> None:
    value = zarr_sync(bridge.get("blob", prototype, byte_range))
    assert value.to_bytes() == expected
    [partial] = zarr_sync(bridge.get_partial_values(prototype, [("blob", byte_range)]))
    assert partial.to_bytes() == expected


def test_byte_requests_of_a_missing_key_read_none(bridge: ZarrkitStore) -> None:
    assert zarr_sync(bridge.get("missing", prototype, SuffixByteRequest(0))) is None
    assert zarr_sync(bridge.get_partial_values(prototype, [("missing", RangeByteRequest(0, 1))])) == [None]


@pytest.mark.parametrize(
    "byte_range",
    [RangeByteRequest(-1, 5), RangeByteRequest(8, 3), OffsetByteRequest(-2), SuffixByteRequest(-3)],
)
def test_negative_or_reversed_byte_requests_raise_store_error(bridge: ZarrkitStore, byte_range: Any) -> None:
    with pytest.raises(StoreError, match="'blob'"):
        zarr_sync(bridge.get("blob", prototype, byte_range))


def test_a_batch_reads_through_one_get_many_call(tmp_path: Path) -> None:
    calls: list[list[ReadRequest]] = []

    class CountingStore(MemoryStore):
        async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
            calls.append(list(requests))
            return await super().get_many(requests)

    bridge = ZarrkitStore(CountingStore({"a": b"0123", "b": b"4567"}))
    values = zarr_sync(bridge.get_partial_values(prototype, [("a", None), ("b", SuffixByteRequest(2)), ("c", None)]))
    assert [None if value is None else value.to_bytes() for value in values] == [b"0123", b"67", None]
    assert calls == [[("a", None), ("b", (-2, None)), ("c", None)]]


def test_backend_errors_reach_zarr_python_unchanged() -> None:
    bridge = ZarrkitStore(RefusingStore({"zarr.json": b"{}"}))
    with pytest.raises(PermissionDenied, match="403"):
        zarr_sync(bridge.get("zarr.json", prototype))
    with pytest.raises(PermissionDenied, match="403"):
        zarr.open_group(bridge, mode="r")


def test_the_bridge_follows_the_read_only_state_of_its_store(tmp_path: Path) -> None:
    writable = LocalStore(tmp_path)
    read_only = writable.with_read_only()
    assert not ZarrkitStore(writable).read_only
    assert ZarrkitStore(writable, read_only=True).read_only
    assert ZarrkitStore(read_only).read_only
    assert not ZarrkitStore(read_only).supports_writes
    with pytest.raises(ReadOnlyError, match="read-only"):
        ZarrkitStore(read_only, read_only=False)
    with pytest.raises(ReadOnlyError, match="read-only"):
        ZarrkitStore(read_only).with_read_only(False)
    with pytest.raises(ValueError, match="read-only"):
        zarr.create_array(ZarrkitStore(read_only), shape=(2,), dtype="i1")
    with pytest.raises(ValueError, match="read-only mode"):
        zarr_sync(ZarrkitStore(writable, read_only=True).set("k", cpu.Buffer.from_bytes(b"v")))
    assert zarrkit_sync(writable.list()) == []


@pytest.mark.parametrize("value", [{"a": 1}, "store", None])
def test_only_zarrkit_stores_can_be_wrapped(value: Any) -> None:
    with pytest.raises(StoreError, match="wraps a zarrkit Store"):
        ZarrkitStore(value)


def test_values_that_are_not_buffers_or_bytes_are_refused() -> None:
    bridge = ZarrkitStore(MemoryStore())
    with pytest.raises(StoreError, match="'k'"):
        zarr_sync(bridge.set("k", 12))  # type: ignore[arg-type]


def test_equality_means_the_same_data_and_the_same_read_only_state(tmp_path: Path) -> None:
    local = ZarrkitStore(LocalStore(tmp_path / "a"))
    assert local == ZarrkitStore(LocalStore(tmp_path / "a"))
    assert local != ZarrkitStore(LocalStore(tmp_path / "b"))
    assert local != local.with_read_only(True)
    assert local != ZarrkitStore(MemoryStore())
    memory = ZarrkitStore(MemoryStore({"k": b"v"}))
    assert memory == pickle.loads(pickle.dumps(memory))
    assert memory != ZarrkitStore(MemoryStore({"k": b"other"}))
    wrapped = ZarrkitStore(LoopBoundStore(MemoryStore({"k": b"v"})))
    assert wrapped == pickle.loads(pickle.dumps(wrapped))


def test_stores_with_their_own_equality_are_compared_by_it() -> None:
    class NamedStore(MemoryStore):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def __eq__(self, other: object) -> bool:
            return isinstance(other, NamedStore) and other.name == self.name

    assert ZarrkitStore(NamedStore("x")) == ZarrkitStore(NamedStore("x"))
    assert ZarrkitStore(NamedStore("x")) != ZarrkitStore(NamedStore("y"))


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_zarrkit_imports_zarr_python_only_when_the_bridge_is_imported() -> None:
    code = "import sys, zarrkit, zarrkit.integrations; print('zarr' in sys.modules)"
    assert run_python(code) == "False"


def test_importing_the_bridge_without_zarr_python_names_what_to_install() -> None:
    code = (
        "import sys; sys.modules['zarr'] = None\n"
        "from zarrkit.errors import UnsupportedFeature\n"
        "try:\n    import zarrkit.integrations.zarr_python\n"
        "except UnsupportedFeature as error:\n    print(error)"
    )
    assert "pip install 'zarr>=3.1'" in run_python(code)


def test_closing_the_bridge_leaves_the_zarrkit_store_usable(tmp_path: Path) -> None:
    backend = MemoryStore()
    with ZarrkitStore(backend) as bridge:
        zarr_sync(bridge.set("k", cpu.Buffer.from_bytes(b"v")))
    assert not bridge._is_open
    assert zarrkit_sync(backend.get("k")) == b"v"


# -- zarr-python and zarrkit on the same data -----------------------------------------------------

VALUES = np.array([1.5, -0.0, np.inf, 3e-310, 7.0, -2.25, 0.5, 11.0, 12.0, 13.0, 14.0, 15.0], dtype="<f8").reshape(3, 4)
VALUES.view("<u8")[0, 0] = 0x7FF8000000000123  # a NaN with a payload: only a bit comparison sees it


def assert_bit_identical(actual: Any, expected: np.ndarray) -> None:
    actual = np.asarray(actual)
    assert actual.dtype == expected.dtype
    assert actual.shape == expected.shape
    assert actual.tobytes() == expected.tobytes()


def stored_files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def write_with_zarr_python(store: Any, zarr_format: int) -> None:
    """A group with attributes, a sub-group and two arrays (one sharded on v3), written by zarr-python."""
    group = zarr.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "bridge ✓"})
    sub = group.create_group("sub", attributes={"level": 1})
    sharding = {"shards": (3, 4)} if zarr_format == 3 else {}
    group.create_array("values", shape=(3, 4), chunks=(3, 2), dtype="<f8", fill_value=0.0, **sharding)[...] = VALUES
    sub.create_array("counts", shape=(5,), chunks=(2,), dtype="<i2", fill_value=-9)[:3] = [3, -1, 32767]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_writes_through_the_bridge_and_zarrkit_reads_it(tmp_path: Path, zarr_format: int) -> None:
    write_with_zarr_python(ZarrkitStore(LocalStore(tmp_path / "bridged")), zarr_format)
    write_with_zarr_python(zarr.storage.LocalStore(tmp_path / "native"), zarr_format)
    # The bridge stores exactly what zarr-python's own LocalStore stores.
    assert stored_files(tmp_path / "bridged") == stored_files(tmp_path / "native")

    group = zarrkit.open_group(str(tmp_path / "bridged"), mode="r")
    assert dict(group.attrs) == {"title": "bridge ✓"}
    assert dict(group["sub"].attrs) == {"level": 1}
    assert_bit_identical(group["values"][...], VALUES)
    assert_bit_identical(group["sub/counts"][...], np.array([3, -1, 32767, -9, -9], dtype="<i2"))


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarrkit_writes_and_zarr_python_reads_through_the_bridge(tmp_path: Path, zarr_format: int) -> None:
    group = zarrkit.open_group(str(tmp_path), mode="w", zarr_format=zarr_format, attributes={"title": "ü"})
    array = group.create_array("values", shape=(3, 4), chunks=(2, 3), dtype="<f8", fill_value=0.0)
    array[...] = VALUES
    group.create_group("sub", attributes={"level": 2})

    opened = zarr.open_group(ZarrkitStore(LocalStore(tmp_path, read_only=True)), mode="r")
    assert opened.attrs.asdict() == {"title": "ü"}
    assert opened["sub"].attrs.asdict() == {"level": 2}
    assert_bit_identical(opened["values"][...], VALUES)
    assert_bit_identical(
        zarr.open_array(ZarrkitStore(LocalStore(tmp_path)), path="values", mode="r")[1:, 2], VALUES[1:, 2]
    )


@pytest.mark.parametrize("kind", BACKENDS)
def test_zarr_python_async_api_from_the_callers_own_loop(open_backend: BackendOpener, kind: str) -> None:
    backend = open_backend(kind)

    async def write_then_read() -> np.ndarray:
        bridge = ZarrkitStore(backend)
        array = await zarr_async.create_array(bridge, name="a", shape=(3, 4), chunks=(2, 2), dtype="<f8")
        await array.setitem(..., VALUES)
        opened = await zarr_async.open_array(store=bridge.with_read_only(True), path="a", mode="r")
        return await opened.getitem(...)

    assert_bit_identical(asyncio.run(write_then_read()), VALUES)
    assert_bit_identical(zarrkit.open_array(backend, path="a")[...], VALUES)


# -- xarray ---------------------------------------------------------------------------------------


def sample_dataset() -> xr.Dataset:
    return xr.Dataset(
        {
            "temperature": (("time", "station"), VALUES, {"units": "K"}),
            "count": (("station",), np.array([4, 0, -3, 9], dtype="<i4")),
        },
        coords={"time": np.array([0, 6, 12], dtype="<i8"), "station": ["a", "b", "c", "d"]},
        attrs={"source": "zarrkit bridge test"},
    )


@pytest.mark.parametrize("kind", BACKENDS)
def test_xarray_round_trips_a_dataset_through_the_bridge(open_backend: BackendOpener, kind: str) -> None:
    bridge = ZarrkitStore(open_backend(kind))
    dataset = sample_dataset()
    dataset.to_zarr(store=bridge, mode="w")

    reopened = xr.open_zarr(bridge).load()
    xr.testing.assert_identical(reopened, dataset)
    assert_bit_identical(reopened["temperature"].values, VALUES)
    # zarrkit reads what xarray wrote, through the same zarrkit store.
    assert_bit_identical(zarrkit.open_array(bridge.zarrkit_store, path="temperature")[...], VALUES)
