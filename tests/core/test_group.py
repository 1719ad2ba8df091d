"""Groups: hierarchy, members, tree, attributes, consolidated metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zarrkit
from tests.helpers import RecordingStore
from zarrkit.errors import MetadataError, NodeExists, NodeNotFound
from zarrkit.runtime import sync
from zarrkit.storage import MemoryStore


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_hierarchy_members_and_tree(store, zarr_format):
    root = zarrkit.open_group(store, mode="w", zarr_format=zarr_format, attributes={"title": "t"})
    ocean = root.create_group("ocean")
    ocean.create_array("sst", shape=(4, 5), dtype="float32", chunks=(2, 5))
    root.create_array("mask", shape=(3,), dtype="bool")
    root.create_group("atmosphere/levels")  # parents are created as groups

    reopened = zarrkit.open_group(store)
    assert reopened.attrs["title"] == "t"
    assert sorted(reopened) == ["atmosphere", "mask", "ocean"]
    assert reopened.array_keys() == ["mask"]
    assert reopened.group_keys() == ["atmosphere", "ocean"]
    assert reopened["ocean/sst"].shape == (4, 5)
    assert isinstance(reopened["atmosphere"]["levels"], zarrkit.Group)
    assert "ocean" in reopened and "nope" not in reopened
    with pytest.raises(NodeNotFound):
        reopened["ocean/nope"]
    assert reopened.tree().splitlines() == [
        "/",
        "    atmosphere",
        "        levels",
        "    mask (3,) bool",
        "    ocean",
        "        sst (4, 5) float32",
    ]


def test_create_refuses_existing_nodes_and_arrays_as_parents():
    store = MemoryStore()
    root = zarrkit.create_group(store)
    root.create_array("a", shape=(1,), dtype="int8")
    with pytest.raises(NodeExists):
        root.create_group("a")
    with pytest.raises(NodeExists):
        root.create_group("a/b")
    with pytest.raises(NodeExists):
        zarrkit.open_group(store, mode="w-")
    assert zarrkit.open_group(store, mode="w").keys() == []


def test_group_attributes_update():
    store = MemoryStore()
    group = zarrkit.create_group(store, path="g", attributes={"a": 1})
    group.attrs.update(b=2, c=[1, 2])
    del group.attrs["a"]
    assert zarrkit.open_group(store, path="g").attrs.asdict() == {"b": 2, "c": [1, 2]}


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_consolidated_group_of_100_arrays_costs_one_store_read(zarr_format):
    store = MemoryStore()
    root = zarrkit.create_group(store, zarr_format=zarr_format)
    for i in range(100):
        array = root.create_array(f"var{i:03d}", shape=(10,), dtype="int16", chunks=(5,), attributes={"i": i})
        array[...] = i
    root.create_group("sub").create_array("deep", shape=(2,), dtype="int8")
    zarrkit.consolidate_metadata(store)

    recording = RecordingStore(store)
    group = zarrkit.open_group(recording)
    members = group.members(max_depth=None)
    shapes = {name: node.shape for name, node in members if isinstance(node, zarrkit.Array)}
    attributes = [group[f"var{i:03d}"].attrs["i"] for i in range(100)]
    assert len(recording.read_calls) == 1
    assert len(shapes) == 101 and shapes["sub/deep"] == (2,)
    assert attributes == list(range(100))
    assert group["sub"]["deep"].shape == (2,)
    np.testing.assert_array_equal(group["var042"][...], np.full(10, 42))


def test_overwrite_below_an_array_refuses_before_deleting_anything():
    store = MemoryStore()
    array = zarrkit.create_array(store, name="arr", shape=(4, 4), dtype="int8", chunks=(2, 2))
    array[...] = 7
    with pytest.raises(NodeExists, match="is an array"):
        zarrkit.create_group(store, path="arr/c", overwrite=True)
    with pytest.raises(NodeExists):
        zarrkit.open_group(store, path="arr/c", mode="w")
    np.testing.assert_array_equal(zarrkit.open_array(store, path="arr")[...], np.full((4, 4), 7))


def test_members_created_after_opening_with_consolidated_metadata_are_found():
    store = MemoryStore()
    root = zarrkit.create_group(store)
    root.create_group("sub").create_array("a", shape=(1,), dtype="int8")
    zarrkit.consolidate_metadata(store)
    group = zarrkit.open_group(store, mode="r+")
    assert group.consolidated is not None
    group.create_array("new", shape=(2,), dtype="int8")
    assert "new" in group and group.keys() == ["new", "sub"]

    subgroup = zarrkit.open_group(store, mode="r+")["sub"]  # a view of the root's consolidated metadata
    subgroup.attrs["title"] = "s"
    zarrkit.open_group(store, path="sub", mode="r+").create_array("b", shape=(1,), dtype="int8")
    reopened = zarrkit.open_group(store, path="sub")
    assert reopened.consolidated is None  # the view was not written into sub's own zarr.json
    assert reopened.keys() == ["a", "b"] and reopened.attrs["title"] == "s"
    assert zarrkit.open_group(store).consolidated is not None  # the root keeps its stored metadata


def test_listing_names_does_not_open_arrays():
    store = MemoryStore()
    root = zarrkit.create_group(store)
    root.create_array("fine", shape=(1,), dtype="int8")
    broken = json.loads(sync(store.get("fine/zarr.json")))
    broken["codecs"] = [{"name": "no-such-codec", "configuration": {}}]
    sync(store.set("broken/zarr.json", json.dumps(broken).encode()))
    assert root.keys() == ["broken", "fine"] and root.array_keys() == ["broken", "fine"] and len(root) == 2
    assert "broken (1,) int8" in root.tree()
    with pytest.raises(MetadataError, match="no-such-codec"):
        root["broken"]


def test_group_creation_checks_format_and_kind():
    store = MemoryStore()
    with pytest.raises(MetadataError, match="zarr_format"):
        zarrkit.create_group(store, zarr_format=7)
    root = zarrkit.create_group(store)
    root.create_array("a", shape=(1,), dtype="int8")
    with pytest.raises(NodeExists, match="an array"):
        root.require_group("a")
    assert root.require_group("g").path == "g" and root.require_group("g").path == "g"
