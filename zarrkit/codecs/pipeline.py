"""What the chunk engine and ``create_array`` ask of the codecs layer.

:func:`pipeline_for` turns array metadata into the object that encodes and decodes its chunks: a
:class:`~zarrkit.codecs.chain.CodecPipeline` for v3 or a :class:`~zarrkit.codecs.v2.V2Pipeline` for
v2. Both offer the same three members to the engine: ``decode(data, spec)``, ``encode(array, spec)``
and ``sharding``. :func:`chunk_spec` describes the chunks those calls handle, and
:func:`default_codecs` gives what ``create_array`` uses for "auto".
"""

from __future__ import annotations

from typing import Any, NamedTuple

from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, ChunkSpec
from zarrkit.codecs.bytes import BytesCodec, has_byte_order
from zarrkit.codecs.chain import CodecPipeline
from zarrkit.codecs.v2 import V2Pipeline
from zarrkit.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrkit.codecs.zstd import ZstdCodec
from zarrkit.errors import MetadataError
from zarrkit.metadata import describe_node
from zarrkit.metadata.dtypes import DataType
from zarrkit.metadata.v2 import ArrayMetadataV2
from zarrkit.metadata.v3 import ArrayMetadataV3

__all__ = ["CodecPipeline", "DefaultCodecs", "V2Pipeline", "chunk_spec", "default_codecs", "pipeline_for"]


def chunk_spec(metadata: ArrayMetadataV2 | ArrayMetadataV3) -> ChunkSpec:
    """The spec of the chunks (of the shards, for a sharded array) of the array ``metadata`` describes."""
    return ChunkSpec(tuple(metadata.chunks), metadata.dtype, metadata.resolved_fill_value)


def pipeline_for(
    metadata: ArrayMetadataV2 | ArrayMetadataV3, *, path: str | None = None
) -> CodecPipeline | V2Pipeline:
    """The pipeline that encodes and decodes the chunks of the array at ``path`` described by ``metadata``.

    v3 codecs are fitted to the array's chunks (see :meth:`CodecPipeline.evolve`: ``endian`` where
    the data type needs it, ``transpose`` orders, shard shapes), so pass ``chunk_spec(metadata)`` to
    its ``encode`` and ``decode``. Raises MetadataError naming the array when a codec is unknown or
    invalid or the chain is malformed. (The metadata already guarantees that a v2 object array names
    its object codec among its filters.)
    """
    if isinstance(metadata, ArrayMetadataV3):
        pipeline = CodecPipeline.from_json(metadata.codecs, path=path)
        try:
            return pipeline.evolve(chunk_spec(metadata))
        except MetadataError as error:
            raise MetadataError(f"{describe_node('array', path)}: {error}") from error
    return V2Pipeline(metadata.filters, metadata.compressor, metadata.order, path=path)


class DefaultCodecs(NamedTuple):
    """The codecs ``create_array`` uses for ``filters``, ``serializer`` and ``compressors`` "auto".

    For v3 these are codec objects. For v2 they are numcodecs configs as ``.zarray`` holds them:
    ``filters`` is a tuple of configs or None, ``compressors`` holds the one compressor config, and
    ``serializer`` is None.
    """

    filters: tuple[ArrayArrayCodec, ...] | tuple[dict[str, Any], ...] | None
    serializer: ArrayBytesCodec | None
    compressors: tuple[BytesBytesCodec, ...] | tuple[dict[str, Any], ...]


def default_codecs(data_type: DataType, *, zarr_format: int) -> DefaultCodecs:
    """The codecs zarr-python 3.1.6 writes by default for ``data_type``.

    v3: no filters; ``vlen-utf8``/``vlen-bytes`` for variable-length strings/bytes, else ``bytes``
    (little endian where the type has a byte order); ``zstd`` at level 0 without checksum.
    v2: the ``vlen-utf8``/``vlen-bytes`` filter for variable-length types, else no filters; the
    ``zstd`` compressor at level 0. Raises MetadataError for a format other than 2 or 3.
    """
    vlen = data_type.vlen
    if zarr_format == 3:
        serializer: ArrayBytesCodec
        if vlen == "string":
            serializer = VLenUTF8Codec()
        elif vlen == "bytes":
            serializer = VLenBytesCodec()
        else:
            serializer = BytesCodec("little" if has_byte_order(data_type.dtype) else None)
        compressors = (ZstdCodec(level=0, checksum=False),)
        return DefaultCodecs(filters=(), serializer=serializer, compressors=compressors)
    if zarr_format == 2:
        object_codecs = {"string": ({"id": "vlen-utf8"},), "bytes": ({"id": "vlen-bytes"},)}
        return DefaultCodecs(
            filters=object_codecs.get(vlen), serializer=None, compressors=({"id": "zstd", "level": 0},)
        )
    raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
