"""RegularChunkGrid: chunk counts, chunk regions and the chunks a resize leaves outside."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrkit.core.chunk_grid import RegularChunkGrid, ceil_div
from zarrkit.errors import MetadataError, SelectionError


@st.composite
def grids(draw, max_dims=4):
    ndim = draw(st.integers(0, max_dims))
    shape = tuple(draw(st.lists(st.integers(0, 9), min_size=ndim, max_size=ndim)))
    # Zarr v3 allows a chunk length of 0 on a dimension of length 0.
    chunk_shape = tuple(draw(st.integers(0 if length == 0 else 1, 5)) for length in shape)
    return RegularChunkGrid(shape, chunk_shape)


def test_grid_shape_rounds_up_and_is_zero_for_empty_dimensions():
    grid = RegularChunkGrid((10, 8, 0, 1), (3, 4, 5, 7))
    assert grid.grid_shape == (4, 2, 0, 1)
    assert grid.nchunks == 0
    assert list(grid.all_chunk_coords()) == []


def test_zero_chunk_length_on_an_empty_dimension_means_no_chunks():
    grid = RegularChunkGrid((0, 3), (0, 3))
    assert grid.grid_shape == (0, 1) and grid.nchunks == 0
    assert list(grid.all_chunk_coords()) == []
    assert grid.chunks_kept((0, 7)) == (0, 1)
    assert list(grid.chunks_outside((0, 1))) == []
    assert list(grid.chunks_outside((5, 3))) == []
    with pytest.raises(SelectionError, match="outside the chunk grid"):
        grid.chunk_region((0, 0))


def test_ceil_div_rounds_up():
    assert [ceil_div(n, 4) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]
    assert ceil_div(-5, 4) == -1 and ceil_div(5, -4) == -1


def test_chunks_kept_counts_the_leading_chunks_that_hold_part_of_the_new_shape():
    grid = RegularChunkGrid((10, 8), (4, 4))
    assert grid.chunks_kept((5, 4)) == (2, 1)
    assert grid.chunks_kept((100, 0)) == (3, 0)


def test_zero_d_grid_has_one_chunk():
    grid = RegularChunkGrid((), ())
    assert grid.grid_shape == () and grid.nchunks == 1
    assert list(grid.all_chunk_coords()) == [()]
    assert grid.chunk_region(()) == ()


def test_shapes_are_normalised_to_tuples_of_ints():
    grid = RegularChunkGrid([np.int64(10), 4], np.array([3, 2]))
    assert grid == RegularChunkGrid((10, 4), (3, 2))
    assert hash(grid) == hash(RegularChunkGrid((10, 4), (3, 2)))
    assert all(type(length) is int for length in grid.shape + grid.chunk_shape)


def test_chunk_region_is_clipped_to_the_array():
    grid = RegularChunkGrid((10, 8), (3, 4))
    assert grid.chunk_region((0, 0)) == (slice(0, 3), slice(0, 4))
    assert grid.chunk_region((3, 1)) == (slice(9, 10), slice(4, 8))
    assert grid.chunk_region((np.int64(2), 1)) == (slice(6, 9), slice(4, 8))


@settings(max_examples=200, deadline=None)
@given(grids())
def test_chunk_regions_tile_the_array_in_c_order(grid):
    coords = list(grid.all_chunk_coords())
    assert coords == sorted(coords)
    assert len(coords) == grid.nchunks
    covered = np.zeros(grid.shape, dtype=np.int64)
    for chunk_coords in coords:
        region = grid.chunk_region(chunk_coords)
        assert all(r.stop - r.start >= 1 for r in region)
        covered[region] += 1
    assert (covered == 1).all()


@settings(max_examples=300, deadline=None)
@given(grids().flatmap(lambda grid: st.tuples(
    st.just(grid), st.tuples(*(st.integers(0, 12) for _ in grid.shape)))))
def test_chunks_outside_are_exactly_those_with_no_element_in_the_new_shape(case):
    grid, new_shape = case
    outside = list(grid.chunks_outside(new_shape))
    assert len(set(outside)) == len(outside)
    expected = {
        coords
        for coords in product(*map(range, grid.grid_shape))
        if any(index * chunk >= length for index, chunk, length in zip(coords, grid.chunk_shape, new_shape))
    }
    assert set(outside) == expected


def test_chunks_outside_after_shrinking():
    grid = RegularChunkGrid((10, 8), (4, 4))
    # Rows 0-4 keep chunk rows 0 and 1 (chunk row 1 is only cut); columns 0-3 keep chunk column 0.
    assert sorted(grid.chunks_outside((5, 4))) == [(0, 1), (1, 1), (2, 0), (2, 1)]
    assert list(grid.chunks_outside((10, 8))) == []
    assert list(grid.chunks_outside((100, 100))) == []
    assert sorted(grid.chunks_outside((0, 8))) == sorted(grid.all_chunk_coords())


@pytest.mark.parametrize(
    ("shape", "chunk_shape", "message"),
    [
        ((10, 10), (5,), r"chunk_shape \(5,\) has 1 dimensions but shape \(10, 10\) has 2"),
        ((10,), (0,), r"chunk_shape\[0\] is 0 but shape\[0\] is 10: a chunk length of 0 is allowed only"),
        ((10,), (-1,), r"chunk_shape\[0\] must be at least 0, got -1"),
        ((-1,), (1,), r"shape\[0\] must be at least 0, got -1"),
        ((10.0,), (1,), r"shape\[0\] must be an integer, got 10.0"),
        ((10,), (True,), r"chunk_shape\[0\] must be an integer, got True"),
        ("ab", (1,), r"shape must be a sequence of integers"),
        (10, (1,), r"shape must be a sequence of integers, got 10"),
    ],
)
def test_invalid_grids_raise_metadata_error(shape, chunk_shape, message):
    with pytest.raises(MetadataError, match=message):
        RegularChunkGrid(shape, chunk_shape)


@pytest.mark.parametrize(
    ("chunk_coords", "message"),
    [
        ((4, 0),
         r"chunk coordinate 4 in dimension 0 is outside the chunk grid \(4, 2\) of array shape \(10, 8\)"),
        ((0, -1), r"chunk coordinate -1 in dimension 1"),
        ((0,), r"have 1 dimensions but the chunk grid \(4, 2\) of array shape \(10, 8\) has 2"),
        ((0.0, 0), r"chunk coordinate 0.0 in dimension 0"),
    ],
)
def test_bad_chunk_coords_raise_selection_error(chunk_coords, message):
    with pytest.raises(SelectionError, match=message):
        RegularChunkGrid((10, 8), (3, 4)).chunk_region(chunk_coords)


def test_bad_new_shape_raises_metadata_error():
    grid = RegularChunkGrid((10, 8), (3, 4))
    message = r"new shape \(5,\) has 1 dimensions but the array shape \(10, 8\) has 2"
    with pytest.raises(MetadataError, match=message):
        grid.chunks_outside((5,))
    with pytest.raises(MetadataError, match=r"new shape\[1\] must be at least 0, got -2"):
        grid.chunks_outside((5, -2))
