"""ZipOverStore and ``zip::<url>``: zip archives read from other stores through byte ranges."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrkit
from tests.servers.http import NginxServer
from zarrkit.errors import ReadOnlyError, StoreError, UnsupportedFeature
from zarrkit.runtime import sync
from zarrkit.storage import LocalStore, MemoryStore, Store, ZipStore, open_store
from zarrkit.storage.base import ByteRange, ReadRequest
from zarrkit.storage.zip_over_store import ZipOverStore, _apply_zip64_extra, split_archive_url

BLOB = bytes(range(256)) * 8
METHODS = {
    "stored": zipfile.ZIP_STORED,
    "deflated": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


def archive_bytes(members: dict[str, bytes], compression: int = zipfile.ZIP_STORED, comment: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, value in members.items():
            archive.writestr(name, value)
        archive.comment = comment
    return buffer.getvalue()


class CountingStore(MemoryStore):
    """A MemoryStore that records every batch of reads it answers."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__(data)
        self.batches: list[list[ReadRequest]] = []

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        self.batches.append([(key, byte_range)])
        return await super().get(key, byte_range)

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        self.batches.append(list(requests))
        return await super().get_many(requests)


def local_holding(tmp_path: Path, name: str, data: bytes) -> Store:
    (tmp_path / name).write_bytes(data)
    return LocalStore(tmp_path)


def memory_holding(tmp_path: Path, name: str, data: bytes) -> Store:
    return MemoryStore({name: data})


HOLDERS: dict[str, Callable[[Path, str, bytes], Store]] = {"local": local_holding, "memory": memory_holding}


@pytest.fixture(params=sorted(HOLDERS))
def holder(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str, bytes], Store]:
    """Put an archive's bytes under a key of a LocalStore or a MemoryStore, and return that store."""
    return lambda name, data: HOLDERS[request.param](tmp_path, name, data)


# -- reading members ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS.values(), ids=METHODS.keys())
def test_members_read_back_whole_and_by_range(holder, method: int) -> None:
    members = {"g/zarr.json": b"{}", "g/c/0": BLOB, "données/ü": "ü".encode(), "empty": b""}
    store = ZipOverStore(holder("data.zip", archive_bytes(members, method)), "data.zip")
    assert sync(store.list()) == sorted(members)
    assert sync(store.list_dir("g")) == (["g/zarr.json"], ["g/c/"])
    for name, value in members.items():
        assert sync(store.get(name)) == value
        assert sync(store.getsize(name)) == len(value)
    requests = [("g/c/0", (10, 20)), ("g/c/0", (-7, None)), ("missing", None), ("g/c/0", (5000, 3)), ("empty", (0, 4))]
    assert sync(store.get_many(requests)) == [BLOB[10:30], BLOB[-7:], None, b"", b""]
    assert sync(store.exists("g")) is False and sync(store.get("g/c")) is None


def test_byte_ranges_agree_with_slicing() -> None:
    data = archive_bytes({"stored": BLOB})
    deflated = archive_bytes({"deflated": BLOB}, zipfile.ZIP_DEFLATED)
    stores = [ZipOverStore(MemoryStore({"a.zip": data}), "a.zip"), ZipOverStore(MemoryStore({"a.zip": deflated}), "a.zip")]

    @settings(max_examples=60, deadline=None)
    @given(
        st.one_of(
            st.tuples(st.integers(0, 2100), st.integers(0, 2100)),
            st.tuples(st.integers(0, 2100), st.none()),
            st.tuples(st.integers(-2100, -1), st.none()),
        )
    )
    def check(byte_range: ByteRange) -> None:
        offset, length = byte_range
        expected = BLOB[offset:] if length is None else BLOB[offset : offset + length]
        assert sync(stores[0].get("stored", byte_range)) == expected
        assert sync(stores[1].get("deflated", byte_range)) == expected

    check()


def test_a_stored_member_range_reads_only_that_range() -> None:
    inner = CountingStore({"a.zip": archive_bytes({"big": BLOB, "small": b"s"})})
    store = ZipOverStore(inner, "a.zip")
    sync(store.load())
    assert len(inner.batches) == 1  # the tail holds the whole directory of a small archive
    inner.batches.clear()
    assert sync(store.get_many([("big", (100, 8)), ("small", None)])) == [BLOB[100:108], b"s"]
    headers, data = inner.batches
    assert [length for _, (_, length) in headers] == [30, 30]  # local headers, once per member
    assert [length for _, (_, length) in data] == [8, 1]
    inner.batches.clear()
    assert sync(store.get("big", (-4, None))) == BLOB[-4:]
    ((key, (_, length)),) = inner.batches[0]
    assert len(inner.batches) == 1 and key == "a.zip" and length == 4


def test_archives_with_comments_and_prepended_data() -> None:
    data = b"#!/bin/sh\necho self-extracting\n" + archive_bytes({"k": b"value"}, comment=b"PK\x05\x06" + b"c" * 500)
    store = ZipOverStore(MemoryStore({"a.zip": data}), "a.zip")
    assert sync(store.get("k")) == b"value"
    assert sync(store.get("k", (1, 2))) == b"al"


def test_a_central_directory_beyond_the_tail_and_zip64_records() -> None:
    # More than 65535 members: zipfile writes zip64 end records, and the directory is far larger
    # than the 64 KiB tail read at open, so it takes a second range request.
    buffer = io.BytesIO()
    count = 65_600
    with zipfile.ZipFile(buffer, "w") as archive:
        for index in range(count):
            archive.writestr(f"c/{index}", b"")
        archive.writestr("last", b"end")
    data = buffer.getvalue()
    assert b"PK\x06\x06" in data[-200:]
    inner = CountingStore({"a.zip": data})
    store = ZipOverStore(inner, "a.zip")
    sync(store.load())
    (tail,), (directory,) = inner.batches
    assert tail[1] == (-(22 + 0xFFFF + 20 + 56), None)
    assert directory[1][1] > 65536
    assert sync(store.get("last")) == b"end"
    assert sync(store.get("c/65599")) == b""
    assert len(sync(store.list("c/"))) == count


def test_zip64_extra_fields_replace_only_the_saturated_values() -> None:
    extra = struct.pack("<2H", 0x9999, 4) + b"skip" + struct.pack("<2H2Q", 0x0001, 16, 5_000_000_000, 6_000_000_000)
    assert _apply_zip64_extra(extra, 0xFFFFFFFF, 12, 0xFFFFFFFF) == (5_000_000_000, 12, 6_000_000_000)
    assert _apply_zip64_extra(b"", 1, 2, 3) == (1, 2, 3)


def test_archives_written_by_zipstore_open_through_zip_urls(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    group = zarrkit.open_group(ZipStore(path, mode="w"), mode="w")
    array = group.create_array("t", shape=(40, 30), dtype="f4", chunks=(16, 16))
    values = np.arange(1200, dtype="f4").reshape(40, 30)
    array[...] = values
    group.store.close()
    for url in [f"zip::{path}", f"zip::file://{path}"]:
        with open_store(url) as store:
            assert isinstance(store, ZipOverStore) and store.read_only
            assert isinstance(store.store, Store) and store.key == "data.zip"
        np.testing.assert_array_equal(zarrkit.open_array(url, path="t")[...], values)


def test_zip_urls_over_memory_urls() -> None:
    name = f"zips-{uuid.uuid4().hex}"
    writer = open_store(f"memory://{name}", mode="w")
    sync(writer.set("a.zip", archive_bytes({"k": b"v"}, zipfile.ZIP_DEFLATED)))
    with open_store(f"zip::memory://{name}/a.zip") as store:
        assert sync(store.get("k")) == b"v"


def test_zip_urls_name_the_archive() -> None:
    assert split_archive_url("s3://bucket/dir/a.zip") == ("s3://bucket/dir", "a.zip")
    assert split_archive_url("memory://a.zip") == ("memory://", "a.zip")
    assert split_archive_url("/tmp/a.zip") == ("/tmp", "a.zip")
    assert split_archive_url("/a.zip") == ("/", "a.zip")
    assert split_archive_url("a.zip") == (".", "a.zip")
    with pytest.raises(StoreError, match="names a directory"):
        split_archive_url("s3://bucket/dir/")


# -- errors ---------------------------------------------------------------------------------------


def test_writes_are_refused() -> None:
    store = ZipOverStore(MemoryStore({"a.zip": archive_bytes({"k": b"v"})}), "a.zip")
    for write in [store.set("k", b"x"), store.delete("k"), store.set_many([("n", b"1")]), store.delete_prefix("")]:
        with pytest.raises(ReadOnlyError):
            sync(write)
    with pytest.raises(ReadOnlyError, match="read-only"):
        open_store("zip::memory://whatever/a.zip", mode="a")


def test_a_missing_archive_fails_at_open(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"'missing.zip' not found"):
        open_store(f"zip::{tmp_path}/missing.zip")


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"not a zip archive at all" * 10,
        lambda data: data[:-10],
        lambda data: data[: data.rfind(b"PK\x01\x02")] + b"XX" + data[data.rfind(b"PK\x01\x02") + 2 :],
    ],
    ids=["not a zip", "cut short", "bad directory entry"],
)
def test_damaged_archives_fail_at_open(damage: Callable[[bytes], bytes]) -> None:
    store = ZipOverStore(MemoryStore({"a.zip": damage(archive_bytes({"a": b"1", "b": b"2"}))}), "a.zip")
    with pytest.raises(StoreError, match="'a.zip'"):
        sync(store.load())


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED], ids=["stored", "deflated"])
def test_corrupt_member_data_is_detected(method: int) -> None:
    value = b"precious data " * 50
    data = bytearray(archive_bytes({"k": value}, method))
    data[40] ^= 0xFF  # inside the member's data, after its 31-byte local header
    store = ZipOverStore(MemoryStore({"a.zip": bytes(data)}), "a.zip")
    with pytest.raises(StoreError, match=r"'k'.*(CRC|decompress)"):
        sync(store.get("k"))


def test_an_archive_cut_inside_a_member_is_an_error() -> None:
    data = archive_bytes({"k": BLOB})
    inner = MemoryStore({"a.zip": data})
    store = ZipOverStore(inner, "a.zip")
    sync(store.load())
    sync(inner.set("a.zip", data[:100]))  # the archive shrank after its directory was read
    with pytest.raises(StoreError, match="'k' is truncated"):
        sync(store.get("k", (0, 500)))


def test_encrypted_members_are_unsupported() -> None:
    data = bytearray(archive_bytes({"secret": b"s"}))
    flags_at = data.find(b"PK\x01\x02") + 8
    data[flags_at] |= 0x1
    store = ZipOverStore(MemoryStore({"a.zip": bytes(data)}), "a.zip")
    with pytest.raises(UnsupportedFeature, match="'secret'.*encrypted"):
        sync(store.get("secret"))


def test_zip_urls_over_http(nginx_server: NginxServer) -> None:
    directory, url = nginx_server.fresh_directory()
    values = np.arange(120, dtype="i4").reshape(10, 12)
    with ZipStore(directory / "data.zip", mode="w") as archive:
        zarrkit.create_array(archive, shape=values.shape, dtype="i4", chunks=(4, 5))[...] = values
    opened = zarrkit.open_array(f"zip::{url}/data.zip", storage_options=nginx_server.storage_options)
    np.testing.assert_array_equal(opened[2:9, 1:11], values[2:9, 1:11])
    reads = [request for request in nginx_server.requests(url[len(nginx_server.url) :]) if request.method == "GET"]
    assert reads[0].range == "bytes=-65633"  # the tail, with the end records and the directory
    assert len(reads) > 2 and all(request.range.startswith("bytes=") for request in reads)
