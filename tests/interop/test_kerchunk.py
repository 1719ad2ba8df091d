"""Interoperability of reference sets with kerchunk, fsspec, zarr-python and xarray, both ways.

One way: NetCDF4 and NetCDF3 files written here with netCDF4 are scanned by kerchunk, and zarrkit
reads what kerchunk made (the dict, the same saved as JSON and opened through ``reference://``, and a
multi-file combine) with every variable equal to what netCDF4 reads from the file itself, raw (no
masking, no scaling). The other way: reference sets that zarrkit saves (JSON and parquet; loaded from
kerchunk's output, or built by zarrkit over the chunks of an array it wrote) are read by fsspec's
ReferenceFileSystem under zarr-python and by kerchunk's xarray backend.

fastparquet is not installed, and fsspec opens a parquet reference directory named by its path
with fastparquet; so the parquet sets go to fsspec as a ``LazyReferenceMapper`` told to use pyarrow.
With pyarrow under pandas 3, fsspec reads the null ``path`` of a row as NaN: it then fails on any
missing chunk (its own pyarrow-written files too) and, unless given ``remote_protocol``, already
when it looks for the targets' protocol. So fsspec gets ``remote_protocol="file"``, and the parquet
set it reads has no missing chunks; zarrkit's encoding of missing chunks is checked on the file.
fsspec reads the parquet layout of Zarr v2 arrays only (it finds a chunk's record through
``.zarray``), so the Zarr v3 set is checked in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import pyarrow.parquet
import pytest
import xarray
import zarr
import zarr.storage
from fsspec.implementations.reference import LazyReferenceMapper, ReferenceFileSystem
from kerchunk.combine import MultiZarrToZarr
from kerchunk.netCDF3 import NetCDF3ToZarr

import zarrkit
from tests.helpers import kerchunk_hdf5

INLINE_THRESHOLD = 64
"""Bytes under which kerchunk inlines a chunk: here the scalar, the station ids and codes, the compact
flags (and the variable-length names, which kerchunk always inlines)."""

TIME_STEPS = 6
LATITUDES = 20
LONGITUDES = 30
STATIONS = 3
NAME_LENGTH = 8
PRESSURE_FILL = -999
NETCDF3_FORMATS = ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET")

# -- files written with netCDF4, and what netCDF4 reads from them ---------------------------------


def _define_common(
    dataset: netCDF4.Dataset, first_time: int, rng: np.random.Generator, *, netcdf4: bool, time_chunk: int = 4
) -> None:
    """The dimensions and variables that both formats can hold; NetCDF4 ones chunked and compressed."""
    dataset.createDimension("time", None)
    dataset.createDimension("lat", LATITUDES)
    dataset.createDimension("lon", LONGITUDES)
    dataset.createDimension("station", STATIONS)
    dataset.createDimension("name_length", NAME_LENGTH)
    dataset.title = "zarrkit interop fixture"

    time = dataset.createVariable("time", "f8", ("time",))
    time.units = "days since 2000-01-01"
    time[:] = np.arange(first_time, first_time + TIME_STEPS, dtype="f8")
    dataset.createVariable("lat", "f4", ("lat",))[:] = np.linspace(-47.5, 47.5, LATITUDES, dtype="f4")
    dataset.createVariable("lon", "f4", ("lon",))[:] = np.linspace(0, 348, LONGITUDES, dtype="f4")

    # By default chunks that divide no dimension, so every axis has a partial edge chunk.
    chunked = {"zlib": True, "shuffle": True, "chunksizes": (time_chunk, 8, 16)} if netcdf4 else {}
    temperature = dataset.createVariable("temperature", "f4", ("time", "lat", "lon"), **chunked)
    temperature.units = "K"
    smooth = 280 + 20 * np.cos(np.radians(np.linspace(-47.5, 47.5, LATITUDES)))[:, None]
    temperature[:] = (smooth + rng.normal(0, 2, (TIME_STEPS, LATITUDES, LONGITUDES))).astype("f4")

    packed = {"zlib": True, "chunksizes": (1, LATITUDES, LONGITUDES)} if netcdf4 else {}
    pressure = dataset.createVariable("pressure", "i2", ("time", "lat", "lon"), fill_value=PRESSURE_FILL, **packed)
    pressure.scale_factor = 0.1
    pressure.add_offset = 1000.0
    raw_pressure = rng.integers(-300, 300, (TIME_STEPS, LATITUDES, LONGITUDES)).astype("i2")
    raw_pressure[0, 0, :5] = PRESSURE_FILL
    pressure.set_auto_maskandscale(False)
    pressure[:] = raw_pressure

    contiguous = {"contiguous": True} if netcdf4 else {}
    elevation = dataset.createVariable("elevation", "f8", ("lat", "lon"), **contiguous)
    elevation[:] = rng.uniform(-100, 4000, (LATITUDES, LONGITUDES))

    # A scalar, as CF grid mappings are: a 0-d array of one chunk.
    crs = dataset.createVariable("crs", "i4", ())
    crs.grid_mapping_name = "latitude_longitude"
    crs[...] = 4326
    dataset.createVariable("station_id", "i4", ("station",))[:] = np.array([101, 202, 303], dtype="i4")
    codes = np.array([b"ALPHA", b"BRAVO-12", b"C"], dtype=f"S{NAME_LENGTH}")
    dataset.createVariable("station_code", "S1", ("station", "name_length"))[:] = netCDF4.stringtochar(codes)


def write_netcdf4(path: Path, *, first_time: int = 0, seed: int = 0, time_chunk: int = 4) -> Path:
    """A NetCDF4 file holding every kind of variable kerchunk's HDF5 scanner turns into references;
    ``temperature`` has ``time_chunk`` steps per chunk."""
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as dataset:
        _define_common(dataset, first_time, rng, netcdf4=True, time_chunk=time_chunk)
        surface = dataset.createVariable("surface", "f4", ("lat", "lon"), zlib=True, shuffle=True, chunksizes=(8, 16))
        surface[:] = rng.normal(0, 1, (LATITUDES, LONGITUDES)).astype("f4")
        names = dataset.createVariable("station_name", str, ("station",))
        names[:] = np.array(["Zürich", "", "São Paulo"], dtype=object)
    _add_compact_variable(path)
    return path


def _add_compact_variable(path: Path) -> None:
    """Add ``quality_flag``, a dataset stored compact (inside its object header), which netCDF4 cannot
    ask for but reads; kerchunk must inline it, as a compact dataset has no byte range of its own."""
    with h5py.File(path, "a") as file:
        layout = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        layout.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((5,))
        dataset = h5py.Dataset(h5py.h5d.create(file.id, b"quality_flag", h5py.h5t.STD_I8LE, space, dcpl=layout))
        dataset[...] = np.array([1, -2, 3, -4, 5], dtype="i1")


def write_netcdf3(path: Path, file_format: str, *, seed: int = 0) -> Path:
    """A NetCDF3 file of ``file_format`` with record variables whose records need padding."""
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w", format=file_format) as dataset:
        _define_common(dataset, 0, rng, netcdf4=False)
        # 3 int16 values are 6 bytes per record, padded to 8 in the file.
        flags = dataset.createVariable("station_flag", "i2", ("time", "station"))
        flags[:] = rng.integers(0, 100, (TIME_STEPS, STATIONS)).astype("i2")
    return path


def netcdf_values(path: Path) -> dict[str, np.ndarray]:
    """Every variable of the file as netCDF4 reads it raw (no masking, scaling or char conversion)."""
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)
        dataset.set_auto_chartostring(False)
        return {name: np.asarray(variable[...]) for name, variable in dataset.variables.items()}


def assert_same_values(actual: Any, expected: np.ndarray, name: str) -> None:
    """Equal shape, element type (byte order aside) and values; strings equal element by element."""
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, name
    if expected.dtype.kind == "O":
        assert actual.ravel().tolist() == expected.ravel().tolist(), name
        return
    assert (actual.dtype.kind, actual.dtype.itemsize) == (expected.dtype.kind, expected.dtype.itemsize), name
    np.testing.assert_array_equal(actual, expected, err_msg=name)


def assert_group_matches(read: Callable[[str], Any], names: list[str], expected: dict[str, np.ndarray]) -> None:
    """The group lists exactly the file's variables and each reads equal to the file's values."""
    assert sorted(names) == sorted(expected)
    for name, values in expected.items():
        assert_same_values(read(name), values, name)


def assert_zarrkit_group_matches(group: zarrkit.Group, expected: dict[str, np.ndarray]) -> None:
    """:func:`assert_group_matches` for a zarrkit group."""
    assert_group_matches(lambda name: group[name][...], group.array_keys(), expected)


# -- fixtures: the files and kerchunk's scans of them, once per module -----------------------------


@pytest.fixture(scope="module")
def netcdf4_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NetCDF4 fixture file."""
    return write_netcdf4(tmp_path_factory.mktemp("netcdf4") / "weather.nc")


@pytest.fixture(scope="module")
def netcdf4_scan(netcdf4_file: Path) -> dict[str, Any]:
    """kerchunk's reference dict of the NetCDF4 file."""
    return kerchunk_hdf5(str(netcdf4_file), inline_threshold=INLINE_THRESHOLD)


@pytest.fixture(scope="module")
def netcdf4_expected(netcdf4_file: Path) -> dict[str, np.ndarray]:
    """The NetCDF4 file's variables as netCDF4 reads them."""
    return netcdf_values(netcdf4_file)


@pytest.fixture(scope="module", params=NETCDF3_FORMATS)
def netcdf3_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A NetCDF3 fixture file, in each NetCDF3 format kerchunk reads."""
    return write_netcdf3(tmp_path_factory.mktemp("netcdf3") / "weather.nc", request.param)


# -- zarrkit reads what kerchunk wrote --------------------------------------------------------------


def test_kerchunk_scan_covers_inline_and_referenced_chunks(netcdf4_file: Path, netcdf4_scan: dict[str, Any]) -> None:
    # The comparisons below only mean something if kerchunk inlined some chunks and referenced others.
    with h5py.File(netcdf4_file) as file:
        assert file["quality_flag"].id.get_create_plist().get_layout() == h5py.h5d.COMPACT
    references = netcdf4_scan["refs"]
    assert all(isinstance(references[key], str) for key in ("crs/0", "station_id/0", "quality_flag/0"))
    assert isinstance(references["temperature/1.2.1"], list) and isinstance(references["elevation/0.0"], list)


def test_zarrkit_reads_kerchunk_netcdf4_dict(
    netcdf4_scan: dict[str, Any], netcdf4_expected: dict[str, np.ndarray]
) -> None:
    references = zarrkit.load_refs(netcdf4_scan)
    assert isinstance(references, zarrkit.ReferenceSet)
    group = zarrkit.open_group(zarrkit.ReferenceStore(references))
    assert group.attrs["title"] == "zarrkit interop fixture"
    assert group["pressure"].fill_value == PRESSURE_FILL
    assert group["pressure"].attrs["scale_factor"] == pytest.approx(0.1)
    assert group["temperature"].chunks == (4, 8, 16)
    assert_zarrkit_group_matches(group, netcdf4_expected)


def test_zarrkit_opens_kerchunk_netcdf4_json_by_url(
    netcdf4_scan: dict[str, Any], netcdf4_expected: dict[str, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "weather.json"
    path.write_text(json.dumps(netcdf4_scan))
    group = zarrkit.open_group(f"reference://{path}")
    assert_zarrkit_group_matches(group, netcdf4_expected)


def test_zarrkit_reads_kerchunk_netcdf3(netcdf3_file: Path, tmp_path: Path) -> None:
    scan = NetCDF3ToZarr(str(netcdf3_file), inline_threshold=INLINE_THRESHOLD).translate()
    expected = netcdf_values(netcdf3_file)
    assert_zarrkit_group_matches(zarrkit.open_group(zarrkit.ReferenceStore(zarrkit.load_refs(scan))), expected)
    path = tmp_path / "weather.json"
    path.write_text(json.dumps(scan))
    assert_zarrkit_group_matches(zarrkit.open_group(f"reference://{path}"), expected)


def test_zarrkit_reads_kerchunk_multi_file_combine(tmp_path: Path) -> None:
    # kerchunk can only concatenate files whose chunks end where the files do.
    paths = [
        write_netcdf4(tmp_path / f"part{index}.nc", first_time=index * TIME_STEPS, seed=index, time_chunk=2)
        for index in range(3)
    ]
    scans = [kerchunk_hdf5(str(path), inline_threshold=0) for path in paths]
    combined = MultiZarrToZarr(
        scans,
        concat_dims=["time"],
        identical_dims=[
            "lat",
            "lon",
            "station",
            "elevation",
            "crs",
            "station_id",
            "station_code",
            "station_name",
            "quality_flag",
        ],
        inline_threshold=0,
    ).translate()
    references = zarrkit.load_refs(combined)
    assert {reference.url for reference in references.values() if isinstance(reference, zarrkit.Reference)} == set(
        map(str, paths)
    )
    # open_group also takes the reference set itself.
    group = zarrkit.open_group(references)
    parts = [netcdf_values(path) for path in paths]
    for name in ("time", "temperature", "pressure"):
        assert_same_values(group[name][...], np.concatenate([part[name] for part in parts]), name)
    assert_same_values(
        group["temperature"][5:8, 3, ::7],
        np.concatenate([parts[0]["temperature"][5:, 3, ::7], parts[1]["temperature"][:2, 3, ::7]]),
        "temperature across files",
    )
    for name in ("lat", "elevation", "station_name"):
        assert_same_values(group[name][...], parts[0][name], name)


# -- fsspec, zarr-python and xarray read what zarrkit wrote -----------------------------------------


def saved_refs(references: zarrkit.ReferenceSet, directory: Path, layout: str) -> Path:
    """``references`` saved by zarrkit under ``directory`` as JSON or as parquet (small records, so
    arrays span several record files)."""
    if layout == "json":
        path = directory / "refs.json"
        zarrkit.save_refs(references, path)
    else:
        path = directory / "refs.parq"
        zarrkit.save_refs(references, path, record_size=4)
    return path


def fsspec_references(path: Path) -> Any:
    """What fsspec's ReferenceFileSystem takes as ``fo`` for a saved set: the JSON path, or the
    parquet directory read with pyarrow (see the module docstring)."""
    if path.suffix == ".json":
        return str(path)
    return LazyReferenceMapper(str(path), engine="pyarrow")


def zarr_python_group(path: Path, zarr_format: int) -> zarr.Group:
    """zarr-python's group over fsspec's ReferenceFileSystem of the set saved at ``path``."""
    filesystem = ReferenceFileSystem(fo=fsspec_references(path), remote_protocol="file", asynchronous=True)
    store = zarr.storage.FsspecStore(filesystem, read_only=True)
    return zarr.open_group(store, mode="r", zarr_format=zarr_format)


@pytest.mark.parametrize("layout", ["json", "parquet"])
def test_zarr_python_reads_zarrkit_saved_kerchunk_refs(
    layout: str,
    netcdf4_scan: dict[str, Any],
    netcdf4_expected: dict[str, np.ndarray],
    tmp_path: Path,
) -> None:
    path = saved_refs(zarrkit.load_refs(netcdf4_scan), tmp_path, layout)
    group = zarr_python_group(path, zarr_format=2)
    assert_group_matches(lambda name: group[name][...], list(group.array_keys()), netcdf4_expected)
    assert group["pressure"].fill_value == PRESSURE_FILL
    # zarrkit reads its own file back the same way.
    assert_zarrkit_group_matches(zarrkit.open_group(zarrkit.ReferenceStore(zarrkit.load_refs(path))), netcdf4_expected)


@pytest.mark.parametrize("layout", ["json", "parquet"])
def test_xarray_kerchunk_backend_reads_zarrkit_saved_refs(
    layout: str,
    netcdf4_scan: dict[str, Any],
    netcdf4_expected: dict[str, np.ndarray],
    tmp_path: Path,
) -> None:
    path = saved_refs(zarrkit.load_refs(netcdf4_scan), tmp_path, layout)
    options = {"storage_options": {"remote_protocol": "file"}}
    # Undecoded, xarray keeps the stored values, as netCDF4 gives them with auto masking off.
    with xarray.open_dataset(
        fsspec_references(path), engine="kerchunk", open_dataset_options={"decode_cf": False}, **options
    ) as dataset:
        assert_group_matches(lambda name: dataset[name].values, list(dataset.variables), netcdf4_expected)
        assert dataset["pressure"].attrs["scale_factor"] == pytest.approx(0.1)
    with xarray.open_dataset(fsspec_references(path), engine="kerchunk", **options) as decoded:
        raw_pressure = netcdf4_expected["pressure"]
        expected_pressure = np.where(raw_pressure == PRESSURE_FILL, np.nan, raw_pressure * 0.1 + 1000.0)
        np.testing.assert_allclose(decoded["pressure"].values, expected_pressure, rtol=1e-6)
        assert decoded["time"].values[1] == np.datetime64("2000-01-02")


def pack_store(source: Path, blob: Path) -> tuple[zarrkit.ReferenceSet, set[str]]:
    """A reference set of the Zarr store in directory ``source``: metadata documents inline, chunk
    files appended to the file ``blob`` and referenced by byte range, except the first chunk, which
    is referenced as a whole file where it lies. Also returns the kinds of reference made."""
    references = zarrkit.ReferenceSet()
    kinds: set[str] = set()
    offset = 0
    with blob.open("wb") as packed:
        for path in sorted(file for file in source.rglob("*") if file.is_file()):
            key = path.relative_to(source).as_posix()
            data = path.read_bytes()
            if path.name in (".zarray", ".zgroup", ".zattrs", "zarr.json"):
                references[key] = data
            elif "whole file" not in kinds:
                references[key] = zarrkit.Reference(str(path))
                kinds.add("whole file")
            else:
                packed.write(data)
                references[key] = zarrkit.Reference(str(blob), offset, len(data))
                kinds.add("range")
                offset += len(data)
    return references, kinds


def write_zarrkit_store(directory: Path, zarr_format: int, *, leave_chunks_missing: bool) -> dict[str, np.ndarray]:
    """A group written by zarrkit with two compressed arrays, ``counts`` perhaps only partly written
    (so some of its chunks are missing and read as the fill value); returns the arrays' contents."""
    group = zarrkit.create_group(str(directory), zarr_format=zarr_format, attributes={"source": "zarrkit"})
    field = np.add.outer(np.linspace(0, 10, 25), np.linspace(0, 3, 30)).astype("f4")
    heights = group.create_array("heights", shape=(25, 30), dtype="f4", chunks=(10, 8), fill_value=-1.0)
    heights[...] = field
    counts = np.arange(12 * 9, dtype="i8").reshape(12, 9)
    if leave_chunks_missing:
        counts[5:] = counts[:, 4:] = 7
    group.create_array("counts", shape=(12, 9), dtype="i8", chunks=(5, 4), fill_value=7)[:5, :4] = counts[:5, :4]
    if not leave_chunks_missing:
        group["counts"][5:] = counts[5:]
        group["counts"][:, 4:] = counts[:, 4:]
    return {"heights": field, "counts": counts}


@pytest.mark.parametrize(
    ("zarr_format", "layout"), [(2, "json"), (2, "parquet"), (3, "json")], ids=["v2-json", "v2-parquet", "v3-json"]
)
def test_zarr_python_reads_reference_set_built_by_zarrkit(zarr_format: int, layout: str, tmp_path: Path) -> None:
    # fsspec cannot read missing chunks from parquet with pyarrow (see the module docstring).
    leave_chunks_missing = layout == "json"
    expected = write_zarrkit_store(tmp_path / "source.zarr", zarr_format, leave_chunks_missing=leave_chunks_missing)
    references, kinds = pack_store(tmp_path / "source.zarr", tmp_path / "chunks.bin")
    assert kinds == {"whole file", "range"}
    path = saved_refs(references, tmp_path, layout)
    group = zarr_python_group(path, zarr_format=zarr_format)
    assert group.attrs["source"] == "zarrkit"
    assert_group_matches(lambda name: group[name][...], list(group.array_keys()), expected)
    assert_zarrkit_group_matches(zarrkit.open_group(zarrkit.ReferenceStore(zarrkit.load_refs(path))), expected)


def test_zarrkit_parquet_marks_missing_chunks_as_fsspec_does(tmp_path: Path) -> None:
    expected = write_zarrkit_store(tmp_path / "source.zarr", 2, leave_chunks_missing=True)
    references, _ = pack_store(tmp_path / "source.zarr", tmp_path / "chunks.bin")
    path = saved_refs(references, tmp_path, "parquet")
    # counts has 3 x 3 chunks, 4 to a record file; of the first four only chunk 0.0 is stored, and
    # no later chunk is, so record 0 alone is written, with rows of nulls for the missing chunks.
    assert sorted(file.name for file in (path / "counts").iterdir()) == ["refs.0.parq"]
    rows = pyarrow.parquet.read_table(path / "counts" / "refs.0.parq").to_pylist()
    assert rows[0]["path"] == str(tmp_path / "source.zarr" / "counts" / "0.0")
    assert [(row["path"], row["raw"]) for row in rows[1:]] == [(None, None)] * 3
    assert_zarrkit_group_matches(zarrkit.open_group(zarrkit.ReferenceStore(zarrkit.load_refs(path))), expected)
