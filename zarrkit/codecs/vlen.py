"""The ``vlen-utf8`` and ``vlen-bytes`` codecs (array -> bytes) for variable-length strings and bytes.

Layout: the element count as a little-endian uint32, then for each element in C order its length
in bytes as a little-endian uint32 followed by its bytes (UTF-8 for strings).

The work is done by numcodecs' compiled VLenUTF8 and VLenBytes, which implement exactly this layout:
walking the length prefixes is inherently sequential, and their compiled loop is three to four
times faster than the best NumPy formulation. This module adds what the chain needs around them:
shape and size checks, missing values, and CodecError for anything malformed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numcodecs.vlen import VLenBytes, VLenUTF8

from zarrkit.codecs._support import BytesLike, byte_length, check_configuration
from zarrkit.codecs.base import ArrayBytesCodec, ChunkSpec
from zarrkit.errors import CodecError

_HEADER_SIZE = 4


@dataclass(frozen=True)
class _VLenCodec(ArrayBytesCodec):
    """Shared encode/decode of the two variable-length codecs; subclasses pick the element kind."""

    _element_type: ClassVar[type]
    _numcodecs: ClassVar[VLenUTF8 | VLenBytes]

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> _VLenCodec:
        """Build the codec; it has no configuration (MetadataError for any field)."""
        check_configuration(cls.name, configuration, set())
        return cls()

    def to_json(self) -> dict[str, Any]:
        """The metadata entry with an empty configuration, as zarr-python writes it."""
        return {"name": self.name, "configuration": {}}

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """The count, lengths and bytes of the elements of ``array`` in C order.

        ``None`` elements are written as empty values. Raises CodecError for elements of another type.
        """
        if array.dtype != object:
            array = array.astype(object)
        try:
            return self._numcodecs.encode(np.ascontiguousarray(array))
        except Exception as error:
            raise CodecError(
                f"codec {self.name!r}: cannot encode: {error} "
                f"(every element must be {self._element_type.__name__})"
            ) from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """An object array of ``spec.shape`` holding the decoded elements.

        Raises CodecError when ``data`` is truncated, malformed, or holds the wrong number of elements.
        """
        expected = math.prod(spec.shape)
        size = byte_length(data)
        if size < _HEADER_SIZE:
            raise CodecError(
                f"codec {self.name!r}: truncated data: {size} bytes cannot hold the element count"
            )
        count = int.from_bytes(memoryview(data).cast("B")[:_HEADER_SIZE], "little")
        if count != expected:
            raise CodecError(
                f"codec {self.name!r}: chunk of shape {spec.shape} needs {expected} elements, "
                f"data holds {count}"
            )
        try:
            decoded = self._numcodecs.decode(data)
        except Exception as error:
            raise CodecError(f"codec {self.name!r}: corrupt or truncated data: {error}") from error
        return decoded.reshape(spec.shape)


@dataclass(frozen=True)
class VLenUTF8Codec(_VLenCodec):
    """Variable-length UTF-8 strings; decodes to an object array of ``str``."""

    name = "vlen-utf8"
    _element_type = str
    _numcodecs = VLenUTF8()


@dataclass(frozen=True)
class VLenBytesCodec(_VLenCodec):
    """Variable-length byte strings; decodes to an object array of ``bytes``."""

    name = "vlen-bytes"
    _element_type = bytes
    _numcodecs = VLenBytes()
