"""The parquet reference layout: round trips, fsspec interop both ways, lazy loading at scale, bad input."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.reference import LazyReferenceMapper

from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.refs.parquet_format import open_parquet, save_parquet
from zarrkit.runtime import sync

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = bytes(range(256)) * 16  # 4 KiB, every byte value at a known place


def compact(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def zarray(shape: list[int], chunks: list[int], **extra: object) -> bytes:
    return compact(
        {
            "zarr_format": 2,
            "shape": shape,
            "chunks": chunks,
            "dtype": "<i2",
            "compressor": None,
            "fill_value": 0,
            "order": "C",
            "filters": None,
            **extra,
        }
    )


def v3_array(shape: list[int], chunks: list[int], encoding: dict) -> bytes:
    return compact(
        {
            "zarr_format": 3,
            "node_type": "array",
            "shape": shape,
            "data_type": "int16",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
            "chunk_key_encoding": encoding,
            "fill_value": 0,
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        }
    )


@pytest.fixture
def target_file(tmp_path: Path) -> Path:
    path = tmp_path / "target.bin"
    path.write_bytes(PAYLOAD)
    return path


def mixed_references(target: str) -> ReferenceSet:
    """v2 and v3 arrays, 2-d and 0-d, with inline chunks, ranges, whole files, gaps and edge chunks."""
    other = target + ".other"
    return ReferenceSet(
        {
            ".zgroup": compact({"zarr_format": 2}),
            ".zattrs": compact({"title": "mixed", "nan": None}),
            # v2 "." keys, grid 3 x 3; with record_size 4, record 1 (chunks 4-7) holds nothing.
            "temperature/.zarray": zarray([5, 7], [2, 3]),
            "temperature/.zattrs": compact({"units": "K"}),
            "temperature/0.0": Reference(target, 0, 100),
            "temperature/0.1": b"\x01\x02inline",
            "temperature/0.2": Reference(other),
            "temperature/1.0": Reference(target, 4000, 96),
            "temperature/2.2": Reference(target, 200, 12),  # the edge chunk, last in the grid
            # v2 "/" keys in a nested group.
            "nested/.zgroup": compact({"zarr_format": 2}),
            "nested/pressure/.zarray": zarray([4, 4], [2, 2], dimension_separator="/"),
            "nested/pressure/0/1": Reference(target, 10, 20),
            "nested/pressure/1/1": b"",
            # 0-d v2 array.
            "scalar/.zarray": zarray([], []),
            "scalar/0": b"\x07\x00",
            # v3: default encoding, and the v2 encoding.
            "v3/zarr.json": compact({"zarr_format": 3, "node_type": "group", "attributes": {}}),
            "v3/wind/zarr.json": v3_array([10, 9], [4, 4], {"name": "default", "configuration": {"separator": "/"}}),
            "v3/wind/c/0/0": Reference(target, 300, 30),
            "v3/wind/c/2/2": b"edge",
            "v3/wind/c/1/2": Reference(other, 5, 6),
            "v3/rain/zarr.json": v3_array([3, 3], [2, 2], {"name": "v2", "configuration": {"separator": "."}}),
            "v3/rain/1.0": Reference(target, 7, 1),
        }
    )


UNKNOWN_KEYS = [
    "temperature/1.1",  # missing inside a written record file
    "temperature/2.0",  # missing, in a record file that was not written
    "temperature/3.0",  # beyond the grid
    "temperature/0.0.0",  # wrong number of dimensions
    "temperature/x.y",
    "temperature/.zfoo",
    "nested/pressure/0.1",  # the array uses "/" keys
    "v3/wind/0.0",  # the array uses "c/" keys
    "v3/wind/c/3/0",
    "v3/rain/c/1/0",
    "scalar/1",
    "nowhere/0.0",
    "0.0",
]


def save(references: ReferenceSet, url: str, record_size: int) -> None:
    sync(save_parquet(references, url, record_size=record_size))


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_round_trip_keeps_every_entry_and_listing(tmp_path: Path, target_file: Path, kind: str) -> None:
    original = mixed_references(str(target_file))
    url = str(tmp_path / "refs.parq") if kind == "local" else f"memory://parquet-{uuid.uuid4().hex}"
    save(original, url, record_size=4)
    opened = sync(open_parquet(url))

    keys = sorted(original) + UNKNOWN_KEYS
    assert sync(opened.lookup(keys)) == sync(original.lookup(keys))
    assert sync(opened.lookup(UNKNOWN_KEYS)) == [None] * len(UNKNOWN_KEYS)
    for prefix in ["", "temperature/", "temperature/0", "nested/pressure/1/", "v3/", "v3/wind/c/", "scalar"]:
        assert sync(opened.list_keys(prefix)) == sync(original.list_keys(prefix)), prefix


def test_layout_on_disk_is_what_fsspec_writes(tmp_path: Path, target_file: Path) -> None:
    root = tmp_path / "refs"
    save(mixed_references(str(target_file)), str(root), record_size=4)

    layout = json.loads((root / ".zmetadata").read_bytes())
    assert layout["record_size"] == 4
    assert layout["metadata"]["temperature/.zarray"]["chunks"] == [2, 3]
    assert "temperature/0.0" not in layout["metadata"]
    # Record 1 of temperature holds no reference, so no file; the others are padded to record_size.
    assert sorted(path.name for path in (root / "temperature").glob("refs.*")) == ["refs.0.parq", "refs.2.parq"]
    last = pq.read_table(root / "temperature" / "refs.2.parq")
    assert last.num_rows == 4
    assert last.schema.field("offset").type == pa.int64() and last.schema.field("size").type == pa.int64()
    assert last.column("path").to_pylist() == [str(target_file), None, None, None]
    assert pa.types.is_null(last.schema.field("raw").type)  # no inline value in this record
    first = pq.read_table(root / "temperature" / "refs.0.parq")
    assert first.column("raw").to_pylist()[1] == b"\x01\x02inline"
    assert first.column("offset").to_pylist() == [0, 0, 0, 4000]
    assert first.column("size").to_pylist() == [100, 0, 0, 96]
    assert (root / "nested" / "pressure" / "refs.0.parq").exists()
    assert (root / "v3" / "wind" / "refs.0.parq").exists()


def test_saving_again_removes_stale_record_files(tmp_path: Path, target_file: Path) -> None:
    root = tmp_path / "refs"
    save(mixed_references(str(target_file)), str(root), record_size=4)
    (root / "notes.txt").write_text("kept")
    smaller = ReferenceSet(
        {"temperature/.zarray": zarray([5, 7], [2, 3]), "temperature/0.0": Reference(str(target_file), 1, 2)}
    )
    save(smaller, str(root), record_size=4)

    assert not (root / "temperature" / "refs.2.parq").exists()
    assert not (root / "v3").exists()
    assert (root / "notes.txt").read_text() == "kept"
    opened = sync(open_parquet(str(root)))
    assert sync(opened.list_keys()) == ["temperature/.zarray", "temperature/0.0"]
    assert sync(opened.lookup(["temperature/2.2"])) == [None]


def test_record_files_load_once_per_batch_and_stay_in_a_bounded_cache(tmp_path: Path, target_file: Path) -> None:
    root = str(tmp_path / "refs")
    save(mixed_references(str(target_file)), root, record_size=4)
    opened = sync(open_parquet(root, cache_records=2))
    assert opened.records_read == 0  # opening reads .zmetadata only

    sync(opened.lookup(["temperature/0.0", "temperature/0.1", "temperature/0.2", "temperature/2.2"]))
    assert opened.records_read == 2
    sync(opened.lookup(["temperature/0.0"]))
    assert opened.records_read == 2  # cached
    sync(opened.lookup(["v3/wind/c/0/0"]))
    assert opened.records_read == 3
    assert opened.cached_records == ["temperature/refs.0.parq", "v3/wind/refs.0.parq"]
    sync(opened.lookup(["temperature/2.2"]))  # evicted, read again
    assert opened.records_read == 4

    async def concurrently() -> list:
        return await asyncio.gather(*(opened.lookup(["nested/pressure/0/1"]) for _ in range(5)))

    assert sync(concurrently()) == [[Reference(str(target_file), 10, 20)]] * 5
    assert opened.records_read == 5


# -- fsspec interop --------------------------------------------------------------------------------


def fsspec_reference_filesystem(root: Path) -> fsspec.AbstractFileSystem:
    filesystem = fsspec.filesystem("reference", fo=str(root), remote_protocol="file")
    assert isinstance(filesystem.references, LazyReferenceMapper)
    # ReferenceFileSystem reads record files with fastparquet unless told otherwise, and only pyarrow
    # is installed; the mapper reads its engine when it first loads a record file.
    filesystem.references.engine = "pyarrow"
    return filesystem


def test_fsspec_reads_what_we_save(tmp_path: Path, target_file: Path) -> None:
    target, other = str(target_file), str(tmp_path / "other.bin")
    Path(other).write_bytes(b"the whole other file")
    references = ReferenceSet(
        {
            ".zgroup": compact({"zarr_format": 2}),
            "x/.zarray": zarray([40], [1]),
            "y/.zarray": zarray([3, 4], [2, 2]),
            "y/0.0": Reference(other),
            "y/0.1": Reference(target, 1000, 24),
            "y/1.1": b"inline y",
        }
    )
    expected: dict[str, bytes] = {"y/0.0": b"the whole other file", "y/0.1": PAYLOAD[1000:1024], "y/1.1": b"inline y"}
    for index in range(40):
        if index % 7 == 3:
            references[f"x/{index}"] = f"inline {index}".encode()
            expected[f"x/{index}"] = f"inline {index}".encode()
        elif index != 20:
            references[f"x/{index}"] = Reference(target, index * 50, 17)
            expected[f"x/{index}"] = PAYLOAD[index * 50 : index * 50 + 17]
    root = tmp_path / "refs"
    save(references, str(root), record_size=16)
    # Sixteen rows with one repeated URL: the path column is dictionary-encoded, as fsspec writes it.
    assert pa.types.is_dictionary(pq.read_schema(root / "x" / "refs.0.parq").field("path").type)

    filesystem = fsspec_reference_filesystem(root)
    for key, value in expected.items():
        assert filesystem.cat(key) == value, key
    assert filesystem.cat(sorted(expected)) == expected
    assert json.loads(filesystem.cat("x/.zarray"))["shape"] == [40]
    mapper = LazyReferenceMapper(str(root), engine="pyarrow")
    assert mapper["y/0.0"] == [other]
    assert list(mapper["x/1"]) == [target, 50, 17]


def test_we_read_what_fsspec_writes(tmp_path: Path, target_file: Path) -> None:
    # kerchunk.df.refs_to_dataframe does exactly this, but cannot choose pyarrow as its engine.
    target = str(target_file)
    root = tmp_path / "refs"
    mapper = LazyReferenceMapper.create(str(root), record_size=30, engine="pyarrow")
    mapper[".zgroup"] = compact({"zarr_format": 2})
    mapper["group/.zgroup"] = compact({"zarr_format": 2})
    mapper["group/v/.zarray"] = zarray([6, 50], [2, 1])
    mapper["group/v/.zattrs"] = compact({"units": "m"})
    mapper["w/.zarray"] = zarray([3], [1])
    expected: dict[str, object] = {}
    for row in range(3):
        for column in range(50):
            key = f"group/v/{row}.{column}"
            if (row, column) == (1, 7):
                continue  # missing
            if column % 9 == 0:
                mapper[key] = f"raw {row} {column}".encode()
                expected[key] = f"raw {row} {column}".encode()
            else:
                mapper[key] = [target, row * 100 + column, 5]
                expected[key] = Reference(target, row * 100 + column, 5)
    mapper["w/0"] = [target]
    mapper["w/2"] = [target, 0, 9]
    expected.update({"w/0": Reference(target), "w/2": Reference(target, 0, 9)})
    mapper.flush()
    assert pa.types.is_dictionary(pq.read_schema(root / "group" / "v" / "refs.0.parq").field("path").type)
    assert pa.types.is_large_string(pq.read_schema(root / "w" / "refs.0.parq").field("path").type)

    opened = sync(open_parquet(str(root)))
    metadata_keys = [".zgroup", "group/.zgroup", "group/v/.zarray", "group/v/.zattrs", "w/.zarray"]
    assert sync(opened.list_keys()) == sorted([*expected, *metadata_keys])
    keys = sorted(expected)
    assert sync(opened.lookup(keys)) == [expected[key] for key in keys]
    assert sync(opened.lookup(["group/v/1.7", "w/1", "group/v/3.0"])) == [None, None, None]
    assert json.loads(sync(opened.lookup(["group/v/.zarray"]))[0])["chunks"] == [2, 1]


# -- scale -----------------------------------------------------------------------------------------

MEASURE_ONE_LOOKUP = """
import json, sys
import pyarrow, pyarrow.parquet
import zarrkit
from zarrkit.refs.parquet_format import open_parquet
from zarrkit.runtime import sync


def peak_rss_kib():
    # VmHWM, not resource.getrusage's ru_maxrss: on Linux ru_maxrss keeps the peak of the parent
    # (the test process, holding a million references) across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


before = peak_rss_kib()
references = sync(open_parquet(sys.argv[1]))
[entry] = sync(references.lookup(["big/567.890"]))
after = peak_rss_kib()
print(json.dumps({
    "before_kib": before,
    "increase_kib": after - before,
    "records_read": references.records_read,
    "cached": references.cached_records,
    "entry": [entry.url, entry.offset, entry.length],
}))
"""


def test_a_million_references_open_lazily_in_little_memory(tmp_path: Path) -> None:
    target = "/data/archive/big.nc"
    references = ReferenceSet({"big/.zarray": zarray([1000, 1000], [1, 1])})
    references.update(
        (f"big/{row}.{column}", Reference(target, (row * 1000 + column) * 8, 8))
        for row in range(1000)
        for column in range(1000)
    )
    root = tmp_path / "big"
    save(references, str(root), record_size=100_000)
    del references
    assert sorted(path.name for path in (root / "big").iterdir()) == sorted(f"refs.{k}.parq" for k in range(10))

    result = subprocess.run(
        [sys.executable, "-c", MEASURE_ONE_LOOKUP, str(root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    report = json.loads(result.stdout)
    print("peak RSS increase for opening and one lookup:", report["increase_kib"] // 1024, "MiB")
    assert report["before_kib"] > 20 * 1024  # measured after the imports: the numbers are real
    assert report["entry"] == [target, 567_890 * 8, 8]
    assert report["records_read"] == 1
    assert report["cached"] == ["big/refs.5.parq"]
    assert report["increase_kib"] < 100 * 1024


# -- bad input -------------------------------------------------------------------------------------


def write_layout(root: Path, document: object) -> None:
    root.mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (root / ".zmetadata").write_text(text)


def one_array_layout(root: Path, record: pa.Table | bytes | None, *, shape: int = 4) -> str:
    """A layout with array ``x`` of ``shape`` one-element chunks, record_size 4, and ``record`` as its first record file."""
    write_layout(root, {"metadata": {"x/.zarray": json.loads(zarray([shape], [1]))}, "record_size": 4})
    if record is not None:
        (root / "x").mkdir()
        if isinstance(record, bytes):
            (root / "x" / "refs.0.parq").write_bytes(record)
        else:
            pq.write_table(record, root / "x" / "refs.0.parq")
    return str(root)


def test_a_missing_record_file_means_missing_chunks(tmp_path: Path) -> None:
    opened = sync(open_parquet(one_array_layout(tmp_path / "refs", None)))
    assert sync(opened.lookup(["x/0", "x/3", "x/.zarray"]))[:2] == [None, None]
    assert sync(opened.list_keys()) == ["x/.zarray"]


def test_record_files_with_only_reference_columns_or_only_raw_are_read(tmp_path: Path) -> None:
    references_only = pa.table(
        {"path": ["a.bin", None, "b.bin", "a.bin"], "offset": [1, 0, 0, 4], "size": [2, 0, 0, 5]}
    )
    opened = sync(open_parquet(one_array_layout(tmp_path / "paths", references_only)))
    assert sync(opened.lookup(["x/0", "x/1", "x/2", "x/3"])) == [
        Reference("a.bin", 1, 2),
        None,
        Reference("b.bin"),
        Reference("a.bin", 4, 5),
    ]
    raw_only = pa.table({"raw": pa.array([b"a", None, b"", b"d"], type=pa.binary())})
    opened = sync(open_parquet(one_array_layout(tmp_path / "raw", raw_only)))
    assert sync(opened.lookup(["x/0", "x/1", "x/2", "x/3"])) == [b"a", None, b"", b"d"]
    assert sync(opened.list_keys("x/")) == ["x/.zarray", "x/0", "x/2", "x/3"]


def test_record_files_with_row_groups_nulls_and_other_integer_types_are_read(tmp_path: Path) -> None:
    root = tmp_path / "refs"
    write_layout(root, {"metadata": {"x/.zarray": json.loads(zarray([6], [1]))}, "record_size": 6})
    (root / "x").mkdir()
    paths = pa.chunked_array(
        [pa.array(part).dictionary_encode() for part in (["b.bin", None], ["a.bin", "c.bin"], [None, "a.bin"])]
    )
    table = pa.table(
        {
            "path": paths,
            "offset": pa.array([1, None, 3, 2**32 - 1, 5, 0], type=pa.uint32()),
            "size": pa.array([10, None, 30, 40, None, 0], type=pa.int16()),
            "raw": pa.array([None, None, None, None, b"inline", None], type=pa.large_binary()),
        }
    )
    # Row groups of two rows: each column comes back in three chunks, with dictionaries of their own.
    pq.write_table(table, root / "x" / "refs.0.parq", row_group_size=2)
    dictionaries = [chunk.dictionary.to_pylist() for chunk in pq.read_table(root / "x" / "refs.0.parq")["path"].chunks]
    assert dictionaries == [["b.bin"], ["a.bin", "c.bin"], ["a.bin"]]

    opened = sync(open_parquet(str(root)))
    assert sync(opened.lookup([f"x/{index}" for index in range(6)])) == [
        Reference("b.bin", 1, 10),
        None,
        Reference("a.bin", 3, 30),
        Reference("c.bin", 2**32 - 1, 40),
        b"inline",
        Reference("a.bin"),
    ]
    assert sync(opened.list_keys("x/")) == ["x/.zarray", "x/0", "x/2", "x/3", "x/4", "x/5"]


GOOD_COLUMNS = {
    "path": pa.array(["a.bin"] * 4),
    "offset": pa.array([0, 1, 2, 3], type=pa.int64()),
    "size": pa.array([1, 1, 1, 1], type=pa.int64()),
    "raw": pa.array([None] * 4, type=pa.binary()),
}


@pytest.mark.parametrize(
    ("replaced", "message"),
    [
        ({"size": None}, r"lacks the column\(s\) \['size'\]"),
        ({"path": None, "offset": None}, r"lacks the column\(s\) \['path', 'offset'\]"),
        ({"path": None, "offset": None, "size": None, "raw": None}, r"lacks the column"),
        ({"offset": pa.array(["0", "1", "2", "3"])}, r"column 'offset' has type string; expected integers"),
        ({"size": pa.array([1.0, 1.0, 1.0, 1.0])}, r"column 'size' has type double"),
        ({"path": pa.array([1, 2, 3, 4])}, r"column 'path' has type int64; expected strings"),
        ({"raw": pa.array(["a", "b", "c", "d"])}, r"column 'raw' has type string; expected binary"),
        ({"offset": pa.array([0, -1, 2, 3])}, r"column 'offset' holds -1 in row 1"),
        ({"size": pa.array([1, None, 1, 1], type=pa.int64())}, r"column 'size' holds None in row 1"),
    ],
)
def test_malformed_record_files_name_file_and_column(tmp_path: Path, replaced: dict, message: str) -> None:
    columns = {**GOOD_COLUMNS, **replaced}
    table = pa.table({name: column for name, column in columns.items() if column is not None})
    opened = sync(open_parquet(one_array_layout(tmp_path / "refs", table)))
    with pytest.raises(ReferenceError, match=r"refs/x/refs\.0\.parq.*" + message):
        sync(opened.lookup(["x/2"]))


def test_a_record_file_that_is_not_parquet_or_too_short_is_refused(tmp_path: Path) -> None:
    opened = sync(open_parquet(one_array_layout(tmp_path / "garbage", b"not parquet at all")))
    for _ in range(2):  # a failed load is not cached, nor left half-done
        with pytest.raises(ReferenceError, match=r"x/refs\.0\.parq is not a readable parquet file"):
            sync(opened.lookup(["x/0"]))
    assert opened.records_read == 2
    short = pa.table({name: column[:2] for name, column in GOOD_COLUMNS.items()})
    opened = sync(open_parquet(one_array_layout(tmp_path / "short", short)))
    with pytest.raises(ReferenceError, match=r"x/refs\.0\.parq has 2 rows; the chunk grid needs 4"):
        sync(opened.lookup(["x/0"]))
    # The last record of a grid may be shorter than record_size, as long as it covers the grid.
    opened = sync(open_parquet(one_array_layout(tmp_path / "edge", short, shape=2)))
    assert sync(opened.lookup(["x/1"])) == [Reference("a.bin", 1, 1)]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", r" is not valid JSON"),
        ([1, 2], r" must hold a JSON object"),
        ({"metadata": {}}, r" has no 'record_size'"),
        ({"metadata": {}, "record_size": 0}, r"'record_size' must be a positive integer, got 0"),
        ({"metadata": {}, "record_size": -5}, r"got -5"),
        ({"metadata": {}, "record_size": "100"}, r"got '100'"),
        ({"metadata": {}, "record_size": 1.5}, r"got 1\.5"),
        ({"metadata": {}, "record_size": True}, r"got True"),
        ({"metadata": [], "record_size": 10}, r"'metadata' must be a JSON object"),
        ({"record_size": 10}, r"'metadata' must be a JSON object"),
        ({"metadata": {".zgroup": 2}, "record_size": 10}, r"metadata key '\.zgroup' must map to a JSON object"),
        ({"metadata": {"x/.zarray": {"chunks": [1]}}, "record_size": 10}, r"key 'x/\.zarray'.*'shape'"),
        (
            {"metadata": {"x/.zarray": {"shape": [2, 2], "chunks": [1]}}, "record_size": 10},
            r"key 'x/\.zarray'.*has 1 dimensions but shape \(2, 2\) has 2",
        ),
    ],
)
def test_malformed_zmetadata_is_refused_naming_the_file(tmp_path: Path, document: object, message: str) -> None:
    write_layout(tmp_path / "refs", document)
    with pytest.raises(ReferenceError, match=r"refs/\.zmetadata.*" + message):
        sync(open_parquet(str(tmp_path / "refs")))


def test_opening_a_directory_without_zmetadata_or_with_a_bad_cache_size_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match=r"\.zmetadata does not exist"):
        sync(open_parquet(str(tmp_path / "nothing")))
    root = one_array_layout(tmp_path / "refs", None)
    with pytest.raises(ReferenceError, match="cache_records must be a positive integer"):
        sync(open_parquet(root, cache_records=0))


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ({"notes.txt": b"hello"}, r"cannot save key 'notes\.txt'.*neither a metadata key"),
        ({"x/4": Reference("a.bin", 0, 1)}, r"cannot save key 'x/4'"),  # beyond the grid
        ({"x/0/0": b"1"}, r"cannot save key 'x/0/0'"),
        ({"x/0": Reference(None, 0, 1)}, r"key 'x/0'.*no URL"),
        ({"y/.zattrs": Reference("meta.json")}, r"metadata key 'y/\.zattrs'.*reference"),
        ({"y/.zattrs": b"{broken"}, r"metadata key 'y/\.zattrs'.*not valid JSON"),
        ({"y/.zattrs": b"[1]"}, r"metadata key 'y/\.zattrs'.*JSON object"),
        ({"y/.zarray": compact({"shape": [3]})}, r"the references: metadata key 'y/\.zarray'.*'chunks'"),
    ],
)
def test_saving_what_the_layout_cannot_hold_is_refused(tmp_path: Path, entries: dict, message: str) -> None:
    references = ReferenceSet({"x/.zarray": zarray([4], [1]), "x/1": b"fine", **entries})
    with pytest.raises(ReferenceError, match=message):
        save(references, str(tmp_path / "refs"), record_size=10)
    assert not (tmp_path / "refs" / ".zmetadata").exists()


@pytest.mark.parametrize("record_size", [0, -1, 2.5, True])
def test_saving_with_a_bad_record_size_is_refused(tmp_path: Path, record_size: object) -> None:
    with pytest.raises(ReferenceError, match="record_size must be a positive integer"):
        save(ReferenceSet({".zgroup": compact({"zarr_format": 2})}), str(tmp_path / "refs"), record_size)


def test_a_zero_length_reference_is_saved_as_an_empty_value(tmp_path: Path) -> None:
    references = ReferenceSet({"x/.zarray": zarray([4], [1]), "x/0": Reference("a.bin", 0, 0)})
    save(references, str(tmp_path / "refs"), record_size=10)
    opened = sync(open_parquet(str(tmp_path / "refs")))
    assert sync(opened.lookup(["x/0"])) == [b""]
