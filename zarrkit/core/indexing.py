"""Selections and their projections onto chunks.

An indexer takes a user selection on an array of ``shape`` cut into chunks of ``chunk_shape`` and
yields one :class:`ChunkProjection` per chunk the selection touches. With
``result = np.empty(indexer.shape, dtype)``, running ``result[p.out_selection] =
chunk[p.chunk_selection]`` for every projection ``p`` (where ``chunk`` is the decoded, full-size
chunk at ``p.chunk_coords``) gives the selected data; running ``chunk[p.chunk_selection] =
value[p.out_selection]`` with ``value`` broadcast to ``indexer.shape`` writes it.

Indexers for regular selections (:class:`BasicIndexer`, :class:`OrthogonalIndexer`,
:class:`BlockIndexer`) project each dimension on its own and take the product of the per-dimension
projections, so iterating costs well under a microsecond per chunk. Point selections
(:class:`CoordinateIndexer`, :class:`MaskIndexer`) group their points by chunk with a sort.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from itertools import compress, product
from typing import Any, NamedTuple

import numpy as np

from zarrkit.core.chunk_grid import RegularChunkGrid, ceil_div
from zarrkit.errors import SelectionError, UnsupportedFeature


class ChunkProjection(NamedTuple):
    """How one chunk takes part in a selection."""

    chunk_coords: tuple[int, ...]
    """The index of the chunk in the chunk grid."""
    chunk_selection: tuple[Any, ...]
    """The selection to apply to the decoded chunk (an array of the full chunk shape)."""
    out_selection: tuple[Any, ...]
    """Where the selected values of the chunk go in the result array."""
    is_complete_chunk: bool
    """Whether the selection covers the whole chunk (its part inside the array), so that a write
    need not read the chunk first."""


class Indexer(ABC):
    """A selection projected onto the chunks of an array.

    ``shape`` is the shape of the result, ``drop_axes`` the array dimensions that integer items
    drop from it, and ``nchunks`` (also ``len()``) the number of projections.
    """

    shape: tuple[int, ...]
    drop_axes: tuple[int, ...]
    nchunks: int

    def __len__(self) -> int:
        return self.nchunks

    @abstractmethod
    def __iter__(self) -> Iterator[ChunkProjection]:
        """Yield one projection per touched chunk, each chunk exactly once."""


# ----------------------------------------------------------------------------------------------
# Parsing selection items


def _error(
    message: str, dim: int | None, shape: tuple[int, ...], context: str | None = None
) -> SelectionError:
    """A SelectionError naming the dimension and ending with ``context`` (default: the shape)."""
    where = f" in dimension {dim}" if dim is not None else ""
    return SelectionError(f"{message}{where} ({context or f'array shape {shape}'})")


def integer_or_none(item: Any) -> int | None:
    """``item`` as a Python int when it is an integer scalar (not a bool) or a 0-d integer array, else None.

    NumPy indexes with a 0-d integer array as with an integer.
    """
    if isinstance(item, (bool, np.bool_)):
        return None
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
        return int(item)
    return None


def _normalize_integer(index: int, dim: int, shape: tuple[int, ...], context: str | None = None) -> int:
    length = shape[dim]
    if not -length <= index < length:
        raise _error(f"index {index} is out of bounds for length {length}", dim, shape, context)
    return index + length if index < 0 else index


def _normalize_slice(item: slice, dim: int, shape: tuple[int, ...], context: str | None = None) -> range:
    """The indices a slice selects along ``dim``, in selection order (NumPy semantics)."""
    try:
        indices = item.indices(shape[dim])
    except TypeError:
        message = f"slice {item!r} has a bound or step that is not an integer"
        raise _error(message, dim, shape, context) from None
    except ValueError:
        raise _error(f"slice {item!r} has a step of 0", dim, shape, context) from None
    return range(*indices)


def _normalize_index_array(indices: np.ndarray, dim: int, shape: tuple[int, ...]) -> np.ndarray:
    """Integer ``indices`` along ``dim``, bounds-checked, with negative ones wrapped, as int64."""
    length = shape[dim]
    if indices.size == 0:
        return indices.astype(np.int64)
    low, high = indices.min(), indices.max()
    if low < -length or high >= length:
        bad = low if low < -length else high
        raise _error(f"index {int(bad)} is out of bounds for length {length}", dim, shape)
    indices = indices.astype(np.int64, copy=False)
    if low < 0:
        indices = np.where(indices < 0, indices + length, indices)
    return indices


def _as_array(item: Any, dim: int, shape: tuple[int, ...]) -> np.ndarray:
    """An array-like selection item as a NumPy array of integers or booleans."""
    array = np.asarray(item)
    if array.size == 0 and array.dtype.kind == "f":
        # np.asarray([]) is float64; an empty list selects nothing.
        return array.astype(np.int64)
    if array.dtype.kind not in "iub":
        raise _error(f"selection {item!r} of dtype {array.dtype} is neither integer nor boolean", dim, shape)
    return array


def expand_selection(selection: Any, shape: tuple[int, ...], context: str | None = None) -> tuple[Any, ...]:
    """``selection`` as a tuple of one item per dimension of ``shape``.

    Expands the (at most one) Ellipsis and fills missing trailing dimensions with full slices.
    Raises SelectionError for ``None``/``np.newaxis``, several Ellipses or too many items; the
    message ends with ``context`` (default: the shape).
    """
    items = selection if isinstance(selection, tuple) else (selection,)
    ellipses = [position for position, item in enumerate(items) if item is Ellipsis]
    for position, item in enumerate(items):
        if item is None:
            raise _error(f"None (np.newaxis) at selection position {position} is not supported",
                         None, shape, context)
    if len(ellipses) > 1:
        raise _error(f"selection {selection!r} has more than one Ellipsis", None, shape, context)
    given = len(items) - len(ellipses)
    if given > len(shape):
        raise _error(f"selection {selection!r} has {given} items for {len(shape)} dimensions",
                     None, shape, context)
    missing = (slice(None),) * (len(shape) - given)
    if ellipses:
        position = ellipses[0]
        return items[:position] + missing + items[position + 1 :]
    return items + missing


def is_basic_selection(selection: Any) -> bool:
    """Whether ``selection`` holds only integers, slices and Ellipsis (so BasicIndexer takes it)."""
    items = selection if isinstance(selection, tuple) else (selection,)
    return all(
        item is Ellipsis or isinstance(item, slice) or integer_or_none(item) is not None for item in items
    )


# ----------------------------------------------------------------------------------------------
# Projecting one dimension


class _DimProjection(NamedTuple):
    chunk_index: int
    chunk_selection: Any  # int, slice or 1-d integer array, local to the chunk
    out_selection: Any  # slice or 1-d integer array into the result; None when the axis is dropped
    is_complete: bool


class _DimIndexer(NamedTuple):
    projections: list[_DimProjection]
    out_length: int | None  # None when an integer drops the axis
    out_is_array: bool  # out selections are integer arrays (points were reordered)


def _region_length(chunk_index: int, length: int, chunk: int) -> int:
    """How many elements of chunk ``chunk_index`` lie inside a dimension of ``length``."""
    return min(chunk, length - chunk_index * chunk)


def _project_integer(index: int, length: int, chunk: int) -> _DimIndexer:
    chunk_index, local = divmod(index, chunk)
    is_complete = _region_length(chunk_index, length, chunk) == 1
    return _DimIndexer([_DimProjection(chunk_index, local, None, is_complete)], None, False)


def _project_range(selected: range, length: int, chunk: int) -> _DimIndexer:
    """Project the indices of ``selected`` (increasing or decreasing) onto the chunks."""
    count = len(selected)
    if count == 0:
        return _DimIndexer([], 0, False)
    first, step = selected.start, selected.step
    if abs(step) >= chunk:
        # Every selected index lies in its own chunk; walking chunks could visit many empty ones.
        projections = []
        for position, index in enumerate(selected):
            chunk_index, local = divmod(index, chunk)
            is_complete = _region_length(chunk_index, length, chunk) == 1
            projections.append(_DimProjection(
                chunk_index, slice(local, local + 1), slice(position, position + 1), is_complete
            ))
        return _DimIndexer(projections, count, False)
    low_chunk, high_chunk = sorted((first // chunk, selected[-1] // chunk))
    chunk_order = range(low_chunk, high_chunk + 1) if step > 0 else range(high_chunk, low_chunk - 1, -1)
    projections = []
    for chunk_index in chunk_order:
        chunk_start = chunk_index * chunk
        chunk_stop = min(chunk_start + chunk, length)
        # The result positions j whose index first + j * step falls inside this chunk.
        if step > 0:
            j_start = max(0, ceil_div(chunk_start - first, step))
            j_stop = min(count, ceil_div(chunk_stop - first, step))
        else:
            j_start = max(0, ceil_div(first - chunk_stop + 1, -step))
            j_stop = min(count, (first - chunk_start) // -step + 1)
        local_start = first + j_start * step - chunk_start
        local_stop = first + (j_stop - 1) * step - chunk_start + (1 if step > 0 else -1)
        chunk_selection = slice(local_start, local_stop if local_stop >= 0 else None, step)
        # Distinct indices, so covering as many as the chunk holds covers all of it.
        is_complete = j_stop - j_start == chunk_stop - chunk_start
        projections.append(_DimProjection(chunk_index, chunk_selection, slice(j_start, j_stop), is_complete))
    return _DimIndexer(projections, count, False)


def _project_indices(indices: np.ndarray, length: int, chunk: int) -> _DimIndexer:
    """Project normalised integer ``indices`` (any order, duplicates allowed) onto the chunks."""
    count = len(indices)
    if count == 0:
        return _DimIndexer([], 0, False)
    chunk_ids = indices // chunk
    in_chunk_order = bool(np.all(chunk_ids[1:] >= chunk_ids[:-1]))
    if in_chunk_order:
        order = None
        sorted_indices, sorted_ids = indices, chunk_ids
    else:
        # A stable sort keeps repeated indices in selection order, so the last write wins as in NumPy.
        order = np.argsort(chunk_ids, kind="stable")
        sorted_indices, sorted_ids = indices[order], chunk_ids[order]
    starts = np.flatnonzero(sorted_ids[1:] != sorted_ids[:-1]) + 1
    starts = np.concatenate(([0], starts))
    stops = np.append(starts[1:], count)
    group_ids = sorted_ids[starts]
    local = sorted_indices - sorted_ids * chunk
    region_lengths = np.minimum(chunk, length - group_ids * chunk)
    counts = stops - starts
    if in_chunk_order and bool(np.all(indices[1:] > indices[:-1])):
        distinct = counts
        # Runs of consecutive indices become slices, which NumPy copies much faster.
        contiguous = local[stops - 1] - local[starts] == counts - 1
    else:
        distinct_ids = np.unique(indices) // chunk
        first_of_group = np.searchsorted(distinct_ids, group_ids)
        distinct = np.searchsorted(distinct_ids, group_ids, "right") - first_of_group
        contiguous = np.zeros(len(starts), dtype=bool)
    complete = distinct == region_lengths
    projections = []
    for chunk_index, start, stop, first, is_contiguous, is_complete in zip(
        group_ids.tolist(), starts.tolist(), stops.tolist(), local[starts].tolist(),
        contiguous.tolist(), complete.tolist(),
    ):
        chunk_selection = slice(first, first + stop - start) if is_contiguous else local[start:stop]
        out_selection = slice(start, stop) if order is None else order[start:stop]
        projections.append(_DimProjection(chunk_index, chunk_selection, out_selection, is_complete))
    return _DimIndexer(projections, count, order is not None)


def _orthogonal_form(selection: Any, axis: int, naxes: int, length: int) -> np.ndarray:
    """``selection`` as an index array shaped to vary along ``axis`` of ``naxes`` (as np.ix_ does)."""
    if isinstance(selection, slice):
        selection = np.arange(*selection.indices(length))
    shape = [1] * naxes
    shape[axis] = -1
    return selection.reshape(shape)


# ----------------------------------------------------------------------------------------------
# Indexers that take the product of per-dimension projections


def _iterate_product(dims: list[_DimIndexer]) -> Iterator[ChunkProjection]:
    if not dims:
        yield ChunkProjection((), (), (), True)
        return
    keep = [dim.out_length is not None for dim in dims]
    lists = [dim.projections for dim in dims]
    # zip(*parts) transposes the per-dimension parts in one C call: this loop is the hot path of
    # every large read and write.
    if all(keep):
        for parts in product(*lists):
            chunk_coords, chunk_selection, out_selection, complete = zip(*parts)
            yield ChunkProjection(chunk_coords, chunk_selection, out_selection, False not in complete)
    else:
        for parts in product(*lists):
            chunk_coords, chunk_selection, out_selection, complete = zip(*parts)
            out_selection = tuple(compress(out_selection, keep))
            yield ChunkProjection(chunk_coords, chunk_selection, out_selection, False not in complete)


class _ProductIndexer(Indexer):
    def __init__(self, dims: list[_DimIndexer]) -> None:
        self._dims = dims
        self.shape = tuple(dim.out_length for dim in dims if dim.out_length is not None)
        self.drop_axes = tuple(axis for axis, dim in enumerate(dims) if dim.out_length is None)
        self.nchunks = 1
        for dim in dims:
            self.nchunks *= len(dim.projections)

    def __iter__(self) -> Iterator[ChunkProjection]:
        return _iterate_product(self._dims)


def _project_basic_item(item: Any, dim: int, grid: RegularChunkGrid) -> _DimIndexer | None:
    """Project an integer or slice item; None when the item is neither."""
    length, chunk = grid.shape[dim], grid.chunk_shape[dim]
    if isinstance(item, slice):
        return _project_range(_normalize_slice(item, dim, grid.shape), length, chunk)
    index = integer_or_none(item)
    if index is not None:
        return _project_integer(_normalize_integer(index, dim, grid.shape), length, chunk)
    if isinstance(item, (float, np.floating)):
        raise _error(f"float index {item!r} is not an integer", dim, grid.shape)
    return None


class BasicIndexer(_ProductIndexer):
    """NumPy basic indexing: integers (which drop their axis), slices with any step, Ellipsis.

    Raises SelectionError for out-of-bounds integers, too many items, steps of 0, None and any item
    that is not an integer, slice or Ellipsis.
    """

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        grid = RegularChunkGrid(shape, chunk_shape)
        dims = []
        for dim, item in enumerate(expand_selection(selection, grid.shape)):
            projected = _project_basic_item(item, dim, grid)
            if projected is None:
                raise _error(
                    f"basic selection item {item!r} is not an integer, slice or Ellipsis "
                    "(use oindex or vindex for arrays)", dim, grid.shape,
                )
            dims.append(projected)
        super().__init__(dims)


class OrthogonalIndexer(_ProductIndexer):
    """Orthogonal (outer) indexing, as ``np.ix_``: each item selects along its own dimension.

    An item is an integer (dropping its axis), a slice, a 1-d integer array (any order, duplicates
    and negative indices allowed) or a 1-d boolean mask of the dimension's length. Raises
    SelectionError for out-of-bounds indices, masks of the wrong length, multi-dimensional or
    non-integer arrays and anything else malformed.
    """

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        grid = RegularChunkGrid(shape, chunk_shape)
        dims = []
        array_dims = []
        for dim, item in enumerate(expand_selection(selection, grid.shape)):
            projected = _project_basic_item(item, dim, grid)
            if projected is None:
                projected = _project_indices(
                    self._parse_array(item, dim, grid.shape), grid.shape[dim], grid.chunk_shape[dim]
                )
                array_dims.append(dim)
            dims.append(projected)
        super().__init__(self._as_ix_form(dims, array_dims, grid.chunk_shape))

    @staticmethod
    def _parse_array(item: Any, dim: int, shape: tuple[int, ...]) -> np.ndarray:
        array = _as_array(item, dim, shape)
        if array.ndim != 1:
            raise _error(f"orthogonal selection array has shape {array.shape}, not 1-d", dim, shape)
        if array.dtype.kind == "b":
            if len(array) != shape[dim]:
                raise _error(
                    f"boolean mask of length {len(array)} does not match length {shape[dim]}", dim, shape
                )
            return np.flatnonzero(array)
        return _normalize_index_array(array, dim, shape)

    @staticmethod
    def _as_ix_form(
        dims: list[_DimIndexer], array_dims: list[int], chunk_shape: tuple[int, ...]
    ) -> list[_DimIndexer]:
        """Reshape index arrays so that NumPy applies them per axis (as np.ix_) and not pointwise.

        NumPy broadcasts several index arrays (or an array and an integer) together and may move
        the result axes to the front, so then every kept axis gets an index array of its own shape.
        """
        kept = [axis for axis, dim in enumerate(dims) if dim.out_length is not None]
        naxes = len(kept)
        chunk_side = bool(array_dims) and (len(array_dims) > 1 or naxes < len(dims))
        out_side = sum(dim.out_is_array for dim in dims) > 1
        if not (chunk_side or out_side):
            return dims
        result = list(dims)
        for position, axis in enumerate(kept):
            dim = dims[axis]
            projections = [
                _DimProjection(
                    p.chunk_index,
                    _orthogonal_form(p.chunk_selection, position, naxes, chunk_shape[axis])
                    if chunk_side else p.chunk_selection,
                    _orthogonal_form(p.out_selection, position, naxes, dim.out_length)
                    if out_side else p.out_selection,
                    p.is_complete,
                )
                for p in dim.projections
            ]
            result[axis] = _DimIndexer(projections, dim.out_length, dim.out_is_array)
        return result


class BlockIndexer(_ProductIndexer):
    """Whole-chunk selection (``.blocks[...]``): integers and step-1 slices over the chunk grid.

    Integers keep their axis (they select one block); the last block is clipped to the array.
    Raises SelectionError for out-of-bounds block indices, steps other than 1 and other items.
    """

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        grid = RegularChunkGrid(shape, chunk_shape)
        grid_shape = grid.grid_shape
        context = f"chunk grid shape {grid_shape} of array shape {grid.shape}"
        dims = []
        for dim, item in enumerate(expand_selection(selection, grid_shape, context)):
            length, chunk = grid.shape[dim], grid.chunk_shape[dim]
            index = integer_or_none(item)
            if index is not None:
                block = _normalize_integer(index, dim, grid_shape, context)
                blocks = range(block, block + 1)
            elif isinstance(item, slice):
                if item.step not in (None, 1):
                    raise _error(f"block slice {item!r} has a step other than 1", dim, grid.shape, context)
                blocks = _normalize_slice(item, dim, grid_shape, context)
            else:
                raise _error(f"block selection item {item!r} is not an integer or slice",
                             dim, grid.shape, context)
            start = blocks.start * chunk
            stop = max(start, min(blocks.stop * chunk, length))
            dims.append(_project_range(range(start, stop), length, chunk))
        super().__init__(dims)


# ----------------------------------------------------------------------------------------------
# Point selections


def _group_points(
    points: list[np.ndarray], out_shape: tuple[int, ...], grid: RegularChunkGrid, unique: bool
) -> list[ChunkProjection]:
    """Project points (one normalised int64 array per dimension) onto the chunks they fall in.

    The points fill a result of ``out_shape`` in C order; ``unique`` says no point repeats.
    """
    count = len(points[0])
    if count == 0:
        return []
    if grid.nchunks >= 2**63:
        raise UnsupportedFeature(
            f"point selection on a grid of {grid.nchunks} chunks (array shape {grid.shape}) is not supported"
        )
    chunk_coords = [dim_points // chunk for dim_points, chunk in zip(points, grid.chunk_shape)]
    chunk_ids = np.ravel_multi_index(chunk_coords, grid.grid_shape)
    order = None
    if not bool(np.all(chunk_ids[1:] >= chunk_ids[:-1])):
        order = np.argsort(chunk_ids, kind="stable")
        chunk_ids = chunk_ids[order]
        points = [dim_points[order] for dim_points in points]
        chunk_coords = [coords[order] for coords in chunk_coords]
    local = [dim_points % chunk for dim_points, chunk in zip(points, grid.chunk_shape)]

    starts = np.concatenate(([0], np.flatnonzero(chunk_ids[1:] != chunk_ids[:-1]) + 1))
    stops = np.append(starts[1:], count)
    region_sizes = np.ones(len(starts), dtype=np.int64)
    for coords, chunk, length in zip(chunk_coords, grid.chunk_shape, grid.shape):
        region_sizes *= np.minimum(chunk, length - coords[starts] * chunk)
    complete = stops - starts >= region_sizes
    if not unique:
        for group in np.flatnonzero(complete).tolist():
            group_slice = slice(starts[group], stops[group])
            offsets = np.ravel_multi_index([axis[group_slice] for axis in local], grid.chunk_shape)
            complete[group] = len(np.unique(offsets)) == region_sizes[group]

    positions = np.arange(count) if order is None else order
    out_parts = list(np.unravel_index(positions, out_shape)) if len(out_shape) > 1 else [positions]
    group_coords = zip(*(coords[starts].tolist() for coords in chunk_coords))
    projections = []
    groups = zip(group_coords, starts.tolist(), stops.tolist(), complete.tolist())
    for coords, start, stop, is_complete in groups:
        if not out_shape:
            chunk_selection = tuple(int(axis[start]) for axis in local)
            out_selection: tuple[Any, ...] = ()
        else:
            chunk_selection = tuple(axis[start:stop] for axis in local)
            if order is None and len(out_shape) == 1:
                out_selection = (slice(start, stop),)
            else:
                out_selection = tuple(part[start:stop] for part in out_parts)
        projections.append(ChunkProjection(coords, chunk_selection, out_selection, is_complete))
    return projections


class _PointIndexer(Indexer):
    def __init__(self, projections: list[ChunkProjection], shape: tuple[int, ...]) -> None:
        self._projections = projections
        self.shape = shape
        self.drop_axes = ()
        self.nchunks = len(projections)

    def __iter__(self) -> Iterator[ChunkProjection]:
        return iter(self._projections)


class CoordinateIndexer(_PointIndexer):
    """Vectorised (point) indexing: one integer array per dimension, broadcast together.

    The result has the broadcast shape; points may come in any order and repeat. Raises
    SelectionError when the number of arrays differs from the number of dimensions, the arrays do
    not broadcast, are not integers, or hold an out-of-bounds index.
    """

    def __init__(self, selection: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        grid = RegularChunkGrid(shape, chunk_shape)
        items = selection if isinstance(selection, tuple) else (selection,)
        if len(items) != grid.ndim:
            raise _error(
                f"coordinate selection has {len(items)} items; it needs one integer array per dimension",
                None, grid.shape,
            )
        if grid.ndim == 0:
            super().__init__([ChunkProjection((), (), (), True)], ())
            return
        arrays = []
        for dim, item in enumerate(items):
            array = _as_array(item, dim, grid.shape)
            if array.dtype.kind == "b":
                message = "a boolean array in a coordinate selection (use one mask of the array's shape)"
                raise _error(message, dim, grid.shape)
            arrays.append(array)
        try:
            broadcast = np.broadcast_arrays(*arrays)
        except ValueError:
            shapes = ", ".join(str(array.shape) for array in arrays)
            message = f"coordinate arrays of shapes {shapes} do not broadcast together"
            raise _error(message, None, grid.shape) from None
        out_shape = broadcast[0].shape
        points = [
            _normalize_index_array(array.ravel(), dim, grid.shape) for dim, array in enumerate(broadcast)
        ]
        super().__init__(_group_points(points, out_shape, grid, unique=False), out_shape)


class MaskIndexer(_PointIndexer):
    """Vectorised indexing with one boolean mask of the array's full shape.

    The result is 1-d, holding the selected elements in C order. Raises SelectionError when the
    mask is not boolean or its shape differs from the array's.
    """

    def __init__(self, mask: Any, shape: Sequence[int], chunk_shape: Sequence[int]) -> None:
        grid = RegularChunkGrid(shape, chunk_shape)
        if isinstance(mask, tuple) and len(mask) == 1:
            mask = mask[0]
        mask = np.asarray(mask)
        if mask.dtype.kind != "b" or mask.shape != grid.shape:
            raise _error(f"mask of dtype {mask.dtype} and shape {mask.shape} is not a boolean array "
                         "of the array's shape", None, grid.shape)
        if grid.ndim == 0:
            # NumPy selects a 0-d array with a 0-d mask into a result of length 1 or 0.
            selected = int(bool(mask))
            projections = [ChunkProjection((), (mask,), (slice(0, 1),), True)] if selected else []
            super().__init__(projections, (selected,))
            return
        points = list(np.nonzero(mask))
        super().__init__(_group_points(points, (len(points[0]),), grid, unique=True), (len(points[0]),))
