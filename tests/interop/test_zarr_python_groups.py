"""Groups with zarr-python 3 on a local directory: hierarchies and consolidated metadata, both ways.

zarr-python and zarrkit build the same hierarchy (nested groups, attributes, arrays of three types)
through their group APIs, which take the same keywords. Each must open what the other built, with
and without consolidated metadata, and both must write the same documents and chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr

import zarrkit

pytestmark = pytest.mark.filterwarnings(
    # zarr-python warns that v3 strings and consolidated metadata have no stable spec yet.
    "ignore::zarr.errors.UnstableSpecificationWarning",
    "ignore:Consolidated metadata is currently not part:zarr.errors.ZarrUserWarning",
)

HIERARCHY_VALUES = {
    "temperature": np.linspace(-5, 30, 24, dtype="<f4").reshape(6, 4),
    "sub/counts": np.array([3, -1, 0, 7, 32767], dtype="<i2"),
    "sub/deeper/names": np.array(["α", "", "gamma"], dtype=object),
}
HIERARCHY_GROUPS = {"": {"title": "root ✓"}, "sub": {"level": 1}, "sub/deeper": {}, "empty": {"tags": []}}


def build_hierarchy(library: Any, root: Path, zarr_format: int) -> None:
    """The same hierarchy with zarr-python or zarrkit (their group APIs take the same keywords)."""
    group = library.open_group(str(root), mode="w", zarr_format=zarr_format, attributes=HIERARCHY_GROUPS[""])
    sub = group.create_group("sub", attributes=HIERARCHY_GROUPS["sub"])
    deeper = sub.create_group("deeper")
    group.create_group("empty", attributes=HIERARCHY_GROUPS["empty"])
    arrays = {
        "temperature": group.create_array(
            "temperature",
            shape=(6, 4),
            chunks=(3, 2),
            dtype="<f4",
            fill_value=-0.0,
            attributes={"units": "K"},
            compressors=None,
        ),
        "sub/counts": sub.create_array("counts", shape=(5,), chunks=(2,), dtype="<i2", fill_value=-9, compressors=None),
        "sub/deeper/names": deeper.create_array(
            "names", shape=(3,), chunks=(2,), dtype=str, fill_value="", compressors=None
        ),
    }
    for path, array in arrays.items():
        array[...] = HIERARCHY_VALUES[path]


def check_hierarchy(group: Any, zarr_format: int, expect_bit_identical: Callable[[Any, np.ndarray], None]) -> None:
    """Assert that ``group`` (of either library) holds what :func:`build_hierarchy` built."""
    members = dict(group.members(max_depth=None))
    assert sorted(members) == sorted([*HIERARCHY_VALUES, *(path for path in HIERARCHY_GROUPS if path)])
    assert dict(group.attrs) == HIERARCHY_GROUPS[""]
    for path, attributes in HIERARCHY_GROUPS.items():
        if path:
            assert dict(members[path].attrs) == attributes
    assert dict(members["temperature"].attrs) == {"units": "K"}
    for path, values in HIERARCHY_VALUES.items():
        assert members[path].metadata.zarr_format == zarr_format
        expect_bit_identical(members[path][...], values)
    # Reaching a node through its parent group finds the same members.
    assert sorted(dict(group["sub"].members(max_depth=None))) == ["counts", "deeper", "deeper/names"]
    expect_bit_identical(group["sub"]["deeper"]["names"][...], HIERARCHY_VALUES["sub/deeper/names"])


def drop_member_metadata(root: Path) -> None:
    """Delete the metadata documents of every node below the root group, keeping the root's own."""
    for path in list(root.rglob("*")):
        if path.parent != root and path.name in (".zarray", ".zgroup", ".zattrs", "zarr.json"):
            path.unlink()


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarrkit_opens_a_zarr_python_hierarchy(tmp_path: Path, zarr_format: int, expect_bit_identical) -> None:
    build_hierarchy(zarr, tmp_path, zarr_format)
    check_hierarchy(zarrkit.open_group(str(tmp_path)), zarr_format, expect_bit_identical)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_opens_a_zarrkit_hierarchy(tmp_path: Path, zarr_format: int, expect_bit_identical) -> None:
    build_hierarchy(zarrkit, tmp_path, zarr_format)
    check_hierarchy(zarr.open_group(str(tmp_path), mode="r"), zarr_format, expect_bit_identical)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_both_write_the_same_hierarchy(tmp_path: Path, zarr_format: int, chunk_files, metadata_documents) -> None:
    build_hierarchy(zarr, tmp_path / "zarr-python", zarr_format)
    build_hierarchy(zarrkit, tmp_path / "zarrkit", zarr_format)

    assert metadata_documents(tmp_path / "zarrkit") == metadata_documents(tmp_path / "zarr-python")
    assert chunk_files(tmp_path / "zarrkit") == chunk_files(tmp_path / "zarr-python")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarrkit_reads_metadata_consolidated_by_zarr_python(
    tmp_path: Path, zarr_format: int, expect_bit_identical
) -> None:
    build_hierarchy(zarr, tmp_path, zarr_format)
    zarr.consolidate_metadata(str(tmp_path), zarr_format=zarr_format)
    # Without the members' own documents, only the consolidated metadata can describe them.
    drop_member_metadata(tmp_path)

    group = zarrkit.open_group(str(tmp_path))
    assert group.consolidated is not None
    check_hierarchy(group, zarr_format, expect_bit_identical)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_python_reads_metadata_consolidated_by_zarrkit(
    tmp_path: Path, zarr_format: int, expect_bit_identical
) -> None:
    build_hierarchy(zarrkit, tmp_path, zarr_format)
    zarrkit.consolidate_metadata(str(tmp_path))
    drop_member_metadata(tmp_path)

    group = zarr.open_consolidated(str(tmp_path), mode="r", zarr_format=zarr_format)
    check_hierarchy(group, zarr_format, expect_bit_identical)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_both_consolidate_the_same_metadata(tmp_path: Path, zarr_format: int, metadata_documents) -> None:
    build_hierarchy(zarr, tmp_path / "zarr-python", zarr_format)
    zarr.consolidate_metadata(str(tmp_path / "zarr-python"), zarr_format=zarr_format)
    build_hierarchy(zarrkit, tmp_path / "zarrkit", zarr_format)
    zarrkit.consolidate_metadata(str(tmp_path / "zarrkit"))

    assert metadata_documents(tmp_path / "zarrkit") == metadata_documents(tmp_path / "zarr-python")
