"""JSON reference files: streaming load, compression, saving through the storage layer, and
interoperability with fsspec's ReferenceFileSystem."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import fsspec
import pyarrow
import pytest
from numcodecs import Zstd

from zarrkit.errors import ReferenceError
from zarrkit.refs import Reference, ReferenceSet
from zarrkit.refs.json_format import load_json, load_json_bytes, save_json
from zarrkit.refs.spec import parse_references
from zarrkit.runtime import sync
from zarrkit.storage.url import open_store

PAYLOAD = bytes(range(256)) * 8  # 2 KiB, every byte value at a known place


@pytest.fixture
def target_file(tmp_path: Path) -> Path:
    path = tmp_path / "target.bin"
    path.write_bytes(PAYLOAD)
    return path


def mixed_set(target: str) -> ReferenceSet:
    return ReferenceSet(
        {
            ".zgroup": b'{"zarr_format":2}',
            "text": "\u00fcnicode \u65e5\u672c".encode(),
            "binary": bytes([0, 255, 128, 7]),
            "looks_encoded": b"base64:AAAA",
            "\u00e9t\u00e9/0.0": Reference(target, 10, 20),
            "range": Reference(target, 1000, 300),
            "whole": Reference(target),
        }
    )


def expected_bytes(entry: bytes | Reference) -> bytes:
    """What a key holds: inline bytes as they are, a reference's range of the target file."""
    if isinstance(entry, bytes):
        return entry
    data = Path(entry.url).read_bytes()
    return data if entry.length is None else data[entry.offset : entry.offset + entry.length]


# -- loading --------------------------------------------------------------------------------------


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("refs_first", [False, True])
def test_streaming_load_agrees_with_parsing_the_decoded_document(indent: int | None, refs_first: bool) -> None:
    refs = {
        "plain": ["s3://bucket/file.nc", 0, 100],
        'quote"d\\key': ["s3://bucket/file.nc", 100, 50],
        "caf\u00e9": ["s3://bucket/f\u00eele \u2603.nc", 7, 8],
        "escaped_url": ['s3://bucket/a"b\u0001.nc', 1, 2],
        "templated": ["{{u}}/x.nc", 3, 4],
        "whole": ["s3://bucket/whole.nc"],
        "null": [None, 5, 6],
        "text": "some text",
        "object": {"a": [1, 2, {"b": None}]},
        "binary": "base64:AP8=",
        "big": ["s3://bucket/file.nc", 10**15, 2**40],
        "zero": ["s3://bucket/file.nc", 0, 0],
    }
    header = {"version": 1, "templates": {"u": "s3://bucket/dir"}}
    spec = {"refs": refs, **header} if refs_first else {**header, "refs": refs}
    text = json.dumps(spec, indent=indent)
    loaded = load_json_bytes(text.encode(), where="refs.json")
    assert loaded == parse_references(json.loads(text))
    assert loaded["templated"] == Reference("s3://bucket/dir/x.nc", 3, 4)
    assert loaded["escaped_url"] == Reference('s3://bucket/a"b\u0001.nc', 1, 2)


def test_version_0_files_load() -> None:
    spec = {".zgroup": {"zarr_format": 2}, "a/0": ["f.bin", 1, 2], "refs": {"x": 1}, "gen": "not a gen"}
    loaded = load_json_bytes(json.dumps(spec).encode(), where="v0.json")
    assert dict(loaded) == {
        ".zgroup": b'{"zarr_format":2}',
        "a/0": Reference("f.bin", 1, 2),
        "refs": b'{"x":1}',
        "gen": b"not a gen",
    }


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert dict(load_json_bytes(b'\xef\xbb\xbf{"a": "b"}', where="bom.json")) == {"a": b"b"}


@pytest.mark.parametrize(
    "text",
    [
        '{"version": 1, "refs": {"a": ["u", 1, 2],}}',
        '{"version": 1,\n "refs": {"a": ["u", 1, 2]\n "b": 1}}',
        '{"a": ["u", 1, 2]',
        '{"a": ["u", 1, 2]} extra',
        '{"a": [u, 1, 2]}',
        '{"a" ["u", 1, 2]}',
        "{'a': 1}",
        '{"a": 1 "b": 2}',
    ],
)
def test_malformed_json_names_the_file_and_the_position(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as json_error:
        json.loads(text)
    position = f"line {json_error.value.lineno} column {json_error.value.colno} (char {json_error.value.pos})"
    with pytest.raises(ReferenceError, match="malformed JSON in bad.json") as raised:
        load_json_bytes(text.encode(), where="bad.json")
    assert position in str(raised.value)


def test_values_the_fast_path_skips_are_still_checked() -> None:
    with pytest.raises(ReferenceError, match="the offset of key 'a' in bad.json must be an integer >= 0, got -1"):
        load_json_bytes(b'{"a": ["u", -1, 2]}', where="bad.json")
    with pytest.raises(ReferenceError, match="the length of key 'a' in bad.json must be an integer >= 0, got 2.0"):
        load_json_bytes(b'{"a": ["u", 1, 2.0]}', where="bad.json")


@pytest.mark.parametrize("data", [b"[1, 2]", b"", b'"text"'])
def test_a_file_that_is_not_a_json_object_is_refused(data: bytes) -> None:
    with pytest.raises(ReferenceError, match="not.json"):
        load_json_bytes(data, where="not.json")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(ReferenceError, match="latin.json is not UTF-8 text: invalid byte at offset 7"):
        load_json_bytes('{"a": "\u00e9"}'.encode("latin-1"), where="latin.json")


def test_corrupt_compressed_files_are_refused() -> None:
    with pytest.raises(ReferenceError, match="cannot decompress refs.json.gz"):
        load_json_bytes(gzip.compress(b'{"a": "b"}')[:-6], where="refs.json.gz")
    with pytest.raises(ReferenceError, match="cannot decompress refs.json.zst"):
        load_json_bytes(b"\x28\xb5\x2f\xfd" + b"garbage", where="refs.json.zst")


def test_zstd_frames_without_a_content_size_load() -> None:
    # A streaming compressor does not know the size up front and leaves it out of the frame header.
    text = json.dumps({"version": 1, "refs": {f"k{i}": ["s3://b/f.nc", i, 1] for i in range(2000)}}).encode()
    sink = pyarrow.BufferOutputStream()
    with pyarrow.CompressedOutputStream(sink, "zstd") as stream:
        stream.write(text)
    data = sink.getvalue().to_pybytes()
    frame_header_descriptor = data[4]
    assert frame_header_descriptor >> 6 == 0 and not frame_header_descriptor & 0x20  # no content size field
    loaded = load_json_bytes(data, where="streamed.json.zst")
    assert len(loaded) == 2000
    assert loaded["k1999"] == Reference("s3://b/f.nc", 1999, 1)


def test_loading_takes_less_memory_than_json_loads() -> None:
    urls = [f"s3://some-bucket/some/long/path/to/the/data/file_{i:04d}.nc" for i in range(4)]
    refs = {f"var/{i // 500}.{i % 500}": [urls[i % 4], 1000 + i * 37, 4000 + i % 13] for i in range(200_000)}
    data = json.dumps({"version": 1, "refs": refs}).encode()
    del refs

    def peak_bytes(function: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            result = function()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            del result

    json_peak = peak_bytes(lambda: json.loads(data))
    our_peak = peak_bytes(lambda: load_json_bytes(data, where="big.json"))
    print(f"file {len(data) / 1e6:.1f} MB: json.loads peak {json_peak / 1e6:.1f} MB, load_json {our_peak / 1e6:.1f} MB")
    assert our_peak < json_peak
    loaded = load_json_bytes(data, where="big.json")
    assert len(loaded) == 200_000
    assert loaded["var/399.499"] == Reference(urls[199_999 % 4], 1000 + 199_999 * 37, 4000 + 199_999 % 13)
    assert len({id(entry.url) for entry in loaded.values()}) == 4


def test_load_json_reads_paths_and_urls(tmp_path: Path) -> None:
    text = json.dumps({"version": 1, "refs": {"a": ["f.bin", 1, 2]}}).encode()
    (tmp_path / "refs.json").write_bytes(text)
    name = f"refs-{uuid.uuid4().hex}"
    sync(open_store(f"memory://{name}", mode="w").set("dir/refs.json", text))
    for url in (str(tmp_path / "refs.json"), f"file://{tmp_path}/refs.json", f"memory://{name}/dir/refs.json"):
        assert dict(sync(load_json(url))) == {"a": Reference("f.bin", 1, 2)}


def test_load_json_of_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="missing.json"):
        sync(load_json(str(tmp_path / "missing.json")))


def test_load_json_hands_mount_urls_to_the_loader_as_written(tmp_path: Path) -> None:
    (tmp_path / "part.json").write_text(json.dumps({"a/0": ["t.bin", 0, 4]}))
    (tmp_path / "main.json").write_text(
        json.dumps({"version": 1, "refs": {}, "mounts": {"part/": "part.json", "abs/": "s3://b/p.json"}})
    )
    asked: list[str] = []

    def load(url: str) -> ReferenceSet:
        asked.append(url)
        return load_json_bytes((tmp_path / url).read_bytes(), where=url) if url == "part.json" else ReferenceSet()

    loaded = sync(load_json(str(tmp_path / "main.json"), mount_loader=load))
    assert asked == ["part.json", "s3://b/p.json"]
    assert sync(loaded.lookup(["part/a/0", "abs/x"])) == [Reference("t.bin", 0, 4), None]


# -- saving ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "magic"), [("refs.json", b"{"), ("refs.json.gz", b"\x1f\x8b"), ("refs.json.zst", b"\x28\xb5\x2f\xfd")]
)
def test_save_and_load_round_trip(tmp_path: Path, target_file: Path, name: str, magic: bytes) -> None:
    original = mixed_set(str(target_file))
    path = tmp_path / "out" / name
    sync(save_json(original, str(path)))
    assert path.read_bytes().startswith(magic)
    assert sync(load_json(str(path))) == original


def test_saved_files_are_compact_and_use_templates(tmp_path: Path) -> None:
    references = ReferenceSet({f"k{i}": Reference("s3://bucket/a/long/path/file.nc", i * 10, 10) for i in range(3)})
    path = tmp_path / "refs.json"
    sync(save_json(references, str(path)))
    assert path.read_text() == (
        '{"version":1,"templates":{"u0":"s3://bucket/a/long/path/file.nc"},'
        '"refs":{"k0":["{{u0}}",0,10],"k1":["{{u0}}",10,10],"k2":["{{u0}}",20,10]}}'
    )


def test_save_json_writes_to_memory_urls() -> None:
    name = f"save-{uuid.uuid4().hex}"
    original = ReferenceSet({"a": b"x", "b": Reference("s3://b/f", 1, 2)})
    sync(save_json(original, f"memory://{name}/refs.json.zst"))
    assert sync(load_json(f"memory://{name}/refs.json.zst")) == original
    data = sync(open_store(f"memory://{name}").get("refs.json.zst"))
    assert json.loads(Zstd().decode(data)) == {"version": 1, "refs": {"a": "x", "b": ["s3://b/f", 1, 2]}}


def test_save_json_refuses_sets_it_cannot_write(tmp_path: Path) -> None:
    references = ReferenceSet()
    references.mount("part/", ReferenceSet({"a": b"1"}))
    with pytest.raises(ReferenceError, match="flatten"):
        sync(save_json(references, str(tmp_path / "refs.json")))
    assert not (tmp_path / "refs.json").exists()


def test_save_json_refuses_keys_that_are_not_unicode(tmp_path: Path) -> None:
    with pytest.raises(ReferenceError, match="is not valid unicode"):
        sync(save_json(ReferenceSet({"bad\udc80": b"1"}), str(tmp_path / "refs.json")))


# -- interoperability with fsspec -----------------------------------------------------------------


def test_fsspec_reads_the_files_we_save(tmp_path: Path, target_file: Path) -> None:
    references = mixed_set(str(target_file))
    path = tmp_path / "refs.json"
    sync(save_json(references, str(path)))
    assert "templates" in json.loads(path.read_text())  # the target is used often enough for a template
    filesystem = fsspec.filesystem("reference", fo=str(path))
    for key, entry in references.items():
        assert filesystem.cat(key) == expected_bytes(entry), key


def test_a_hand_written_version_1_file_reads_the_same_in_fsspec(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"data_{i}.bin").write_bytes(bytes([i]) * 100 + PAYLOAD)
    (tmp_path / "text.bin").write_bytes(PAYLOAD)
    spec = {
        "version": 1,
        "templates": {"u": str(tmp_path), "f": "{{c}}.bin"},
        "gen": [
            {
                "key": "gen/{{i}}.{{j}}",
                "url": "{{u}}/data_{{i}}.bin",
                "offset": "{{(j + 1) * 100}}",
                "length": "{{ 50 // (j + 1) }}",
                "dimensions": {"i": {"stop": 3}, "j": [0, 1]},
            }
        ],
        "refs": {
            "key0": "data",
            "key1": [str(tmp_path / "data_1.bin"), 10, 100],
            "key2": ["{{u}}/data_2.bin", 5, 10],
            "key3": ["{{u}}/{{f(c='text')}}", 1000, 24],
            "key4": ["{{u}}/data_0.bin"],
            "key5": "base64:AAEC",
        },
    }
    path = tmp_path / "refs.json"
    path.write_text(json.dumps(spec))
    ours = sync(load_json(str(path)))
    assert len(ours) == 12
    assert ours["gen/2.1"] == Reference(str(tmp_path / "data_2.bin"), 200, 25)
    # fsspec expands gen only with simple_templates=False (which renders with jinja2).
    with_jinja = fsspec.filesystem("reference", fo=str(path), simple_templates=False)
    for key, entry in ours.items():
        assert with_jinja.cat(key) == expected_bytes(entry), key
    # By default fsspec leaves gen out and renders plain {{name}} templates only (not key3's call).
    del spec["refs"]["key3"]
    path.write_text(json.dumps(spec))
    simple = fsspec.filesystem("reference", fo=str(path))
    assert not simple.exists("gen/0.0")
    for key in ("key0", "key1", "key2", "key4", "key5"):
        assert simple.cat(key) == expected_bytes(ours[key]), key
