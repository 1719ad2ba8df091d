"""Codecs and codec pipelines: how chunks become stored bytes and back, for Zarr v2 and v3.

The codec classes carry the names of the v3 spec; numcodecs objects are accepted wherever a codec is
(see :func:`as_codec`). Importing this package registers every built-in codec, so metadata entries
naming them can be parsed (:func:`codec_from_json`).
"""

import numcodecs

from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, ChunkSpec, Codec
from zarrkit.codecs.bitshuffle import BitshuffleCodec
from zarrkit.codecs.blosc import BloscCodec
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.chain import CodecPipeline
from zarrkit.codecs.crc32c import Crc32cCodec
from zarrkit.codecs.fill import FillMatcher
from zarrkit.codecs.grib import GribCodec, GribMessageCodec, register_grib_codecs
from zarrkit.codecs.gzip import GzipCodec
from zarrkit.codecs.lzf import LzfCodec
from zarrkit.codecs.numcodecs_codec import NUMCODECS_CLASSES, as_codec
from zarrkit.codecs.pipeline import DefaultCodecs, chunk_spec, default_codecs, pipeline_for
from zarrkit.codecs.registry import codec_from_json, register_codec
from zarrkit.codecs.sharding import ShardIndex, ShardingCodec
from zarrkit.codecs.transpose import TransposeCodec
from zarrkit.codecs.v2 import V2Pipeline
from zarrkit.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrkit.codecs.zstd import ZstdCodec

for _codec_class in (
    BytesCodec,
    TransposeCodec,
    GzipCodec,
    ZstdCodec,
    BloscCodec,
    Crc32cCodec,
    VLenUTF8Codec,
    VLenBytesCodec,
    ShardingCodec,
    *NUMCODECS_CLASSES.values(),
):
    register_codec(_codec_class)
del _codec_class
# The GRIB codecs need gribberish only to decode, so registering them costs nothing without it.
register_grib_codecs()
# The numcodecs codecs of HDF5's LZF and bitshuffle filters import imagecodecs only to encode and decode.
numcodecs.register_codec(LzfCodec)
numcodecs.register_codec(BitshuffleCodec)

__all__ = [
    "ArrayArrayCodec",
    "ArrayBytesCodec",
    "BitshuffleCodec",
    "BloscCodec",
    "BytesBytesCodec",
    "BytesCodec",
    "ChunkSpec",
    "Codec",
    "CodecPipeline",
    "Crc32cCodec",
    "DefaultCodecs",
    "FillMatcher",
    "GribCodec",
    "GribMessageCodec",
    "GzipCodec",
    "LzfCodec",
    "ShardIndex",
    "ShardingCodec",
    "TransposeCodec",
    "V2Pipeline",
    "VLenBytesCodec",
    "VLenUTF8Codec",
    "ZstdCodec",
    "as_codec",
    "chunk_spec",
    "codec_from_json",
    "default_codecs",
    "pipeline_for",
    "register_codec",
]
