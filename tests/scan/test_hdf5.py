"""scan_hdf5: HDF5 and netCDF4 files as reference sets, every variable read back equal to h5py's and
netCDF4's own (raw) reads, in Zarr v2 and v3."""

from __future__ import annotations

import json
import math
import struct
import warnings
from pathlib import Path
from typing import Any

import h5py
import hdf5plugin
import imagecodecs.numcodecs
import netCDF4
import numpy as np
import pytest
import zarr
from fsspec.implementations.reference import ReferenceFileSystem
from xarray.backends.zarr import FillValueCoder

import zarrkit
from tests.helpers import kerchunk_hdf5
from zarrkit.errors import MetadataError, NodeNotFound, UnsupportedFeature
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.refs.spec import to_spec
from zarrkit.scan.hdf5 import is_hdf5, scan_hdf5
from zarrkit.scan.hdf5_filters import BITSHUFFLE, DEFLATE, FLETCHER32, LZF, SHUFFLE, HDF5Filter, codec_configs
from zarrkit.scan.source import ScanSource

# The v2 references name imagecodecs' HDF5-compatible lz4 codec.
imagecodecs.numcodecs.register_codecs()

FORMATS = [2, 3]


def scan(path: Path, **options: Any) -> ReferenceSet:
    with ScanSource(path) as source:
        return scan_hdf5(source, **options)


def read(refs: ReferenceSet, path: str) -> np.ndarray:
    return np.asarray(zarrkit.open_array(refs, path=path)[...])


METADATA_NAMES = {".zarray", ".zattrs", ".zgroup", "zarr.json"}


def chunk_entries(refs: ReferenceSet, path: str) -> dict[str, Any]:
    """The chunk entries of the array at ``path``, by chunk key."""
    prefix = f"{path}/"
    entries = {}
    for key in refs:
        rest = key[len(prefix) :]
        if key.startswith(prefix) and rest not in METADATA_NAMES and ("/" not in rest or rest.startswith("c/")):
            entries[rest] = refs[key]
    return entries


def h5py_values(dataset: h5py.Dataset) -> np.ndarray:
    string_info = h5py.check_string_dtype(dataset.dtype)
    if string_info is not None and string_info.length is None:
        return np.asarray(dataset.asstr()[()], dtype=object)
    return np.asarray(dataset[()])


def h5py_datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset's values by path; read before zarrkit reads anything, since zarrkit's I/O
    thread must not run while h5py holds its lock (as it does in visititems callbacks)."""
    values: dict[str, np.ndarray] = {}
    with h5py.File(path, "r") as file:
        file.visititems(
            lambda name, item: values.update({name: h5py_values(item)}) if isinstance(item, h5py.Dataset) else None
        )
    return values


# -- netCDF4 files -----------------------------------------------------------------------------------

TEMPERATURE = (np.arange(2 * 4 * 5, dtype="f4").reshape(2, 4, 5) * 0.5).astype("f4")


@pytest.fixture(scope="module")
def netcdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("netcdf") / "data.nc"
    with netCDF4.Dataset(path, "w") as dataset:
        dataset.title = "scanner test"
        dataset.version = np.int32(3)
        dataset.pair = np.array([1, 2], dtype="i2")
        dataset.createDimension("time", None)
        dataset.createDimension("lat", 4)
        dataset.createDimension("lon", 5)
        dataset.createDimension("nchar", 3)
        dataset.createDimension("level", 2)
        time = dataset.createVariable("time", "f8", ("time",))
        time.units = "days since 2000-01-01"
        time[:] = np.arange(6)
        lat = dataset.createVariable("lat", "f4", ("lat",))
        lat[:] = [10, 20, 30, 40]
        temperature = dataset.createVariable(
            "temperature", "i2", ("time", "lat", "lon"), zlib=True, shuffle=True, chunksizes=(1, 2, 5), fill_value=-999
        )
        temperature.scale_factor = 0.01
        temperature.add_offset = 273.15
        temperature.valid_range = np.array([-500, 500], dtype="i2")
        temperature[0:2] = (TEMPERATURE * 10).astype("i2")  # time steps 2..5 never written
        wind = dataset.createVariable("wind", "f8", ("lat", "lon"), fill_value=np.nan, chunksizes=(2, 5))
        wind[0:2] = 1.5
        counts = dataset.createVariable("counts", ">i4", ("lat",), endian="big")
        counts[:] = [1, -2, 3, -4]
        names = dataset.createVariable("names", str, ("lat",))
        names[0] = "alpha"
        names[2] = "γάμμα"
        code = dataset.createVariable("code", "S1", ("lat", "nchar"))
        code[:] = netCDF4.stringtochar(np.array([b"abc", b"de", b"f", b"ghi"], dtype="S3"))
        scalar = dataset.createVariable("scalar", "i4")
        scalar.assignValue(7)
        dataset.createVariable("never", "f4", ("lat", "lon"), contiguous=True)
        # A variable named like a dimension it does not use: netCDF-C stores it as _nc4_non_coord_level.
        level = dataset.createVariable("level", "f4", ("lat", "lon"))
        level[:] = np.arange(20, dtype="f4").reshape(4, 5)
        forecast = dataset.createGroup("forecast")
        forecast.kind = "ensemble"
        forecast.createDimension("step", 3)
        step = forecast.createVariable("step", "i4", ("step",))
        step[:] = [0, 6, 12]
        members = forecast.createGroup("members")
        spread = members.createVariable("spread", "f4", ("step", "lat"), zlib=True, complevel=1)
        spread[:] = np.arange(12, dtype="f4").reshape(3, 4)
    return path


def netcdf_variables(path: Path) -> dict[str, dict[str, Any]]:
    """Per variable path: netCDF4's raw values, dimensions, attributes and fill value."""
    variables: dict[str, dict[str, Any]] = {}
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)

        def walk(group: Any, prefix: str) -> None:
            for name, variable in group.variables.items():
                variables[prefix + name] = {
                    "values": np.asarray(variable[...]),
                    "dimensions": variable.dimensions,
                    "attributes": {key: variable.getncattr(key) for key in variable.ncattrs()},
                }
            for name, child in group.groups.items():
                walk(child, f"{prefix}{name}/")

        walk(dataset, "")
    return variables


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_netcdf_variables_read_as_netcdf4_reads_them_raw(netcdf_path: Path, zarr_format: int) -> None:
    refs = scan(netcdf_path, zarr_format=zarr_format)
    variables = netcdf_variables(netcdf_path)
    assert set(variables) == {
        "time", "lat", "temperature", "wind", "counts", "names", "code", "scalar", "never", "level",
        "forecast/step", "forecast/members/spread",
    }  # fmt: skip
    for path, expected in variables.items():
        array = zarrkit.open_array(refs, path=path)
        np.testing.assert_array_equal(np.asarray(array[...]), expected["values"], err_msg=path)
        assert array.dimension_names == expected["dimensions"], path
        # _FillValue is checked in xarray's encoding below; v2 adds _ARRAY_DIMENSIONS.
        attributes = {
            key: value for key, value in array.attrs.items() if key not in ("_FillValue", "_ARRAY_DIMENSIONS")
        }
        netcdf_attributes = expected["attributes"]
        assert ("_FillValue" in array.attrs) == ("_FillValue" in netcdf_attributes), path
        assert attributes == {
            key: np.asarray(value).tolist() for key, value in netcdf_attributes.items() if key != "_FillValue"
        }, path
    # Pure dimensions are dimensions, not arrays.
    for dimension in ("lon", "nchar", "_nc4_non_coord_level"):
        with pytest.raises(NodeNotFound):
            zarrkit.open_array(refs, path=dimension)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_netcdf_fill_values_attributes_and_groups(netcdf_path: Path, zarr_format: int) -> None:
    refs = scan(netcdf_path, zarr_format=zarr_format)
    temperature = zarrkit.open_array(refs, path="temperature")
    assert temperature.fill_value == -999
    assert temperature.attrs["scale_factor"] == 0.01
    assert temperature.attrs["add_offset"] == 273.15
    assert temperature.attrs["valid_range"] == [-500, 500]
    assert FillValueCoder.decode(temperature.attrs["_FillValue"], np.dtype("i2")) == -999
    for hidden in ("DIMENSION_LIST", "_Netcdf4Dimid", "_Netcdf4Coordinates", "CLASS", "NAME", "REFERENCE_LIST"):
        assert hidden not in temperature.attrs
    wind = zarrkit.open_array(refs, path="wind")
    assert np.isnan(wind.fill_value)
    assert np.isnan(FillValueCoder.decode(wind.attrs["_FillValue"], np.dtype("f8")))
    # Without _FillValue, netCDF-C sets HDF5's fill value to netCDF's default fill.
    assert zarrkit.open_array(refs, path="never").fill_value == np.float32(netCDF4.default_fillvals["f4"])
    counts = zarrkit.open_array(refs, path="counts").metadata  # big-endian data referenced as is
    if zarr_format == 2:
        assert counts.dtype == np.dtype(">i4")
    else:
        assert counts.codecs[0] == {"name": "bytes", "configuration": {"endian": "big"}}
    root = zarrkit.open_group(refs)
    assert dict(root.attrs) == {"title": "scanner test", "version": 3, "pair": [1, 2]}
    assert dict(zarrkit.open_group(refs, path="forecast").attrs) == {"kind": "ensemble"}
    # Never-written data has no chunks: the unlimited steps 2..5 of temperature, and "never".
    assert len(chunk_entries(refs, "temperature")) == 2 * 2  # 2 written time steps x 2 lat chunks
    assert chunk_entries(refs, "never") == {}


# -- HDF5 files written with h5py --------------------------------------------------------------------

DATA = (np.arange(50 * 37, dtype="<i4").reshape(50, 37) % 101) - 50
CHUNKS = (16, 10)  # leaves partial edge chunks

FILTERS: dict[str, dict[str, Any]] = {
    "deflate_shuffle": {"compression": "gzip", "compression_opts": 4, "shuffle": True},
    "fletcher32": {"fletcher32": True, "compression": "gzip", "shuffle": True},
    "zstd": dict(hdf5plugin.Zstd(clevel=5)),
    "blosc_lz4": dict(hdf5plugin.Blosc(cname="lz4", shuffle=hdf5plugin.Blosc.SHUFFLE)),
    "blosc_zstd_bitshuffle": dict(hdf5plugin.Blosc(cname="zstd", clevel=3, shuffle=hdf5plugin.Blosc.BITSHUFFLE)),
}
IMAGECODECS_FILTERS: dict[str, dict[str, Any]] = {"lz4": dict(hdf5plugin.LZ4())}


def write_filtered(path: Path, filters: dict[str, dict[str, Any]]) -> Path:
    with h5py.File(path, "w") as file:
        for name, options in filters.items():
            file.create_dataset(name, data=DATA, chunks=CHUNKS, **options)
            file.create_dataset(f"{name}_big_endian", data=DATA.astype(">i2"), chunks=CHUNKS, **options)
    return path


@pytest.fixture(scope="module")
def filters_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_filtered(tmp_path_factory.mktemp("filters") / "filters.h5", FILTERS)


@pytest.fixture(scope="module")
def imagecodecs_filters_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_filtered(tmp_path_factory.mktemp("filters") / "imagecodecs.h5", IMAGECODECS_FILTERS)


COMPOUND = np.dtype([("id", "<i4"), ("value", "<f8"), ("tag", "S3")])


@pytest.fixture(scope="module")
def layouts_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("layouts") / "layouts.h5"
    with h5py.File(path, "w") as file:
        file.attrs["title"] = "layouts"
        file.attrs["nan"] = np.nan
        file.attrs["floats"] = np.array([1.5, np.inf])
        file.attrs["raw"] = np.bytes_(b"bytes")
        file.attrs["words"] = np.array(["a", "bc"], dtype=h5py.string_dtype())
        file.attrs["nothing"] = h5py.Empty("f4")
        file.create_dataset("contiguous", data=np.linspace(0, 1, 24).reshape(4, 6))
        compact = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        compact.set_layout(h5py.h5d.COMPACT)
        file.create_dataset("compact", data=np.arange(10, dtype=">i2"), dcpl=compact)
        partial = file.create_dataset("partial", shape=(100,), chunks=(10,), dtype="i4", fillvalue=-5)
        partial[20:35] = 1
        file.create_dataset("never_chunked", shape=(30, 4), chunks=(10, 4), dtype="f4", fillvalue=2.5)
        file.create_dataset("never_contiguous", shape=(30,), dtype="u2", fillvalue=9)
        unlimited = file.create_dataset("unlimited", shape=(3, 4), maxshape=(None, 4), chunks=(2, 4), dtype="f8")
        unlimited[:] = 1.0
        unlimited.resize((7, 4))
        unlimited[5:7] = 2.0
        file.create_dataset("big_endian", data=np.arange(30, dtype=">f8").reshape(5, 6), chunks=(2, 4))
        file.create_dataset("fixed_strings", data=np.array([b"one", b"three", b"seventy"], dtype="S7"))
        compound = np.array([(1, 1.5, b"abc"), (2, -2.5, b"de")], dtype=COMPOUND)
        file.create_dataset("compound", data=compound, chunks=(1,), fillvalue=np.array((0, 9.0, b"x"), COMPOUND))
        file.create_dataset("vlen_strings", data=["a", "", "ünïcode", "d", "e"], dtype=h5py.string_dtype(), chunks=(2,))
        file.create_dataset("vlen_scalar", data="just one", dtype=h5py.string_dtype())
        file.create_dataset("scalar", data=3.25)
        file.create_dataset("empty", shape=(0,), dtype="f4")
        file.create_dataset("flags", data=np.array([True, False, True]))
        file.create_dataset("complex", data=np.array([1 + 2j, -3j]))
        file.create_dataset("enum", data=np.array([0, 1, 1], "u1"), dtype=h5py.enum_dtype({"no": 0, "yes": 1}, "u1"))
        # HDF5's fletcher32 treats a trailing odd byte specially.
        file.create_dataset("odd_fletcher32", data=np.arange(7, dtype="u1"), chunks=(7,), fletcher32=True)
        group = file.create_group("nested/deeper")
        group.attrs["level"] = 2
        x = group.create_dataset("x", data=np.arange(6.0))
        x.make_scale("x")
        y = group.create_dataset("y", data=np.arange(4, dtype="i8"))
        y.make_scale("y")
        field = group.create_dataset("field", data=np.ones((4, 6), dtype="f4"), chunks=(2, 3))
        field.dims[0].attach_scale(y)
        field.dims[1].attach_scale(x)
        field.attrs["units"] = "m"
    return path


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_every_filter_decodes_as_h5py_reads(filters_path: Path, zarr_format: int) -> None:
    refs = scan(filters_path, zarr_format=zarr_format)
    expected = h5py_datasets(filters_path)
    assert set(expected) == {name for name in FILTERS} | {f"{name}_big_endian" for name in FILTERS}
    for path, values in expected.items():
        array = zarrkit.open_array(refs, path=path)
        np.testing.assert_array_equal(np.asarray(array[...]), values, err_msg=path)
        assert array.dtype == values.dtype.newbyteorder("=") or array.dtype == values.dtype, path
    assert isinstance(refs["fletcher32/0.0" if zarr_format == 2 else "fletcher32/c/0/0"], Reference)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_imagecodecs_filters_decode_in_v2_and_v3(imagecodecs_filters_path: Path, zarr_format: int) -> None:
    refs = scan(imagecodecs_filters_path, zarr_format=zarr_format)
    for path, values in h5py_datasets(imagecodecs_filters_path).items():
        np.testing.assert_array_equal(read(refs, path), values, err_msg=path)
    if zarr_format == 3:
        codecs = json.loads(refs["lz4/zarr.json"])["codecs"]
        assert [codec["name"] for codec in codecs] == ["bytes", "numcodecs.imagecodecs_lz4h5"]


# -- LZF and bitshuffle: zarrkit's own codecs ----------------------------------------------------------

# Runs of 9 equal values: every chunk compresses, so LZF (which HDF5 skips for a chunk it cannot
# shrink) applies to all of them.
COMPRESSIBLE = (np.arange(50 * 37) // 9).reshape(50, 37)
ZARRKIT_CODEC_DTYPES = ("<i4", ">i2", "<f8", ">f4", "u1")
ZARRKIT_CODEC_FILTERS: dict[str, dict[str, Any]] = {
    "lzf": {"compression": "lzf"},
    "shuffle_lzf": {"compression": "lzf", "shuffle": True},
    "shuffle_lzf_fletcher32": {"compression": "lzf", "shuffle": True, "fletcher32": True},
    "bitshuffle": dict(hdf5plugin.Bitshuffle(cname="none")),
    "bitshuffle_block_16": dict(hdf5plugin.Bitshuffle(nelems=16, cname="none")),
    "bitshuffle_lz4": dict(hdf5plugin.Bitshuffle(cname="lz4")),
    "bitshuffle_lz4_block_64": dict(hdf5plugin.Bitshuffle(nelems=64, cname="lz4")),
    "bitshuffle_zstd": dict(hdf5plugin.Bitshuffle(cname="zstd", clevel=7)),
}


@pytest.fixture(scope="module")
def zarrkit_codecs_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("filters") / "zarrkit_codecs.h5"
    with h5py.File(path, "w") as file:
        for name, options in ZARRKIT_CODEC_FILTERS.items():
            for dtype in ZARRKIT_CODEC_DTYPES:
                dataset = file.create_dataset(
                    f"{name}/{np.dtype(dtype).str}", data=COMPRESSIBLE.astype(dtype), chunks=CHUNKS, **options
                )
                masks = {dataset.id.get_chunk_info(index).filter_mask for index in range(dataset.id.get_num_chunks())}
                assert masks == {0}, (name, dtype)
    return path


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_lzf_and_bitshuffle_decode_as_h5py_reads(zarrkit_codecs_path: Path, zarr_format: int) -> None:
    refs = scan(zarrkit_codecs_path, zarr_format=zarr_format)
    expected = h5py_datasets(zarrkit_codecs_path)
    assert len(expected) == len(ZARRKIT_CODEC_FILTERS) * len(ZARRKIT_CODEC_DTYPES)
    for path, values in expected.items():
        np.testing.assert_array_equal(read(refs, path), values, err_msg=path)
    if zarr_format == 2:
        filters = json.loads(refs["shuffle_lzf_fletcher32/>i2/.zarray"])["filters"]
        assert filters == [
            {"id": "shuffle", "elementsize": 2},
            {"id": "zarrkit_lzf", "decoded_size": 16 * 10 * 2},
            {"id": "fletcher32"},
        ]
        assert json.loads(refs["bitshuffle_zstd/<f8/.zarray"])["filters"] == [
            {"id": "zarrkit_bitshuffle", "itemsize": 8, "blocksize": 0, "compression": "zstd", "level": 7}
        ]
    else:
        codecs = json.loads(refs["bitshuffle_lz4_block_64/|u1/zarr.json"])["codecs"]
        assert codecs[1] == {
            "name": "numcodecs.zarrkit_bitshuffle",
            "configuration": {"itemsize": 1, "blocksize": 64, "compression": "lz4"},
        }
        assert json.loads(refs["lzf/<i4/zarr.json"])["codecs"][1]["name"] == "numcodecs.zarrkit_lzf"


def test_zarr_python_reads_the_v2_references_over_fsspec(zarrkit_codecs_path: Path) -> None:
    """zarr-python's v2 arrays build their filters with numcodecs.get_codec, which finds the registered codecs."""
    refs = scan(zarrkit_codecs_path)
    filesystem = ReferenceFileSystem(fo=to_spec(refs), remote_protocol="file", asynchronous=True)
    group = zarr.open_group(zarr.storage.FsspecStore(filesystem, read_only=True), mode="r", zarr_format=2)
    expected = h5py_datasets(zarrkit_codecs_path)
    for path, values in expected.items():
        np.testing.assert_array_equal(group[path][...], values, err_msg=path)


@pytest.fixture(scope="module")
def incompressible_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LZF datasets with chunks LZF cannot shrink, which HDF5 stores unfiltered with the LZF bit of
    their filter mask set: all of them, and one among compressed ones."""
    path = tmp_path_factory.mktemp("filters") / "incompressible.h5"
    noise = np.random.default_rng(3).integers(0, 2**32, size=40, dtype="<u4")
    with h5py.File(path, "w") as file:
        file.create_dataset("all_raw", data=noise, chunks=(10,), compression="lzf")
        mixed = np.concatenate([noise[:10], np.zeros(30, dtype="<u4")])
        file.create_dataset("mixed", data=mixed, chunks=(10,), compression="lzf")
        for name, expected_masks in (("all_raw", [1, 1, 1, 1]), ("mixed", [1, 0, 0, 0])):
            dataset = file[name]
            assert [dataset.id.get_chunk_info(index).filter_mask for index in range(4)] == expected_masks
    return path


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_chunks_lzf_could_not_shrink_are_never_decoded_as_lzf(incompressible_path: Path, zarr_format: int) -> None:
    expected = h5py_datasets(incompressible_path)
    with pytest.raises(UnsupportedFeature, match=r"'/mixed': 1 of its 4 chunks skipped other filters"):
        scan(incompressible_path, zarr_format=zarr_format)
    refs = scan(incompressible_path, zarr_format=zarr_format, on_unsupported="inline")
    for name in ("all_raw", "mixed"):
        np.testing.assert_array_equal(read(refs, name), expected[name], err_msg=name)
    assert "zarrkit_lzf" not in str(zarrkit.open_array(refs, path="all_raw").metadata.to_json_documents())
    assert "zarrkit_lzf" in str(zarrkit.open_array(refs, path="mixed").metadata.to_json_documents())


def lzf_filter(chunk_bytes: int) -> HDF5Filter:
    """h5py's LZF filter as a file records it: filter revision, LZF version, the chunk's byte size."""
    return HDF5Filter(LZF, 1, (4, 261, chunk_bytes), "lzf")


def test_lzf_decoded_size_follows_the_pipeline() -> None:
    dtype = np.dtype("<f4")
    shuffle, fletcher32 = HDF5Filter(SHUFFLE, 1, (4,), "shuffle"), HDF5Filter(FLETCHER32, 1, (), "fletcher32")
    unshuffled_bitshuffle = HDF5Filter(BITSHUFFLE, 1, (0, 4, 4, 0, 0), "bitshuffle")
    # The chunk shape gives the size (not the one the filter records); shuffle and bitshuffle keep
    # the size, fletcher32 adds its checksum.
    configs = codec_configs(
        (shuffle, unshuffled_bitshuffle, fletcher32, lzf_filter(999)), dtype, where="f: '/v'", chunk_shape=(3, 5)
    )
    assert configs[-1] == {"id": "zarrkit_lzf", "decoded_size": 3 * 5 * 4 + 4}


@pytest.mark.parametrize(
    "filters",
    [
        (HDF5Filter(DEFLATE, 0, (4,), "deflate"), lzf_filter(60)),  # after a compressor the size depends on the data
        (HDF5Filter(BITSHUFFLE, 1, (0, 4, 4, 0, 2), "bitshuffle"), lzf_filter(60)),
    ],
    ids=["after_deflate", "after_bitshuffle_lz4"],
)
def test_lzf_of_unknown_decoded_size_is_refused(filters: tuple[HDF5Filter, ...]) -> None:
    with pytest.raises(UnsupportedFeature, match=r"^f: '/v': LZF compression \(HDF5 filter 32000\).*decoded size"):
        codec_configs(filters, np.dtype("<f4"), where="f: '/v'", chunk_shape=(3, 5))


def test_bitshuffle_parameters_map_to_the_codec_configuration() -> None:
    dtype = np.dtype("<i2")
    negative_level = HDF5Filter(BITSHUFFLE, 1, (0, 4, 2, 32, 3, 2**32 - 5), "bitshuffle")
    assert codec_configs((negative_level,), dtype, where="w", chunk_shape=(8,)) == [
        {"id": "zarrkit_bitshuffle", "itemsize": 2, "blocksize": 32, "compression": "zstd", "level": -5}
    ]
    bare = HDF5Filter(BITSHUFFLE, 1, (), "bitshuffle")
    assert codec_configs((bare,), dtype, where="w", chunk_shape=(8,)) == [
        {"id": "zarrkit_bitshuffle", "itemsize": 2, "blocksize": 0, "compression": "none"}
    ]
    unknown = HDF5Filter(BITSHUFFLE, 1, (0, 4, 2, 0, 1), "bitshuffle")
    with pytest.raises(UnsupportedFeature, match=r"^w: bitshuffle with compression 1 \(HDF5 filter 32008\)"):
        codec_configs((unknown,), dtype, where="w", chunk_shape=(8,))


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_every_layout_and_type_reads_as_h5py_reads(layouts_path: Path, zarr_format: int) -> None:
    refs = scan(layouts_path, zarr_format=zarr_format)
    expected = h5py_datasets(layouts_path)
    for path, values in expected.items():
        np.testing.assert_array_equal(read(refs, path), values, err_msg=path)
    assert read(refs, "compound").dtype.names == COMPOUND.names
    assert read(refs, "vlen_scalar")[()] == "just one"
    # Compact data and variable-length strings are inline; the rest is referenced.
    compact_key, contiguous_key = (
        ("compact/0", "contiguous/0.0") if zarr_format == 2 else ("compact/c/0", "contiguous/c/0/0")
    )
    assert isinstance(refs[compact_key], bytes)
    assert isinstance(refs[contiguous_key], Reference)
    assert chunk_entries(refs, "never_chunked") == {} and chunk_entries(refs, "never_contiguous") == {}
    assert len(chunk_entries(refs, "partial")) == 2  # chunks 2 and 3 of 10
    assert zarrkit.open_array(refs, path="partial").fill_value == -5
    # Datasets whose every chunk is written are held as chunk tables; a partly written one and inline
    # data cannot be.
    tables = refs.chunk_tables
    assert {"contiguous", "big_endian", "compound", "scalar", "unlimited"} <= set(tables)
    assert not {"partial", "compact", "vlen_strings"} & set(tables)
    assert len(tables["big_endian"]) == 3 * 2 and tables["big_endian"].offsets.min() > 0
    assert zarrkit.open_array(refs, path="never_chunked").fill_value == 2.5
    compound = zarrkit.open_array(refs, path="compound")
    assert compound.fill_value["value"] == 9.0


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_attributes_and_dimension_scales(layouts_path: Path, zarr_format: int) -> None:
    refs = scan(layouts_path, zarr_format=zarr_format)
    attributes = dict(zarrkit.open_group(refs).attrs)
    # Non-finite floats stay floats (bare NaN/Infinity tokens in the JSON), as zarr-python writes them.
    assert math.isnan(attributes.pop("nan"))
    assert attributes == {
        "title": "layouts",
        "floats": [1.5, math.inf],
        "raw": "bytes",
        "words": ["a", "bc"],
        "nothing": None,
    }
    assert dict(zarrkit.open_group(refs, path="nested/deeper").attrs) == {"level": 2}
    field = zarrkit.open_array(refs, path="nested/deeper/field")
    assert field.dimension_names == ("y", "x")
    assert dict(field.attrs) == (
        {"units": "m"} if zarr_format == 3 else {"units": "m", "_ARRAY_DIMENSIONS": ["y", "x"]}
    )
    assert zarrkit.open_array(refs, path="nested/deeper/x").dimension_names == ("x",)
    with netCDF4.Dataset(layouts_path) as dataset:
        netcdf_dimensions = {name: variable.dimensions for name, variable in dataset.variables.items()}
    assert len(netcdf_dimensions) == 17
    for name, dimensions in netcdf_dimensions.items():
        assert zarrkit.open_array(refs, path=name).dimension_names == dimensions, name


@pytest.fixture(scope="module")
def phony_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("phony") / "phony.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("b", data=np.zeros((4, 4, 5)))
        file.create_dataset("a", data=np.zeros((3, 4)))
        file.create_dataset("c", data=np.zeros(3), maxshape=(None,))
        group = file.create_group("g", track_order=True)
        group.create_dataset("z", data=np.zeros((3, 7)))
        group.create_dataset("d", data=np.zeros((7, 7)))
        group.create_group("h").create_dataset("e", data=np.zeros(7))
        file.create_group("k").create_dataset("z", data=np.zeros(2))
        x = file.create_dataset("x", data=np.arange(5.0))
        x.make_scale("x")
        file["b"].dims[2].attach_scale(x)
    return path


def test_unnamed_dimensions_are_named_as_netcdf4_names_them(phony_path: Path) -> None:
    refs = scan(phony_path, zarr_format=3)
    with netCDF4.Dataset(phony_path) as dataset:
        expected = {"b": None, "a": None, "c": None, "x": None, "g/z": None, "g/d": None, "g/h/e": None, "k/z": None}
        for path in expected:
            expected[path] = dataset[path].dimensions
    for path, dimensions in expected.items():
        assert zarrkit.open_array(refs, path=path).dimension_names == dimensions, path


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_variables_shorter_than_their_unlimited_dimension_are_padded_as_netcdf4_pads_them(
    tmp_path: Path, zarr_format: int
) -> None:
    path = tmp_path / "short.h5"
    with h5py.File(path, "w") as file:
        time = file.create_dataset("time", data=np.arange(5.0), maxshape=(None,), chunks=(2,))
        time.make_scale("time")
        contiguous = file.create_dataset("contiguous", data=np.array([1, 2, 3], "i4"), fillvalue=-1)
        # The edge chunk holds element 2 and, past the extent, the fill value HDF5 put there.
        chunked = file.create_dataset(
            "chunked", data=np.array([1, 2, 3], "i4"), chunks=(2,), maxshape=(None,), fillvalue=-7
        )
        strings = file.create_dataset(
            "strings", data=["a", "b"], dtype=h5py.string_dtype(), chunks=(2,), maxshape=(None,)
        )
        for dataset in (contiguous, chunked, strings):
            dataset.dims[0].attach_scale(time)
    refs = scan(path, zarr_format=zarr_format)
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)
        for name in ("time", "contiguous", "chunked", "strings"):
            assert dataset[name].dimensions == ("time",)
            np.testing.assert_array_equal(read(refs, name), dataset[name][:], err_msg=name)
    np.testing.assert_array_equal(read(refs, "chunked"), [1, 2, 3, -7, -7])


# -- what cannot be referenced -------------------------------------------------------------------------


def write_single(path: Path, **options: Any) -> Path:
    with h5py.File(path, "w") as file:
        file.create_dataset("good", data=np.arange(10.0))
        file.create_dataset("var", data=DATA.astype("f4"), chunks=CHUNKS, **options)
    return path


UNSUPPORTED: dict[str, tuple[dict[str, Any], str]] = {
    "szip": ({"compression": "szip"}, "szip"),
    "scaleoffset": ({"scaleoffset": 2}, "scale-offset"),
}


@pytest.fixture(scope="module")
def unsupported_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("unsupported")
    return {name: write_single(directory / f"{name}.h5", **options) for name, (options, _) in UNSUPPORTED.items()}


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_unsupported_filters_raise_naming_file_variable_and_feature(
    unsupported_paths: dict[str, Path], feature: str
) -> None:
    path = unsupported_paths[feature]
    with pytest.raises(UnsupportedFeature) as raised:
        scan(path)
    message = str(raised.value)
    assert str(path) in message and "'/var'" in message and UNSUPPORTED[feature][1] in message


@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_skip_warns_and_leaves_the_variable_out(unsupported_paths: dict[str, Path], feature: str) -> None:
    with pytest.warns(UserWarning, match=r"'/var'.*left out"):
        refs = scan(unsupported_paths[feature], on_unsupported="skip")
    with pytest.raises(NodeNotFound):
        zarrkit.open_array(refs, path="var")
    np.testing.assert_array_equal(read(refs, "good"), np.arange(10.0))


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("feature", sorted(UNSUPPORTED))
def test_inline_reads_through_h5py(unsupported_paths: dict[str, Path], feature: str, zarr_format: int) -> None:
    path = unsupported_paths[feature]
    refs = scan(path, on_unsupported="inline", zarr_format=zarr_format)
    expected = h5py_datasets(path)["var"]
    np.testing.assert_array_equal(read(refs, "var"), expected)
    assert chunk_entries(refs, "var") and all(isinstance(entry, bytes) for entry in chunk_entries(refs, "var").values())
    with pytest.raises(UnsupportedFeature, match="inline_limit"):
        scan(path, on_unsupported="inline", inline_limit=expected.nbytes - 1)


@pytest.fixture(scope="module")
def references_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("references") / "references.h5"
    with h5py.File(path, "w") as file:
        target = file.create_dataset("target", data=np.arange(3))
        file.create_dataset("refs", data=[target.ref, target.ref], dtype=h5py.ref_dtype)
    return path


def test_object_references_cannot_be_represented_even_inline(references_path: Path) -> None:
    with pytest.raises(UnsupportedFeature, match=r"references\.h5: variable '/refs': object and region references"):
        scan(references_path)
    with pytest.raises(UnsupportedFeature, match="'/refs'.*cannot be inlined either"):
        scan(references_path, on_unsupported="inline")


def test_data_in_other_files_is_refused_even_inline(tmp_path: Path) -> None:
    """h5py reading through a file object cannot locate virtual sources or external files: HDF5
    would read a missing virtual source as fill values, so neither is ever inlined."""
    with h5py.File(tmp_path / "source.h5", "w") as file:
        file["values"] = np.arange(10.0)
    for name in ("virtual", "external"):
        path = tmp_path / f"{name}.h5"
        with h5py.File(path, "w") as file:
            if name == "virtual":
                layout = h5py.VirtualLayout(shape=(10,), dtype="f8")
                layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "values", shape=(10,))
                file.create_virtual_dataset("data", layout, fillvalue=-1)
            else:
                file.create_dataset("data", shape=(4,), dtype="i4", external=[(str(tmp_path / "raw.bin"), 0, 16)])
                file["data"][:] = [1, 2, 3, 4]
        with pytest.raises(UnsupportedFeature, match=f"{name}.h5: variable '/data': .* other (datasets|files)"):
            scan(path)
        with pytest.raises(UnsupportedFeature, match="cannot be inlined either: h5py cannot locate the other files"):
            scan(path, on_unsupported="inline")


BIG_ENDIAN_COMPOUND = np.array([(1, 2.0), (-3, 4.5)], dtype=[("a", ">i4"), ("b", ">f8")])


def test_big_endian_compounds_are_referenced_in_v2_and_inlined_in_v3(tmp_path: Path) -> None:
    path = tmp_path / "compound.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("compound", data=BIG_ENDIAN_COMPOUND)
    v2 = scan(path)
    assert isinstance(v2["compound/0"], Reference)
    np.testing.assert_array_equal(read(v2, "compound"), BIG_ENDIAN_COMPOUND)
    with pytest.raises(UnsupportedFeature, match="'/compound': a compound type with big-endian members"):
        scan(path, zarr_format=3)
    v3 = scan(path, zarr_format=3, on_unsupported="inline")
    assert isinstance(v3["compound/c/0"], bytes)
    np.testing.assert_array_equal(read(v3, "compound"), BIG_ENDIAN_COMPOUND)


@pytest.fixture(scope="module")
def filter_mask_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Chunks written around the filters: one raw chunk among deflated ones, and a dataset whose
    chunks all skip deflate."""
    path = tmp_path_factory.mktemp("masks") / "masks.h5"
    with h5py.File(path, "w") as file:
        mixed = file.create_dataset("mixed", data=np.arange(40, dtype="<i4"), chunks=(10,), compression="gzip")
        mixed.id.write_direct_chunk((10,), np.full(10, 7, dtype="<i4").tobytes(), filter_mask=1)
        all_raw = file.create_dataset("all_raw", shape=(20,), dtype="<i4", chunks=(10,), compression="gzip")
        for start in (0, 10):
            all_raw.id.write_direct_chunk((start,), np.arange(start, start + 10, dtype="<i4").tobytes(), filter_mask=1)
    return path


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_chunks_that_skipped_filters(filter_mask_path: Path, zarr_format: int) -> None:
    expected = h5py_datasets(filter_mask_path)
    with pytest.raises(UnsupportedFeature, match=r"'/mixed': 1 of its 4 chunks skipped other filters"):
        scan(filter_mask_path, zarr_format=zarr_format)
    refs = scan(filter_mask_path, zarr_format=zarr_format, on_unsupported="inline")
    np.testing.assert_array_equal(read(refs, "mixed"), expected["mixed"])
    mixed_entries = chunk_entries(refs, "mixed").values()
    assert sorted(type(entry).__name__ for entry in mixed_entries) == ["Reference"] * 3 + ["bytes"]
    np.testing.assert_array_equal(read(refs, "all_raw"), np.arange(20))
    all_raw = zarrkit.open_array(refs, path="all_raw")
    assert all_raw.metadata.to_json_documents()  # described without the deflate every chunk skipped
    assert "zlib" not in str(all_raw.metadata.to_json_documents())


# -- sources, offsets and bad input ---------------------------------------------------------------------


def test_user_block_offsets_are_absolute(tmp_path: Path) -> None:
    path = tmp_path / "matlab.mat"
    with h5py.File(path, "w", userblock_size=512) as file:
        file.create_dataset("contiguous", data=np.arange(100.0))
        file.create_dataset("chunked", data=np.arange(100, dtype="i2"), chunks=(30,), compression="gzip")
    with open(path, "rb") as handle:
        header = handle.read(4096)
    assert header[:8] != b"\x89HDF\r\n\x1a\n" and is_hdf5(header)
    refs = scan(path)
    assert refs["contiguous/0"].offset > 512
    np.testing.assert_array_equal(read(refs, "contiguous"), np.arange(100.0))
    np.testing.assert_array_equal(read(refs, "chunked"), np.arange(100))


def test_is_hdf5_checks_the_signature(filters_path: Path, netcdf_path: Path) -> None:
    assert is_hdf5(filters_path.read_bytes()[:4096]) and is_hdf5(netcdf_path.read_bytes()[:4096])
    assert not is_hdf5(b"CDF\x01" + bytes(100))
    assert not is_hdf5(b"")


def test_truncated_and_foreign_files_raise_metadata_errors(tmp_path: Path, filters_path: Path) -> None:
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(filters_path.read_bytes()[:3000])
    with pytest.raises(MetadataError, match="truncated.h5"):
        scan(truncated)
    text = tmp_path / "text.h5"
    text.write_bytes(b"not an HDF5 file" * 100)
    with pytest.raises(MetadataError, match="text.h5"):
        scan(text)


def test_a_chunk_beyond_the_end_of_the_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "lying.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("a", data=np.arange(1000, dtype="<f8"), chunks=(500,))
    content = bytearray(path.read_bytes()[:-100])
    assert content[8] == 0  # superblock version 0: the end-of-file address is at byte 40
    content[40:48] = struct.pack("<Q", len(content))  # the header now agrees with the shorter file
    path.write_bytes(bytes(content))
    with pytest.raises(MetadataError, match=r"lying\.h5: variable '/a': chunk \(1,\) is 4000 bytes at offset"):
        scan(path)


def test_small_chunks_are_inlined_under_the_threshold(layouts_path: Path) -> None:
    refs = scan(layouts_path, inline_threshold=100)
    partial_entries = chunk_entries(refs, "partial").values()
    assert partial_entries and all(isinstance(entry, bytes) for entry in partial_entries)  # 40-byte chunks
    assert isinstance(refs["contiguous/0.0"], Reference)  # 192 bytes
    np.testing.assert_array_equal(read(refs, "partial"), h5py_datasets(layouts_path)["partial"])


def test_invalid_options_raise() -> None:
    for options in ({"on_unsupported": "ignore"}, {"inline_threshold": -1}, {"inline_limit": 1.5}):
        with pytest.raises(MetadataError):
            scan_hdf5(None, **options)  # type: ignore[arg-type]


def test_references_match_kerchunk(filters_path: Path) -> None:
    """kerchunk points at the same bytes for the filters both support (it strips fletcher32 checksums)."""
    ours = scan(filters_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = kerchunk_hdf5(str(filters_path), inline_threshold=0)["refs"]
    compared = 0
    for key, entry in theirs.items():
        if key.endswith(".zarray"):
            ours_metadata, their_metadata = json.loads(ours[key]), json.loads(entry)
            for field in ("shape", "chunks", "dtype", "fill_value", "order"):
                assert ours_metadata[field] == their_metadata[field], (key, field)
        elif isinstance(entry, list) and not key.startswith("fletcher32"):
            assert ours[key] == Reference(str(filters_path), entry[1], entry[2]), key
            compared += 1
    assert compared == 4 * 4 * 2 * (len(FILTERS) - 1)  # 4 x 4 chunks of 2 datasets per filter but fletcher32
