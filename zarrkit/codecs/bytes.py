"""The ``bytes`` codec (array -> bytes): the array's elements in C order, in a given byte order.

``endian`` is required for data types whose elements have a byte order (multi-byte numbers,
``fixed_length_utf32``...) and meaningless for the others (``bool``, ``int8``, raw and
null-terminated bytes, structured types), where it is left out of the metadata.

Structured types are handled as zarr-python 3.1.6 handles them: no ``endian`` in the metadata, and
each field stored in the byte order the data type gives it (the metadata layer makes that little
endian). Arrays in another field byte order are converted on encoding, so the stored bytes always
match the metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zarrkit.codecs._support import BytesLike, byte_length, check_choice, check_configuration
from zarrkit.codecs.base import ArrayBytesCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError

Endian = Literal["little", "big"]

_BYTE_ORDER_CHAR = {"little": "<", "big": ">"}


def has_byte_order(dtype: np.dtype) -> bool:
    """True when the elements of ``dtype`` have a byte order, so the bytes codec needs ``endian``."""
    return dtype.fields is None and dtype.byteorder != "|" and not dtype.hasobject


@dataclass(frozen=True)
class BytesCodec(ArrayBytesCodec):
    """Serialize a chunk as its raw elements in C order, in ``endian`` byte order.

    Raises MetadataError for an ``endian`` other than "little", "big" or None.
    """

    name = "bytes"

    endian: Endian | None = "little"

    def __post_init__(self) -> None:
        if self.endian is not None:
            check_choice(self.name, "endian", self.endian, ("little", "big"))

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> BytesCodec:
        """Build the codec from its configuration (``{}`` or ``{"endian": ...}``)."""
        configuration = check_configuration(cls.name, configuration, {"endian"})
        if "endian" not in configuration:
            return cls(None)
        # An explicit null is not the same as leaving the field out: only the two byte orders are written.
        endian = check_choice(cls.name, "endian", configuration["endian"], ("little", "big"))
        return cls(endian)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, Any]:
        """``{"name": "bytes"}``, with ``{"endian": ...}`` as configuration when an endian is set."""
        if self.endian is None:
            return {"name": self.name}
        return {"name": self.name, "configuration": {"endian": self.endian}}

    def evolve(self, spec: ChunkSpec) -> BytesCodec:
        """This codec fitted to chunks of ``spec``: without ``endian`` where the type has no byte order.

        Raises MetadataError when the data type needs an endian and none is set, or when the data type
        is variable-length (those need ``vlen-utf8`` or ``vlen-bytes``).
        """
        if spec.dtype.hasobject:
            raise MetadataError(
                f"codec 'bytes' cannot serialize the variable-length data type {spec.dtype}; "
                "use 'vlen-utf8' or 'vlen-bytes'"
            )
        if not has_byte_order(spec.dtype):
            return self if self.endian is None else BytesCodec(None)
        if self.endian is None:
            raise MetadataError(
                f"codec 'bytes': configuration field 'endian' is required for data type {spec.dtype}"
            )
        return self

    def stored_dtype(self, dtype: np.dtype) -> np.dtype:
        """The NumPy dtype of the elements as they are laid out in the encoded bytes."""
        if self.endian is None or not has_byte_order(dtype):
            return dtype
        return dtype.newbyteorder(_BYTE_ORDER_CHAR[self.endian])

    def encode_view(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """The encoded bytes as a flat uint8 array, sharing memory with ``array`` where its layout allows."""
        stored = self.stored_dtype(spec.dtype)
        if array.dtype != stored:
            array = array.astype(stored)
        if array.shape != spec.shape:
            raise CodecError(f"codec 'bytes': expected an array of shape {spec.shape}, got {array.shape}")
        return np.ascontiguousarray(array).reshape(-1).view(np.uint8)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """The elements of ``array`` in C order and the configured byte order."""
        return self.encode_view(array, spec).tobytes()

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """A read-only view of ``data`` as an array of ``spec.shape`` (a copy only to swap byte order).

        Raises CodecError when the size of ``data`` does not match the chunk.
        """
        stored = self.stored_dtype(spec.dtype)
        expected = stored.itemsize * math.prod(spec.shape)
        size = byte_length(data)
        if size != expected:
            raise CodecError(
                f"codec 'bytes': chunk of shape {spec.shape} and type {spec.dtype} needs {expected} bytes, "
                f"got {size}"
            )
        array = np.frombuffer(data, dtype=stored).reshape(spec.shape)
        if stored != spec.dtype:
            array = array.astype(spec.dtype)
        return array
