"""Zarr v2 and v3 metadata as frozen dataclasses: parse, validate and serialize; no I/O.

The layers above read metadata documents from a store and hand them to :func:`parse_node`, and
write what ``to_documents()`` returns. Every malformed document raises
:class:`~zarrkit.errors.MetadataError` naming the node path and the field.
"""

from ._common import describe_node, dump_json_document, parse_int_tuple, parse_named_object
from .chunk_keys import ChunkKeyEncoding, parse_chunk_key_encoding
from .consolidated import ConsolidatedMetadata
from .dtypes import (
    OBJECT_CODECS,
    DataType,
    data_type_from_user,
    parse_v2_dtype,
    parse_v3_data_type,
    v2_dtype_json,
    v2_object_codec_id,
    v3_data_type_json,
)
from .fill_value import (
    FillValue,
    default_fill_value,
    fill_value_from_user,
    fill_value_json,
    parse_fill_value,
)
from .nodes import METADATA_KEYS, ArrayMetadata, GroupMetadata, NodeMetadata, parse_node
from .paths import check_node_name, child_path, join_path, normalize_path
from .v2 import ArrayMetadataV2, GroupMetadataV2
from .v3 import DEFAULT_CHUNK_KEY_ENCODING, ArrayMetadataV3, GroupMetadataV3

__all__ = [
    "DEFAULT_CHUNK_KEY_ENCODING",
    "METADATA_KEYS",
    "OBJECT_CODECS",
    "ArrayMetadata",
    "ArrayMetadataV2",
    "ArrayMetadataV3",
    "ChunkKeyEncoding",
    "ConsolidatedMetadata",
    "DataType",
    "FillValue",
    "GroupMetadata",
    "GroupMetadataV2",
    "GroupMetadataV3",
    "NodeMetadata",
    "check_node_name",
    "child_path",
    "data_type_from_user",
    "default_fill_value",
    "describe_node",
    "dump_json_document",
    "fill_value_from_user",
    "fill_value_json",
    "join_path",
    "normalize_path",
    "parse_chunk_key_encoding",
    "parse_fill_value",
    "parse_int_tuple",
    "parse_named_object",
    "parse_node",
    "parse_v2_dtype",
    "parse_v3_data_type",
    "v2_dtype_json",
    "v2_object_codec_id",
    "v3_data_type_json",
]
