"""The zarrkit command."""

from __future__ import annotations

import numpy as np

import zarrkit
from zarrkit.cli import main


def test_demo_writes_readable_groups_and_reports_timings(tmp_path, capsys):
    # The demo replaces its own groups and nothing else in the directory.
    thesis = tmp_path / "thesis.txt"
    thesis.write_text("four years of work")
    stale = tmp_path / "climate-v3.zarr" / "stale" / "zarr.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    assert main(["demo", "--dir", str(tmp_path)]) == 0
    assert thesis.read_text() == "four years of work"
    assert not stale.exists()
    output = capsys.readouterr().out
    assert "read temperature" in output and "MiB/s" in output and output.rstrip().endswith("done")
    for zarr_format in (2, 3):
        group = zarrkit.open_group(str(tmp_path / f"climate-v{zarr_format}.zarr"))
        assert group.zarr_format == zarr_format
        assert group.consolidated is not None
        temperature = group["temperature"]
        assert temperature.shape == (2048, 2048) and temperature.attrs["units"] == "K"
        assert np.isfinite(temperature[::97, ::89]).all()


def test_info_and_tree_describe_nodes_and_errors_exit_nonzero(tmp_path, capsys):
    group = zarrkit.open_group(str(tmp_path), mode="w", attributes={"title": "t"})
    group.create_array("a/b", shape=(3, 4), dtype="int16", chunks=(2, 2))
    assert main(["tree", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["/", "    a", "        b (3, 4) int16"]
    assert main(["info", str(tmp_path), "--path", "a/b"]) == 0
    assert "chunks=(2, 2)" in capsys.readouterr().out
    assert main(["info", str(tmp_path), "--path", "missing"]) == 1
    assert "NodeNotFound" in capsys.readouterr().err
