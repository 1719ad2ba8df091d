"""ZipStore beyond the conformance suite: the archive it leaves, interop with zipfile and zarr-python."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import zarr

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.runtime import sync
from zarrkit.storage import ZipStore


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_closed_archive_is_readable_by_zipfile(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        sync(store.set_many([("g/zarr.json", b"{}"), ("g/c/0", b"\x00" * 100), ("données/ü", b"u")]))
    assert members(path) == {"g/zarr.json": b"{}", "g/c/0": b"\x00" * 100, "données/ü": b"u"}
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("g/c/0")
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.external_attr >> 16 == 0o644


def test_overwritten_and_deleted_keys_leave_one_member_each(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    store = ZipStore(path, mode="w")
    sync(store.set_many([("keep", b"k"), ("twice", b"old"), ("gone", b"g"), ("back", b"1")]))
    sync(store.set("twice", b"new"))
    sync(store.delete("gone"))
    sync(store.delete("back"))
    sync(store.set("back", b"2"))
    assert sync(store.list()) == ["back", "keep", "twice"]
    store.close()
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["back", "keep", "twice"]
    assert members(path) == {"keep": b"k", "twice": b"new", "back": b"2"}


def test_an_archive_without_overwrites_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        sync(store.set("k", b"v"))
    inode = path.stat().st_ino
    with ZipStore(path, mode="a") as store:
        sync(store.set("other", b"w"))
        sync(store.delete("never-there"))
    assert path.stat().st_ino == inode
    assert members(path) == {"k": b"v", "other": b"w"}


def test_a_store_nobody_closes_finishes_its_archive_when_collected(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    store = ZipStore(path, mode="w")
    sync(store.set_many([("k", b"old"), ("gone", b"g")]))
    sync(store.set("k", b"new"))
    sync(store.delete("gone"))
    del store
    gc.collect()
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["k"]
    assert members(path) == {"k": b"new"}


def test_a_store_opened_from_a_url_and_never_closed_is_finished_at_exit(tmp_path: Path) -> None:
    # open_store and the api hand out a ZipStore and never close it: the interpreter's exit must.
    path = tmp_path / "data.zip"
    script = textwrap.dedent(
        f"""
        from zarrkit.runtime import sync
        from zarrkit.storage import open_store
        store = open_store("zip://" + {str(path)!r}, mode="w")
        sync(store.set("k", b"old"))
        sync(store.set("k", b"new"))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["k"]
    assert members(path) == {"k": b"new"}


def test_overwrites_warn_nothing_and_leave_the_warning_filters_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.zip"
    # catch_warnings swaps the filter list of the whole process, under every other thread.
    swaps: list[object] = []
    real_catch_warnings = warnings.catch_warnings

    def recording_catch_warnings(*args: object, **kwargs: object) -> object:
        swaps.append(args)
        return real_catch_warnings(*args, **kwargs)  # type: ignore[arg-type]

    with warnings.catch_warnings():
        # A caller (pytest -W error, say) that turns warnings into errors: overwrites must still work.
        warnings.simplefilter("error")
        monkeypatch.setattr(warnings, "catch_warnings", recording_catch_warnings)
        with ZipStore(path, mode="w") as store:
            sync(store.set("k", b"old"))
            sync(store.set_many([("k", b"new"), ("other", b"o")]))
            assert sync(store.get("k")) == b"new"
        monkeypatch.undo()
    assert swaps == []
    assert members(path) == {"k": b"new", "other": b"o"}


def test_append_mode_keeps_what_the_archive_holds(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        sync(store.set_many([("a", b"1"), ("b", b"2")]))
    with ZipStore(path, mode="a") as store:
        assert sync(store.get("a")) == b"1"
        sync(store.set("b", b"3"))
        sync(store.set("c", b"4"))
    assert members(path) == {"a": b"1", "b": b"3", "c": b"4"}


def test_compressed_members_serve_ranges(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    value = bytes(range(256)) * 64
    with ZipStore(path, mode="w", compression=zipfile.ZIP_DEFLATED) as store:
        sync(store.set("blob", value))
        assert sync(store.get("blob", (300, 50))) == value[300:350]
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("blob").compress_type == zipfile.ZIP_DEFLATED
    with ZipStore(path) as store:
        assert sync(store.get_many([("blob", (-10, None)), ("blob", None)])) == [value[-10:], value]


def test_ranges_of_stored_members_read_only_the_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.zip"
    value = bytes(range(256)) * 4096
    with ZipStore(path, mode="w") as store:
        sync(store.set_many([("first", b"x" * 77), ("blob", value)]))
    store = ZipStore(path)

    def refuse_whole_member(*args: object, **kwargs: object) -> None:
        raise AssertionError("a ranged read of a stored member opened the whole member")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_whole_member)
    requests = [("blob", (1000, 24)), ("blob", (-5, None)), ("first", (70, None)), ("blob", (10**7, 4))]
    assert sync(store.get_many(requests)) == [value[1000:1024], value[-5:], b"x" * 7, b""]
    store.close()


def test_a_member_whose_local_header_is_longer_is_read_at_the_right_offset(tmp_path: Path) -> None:
    path = tmp_path / "zip64.zip"
    with zipfile.ZipFile(path, "w") as archive:
        # force_zip64 puts a zip64 extra field in the local header only, not in the central directory.
        with archive.open("blob", "w", force_zip64=True) as member:
            member.write(b"0123456789")
        assert archive.getinfo("blob").extra == b""
    with ZipStore(path) as store:
        assert sync(store.get("blob", (3, 4))) == b"3456"
        assert sync(store.get("blob")) == b"0123456789"


def test_concurrent_reads_and_writes(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    value = bytes(range(256)) * 16
    with ZipStore(path, mode="w") as store:
        sync(store.set("base", value))

        async def mixed() -> list[bytes | None]:
            reads = [store.get("base", (index, 16)) for index in range(100)]
            writes = [store.set(f"w/{index}", bytes([index]) * 1000) for index in range(100)]
            results = await asyncio.gather(*reads, *writes)
            return list(results[:100])

        assert sync(mixed()) == [value[index : index + 16] for index in range(100)]
    contents = members(path)
    assert all(contents[f"w/{index}"] == bytes([index]) * 1000 for index in range(100))


def test_bad_paths_and_modes_raise_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        ZipStore(tmp_path / "missing.zip")
    not_zip = tmp_path / "text.zip"
    not_zip.write_bytes(b"not a zip archive at all")
    with pytest.raises(StoreError, match="not a valid zip"):
        ZipStore(not_zip)
    with pytest.raises(StoreError, match="not a zip archive"):
        ZipStore(not_zip, mode="a")
    assert not_zip.read_bytes() == b"not a zip archive at all"
    with pytest.raises(StoreError, match="mode"):
        ZipStore(tmp_path / "x.zip", mode="x")
    with pytest.raises(StoreError, match="compression"):
        ZipStore(tmp_path / "x.zip", mode="w", compression=99)


def test_a_closed_store_refuses_use(tmp_path: Path) -> None:
    store = ZipStore(tmp_path / "data.zip", mode="w")
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        sync(store.get("k"))
    with pytest.raises(StoreError, match="closed"):
        sync(store.set("k", b"v"))


def test_read_mode_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    with ZipStore(path, mode="w") as store:
        sync(store.set("k", b"v"))
    with ZipStore(path) as store:
        assert store.read_only
        with pytest.raises(ReadOnlyError, match="'k'"):
            sync(store.set("k", b"w"))


@pytest.mark.parametrize("key", ["", "dir/", "nul\0byte"])
def test_keys_that_zip_cannot_hold_are_refused(tmp_path: Path, key: str) -> None:
    with ZipStore(tmp_path / "data.zip", mode="w") as store:
        with pytest.raises(StoreError, match="invalid key"):
            sync(store.set(key, b"v"))
        assert sync(store.list()) == []


def test_directory_members_are_not_keys(tmp_path: Path) -> None:
    path = tmp_path / "dirs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.mkdir("g")
        archive.writestr("g/zarr.json", b"{}")
    with ZipStore(path) as store:
        assert sync(store.list()) == ["g/zarr.json"]
        assert sync(store.get("g/")) is None


# -- zarr-python ---------------------------------------------------------------------------------

ARRAY_METADATA = {
    "zarr_format": 3,
    "node_type": "array",
    "shape": [4, 6],
    "data_type": "int16",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2, 3]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 0,
    "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    "attributes": {"written_by": "zarrkit"},
}


def test_zarr_python_reads_an_archive_we_wrote(tmp_path: Path) -> None:
    path = tmp_path / "array.zip"
    expected = np.arange(24, dtype="<i2").reshape(4, 6)
    with ZipStore(path, mode="w") as store:
        sync(store.set("zarr.json", json.dumps({"zarr_format": 3, "node_type": "group"}).encode()))
        sync(store.set("a/zarr.json", json.dumps(ARRAY_METADATA).encode()))
        chunks = [
            (f"a/c/{row}/{column}", expected[row * 2 : row * 2 + 2, column * 3 : column * 3 + 3].tobytes())
            for row in range(2)
            for column in range(2)
        ]
        sync(store.set_many([(key, b"\xff" * 12) for key, _ in chunks]))
        sync(store.set_many(chunks))  # overwrites: zarr-python must see these, not the first ones
    zarr_store = zarr.storage.ZipStore(path, mode="r")
    try:
        array = zarr.open_array(zarr_store, path="a", mode="r")
        np.testing.assert_array_equal(array[...], expected)
        assert array.attrs["written_by"] == "zarrkit"
    finally:
        zarr_store.close()


def test_we_read_an_archive_zarr_python_wrote(tmp_path: Path) -> None:
    path = tmp_path / "array.zip"
    expected = np.arange(30, dtype="<f8").reshape(5, 6)
    zarr_store = zarr.storage.ZipStore(path, mode="w")
    array = zarr.create_array(
        zarr_store, name="t", shape=(5, 6), chunks=(5, 2), dtype="<f8", compressors=None
    )
    array[...] = expected
    zarr_store.close()
    with ZipStore(path) as store:
        assert sync(store.list_dir("t/c/0")) == ([f"t/c/0/{column}" for column in range(3)], [])
        metadata = json.loads(sync(store.get("t/zarr.json")))
        assert metadata["shape"] == [5, 6]
        chunk = sync(store.get("t/c/0/1"))
        np.testing.assert_array_equal(np.frombuffer(chunk, "<f8").reshape(5, 2), expected[:, 2:4])
        assert sync(store.get("t/c/0/1", (8, 8))) == expected[0, 3].tobytes()
