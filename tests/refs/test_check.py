"""Checking reference sets (``check_refs``, ``zarrkit refs check``) and opening them through the API."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import zarrkit
from zarrkit.cli import main
from zarrkit.errors import ReadOnlyError, ReferenceError, StoreError
from zarrkit.refs import Reference, ReferenceSet, check_refs
from zarrkit.runtime import sync
from zarrkit.storage import LocalStore

VALUES = np.arange(40 * 30, dtype="int32").reshape(40, 30)


def packed_references(tmp_path: Path, url: str | None = None) -> tuple[ReferenceSet, Path, dict[str, tuple[int, int]]]:
    """A v2 array written by zarrkit (zlib), its chunks packed into one file; the references into
    it (with ``url`` in place of the file's path when given) and each chunk's (offset, length)."""
    written = LocalStore(tmp_path / "written")
    array = zarrkit.create_array(
        written, shape=VALUES.shape, dtype="int32", chunks=(10, 10), zarr_format=2, compressors=[{"id": "zlib"}]
    )
    array[...] = VALUES
    pack = tmp_path / "pack.bin"
    references, ranges = ReferenceSet(), {}
    with pack.open("wb") as out:
        for key in sync(written.list()):
            data = sync(written.get(key))
            if key.startswith("."):
                references[key] = data
                continue
            ranges[key] = (out.tell(), len(data))
            references[key] = Reference(url if url is not None else str(pack), out.tell(), len(data))
            out.write(data)
    return references, pack, ranges


def test_a_sound_set_passes_every_check(tmp_path: Path) -> None:
    references, _, ranges = packed_references(tmp_path)
    report = check_refs(references, decode=True)
    assert report.ok and report.problems == []
    assert (report.keys, report.references, report.targets) == (len(references), len(ranges), 1)


def test_a_missing_target_is_reported_for_each_key(tmp_path: Path) -> None:
    references, pack, ranges = packed_references(tmp_path)
    pack.unlink()
    report = check_refs(references, decode=True)
    assert not report.ok
    assert sorted(problem.key for problem in report.problems) == sorted(ranges)
    assert {problem.target for problem in report.problems} == {str(pack)}
    assert all("does not exist" in problem.message for problem in report.problems)


def test_a_range_past_the_end_of_its_target_is_reported(tmp_path: Path) -> None:
    references, pack, ranges = packed_references(tmp_path)
    last_key = max(ranges, key=lambda key: ranges[key][0])
    pack.write_bytes(pack.read_bytes()[:-5])
    report = check_refs(references)
    assert [problem.key for problem in report.problems] == [last_key]
    assert "past the end" in report.problems[0].message


def test_decode_names_each_corrupt_chunk(tmp_path: Path) -> None:
    references, pack, ranges = packed_references(tmp_path)
    corrupt = ["1.2", "3.0"]
    data = bytearray(pack.read_bytes())
    for key in corrupt:
        offset, length = ranges[key]
        data[offset : offset + length] = b"\xff" * length
    pack.write_bytes(bytes(data))
    assert check_refs(references).ok  # the ranges are all there
    report = check_refs(references, decode=True)
    assert sorted(problem.key for problem in report.problems) == corrupt


def test_the_cli_reports_problems_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    references, pack, ranges = packed_references(tmp_path)
    refs_file = tmp_path / "refs.json"
    zarrkit.save_refs(references, refs_file)
    assert main(["refs", "check", str(refs_file), "--decode"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "ok"
    pack.unlink()
    assert main(["refs", "check", str(refs_file), "--show", "2"]) == 1
    output = capsys.readouterr().out.splitlines()
    assert output[0] == f"{len(references)} keys, {len(ranges)} references into 1 targets"
    assert len([line for line in output if "does not exist" in line]) == 2
    assert output[-2] == f"... and {len(ranges) - 2} more problems"
    assert output[-1] == f"{len(ranges)} problems"


def test_the_cli_takes_a_default_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    references, pack, _ = packed_references(tmp_path, url=None)
    for key, entry in list(references.items()):
        if isinstance(entry, Reference):
            references[key] = Reference(None, entry.offset, entry.length)
    refs_file = tmp_path / "refs.json"
    zarrkit.save_refs(references, refs_file)
    assert main(["refs", "check", str(refs_file)]) == 1
    assert "no default target" in capsys.readouterr().out
    assert main(["refs", "check", str(refs_file), "--default-target", str(pack), "--decode"]) == 0


def test_open_takes_reference_sets(tmp_path: Path) -> None:
    references, pack, _ = packed_references(tmp_path)
    np.testing.assert_array_equal(zarrkit.open(references)[...], VALUES)  # the default mode "a" opens read-only
    np.testing.assert_array_equal(zarrkit.open_array(zarrkit.load_refs(references))[...], VALUES)
    array = zarrkit.open_array(references, mode="r+")
    with pytest.raises(ReadOnlyError):
        array[0, 0] = 1
    with pytest.raises(ReadOnlyError):
        zarrkit.open(references, mode="w")
    with pytest.raises(StoreError, match="default_target"):
        zarrkit.open(references, storage_options={"remote_options": {}})
    by_default = ReferenceSet(
        {key: Reference(None, e.offset, e.length) if isinstance(e, Reference) else e for key, e in references.items()}
    )
    opened = zarrkit.open_array(by_default, storage_options={"default_target": pack.as_uri()})
    np.testing.assert_array_equal(opened[...], VALUES)
    with pytest.raises(ReferenceError, match="no default target"):
        zarrkit.open_array(by_default)[...]


def test_reference_urls_open_json_and_parquet(tmp_path: Path) -> None:
    references, _, _ = packed_references(tmp_path)
    zarrkit.save_refs(references, tmp_path / "refs.json.gz")
    zarrkit.save_refs(references, tmp_path / "refs.parq", record_size=3)
    for name in ("refs.json.gz", "refs.parq"):
        np.testing.assert_array_equal(zarrkit.open_array(f"reference://{tmp_path / name}")[...], VALUES)
    with pytest.raises(ReadOnlyError):
        zarrkit.open_array(f"reference://{tmp_path / 'refs.json.gz'}", mode="w")
