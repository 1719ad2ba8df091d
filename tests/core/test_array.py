"""Arrays end to end: create, write, read, selections, fill values, resize, append, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrkit
from zarrkit.errors import CodecError, NodeExists, NodeNotFound, ReadOnlyError, SelectionError, ShapeError
from zarrkit.runtime import sync
from zarrkit.storage import MemoryStore

FORMATS = [2, 3]


def _random(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize(
    "dtype", ["bool", "int8", "uint16", "int32", "uint64", "float16", "float32", "float64", "complex128"]
)
def test_round_trip_numeric(store, zarr_format, dtype):
    data = _random((37, 23), dtype)
    array = zarrkit.create_array(
        store, name="x", shape=data.shape, dtype=dtype, chunks=(10, 7), zarr_format=zarr_format
    )
    array[...] = data
    reopened = zarrkit.open_array(store, path="x")
    assert reopened.dtype == np.dtype(dtype)
    assert reopened.zarr_format == zarr_format
    np.testing.assert_array_equal(reopened[...], data)


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize("order", ["C", "F"])
def test_order_round_trip(zarr_format, order):
    store = MemoryStore()
    data = _random((9, 11, 5), "int32")
    array = zarrkit.create_array(
        store, shape=data.shape, dtype="int32", chunks=(4, 4, 4), order=order, zarr_format=zarr_format
    )
    array[...] = data
    reopened = zarrkit.open_array(store)
    np.testing.assert_array_equal(reopened[...], data)
    if zarr_format == 2:
        assert reopened.order == order
    else:
        transposes = [c for c in reopened.metadata.codecs if c["name"] == "transpose"]
        assert transposes == ([{"name": "transpose", "configuration": {"order": [2, 1, 0]}}] if order == "F" else [])


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_strings_and_bytes(store, zarr_format):
    words = np.array(["", "a", "héllo wörld", "x" * 300, "☃"] * 5, dtype=object)
    array = zarrkit.create_array(store, name="s", shape=words.shape, dtype=str, chunks=(4,), zarr_format=zarr_format)
    array[...] = words
    result = zarrkit.open_array(store, path="s")[...]
    assert result.dtype == object
    assert list(result) == list(words)
    blobs = np.array([b"", b"\x00\x01", b"abc" * 100], dtype=object)
    array = zarrkit.create_array(
        store, name="b", shape=blobs.shape, dtype="bytes", chunks=(2,), zarr_format=zarr_format
    )
    array[...] = blobs
    assert list(zarrkit.open_array(store, path="b")[...]) == list(blobs)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_fixed_length_structured_and_datetime(zarr_format):
    store = MemoryStore()
    cases = {
        "fixed_bytes": np.array([b"ab", b"cde", b""], dtype="S3"),
        "unicode": np.array(["ab", "çde", ""], dtype="U3"),
        "structured": np.array([(1, 2.5), (3, -1.0), (0, 0.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        "datetime": np.array(["2020-01-01", "NaT", "1970-01-02"], dtype="M8[ns]"),
        "timedelta": np.array([1, -5, 0], dtype="m8[s]"),
    }
    for name, data in cases.items():
        array = zarrkit.create_array(
            store, name=name, shape=data.shape, dtype=data.dtype, chunks=(2,), zarr_format=zarr_format
        )
        array[...] = data
        result = zarrkit.open_array(store, path=name)[...]
        assert result.dtype == data.dtype, name
        np.testing.assert_array_equal(result, data)


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_missing_chunks_read_fill_value_and_fill_chunks_are_not_stored(zarr_format):
    store = MemoryStore()
    array = zarrkit.create_array(
        store, name="a", shape=(20,), dtype="float32", chunks=(5,), fill_value=np.nan, zarr_format=zarr_format
    )
    assert np.isnan(array[...]).all()
    array[0:5] = 1.0
    array[5:10] = np.nan  # equal to the fill value: not stored
    assert len(_chunk_keys(store, "a")) == 1
    array[0:5] = np.nan  # the existing chunk now holds only fill values: deleted
    assert _chunk_keys(store, "a") == []

    kept = zarrkit.create_array(
        store, name="kept", shape=(10,), dtype="int8", chunks=(5,), zarr_format=zarr_format, write_empty_chunks=True
    )
    kept[...] = 0
    assert len(_chunk_keys(store, "kept")) == 2


def _chunk_keys(store, path=""):
    prefix = f"{path}/" if path else ""
    return [k for k in sync(store.list(prefix)) if not k.endswith(("zarr.json", ".zarray", ".zattrs", ".zgroup"))]


def test_negative_zero_is_not_taken_for_a_zero_fill_value():
    store = MemoryStore()
    array = zarrkit.create_array(store, shape=(4,), dtype="float64", chunks=(4,), fill_value=0.0)
    array[...] = -0.0
    assert np.signbit(zarrkit.open_array(store)[...]).all()


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_zero_dimensional_and_zero_length(zarr_format):
    store = MemoryStore()
    scalar = zarrkit.create_array(store, name="s", shape=(), dtype="int64", zarr_format=zarr_format)
    scalar[...] = 42
    assert scalar[()] == 42
    assert zarrkit.open_array(store, path="s")[...].shape == ()
    empty = zarrkit.create_array(store, name="e", shape=(0, 5), dtype="float32", chunks=(3, 3), zarr_format=zarr_format)
    assert empty[...].shape == (0, 5)
    empty[...] = 1.0
    assert empty[:, 2:].shape == (0, 3)


# -- selections against NumPy ---------------------------------------------------------------------

SHAPE = (13, 9, 6)
CHUNKS = (4, 5, 3)


def _slice_strategy(length):
    bound = st.one_of(st.none(), st.integers(-length - 2, length + 2))
    step = st.one_of(st.none(), st.integers(-4, 4).filter(lambda s: s != 0))
    return st.builds(slice, bound, bound, step)


def _basic_selection(shape):
    items = [st.one_of(st.integers(-n, n - 1), _slice_strategy(n)) for n in shape]
    return st.tuples(*items).flatmap(
        lambda t: st.integers(0, len(t)).map(lambda k: t[:k] + (Ellipsis,) if k < len(t) else t)
    )


@pytest.fixture(scope="module", params=FORMATS + ["sharded"])
def mirrored(request):
    data = _random(SHAPE, "int32", seed=3)
    store = MemoryStore()
    if request.param == "sharded":
        array = zarrkit.create_array(store, shape=SHAPE, dtype="int32", chunks=(2, 5, 3), shards=CHUNKS[:1] + (5, 3))
    else:
        array = zarrkit.create_array(store, shape=SHAPE, dtype="int32", chunks=CHUNKS, zarr_format=request.param)
    array[...] = data
    return array, data


@settings(max_examples=60, deadline=None)
@given(selection=_basic_selection(SHAPE))
def test_basic_selection_reads_like_numpy(mirrored, selection):
    array, data = mirrored
    np.testing.assert_array_equal(array[selection], data[selection])


@settings(max_examples=40, deadline=None)
@given(selection=_basic_selection(SHAPE), seed=st.integers(0, 2**16))
def test_basic_selection_writes_like_numpy(selection, seed):
    data = _random(SHAPE, "int32", seed=1)
    expected = data.copy()
    array = zarrkit.create_array(MemoryStore(), shape=SHAPE, dtype="int32", chunks=CHUNKS)
    array[...] = data
    target_shape = expected[selection].shape
    value = _random(target_shape, "int32", seed=seed)
    expected[selection] = value
    array[selection] = value
    np.testing.assert_array_equal(array[...], expected)


def test_orthogonal_vectorized_and_block_selections(mirrored):
    array, data = mirrored
    rows = np.array([12, 0, 5, 5, -1])
    mask = np.zeros(SHAPE[1], dtype=bool)
    mask[[1, 4, 8]] = True
    np.testing.assert_array_equal(array.oindex[rows, mask, 1:5], data[np.ix_(rows % SHAPE[0], mask, np.arange(1, 5))])
    points = (np.array([0, 12, 3, 3]), np.array([8, 0, 4, 4]), np.array([5, 0, 2, 1]))
    np.testing.assert_array_equal(array.vindex[points], data[points])
    full_mask = data % 3 == 0
    np.testing.assert_array_equal(array.vindex[full_mask], data[full_mask])
    np.testing.assert_array_equal(array[full_mask], data[full_mask])
    np.testing.assert_array_equal(array[rows, 2], data[rows, 2])
    chunk_rows = array.chunks[0]
    np.testing.assert_array_equal(array.blocks[1], data[chunk_rows : 2 * chunk_rows])


def test_orthogonal_and_vectorized_writes():
    data = _random(SHAPE, "int32", seed=5)
    array = zarrkit.create_array(MemoryStore(), shape=SHAPE, dtype="int32", chunks=CHUNKS)
    array[...] = data
    expected = data.copy()
    rows, cols = np.array([1, 7, 12]), np.array([0, 8])
    array.oindex[rows, cols, :] = 7
    expected[np.ix_(rows, cols, np.arange(SHAPE[2]))] = 7
    points = (np.array([0, 4, 9]), np.array([1, 2, 3]), np.array([5, 4, 0]))
    array.vindex[points] = np.array([-1, -2, -3])
    expected[points] = [-1, -2, -3]
    array.blocks[0, 1] = 0
    expected[: CHUNKS[0], CHUNKS[1] : 2 * CHUNKS[1]] = 0
    np.testing.assert_array_equal(array[...], expected)


# -- sharding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("index_location", ["start", "end"])
def test_sharded_read_fetches_only_needed_inner_chunks(index_location):
    from tests.helpers import RecordingStore

    inner = MemoryStore()
    data = _random((64, 64), "float64", seed=9)
    from zarrkit.codecs.sharding import ShardingCodec  # noqa: F401 - the array below uses it through `shards`

    array = zarrkit.create_array(inner, shape=data.shape, dtype="float64", chunks=(8, 8), shards=(32, 32))
    array[...] = data
    recording = RecordingStore(inner)
    reopened = zarrkit.open_array(recording)
    recording.read_calls.clear()
    np.testing.assert_array_equal(reopened[3:5, 3:5], data[3:5, 3:5])
    requests = recording.requests()
    # One index read and one inner-chunk read of one shard, both byte ranges.
    assert [key for key, _ in requests] == ["c/0/0", "c/0/0"]
    assert all(byte_range is not None for _, byte_range in requests)
    recording.read_calls.clear()
    np.testing.assert_array_equal(reopened[:32, :32], data[:32, :32])
    assert recording.requests() == [("c/0/0", None)]  # a shard read whole is one request


def test_sharded_partial_write_keeps_other_inner_chunks_and_empty_shards_are_not_written():
    store = MemoryStore()
    data = _random((40, 40), "uint16", seed=2)
    array = zarrkit.create_array(store, shape=data.shape, dtype="uint16", chunks=(5, 5), shards=(20, 20))
    array[...] = data
    array[7:9, 30:33] = 1
    data[7:9, 30:33] = 1
    np.testing.assert_array_equal(zarrkit.open_array(store)[...], data)
    array[20:, 20:] = 0
    assert "c/1/1" not in sync(store.list(""))


def test_nested_sharding_round_trip():
    from zarrkit.codecs import BytesCodec, ShardingCodec, ZstdCodec

    store = MemoryStore()
    inner_shard = ShardingCodec(chunk_shape=(2, 2), codecs=[BytesCodec(), ZstdCodec()])
    data = _random((16, 16), "int16", seed=4)
    array = zarrkit.create_array(
        store, shape=data.shape, dtype="int16", chunks=(4, 4), shards=(8, 8), serializer=inner_shard, compressors=None
    )
    array[...] = data
    np.testing.assert_array_equal(zarrkit.open_array(store)[1:15, 2:9], data[1:15, 2:9])


# -- resize and append ----------------------------------------------------------------------------


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_resize_deletes_chunks_outside_and_resets_cut_edges(zarr_format):
    store = MemoryStore()
    array = zarrkit.create_array(
        store, shape=(10, 10), dtype="int32", chunks=(4, 4), fill_value=-1, zarr_format=zarr_format
    )
    array[...] = np.arange(100).reshape(10, 10)
    array.resize(5, 5)
    assert array.shape == (5, 5)
    assert zarrkit.open_array(store).shape == (5, 5)
    assert len(_chunk_keys(store)) == 4  # 2 x 2 chunks remain
    array.resize((10, 10))
    expected = np.full((10, 10), -1)
    expected[:5, :5] = np.arange(100).reshape(10, 10)[:5, :5]
    np.testing.assert_array_equal(array[...], expected)


def test_append():
    array = zarrkit.create_array(MemoryStore(), shape=(3, 4), dtype="float32", chunks=(2, 2))
    array[...] = 1
    assert array.append(np.full((5, 4), 2, dtype="float32")) == (8, 4)
    assert array.append(np.full((8, 1), 3, dtype="float32"), axis=1) == (8, 5)
    expected = np.concatenate([np.full((3, 4), 1), np.full((5, 4), 2)])
    expected = np.concatenate([expected, np.full((8, 1), 3)], axis=1)
    np.testing.assert_array_equal(array[...], expected)
    with pytest.raises(ShapeError):
        array.append(np.zeros((2, 3)))


def test_attributes_and_dimension_names_persist(store):
    array = zarrkit.create_array(
        store, name="a", shape=(2, 3), dtype="int8", dimension_names=("y", "x"), attributes={"units": "m"}
    )
    array.attrs["long_name"] = "height"
    reopened = zarrkit.open_array(store, path="a")
    assert dict(reopened.attrs) == {"units": "m", "long_name": "height"}
    assert reopened.dimension_names == ("y", "x")


# -- bad input ------------------------------------------------------------------------------------


def test_errors_name_what_and_where():
    store = MemoryStore()
    array = zarrkit.create_array(store, name="grid", shape=(10, 10), dtype="int16", chunks=(5, 5))
    with pytest.raises(SelectionError, match="10"):
        array[10, 0]
    with pytest.raises(SelectionError):
        array[0, 0, 0]
    with pytest.raises(SelectionError):
        array[1.5]
    with pytest.raises(ShapeError, match="grid"):
        array[0:2, 0:2] = np.zeros((3, 3))
    with pytest.raises(ShapeError):
        array[0, 0] = 1.5
    with pytest.raises(ShapeError):
        array[0, 0] = 2**20
    with pytest.raises(NodeNotFound):
        zarrkit.open_array(store, path="nothing")
    with pytest.raises(NodeExists):
        zarrkit.create_array(store, name="grid", shape=(1,), dtype="int8")
    assert zarrkit.create_array(store, name="grid", shape=(1,), dtype="int8", overwrite=True).shape == (1,)


def test_read_only_store_refuses_writes(tmp_path):
    zarrkit.create_array(str(tmp_path), shape=(4,), dtype="int8", chunks=(2,))
    read_only = zarrkit.open_array(str(tmp_path), mode="r")
    with pytest.raises(ReadOnlyError):
        read_only[0] = 1
    with pytest.raises(ReadOnlyError):
        read_only.attrs["a"] = 1


def test_corrupt_chunk_raises_codec_error_naming_the_key():
    store = MemoryStore()
    array = zarrkit.create_array(store, name="v", shape=(8,), dtype="float64", chunks=(4,))
    array[...] = np.arange(8.0)
    sync(store.set("v/c/1", b"not zstd at all"))
    with pytest.raises(CodecError, match="v/c/1"):
        array[...]
    np.testing.assert_array_equal(array[:4], np.arange(4.0))


def test_whole_shard_writes_read_nothing_first():
    from tests.helpers import RecordingStore

    recording = RecordingStore(MemoryStore())
    array = zarrkit.create_array(recording, shape=(64, 64), dtype="int32", chunks=(8, 8), shards=(32, 32))
    recording.read_calls.clear()
    array[:32, :] = 1  # two whole shards
    assert recording.requests() == []
    array[:40, :] = 2  # shards (0, 0) and (0, 1) whole, (1, 0) and (1, 1) in part: only those are read
    assert sorted(key for key, _ in recording.requests()) == ["c/1/0", "c/1/1"]


@pytest.mark.parametrize("zarr_format", FORMATS)
def test_any_mutable_mapping_is_a_store(zarr_format):
    mapping: dict[str, bytes] = {}
    array = zarrkit.create_array(mapping, name="m", shape=(6,), dtype="uint8", chunks=(4,), zarr_format=zarr_format)
    array[...] = np.arange(6)
    assert any(key.startswith("m/") for key in mapping)
    np.testing.assert_array_equal(zarrkit.open_array(mapping, path="m")[...], np.arange(6))


# -- review fixes: append, assignments that would lose information, 0-d index arrays ------------


@pytest.mark.parametrize(("axis", "expected_shape"), [(-1, (2, 6)), (1, (2, 6)), (-2, (4, 3))])
def test_append_takes_negative_axes(axis, expected_shape):
    array = zarrkit.create_array(MemoryStore(), shape=(2, 3), dtype="int32", chunks=(2, 2))
    data = np.arange(6).reshape(2, 3)
    array[...] = data
    added = np.full((2, 3), 9)
    assert array.append(added, axis=axis) == expected_shape
    np.testing.assert_array_equal(array[...], np.concatenate([data, added], axis=axis))


@pytest.mark.parametrize(
    ("data", "axis", "message"),
    [
        (np.full((2, 3), 9), 2, "axis 2 is not a dimension"),
        (np.full((2, 3), 9), -3, "axis -3 is not a dimension"),
        (np.full((2, 3), 9), 1.0, "axis 1.0 is not a dimension"),
        (np.full((2, 3), 1.5), 0, "float64"),  # fractions do not fit int32
        (np.full((2, 4), 9), 0, "cannot append shape"),
        (np.full((2, 3), 2**40), 0, "do not fit"),
    ],
)
def test_failed_append_changes_nothing(data, axis, message):
    store = MemoryStore()
    array = zarrkit.create_array(store, name="grow", shape=(2, 3), dtype="int32", chunks=(2, 2))
    array[...] = np.arange(6).reshape(2, 3)
    with pytest.raises(ShapeError, match=message):
        array.append(data, axis=axis)
    reopened = zarrkit.open_array(store, path="grow")
    assert array.shape == reopened.shape == (2, 3)
    np.testing.assert_array_equal(reopened[...], np.arange(6).reshape(2, 3))


def test_append_to_a_zero_d_array_raises_shape_error():
    array = zarrkit.create_array(MemoryStore(), shape=(), dtype="int8")
    with pytest.raises(ShapeError, match="not a dimension"):
        array.append([1])


@pytest.mark.parametrize("zarr_format", FORMATS)
@pytest.mark.parametrize(("dtype", "good", "bad"), [(str, ["w", "x", "y", "z"], ["a", "b", "c", 3]),
                                                     ("bytes", [b"w", b"x", b"y", b"z"], [b"a", b"b", b"c", "d"])])
def test_elements_of_the_wrong_type_in_variable_length_arrays_are_refused_before_any_write(
    zarr_format, dtype, good, bad
):
    array = zarrkit.create_array(MemoryStore(), shape=(4,), dtype=dtype, chunks=(1,), zarr_format=zarr_format)
    array[...] = good
    with pytest.raises(ShapeError, match="variable-length"):
        array[...] = bad
    with pytest.raises(ShapeError, match="variable-length"):
        array[3] = None
    assert list(array[...]) == good
    numpy_scalars = [np.str_(v) if isinstance(v, str) else np.bytes_(v) for v in bad[:2]]
    array[1:3] = np.array(numpy_scalars, dtype=object)  # subclasses of str and bytes fit too
    assert list(array[...]) == [good[0], *bad[:2], good[3]]


def test_times_are_stored_only_when_no_time_changes():
    array = zarrkit.create_array(MemoryStore(), shape=(2,), dtype="M8[s]", chunks=(2,))
    with pytest.raises(ShapeError, match="finer than its unit"):
        array[...] = np.array(["2020-01-01T00:00:00.900", "2020-01-01T00:00:01"], dtype="M8[ms]")
    whole_seconds = np.array(["2020-01-01T00:00:01.000", "NaT"], dtype="M8[ms]")
    array[...] = whole_seconds
    np.testing.assert_array_equal(array[...], whole_seconds.astype("M8[s]"))
    array[...] = np.array(["2021-06-01", "1969-12-31"], dtype="M8[D]")  # a coarser unit always fits
    assert array[...].tolist() == np.array(["2021-06-01", "1969-12-31"], dtype="M8[s]").tolist()
    fine = zarrkit.create_array(MemoryStore(), shape=(1,), dtype="M8[ns]", chunks=(1,))
    with pytest.raises(ShapeError, match="out of its range"):
        fine[...] = np.array(["290000-01-01"], dtype="M8[Y]")  # NumPy calls this cast safe, but it overflows
    durations = zarrkit.create_array(MemoryStore(), shape=(1,), dtype="m8[m]", chunks=(1,))
    with pytest.raises(ShapeError):
        durations[...] = np.array([90], dtype="m8[s]")


def test_only_zero_and_one_fit_a_bool_array():
    array = zarrkit.create_array(MemoryStore(), shape=(3,), dtype="bool", chunks=(3,))
    for bad in (5, -1, np.array([0, 1, 2])):
        with pytest.raises(ShapeError, match="bool"):
            array[...] = bad
    array[...] = np.array([1, 0, 1], dtype="uint8")
    array[1] = 1
    array[2] = False
    assert array[...].tolist() == [True, True, False]


def test_shape_errors_from_the_cast_are_not_wrapped_twice():
    array = zarrkit.create_array(MemoryStore(), name="t", shape=(2,), dtype="int8", chunks=(2,))
    with pytest.raises(ShapeError) as raised:
        array[...] = np.array([1, 300])
    assert str(raised.value).count("'/t'") == 1
    assert "cannot store" not in str(raised.value)


def test_zero_d_integer_arrays_index_like_integers():
    data = np.arange(24).reshape(2, 3, 4)
    array = zarrkit.create_array(MemoryStore(), shape=data.shape, dtype=data.dtype, chunks=(1, 2, 3))
    array[...] = data
    np.testing.assert_array_equal(array[np.array(1)], data[np.array(1)])
    np.testing.assert_array_equal(array[np.array(1), :, np.array(-1)], data[1, :, -1])
    np.testing.assert_array_equal(array[np.array(0), [2, 0]], data[np.array(0), [2, 0]])
    point = array[np.array(1), np.int8(2), np.array(3)]
    assert point == data[1, 2, 3] and np.ndim(point) == 0
    array[np.array(0)] = -1
    assert (array[0] == -1).all()


def test_async_reads_and_writes_on_the_callers_loop():
    import asyncio

    array = zarrkit.create_array(MemoryStore(), shape=(6,), dtype="int16", chunks=(4,))

    async def work():
        await array.set_async(slice(1, 5), np.arange(4))
        return await array.get_async(), await array.get_async(2)

    everything, one = asyncio.run(work())
    assert everything.tolist() == [0, 0, 1, 2, 3, 0] and one == 1


@pytest.mark.parametrize("bad", ["a", None, 2.9, (2.0,), (-1,), [True]])
def test_resize_to_something_that_is_not_a_shape_raises_metadata_error(bad):
    from zarrkit.errors import MetadataError

    array = zarrkit.create_array(MemoryStore(), shape=(4,), dtype="int8", chunks=(2,))
    with pytest.raises(MetadataError, match="resize"):
        array.resize(bad)
    assert array.shape == (4,)
    array.resize(np.int64(3))
    array.resize((np.int32(5),))
    assert array.shape == (5,)


# -- a chunk length of 0 on an empty dimension (allowed by the v3 spec) ----------------------------


def _zero_chunk_array(store):
    from zarrkit.core.node import write_node_metadata
    from zarrkit.metadata.dtypes import data_type_from_user
    from zarrkit.metadata.v3 import ArrayMetadataV3

    metadata = ArrayMetadataV3(
        shape=(0, 3),
        chunks=(0, 3),
        data_type=data_type_from_user("int32", zarr_format=3),
        fill_value=7,
        codecs=({"name": "bytes", "configuration": {"endian": "little"}},),
    )
    sync(write_node_metadata(store, "empty", metadata))
    return zarrkit.open_array(store, path="empty", mode="r+")


def test_zero_chunk_length_on_an_empty_dimension_reads_writes_and_resizes():
    store = MemoryStore()
    array = _zero_chunk_array(store)
    assert array.chunks == (0, 3) and array.nchunks == 0
    assert array[...].shape == (0, 3) and array[:, 1].shape == (0,)
    assert array.oindex[[], [0, 2]].shape == (0, 2)
    assert array.vindex[np.zeros((0, 3), bool)].shape == (0,)
    assert array.blocks[...].shape == (0, 3)
    array[...] = 1
    array.oindex[[], :] = np.zeros((0, 3))
    assert _chunk_keys(store, "empty") == []
    array.resize(0, 5)
    assert array.shape == (0, 5) == zarrkit.open_array(store, path="empty").shape
    array.resize((0, 1))
    with pytest.raises(ShapeError, match="dimension 0 has a chunk length of 0"):
        array.resize(2, 1)
    with pytest.raises(ShapeError, match="dimension 0 has a chunk length of 0"):
        array.append(np.zeros((1, 1), dtype="int32"))
    assert zarrkit.open_array(store, path="empty").shape == (0, 1)
    assert array.append(np.zeros((0, 2), dtype="int32"), axis=1) == (0, 3)
