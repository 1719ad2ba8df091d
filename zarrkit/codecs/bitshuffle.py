"""The bitshuffle codec of HDF5 files: the numcodecs codec ``zarrkit_bitshuffle``, reading and writing what
the HDF5 bitshuffle filter (HDF5 filter 32008, as hdf5plugin.Bitshuffle writes it) stores per chunk, with
no compression, LZ4 or zstd.

Bitshuffle transposes the bits of the elements in blocks of ``blocksize`` elements (a multiple of 8;
0 picks the library's default: 8192 bytes' worth of elements rounded down to a multiple of 8, at least
128). A last block shorter than ``blocksize`` is cut down to a multiple of 8 elements, and the 0 to 7
elements left over are copied unchanged at the end. Without compression, that bitshuffled stream is
the chunk. With compression the chunk is:

- an 8-byte big-endian count of the decoded bytes, and a 4-byte big-endian block size in bytes (the
  decoder follows it, as the filter does, rather than the configured ``blocksize``);
- per block, a 4-byte big-endian compressed size and the block's bitshuffled bytes compressed (a raw
  LZ4 block, or a zstd frame);
- the leftover elements, uncompressed.

Decoding decompresses the blocks into the plain bitshuffled stream and unshuffles it once; encoding
does the reverse, and writes what the filter writes (byte for byte where the compressors agree).

imagecodecs does the work; it is imported only to encode or decode, so registering the codec (which
``import zarrkit.codecs`` does) works without it.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
from numcodecs.abc import Codec as Numcodec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

from zarrkit.codecs._support import check_choice, check_int
from zarrkit.errors import CodecError, MetadataError
from zarrkit.storage.optional import import_optional

BITSHUFFLE_CODEC_ID = "zarrkit_bitshuffle"
"""The numcodecs id of the codec."""

COMPRESSIONS = ("none", "lz4", "zstd")
"""The compressions the codec applies after bitshuffling; the filter numbers them 0, 2 and 3."""

TARGET_BLOCK_BYTES = 8192
"""The bitshuffle library's default block size (``blocksize`` 0) in bytes, before rounding."""

MINIMUM_DEFAULT_BLOCK = 128
"""The bitshuffle library's smallest default block size, in elements."""

BLOCK_MULTIPLE = 8
"""Blocks are whole multiples of this many elements; up to 7 elements are left over at the end."""

ZSTD_LEVELS = (-131072, 22)
"""The range of zstd compression levels."""

_HEADER = struct.Struct(">QI")  # decoded bytes, block size in bytes
_BLOCK_SIZE = struct.Struct(">I")  # compressed bytes of one block


def default_block_size(itemsize: int) -> int:
    """The block size in elements that the bitshuffle library picks for ``blocksize`` 0."""
    elements = TARGET_BLOCK_BYTES // itemsize // BLOCK_MULTIPLE * BLOCK_MULTIPLE
    return max(elements, MINIMUM_DEFAULT_BLOCK)


class BitshuffleCodec(Numcodec):
    """The numcodecs codec ``zarrkit_bitshuffle``: bitshuffle over elements of ``itemsize`` bytes in
    blocks of ``blocksize`` elements (0: the library's default), then ``compression`` ("none", "lz4"
    or "zstd", the latter at zstd ``level``; None: zstd's default), as the HDF5 bitshuffle filter stores it.

    Raises MetadataError naming the field for an item size below 1, a block size that is not a
    multiple of 8, an unknown compression, or a level outside zstd's range or given without zstd.
    """

    codec_id = BITSHUFFLE_CODEC_ID

    def __init__(self, itemsize: int, blocksize: int = 0, compression: str = "none", level: int | None = None) -> None:
        self.itemsize = check_int(BITSHUFFLE_CODEC_ID, "itemsize", itemsize, minimum=1)
        self.blocksize = check_int(BITSHUFFLE_CODEC_ID, "blocksize", blocksize, minimum=0)
        if self.blocksize % BLOCK_MULTIPLE:
            raise MetadataError(
                f"codec {BITSHUFFLE_CODEC_ID!r}: configuration field 'blocksize' must be a multiple of "
                f"{BLOCK_MULTIPLE} (or 0 for the default), got {blocksize!r}"
            )
        self.compression = check_choice(BITSHUFFLE_CODEC_ID, "compression", compression, COMPRESSIONS)
        if level is not None and self.compression != "zstd":
            raise MetadataError(
                f"codec {BITSHUFFLE_CODEC_ID!r}: configuration field 'level' applies only to compression "
                f"'zstd', not {self.compression!r}"
            )
        if level is not None:
            level = check_int(BITSHUFFLE_CODEC_ID, "level", level, minimum=ZSTD_LEVELS[0], maximum=ZSTD_LEVELS[1])
        self.level = level

    def get_config(self) -> dict[str, Any]:
        """The codec's configuration with its id; ``level`` only when set."""
        config: dict[str, Any] = {
            "id": self.codec_id,
            "itemsize": self.itemsize,
            "blocksize": self.blocksize,
            "compression": self.compression,
        }
        if self.level is not None:
            config["level"] = self.level
        return config

    def encode(self, buf: Any) -> bytes:
        """The bytes of ``buf`` bitshuffled and compressed as the HDF5 bitshuffle filter stores them.

        Raises CodecError when ``buf`` is not a whole number of items, and UnsupportedFeature without imagecodecs.
        """
        data = self._whole_items(buf)
        imagecodecs = _imagecodecs()
        shuffled = imagecodecs.bitshuffle_encode(data, itemsize=self.itemsize, blocksize=self.blocksize)
        if self.compression == "none":
            return bytes(shuffled)
        block_elements = self.blocksize or default_block_size(self.itemsize)
        pieces = [_HEADER.pack(len(data), block_elements * self.itemsize)]
        view = memoryview(shuffled)
        position = 0
        for size in _block_byte_sizes(len(data) // self.itemsize, self.itemsize, block_elements):
            block = view[position : position + size]
            if self.compression == "lz4":
                compressed = imagecodecs.lz4_encode(block)
            else:
                compressed = imagecodecs.zstd_encode(block, level=self.level)
            pieces += [_BLOCK_SIZE.pack(len(compressed)), compressed]
            position += size
        pieces.append(view[position:])  # the leftover elements, as they are
        return b"".join(pieces)

    def decode(self, buf: Any, out: Any = None) -> Any:
        """The bytes the chunk ``buf`` holds, copied into ``out`` when given.

        Raises CodecError naming what is wrong for a truncated or corrupt chunk (short header, a
        block size that is not whole items in multiples of 8, a block that is cut off or decompresses
        to another size, bytes missing or left over at the end), and UnsupportedFeature without imagecodecs.
        """
        if self.compression == "none":
            shuffled, block_elements = self._whole_items(buf), self.blocksize
        else:
            shuffled, block_elements = self._decompress(memoryview(ensure_contiguous_ndarray(buf).view(np.uint8)))
        imagecodecs = _imagecodecs()
        try:
            decoded = imagecodecs.bitshuffle_decode(shuffled, itemsize=self.itemsize, blocksize=block_elements)
        except (imagecodecs.BitshuffleError, ValueError) as error:
            raise CodecError(f"codec {BITSHUFFLE_CODEC_ID!r}: cannot unshuffle the chunk: {error}") from error
        return decoded if out is None else ndarray_copy(decoded, out)

    def _whole_items(self, buf: Any) -> memoryview:
        """``buf`` as bytes; CodecError when they are not a whole number of items."""
        data = memoryview(ensure_contiguous_ndarray(buf).view(np.uint8))
        if len(data) % self.itemsize:
            raise CodecError(
                f"codec {BITSHUFFLE_CODEC_ID!r}: {len(data)} bytes are not a whole number of {self.itemsize}-byte items"
            )
        return data

    def _decompress(self, data: memoryview) -> tuple[bytes, int]:
        """The plain bitshuffled stream of the compressed chunk ``data``, and its block size in elements."""
        where = f"codec {BITSHUFFLE_CODEC_ID!r} ({self.compression})"
        if len(data) < _HEADER.size:
            raise CodecError(f"{where}: truncated chunk: {len(data)} bytes, its header alone needs {_HEADER.size}")
        decoded_bytes, block_bytes = _HEADER.unpack_from(data)
        if decoded_bytes % self.itemsize:
            raise CodecError(
                f"{where}: the header says {decoded_bytes} decoded bytes, not a whole number of {self.itemsize}-byte items"
            )
        block_elements, remainder = divmod(block_bytes, self.itemsize)
        if remainder or block_elements == 0 or block_elements % BLOCK_MULTIPLE:
            raise CodecError(
                f"{where}: the header's block size of {block_bytes} bytes is not a positive multiple of "
                f"{BLOCK_MULTIPLE} items of {self.itemsize} bytes"
            )
        count = decoded_bytes // self.itemsize
        leftover = count % BLOCK_MULTIPLE * self.itemsize
        # Each block needs at least its 4-byte size, so a lying header is caught before any allocation.
        block_count = -(-(count - count % BLOCK_MULTIPLE) // block_elements)
        needed = _HEADER.size + block_count * _BLOCK_SIZE.size + leftover
        if needed > len(data):
            raise CodecError(
                f"{where}: truncated chunk: the header says {decoded_bytes} decoded bytes in {block_count} blocks, "
                f"which need at least {needed} bytes; the chunk has {len(data)}"
            )
        sizes = _block_byte_sizes(count, self.itemsize, block_elements)
        imagecodecs = _imagecodecs()
        pieces: list[Any] = []
        position = _HEADER.size
        for index, size in enumerate(sizes):
            if position + _BLOCK_SIZE.size > len(data):
                raise CodecError(f"{where}: truncated chunk: block {index} of {len(sizes)} starts past its end")
            (compressed_size,) = _BLOCK_SIZE.unpack_from(data, position)
            start, position = position + _BLOCK_SIZE.size, position + _BLOCK_SIZE.size + compressed_size
            if position > len(data):
                raise CodecError(
                    f"{where}: truncated chunk: block {index} says it has {compressed_size} compressed bytes at "
                    f"offset {start}, but the chunk ends at {len(data)}"
                )
            pieces.append(self._decompress_block(imagecodecs, data[start:position], size, f"{where}: block {index}"))
        if len(data) - position != leftover:
            raise CodecError(
                f"{where}: {len(data) - position} bytes follow the last block, but the {count % BLOCK_MULTIPLE} "
                f"leftover items need {leftover} (corrupt chunk?)"
            )
        pieces.append(data[position:])
        return b"".join(pieces), block_elements

    def _decompress_block(self, imagecodecs: Any, block: memoryview, size: int, where: str) -> Any:
        """The ``size`` bytes that the compressed ``block`` holds; CodecError otherwise."""
        try:
            if self.compression == "lz4":
                decompressed = imagecodecs.lz4_decode(block, out=size)
            else:
                decompressed = imagecodecs.zstd_decode(block, out=size)
        except (imagecodecs.Lz4Error, imagecodecs.ZstdError) as error:
            raise CodecError(f"{where}: cannot decompress its {len(block)} bytes to {size}: {error}") from error
        if len(decompressed) != size:
            raise CodecError(f"{where}: decompresses to {len(decompressed)} bytes, not {size}")
        return decompressed


def _block_byte_sizes(count: int, itemsize: int, block_elements: int) -> list[int]:
    """The byte sizes of the blocks that ``count`` items of ``itemsize`` bytes are bitshuffled in:
    whole blocks, then a last one cut down to a multiple of 8 items (absent when empty)."""
    whole, rest = divmod(count, block_elements)
    last = rest - rest % BLOCK_MULTIPLE
    return [block_elements * itemsize] * whole + ([last * itemsize] if last else [])


def _imagecodecs() -> Any:
    return import_optional("imagecodecs", needed_for=f"codec {BITSHUFFLE_CODEC_ID!r}", extra="hdf5")
