"""MATLAB MAT-files as reference sets: version 5 (and 7, its compressed form) parsed here, version
7.3 handed to the HDF5 scanner.

Layout: every variable becomes an array of the root group, named after the variable, with its
MATLAB dimensions and column-major order (Zarr order "F"), and its MATLAB class as the data type
(``logical`` as bool); the attribute ``matlab_class`` names the class. A variable is one chunk.

Where the data lies in the file as the array needs it, the chunk is a reference to it: real
numeric and logical variables in uncompressed files. MATLAB may store values in a smaller type
than their class (doubles that are small integers as uint8); a numcodecs ``astype`` filter turns
them back. Everything else is read at scan time and stored inline, zlib-compressed, up to
``inline_limit`` bytes of array data per variable:

- variables in ``miCOMPRESSED`` elements (what MATLAB's default ``-v7`` writes): the zlib stream
  holds the whole variable element, header included, and no codec can drop that header;
- complex variables, whose real and imaginary parts are stored apart, not interleaved;
- char arrays, as fixed-width strings (an ``m x n`` char matrix becomes ``m`` strings of ``n``
  characters, as ``scipy.io.loadmat`` gives them).

Cell arrays, structs, objects, sparse matrices, functions and complex integers are refused with
UnsupportedFeature naming the variable; with ``on_unsupported="skip"`` they (and variables over
the inline limit) are left out instead, with a warning, and listed with the reason in the root
attribute ``skipped_variables``. The header text is the root attribute ``description``.

A MAT v7.3 file is an HDF5 file behind a 512-byte MAT header: it goes to
:func:`zarrkit.scan.hdf5.scan_hdf5`, which shows the arrays as HDF5 stores them (MATLAB writes
them with their dimensions reversed), with the same ``on_unsupported`` and ``inline_limit``.
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import Any, Protocol

import numcodecs
import numpy as np

from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan.hdf5 import scan_hdf5
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource

HEADER_BYTES = 128
"""The size of the MAT-file header: 116 bytes of text, 8 of subsystem offset, version, endian mark."""

DEFAULT_INLINE_LIMIT = 16 * 2**20
"""Bytes of array data a variable that cannot be referenced may take inline."""

ON_UNSUPPORTED_CHOICES = ("raise", "skip")
"""What ``on_unsupported`` may say."""

_VERSION_5 = 0x0100
_VERSION_73 = 0x0200
_BYTE_ORDERS = {b"IM": "<", b"MI": ">"}

# Data element types (miINT8, ...) that hold numbers, as NumPy type codes without byte order.
_NUMERIC_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_INT8, _MI_INT32, _MI_UINT32 = 1, 5, 6
_MI_MATRIX, _MI_COMPRESSED = 14, 15
# Element types a char array may be stored in, and how each encodes its characters.
_CHAR_ENCODINGS = {2: "latin-1", 16: "utf-8", 4: "u2", 17: "u2", 18: "u4"}

# Array classes (mxDOUBLE_CLASS, ...) and the NumPy type of the numeric ones.
_CLASS_NAMES = {
    1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse", 6: "double", 7: "single", 8: "int8",
    9: "uint8", 10: "int16", 11: "uint16", 12: "int32", 13: "uint32", 14: "int64", 15: "uint64",
    16: "function", 17: "opaque",
}
_NUMERIC_CLASSES = {
    6: "f8", 7: "f4", 8: "i1", 9: "u1", 10: "i2", 11: "u2", 12: "i4", 13: "u4", 14: "i8", 15: "u8",
}
_CHAR_CLASS = 4
_FLAG_COMPLEX, _FLAG_GLOBAL, _FLAG_LOGICAL = 0x08, 0x04, 0x02


def is_mat(header: bytes) -> bool:
    """True when ``header`` (the first bytes of a file) is the header of a MAT-file of version 5
    (also written as version 6 and 7) or 7.3."""
    if len(header) < HEADER_BYTES or not header.startswith(b"MATLAB"):
        return False
    byte_order = _BYTE_ORDERS.get(header[126:128])
    return byte_order is not None and struct.unpack(byte_order + "H", header[124:126])[0] in (_VERSION_5, _VERSION_73)


def scan_mat(
    source: ScanSource,
    *,
    zarr_format: int = 2,
    inline_limit: int = DEFAULT_INLINE_LIMIT,
    on_unsupported: str = "raise",
) -> ReferenceSet:
    """The reference set of the MAT-file ``source``: one array per variable (see the module
    docstring), Zarr v2 metadata by default or v3 with ``zarr_format=3``.

    Options:

    - ``inline_limit``: the most bytes of array data stored inline for a variable that cannot be
      referenced (compressed, complex, char); default 16 MiB.
    - ``on_unsupported``: ``"raise"`` (the default) raises UnsupportedFeature naming the file, the
      variable and the feature for a variable that cannot be represented; ``"skip"`` leaves it out.

    Raises MetadataError naming the file and what is wrong for a malformed or truncated file, or
    for invalid options. Version 7.3 files go to the HDF5 scanner, with its errors.
    """
    if on_unsupported not in ON_UNSUPPORTED_CHOICES:
        raise MetadataError(f"scan_mat: on_unsupported must be one of {ON_UNSUPPORTED_CHOICES}, got {on_unsupported!r}")
    if isinstance(inline_limit, bool) or not isinstance(inline_limit, int) or inline_limit < 0:
        raise MetadataError(f"scan_mat: inline_limit must be an integer >= 0, got {inline_limit!r}")
    header = source.read_range(0, HEADER_BYTES)
    if not is_mat(header):
        raise MetadataError(f"{source.url}: not a MAT-file of version 5 or 7.3 (its first 128 bytes are no MAT header)")
    byte_order = _BYTE_ORDERS[header[126:128]]
    if struct.unpack(byte_order + "H", header[124:126])[0] == _VERSION_73:
        return scan_hdf5(source, zarr_format=zarr_format, inline_limit=inline_limit, on_unsupported=on_unsupported)
    subsystem_offset = struct.unpack(byte_order + "Q", header[116:124])[0]
    builder = ReferenceBuilder(zarr_format=zarr_format)
    scan = _Scan(source, builder, byte_order, inline_limit, skip_unsupported=on_unsupported == "skip")
    offset = HEADER_BYTES
    while offset < source.size:
        element = _read_tag(_FileBytes(source), offset, byte_order, f"{source.url}: element at offset {offset}")
        end = element.data_offset + element.size  # top-level elements are not padded
        if end > source.size:
            raise MetadataError(
                f"{source.url}: the element at offset {offset} says {element.size} bytes of data at offset "
                f"{element.data_offset} but the file has {source.size} bytes"
            )
        # MATLAB's subsystem data (function handles, objects) is stored as an unnamed variable that
        # the header points at (an offset of zeros or spaces points at none).
        if offset != subsystem_offset:
            scan.add_element(offset, element)
        offset = end
    description = header[:116].decode("latin-1").rstrip(" \x00")
    attributes: dict[str, Any] = {"description": description}
    if scan.skipped:
        attributes["skipped_variables"] = scan.skipped
    builder.add_group("", attributes)
    return builder.references


class _Bytes(Protocol):
    def read(self, offset: int, length: int, where: str) -> bytes:
        """Exactly ``length`` bytes at ``offset``; MetadataError naming ``where`` when there are fewer."""
        ...


class _FileBytes:
    """The bytes of the scanned file."""

    def __init__(self, source: ScanSource) -> None:
        self.source = source

    def read(self, offset: int, length: int, where: str) -> bytes:
        data = self.source.read_range(offset, length)
        if len(data) != length:
            raise MetadataError(
                f"{where}: needs {length} bytes at offset {offset} but the file has {self.source.size} bytes"
            )
        return data


class _InflatedBytes:
    """The decompressed content of a ``miCOMPRESSED`` element, inflated only as far as it is read
    (a variable's header is read before its size is checked against the inline limit)."""

    def __init__(self, compressed: bytes) -> None:
        self._decompressor = zlib.decompressobj()
        self._pending = compressed
        self._data = bytearray()

    def read(self, offset: int, length: int, where: str) -> bytes:
        needed = offset + length
        try:
            while len(self._data) < needed and not self._decompressor.eof:
                if not self._pending:
                    self._data += self._decompressor.flush()
                    break
                self._data += self._decompressor.decompress(self._pending, max(needed - len(self._data), 1 << 16))
                self._pending = self._decompressor.unconsumed_tail
        except zlib.error as error:
            raise MetadataError(f"{where}: corrupt compressed data: {error}") from error
        if len(self._data) < needed:
            raise MetadataError(
                f"{where}: needs {length} bytes at offset {offset} of the compressed element, which inflates "
                f"to {len(self._data)} bytes"
            )
        return bytes(self._data[offset:needed])


@dataclass(frozen=True)
class _Element:
    """A data element: its type, and where its data lies and the next element starts."""

    data_type: int
    data_offset: int
    size: int
    padded_end: int


def _read_tag(data: _Bytes, offset: int, byte_order: str, where: str) -> _Element:
    first, second = struct.unpack(byte_order + "II", data.read(offset, 8, where))
    if first >> 16:
        # The small data element format: the size in the upper half of the first word, up to 4
        # bytes of data in place of the second.
        size = first >> 16
        if size > 4:
            raise MetadataError(f"{where}: a small data element says {size} bytes; it holds at most 4")
        return _Element(first & 0xFFFF, offset + 4, size, offset + 8)
    return _Element(first, offset + 8, second, offset + 8 + -(-second // 8) * 8)


@dataclass(frozen=True)
class _Variable:
    """The parsed header of one ``miMATRIX`` element, and its data elements (numeric and char only)."""

    name: str
    array_class: int
    flags: int
    dims: tuple[int, ...]
    real: _Element | None
    imaginary: _Element | None

    @property
    def class_name(self) -> str:
        if self.flags & _FLAG_LOGICAL:
            return "logical"
        return _CLASS_NAMES.get(self.array_class, f"unknown class {self.array_class}")


def _read_variable(data: _Bytes, start: int, size: int, byte_order: str, where: str) -> _Variable:
    """The variable in the ``miMATRIX`` element whose data is ``size`` bytes at ``start`` of ``data``."""
    end = start + size

    def next_element(position: int, expected_types: tuple[int, ...] | None, what: str) -> _Element:
        element = _read_tag(data, position, byte_order, f"{where}: {what}")
        if element.data_offset + element.size > end:
            raise MetadataError(f"{where}: its {what} runs past the end of the variable element")
        if expected_types is not None and element.data_type not in expected_types:
            raise MetadataError(f"{where}: its {what} has data type {element.data_type}, expected {expected_types}")
        return element

    flags_element = next_element(start, (_MI_UINT32,), "array flags")
    if flags_element.size != 8:
        raise MetadataError(f"{where}: its array flags hold {flags_element.size} bytes, not 8")
    flags_word = struct.unpack(byte_order + "I", data.read(flags_element.data_offset, 4, where))[0]
    dims_element = next_element(flags_element.padded_end, (_MI_INT32,), "dimensions")
    if dims_element.size % 4 or dims_element.size < 8:
        raise MetadataError(f"{where}: its dimensions take {dims_element.size} bytes, not 4 per dimension (2 or more)")
    count = dims_element.size // 4
    dims = struct.unpack(f"{byte_order}{count}i", data.read(dims_element.data_offset, dims_element.size, where))
    if min(dims) < 0:
        raise MetadataError(f"{where}: negative dimensions {dims}")
    name_element = next_element(dims_element.padded_end, (_MI_INT8,), "name")
    name = data.read(name_element.data_offset, name_element.size, where).decode("latin-1")
    array_class, flags = flags_word & 0xFF, (flags_word >> 8) & 0xFF
    real = imaginary = None
    if array_class in _NUMERIC_CLASSES or array_class == _CHAR_CLASS:
        real = next_element(name_element.padded_end, None, f"variable {name!r}: real part")
        if flags & _FLAG_COMPLEX:
            imaginary = next_element(real.padded_end, None, f"variable {name!r}: imaginary part")
    return _Variable(name, array_class, flags, tuple(dims), real, imaginary)


class _Scan:
    """The state of one MAT v5 scan: the builder, and what was skipped."""

    def __init__(
        self,
        source: ScanSource,
        builder: ReferenceBuilder,
        byte_order: str,
        inline_limit: int,
        *,
        skip_unsupported: bool,
    ) -> None:
        self.source = source
        self.builder = builder
        self.byte_order = byte_order
        self.inline_limit = inline_limit
        self.skip_unsupported = skip_unsupported
        self.skipped: dict[str, str] = {}
        self.names: set[str] = set()

    def add_element(self, offset: int, element: _Element) -> None:
        """Add the variable of the top-level ``element`` at ``offset`` (``miMATRIX`` or ``miCOMPRESSED``)."""
        where = f"{self.source.url}: variable at offset {offset}"
        if element.data_type == _MI_MATRIX:
            data: _Bytes = _FileBytes(self.source)
            matrix = element
        elif element.data_type == _MI_COMPRESSED:
            data = _InflatedBytes(self.source.read_range(element.data_offset, element.size))
            matrix = _read_tag(data, 0, self.byte_order, where)
            if matrix.data_type != _MI_MATRIX:
                raise MetadataError(f"{where}: its compressed element holds data type {matrix.data_type}, not a matrix")
        else:
            raise MetadataError(f"{where}: top-level element of type {element.data_type} is not a variable")
        variable = _read_variable(data, matrix.data_offset, matrix.size, self.byte_order, where)
        where = f"{self.source.url}: variable {variable.name!r}"
        if variable.name in self.names:
            raise MetadataError(f"{where} appears twice")
        self.names.add(variable.name)
        try:
            self._add_variable(variable, data, compressed=element.data_type == _MI_COMPRESSED, where=where)
        except UnsupportedFeature as error:
            if not self.skip_unsupported:
                raise
            warnings.warn(f"skipped: {error}", stacklevel=3)
            self.skipped[variable.name] = str(error)

    def _add_variable(self, variable: _Variable, data: _Bytes, *, compressed: bool, where: str) -> None:
        if not variable.name or variable.name.startswith("__") or "/" in variable.name:
            raise UnsupportedFeature(f"{where}: the name cannot name a Zarr array")
        if variable.array_class == _CHAR_CLASS:
            self._add_char(variable, data, where)
            return
        if variable.array_class not in _NUMERIC_CLASSES:
            raise UnsupportedFeature(f"{where}: MATLAB class {variable.class_name!r} is not supported")
        assert variable.real is not None  # read for every numeric class
        class_type = "b1" if variable.flags & _FLAG_LOGICAL else _NUMERIC_CLASSES[variable.array_class]
        if variable.imaginary is not None:
            if class_type not in ("f4", "f8"):
                raise UnsupportedFeature(f"{where}: complex {variable.class_name} (complex integers) is not supported")
            class_type = {"f4": "c8", "f8": "c16"}[class_type]
        dtype = np.dtype(class_type).newbyteorder(self.byte_order) if class_type != "b1" else np.dtype(bool)
        real_type = self._stored_type(variable.real, where)
        real_range = _data_range(variable.real, real_type, variable.dims, where)
        if variable.imaginary is not None or compressed:
            self._check_inline_size(math.prod(variable.dims) * dtype.itemsize, where)  # before inflating it all
            values = np.frombuffer(data.read(*real_range, where), real_type)
            if variable.imaginary is not None:
                imaginary_type = self._stored_type(variable.imaginary, where)
                imaginary_range = _data_range(variable.imaginary, imaginary_type, variable.dims, where)
                values = values + 1j * np.frombuffer(data.read(*imaginary_range, where), imaginary_type)
            self._add_inline(variable, dtype, values.astype(dtype), where)
            return
        filters = []
        if real_type != dtype and not (dtype.kind == "b" and real_type.itemsize == 1):
            filters = [numcodecs.AsType(encode_dtype=real_type.str, decode_dtype=dtype.str)]
        self._add_array(variable, dtype, filters=filters, compressors=[])
        offset, length = real_range
        if length:
            self.builder.add_chunk(variable.name, (0,) * len(variable.dims), Reference(self.source.url, offset, length))

    def _stored_type(self, element: _Element, where: str) -> np.dtype:
        """The type the numbers of ``element`` are stored in; MetadataError for a non-numeric element type."""
        code = _NUMERIC_TYPES.get(element.data_type)
        if code is None:
            raise MetadataError(f"{where}: its data has element type {element.data_type}, which holds no numbers")
        return np.dtype(code).newbyteorder(self.byte_order)

    def _add_array(self, variable: _Variable, dtype: np.dtype, **codecs: Any) -> None:
        self.builder.add_array(
            variable.name,
            shape=variable.dims,
            dtype=dtype,
            chunks=tuple(max(1, n) for n in variable.dims),
            order="F",
            attributes=_attributes(variable),
            **codecs,
        )

    def _add_inline(self, variable: _Variable, dtype: np.dtype, values: np.ndarray, where: str) -> None:
        """Add ``variable`` with ``values`` (its elements in column-major order) as one inline zlib chunk."""
        compressor = numcodecs.Zlib()
        self._add_array(variable, dtype, filters=[], compressors=[compressor])
        if values.size:
            chunk_coords = (0,) * len(variable.dims)
            self.builder.add_chunk(variable.name, chunk_coords, compressor.encode(values.tobytes()))

    def _check_inline_size(self, size: int, where: str) -> None:
        if size > self.inline_limit:
            raise UnsupportedFeature(
                f"{where}: its {size} bytes of data cannot be referenced in place (compressed, complex or "
                f"characters) and exceed inline_limit={self.inline_limit}"
            )

    def _add_char(self, variable: _Variable, data: _Bytes, where: str) -> None:
        """A char matrix as fixed-width strings, one per row, inline."""
        assert variable.real is not None  # read for char arrays
        if len(variable.dims) != 2:
            raise UnsupportedFeature(f"{where}: char arrays of {len(variable.dims)} dimensions are not supported")
        rows, columns = variable.dims
        encoding = _CHAR_ENCODINGS.get(variable.real.data_type)
        if encoding is None:
            raise MetadataError(f"{where}: its characters have element type {variable.real.data_type}")
        self._check_inline_size(rows * columns * 4, where)
        raw = data.read(variable.real.data_offset, variable.real.size, where)
        if encoding in ("u2", "u4"):
            codes = np.frombuffer(raw, np.dtype(encoding).newbyteorder(self.byte_order)).astype("<u4")
        else:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as error:
                raise MetadataError(f"{where}: its characters are not valid {encoding}: {error}") from error
            codes = np.frombuffer(text.encode("utf-32-le"), "<u4")
        if codes.size != rows * columns:
            raise MetadataError(f"{where}: it holds {codes.size} characters for dimensions {variable.dims}")
        dtype = np.dtype(f"<U{max(columns, 1)}")
        by_row = np.zeros((rows, max(columns, 1)), "<u4")
        by_row[:, :columns] = codes.reshape((rows, columns), order="F")
        strings = by_row.view(dtype).reshape(rows)
        compressor = numcodecs.Zlib()
        self.builder.add_array(
            variable.name, shape=(rows,), dtype=dtype, chunks=(max(rows, 1),), attributes=_attributes(variable),
            filters=[], compressors=[compressor],
        )
        if rows:
            self.builder.add_chunk(variable.name, (0,), compressor.encode(strings.tobytes()))


def _attributes(variable: _Variable) -> dict[str, Any]:
    attributes: dict[str, Any] = {"matlab_class": variable.class_name}
    if variable.flags & _FLAG_GLOBAL:
        attributes["global"] = True
    return attributes


def _data_range(element: _Element, stored_type: np.dtype, dims: tuple[int, ...], where: str) -> tuple[int, int]:
    """``(offset, length)`` of the data of ``element``; MetadataError when it does not hold ``dims`` values."""
    expected = math.prod(dims) * stored_type.itemsize
    if element.size != expected:
        raise MetadataError(
            f"{where}: its data holds {element.size} bytes, but {dims} values of {stored_type.itemsize} bytes "
            f"need {expected}"
        )
    return element.data_offset, element.size
