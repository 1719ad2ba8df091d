"""The fsspec bridge both ways: fsspec filesystems as zarrkit stores, zarrkit stores as fsspec
filesystems and mappings (used by zarr-python). The conformance suite runs FsspecStore on fsspec's
memory and local filesystems and on s3fs against moto; these tests cover the rest."""

from __future__ import annotations

import asyncio
import pickle
import sys
import uuid
from pathlib import Path

import fsspec
import numpy as np
import pytest
import s3fs
import zarr
from zarr.storage import FsspecStore as ZarrFsspecStore

import zarrkit
from tests.servers.http import NginxServer
from tests.servers.redis import RedisServer
from tests.servers.s3 import S3Server
from zarrkit.errors import PermissionDenied, ReadOnlyError, StoreError, TransientStoreError, UnsupportedFeature
from zarrkit.runtime import sync
from zarrkit.storage import LocalStore, MemoryStore, RedisStore, open_store
from zarrkit.storage.fsspec import (
    FsspecStore,
    fsspec_knows,
    open_with_fsspec,
    store_as_filesystem,
    store_as_mapping,
)


def s3fs_options(server: S3Server) -> dict:
    return {"endpoint_url": server.endpoint, "key": "testing", "secret": "testing"}


# -- fsspec filesystems as zarrkit stores ---------------------------------------------------------


def test_fsspec_urls_open_fsspec_filesystems_even_where_zarrkit_has_its_own(tmp_path: Path) -> None:
    name = f"/bridge-{uuid.uuid4().hex}"
    writer = open_store(f"fsspec::memory://{name}", mode="w")
    assert isinstance(writer, FsspecStore) and not writer.read_only
    sync(writer.set("a/zarr.json", b"{}"))
    assert fsspec.filesystem("memory").cat_file(f"{name}/a/zarr.json") == b"{}"
    assert sync(open_store(f"memory://{name}").get("a/zarr.json")) is None  # zarrkit's memory is another
    reader = open_store(f"fsspec::file://{tmp_path}")
    assert reader.read_only and isinstance(reader, FsspecStore)
    (tmp_path / "k").write_bytes(b"local")
    assert sync(reader.get("k", (1, 3))) == b"oca"


def test_arrays_round_trip_through_an_fsspec_filesystem(tmp_path: Path) -> None:
    url = f"fsspec::file://{tmp_path}/data.zarr"
    values = np.arange(600, dtype="i2").reshape(20, 30)
    array = zarrkit.create_array(url, shape=values.shape, dtype="i2", chunks=(7, 8), shards=(14, 16))
    array[...] = values
    np.testing.assert_array_equal(zarrkit.open_array(url)[3:17, 5:29], values[3:17, 5:29])
    np.testing.assert_array_equal(zarrkit.open_array(str(tmp_path / "data.zarr"))[...], values)


def test_an_async_filesystem_is_driven_from_any_event_loop(s3_server: S3Server) -> None:
    store = open_store("fsspec::" + s3_server.fresh_url(), mode="w", storage_options=s3fs_options(s3_server))
    assert store.fs.async_impl and not store.fs.asynchronous

    async def round_trip() -> list[bytes | None]:
        await store.set("k", b"value")
        return await store.get_many([("k", (1, 3)), ("missing", None), ("k", (-2, None))])

    assert asyncio.run(round_trip()) == [b"alu", None, b"ue"]
    assert sync(round_trip()) == [b"alu", None, b"ue"]


def test_an_asynchronous_filesystem_instance_is_used_as_it_is(s3_server: S3Server) -> None:
    fs = s3fs.S3FileSystem(asynchronous=True, **s3fs_options(s3_server))
    store = FsspecStore(fs, s3_server.fresh_url())
    sync(store.set_many([("a/0", b"zero"), ("a/1", b"one")]))
    assert sync(store.list_dir("a")) == (["a/0", "a/1"], [])
    assert sync(store.get("a/1", (1, None))) == b"ne"
    sync(store.delete_prefix("a/"))
    assert sync(store.list()) == []


def test_keys_that_look_like_glob_patterns_are_deleted_alone(s3_server: S3Server) -> None:
    store = open_store("fsspec::" + s3_server.fresh_url(), mode="w", storage_options=s3fs_options(s3_server))
    sync(store.set_many([("c/[0-9]", b"literal"), ("c/1", b"1"), ("c/2", b"2"), ("d/0", b"0"), ("d/1", b"1")]))
    sync(store.delete_many(["c/[0-9]", "c/*", "d/0", "d/1", "d/missing"]))
    assert sync(store.list()) == ["c/1", "c/2"]


def test_http_statuses_become_the_same_errors_as_elsewhere(nginx_server: NginxServer) -> None:
    directory, url = nginx_server.fresh_directory()
    (directory / "k").write_bytes(b"served by nginx")
    store = open_store(f"fsspec::{url}")
    assert sync(store.get("k", (10, 5))) == b"nginx"
    assert sync(store.get("missing")) is None
    with pytest.raises(PermissionDenied, match="'k'"):
        sync(open_store(f"fsspec::{nginx_server.url}/status-403").get("k"))
    with pytest.raises(PermissionDenied):
        sync(open_store(f"fsspec::{nginx_server.url}/status-401").get("k"))
    with pytest.raises(TransientStoreError, match="'k'"):
        sync(open_store(f"fsspec::{nginx_server.url}/status-503").get("k"))


def test_permission_errors_of_a_filesystem_raise_permission_denied(tmp_path: Path) -> None:
    store = FsspecStore(fsspec.filesystem("file"), str(tmp_path))
    error = store._error("reading", "k", PermissionError(13, "Permission denied"))
    assert isinstance(error, PermissionDenied) and "'k'" in str(error) and str(tmp_path) in str(error)


def test_read_only_fsspec_stores_refuse_writes(tmp_path: Path) -> None:
    store = open_store(f"fsspec::file://{tmp_path}")
    with pytest.raises(ReadOnlyError):
        sync(store.set("k", b"v"))
    assert not (tmp_path / "k").exists()


def test_which_protocols_fsspec_knows() -> None:
    assert fsspec_knows("s3") and fsspec_knows("sftp") and fsspec_knows("memory")
    assert not fsspec_knows("nope")


def test_open_with_fsspec_serves_protocols_zarrkit_lacks(tmp_path: Path) -> None:
    (tmp_path / "k").write_bytes(b"cached by fsspec")
    store = open_with_fsspec(
        f"simplecache::file://{tmp_path}", "r", {"simplecache": {"cache_storage": str(tmp_path / "c")}}
    )
    assert sync(store.get("k")) == b"cached by fsspec"
    with pytest.raises(StoreError, match="'nope://x'"):
        open_with_fsspec("nope://x", "r", {})
    with pytest.raises(UnsupportedFeature, match="'gcs://bucket/x'"):
        open_with_fsspec("gcs://bucket/x", "r", {})


# -- zarrkit stores as fsspec filesystems and mappings --------------------------------------------


def test_a_store_as_an_fsspec_filesystem() -> None:
    store = MemoryStore()
    fs = store_as_filesystem(store)
    fs.pipe({"a/zarr.json": b"{}", "a/c/0": bytes(range(100)), "b": b"bee"})
    assert sync(store.list()) == ["a/c/0", "a/zarr.json", "b"]
    assert fs.cat_file("a/c/0", 10, 14) == bytes(range(10, 14))
    assert fs.cat_file("/a/c/0", -5) == bytes(range(95, 100))
    assert fs.cat_file("zarrkit://a/c/0", 90, -5) == bytes(range(90, 95))
    assert fs.cat_ranges(["a/c/0", "b", "missing"], [0, 1, 0], [2, None, 1])[:2] == [b"\x00\x01", b"ee"]
    assert [type(value) for value in fs.cat_ranges(["missing", "b", "nope"], [0, -2, 0], [1, -1, -1])] == [
        FileNotFoundError,
        bytes,
        FileNotFoundError,
    ]
    assert fs.cat(["b", "a/zarr.json"]) == {"b": b"bee", "a/zarr.json": b"{}"}
    assert fs.ls("", detail=False) == ["b", "a"]
    assert fs.ls("a", detail=True) == [
        {"name": "a/zarr.json", "size": 2, "type": "file"},
        {"name": "a/c", "size": 0, "type": "directory"},
    ]
    assert fs.ls("b", detail=False) == ["b"]
    assert fs.find("a") == ["a/c/0", "a/zarr.json"]
    assert fs.find("", withdirs=True) == ["a", "a/c", "a/c/0", "a/zarr.json", "b"]
    assert fs.info("a/c") == {"name": "a/c", "size": 0, "type": "directory"}
    assert fs.isfile("b") and fs.isdir("a") and not fs.exists("nope")
    missing_calls = [
        lambda: fs.cat_file("nope"),
        lambda: fs.cat_file("nope", 0, -1),
        lambda: fs.info("nope"),
        lambda: fs.ls("nope"),
        lambda: fs.rm("nope"),
    ]
    for missing in missing_calls:
        with pytest.raises(FileNotFoundError):
            missing()
    with pytest.raises(FileExistsError):
        fs.pipe_file("b", b"x", mode="create")
    with pytest.raises(OSError, match="keys below"):
        fs.rmdir("a")
    fs.rm("a", recursive=True)
    fs.rm_file("b")
    assert sync(store.list()) == []


def test_files_of_the_filesystem_read_and_write_the_store() -> None:
    store = MemoryStore()
    fs = store_as_filesystem(store)
    with fs.open("f", "wb", block_size=5) as file:  # several blocks, stored as one value at close
        file.write(b"0123456789")
        file.write(b"abc")
    assert sync(store.get("f")) == b"0123456789abc"
    with fs.open("f", "ab") as file:
        file.write(b"!")
    with fs.open("f", "rb") as file:
        file.seek(10)
        assert file.read(2) == b"ab"
        assert file.size == 14
    with pytest.raises(FileExistsError):
        with fs.open("f", "xb") as file:
            file.write(b"no")
    assert sync(store.get("f")) == b"0123456789abc!"


def test_a_read_only_store_refuses_writes_through_fsspec() -> None:
    fs = store_as_filesystem(MemoryStore({"k": b"v"}, read_only=True))
    assert fs.cat_file("k") == b"v"
    with pytest.raises(ReadOnlyError):
        fs.pipe_file("k", b"changed")


def test_a_store_as_an_fsspec_mapping() -> None:
    store = MemoryStore()
    mapping = store_as_mapping(store, root="group")
    mapping["zarr.json"] = b"{}"
    mapping["c/0"] = b"chunk"
    assert sync(store.list()) == ["group/c/0", "group/zarr.json"]
    assert dict(mapping) == {"c/0": b"chunk", "zarr.json": b"{}"}
    assert mapping.getitems(["c/0", "missing"], on_error="omit") == {"c/0": b"chunk"}
    del mapping["c/0"]
    assert "c/0" not in mapping and len(mapping) == 1
    assert store_as_mapping(store.mapping())["group/zarr.json"] == b"{}"


@pytest.mark.parametrize("kind", ["memory", "local", "redis"])
def test_zarr_python_writes_and_reads_through_the_mapping(
    kind: str, tmp_path: Path, redis_server: RedisServer
) -> None:
    stores = {
        "memory": lambda: MemoryStore(),
        "local": lambda: LocalStore(tmp_path / "data"),
        "redis": lambda: RedisStore(redis_server.fresh_url()),
    }
    store = stores[kind]()
    values = np.arange(300, dtype="f8").reshape(15, 20)
    group = zarr.open_group(store=store_as_mapping(store), mode="w")
    group.create_array("t", shape=values.shape, chunks=(4, 8), dtype="f8")[...] = values
    np.testing.assert_array_equal(zarrkit.open_array(store, path="t")[...], values)

    zarrkit.open_array(store, path="t", mode="r+")[0, :] = -1.0
    through_fsspec = ZarrFsspecStore.from_mapper(store_as_mapping(store), read_only=True)
    np.testing.assert_array_equal(zarr.open_array(store=through_fsspec, path="t", mode="r")[0], -np.ones(20))
    store.close()


def test_a_zarrkit_store_through_fsspec_and_back() -> None:
    inner = MemoryStore()
    store = FsspecStore(store_as_filesystem(inner))
    sync(store.set_many([("a/b/0", b"zero"), ("a/1", b"one")]))
    assert sync(inner.list()) == ["a/1", "a/b/0"]
    assert sync(store.list_dir("a")) == (["a/1"], ["a/b/"])
    assert sync(store.get_many([("a/b/0", (1, 2)), ("nope", None)])) == [b"er", None]


def test_a_pickled_fsspec_store_sees_the_same_files(tmp_path: Path) -> None:
    store = open_store(f"fsspec::file://{tmp_path}", mode="w")
    sync(store.set("a/k", b"v"))
    copy = pickle.loads(pickle.dumps(store))
    assert sync(copy.get("a/k")) == b"v" and copy.url == store.url


def test_keys_written_by_another_writer_are_seen_at_once(s3_server: S3Server) -> None:
    url, options = s3_server.fresh_url(), s3fs_options(s3_server)
    reader = open_store("fsspec::" + url, storage_options=options)
    writer = open_store("fsspec::" + url, mode="w", storage_options={**options, "skip_instance_cache": True})
    assert reader.fs is not writer.fs
    sync(writer.set("a/0", b"0"))
    assert sync(reader.list_dir("a")) == (["a/0"], [])  # s3fs caches this listing
    sync(writer.set("a/1", b"one"))
    assert sync(reader.getsize("a/1")) == 3
    assert sync(reader.list_dir("a")) == (["a/0", "a/1"], [])


def test_an_unreachable_server_fails_at_open_naming_the_url() -> None:
    options = {
        "endpoint_url": "http://127.0.0.1:1",  # nothing listens on port 1
        "key": "k",
        "secret": "s",
        "config_kwargs": {"connect_timeout": 1, "retries": {"max_attempts": 1}},
    }
    with pytest.raises(StoreError, match=r"opening s3://bucket/x.*127\.0\.0\.1:1"):
        open_store("fsspec::s3://bucket/x", storage_options=options)


def test_without_fsspec_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fsspec", None)  # as if fsspec were not installed
    with pytest.raises(UnsupportedFeature, match=r"zarrkit\[fsspec\]"):
        open_store("fsspec::memory://x")
    with pytest.raises(UnsupportedFeature, match=r"zarrkit\[fsspec\]"):
        store_as_mapping(MemoryStore())
    assert not fsspec_knows("s3")
