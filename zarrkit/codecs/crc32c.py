"""The ``crc32c`` codec (bytes -> bytes): appends the CRC-32C of the data as 4 little-endian bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import crc32c

from zarrkit.codecs._support import BytesLike, byte_length, check_configuration
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.errors import CodecError

CHECKSUM_SIZE = 4


@dataclass(frozen=True)
class Crc32cCodec(BytesBytesCodec):
    """Append a CRC-32C checksum on encoding; verify and strip it on decoding."""

    name = "crc32c"

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> Crc32cCodec:
        """Build the codec; it has no configuration (MetadataError for any field)."""
        check_configuration(cls.name, configuration, set())
        return cls()

    def to_json(self) -> dict[str, Any]:
        """``{"name": "crc32c"}``."""
        return {"name": self.name}

    def encoded_size(self, size: int) -> int:
        """``size`` plus the 4 checksum bytes."""
        return size + CHECKSUM_SIZE

    def encode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """``data`` followed by its CRC-32C in little-endian order."""
        checksum = crc32c.crc32c(data).to_bytes(CHECKSUM_SIZE, "little")
        return b"".join((data, checksum))

    def decode(self, data: BytesLike, spec: ChunkSpec) -> memoryview:
        """A view of ``data`` without its checksum.

        Raises CodecError when ``data`` is shorter than a checksum or the checksum does not match.
        """
        size = byte_length(data)
        if size < CHECKSUM_SIZE:
            raise CodecError(
                f"codec 'crc32c': truncated data: {size} bytes is shorter than the 4-byte checksum"
            )
        view = memoryview(data).cast("B")
        payload = view[: size - CHECKSUM_SIZE]
        stored = int.from_bytes(view[size - CHECKSUM_SIZE :], "little")
        computed = crc32c.crc32c(payload)
        if stored != computed:
            raise CodecError(
                f"codec 'crc32c': checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): "
                "the data is corrupt or truncated"
            )
        return payload
