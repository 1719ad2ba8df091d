"""Creating arrays: from zarr-python-style keywords to validated metadata in the store.

``filters``, ``serializer`` and ``compressors`` follow zarr-python 3: in v3 they are the
array->array codecs, the one array->bytes codec and the bytes->bytes codecs; in v2 they are the
numcodecs filters and the one compressor (``serializer`` must stay "auto"). Each accepts zarrkit
codecs, numcodecs codecs or their JSON forms; "auto" takes :func:`~zarrkit.codecs.default_codecs`.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np

from zarrkit.codecs import ChunkSpec, CodecPipeline, ShardingCodec, TransposeCodec, as_codec, default_codecs
from zarrkit.codecs.numcodecs_codec import numcodecs_config
from zarrkit.core.array import Array
from zarrkit.core.chunk_grid import auto_chunk_shape
from zarrkit.core.node import create_node
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.metadata import ArrayMetadata, parse_int_tuple
from zarrkit.metadata._common import is_json_int, parse_attributes
from zarrkit.metadata.chunk_keys import ChunkKeyEncoding, parse_chunk_key_encoding
from zarrkit.metadata.dtypes import DataType, data_type_from_user
from zarrkit.metadata.fill_value import default_fill_value, fill_value_from_user
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.runtime import sync
from zarrkit.storage.base import Store


def create_array(
    store: Store,
    *,
    path: str,
    overwrite: bool = False,
    write_empty_chunks: bool = False,
    **kwargs: Any,
) -> Array:
    """Create an array at ``path`` (and any missing parent groups) and return it.

    Takes the keywords of :func:`array_metadata`. Raises NodeExists when a node is there and
    ``overwrite`` is false, and MetadataError for invalid or unknown keywords.
    """
    check_array_keywords(kwargs, where=f"array {'/' + path!r}")
    metadata = array_metadata(path=path, **kwargs)
    sync(create_node(store, path, metadata, overwrite=overwrite))
    return Array(store, path, metadata, write_empty_chunks=write_empty_chunks)


def array_metadata(
    *,
    path: str,
    shape: int | Sequence[int],
    dtype: Any,
    chunks: int | Sequence[int] | str = "auto",
    shards: int | Sequence[int] | None = None,
    filters: Any = "auto",
    compressors: Any = "auto",
    serializer: Any = "auto",
    fill_value: Any = None,
    order: str | None = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    chunk_key_encoding: Any = None,
    dimension_names: Sequence[str | None] | None = None,
) -> ArrayMetadata:
    """The metadata of a new array, validated.

    ``shape``, ``chunks`` and ``shards`` take an integer (``chunks`` and ``shards``: the same length
    in every dimension) or a sequence of integers, Python or NumPy. With ``shards`` and
    ``chunks="auto"`` the automatic chunk shape is cut from the shard shape. Raises MetadataError
    naming the array and the keyword, and UnsupportedFeature for ``shards="auto"``.
    """
    where = f"array {'/' + path!r}"
    array_shape = parse_int_tuple((shape,) if _is_integer(shape) else shape, where=where, field="shape", minimum=0)
    if zarr_format not in (2, 3):
        raise MetadataError(f"{where}: zarr_format must be 2 or 3, got {zarr_format!r}")
    if order not in (None, "C", "F"):
        raise MetadataError(f"{where}: order must be 'C' or 'F', got {order!r}")
    user_attributes = {} if attributes is None else parse_attributes(attributes, where=where)
    data_type = data_type_from_user(dtype, zarr_format=zarr_format)
    shard_shape = None if shards is None else _shard_shape(shards, array_shape, where)
    chunk_shape = _chunk_shape(chunks, array_shape if shard_shape is None else shard_shape, data_type, where)
    fill = fill_value_from_user(fill_value, data_type, path=path)
    if zarr_format == 2:
        return _v2_metadata(
            where, array_shape, chunk_shape, data_type, fill, shard_shape, filters, compressors, serializer,
            order, user_attributes, chunk_key_encoding, dimension_names,
        )
    defaults = default_codecs(data_type, zarr_format=3)
    array_array = list(defaults.filters if filters == "auto" else _codecs(filters, path))
    if order == "F" and len(array_shape) > 1:
        array_array.append(TransposeCodec(tuple(reversed(range(len(array_shape))))))
    array_bytes = defaults.serializer if serializer == "auto" else as_codec(serializer, path=path)
    bytes_bytes = defaults.compressors if compressors == "auto" else _codecs(compressors, path)
    codecs = [*array_array, array_bytes, *bytes_bytes]
    grid_shape = chunk_shape
    if shard_shape is not None:
        grid_shape = shard_shape
        codecs = [ShardingCodec(chunk_shape=chunk_shape, codecs=codecs)]
    if fill is None:
        fill = default_fill_value(data_type)
    try:
        pipeline = CodecPipeline(codecs).evolve(ChunkSpec(grid_shape, data_type.dtype, fill))
    except MetadataError as error:
        raise MetadataError(f"{where}: {error}") from error
    return ArrayMetadataV3(
        shape=array_shape,
        chunks=grid_shape,
        data_type=data_type,
        fill_value=fill,
        codecs=tuple(codec.to_json() for codec in pipeline.codecs),
        chunk_key_encoding=_chunk_key_encoding(chunk_key_encoding, "default", where),
        dimension_names=None if dimension_names is None else tuple(dimension_names),
        attributes=user_attributes,
    )


CREATE_ARRAY_KEYWORDS = frozenset(inspect.signature(array_metadata).parameters) - {"path"} | {"write_empty_chunks"}
"""The keywords :func:`create_array` takes besides ``path`` and ``overwrite``."""


def check_array_keywords(keywords: dict[str, Any], *, where: str) -> None:
    """Raise MetadataError naming ``where`` when ``keywords`` holds a name :func:`create_array` does not take."""
    unknown = sorted(set(keywords) - CREATE_ARRAY_KEYWORDS)
    if unknown:
        raise MetadataError(
            f"{where}: unknown array keywords {unknown}; the keywords are {sorted(CREATE_ARRAY_KEYWORDS)}"
        )


def _v2_metadata(
    where: str,
    shape: tuple[int, ...],
    chunk_shape: tuple[int, ...],
    data_type: DataType,
    fill: Any,
    shards: tuple[int, ...] | None,
    filters: Any,
    compressors: Any,
    serializer: Any,
    order: str | None,
    attributes: dict[str, Any],
    chunk_key_encoding: Any,
    dimension_names: Sequence[str | None] | None,
) -> ArrayMetadataV2:
    if shards is not None:
        raise MetadataError(f"{where}: sharding needs zarr_format=3")
    if serializer != "auto":
        raise MetadataError(f"{where}: Zarr v2 has no serializer; pass filters and compressors only")
    defaults = default_codecs(data_type, zarr_format=2)
    filter_configs = defaults.filters if filters == "auto" else tuple(numcodecs_config(f) for f in _as_list(filters))
    object_filters = defaults.filters or ()
    if filters != "auto" and object_filters and not any(f["id"] == object_filters[0]["id"] for f in filter_configs):
        # Variable-length types cannot be stored without their object codec: put it first.
        filter_configs = (*object_filters, *filter_configs)
    compressor_list = defaults.compressors if compressors == "auto" else _as_list(compressors)
    if len(compressor_list) > 1:
        raise MetadataError(f"{where}: Zarr v2 takes one compressor, got {len(compressor_list)}")
    compressor = numcodecs_config(compressor_list[0]) if compressor_list else None
    encoding = _chunk_key_encoding(chunk_key_encoding, "v2", where)
    if encoding.name != "v2":
        raise MetadataError(f"{where}: Zarr v2 uses the 'v2' chunk key encoding, got {encoding.name!r}")
    all_attributes = dict(attributes)
    if dimension_names is not None:
        all_attributes["_ARRAY_DIMENSIONS"] = list(dimension_names)
    return ArrayMetadataV2(
        shape=shape,
        chunks=chunk_shape,
        data_type=data_type,
        fill_value=fill,
        order=order or "C",
        compressor=compressor,
        filters=tuple(filter_configs) if filter_configs else None,
        dimension_separator=encoding.separator,
        attributes=all_attributes,
    )


def _is_integer(value: Any) -> bool:
    return is_json_int(value) or isinstance(value, np.integer)


def _chunk_shape(chunks: Any, shape: tuple[int, ...], data_type: DataType, where: str) -> tuple[int, ...]:
    """The chunk shape for an array (or shard) of ``shape``: "auto", one length for every dimension,
    or one length per dimension."""
    if isinstance(chunks, str):
        if chunks != "auto":
            raise MetadataError(f"{where}: chunks must be 'auto', an integer or a tuple, got {chunks!r}")
        return auto_chunk_shape(shape, data_type.dtype.itemsize)
    chunk_shape = parse_int_tuple(
        (chunks,) * len(shape) if _is_integer(chunks) else chunks, where=where, field="chunks", minimum=1
    )
    if len(chunk_shape) != len(shape):
        raise MetadataError(f"{where}: chunks {chunks!r} must be {len(shape)} positive integers for shape {shape}")
    return chunk_shape


def _shard_shape(shards: Any, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    """The shard shape: one length for every dimension or one length per dimension."""
    if isinstance(shards, str):
        raise UnsupportedFeature(
            f"{where}: shards={shards!r} is not supported; pass the shard shape as a tuple of integers"
        )
    shard_shape = parse_int_tuple(
        (shards,) * len(shape) if _is_integer(shards) else shards, where=where, field="shards", minimum=1
    )
    if len(shard_shape) != len(shape):
        raise MetadataError(f"{where}: shards {shards!r} must be {len(shape)} positive integers for shape {shape}")
    return shard_shape


def _chunk_key_encoding(value: Any, default: str, where: str) -> ChunkKeyEncoding:
    """A chunk key encoding from ``None``, a name, a ``ChunkKeyEncoding`` or a dict (flat or as in metadata)."""
    if isinstance(value, ChunkKeyEncoding):
        return value
    if value is None:
        value = default
    if isinstance(value, str):
        value = {"name": value}
    if isinstance(value, dict) and "separator" in value:
        value = {"name": value.get("name"), "configuration": {"separator": value["separator"]}}
    return parse_chunk_key_encoding(value, path=where)


def _as_list(codecs: Any) -> list[Any]:
    if codecs is None:
        return []
    if isinstance(codecs, list | tuple):
        return list(codecs)
    return [codecs]


def _codecs(codecs: Any, path: str) -> tuple[Any, ...]:
    return tuple(as_codec(codec, path=path) for codec in _as_list(codecs))
