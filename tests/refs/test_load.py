"""load_refs and save_refs: formats chosen by URL, and mounted parts loaded on first use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import zarrkit
from zarrkit.errors import ReferenceError
from zarrkit.refs import LazyReferences, Reference, ReferenceSet, split_by_prefix
from zarrkit.refs.parquet_format import ParquetReferences
from zarrkit.runtime import sync

ZARRAY = json.dumps(
    {"zarr_format": 2, "shape": [50], "chunks": [10], "dtype": "|u1", "compressor": None, "filters": None,
     "fill_value": 0, "order": "C"},
    separators=(",", ":"),  # compact, as the parquet layout writes metadata back
).encode()


def _original(target: Path) -> ReferenceSet:
    """A group per year, each with an array ``v`` of five chunks referenced in ``target``."""
    target.write_bytes(bytes(range(200)))
    references = ReferenceSet({".zgroup": b'{"zarr_format":2}'})
    for year in ("2020", "2021"):
        references[f"{year}/.zgroup"] = b'{"zarr_format":2}'
        references[f"{year}/v/.zarray"] = ZARRAY
        for index in range(5):
            references[f"{year}/v/{index}"] = Reference(str(target), index * 10 + int(year[-1]), 10)
    return references


@pytest.mark.parametrize("part_suffix", [".json", ".json.zst", ".parq"])
def test_a_base_with_mounted_parts_reads_as_the_whole(tmp_path: Path, part_suffix: str) -> None:
    original = _original(tmp_path / "target.bin")
    base, parts = split_by_prefix(original, ["2020/", "2021/"])
    (tmp_path / "parts").mkdir()
    mounts = {}
    for prefix, part in parts.items():
        name = f"parts/{prefix.rstrip('/')}{part_suffix}"
        zarrkit.save_refs(part, tmp_path / name)
        mounts[prefix] = name  # relative to the base file
    spec = {"version": 1, "refs": {".zgroup": '{"zarr_format":2}'}, "mounts": mounts}
    (tmp_path / "base.json").write_text(json.dumps(spec))

    loaded = zarrkit.load_refs(tmp_path / "base.json")
    assert all(isinstance(mounted, LazyReferences) and not mounted.loaded for mounted in loaded.mounts.values())
    keys = [key for key in original if key != ".zgroup"]
    assert sync(loaded.lookup(keys)) == [original[key] for key in keys]
    assert all(mounted.loaded for mounted in loaded.mounts.values())
    assert zarrkit.open_array(loaded, path="2021/v")[...].tolist() == [
        byte for index in range(5) for byte in range(index * 10 + 1, index * 10 + 11)
    ]


def test_only_the_mounted_part_asked_for_is_loaded(tmp_path: Path) -> None:
    original = _original(tmp_path / "target.bin")
    _, parts = split_by_prefix(original, ["2020/", "2021/"])
    zarrkit.save_refs(parts["2020/"], tmp_path / "2020.json")
    (tmp_path / "base.json").write_text(
        json.dumps({"version": 1, "refs": {}, "mounts": {"2020/": "2020.json", "2021/": "missing.json"}})
    )
    loaded = zarrkit.load_refs(tmp_path / "base.json")
    assert sync(loaded.lookup(["2020/v/1"])) == [original["2020/v/1"]]
    assert not loaded.mounts["2021/"].loaded
    with pytest.raises(ReferenceError, match="missing.json"):
        sync(loaded.lookup(["2021/v/1"]))


def test_the_format_follows_the_url(tmp_path: Path) -> None:
    original = _original(tmp_path / "target.bin")
    zarrkit.save_refs(original, tmp_path / "set.parq", record_size=2)
    from_parquet = zarrkit.load_refs(tmp_path / "set.parq")
    assert isinstance(from_parquet, ParquetReferences)
    assert sync(from_parquet.lookup(list(original))) == list(original.values())
    zarrkit.save_refs(original, tmp_path / "set.json.gz")
    assert (tmp_path / "set.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert dict(zarrkit.load_refs(tmp_path / "set.json.gz")) == dict(original)
    with pytest.raises(ReferenceError, match="cannot load references from int"):
        zarrkit.load_refs(5)  # type: ignore[arg-type]
    with pytest.raises(ReferenceError, match="ReferenceSet first"):
        zarrkit.save_refs(zarrkit.load_refs(tmp_path / "set.parq"), tmp_path / "again.json")
