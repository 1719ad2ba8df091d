"""Attributes of scanned files as Zarr attributes (JSON), the same way for every format.

Numbers stay numbers (NaN and infinities too: zarrkit writes them as the bare ``NaN`` and
``Infinity`` tokens, as zarr-python does, so ``missing_value = NaN`` stays a float), one-element
arrays become scalars (netCDF's convention), other arrays lists, text ``str``, complex numbers
``[re, im]``, enums their values, mappings objects. ``_FillValue`` is written as xarray writes it
in Zarr attributes, so xarray masks the same values whether it reads the file or the references.
"""

from __future__ import annotations

import base64
import enum
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_attribute(value: Any) -> Any:
    """``value`` as a JSON value (see the module docs). Bytes are UTF-8 text, or Latin-1 when they
    are not UTF-8 (every byte one character, nothing lost), without the trailing NUL bytes that
    some writers add. Raises TypeError for what JSON cannot hold (object references)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00")
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            return text.decode("latin-1")
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, enum.Enum):
        return json_attribute(value.value)
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind == "O" and array.size and not isinstance(array.reshape(-1)[0], bytes | str):
            raise TypeError(f"a {type(array.reshape(-1)[0]).__name__} has no JSON form")
        return json_attribute(array.reshape(()).item() if array.size == 1 else array.tolist())
    if isinstance(value, list | tuple):
        return [json_attribute(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): json_attribute(item) for key, item in value.items()}
    raise TypeError(f"a {type(value).__name__} has no JSON form")


def xarray_fill_value(value: Any, dtype: np.dtype) -> Any:
    """``_FillValue`` as xarray writes it in Zarr attributes: floats as base64 of a little-endian
    double, complex numbers as two of those, bytes as base64, integers and booleans as they are."""
    scalar = np.asarray(value).reshape(-1)[0] if np.size(value) else value
    if dtype.kind == "f":
        return _base64_double(float(scalar))
    if dtype.kind == "c":
        return [_base64_double(float(scalar.real)), _base64_double(float(scalar.imag))]
    if dtype.kind == "S":
        text = scalar.encode("utf-8") if isinstance(scalar, str) else bytes(scalar)
        return base64.standard_b64encode(text).decode("ascii")
    if dtype.kind == "b":
        return bool(scalar)
    if dtype.kind in "iu":
        return int(scalar)
    return json_attribute(scalar)


def _base64_double(value: float) -> str:
    return base64.standard_b64encode(struct.pack("<d", value)).decode("ascii")
