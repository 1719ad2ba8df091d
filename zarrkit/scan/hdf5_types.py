"""HDF5 data types, fill values and attributes in their Zarr form, for the HDF5 scanner.

:func:`zarr_dtype` says which Zarr data type a dataset gets (its byte order kept, h5py's
annotations dropped, variable-length strings as ``str``) and refuses what Zarr cannot hold;
:func:`hdf5_fill_value` is the value unwritten chunks read as; :func:`zarr_attributes` copies the
attributes of a group or dataset as JSON values, leaving out those that implement dimension scales
and netCDF4 bookkeeping (:data:`HIDDEN_ATTRIBUTES`). The functions that need h5py take the module,
which :mod:`zarrkit.scan.hdf5` imports only when it scans.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import numpy as np

from zarrkit.errors import UnsupportedFeature
from zarrkit.scan.attributes import json_attribute, xarray_fill_value

HIDDEN_ATTRIBUTES = frozenset(
    {
        "CLASS",
        "DIMENSION_LIST",
        "NAME",
        "REFERENCE_LIST",
        "_Netcdf4Coordinates",
        "_Netcdf4Dimid",
        "_nc3_strict",
        "_NCProperties",
    }
)
"""Attributes that implement HDF5 dimension scales and netCDF4 bookkeeping, not user attributes."""


def zarr_dtype(h5py: ModuleType, dtype: np.dtype, where: str) -> np.dtype | type[str]:
    """The data type the array of a dataset of HDF5 type ``dtype`` gets: ``str`` for variable-length
    strings, else ``dtype`` without h5py's annotations (compound types member by member).

    Raises UnsupportedFeature, its message starting with ``where``, for object and region
    references, variable-length sequences, HDF5 array types and compound types holding
    variable-length strings: Zarr has no form for them.
    """
    string_info = h5py.check_string_dtype(dtype)
    if string_info is not None:
        return str if string_info.length is None else np.dtype(f"S{string_info.length}")
    if h5py.check_ref_dtype(dtype) is not None:
        raise UnsupportedFeature(f"{where}: object and region references have no Zarr form")
    if h5py.check_vlen_dtype(dtype) is not None:
        raise UnsupportedFeature(f"{where}: variable-length sequences have no Zarr form")
    if dtype.subdtype is not None:
        raise UnsupportedFeature(f"{where}: HDF5 array types (data type {dtype}) have no Zarr form")
    if dtype.names is None:
        return np.dtype(dtype.str)
    fields = {}
    for name in dtype.names:
        field_dtype, offset = dtype.fields[name][:2]
        if field_dtype.subdtype is not None:
            base, shape = field_dtype.subdtype
            cleaned: Any = (zarr_dtype(h5py, base, where), shape)
        else:
            cleaned = zarr_dtype(h5py, field_dtype, where)
        if cleaned is str:
            raise UnsupportedFeature(f"{where}: compound types with variable-length strings have no Zarr form")
        fields[name] = (cleaned, offset)
    return np.dtype(
        {
            "names": list(fields),
            "formats": [np.dtype(field[0]) for field in fields.values()],
            "offsets": [field[1] for field in fields.values()],
            "itemsize": dtype.itemsize,
        }
    )


def has_big_endian_fields(dtype: np.dtype | type[str]) -> bool:
    """Whether the structured type ``dtype`` has a big-endian member, at any depth (False for others)."""
    if dtype is str or dtype.names is None:
        return False
    for name in dtype.names:
        field = dtype.fields[name][0]
        base = field.subdtype[0] if field.subdtype else field
        if base.byteorder == ">" or has_big_endian_fields(base):
            return True
    return False


def hdf5_fill_value(dataset: Any, dtype: np.dtype) -> Any:
    """HDF5's fill value of ``dataset`` as a scalar of ``dtype``: what unwritten chunks read as.
    Raises NumPy's error when the fill value does not convert to ``dtype``."""
    return np.asarray(dataset.fillvalue).astype(dtype)[()]


def zarr_attributes(
    h5py: ModuleType, node: Any, where: str, dtype: np.dtype | type[str] | None = None
) -> dict[str, Any]:
    """The attributes of the group or dataset ``node`` as JSON values, without the hidden ones;
    ``_FillValue`` in xarray's encoding for the array data type ``dtype`` (None for groups).

    Raises nothing: an attribute that h5py cannot read or JSON cannot hold (references) is left out
    with a warning naming ``where`` and the attribute.
    """
    attributes: dict[str, Any] = {}
    for name in node.attrs:
        if name in HIDDEN_ATTRIBUTES:
            continue
        try:
            value = node.attrs[name]
            typed = dtype is not None and dtype is not str and not isinstance(value, h5py.Empty)
            if isinstance(value, h5py.Empty):
                attributes[name] = None
            elif name == "_FillValue" and typed:
                attributes[name] = xarray_fill_value(value, dtype)
            else:
                attributes[name] = json_attribute(value)
        except (OSError, TypeError, ValueError) as error:
            warnings.warn(f"{where}: attribute {name!r} is left out: {error}", UserWarning, stacklevel=2)
    return attributes
