"""The ``gzip`` codec (bytes -> bytes), through numcodecs' GZip (which releases the GIL)."""

from __future__ import annotations

from typing import Any

from numcodecs.gzip import GZip

from zarrkit.codecs._support import BytesLike, check_configuration, read_int
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError


class GzipCodec(BytesBytesCodec):
    """Compress with gzip at ``level`` (0 to 9).

    Raises MetadataError for a level outside 0..9.
    """

    name = "gzip"

    def __init__(self, level: int = 5) -> None:
        self.level = read_int(self.name, {"level": level}, "level", minimum=0, maximum=9)
        self._gzip = GZip(self.level)

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> GzipCodec:
        """Build the codec from ``{"level": n}``; MetadataError when the level is missing or invalid."""
        configuration = check_configuration(cls.name, configuration, {"level"})
        if "level" not in configuration:
            raise MetadataError("codec 'gzip': configuration field 'level' is required")
        return cls(configuration["level"])

    def to_json(self) -> dict[str, Any]:
        """``{"name": "gzip", "configuration": {"level": n}}``."""
        return {"name": self.name, "configuration": {"level": self.level}}

    def encode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """The gzip stream of ``data``."""
        try:
            return self._gzip.encode(data)
        except Exception as error:
            raise CodecError(f"codec 'gzip': cannot compress: {error}") from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """The decompressed bytes; CodecError when ``data`` is not a complete gzip stream."""
        try:
            return self._gzip.decode(data)
        except Exception as error:
            raise CodecError(f"codec 'gzip': corrupt or truncated data: {error}") from error
