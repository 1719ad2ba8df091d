"""Zarr v3 metadata: the ``zarr.json`` document of an array or a group.

Extension rules (core specification, "Extensions"): an unknown top-level field must make opening
fail unless its value is an object with ``"must_understand": false``; such fields are kept in
``extra_fields`` and written back unchanged. The chunk grid and the chunk key encoding cannot be
made optional that way, so an unknown one always fails. zarrkit implements no storage transformer,
so one is accepted only with ``"must_understand": false`` (and kept, so that it is written back).
Codec names are checked by the codecs layer, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from zarrkit.errors import MetadataError

from ._base import ArrayMetadataBase, NodeMetadataBase
from ._common import (
    describe_node,
    parse_attributes,
    parse_int_tuple,
    parse_named_object,
    relocate,
    require_field,
)
from .chunk_keys import ChunkKeyEncoding, parse_chunk_key_encoding
from .dtypes import DataType, parse_v3_data_type, v3_data_type_json
from .fill_value import FillValue, fill_value_from_user, fill_value_json, parse_fill_value

if TYPE_CHECKING:
    from .consolidated import ConsolidatedMetadata

_ARRAY_FIELDS = frozenset(
    {
        "zarr_format",
        "node_type",
        "shape",
        "data_type",
        "chunk_grid",
        "chunk_key_encoding",
        "fill_value",
        "codecs",
        "attributes",
        "storage_transformers",
        "dimension_names",
        # Some writers mark the whole document; the flag carries no information of its own.
        "must_understand",
    }
)
_GROUP_FIELDS = frozenset(
    {"zarr_format", "node_type", "attributes", "consolidated_metadata", "must_understand"}
)

DEFAULT_CHUNK_KEY_ENCODING = ChunkKeyEncoding("default", "/")


@dataclass(frozen=True, eq=False)
class ArrayMetadataV3(ArrayMetadataBase):
    """The metadata of a Zarr v3 array (its ``zarr.json``) with a regular chunk grid.

    ``chunks`` is the chunk shape of the grid (for a sharded array, the shard shape). ``codecs``
    holds each codec normalized to ``{"name", "configuration"[, "must_understand"]}``.
    Construction validates every field and raises MetadataError naming the field; a dtype is
    converted to native byte order, which v3 data types do not carry.
    """

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    data_type: DataType
    fill_value: FillValue
    codecs: tuple[dict[str, Any], ...]
    chunk_key_encoding: ChunkKeyEncoding = DEFAULT_CHUNK_KEY_ENCODING
    dimension_names: tuple[str | None, ...] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    storage_transformers: tuple[dict[str, Any], ...] = ()
    extra_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The JSON forms of the data type and fill value, made once: every write of the metadata needs them.
    _data_type_json: str | dict[str, Any] = field(init=False, repr=False, compare=False)
    _fill_value_json: Any = field(init=False, repr=False, compare=False)
    zarr_format: ClassVar[int] = 3

    def __post_init__(self) -> None:
        where = describe_node("array", None)
        shape = parse_int_tuple(self.shape, where=where, field="shape", minimum=0)
        chunks = parse_int_tuple(self.chunks, where=where, field="chunk_grid.chunk_shape", minimum=0)
        if len(chunks) != len(shape):
            raise MetadataError(
                f"{where}: field 'chunk_grid' has chunk shape {list(chunks)} with {len(chunks)} dimensions; "
                f"shape has {len(shape)}"
            )
        if any(chunk == 0 and length != 0 for chunk, length in zip(chunks, shape)):
            raise MetadataError(
                f"{where}: field 'chunk_grid' chunk shape {list(chunks)} is zero where the shape "
                f"{list(shape)} is not"
            )
        if not isinstance(self.data_type, DataType):
            raise MetadataError(f"{where}: data_type must be a DataType, got {self.data_type!r}")
        data_type = self.data_type
        if data_type.vlen is None:
            data_type = DataType(data_type.dtype.newbyteorder("="))
        # Raises for dtypes v3 cannot name (subarray fields, padded structured types).
        data_type_json = v3_data_type_json(data_type)
        if self.fill_value is None:
            raise MetadataError(f"{where}: field 'fill_value' must not be null in Zarr v3")
        fill_value = fill_value_from_user(self.fill_value, data_type)
        if not isinstance(self.chunk_key_encoding, ChunkKeyEncoding):
            raise MetadataError(
                f"{where}: chunk_key_encoding must be a ChunkKeyEncoding, got {self.chunk_key_encoding!r}"
            )
        normalized = {
            "shape": shape,
            "chunks": chunks,
            "data_type": data_type,
            "fill_value": fill_value,
            "_data_type_json": data_type_json,
            "_fill_value_json": fill_value_json(fill_value, data_type, zarr_format=3),
            "codecs": _parse_codecs(self.codecs, where=where),
            "dimension_names": _parse_dimension_names(self.dimension_names, len(shape), where=where),
            "attributes": parse_attributes(self.attributes, where=where),
            "storage_transformers": _parse_storage_transformers(self.storage_transformers, where=where),
            "extra_fields": _parse_extra_fields(self.extra_fields, _ARRAY_FIELDS, where=where),
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    @property
    def order(self) -> Literal["C"]:
        """Always ``"C"``: v3 expresses other layouts with the ``transpose`` codec."""
        return "C"

    @property
    def resolved_fill_value(self) -> np.generic | str | bytes:
        """The value missing chunks read as (v3 fill values are never null)."""
        return self.fill_value

    def to_json(self) -> dict[str, Any]:
        """The ``zarr.json`` document as a JSON object."""
        document: dict[str, Any] = {
            "zarr_format": 3,
            "node_type": "array",
            "shape": list(self.shape),
            "data_type": self._data_type_json,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(self.chunks)}},
            "chunk_key_encoding": self.chunk_key_encoding.to_json(),
            "fill_value": self._fill_value_json,
            "codecs": list(self.codecs),
            "attributes": self.attributes,
        }
        if self.dimension_names is not None:
            document["dimension_names"] = list(self.dimension_names)
        if self.storage_transformers:
            document["storage_transformers"] = list(self.storage_transformers)
        document.update(self.extra_fields)
        return document

    def to_json_documents(self) -> dict[str, dict[str, Any]]:
        """The documents of this array as JSON objects: ``{"zarr.json": ...}``."""
        return {"zarr.json": self.to_json()}


@dataclass(frozen=True, eq=False)
class GroupMetadataV3(NodeMetadataBase):
    """The metadata of a Zarr v3 group: attributes, consolidated metadata if any, and ignorable
    extension fields (kept so they are written back)."""

    attributes: dict[str, Any] = field(default_factory=dict)
    consolidated: ConsolidatedMetadata | None = None
    extra_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_kind: ClassVar[str] = "group"
    zarr_format: ClassVar[int] = 3

    def __post_init__(self) -> None:
        where = describe_node("group", None)
        object.__setattr__(self, "attributes", parse_attributes(self.attributes, where=where))
        extra_fields = _parse_extra_fields(self.extra_fields, _GROUP_FIELDS, where=where)
        object.__setattr__(self, "extra_fields", extra_fields)

    def to_json(self) -> dict[str, Any]:
        """The ``zarr.json`` document as a JSON object."""
        document: dict[str, Any] = {"zarr_format": 3, "node_type": "group", "attributes": self.attributes}
        if self.consolidated is not None:
            document["consolidated_metadata"] = self.consolidated.to_v3_json()
        document.update(self.extra_fields)
        return document

    def to_json_documents(self) -> dict[str, dict[str, Any]]:
        """The documents of this group as JSON objects: ``{"zarr.json": ...}``."""
        return {"zarr.json": self.to_json()}


def _parse_codecs(value: Any, *, where: str) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise MetadataError(f"{where}: field 'codecs' must be a non-empty list, got {value!r}")
    return tuple(parse_named_object(codec, where=where, field="codecs") for codec in value)


def _parse_dimension_names(value: Any, ndim: int, *, where: str) -> tuple[str | None, ...] | None:
    if value is None:
        return None
    if (
        not isinstance(value, Sequence)
        or isinstance(value, str)
        or not all(name is None or isinstance(name, str) for name in value)
    ):
        raise MetadataError(
            f"{where}: field 'dimension_names' must be a list of strings or nulls, got {value!r}"
        )
    if len(value) != ndim:
        raise MetadataError(f"{where}: field 'dimension_names' has {len(value)} names for {ndim} dimensions")
    return tuple(value)


def _parse_storage_transformers(value: Any, *, where: str) -> tuple[dict[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise MetadataError(f"{where}: field 'storage_transformers' must be a list, got {value!r}")
    field_name = "storage_transformers"
    transformers = tuple(parse_named_object(item, where=where, field=field_name) for item in value)
    for transformer in transformers:
        if transformer.get("must_understand", True):
            raise MetadataError(
                f"{where}: field '{field_name}': unsupported storage transformer '{transformer['name']}'"
            )
    return transformers


def _parse_extra_fields(value: Any, known: frozenset[str], *, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(value, Mapping):
        raise MetadataError(f"{where}: extra_fields must be a mapping, got {value!r}")
    for name, member in value.items():
        if name in known:
            raise MetadataError(f"{where}: field '{name}' is not an extension field")
        if not (isinstance(member, Mapping) and member.get("must_understand") is False):
            raise MetadataError(
                f"{where}: unknown field '{name}' (an extension field must be an object with "
                '"must_understand": false to be ignored)'
            )
    return {name: dict(member) for name, member in value.items()}


def _check_header(document: Mapping[str, Any], node_type: str, *, where: str) -> None:
    zarr_format = require_field(document, "zarr_format", where=where)
    if zarr_format != 3:
        raise MetadataError(f"{where}: field 'zarr_format' must be 3 in 'zarr.json', got {zarr_format!r}")
    found = require_field(document, "node_type", where=where)
    if found != node_type:
        raise MetadataError(f"{where}: field 'node_type' must be '{node_type}', got {found!r}")
    flag = document.get("must_understand", False)
    if not isinstance(flag, bool):
        raise MetadataError(f"{where}: field 'must_understand' must be a boolean, got {flag!r}")


def _parse_chunk_grid(value: Any, *, where: str) -> Any:
    grid = parse_named_object(value, where=where, field="chunk_grid")
    if grid["name"] != "regular":
        raise MetadataError(
            f"{where}: field 'chunk_grid': unsupported chunk grid '{grid['name']}' (only 'regular')"
        )
    configuration = grid["configuration"]
    if set(configuration) != {"chunk_shape"}:
        raise MetadataError(
            f"{where}: field 'chunk_grid': the regular grid's configuration must hold exactly "
            f"'chunk_shape', got {configuration!r}"
        )
    return configuration["chunk_shape"]


def parse_array_v3(document: Mapping[str, Any], *, path: str) -> ArrayMetadataV3:
    """Parse the ``zarr.json`` object of the array at ``path``.

    Raises MetadataError naming the path and the field for a missing, malformed or unknown field.
    """
    where = describe_node("array", path)
    _check_header(document, "array", where=where)
    extra_fields = {name: value for name, value in document.items() if name not in _ARRAY_FIELDS}
    data_type = parse_v3_data_type(require_field(document, "data_type", where=where), path=path)
    try:
        return ArrayMetadataV3(
            shape=require_field(document, "shape", where=where),
            chunks=_parse_chunk_grid(require_field(document, "chunk_grid", where=where), where=where),
            data_type=data_type,
            fill_value=parse_fill_value(
                require_field(document, "fill_value", where=where), data_type, zarr_format=3, path=path
            ),
            codecs=require_field(document, "codecs", where=where),
            chunk_key_encoding=parse_chunk_key_encoding(
                require_field(document, "chunk_key_encoding", where=where), path=path
            ),
            dimension_names=document.get("dimension_names"),
            attributes=document.get("attributes", {}),
            storage_transformers=document.get("storage_transformers", ()),
            extra_fields=extra_fields,
        )
    except MetadataError as error:
        raise relocate(error, "array", path) from None


def parse_group_v3(document: Mapping[str, Any], *, path: str) -> GroupMetadataV3:
    """Parse the ``zarr.json`` object of the group at ``path``, without its consolidated metadata.

    The ``consolidated_metadata`` member is only checked to be null or an object here; use
    :func:`zarrkit.metadata.nodes.parse_node` to get it parsed as well. Raises MetadataError
    naming the path and the field for a malformed or unknown field.
    """
    where = describe_node("group", path)
    _check_header(document, "group", where=where)
    consolidated = document.get("consolidated_metadata")
    if consolidated is not None and not isinstance(consolidated, Mapping):
        raise MetadataError(
            f"{where}: field 'consolidated_metadata' must be null or an object, got {consolidated!r}"
        )
    try:
        return GroupMetadataV3(
            attributes=document.get("attributes", {}),
            extra_fields={name: value for name, value in document.items() if name not in _GROUP_FIELDS},
        )
    except MetadataError as error:
        raise relocate(error, "group", path) from None
