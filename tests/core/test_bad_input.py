"""Bad input through the public API: each case gets the specific error naming what and where."""

from __future__ import annotations

import json

import numpy as np
import pytest

import zarrkit
from zarrkit.codecs import BytesCodec, Crc32cCodec
from zarrkit.errors import (
    CodecError,
    MetadataError,
    NodeNotFound,
    ReadOnlyError,
    SelectionError,
    ShapeError,
    StoreError,
    UnsupportedFeature,
    ZarrkitError,
)
from zarrkit.runtime import sync
from zarrkit.storage import MemoryStore


def _array_document(**changes):
    document = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [4],
        "data_type": "int32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0,
        "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
    }
    document.update(changes)
    return {key: value for key, value in document.items() if value is not None}


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (b"{not json", "zarr.json"),
        (_array_document(shape=None), "shape"),
        (_array_document(shape=[4, -1]), "shape"),
        (_array_document(data_type="float128"), "data_type"),
        (_array_document(fill_value="sometimes"), "fill_value"),
        (_array_document(codecs=[{"name": "no-such-codec", "configuration": {}}]), "no-such-codec"),
        (_array_document(codecs=[]), "codecs"),
        (_array_document(chunk_grid={"name": "rectilinear", "configuration": {}}), "chunk_grid"),
        (_array_document(unknown_extension={"must_understand": True}), "unknown_extension"),
    ],
)
def test_malformed_metadata_raises_metadata_error_naming_the_node_and_field(document, named):
    store = MemoryStore()
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    sync(store.set("weather/t2m/zarr.json", data))
    with pytest.raises(MetadataError) as raised:
        zarrkit.open_array(store, path="weather/t2m")[...]
    assert "weather/t2m" in str(raised.value)
    assert named in str(raised.value)


def test_extensions_that_need_not_be_understood_are_accepted():
    store = MemoryStore()
    document = _array_document(unknown_extension={"must_understand": False, "anything": 1})
    sync(store.set("zarr.json", json.dumps(document).encode()))
    np.testing.assert_array_equal(zarrkit.open_array(store)[...], np.zeros(4, dtype="int32"))


def test_checksum_mismatch_and_truncated_chunks_raise_codec_error_naming_the_key():
    store = MemoryStore()
    array = zarrkit.create_array(
        store, name="v", shape=(8,), dtype="int64", chunks=(4,), serializer=BytesCodec(), compressors=Crc32cCodec()
    )
    array[...] = np.arange(8)
    good = sync(store.get("v/c/1"))
    flipped = bytes([good[0] ^ 1]) + good[1:]
    sync(store.set("v/c/1", flipped))
    with pytest.raises(CodecError, match="v/c/1"):
        array[...]
    sync(store.set("v/c/1", good[:-9]))
    with pytest.raises(CodecError, match="v/c/1"):
        array[4:]
    np.testing.assert_array_equal(array[:4], np.arange(4))

    plain = zarrkit.create_array(store, name="p", shape=(8,), dtype="int64", chunks=(4,), compressors=None)
    plain[...] = np.arange(8)
    sync(store.set("p/c/0", sync(store.get("p/c/0"))[:-1]))
    with pytest.raises(CodecError, match="p/c/0"):
        plain[...]


@pytest.mark.parametrize("index_location", ["start", "end"])
def test_corrupt_or_truncated_shards_raise_codec_error_naming_the_shard(index_location):
    from zarrkit.codecs import ShardingCodec

    store = MemoryStore()
    sharding = ShardingCodec(chunk_shape=(4,), index_location=index_location)
    array = zarrkit.create_array(store, shape=(32,), dtype="int16", chunks=(16,), serializer=sharding, compressors=None)
    array[...] = np.arange(32)
    shard = sync(store.get("c/0"))
    sync(store.set("c/0", shard[: len(shard) // 2]))
    with pytest.raises(CodecError, match="c/0"):
        array[...]
    with pytest.raises(CodecError, match="c/0"):
        array[1:3]
    index_at = 0 if index_location == "start" else len(shard) - 20
    corrupt = shard[:index_at] + bytes([shard[index_at] ^ 0xFF]) + shard[index_at + 1 :]
    sync(store.set("c/0", corrupt))
    with pytest.raises(CodecError, match="c/0"):
        array[1:3]
    np.testing.assert_array_equal(array[16:], np.arange(16, 32))


@pytest.mark.parametrize(
    "selection",
    [
        (10,),
        (-11,),
        (0, 0, 0),
        (slice(0, 2, 0),),
        ("a",),
        (1.0,),
        (np.array([0, 10]),),
        (np.ones(9, dtype=bool),),
        (slice(None), np.array([[0, 1]])),
    ],
)
def test_out_of_bounds_or_malformed_selections_raise_selection_error(selection):
    array = zarrkit.create_array(MemoryStore(), shape=(10, 4), dtype="int8", chunks=(3, 3))
    with pytest.raises(SelectionError):
        array[selection]
    with pytest.raises(SelectionError):
        array.oindex[selection]


def test_numpy_and_orthogonal_disagreement_is_refused_not_guessed():
    data = np.arange(60).reshape(3, 4, 5)
    array = zarrkit.create_array(MemoryStore(), shape=data.shape, dtype=data.dtype, chunks=(2, 2, 2))
    array[...] = data
    np.testing.assert_array_equal(array[1, [0, 3], :], data[1, [0, 3], :])
    with pytest.raises(SelectionError, match="oindex"):
        array[1, :, [0, 3]]


@pytest.mark.parametrize(
    ("value", "dtype"),
    [
        (np.zeros((2, 2)), "int8"),  # shape mismatch
        (np.array([1.5, 2.5, 0.5, 1.0]), "int32"),  # float into int
        (300, "uint8"),  # out of range
        (-1, "uint16"),
        (np.array([1 + 2j] * 4), "float64"),
        ("text", "float32"),
        (np.array([1, 2, 300, 4]), "int8"),  # narrowing that would wrap
        (np.array([1, 2, -3, 4]), "uint32"),
        (np.array(["ab", "abcd", "", "x"]), "S3"),  # strings that would be cut
        (np.array(["é"] * 4), "S2"),
    ],
)
def test_assignment_mismatches_raise_shape_error_and_write_nothing(value, dtype):
    store = MemoryStore()
    array = zarrkit.create_array(store, name="target", shape=(4,), dtype=dtype, chunks=(2,))
    with pytest.raises(ShapeError, match="target"):
        array[...] = value
    assert sync(store.list("target/c")) == []


def test_assignments_that_fit_are_cast_like_numpy():
    array = zarrkit.create_array(MemoryStore(), shape=(4,), dtype="uint8", chunks=(2,))
    array[...] = np.arange(4)  # int64 values that fit
    array[0] = np.int64(255)
    np.testing.assert_array_equal(array[...], [255, 1, 2, 3])
    text = zarrkit.create_array(MemoryStore(), shape=(2,), dtype="S3", chunks=(2,))
    text[...] = np.array(["ab", "xyz"])
    assert list(text[...]) == [b"ab", b"xyz"]


def test_writes_through_read_only_stores_raise_read_only_error(tmp_path):
    group = zarrkit.open_group(str(tmp_path), mode="w")
    group.create_array("a", shape=(2,), dtype="int8")
    read_only = zarrkit.open_group(str(tmp_path), mode="r")
    with pytest.raises(ReadOnlyError):
        read_only["a"][0] = 1
    with pytest.raises(ReadOnlyError):
        read_only.create_group("b")
    with pytest.raises(ReadOnlyError):
        read_only["a"].resize(4)
    with pytest.raises(ReadOnlyError):
        read_only.attrs["x"] = 1
    assert zarrkit.open_array(str(tmp_path), path="a").shape == (2,)


def test_opening_the_wrong_kind_of_node_or_nothing_raises_node_not_found():
    store = MemoryStore()
    group = zarrkit.create_group(store)
    group.create_array("a", shape=(1,), dtype="int8")
    with pytest.raises(NodeNotFound):
        zarrkit.open_array(store)
    with pytest.raises(NodeNotFound):
        zarrkit.open_group(store, path="a")
    with pytest.raises(NodeNotFound, match="missing"):
        zarrkit.open_array(store, path="missing")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shape": (4,), "dtype": "int8", "chunks": (0,)},
        {"shape": (4,), "dtype": "int8", "chunks": (2, 2)},
        {"shape": (4,), "dtype": "int8", "shards": (3,), "chunks": (2,)},
        {"shape": (4,), "dtype": "int8", "shards": (4,), "zarr_format": 2},
        {"shape": (4,), "dtype": "int8", "fill_value": 1000},
        {"shape": (4,), "dtype": "int8", "zarr_format": 4},
        {"shape": (4,), "dtype": "not-a-dtype"},
        {"shape": (4,), "dtype": "int8", "compressors": "no-such-codec"},
    ],
)
def test_invalid_creation_keywords_raise_metadata_error(kwargs):
    store = MemoryStore()
    with pytest.raises(MetadataError):
        zarrkit.create_array(store, name="new", **kwargs)
    assert sync(store.list("")) == []


def test_unknown_mode_is_refused():
    with pytest.raises(ZarrkitError, match="mode"):
        zarrkit.open_group(MemoryStore(), mode="x")


def test_encoding_failures_name_the_chunk():
    from zarrkit.codecs import BytesBytesCodec

    class Refusing(BytesBytesCodec):
        name = "refusing"

        @classmethod
        def from_json(cls, configuration):
            return cls()

        def to_json(self):
            return {"name": self.name, "configuration": {}}

        def encode(self, data, spec):
            raise CodecError("this codec refuses to encode")

        def decode(self, data, spec):
            return data

    from zarrkit.codecs import register_codec

    register_codec(Refusing)
    array = zarrkit.create_array(MemoryStore(), name="r", shape=(4,), dtype="int8", chunks=(2,), compressors=Refusing())
    with pytest.raises(CodecError, match="r/c/1.*refuses"):
        array[2:] = 1


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"shape": 5.0, "dtype": "int8"}, "shape"),
        ({"shape": None, "dtype": "int8"}, "shape"),
        ({"shape": (4, 2.0), "dtype": "int8"}, "shape"),
        ({"shape": (4,), "dtype": "int8", "chunks": 2.5}, "chunks"),
        ({"shape": (4,), "dtype": "int8", "chunks": [2, True]}, "chunks"),
        ({"shape": (4,), "dtype": "int8", "attributes": [1]}, "attributes"),
        ({"shape": (4,), "dtype": "int8", "attributes": {1: "x"}}, "attributes"),
        ({"shape": (4,), "dtype": "int8", "shards": (2.0,)}, "shards"),
        ({"shape": (4,), "dtype": "int8", "shards": (4, 4)}, "shards"),
        ({"shape": (4,), "dtype": "int8", "shap": (4,)}, "shap"),
    ],
)
def test_creation_keywords_of_the_wrong_kind_raise_metadata_error_naming_them(zarr_format, kwargs, named):
    store = MemoryStore()
    with pytest.raises(MetadataError, match=named) as raised:
        zarrkit.create_array(store, name="new", zarr_format=zarr_format, **kwargs)
    assert "'/new'" in str(raised.value)
    assert sync(store.list("")) == []


def test_numpy_integers_are_accepted_for_shape_chunks_and_shards():
    store = MemoryStore()
    array = zarrkit.create_array(
        store, name="a", shape=np.int64(6), dtype="int8", chunks=np.int64(2), shards=np.int32(6)
    )
    assert (array.shape, array.chunks, array.shards) == ((6,), (2,), (6,))
    other = zarrkit.create_array(store, name="b", shape=(np.int64(4), 3), dtype="int8", chunks=[np.int8(2), 3])
    assert (other.shape, other.chunks) == ((4, 3), (2, 3))
    assert all(type(length) is int for length in other.shape + other.chunks)


def test_automatic_chunks_of_a_sharded_array_fit_in_the_shard():
    array = zarrkit.create_array(MemoryStore(), shape=(10_000, 10_000), dtype="uint8", shards=(1000, 500))
    assert array.shards == (1000, 500)
    assert all(shard % chunk == 0 for shard, chunk in zip(array.shards, array.chunks))


def test_automatic_shards_are_not_supported():
    store = MemoryStore()
    with pytest.raises(UnsupportedFeature, match="shards='auto'"):
        zarrkit.create_array(store, shape=(4,), dtype="int8", shards="auto")
    assert sync(store.list("")) == []


def test_open_creates_or_opens_and_never_drops_a_keyword():
    store = MemoryStore()
    zarrkit.open(store, mode="w", path="x", shape=(4,), dtype="int32")
    # Mode "a" opens what is there, whatever creation keywords come along.
    assert isinstance(zarrkit.open(store, mode="a", path="x", shape=(4,), dtype="int32"), zarrkit.Array)
    group = zarrkit.open(store, mode="w", path="g", attributes={"title": "t"})
    assert dict(zarrkit.open_group(store, path="g").attrs) == {"title": "t"}
    assert zarrkit.open(store, mode="a", path="g", attributes={"x": 1}).path == group.path
    assert dict(zarrkit.open(store, mode="a", path="new", attributes={"y": 2}).attrs) == {"y": 2}
    with pytest.raises(MetadataError, match=r"\['dtype', 'shap'\] do not apply to a group"):
        zarrkit.open(store, mode="w", path="h", shap=(4,), dtype="int32")
    with pytest.raises(MetadataError, match=r"unknown array keywords \['dtpye'\]"):
        zarrkit.open(store, mode="a", path="x", shape=(4,), dtpye="int32")
    assert "h/zarr.json" not in sync(store.list(""))


def test_unknown_mode_is_refused_by_the_store_layer_for_every_kind_of_store():
    for store in (None, MemoryStore(), {}):
        with pytest.raises(StoreError, match="mode 'x'"):
            zarrkit.open(store, mode="x")


@pytest.mark.parametrize("name", ["__reserved", "...", "a/__b"])
def test_new_nodes_must_have_names_the_spec_allows(name):
    store = MemoryStore()
    group = zarrkit.create_group(store)
    with pytest.raises(MetadataError, match="cannot create node"):
        group.create_array(name, shape=(1,), dtype="int8")
    with pytest.raises(MetadataError, match="cannot create node"):
        zarrkit.create_group(store, path=name)
    assert sync(store.list("")) == ["zarr.json"]
