"""Zarr v2 metadata: ``.zarray``, ``.zgroup`` and ``.zattrs``.

An array's metadata lives in ``.zarray`` and its user attributes in ``.zattrs``; a group's in
``.zgroup`` and ``.zattrs``. Consolidated metadata (``.zmetadata``) is parsed by
:func:`zarrkit.metadata.nodes.parse_node` and attached to the group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from zarrkit.errors import MetadataError

from ._base import ArrayMetadataBase, NodeMetadataBase
from ._common import describe_node, parse_attributes, parse_int_tuple, relocate, require_field
from .chunk_keys import ChunkKeyEncoding
from .dtypes import DataType, parse_v2_dtype, v2_dtype_json, v2_object_codec_id
from .fill_value import FillValue, default_fill_value, fill_value_from_user, fill_value_json, parse_fill_value

if TYPE_CHECKING:
    from .consolidated import ConsolidatedMetadata


@dataclass(frozen=True, eq=False)
class ArrayMetadataV2(ArrayMetadataBase):
    """The metadata of a Zarr v2 array (``.zarray`` plus the attributes of ``.zattrs``).

    Construction validates every field and raises MetadataError naming the field; the fill value
    is converted to the data type (see :func:`~zarrkit.metadata.fill_value.fill_value_from_user`)
    and an empty filter list becomes None, because it is written as ``null``.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    data_type: DataType
    fill_value: FillValue
    order: Literal["C", "F"] = "C"
    compressor: dict[str, Any] | None = None
    filters: tuple[dict[str, Any], ...] | None = None
    dimension_separator: Literal[".", "/"] = "."
    attributes: dict[str, Any] = field(default_factory=dict)
    # The JSON form of the fill value, made once: every write of the metadata needs it.
    _fill_value_json: Any = field(init=False, repr=False, compare=False)
    zarr_format: ClassVar[int] = 2

    def __post_init__(self) -> None:
        where = describe_node("array", None)
        shape = parse_int_tuple(self.shape, where=where, field="shape", minimum=0)
        chunks = parse_int_tuple(self.chunks, where=where, field="chunks", minimum=1)
        if len(chunks) != len(shape):
            raise MetadataError(
                f"{where}: field 'chunks' {list(chunks)} has {len(chunks)} dimensions; shape has {len(shape)}"
            )
        if not isinstance(self.data_type, DataType):
            raise MetadataError(f"{where}: data_type must be a DataType, got {self.data_type!r}")
        if self.order not in ("C", "F"):
            raise MetadataError(f"{where}: field 'order' must be 'C' or 'F', got {self.order!r}")
        if self.dimension_separator not in (".", "/"):
            raise MetadataError(
                f"{where}: field 'dimension_separator' must be '.' or '/', got {self.dimension_separator!r}"
            )
        filters = _parse_filters(self.filters, where=where)
        object_codec = v2_object_codec_id(self.data_type)
        if object_codec is not None and object_codec not in [codec["id"] for codec in filters or ()]:
            raise MetadataError(
                f"{where}: a variable-length {self.data_type.vlen} array needs the '{object_codec}' filter"
            )
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "chunks", chunks)
        object.__setattr__(self, "compressor", _parse_codec(self.compressor, where=where, field="compressor"))
        object.__setattr__(self, "filters", filters)
        fill_value = fill_value_from_user(self.fill_value, self.data_type)
        object.__setattr__(self, "fill_value", fill_value)
        object.__setattr__(self, "_fill_value_json", fill_value_json(fill_value, self.data_type, zarr_format=2))
        object.__setattr__(self, "attributes", parse_attributes(self.attributes, where=where))

    @cached_property
    def chunk_key_encoding(self) -> ChunkKeyEncoding:
        """The ``v2`` chunk key encoding with this array's dimension separator."""
        return ChunkKeyEncoding("v2", self.dimension_separator)

    @property
    def dimension_names(self) -> tuple[str, ...] | None:
        """The names in the ``_ARRAY_DIMENSIONS`` attribute (the xarray convention), or None."""
        names = self.attributes.get("_ARRAY_DIMENSIONS")
        if isinstance(names, list) and len(names) == self.ndim and all(isinstance(n, str) for n in names):
            return tuple(names)
        return None

    @property
    def resolved_fill_value(self) -> np.generic | str | bytes:
        """The value missing chunks read as: the fill value, or the dtype's default when null."""
        if self.fill_value is None:
            return default_fill_value(self.data_type)
        return self.fill_value

    def to_json(self) -> dict[str, Any]:
        """The ``.zarray`` document as a JSON object."""
        return {
            "zarr_format": 2,
            "shape": list(self.shape),
            "chunks": list(self.chunks),
            "dtype": v2_dtype_json(self.data_type),
            "fill_value": self._fill_value_json,
            "order": self.order,
            "compressor": self.compressor,
            "filters": list(self.filters) if self.filters else None,
            "dimension_separator": self.dimension_separator,
        }

    def to_json_documents(self) -> dict[str, dict[str, Any]]:
        """The documents of this array as JSON objects: ``.zarray``, and ``.zattrs`` if any."""
        documents = {".zarray": self.to_json()}
        if self.attributes:
            documents[".zattrs"] = self.attributes
        return documents


@dataclass(frozen=True, eq=False)
class GroupMetadataV2(NodeMetadataBase):
    """The metadata of a Zarr v2 group: its attributes and, if present, its consolidated metadata."""

    attributes: dict[str, Any] = field(default_factory=dict)
    consolidated: ConsolidatedMetadata | None = None
    node_kind: ClassVar[str] = "group"
    zarr_format: ClassVar[int] = 2

    def __post_init__(self) -> None:
        where = describe_node("group", None)
        object.__setattr__(self, "attributes", parse_attributes(self.attributes, where=where))

    def to_json_documents(self) -> dict[str, Any]:
        """The documents of this group as JSON objects: ``.zgroup``, then ``.zattrs`` and
        ``.zmetadata`` when there is something to write in them."""
        documents: dict[str, Any] = {".zgroup": {"zarr_format": 2}}
        if self.attributes:
            documents[".zattrs"] = self.attributes
        if self.consolidated is not None:
            documents[".zmetadata"] = self.consolidated.to_v2_json(self)
        return documents


def _parse_codec(value: Any, *, where: str, field: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise MetadataError(
            f"{where}: field '{field}' must be null or an object with a string 'id', got {value!r}"
        )
    return dict(value)


def _parse_filters(value: Any, *, where: str) -> tuple[dict[str, Any], ...] | None:
    if value is None:
        return None
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise MetadataError(
            f"{where}: field 'filters' must be null or a list of codec objects, got {value!r}"
        )
    filters = tuple(_parse_codec(item, where=where, field="filters") for item in value)
    if None in filters:
        raise MetadataError(f"{where}: field 'filters' must not contain null")
    return filters or None


def parse_array_v2(
    zarray: Mapping[str, Any], attributes: Mapping[str, Any] | None, *, path: str
) -> ArrayMetadataV2:
    """Parse the ``.zarray`` object (and the ``.zattrs`` object, if any) of the array at ``path``.

    Raises MetadataError naming the path and the field for a missing or malformed field.
    Unknown fields are ignored: Zarr v2 has no extension mechanism that could require them.
    """
    where = describe_node("array", path)
    zarr_format = require_field(zarray, "zarr_format", where=where)
    if zarr_format != 2:
        raise MetadataError(f"{where}: field 'zarr_format' must be 2 in '.zarray', got {zarr_format!r}")
    filters = _parse_filters(zarray.get("filters"), where=where)
    data_type = parse_v2_dtype(require_field(zarray, "dtype", where=where), filters=filters, path=path)
    fill_value = parse_fill_value(
        require_field(zarray, "fill_value", where=where), data_type, zarr_format=2, path=path
    )
    separator = zarray.get("dimension_separator")
    try:
        return ArrayMetadataV2(
            shape=require_field(zarray, "shape", where=where),
            chunks=require_field(zarray, "chunks", where=where),
            data_type=data_type,
            fill_value=fill_value,
            order=require_field(zarray, "order", where=where),
            compressor=require_field(zarray, "compressor", where=where),
            filters=filters,
            # zarr-python 2 wrote null here to mean the default.
            dimension_separator="." if separator is None else separator,
            attributes={} if attributes is None else attributes,
        )
    except MetadataError as error:
        raise relocate(error, "array", path) from None


def parse_group_v2(
    zgroup: Mapping[str, Any], attributes: Mapping[str, Any] | None, *, path: str
) -> GroupMetadataV2:
    """Parse the ``.zgroup`` object (and the ``.zattrs`` object, if any) of the group at ``path``.

    Raises MetadataError when ``zarr_format`` is not 2 or the attributes are not an object.
    """
    where = describe_node("group", path)
    zarr_format = require_field(zgroup, "zarr_format", where=where)
    if zarr_format != 2:
        raise MetadataError(f"{where}: field 'zarr_format' must be 2 in '.zgroup', got {zarr_format!r}")
    try:
        return GroupMetadataV2(attributes={} if attributes is None else attributes)
    except MetadataError as error:
        raise relocate(error, "group", path) from None
