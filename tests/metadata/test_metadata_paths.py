"""Node paths and names."""

from __future__ import annotations

import pytest

from zarrkit.errors import MetadataError
from zarrkit.metadata import check_node_name, child_path, join_path, normalize_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [(None, ""), ("", ""), ("/", ""), ("a", "a"), ("/a/b/", "a/b"), ("a/b.c/..d", "a/b.c/..d")],
)
def test_normalize_path(path, expected):
    assert normalize_path(path) == expected


@pytest.mark.parametrize(
    ("path", "message"), [("a//b", "empty segment"), ("a/./b", "'.'"), ("../a", "'..'"), (3, "string")]
)
def test_normalize_path_rejects_escaping_and_aliasing_paths(path, message):
    with pytest.raises(MetadataError, match=message):
        normalize_path(path)


@pytest.mark.parametrize("name", ["a", "a.b", "...a", "_x", "zarr.json2"])
def test_valid_node_names(name):
    check_node_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("a/b", "'/'"),
        (".", "periods"),
        ("...", "periods"),
        ("__zarr", "reserved"),
        (None, "string"),
    ],
)
def test_invalid_node_names(name, message):
    with pytest.raises(MetadataError, match=message):
        check_node_name(name)


def test_join_path():
    assert join_path("", "a") == "a"
    assert join_path("a/b", "c") == "a/b/c"
    assert join_path("/a/", "b/c") == "a/b/c"
    assert join_path("a", "") == "a"
    with pytest.raises(MetadataError):
        join_path("a", "../b")


def test_child_path_checks_every_new_name():
    assert child_path("", "a") == "a"
    assert child_path("a/b", "c") == "a/b/c"
    assert child_path("a", "b/c.d") == "a/b/c.d"
    assert child_path("a", "/b/") == "a/b"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("__reserved", "reserved"),
        ("...", "periods"),
        ("a/__b", "reserved"),
        ("a//b", "empty"),
        ("", "empty"),
        ("/", "empty"),
        ("a/../b", "periods"),
        (None, "string"),
    ],
)
def test_child_path_refuses_names_the_spec_forbids(name, message):
    with pytest.raises(MetadataError, match=f"under 'g'.*{message}|{message}"):
        child_path("g", name)
    # Reading stays lenient: existing nodes with such names can still be reached.
    if isinstance(name, str) and name.startswith("__"):
        assert join_path("g", name) == f"g/{name}"
