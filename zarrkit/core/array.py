"""``Array``: a Zarr array in a store, read and written with NumPy-style selections."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.core.engine import ChunkEngine
from zarrkit.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    CoordinateIndexer,
    Indexer,
    MaskIndexer,
    OrthogonalIndexer,
    integer_or_none,
    is_basic_selection,
)
from zarrkit.core.node import Node
from zarrkit.errors import SelectionError, ShapeError
from zarrkit.metadata import ArrayMetadata, parse_int_tuple
from zarrkit.runtime import sync
from zarrkit.storage.base import Store

_VLEN_ELEMENT_TYPES = {"string": str, "bytes": bytes}
"""The Python type every element of a variable-length array must have, by ``DataType.vlen``."""


class Array(Node):
    """A Zarr v2 or v3 array.

    Indexing follows NumPy: ``a[...]`` and ``a[1:5, ::2]`` (basic), ``a.oindex[...]`` (orthogonal,
    per-dimension integer arrays and masks), ``a.vindex[...]`` (points and masks), ``a.blocks[...]``
    (whole chunks). Reads return NumPy arrays; missing chunks read as the fill value.
    """

    kind = "array"
    _metadata: ArrayMetadata

    def __init__(
        self, store: Store, path: str, metadata: ArrayMetadata, *, write_empty_chunks: bool = False
    ) -> None:
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

    def storage_key(self, coords: tuple[int, ...]) -> str:
        """The store key of the stored chunk (the shard, when sharded) at ``coords`` of the storage grid."""
        return self._engine.storage_key(coords)

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
        return (
            f"<zarrkit.Array {self.name!r} shape={self.shape} dtype={self.dtype} "
            f"zarr_format={self.zarr_format}>"
        )

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
        return await self._read_async(self._indexer_for(selection), scalar=_selects_scalar(selection))

    async def set_async(self, selection: Any, value: Any) -> None:
        """``self[selection] = value`` for code that runs on its own event loop."""
        indexer = self._indexer_for(selection)
        await self._engine.write(indexer, self._checked_value(indexer, value))

    def _indexer_for(self, selection: Any) -> Indexer:
        """Basic indexing, or NumPy's advanced indexing where it agrees with orthogonal or vectorized."""
        if is_basic_selection(selection):
            return BasicIndexer(selection, self.shape, self.chunks)
        items = _as_tuple(selection)
        arrays = [item for item in items if _is_index_array(item)]
        if not arrays:
            # Neither basic nor advanced: BasicIndexer names the item it cannot take.
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
        return sync(self._read_async(indexer, scalar=scalar))

    async def _read_async(self, indexer: Indexer, *, scalar: bool) -> Any:
        out = np.empty(indexer.shape, dtype=self.dtype)
        await self._engine.read(indexer, out)
        return out[()] if scalar else out

    def _write(self, indexer: Indexer, value: Any) -> None:
        sync(self._engine.write(indexer, self._checked_value(indexer, value)))

    def _checked_value(self, indexer: Indexer, value: Any) -> np.ndarray:
        """``value`` ready to write into the selection of ``indexer``; checked before any I/O.

        Raises ReadOnlyError for a read-only array and ShapeError for a value that does not fit.
        """
        self._check_writable()
        return self._coerce(value, indexer.shape)

    def _coerce(self, value: Any, shape: tuple[int, ...]) -> np.ndarray:
        """``value`` as an array of this array's dtype, broadcast to ``shape``.

        Raises ShapeError when the shapes do not broadcast or the values do not fit the dtype.
        """
        values = self._as_values(value)
        try:
            return np.broadcast_to(values, shape)
        except ValueError:
            raise ShapeError(
                f"array {self.name!r}: a value of shape {values.shape} does not fit a selection of shape {shape}"
            ) from None

    def _as_values(self, value: Any) -> np.ndarray:
        """``value`` as an array of this array's dtype, with no element changed on the way.

        Raises ShapeError when a value does not fit the dtype (out of range, too long, a fraction
        or a time finer than the dtype keeps, an element of the wrong type in a string array).
        """
        dtype = self.dtype
        try:
            if dtype.hasobject:
                return _vlen_values(np.asarray(value, dtype=object), self._metadata.data_type.vlen, self.name)
            if isinstance(value, bool | int | float | complex) or (
                dtype.kind == "V" and not isinstance(value, np.ndarray)
            ):
                return _cast_python_scalar(value, dtype, self.name)
            return _cast_exactly(np.asarray(value), dtype, self.name)
        except ShapeError:
            raise
        except (OverflowError, ValueError, TypeError, UnicodeError) as error:
            raise ShapeError(f"array {self.name!r}: cannot store {_describe(value)} as {dtype}: {error}") from error

    # -- changing the array -----------------------------------------------------------------------

    def resize(self, *new_shape: int | tuple[int, ...]) -> None:
        """Change the shape. Data outside the new shape is dropped: chunks wholly outside are deleted
        and the cut-off part of edge chunks is reset to the fill value, so growing again shows fill
        values there.

        Raises MetadataError when the new shape is not a sequence of non-negative integers, and
        ShapeError for a shape of another dimensionality or one that grows a dimension whose chunk
        length is 0.
        """
        if len(new_shape) == 1 and isinstance(new_shape[0], tuple | list):
            new_shape = tuple(new_shape[0])
        shape = parse_int_tuple(new_shape, where=f"array {self.name!r}: resize", field="shape", minimum=0)
        if len(shape) != self.ndim:
            raise ShapeError(f"array {self.name!r}: cannot resize {self.shape} to {shape} (dimensions differ)")
        for axis, (length, chunk) in enumerate(zip(shape, self._metadata.chunks)):
            if chunk == 0 and length != 0:
                raise ShapeError(
                    f"array {self.name!r}: cannot resize {self.shape} to {shape}: dimension {axis} has a "
                    "chunk length of 0 in the metadata, so it can only have length 0"
                )
        self._check_writable()
        storage_grid = RegularChunkGrid(self.shape, self._metadata.chunks)
        sync(self._store.delete_many([self._engine.storage_key(c) for c in storage_grid.chunks_outside(shape)]))
        self._reset_cut_edges(storage_grid, shape)
        self._replace_metadata(dataclasses.replace(self._metadata, shape=shape))

    def _reset_cut_edges(self, storage_grid: RegularChunkGrid, new_shape: tuple[int, ...]) -> None:
        # The stored chunks that survive a shrink span up to the new shape rounded up to whole chunks;
        # whatever of them lies beyond the new shape is reset, axis by axis.
        kept = tuple(
            min(old, count * chunk)
            for old, count, chunk in zip(self.shape, storage_grid.chunks_kept(new_shape), storage_grid.chunk_shape)
        )
        for axis, (new, stop) in enumerate(zip(new_shape, kept)):
            if new < stop:
                selection = tuple(slice(new, stop) if a == axis else slice(0, k) for a, k in enumerate(kept))
                self[selection] = self.fill_value

    def append(self, data: Any, axis: int = 0) -> tuple[int, ...]:
        """Append ``data`` along ``axis`` (negative counts from the end), growing the array; returns
        the new shape.

        Raises ShapeError, before changing anything, when ``axis`` is not a dimension of the array,
        ``data`` does not match the other dimensions, or its values do not fit the dtype.
        """
        self._check_writable()
        axis = self._normalize_axis(axis)
        values = self._as_values(data)
        if values.ndim != self.ndim or any(
            a != b for i, (a, b) in enumerate(zip(values.shape, self.shape)) if i != axis
        ):
            raise ShapeError(
                f"array {self.name!r}: cannot append shape {values.shape} to {self.shape} along axis {axis}"
            )
        old_length = self.shape[axis]
        new_shape = tuple(s + values.shape[axis] if i == axis else s for i, s in enumerate(self.shape))
        self.resize(new_shape)
        appended = tuple(slice(old_length, None) if i == axis else slice(None) for i in range(self.ndim))
        sync(self._engine.write(BasicIndexer(appended, self.shape, self.chunks), values))
        return new_shape

    def _normalize_axis(self, axis: Any) -> int:
        """``axis`` as a dimension index in ``range(ndim)``; ShapeError when it names no dimension."""
        index = integer_or_none(axis)
        if index is None or not -self.ndim <= index < self.ndim:
            raise ShapeError(f"array {self.name!r}: axis {axis!r} is not a dimension of an array of shape {self.shape}")
        return index % self.ndim

    def _replace_metadata(self, metadata: ArrayMetadata) -> None:
        super()._replace_metadata(metadata)
        self._engine = ChunkEngine(self._store, self._path, metadata, write_empty_chunks=self._write_empty_chunks)


class _Accessor:
    """``array.oindex``, ``array.vindex`` and ``array.blocks``: indexing with another indexer."""

    def __init__(self, array: Array, make_indexer: Callable[[Any], Indexer]) -> None:
        self._array = array
        self._make_indexer = make_indexer

    def __getitem__(self, selection: Any) -> np.ndarray:
        return self._array._read(self._make_indexer(selection))

    def __setitem__(self, selection: Any, value: Any) -> None:
        self._array._write(self._make_indexer(selection), value)


def _as_tuple(selection: Any) -> tuple:
    return selection if isinstance(selection, tuple) else (selection,)


def _is_index_array(item: Any) -> bool:
    """Whether a selection item is an index array or mask (a 0-d integer array is an integer)."""
    return isinstance(item, np.ndarray | list) and integer_or_none(item) is None


def _advanced_items_adjacent(items: tuple) -> bool:
    """True when the integer and array items of a selection stand next to each other."""
    positions = [
        i for i, item in enumerate(items) if _is_index_array(item) or integer_or_none(item) is not None
    ]
    return positions[-1] - positions[0] == len(positions) - 1


def _selects_scalar(selection: Any) -> bool:
    """NumPy returns a scalar, not a 0-d array, when every item is an integer (or the tuple is empty)."""
    return all(integer_or_none(item) is not None for item in _as_tuple(selection))


def _vlen_values(values: np.ndarray, vlen: str | None, name: str) -> np.ndarray:
    """The object array ``values`` for a variable-length array, every element of its exact type.

    Raises ShapeError for an element of another type. Checked before any chunk is written, so a
    bad element cannot leave an assignment half done.
    """
    if vlen is None:
        return values
    expected = _VLEN_ELEMENT_TYPES[vlen]
    # map() and set() walk the elements in C: one pass, no Python-level loop body per element.
    types = set(map(type, values.flat))
    if types <= {expected}:
        return values
    wrong = sorted(kind.__name__ for kind in types if not issubclass(kind, expected))
    if wrong:
        raise ShapeError(
            f"array {name!r}: a variable-length {vlen} array holds only {expected.__name__} values, "
            f"got values of type {', '.join(wrong)}"
        )
    # The codecs take only exact str or bytes: turn subclasses such as NumPy's str_ into them.
    return np.asarray(np.frompyfunc(expected, 1, 1)(values), dtype=object)


def _cast_python_scalar(value: Any, dtype: np.dtype, name: str) -> np.ndarray:
    """A Python number (or a structured value such as a tuple) as a 0-d array of ``dtype``, cast
    the way NumPy casts Python scalars but refusing fractions into integers and integers other than
    0 and 1 into bools. Raises ShapeError for those; NumPy's own errors pass through.
    """
    if isinstance(value, float | complex) and dtype.kind in "iub":
        raise ShapeError(f"array {name!r}: cannot assign the {type(value).__name__} {value!r} to dtype {dtype}")
    if dtype.kind == "b" and isinstance(value, int) and value not in (0, 1):
        raise ShapeError(f"array {name!r}: cannot assign the integer {value!r} to dtype bool (only 0 and 1 fit)")
    return np.asarray(value, dtype=dtype)


def _cast_exactly(values: np.ndarray, dtype: np.dtype, name: str) -> np.ndarray:
    """``values`` cast to ``dtype`` when no value changes on the way (integers, booleans, strings and
    times are checked value by value, floats may only narrow to floats); raises ShapeError otherwise.
    """
    source = values.dtype
    if source == dtype or values.size == 0:
        return values.astype(dtype, copy=False)
    if source.kind == dtype.kind and dtype.kind in "mM":
        # Even a cast NumPy calls safe (seconds to nanoseconds) can overflow, and a coarser unit
        # drops fractions: keep the cast only when every time survives the round trip.
        converted = values.astype(dtype)
        if not np.array_equal(converted.astype(source).view(np.int64), values.view(np.int64)):
            raise ShapeError(
                f"array {name!r}: some times do not fit dtype {dtype} (finer than its unit or out of its range)"
            )
        return converted
    if np.can_cast(source, dtype, casting="safe"):
        return values.astype(dtype, copy=False)
    if (source.kind in "biu" and dtype.kind in "biu") or (source.kind in "SU" and dtype.kind in "SU"):
        converted = values.astype(dtype)
        if not np.array_equal(converted.astype(source), values):
            raise ShapeError(f"array {name!r}: some values do not fit dtype {dtype} (out of range or too long)")
        return converted
    if source.kind == dtype.kind and dtype.kind in "fc":
        return values.astype(dtype)
    raise ShapeError(
        f"array {name!r}: cannot assign values of dtype {source} to dtype {dtype} without losing information"
    )


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
