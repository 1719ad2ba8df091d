"""The regular chunk grid: how an array of ``shape`` is cut into chunks of ``chunk_shape``.

Chunk ``(i, j, ...)`` covers the array elements from ``i * chunk_shape[0]`` (and so on in every
dimension) up to the next chunk. Edge chunks are stored full size, but only the part inside the
array holds data; :meth:`RegularChunkGrid.chunk_region` gives that part. Zarr v3 allows a chunk
length of 0 along a dimension of length 0; such a dimension has no chunks.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, product

import numpy as np

from zarrkit.errors import MetadataError, SelectionError


def _as_int_tuple(values: Sequence[int], field: str, minimum: int) -> tuple[int, ...]:
    """``values`` as a tuple of Python ints, each at least ``minimum``; MetadataError otherwise."""
    if isinstance(values, (str, bytes)):
        raise MetadataError(f"{field} must be a sequence of integers, got {values!r}")
    try:
        items = tuple(values)
    except TypeError:
        raise MetadataError(f"{field} must be a sequence of integers, got {values!r}") from None
    result = []
    for dim, value in enumerate(items):
        if isinstance(value, (bool, np.bool_)):
            raise MetadataError(f"{field}[{dim}] must be an integer, got {value!r}")
        try:
            number = operator.index(value)
        except TypeError:
            raise MetadataError(f"{field}[{dim}] must be an integer, got {value!r}") from None
        if number < minimum:
            raise MetadataError(f"{field}[{dim}] must be at least {minimum}, got {number}")
        result.append(number)
    return tuple(result)


def ceil_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded up (towards positive infinity), for integers.

    Raises ZeroDivisionError when ``denominator`` is 0.
    """
    return -(-numerator // denominator)


def _chunk_count(length: int, chunk: int) -> int:
    """How many chunks of length ``chunk`` cover ``length`` elements (none when ``chunk`` is 0)."""
    return ceil_div(length, chunk) if chunk else 0


def _is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (Python or NumPy) and not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class RegularChunkGrid:
    """An array of ``shape`` cut into chunks of ``chunk_shape``.

    A chunk length of 0 is allowed on a dimension of length 0 (the Zarr v3 spec allows it): that
    dimension, and so the grid, has no chunks. Raises MetadataError when a length is negative, a
    chunk length is 0 on a dimension that is not empty, or the two shapes have different numbers of
    dimensions.
    """

    shape: tuple[int, ...]
    chunk_shape: tuple[int, ...]

    def __post_init__(self) -> None:
        shape = _as_int_tuple(self.shape, "shape", minimum=0)
        chunk_shape = _as_int_tuple(self.chunk_shape, "chunk_shape", minimum=0)
        if len(shape) != len(chunk_shape):
            raise MetadataError(
                f"chunk_shape {chunk_shape} has {len(chunk_shape)} dimensions but shape {shape} "
                f"has {len(shape)}"
            )
        for dim, (length, chunk) in enumerate(zip(shape, chunk_shape)):
            if chunk == 0 and length != 0:
                raise MetadataError(
                    f"chunk_shape[{dim}] is 0 but shape[{dim}] is {length}: a chunk length of 0 is "
                    "allowed only on a dimension of length 0"
                )
        # Normalise lists and NumPy integers so that equal grids compare and hash equal.
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "chunk_shape", chunk_shape)

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.shape)

    @cached_property
    def grid_shape(self) -> tuple[int, ...]:
        """The number of chunks along each dimension (0 where the array has length 0)."""
        return tuple(_chunk_count(length, chunk) for length, chunk in zip(self.shape, self.chunk_shape))

    @cached_property
    def nchunks(self) -> int:
        """The total number of chunks in the grid (1 for a 0-d array)."""
        total = 1
        for count in self.grid_shape:
            total *= count
        return total

    def all_chunk_coords(self) -> Iterator[tuple[int, ...]]:
        """Every chunk's coordinates, in C order (a 0-d array has the one chunk ``()``)."""
        return product(*(range(count) for count in self.grid_shape))

    def chunk_region(self, chunk_coords: Sequence[int]) -> tuple[slice, ...]:
        """The part of the array that chunk ``chunk_coords`` covers, clipped to the array.

        Raises SelectionError when the coordinates have the wrong length or lie outside the grid.
        """
        if len(chunk_coords) != self.ndim:
            raise SelectionError(
                f"chunk coordinates {tuple(chunk_coords)} have {len(chunk_coords)} dimensions but the "
                f"chunk grid {self.grid_shape} of array shape {self.shape} has {self.ndim}"
            )
        region = []
        for dim, (index, count, chunk, length) in enumerate(
            zip(chunk_coords, self.grid_shape, self.chunk_shape, self.shape)
        ):
            if not _is_integer(index) or not 0 <= index < count:
                raise SelectionError(
                    f"chunk coordinate {index!r} in dimension {dim} is outside the chunk grid "
                    f"{self.grid_shape} of array shape {self.shape}"
                )
            start = operator.index(index) * chunk
            region.append(slice(start, min(start + chunk, length)))
        return tuple(region)

    def chunks_kept(self, new_shape: Sequence[int]) -> tuple[int, ...]:
        """The number of leading chunks along each dimension that still hold part of an array of
        ``new_shape``: the chunks a resize to ``new_shape`` keeps (some of them cut by the new edge).

        Raises MetadataError when ``new_shape`` is invalid for this grid.
        """
        new_shape = _as_int_tuple(new_shape, "new shape", minimum=0)
        if len(new_shape) != self.ndim:
            raise MetadataError(
                f"new shape {new_shape} has {len(new_shape)} dimensions but the array shape "
                f"{self.shape} has {self.ndim}"
            )
        return tuple(
            min(_chunk_count(length, chunk), count)
            for length, chunk, count in zip(new_shape, self.chunk_shape, self.grid_shape)
        )

    def chunks_outside(self, new_shape: Sequence[int]) -> Iterator[tuple[int, ...]]:
        """The chunks of this grid that lie wholly outside an array of ``new_shape``.

        These are the chunks a resize to ``new_shape`` must delete; chunks that are only cut by the
        new edge are kept. Raises MetadataError when ``new_shape`` is invalid for this grid.
        """
        kept = self.chunks_kept(new_shape)
        # The chunks outside are a union of disjoint boxes: box d holds the chunks that are inside
        # in every dimension before d and outside in dimension d, whatever they are after d.
        boxes = []
        for dim in range(self.ndim):
            if kept[dim] < self.grid_shape[dim]:
                ranges = [range(kept[before]) for before in range(dim)]
                ranges.append(range(kept[dim], self.grid_shape[dim]))
                ranges.extend(range(count) for count in self.grid_shape[dim + 1 :])
                boxes.append(product(*ranges))
        return chain.from_iterable(boxes)


AUTO_CHUNK_BYTES = 2**20
"""The size ``chunks="auto"`` aims at: large enough to amortize a request, small enough to slice."""


def auto_chunk_shape(shape: tuple[int, ...], itemsize: int, target_bytes: int = AUTO_CHUNK_BYTES) -> tuple[int, ...]:
    """A chunk shape of at most ``target_bytes`` for an array of ``shape``, halving the longest side.

    Zero-length dimensions get chunks of 1; a 0-d array gets ``()``.
    """
    chunk_shape = [max(1, length) for length in shape]
    while chunk_shape and math.prod(chunk_shape) * max(itemsize, 1) > target_bytes:
        longest = chunk_shape.index(max(chunk_shape))
        if chunk_shape[longest] == 1:
            break
        chunk_shape[longest] = ceil_div(chunk_shape[longest], 2)
    return tuple(chunk_shape)
