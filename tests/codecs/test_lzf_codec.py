"""zarrkit_lzf against h5py's LZF filter: chunks h5py wrote decode to h5py's values, chunks we encode
are read back by h5py, and corrupt streams and bad configurations raise."""

from __future__ import annotations

import math
from pathlib import Path

import h5py
import numcodecs
import numpy as np
import pytest

from zarrkit.codecs import LzfCodec
from zarrkit.errors import CodecError, MetadataError

# Compressible values of several types and chunk shapes; (7,) and (13, 5) leave partial edge chunks.
DATASETS: dict[str, tuple[np.ndarray, tuple[int, ...]]] = {
    "int32": ((np.arange(60 * 20, dtype="<i4") // 7).reshape(60, 20), (16, 7)),
    "float64_big_endian": (np.repeat(np.linspace(0, 1, 50), 4).astype(">f8").reshape(40, 5), (13, 5)),
    "uint8": ((np.arange(300) % 10).astype("u1"), (100,)),
    "int16_one_chunk": (np.arange(40, dtype="<i2") % 5, (40,)),
    "complex": ((np.arange(64) % 4 + 1j).astype("<c16"), (7,)),
}


def chunk_bytes(dataset: h5py.Dataset) -> int:
    return math.prod(dataset.chunks) * dataset.dtype.itemsize


def chunk_origins(dataset: h5py.Dataset) -> list[tuple[int, ...]]:
    return [dataset.id.get_chunk_info(index).chunk_offset for index in range(dataset.id.get_num_chunks())]


def chunk_values(dataset: h5py.Dataset, decoded: bytes, origin: tuple[int, ...]) -> np.ndarray:
    """The part of the full-size chunk ``decoded`` at ``origin`` that lies inside the dataset."""
    block = np.frombuffer(decoded, dtype=dataset.dtype).reshape(dataset.chunks)
    inside = tuple(
        slice(0, min(chunk, length - start))
        for chunk, length, start in zip(dataset.chunks, dataset.shape, origin, strict=True)
    )
    return block[inside]


def dataset_region(dataset: h5py.Dataset, origin: tuple[int, ...]) -> np.ndarray:
    return dataset[tuple(slice(start, start + chunk) for start, chunk in zip(origin, dataset.chunks, strict=True))]


@pytest.fixture(scope="module")
def lzf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lzf") / "lzf.h5"
    with h5py.File(path, "w") as file:
        for name, (data, chunks) in DATASETS.items():
            file.create_dataset(name, data=data, chunks=chunks, compression="lzf")
    return path


def test_chunks_h5py_wrote_decode_to_h5py_values(lzf_path: Path) -> None:
    decoded_chunks = 0
    with h5py.File(lzf_path, "r") as file:
        for name in DATASETS:
            dataset = file[name]
            codec = LzfCodec(decoded_size=chunk_bytes(dataset))
            for origin in chunk_origins(dataset):
                mask, stored = dataset.id.read_direct_chunk(origin)
                assert mask == 0, (name, origin)  # compressible: every chunk went through LZF
                decoded = codec.decode(stored)
                np.testing.assert_array_equal(
                    chunk_values(dataset, decoded, origin), dataset_region(dataset, origin), err_msg=name
                )
                decoded_chunks += 1
    assert decoded_chunks == 4 * 3 + 4 + 3 + 1 + 10


def test_chunks_we_encode_are_read_by_h5py(tmp_path: Path) -> None:
    random = np.random.default_rng(5).integers(0, 2**32, size=(64,), dtype="<u4")
    values = {
        "compressible": np.arange(64, dtype="<u4") // 3,
        # Incompressible: our stream is longer than the data, which h5py's LZF still decodes.
        "random": random,
    }
    path = tmp_path / "ours.h5"
    codec = LzfCodec(decoded_size=32 * 4)
    with h5py.File(path, "w") as file:
        for name, data in values.items():
            dataset = file.create_dataset(name, shape=data.shape, dtype="<u4", chunks=(32,), compression="lzf")
            for start in (0, 32):
                encoded = codec.encode(data[start : start + 32])
                dataset.id.write_direct_chunk((start,), encoded, filter_mask=0)
            assert dataset.id.get_chunk_info(0).filter_mask == 0
    assert len(codec.encode(random[:32])) > 32 * 4
    with h5py.File(path, "r") as file:
        for name, data in values.items():
            np.testing.assert_array_equal(file[name][:], data, err_msg=name)


def test_h5py_stores_a_chunk_lzf_cannot_shrink_unfiltered_with_its_mask_bit_set(tmp_path: Path) -> None:
    data = np.random.default_rng(0).integers(0, 2**32, size=(64,), dtype="<u4")
    path = tmp_path / "incompressible.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("random", data=data, chunks=(64,), compression="lzf")
    with h5py.File(path, "r") as file:
        mask, stored = file["random"].id.read_direct_chunk((0,))
    assert mask == 1 and stored == data.tobytes()  # the raw values, not an LZF stream


@pytest.mark.parametrize(
    "data",
    [
        np.array([], dtype="<f8"),
        np.array([7], dtype="u1"),
        np.arange(7, dtype="<i4"),
        np.arange(1001, dtype=">i8") % 17,
        np.random.default_rng(1).random(333),
        np.zeros((30, 40), dtype="<f4"),
    ],
    ids=["empty", "one_byte", "seven_items", "big_endian", "random", "two_dimensional"],
)
def test_round_trip(data: np.ndarray) -> None:
    codec = LzfCodec(decoded_size=data.nbytes)
    encoded = codec.encode(data)
    assert codec.decode(encoded) == data.tobytes()
    out = np.empty_like(data)
    codec.decode(encoded, out=out)
    np.testing.assert_array_equal(out, data)


def test_corrupt_and_mismatched_streams_raise() -> None:
    data = (np.arange(500, dtype="<i4") // 9).tobytes()
    codec = LzfCodec(decoded_size=len(data))
    encoded = codec.encode(data)
    with pytest.raises(CodecError, match=r"'zarrkit_lzf'.*decodes to \d+ bytes, not the configured decoded_size 2000"):
        codec.decode(encoded[:-3])  # a truncated stream decodes to fewer bytes
    with pytest.raises(CodecError, match="'zarrkit_lzf': cannot decode"):
        codec.decode(b"\xff\xff\xff\xff")
    with pytest.raises(CodecError, match="decoded_size too small"):
        LzfCodec(decoded_size=len(data) - 1).decode(encoded)
    with pytest.raises(CodecError, match="not the configured decoded_size 2001"):
        LzfCodec(decoded_size=len(data) + 1).decode(encoded)
    with pytest.raises(CodecError, match="decodes to 0 bytes, not the configured decoded_size 2000"):
        codec.decode(b"")
    with pytest.raises(CodecError, match="cannot encode 1999 bytes with decoded_size 2000"):
        codec.encode(data[:-1])


@pytest.mark.parametrize("decoded_size", [-1, 1.5, "8", True, None])
def test_bad_configuration_names_the_field(decoded_size: object) -> None:
    with pytest.raises(MetadataError, match="'zarrkit_lzf'.*'decoded_size'"):
        LzfCodec(decoded_size=decoded_size)  # type: ignore[arg-type]


def test_config_round_trip_and_numcodecs_registry() -> None:
    codec = LzfCodec(decoded_size=448)
    assert codec.get_config() == {"id": "zarrkit_lzf", "decoded_size": 448}
    configuration = codec.get_config()
    del configuration["id"]  # numcodecs hands from_config the configuration without its id
    assert LzfCodec.from_config(configuration) == codec
    found = numcodecs.get_codec({"id": "zarrkit_lzf", "decoded_size": 448})
    assert isinstance(found, LzfCodec) and found == codec
    assert found != LzfCodec(decoded_size=449)
