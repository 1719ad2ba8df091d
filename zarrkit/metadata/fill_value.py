"""Fill values: the value of array elements that no chunk holds, and their JSON forms.

In memory a fill value is a NumPy scalar of the array's dtype (``np.float32``, ``np.void`` for
structured types, ``np.bytes_``...), a Python ``str`` or ``bytes`` for variable-length types, or
None (Zarr v2 ``null``: no fill value given). Floats keep their exact bits, so a NaN with a
payload written as ``"0x7fc00001"`` comes back with the same bits.

JSON forms, as the specifications and zarr-python write them:

- bool: ``true``/``false``; integers: numbers; datetimes: the int64 count (``NaT`` is ``-2**63``).
- floats: numbers, ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, and in v3 also the hex bit pattern
  ``"0x7fc00000"``; complex: ``[real, imag]`` with each part in any float form.
- fixed-length bytes, raw bytes (v2), structured types and variable-length bytes: base64 strings
  (fixed-length bytes with their trailing NULs, as tensorstore requires; zarr-python reads both);
  fixed-length unicode and variable-length strings: plain strings; v3 ``r<N>``: a list of bytes.

Read but never written: base64 for v3 raw types (zarr-python's ``raw_bytes``), ``"NaT"`` for
datetimes, and the ``struct`` extension's ``{"field": value}`` object for structured types.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError

from ._common import describe_node, is_integral_number, is_json_int
from .dtypes import DataType

FillValue = np.generic | str | bytes | None

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_NAT = -(2**63)


def parse_fill_value(value: Any, data_type: DataType, *, zarr_format: int, path: str) -> FillValue:
    """Parse the JSON ``fill_value`` of the array at ``path`` into a value of ``data_type``.

    Returns a NumPy scalar of ``data_type.dtype``, a str or bytes for variable-length types, or
    None for a v2 ``null``. Raises MetadataError naming the array when the value does not fit the
    data type or uses a form the format does not allow.
    """
    where = f"{describe_node('array', path)}: field 'fill_value'"
    if value is None:
        if zarr_format == 2:
            return None
        raise MetadataError(f"{where} must not be null in Zarr v3")
    if data_type.vlen is not None:
        return _parse_vlen(value, data_type, zarr_format=zarr_format, where=where)
    try:
        return _parse_fixed(value, data_type.dtype, zarr_format=zarr_format, where=where)
    except MetadataError:
        raise
    except (TypeError, ValueError, OverflowError) as error:
        raise MetadataError(f"{where}: {value!r} is not a valid {data_type.dtype} value ({error})") from None


def _parse_vlen(value: Any, data_type: DataType, *, zarr_format: int, where: str) -> str | bytes | None:
    if zarr_format == 2 and is_json_int(value) and value == 0:
        # zarr-python 2 wrote 0 as the default fill value of object arrays; it means "none given".
        return None
    if not isinstance(value, str):
        raise MetadataError(f"{where}: expected a string for variable-length {data_type.vlen}, got {value!r}")
    if data_type.vlen == "string":
        return value
    return _decode_base64(value, where=where)


def _parse_fixed(value: Any, dtype: np.dtype, *, zarr_format: int, where: str) -> np.generic:
    kind = dtype.kind
    if dtype.fields is not None or kind == "V":
        return _parse_void(value, dtype, zarr_format=zarr_format, where=where)
    if kind == "b":
        if isinstance(value, bool) or (zarr_format == 2 and is_json_int(value) and value in (0, 1)):
            return np.bool_(value)
        raise MetadataError(f"{where}: expected true or false, got {value!r}")
    if kind in "iu":
        return _parse_integer(value, dtype, where=where)
    if kind == "f":
        return _parse_float(value, dtype.itemsize, zarr_format=zarr_format, where=where)
    if kind == "c":
        return _parse_complex(value, dtype, zarr_format=zarr_format, where=where)
    if kind in "Mm":
        if value == "NaT":
            value = _NAT
        if not is_json_int(value) or not -(2**63) <= value < 2**63:
            raise MetadataError(f"{where}: expected a 64-bit integer or 'NaT' for {dtype}, got {value!r}")
        return np.int64(value).view(dtype.newbyteorder("="))
    if kind == "S":
        raw = _decode_base64(value, where=where) if isinstance(value, str) else None
        if raw is None or len(raw) > dtype.itemsize:
            raise MetadataError(
                f"{where}: expected base64 of at most {dtype.itemsize} bytes for {dtype}, got {value!r}"
            )
        return np.bytes_(raw)
    if kind == "U":
        if not isinstance(value, str) or len(value) > dtype.itemsize // 4:
            raise MetadataError(
                f"{where}: expected a string of at most {dtype.itemsize // 4} characters for {dtype}, "
                f"got {value!r}"
            )
        return np.str_(value)
    raise MetadataError(f"{where}: data type {dtype} has no fill value form")


def _parse_integer(value: Any, dtype: np.dtype, *, where: str) -> np.generic:
    info = np.iinfo(dtype)
    if not is_integral_number(value) or not info.min <= int(value) <= info.max:
        raise MetadataError(f"{where}: expected an integer in [{info.min}, {info.max}], got {value!r}")
    return dtype.type(int(value))


def _parse_float(value: Any, itemsize: int, *, zarr_format: int, where: str) -> np.floating:
    float_type = np.dtype(f"f{itemsize}").type
    if isinstance(value, str):
        if value in _SPECIAL_FLOATS:
            return float_type(_SPECIAL_FLOATS[value])
        if zarr_format == 3 and value.startswith("0x"):
            return _parse_hex_float(value, itemsize, where=where)
        forms = "'NaN', 'Infinity', '-Infinity'" + (" or a hex bit pattern" if zarr_format == 3 else "")
        raise MetadataError(f"{where}: {value!r} is not a float; expected a number, {forms}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with np.errstate(over="ignore"):
            return float_type(float(value))
    raise MetadataError(f"{where}: {value!r} is not a float")


def _parse_hex_float(value: str, itemsize: int, *, where: str) -> np.floating:
    digits = value[2:]
    if len(digits) != 2 * itemsize or not all(c in "0123456789abcdefABCDEF" for c in digits):
        raise MetadataError(
            f"{where}: expected '0x' and {2 * itemsize} hex digits for a {8 * itemsize}-bit float, "
            f"got {value!r}"
        )
    return np.dtype(f"u{itemsize}").type(int(digits, 16)).view(np.dtype(f"f{itemsize}"))


def _parse_complex(value: Any, dtype: np.dtype, *, zarr_format: int, where: str) -> np.complexfloating:
    if not isinstance(value, list) or len(value) != 2:
        raise MetadataError(f"{where}: expected [real, imag] for {dtype}, got {value!r}")
    part_size = dtype.itemsize // 2
    parts = [_parse_float(part, part_size, zarr_format=zarr_format, where=where) for part in value]
    return _complex_from_parts(parts, dtype)


def _complex_from_parts(parts: list[np.floating], dtype: np.dtype) -> np.complexfloating:
    """The complex scalar of ``dtype`` made of the float scalars ``[real, imag]`` of half its size."""
    # Assemble through a byte view so NaN payloads in either part survive untouched.
    part_size = dtype.itemsize // 2
    return np.array(parts, dtype=f"f{part_size}").view(f"c{dtype.itemsize}")[0]


def _parse_void(value: Any, dtype: np.dtype, *, zarr_format: int, where: str) -> np.void:
    if isinstance(value, str):
        raw = _decode_base64(value, where=where)
    elif zarr_format == 3 and isinstance(value, list) and dtype.fields is None:
        if not all(is_json_int(byte) and 0 <= byte <= 255 for byte in value):
            raise MetadataError(f"{where}: expected a list of byte values for {dtype}, got {value!r}")
        raw = bytes(value)
    elif zarr_format == 3 and isinstance(value, Mapping) and dtype.fields is not None:
        return _parse_struct_object(value, dtype, where=where)
    else:
        raise MetadataError(f"{where}: expected a base64 string for {dtype}, got {value!r}")
    if len(raw) != dtype.itemsize:
        raise MetadataError(f"{where} holds {len(raw)} bytes; the data type {dtype} has {dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype)[0]


def _parse_struct_object(value: Mapping[str, Any], dtype: np.dtype, *, where: str) -> np.void:
    """A structured fill value in the ``struct`` extension's form ``{field: fill value}``."""
    if set(value) != set(dtype.names):
        expected = list(dtype.names)
        raise MetadataError(f"{where}: expected values for exactly the fields {expected}, got {value!r}")
    record = np.zeros((), dtype=dtype)
    for name in dtype.names:
        field_dtype = dtype.fields[name][0]
        record[name] = _parse_fixed(value[name], field_dtype, zarr_format=3, where=f"{where}: field {name!r}")
    return record[()]


def _decode_base64(value: str, *, where: str) -> bytes:
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise MetadataError(f"{where}: {value!r} is not valid base64") from None


# --- Serialization --------------------------------------------------------------------------------


def fill_value_json(value: FillValue, data_type: DataType, *, zarr_format: int) -> Any:
    """The JSON form of the fill value ``value`` of ``data_type`` in ``zarr_format``.

    Floats are written exactly: ``"NaN"`` for the canonical NaN, and in v3 the hex bit pattern
    for any other NaN (v2 has no such form, so a NaN payload is lost there). Raises MetadataError
    for a None fill value in v3 or a value that does not fit the data type.
    """
    if value is None:
        if zarr_format == 2:
            return None
        raise MetadataError("a Zarr v3 array needs a fill value; null is not allowed")
    value = fill_value_from_user(value, data_type)
    if data_type.vlen == "string":
        return value
    if data_type.vlen == "bytes":
        return base64.b64encode(value).decode("ascii")
    dtype = data_type.dtype
    kind = dtype.kind
    if dtype.fields is not None or (kind == "V" and zarr_format == 2):
        return base64.b64encode(value.tobytes()).decode("ascii")
    if kind == "V":
        return list(value.tobytes())
    if kind == "b":
        return bool(value)
    if kind in "iu":
        return int(value)
    if kind == "f":
        return _float_json(value, zarr_format=zarr_format)
    if kind == "c":
        parts = np.array([value], dtype=dtype.newbyteorder("=")).view(f"f{dtype.itemsize // 2}")
        return [_float_json(part, zarr_format=zarr_format) for part in parts]
    if kind in "Mm":
        return int(value.view(np.int64))
    if kind == "S":
        # All itemsize bytes, trailing NULs included: tensorstore refuses a shorter base64 value.
        return base64.b64encode(np.array(value, dtype=dtype).tobytes()).decode("ascii")
    return str(value)


def _float_json(value: np.floating, *, zarr_format: int) -> float | str:
    if math.isnan(value):
        if zarr_format == 2 or _bits(value) == _bits(type(value)(math.nan)):
            return "NaN"
        return "0x" + format(_bits(value), f"0{2 * value.itemsize}x")
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return float(value)


def _bits(value: np.floating) -> int:
    return int(value.view(np.dtype(f"u{value.itemsize}")))


# --- Defaults, user values and comparison ---------------------------------------------------------


def default_fill_value(data_type: DataType) -> np.generic | str | bytes:
    """What a missing chunk reads as when no fill value is given (a v2 ``null``).

    Zero of the dtype (all zero bytes for fixed-length and structured types), ``NaT`` for
    datetimes and timedeltas, and ``""`` or ``b""`` for variable-length types, as zarr-python reads
    them.
    """
    if data_type.vlen == "string":
        return ""
    if data_type.vlen == "bytes":
        return b""
    dtype = data_type.dtype
    if dtype.kind in "Mm":
        return np.int64(_NAT).view(dtype.newbyteorder("="))
    return np.zeros((), dtype=dtype)[()]


def fill_value_from_user(value: Any, data_type: DataType, *, path: str | None = None) -> FillValue:
    """Convert a fill value given in Python (``0``, ``np.nan``, ``"x"``, ``b"x"``, a tuple for a
    structured type, ``[real, imag]`` for a complex type...) into the in-memory form of
    ``data_type``; None stays None.

    Values that are already NumPy scalars of the dtype keep their exact bits. Raises MetadataError
    naming the array at ``path`` when the value does not fit: anything but one value (a list,
    tuple or array of several), a fractional or out-of-range integer, a bool or a string for a
    number type, a string too long for a fixed-length type, bytes of the wrong size for a raw or
    structured type.
    """
    if value is None:
        return None
    dtype = data_type.dtype
    if data_type.vlen is None and isinstance(value, np.generic) and value.dtype == dtype:
        return value
    where = f"{describe_node('array', path)}: fill value {value!r}"
    if data_type.vlen == "string":
        if isinstance(value, str):
            return str(value)
        raise MetadataError(f"{where} must be a str for a variable-length string array")
    if data_type.vlen == "bytes":
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise MetadataError(f"{where} must be bytes for a variable-length bytes array")
    try:
        return _fixed_from_user(value, dtype, where=where)
    except MetadataError:
        raise
    except (TypeError, ValueError, OverflowError) as error:
        raise MetadataError(f"{where} does not fit the data type {dtype} ({error})") from None


_REAL_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _fixed_from_user(value: Any, dtype: np.dtype, *, where: str) -> np.generic:
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise MetadataError(f"{where} must be one value, not an array of shape {value.shape}")
        value = value[()]
    kind = dtype.kind
    if kind in "iu":
        # np.array() would silently truncate 2.5 to 2 and wrap a bool to 1; refuse both.
        numeric = isinstance(value, _REAL_NUMBER_TYPES)
        if isinstance(value, (bool, np.bool_)) or not numeric or not float(value).is_integer():
            raise MetadataError(f"{where} is not a whole number for {dtype}")
        return _parse_integer(int(value), dtype, where=where)
    if kind in "fc":
        return _float_from_user(value, dtype, where=where)
    if kind == "b" and not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
        raise MetadataError(f"{where} is not a boolean")
    if kind in "SV" and isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        fits = len(raw) <= dtype.itemsize if kind == "S" else len(raw) == dtype.itemsize
        if not fits:
            raise MetadataError(f"{where} has {len(raw)} bytes; the data type {dtype} holds {dtype.itemsize}")
        return np.bytes_(raw) if kind == "S" else np.frombuffer(raw, dtype=dtype)[0]
    if kind in "SU" and isinstance(value, str):
        length = len(value) if kind == "U" else len(value.encode())
        limit = dtype.itemsize // 4 if kind == "U" else dtype.itemsize
        if length > limit:
            raise MetadataError(f"{where} is longer than the {limit} characters of {dtype}")
    if isinstance(value, list):
        # NumPy reads a tuple, not a list, as one structured record.
        value = tuple(value)
    with np.errstate(over="ignore"):
        converted = np.array(value, dtype=dtype)
    if converted.ndim != 0:
        raise MetadataError(f"{where} must be one value of {dtype}, not a sequence of {converted.size}")
    return converted[()]


def _float_from_user(value: Any, dtype: np.dtype, *, where: str) -> np.inexact:
    """A float or complex fill value from a Python or NumPy number (or ``[real, imag]`` for complex).

    Strings and bools are refused: NumPy would read ``"1.5"`` as a number and ``True`` as 1.
    """
    if isinstance(value, (list, tuple)):
        if dtype.kind == "f" or len(value) != 2:
            form = "one number" if dtype.kind == "f" else "one number or [real, imag]"
            raise MetadataError(f"{where} must be {form} for {dtype}, not a sequence of {len(value)}")
        part_dtype = np.dtype(f"f{dtype.itemsize // 2}")
        parts = [_float_from_user(part, part_dtype, where=where) for part in value]
        return _complex_from_parts(parts, dtype)
    numbers = _REAL_NUMBER_TYPES + ((complex, np.complexfloating) if dtype.kind == "c" else ())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers):
        raise MetadataError(f"{where} is not a number for {dtype}")
    with np.errstate(over="ignore"):
        return np.array(value, dtype=dtype)[()]


def fill_value_key(value: FillValue, data_type: DataType) -> bytes | str | None:
    """A key that is equal for two fill values exactly when their bits are equal.

    NaN never equals NaN, so metadata compares fill values through this key.
    """
    if value is None or data_type.vlen is not None:
        return value
    return np.array(value, dtype=data_type.dtype).tobytes()
