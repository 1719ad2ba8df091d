"""``Array``: a Zarr array in a store, read and written with NumPy-style selections."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.core.engine import ChunkEngine
from zarrkit.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
)
from zarrkit.core.node import Node
from zarrkit.errors import SelectionError, ShapeError
from zarrkit.metadata import ArrayMetadata
from zarrkit.runtime import sync
from zarrkit.storage.base import Store

Indexer = BasicIndexer | OrthogonalIndexer | CoordinateIndexer | MaskIndexer | BlockIndexer


class Array(Node):
    """A Zarr v2 or v3 array.

    Indexing follows NumPy: ``a[...]`` and ``a[1:5, ::2]`` (basic), ``a.oindex[...]`` (orthogonal,
    per-dimension integer arrays and masks), ``a.vindex[...]`` (points and masks), ``a.blocks[...]``
    (whole chunks). Reads return NumPy arrays; missing chunks read as the fill value.
    """

    kind = "array"
    _metadata: ArrayMetadata

    def __init__(self, store: Store, path: str, metadata: ArrayMetadata, *, write_empty_chunks: bool = False):
        super().__init__(store, path, metadata)
        self._write_empty_chunks = write_empty_chunks
        self._engine = ChunkEngine(store, path, metadata, write_empty_chunks=write_empty_chunks)

    # -- description ------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The array's shape."""
        return self._metadata.shape

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self._metadata.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self._metadata.shape)

    @property
    def dtype(self) -> np.dtype:
        """The NumPy data type of the values (object for variable-length strings and bytes)."""
        return self._metadata.dtype

    @property
    def nbytes(self) -> int:
        """The size of the values in memory, uncompressed (object arrays count pointers)."""
        return self.size * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...]:
        """The shape of a chunk: the unit that is read and written (the inner chunk when sharded)."""
        return self._engine.chunk_shape

    @property
    def shards(self) -> tuple[int, ...] | None:
        """The shape of a shard (the unit that is stored) when the array is sharded, else None."""
        return self._metadata.chunks if self._engine.sharding is not None else None

    @property
    def nchunks(self) -> int:
        """The number of chunks (inner chunks when sharded) in the array's chunk grid."""
        return RegularChunkGrid(self.shape, self.chunks).nchunks

    @property
    def fill_value(self) -> Any:
        """The value that missing chunks read as."""
        return self._metadata.resolved_fill_value

    @property
    def order(self) -> str:
        """The memory order of stored chunks, "C" or "F"."""
        return self._metadata.order

    @property
    def dimension_names(self) -> tuple[str | None, ...] | None:
        """The names of the dimensions, when the metadata gives them."""
        return self._metadata.dimension_names

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d array")
        return self.shape[0]

    def __repr__(self) -> str:
        return f"<zarrkit.Array {self.name!r} shape={self.shape} dtype={self.dtype} zarr_format={self.zarr_format}>"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        values = np.asarray(self[...])
        return values if dtype is None else values.astype(dtype)

    # -- selections -------------------------------------------------------------------------------

    def __getitem__(self, selection: Any) -> Any:
        return self._read(self._indexer_for(selection), scalar=_selects_scalar(selection))

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._write(self._indexer_for(selection), value)

    @property
    def oindex(self) -> _Accessor:
        """Orthogonal indexing: each dimension takes an int, slice, integer array or boolean mask."""
        return _Accessor(self, lambda s: OrthogonalIndexer(_as_tuple(s), self.shape, self.chunks))

    @property
    def vindex(self) -> _Accessor:
        """Vectorized indexing: integer arrays select points (broadcast together), or one boolean mask."""
        return _Accessor(self, self._vectorized_indexer)

    @property
    def blocks(self) -> _Accessor:
        """Block indexing: select whole chunks by their index in the chunk grid."""
        return _Accessor(self, lambda s: BlockIndexer(_as_tuple(s), self.shape, self.chunks))

    async def get_async(self, selection: Any = Ellipsis) -> Any:
        """``self[selection]`` for code that runs on its own event loop."""
        indexer = self._indexer_for(selection)
        out = np.empty(indexer.shape, dtype=self.dtype)
        await self._engine.read(indexer, out)
        return out[()] if _selects_scalar(selection) else out

    async def set_async(self, selection: Any, value: Any) -> None:
        """``self[selection] = value`` for code that runs on its own event loop."""
        indexer = self._indexer_for(selection)
        self._check_writable()
        await self._engine.write(indexer, self._coerce(value, indexer.shape))

    def _indexer_for(self, selection: Any) -> Indexer:
        """Basic indexing, or NumPy's advanced indexing where it agrees with orthogonal or vectorized."""
        items = _as_tuple(selection)
        arrays = [item for item in items if _is_array_like(item)]
        if not arrays:
            return BasicIndexer(items, self.shape, self.chunks)
        if len(items) == 1 and np.asarray(arrays[0]).dtype == bool and np.ndim(arrays[0]) == self.ndim:
            return MaskIndexer(np.asarray(arrays[0]), self.shape, self.chunks)
        if len(arrays) == 1 and np.ndim(arrays[0]) == 1 and _advanced_items_adjacent(items):
            # NumPy's result equals the orthogonal one unless a slice separates the array from an
            # integer, in which case NumPy moves the indexed axes to the front.
            return OrthogonalIndexer(items, self.shape, self.chunks)
        if len(arrays) == len(items) == self.ndim:
            return CoordinateIndexer(items, self.shape, self.chunks)
        raise SelectionError(
            f"array {self.name!r}: this mix of arrays, slices and integers is ambiguous; "
            "use .oindex for orthogonal or .vindex for vectorized indexing"
        )

    def _vectorized_indexer(self, selection: Any) -> Indexer:
        items = _as_tuple(selection)
        if len(items) == 1 and np.asarray(items[0]).dtype == bool:
            return MaskIndexer(np.asarray(items[0]), self.shape, self.chunks)
        return CoordinateIndexer(items, self.shape, self.chunks)

    def _read(self, indexer: Indexer, *, scalar: bool = False) -> Any:
        out = np.empty(indexer.shape, dtype=self.dtype)
        sync(self._engine.read(indexer, out))
        return out[()] if scalar else out

    def _write(self, indexer: Indexer, value: Any) -> None:
        self._check_writable()
        sync(self._engine.write(indexer, self._coerce(value, indexer.shape)))

    def _coerce(self, value: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``value`` as an array of this array's dtype, broadcast to ``shape``.

        Raises ShapeError when the shapes do not broadcast or the values do not fit the dtype.
        """
        dtype = self.dtype
        try:
            if dtype.hasobject:
                values = np.asarray(value, dtype=object)
            elif isinstance(value, bool | int | float | complex) or (dtype.kind == "V" and not isinstance(value, np.ndarray)):
                if isinstance(value, float) and dtype.kind in "iub":
                    raise ShapeError(f"array {self.name!r}: cannot assign the float {value!r} to dtype {dtype}")
                values = np.asarray(value, dtype=dtype)
            else:
                values = _cast_exactly(np.asarray(value), dtype, self.name)
        except (OverflowError, ValueError, TypeError, UnicodeError) as error:
            raise ShapeError(f"array {self.name!r}: cannot store {_describe(value)} as {dtype}: {error}") from error
        try:
            return np.broadcast_to(values, shape)
        except ValueError:
            raise ShapeError(
                f"array {self.name!r}: a value of shape {values.shape} does not fit a selection of shape {shape}"
            ) from None

    # -- changing the array -----------------------------------------------------------------------

    def resize(self, *new_shape: int | tuple[int, ...]) -> None:
        """Change the shape. Data outside the new shape is dropped: chunks wholly outside are deleted
        and the cut-off part of edge chunks is reset to the fill value, so growing again shows fill
        values there. Raises ShapeError for a shape of another dimensionality.
        """
        shape = _normalize_shape(new_shape)
        if len(shape) != self.ndim:
            raise ShapeError(f"array {self.name!r}: cannot resize {self.shape} to {shape} (dimensions differ)")
        self._check_writable()
        storage_grid = RegularChunkGrid(self.shape, self._metadata.chunks)
        sync(self._store.delete_many([self._engine.storage_key(c) for c in storage_grid.chunks_outside(shape)]))
        self._reset_cut_edges(shape)
        self._replace_metadata(dataclasses.replace(self._metadata, shape=shape))

    def _reset_cut_edges(self, new_shape: tuple[int, ...]) -> None:
        # The stored chunks that survive a shrink span up to the new shape rounded up to whole chunks;
        # whatever of them lies beyond the new shape is reset, axis by axis.
        kept = tuple(
            min(old, -(-new // unit) * unit) for old, new, unit in zip(self.shape, new_shape, self._metadata.chunks)
        )
        for axis, (new, stop) in enumerate(zip(new_shape, kept)):
            if new < stop:
                selection = tuple(slice(new, stop) if a == axis else slice(0, k) for a, k in enumerate(kept))
                self[selection] = self.fill_value

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Append ``data`` along ``axis``, growing the array; returns the new shape.

        Raises ShapeError when ``data`` does not match the other dimensions.
        """
        values = np.asarray(data)
        if values.ndim != self.ndim or any(
            a != b for i, (a, b) in enumerate(zip(values.shape, self.shape)) if i != axis
        ):
            raise ShapeError(f"array {self.name!r}: cannot append shape {values.shape} to {self.shape} along axis {axis}")
        old_length = self.shape[axis]
        new_shape = tuple(s + values.shape[axis] if i == axis else s for i, s in enumerate(self.shape))
        self.resize(new_shape)
        self[tuple(slice(old_length, None) if i == axis else slice(None) for i in range(self.ndim))] = values
        return new_shape

    def _replace_metadata(self, metadata: ArrayMetadata) -> None:
        super()._replace_metadata(metadata)
        self._engine = ChunkEngine(self._store, self._path, metadata, write_empty_chunks=self._write_empty_chunks)


class _Accessor:
    """``array.oindex``, ``array.vindex`` and ``array.blocks``: indexing with another indexer."""

    def __init__(self, array: Array, make_indexer: Any) -> None:
        self._array = array
        self._make_indexer = make_indexer

    def __getitem__(self, selection: Any) -> np.ndarray:
        return self._array._read(self._make_indexer(selection))

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._array._write(self._make_indexer(selection), value)


def _as_tuple(selection: Any) -> tuple:
    return selection if isinstance(selection, tuple) else (selection,)


def _is_array_like(item: Any) -> bool:
    return isinstance(item, np.ndarray | list)


def _advanced_items_adjacent(items: tuple) -> bool:
    """True when the integer and array items of a selection stand next to each other."""
    positions = [i for i, item in enumerate(items) if _is_array_like(item) or isinstance(item, int | np.integer)]
    return positions[-1] - positions[0] == len(positions) - 1


def _selects_scalar(selection: Any) -> bool:
    """NumPy returns a scalar, not a 0-d array, when every item is an integer (or the tuple is empty)."""
    return all(isinstance(item, int | np.integer) for item in _as_tuple(selection))


def _normalize_shape(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _cast_exactly(values: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``values`` cast to ``dtype`` when no value changes on the way (integers and strings are
    checked value by value, floats may only narrow to floats); raises ShapeError otherwise.
    """
    source = values.dtype
    if source == dtype or np.can_cast(source, dtype, casting="safe"):
        return values.astype(dtype, copy=False)
    if (source.kind in "biu" and dtype.kind in "iu") or (source.kind in "SU" and dtype.kind in "SU"):
        converted = values.astype(dtype)
        if not np.array_equal(converted.astype(source), values):
            raise ShapeError(f"array {name!r}: some values do not fit dtype {dtype} (out of range or too long)")
        return converted
    if source.kind == dtype.kind and dtype.kind in "fcmM":
        return values.astype(dtype)
    raise ShapeError(f"array {name!r}: cannot assign values of dtype {source} to dtype {dtype} without losing information")


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
