"""Chunk key encodings: the keys of both encodings, decoding, and the metadata field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zarrkit.errors import MetadataError
from zarrkit.metadata import ChunkKeyEncoding, parse_chunk_key_encoding

DEFAULT = ChunkKeyEncoding("default", "/")
DEFAULT_DOT = ChunkKeyEncoding("default", ".")
V2 = ChunkKeyEncoding("v2", ".")
V2_SLASH = ChunkKeyEncoding("v2", "/")


@pytest.mark.parametrize(
    ("encoding", "coords", "key"),
    [
        (DEFAULT, (1, 23, 45), "c/1/23/45"),
        (DEFAULT, (), "c"),
        (DEFAULT_DOT, (0, 7), "c.0.7"),
        (V2, (1, 23, 45), "1.23.45"),
        (V2, (), "0"),
        (V2_SLASH, (3, 0), "3/0"),
    ],
)
def test_encode_and_decode(encoding, coords, key):
    assert encoding.encode(coords) == key
    assert encoding.decode(key, ndim=len(coords)) == coords


@pytest.mark.parametrize(
    ("encoding", "key", "ndim"),
    [
        (DEFAULT, "zarr.json", None),
        (DEFAULT, "c/1/x", None),
        (DEFAULT, "c/", None),
        (DEFAULT, "c/-1", None),
        (DEFAULT, "c/1/2", 3),
        (DEFAULT, "c", 1),
        (DEFAULT, "d/1", None),
        (DEFAULT_DOT, "c/1", None),
        (V2, ".zarray", None),
        (V2, "1..2", None),
        (V2, "1.2", 0),
        (V2, "", None),
        (V2, "١", None),
    ],
)
def test_decode_rejects_keys_that_are_not_chunk_keys(encoding, key, ndim):
    assert encoding.decode(key, ndim=ndim) is None


def test_v2_scalar_key_is_ambiguous_without_ndim():
    assert V2.decode("0") == (0,)
    assert V2.decode("0", ndim=0) == ()
    assert DEFAULT.decode("c") == ()


@given(
    st.sampled_from([DEFAULT, DEFAULT_DOT, V2, V2_SLASH]),
    st.lists(st.integers(0, 10**12), max_size=6).map(tuple),
)
def test_decode_inverts_encode(encoding, coords):
    assert encoding.decode(encoding.encode(coords), ndim=len(coords)) == coords


def test_parse_accepts_short_hand_and_default_separators():
    assert parse_chunk_key_encoding("default", path="a") == DEFAULT
    assert parse_chunk_key_encoding({"name": "v2"}, path="a") == V2
    dotted = {"name": "default", "configuration": {"separator": "."}}
    assert parse_chunk_key_encoding(dotted, path="a") == DEFAULT_DOT
    assert parse_chunk_key_encoding(V2_SLASH.to_json(), path="a") == V2_SLASH
    assert DEFAULT.to_json() == {"name": "default", "configuration": {"separator": "/"}}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"name": "suffix", "must_understand": False}, "unknown chunk key encoding 'suffix'"),
        ({"name": "default", "configuration": {"separator": "-"}}, "separator"),
        ({"name": "default", "configuration": {"separator": "/", "extra": 1}}, "unknown configuration"),
        ({"name": "default", "configuration": []}, "configuration"),
        ({"name": "v2", "other": 1}, "unknown members"),
        (["default"], "must be a name or an object"),
    ],
)
def test_parse_errors_name_the_array_and_field(value, message):
    with pytest.raises(MetadataError, match=r"array 'p': field 'chunk_key_encoding'") as error:
        parse_chunk_key_encoding(value, path="p")
    assert error.match(message)


def test_constructor_validates():
    with pytest.raises(MetadataError):
        ChunkKeyEncoding("default", "-")
    with pytest.raises(MetadataError):
        ChunkKeyEncoding("suffix", "/")
