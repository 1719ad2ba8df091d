"""The codec model of Zarr v3: array->array, array->bytes and bytes->bytes codecs.

A chunk is encoded by its array->array codecs in order, then by exactly one array->bytes codec,
then by its bytes->bytes codecs in order; decoding runs the chain backwards. Each codec sees a
:class:`ChunkSpec` describing the array it works on, so codecs that change the shape or dtype
(``transpose``) tell the next codec what it receives through :meth:`ArrayArrayCodec.resolve`.

Codecs raise :class:`~zarrkit.errors.CodecError` for data they cannot decode; the chunk engine
adds the chunk key to the message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np


@dataclass(frozen=True)
class ChunkSpec:
    """What a codec needs to know about the chunk it encodes or decodes."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fill_value: Any


class Codec(ABC):
    """A codec as named in array metadata, with its JSON configuration."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_json(cls, configuration: dict[str, Any]) -> Codec:
        """Build the codec from the ``configuration`` object of its metadata entry.

        Raises MetadataError when the configuration is invalid (the caller adds the node path).
        """

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The codec's metadata entry: ``{"name": ..., "configuration": {...}}``."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_json() == self.to_json()

    def __hash__(self) -> int:
        return hash(repr(self.to_json()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_json().get('configuration', {})})"


class ArrayArrayCodec(Codec):
    """A codec that turns an array into another array (``transpose``)."""

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the encoded array, given the spec of the decoded one."""
        return spec

    @abstractmethod
    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """Encode ``array`` (described by ``spec``)."""

    @abstractmethod
    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """Decode ``array`` back into the array described by ``spec`` (the decoded spec)."""


class ArrayBytesCodec(Codec):
    """The one codec of a chain that turns an array into bytes (``bytes``, ``sharding_indexed``...)."""

    @abstractmethod
    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """Serialize ``array`` (of ``spec.shape`` and ``spec.dtype``)."""

    @abstractmethod
    def decode(self, data: bytes, spec: ChunkSpec) -> np.ndarray:
        """Deserialize ``data`` into an array of ``spec.shape`` and ``spec.dtype``.

        Raises CodecError when ``data`` has the wrong size or is corrupt.
        """


class BytesBytesCodec(Codec):
    """A codec that turns bytes into bytes (compressors, checksums)."""

    @abstractmethod
    def encode(self, data: bytes, spec: ChunkSpec) -> bytes:
        """Encode ``data``."""

    @abstractmethod
    def decode(self, data: bytes, spec: ChunkSpec) -> bytes:
        """Decode ``data``; raises CodecError when it is corrupt or truncated."""

    def encoded_size(self, size: int) -> int | None:
        """The encoded size of ``size`` input bytes when it is fixed (checksums), else None."""
        return None
