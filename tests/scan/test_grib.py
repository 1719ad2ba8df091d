"""The GRIB2 scanner: xarray's example.grib and GRIB2 files written here, read through the reference
sets it makes, equal what gribberish decodes from each message, laid out as cfgrib lays them out, in
Zarr v2 and v3; malformed files fail with MetadataError naming the file and the message, and what
cannot be referenced with UnsupportedFeature.

No library here writes GRIB2 (ecCodes is not installable from PyPI without its C++ dependencies), so
the test files are written by :func:`grib2_message` below, with simple packing, and checked by
decoding them with gribberish.
"""

from __future__ import annotations

import datetime
import struct
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gribberish
import numcodecs
import numpy as np
import pytest
import xarray
import zarr
import zarr.storage
from fsspec.implementations.reference import ReferenceFileSystem

import zarrkit
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.grib import GribCodec, GribMessageCodec, register_grib_codecs
from zarrkit.errors import CodecError, MetadataError, UnsupportedFeature
from zarrkit.refs.load import save_refs
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan import scan as scan_any
from zarrkit.scan.grib import is_grib, scan_grib
from zarrkit.scan.source import ScanSource

EXAMPLE = Path(xarray.__file__).parent / "tests" / "data" / "example.grib"
EXAMPLE_MESSAGE_LENGTH = 218
# gribberish's abbreviations of the two parameters of example.grib, and cfgrib's names for them.
EXAMPLE_NAMES = {"GP": "z", "TMP": "t"}

register_grib_codecs()


def scan(path: Path, zarr_format: int = 2, **options: Any) -> ReferenceSet:
    with ScanSource(path) as source:
        return scan_grib(source, zarr_format=zarr_format, **options)


def messages_of(path: Path) -> list[tuple[int, int, Any, np.ndarray]]:
    """Each message of the file as gribberish reads it: offset, length, metadata, values on the grid."""
    data = path.read_bytes()
    messages = []
    offset = 0
    while offset < len(data):
        metadata = gribberish.parse_grib_message_metadata(data, offset)
        values = gribberish.parse_grib_array(data, offset).reshape(metadata.grid_shape)
        messages.append((offset, metadata.message_size, metadata, values))
        offset += metadata.message_size
    return messages


def seconds(moment: datetime.datetime) -> int:
    return int(moment.replace(tzinfo=datetime.UTC).timestamp())


# -- a GRIB2 writer for the test files -------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One field to write as a GRIB2 message: values on a regular lat/lon grid (NaN: missing, written
    with a bitmap) and what they are. ``statistic`` writes product template 4.8 (the period ends
    ``step`` hours after the reference time), ``member`` template 4.1."""

    values: np.ndarray
    discipline: int = 0
    category: int = 0
    number: int = 0
    level_type: int = 100
    level: int = 85000
    step: int = 0
    reference: tuple[int, ...] = (2020, 1, 2, 12, 0, 0)
    member: int | None = None
    statistic: int | None = None
    latitudes: tuple[float, float] = (90.0, -90.0)
    longitudes: tuple[float, float] = (0.0, 270.0)
    scanning_mode: int = 0
    grid_template: int = 0


def sign_magnitude(value: int, size: int = 4) -> bytes:
    return ((1 << (8 * size - 1)) | -value if value < 0 else value).to_bytes(size, "big")


def section(number: int, body: bytes) -> bytes:
    return struct.pack(">IB", 5 + len(body), number) + body


def grib2_message(field: Field, extra_sections: bytes = b"") -> bytes:
    """``field`` as a GRIB2 message with simple packing (16 bits, whole numbers); ``extra_sections``
    go before the end marker (to write a message of several fields)."""
    ny, nx = field.values.shape
    identification = section(1, struct.pack(">HHBBBHBBBBBBB", 98, 0, 2, 0, 1, *field.reference, 0, 1))
    (first_latitude, last_latitude), (first_longitude, last_longitude) = field.latitudes, field.longitudes
    grid = section(
        3,
        struct.pack(">BIBBH", 0, nx * ny, 0, 0, field.grid_template)
        + bytes([6])
        + b"\xff" * 15
        + struct.pack(">II", nx, ny)
        + struct.pack(">II", 0, 0xFFFFFFFF)
        + sign_magnitude(round(first_latitude * 1e6))
        + sign_magnitude(round(first_longitude * 1e6))
        + bytes([0x30])
        + sign_magnitude(round(last_latitude * 1e6))
        + sign_magnitude(round(last_longitude * 1e6))
        + struct.pack(
            ">II",
            round(abs(last_longitude - first_longitude) / max(nx - 1, 1) * 1e6),
            round(abs(last_latitude - first_latitude) / max(ny - 1, 1) * 1e6),
        )
        + bytes([field.scanning_mode]),
    )
    template = 8 if field.statistic is not None else 1 if field.member is not None else 0
    forecast_time = 0 if field.statistic is not None else field.step
    product = (
        struct.pack(">HHBBBBBHBB", 0, template, field.category, field.number, 2, 0xFF, 0x80, 0, 0, 1)
        + struct.pack(">I", forecast_time)
        + struct.pack(">BBI", field.level_type, 0, field.level)
        + b"\xff" * 6
    )
    if field.member is not None:
        product += bytes([3, field.member, 10])
    if field.statistic is not None:
        end = datetime.datetime(*field.reference) + datetime.timedelta(hours=field.step)
        product += struct.pack(">HBBBBB", end.year, end.month, end.day, end.hour, end.minute, end.second)
        product += struct.pack(">BIBBBIBI", 1, 0, field.statistic, 2, 1, field.step, 255, 0)
    present = ~np.isnan(field.values.reshape(-1))
    packed_values = field.values.reshape(-1)[present]
    reference_value = float(packed_values.min())
    packed = np.rint(packed_values - reference_value).astype(">u2").tobytes()
    representation = section(
        5, struct.pack(">IH", int(present.sum()), 0) + struct.pack(">f", reference_value) + b"\x00" * 4 + bytes([16, 0])
    )
    bitmap = section(6, bytes([255]) if present.all() else bytes([0]) + np.packbits(present).tobytes())
    body = identification + grid + section(4, product) + representation + bitmap + section(7, packed)
    body += extra_sections + b"7777"
    return b"GRIB\x00\x00" + bytes([field.discipline, 2]) + struct.pack(">Q", 16 + len(body)) + body


def grid_values(ny: int, nx: int, start: int) -> np.ndarray:
    return (start + np.arange(ny * nx, dtype=np.float64)).reshape(ny, nx)


# -- example.grib ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_every_message_of_example_grib_reads_as_gribberish_decodes_it(zarr_format: int) -> None:
    references = scan(EXAMPLE, zarr_format)
    group = zarrkit.open_group(references)
    times = group["time"][...].tolist()
    levels = group["isobaricInhPa"][...].tolist()
    members = group["number"][...].tolist()
    arrays = {name: group[name][...] for name in ("z", "t")}
    filled = set()
    messages = messages_of(EXAMPLE)
    for _, _, metadata, values in messages:
        name = EXAMPLE_NAMES[metadata.var_abbrev]
        position = (
            members.index(metadata.perturbation_number),
            times.index(seconds(metadata.reference_date)),
            levels.index(metadata.level_value / 100),
        )
        np.testing.assert_array_equal(arrays[name][position], values)
        filled.add((name, position))
    assert len(filled) == len(messages) == 2 * 2 * 3 * 2
    latitudes, longitudes = messages[0][2].latlng()
    np.testing.assert_array_equal(group["latitude"][...], latitudes)
    np.testing.assert_array_equal(group["longitude"][...], longitudes)


def test_each_message_is_one_chunk_referenced_where_it_lies() -> None:
    references = scan(EXAMPLE)
    chunks = {key: entry for key, entry in references.items() if isinstance(entry, Reference)}
    expected = {(offset, length) for offset, length, _, _ in messages_of(EXAMPLE)}
    assert {(entry.offset, entry.length) for entry in chunks.values()} == expected
    assert {entry.url for entry in chunks.values()} == {str(EXAMPLE)}
    assert len(chunks) == len(expected)
    assert all(key.split("/")[0] in ("z", "t") for key in chunks)
    metadata = zarrkit.open_array(references, path="t").metadata
    assert metadata.filters == ({"id": "zarrkit_grib", "dtype": "float64"},)
    assert metadata.compressor is None
    assert np.isnan(metadata.fill_value)


def test_example_grib_has_the_layout_cfgrib_gives_it(tmp_path: Path) -> None:
    """cfgrib's documented view of this file (xarray's test of its cfgrib backend): dimensions number 2,
    time 3, isobaricInhPa 2, latitude 3, longitude 4; variables z and t; z's minimum 12660. Read by
    xarray through zarr-python, which finds the codec through numcodecs."""
    save_refs(scan(EXAMPLE), str(tmp_path / "refs.json"))
    filesystem = ReferenceFileSystem(fo=str(tmp_path / "refs.json"), remote_protocol="file", asynchronous=True)
    store = zarr.storage.FsspecStore(filesystem, read_only=True)
    dataset = xarray.open_zarr(store, zarr_format=2, consolidated=False, decode_timedelta=True).load()
    assert dict(dataset.sizes) == {"number": 2, "time": 3, "isobaricInhPa": 2, "latitude": 3, "longitude": 4}
    assert list(dataset.data_vars) == ["z", "t"]
    assert float(dataset["z"].min()) == 12660.0
    assert dataset["z"].dims == ("number", "time", "isobaricInhPa", "latitude", "longitude")
    assert set(dataset.coords) == {"number", "time", "step", "isobaricInhPa", "latitude", "longitude", "valid_time"}
    expected_times = np.array(["2017-01-01T00:00", "2017-01-01T12:00", "2017-01-02T00:00"], dtype="datetime64[ns]")
    np.testing.assert_array_equal(dataset["time"].values, expected_times)
    assert dataset["step"].values == np.timedelta64(0, "ns")
    assert (dataset["valid_time"].values == dataset["time"].values).all()
    assert dataset["isobaricInhPa"].values.tolist() == [850.0, 500.0]
    assert dataset["latitude"].values.tolist() == [90.0, 0.0, -90.0]
    assert dataset["longitude"].values.tolist() == [0.0, 90.0, 180.0, 270.0]
    assert dataset["number"].values.tolist() == [0, 1]
    assert dataset["isobaricInhPa"].attrs["units"] == "hPa"
    assert dataset["latitude"].attrs["stored_direction"] == "decreasing"
    t = dataset["t"].attrs
    assert (t["GRIB_shortName"], t["units"], t["standard_name"], t["GRIB_typeOfLevel"]) == (
        "t",
        "K",
        "air_temperature",
        "isobaricInhPa",
    )
    assert (t["GRIB_gridType"], t["GRIB_Nx"], t["GRIB_Ny"], t["GRIB_stepType"]) == ("regular_ll", 4, 3, "instant")
    assert dataset.attrs["GRIB_edition"] == 2
    assert dataset.attrs["Conventions"] == "CF-1.7"


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_float32_arrays_hold_the_decoded_values_rounded(zarr_format: int) -> None:
    group = zarrkit.open_group(scan(EXAMPLE, zarr_format, dtype="float32"))
    assert group["z"].dtype == np.float32
    _, _, _, values = messages_of(EXAMPLE)[0]
    np.testing.assert_array_equal(group["z"][0, 0, 0], values.astype(np.float32))


def test_scan_recognises_grib_files() -> None:
    assert is_grib(EXAMPLE.read_bytes()[:4096])
    assert is_grib(b"GRIB\x00\x00\x00\x01")
    assert not is_grib(b"CDF\x01")
    assert not is_grib(b"")
    assert dict(scan_any(EXAMPLE)) == dict(scan(EXAMPLE))


# -- files written here: several kinds of level, steps, statistics, bitmaps, holes ----------------------

SMALL = {"latitudes": (-30.0, 30.0), "longitudes": (350.0, 20.0), "scanning_mode": 0x40}
"""A 3 x 4 grid from south to north, crossing the prime meridian."""


@pytest.fixture(scope="module")
def mixed_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Field]]:
    """Temperature on two pressure levels at steps 0 and 6 (850 hPa at step 6 missing), 2 m temperature
    and 10 m wind at both steps, surface pressure with missing points, a 6-hour precipitation
    accumulation and an unknown parameter on another grid."""
    isobaric = [
        Field(grid_values(3, 4, 200 + 10 * step + level // 1000), level=level, step=step)
        for step in (0, 6)
        for level in (50000, 85000)
        if (level, step) != (85000, 6)
    ]
    pressure = grid_values(3, 4, 90000)
    pressure[1, 2] = pressure[0, 0] = np.nan
    fields = [
        *isobaric,
        *(Field(grid_values(3, 4, 270 + step), level_type=103, level=2, step=step) for step in (0, 6)),
        *(Field(grid_values(3, 4, step), category=2, number=2, level_type=103, level=10, step=step) for step in (0, 6)),
        Field(pressure, category=3, number=0, level_type=1, level=0),
        Field(grid_values(3, 4, 0), category=1, number=8, level_type=1, level=0, step=6, statistic=1),
        Field(grid_values(2, 3, 7), category=1, number=200, level_type=1, level=0, **SMALL),
    ]
    path = tmp_path_factory.mktemp("grib") / "mixed.grib2"
    path.write_bytes(b"".join(grib2_message(field) for field in fields))
    return path, fields


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_variables_are_grouped_by_kind_of_level_when_they_clash(
    mixed_file: tuple[Path, list[Field]], zarr_format: int
) -> None:
    path, _ = mixed_file
    group = zarrkit.open_group(scan(path, zarr_format))
    layout = {name: sorted(array_name for array_name, _ in subgroup.arrays()) for name, subgroup in group.groups()}
    coordinates = ["latitude", "longitude", "step", "time", "valid_time"]
    assert layout == {
        "isobaricInhPa": sorted(["t", "isobaricInhPa", *coordinates]),
        "heightAboveGround": sorted(["t2m", "heightAboveGround", *coordinates]),
        "heightAboveGround_2": sorted(["u10", "heightAboveGround", *coordinates]),
        "surface": sorted(["sp", "surface", *coordinates]),
        "surface_2": sorted(["tp", "surface", *coordinates]),
        "surface_3": sorted(["param_0_1_200", "surface", *coordinates]),
    }
    assert list(group.arrays()) == []
    t = group["isobaricInhPa/t"]
    assert t.shape == (2, 2, 3, 4)
    assert t.attrs["coordinates"] == "time step isobaricInhPa latitude longitude valid_time"
    dimensions = t.metadata.dimension_names if zarr_format == 3 else tuple(t.attrs["_ARRAY_DIMENSIONS"])
    assert dimensions == ("step", "isobaricInhPa", "latitude", "longitude")
    assert group["isobaricInhPa/step"][...].tolist() == [0.0, 6.0]
    assert group["isobaricInhPa/isobaricInhPa"][...].tolist() == [850.0, 500.0]
    reference_time = seconds(datetime.datetime(2020, 1, 2, 12))
    assert group["isobaricInhPa/time"][...] == reference_time
    assert group["isobaricInhPa/valid_time"][...].tolist() == [reference_time, reference_time + 6 * 3600]
    assert group["heightAboveGround/heightAboveGround"][...] == 2.0
    assert group["heightAboveGround_2/heightAboveGround"][...] == 10.0
    assert group["surface/sp"].attrs["GRIB_shortName"] == "sp"
    tp = group["surface_2/tp"]
    assert (tp.attrs["GRIB_stepType"], tp.attrs["units"], group["surface_2/step"][...]) == ("accum", "kg m**-2", 6.0)
    unknown = group["surface_3/param_0_1_200"]
    assert (unknown.attrs["GRIB_parameterCategory"], unknown.attrs["GRIB_parameterNumber"]) == (1, 200)
    assert group["surface_3/latitude"][...].tolist() == [-30.0, 30.0]
    assert "stored_direction" not in group["surface_3/latitude"].attrs
    assert group["surface_3/longitude"][...].tolist() == [350.0, 365.0, 380.0]
    assert group.attrs["GRIB_centre"] == "ecmf"


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_written_messages_read_as_gribberish_decodes_them(
    mixed_file: tuple[Path, list[Field]], zarr_format: int
) -> None:
    """Every message at its place, missing points NaN as gribberish gives them, the missing message all NaN."""
    path, fields = mixed_file
    group = zarrkit.open_group(scan(path, zarr_format))
    t = group["isobaricInhPa/t"][...]
    places = [
        *(("isobaricInhPa/t", ((0, 6).index(field.step), (85000, 50000).index(field.level))) for field in fields[:3]),
        ("heightAboveGround/t2m", (0,)),
        ("heightAboveGround/t2m", (1,)),
        ("heightAboveGround_2/u10", (0,)),
        ("heightAboveGround_2/u10", (1,)),
        ("surface/sp", ()),
        ("surface_2/tp", ()),
        ("surface_3/param_0_1_200", ()),
    ]
    messages = messages_of(path)
    assert len(messages) == len(places) == len(fields)
    for (path_in_group, position), (_, _, _, values) in zip(places, messages):
        np.testing.assert_array_equal(group[path_in_group][...][position], values, err_msg=path_in_group)
    assert np.isnan(t[1, 0]).all()
    sp = group["surface/sp"][...]
    assert np.isnan(sp[1, 2]) and np.isnan(sp[0, 0]) and np.isfinite(sp).sum() == 10


def test_the_scan_reads_the_headers_only(tmp_path: Path) -> None:
    path = tmp_path / "large.grib2"
    path.write_bytes(b"".join(grib2_message(Field(grid_values(200, 300, 0), step=step)) for step in range(4)))
    with ScanSource(path, block_size=2048) as source:
        references = scan_grib(source)
        assert source.bytes_read < path.stat().st_size / 10
    assert zarrkit.open_array(references, path="t").shape == (4, 200, 300)


# -- bad input ---------------------------------------------------------------------------------------------


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.grib2"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("cut", "message"),
    [(5232 - 100, "message 24 (at offset 5014)"), (3 * EXAMPLE_MESSAGE_LENGTH + 10, "message 4 (at offset 654)")],
)
def test_a_truncated_file_names_the_message(tmp_path: Path, cut: int, message: str) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes()[:cut])
    with pytest.raises(MetadataError, match="truncated") as raised:
        scan(path)
    assert str(path) in str(raised.value) and message in str(raised.value)


def test_bytes_after_the_last_message_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, EXAMPLE.read_bytes() + b"\x00" * 20)
    with pytest.raises(MetadataError, match=r"message 25 \(at offset 5232\): expected a GRIB message"):
        scan(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="no GRIB messages"):
        scan(write(tmp_path, b""))


def corrupt(data: bytes, offset: int, replacement: bytes) -> bytes:
    return data[:offset] + replacement + data[offset + len(replacement) :]


SECOND_MESSAGE = EXAMPLE_MESSAGE_LENGTH
SECTION_4 = 16 + 21 + 72  # after the indicator, section 1 and section 3 of each example message


@pytest.mark.parametrize(
    ("offset", "replacement", "problem"),
    [
        (SECTION_4, b"\x00\x00\x00\x00", "section 4 at offset 327 says it is 0 bytes long"),
        (SECTION_4, b"\x00\x00\x01\x00", "section 4 at offset 327 says it is 256 bytes long"),
        (EXAMPLE_MESSAGE_LENGTH - 4, b"7776", "no end marker 7777 at offset 432"),
        (8, b"\x00" * 7 + b"\x05", "says it is 5 bytes long"),
        (16 + 4, b"\x09", r"sections in the order \(9, 3, 4, 5, 6, 7\)"),
    ],
)
def test_sections_that_do_not_chain_to_the_end_marker_are_refused(
    tmp_path: Path, offset: int, replacement: bytes, problem: str
) -> None:
    data = EXAMPLE.read_bytes()
    path = write(tmp_path, corrupt(data, SECOND_MESSAGE + offset, replacement))
    with pytest.raises(MetadataError, match=problem) as raised:
        scan(path)
    assert f"{path}: GRIB message 2 (at offset 218)" in str(raised.value)


def test_grib_edition_1_is_unsupported(tmp_path: Path) -> None:
    grib1 = b"GRIB" + (28).to_bytes(3, "big") + b"\x01" + b"\x00" * 16 + b"7777"
    path = write(tmp_path, EXAMPLE.read_bytes()[:EXAMPLE_MESSAGE_LENGTH] + grib1)
    with pytest.raises(UnsupportedFeature, match=r"message 2 \(at offset 218\): GRIB edition 1"):
        scan(path)


def test_unsupported_messages_name_the_message_and_the_feature(tmp_path: Path) -> None:
    plain = Field(grid_values(3, 4, 0))
    second_field = grib2_message(plain)[16 + 21 + 72 : -4]  # its sections 4 to 7
    cases = [
        (grib2_message(plain, extra_sections=second_field), "more than one field"),
        (grib2_message(replace(plain, grid_template=30)), "grid definition template 3.30"),
        (grib2_message(replace(plain, scanning_mode=0x20)), "scanning mode 0x20"),
    ]
    for data, feature in cases:
        path = write(tmp_path, grib2_message(plain) + data)
        with pytest.raises(UnsupportedFeature, match=feature) as raised:
            scan(path)
        assert f"{path}: GRIB message 2 (at offset {len(grib2_message(plain))})" in str(raised.value)


def test_two_messages_at_the_same_coordinates_are_refused(tmp_path: Path) -> None:
    message = grib2_message(Field(grid_values(3, 4, 0)))
    path = write(tmp_path, message * 2)
    with pytest.raises(UnsupportedFeature, match=r"message 1 \(at offset 0\) and message 2 .* both hold 't'"):
        scan(path)


def test_unknown_options_and_types_are_refused() -> None:
    with pytest.raises(MetadataError, match="dtype must be one of"):
        scan(EXAMPLE, dtype="int16")
    with pytest.raises(TypeError):
        scan(EXAMPLE, max_chunk_bytes=10)


# -- the codec ---------------------------------------------------------------------------------------------


def test_the_numcodecs_codec_decodes_one_message_and_writes_nothing() -> None:
    offset, length, metadata, values = messages_of(EXAMPLE)[5]
    message = EXAMPLE.read_bytes()[offset : offset + length]
    codec = numcodecs.get_codec({"id": "zarrkit_grib", "dtype": "float32"})
    assert isinstance(codec, GribMessageCodec)
    assert codec.get_config() == {"id": "zarrkit_grib", "dtype": "float32"}
    decoded = codec.decode(message)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, values.reshape(-1).astype(np.float32))
    out = np.empty(values.size, dtype=np.float32)
    codec.decode(message, out=out)
    np.testing.assert_array_equal(out, decoded)
    with pytest.raises(UnsupportedFeature):
        codec.encode(decoded)
    with pytest.raises(MetadataError):
        GribMessageCodec("int32")


def test_the_v3_codec_checks_its_configuration_and_the_chunk() -> None:
    offset, length, _, values = messages_of(EXAMPLE)[0]
    message = EXAMPLE.read_bytes()[offset : offset + length]
    codec = GribCodec.from_json({})
    assert codec.to_json() == {"name": "zarrkit.grib"}
    np.testing.assert_array_equal(codec.decode(message, ChunkSpec((3, 4), np.dtype("float64"), np.nan)), values)
    with pytest.raises(MetadataError):
        GribCodec.from_json({"dtype": "float64"})
    with pytest.raises(CodecError, match="holds 12 values"):
        codec.decode(message, ChunkSpec((2, 4), np.dtype("float64"), np.nan))
    with pytest.raises(UnsupportedFeature):
        codec.encode(values, ChunkSpec((3, 4), np.dtype("float64"), np.nan))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda message: corrupt(message, SECTION_4, b"\x00\x00\x00\x00"), "0 bytes long"),
        (lambda message: message[:-1], "truncated file"),
        (lambda message: message + b"\x00", "1 bytes after its GRIB2 message"),
        (lambda message: b"GRAB" + message[4:], "expected a GRIB message"),
    ],
)
def test_a_damaged_chunk_is_a_codec_error(damage: Any, problem: str) -> None:
    """gribberish loops forever on a section of length 0: the codec checks the layout first."""
    message = EXAMPLE.read_bytes()[:EXAMPLE_MESSAGE_LENGTH]
    with pytest.raises(CodecError, match=problem):
        GribMessageCodec().decode(damage(message))
