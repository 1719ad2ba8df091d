"""Chunk tables: an array's chunk references held as columns inside a ReferenceSet, which must behave
exactly as the same references held one by one."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from zarrkit.errors import MetadataError, ReferenceError
from zarrkit.metadata import ChunkKeyEncoding
from zarrkit.refs.chunk_table import ChunkGrid, ChunkTable, locate
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.refs.spec import compact_json, to_spec, to_spec_json
from zarrkit.runtime import sync

V2_DOT = ChunkKeyEncoding("v2", ".")
V2_SLASH = ChunkKeyEncoding("v2", "/")
V3_DEFAULT = ChunkKeyEncoding("default", "/")


@pytest.mark.parametrize("encoding", [V2_DOT, V2_SLASH, V3_DEFAULT])
@pytest.mark.parametrize(("shape", "chunks"), [((10, 7), (3, 7)), ((5,), (2,)), ((), ()), ((4, 0), (2, 1))])
def test_chunk_names_and_numbers_agree(encoding: ChunkKeyEncoding, shape: tuple, chunks: tuple) -> None:
    grid = ChunkGrid.of_array("group/array", shape, chunks, encoding)
    expected_grid = tuple(-(-extent // chunk) for extent, chunk in zip(shape, chunks))
    assert grid.grid == expected_grid and grid.chunk_count == int(np.prod(expected_grid))
    names = grid.chunk_names()
    indices = list(np.ndindex(*expected_grid))
    assert names == [encoding.encode(index) for index in indices]
    assert [grid.chunk_number(name) for name in names] == list(range(grid.chunk_count))
    assert grid.chunk_keys() == ["group/array/" + name for name in names]
    for name in names:
        assert locate({"group/array": grid}, "group/array/" + name) == (grid, grid.chunk_number(name))


def test_chunk_numbers_outside_the_grid_are_none() -> None:
    grid = ChunkGrid.of_array("a", (10, 7), (3, 7), V2_DOT)
    assert grid.chunk_number("4.0") is None and grid.chunk_number("0.1") is None
    assert grid.chunk_number("0") is None and grid.chunk_number(".zarray") is None
    assert locate({"a": grid}, "a/.zarray") is None and locate({"a": grid}, "b/0.0") is None


def test_grid_errors_name_the_array() -> None:
    with pytest.raises(MetadataError, match=r"array 'x'.*has 1 dimensions but shape \(10, 7\) has 2"):
        ChunkGrid.of_array("x", (10, 7), (3,), V2_DOT)
    with pytest.raises(MetadataError, match=r"array 'x': chunk_shape\[0\] is 0 but shape\[0\] is 10"):
        ChunkGrid.of_array("x", (10,), (0,), V2_DOT)


@pytest.mark.parametrize(
    ("offsets", "lengths", "message"),
    [
        (np.arange(3), np.ones(4, dtype=int), "offsets must be 4 integers"),
        (np.arange(4.0), np.ones(4, dtype=int), "offsets must be 4 integers"),
        (np.arange(4), -np.ones(4, dtype=int), "lengths must be >= 0"),
        (np.arange(4).reshape(2, 2), np.ones(4, dtype=int), "offsets must be 4 integers"),
    ],
)
def test_table_columns_are_checked(offsets: np.ndarray, lengths: np.ndarray, message: str) -> None:
    grid = ChunkGrid.of_array("var", (8,), (2,), V2_DOT)
    with pytest.raises(ReferenceError, match=f"chunk table of array 'var': {message}"):
        ChunkTable(grid, "file.nc", offsets, lengths)


def _sets(encoding: ChunkKeyEncoding = V2_DOT) -> tuple[ReferenceSet, ReferenceSet]:
    """The same references twice: chunks of 'var' in a table, and one by one."""
    grid = ChunkGrid.of_array("var", (6, 4), (2, 2), encoding)
    offsets = np.arange(grid.chunk_count, dtype=np.int64) * 100 + 8
    lengths = np.full(grid.chunk_count, 16, dtype=np.int32)
    zarray = {
        "zarr_format": 2,
        "shape": [6, 4],
        "chunks": [2, 2],
        "dtype": "<f4",
        "compressor": None,
        "fill_value": 0,
        "filters": None,
        "order": "C",
        "dimension_separator": encoding.separator,
    }
    head = {
        ".zgroup": b'{"zarr_format":2}',
        "var/.zarray": json.dumps(zarray).encode(),
        "other": Reference("other.bin", 0, 5),
    }
    with_table = ReferenceSet(head)
    with_table.add_chunk_table(ChunkTable(grid, "file.nc", offsets, lengths))
    single = ReferenceSet(head)
    for key, offset, length in zip(grid.chunk_keys(), offsets.tolist(), lengths.tolist()):
        single[key] = Reference("file.nc", offset, length)
    return with_table, single


def test_a_table_reads_as_the_same_entries_held_one_by_one() -> None:
    with_table, single = _sets()
    assert with_table == single and len(with_table) == len(single) == 9
    assert sorted(with_table) == sorted(single)
    assert dict(with_table.items()) == dict(single.items())
    assert list(with_table.values()).count(Reference("file.nc", 108, 16)) == 1
    assert with_table["var/1.1"] == Reference("file.nc", 308, 16)
    assert "var/3.0" not in with_table and "var/0.0" in with_table
    keys = ["var/2.1", "var/9.9", ".zgroup", "var/.zarray", "nothing"]
    assert sync(with_table.lookup(keys)) == sync(single.lookup(keys))
    for prefix in ("", "var", "var/1", "v", "x"):
        assert sync(with_table.list_keys(prefix)) == sync(single.list_keys(prefix))
    assert with_table.target_urls() == single.target_urls() == ["other.bin", "file.nc"]


def test_changing_a_chunk_of_a_table_changes_that_chunk_only() -> None:
    with_table, single = _sets()
    with_table["var/0.1"] = b"inline"
    single["var/0.1"] = b"inline"
    assert with_table == single and not with_table.chunk_tables
    with_table, single = _sets()
    del with_table["var/2.0"]
    del single["var/2.0"]
    assert with_table == single and "var/2.0" not in with_table
    with_table, _ = _sets()
    with_table["var/.zattrs"] = b"{}"
    assert list(with_table.chunk_tables) == ["var"]


def test_a_table_replaces_earlier_entries_of_its_chunks() -> None:
    references = ReferenceSet({"var/0": b"old", "var/.zarray": b"{}", "var2/0.0": b"kept"})
    grid = ChunkGrid.of_array("var", (2,), (1,), ChunkKeyEncoding("v2", "."))
    references.add_chunk_table(ChunkTable(grid, "f", np.array([0, 4]), np.array([4, 4])))
    assert references["var/0"] == Reference("f", 0, 4) and references["var2/0.0"] == b"kept"
    assert len(references) == 4


def test_tables_and_mounts_do_not_overlap() -> None:
    with_table, _ = _sets()
    with pytest.raises(ReferenceError, match="overlaps a chunk table"):
        with_table.mount("var/", ReferenceSet())
    mounted = ReferenceSet(mounts={"var/": ReferenceSet()})
    with pytest.raises(ReferenceError, match="overlaps a mount"):
        mounted.add_chunk_table(next(iter(_sets()[0].chunk_tables.values())))


def test_a_set_with_tables_pickles() -> None:
    with_table, single = _sets()
    copy = pickle.loads(pickle.dumps(with_table))
    assert copy == single and list(copy.chunk_tables) == ["var"]


@pytest.mark.parametrize("encoding", [V2_DOT, V2_SLASH, V3_DEFAULT])
def test_json_of_a_table_is_the_json_of_its_entries(encoding: ChunkKeyEncoding) -> None:
    with_table, single = _sets(encoding)
    assert to_spec_json(with_table) == compact_json(to_spec(single)) == compact_json(to_spec(with_table))
    assert json.loads(to_spec_json(with_table))["templates"] == {"u0": "file.nc"}


def test_json_escapes_array_paths_of_tables() -> None:
    grid = ChunkGrid.of_array('odd "name"\\é', (2,), (1,), V2_DOT)
    references = ReferenceSet()
    references.add_chunk_table(ChunkTable(grid, "f", np.array([0, 4]), np.array([4, 4])))
    assert json.loads(to_spec_json(references))["refs"] == {
        'odd "name"\\é/0': ["f", 0, 4],
        'odd "name"\\é/1': ["f", 4, 4],
    }


@pytest.mark.parametrize("suffix", [".json", ".json.zst", ".parq"])
@pytest.mark.parametrize("encoding", [V2_DOT, V2_SLASH])
def test_saved_tables_load_as_their_entries(tmp_path: Path, suffix: str, encoding: ChunkKeyEncoding) -> None:
    with_table, single = _sets(encoding)
    del with_table["other"], single["other"]
    url = str(tmp_path / f"refs{suffix}")
    zarrkit.save_refs(with_table, url)
    loaded = zarrkit.load_refs(url)
    keys = sync(single.list_keys())
    assert sync(loaded.list_keys()) == keys
    entries = sync(loaded.lookup(keys))
    chunk_keys = [key for key in keys if not key.rpartition("/")[2].startswith(".")]
    assert [entries[keys.index(key)] for key in chunk_keys] == [single[key] for key in chunk_keys]


def test_parquet_refuses_a_table_that_does_not_match_its_array(tmp_path: Path) -> None:
    with_table, _ = _sets()
    del with_table["other"]
    with_table["var/.zarray"] = with_table["var/.zarray"].replace(b"[6, 4]", b"[8, 4]")
    with pytest.raises(ReferenceError, match=r"chunk table of array 'var'.*grid of \[4, 2\] chunks.*\[3, 2\]"):
        zarrkit.save_refs(with_table, str(tmp_path / "refs.parq"))


def test_parquet_stores_an_empty_range_of_a_table_as_empty_bytes(tmp_path: Path) -> None:
    with_table, _ = _sets()
    del with_table["other"]
    grid = with_table.chunk_tables["var"].grid
    lengths = np.full(grid.chunk_count, 16)
    lengths[0] = 0
    offsets = np.arange(grid.chunk_count) * 10
    with_table.add_chunk_table(ChunkTable(grid, "file.nc", offsets, lengths))
    zarrkit.save_refs(with_table, str(tmp_path / "refs.parq"))
    loaded = zarrkit.load_refs(str(tmp_path / "refs.parq"))
    assert sync(loaded.lookup(["var/0.0", "var/0.1"])) == [b"", Reference("file.nc", 10, 16)]
