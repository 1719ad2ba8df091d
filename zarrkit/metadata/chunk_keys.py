"""Chunk key encodings: how chunk grid coordinates become store keys.

``default`` (Zarr v3) writes ``c/1/2`` (``c`` for a 0-d array) and ``v2`` writes ``1.2`` (``0`` for a
0-d array), each with its separator. Zarr v2 arrays always use the ``v2`` encoding, with the
separator of their ``dimension_separator`` field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from zarrkit.errors import MetadataError

from ._common import describe_node, parse_named_object

_DEFAULT_SEPARATOR = {"default": "/", "v2": "."}


@dataclass(frozen=True)
class ChunkKeyEncoding:
    """A chunk key encoding: its name and separator.

    Construction raises MetadataError for an unknown name or a separator other than ``/`` or ``.``.
    """

    name: Literal["default", "v2"]
    separator: Literal["/", "."]
    # Derived in __post_init__ so that encode() does no per-call branching.
    _prefix: str = field(init=False, repr=False, compare=False)
    _scalar_key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name not in _DEFAULT_SEPARATOR:
            raise MetadataError(f"unknown chunk key encoding {self.name!r}; expected 'default' or 'v2'")
        if self.separator not in ("/", "."):
            raise MetadataError(
                f"chunk key encoding {self.name!r}: separator must be '/' or '.', got {self.separator!r}"
            )
        prefix = f"c{self.separator}" if self.name == "default" else ""
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_scalar_key", "c" if self.name == "default" else "0")

    def encode(self, chunk_coords: tuple[int, ...]) -> str:
        """The store key (relative to the array) of the chunk at ``chunk_coords``."""
        if not chunk_coords:
            return self._scalar_key
        return self._prefix + self.separator.join(map(str, chunk_coords))

    def encode_many(self, chunk_coords: Sequence[Sequence[int]], count: int) -> list[str]:
        """The keys of ``count`` chunks whose coordinates along dimension ``d`` are ``chunk_coords[d]``
        (one sequence per dimension, as ``numpy.unravel_index`` gives them), in order."""
        if not chunk_coords:
            return [self._scalar_key] * count
        columns = [list(map(str, coordinates)) for coordinates in chunk_coords]
        if len(columns) == 1:
            return [self._prefix + name for name in columns[0]]
        return [self._prefix + self.separator.join(names) for names in zip(*columns)]

    def decode(self, key: str, *, ndim: int | None = None) -> tuple[int, ...] | None:
        """The chunk coordinates that ``key`` encodes, or None if it is not a chunk key.

        With ``ndim`` given, a key with another number of coordinates is not a chunk key (and the
        ``v2`` key ``"0"`` of a 0-d array decodes to ``()``); without it, ``"0"`` decodes to ``(0,)``.
        """
        if ndim == 0:
            return () if key == self._scalar_key else None
        if ndim is None and self.name == "default" and key == self._scalar_key:
            # Unlike v2's "0", the default encoding's "c" can only be a 0-d array's chunk.
            return ()
        if self._prefix:
            if not key.startswith(self._prefix):
                return None
            key = key[len(self._prefix) :]
        parts = key.split(self.separator)
        if not all(part.isascii() and part.isdigit() for part in parts):
            return None
        if ndim is not None and len(parts) != ndim:
            return None
        return tuple(int(part) for part in parts)

    def to_json(self) -> dict[str, Any]:
        """The ``chunk_key_encoding`` metadata object."""
        return {"name": self.name, "configuration": {"separator": self.separator}}


def parse_chunk_key_encoding(value: Any, *, path: str) -> ChunkKeyEncoding:
    """Parse the v3 ``chunk_key_encoding`` field of the array at ``path``.

    Accepts the short-hand names ``"default"`` and ``"v2"``. Raises MetadataError for any other
    encoding (``must_understand: false`` cannot make a chunk key encoding optional) or for a bad
    configuration.
    """
    array = describe_node("array", path)
    encoding = parse_named_object(value, where=array, field="chunk_key_encoding")
    where = f"{array}: field 'chunk_key_encoding'"
    name, configuration = encoding["name"], encoding["configuration"]
    if name not in _DEFAULT_SEPARATOR:
        raise MetadataError(f"{where}: unknown chunk key encoding {name!r}; expected 'default' or 'v2'")
    unknown_options = set(configuration) - {"separator"}
    if unknown_options:
        raise MetadataError(f"{where}: unknown configuration members {sorted(unknown_options)}")
    separator = configuration.get("separator", _DEFAULT_SEPARATOR[name])
    if separator not in ("/", "."):
        raise MetadataError(f"{where}: separator must be '/' or '.', got {separator!r}")
    return ChunkKeyEncoding(name, separator)
