"""From the filter pipeline of an HDF5 dataset to the codecs that decode its chunks as they are stored.

HDF5 runs a dataset's filters in pipeline order when it writes a chunk, so the pipeline maps to a
codec list in the same order (Zarr encodes in list order and decodes in reverse). A filter maps
only where a codec reads exactly the bytes the filter writes:

========================  =====================================  ===========================================
HDF5 filter               codec (numcodecs id)                   checked against
========================  =====================================  ===========================================
1 deflate                 ``zlib``                               a zlib stream with header, as HDF5 writes
2 shuffle                 ``shuffle`` (element size)             the same byte transposition
3 fletcher32              ``fletcher32``                         the 4-byte checksum HDF5 appends, verified
32000 lzf                 ``zarrkit_lzf`` (decoded size)         h5py's bare LZF stream; the decoded size
                                                                 it does not store comes from the chunk
                                                                 shape, item size and earlier filters
32001 blosc               ``blosc``                              a self-describing blosc1 frame
32004 lz4                 ``imagecodecs_lz4h5``                  HDF5's lz4 framing (big-endian sizes per
                                                                 block); numcodecs ``lz4`` frames differ
32008 bitshuffle          ``zarrkit_bitshuffle`` (item size,     the bitshuffled blocks, with or without
                          block size, none/lz4/zstd, level)      the per-block LZ4 or zstd framing
32015 zstd                ``zstd``                               a zstd frame
========================  =====================================  ===========================================

Everything else raises UnsupportedFeature naming the filter: szip, n-bit and scale-offset (they
depend on the data type in ways no codec reproduces), blosc with snappy (numcodecs is built without
it), bitshuffle with another compression, LZF whose decoded size is unknown (after a filter that
compresses), and any filter id not listed. A chunk LZF could not shrink is stored unfiltered, with
the filter's bit set in its filter mask: the scanner describes chunks by their masks, never as LZF.

``zarrkit_lzf`` and ``zarrkit_bitshuffle`` are zarrkit's own numcodecs codecs (registered by
``import zarrkit.codecs``, and through numcodecs' entry points); they and the ``imagecodecs_*``
codecs need imagecodecs to decode, and the latter decode only where
``imagecodecs.numcodecs.register_codecs()`` has run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.errors import UnsupportedFeature

DEFLATE = 1
SHUFFLE = 2
FLETCHER32 = 3
SZIP = 4
NBIT = 5
SCALEOFFSET = 6
LZF = 32000
BLOSC = 32001
LZ4 = 32004
BITSHUFFLE = 32008
ZSTD = 32015

_FILTERS_WITHOUT_CODEC = {
    SZIP: "szip compression (HDF5 filter 4)",
    NBIT: "n-bit packing (HDF5 filter 5)",
    SCALEOFFSET: "the scale-offset filter (HDF5 filter 6)",
}

# The compressor codes of the HDF5 blosc filter (its cd_values[6]), in order.
_BLOSC_COMPRESSORS = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")
# Defaults the blosc filter applies when a file stores fewer cd_values.
_BLOSC_DEFAULT_LEVEL = 5
_BLOSC_DEFAULT_SHUFFLE = 1

_ZSTD_DEFAULT_LEVEL = 3
_DEFLATE_DEFAULT_LEVEL = 6

# The compressions of the HDF5 bitshuffle filter (its cd_values[4]) as zarrkit_bitshuffle names them.
_BITSHUFFLE_COMPRESSIONS = {0: "none", 2: "lz4", 3: "zstd"}
# The checksum fletcher32 appends to a chunk.
_FLETCHER32_BYTES = 4


@dataclass(frozen=True)
class HDF5Filter:
    """One filter of a dataset's pipeline as the file records it: ``filter_id``, ``flags``, the
    filter's parameters (``values``, HDF5's cd_values) and its ``name``."""

    filter_id: int
    flags: int
    values: tuple[int, ...]
    name: str


def dataset_filters(dataset: Any) -> tuple[HDF5Filter, ...]:
    """The filter pipeline of the h5py ``dataset``, in the order HDF5 applies it when writing."""
    plist = dataset.id.get_create_plist()
    filters = []
    for index in range(plist.get_nfilters()):
        filter_id, flags, values, name = plist.get_filter(index)
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        filters.append(HDF5Filter(int(filter_id), int(flags), tuple(int(value) for value in values), text))
    return tuple(filters)


def codec_configs(
    filters: tuple[HDF5Filter, ...], dtype: np.dtype, *, where: str, chunk_shape: tuple[int, ...]
) -> list[dict[str, Any]]:
    """The numcodecs configs that decode chunks written through ``filters``, in encoding order.

    ``dtype`` is the dataset's data type (its item size is the shuffle and bitshuffle element size
    when the file does not record one) and ``chunk_shape`` its chunk shape, which gives LZF the byte
    size of a chunk (HDF5 stores edge chunks full size).
    Raises UnsupportedFeature, starting with ``where``, for a filter that no codec reproduces.
    """
    size: int | None = math.prod(chunk_shape) * dtype.itemsize
    configs = []
    for item in filters:
        configs.append(_codec_config(item, dtype, size, where))
        size = _size_after(item, size)
    return configs


def _size_after(item: HDF5Filter, size: int | None) -> int | None:
    """The byte size of a chunk after ``item`` filtered ``size`` bytes; None when it depends on the data."""
    if size is None:
        return None
    if item.filter_id == SHUFFLE:
        return size
    if item.filter_id == FLETCHER32:
        return size + _FLETCHER32_BYTES
    if item.filter_id == BITSHUFFLE and _bitshuffle_compression_code(item.values) == 0:
        return size
    return None


def _codec_config(item: HDF5Filter, dtype: np.dtype, size: int | None, where: str) -> dict[str, Any]:
    """The config of the codec that decodes what ``item`` wrote from ``size`` bytes (None: unknown)."""
    values = item.values
    if item.filter_id == DEFLATE:
        return {"id": "zlib", "level": values[0] if values else _DEFLATE_DEFAULT_LEVEL}
    if item.filter_id == SHUFFLE:
        return {"id": "shuffle", "elementsize": values[0] if values else dtype.itemsize}
    if item.filter_id == FLETCHER32:
        return {"id": "fletcher32"}
    if item.filter_id == ZSTD:
        return {"id": "zstd", "level": values[0] if values else _ZSTD_DEFAULT_LEVEL}
    if item.filter_id == BLOSC:
        return _blosc_config(values, where)
    if item.filter_id == LZ4:
        return {"id": "imagecodecs_lz4h5"}
    if item.filter_id == BITSHUFFLE:
        return _bitshuffle_config(values, dtype, where)
    if item.filter_id == LZF:
        if size is None:
            raise UnsupportedFeature(
                f"{where}: LZF compression (HDF5 filter 32000) has no matching codec here: h5py's LZF stores no "
                "decoded size, and this chunk's is unknown (LZF follows a compressing filter)"
            )
        return {"id": "zarrkit_lzf", "decoded_size": size}
    feature = _FILTERS_WITHOUT_CODEC.get(item.filter_id, f"HDF5 filter {item.filter_id} ({item.name!r})")
    raise UnsupportedFeature(f"{where}: {feature} has no matching codec")


def _blosc_config(values: tuple[int, ...], where: str) -> dict[str, Any]:
    """numcodecs Blosc from the filter's cd_values: revision, blosc version, type size, chunk
    size, then optionally level, shuffle and compressor code. Decoding reads the frame header,
    so these only describe the data."""
    level = values[4] if len(values) > 4 else _BLOSC_DEFAULT_LEVEL
    shuffle = values[5] if len(values) > 5 else _BLOSC_DEFAULT_SHUFFLE
    code = values[6] if len(values) > 6 else 0
    if code >= len(_BLOSC_COMPRESSORS) or _BLOSC_COMPRESSORS[code] == "snappy":
        name = _BLOSC_COMPRESSORS[code] if code < len(_BLOSC_COMPRESSORS) else f"compressor code {code}"
        raise UnsupportedFeature(f"{where}: blosc with {name} (HDF5 filter 32001) has no matching codec")
    return {"id": "blosc", "cname": _BLOSC_COMPRESSORS[code], "clevel": level, "shuffle": shuffle, "blocksize": 0}


def _bitshuffle_compression_code(values: tuple[int, ...]) -> int:
    """The compression of the bitshuffle filter's cd_values (0 none, 2 LZ4, 3 zstd)."""
    return values[4] if len(values) > 4 else 0


def _bitshuffle_config(values: tuple[int, ...], dtype: np.dtype, where: str) -> dict[str, Any]:
    """zarrkit_bitshuffle from the filter's cd_values: major and minor version, element size, block
    size in elements (0: the library's default), then the compression and, for zstd, its level."""
    code = _bitshuffle_compression_code(values)
    if code not in _BITSHUFFLE_COMPRESSIONS:
        raise UnsupportedFeature(
            f"{where}: bitshuffle with compression {code} (HDF5 filter 32008) has no matching codec "
            "(known: 0 none, 2 LZ4, 3 zstd)"
        )
    config: dict[str, Any] = {
        "id": "zarrkit_bitshuffle",
        "itemsize": values[2] if len(values) > 2 else dtype.itemsize,
        "blocksize": values[3] if len(values) > 3 else 0,
        "compression": _BITSHUFFLE_COMPRESSIONS[code],
    }
    if code == 3 and len(values) > 5:
        # cd_values are unsigned: a negative (fast) zstd level arrives as its two's complement.
        level = values[5]
        config["level"] = level - 2**32 if level >= 2**31 else level
    return config
