"""The metadata of what :func:`zarrkit.scan.combine.combine` writes: the output's groups and arrays
(those of an input, with the combined shape, new dimensions in front, converted to Zarr v3 when
asked) and the rebuilt coordinates of the concatenated dimensions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from zarrkit.codecs import BytesCodec
from zarrkit.codecs.numcodecs_codec import ARRAY_ARRAY_IDS
from zarrkit.codecs.pipeline import chunk_spec, pipeline_for
from zarrkit.core.creation import array_metadata
from zarrkit.errors import MetadataError, ReferenceError, UnsupportedFeature
from zarrkit.metadata import ArrayMetadata, GroupMetadata, GroupMetadataV3
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3
from zarrkit.scan.combine_inputs import ArrayInfo, DescribedInput

# v3 codecs whose configuration depends on the number of dimensions: an array with them cannot
# get a new dimension by changing its shape alone.
_CODECS_TIED_TO_DIMENSIONS = ("transpose", "sharding_indexed")


def output_format(described: DescribedInput, requested: int | None) -> int:
    """The Zarr format of the output: ``requested``, else the inputs'. Raises UnsupportedFeature
    for v3 inputs to be written as v2."""
    input_format = described.structure.zarr_format
    chosen = requested or input_format
    if input_format == 3 and chosen == 2:
        raise UnsupportedFeature(f"{described.label}: combining Zarr v3 inputs into Zarr v2 is not supported")
    return chosen


def output_groups(described: DescribedInput, zarr_format: int) -> dict[str, GroupMetadata]:
    """The groups of ``described`` in ``zarr_format``, without their consolidated metadata (it
    would describe the input), and a root group if the input has none."""
    groups: dict[str, GroupMetadata] = {}
    for path, group in described.structure.groups.items():
        if zarr_format == 3 and isinstance(group, GroupMetadataV2):
            groups[path] = GroupMetadataV3(attributes=dict(group.attributes))
        else:
            groups[path] = dataclasses.replace(group, consolidated=None)
    if "" not in groups:
        groups[""] = GroupMetadataV2() if zarr_format == 2 else GroupMetadataV3()
    return groups


def output_array_metadata(
    info: ArrayInfo,
    shape: tuple[int, ...],
    chunks: tuple[int, ...],
    new_dimensions: tuple[str, ...],
    zarr_format: int,
) -> ArrayMetadata:
    """The metadata of the output array made from ``info``: in ``zarr_format``, with ``shape`` and
    ``chunks``, and ``new_dimensions`` in front of its dimension names.

    Raises UnsupportedFeature naming the variable when it cannot be converted to v3, or when a
    new dimension meets v3 codecs whose configuration depends on the number of dimensions.
    """
    converted = _converted(info, zarr_format)
    if not new_dimensions:
        return _reshaped(converted, shape, chunks, None)
    if isinstance(converted, ArrayMetadataV3):
        tied = [codec["name"] for codec in converted.codecs if codec["name"] in _CODECS_TIED_TO_DIMENSIONS]
        if tied:
            raise UnsupportedFeature(
                f"variable {info.path!r}: cannot add a new dimension to a Zarr v3 array with the codecs {tied}, "
                "whose configuration depends on the number of dimensions"
            )
    return _reshaped(converted, shape, chunks, (*new_dimensions, *(info.dimensions or ())))


def coordinate_metadata(name: str, values: np.ndarray, existing: ArrayInfo | None, zarr_format: int) -> ArrayMetadata:
    """The metadata of the rebuilt coordinate ``name`` holding ``values`` in one chunk: the inputs'
    variable of that name (``existing``) with the new length, or a new array of the values' type
    without codecs. Raises UnsupportedFeature when ``existing`` has other dimensions."""
    length = len(values)
    if existing is None:
        return array_metadata(
            path=name,
            shape=(length,),
            dtype=values.dtype,
            chunks=(length,),
            filters=None,
            compressors=None,
            fill_value=None,
            zarr_format=zarr_format,
            dimension_names=[name],
        )
    if existing.metadata.ndim > 1 or (existing.metadata.ndim == 1 and existing.dimensions != (name,)):
        raise UnsupportedFeature(
            f"variable {name!r} has the dimensions {existing.dimensions}; the coordinate of the concatenated "
            f"dimension {name!r} must have it as its only dimension, or none"
        )
    return _reshaped(_converted(existing, zarr_format), (length,), (length,), (name,))


def encode_coordinate(name: str, values: np.ndarray, metadata: ArrayMetadata) -> bytes:
    """The one chunk of the coordinate ``name``: ``values`` in its data type, encoded by its codecs.

    Raises ReferenceError when the values do not convert to the data type without loss (values
    from attributes or names stored in the inputs' coordinate variable of another type).
    """
    try:
        data = np.ascontiguousarray(values.astype(metadata.dtype, casting="same_kind"))
        lossless = bool(np.all(data.astype(values.dtype) == values))
    except (TypeError, ValueError) as error:
        lossless, data = False, values
        reason = f" ({error})"
    else:
        reason = ""
    if not lossless:
        raise ReferenceError(
            f"coordinate {name!r}: its values of type {values.dtype} do not fit the variable's type "
            f"{metadata.dtype}{reason}"
        )
    return bytes(pipeline_for(metadata, path=name).encode(data, chunk_spec(metadata)))  # type: ignore[arg-type]


def _converted(info: ArrayInfo, output_format: int) -> ArrayMetadata:
    """The metadata of ``info`` in the output format: v2 arrays become v3 through create_array's
    keywords, their leading array filters (``delta``...) as v3 filters and the byte filters
    (``shuffle``...) and the compressor as v3 bytes-to-bytes codecs.

    Raises UnsupportedFeature naming the variable when the v2 codecs have no v3 equivalent in
    that order (an array filter after a byte filter, array filters on an ``F``-ordered array).
    """
    metadata = info.metadata
    if output_format == 2 or isinstance(metadata, ArrayMetadataV3):
        return metadata
    filters = list(metadata.filters or ())
    leading = 0
    while leading < len(filters) and filters[leading]["id"] in ARRAY_ARRAY_IDS:
        leading += 1
    array_filters, byte_filters = filters[:leading], filters[leading:]
    where = f"variable {info.path!r} cannot be converted to Zarr v3"
    if any(codec["id"] in ARRAY_ARRAY_IDS for codec in byte_filters):
        names = [codec["id"] for codec in filters]
        raise UnsupportedFeature(f"{where}: its filters {names} put an array filter after a byte filter")
    if array_filters and metadata.order == "F":
        raise UnsupportedFeature(f"{where}: it applies array filters to data in 'F' order")
    keywords: dict[str, Any] = {
        "shape": metadata.shape,
        "dtype": metadata.dtype,
        "chunks": metadata.chunks,
        "filters": array_filters,
        "compressors": byte_filters + ([metadata.compressor] if metadata.compressor else []),
        "fill_value": metadata.fill_value,
        "order": metadata.order,
        "attributes": {key: value for key, value in metadata.attributes.items() if key != "_ARRAY_DIMENSIONS"},
        "dimension_names": info.dimensions,
        "zarr_format": 3,
    }
    if metadata.dtype.byteorder == ">":
        keywords["serializer"] = BytesCodec(endian="big")
    try:
        return array_metadata(path=info.path, **keywords)
    except MetadataError as error:
        raise UnsupportedFeature(f"{where}: {error}") from error


def _reshaped(
    metadata: ArrayMetadata, shape: tuple[int, ...], chunks: tuple[int, ...], dimensions: tuple[str, ...] | None
) -> ArrayMetadata:
    """``metadata`` with another shape and chunks, and with ``dimensions`` as its dimension names if given."""
    if isinstance(metadata, ArrayMetadataV2):
        attributes = metadata.attributes
        if dimensions is not None:
            attributes = {**attributes, "_ARRAY_DIMENSIONS": list(dimensions)}
        return dataclasses.replace(metadata, shape=shape, chunks=chunks, attributes=attributes)
    names = metadata.dimension_names if dimensions is None else dimensions
    return dataclasses.replace(metadata, shape=shape, chunks=chunks, dimension_names=names)
