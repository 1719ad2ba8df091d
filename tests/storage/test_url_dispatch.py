"""open_store and the protocol registry."""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import zarrkit.storage.url as url_module
from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.runtime import sync
from zarrkit.storage import (
    MODES,
    LocalStore,
    MappingStore,
    MemoryStore,
    ReadOnlyView,
    Store,
    ZipStore,
    open_store,
    register_protocol,
)


@pytest.fixture(autouse=True)
def private_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Protocols a test registers disappear after it."""
    monkeypatch.setattr(url_module, "_openers", dict(url_module._openers))
    yield


def test_a_store_is_returned_as_is() -> None:
    store = MemoryStore()
    assert open_store(store, mode="a") is store
    assert open_store(store, mode="r+") is store
    assert open_store(store.mapping(), mode="w") is store


def test_mode_r_gives_a_read_only_view_of_a_writable_store() -> None:
    store = MemoryStore()
    sync(store.set("k", b"v"))
    for opened in [open_store(store), open_store(store.mapping(), mode="r")]:
        assert isinstance(opened, ReadOnlyView) and opened.store is store and opened.read_only
        assert sync(opened.get("k")) == b"v"
        with pytest.raises(ReadOnlyError, match="'k'"):
            sync(opened.set("k", b"changed"))
        with pytest.raises(ReadOnlyError):
            sync(opened.delete_prefix(""))
    assert sync(store.get("k")) == b"v"
    assert not store.read_only


def test_every_mode_in_modes_is_accepted_and_only_those() -> None:
    for mode in MODES:
        assert open_store(MemoryStore(), mode=mode).read_only is (mode == "r")
    with pytest.raises(StoreError, match=r"invalid mode 'x'.*'r\+'"):
        open_store(MemoryStore(), mode="x")


def test_a_read_only_store_cannot_be_opened_for_writing() -> None:
    store = MemoryStore(read_only=True)
    assert open_store(store) is store
    with pytest.raises(ReadOnlyError, match="'w'"):
        open_store(store, mode="w")


def test_a_mutable_mapping_becomes_a_mapping_store() -> None:
    data = {"k": b"v"}
    reader = open_store(data)
    assert isinstance(reader, MappingStore) and reader.read_only
    assert sync(reader.get("k")) == b"v"
    writer = open_store(data, mode="r+")
    sync(writer.set("new", b"1"))
    assert data["new"] == b"1"


@pytest.mark.parametrize("as_type", [str, Path], ids=["str", "Path"])
def test_local_paths_open_a_local_store(tmp_path: Path, as_type: type) -> None:
    store = open_store(as_type(tmp_path / "data"), mode="w")
    assert isinstance(store, LocalStore)
    assert store.root == str(tmp_path / "data")
    sync(store.set("k", b"v"))
    assert (tmp_path / "data" / "k").read_bytes() == b"v"
    reader = open_store(as_type(tmp_path / "data"))
    assert reader.read_only and sync(reader.get("k")) == b"v"


def test_file_urls_open_a_local_store(tmp_path: Path) -> None:
    store = open_store(f"file://{tmp_path}", mode="a")
    assert isinstance(store, LocalStore) and store.root == str(tmp_path) and not store.read_only


def test_memory_urls_share_data_by_name() -> None:
    name = f"memory://test-{uuid.uuid4().hex}"
    writer = open_store(name, mode="w")
    sync(writer.set("k", b"v"))
    reader = open_store(name)
    assert isinstance(reader, MemoryStore) and reader.read_only
    assert sync(reader.get("k")) == b"v"
    assert sync(open_store(name + "/", mode="a").get("k")) == b"v"
    assert sync(open_store(name + "-other").get("k")) is None


@pytest.mark.parametrize("mode", ["r+", "a", "w", "w-"])
def test_writable_modes_open_zip_archives_for_appending(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        sync(store.set("old", b"1"))
    with open_store(f"zip://{path}", mode=mode) as store:
        assert isinstance(store, ZipStore) and not store.read_only
        sync(store.set("new", b"2"))
    with open_store(f"zip://{path}") as store:
        assert store.read_only
        assert sync(store.list()) == ["new", "old"]


def test_zip_urls_take_a_compression_option(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    options = {"compression": zipfile.ZIP_DEFLATED}
    with open_store(f"zip://{path}", mode="w", storage_options=options) as store:
        sync(store.set("k", b"v" * 100))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("k").compress_type == zipfile.ZIP_DEFLATED


def test_an_unknown_protocol_names_the_url_and_the_known_ones() -> None:
    with pytest.raises(StoreError, match=r"'nope'.*'nope://bucket/x'.*known protocols: .*file, .*memory, .*s3, .*zip"):
        open_store("nope://bucket/x")


def test_protocols_only_fsspec_knows_go_through_the_fsspec_bridge(tmp_path: Path) -> None:
    from zarrkit.storage.fsspec import FsspecStore

    store = open_store(f"local://{tmp_path}", mode="w")  # fsspec's alias for its local filesystem
    assert isinstance(store, FsspecStore)
    sync(store.set("a/b", b"through fsspec"))
    assert (tmp_path / "a" / "b").read_bytes() == b"through fsspec"


def test_registered_protocols_receive_url_mode_and_options() -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = []
    opened = MemoryStore()

    def opener(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
        calls.append((url, mode, storage_options))
        return opened

    register_protocol("fake", opener)
    assert open_store("fake://bucket/a.zarr", mode="a", storage_options={"anon": True}) is opened
    assert open_store("FAKE://x") is opened
    assert open_store("fake::memory://inner") is opened
    assert calls == [
        ("fake://bucket/a.zarr", "a", {"anon": True}),
        ("FAKE://x", "r", {}),
        ("fake::memory://inner", "r", {}),
    ]
    assert "fake" in url_module.registered_protocols()


def test_registering_again_replaces_the_opener() -> None:
    first, second = MemoryStore(), MemoryStore()
    register_protocol("twice", lambda url, mode, options: first)
    register_protocol("twice", lambda url, mode, options: second)
    assert open_store("twice://x") is second


@pytest.mark.parametrize("name", ["", "has space", "1starts-with-digit", "a/b"])
def test_invalid_protocol_names_are_refused(name: str) -> None:
    with pytest.raises(StoreError, match="invalid protocol name"):
        register_protocol(name, lambda url, mode, options: MemoryStore())


def test_invalid_modes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="invalid mode 'rw'"):
        open_store(str(tmp_path), mode="rw")


def test_storage_options_that_cannot_apply_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="apply only to URLs"):
        open_store(MemoryStore(), storage_options={"anon": True})
    with pytest.raises(StoreError, match=r"\['anon'\].*do not apply"):
        open_store(str(tmp_path), storage_options={"anon": True})
    with pytest.raises(StoreError, match=r"\['level'\].*compression"):
        open_store(f"zip://{tmp_path}/x.zip", mode="w", storage_options={"level": 3})


def test_zip_inside_another_store_is_read_only() -> None:
    with pytest.raises(ReadOnlyError, match="zip::memory://x/a.zip"):
        open_store("zip::memory://x/a.zip", mode="w")


def test_things_that_are_not_stores_are_refused() -> None:
    with pytest.raises(StoreError, match="int"):
        open_store(42)  # type: ignore[arg-type]
