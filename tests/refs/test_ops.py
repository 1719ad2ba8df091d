"""Tests of the operations on reference sets: merge, prefixed, rewrite_urls, inline_small, counting."""

from __future__ import annotations

import pytest

from tests.helpers import RecordingStore
from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.refs.mount import LazyReferences
from zarrkit.refs.ops import (
    ReferenceCounts,
    TargetStats,
    count_references,
    inline_small,
    merge,
    prefixed,
    rewrite_urls,
)
from zarrkit.refs.targets import TargetStores
from zarrkit.runtime import sync
from zarrkit.storage.base import Store
from zarrkit.storage.url import open_store


async def never_loaded(url: str) -> ReferenceSet:
    raise AssertionError(f"{url} should not be loaded")


# -- merge -----------------------------------------------------------------------------------------


def test_merge_is_the_union_and_leaves_its_inputs_alone():
    first = ReferenceSet({"a/0": b"x", "shared": Reference("f.bin", 0, 4)})
    second = ReferenceSet({"b/0": Reference("g.bin", 4, 4), "shared": Reference("f.bin", 0, 4)})
    merged = merge(first, second)
    assert dict(merged) == {"a/0": b"x", "shared": Reference("f.bin", 0, 4), "b/0": Reference("g.bin", 4, 4)}
    assert list(merged) == ["a/0", "shared", "b/0"]
    assert merged is not first and merged is not second
    assert dict(first) == {"a/0": b"x", "shared": Reference("f.bin", 0, 4)}
    assert len(second) == 2


def test_merge_conflict_names_the_key():
    first = ReferenceSet({"a/0": Reference("f.bin", 0, 4)})
    second = ReferenceSet({"a/0": Reference("f.bin", 4, 4)})
    with pytest.raises(ReferenceError, match="'a/0'"):
        merge(first, second)


@pytest.mark.parametrize(("on_conflict", "winner"), [("first", b"one"), ("last", b"three")])
def test_merge_first_or_last_wins(on_conflict, winner):
    sets = [
        ReferenceSet({"k": b"one", "a": b"a"}),
        ReferenceSet({"k": b"two"}),
        ReferenceSet({"k": b"three", "z": b"z"}),
    ]
    merged = merge(*sets, on_conflict=on_conflict)
    assert merged["k"] == winner
    assert list(merged) == ["k", "a", "z"]


def test_merge_refuses_an_unknown_rule():
    with pytest.raises(ReferenceError, match="on_conflict 'newest'"):
        merge(ReferenceSet(), on_conflict="newest")


def test_merge_unites_mounts():
    part = ReferenceSet({"0": b"p"})
    first = ReferenceSet({"x": b"1"}, mounts={"p/": part, "q/": LazyReferences("q.json", never_loaded)})
    second = ReferenceSet({"y": b"2"}, mounts={"p/": part, "q/": LazyReferences("q.json", never_loaded)})
    third = ReferenceSet(mounts={"r/": ReferenceSet({"0": b"r"})})
    merged = merge(first, second, third)
    assert sorted(merged.mounts) == ["p/", "q/", "r/"]
    assert sync(merged.lookup(["x", "y", "p/0", "r/0"])) == [b"1", b"2", b"p", b"r"]


def test_merge_mount_conflicts():
    first = ReferenceSet(mounts={"p/": LazyReferences("one.json", never_loaded)})
    second = ReferenceSet(mounts={"p/": LazyReferences("two.json", never_loaded)})
    with pytest.raises(ReferenceError, match="'p/'"):
        merge(first, second)
    assert merge(first, second, on_conflict="last").mounts["p/"].url == "two.json"
    overlapping = ReferenceSet(mounts={"p/inner/": ReferenceSet()})
    with pytest.raises(ReferenceError, match="overlaps"):
        merge(first, overlapping)


def test_merge_refuses_to_hide_an_entry_under_another_sets_mount():
    with_mount = ReferenceSet(mounts={"p/": ReferenceSet({"0": b"mounted"})})
    with_entry = ReferenceSet({"p/1": b"own"})
    for on_conflict in ("error", "first", "last"):
        with pytest.raises(ReferenceError, match="'p/1'.*'p/'"):
            merge(with_mount, with_entry, on_conflict=on_conflict)
    # An entry its own set already hides stays hidden without complaint.
    hidden = ReferenceSet({"p/1": b"hidden"}, mounts={"p/": with_mount.mounts["p/"]})
    merged = merge(with_mount, hidden)
    assert sync(merged.lookup(["p/0", "p/1"])) == [b"mounted", None]


# -- prefixed --------------------------------------------------------------------------------------


def test_prefixed_moves_keys_and_mounts():
    mounted = ReferenceSet({"0": b"m"})
    original = ReferenceSet({".zgroup": b"{}", "a/0": Reference("f.bin", 0, 2)}, mounts={"part/": mounted})
    moved = prefixed(original, "run1/")
    assert dict(moved) == {"run1/.zgroup": b"{}", "run1/a/0": Reference("f.bin", 0, 2)}
    assert moved.mounts == {"run1/part/": mounted}
    assert sync(moved.lookup(["run1/part/0", "a/0"])) == [b"m", None]
    assert list(original) == [".zgroup", "a/0"]


@pytest.mark.parametrize("prefix", ["run1", "/run1/", "", "a//b/"])
def test_prefixed_refuses_a_malformed_prefix(prefix):
    with pytest.raises(ReferenceError, match="prefix"):
        prefixed(ReferenceSet({"k": b"v"}), prefix)


# -- rewrite_urls ----------------------------------------------------------------------------------


def test_rewrite_urls_over_many_references():
    original = ReferenceSet()
    for file in range(50):
        for chunk in range(200):
            original[f"v{file}/{chunk}"] = Reference(f"s3://old-bucket/data/{file}.nc", chunk * 100, 100)
    original["special/0"] = Reference("s3://old-bucket/data/special/x.nc", 0, 8)
    original["elsewhere/0"] = Reference("https://example.org/x.nc", 0, 8)
    original["default/0"] = Reference(None, 16, 8)
    original["inline"] = b"abc"

    mapping = {"s3://old-bucket/": "s3://new-bucket/", "s3://old-bucket/data/special/": "/mnt/special/"}
    rewritten = rewrite_urls(original, mapping, default_target="/mnt/default.nc")

    assert len(rewritten) == len(original)
    assert rewritten["v7/123"] == Reference("s3://new-bucket/data/7.nc", 12300, 100)
    assert rewritten["special/0"] == Reference("/mnt/special/x.nc", 0, 8)
    assert rewritten["elsewhere/0"] == Reference("https://example.org/x.nc", 0, 8)
    assert rewritten["default/0"] == Reference("/mnt/default.nc", 16, 8)
    assert rewritten["inline"] == b"abc"
    assert all(
        entry.url.startswith(("s3://new-bucket/", "/mnt/", "https://"))
        for entry in rewritten.values()
        if isinstance(entry, Reference)
    )
    assert len(rewritten.target_urls()) == 53
    assert original["v7/123"].url == "s3://old-bucket/data/7.nc"


def test_rewrite_urls_keeps_none_without_default_and_carries_mounts():
    mounted = ReferenceSet({"0": Reference("s3://old/x", 0, 1)})
    original = ReferenceSet({"k": Reference(None, 0, 4)}, mounts={"m/": mounted})
    rewritten = rewrite_urls(original, {"s3://old/": "s3://new/"})
    assert rewritten["k"] == Reference(None, 0, 4)
    assert rewritten.mounts == {"m/": mounted}


def test_rewrite_urls_refuses_a_non_string_mapping():
    with pytest.raises(ReferenceError, match="mapping"):
        rewrite_urls(ReferenceSet(), {"s3://a/": None})


# -- inline_small ----------------------------------------------------------------------------------


class SizeForwardingRecorder(RecordingStore):
    """A RecordingStore that also records the size requests."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.size_calls: list[str] = []

    async def getsize(self, key: str) -> int | None:
        self.size_calls.append(key)
        return await self.inner.getsize(key)


class RecordedTargets(TargetStores):
    """TargetStores that records every read made through the stores it opens."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.recorders: dict[int, SizeForwardingRecorder] = {}

    def resolve(self, url: str | None) -> tuple[Store, str]:
        store, key = super().resolve(url)
        recorder = self.recorders.setdefault(id(store), SizeForwardingRecorder(store))
        return recorder, key


def test_inline_small_reads_local_files_in_one_batch_per_store(tmp_path):
    data_a = bytes(range(256)) * 4
    data_b = b"b" * 300
    small_file = b"tiny file"
    big_file = b"B" * 2000
    (tmp_path / "a.bin").write_bytes(data_a)
    (tmp_path / "b.bin").write_bytes(data_b)
    (tmp_path / "small.bin").write_bytes(small_file)
    (tmp_path / "big.bin").write_bytes(big_file)
    other = tmp_path / "other"
    other.mkdir()
    (other / "c.bin").write_bytes(b"0123456789")

    original = ReferenceSet(
        {
            "inline": b"already",
            "a/0": Reference(str(tmp_path / "a.bin"), 10, 20),
            "a/1": Reference(str(tmp_path / "a.bin"), 500, 100),
            "a/big": Reference(str(tmp_path / "a.bin"), 0, 101),
            "b/0": Reference(f"file://{tmp_path}/b.bin", 290, 10),
            "c/0": Reference(str(other / "c.bin"), 2, 5),
            "small": Reference(str(tmp_path / "small.bin")),
            "big": Reference(str(tmp_path / "big.bin")),
            "default": Reference(None, 1, 3),
        }
    )
    targets = RecordedTargets(default_target=str(tmp_path / "b.bin"))
    inlined = sync(inline_small(original, 100, targets))

    assert dict(inlined) == {
        "inline": b"already",
        "a/0": data_a[10:30],
        "a/1": data_a[500:600],
        "a/big": Reference(str(tmp_path / "a.bin"), 0, 101),
        "b/0": data_b[290:300],
        "c/0": b"23456",
        "small": small_file,
        "big": Reference(str(tmp_path / "big.bin")),
        "default": data_b[1:4],
    }
    assert list(inlined) == list(original)
    assert isinstance(original["a/0"], Reference)  # the input is not changed
    # Two directories, so two stores; each answered the reads in one get_many.
    assert len(targets.recorders) == 2
    assert [len(recorder.read_calls) for recorder in targets.recorders.values()] == [1, 1]
    assert sorted(key for recorder in targets.recorders.values() for key in recorder.size_calls) == [
        "big.bin",
        "small.bin",
    ]
    requests = sorted(request for recorder in targets.recorders.values() for request in recorder.requests())
    assert requests == sorted(
        [
            ("a.bin", (10, 20)),
            ("a.bin", (500, 100)),
            ("b.bin", (290, 10)),
            ("c.bin", (2, 5)),
            ("small.bin", None),
            ("b.bin", (1, 3)),
        ]
    )


def test_inline_small_missing_target_names_key_and_url(tmp_path):
    missing = str(tmp_path / "gone.bin")
    with pytest.raises(ReferenceError, match=r"'k/0'.*gone\.bin.*does not exist"):
        sync(inline_small(ReferenceSet({"k/0": Reference(missing, 0, 4)}), 10, TargetStores()))
    with pytest.raises(ReferenceError, match=r"'whole'.*gone\.bin.*does not exist"):
        sync(inline_small(ReferenceSet({"whole": Reference(missing)}), 10, TargetStores()))


def test_inline_small_short_read_names_key_and_url(tmp_path):
    (tmp_path / "short.bin").write_bytes(b"12345")
    references = ReferenceSet({"k/1": Reference(str(tmp_path / "short.bin"), 3, 8)})
    with pytest.raises(ReferenceError, match=r"'k/1'.*short\.bin.*gave 2 bytes.*needs 8"):
        sync(inline_small(references, 10, TargetStores()))


def test_inline_small_without_default_target_names_the_key():
    with pytest.raises(ReferenceError, match="'k'.*default target"):
        sync(inline_small(ReferenceSet({"k": Reference(None, 0, 4)}), 10, TargetStores()))


def test_inline_small_refuses_a_negative_threshold():
    with pytest.raises(ReferenceError, match="threshold"):
        sync(inline_small(ReferenceSet(), -1, TargetStores()))


def test_inline_small_from_memory_targets():
    store = open_store("memory://test-ops-inline", mode="w")
    sync(store.set("file.bin", b"0123456789" * 10))
    sync(store.set("whole.bin", b"whole"))
    original = ReferenceSet(
        {
            "x/0": Reference("memory://test-ops-inline/file.bin", 5, 10),
            "x/1": Reference("memory://test-ops-inline/file.bin", 50, 50),
            "w": Reference("memory://test-ops-inline/whole.bin"),
        }
    )
    targets = TargetStores()
    inlined = sync(inline_small(original, 20, targets))
    assert dict(inlined) == {
        "x/0": b"5678901234",
        "x/1": Reference("memory://test-ops-inline/file.bin", 50, 50),
        "w": b"whole",
    }
    targets.close()


# -- counting --------------------------------------------------------------------------------------


def test_count_references():
    references = ReferenceSet(
        {
            "a": b"12345",
            "b": b"",
            "c/0": Reference("s3://b/f.nc", 0, 100),
            "c/1": Reference("s3://b/f.nc", 100, 28),
            "c/2": Reference("s3://b/f.nc"),
            "d/0": Reference("s3://b/g.nc"),
            "e/0": Reference(None, 4, 4),
        },
        mounts={"m/": ReferenceSet({"0": b"not counted"})},
    )
    counts = count_references(references)
    assert counts == ReferenceCounts(
        inline=2,
        inline_bytes=5,
        by_target={
            "s3://b/f.nc": TargetStats(references=3, bytes=128, whole_files=1),
            "s3://b/g.nc": TargetStats(references=1, bytes=0, whole_files=1),
            None: TargetStats(references=1, bytes=4, whole_files=0),
        },
    )
    assert counts.references == 5
    assert count_references(ReferenceSet()) == ReferenceCounts(inline=0, inline_bytes=0, by_target={})
