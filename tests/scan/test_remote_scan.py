"""Scanning files on nginx (HTTP) and moto (S3): the references equal a local scan's, the data reads
back, and the requests and bytes the scan reports are what the server saw and what the source's
read policy promises for each kind of file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import netCDF4
import numpy as np
import pytest
import tifffile

import zarrkit
from zarrkit.refs import ReferenceSet
from zarrkit.refs.ops import rewrite_urls
from zarrkit.runtime import sync
from zarrkit.scan import ScanCost, scan_with_cost
from zarrkit.scan.source import DEFAULT_BLOCK_SIZE
from zarrkit.storage.url import open_store

MIB = 1 << 20


def write_dense_hdf5(path: Path) -> np.ndarray:
    """A ~3 MiB HDF5 file whose 5,000 small chunks put a chunk index node in every block."""
    rng = np.random.default_rng(1)
    values = np.round(rng.standard_normal((100, 20_000), dtype=np.float32), 1)
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset("v", shape=values.shape, dtype="f4", chunks=(10, 40), compression="gzip")
        for start in range(0, 100, 20):  # in slabs, as data arrives: index nodes land among the chunks
            dataset[start : start + 20] = values[start : start + 20]
    return values


def write_sparse_hdf5(path: Path) -> np.ndarray:
    """A ~4 MiB HDF5 file of four 1 MiB chunks: its whole structure sits in the first block."""
    values = np.random.default_rng(2).integers(0, 1 << 30, (1024, 1024), dtype="i4")
    with h5py.File(path, "w") as file:
        file.create_dataset("v", data=values, chunks=(512, 512))
    return values


def write_netcdf3(path: Path) -> np.ndarray:
    """A ~5 MiB NetCDF3 file of 64,000 records: only its header is needed."""
    values = np.random.default_rng(3).standard_normal((64_000, 20)).astype("f4")
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("x", 20)
        dataset.createVariable("v", "f4", ("time", "x"))[:] = values
    return values


def write_tiff(path: Path) -> np.ndarray:
    """A tiled, deflated TIFF of about 2 MiB."""
    values = np.random.default_rng(4).integers(0, 255, (1024, 1024, 2), dtype="u1")
    tifffile.imwrite(path, values, tile=(256, 256), compression="zlib", planarconfig="contig")
    return values


# Each case: the file's writer, its name, the array's path in the references, and the scan's cost in
# requests and in bytes as a function of the file's size.
CASES: dict[str, tuple[Callable[[Path], np.ndarray], str, str, int, Callable[[int], int]]] = {
    # Block 0, then the rest in one request (the index walk reads through the whole file).
    "dense hdf5": (write_dense_hdf5, "dense.h5", "v", 2, lambda size: size),
    "sparse hdf5": (write_sparse_hdf5, "sparse.h5", "v", 1, lambda size: DEFAULT_BLOCK_SIZE),
    "netcdf3": (write_netcdf3, "data.nc", "v", 1, lambda size: DEFAULT_BLOCK_SIZE),
    "tiff": (write_tiff, "image.tif", "0", 1, lambda size: DEFAULT_BLOCK_SIZE),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    writer, name, array_path, requests, expected_bytes = CASES[request.param]
    path = tmp_path_factory.mktemp("remote-scan") / name
    values = writer(path)
    size = path.stat().st_size
    assert size > DEFAULT_BLOCK_SIZE  # so that the read policy shows
    return path, values, array_path, requests, expected_bytes(size)


def assert_same_as_local(remote: ReferenceSet, local_path: Path, url: str) -> None:
    """``remote`` equals the local file's scan with the file's URL in place of its path."""
    local = rewrite_urls(zarrkit.scan(local_path), {str(local_path): url})
    assert dict(remote.items()) == dict(local.items())


def test_a_scan_over_http_costs_what_nginx_saw(case: tuple, nginx_server) -> None:
    path, values, array_path, requests, bytes_read = case
    directory, base_url = nginx_server.fresh_directory()
    (directory / path.name).write_bytes(path.read_bytes())
    url = f"{base_url}/{path.name}"
    references, cost = scan_with_cost(url, storage_options=nginx_server.storage_options)
    assert (cost.requests, cost.bytes_read) == (requests, bytes_read)
    logged = nginx_server.requests("/" + directory.name + "/")
    assert [request.method for request in logged] == ["GET"] * requests
    assert_same_as_local(references, path, url)
    array = zarrkit.open_array(
        references, path=array_path, storage_options={"target_options": {"http": nginx_server.storage_options}}
    )
    np.testing.assert_array_equal(array[...], values)


def test_a_scan_over_s3_costs_the_same(case: tuple, s3_server) -> None:
    path, values, array_path, requests, bytes_read = case
    base_url = s3_server.fresh_url()
    with open_store(base_url, mode="a", storage_options=s3_server.storage_options) as store:
        sync(store.set(path.name, path.read_bytes()))
    url = f"{base_url}/{path.name}"
    references, cost = scan_with_cost(url, storage_options=s3_server.storage_options)
    assert (cost.requests, cost.bytes_read) == (requests, bytes_read)
    reads = [entry for entry in s3_server.requests(url.removeprefix("s3://")) if entry[0] != "PUT"]
    assert [method for method, _, _ in reads] == ["GET"] * requests
    assert_same_as_local(references, path, url)


def test_a_scan_reports_its_cost(tmp_path: Path) -> None:
    path = tmp_path / "dense.h5"
    write_dense_hdf5(path)
    _, cost = scan_with_cost(path)
    assert isinstance(cost, ScanCost)
    assert (cost.requests, cost.bytes_read) == (2, path.stat().st_size)
    assert cost.seconds > 0
