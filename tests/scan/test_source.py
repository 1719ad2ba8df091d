"""ScanSource: a file read through the storage layer with a read-ahead block cache."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from zarrkit.errors import StoreError
from zarrkit.runtime import collector_paused, sync
from zarrkit.scan.source import ScanSource
from zarrkit.storage.url import open_store

CONTENT = os.urandom(5 * 1024 + 17)


@pytest.fixture
def file_path(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(CONTENT)
    return path


def test_reads_seeks_and_clips_like_a_file(file_path: Path) -> None:
    with ScanSource(file_path, block_size=1024, cache_blocks=2) as source:
        assert source.size == len(CONTENT)
        assert source.read(10) == CONTENT[:10]
        source.seek(1000)
        assert source.read(100) == CONTENT[1000:1100]  # across a block boundary
        assert source.tell() == 1100
        source.seek(-5, io.SEEK_END)
        assert source.read() == CONTENT[-5:]
        assert source.read(10) == b""
        assert source.read_range(4000, 3000) == CONTENT[4000:]  # longer than the cache
        source.seek(3, io.SEEK_CUR)
        assert source.tell() == len(CONTENT) + 3
        with pytest.raises(ValueError):
            source.seek(-1)


def test_opening_reads_the_first_blocks_and_the_size_in_one_request(file_path: Path) -> None:
    with ScanSource(file_path, block_size=1024, cache_blocks=8, first_blocks=4) as source:
        assert source.size == len(CONTENT)
        assert (source.requests, source.bytes_read) == (1, 4 * 1024)  # the first 4 blocks
        for offset in range(0, 4096, 16):
            assert source.read_range(offset, 16) == CONTENT[offset : offset + 16]
        assert source.requests == 1
        assert source.read_range(0, len(CONTENT)) == CONTENT
        assert (source.requests, source.bytes_read) == (2, len(CONTENT))  # blocks 4 and 5 in one request


def test_a_file_no_larger_than_the_first_blocks_costs_one_request(tmp_path: Path) -> None:
    content = os.urandom(3000)
    path = tmp_path / "small.bin"
    path.write_bytes(content)
    with ScanSource(path, block_size=1024, first_blocks=3) as source:
        assert source.read() == content
        source.seek(1500)
        assert source.read(700) == content[1500:2200]
        assert (source.size, source.requests, source.bytes_read) == (3000, 1, 3000)


def test_an_empty_file_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with ScanSource(path, block_size=1024) as source:
        assert (source.size, source.read(), source.read_range(0, 10)) == (0, b"", b"")
        assert (source.requests, source.bytes_read) == (1, 0)


LONG_CONTENT = os.urandom(40 * 1024 + 100)  # 41 blocks of 1024 bytes, the last one short


@pytest.fixture
def long_file(tmp_path: Path) -> Path:
    path = tmp_path / "long.bin"
    path.write_bytes(LONG_CONTENT)
    return path


def read_block(source: ScanSource, index: int) -> None:
    """Read a few bytes from the middle of block ``index`` (of 1024 bytes) and check them."""
    offset = index * 1024 + 500
    assert source.read_range(offset, 10) == LONG_CONTENT[offset : offset + 10]


def test_forward_sequential_reads_grow_the_fetches(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=8, first_blocks=1) as source:
        assert (source.requests, source.bytes_read) == (1, 1024)  # block 0
        read_block(source, 1)
        assert (source.requests, source.bytes_read) == (2, 3 * 1024)  # blocks 1-2
        read_block(source, 2)
        assert source.requests == 2
        read_block(source, 3)
        assert (source.requests, source.bytes_read) == (3, 7 * 1024)  # blocks 3-6
        for index in range(4, 7):
            read_block(source, index)
        assert source.requests == 3
        read_block(source, 7)
        assert (source.requests, source.bytes_read) == (4, 11 * 1024)  # blocks 7-10: at most cache_blocks // 2
        read_block(source, 11)
        assert (source.requests, source.bytes_read) == (5, 15 * 1024)


def test_a_backward_miss_fetches_one_block_and_restarts_the_growth(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=8, first_blocks=1) as source:
        read_block(source, 20)  # a jump: one block
        assert (source.requests, source.bytes_read) == (2, 2 * 1024)
        read_block(source, 21)
        assert (source.requests, source.bytes_read) == (3, 4 * 1024)  # blocks 21-22
        read_block(source, 10)  # backward: one block
        assert (source.requests, source.bytes_read) == (4, 5 * 1024)
        read_block(source, 11)
        assert (source.requests, source.bytes_read) == (5, 7 * 1024)  # blocks 11-12: growing from one again


def test_read_ahead_stops_at_a_cached_block(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=8, first_blocks=1) as source:
        read_block(source, 5)
        read_block(source, 1)
        read_block(source, 2)  # blocks 2-3
        assert (source.requests, source.bytes_read) == (4, 5 * 1024)
        read_block(source, 4)  # would grow to 4 blocks, but block 5 is cached
        assert (source.requests, source.bytes_read) == (5, 6 * 1024)
        read_block(source, 5)
        assert source.requests == 5


def test_read_ahead_stops_at_the_end_of_the_file(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=16, first_blocks=1) as source:
        read_block(source, 37)
        read_block(source, 38)  # blocks 38-39
        assert (source.requests, source.bytes_read) == (3, 4 * 1024)
        assert source.read_range(40 * 1024, 5000) == LONG_CONTENT[40 * 1024 :]  # the short last block alone
        assert (source.requests, source.bytes_read) == (4, 4 * 1024 + 100)


def test_a_read_spanning_cached_blocks_fetches_each_missing_run_once(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=16, first_blocks=1) as source:
        read_block(source, 3)
        read_block(source, 6)
        assert source.read_range(1024, 7 * 1024) == LONG_CONTENT[1024 : 8 * 1024]
        # Blocks 1-2, 4-5 and 7: three runs around the cached blocks 3 and 6.
        assert (source.requests, source.bytes_read) == (6, 8 * 1024)


def test_a_long_walk_fetches_ahead_at_once_and_in_long_runs(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=8) as source:
        assert (source.requests, source.bytes_read) == (1, 1024)  # block 0
        source.expect_long_walk()
        assert (source.requests, source.bytes_read) == (2, 7 * 1024)  # blocks 1-6: all but two of the cache
        for index in [3, 1, 6, 2]:  # out of order, as h5py starts
            read_block(source, index)
        assert source.requests == 2
        read_block(source, 7)
        assert (source.requests, source.bytes_read) == (3, 13 * 1024)  # blocks 7-12
        read_block(source, 13)
        assert (source.requests, source.bytes_read) == (4, 19 * 1024)  # blocks 13-18
        read_block(source, 30)  # a jump: just the block
        assert (source.requests, source.bytes_read) == (5, 20 * 1024)


def test_a_long_walk_fetches_ahead_whatever_the_cache_size(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=4) as source:
        source.expect_long_walk()  # all but two of 4 blocks: the same as the usual cap of 4 // 2
        assert (source.requests, source.bytes_read) == (2, 3 * 1024)  # blocks 1-2


def test_a_long_walk_of_a_small_file_fetches_the_rest_once(file_path: Path) -> None:
    with ScanSource(file_path, block_size=1024, cache_blocks=8) as source:
        source.expect_long_walk()
        assert (source.requests, source.bytes_read) == (2, len(CONTENT))
        source.expect_long_walk()  # nothing left to fetch
        assert source.read_range(0, len(CONTENT)) == CONTENT
        assert source.requests == 2


def test_the_first_block_is_never_dropped(long_file: Path) -> None:
    with ScanSource(long_file, block_size=1024, cache_blocks=2) as source:
        for index in range(1, 30):
            read_block(source, index)
        before = source.requests
        read_block(source, 0)
        assert source.requests == before
        read_block(source, 1)  # long gone
        assert source.requests == before + 1


def test_least_recently_used_blocks_are_dropped(file_path: Path) -> None:
    with ScanSource(file_path, block_size=1024, cache_blocks=2) as source:
        source.read_range(0, 1)
        source.read_range(1024, 1)
        source.read_range(0, 1)  # block 0 is now the most recent
        source.read_range(2048, 1)  # drops block 1
        before = source.requests
        source.read_range(0, 1)
        assert source.requests == before
        source.read_range(1024, 1)
        assert source.requests == before + 1


def test_missing_file_names_the_url(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="gone.nc"):
        ScanSource(tmp_path / "gone.nc")


def logged_range_length(header: str, size: int) -> int:
    """The bytes a ``bytes=first-last`` Range header asks for, clipped at ``size``."""
    first, _, last = header.removeprefix("bytes=").partition("-")
    return min(int(last) + 1, size) - int(first)


def test_requests_over_http_are_the_ones_nginx_logged(nginx_server) -> None:
    directory, url = nginx_server.fresh_directory()
    (directory / "long.bin").write_bytes(LONG_CONTENT)
    path = "/" + url.rsplit("/", 1)[1] + "/long.bin"
    options = nginx_server.storage_options
    with ScanSource(f"{url}/long.bin", storage_options=options, block_size=1024, first_blocks=2) as source:
        for index in [0, 1, 2, 3, 4, 30, 9]:
            read_block(source, index)
        assert source.read_range(0, len(LONG_CONTENT)) == LONG_CONTENT
        logged = nginx_server.requests(path)
        assert [request.method for request in logged] == ["GET"] * source.requests  # no HEAD for the size
        assert sum(logged_range_length(request.range, len(LONG_CONTENT)) for request in logged) == source.bytes_read


def reads_logged_by_moto(s3_server, fragment: str) -> list[tuple[str, str, int]]:
    """The requests moto logged whose target contains ``fragment``, without the PUTs that wrote them."""
    return [request for request in s3_server.requests(fragment) if request[0] != "PUT"]


def test_a_small_file_over_s3_is_one_request(s3_server) -> None:
    url = s3_server.fresh_url()
    content = os.urandom(3000)
    with open_store(url, mode="a", storage_options=s3_server.storage_options) as store:
        sync(store.set("small.bin", content))
    with ScanSource(f"{url}/small.bin", storage_options=s3_server.storage_options, block_size=4096) as source:
        assert source.read() == content
        assert (source.size, source.requests, source.bytes_read) == (3000, 1, 3000)
    logged = wait_for_log(lambda: reads_logged_by_moto(s3_server, url.rsplit("/", 1)[1] + "/small.bin"), 1)
    assert [method for method, _, _ in logged] == ["GET"]


def test_requests_over_s3_are_the_ones_moto_logged(s3_server) -> None:
    url = s3_server.fresh_url()
    with open_store(url, mode="a", storage_options=s3_server.storage_options) as store:
        sync(store.set("long.bin", LONG_CONTENT))
    options = s3_server.storage_options
    with ScanSource(f"{url}/long.bin", storage_options=options, block_size=1024, first_blocks=4) as source:
        for index in [0, 5, 6, 7, 12, 2]:
            read_block(source, index)
        assert source.read_range(1000, 20000) == LONG_CONTENT[1000:21000]
    # Blocks 0-3 at open, 5, 6-7, 12, then the runs 4, 8-11 and 13-20.
    assert source.requests == 7
    logged = wait_for_log(lambda: reads_logged_by_moto(s3_server, url.rsplit("/", 1)[1] + "/long.bin"), 7)
    assert [method for method, _, _ in logged] == ["GET"] * source.requests


def wait_for_log(read_log: Callable[[], list[Any]], expected: int) -> list[Any]:
    """The logged requests once there are ``expected`` of them (a server logs a request a moment after
    answering it), or what was logged after 10 s."""
    deadline = time.monotonic() + 10
    logged = read_log()
    while len(logged) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
        logged = read_log()
    time.sleep(0.1)  # room for a request too many to show up
    return read_log()


def test_h5py_reads_a_file_through_it_over_http(tmp_path: Path, nginx_server) -> None:
    directory, url = nginx_server.fresh_directory()
    values = np.arange(1000, dtype="f8").reshape(10, 100)
    with h5py.File(directory / "data.h5", "w") as file:
        file.create_dataset("v", data=values, chunks=(5, 50))
    size = (directory / "data.h5").stat().st_size
    source = ScanSource(f"{url}/data.h5", storage_options=nginx_server.storage_options, block_size=16384)
    # h5py holds its lock while the source waits for the I/O loop (see runtime.collector_paused).
    with source, collector_paused():
        with h5py.File(source, "r") as file:
            np.testing.assert_array_equal(file["v"][...], values)
        assert size <= 16384  # so the first read holds the whole file
        assert (source.requests, source.bytes_read) == (1, size)
    path = "/" + url.rsplit("/", 1)[1] + "/data.h5"
    assert [request.method for request in nginx_server.requests(path)] == ["GET"]
