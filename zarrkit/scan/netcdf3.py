"""NetCDF3 files as reference sets: classic (CDF-1), 64-bit offset (CDF-2) and 64-bit data (CDF-5).

The header is parsed here, without scipy or netCDF4: magic, record count, dimensions, global
attributes, then each variable's dimensions, attributes, type and data offset (``begin``). All of it
is big-endian; CDF-5 widens counts, lengths and dimension ids to 64 bits and adds the unsigned and
64-bit integer types, CDF-2 and CDF-5 widen ``begin`` to 64 bits.

NetCDF3 data is never compressed, so every chunk is a plain byte range of the file:

- a non-record variable is one contiguous block at ``begin``; it becomes one chunk, or, when larger
  than ``max_chunk_bytes``, chunks of whole rows along its first axis;
- a record variable (first dimension unlimited) stores one slab per record, the records of all
  record variables interleaved: record ``k`` of a variable starts at ``begin + k * record_size``,
  where ``record_size`` sums the slabs of all record variables, each padded to 4 bytes (except when
  there is exactly one record variable: then there is no padding). Its chunk shape is
  ``(1, *slab shape)``, one chunk per record.

Each variable's fill value is its ``_FillValue`` attribute, else NetCDF's default fill for its type,
so that unwritten data reads as NetCDF reads it. In Zarr v2 ``_FillValue`` lives only in the
array's ``fill_value`` (as xarray and kerchunk write v2); in Zarr v3 the array also keeps a
``_FillValue`` attribute, encoded as xarray encodes it for v3 (integers as numbers, floats as the
base64 of their little-endian float64 bytes), so that xarray reads the arrays with their mask.
Char variables get no such attribute, because xarray cannot decode one for bytes (their fill is in
``fill_value`` all the same). Every other attribute keeps its value: text as ``str``, numbers as a
number when there is one value and as a list otherwise. Char variables are arrays of dtype ``S1``,
as kerchunk makes them. Dimension names go to ``_ARRAY_DIMENSIONS`` (v2) or ``dimension_names`` (v3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError
from zarrkit.refs.model import ReferenceSet
from zarrkit.scan.attributes import json_attribute, xarray_fill_value
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource

DEFAULT_MAX_CHUNK_BYTES = 16 * 1024 * 1024
"""Non-record variables larger than this are split into chunks of whole rows along their first axis."""

_MAGICS = {b"CDF\x01": 1, b"CDF\x02": 2, b"CDF\x05": 5}

_DIMENSION_TAG = 10
_VARIABLE_TAG = 11
_ATTRIBUTE_TAG = 12


@dataclass(frozen=True)
class _NetCDFType:
    """One of NetCDF3's external types: its name, its NumPy dtype in the file and its default fill."""

    name: str
    dtype: np.dtype
    default_fill: Any
    cdf5_only: bool = False


_TYPES = {
    1: _NetCDFType("byte", np.dtype("i1"), -127),
    2: _NetCDFType("char", np.dtype("S1"), b"\x00"),
    3: _NetCDFType("short", np.dtype(">i2"), -32767),
    4: _NetCDFType("int", np.dtype(">i4"), -2147483647),
    5: _NetCDFType("float", np.dtype(">f4"), 9.9692099683868690e36),
    6: _NetCDFType("double", np.dtype(">f8"), 9.9692099683868690e36),
    7: _NetCDFType("ubyte", np.dtype("u1"), 255, cdf5_only=True),
    8: _NetCDFType("ushort", np.dtype(">u2"), 65535, cdf5_only=True),
    9: _NetCDFType("uint", np.dtype(">u4"), 4294967295, cdf5_only=True),
    10: _NetCDFType("int64", np.dtype(">i8"), -9223372036854775806, cdf5_only=True),
    11: _NetCDFType("uint64", np.dtype(">u8"), 18446744073709551614, cdf5_only=True),
}
"""NetCDF type codes; the default fills are NetCDF's NC_FILL_* values."""

_AttributeValue = np.ndarray | bytes
"""An attribute as stored: the bytes of a char attribute, or a big-endian array of numbers."""


@dataclass(frozen=True)
class _Variable:
    """A variable as its header entry describes it; ``shape`` counts the records of a record variable."""

    name: str
    dimensions: tuple[str, ...]
    shape: tuple[int, ...]
    type: _NetCDFType
    attributes: dict[str, _AttributeValue]
    begin: int
    is_record: bool

    @property
    def slab_shape(self) -> tuple[int, ...]:
        """The shape of one record of a record variable; the whole shape of any other variable."""
        return self.shape[1:] if self.is_record else self.shape

    @property
    def slab_bytes(self) -> int:
        """The bytes of one record (record variable) or of the whole data (other variables), unpadded."""
        return math.prod(self.slab_shape) * self.type.dtype.itemsize


@dataclass(frozen=True)
class _Header:
    """A parsed header: the global attributes, the variables (records counted) and the size of a record."""

    attributes: dict[str, _AttributeValue]
    variables: tuple[_Variable, ...]
    record_size: int


def is_netcdf3(header: bytes) -> bool:
    """Whether ``header`` (the first bytes of a file) starts with a NetCDF3 magic: CDF\\x01, \\x02 or \\x05."""
    return header[:4] in _MAGICS


def scan_netcdf3(
    source: ScanSource,
    *,
    zarr_format: int = 2,
    max_chunk_bytes: int | None = DEFAULT_MAX_CHUNK_BYTES,
) -> ReferenceSet:
    """The reference set of the NetCDF3 file behind ``source``: the root group holds the global
    attributes and one array per variable, whose chunks are byte ranges of the file.

    ``zarr_format`` is 2 or 3. ``max_chunk_bytes`` bounds the chunks of non-record variables (a
    larger variable is split along its first axis into chunks of whole rows; a single row larger than
    the bound stays one chunk); None keeps each non-record variable one chunk, as kerchunk does.
    Record variables always get one chunk per record.

    Raises MetadataError naming the file (and the variable or field) when the file is not NetCDF3,
    when its header is truncated or malformed, or when a variable's data would lie past the end of the
    file.
    """
    if max_chunk_bytes is not None and (
        not isinstance(max_chunk_bytes, int) or isinstance(max_chunk_bytes, bool) or max_chunk_bytes <= 0
    ):
        raise MetadataError(f"max_chunk_bytes must be a positive integer or None, got {max_chunk_bytes!r}")
    header = _read_header(source)
    builder = ReferenceBuilder(zarr_format=zarr_format)
    builder.add_group("", {name: json_attribute(value) for name, value in header.attributes.items()})
    for variable in header.variables:
        if variable.is_record:
            _add_record_variable(builder, source, variable, header.record_size)
        else:
            _add_fixed_variable(builder, source, variable, max_chunk_bytes)
    return builder.references


# -- the header ----------------------------------------------------------------------------------


class _HeaderReader:
    """Reads the header's fields in order from ``position``, naming the field when the file ends early."""

    def __init__(self, source: ScanSource, version: int) -> None:
        self.source = source
        self.position = 4
        self.count_size = 8 if version == 5 else 4
        self.offset_size = 4 if version == 1 else 8

    def error(self, message: str) -> MetadataError:
        return MetadataError(f"{self.source.url}: malformed NetCDF3 header: {message}")

    def read(self, length: int, what: str) -> bytes:
        if self.position + length > self.source.size:
            raise self.error(
                f"{what} needs {length} bytes at offset {self.position}, but the file ends at {self.source.size} "
                "(truncated header?)"
            )
        data = self.source.read_range(self.position, length)
        self.position += length
        return data

    def tag(self, what: str) -> int:
        return int.from_bytes(self.read(4, what), "big")

    def count(self, what: str) -> int:
        return int.from_bytes(self.read(self.count_size, what), "big")

    def offset(self, what: str) -> int:
        return int.from_bytes(self.read(self.offset_size, what), "big")

    def padded(self, length: int, what: str) -> bytes:
        """``length`` bytes followed by padding to the next multiple of 4."""
        return self.read(length + (-length % 4), what)[:length]

    def name(self, what: str) -> str:
        length = self.count(f"the length of the name of {what}")
        raw = self.padded(length, f"the name of {what}")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.error(f"the name of {what} is not UTF-8: {raw!r}") from None

    def list_length(self, expected_tag: int, entry_bytes: int, what: str) -> int:
        """The number of entries of a dimension, attribute or variable list (0 when ABSENT).

        ``entry_bytes`` is the least an entry takes, so a count the file cannot hold fails here and
        not after reading the rest of the file.
        """
        tag = self.tag(f"the tag of the {what} list")
        length = self.count(f"the length of the {what} list")
        if tag == 0 and length == 0:
            return 0
        if tag != expected_tag:
            raise self.error(f"expected the {what} list (tag {expected_tag}) at offset {self.position}, got tag {tag}")
        if length * entry_bytes > self.source.size - self.position:
            raise self.error(
                f"it announces {length} entries in the {what} list at offset {self.position}, more than the "
                f"{self.source.size} bytes of the file can hold (truncated header?)"
            )
        return length


def _read_header(source: ScanSource) -> _Header:
    """The header of ``source``, checked against the size of the file; raises MetadataError."""
    magic = source.read_range(0, 4)
    version = _MAGICS.get(magic)
    if version is None:
        raise MetadataError(
            f"{source.url}: not a NetCDF3 file (it starts with {magic!r}, not CDF\\x01, CDF\\x02 or CDF\\x05)"
        )
    reader = _HeaderReader(source, version)
    record_count = reader.count("the number of records")
    streaming = record_count == (1 << (8 * reader.count_size)) - 1

    dimensions: list[tuple[str, int]] = []
    for index in range(reader.list_length(_DIMENSION_TAG, 2 * reader.count_size, "dimension")):
        name = reader.name(f"dimension {index}")
        dimensions.append((name, reader.count(f"the length of dimension {name!r}")))
    unlimited = [name for name, length in dimensions if length == 0]
    if len(unlimited) > 1:
        raise reader.error(f"dimensions {unlimited} all have length 0, but only one dimension can be unlimited")

    attributes = _read_attributes(reader, version, "the global attributes")
    entry_bytes = 4 * reader.count_size + 4 + 4 + reader.offset_size
    entries = [
        _read_variable(reader, version, dimensions, index)
        for index in range(reader.list_length(_VARIABLE_TAG, entry_bytes, "variable"))
    ]
    header_end = reader.position

    record_variables = [variable for variable in entries if variable.is_record]
    if len(record_variables) == 1:
        record_size = record_variables[0].slab_bytes  # a lone record variable is stored without padding
    else:
        record_size = sum(variable.slab_bytes + (-variable.slab_bytes % 4) for variable in record_variables)
    if streaming:
        record_count = _streamed_record_count(source.size, record_variables, record_size)

    variables = []
    for variable in entries:
        if variable.is_record:
            variable = replace(variable, shape=(record_count, *variable.slab_shape))
        _check_extent(source, variable, record_size, header_end)
        variables.append(variable)
    return _Header(attributes, tuple(variables), record_size)


def _read_variable(reader: _HeaderReader, version: int, dimensions: list[tuple[str, int]], index: int) -> _Variable:
    """One variable's header entry; a record variable's shape has 0 records (the count comes later)."""
    name = reader.name(f"variable {index}")
    what = f"variable {name!r}"
    rank = reader.count(f"the number of dimensions of {what}")
    if rank * reader.count_size > reader.source.size - reader.position:
        raise reader.error(f"{what} announces {rank} dimensions, more than the file can hold (truncated header?)")
    dimension_ids = [reader.count(f"a dimension id of {what}") for _ in range(rank)]
    for dimension_id in dimension_ids:
        if dimension_id >= len(dimensions):
            raise reader.error(f"{what} refers to dimension id {dimension_id}, but the file has {len(dimensions)}")
    shape = tuple(dimensions[dimension_id][1] for dimension_id in dimension_ids)
    if 0 in shape[1:]:
        raise reader.error(f"{what} uses the unlimited dimension, but not as its first dimension")
    attributes = _read_attributes(reader, version, f"the attributes of {what}")
    netcdf_type = _netcdf_type(reader, version, reader.tag(f"the type of {what}"), what)
    reader.count(f"the size of {what}")  # recomputed from the shape: the field overflows for large variables
    begin = reader.offset(f"the data offset of {what}")
    return _Variable(
        name=name,
        dimensions=tuple(dimensions[dimension_id][0] for dimension_id in dimension_ids),
        shape=shape,
        type=netcdf_type,
        attributes=attributes,
        begin=begin,
        is_record=bool(shape) and shape[0] == 0,
    )


def _netcdf_type(reader: _HeaderReader, version: int, code: int, what: str) -> _NetCDFType:
    netcdf_type = _TYPES.get(code)
    if netcdf_type is None:
        raise reader.error(f"{what} has the unknown type code {code}")
    if netcdf_type.cdf5_only and version != 5:
        raise reader.error(
            f"{what} has the type {netcdf_type.name}, which only CDF-5 files may use (this is CDF-{version})"
        )
    return netcdf_type


def _read_attributes(reader: _HeaderReader, version: int, what: str) -> dict[str, _AttributeValue]:
    attributes: dict[str, _AttributeValue] = {}
    entry_bytes = 2 * reader.count_size + 4
    for index in range(reader.list_length(_ATTRIBUTE_TAG, entry_bytes, f"attribute ({what})")):
        name = reader.name(f"attribute {index} of {what}")
        attribute = f"attribute {name!r} of {what}"
        netcdf_type = _netcdf_type(reader, version, reader.tag(f"the type of {attribute}"), attribute)
        length = reader.count(f"the number of values of {attribute}")
        itemsize = netcdf_type.dtype.itemsize
        if length * itemsize > reader.source.size - reader.position:
            raise reader.error(
                f"{attribute} announces {length} values, more than the file can hold (truncated header?)"
            )
        raw = reader.padded(length * itemsize, f"the values of {attribute}")
        attributes[name] = raw if netcdf_type.name == "char" else np.frombuffer(raw, dtype=netcdf_type.dtype)
    return attributes


def _streamed_record_count(file_size: int, record_variables: list[_Variable], record_size: int) -> int:
    """The records of a streaming file (its header has no record count): as many as the file holds
    whole for every record variable."""
    counts = [
        0
        if variable.begin + variable.slab_bytes > file_size
        else (file_size - variable.begin - variable.slab_bytes) // record_size + 1
        for variable in record_variables
    ]
    return min(counts, default=0)


def _check_extent(source: ScanSource, variable: _Variable, record_size: int, header_end: int) -> None:
    """Raise MetadataError when the data of ``variable`` starts inside the header or ends past the file."""
    where = f"{source.url}: variable {variable.name!r}"
    if variable.begin < header_end:
        raise MetadataError(
            f"{where}: its data offset {variable.begin} lies inside the header (which ends at {header_end})"
        )
    if variable.is_record:
        records = variable.shape[0]
        if records == 0:
            return
        end = variable.begin + (records - 1) * record_size + variable.slab_bytes
        extent = (
            f"{records} records of {variable.slab_bytes} bytes every {record_size} bytes from offset {variable.begin}"
        )
    else:
        end = variable.begin + variable.slab_bytes
        extent = f"{variable.slab_bytes} bytes of data at offset {variable.begin}"
    if end > source.size:
        raise MetadataError(
            f"{where}: the header says {extent} (up to byte {end}), but the file has {source.size} bytes"
        )


# -- arrays and chunks ------------------------------------------------------------------------------


def _add_record_variable(builder: ReferenceBuilder, source: ScanSource, variable: _Variable, record_size: int) -> None:
    _add_array(builder, source, variable, (1, *variable.slab_shape))
    records = variable.shape[0]
    offsets = variable.begin + np.arange(records, dtype=np.int64) * record_size
    builder.add_chunk_table(variable.name, source.url, offsets, np.full(records, variable.slab_bytes, dtype=np.int64))


def _add_fixed_variable(
    builder: ReferenceBuilder, source: ScanSource, variable: _Variable, max_chunk_bytes: int | None
) -> None:
    shape = variable.shape
    rows = _rows_per_chunk(source, variable, max_chunk_bytes)
    if rows is None:
        _add_array(builder, source, variable, shape)
        offsets, chunk_bytes = np.array([variable.begin], dtype=np.int64), variable.slab_bytes
    else:
        # The last chunk may reach past the variable (into the data after it): Zarr needs every chunk
        # whole, and the rows past the end of the array are never read.
        _add_array(builder, source, variable, (rows, *shape[1:]))
        chunk_bytes = variable.slab_bytes // shape[0] * rows
        offsets = variable.begin + np.arange(-(-shape[0] // rows), dtype=np.int64) * chunk_bytes
    builder.add_chunk_table(variable.name, source.url, offsets, np.full(len(offsets), chunk_bytes, dtype=np.int64))


def _rows_per_chunk(source: ScanSource, variable: _Variable, max_chunk_bytes: int | None) -> int | None:
    """The rows in each chunk of a non-record variable split along its first axis; None for one chunk.

    The rows are spread evenly over the chunks, so the last chunk reaches at most a few rows past the
    variable; when that would pass the end of the file, the variable stays one chunk.
    """
    if max_chunk_bytes is None or not variable.shape or variable.slab_bytes <= max_chunk_bytes:
        return None
    row_count = variable.shape[0]
    row_bytes = variable.slab_bytes // row_count
    chunk_count = -(-row_count // max(1, max_chunk_bytes // row_bytes))
    rows = -(-row_count // chunk_count)
    if chunk_count == 1 or variable.begin + chunk_count * rows * row_bytes > source.size:
        return None
    return rows


def _add_array(
    builder: ReferenceBuilder, source: ScanSource, variable: _Variable, chunk_shape: tuple[int, ...]
) -> None:
    fill_value = _fill_value(source, variable)
    attributes = {name: json_attribute(value) for name, value in variable.attributes.items() if name != "_FillValue"}
    if builder.zarr_format == 3 and "_FillValue" in variable.attributes and variable.type.name != "char":
        attributes["_FillValue"] = xarray_fill_value(fill_value, fill_value.dtype)
    try:
        builder.add_array(
            variable.name,
            shape=variable.shape,
            dtype=variable.type.dtype,
            chunks=chunk_shape,
            filters=None,
            compressors=None,
            fill_value=fill_value,
            attributes=attributes,
            dimension_names=variable.dimensions,
        )
    except MetadataError as error:
        raise MetadataError(f"{source.url}: variable {variable.name!r}: {error}") from error


def _fill_value(source: ScanSource, variable: _Variable) -> Any:
    """The variable's ``_FillValue`` in its own type, else NetCDF's default fill for the type.

    Raises MetadataError when ``_FillValue`` is not one value that the variable's type holds.
    """
    dtype = variable.type.dtype
    if "_FillValue" not in variable.attributes:
        return dtype.type(variable.type.default_fill)
    stored = variable.attributes["_FillValue"]
    where = f"{source.url}: variable {variable.name!r}: attribute '_FillValue'"
    if isinstance(stored, bytes) != (variable.type.name == "char") or len(stored) != 1:
        raise MetadataError(f"{where} must be one {variable.type.name} value, got {json_attribute(stored)!r}")
    if isinstance(stored, bytes):
        return dtype.type(stored)
    with np.errstate(over="ignore", invalid="ignore"):
        value = stored.astype(dtype)
        if dtype.kind == "f":
            # A double _FillValue on a float variable rounds to the float that NetCDF wrote as fill.
            representable = np.isfinite(value) | ~np.isfinite(stored)
        else:
            representable = value.astype(stored.dtype) == stored
    if not representable.all():
        raise MetadataError(f"{where}: {stored[0].item()!r} is not a {variable.type.name} value")
    return value[0]
