"""Fixtures shared by the whole suite."""

from __future__ import annotations

import gzip
from types import SimpleNamespace

# hdf5plugin registers its filters (blosc, zstd, lz4, bitshuffle) with h5py's HDF5 library. Imported
# first on purpose: importing netCDF4 points HDF5_PLUGIN_PATH at netCDF4's own filter plugins, built
# for netCDF4's HDF5, and h5py's HDF5 then fails to create blosc datasets ("error during user callback").
import hdf5plugin  # noqa: F401, I001
import pytest

from zarrkit.storage import LocalStore, MemoryStore
from zarrkit.storage.base import Store

pytest_plugins = [
    "tests.servers.redis",
    "tests.servers.http",
    "tests.servers.s3",
    "tests.servers.azurite",
    "tests.servers.seaweedfs",
]


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path) -> Store:
    """A fresh writable store of each local kind."""
    if request.param == "memory":
        return MemoryStore()
    return LocalStore(tmp_path / "store")


@pytest.fixture
def frozen_gzip_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make gzip headers record the time 0.

    numcodecs' GZip, which zarr-python and zarrkit use, goes through Python's gzip module, which
    records the time of writing in each header; two writers would differ whenever a second passes.
    """
    monkeypatch.setattr(gzip, "time", SimpleNamespace(time=lambda: 0))
