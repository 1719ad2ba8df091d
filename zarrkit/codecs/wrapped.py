"""Bytes->bytes codecs whose work a numcodecs object does: compressors and checksums.

numcodecs' compiled codecs release the GIL, so the codec pool runs them side by side. The base
class here turns their exceptions into CodecError naming the codec, and lets a subclass answer the
frames numcodecs writes for empty input but refuses to decode (zstd and blosc).
"""

from __future__ import annotations

from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs._support import BytesLike
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.errors import CodecError


class NumcodecsBackedCodec(BytesBytesCodec):
    """A bytes->bytes codec that hands its work to a numcodecs object.

    Subclasses build that object once, in their constructor, as ``_numcodec``; a subclass whose
    object depends on the chunks overrides :meth:`numcodec_for`.
    """

    _numcodec: Numcodec

    def numcodec_for(self, spec: ChunkSpec) -> Numcodec:
        """The numcodecs object that encodes and decodes chunks of ``spec``."""
        return self._numcodec

    def is_empty_frame(self, data: BytesLike) -> bool:
        """True when ``data`` is a complete frame of empty content, which numcodecs refuses to decode."""
        return False

    def encode(self, data: BytesLike, spec: ChunkSpec) -> BytesLike:
        """The encoded bytes; CodecError when numcodecs cannot encode ``data``."""
        try:
            return self.numcodec_for(spec).encode(data)
        except Exception as error:
            raise CodecError(f"codec {self.name!r}: cannot encode: {error}") from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> BytesLike:
        """The decoded bytes; CodecError when ``data`` is corrupt, truncated or fails its checksum."""
        try:
            return self.numcodec_for(spec).decode(data)
        except Exception as error:
            if self.is_empty_frame(data):
                return b""
            raise CodecError(f"codec {self.name!r}: corrupt or truncated data: {error}") from error
