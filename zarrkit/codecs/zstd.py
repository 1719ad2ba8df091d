"""The ``zstd`` codec (bytes -> bytes), through numcodecs' Zstd (which releases the GIL)."""

from __future__ import annotations

from typing import Any

from numcodecs.zstd import Zstd

from zarrkit.codecs._support import BytesLike, check_configuration, read_bool, read_int
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError

# The level range of libzstd: negative levels trade ratio for speed, 0 means its default (3).
_MIN_LEVEL = -131072
_MAX_LEVEL = 22

_FRAME_MAGIC = b"\x28\xb5\x2f\xfd"


def declares_empty_content(frame: BytesLike) -> bool:
    """True when ``frame`` starts with a Zstandard frame header declaring a content size of zero.

    numcodecs refuses to decode such frames (which it writes for empty input), so the codec answers
    them itself.
    """
    view = memoryview(frame).cast("B")
    if len(view) < 6 or view[:4] != _FRAME_MAGIC:
        return False
    descriptor = view[4]
    single_segment = (descriptor >> 5) & 1
    size_field_length = (single_segment, 2, 4, 8)[descriptor >> 6]
    if size_field_length == 0:
        return False  # the content size is not recorded
    dictionary_id_length = (0, 1, 2, 4)[descriptor & 3]
    start = 5 + (1 - single_segment) + dictionary_id_length
    size_field = view[start : start + size_field_length]
    # A 2-byte field stores the size minus 256, so it never declares zero.
    return len(size_field) == size_field_length and size_field_length != 2 and not any(size_field)


class ZstdCodec(BytesBytesCodec):
    """Compress with Zstandard at ``level``, optionally with a content checksum in each frame.

    Raises MetadataError for a level outside libzstd's range or a non-boolean ``checksum``.
    """

    name = "zstd"

    def __init__(self, level: int = 0, checksum: bool = False) -> None:
        self.level = read_int(self.name, {"level": level}, "level", minimum=_MIN_LEVEL, maximum=_MAX_LEVEL)
        self.checksum = read_bool(self.name, {"checksum": checksum}, "checksum", default=False)
        self._zstd = Zstd(level=self.level, checksum=self.checksum)

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> ZstdCodec:
        """Build the codec from ``{"level": n, "checksum": bool}`` (``checksum`` defaults to false)."""
        configuration = check_configuration(cls.name, configuration, {"level", "checksum"})
        if "level" not in configuration:
            raise MetadataError("codec 'zstd': configuration field 'level' is required")
        return cls(configuration["level"], configuration.get("checksum", False))

    def to_json(self) -> dict[str, Any]:
        """``{"name": "zstd", "configuration": {"level": n, "checksum": bool}}``."""
        return {"name": self.name, "configuration": {"level": self.level, "checksum": self.checksum}}

    def encode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """One Zstandard frame holding ``data``."""
        try:
            return self._zstd.encode(data)
        except Exception as error:
            raise CodecError(f"codec 'zstd': cannot compress: {error}") from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """The decompressed bytes; CodecError when ``data`` is corrupt, truncated or fails its checksum."""
        try:
            return self._zstd.decode(data)
        except Exception as error:
            if declares_empty_content(data):
                return b""
            raise CodecError(f"codec 'zstd': corrupt or truncated data: {error}") from error
