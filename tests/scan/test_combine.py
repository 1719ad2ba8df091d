"""combine: many reference sets stitched into one along existing or new dimensions.

The inputs are NetCDF4 files written with netCDF4 and scanned with kerchunk's SingleHdf5ToZarr
(v2 reference dicts); every combined variable is compared with the netCDF4 reads of the files.
"""

from __future__ import annotations

import base64
import json
import os
import random
import tracemalloc
from pathlib import Path

import fsspec
import netCDF4
import numpy as np
import pytest
from kerchunk.combine import MultiZarrToZarr

import zarrkit
from tests.helpers import kerchunk_hdf5
from zarrkit.errors import ReferenceError, UnsupportedFeature
from zarrkit.refs import Reference, ReferenceSet
from zarrkit.refs.parquet_format import ParquetReferences
from zarrkit.runtime import sync
from zarrkit.scan.combine import (
    FromAttribute,
    FromRegex,
    FromValues,
    FromVariable,
    attribute,
    combine,
    coordinate_source_from_text,
    regex,
)
from zarrkit.scan.combine_output import closing_schedule
from zarrkit.storage import LocalStore

LAT, LON = 5, 6


def write_netcdf(
    path: Path,
    times: list[float] | np.ndarray,
    *,
    chunks: tuple[int, int, int] = (2, LAT, 3),
    dtype: str = "f4",
    zlib: bool = True,
    scale_factor: float = 0.5,
    mask_value: int = 1,
    fill_value: float | None = None,
    attributes: dict[str, object] | None = None,
    seed: int = 0,
) -> Path:
    """A NetCDF4 file with a time coordinate, lat/lon coordinates, a (time, lat, lon) variable
    ``temp`` and a static (lat, lon) ``mask``."""
    with netCDF4.Dataset(path, "w") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("lat", LAT)
        dataset.createDimension("lon", LON)
        time = dataset.createVariable("time", "f8", ("time",))
        time.units = "days since 2000-01-01"
        dataset.createVariable("lat", "f4", ("lat",))[:] = np.linspace(-10, 10, LAT)
        dataset.createVariable("lon", "f4", ("lon",))[:] = np.linspace(0, 50, LON)
        temp = dataset.createVariable(
            "temp", dtype, ("time", "lat", "lon"), chunksizes=chunks, zlib=zlib, fill_value=fill_value
        )
        temp.scale_factor = scale_factor
        dataset.createVariable("mask", "i1", ("lat", "lon"))[:] = np.full((LAT, LON), mask_value)
        time[:] = np.asarray(times, dtype="f8")
        temp[:] = np.random.default_rng(seed).random((len(times), LAT, LON)) * 10
        for name, value in (attributes or {}).items():
            dataset.setncattr(name, value)
    return path


def scan(path: Path) -> dict:
    """The kerchunk reference dict of a NetCDF4 file, every chunk a byte range of the file."""
    return kerchunk_hdf5(str(path), inline_threshold=0)


def raw(path: Path, name: str) -> np.ndarray:
    """The stored values of variable ``name`` of a NetCDF4 file, without masking or scaling."""
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)
        return np.asarray(dataset.variables[name][:])


def read(references: zarrkit.refs.References, name: str) -> np.ndarray:
    return zarrkit.open_array(references, path=name)[...]


@pytest.fixture(scope="module")
def time_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five files of four time steps each: days 0-3, 4-7, ... 16-19."""
    directory = tmp_path_factory.mktemp("time_files")
    return [write_netcdf(directory / f"part{index}.nc", np.arange(4) + 4 * index, seed=index) for index in range(5)]


@pytest.fixture(scope="module")
def time_refs(time_files: list[Path]) -> list[dict]:
    return [scan(path) for path in time_files]


def check_time_concatenation(combined: zarrkit.refs.References, files: list[Path]) -> None:
    np.testing.assert_array_equal(read(combined, "temp"), np.concatenate([raw(path, "temp") for path in files]))
    np.testing.assert_array_equal(read(combined, "time"), np.concatenate([raw(path, "time") for path in files]))
    for name in ("lat", "lon", "mask"):
        np.testing.assert_array_equal(read(combined, name), raw(files[0], name))
    temp = zarrkit.open_array(combined, path="temp")
    assert temp.attrs["scale_factor"] == 0.5 and temp.dimension_names == ("time", "lat", "lon")
    assert zarrkit.open_array(combined, path="time").attrs["units"] == "days since 2000-01-01"


# -- concatenating along an existing dimension -----------------------------------------------------


def test_concatenation_along_time_equals_the_files(time_files: list[Path], time_refs: list[dict]) -> None:
    combined = combine(time_refs, concat_dims=["time"])
    assert isinstance(combined, ReferenceSet)
    check_time_concatenation(combined, time_files)
    assert zarrkit.open_array(combined, path="temp").shape == (20, LAT, LON)


def test_inputs_out_of_order_come_out_sorted(time_files: list[Path], time_refs: list[dict]) -> None:
    order = [3, 0, 4, 2, 1]
    combined = combine([time_refs[index] for index in order], concat_dims=["time"])
    check_time_concatenation(combined, time_files)


def test_parquet_output_streams_the_same_references(
    tmp_path: Path, time_files: list[Path], time_refs: list[dict]
) -> None:
    in_memory = combine(time_refs, concat_dims=["time"])
    written = combine(time_refs[::-1], concat_dims=["time"], output=str(tmp_path / "combined"), record_size=3)
    assert isinstance(written, ParquetReferences) and written.record_size == 3
    check_time_concatenation(written, time_files)
    chunk_keys = [key for key in in_memory if not key.rpartition("/")[2].startswith(".")]
    assert sync(written.lookup(chunk_keys)) == [in_memory[key] for key in chunk_keys]
    # fsspec's reader of the layout (which kerchunk uses) sees the same bytes.
    filesystem = fsspec.filesystem("reference", fo=str(tmp_path / "combined"), remote_protocol="file")
    filesystem.references.engine = "pyarrow"  # fastparquet, fsspec's default, is not installed
    entry = in_memory["temp/9.0.1"]
    with open(entry.url, "rb") as file:
        file.seek(entry.offset)
        assert filesystem.cat("temp/9.0.1") == file.read(entry.length)
    assert filesystem.cat("time/0") == in_memory["time/0"]


def test_json_output_is_saved_and_returned(tmp_path: Path, time_files: list[Path], time_refs: list[dict]) -> None:
    combined = combine(time_refs, concat_dims=["time"], output=str(tmp_path / "combined.json"))
    check_time_concatenation(zarrkit.load_refs(tmp_path / "combined.json"), time_files)
    assert isinstance(combined, ReferenceSet)


def test_zarr_v3_output_from_v2_inputs(time_files: list[Path], time_refs: list[dict]) -> None:
    combined = combine(time_refs, concat_dims=["time"], zarr_format=3)
    assert "temp/zarr.json" in combined and "temp/.zarray" not in combined
    check_time_concatenation(combined, time_files)


def test_the_last_input_may_end_mid_chunk(tmp_path: Path) -> None:
    files = [write_netcdf(tmp_path / "a.nc", [0, 1, 2, 3]), write_netcdf(tmp_path / "b.nc", [4, 5, 6], seed=1)]
    combined = combine([scan(path) for path in files[::-1]], concat_dims=["time"])
    np.testing.assert_array_equal(read(combined, "temp"), np.concatenate([raw(path, "temp") for path in files]))
    np.testing.assert_array_equal(read(combined, "time"), np.arange(7))


def test_inputs_given_as_json_files(tmp_path: Path, time_files: list[Path], time_refs: list[dict]) -> None:
    urls = []
    for index, refs in enumerate(time_refs):
        url = tmp_path / f"part{index}.json"
        url.write_text(json.dumps(refs))
        urls.append(str(url))
    check_time_concatenation(combine(urls[::-1], concat_dims=["time"]), time_files)


def test_listed_values_along_an_existing_dimension(time_files: list[Path], time_refs: list[dict]) -> None:
    hours = [np.arange(4) * 6 + 24 * index for index in range(5)]
    combined = combine(time_refs[::-1], concat_dims=["time"], coords={"time": hours[::-1]})
    np.testing.assert_array_equal(read(combined, "time"), np.concatenate(hours))
    np.testing.assert_array_equal(read(combined, "temp"), np.concatenate([raw(path, "temp") for path in time_files]))
    with pytest.raises(ReferenceError, match="do not fit the variable's type"):
        combine(
            time_refs,
            concat_dims=["time"],
            coords={"time": [[f"t{index}{step}" for step in range(4)] for index in range(5)]},
        )


def test_same_as_kerchunk_multizarrtozarr(time_files: list[Path], time_refs: list[dict]) -> None:
    ours = combine(time_refs, concat_dims=["time"], identical_dims=["lat", "lon", "mask"])
    theirs = MultiZarrToZarr(
        time_refs, concat_dims=["time"], identical_dims=["lat", "lon", "mask"], remote_protocol="file"
    ).translate()
    theirs_refs = zarrkit.load_refs(theirs)
    for name in ("temp", "time", "lat", "lon", "mask"):
        np.testing.assert_array_equal(read(ours, name), read(theirs_refs, name))


# -- new dimensions and coordinate sources ----------------------------------------------------------


@pytest.fixture(scope="module")
def member_files(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Three ensemble members (9, 1, 5, written in that order) with the same four time steps."""
    directory = tmp_path_factory.mktemp("member_files")
    return {
        member: write_netcdf(
            directory / f"run_member_{member}.nc", np.arange(4), attributes={"member_id": member}, seed=member
        )
        for member in (9, 1, 5)
    }


def check_members(combined: zarrkit.refs.References, files: dict[int, Path], members: list) -> None:
    temp = zarrkit.open_array(combined, path="temp")
    assert temp.shape == (len(members), 4, LAT, LON)
    assert temp.dimension_names == ("member", "time", "lat", "lon")
    expected = np.stack([raw(files[member], "temp") for member in sorted(files)])
    np.testing.assert_array_equal(temp[...], expected)
    np.testing.assert_array_equal(read(combined, "member"), members)
    np.testing.assert_array_equal(read(combined, "time"), np.arange(4))
    assert zarrkit.open_array(combined, path="member").dimension_names == ("member",)


def test_new_dimension_from_a_regex_on_file_names(member_files: dict[int, Path]) -> None:
    refs = [scan(path) for path in member_files.values()]
    combined = combine(
        refs, concat_dims=["member"], identical_dims=["mask"], coords={"member": regex(r"member_(\d+)\.nc")}
    )
    check_members(combined, member_files, [1, 5, 9])
    assert zarrkit.open_array(combined, path="mask").shape == (LAT, LON)


def test_without_identical_dims_every_data_variable_gets_the_new_dimension(member_files: dict[int, Path]) -> None:
    refs = [scan(path) for path in member_files.values()]
    combined = combine(refs, concat_dims=["member"], coords={"member": regex(r"member_(\d+)")})
    mask = zarrkit.open_array(combined, path="mask")
    assert mask.shape == (3, LAT, LON) and mask.dimension_names == ("member", "lat", "lon")
    assert zarrkit.open_array(combined, path="lat").shape == (LAT,)  # dimension coordinates never do


def test_new_dimension_from_an_attribute(member_files: dict[int, Path]) -> None:
    refs = [scan(path) for path in member_files.values()]
    combined = combine(refs, concat_dims=["member"], identical_dims=["mask"], coords={"member": attribute("member_id")})
    check_members(combined, member_files, [1, 5, 9])


def test_new_dimension_from_listed_values(member_files: dict[int, Path]) -> None:
    refs = [scan(path) for path in member_files.values()]
    # Values in the order of the inputs (members 9, 1, 5), here as labels of another type.
    combined = combine(refs, concat_dims=["member"], identical_dims=["mask"], coords={"member": ["c", "a", "b"]})
    check_members(combined, member_files, ["a", "b", "c"])


def test_names_given_by_a_mapping_feed_the_regex(member_files: dict[int, Path]) -> None:
    named = {f"ensemble-{member:03d}": scan(path) for member, path in member_files.items()}
    combined = combine(named, concat_dims=["member"], identical_dims=["mask"], coords={"member": regex(r"-(\d+)$")})
    check_members(combined, member_files, [1, 5, 9])


def test_regex_dates_become_datetimes(tmp_path: Path) -> None:
    days = ["20010302", "20010301"]
    files = [write_netcdf(tmp_path / f"day_{day}.nc", [0], seed=index) for index, day in enumerate(days)]
    combined = combine(
        [scan(path) for path in files],
        concat_dims=["day"],
        identical_dims=["mask"],
        coords={"day": regex(r"day_(\d{8})", datetime_format="%Y%m%d", dtype="M8[D]")},
    )
    np.testing.assert_array_equal(read(combined, "day"), np.array(["2001-03-01", "2001-03-02"], dtype="M8[D]"))
    np.testing.assert_array_equal(read(combined, "temp")[:, 0], [raw(files[1], "temp")[0], raw(files[0], "temp")[0]])


def test_two_concatenated_dimensions(tmp_path: Path) -> None:
    files = {
        (member, part): write_netcdf(
            tmp_path / f"m{member}_p{part}.nc", np.arange(4) + 4 * part, seed=10 * member + part
        )
        for member in (2, 1)
        for part in (1, 0)
    }
    combined = combine(
        [scan(path) for path in files.values()],
        concat_dims=["member", "time"],
        identical_dims=["mask"],
        coords={"member": regex(r"/m(\d)_")},
    )
    expected = np.stack([np.concatenate([raw(files[(member, part)], "temp") for part in (0, 1)]) for member in (1, 2)])
    np.testing.assert_array_equal(read(combined, "temp"), expected)
    np.testing.assert_array_equal(read(combined, "time"), np.arange(8))
    np.testing.assert_array_equal(read(combined, "member"), [1, 2])
    # Without identical_dims, mask gets the member dimension and must agree within each member.
    combined = combine(
        [scan(path) for path in files.values()], concat_dims=["member", "time"], coords={"member": regex(r"/m(\d)_")}
    )
    np.testing.assert_array_equal(read(combined, "mask"), np.stack([raw(files[(1, 0)], "mask")] * 2))
    # A missing file leaves its place missing: it reads as the fill value.
    present = [scan(path) for key, path in files.items() if key != (2, 1)]
    sparse = combine(
        present, concat_dims=["member", "time"], identical_dims=["mask"], coords={"member": regex(r"/m(\d)_")}
    )
    temp = zarrkit.open_array(sparse, path="temp")
    np.testing.assert_array_equal(temp[1, 4:], np.full((4, LAT, LON), temp.fill_value))
    np.testing.assert_array_equal(temp[1, :4], expected[1, :4])
    np.testing.assert_array_equal(temp[0], expected[0])


def test_zarr_v3_inputs(tmp_path: Path) -> None:
    """Inputs in Zarr v3 (written by zarrkit, chunk files referenced whole) combine as v3."""
    inputs, expected = [], {}
    for index in (1, 0):
        directory = tmp_path / f"part{index}.zarr"
        group = zarrkit.create_group(LocalStore(directory), zarr_format=3, attributes={"title": "v3"})
        time = group.create_array("time", shape=(3,), dtype="i8", chunks=(3,), dimension_names=["time"])
        time[:] = np.arange(3) + 3 * index
        values = np.arange(12, dtype="f4").reshape(3, 4) + 100 * index
        group.create_array("v", shape=(3, 4), dtype="f4", chunks=(3, 2), dimension_names=["time", "x"])[:] = values
        expected[index] = values
        references = ReferenceSet()
        for file in sorted(directory.rglob("*")):
            if file.is_file():
                key = file.relative_to(directory).as_posix()
                references[key] = file.read_bytes() if file.name == "zarr.json" else Reference(str(file))
        inputs.append(references)
    combined = combine(inputs, concat_dims=["time"])
    assert "v/zarr.json" in combined
    np.testing.assert_array_equal(read(combined, "v"), np.concatenate([expected[0], expected[1]]))
    np.testing.assert_array_equal(read(combined, "time"), np.arange(6))
    assert zarrkit.open_group(combined).attrs["title"] == "v3"
    with pytest.raises(UnsupportedFeature, match="v3 inputs into Zarr v2"):
        combine(inputs, concat_dims=["time"], zarr_format=2)


# -- errors ------------------------------------------------------------------------------------------


def combine_two(tmp_path: Path, second: dict, *, times: tuple = ([0, 1, 2, 3], [4, 5, 6, 7])) -> None:
    first_file = write_netcdf(tmp_path / "first.nc", times[0])
    second_file = write_netcdf(tmp_path / "second.nc", times[1], **second)
    combine([scan(first_file), scan(second_file)], concat_dims=["time"])


@pytest.mark.parametrize(
    ("second", "what"),
    [
        ({"chunks": (1, LAT, 3)}, "'chunks'"),
        ({"dtype": "f8"}, "'dtype'"),
        ({"zlib": False}, "'filters'"),
        ({"scale_factor": 0.25}, "attribute 'scale_factor'"),
        ({"fill_value": -1.0}, "'fill_value'"),
    ],
)
def test_inputs_that_differ_are_refused_naming_files_and_variable(tmp_path: Path, second: dict, what: str) -> None:
    with pytest.raises(ReferenceError) as raised:
        combine_two(tmp_path, second)
    message = str(raised.value)
    assert "variable 'temp'" in message and what in message
    assert "first.nc" in message and "second.nc" in message


def test_a_static_variable_that_differs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match=r"variable 'mask' differs between .*first\.nc.* and .*second\.nc"):
        combine_two(tmp_path, {"mask_value": 2})


def test_duplicate_coordinates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match=r"duplicate coordinates: .*first\.nc.* and .*second\.nc.* both have"):
        combine_two(tmp_path, {}, times=([0, 1, 2, 3], [0, 1, 2, 3]))
    with pytest.raises(ReferenceError, match=r"first\.nc.*second\.nc.*overlap"):
        combine_two(tmp_path, {}, times=([0, 1, 2, 3], [2, 3, 4, 5]))


def test_duplicate_values_of_a_new_dimension_are_refused(member_files: dict[int, Path]) -> None:
    refs = [scan(path) for path in member_files.values()]
    with pytest.raises(ReferenceError, match=r"duplicate coordinates: .*member_9\.nc.* and .*member_5\.nc"):
        combine(refs, concat_dims=["member"], identical_dims=["mask"], coords={"member": [1, 2, 1]})


def test_uneven_chunks_before_the_last_input_are_refused(tmp_path: Path) -> None:
    expected = r"variable 'temp': .*first\.nc.* has 3 values along 'time'.*chunk length 2"
    with pytest.raises(ReferenceError, match=expected):
        combine_two(tmp_path, {}, times=([0, 1, 2], [3, 4, 5, 6]))


def test_a_missing_variable_is_named(tmp_path: Path, time_refs: list[dict]) -> None:
    partial = {"version": 1, "refs": {k: v for k, v in time_refs[1]["refs"].items() if not k.startswith("mask/")}}
    with pytest.raises(ReferenceError, match=r"lacks the variables \['mask'\]"):
        combine([time_refs[0], partial], concat_dims=["time"])


def test_references_without_url_are_refused(time_refs: list[dict]) -> None:
    urlless = dict(time_refs[1]["refs"])
    key = next(key for key in urlless if key.startswith("temp/") and not key.endswith((".zarray", ".zattrs")))
    urlless[key] = [None, 10, 20]
    sets = [zarrkit.load_refs(time_refs[0]), zarrkit.load_refs({"version": 1, "refs": urlless})]
    with pytest.raises(ReferenceError, match=rf"{key!r} refers to the default target"):
        combine(sets, concat_dims=["time"])


def test_bad_arguments_are_refused(time_refs: list[dict]) -> None:
    with pytest.raises(ReferenceError, match="both concatenated and identical"):
        combine(time_refs, concat_dims=["time"], identical_dims=["time"])
    with pytest.raises(ReferenceError, match="not in concat_dims"):
        combine(time_refs, concat_dims=["time"], coords={"member": [1]})
    with pytest.raises(ReferenceError, match="does not have"):
        combine(time_refs, concat_dims=["time"], identical_dims=["nothing"])
    with pytest.raises(ReferenceError, match="2 values given for 5 inputs"):
        combine(time_refs, concat_dims=["member"], coords={"member": [1, 2]})
    with pytest.raises(ReferenceError, match="at least one input"):
        combine([], concat_dims=["time"])


def test_coordinate_sources_from_text() -> None:
    assert coordinate_source_from_text("data") == FromVariable()
    assert coordinate_source_from_text("data:t") == FromVariable("t")
    assert coordinate_source_from_text("attr:member_id") == FromAttribute("member_id")
    assert coordinate_source_from_text("attr:temp:level") == FromAttribute("level", "temp")
    assert coordinate_source_from_text("values:1,2.5,x") == FromValues((1, 2.5, "x"))
    source = coordinate_source_from_text(r"regex:_(\d+)\.nc")
    assert isinstance(source, FromRegex) and source.pattern.pattern == r"_(\d+)\.nc"
    with pytest.raises(ReferenceError, match="invalid coordinate source"):
        coordinate_source_from_text("cf:time")


# -- streaming into parquet ---------------------------------------------------------------------------

CHUNKS_PER_INPUT = 100
DUMMY_URL = "/data/dummy.bin"


def synthetic_spec(index: int, *, concat_axis: int = 0) -> dict:
    """A reference set of one time step: ``temp`` of 100 chunks of 4 bytes in a dummy file, and the
    time coordinate (and a static ``x``) inline. With ``concat_axis`` 1, ``temp`` is (x, time)."""

    def zarray(shape: list[int], chunks: list[int], dtype: str) -> str:
        return json.dumps(
            {
                "zarr_format": 2,
                "shape": shape,
                "chunks": chunks,
                "dtype": dtype,
                "compressor": None,
                "filters": None,
                "fill_value": None,
                "order": "C",
            }
        )

    dims = ["time", "x"] if concat_axis == 0 else ["x", "time"]
    shape = [1, CHUNKS_PER_INPUT] if concat_axis == 0 else [CHUNKS_PER_INPUT, 1]
    refs: dict[str, object] = {
        ".zgroup": json.dumps({"zarr_format": 2}),
        "time/.zarray": zarray([1], [1], "<i8"),
        "time/.zattrs": json.dumps({"_ARRAY_DIMENSIONS": ["time"]}),
        "time/0": "base64:" + base64.b64encode(np.int64(index).tobytes()).decode(),
        "x/.zarray": zarray([CHUNKS_PER_INPUT], [CHUNKS_PER_INPUT], "<i4"),
        "x/.zattrs": json.dumps({"_ARRAY_DIMENSIONS": ["x"]}),
        "x/0": "base64:" + base64.b64encode(np.arange(CHUNKS_PER_INPUT, dtype="<i4").tobytes()).decode(),
        "temp/.zarray": zarray(shape, [1, 1], "<f4"),
        "temp/.zattrs": json.dumps({"_ARRAY_DIMENSIONS": dims}),
    }
    for chunk in range(CHUNKS_PER_INPUT):
        key = f"temp/0.{chunk}" if concat_axis == 0 else f"temp/{chunk}.0"
        refs[key] = [DUMMY_URL, (index * CHUNKS_PER_INPUT + chunk) * 4, 4]
    return {"version": 1, "refs": refs}


def test_two_thousand_inputs_stream_into_parquet_in_bounded_memory(tmp_path: Path) -> None:
    count = 2000
    urls = []
    for index in range(count):
        url = tmp_path / f"refs_{index:04d}.json"
        url.write_text(json.dumps(synthetic_spec(index)))
        urls.append(str(url))
    random.Random(0).shuffle(urls)
    # Imports and caches first, so that the measure holds only what combining needs.
    combine(urls[:3], concat_dims=["time"], output=str(tmp_path / "warm"), record_size=10_000)

    tracemalloc.start()
    try:
        combined = combine(urls, concat_dims=["time"], output=str(tmp_path / "combined"), record_size=10_000)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        whole = ReferenceSet(
            {
                f"temp/{index}.{chunk}": Reference(DUMMY_URL, (index * CHUNKS_PER_INPUT + chunk) * 4, 4)
                for index in range(count)
                for chunk in range(CHUNKS_PER_INPUT)
            }
        )
        whole_size = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(whole) == count * CHUNKS_PER_INPUT
    assert peak < whole_size / 3, (peak, whole_size)

    assert isinstance(combined, ParquetReferences)
    assert set(os.listdir(tmp_path / "combined" / "temp")) == {f"refs.{record}.parq" for record in range(20)}
    np.testing.assert_array_equal(read(combined, "time"), np.arange(count))
    sample = random.Random(1).sample(sorted(whole), 2000)
    assert sync(combined.lookup(sample)) == [whole[key] for key in sample]
    assert len(sync(combined.list_keys("temp/"))) == count * CHUNKS_PER_INPUT + 2  # and .zarray, .zattrs


def test_concatenation_along_a_later_axis_streams_correctly(tmp_path: Path) -> None:
    """Records of an array concatenated along its second axis stay open until the last input."""
    inputs = [zarrkit.load_refs(synthetic_spec(index, concat_axis=1)) for index in range(30)][::-1]
    in_memory = combine(inputs, concat_dims=["time"])
    written = combine(inputs, concat_dims=["time"], output=str(tmp_path / "combined"), record_size=64)
    chunk_keys = [key for key in in_memory if key.startswith("temp/") and key[5].isdigit()]
    assert len(chunk_keys) == 30 * CHUNKS_PER_INPUT
    assert sync(written.lookup(chunk_keys)) == [in_memory[key] for key in chunk_keys]
    assert in_memory["temp/7.12"] == Reference(DUMMY_URL, (12 * CHUNKS_PER_INPUT + 7) * 4, 4)


def test_closing_schedule_closes_each_record_after_its_last_writer() -> None:
    # A 4 x 10 grid in records of 8 chunks; three writers fill rows 0, 1-2 and 3.
    lower = np.array([[0, 0], [1, 0], [3, 0]])
    upper = np.array([[0, 9], [2, 9], [3, 9]])
    schedule = closing_schedule((4, 10), 8, [0, 1, 2], lower, upper)
    assert schedule == {0: [0], 1: [1, 2], 2: [3, 4]}
