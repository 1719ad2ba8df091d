"""GRIB2 message headers: what each message of a file holds, read without its packed data.

:func:`read_messages` walks a file message by message. The layout of each message (its sections
and their lengths) is checked by :func:`zarrkit.codecs.grib.message_layout`, the same check the
codec makes before decoding; this module then reads the start of sections 1 (identification),
3 (grid definition), 4 (product definition), 5 (data representation) and 6 (bitmap) and turns
their codes into what ecCodes and cfgrib call them: the parameter's names and units, the kind of
level (``typeOfLevel``), the step and its type (``stepType``), the ensemble member and the regular
latitude/longitude grid. The scanner (:mod:`zarrkit.scan.grib`) groups the messages into variables.

The tables here are the part of ecCodes' tables this module needs; parameters it does not know
are named ``param_<discipline>_<category>_<number>``.
"""

from __future__ import annotations

import datetime
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.codecs.grib import MessageLayout, message_layout
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.scan.source import ScanSource

_SECTION_BYTES_READ = 128
"""Bytes read of sections 1, 3, 4 and 5: every field used lies in the first 72; the rest (lists of
hybrid coefficients, of points per row) is never needed."""

_MISSING_4 = 0xFFFFFFFF


# -- the tables: parameters, kinds of level, units of time, templates ---------------------------------


@dataclass(frozen=True)
class Parameter:
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
class Grid:
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
class Message:
    """What the headers of one message say: where it is, what it holds and at which coordinates."""

    number: int
    """1-based, as ecCodes' tools count messages."""
    offset: int
    length: int
    centre: int
    sub_centre: int
    parameter: Parameter
    level_kind: str
    level: float
    step_type: str
    time: int
    """The reference time, in seconds since 1970-01-01."""
    step: float
    """Hours from the reference time to the end of the forecast or of the statistical period."""
    member: int | None
    grid: Grid

    def describe(self) -> str:
        """The message's place, for error messages: ``message 3 (at offset 436)``."""
        return f"message {self.number} (at offset {self.offset})"


def _sign_magnitude(data: bytes) -> int:
    """A GRIB signed integer: the top bit is the sign, the other bits the magnitude."""
    value = int.from_bytes(data, "big")
    sign_bit = 1 << (8 * len(data) - 1)
    return -(value & ~sign_bit) if value & sign_bit else value


def read_messages(source: ScanSource) -> list[Message]:
    """The headers of every message of ``source``, in file order.

    Raises MetadataError naming the file and the message when the file is not a sequence of GRIB2
    messages (a message is truncated, its sections do not chain to its end marker, bytes between
    messages are not a message), is empty, or a header is malformed; UnsupportedFeature naming the
    file and the message for GRIB edition 1, several fields in one message, grids other than regular
    latitude/longitude, scanning modes other than rows of points, product templates other than 4.0,
    4.1, 4.8 and 4.11, predefined or shared bitmaps, and steps in months or years.
    """
    messages: list[Message] = []
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


def _read_message(source: ScanSource, number: int, offset: int, layout: MessageLayout, where: str) -> Message:
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
    return Message(
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


def _read_grid(grid: bytes, where: str) -> Grid:
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
    return Grid(
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
) -> tuple[Parameter, str, float, str, float, int | None]:
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


def _parameter(codes: tuple[int, int, int], level_kind: str, level: float) -> Parameter:
    known = _PARAMETERS.get(codes)
    if known is None:
        name = "param_{}_{}_{}".format(*codes)
        return Parameter(name, name, f"GRIB2 parameter {codes[0]}.{codes[1]}.{codes[2]}", "unknown", None, codes)
    short_name, long_name, units, cf_name = known
    at_level = _PARAMETERS_AT_LEVEL.get((codes, level_kind, level)) or _PARAMETERS_AT_LEVEL.get(
        (codes, level_kind, None)
    )
    if at_level is None:
        return Parameter(short_name, short_name, long_name, units, cf_name, codes)
    short_name, variable_name, long_name = at_level
    return Parameter(short_name, variable_name, long_name, units, cf_name, codes)


def _check_values(representation: bytes, bitmap: bytes, grid: Grid, where: str) -> None:
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
