"""LocalStore beyond the conformance suite: layout on disk, atomic writes, key safety, OS errors."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

import zarrkit.storage.local as local_module
from zarrkit.errors import PermissionDenied, StoreError
from zarrkit.runtime import pool_size, sync
from zarrkit.storage import LocalStore


def files_below(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_keys_are_files_below_the_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set_many([("a/b/c", b"abc"), ("a/.zarray", b"{}"), ("top", b"t")]))
    assert (tmp_path / "a" / "b" / "c").read_bytes() == b"abc"
    assert (tmp_path / "a" / ".zarray").read_bytes() == b"{}"
    assert files_below(tmp_path) == ["a/.zarray", "a/b/c", "top"]


def test_files_written_by_others_are_keys(tmp_path: Path) -> None:
    (tmp_path / "g" / "c").mkdir(parents=True)
    (tmp_path / "g" / "c" / "0").write_bytes(b"outside")
    store = LocalStore(tmp_path, read_only=True)
    assert sync(store.get("g/c/0")) == b"outside"
    assert sync(store.list()) == ["g/c/0"]


def test_a_missing_root_reads_as_empty_and_is_created_by_the_first_write(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet"
    store = LocalStore(root)
    assert sync(store.get("k")) is None
    assert sync(store.list()) == []
    assert sync(store.list_dir("")) == ([], [])
    sync(store.delete("k"))
    sync(store.delete_prefix(""))
    assert not root.exists()
    sync(store.set("k", b"v"))
    assert (root / "k").read_bytes() == b"v"


def test_a_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StoreError, match="not a directory"):
        LocalStore(tmp_path / "file")


ESCAPING_KEYS = [
    "../outside",
    "a/../../outside",
    "a/..",
    "..",
    ".",
    "a/./b",
    "/etc/passwd",
    "a//b",
    "a/",
    "",
    "a\\b",
    "..\\outside",
    "nul\0byte",
    "a/b.zarrkit-tmp",
]


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_keys_that_are_not_clean_relative_paths_are_refused(tmp_path: Path, key: str) -> None:
    root = tmp_path / "root"
    store = LocalStore(root)
    operations = [store.set(key, b"x"), store.get(key), store.getsize(key), store.delete(key)]
    for operation in operations:
        with pytest.raises(StoreError, match="invalid key"):
            sync(operation)
    assert files_below(tmp_path) == []


@pytest.mark.parametrize("prefix", ["../", "a/../../", "/abs/", "a//b/"])
def test_prefixes_that_escape_the_root_are_refused(tmp_path: Path, prefix: str) -> None:
    (tmp_path / "keep").write_bytes(b"k")
    store = LocalStore(tmp_path / "root")
    for operation in [store.list(prefix), store.list_dir(prefix), store.delete_prefix(prefix)]:
        with pytest.raises(StoreError, match="invalid key"):
            sync(operation)
    assert (tmp_path / "keep").read_bytes() == b"k"


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set_many([(f"c/{index % 7}/{index}", b"x" * index) for index in range(300)]))
    sync(store.set_many([(f"c/{index % 7}/{index}", b"y" * index) for index in range(300)]))
    sync(store.set("c/0/0", b"last"))
    names = files_below(tmp_path)
    assert len(names) == 300
    assert not [name for name in names if "zarrkit-tmp" in name or os.path.basename(name).startswith(".")]


def test_stale_temporary_files_are_not_keys(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set("a/real", b"1"))
    (tmp_path / "a" / ".real.dead-1.zarrkit-tmp").write_bytes(b"half")
    assert sync(store.list()) == ["a/real"]
    assert sync(store.list_dir("a")) == (["a/real"], [])


def test_a_reader_never_sees_a_partial_value(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    size = 4 << 20
    values = [b"a" * size, b"b" * size]
    sync(store.set("big", values[0]))
    stop = threading.Event()
    writes_done = 0
    failures: list[BaseException] = []

    def write_in_a_loop() -> None:
        nonlocal writes_done
        try:
            while not stop.is_set():
                sync(store.set("big", values[writes_done % 2]))
                writes_done += 1
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    writer = threading.Thread(target=write_in_a_loop)
    writer.start()
    reads = 0
    try:
        while reads < 50 or writes_done < 20:
            assert sync(store.get("big")) in values
            reads += 1
    finally:
        stop.set()
        writer.join()
    assert failures == []
    assert files_below(tmp_path) == ["big"]


def test_deleting_removes_emptied_directories_but_never_the_root(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set_many([("g/c/0/0", b"1"), ("g/c/0/1", b"2"), ("g/zarr.json", b"{}")]))
    sync(store.delete("g/c/0/0"))
    assert (tmp_path / "g" / "c" / "0").is_dir()
    sync(store.delete("g/c/0/1"))
    assert not (tmp_path / "g" / "c").exists()
    assert sync(store.list_dir("g")) == (["g/zarr.json"], [])
    sync(store.delete("g/zarr.json"))
    assert list(tmp_path.iterdir()) == []
    sync(store.set("x/y", b"1"))
    sync(store.delete_prefix(""))
    assert tmp_path.is_dir() and list(tmp_path.iterdir()) == []


def test_delete_prefix_removes_whole_directory_trees(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set_many([(f"arr/c/{i}/{j}", b"v") for i in range(5) for j in range(5)] + [("arrow", b"a")]))
    sync(store.delete_prefix("arr/"))
    assert files_below(tmp_path) == ["arrow"]
    assert not (tmp_path / "arr").exists()


def test_delete_prefix_removes_a_symlink_but_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep").write_bytes(b"k")
    root = tmp_path / "root"
    root.mkdir()
    (root / "linked").symlink_to(target)
    store = LocalStore(root)
    assert sync(store.list()) == ["linked/keep"]
    sync(store.delete_prefix(""))
    assert (target / "keep").read_bytes() == b"k"
    assert list(root.iterdir()) == []


def test_a_file_where_a_directory_is_needed_raises_naming_the_key(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sync(store.set("a", b"file"))
    with pytest.raises(StoreError, match="'a/b'"):
        sync(store.set("a/b", b"below a file"))
    assert sync(store.get("a/b")) is None
    assert sync(store.get("a")) == b"file"
    sync(store.set("d/x", b"1"))
    with pytest.raises(StoreError, match="'d'"):
        sync(store.set("d", b"over a directory"))
    assert sync(store.get("d")) is None
    assert files_below(tmp_path) == ["a", "d/x"]


def test_permission_errors_raise_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    sync(store.set("k", b"v"))

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    # Reads go through os.open, writes through open.
    monkeypatch.setattr(local_module, "open", refuse, raising=False)
    monkeypatch.setattr(local_module.os, "open", refuse)
    with pytest.raises(PermissionDenied, match="'k'"):
        sync(store.get("k"))
    with pytest.raises(PermissionDenied, match="'k'"):
        sync(store.set("k", b"new"))
    monkeypatch.undo()
    assert sync(store.get("k")) == b"v"
    assert files_below(tmp_path) == ["k"]


def test_other_os_errors_raise_store_error_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    sync(store.set("c/0", b"v"))

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(local_module.os, "open", fail)
    with pytest.raises(StoreError, match="'c/0'.*Input/output error"):
        sync(store.get_many([("c/0", None)]))
    monkeypatch.setattr(local_module.os, "scandir", fail)
    with pytest.raises(StoreError, match="'c/'"):
        sync(store.list("c/"))


def test_batches_run_as_a_few_pool_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path)
    items = [(f"c/{index}", bytes([index % 256]) * 16) for index in range(1000)]
    tasks: list[object] = []
    real_run_in_pool = local_module.run_in_pool

    async def counting_run_in_pool(function, *args):  # type: ignore[no-untyped-def]
        tasks.append(function)
        return await real_run_in_pool(function, *args)

    monkeypatch.setattr(local_module, "run_in_pool", counting_run_in_pool)
    sync(store.set_many(items))
    assert len(tasks) <= pool_size()
    tasks.clear()
    assert sync(store.get_many([(key, None) for key, _ in items])) == [value for _, value in items]
    assert len(tasks) <= pool_size()


def test_a_value_larger_than_one_pread_is_read_whole(tmp_path: Path) -> None:
    # Linux returns at most 2,147,479,552 bytes from one read; a sparse file costs no disk.
    size = 2**31 + 2**20
    tail = b"the last bytes"
    with open(tmp_path / "shard", "wb") as file:
        file.seek(size - len(tail))
        file.write(tail)
    value = sync(LocalStore(tmp_path).get("shard"))
    assert value is not None
    assert len(value) == size
    assert value[-len(tail) :] == tail


def test_short_reads_are_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Network and FUSE file systems may return fewer bytes than asked at any size.
    value = bytes(range(256)) * 40
    store = LocalStore(tmp_path)
    sync(store.set("k", value))
    real_pread = os.pread

    def short_pread(descriptor: int, length: int, offset: int) -> bytes:
        return real_pread(descriptor, min(length, 1000), offset)

    monkeypatch.setattr(local_module.os, "pread", short_pread)
    assert sync(store.get("k")) == value
    assert sync(store.get_many([("k", (100, 5000)), ("k", (-3000, None)), ("k", (9000, 5000))])) == [
        value[100:5100],
        value[-3000:],
        value[9000:],
    ]


def test_ranges_of_one_file_are_read_from_one_opening_per_pool_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = bytes(range(256)) * 256
    store = LocalStore(tmp_path)
    sync(store.set_many([("shard", value), ("other", b"other")]))
    opened: list[str] = []
    real_open = os.open

    def counting_open(path: str, *args: int) -> int:
        opened.append(os.path.basename(path))
        return real_open(path, *args)

    monkeypatch.setattr(local_module.os, "open", counting_open)
    ranges = [(index * 1000, 100) for index in range(64)]
    assert sync(store.get_many([("shard", byte_range) for byte_range in ranges])) == [
        value[offset : offset + length] for offset, length in ranges
    ]
    assert len(opened) <= pool_size()
    opened.clear()
    # Requests for one key need not be adjacent; the answers still come in request order.
    requests = [("shard", (0, 4)), ("other", None), ("missing", None), ("shard", (-2, None)), ("other", (1, 2))]
    assert sync(store.get_many(requests)) == [value[:4], b"other", None, value[-2:], b"th"]
    assert sorted(opened) == ["missing", "other", "shard"]
