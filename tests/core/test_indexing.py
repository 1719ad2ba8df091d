"""Indexers against NumPy: every projection, applied to a chunked copy of an array, must read and
write exactly what NumPy reads and writes with the same selection."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zarrkit.core.indexing import (
    BasicIndexer,
    BlockIndexer,
    ChunkProjection,
    CoordinateIndexer,
    MaskIndexer,
    OrthogonalIndexer,
    expand_selection,
    integer_or_none,
    is_basic_selection,
)
from zarrkit.errors import MetadataError, SelectionError

# Chunk elements beyond the array edge hold this, so a projection that reads them shows up.
OUTSIDE = -7


# ----------------------------------------------------------------------------------------------
# A chunked copy of an array, and the two directions of the projection contract


def grid_shape_of(shape, chunk_shape) -> list[int]:
    """Chunks per dimension; a chunk length of 0 (allowed on an empty dimension) gives none."""
    return [-(-length // chunk) if chunk else 0 for length, chunk in zip(shape, chunk_shape)]


def split_into_chunks(array: np.ndarray, chunk_shape: tuple[int, ...]) -> dict[tuple[int, ...], np.ndarray]:
    grid_shape = grid_shape_of(array.shape, chunk_shape)
    chunks = {}
    for coords in product(*map(range, grid_shape)):
        region = chunk_region(coords, array.shape, chunk_shape)
        chunk = np.full(chunk_shape, OUTSIDE, dtype=array.dtype)
        part = array[region]
        chunk[tuple(slice(0, length) for length in part.shape)] = part
        chunks[coords] = chunk
    return chunks


def chunk_region(coords, shape, chunk_shape) -> tuple[slice, ...]:
    return tuple(slice(k * c, min((k + 1) * c, n)) for k, c, n in zip(coords, chunk_shape, shape))


def join_chunks(chunks, shape, chunk_shape) -> np.ndarray:
    array = np.empty(shape, dtype=np.int64)
    for coords, chunk in chunks.items():
        region = chunk_region(coords, shape, chunk_shape)
        array[region] = chunk[tuple(slice(0, r.stop - r.start) for r in region)]
    return array


def check_indexer(indexer, array, chunk_shape, expected_read, selected, write_expected) -> None:
    """Check reads, writes, completeness flags and chunk uniqueness of ``indexer``.

    ``selected`` is a boolean array of the array's shape marking the selected elements;
    ``write_expected(target, value)`` writes ``value`` into ``target`` the NumPy way.
    """
    projections = list(indexer)
    assert all(isinstance(p, ChunkProjection) for p in projections)
    coords = [p.chunk_coords for p in projections]
    assert len(set(coords)) == len(coords) == len(indexer) == indexer.nchunks
    assert indexer.shape == expected_read.shape

    chunks = split_into_chunks(array, chunk_shape)
    result = np.full(indexer.shape, OUTSIDE - 1, dtype=array.dtype)
    for p in projections:
        result[p.out_selection] = chunks[p.chunk_coords][p.chunk_selection]
    np.testing.assert_array_equal(result, expected_read)

    for p in projections:
        region = selected[chunk_region(p.chunk_coords, array.shape, chunk_shape)]
        assert region.any(), f"chunk {p.chunk_coords} was projected but holds nothing selected"
        assert p.is_complete_chunk == bool(region.all()), p

    value = 1000 + np.arange(int(np.prod(indexer.shape)), dtype=array.dtype).reshape(indexer.shape)
    for written in (value, np.broadcast_to(np.array(999, dtype=array.dtype), indexer.shape)):
        chunks = split_into_chunks(array, chunk_shape)
        for p in projections:
            chunks[p.chunk_coords][p.chunk_selection] = written[p.out_selection]
        expected = array.copy()
        write_expected(expected, written)
        np.testing.assert_array_equal(join_chunks(chunks, array.shape, chunk_shape), expected)


# ----------------------------------------------------------------------------------------------
# Strategies


@st.composite
def arrays_and_chunks(draw, min_dims=0, max_dims=4):
    ndim = draw(st.integers(min_dims, max_dims))
    max_length = {0: 1, 1: 40, 2: 12, 3: 7, 4: 5}[ndim]
    shape = tuple(draw(st.lists(st.integers(0, max_length), min_size=ndim, max_size=ndim)))
    # Zarr v3 allows a chunk length of 0 on a dimension of length 0.
    chunk_shape = tuple(draw(st.integers(0 if length == 0 else 1, max(1, length + 1))) for length in shape)
    array = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    return array, chunk_shape


def integer_items(length):
    return st.integers(-length, length - 1) if length else st.nothing()


def slice_items(length):
    bounds = st.none() | st.integers(-length - 3, length + 3)
    steps = st.none() | st.integers(-5, 5).filter(bool)
    return st.builds(slice, bounds, bounds, steps)


def with_ellipsis_or_short(draw, items):
    """Sometimes replace a run of full-dimension items by Ellipsis or drop trailing ones."""
    form = draw(st.sampled_from(["full", "ellipsis", "short", "bare"]))
    if form == "ellipsis":
        start = draw(st.integers(0, len(items)))
        stop = draw(st.integers(start, len(items)))
        return items[:start] + (Ellipsis,) + items[stop:], items[:start] + tuple(
            slice(None) for _ in items[start:stop]) + items[stop:]
    if form == "short":
        keep = draw(st.integers(0, len(items)))
        return items[:keep], items[:keep] + (slice(None),) * (len(items) - keep)
    if form == "bare" and len(items) == 1:
        return items[0], items
    return items, items


@st.composite
def basic_cases(draw):
    array, chunk_shape = draw(arrays_and_chunks())
    items = tuple(draw(integer_items(n) | slice_items(n)) for n in array.shape)
    selection, full = with_ellipsis_or_short(draw, items)
    return array, chunk_shape, selection, full


def index_lists(length):
    if not length:
        return st.just([])
    return st.lists(st.integers(-length, length - 1), max_size=8)


def bool_masks(length):
    return hnp.arrays(np.bool_, (length,))


@st.composite
def orthogonal_cases(draw):
    array, chunk_shape = draw(arrays_and_chunks())
    items = tuple(
        draw(
            integer_items(n) | slice_items(n) | index_lists(n) | index_lists(n).map(np.array) | bool_masks(n)
        )
        for n in array.shape
    )
    selection, full = with_ellipsis_or_short(draw, items)
    return array, chunk_shape, selection, full


@st.composite
def coordinate_cases(draw):
    array, chunk_shape = draw(arrays_and_chunks(min_dims=1))
    out_shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    if 0 in array.shape and 0 not in out_shape:
        out_shape = out_shape + (0,)
    selection = []
    for length in array.shape:
        # Each array has the result shape with some axes squeezed to 1, so they broadcast.
        shape = tuple(size if draw(st.booleans()) else 1 for size in out_shape)
        shape = shape[draw(st.integers(0, len(shape))):]
        elements = st.integers(-length, length - 1) if length else st.just(0)
        if 0 in shape or length:
            selection.append(draw(hnp.arrays(np.int64, shape, elements=elements)))
        else:
            selection.append(np.zeros(out_shape, dtype=np.int64))
    if len(selection) == 1 and draw(st.booleans()):
        return array, chunk_shape, selection[0], (selection[0],)
    return array, chunk_shape, tuple(selection), tuple(selection)


@st.composite
def block_cases(draw):
    array, chunk_shape = draw(arrays_and_chunks())
    grid_shape = grid_shape_of(array.shape, chunk_shape)
    bounds = st.none() | st.integers(-max(grid_shape, default=0) - 2, max(grid_shape, default=0) + 2)
    items = tuple(
        draw(integer_items(g) | st.builds(slice, bounds, bounds, st.sampled_from([None, 1])))
        for g in grid_shape
    )
    selection, full = with_ellipsis_or_short(draw, items)
    return array, chunk_shape, selection, full


# ----------------------------------------------------------------------------------------------
# Expected results computed with NumPy alone


def orthogonal_index_arrays(full, shape):
    """Per dimension: an int (dropped axis) or the 1-d array of indices the item selects."""
    arrays = []
    for item, length in zip(full, shape):
        if isinstance(item, int):
            arrays.append(item)
        elif isinstance(item, slice):
            arrays.append(np.arange(length)[item])
        else:
            item = np.asarray(item)
            arrays.append(np.flatnonzero(item) if item.dtype == bool else item.astype(np.int64))
    return arrays


def block_slices(full, shape, chunk_shape):
    grid_shape = grid_shape_of(shape, chunk_shape)
    slices = []
    for item, chunk, grid in zip(full, chunk_shape, grid_shape):
        if isinstance(item, int):
            item = item % grid
            slices.append(slice(item * chunk, (item + 1) * chunk))
        else:
            start, stop, _ = item.indices(grid)
            slices.append(slice(start * chunk, max(start, stop) * chunk))
    return tuple(slices)


# ----------------------------------------------------------------------------------------------
# Property tests


@settings(max_examples=300, deadline=None)
@given(basic_cases())
def test_basic_indexer_matches_numpy(case):
    array, chunk_shape, selection, full = case
    indexer = BasicIndexer(selection, array.shape, chunk_shape)
    selected = np.zeros(array.shape, dtype=bool)
    selected[full] = True

    def write(target, value):
        target[full] = value

    check_indexer(indexer, array, chunk_shape, array[full], selected, write)
    assert indexer.drop_axes == tuple(i for i, item in enumerate(full) if isinstance(item, int))


@settings(max_examples=300, deadline=None)
@given(orthogonal_cases())
def test_orthogonal_indexer_matches_numpy_ix(case):
    array, chunk_shape, selection, full = case
    indexer = OrthogonalIndexer(selection, array.shape, chunk_shape)
    arrays = orthogonal_index_arrays(full, array.shape)
    ix = np.ix_(*[np.atleast_1d(a) for a in arrays]) if arrays else ()
    kept_shape = tuple(len(a) for a in arrays if not isinstance(a, int))
    expected = array[ix].reshape(kept_shape)
    selected = np.zeros(array.shape, dtype=bool)
    selected[ix] = True

    def write(target, value):
        target[ix] = value.reshape(array[ix].shape)

    check_indexer(indexer, array, chunk_shape, expected, selected, write)


@settings(max_examples=200, deadline=None)
@given(coordinate_cases())
def test_coordinate_indexer_matches_numpy(case):
    array, chunk_shape, selection, full = case
    indexer = CoordinateIndexer(selection, array.shape, chunk_shape)
    selected = np.zeros(array.shape, dtype=bool)
    selected[full] = True

    def write(target, value):
        target[full] = value

    check_indexer(indexer, array, chunk_shape, array[full], selected, write)


@settings(max_examples=200, deadline=None)
@given(arrays_and_chunks().flatmap(
    lambda case: st.tuples(st.just(case), hnp.arrays(np.bool_, case[0].shape))))
def test_mask_indexer_matches_numpy(case):
    (array, chunk_shape), mask = case
    indexer = MaskIndexer(mask, array.shape, chunk_shape)

    def write(target, value):
        target[mask] = value

    check_indexer(indexer, array, chunk_shape, array[mask], mask, write)


@settings(max_examples=200, deadline=None)
@given(block_cases())
def test_block_indexer_selects_whole_chunks(case):
    array, chunk_shape, selection, full = case
    indexer = BlockIndexer(selection, array.shape, chunk_shape)
    region = block_slices(full, array.shape, chunk_shape)
    selected = np.zeros(array.shape, dtype=bool)
    selected[region] = True

    def write(target, value):
        target[region] = value

    check_indexer(indexer, array, chunk_shape, array[region], selected, write)
    assert all(p.is_complete_chunk for p in indexer)


# ----------------------------------------------------------------------------------------------
# Specific behaviour


def test_full_read_projections_are_whole_chunks_in_grid_order():
    indexer = BasicIndexer(..., (10, 7), (4, 4))
    projections = list(indexer)
    assert [p.chunk_coords for p in projections] == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert projections[0] == ChunkProjection((0, 0), (slice(0, 4, 1), slice(0, 4, 1)),
                                             (slice(0, 4), slice(0, 4)), True)
    # The edge chunk covers rows 8-9 and columns 4-6, all of its part inside the array.
    assert projections[-1] == ChunkProjection((2, 1), (slice(0, 2, 1), slice(0, 3, 1)),
                                              (slice(8, 10), slice(4, 7)), True)


def test_negative_step_reads_chunks_backwards():
    projections = list(BasicIndexer(slice(None, None, -3), (10,), (4,)))
    # Indices 9, 6, 3, 0: chunk 2 holds 9, chunk 1 holds 6, chunk 0 holds 3 and 0.
    assert [(p.chunk_coords, p.chunk_selection, p.out_selection) for p in projections] == [
        ((2,), (slice(1, 0, -3),), (slice(0, 1),)),
        ((1,), (slice(2, 1, -3),), (slice(1, 2),)),
        ((0,), (slice(3, None, -3),), (slice(2, 4),)),
    ]


def test_large_step_visits_only_touched_chunks():
    indexer = BasicIndexer(slice(0, None, 10**6), (10**9,), (10,))
    assert indexer.shape == (1000,) and len(indexer) == 1000
    assert [p.chunk_coords for p in list(indexer)[:3]] == [(0,), (10**5,), (2 * 10**5,)]


def test_integer_items_drop_axes_and_mark_single_element_chunks_complete():
    indexer = BasicIndexer((1, slice(None), -1), (3, 4, 5), (1, 4, 2))
    assert indexer.shape == (4,) and indexer.drop_axes == (0, 2)
    # Dimension 2 has length 5 in chunks of 2, so index 4 is alone in its edge chunk.
    [projection] = list(indexer)
    assert projection.chunk_coords == (1, 0, 2)
    assert projection.chunk_selection == (0, slice(0, 4, 1), 0)
    assert projection.is_complete_chunk


def test_orthogonal_with_only_ints_and_slices_equals_basic():
    selection = (slice(1, None, 2), -2, slice(None, None, -1))
    shape, chunk_shape = (9, 8, 7), (2, 3, 4)
    orthogonal = OrthogonalIndexer(selection, shape, chunk_shape)
    basic = BasicIndexer(selection, shape, chunk_shape)
    assert orthogonal.shape == basic.shape and orthogonal.drop_axes == basic.drop_axes
    assert list(orthogonal) == list(basic)


@pytest.mark.parametrize(
    "selection",
    [
        # NumPy would move the axes of separated advanced indices to the front; the indexer must not.
        (1, slice(None), [5, 0, 3, 3]),
        ([3, 0], slice(1, 4), -1),
        ([2, 0, 1], [4, 4, 0], slice(None, None, -2)),
        (slice(None), [3, 1], np.array([True, False, True, True, False, True])),
        (-1, [1, 0], 2),
    ],
)
def test_orthogonal_mixed_items_keep_axis_order(selection):
    array = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    full = selection
    arrays = orthogonal_index_arrays(full, array.shape)
    ix = np.ix_(*[np.atleast_1d(a) for a in arrays])
    kept_shape = tuple(len(a) for a in arrays if not isinstance(a, int))
    selected = np.zeros(array.shape, dtype=bool)
    selected[ix] = True

    def write(target, value):
        target[ix] = value.reshape(array[ix].shape)

    indexer = OrthogonalIndexer(selection, array.shape, (3, 2, 4))
    check_indexer(indexer, array, (3, 2, 4), array[ix].reshape(kept_shape), selected, write)


def test_orthogonal_sorted_mask_uses_slices():
    mask = np.zeros(10, dtype=bool)
    mask[2:9] = True
    projections = list(OrthogonalIndexer((mask,), (10,), (4,)))
    assert [(p.chunk_selection, p.out_selection, p.is_complete_chunk) for p in projections] == [
        ((slice(2, 4),), (slice(0, 2),), False),
        ((slice(0, 4),), (slice(2, 6),), True),
        ((slice(0, 1),), (slice(6, 7),), False),
    ]


def test_orthogonal_unsorted_indices_with_duplicates_cover_a_chunk():
    projections = list(OrthogonalIndexer(([5, 3, 1, 0, 2, 2],), (6,), (4,)))
    assert [p.chunk_coords for p in projections] == [(0,), (1,)]
    first, second = projections
    np.testing.assert_array_equal(first.chunk_selection[0], [3, 1, 0, 2, 2])
    np.testing.assert_array_equal(first.out_selection[0], [1, 2, 3, 4, 5])
    assert first.is_complete_chunk
    np.testing.assert_array_equal(second.chunk_selection[0], [1])
    np.testing.assert_array_equal(second.out_selection[0], [0])
    # Chunk 1 holds indices 4 and 5 inside the array; only 5 is selected.
    assert not second.is_complete_chunk


def test_zero_d_array():
    for indexer in (BasicIndexer((), (), ()), BasicIndexer(..., (), ()), OrthogonalIndexer((), (), ()),
                    BlockIndexer((), (), ()), CoordinateIndexer((), (), ())):
        assert indexer.shape == ()
        assert list(indexer) == [ChunkProjection((), (), (), True)]
    assert MaskIndexer(np.array(False), (), ()).shape == (0,)
    assert len(MaskIndexer(np.array(False), (), ())) == 0
    array = np.array(42)
    [projection] = list(MaskIndexer(np.array(True), (), ()))
    result = np.empty(1, dtype=array.dtype)
    result[projection.out_selection] = array[projection.chunk_selection]
    assert result.tolist() == [42]


def test_zero_length_dimension_yields_no_projections():
    shape, chunk_shape = (3, 0), (2, 2)
    for indexer in (
        BasicIndexer(..., shape, chunk_shape),
        OrthogonalIndexer(([0, 2], slice(None)), shape, chunk_shape),
        CoordinateIndexer((np.array([], int), np.array([], int)), shape, chunk_shape),
        MaskIndexer(np.zeros(shape, bool), shape, chunk_shape),
        BlockIndexer(..., shape, chunk_shape),
    ):
        assert list(indexer) == [] and len(indexer) == 0
        assert 0 in indexer.shape
    assert OrthogonalIndexer(([0, 2], slice(None)), (3, 0), (2, 2)).shape == (2, 0)


def test_zero_chunk_length_on_an_empty_dimension_yields_no_projections():
    shape, chunk_shape = (0, 3), (0, 3)
    empty = np.array([], dtype=int)
    for indexer, expected_shape in (
        (BasicIndexer(..., shape, chunk_shape), (0, 3)),
        (BasicIndexer((slice(None), 1), shape, chunk_shape), (0,)),
        (OrthogonalIndexer((empty, [2, 0]), shape, chunk_shape), (0, 2)),
        (OrthogonalIndexer((np.zeros(0, bool), slice(1, None)), shape, chunk_shape), (0, 2)),
        (CoordinateIndexer((empty, empty), shape, chunk_shape), (0,)),
        (MaskIndexer(np.zeros(shape, bool), shape, chunk_shape), (0,)),
        (BlockIndexer(..., shape, chunk_shape), (0, 3)),
        (BlockIndexer((slice(None), 0), shape, chunk_shape), (0, 3)),
    ):
        assert indexer.shape == expected_shape
        assert list(indexer) == [] and len(indexer) == 0
    with pytest.raises(SelectionError, match="out of bounds for length 0"):
        BasicIndexer(0, shape, chunk_shape)
    with pytest.raises(SelectionError, match="out of bounds for length 0"):
        BlockIndexer(0, shape, chunk_shape)
    with pytest.raises(MetadataError, match="a chunk length of 0 is allowed only"):
        BasicIndexer(..., (2, 3), chunk_shape)


def test_coordinate_indexer_groups_points_by_chunk_and_keeps_the_broadcast_shape():
    rows = np.array([[7, 0], [1, 6]])
    indexer = CoordinateIndexer((rows, 2), (8, 4), (4, 4))
    assert indexer.shape == (2, 2) and len(indexer) == 2
    by_chunk = {p.chunk_coords: p for p in indexer}
    np.testing.assert_array_equal(by_chunk[(0, 0)].chunk_selection[0], [0, 1])
    np.testing.assert_array_equal(by_chunk[(1, 0)].chunk_selection[0], [3, 2])


def test_coordinate_indexer_detects_complete_chunks_with_repeats():
    # The edge chunk holds 3 x 2 elements of the array; the seventh point repeats the first.
    rows = np.array([0, 0, 1, 1, 2, 2, 0])
    columns = np.array([0, 1, 0, 1, 0, 1, 0])
    [projection] = list(CoordinateIndexer((rows, columns), (3, 2), (4, 4)))
    assert projection.is_complete_chunk
    # Six points, but only five distinct ones.
    points = [0, 1, 2, 3, 4, 6]
    [projection] = list(CoordinateIndexer((rows[points], columns[points]), (3, 2), (4, 4)))
    assert not projection.is_complete_chunk


def test_chunk_coords_are_python_ints():
    for indexer in (OrthogonalIndexer((np.array([5, 1]),), (8,), (2,)),
                    CoordinateIndexer((np.array([5, 1]),), (8,), (2,)),
                    MaskIndexer(np.ones(8, bool), (8,), (2,))):
        for projection in indexer:
            assert all(type(index) is int for index in projection.chunk_coords)


def test_expand_selection_and_is_basic_selection():
    assert expand_selection(1, (4, 5, 6)) == (1, slice(None), slice(None))
    assert expand_selection((..., 2), (4, 5, 6)) == (slice(None), slice(None), 2)
    assert expand_selection((1, ..., 2), (4, 5, 6)) == (1, slice(None), 2)
    assert is_basic_selection((1, slice(None), ..., np.int32(3)))
    assert not is_basic_selection(([1, 2], slice(None)))
    assert not is_basic_selection(np.array([True]))
    # NumPy indexes with a 0-d integer array as with an integer.
    assert is_basic_selection((np.array(1), slice(None)))
    assert [integer_or_none(item) for item in (np.array(3), np.int8(-2), 4)] == [3, -2, 4]
    assert [integer_or_none(item) for item in (True, np.array(True), np.array([1]), 1.0)] == [None] * 4


# ----------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("indexer", "selection", "message"),
    [
        (BasicIndexer, (10, 0),
         r"index 10 is out of bounds for length 10 in dimension 0 \(array shape \(10, 6\)\)"),
        (BasicIndexer, (0, -7), r"index -7 is out of bounds for length 6 in dimension 1"),
        (BasicIndexer, (1, 2, 3), r"3 items for 2 dimensions"),
        (BasicIndexer, (..., 1, ...), r"more than one Ellipsis"),
        (BasicIndexer, (None, 1), r"np.newaxis"),
        (BasicIndexer, (slice(0, 4, 0),), r"step of 0 in dimension 0"),
        (BasicIndexer, (slice(0.5, 4),), r"not an integer in dimension 0"),
        (BasicIndexer, (1.0, 2), r"float index 1.0 .* dimension 0"),
        (BasicIndexer, (0, [1, 2]), r"use oindex or vindex .* dimension 1"),
        (BasicIndexer, True, r"dimension 0"),
        (OrthogonalIndexer, ([0, 10], 0), r"index 10 is out of bounds for length 10 in dimension 0"),
        (OrthogonalIndexer, (0, [-7]), r"index -7 is out of bounds for length 6 in dimension 1"),
        (OrthogonalIndexer, (np.ones(9, bool),), r"mask of length 9 does not match length 10 in dimension 0"),
        (OrthogonalIndexer, (np.ones((10, 6), bool),), r"not 1-d in dimension 0"),
        (OrthogonalIndexer, ([1.5],), r"dtype float64 .* dimension 0"),
        (OrthogonalIndexer, (["a"],), r"neither integer nor boolean in dimension 0"),
        (OrthogonalIndexer, (slice(None), [1, 2], 3), r"3 items for 2 dimensions"),
        (OrthogonalIndexer, (np.array([2**64 - 1], np.uint64),), r"out of bounds for length 10"),
        (CoordinateIndexer, ([1, 2],), r"1 items; it needs one integer array per dimension"),
        (CoordinateIndexer, ([1, 2], [1, 2, 3]), r"shapes \(2,\), \(3,\) do not broadcast"),
        (CoordinateIndexer, ([1, 10], [1, 2]), r"index 10 is out of bounds for length 10 in dimension 0"),
        (CoordinateIndexer, ([1, 2], [1, -7]), r"index -7 is out of bounds for length 6 in dimension 1"),
        (CoordinateIndexer, ([True], [1]), r"boolean array .* dimension 0"),
        (CoordinateIndexer, ([1.0], [1]), r"dtype float64 .* dimension 0"),
        (MaskIndexer, np.ones((10, 5), bool), r"shape \(10, 5\) is not a boolean array of the array's shape"),
        (MaskIndexer, np.ones((10, 6), int), r"mask of dtype int64"),
        (BlockIndexer, (5, 0), r"index 5 is out of bounds for length 5 in dimension 0 \(chunk grid shape "
                               r"\(5, 2\) of array shape \(10, 6\)\)"),
        (BlockIndexer, (slice(0, 4, 2),), r"step other than 1 in dimension 0"),
        (BlockIndexer, (slice(None, None, -1),), r"step other than 1"),
        (BlockIndexer, ([0, 1],), r"not an integer or slice in dimension 0"),
    ],
)
def test_bad_selections_raise_selection_error(indexer, selection, message):
    with pytest.raises(SelectionError, match=message):
        indexer(selection, (10, 6), (2, 4))


def test_selection_error_is_an_index_error():
    with pytest.raises(IndexError):
        BasicIndexer(5, (5,), (2,))


def test_invalid_chunk_shape_raises_metadata_error():
    with pytest.raises(MetadataError, match="chunk_shape"):
        BasicIndexer(..., (4, 4), (2,))
    with pytest.raises(MetadataError, match="chunk length of 0 is allowed only on a dimension of length 0"):
        OrthogonalIndexer(..., (4,), (0,))
