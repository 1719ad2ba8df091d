"""GRIB2 files as reference sets: every message one chunk, decoded by the GRIB codec, variables as cfgrib makes them.

The scan reads only the headers of each message (the start of sections 0 to 6 and the header of
section 7, never the packed data; :mod:`zarrkit.scan.grib_messages` reads them), so scanning a file
of large grids reads a small part of it. Each message becomes one chunk,
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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zarrkit.codecs.grib import DTYPES, GribCodec, GribMessageCodec, register_grib_codecs
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan.grib_messages import Message, read_messages
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource

# -- the attributes cfgrib writes ---------------------------------------------------------------------

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
    messages: dict[tuple[int, ...], Message]
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


def _variables(messages: list[Message], source: ScanSource) -> list[_Variable]:
    """The messages grouped into variables, in the order their first messages come in the file."""
    grouped: dict[tuple[Any, ...], list[Message]] = {}
    for message in messages:
        key = (message.parameter, message.level_kind, message.step_type, message.grid, message.member is None)
        grouped.setdefault(key, []).append(message)
    return [_variable(members, source) for members in grouped.values()]


def _variable(messages: list[Message], source: ScanSource) -> _Variable:
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
    placed: dict[tuple[int, ...], Message] = {}
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


def _variable_attributes(first: Message, coordinate_names: Iterable[str]) -> dict[str, Any]:
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


def _global_attributes(messages: list[Message]) -> dict[str, Any]:
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
    messages = read_messages(source)
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
