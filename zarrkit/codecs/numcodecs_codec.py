"""numcodecs codecs in Zarr v3, and turning any codec-like object into a zarrkit codec.

zarr-python writes a numcodecs codec in v3 metadata as ``{"name": "numcodecs.<id>", "configuration":
<its config without "id">}``. Each such name is registered here with the kind zarr-python gives it:
filters that map arrays to arrays (``delta``, ``fixedscaleoffset``...), compressors and checksums
that map bytes to bytes (``zlib``, ``lz4``, ``crc32``...), and serializers that map arrays to bytes
(``pcodec``, ``zfpy``, and the object codecs ``json2``, ``msgpack2`` and ``vlen-array``).
``numcodecs.pickle`` is not registered: numcodecs refuses to decode it (unpickling stored bytes can
run any code), so an array that names it is refused when it is opened.

The codecs that zarrkit's scanners put into reference sets but numcodecs does not ship (imagecodecs'
TIFF and HDF5 codecs, zarrkit's own HDF5 codecs) get names the same way (``numcodecs.imagecodecs_lzw``,
``numcodecs.zarrkit_lzf``...) as bytes->bytes codecs: each decodes the stored bytes of a whole chunk,
where Zarr v2 puts them as compressor or filter. No Zarr v3 spec or other implementation names them
yet, so readers other than zarrkit need a codec registered under that name.

:func:`as_codec` accepts zarrkit codecs, numcodecs objects, zarr-python codec objects and metadata
entries; numcodecs objects with a native v3 counterpart (Zstd, GZip, Blosc, CRC32C, VLenUTF8,
VLenBytes) become that counterpart, the others are wrapped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs import blosc, zstd
from zarrkit.codecs._support import BytesLike, get_numcodec
from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, ChunkSpec, Codec
from zarrkit.codecs.blosc import BloscCodec
from zarrkit.codecs.crc32c import Crc32cCodec
from zarrkit.codecs.gzip import GzipCodec
from zarrkit.codecs.registry import codec_from_json
from zarrkit.codecs.vlen import VLenBytesCodec, VLenUTF8Codec
from zarrkit.codecs.wrapped import NumcodecsBackedCodec
from zarrkit.codecs.zstd import ZstdCodec
from zarrkit.errors import CodecError, MetadataError

PREFIX = "numcodecs."

ARRAY_ARRAY_IDS = ("astype", "bitround", "categorize", "delta", "fixedscaleoffset", "packbits", "quantize")
BYTES_BYTES_IDS = (
    "adler32",
    "base64",
    "blosc",
    "bz2",
    "crc32",
    "crc32c",
    "fletcher32",
    "gzip",
    "jenkins_lookup3",
    "lz4",
    "lzma",
    "shuffle",
    "zlib",
    "zstd",
)
SCANNED_BYTES_BYTES_IDS = (
    "imagecodecs_bitshuffle",
    "imagecodecs_delta",
    "imagecodecs_floatpred",
    "imagecodecs_jpeg",
    "imagecodecs_lz4h5",
    "imagecodecs_lzw",
    "imagecodecs_packbits",
    "zarrkit_bitshuffle",
    "zarrkit_lzf",
)
ARRAY_BYTES_IDS = ("json2", "msgpack2", "pcodec", "vlen-array", "zfpy")

# Checksum codecs append (or prepend) a 4-byte checksum, so their output size is known in advance.
_CHECKSUM_IDS = ("adler32", "crc32", "crc32c", "fletcher32", "jenkins_lookup3")
_CHECKSUM_SIZE = 4

_EMPTY_FRAME_CHECKS = {"zstd": zstd.declares_empty_content, "blosc": blosc.declares_empty_content}


# Equality and hashing come from Codec (through to_json), because the configuration is a dict.
@dataclass(frozen=True, eq=False)
class NumcodecsCodec(Codec):
    """A numcodecs codec under the name ``numcodecs.<id>``; subclasses fix the id and the kind.

    Raises MetadataError when numcodecs cannot build the codec from ``configuration``.
    """

    codec_id: ClassVar[str]

    configuration: Mapping[str, Any] | None = None
    _numcodec: Numcodec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        configuration = {key: value for key, value in (self.configuration or {}).items() if key != "id"}
        object.__setattr__(self, "configuration", configuration)
        try:
            numcodec = get_numcodec({"id": self.codec_id, **configuration})
        except Exception as error:
            raise MetadataError(
                f"codec {self.name!r}: numcodecs cannot build it from {configuration!r}: {error}"
            ) from error
        object.__setattr__(self, "_numcodec", numcodec)

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> NumcodecsCodec:
        """Build the codec from the numcodecs configuration (without ``id``)."""
        return cls(configuration)

    def to_json(self) -> dict[str, Any]:
        """``{"name": "numcodecs.<id>", "configuration": {...}}``, as zarr-python writes it."""
        return {"name": self.name, "configuration": dict(self.configuration)}

    def __reduce__(self) -> tuple[Any, ...]:
        # The subclasses are made at import time, so pickle finds them through their id.
        return (_rebuild, (self.codec_id, self.configuration))

    def _fail(self, action: str, error: Exception) -> CodecError:
        return CodecError(f"codec {self.name!r}: cannot {action}: {error}")

    def _as_chunk(self, decoded: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """``decoded`` as the chunk ``spec`` describes; CodecError when it has the wrong size."""
        if decoded.size != math.prod(spec.shape):
            raise CodecError(
                f"codec {self.name!r}: decoded {decoded.size} elements for a chunk of shape {spec.shape}"
            )
        if decoded.dtype != spec.dtype:
            decoded = decoded.astype(spec.dtype)
        return decoded.reshape(spec.shape)


class NumcodecsArrayArrayCodec(NumcodecsCodec, ArrayArrayCodec):
    """A numcodecs filter: maps a chunk to an array of the same shape, or to packed bits."""

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the encoded array: the filter's ``astype`` dtype, or packed uint8 bits."""
        if self.codec_id == "packbits":
            return ChunkSpec(self._encoded_shape(spec.shape), np.dtype(np.uint8), 0)
        encoded = getattr(self._numcodec, "astype", None) or getattr(self._numcodec, "encode_dtype", None)
        return spec if encoded is None else ChunkSpec(spec.shape, np.dtype(encoded), spec.fill_value)

    def _encoded_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        # packbits flattens the chunk into a header byte and the bits; other filters keep the shape.
        if self.codec_id == "packbits":
            return (1 + math.ceil(math.prod(shape) / 8),)
        return shape

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """The filtered array, shaped as :meth:`resolve` says."""
        try:
            encoded = np.asarray(self._numcodec.encode(np.ascontiguousarray(array)))
        except Exception as error:
            raise self._fail("encode", error) from error
        encoded_shape = self._encoded_shape(spec.shape)
        if encoded.size != math.prod(encoded_shape):
            raise CodecError(
                f"codec {self.name!r}: encoded {encoded.size} elements from a chunk of shape {spec.shape} "
                f"and type {spec.dtype}; does its configuration match the array's data type?"
            )
        return encoded.reshape(encoded_shape)

    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """The unfiltered array of ``spec.shape`` and ``spec.dtype``; CodecError when it does not fit."""
        try:
            decoded = np.asarray(self._numcodec.decode(np.ascontiguousarray(array)))
        except Exception as error:
            raise self._fail("decode", error) from error
        return self._as_chunk(decoded, spec)


class NumcodecsBytesBytesCodec(NumcodecsCodec, NumcodecsBackedCodec):
    """A numcodecs compressor or checksum."""

    def encoded_size(self, size: int) -> int | None:
        """``size`` plus 4 for checksums; None (unknown) for compressors."""
        return size + _CHECKSUM_SIZE if self.codec_id in _CHECKSUM_IDS else None

    def is_empty_frame(self, data: BytesLike) -> bool:
        """True for the zstd and blosc frames numcodecs writes for empty input."""
        declares_empty_content = _EMPTY_FRAME_CHECKS.get(self.codec_id)
        return declares_empty_content is not None and declares_empty_content(data)


class NumcodecsArrayBytesCodec(NumcodecsCodec, ArrayBytesCodec):
    """A numcodecs serializer (``pcodec``, ``zfpy``) or object codec (``json2``, ``msgpack2``...)."""

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> BytesLike:
        """The serialized chunk."""
        try:
            return self._numcodec.encode(np.ascontiguousarray(array))
        except Exception as error:
            raise self._fail("encode", error) from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """The chunk as an array of ``spec.shape``; CodecError when ``data`` is corrupt or does not fit."""
        try:
            decoded = np.asarray(self._numcodec.decode(data))
        except Exception as error:
            raise self._fail("decode", error) from error
        return self._as_chunk(decoded, spec)


def _numcodecs_class(codec_id: str, base: type[NumcodecsCodec]) -> type[NumcodecsCodec]:
    """A subclass of ``base`` named ``numcodecs.<codec_id>``."""
    class_name = "Numcodecs" + "".join(part.capitalize() for part in codec_id.replace("-", "_").split("_"))
    cls = type(class_name, (base,), {"name": PREFIX + codec_id, "codec_id": codec_id, "__module__": __name__})
    cls.__doc__ = f"The numcodecs codec {codec_id!r} under the v3 name {PREFIX + codec_id!r}."
    return cls


NUMCODECS_CLASSES: dict[str, type[NumcodecsCodec]] = {
    **{codec_id: _numcodecs_class(codec_id, NumcodecsArrayArrayCodec) for codec_id in ARRAY_ARRAY_IDS},
    **{
        codec_id: _numcodecs_class(codec_id, NumcodecsBytesBytesCodec)
        for codec_id in BYTES_BYTES_IDS + SCANNED_BYTES_BYTES_IDS
    },
    **{codec_id: _numcodecs_class(codec_id, NumcodecsArrayBytesCodec) for codec_id in ARRAY_BYTES_IDS},
}
"""The wrapper class of each numcodecs id, by id."""


def _rebuild(codec_id: str, configuration: dict[str, Any]) -> NumcodecsCodec:
    """The wrapper of ``codec_id`` with ``configuration``, for unpickling."""
    return NUMCODECS_CLASSES[codec_id](configuration)


# numcodecs' Blosc shuffle numbers; -1 (AUTOSHUFFLE) leaves the choice to the item size.
_BLOSC_SHUFFLES = {0: "noshuffle", 1: "shuffle", 2: "bitshuffle", -1: None}


def _blosc_shuffle(config: Mapping[str, Any]) -> str | None:
    """The v3 ``shuffle`` of the numcodecs Blosc config ``config``; MetadataError for an unknown number."""
    shuffle = config.get("shuffle", 1)
    if isinstance(shuffle, bool) or not isinstance(shuffle, (int, np.integer)) or shuffle not in _BLOSC_SHUFFLES:
        raise MetadataError(
            f"numcodecs codec 'blosc': shuffle must be -1 (auto), 0 (none), 1 (byte) or 2 (bit), got {shuffle!r}"
        )
    return _BLOSC_SHUFFLES[int(shuffle)]


def _native_codec(config: dict[str, Any]) -> Codec | None:
    """The native v3 codec equivalent to the numcodecs config ``config``, or None if there is none.

    Raises MetadataError when ``config`` is not a valid configuration of that codec.
    """
    codec_id = config["id"]
    if codec_id == "zstd":
        return ZstdCodec(config.get("level", 0), config.get("checksum", False))
    if codec_id == "gzip":
        return GzipCodec(config.get("level", 1))
    if codec_id == "blosc":
        return BloscCodec(
            cname=config.get("cname", "lz4"),
            clevel=config.get("clevel", 5),
            shuffle=_blosc_shuffle(config),  # type: ignore[arg-type]
            typesize=config.get("typesize"),
            blocksize=config.get("blocksize", 0),
        )
    if codec_id == "crc32c" and config.get("location", "end") == "end":
        return Crc32cCodec()
    if codec_id == "vlen-utf8":
        return VLenUTF8Codec()
    if codec_id == "vlen-bytes":
        return VLenBytesCodec()
    return None


def _from_numcodecs(config: dict[str, Any]) -> Codec:
    native = _native_codec(config)
    if native is not None:
        return native
    cls = NUMCODECS_CLASSES.get(config["id"])
    if cls is None:
        raise MetadataError(f"numcodecs codec {config['id']!r} has no Zarr v3 form that zarrkit knows")
    return cls(config)


def numcodecs_config(obj: Any) -> dict[str, Any]:
    """``obj`` as the numcodecs config that Zarr v2 metadata holds (``{"id": ..., ...}``).

    Accepts a numcodecs codec object or config dict, or a zarrkit codec that has a numcodecs form.
    A zstd ``checksum`` is written only when true, as zarr-python does: numcodecs before 0.13 and
    tensorstore's v2 driver refuse the field. Raises MetadataError for a codec that Zarr v2 cannot
    name (``bytes``, ``transpose``, sharding).
    """
    config = _numcodecs_config(obj)
    if config["id"] == "zstd" and not config.get("checksum", False):
        config.pop("checksum", None)
    return config


def _numcodecs_config(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Numcodec):
        return obj.get_config()
    if isinstance(obj, Mapping) and "id" in obj:
        return dict(obj)
    if isinstance(obj, NumcodecsCodec):
        return {"id": obj.codec_id, **obj.configuration}
    if isinstance(obj, ZstdCodec):
        return {"id": "zstd", "level": obj.level, "checksum": obj.checksum}
    if isinstance(obj, GzipCodec):
        return {"id": "gzip", "level": obj.level}
    if isinstance(obj, BloscCodec):
        shuffle = {name: number for number, name in _BLOSC_SHUFFLES.items()}[obj.shuffle]
        return {"id": "blosc", "cname": obj.cname, "clevel": obj.clevel, "shuffle": shuffle, "blocksize": obj.blocksize}
    if isinstance(obj, Crc32cCodec):
        return {"id": "crc32c"}
    if isinstance(obj, VLenUTF8Codec | VLenBytesCodec):
        return {"id": obj.name}
    raise MetadataError(f"{obj!r} has no Zarr v2 form: pass a numcodecs codec or config")


def as_codec(obj: Any, *, path: str | None = None) -> Codec:
    """``obj`` as a zarrkit codec.

    Accepts a zarrkit codec (returned as is), a numcodecs codec object or its config dict (with
    ``"id"``), a zarr-python codec object (anything with ``to_dict()``), or a v3 metadata entry
    (with ``"name"``). Raises MetadataError for anything else, or for an unknown codec.
    """
    if isinstance(obj, Codec):
        return obj
    if isinstance(obj, Numcodec):
        return _from_numcodecs(obj.get_config())
    if isinstance(obj, Mapping) and "id" in obj:
        return _from_numcodecs(dict(obj))
    if not isinstance(obj, (Mapping, str)) and callable(getattr(obj, "to_dict", None)):
        obj = obj.to_dict()
    if isinstance(obj, (Mapping, str)):
        codec = codec_from_json(obj, path=path)
        if codec is None:
            raise MetadataError(
                f"codec {obj!r} is unknown; it can be ignored when reading, but not used to write"
            )
        return codec
    raise MetadataError(f"{obj!r} is not a codec: pass a zarrkit codec, a numcodecs codec or a codec entry")
