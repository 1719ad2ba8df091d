"""zarrkit.scan, scan_many and the ``zarrkit scan`` command: formats by magic bytes, batches with
failures, outputs."""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

import zarrkit
from zarrkit.cli import main
from zarrkit.errors import StoreError, UnsupportedFeature
from zarrkit.scan import detect_format, scan, scan_many


@pytest.fixture(scope="module")
def netcdf3_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    directory = tmp_path_factory.mktemp("netcdf3")
    paths = []
    for index in range(3):
        path = directory / f"part{index}.nc"
        with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as dataset:
            dataset.createDimension("time", None)
            dataset.createDimension("x", 4)
            variable = dataset.createVariable("v", "f4", ("time", "x"))
            variable[:] = np.arange(8, dtype="f4").reshape(2, 4) + index
        paths.append(path)
    return paths


def test_the_format_comes_from_the_magic_bytes(netcdf3_files: list[Path], tmp_path: Path) -> None:
    assert detect_format(netcdf3_files[0].read_bytes()[:4096], where="x") == "netcdf3"
    references = scan(netcdf3_files[1])
    np.testing.assert_array_equal(zarrkit.open_array(references, path="v")[...], np.arange(8).reshape(2, 4) + 1)
    unknown = tmp_path / "notes.txt"
    unknown.write_text("plain text, no format")
    with pytest.raises(UnsupportedFeature, match=r"notes\.txt.*match no format"):
        scan(unknown)
    with pytest.raises(UnsupportedFeature, match="unknown format 'netcdf9'"):
        scan(netcdf3_files[0], format="netcdf9")


def test_a_batch_keeps_going_past_failures(netcdf3_files: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "missing.nc"
    calls = []
    results = scan_many(
        [netcdf3_files[0], missing, netcdf3_files[2]], workers=2, progress=lambda *args: calls.append(args)
    )
    assert list(results.references) == [str(netcdf3_files[0]), str(netcdf3_files[2])]
    assert isinstance(results.failures[str(missing)], StoreError)
    assert sorted(done for done, _, _ in calls) == [1, 2, 3] and all(total == 3 for _, total, _ in calls)
    assert all(cost.requests >= 1 and cost.bytes_read > 0 for cost in results.costs.values())


def test_the_command_merges_inputs_under_their_names(netcdf3_files: list[Path], tmp_path: Path, capsys) -> None:
    output = tmp_path / "merged.json"
    assert main(["scan", *map(str, netcdf3_files), "-o", str(output), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert "scanning [" in captured.err and "3/3" in captured.err
    assert captured.out.startswith("scanned 3 files")
    group = zarrkit.open_group(f"reference://{output}")
    assert sorted(group.group_keys()) == ["part0", "part1", "part2"]
    np.testing.assert_array_equal(group["part2/v"][...], np.arange(8).reshape(2, 4) + 2)


def test_the_command_writes_one_set_per_input_and_reports_failures(
    netcdf3_files: list[Path], tmp_path: Path, capsys
) -> None:
    pattern = str(tmp_path / "refs_{stem}.json.zst")
    arguments = ["scan", str(netcdf3_files[0]), str(tmp_path / "gone.nc"), "-o", pattern, "--zarr-format", "3"]
    assert main(arguments) == 1
    captured = capsys.readouterr()
    assert "failed:" in captured.err and "gone.nc" in captured.err
    assert "v/zarr.json" in zarrkit.load_refs(tmp_path / "refs_part0.json.zst")
    array = zarrkit.open_array(f"reference://{tmp_path / 'refs_part0.json.zst'}", path="v")
    np.testing.assert_array_equal(array[...], np.arange(8).reshape(2, 4))
    assert not (tmp_path / "refs_gone.json.zst").exists()


def test_the_combine_command_stacks_scanned_files_in_coordinate_order(
    netcdf3_files: list[Path], tmp_path: Path, capsys
) -> None:
    pattern = str(tmp_path / "{stem}.json")
    assert main(["scan", *map(str, netcdf3_files), "-o", pattern, "--workers", "1"]) == 0
    inputs = [str(tmp_path / f"part{index}.json") for index in (2, 0, 1)]
    output = tmp_path / "combined.parq"
    arguments = ["combine", *inputs, "--concat-dim", "file", "--coord", r"file=regex:part(\d)", "-o", str(output)]
    assert main(arguments) == 0
    assert "combined 3 inputs" in capsys.readouterr().out
    combined = zarrkit.open_array(f"reference://{output}", path="v")
    expected = np.stack([np.arange(8).reshape(2, 4) + index for index in range(3)])
    np.testing.assert_array_equal(combined[...], expected)
    assert main(["combine", *inputs, "--concat-dim", "file", "--coord", "file", "-o", str(output)]) == 1
    assert "DIM=SOURCE" in capsys.readouterr().err
