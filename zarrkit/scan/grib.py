"""GRIB2 files as reference sets: every message one chunk, decoded by the GRIB codec, variables as cfgrib makes them.

The scan reads only the headers of each message (the start of sections 0 to 6 and the header of
section 7, never the packed data), so scanning a file of large grids reads a small part of it. Each message becomes one chunk,
``Reference(url, message offset, message length)``, decoded at read time by
:mod:`zarrkit.codecs.grib` (through gribberish) into the message's grid of values; points its bitmap
marks missing read as NaN, and so do the chunks of a variable that no message holds. The fill
value of every data array is NaN.

Messages are grouped into variables as cfgrib groups them (with its defaults):

- a variable is one parameter on one kind of level with one kind of step (instantaneous,
  accumulated, averaged...) on one grid; it is named as cfgrib names it: ecCodes' ``cfVarName``,
  e.g. ``t``, ``z``, ``t2m``, ``u10``, for the common WMO parameters this module knows (ecCodes'
  tables are not at hand); the others are named ``param_<discipline>_<category>_<number>``;
- its dimensions are, in this order, ``number`` (ensemble member, for ensemble products),
  ``time`` (reference time), ``step`` (hours from the reference time to the end of the forecast
  or of the statistical period), the level, named after its kind (``typeOfLevel``:
  ``isobaricInhPa``, ``heightAboveGround``, ``surface``...), then ``latitude`` and ``longitude``;
  a dimension with one value becomes a scalar coordinate, as cfgrib's ``squeeze`` does. Values are
  sorted, pressure levels in decreasing order. ``valid_time`` (reference time plus step) is an
  extra coordinate over the ``time`` and ``step`` dimensions;
- coordinates are arrays stored inline, with cfgrib's attributes: times as seconds since
  1970-01-01 (``units`` and ``calendar``, which xarray decodes), steps in hours, levels in the
  unit of their kind (hPa, m...), latitudes and longitudes in degrees. Each data array names its
  coordinates in a ``coordinates`` attribute and carries cfgrib's ``GRIB_*`` attributes, plus
  ``GRIB_discipline``, ``GRIB_parameterCategory`` and ``GRIB_parameterNumber``.

When every variable fits in one dataset (distinct names, and coordinates of the same name equal) the
arrays go to the root group, as ``cfgrib.open_dataset`` shows the file. Otherwise the variables are
sorted by kind of level into groups named after it (``isobaricInhPa``, ``surface``...); a kind
whose variables still clash (``t2m`` at 2 m and ``u10`` at 10 m both have a ``heightAboveGround``
coordinate) is spread over groups ``<kind>``, ``<kind>_2``... The root attributes are cfgrib's
dataset attributes (``GRIB_edition``, ``GRIB_centre``, ``GRIB_subCentre``, ``Conventions``,
``institution``).

What is refused (UnsupportedFeature naming the file and the message): GRIB edition 1 messages
(gribberish decodes GRIB2 only), messages holding more than one field, grids other than regular
latitude/longitude (template 3.0), scanning modes other than rows of points (``i`` in either
direction, ``j`` in either direction), product templates other than 4.0, 4.1, 4.8 and 4.11,
predefined or shared bitmaps, steps in months or years, and two messages for the same variable at
the same coordinates. The GRIB ``paramId`` is not known without ecCodes' tables, so it is not
written.
"""

from __future__ import annotations

import datetime
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zarrkit.codecs.grib import (
    DTYPES,
    GribCodec,
    GribMessageCodec,
    MessageLayout,
    message_layout,
    register_grib_codecs,
)
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource

_SECTION_BYTES_READ = 128
"""Bytes read of sections 1, 3, 4 and 5: every field used lies in the first 72; the rest (lists of
hybrid coefficients, of points per row) is never needed."""

_MISSING_4 = 0xFFFFFFFF


# -- the tables: parameters, kinds of level, centres, units of time ---------------------------------


@dataclass(frozen=True)
class _Parameter:
    """A parameter as ecCodes and cfgrib name it: short name, variable name (cfVarName), long name,
    units and CF standard name; plus the GRIB2 codes it has."""

    short_name: str
    variable_name: str
    name: str
    units: str
    cf_name: str | None
    codes: tuple[int, int, int]


# (discipline, category, number) -> short name, long name, units, CF standard name; as ecCodes has them.
_PARAMETERS: dict[tuple[int, int, int], tuple[str, str, str, str | None]] = {
    (0, 0, 0): ("t", "Temperature", "K", "air_temperature"),
    (0, 0, 2): ("pt", "Potential temperature", "K", "air_potential_temperature"),
    (0, 0, 4): ("tmax", "Maximum temperature", "K", None),
    (0, 0, 5): ("tmin", "Minimum temperature", "K", None),
    (0, 0, 6): ("dpt", "Dew point temperature", "K", "dew_point_temperature"),
    (0, 1, 0): ("q", "Specific humidity", "kg kg**-1", "specific_humidity"),
    (0, 1, 1): ("r", "Relative humidity", "%", "relative_humidity"),
    (0, 1, 3): ("pwat", "Precipitable water", "kg m**-2", None),
    (0, 1, 8): ("tp", "Total precipitation", "kg m**-2", "precipitation_amount"),
    (0, 2, 0): ("wdir", "Wind direction", "Degree true", "wind_from_direction"),
    (0, 2, 1): ("ws", "Wind speed", "m s**-1", "wind_speed"),
    (0, 2, 2): ("u", "U component of wind", "m s**-1", "eastward_wind"),
    (0, 2, 3): ("v", "V component of wind", "m s**-1", "northward_wind"),
    (0, 2, 8): ("w", "Vertical velocity", "Pa s**-1", "lagrangian_tendency_of_air_pressure"),
    (0, 2, 10): ("absv", "Absolute vorticity", "s**-1", "atmosphere_absolute_vorticity"),
    (0, 2, 12): ("vo", "Vorticity (relative)", "s**-1", "atmosphere_relative_vorticity"),
    (0, 2, 13): ("d", "Divergence", "s**-1", "divergence_of_wind"),
    (0, 2, 22): ("gust", "Wind speed (gust)", "m s**-1", "wind_speed_of_gust"),
    (0, 3, 0): ("pres", "Pressure", "Pa", "air_pressure"),
    (0, 3, 1): ("prmsl", "Pressure reduced to MSL", "Pa", "air_pressure_at_mean_sea_level"),
    (0, 3, 4): ("z", "Geopotential", "m**2 s**-2", "geopotential"),
    (0, 3, 5): ("gh", "Geopotential height", "gpm", "geopotential_height"),
    (0, 6, 1): ("tcc", "Total cloud cover", "%", "cloud_area_fraction"),
    (0, 7, 6): ("cape", "Convective available potential energy", "J kg**-1", None),
    (0, 19, 0): ("vis", "Visibility", "m", "visibility_in_air"),
    (2, 0, 0): ("lsm", "Land-sea mask", "(0 - 1)", "land_binary_mask"),
}

# Parameters that ecCodes names after their level: (codes, kind of level, level) -> short name,
# variable name (cfVarName), long name. The units and CF name stay those of the plain parameter.
_PARAMETERS_AT_LEVEL: dict[tuple[tuple[int, int, int], str, float | None], tuple[str, str, str]] = {
    ((0, 0, 0), "heightAboveGround", 2.0): ("2t", "t2m", "2 metre temperature"),
    ((0, 0, 6), "heightAboveGround", 2.0): ("2d", "d2m", "2 metre dewpoint temperature"),
    ((0, 1, 1), "heightAboveGround", 2.0): ("2r", "r2", "2 metre relative humidity"),
    ((0, 2, 2), "heightAboveGround", 10.0): ("10u", "u10", "10 metre U wind component"),
    ((0, 2, 3), "heightAboveGround", 10.0): ("10v", "v10", "10 metre V wind component"),
    ((0, 3, 0), "surface", None): ("sp", "sp", "Surface pressure"),
    ((0, 3, 0), "meanSea", None): ("msl", "msl", "Mean sea level pressure"),
}

# GRIB2 code table 4.5 (fixed surfaces) -> ecCodes' typeOfLevel. Type 100 is isobaricInhPa when the
# pressure is a whole number of hPa, else isobaricInPa, as ecCodes decides.
_LEVEL_KINDS = {
    1: "surface",
    2: "cloudBase",
    3: "cloudTop",
    4: "isothermZero",
    6: "maxWind",
    7: "tropopause",
    8: "nominalTop",
    10: "entireAtmosphere",
    100: "isobaricInhPa",
    101: "meanSea",
    102: "heightAboveSea",
    103: "heightAboveGround",
    104: "sigma",
    105: "hybrid",
    106: "depthBelowLand",
    107: "theta",
    108: "pressureFromGround",
    109: "potentialVorticity",
    160: "depthBelowSea",
}
_PRESSURE = 100
# Kinds of level whose layers (first and second surface of the same kind) ecCodes names "<kind>Layer".
_LAYER_KINDS = {
    100: "isobaricLayer",
    103: "heightAboveGroundLayer",
    104: "sigmaLayer",
    105: "hybridLayer",
    106: "depthBelowLandLayer",
    107: "thetaLayer",
    108: "pressureFromGroundLayer",
}

# The coordinate attributes cfgrib writes, by coordinate name.
_TIME_UNITS = {"units": "seconds since 1970-01-01T00:00:00", "calendar": "proleptic_gregorian"}
_COORDINATE_ATTRIBUTES: dict[str, dict[str, str]] = {
    "number": {"units": "1", "standard_name": "realization", "long_name": "ensemble member numerical id"},
    "time": {**_TIME_UNITS, "standard_name": "forecast_reference_time", "long_name": "initial time of forecast"},
    "step": {"units": "hours", "standard_name": "forecast_period", "long_name": "time since forecast_reference_time"},
    "valid_time": {**_TIME_UNITS, "standard_name": "time", "long_name": "time"},
    "latitude": {"units": "degrees_north", "standard_name": "latitude", "long_name": "latitude"},
    "longitude": {"units": "degrees_east", "standard_name": "longitude", "long_name": "longitude"},
    "isobaricInhPa": {
        "units": "hPa",
        "positive": "down",
        "stored_direction": "decreasing",
        "standard_name": "air_pressure",
        "long_name": "pressure",
    },
    "isobaricInPa": {
        "units": "Pa",
        "positive": "down",
        "stored_direction": "decreasing",
        "standard_name": "air_pressure",
        "long_name": "pressure",
    },
    "isobaricLayer": {"units": "Pa", "positive": "down", "standard_name": "air_pressure", "long_name": "pressure"},
    "heightAboveGround": {
        "units": "m",
        "positive": "up",
        "standard_name": "height",
        "long_name": "height above the surface",
    },
    "hybrid": {
        "units": "1",
        "positive": "down",
        "standard_name": "atmosphere_hybrid_sigma_pressure_coordinate",
        "long_name": "hybrid level",
    },
    "depthBelowLand": {"units": "m", "positive": "down", "standard_name": "depth", "long_name": "soil depth"},
    "depthBelowLandLayer": {"units": "m", "positive": "down", "standard_name": "depth", "long_name": "soil depth"},
}

_CENTRES = {
    7: ("kwbc", "US National Weather Service - NCEP"),
    34: ("rjtd", "Tokyo, Japan Meteorological Agency"),
    54: ("cwao", "Canadian Meteorological Service - Montreal"),
    74: ("egrr", "U.K. Met Office - Exeter"),
    78: ("edzw", "Offenbach (RSMC)"),
    85: ("lfpw", "French Weather Service - Toulouse"),
    98: ("ecmf", "European Centre for Medium-Range Weather Forecasts"),
}
"""Originating centres (GRIB code table C-11) as ecCodes abbreviates and describes them."""

# GRIB2 code table 4.4 (indicator of unit of time range) -> hours; months and years have no fixed length.
_HOURS_PER_UNIT = {0: 1 / 60, 1: 1.0, 2: 24.0, 10: 3.0, 11: 6.0, 12: 12.0, 13: 1 / 3600}

# GRIB2 code table 4.10 (type of statistical processing) -> ecCodes' stepType.
_STEP_TYPES = {0: "avg", 1: "accum", 2: "max", 3: "min", 4: "diff", 5: "rms", 6: "sd", 7: "cov"}

# Product templates: 4.0 (at a point in time), 4.1 (ensemble member), 4.8 (statistically processed),
# 4.11 (both): whether each has an ensemble member, and where its end of the overall time interval is.
_ENSEMBLE_TEMPLATES = (1, 11)
_END_TIME_OCTET = {8: 35, 11: 38}


# -- one message --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A regular latitude/longitude grid (template 3.0): its points per row and column, its first and
    last points in degrees and the increments (None when the message leaves them out)."""

    nx: int
    ny: int
    first_latitude: float
    last_latitude: float
    first_longitude: float
    last_longitude: float
    i_increment: float | None
    j_increment: float | None
    scanning_mode: int

    @property
    def latitudes(self) -> np.ndarray:
        """The latitude of each row, from the first to the last point."""
        return np.linspace(self.first_latitude, self.last_latitude, self.ny)

    @property
    def longitudes(self) -> np.ndarray:
        """The longitude of each column, from the first point in the scanning direction to the last."""
        last = self.last_longitude
        negative = bool(self.scanning_mode & 0x80)
        if not negative and last < self.first_longitude:
            last += 360.0
        elif negative and last > self.first_longitude:
            last -= 360.0
        return np.linspace(self.first_longitude, last, self.nx)

    def attributes(self) -> dict[str, Any]:
        """cfgrib's ``GRIB_*`` attributes of a regular_ll grid."""
        attributes: dict[str, Any] = {
            "GRIB_gridType": "regular_ll",
            "GRIB_numberOfPoints": self.nx * self.ny,
            "GRIB_Nx": self.nx,
            "GRIB_Ny": self.ny,
            "GRIB_iScansNegatively": int(bool(self.scanning_mode & 0x80)),
            "GRIB_jScansPositively": int(bool(self.scanning_mode & 0x40)),
            "GRIB_jPointsAreConsecutive": int(bool(self.scanning_mode & 0x20)),
            "GRIB_latitudeOfFirstGridPointInDegrees": self.first_latitude,
            "GRIB_latitudeOfLastGridPointInDegrees": self.last_latitude,
            "GRIB_longitudeOfFirstGridPointInDegrees": self.first_longitude,
            "GRIB_longitudeOfLastGridPointInDegrees": self.last_longitude,
        }
        if self.i_increment is not None:
            attributes["GRIB_iDirectionIncrementInDegrees"] = self.i_increment
        if self.j_increment is not None:
            attributes["GRIB_jDirectionIncrementInDegrees"] = self.j_increment
        return attributes


@dataclass(frozen=True)
class _Message:
    """What the headers of one message say: where it is, what it holds and at which coordinates."""

    number: int
    """1-based, as ecCodes' tools count messages."""
    offset: int
    length: int
    centre: int
    sub_centre: int
    parameter: _Parameter
    level_kind: str
    level: float
    step_type: str
    time: int
    """The reference time, in seconds since 1970-01-01."""
    step: float
    """Hours from the reference time to the end of the forecast or of the statistical period."""
    member: int | None
    grid: _Grid

    def describe(self) -> str:
        """The message's place, for error messages: ``message 3 (at offset 436)``."""
        return f"message {self.number} (at offset {self.offset})"


def _sign_magnitude(data: bytes) -> int:
    """A GRIB signed integer: the top bit is the sign, the other bits the magnitude."""
    value = int.from_bytes(data, "big")
    sign_bit = 1 << (8 * len(data) - 1)
    return -(value & ~sign_bit) if value & sign_bit else value


def _read_messages(source: ScanSource) -> list[_Message]:
    """The headers of every message of ``source``, in file order; raises as :func:`scan_grib` says."""
    messages: list[_Message] = []
    offset = 0
    while offset < source.size:
        number = len(messages) + 1
        where = f"{source.url}: GRIB message {number} (at offset {offset})"
        layout = message_layout(source.read_range, offset, source.size - offset, where=where)
        messages.append(_read_message(source, number, offset, layout, where))
        offset += layout.length
    if not messages:
        raise MetadataError(f"{source.url}: the file is empty: no GRIB messages")
    return messages


def _read_message(source: ScanSource, number: int, offset: int, layout: MessageLayout, where: str) -> _Message:
    def content(section_number: int, needed: int, what: str) -> bytes:
        section = layout.sections[section_number]
        if section.length < needed:
            raise MetadataError(f"{where}: section {section_number} ({what}) is {section.length} bytes, needs {needed}")
        return source.read_range(section.offset, min(section.length, max(needed, _SECTION_BYTES_READ)))

    identification = content(1, 21, "identification")
    centre, sub_centre = struct.unpack(">HH", identification[5:9])
    time = _reference_time(identification, where)
    grid = _read_grid(content(3, 14, "grid definition"), where)
    product = content(4, 9, "product definition")
    parameter, level_kind, level, step_type, step, member = _read_product(product, layout.discipline, time, where)
    representation = content(5, 11, "data representation")
    bitmap = content(6, 6, "bitmap")
    _check_values(representation, bitmap, grid, where)
    return _Message(
        number=number,
        offset=offset,
        length=layout.length,
        centre=centre,
        sub_centre=sub_centre,
        parameter=parameter,
        level_kind=level_kind,
        level=level,
        step_type=step_type,
        time=time,
        step=step,
        member=member,
        grid=grid,
    )


def _date_time(data: bytes, where: str, what: str) -> datetime.datetime:
    """The date and time in the 7 bytes ``data`` (year in 2 bytes, month, day, hour, minute, second)."""
    year, month, day, hour, minute, second = struct.unpack(">HBBBBB", data)
    try:
        return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)
    except ValueError as error:
        raise MetadataError(f"{where}: invalid {what} {year}-{month}-{day} {hour}:{minute}:{second}: {error}") from None


def _reference_time(identification: bytes, where: str) -> int:
    return int(_date_time(identification[12:19], where, "reference time").timestamp())


def _read_grid(grid: bytes, where: str) -> _Grid:
    """The grid of section 3; UnsupportedFeature for anything but a regular latitude/longitude grid."""
    template = int.from_bytes(grid[12:14], "big")
    if grid[5] != 0:
        raise UnsupportedFeature(f"{where}: grids not defined by a template (source {grid[5]}) are not supported")
    if template != 0:
        raise UnsupportedFeature(
            f"{where}: grid definition template 3.{template} is not supported (only 3.0, regular latitude/longitude)"
        )
    if grid[10] != 0:
        raise UnsupportedFeature(f"{where}: quasi-regular grids (a list of points per row) are not supported")
    if len(grid) < 72:
        raise MetadataError(f"{where}: section 3 (grid definition template 3.0) is {len(grid)} bytes, needs 72")
    points = int.from_bytes(grid[6:10], "big")
    nx, ny, basic_angle, subdivisions = struct.unpack(">IIII", grid[30:46])
    if _MISSING_4 in (nx, ny) or nx * ny != points:
        raise MetadataError(f"{where}: the grid has {nx} x {ny} points, but section 3 says {points}")
    scanning_mode = grid[71]
    if scanning_mode & 0x3F:
        raise UnsupportedFeature(
            f"{where}: scanning mode {scanning_mode:#04x} is not supported (only consecutive points along rows, "
            "every row in the same direction)"
        )
    if basic_angle in (0, _MISSING_4):
        basic_angle, subdivisions = 1, 1_000_000
    elif subdivisions in (0, _MISSING_4):
        raise MetadataError(f"{where}: the grid has basic angle {basic_angle} but no subdivisions")

    def degrees(data: bytes) -> float:
        return _sign_magnitude(data) * basic_angle / subdivisions

    # Resolution and component flags: 0x20, the i increment is given; 0x10, the j increment is.
    i_given, j_given = grid[54] & 0x20, grid[54] & 0x10
    i_increment, j_increment = struct.unpack(">II", grid[63:71])
    return _Grid(
        nx=nx,
        ny=ny,
        first_latitude=degrees(grid[46:50]),
        first_longitude=degrees(grid[50:54]),
        last_latitude=degrees(grid[55:59]),
        last_longitude=degrees(grid[59:63]),
        i_increment=i_increment * basic_angle / subdivisions if i_given and i_increment != _MISSING_4 else None,
        j_increment=j_increment * basic_angle / subdivisions if j_given and j_increment != _MISSING_4 else None,
        scanning_mode=scanning_mode,
    )


def _read_product(
    product: bytes, discipline: int, time: int, where: str
) -> tuple[_Parameter, str, float, str, float, int | None]:
    """The parameter, kind of level, level, step type, step (hours) and ensemble member of section 4."""
    template = int.from_bytes(product[7:9], "big")
    if template not in (0, 1, 8, 11):
        raise UnsupportedFeature(
            f"{where}: product definition template 4.{template} is not supported (only 4.0, 4.1, 4.8 and 4.11)"
        )
    needed = {0: 34, 1: 37, 8: 58, 11: 61}[template]
    if len(product) < needed:
        raise MetadataError(f"{where}: section 4 (template 4.{template}) is {len(product)} bytes, needs {needed}")
    level_kind, level = _level(product[22], product[23], product[24:28], product[28])
    codes = (discipline, product[9], product[10])
    parameter = _parameter(codes, level_kind, level)
    member = product[35] if template in _ENSEMBLE_TEMPLATES else None
    if template in _END_TIME_OCTET:
        octet = _END_TIME_OCTET[template]
        end = _date_time(product[octet - 1 : octet + 6], where, "end of the overall time interval")
        step = (int(end.timestamp()) - time) / 3600
        statistic = product[octet + 11]
        step_type = _STEP_TYPES.get(statistic, f"statistic_{statistic}")
    else:
        unit = product[17]
        if unit not in _HOURS_PER_UNIT:
            raise UnsupportedFeature(
                f"{where}: forecast time in unit {unit} (GRIB2 code table 4.4) is not supported: only minutes, "
                "hours, days and seconds have a fixed length"
            )
        step = int.from_bytes(product[18:22], "big") * _HOURS_PER_UNIT[unit]
        step_type = "instant"
    return parameter, level_kind, level, step_type, step, member


def _level(surface_type: int, scale: int, scaled_value: bytes, second_type: int) -> tuple[str, float]:
    """The kind of level (ecCodes' typeOfLevel) and the level, in the unit of its kind; a surface
    without a value (the surface of the earth, the top of the atmosphere...) is at level 0."""
    if scale == 0xFF or scaled_value == b"\xff\xff\xff\xff":
        value = 0.0
    else:
        exponent = _sign_magnitude(bytes([scale]))
        integer = int.from_bytes(scaled_value, "big")
        value = integer / 10**exponent if exponent >= 0 else float(integer * 10**-exponent)
    if second_type == surface_type and surface_type in _LAYER_KINDS:
        return _LAYER_KINDS[surface_type], value
    if surface_type == _PRESSURE:
        if value % 100 == 0:
            return "isobaricInhPa", value / 100
        return "isobaricInPa", value
    return _LEVEL_KINDS.get(surface_type, f"level_type_{surface_type}"), value


def _parameter(codes: tuple[int, int, int], level_kind: str, level: float) -> _Parameter:
    known = _PARAMETERS.get(codes)
    if known is None:
        name = "param_{}_{}_{}".format(*codes)
        return _Parameter(name, name, f"GRIB2 parameter {codes[0]}.{codes[1]}.{codes[2]}", "unknown", None, codes)
    short_name, long_name, units, cf_name = known
    at_level = _PARAMETERS_AT_LEVEL.get((codes, level_kind, level)) or _PARAMETERS_AT_LEVEL.get(
        (codes, level_kind, None)
    )
    if at_level is None:
        return _Parameter(short_name, short_name, long_name, units, cf_name, codes)
    short_name, variable_name, long_name = at_level
    return _Parameter(short_name, variable_name, long_name, units, cf_name, codes)


def _check_values(representation: bytes, bitmap: bytes, grid: _Grid, where: str) -> None:
    """Check that sections 5 and 6 fit the grid; UnsupportedFeature for bitmaps defined elsewhere."""
    values = int.from_bytes(representation[5:9], "big")
    indicator = bitmap[5]
    if indicator not in (0, 255):
        source = "an earlier field" if indicator == 254 else f"predefined bitmap {indicator}"
        raise UnsupportedFeature(f"{where}: the bitmap comes from {source}, which is not supported")
    points = grid.nx * grid.ny
    if values > points or (indicator == 255 and values != points):
        bitmap_state = "with" if indicator == 0 else "without"
        raise MetadataError(f"{where}: {values} packed values {bitmap_state} a bitmap for a grid of {points} points")


# -- variables, coordinates and datasets --------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Coordinate:
    """A coordinate array: its dimensions (none for a scalar), values and attributes."""

    dimensions: tuple[str, ...]
    values: np.ndarray
    attributes: dict[str, Any]

    def same_as(self, other: _Coordinate) -> bool:
        """Whether ``other`` is the same coordinate (dimensions, type and values)."""
        return (
            self.dimensions == other.dimensions
            and self.values.dtype == other.values.dtype
            and np.array_equal(self.values, other.values)
        )


@dataclass(frozen=True, eq=False)
class _Variable:
    """A data variable: its messages by chunk position, dimensions, shape, coordinates and attributes."""

    name: str
    level_kind: str
    dimensions: tuple[str, ...]
    shape: tuple[int, ...]
    messages: dict[tuple[int, ...], _Message]
    coordinates: dict[str, _Coordinate]
    attributes: dict[str, Any]


@dataclass
class _Dataset:
    """Variables that share their coordinates: what one group holds."""

    variables: dict[str, _Variable] = field(default_factory=dict)
    coordinates: dict[str, _Coordinate] = field(default_factory=dict)

    def accepts(self, variable: _Variable) -> bool:
        """Whether ``variable`` can join: its name is free and its coordinates agree with those here."""
        if variable.name in self.variables or variable.name in self.coordinates:
            return False
        return all(
            name not in self.variables and (name not in self.coordinates or self.coordinates[name].same_as(coordinate))
            for name, coordinate in variable.coordinates.items()
        )

    def add(self, variable: _Variable) -> None:
        """Add ``variable`` and its coordinates."""
        self.variables[variable.name] = variable
        for name, coordinate in variable.coordinates.items():
            self.coordinates.setdefault(name, coordinate)


def _variables(messages: list[_Message], source: ScanSource) -> list[_Variable]:
    """The messages grouped into variables, in the order their first messages come in the file."""
    grouped: dict[tuple[Any, ...], list[_Message]] = {}
    for message in messages:
        key = (message.parameter, message.level_kind, message.step_type, message.grid, message.member is None)
        grouped.setdefault(key, []).append(message)
    return [_variable(members, source) for members in grouped.values()]


def _variable(messages: list[_Message], source: ScanSource) -> _Variable:
    first = messages[0]
    name = first.parameter.variable_name
    header: dict[str, list[Any]] = {}
    if first.member is not None:
        header["number"] = sorted({message.member for message in messages})
    header["time"] = sorted({message.time for message in messages})
    header["step"] = sorted({message.step for message in messages})
    header[first.level_kind] = sorted(
        {message.level for message in messages}, reverse=first.level_kind in ("isobaricInhPa", "isobaricInPa")
    )
    dtypes = {"number": np.int64, "time": np.int64, "step": np.float64}

    coordinates: dict[str, _Coordinate] = {}
    for coordinate_name, values in header.items():
        array = np.array(values, dtype=dtypes.get(coordinate_name, np.float64))
        dimensions = (coordinate_name,) if len(values) > 1 else ()
        coordinates[coordinate_name] = _Coordinate(
            dimensions, array if dimensions else array.reshape(()), _coordinate_attributes(coordinate_name)
        )
    latitudes = first.grid.latitudes
    latitude_attributes = dict(_COORDINATE_ATTRIBUTES["latitude"])
    if latitudes[0] > latitudes[-1]:
        latitude_attributes["stored_direction"] = "decreasing"
    coordinates["latitude"] = _Coordinate(("latitude",), latitudes, latitude_attributes)
    coordinates["longitude"] = _Coordinate(("longitude",), first.grid.longitudes, _coordinate_attributes("longitude"))
    coordinates["valid_time"] = _valid_time(coordinates["time"], coordinates["step"])

    header_dimensions = tuple(name for name, values in header.items() if len(values) > 1)
    positions = {
        dimension: {value: index for index, value in enumerate(header[dimension])} for dimension in header_dimensions
    }
    placed: dict[tuple[int, ...], _Message] = {}
    for message in messages:
        values = {"number": message.member, "time": message.time, "step": message.step, first.level_kind: message.level}
        position = (*(positions[dimension][values[dimension]] for dimension in header_dimensions), 0, 0)
        if position in placed:
            other = placed[position]
            raise UnsupportedFeature(
                f"{source.url}: GRIB {other.describe()} and {message.describe()} both hold {name!r} at "
                f"{', '.join(f'{key}={value!r}' for key, value in values.items() if key in header)}: they cannot be "
                "told apart by number, time, step and level"
            )
        placed[position] = message
    grid = first.grid
    return _Variable(
        name=name,
        level_kind=first.level_kind,
        dimensions=(*header_dimensions, "latitude", "longitude"),
        shape=(*(len(header[name]) for name in header_dimensions), grid.ny, grid.nx),
        messages=placed,
        coordinates=coordinates,
        attributes=_variable_attributes(first, list(coordinates)),
    )


def _coordinate_attributes(name: str) -> dict[str, Any]:
    return dict(_COORDINATE_ATTRIBUTES.get(name, {"units": "1", "long_name": f"level ({name})"}))


def _valid_time(time: _Coordinate, step: _Coordinate) -> _Coordinate:
    """Reference time plus step, in seconds since 1970-01-01, over the dimensions of both."""
    seconds = np.rint(step.values * 3600).astype(np.int64)
    if time.dimensions and step.dimensions:
        values = time.values[:, np.newaxis] + seconds[np.newaxis, :]
    else:
        values = np.asarray(time.values + seconds)
    return _Coordinate((*time.dimensions, *step.dimensions), values, _coordinate_attributes("valid_time"))


def _variable_attributes(first: _Message, coordinate_names: Iterable[str]) -> dict[str, Any]:
    """cfgrib's attributes of a data variable, from its first message."""
    parameter = first.parameter
    attributes: dict[str, Any] = {
        "GRIB_shortName": parameter.short_name,
        "GRIB_cfVarName": parameter.variable_name,
        "GRIB_name": parameter.name,
        "GRIB_units": parameter.units,
        "GRIB_discipline": parameter.codes[0],
        "GRIB_parameterCategory": parameter.codes[1],
        "GRIB_parameterNumber": parameter.codes[2],
        "GRIB_typeOfLevel": first.level_kind,
        "GRIB_stepType": first.step_type,
        "GRIB_stepUnits": 1,
        **first.grid.attributes(),
        "long_name": parameter.name,
        "units": parameter.units,
    }
    if parameter.cf_name is not None:
        attributes["GRIB_cfName"] = parameter.cf_name
        attributes["standard_name"] = parameter.cf_name
    attributes["coordinates"] = " ".join(coordinate_names)
    return attributes


def _datasets(variables: list[_Variable]) -> dict[str, _Dataset]:
    """The groups (by path; ``""`` is the root) the variables go to: see the module docs."""
    together = _pack(variables)
    if len(together) == 1:
        return {"": together[0]}
    by_kind: dict[str, list[_Variable]] = {}
    for variable in variables:
        by_kind.setdefault(variable.level_kind, []).append(variable)
    datasets = {}
    for kind, members in by_kind.items():
        for index, dataset in enumerate(_pack(members)):
            datasets[kind if index == 0 else f"{kind}_{index + 1}"] = dataset
    return datasets


def _pack(variables: list[_Variable]) -> list[_Dataset]:
    """``variables`` in as few datasets as the first-fit order gives, each variable in the first that accepts it."""
    datasets: list[_Dataset] = []
    for variable in variables:
        target = next((dataset for dataset in datasets if dataset.accepts(variable)), None)
        if target is None:
            target = _Dataset()
            datasets.append(target)
        target.add(variable)
    return datasets


def _global_attributes(messages: list[_Message]) -> dict[str, Any]:
    """cfgrib's dataset attributes; the centre only when every message has the same."""
    attributes: dict[str, Any] = {"GRIB_edition": 2}
    centres = {(message.centre, message.sub_centre) for message in messages}
    if len(centres) == 1:
        ((centre, sub_centre),) = centres
        abbreviation, description = _CENTRES.get(centre, (centre, None))
        attributes["GRIB_centre"] = abbreviation
        if description is not None:
            attributes["GRIB_centreDescription"] = description
        attributes["GRIB_subCentre"] = sub_centre
    attributes["Conventions"] = "CF-1.7"
    if "GRIB_centreDescription" in attributes:
        attributes["institution"] = attributes["GRIB_centreDescription"]
    return attributes


# -- output -------------------------------------------------------------------------------------------


def is_grib(header: bytes) -> bool:
    """Whether ``header`` (the first bytes of a file) starts with a GRIB message (``GRIB``, any edition)."""
    return header[:4] == b"GRIB"


def scan_grib(source: ScanSource, *, zarr_format: int = 2, dtype: str = "float64") -> ReferenceSet:
    """The reference set of the GRIB2 file behind ``source``: one chunk per message, variables and
    coordinates as cfgrib makes them (see the module docs for the layout).

    ``zarr_format`` is 2 or 3. ``dtype`` is the type the data arrays decode to: "float64" (the
    default; exact for the values GRIB packs) or "float32" (what cfgrib gives).

    Raises MetadataError naming the file and the message when the file is not a sequence of GRIB2
    messages (a message is truncated, its sections do not chain to its end marker, bytes between
    messages are not a message) or a header is malformed; UnsupportedFeature for what cannot be
    referenced (see the module docs).
    """
    if dtype not in DTYPES:
        raise MetadataError(f"{source.url}: dtype must be one of {DTYPES}, got {dtype!r}")
    dtype = np.dtype(dtype).name
    register_grib_codecs()
    messages = _read_messages(source)
    variables = _variables(messages, source)
    builder = ReferenceBuilder(zarr_format=zarr_format)
    builder.add_group("", _global_attributes(messages))
    for group, dataset in _datasets(variables).items():
        if group:
            builder.add_group(group)
        prefix = f"{group}/" if group else ""
        for name, coordinate in dataset.coordinates.items():
            _add_coordinate(builder, prefix + name, coordinate)
        for name, variable in dataset.variables.items():
            _add_variable(builder, source, prefix + name, variable, dtype)
    return builder.references


def _add_coordinate(builder: ReferenceBuilder, path: str, coordinate: _Coordinate) -> None:
    values = coordinate.values.astype(coordinate.values.dtype.newbyteorder("<"))
    builder.add_array(
        path,
        shape=values.shape,
        dtype=values.dtype,
        chunks=values.shape,
        filters=None,
        compressors=None,
        attributes=coordinate.attributes,
        dimension_names=coordinate.dimensions,
    )
    builder.add_chunk(path, (0,) * values.ndim, values.tobytes())


def _add_variable(builder: ReferenceBuilder, source: ScanSource, path: str, variable: _Variable, dtype: str) -> None:
    codecs: dict[str, Any]
    if builder.zarr_format == 2:
        codecs = {"filters": [GribMessageCodec(dtype)], "compressors": None}
    else:
        codecs = {"filters": None, "serializer": GribCodec(), "compressors": None}
    builder.add_array(
        path,
        shape=variable.shape,
        dtype=np.dtype(dtype).newbyteorder("<"),
        chunks=(*(1,) * (len(variable.shape) - 2), *variable.shape[-2:]),
        fill_value=np.nan,
        attributes=variable.attributes,
        dimension_names=variable.dimensions,
        **codecs,
    )
    for position, message in variable.messages.items():
        builder.add_chunk(path, position, Reference(source.url, message.offset, message.length))
