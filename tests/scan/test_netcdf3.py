"""The NetCDF3 scanner: files written by netCDF4 (CDF-1, CDF-2, CDF-5) and scipy (CDF-1, CDF-2), read
through the reference sets it makes, equal what netCDF4 reads from the files (raw: no masking, no
scaling, chars as bytes), in Zarr v2 and v3; kerchunk's references to the same files give the same
arrays; malformed files fail with MetadataError naming the file.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import netCDF4
import numpy as np
import pytest
import scipy.io
import xarray
import zarr
import zarr.storage
from fsspec.implementations.reference import ReferenceFileSystem
from kerchunk.netCDF3 import NetCDF3ToZarr
from xarray.backends.zarr import FillValueCoder

import zarrkit
from zarrkit.errors import MetadataError
from zarrkit.refs.load import save_refs
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan.netcdf3 import is_netcdf3, scan_netcdf3
from zarrkit.scan.source import ScanSource

RECORDS = 7
X = 3
Y = 5
NAME_LENGTH = 4
NETCDF4_FORMATS = ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA")
CLASSIC_TYPES = ("i1", "i2", "i4", "f4", "f8")
CDF5_TYPES = ("u1", "u2", "u4", "i8", "u8")


def scan(path: Path, zarr_format: int = 2, **options: Any) -> ReferenceSet:
    with ScanSource(path) as source:
        return scan_netcdf3(source, zarr_format=zarr_format, **options)


def attribute_value(value: Any) -> Any:
    """An attribute as netCDF4 returns it, as the JSON value the scanner writes."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def expected_fill(variable: netCDF4.Variable) -> np.ndarray:
    dtype = variable.dtype
    if "_FillValue" in variable.ncattrs():
        value = variable.getncattr("_FillValue")
        return np.array(value.encode() if isinstance(value, str) else value, dtype=dtype)
    default = netCDF4.default_fillvals[dtype.str[1:]]
    return np.array(default.encode() if isinstance(default, str) else default, dtype=dtype)


def assert_matches_netcdf4(path: Path, references: ReferenceSet, zarr_format: int) -> None:
    """Every variable, its fill value, attributes and dimensions, and the global attributes, as netCDF4 has them."""
    group = zarrkit.open_group(references)
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)
        dataset.set_auto_chartostring(False)
        assert dict(group.attrs) == {name: attribute_value(dataset.getncattr(name)) for name in dataset.ncattrs()}
        assert sorted(name for name, _ in group.arrays()) == sorted(dataset.variables)
        for name, variable in dataset.variables.items():
            array = zarrkit.open_array(references, path=name)
            expected = variable[...]
            actual = array[...]
            assert actual.dtype.newbyteorder("=") == expected.dtype.newbyteorder("="), name
            np.testing.assert_array_equal(actual, expected, err_msg=name)
            fill = expected_fill(variable)
            assert np.array(array.fill_value, dtype=fill.dtype).tobytes() == fill.tobytes(), name
            attributes = dict(array.attrs)
            expected_attributes = {
                key: attribute_value(variable.getncattr(key)) for key in variable.ncattrs() if key != "_FillValue"
            }
            if zarr_format == 2:
                assert attributes.pop("_ARRAY_DIMENSIONS") == list(variable.dimensions), name
            else:
                assert array.dimension_names == variable.dimensions, name
                if "_FillValue" in variable.ncattrs() and variable.dtype.kind != "S":
                    decoded = FillValueCoder.decode(attributes.pop("_FillValue"), array.dtype)
                    assert np.array(decoded, dtype=fill.dtype).tobytes() == fill.tobytes(), name
            assert attributes == expected_attributes, name


# -- files written by netCDF4 ------------------------------------------------------------------------


def write_netcdf4_file(path: Path, file_format: str) -> None:
    """Record variables (several, with odd slab sizes), chars, every numeric type of the format,
    attributes of every type, a 0-d variable, and variables written only in part."""
    types = CLASSIC_TYPES + (CDF5_TYPES if file_format == "NETCDF3_64BIT_DATA" else ())
    rng = np.random.default_rng(7)
    with netCDF4.Dataset(path, "w", format=file_format) as dataset:
        dataset.title = "scanner test"
        dataset.empty_text = ""
        dataset.history = "créé à Zürich"  # UTF-8 text
        for dtype in types:
            setattr(dataset, f"one_{dtype}", np.array([7], dtype=dtype))
            setattr(dataset, f"many_{dtype}", np.array([1, 2, 3], dtype=dtype))
        dataset.createDimension("time", None)
        dataset.createDimension("x", X)
        dataset.createDimension("y", Y)
        dataset.createDimension("name_length", NAME_LENGTH)

        time = dataset.createVariable("time", "f8", ("time",))
        time.units = "days since 2000-01-01"
        time[:] = np.arange(RECORDS) * 0.5
        temperature = dataset.createVariable("temperature", "f4", ("time", "x", "y"), fill_value=np.float32(-999.5))
        temperature.scale_factor = np.float32(0.01)
        temperature.add_offset = 273.15
        temperature.valid_range = np.array([-1000, 1000], dtype="f4")
        for record in (0, 1, 2, 4):  # records 3, 5 and 6 are left unwritten
            temperature[record] = rng.normal(size=(X, Y)).astype("f4")
        flags = dataset.createVariable("flags", "i1", ("time",))  # 1 byte per record: 3 bytes of padding
        flags[:] = np.arange(RECORDS, dtype="i1") - 3
        counts = dataset.createVariable("counts", "i2", ("time", "x"))  # 6 bytes per record
        counts[: RECORDS - 2] = rng.integers(-1000, 1000, size=(RECORDS - 2, X))
        codes = dataset.createVariable("codes", "S1", ("time", "name_length"), fill_value=b"-")
        labels = np.array([f"c{record}" for record in range(RECORDS - 1)], dtype=f"S{NAME_LENGTH}")
        codes[: RECORDS - 1] = netCDF4.stringtochar(labels)  # the last record is left unwritten

        names = dataset.createVariable("names", "S1", ("x", "name_length"))
        names.long_name = "station names"
        names[:] = netCDF4.stringtochar(np.array(["abc", "de", "fghi"], dtype=f"S{NAME_LENGTH}"))
        for dtype in types:
            variable = dataset.createVariable(f"values_{dtype}", dtype, ("x", "y"))
            info = np.iinfo(dtype) if dtype[0] in "iu" else np.finfo(dtype)
            variable[:] = np.linspace(info.min / 4, info.max / 4, X * Y).astype(dtype).reshape(X, Y)
            variable.own_type_attribute = np.array([1, 2], dtype=dtype)
        partial = dataset.createVariable("partial", "i4", ("y",), fill_value=-1)
        partial[:2] = [10, 20]
        nan_filled = dataset.createVariable("nan_filled", "f8", ("x",), fill_value=np.nan)
        nan_filled[1] = 1.5
        dataset.createVariable("unwritten", types[-1], ("x",))  # default fill throughout
        scalar = dataset.createVariable("scalar", "f8", ())
        scalar.assignValue(2.25)
        odd = dataset.createVariable("odd_shorts", "i2", ("x",))  # 6 bytes, padded to 8
        odd[:] = [1, -2, 3]


@pytest.fixture(scope="module", params=NETCDF4_FORMATS)
def netcdf4_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("netcdf4") / f"{request.param}.nc"
    write_netcdf4_file(path, request.param)
    return path


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_netcdf4_files_read_as_netcdf4_reads_them(netcdf4_file: Path, zarr_format: int) -> None:
    references = scan(netcdf4_file, zarr_format)
    assert_matches_netcdf4(netcdf4_file, references, zarr_format)


def test_unwritten_data_reads_as_the_fill_value(netcdf4_file: Path) -> None:
    references = scan(netcdf4_file)
    temperature = zarrkit.open_array(references, path="temperature")[...]
    assert (temperature[[3, 5, 6]] == np.float32(-999.5)).all()
    assert not (temperature[[0, 1, 2, 4]] == np.float32(-999.5)).any()
    assert zarrkit.open_array(references, path="codes")[RECORDS - 1].tolist() == [b"-"] * NAME_LENGTH
    np.testing.assert_array_equal(zarrkit.open_array(references, path="partial")[...], [10, 20, -1, -1, -1])
    assert np.isnan(zarrkit.open_array(references, path="nan_filled")[[0, 2]]).all()
    unwritten = zarrkit.open_array(references, path="unwritten")
    assert (unwritten[...] == unwritten.fill_value).all()
    assert unwritten.fill_value == (18446744073709551614 if "DATA" in netcdf4_file.name else 9.969209968386869e36)


def test_a_record_dimension_without_records(tmp_path: Path) -> None:
    path = tmp_path / "no_records.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("x", 3)
        dataset.createVariable("empty", "i2", ("time", "x"))
        dataset.createVariable("also_empty", "f8", ("time",))
        dataset.createVariable("fixed", "i4", ("x",))[:] = [4, 5, 6]
    for zarr_format in (2, 3):
        references = scan(path, zarr_format)
        assert zarrkit.open_array(references, path="empty").shape == (0, 3)
        assert_matches_netcdf4(path, references, zarr_format)


def test_record_variables_get_one_chunk_per_record(netcdf4_file: Path) -> None:
    references = scan(netcdf4_file)
    temperature = zarrkit.open_array(references, path="temperature")
    assert temperature.shape == (RECORDS, X, Y)
    assert temperature.chunks == (1, X, Y)
    chunk_references = [references[f"temperature/{record}.0.0"] for record in range(RECORDS)]
    assert all(entry.url == str(netcdf4_file) for entry in chunk_references)
    assert {entry.length for entry in chunk_references} == {X * Y * 4}
    strides = {after.offset - before.offset for before, after in zip(chunk_references, chunk_references[1:])}
    # The records of all five record variables interleave: 8 + 60 + (1 + 3) + (6 + 2) + 4 bytes.
    assert strides == {8 + X * Y * 4 + 4 + 8 + NAME_LENGTH}
    assert f"temperature/{RECORDS}.0.0" not in references
    # Held as columns, not one object per record.
    table = references.chunk_tables["temperature"]
    assert len(table) == RECORDS and list(table.lengths) == [X * Y * 4] * RECORDS


def test_non_record_variables_are_one_chunk_by_default(netcdf4_file: Path) -> None:
    references = scan(netcdf4_file)
    values = zarrkit.open_array(references, path="values_f8")
    assert values.chunks == (X, Y)
    entry = references["values_f8/0.0"]
    assert isinstance(entry, Reference) and entry.length == X * Y * 8
    assert references["scalar/0"].length == 8


def test_v3_keys_and_big_endian_bytes(netcdf4_file: Path) -> None:
    references = scan(netcdf4_file, 3)
    assert "zarr.json" in references and "temperature/c/6/0/0" in references
    values = zarrkit.open_array(references, path="values_i4")
    assert values.metadata.codecs == ({"name": "bytes", "configuration": {"endian": "big"}},)


# -- one record variable: records without padding ----------------------------------------------------


@pytest.mark.parametrize("file_format", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_DATA"])
def test_a_lone_record_variable_has_unpadded_records(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / "lone.nc"
    with netCDF4.Dataset(path, "w", format=file_format) as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("x", 3)
        dataset.createVariable("fixed", "f8", ("x",))[:] = [1.0, 2.0, 3.0]
        dataset.createVariable("shorts", "i2", ("time", "x"))[:] = np.arange(33, dtype="i2").reshape(11, 3)
    references = scan(path)
    assert references["shorts/1.0"].offset - references["shorts/0.0"].offset == 6
    assert_matches_netcdf4(path, references, 2)


# -- files written by scipy ------------------------------------------------------------------------------


def write_scipy_file(path: Path, version: int, record_variables: int) -> None:
    rng = np.random.default_rng(version)
    with scipy.io.netcdf_file(path, "w", version=version) as file:
        file.institution = b"somewhere"
        file.number = np.int32(42)
        file.ratios = np.array([0.5, 0.25], dtype="f8")
        file.createDimension("time", None)
        file.createDimension("x", X)
        file.createDimension("name_length", NAME_LENGTH)
        shorts = file.createVariable("shorts", "h", ("time", "x"))
        shorts[:] = rng.integers(-100, 100, size=(RECORDS, X))
        shorts.units = b"m"
        if record_variables > 1:
            file.createVariable("bytes", "b", ("time",))[:] = np.arange(RECORDS, dtype="i1")
            file.createVariable("doubles", "d", ("time", "x"))[:] = rng.normal(size=(RECORDS, X))
        file.createVariable("ints", "i", ("x",))[:] = [1, -2, 3]
        floats = file.createVariable("floats", "f", ("x",))
        floats[:] = [0.5, 1.5, 2.5]
        floats._FillValue = np.float32(-1.0)
        floats.missing_value = np.float32(-2.0)
        wide_fill = file.createVariable("wide_fill", "f", ("x",))
        wide_fill[:] = [1e20, 0.0, 1e20]
        wide_fill._FillValue = np.float64(1e20)  # a double fill for a float variable, as some old writers made
        names = file.createVariable("names", "c", ("x", "name_length"))
        names[:] = np.array([list(b"ab\0\0"), list(b"cdef"), list(b"g\0\0\0")], dtype="u1").view("S1")


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("record_variables", [1, 3])
@pytest.mark.parametrize("zarr_format", [2, 3])
def test_scipy_files_read_as_netcdf4_reads_them(
    tmp_path: Path, version: int, record_variables: int, zarr_format: int
) -> None:
    path = tmp_path / "scipy.nc"
    write_scipy_file(path, version, record_variables)
    assert path.read_bytes()[:4] == b"CDF" + bytes([version])
    assert_matches_netcdf4(path, scan(path, zarr_format), zarr_format)


def test_text_attributes_keep_every_byte_but_trailing_nuls(tmp_path: Path) -> None:
    path = tmp_path / "text.nc"
    with scipy.io.netcdf_file(path, "w", version=1) as file:
        file.terminated = b"abc\x00"
        file.embedded = b"x\x00y"
        file.latin1 = b"\xe9t\xe9"
        file.utf8 = "été".encode()
    attributes = dict(zarrkit.open_group(scan(path)).attrs)
    assert attributes == {"terminated": "abc", "embedded": "x\x00y", "latin1": "été", "utf8": "été"}


# -- kerchunk gives the same arrays --------------------------------------------------------------------


def kerchunk_group(path: Path) -> zarr.Group:
    references = NetCDF3ToZarr(str(path), inline_threshold=0).translate()
    filesystem = ReferenceFileSystem(fo=references, remote_protocol="file", asynchronous=True)
    return zarr.open_group(zarr.storage.FsspecStore(filesystem, read_only=True), mode="r", zarr_format=2)


@pytest.mark.parametrize("source", ["netCDF4 classic", "netCDF4 64-bit offset", "scipy one record", "scipy"])
def test_kerchunk_references_give_the_same_arrays(tmp_path: Path, source: str) -> None:
    path = tmp_path / "cross.nc"
    if source.startswith("netCDF4"):
        write_netcdf4_file(path, "NETCDF3_CLASSIC" if source.endswith("classic") else "NETCDF3_64BIT_OFFSET")
    else:
        write_scipy_file(path, 2, 1 if source.endswith("record") else 3)
    theirs = kerchunk_group(path)
    ours = zarrkit.open_group(scan(path))
    names = sorted(name for name, _ in ours.arrays())
    assert sorted(theirs.array_keys()) == names
    for name in names:
        np.testing.assert_array_equal(ours[name][...], theirs[name][...], err_msg=name)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_xarray_decodes_the_arrays_as_it_decodes_the_file(tmp_path: Path, zarr_format: int) -> None:
    """Masked and scaled through zarr-python and fsspec from the saved references, as from the file.

    The v2 fill value of a variable without ``_FillValue`` is NetCDF's default fill, which xarray then
    masks (as netCDF4 does) where it leaves the file's values alone."""
    path = tmp_path / "decoded.nc"
    write_netcdf4_file(path, "NETCDF3_64BIT_OFFSET")
    save_refs(scan(path, zarr_format), tmp_path / "refs.json")
    filesystem = ReferenceFileSystem(fo=str(tmp_path / "refs.json"), remote_protocol="file", asynchronous=True)
    store = zarr.storage.FsspecStore(filesystem, read_only=True)
    ours = xarray.open_zarr(store, zarr_format=zarr_format, consolidated=False).load()
    with xarray.open_dataset(path) as theirs:
        assert sorted(ours.variables) == sorted(theirs.variables)
        assert float(ours["temperature"][3].isnull().all()) and float(ours["temperature"][0].notnull().all())
        for name in theirs.variables:
            expected = theirs[name].load()
            if zarr_format == 2 and "_FillValue" not in expected.encoding:
                expected = expected.where(expected != netCDF4.default_fillvals[expected.encoding["dtype"].str[1:]])
            xarray.testing.assert_identical(ours[name].drop_attrs(), expected.drop_attrs())


# -- splitting large non-record variables ----------------------------------------------------------------


@pytest.fixture(scope="module")
def two_matrices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 10 x 100 float64 variables (8000 bytes each, 800 per row), the second at the end of the file."""
    path = tmp_path_factory.mktemp("split") / "matrices.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as dataset:
        dataset.createDimension("row", 10)
        dataset.createDimension("column", 100)
        for name in ("first", "last"):
            dataset.createVariable(name, "f8", ("row", "column"))[:] = np.random.default_rng(1).normal(size=(10, 100))
    return path


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_large_variables_are_split_along_the_first_axis(two_matrices: Path, zarr_format: int) -> None:
    references = scan(two_matrices, zarr_format, max_chunk_bytes=3000)
    # 3 rows fit; 10 rows then need 4 chunks, spread as 3 rows each: the last reaches 2 rows past the end.
    assert zarrkit.open_array(references, path="first").chunks == (3, 100)
    first_chunks = [key for key in references if key.startswith("first/") and isinstance(references[key], Reference)]
    assert len(first_chunks) == 4
    assert {references[key].length for key in first_chunks} == {2400}
    # The same chunks for the last variable would pass the end of the file: it stays one chunk.
    assert zarrkit.open_array(references, path="last").chunks == (10, 100)
    assert_matches_netcdf4(two_matrices, references, zarr_format)


def test_split_chunks_that_divide_evenly_and_no_splitting(two_matrices: Path) -> None:
    even = scan(two_matrices, max_chunk_bytes=4000)
    assert zarrkit.open_array(even, path="last").chunks == (5, 100)
    assert even["last/1.0"].offset + even["last/1.0"].length == two_matrices.stat().st_size
    assert_matches_netcdf4(two_matrices, even, 2)
    whole = scan(two_matrices, max_chunk_bytes=None)
    assert zarrkit.open_array(whole, path="first").chunks == (10, 100)
    one_row_each = scan(two_matrices, max_chunk_bytes=1)  # a row is larger than the bound: one row per chunk
    assert zarrkit.open_array(one_row_each, path="first").chunks == (1, 100)
    assert_matches_netcdf4(two_matrices, one_row_each, 2)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "16MiB"])
def test_max_chunk_bytes_must_be_a_positive_integer(two_matrices: Path, bad: Any) -> None:
    with pytest.raises(MetadataError, match="max_chunk_bytes"):
        scan(two_matrices, max_chunk_bytes=bad)


# -- streaming files: the record count is not in the header ------------------------------------------


@pytest.mark.parametrize("file_format", NETCDF4_FORMATS)
def test_a_streaming_record_count_is_taken_from_the_file_size(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / "streamed.nc"
    write_netcdf4_file(path, file_format)
    original = scan(path)
    count_size = 8 if file_format == "NETCDF3_64BIT_DATA" else 4
    data = bytearray(path.read_bytes())
    assert int.from_bytes(data[4 : 4 + count_size], "big") == RECORDS
    data[4 : 4 + count_size] = b"\xff" * count_size
    streamed_path = tmp_path / "streamed_copy.nc"
    streamed_path.write_bytes(bytes(data))
    streamed = scan(streamed_path)
    assert zarrkit.open_array(streamed, path="temperature").shape == (RECORDS, X, Y)
    for name in ("time", "temperature", "flags", "counts", "codes"):
        np.testing.assert_array_equal(
            zarrkit.open_array(streamed, path=name)[...], zarrkit.open_array(original, path=name)[...]
        )


# -- bad input ------------------------------------------------------------------------------------------------


def test_is_netcdf3_checks_the_magic() -> None:
    assert is_netcdf3(b"CDF\x01" + bytes(28))
    assert is_netcdf3(b"CDF\x02\x00")
    assert is_netcdf3(b"CDF\x05")
    assert not is_netcdf3(b"CDF\x03")
    assert not is_netcdf3(b"\x89HDF\r\n\x1a\n")
    assert not is_netcdf3(b"CD")


def test_wrong_magic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not_netcdf3.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF4") as dataset:
        dataset.createDimension("x", 2)
    with pytest.raises(MetadataError, match=r"not_netcdf3\.nc: not a NetCDF3 file"):
        scan(path)


@pytest.mark.parametrize("file_format", ["NETCDF3_CLASSIC", "NETCDF3_64BIT_DATA"])
def test_every_truncation_of_the_header_is_refused(tmp_path: Path, file_format: str) -> None:
    path = tmp_path / "whole.nc"
    with netCDF4.Dataset(path, "w", format=file_format) as dataset:
        dataset.title = "t"
        dataset.createDimension("time", None)
        dataset.createDimension("x", 2)
        variable = dataset.createVariable("v", "i2", ("time", "x"), fill_value=np.int16(-5))
        variable.units = "m"
        variable[:] = [[1, 2]]
        dataset.createVariable("w", "f4", ("x",))[:] = [1, 2]
    references = scan(path)
    header_end = min(references["v/0.0"].offset, references["w/0"].offset)  # the data follows the header
    data = path.read_bytes()
    cut_path = tmp_path / "cut.nc"
    for length in range(header_end):
        cut_path.write_bytes(data[:length])
        with pytest.raises(MetadataError, match=r"cut\.nc") as caught:
            scan(cut_path)
        assert "truncated" in str(caught.value) or "not a NetCDF3 file" in str(caught.value), length


@pytest.fixture(scope="module")
def classic_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A classic file with a record variable 'level' (2 records) and a non-record variable 'depth'."""
    path = tmp_path_factory.mktemp("classic") / "classic.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("x", 4)
        dataset.createVariable("depth", "f8", ("x",))[:] = [1, 2, 3, 4]
        dataset.createVariable("level", "i4", ("time", "x"))[:] = [[1, 2, 3, 4], [5, 6, 7, 8]]
    return path


def patched(path: Path, directory: Path, offset: int, value: bytes) -> Path:
    data = bytearray(path.read_bytes())
    data[offset : offset + len(value)] = value
    copy = directory / "patched.nc"
    copy.write_bytes(bytes(data))
    return copy


def test_data_past_the_end_of_the_file_names_the_variable(classic_file: Path, tmp_path: Path) -> None:
    cut = tmp_path / "short.nc"
    cut.write_bytes(classic_file.read_bytes()[:-1])
    with pytest.raises(MetadataError, match=r"short\.nc: variable 'level': the header says 2 records"):
        scan(cut)
    more_records = patched(classic_file, tmp_path, 4, struct.pack(">I", 3))
    with pytest.raises(
        MetadataError, match=r"patched\.nc: variable 'level': the header says 3 records .* but the file"
    ):
        scan(more_records)


def test_a_data_offset_past_the_end_or_inside_the_header_is_refused(classic_file: Path, tmp_path: Path) -> None:
    begin = scan(classic_file)["depth/0"].offset
    header = classic_file.read_bytes()[:begin]
    field = struct.pack(">I", begin)
    assert header.count(field) == 1  # the 'depth' entry's begin field
    position = header.index(field)
    far = patched(classic_file, tmp_path, position, struct.pack(">I", 10**6))
    with pytest.raises(
        MetadataError, match=r"patched\.nc: variable 'depth': the header says 32 bytes of data at offset"
    ):
        scan(far)
    inside = patched(classic_file, tmp_path, position, struct.pack(">I", 8))
    with pytest.raises(MetadataError, match=r"variable 'depth': its data offset 8 lies inside the header"):
        scan(inside)


def test_impossible_counts_and_ids_are_refused(classic_file: Path, tmp_path: Path) -> None:
    # The dimension list: tag at 8, its length at 12.
    many_dimensions = patched(classic_file, tmp_path, 12, struct.pack(">I", 10**8))
    with pytest.raises(MetadataError, match=r"patched\.nc: .*10+ entries in the dimension list"):
        scan(many_dimensions)
    wrong_tag = patched(classic_file, tmp_path, 8, struct.pack(">I", 99))
    with pytest.raises(MetadataError, match="expected the dimension list"):
        scan(wrong_tag)
    header = classic_file.read_bytes()
    name = header.index(b"level")
    # After the name (padded to 8 bytes): the rank (2), then the dimension ids 0 and 1.
    bad_dimension = patched(classic_file, tmp_path, name + 8 + 4, struct.pack(">I", 5))
    with pytest.raises(MetadataError, match="variable 'level' refers to dimension id 5"):
        scan(bad_dimension)
    record_second = patched(classic_file, tmp_path, name + 8 + 4, struct.pack(">II", 1, 0))
    with pytest.raises(MetadataError, match="unlimited dimension, but not as its first"):
        scan(record_second)
    # The type follows the rank, the two ids and the empty attribute list (8 bytes).
    cdf5_type = patched(classic_file, tmp_path, name + 8 + 12 + 8, struct.pack(">I", 10))
    with pytest.raises(MetadataError, match="type int64, which only CDF-5 files may use"):
        scan(cdf5_type)
    unknown_type = patched(classic_file, tmp_path, name + 8 + 12 + 8, struct.pack(">I", 77))
    with pytest.raises(MetadataError, match="unknown type code 77"):
        scan(unknown_type)


def test_a_fill_value_the_type_cannot_hold_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad_fill.nc"
    with scipy.io.netcdf_file(path, "w", version=1) as file:
        file.createDimension("x", 2)
        variable = file.createVariable("v", "h", ("x",))
        variable[:] = [1, 2]
        variable._FillValue = np.int32(100_000)
    with pytest.raises(MetadataError, match=r"bad_fill\.nc: variable 'v': attribute '_FillValue': 100000"):
        scan(path)
