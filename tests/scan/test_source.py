"""ScanSource: a file read through the storage layer with a read-ahead block cache."""

from __future__ import annotations

import io
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from zarrkit.errors import StoreError
from zarrkit.runtime import collector_paused
from zarrkit.scan.source import ScanSource

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


def test_reads_are_served_from_cached_blocks(file_path: Path) -> None:
    with ScanSource(file_path, block_size=1024, cache_blocks=8) as source:
        for offset in range(0, 2048, 16):
            assert source.read_range(offset, 16) == CONTENT[offset : offset + 16]
        assert source.requests == 1 + 2  # the size, then one fetch per block
        assert source.bytes_read == 2048
        source.read_range(0, len(CONTENT))
        assert source.requests == 1 + 2 + 1  # the remaining blocks are adjacent: one request
        assert source.bytes_read == len(CONTENT)


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


def test_h5py_reads_a_file_through_it_over_http(tmp_path: Path, nginx_server) -> None:
    directory, url = nginx_server.fresh_directory()
    values = np.arange(1000, dtype="f8").reshape(10, 100)
    with h5py.File(directory / "data.h5", "w") as file:
        file.create_dataset("v", data=values, chunks=(5, 50))
    source = ScanSource(f"{url}/data.h5", storage_options=nginx_server.storage_options, block_size=4096)
    # h5py holds its lock while the source waits for the I/O loop (see runtime.collector_paused).
    with source, collector_paused():
        with h5py.File(source, "r") as file:
            np.testing.assert_array_equal(file["v"][...], values)
        assert source.bytes_read <= (directory / "data.h5").stat().st_size + 4096
        assert source.requests < 10
