"""The ``zstd`` codec (bytes -> bytes), through numcodecs' Zstd."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numcodecs.abc import Codec as Numcodec
from numcodecs.zstd import Zstd

from zarrkit.codecs._support import BytesLike, check_bool, check_configuration, check_int, required
from zarrkit.codecs.wrapped import NumcodecsBackedCodec

# The level range of libzstd: negative levels trade ratio for speed, 0 means its default (3).
_MIN_LEVEL = -131072
_MAX_LEVEL = 22

_FRAME_MAGIC = b"\x28\xb5\x2f\xfd"


def declares_empty_content(frame: BytesLike) -> bool:
    """True when ``frame`` starts with a Zstandard frame header declaring a content size of zero."""
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


@dataclass(frozen=True)
class ZstdCodec(NumcodecsBackedCodec):
    """Compress with Zstandard at ``level``, optionally with a content checksum in each frame.

    Raises MetadataError for a level outside libzstd's range or a non-boolean ``checksum``.
    """

    name = "zstd"

    level: int = 0
    checksum: bool = False
    _numcodec: Numcodec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        level = check_int(self.name, "level", self.level, minimum=_MIN_LEVEL, maximum=_MAX_LEVEL)
        checksum = check_bool(self.name, "checksum", self.checksum)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "_numcodec", Zstd(level=level, checksum=checksum))

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> ZstdCodec:
        """Build the codec from ``{"level": n, "checksum": bool}`` (``checksum`` defaults to false)."""
        configuration = check_configuration(cls.name, configuration, {"level", "checksum"})
        return cls(required(cls.name, configuration, "level"), configuration.get("checksum", False))

    def to_json(self) -> dict[str, Any]:
        """``{"name": "zstd", "configuration": {"level": n, "checksum": bool}}``."""
        return {"name": self.name, "configuration": {"level": self.level, "checksum": self.checksum}}

    def is_empty_frame(self, data: BytesLike) -> bool:
        """True for the frame numcodecs writes for empty input (it declares a content size of 0)."""
        return declares_empty_content(data)
