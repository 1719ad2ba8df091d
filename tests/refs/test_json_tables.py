"""Loading JSON reference files into chunk tables: an array whose every chunk is a range of one file
becomes a table; anything else stays single entries, and the set reads the same either way."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

import pytest

from zarrkit.refs import Reference, ReferenceSet
from zarrkit.refs.json_format import load_json_bytes
from zarrkit.refs.spec import parse_references

URL = "s3://bucket/data.nc"
V2_ARRAY = json.dumps({"zarr_format": 2, "shape": [6, 4], "chunks": [2, 2], "dtype": "<f4", "fill_value": 0,
                       "order": "C", "compressor": None, "filters": None})  # fmt: skip


def v2_chunks(path: str = "a", url: str = URL, separator: str = ".") -> dict[str, list]:
    """The six chunks of a 6 x 4 array in 2 x 2 chunks, in C order, each 16 bytes of ``url``."""
    prefix = f"{path}/" if path else ""
    return {f"{prefix}{row}{separator}{column}": [url, 100 + 16 * (2 * row + column), 16]
            for row in range(3) for column in range(2)}  # fmt: skip


def load(document: Mapping[str, object]) -> ReferenceSet:
    return load_json_bytes(json.dumps(document).encode(), where="refs.json")


def assert_reads_as_written(loaded: ReferenceSet, document: Mapping[str, object]) -> None:
    """``loaded`` holds exactly what the reference spec says ``document`` holds."""
    assert dict(loaded.items()) == dict(parse_references(document).items())


def test_an_array_of_ranges_into_one_file_becomes_a_table() -> None:
    document = {"version": 1, "refs": {".zgroup": '{"zarr_format": 2}', "a/.zarray": V2_ARRAY, **v2_chunks()}}
    loaded = load(document)
    assert list(loaded.chunk_tables) == ["a"]
    assert set(loaded.single_entries) == {".zgroup", "a/.zarray"}
    assert loaded["a/2.1"] == Reference(URL, 100 + 16 * 5, 16)
    assert_reads_as_written(loaded, document)


def test_chunks_in_any_order_land_on_their_numbers() -> None:
    chunks = list(v2_chunks().items())
    random.Random(7).shuffle(chunks)
    document = {"version": 1, "refs": {**dict(chunks[:3]), "a/.zarray": V2_ARRAY, **dict(chunks[3:])}}
    loaded = load(document)
    assert list(loaded.chunk_tables) == ["a"]
    assert_reads_as_written(loaded, document)


@pytest.mark.parametrize(
    ("path", "array_key", "metadata", "separator"),
    [
        ("", ".zarray", V2_ARRAY, "."),  # an array at the root
        ("deep/group/a", "deep/group/a/.zarray", json.loads(V2_ARRAY) | {"dimension_separator": "/"}, "/"),
    ],
)
def test_root_arrays_and_slash_separated_keys_become_tables(
    path: str, array_key: str, metadata: object, separator: str
) -> None:
    metadata_text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    document = {"version": 1, "refs": {array_key: metadata_text, **v2_chunks(path, separator=separator)}}
    loaded = load(document)
    assert list(loaded.chunk_tables) == [path]
    assert_reads_as_written(loaded, document)


def test_a_v3_array_becomes_a_table() -> None:
    metadata = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [6, 4],
        "data_type": "float32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    }
    chunks = {f"a/c/{row}/{column}": [URL, 16 * (2 * row + column), 16] for row in range(3) for column in range(2)}
    document = {"version": 1, "refs": {"zarr.json": '{"zarr_format": 3, "node_type": "group"}',
                                       **chunks, "a/zarr.json": json.dumps(metadata)}}  # fmt: skip
    loaded = load(document)
    assert list(loaded.chunk_tables) == ["a"]
    assert_reads_as_written(loaded, document)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda refs: refs.pop("a/1.1"), id="a chunk missing"),
        pytest.param(lambda refs: refs.update({"a/1.1": "base64:AAAA"}), id="a chunk inline"),
        pytest.param(lambda refs: refs.update({"a/1.1": ["s3://bucket/other.nc", 0, 16]}), id="two files"),
        pytest.param(lambda refs: refs.update({"a/3.0": [URL, 0, 16]}), id="a key outside the grid"),
        pytest.param(lambda refs: refs.update({"a/.zarray": "{not json"}), id="unreadable metadata"),
        pytest.param(lambda refs: refs.update({"a/.zarray": '{"shape": [6, 4]}'}), id="metadata without chunks"),
        pytest.param(lambda refs: refs.pop("a/.zarray"), id="no metadata"),
    ],
)
def test_anything_but_one_range_per_chunk_into_one_file_stays_single_entries(change) -> None:
    refs = {"a/.zarray": V2_ARRAY, **v2_chunks()}
    change(refs)
    document = {"version": 1, "refs": refs}
    loaded = load(document)
    assert loaded.chunk_tables == {}
    assert_reads_as_written(loaded, document)


@pytest.mark.parametrize("inline_first", [True, False])
def test_a_key_written_twice_keeps_the_last_value(inline_first: bool) -> None:
    chunks = json.dumps(v2_chunks())[1:-1]
    inline = '"a/1.1": "base64:AAAA"'
    members = [inline, chunks] if inline_first else [chunks, inline]
    text = '{"version": 1, "refs": {"a/.zarray": ' + json.dumps(V2_ARRAY) + ", " + ", ".join(members) + "}}"
    loaded = load_json_bytes(text.encode(), where="refs.json")
    assert loaded["a/1.1"] == (Reference(URL, 100 + 16 * 3, 16) if inline_first else b"\x00\x00\x00")
    assert len(loaded) == 7


def test_arrays_under_a_mount_stay_single_entries_wherever_the_mounts_are_written() -> None:
    mounted = ReferenceSet({"x": b"mounted"})
    refs = {"a/.zarray": V2_ARRAY, **v2_chunks(), "part/.zarray": V2_ARRAY, **v2_chunks("part")}
    # "mounts" after "refs": the loader learns of them only once the references are read.
    text = json.dumps({"version": 1, "refs": refs, "mounts": {"part/": "part.json"}})
    loaded = load_json_bytes(text.encode(), where="refs.json", mount_loader=lambda url: mounted)
    assert list(loaded.chunk_tables) == ["a"]
    assert loaded.mounts == {"part/": mounted}
    assert loaded["a/0.1"] == Reference(URL, 116, 16)


def test_templates_written_after_the_references_are_still_rendered() -> None:
    chunks = v2_chunks(url="{{u}}/data.nc")
    text = json.dumps({"version": 1, "refs": {"a/.zarray": V2_ARRAY, **chunks}, "templates": {"u": "s3://bucket"}})
    loaded = load_json_bytes(text.encode(), where="refs.json")
    assert loaded["a/2.0"] == Reference(URL, 100 + 16 * 4, 16)
    assert {entry.url for key, entry in loaded.items() if key != "a/.zarray"} == {URL}


def test_version_0_files_make_tables_too() -> None:
    document = {".zgroup": '{"zarr_format": 2}', "a/.zarray": V2_ARRAY, **v2_chunks()}
    loaded = load(document)
    assert list(loaded.chunk_tables) == ["a"]
    assert_reads_as_written(loaded, document)


def test_offsets_beyond_int64_stay_single_references() -> None:
    refs = {"a/.zarray": V2_ARRAY, **v2_chunks()}
    refs["a/0.0"] = [URL, 2**70, 16]
    document = {"version": 1, "refs": refs}
    loaded = load(document)
    assert loaded.chunk_tables == {}
    assert loaded["a/0.0"] == Reference(URL, 2**70, 16)
    assert_reads_as_written(loaded, document)
