"""Tests of lazily loaded reference sets and of splitting a set into mountable parts."""

from __future__ import annotations

import asyncio

import pytest

from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Reference, References, ReferenceSet
from zarrkit.refs.mount import LazyReferences, split_by_prefix
from zarrkit.runtime import sync


class CountingLoader:
    """Loads reference sets from a dict by URL, counting the loads; fails while ``failures`` > 0."""

    def __init__(self, sets: dict[str, References], failures: int = 0) -> None:
        self.sets = sets
        self.failures = failures
        self.loads: list[str] = []

    async def __call__(self, url: str) -> References:
        self.loads.append(url)
        # Yield to the loop, so concurrent lookups really overlap with the load.
        await asyncio.sleep(0.01)
        if self.failures > 0:
            self.failures -= 1
            raise OSError(f"connection reset while reading {url}")
        return self.sets[url]


def example_set() -> ReferenceSet:
    return ReferenceSet(
        {
            ".zgroup": b'{"zarr_format": 2}',
            "temperature/.zarray": b"{}",
            "temperature/0.0": Reference("s3://bucket/a.nc", 100, 50),
            "temperature/0.1": Reference("s3://bucket/a.nc", 150, 50),
            "pressure/.zarray": b"{}",
            "pressure/0": Reference("s3://bucket/b.nc", 0, 10),
            "pressure/1": Reference(None, 10, 10),
            "time/0": Reference("s3://bucket/time.bin"),
        }
    )


def test_lazy_references_load_once_for_concurrent_lookups():
    part = ReferenceSet({"a/0": b"zero", "a/1": Reference("file.bin", 0, 4)})
    loader = CountingLoader({"memory://parts/a.json": part})
    lazy = LazyReferences("memory://parts/a.json", loader)
    assert not lazy.loaded

    async def many_lookups():
        return await asyncio.gather(
            lazy.lookup(["a/0"]), lazy.lookup(["a/1", "missing"]), lazy.list_keys(), lazy.list_keys("a/1")
        )

    first, second, all_keys, some_keys = sync(many_lookups())
    assert first == [b"zero"]
    assert second == [Reference("file.bin", 0, 4), None]
    assert all_keys == ["a/0", "a/1"]
    assert some_keys == ["a/1"]
    assert loader.loads == ["memory://parts/a.json"]
    assert lazy.loaded
    assert sync(lazy.lookup(["a/0"])) == [b"zero"]
    assert loader.loads == ["memory://parts/a.json"]
    assert lazy.url == "memory://parts/a.json"


def test_lazy_references_failure_names_the_url_and_is_retried():
    loader = CountingLoader({"https://example.org/part.json": ReferenceSet({"k": b"v"})}, failures=1)
    lazy = LazyReferences("https://example.org/part.json", loader)
    with pytest.raises(ReferenceError, match="https://example.org/part.json") as raised:
        sync(lazy.lookup(["k"]))
    assert isinstance(raised.value.__cause__, OSError)
    assert not lazy.loaded
    assert sync(lazy.lookup(["k"])) == [b"v"]
    assert len(loader.loads) == 2


def test_lazy_references_refuse_a_loader_that_returns_no_references():
    async def load_a_dict(url: str):
        return {"k": b"v"}

    lazy = LazyReferences("part.json", load_a_dict)
    with pytest.raises(ReferenceError, match="part.json.*dict"):
        sync(lazy.list_keys())


def test_lazy_references_mounted_in_a_set():
    loader = CountingLoader({"part1.json": ReferenceSet({"x/0": Reference("data.bin", 8, 8)})})
    base = ReferenceSet({"x/.zarray": b"{}"}, mounts={"part1/": LazyReferences("part1.json", loader)})
    assert sync(base.lookup(["x/.zarray"])) == [b"{}"]
    assert loader.loads == []  # a key outside the mount does not load it
    assert sync(base.lookup(["part1/x/0", "part1/nothing"])) == [Reference("data.bin", 8, 8), None]
    assert sync(base.list_keys()) == ["part1/x/0", "x/.zarray"]
    assert loader.loads == ["part1.json"]


def test_split_then_mount_looks_up_every_key_as_the_original():
    original = example_set()
    keys_before = dict(original)
    base, parts = split_by_prefix(original, ["temperature/", "pressure/"])

    assert dict(original) == keys_before  # the input is not changed
    assert sorted(base) == [".zgroup", "time/0"]
    assert set(parts) == {"temperature/", "pressure/"}
    assert dict(parts["temperature/"]) == {
        ".zarray": b"{}",
        "0.0": Reference("s3://bucket/a.nc", 100, 50),
        "0.1": Reference("s3://bucket/a.nc", 150, 50),
    }
    assert dict(parts["pressure/"]) == {
        ".zarray": b"{}",
        "0": Reference("s3://bucket/b.nc", 0, 10),
        "1": Reference(None, 10, 10),
    }

    # Mount the parts as a writer's reader would: lazily, by URL.
    loader = CountingLoader({f"memory://split/{prefix}refs.json": part for prefix, part in parts.items()})
    for prefix in parts:
        base.mount(prefix, LazyReferences(f"memory://split/{prefix}refs.json", loader))
    keys = list(original) + ["temperature/9.9", "nowhere"]
    assert sync(base.lookup(keys)) == sync(original.lookup(keys))
    assert sync(base.list_keys()) == sync(original.list_keys())
    assert sync(base.list_keys("pressure/")) == ["pressure/.zarray", "pressure/0", "pressure/1"]
    assert sorted(loader.loads) == ["memory://split/pressure/refs.json", "memory://split/temperature/refs.json"]


def test_split_of_many_keys_with_nested_prefixes():
    original = ReferenceSet(
        {
            f"group{g}/var{v}/{c}": Reference(f"file{g}.bin", c * 10, 10)
            for g in range(5)
            for v in range(3)
            for c in range(40)
        }
    )
    prefixes = [f"group{g}/var1/" for g in range(5)] + ["group3/var2/"]
    base, parts = split_by_prefix(original, prefixes)
    assert len(base) + sum(len(part) for part in parts.values()) == len(original)
    assert all(len(parts[prefix]) == 40 for prefix in prefixes)
    assert not any(key.startswith(tuple(prefixes)) for key in base)
    for prefix, part in parts.items():
        base.mount(prefix, part)
    keys = list(original)
    assert sync(base.lookup(keys)) == sync(original.lookup(keys))


def test_split_moves_mounts_under_a_prefix_into_the_part():
    inner = ReferenceSet({"0": b"inner"})
    outer = ReferenceSet({"0": b"outer"})
    original = ReferenceSet({"a/x": b"1", "b/y": b"2"}, mounts={"a/deep/": inner, "other/": outer})
    base, parts = split_by_prefix(original, ["a/"])
    assert base.mounts == {"other/": outer}
    assert parts["a/"].mounts == {"deep/": inner}
    base.mount("a/", parts["a/"])
    keys = ["a/x", "a/deep/0", "b/y", "other/0"]
    assert sync(base.lookup(keys)) == [b"1", b"inner", b"2", b"outer"]


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        (["a"], "invalid mount prefix 'a'"),
        (["/a/"], "invalid mount prefix '/a/'"),
        (["a/", "a/b/"], "overlapping prefixes"),
        (["a/b/", "a/"], "overlapping prefixes"),
        (["x/", "a/", "x/"], "overlapping prefixes"),
        (["m/"], "'m/'.*in the mount at 'm/'"),
        (["m/inner/"], "'m/inner/'.*in the mount at 'm/'"),
    ],
)
def test_split_refuses_bad_prefixes(prefixes, message):
    original = ReferenceSet({"a/b/0": b"x"}, mounts={"m/": ReferenceSet({"inner/0": b"y"})})
    with pytest.raises(ReferenceError, match=message):
        split_by_prefix(original, prefixes)
