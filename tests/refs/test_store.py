"""ReferenceStore: reads through references to local, in-memory, S3 and HTTP targets."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest

import zarrkit
from tests.helpers import RecordingStore
from zarrkit.errors import ReadOnlyError, ReferenceError
from zarrkit.refs import Reference, ReferenceSet
from zarrkit.refs.store import ReferenceStore
from zarrkit.runtime import sync
from zarrkit.storage import LocalStore, MemoryStore, register_protocol
from zarrkit.storage.url import open_store

PAYLOAD = bytes(range(256)) * 16  # 4 KiB, every byte value at a known place


@pytest.fixture
def target_file(tmp_path: Path) -> Path:
    path = tmp_path / "target.bin"
    path.write_bytes(PAYLOAD)
    return path


def small_set(url: str | None) -> ReferenceSet:
    return ReferenceSet(
        {
            "inline": b"hello",
            "range": Reference(url, 100, 50),
            "whole": Reference(url),
            "empty": Reference(url, 10, 0),
        }
    )


def test_reads_inline_ranged_and_whole_file_entries(target_file: Path) -> None:
    store = ReferenceStore(small_set(str(target_file)))
    assert sync(store.get("inline")) == b"hello"
    assert sync(store.get("range")) == PAYLOAD[100:150]
    assert sync(store.get("whole")) == PAYLOAD
    assert sync(store.get("empty")) == b""
    assert sync(store.get("absent")) is None


@pytest.mark.parametrize(
    ("byte_range", "expected"),
    [
        ((0, 10), PAYLOAD[100:110]),
        ((45, 10), PAYLOAD[145:150]),  # clipped at the end of the referenced value, not of the file
        ((60, 5), b""),
        ((20, None), PAYLOAD[120:150]),
        ((-7, None), PAYLOAD[143:150]),
        ((-500, None), PAYLOAD[100:150]),
    ],
)
def test_byte_ranges_apply_within_the_referenced_value(target_file: Path, byte_range, expected: bytes) -> None:
    store = ReferenceStore(small_set(str(target_file)))
    assert sync(store.get("range", byte_range)) == expected
    assert sync(store.get("inline", (1, 3))) == b"ell"
    assert sync(store.get("whole", (-3, None))) == PAYLOAD[-3:]


def test_null_urls_read_the_default_target(target_file: Path) -> None:
    store = ReferenceStore(small_set(None), default_target=target_file.as_uri())
    assert sync(store.get("range")) == PAYLOAD[100:150]
    with pytest.raises(ReferenceError, match="no default target"):
        sync(ReferenceStore(small_set(None)).get("range"))


def test_sizes_listing_and_existence(target_file: Path) -> None:
    store = ReferenceStore(small_set(str(target_file)))
    assert sync(store.getsize("range")) == 50
    assert sync(store.getsize("whole")) == len(PAYLOAD)
    assert sync(store.getsize("inline")) == 5
    assert sync(store.getsize("absent")) is None
    assert sync(store.exists("range")) and not sync(store.exists("absent"))
    assert sync(store.list()) == ["empty", "inline", "range", "whole"]
    assert sync(store.list_dir()) == (["empty", "inline", "range", "whole"], [])


def test_every_write_is_refused(target_file: Path) -> None:
    store = ReferenceStore(small_set(str(target_file)))
    with pytest.raises(ReadOnlyError):
        sync(store.set("inline", b"x"))
    with pytest.raises(ReadOnlyError):
        sync(store.delete("inline"))
    with pytest.raises(ReadOnlyError):
        zarrkit.open_array(store, mode="r+")


def test_missing_target_names_key_and_url(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.nc")
    store = ReferenceStore(ReferenceSet({"a/0": Reference(missing, 0, 10)}))
    with pytest.raises(ReferenceError) as caught:
        sync(store.get("a/0"))
    assert "'a/0'" in str(caught.value) and missing in str(caught.value)


def test_range_past_the_end_of_the_target_is_an_error(target_file: Path) -> None:
    store = ReferenceStore(ReferenceSet({"a/0": Reference(str(target_file), len(PAYLOAD) - 10, 20)}))
    with pytest.raises(ReferenceError, match=r"'a/0'.*past its end"):
        sync(store.get("a/0"))


def test_non_references_are_refused() -> None:
    with pytest.raises(ReferenceError, match="needs References"):
        ReferenceStore({"a": b"x"})  # type: ignore[arg-type]


def _packed_array(tmp_path: Path, zarr_format: int) -> tuple[ReferenceSet, np.ndarray, Path]:
    """An array written by zarrkit, its chunk files packed into one file, and references into it."""
    values = np.arange(60 * 70, dtype="float64").reshape(60, 70)
    values[40:, :] = 0
    written = LocalStore(tmp_path / "written")
    array = zarrkit.create_array(
        written, shape=values.shape, dtype="float64", chunks=(10, 15), fill_value=0, zarr_format=zarr_format
    )
    array[...] = values
    pack = tmp_path / "pack.bin"
    references = ReferenceSet()
    with pack.open("wb") as out:
        out.write(b"header" * 5)  # references need not start at the beginning
        for key in sync(written.list()):
            data = sync(written.get(key))
            if key.endswith((".zarray", ".zattrs", "zarr.json")):
                references[key] = data
            else:
                references[key] = Reference(str(pack), out.tell(), len(data))
                out.write(data)
    return references, values, pack


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_an_array_reads_through_references(tmp_path: Path, zarr_format: int) -> None:
    references, values, _ = _packed_array(tmp_path, zarr_format)
    store = ReferenceStore(references)
    assert store.blocking_reader() is not None  # local targets: read in the codec pool
    array = zarrkit.open_array(store)
    np.testing.assert_array_equal(array[...], values)
    np.testing.assert_array_equal(array[5:33, 7:61], values[5:33, 7:61])


def test_an_array_with_a_missing_chunk_target_raises_instead_of_filling(tmp_path: Path) -> None:
    references, _, pack = _packed_array(tmp_path, 3)
    pack.unlink()
    with pytest.raises(ReferenceError, match="pack.bin"):
        zarrkit.open_array(ReferenceStore(references))[...]


def test_targets_in_a_store_without_blocking_reads_are_read_in_one_batch_per_store(tmp_path: Path) -> None:
    """A protocol registered for the test wraps a MemoryStore in a RecordingStore: each batch is one
    get_many per target store, whatever the number of files and keys."""
    recorded: dict[str, RecordingStore] = {}
    protocol = f"recording{uuid.uuid4().hex[:8]}"

    def open_recording(url: str, mode: str, storage_options: dict) -> RecordingStore:
        return recorded.setdefault(url, RecordingStore(MemoryStore()))

    register_protocol(protocol, open_recording)
    references, values, pack = _packed_array(tmp_path, 2)
    blob = pack.read_bytes()
    moved = ReferenceSet()
    for key, entry in references.items():
        if isinstance(entry, Reference):
            # Alternate the chunks between two files of one store.
            name = "even.bin" if entry.offset % 2 == 0 else "odd.bin"
            entry = Reference(f"{protocol}://bucket/{name}", entry.offset, entry.length)
        moved[key] = entry
    store = ReferenceStore(moved)
    assert store.blocking_reader() is None
    recording = store.targets.resolve(f"{protocol}://bucket/even.bin")[0]
    sync(recording.inner.set_many([("even.bin", blob), ("odd.bin", blob)]))
    outer = RecordingStore(store)
    array = zarrkit.open_array(outer)
    recording.read_calls.clear()
    outer.read_calls.clear()
    np.testing.assert_array_equal(array[...], values)
    assert len(recorded) == 1
    # One target batch per batch of the engine that asks for stored chunks.
    stored = {key for key, entry in moved.items() if isinstance(entry, Reference)}
    assert len(recording.read_calls) == sum(1 for call in outer.read_calls if stored & {key for key, _ in call})
    assert len(recording.requests()) == 4 * 5  # the 20 stored chunks
    assert any({key for key, _ in call} == {"even.bin", "odd.bin"} for call in recording.read_calls)


def test_http_targets_are_coalesced_into_few_requests(nginx_server) -> None:
    directory, url = nginx_server.fresh_directory()
    (directory / "data.bin").write_bytes(PAYLOAD)
    references = ReferenceSet({f"k{i}": Reference(f"{url}/data.bin", i * 64, 64) for i in range(64)})
    store = ReferenceStore(references, target_options={"http": nginx_server.storage_options})
    answers = sync(store.get_many([(f"k{i}", None) for i in range(64)]))
    assert answers == [PAYLOAD[i * 64 : (i + 1) * 64] for i in range(64)]
    path = "/" + url.rsplit("/", 1)[1] + "/data.bin"
    assert [request.method for request in nginx_server.requests(path)] == ["GET"]


def test_s3_targets_with_per_protocol_options(s3_server) -> None:
    url = s3_server.fresh_url()
    sync(open_store(url, mode="a", storage_options=s3_server.storage_options).set("blob.bin", PAYLOAD))
    references = small_set(f"{url}/blob.bin")
    store = ReferenceStore(references, target_options={"s3": s3_server.storage_options})
    assert sync(store.get_many([("range", None), ("whole", None), ("inline", None)])) == [
        PAYLOAD[100:150],
        PAYLOAD,
        b"hello",
    ]
    missing = ReferenceStore(small_set(f"{url}/absent.bin"), target_options={"s3": s3_server.storage_options})
    with pytest.raises(ReferenceError, match="absent.bin"):
        sync(missing.get("range"))


def test_unreachable_http_target_names_key_and_url(nginx_server) -> None:
    from tests.servers.process import free_port

    dead = f"http://127.0.0.1:{free_port()}/data.bin"
    store = ReferenceStore(
        ReferenceSet({"a/0": Reference(dead, 0, 8)}), target_options={"http": nginx_server.storage_options}
    )
    with pytest.raises(ReferenceError) as caught:
        sync(store.get("a/0"))
    assert "'a/0'" in str(caught.value) and dead in str(caught.value)
