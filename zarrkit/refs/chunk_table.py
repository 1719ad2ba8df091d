"""The chunks of one array as a grid, and their references held as columns.

A scanned file often references hundreds of thousands of chunks that differ only in their offset:
a record variable of a NetCDF3 file, for instance. Holding those as one :class:`Reference` object and
one key string per chunk costs about 200 bytes and a microsecond each; a :class:`ChunkTable` holds
the same references as two integer columns (16 bytes per chunk) and makes keys and Reference
objects only when they are asked for. :class:`~zarrkit.refs.model.ReferenceSet` holds tables next to
its ordinary entries.

:class:`ChunkGrid` is the part both this module and the parquet layout need: which chunks an array
has, how their keys are spelled, and the number of each chunk (its grid index raveled in C order).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.errors import MetadataError, ReferenceError
from zarrkit.metadata import ChunkKeyEncoding, parse_chunk_key_encoding, parse_int_tuple, parse_named_object
from zarrkit.refs.reference import Reference


@dataclass(frozen=True)
class ChunkGrid:
    """The chunks of the array at ``path`` (``""`` for a root array): ``grid`` chunks along each
    dimension, with keys spelled by ``encoding``."""

    path: str
    grid: tuple[int, ...]
    encoding: ChunkKeyEncoding

    @classmethod
    def of_array(
        cls, path: str, shape: tuple[int, ...], chunks: tuple[int, ...], encoding: ChunkKeyEncoding
    ) -> ChunkGrid:
        """The grid of a regularly chunked array of ``shape`` in ``chunks``.

        Raises MetadataError, naming ``path``, when shape and chunks differ in length or a chunk
        extent is 0 where the array's is not.
        """
        try:
            grid = RegularChunkGrid(shape, chunks).grid_shape
        except MetadataError as error:
            raise MetadataError(f"array {path!r}: {error}") from None
        return cls(path, grid, encoding)

    @property
    def directory(self) -> str:
        """The key prefix of the array's chunks (``""`` for an array at the root)."""
        return self.path + "/" if self.path else ""

    @property
    def chunk_count(self) -> int:
        """How many chunks the grid has."""
        return math.prod(self.grid)

    def chunk_number(self, name: str) -> int | None:
        """The number of the chunk whose key (relative to the array) is ``name``; None if no chunk has it."""
        coordinates = self.encoding.decode(name, ndim=len(self.grid))
        if coordinates is None:
            return None
        number = 0
        for coordinate, extent in zip(coordinates, self.grid):
            if coordinate >= extent:
                return None
            number = number * extent + coordinate
        return number

    def chunk_names(self, numbers: np.ndarray | None = None) -> list[str]:
        """The keys, relative to the array, of the chunks with the given numbers (of every chunk,
        in order, by default)."""
        if numbers is None:
            numbers = np.arange(self.chunk_count)
        coordinates = [axis.tolist() for axis in np.unravel_index(numbers, self.grid)] if self.grid else []
        return self.encoding.encode_many(coordinates, len(numbers))

    def chunk_keys(self, numbers: np.ndarray | None = None) -> list[str]:
        """The full keys of the chunks with the given numbers (of every chunk, in order, by default)."""
        directory = self.directory
        return [directory + name for name in self.chunk_names(numbers)]


def locate(grids: Mapping[str, ChunkGrid], key: str) -> tuple[ChunkGrid, int] | None:
    """The grid (among ``grids``, by array path) that ``key`` is a chunk key of and the chunk's
    number, or None when it is none's."""
    end = len(key)
    while True:
        slash = key.rfind("/", 0, end)
        grid = grids.get(key[:slash] if slash >= 0 else "")
        if grid is not None:
            number = grid.chunk_number(key[slash + 1 :])
            if number is not None:
                return grid, number
        if slash < 0:
            return None
        end = slash


def _v2_array(path: str, document: Mapping[str, Any], *, where: str) -> ChunkGrid:
    shape = parse_int_tuple(document.get("shape"), where=where, field="shape", minimum=0)
    chunks = parse_int_tuple(document.get("chunks"), where=where, field="chunks", minimum=1)
    separator = document.get("dimension_separator", ".")
    if separator not in (".", "/"):
        raise ReferenceError(f"{where}: field 'dimension_separator' must be '.' or '/', got {separator!r}")
    return ChunkGrid.of_array(path, shape, chunks, ChunkKeyEncoding("v2", separator))


def _v3_array(path: str, document: Mapping[str, Any], *, where: str) -> ChunkGrid:
    shape = parse_int_tuple(document.get("shape"), where=where, field="shape", minimum=0)
    grid = parse_named_object(document.get("chunk_grid"), where=where, field="chunk_grid")
    if grid["name"] != "regular":
        raise ReferenceError(f"{where}: unsupported chunk grid {grid['name']!r} (only 'regular')")
    chunks = parse_int_tuple(
        grid["configuration"].get("chunk_shape"), where=where, field="chunk_grid.chunk_shape", minimum=0
    )
    if "chunk_key_encoding" not in document:
        raise ReferenceError(f"{where}: mandatory field 'chunk_key_encoding' is missing")
    encoding = parse_chunk_key_encoding(document["chunk_key_encoding"], path=path)
    return ChunkGrid.of_array(path, shape, chunks, encoding)


def array_grids(metadata: Mapping[str, Mapping[str, Any]], *, source: str) -> dict[str, ChunkGrid]:
    """The arrays that the metadata keys describe, by path: v2 ``.zarray`` and v3 ``zarr.json`` of
    ``node_type`` array (which wins where a path has both, as in zarr-python).

    Raises ReferenceError naming ``source`` and the key when array metadata lacks or garbles the
    shape, the chunks or the chunk key encoding.
    """
    arrays: dict[str, ChunkGrid] = {}
    for key, document in metadata.items():
        path, _, name = key.rpartition("/")
        where = f"{source}: metadata key {key!r}"
        try:
            if name == "zarr.json" and document.get("node_type") == "array":
                arrays[path] = _v3_array(path, document, where=where)
            elif name == ".zarray" and metadata.get(f"{path}/zarr.json" if path else "zarr.json") is None:
                arrays[path] = _v2_array(path, document, where=where)
        except MetadataError as error:
            message = str(error)
            raise ReferenceError(message if message.startswith(where) else f"{where}: {message}") from None
    return arrays


@dataclass(frozen=True, eq=False)
class ChunkTable:
    """A reference for every chunk of ``grid``: chunk ``n`` is ``lengths[n]`` bytes at ``offsets[n]``
    of the file at ``url`` (None: the default target).

    ``offsets`` and ``lengths`` are one-dimensional integer arrays with one item per chunk; they are
    stored as int64 and not copied when they already are. Raises ReferenceError, naming the array,
    when their sizes differ from the chunk count or an item is negative.
    """

    grid: ChunkGrid
    url: str | None
    offsets: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        where = f"chunk table of array {self.grid.path!r}"
        if self.url is not None and not isinstance(self.url, str):
            raise ReferenceError(f"{where}: the url must be a string or None, got {self.url!r}")
        for name in ("offsets", "lengths"):
            column = np.asarray(getattr(self, name))
            if column.dtype.kind not in "iu" or column.shape != (self.grid.chunk_count,):
                raise ReferenceError(
                    f"{where}: {name} must be {self.grid.chunk_count} integers (one per chunk), "
                    f"got an array of {column.dtype} and shape {column.shape}"
                )
            column = column.astype(np.int64, copy=False)
            if column.size and column.min() < 0:
                raise ReferenceError(f"{where}: {name} must be >= 0, got {int(column.min())}")
            object.__setattr__(self, name, column)

    def __len__(self) -> int:
        return self.grid.chunk_count

    def reference(self, number: int) -> Reference:
        """The reference of chunk ``number``."""
        return Reference(self.url, int(self.offsets[number]), int(self.lengths[number]))

    def keys(self) -> list[str]:
        """The full key of every chunk, in chunk number order."""
        return self.grid.chunk_keys()

    def items(self) -> Iterator[tuple[str, Reference]]:
        """Each chunk's full key and reference, in chunk number order."""
        url = self.url
        for key, offset, length in zip(self.keys(), self.offsets.tolist(), self.lengths.tolist()):
            yield key, Reference(url, offset, length)
