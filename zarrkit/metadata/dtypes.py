"""Zarr data types: the NumPy dtype an array holds, and how each format names it.

A :class:`DataType` is a NumPy dtype plus, for the object dtype, which variable-length kind it
holds (strings or bytes). Zarr v2 names data types with NumPy type strings (``"<f8"``, ``"|S12"``,
lists for structured types); Zarr v3 names them with the identifiers of the core specification
(``"float64"``, ``"r16"``) and of registered extensions (``"string"``, ``"numpy.datetime64"``...).

The dtype of a v2 array keeps the byte order of its ``dtype`` field, because that is the layout of
the chunks on disk. A v3 data type has no byte order (the ``bytes`` codec holds it), so the dtype
of a v3 array is always in native byte order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zarrkit.errors import MetadataError, UnsupportedFeature

from ._common import describe_node, is_json_int, parse_named_object

VlenKind = Literal["string", "bytes"]

# The v3 core data types; each is stored in memory as the native-order NumPy dtype of that name.
_V3_CORE_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
_V3_CORE_DTYPES = {name: np.dtype(name) for name in _V3_CORE_NAMES}
_V3_NAME_OF_DTYPE = {dtype: name for name, dtype in _V3_CORE_DTYPES.items()}

_V3_STRING_NAMES = ("string",)
# zarr-python writes "variable_length_bytes"; the registered extension name is "bytes".
_V3_BYTES_NAMES = ("bytes", "variable_length_bytes")
_V3_DATETIME_NAMES = {
    "numpy.datetime64": "M",
    "datetime64": "M",
    "numpy.timedelta64": "m",
    "timedelta64": "m",
}
_V3_STRUCT_NAMES = ("structured", "struct")
_RAW_BITS = re.compile(r"r([1-9][0-9]*)")
_DATETIME_UNITS = ("Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic")

OBJECT_CODECS: dict[str, VlenKind] = {"vlen-utf8": "string", "vlen-bytes": "bytes"}
"""The Zarr v2 object codecs zarrkit reads and writes, with the variable-length kind each stores.

A v2 object (``"|O"``) array names one of them among its filters; it defines what the elements are.
"""

UNSUPPORTED_OBJECT_CODECS = ("vlen-array", "json", "json2", "msgpack", "msgpack2", "pickle")
"""The other numcodecs object codecs: a v2 array that uses one is refused (UnsupportedFeature)."""

# Float and complex sizes that Zarr can store (no long double).
_FLOAT_SIZES = {"f": (2, 4, 8), "c": (8, 16)}

# NumPy 2's variable-length string dtype, which users may pass for "variable-length strings".
_NUMPY_STRING_DTYPE = getattr(np.dtypes, "StringDType", None)


@dataclass(frozen=True)
class DataType:
    """The data type of an array's elements.

    ``dtype`` is the in-memory NumPy dtype; it is the object dtype (``'O'``) exactly when ``vlen``
    says which variable-length kind the elements are. Construction raises MetadataError when the
    two disagree.
    """

    dtype: np.dtype
    vlen: VlenKind | None = None

    def __post_init__(self) -> None:
        try:
            dtype = np.dtype(self.dtype)
        except (TypeError, ValueError) as error:
            raise MetadataError(f"not a NumPy dtype: {self.dtype!r} ({error})") from None
        object.__setattr__(self, "dtype", dtype)
        if self.vlen not in (None, "string", "bytes"):
            raise MetadataError(f"vlen must be 'string', 'bytes' or None, got {self.vlen!r}")
        if (self.vlen is not None) != (dtype.kind == "O"):
            raise MetadataError(
                f"data type {dtype} with vlen={self.vlen!r}: the object dtype holds exactly the "
                "variable-length kinds"
            )

    def __str__(self) -> str:
        if self.vlen is not None:
            return f"variable-length {self.vlen}"
        return str(self.dtype)


STRING = DataType(np.dtype(object), "string")
BYTES = DataType(np.dtype(object), "bytes")


def data_type_from_user(dtype_like: Any, *, zarr_format: int) -> DataType:
    """The data type a user asked for, checked against what ``zarr_format`` can store.

    ``str``, ``"str"`` and ``"string"`` (and NumPy's StringDType) mean variable-length strings;
    ``bytes`` and ``"bytes"`` mean variable-length bytes, and so do h5py's object dtypes marked
    ``vlen=str`` or ``vlen=bytes``; anything else goes through ``np.dtype``.
    For Zarr v3 the dtype is converted to native byte order. Raises MetadataError for what the
    format cannot store: object dtypes, long doubles, zero-length strings, subarray dtypes, and (in
    v3) structured types with padding or subarray fields.
    """
    _check_zarr_format(zarr_format)
    if isinstance(dtype_like, DataType):
        data_type = dtype_like
    elif dtype_like is str or (isinstance(dtype_like, str) and dtype_like in ("str", "string")):
        data_type = STRING
    elif dtype_like is bytes or (isinstance(dtype_like, str) and dtype_like == "bytes"):
        data_type = BYTES
    elif _NUMPY_STRING_DTYPE is not None and isinstance(dtype_like, _NUMPY_STRING_DTYPE):
        data_type = STRING
    else:
        try:
            dtype = np.dtype(dtype_like)
        except (TypeError, ValueError) as error:
            raise MetadataError(f"not a data type: {dtype_like!r} ({error})") from None
        if dtype.kind == "O":
            data_type = _object_data_type_from_user(dtype)
        else:
            data_type = DataType(dtype)
    if data_type.vlen is not None:
        return data_type
    where = f"data type {data_type.dtype}"
    _check_fixed_dtype(data_type.dtype, zarr_format=zarr_format, where=where)
    if zarr_format == 3:
        return DataType(data_type.dtype.newbyteorder("="))
    return data_type


def _object_data_type_from_user(dtype: np.dtype) -> DataType:
    # h5py marks its variable-length object dtypes with {"vlen": str} or {"vlen": bytes}.
    vlen = (dtype.metadata or {}).get("vlen")
    if vlen is str:
        return STRING
    if vlen is bytes:
        return BYTES
    raise MetadataError(
        "the object dtype is ambiguous; ask for str (variable-length strings) or bytes "
        "(variable-length bytes)"
    )


def _check_zarr_format(zarr_format: int) -> None:
    if zarr_format not in (2, 3):
        raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}")


def _check_fixed_dtype(dtype: np.dtype, *, zarr_format: int, where: str) -> None:
    """Raise MetadataError unless ``dtype`` is a fixed-size type ``zarr_format`` can store."""
    if dtype.subdtype is not None:
        raise MetadataError(
            f"{where}: subarray dtypes are not array data types; add the dimensions {dtype.shape} "
            "to the array shape instead"
        )
    if dtype.fields is not None:
        _check_structured(dtype, zarr_format=zarr_format, where=where)
        return
    kind = dtype.kind
    if kind in _FLOAT_SIZES and dtype.itemsize not in _FLOAT_SIZES[kind]:
        raise MetadataError(f"{where}: {dtype.itemsize * 8}-bit floating point types cannot be stored")
    if kind in "SUV" and dtype.itemsize == 0:
        raise MetadataError(f"{where}: fixed-length types need a length of at least 1")
    if kind == "O":
        raise MetadataError(f"{where}: the object dtype is only supported as variable-length str or bytes")
    if kind not in "biufcmMSUV":
        raise MetadataError(f"{where}: NumPy dtype kind {kind!r} cannot be stored")


def _check_structured(dtype: np.dtype, *, zarr_format: int, where: str) -> None:
    end_of_previous = 0
    for name in dtype.names:
        field_dtype, offset, *title = dtype.fields[name]
        field_where = f"{where}: field {name!r}"
        if title:
            raise MetadataError(f"{field_where}: structured field titles cannot be stored")
        if offset < end_of_previous:
            raise MetadataError(f"{field_where}: fields must be in offset order without overlap")
        if zarr_format == 3 and offset != end_of_previous:
            raise MetadataError(f"{field_where}: Zarr v3 structured types must be packed (no padding)")
        if field_dtype.subdtype is not None:
            if zarr_format == 3:
                raise MetadataError(
                    f"{field_where}: Zarr v3 cannot store the subarray shape {field_dtype.shape}; "
                    "use zarr_format=2"
                )
            _check_fixed_dtype(field_dtype.base, zarr_format=zarr_format, where=field_where)
        else:
            _check_fixed_dtype(field_dtype, zarr_format=zarr_format, where=field_where)
        end_of_previous = offset + field_dtype.itemsize
    if zarr_format == 3 and dtype.itemsize != end_of_previous:
        raise MetadataError(f"{where}: Zarr v3 structured types must be packed (no trailing padding)")


# --- Zarr v2 -------------------------------------------------------------------------------------


def parse_v2_dtype(value: Any, *, filters: Sequence[Mapping[str, Any]] | None, path: str) -> DataType:
    """Parse the ``dtype`` field of the v2 array at ``path``.

    For the object dtype ``"|O"`` the object codec among ``filters`` (``vlen-utf8`` or
    ``vlen-bytes``) decides the variable-length kind. Raises MetadataError for a malformed or
    unstorable dtype and UnsupportedFeature for object codecs zarrkit does not implement.
    """
    where = f"{describe_node('array', path)}: field 'dtype'"
    dtype = _parse_v2_type(value, where=where)
    if dtype.kind == "O":
        return _object_data_type(filters, path=path)
    _check_fixed_dtype(dtype, zarr_format=2, where=where)
    return DataType(dtype)


def _parse_v2_type(value: Any, *, where: str) -> np.dtype:
    """A dtype from a v2 type string or structured list, not yet checked for storability."""
    if isinstance(value, list):
        return _parse_v2_structured(value, where=where)
    if not isinstance(value, str):
        raise MetadataError(f"{where}: {value!r} is not a type string or a list of fields")
    try:
        return np.dtype(value)
    except (TypeError, ValueError):
        raise MetadataError(f"{where}: {value!r} is not a NumPy type string") from None


def _parse_v2_structured(fields: list[Any], *, where: str) -> np.dtype:
    """A structured dtype from the v2 list form ``[[name, type], [name, type, shape], ...]``.

    Unnamed fields (``["", "|V4"]``, as NumPy writes them) are padding.
    """
    names: list[str] = []
    formats: list[np.dtype] = []
    offsets: list[int] = []
    offset = 0
    for entry in fields:
        name, field_dtype = _parse_v2_field(entry, where=where)
        if name in names:
            raise MetadataError(f"{where}: field name {name!r} appears twice")
        if name:
            names.append(name)
            formats.append(field_dtype)
            offsets.append(offset)
        offset += field_dtype.itemsize
    if not names:
        raise MetadataError(f"{where}: a structured type needs at least one named field")
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": offset})


def _parse_v2_field(entry: Any, *, where: str) -> tuple[str, np.dtype]:
    if not (isinstance(entry, (list, tuple)) and len(entry) in (2, 3) and isinstance(entry[0], str)):
        raise MetadataError(
            f"{where}: structured field {entry!r} must be [name, type] or [name, type, shape]"
        )
    name = entry[0]
    field_where = f"{where}: field {name!r}"
    field_dtype = _parse_v2_type(entry[1], where=field_where)
    if field_dtype.kind == "O":
        raise MetadataError(f"{field_where}: object fields cannot be stored")
    if len(entry) == 3:
        shape = entry[2]
        if not isinstance(shape, (list, tuple)) or not all(is_json_int(n) and n >= 0 for n in shape):
            raise MetadataError(f"{field_where} has shape {shape!r}, not a list of integers")
        field_dtype = np.dtype((field_dtype, tuple(shape)))
    return name, field_dtype


def _object_data_type(filters: Sequence[Mapping[str, Any]] | None, *, path: str) -> DataType:
    where = describe_node("array", path)
    for codec in filters or ():
        codec_id = codec.get("id")
        if codec_id in OBJECT_CODECS:
            return DataType(np.dtype(object), OBJECT_CODECS[codec_id])
        if codec_id in UNSUPPORTED_OBJECT_CODECS:
            raise UnsupportedFeature(f"{where}: the object codec {codec_id!r} is not supported")
    raise MetadataError(
        f"{where}: field 'dtype' is the object dtype '|O' but field 'filters' names no object codec "
        f"({' or '.join(OBJECT_CODECS)})"
    )


def v2_dtype_json(data_type: DataType) -> str | list[Any]:
    """The v2 ``dtype`` field for ``data_type``: a type string with explicit byte order, or a list."""
    if data_type.vlen is not None:
        return "|O"
    if data_type.dtype.fields is not None:
        return _descr_to_json(data_type.dtype.descr)
    return data_type.dtype.str


def v2_object_codec_id(data_type: DataType) -> str | None:
    """The v2 object codec (first filter) a variable-length data type needs, else None."""
    for codec_id, vlen in OBJECT_CODECS.items():
        if data_type.vlen == vlen:
            return codec_id
    return None


def _descr_to_json(descr: list[tuple[Any, ...]]) -> list[list[Any]]:
    fields = []
    for name, field_type, *shape in descr:
        entry: list[Any] = [name, _descr_to_json(field_type) if isinstance(field_type, list) else field_type]
        if shape:
            entry.append(list(shape[0]))
        fields.append(entry)
    return fields


# --- Zarr v3 -------------------------------------------------------------------------------------


def parse_v3_data_type(value: Any, *, path: str) -> DataType:
    """Parse the ``data_type`` field of the v3 array at ``path``.

    Reads the core types, ``r<N>``, ``string``, ``bytes`` (also as ``variable_length_bytes``),
    ``numpy.datetime64``/``numpy.timedelta64`` (also without the ``numpy.`` prefix),
    ``null_terminated_bytes``, ``fixed_length_utf32``, ``raw_bytes``, and structured types
    (``structured`` as zarr-python writes it, and the registered ``struct``). Raises MetadataError
    for anything else; a data type cannot be made optional with ``must_understand: false``.
    """
    array = describe_node("array", path)
    data_type = _parse_v3(value, where=array, field="data_type")
    if data_type.vlen is None:
        _check_fixed_dtype(data_type.dtype, zarr_format=3, where=f"{array}: field 'data_type'")
    return data_type


def _parse_v3(value: Any, *, where: str, field: str) -> DataType:
    """The data type that ``value``, the member ``field`` of what ``where`` names, describes."""
    data_type = parse_named_object(value, where=where, field=field)
    name, configuration = data_type["name"], data_type["configuration"]
    field_where = f"{where}: field '{field}'"
    if name in _V3_CORE_DTYPES:
        _expect_configuration(configuration, set(), name=name, where=field_where)
        return DataType(_V3_CORE_DTYPES[name])
    raw_bits = _RAW_BITS.fullmatch(name)
    if raw_bits:
        _expect_configuration(configuration, set(), name=name, where=field_where)
        bits = int(raw_bits.group(1))
        if bits % 8:
            raise MetadataError(f"{field_where}: raw data type {name!r} must have a multiple of 8 bits")
        return DataType(np.dtype(f"V{bits // 8}"))
    if name in _V3_STRING_NAMES:
        _expect_configuration(configuration, set(), name=name, where=field_where)
        return STRING
    if name in _V3_BYTES_NAMES:
        _expect_configuration(configuration, set(), name=name, where=field_where)
        return BYTES
    if name in _V3_DATETIME_NAMES:
        return DataType(_parse_v3_datetime(name, configuration, where=field_where))
    if name in ("null_terminated_bytes", "fixed_length_utf32", "raw_bytes"):
        _expect_configuration(configuration, {"length_bytes"}, name=name, where=field_where)
        return DataType(_parse_v3_fixed_length(name, configuration["length_bytes"], where=field_where))
    if name in _V3_STRUCT_NAMES:
        _expect_configuration(configuration, {"fields"}, name=name, where=field_where)
        return DataType(_parse_v3_fields(configuration["fields"], where=field_where))
    raise MetadataError(f"{field_where}: unknown data type {name!r}")


def _expect_configuration(
    configuration: Mapping[str, Any], members: set[str], *, name: str, where: str
) -> None:
    if set(configuration) != members:
        expected = f"the members {sorted(members)}" if members else "no configuration"
        raise MetadataError(
            f"{where}: data type {name!r} takes {expected}, got configuration {dict(configuration)!r}"
        )


def _parse_v3_datetime(name: str, configuration: Mapping[str, Any], *, where: str) -> np.dtype:
    _expect_configuration(configuration, {"unit", "scale_factor"}, name=name, where=where)
    unit, scale_factor = configuration["unit"], configuration["scale_factor"]
    if unit == "μs":
        unit = "us"
    if unit not in _DATETIME_UNITS:
        raise MetadataError(f"{where}: {name!r} unit must be one of {list(_DATETIME_UNITS)}, got {unit!r}")
    if not (is_json_int(scale_factor) and 1 <= scale_factor < 2**31):
        raise MetadataError(
            f"{where}: {name!r} scale_factor must be an integer in [1, 2**31), got {scale_factor!r}"
        )
    letter = _V3_DATETIME_NAMES[name]
    if unit == "generic":
        return np.dtype(f"{letter}8")
    return np.dtype(f"{letter}8[{scale_factor}{unit}]")


def _parse_v3_fixed_length(name: str, length_bytes: Any, *, where: str) -> np.dtype:
    if not (is_json_int(length_bytes) and length_bytes >= 1):
        raise MetadataError(
            f"{where}: {name!r} length_bytes must be a positive integer, got {length_bytes!r}"
        )
    if name == "null_terminated_bytes":
        return np.dtype(f"S{length_bytes}")
    if name == "raw_bytes":
        return np.dtype(f"V{length_bytes}")
    if length_bytes % 4:
        raise MetadataError(
            f"{where}: 'fixed_length_utf32' length_bytes must be a multiple of 4, got {length_bytes}"
        )
    return np.dtype(f"U{length_bytes // 4}")


def _parse_v3_fields(fields: Any, *, where: str) -> np.dtype:
    """A packed structured dtype from ``[[name, type], ...]`` or ``[{"name", "data_type"}, ...]``."""
    if not isinstance(fields, list) or not fields:
        raise MetadataError(f"{where}: structured 'fields' must be a non-empty list, got {fields!r}")
    names: list[str] = []
    formats: list[np.dtype] = []
    for entry in fields:
        if isinstance(entry, Mapping) and set(entry) == {"name", "data_type"}:
            name, field_type = entry["name"], entry["data_type"]
        elif isinstance(entry, (list, tuple)) and len(entry) == 2:
            name, field_type = entry
        else:
            raise MetadataError(f"{where}: structured field {entry!r} must be [name, data_type]")
        if not isinstance(name, str) or not name:
            raise MetadataError(f"{where}: structured field name {name!r} must be a non-empty string")
        if name in names:
            raise MetadataError(f"{where}: structured field name {name!r} appears twice")
        field_type = _parse_v3(field_type, where=where, field=name)
        if field_type.vlen is not None:
            raise MetadataError(f"{where}: field {name!r}: variable-length fields cannot be stored")
        names.append(name)
        formats.append(field_type.dtype)
    return np.dtype(list(zip(names, formats)))


def v3_data_type_json(data_type: DataType) -> str | dict[str, Any]:
    """The v3 ``data_type`` field for ``data_type``.

    Writes core names, ``r<N>`` for plain void types, ``string`` and ``bytes`` for the
    variable-length kinds, and zarr-python's forms for the other extensions. Raises MetadataError
    for a dtype v3 cannot store.
    """
    if data_type.vlen == "string":
        return "string"
    if data_type.vlen == "bytes":
        return "bytes"
    dtype = data_type.dtype
    _check_fixed_dtype(dtype, zarr_format=3, where=f"data type {dtype}")
    return _fixed_v3_json(dtype)


def _fixed_v3_json(dtype: np.dtype) -> str | dict[str, Any]:
    if dtype.fields is not None:
        fields = [[name, _fixed_v3_json(dtype.fields[name][0])] for name in dtype.names]
        return {"name": "structured", "configuration": {"fields": fields}}
    native = dtype.newbyteorder("=")
    if native in _V3_NAME_OF_DTYPE:
        return _V3_NAME_OF_DTYPE[native]
    kind = dtype.kind
    if kind in "Mm":
        unit, scale_factor = np.datetime_data(dtype)
        name = "numpy.datetime64" if kind == "M" else "numpy.timedelta64"
        return {"name": name, "configuration": {"unit": unit, "scale_factor": scale_factor}}
    if kind == "S":
        return {"name": "null_terminated_bytes", "configuration": {"length_bytes": dtype.itemsize}}
    if kind == "U":
        return {"name": "fixed_length_utf32", "configuration": {"length_bytes": dtype.itemsize}}
    return f"r{dtype.itemsize * 8}"
