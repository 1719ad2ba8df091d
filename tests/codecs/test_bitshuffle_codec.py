"""zarrkit_bitshuffle against the HDF5 bitshuffle filter (hdf5plugin) without compression, with LZ4 and
with zstd: chunks HDF5 wrote decode to h5py's values, chunks we encode are read back by h5py, and
corrupt chunks and bad configurations raise."""

from __future__ import annotations

import struct
from pathlib import Path

import h5py
import hdf5plugin
import imagecodecs
import numcodecs
import numpy as np
import pytest

from zarrkit.codecs import BitshuffleCodec
from zarrkit.codecs.bitshuffle import default_block_size
from zarrkit.errors import CodecError, MetadataError

COMPRESSIONS = ("none", "lz4", "zstd")

# One-chunk datasets: item counts that are and are not multiples of 8, below 8, one, and several
# blocks of the default block size (2048 items of 4 bytes, 1024 of 8) or of an explicit one.
CASES: dict[str, tuple[np.ndarray, int]] = {
    "int32_1003": ((np.arange(1003) // 7).astype("<i4"), 0),
    "int32_5000_three_blocks": ((np.arange(5000) // 7).astype("<i4"), 0),
    "float64_big_endian_2050": (np.linspace(0, 100, 2050).astype(">f8"), 0),
    "uint8_77_block_16": ((np.arange(77) % 9).astype("u1"), 16),
    "int16_5": (np.arange(5, dtype="<i2"), 0),
    "int64_one": (np.array([-3], dtype="<i8"), 0),
    "complex_300_block_64": ((np.arange(300) % 5 + 2j).astype("<c16"), 64),
    "compound_100": (
        np.array([(index, index / 4) for index in range(100)], dtype=[("id", "<i2"), ("value", "<f4")]),
        0,
    ),
}


def codec_for(data: np.ndarray, blocksize: int, compression: str) -> BitshuffleCodec:
    return BitshuffleCodec(itemsize=data.dtype.itemsize, blocksize=blocksize, compression=compression)


@pytest.fixture(scope="module")
def bitshuffle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bitshuffle") / "bitshuffle.h5"
    with h5py.File(path, "w") as file:
        for compression in COMPRESSIONS:
            for name, (data, blocksize) in CASES.items():
                file.create_dataset(
                    f"{compression}/{name}",
                    data=data,
                    chunks=data.shape,
                    **hdf5plugin.Bitshuffle(nelems=blocksize, cname=compression),
                )
    return path


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_chunks_hdf5_wrote_decode_to_h5py_values(bitshuffle_path: Path, compression: str) -> None:
    with h5py.File(bitshuffle_path, "r") as file:
        for name, (data, blocksize) in CASES.items():
            dataset = file[f"{compression}/{name}"]
            mask, stored = dataset.id.read_direct_chunk((0,))
            assert mask == 0, name
            decoded = codec_for(data, blocksize, compression).decode(stored)
            np.testing.assert_array_equal(np.frombuffer(decoded, dtype=dataset.dtype), dataset[:], err_msg=name)
            np.testing.assert_array_equal(dataset[:], data, err_msg=name)
            if compression != "none":
                decoded_bytes, block_bytes = struct.unpack(">QI", stored[:12])
                expected_block = (blocksize or default_block_size(data.dtype.itemsize)) * data.dtype.itemsize
                assert (decoded_bytes, block_bytes) == (data.nbytes, expected_block), name


@pytest.mark.parametrize("compression", ["none", "lz4"])
def test_we_encode_the_bytes_hdf5_stores(bitshuffle_path: Path, compression: str) -> None:
    """Bitshuffling is deterministic, and imagecodecs' LZ4 compresses each block as the filter does."""
    with h5py.File(bitshuffle_path, "r") as file:
        for name, (data, blocksize) in CASES.items():
            _, stored = file[f"{compression}/{name}"].id.read_direct_chunk((0,))
            assert codec_for(data, blocksize, compression).encode(data) == stored, name


@pytest.mark.parametrize("compression", COMPRESSIONS)
def test_chunks_we_encode_are_read_by_h5py(tmp_path: Path, compression: str) -> None:
    path = tmp_path / f"ours_{compression}.h5"
    level = 7 if compression == "zstd" else None
    with h5py.File(path, "w") as file:
        for name, (data, blocksize) in CASES.items():
            codec = BitshuffleCodec(data.dtype.itemsize, blocksize, compression, level)
            dataset = file.create_dataset(
                name,
                shape=data.shape,
                dtype=data.dtype,
                chunks=data.shape,
                **hdf5plugin.Bitshuffle(nelems=blocksize, cname=compression),
            )
            dataset.id.write_direct_chunk((0,), codec.encode(data), filter_mask=0)
    with h5py.File(path, "r") as file:
        for name, (data, _) in CASES.items():
            np.testing.assert_array_equal(file[name][:], data, err_msg=name)


@pytest.mark.parametrize("compression", COMPRESSIONS)
@pytest.mark.parametrize(
    ("data", "blocksize"),
    [
        (np.array([], dtype="<f4"), 0),
        (np.array([1.5], dtype="<f8"), 0),
        (np.arange(7, dtype="u1"), 0),
        (np.arange(9, dtype=">i4"), 8),
        (np.random.default_rng(2).random(4100), 0),  # incompressible, 4 blocks + 4 leftover items
        (np.arange(1000, dtype="<u2").reshape(20, 50), 128),
    ],
    ids=["empty", "one", "seven", "nine_block_8", "random_blocks", "two_dimensional"],
)
def test_round_trip(data: np.ndarray, blocksize: int, compression: str) -> None:
    codec = codec_for(data, blocksize, compression)
    encoded = codec.encode(data)
    assert codec.decode(encoded) == data.tobytes()
    out = np.empty_like(data)
    codec.decode(encoded, out=out)
    np.testing.assert_array_equal(out, data)


def test_default_block_size_follows_the_library_rule() -> None:
    # 8192 bytes' worth of items, rounded down to a multiple of 8, at least 128.
    expected = {1: 8192, 2: 4096, 4: 2048, 8: 1024, 16: 512, 24: 336, 64: 128, 100: 128}
    assert {itemsize: default_block_size(itemsize) for itemsize in expected} == expected


def compressed_chunk(compression: str) -> tuple[BitshuffleCodec, bytes]:
    """A codec and a chunk of 172 bytes: 2 full blocks of 16 int32, a last block of 8 and 3 leftover items."""
    data = np.arange(43, dtype="<i4")
    codec = BitshuffleCodec(itemsize=4, blocksize=16, compression=compression)
    return codec, codec.encode(data)


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_corrupt_compressed_chunks_raise_naming_what_is_wrong(compression: str) -> None:
    codec, chunk = compressed_chunk(compression)
    header = struct.Struct(">QI")
    body = chunk[header.size :]
    cases = {
        "truncated chunk: 11 bytes, its header alone needs 12": chunk[:11],
        "header says 173 decoded bytes, not a whole number of 4-byte items": header.pack(173, 64) + body,
        "block size of 60 bytes is not a positive multiple of 8 items": header.pack(172, 60) + body,
        "block size of 0 bytes": header.pack(172, 0) + body,
        "block size of 6 bytes": header.pack(172, 6) + body,
        # A header claiming petabytes is refused before anything is allocated.
        r"which need at least \d+ bytes; the chunk has": header.pack(2**50, 64) + body,
        r"block 2 says it has \d+ compressed bytes at offset \d+, but the chunk ends at": chunk[:-14],
        r"bytes follow the last block, but the 3 leftover items need 12": chunk + b"\x00",
        "leftover items need 12": chunk[:-1],
        "block 0: cannot decompress": chunk[:16] + b"\xff" * (len(chunk) - 16),
    }
    for message, corrupt in cases.items():
        with pytest.raises(CodecError, match=rf"'zarrkit_bitshuffle' \({compression}\).*{message}"):
            codec.decode(corrupt)


def test_a_block_that_decompresses_to_another_size_raises() -> None:
    codec, chunk = compressed_chunk("zstd")
    # Replace block 0 (64 bytes once decompressed) with a valid zstd frame of 32 bytes.
    frame = imagecodecs.zstd_encode(bytes(32))
    (first_size,) = struct.unpack(">I", chunk[12:16])
    forged = chunk[:12] + struct.pack(">I", len(frame)) + frame + chunk[16 + first_size :]
    with pytest.raises(CodecError, match=r"\(zstd\): block 0: decompresses to 32 bytes, not 64"):
        codec.decode(forged)


def test_uncompressed_chunks_of_partial_items_raise() -> None:
    codec = BitshuffleCodec(itemsize=4)
    with pytest.raises(CodecError, match="'zarrkit_bitshuffle': 10 bytes are not a whole number of 4-byte items"):
        codec.decode(bytes(10))
    with pytest.raises(CodecError, match="10 bytes are not a whole number of 4-byte items"):
        BitshuffleCodec(itemsize=4, compression="lz4").encode(bytes(10))


@pytest.mark.parametrize(
    ("configuration", "field"),
    [
        ({"itemsize": 0}, "itemsize"),
        ({"itemsize": "4"}, "itemsize"),
        ({"itemsize": 4, "blocksize": 12}, "blocksize"),
        ({"itemsize": 4, "blocksize": -8}, "blocksize"),
        ({"itemsize": 4, "compression": "gzip"}, "compression"),
        ({"itemsize": 4, "compression": "lz4", "level": 3}, "level"),
        ({"itemsize": 4, "level": 3}, "level"),
        ({"itemsize": 4, "compression": "zstd", "level": 23}, "level"),
        ({"itemsize": 4, "compression": "zstd", "level": 2.5}, "level"),
    ],
)
def test_bad_configuration_names_the_field(configuration: dict[str, object], field: str) -> None:
    with pytest.raises(MetadataError, match=f"'zarrkit_bitshuffle'.*'{field}'"):
        BitshuffleCodec(**configuration)  # type: ignore[arg-type]


def test_config_round_trip_and_numcodecs_registry() -> None:
    zstd = BitshuffleCodec(itemsize=8, blocksize=64, compression="zstd", level=-5)
    assert zstd.get_config() == {
        "id": "zarrkit_bitshuffle",
        "itemsize": 8,
        "blocksize": 64,
        "compression": "zstd",
        "level": -5,
    }
    plain = BitshuffleCodec(itemsize=2)
    assert plain.get_config() == {"id": "zarrkit_bitshuffle", "itemsize": 2, "blocksize": 0, "compression": "none"}
    for codec in (zstd, plain):
        configuration = codec.get_config()
        found = numcodecs.get_codec(dict(configuration))
        assert isinstance(found, BitshuffleCodec) and found == codec
        del configuration["id"]  # numcodecs hands from_config the configuration without its id
        assert BitshuffleCodec.from_config(configuration) == codec
    assert zstd != BitshuffleCodec(itemsize=8, blocksize=64, compression="zstd", level=-4)
