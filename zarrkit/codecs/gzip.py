"""The ``gzip`` codec (bytes -> bytes), through numcodecs' GZip."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numcodecs.abc import Codec as Numcodec
from numcodecs.gzip import GZip

from zarrkit.codecs._support import check_configuration, check_int, required
from zarrkit.codecs.wrapped import NumcodecsBackedCodec


@dataclass(frozen=True)
class GzipCodec(NumcodecsBackedCodec):
    """Compress with gzip at ``level`` (0 to 9).

    Raises MetadataError for a level outside 0..9.
    """

    name = "gzip"

    level: int = 5
    _numcodec: Numcodec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        level = check_int(self.name, "level", self.level, minimum=0, maximum=9)
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "_numcodec", GZip(level))

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> GzipCodec:
        """Build the codec from ``{"level": n}``; MetadataError when the level is missing or invalid."""
        configuration = check_configuration(cls.name, configuration, {"level"})
        return cls(required(cls.name, configuration, "level"))

    def to_json(self) -> dict[str, Any]:
        """``{"name": "gzip", "configuration": {"level": n}}``."""
        return {"name": self.name, "configuration": {"level": self.level}}
