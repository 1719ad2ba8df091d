"""The GRIB2 codec: one whole GRIB2 message (one field) as stored bytes, its grid of values as the chunk.

Scanned GRIB files reference each message as one chunk (see :mod:`zarrkit.scan.grib`); this codec
decodes such a chunk with gribberish, into the float type of the array, with NaN where the message's
bitmap marks a point missing. It is read-only: encoding raises UnsupportedFeature.

Two forms, one per Zarr version:

- Zarr v2: :class:`GribMessageCodec`, the numcodecs codec ``zarrkit_grib`` (configuration: ``dtype``,
  the float type it decodes to), used as the array's only filter, as kerchunk does with its own
  GRIB codec;
- Zarr v3: :class:`GribCodec`, the array->bytes codec ``zarrkit.grib`` (no configuration: the
  array's data type says the float type).

:func:`register_grib_codecs` registers both (numcodecs by id, zarrkit's v3 registry by name); it
imports nothing optional, so it is safe without gribberish installed. Decoding checks the layout of
the message first (:func:`message_layout`), so a corrupt chunk raises CodecError instead of reaching
gribberish, which loops forever on a section whose length is 0. The scanner reads the headers of
each message through the same check (:mod:`zarrkit.scan.grib_messages`).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec as Numcodec
from numcodecs.compat import ndarray_copy

from zarrkit.codecs._support import BytesLike, check_configuration
from zarrkit.codecs.base import ArrayBytesCodec, ChunkSpec
from zarrkit.codecs.registry import register_codec
from zarrkit.errors import CodecError, MetadataError, UnsupportedFeature
from zarrkit.storage.optional import import_optional

GRIB_CODEC_ID = "zarrkit_grib"
"""The numcodecs id of the v2 codec."""

GRIB_CODEC_NAME = "zarrkit.grib"
"""The v3 name of the codec."""

DTYPES = ("float32", "float64")
"""The types the codec decodes to."""

INDICATOR_LENGTH = 16
"""Section 0 of a GRIB2 message: ``GRIB``, 2 reserved bytes, discipline, edition, total length (8 bytes)."""

END_MARKER = b"7777"

# The sections of a single-field message, in order; section 2 (local use) is optional.
_SINGLE_FIELD_ORDERS = ((1, 3, 4, 5, 6, 7), (1, 2, 3, 4, 5, 6, 7))


@dataclass(frozen=True)
class GribSection:
    """One section of a GRIB2 message: its number, and its offset (in the file or buffer) and length in bytes."""

    number: int
    offset: int
    length: int


@dataclass(frozen=True)
class MessageLayout:
    """The layout of a single-field GRIB2 message: discipline, total length and sections by number."""

    discipline: int
    length: int
    sections: dict[int, GribSection]


def message_layout(read: Callable[[int, int], bytes], start: int, available: int, *, where: str) -> MessageLayout:
    """The layout of the GRIB2 message at ``start``, whose bytes ``read(offset, length)`` returns;
    ``available`` bytes follow ``start`` in the file or buffer.

    Checks that the message starts with ``GRIB``, is GRIB edition 2, fits in ``available`` bytes,
    has sections whose lengths chain exactly to the ``7777`` end marker, and holds one field.
    Raises UnsupportedFeature for GRIB edition 1 and for messages holding several fields, and
    MetadataError for anything malformed or truncated; messages start with ``where``.
    """
    indicator = read(start, INDICATOR_LENGTH)
    if not indicator.startswith(b"GRIB") and not b"GRIB".startswith(indicator):
        raise MetadataError(f"{where}: expected a GRIB message (b'GRIB'), found {indicator[:4]!r}")
    if len(indicator) < INDICATOR_LENGTH:
        raise MetadataError(
            f"{where}: truncated: the indicator section needs {INDICATOR_LENGTH} bytes, only {len(indicator)} are left"
        )
    edition = indicator[7]
    if edition == 1:
        raise UnsupportedFeature(f"{where}: GRIB edition 1 messages are not supported (only GRIB edition 2)")
    if edition != 2:
        raise MetadataError(f"{where}: unknown GRIB edition {edition}")
    length = int.from_bytes(indicator[8:16], "big")
    if length < INDICATOR_LENGTH + len(END_MARKER):
        raise MetadataError(f"{where}: the message says it is {length} bytes long, too short for any GRIB2 message")
    if length > available:
        raise MetadataError(
            f"{where}: the message says it is {length} bytes long, but only {available} bytes follow its start "
            "(truncated file?)"
        )
    end = start + length
    marker_offset = end - len(END_MARKER)
    sections: list[GribSection] = []
    position = start + INDICATOR_LENGTH
    while position != marker_offset:
        if position + 5 > marker_offset:
            raise MetadataError(
                f"{where}: the sections end at offset {position}, not at the end marker 7777 at offset {marker_offset}"
            )
        section_length, number = struct.unpack(">IB", read(position, 5))
        if section_length < 5 or position + section_length > marker_offset:
            raise MetadataError(
                f"{where}: section {number} at offset {position} says it is {section_length} bytes long, "
                f"which does not fit between its 5-byte header and the end marker at offset {marker_offset}"
            )
        sections.append(GribSection(number, position, section_length))
        position += section_length
    if read(marker_offset, len(END_MARKER)) != END_MARKER:
        raise MetadataError(f"{where}: no end marker 7777 at offset {marker_offset}, where the message says it ends")
    numbers = tuple(section.number for section in sections)
    if numbers not in _SINGLE_FIELD_ORDERS:
        if any(numbers[: len(order)] == order for order in _SINGLE_FIELD_ORDERS):
            raise UnsupportedFeature(
                f"{where}: the message holds more than one field (sections {numbers}); only single-field "
                "messages can be referenced as chunks"
            )
        raise MetadataError(f"{where}: sections in the order {numbers}, expected 1, (2), 3, 4, 5, 6, 7")
    return MessageLayout(indicator[6], length, {section.number: section for section in sections})


def _check_dtype(dtype: Any, codec: str) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise MetadataError(f"codec {codec!r}: dtype must be one of {DTYPES}, got {dtype!r}")
    return name


def decode_message(data: BytesLike, dtype: Any) -> np.ndarray:
    """The values of the single GRIB2 message ``data`` (exactly one message) as a 1-d array of
    ``dtype``, in the order the message stores them, NaN where its bitmap marks a point missing.

    Raises CodecError when ``data`` is not exactly one well-formed single-field GRIB2 message or
    gribberish cannot decode it, and UnsupportedFeature when gribberish is not installed.
    """
    view = memoryview(data).cast("B")
    where = f"codec {GRIB_CODEC_NAME!r}"
    try:
        layout = message_layout(lambda offset, length: bytes(view[offset : offset + length]), 0, len(view), where=where)
    except (MetadataError, UnsupportedFeature) as error:
        raise CodecError(str(error)) from None
    if layout.length != len(view):
        raise CodecError(f"{where}: the chunk holds {len(view) - layout.length} bytes after its GRIB2 message")
    gribberish = import_optional("gribberish", needed_for="decoding GRIB2 messages", extra="grib")
    try:
        values = gribberish.parse_grib_array(bytes(view), 0)
    except BaseException as error:
        # gribberish is Rust: a panic inside it arrives as pyo3's PanicException, a BaseException.
        if not isinstance(error, Exception) and type(error).__name__ != "PanicException":
            raise
        raise CodecError(f"{where}: gribberish cannot decode the GRIB2 message: {error}") from error
    return np.asarray(values).astype(dtype, copy=False)


class GribMessageCodec(Numcodec):
    """The numcodecs codec ``zarrkit_grib``: decodes one GRIB2 message to its values as ``dtype``
    ("float64" or "float32"). Read-only. Raises MetadataError for another ``dtype``."""

    codec_id = GRIB_CODEC_ID

    def __init__(self, dtype: str = "float64") -> None:
        self.dtype = _check_dtype(dtype, GRIB_CODEC_ID)

    def encode(self, buf: Any) -> Any:
        """Always raises UnsupportedFeature: GRIB messages are read, never written."""
        raise UnsupportedFeature(f"codec {GRIB_CODEC_ID!r} only decodes: GRIB messages cannot be written")

    def decode(self, buf: Any, out: Any = None) -> Any:
        """The values of the message ``buf`` (1-d), copied into ``out`` when given.

        Raises CodecError for a corrupt message (see :func:`decode_message`).
        """
        values = decode_message(buf, self.dtype)
        return values if out is None else ndarray_copy(values, out)


@dataclass(frozen=True)
class GribCodec(ArrayBytesCodec):
    """The v3 array->bytes codec ``zarrkit.grib``: a chunk is one GRIB2 message holding the chunk's
    values (the array's float data type, C order). Read-only."""

    name = GRIB_CODEC_NAME

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> GribCodec:
        """Build the codec; it has no configuration (MetadataError for any field)."""
        check_configuration(cls.name, configuration, set())
        return cls()

    def to_json(self) -> dict[str, Any]:
        """``{"name": "zarrkit.grib"}``."""
        return {"name": self.name}

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """Always raises UnsupportedFeature: GRIB messages are read, never written."""
        raise UnsupportedFeature(f"codec {self.name!r} only decodes: GRIB messages cannot be written")

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """The chunk held by the message ``data``.

        Raises CodecError for a corrupt message or one whose number of values is not the chunk's.
        """
        if spec.dtype.name not in DTYPES:
            raise CodecError(f"codec {self.name!r} decodes to {' or '.join(DTYPES)}, not {spec.dtype}")
        values = decode_message(data, spec.dtype)
        if values.size != math.prod(spec.shape):
            raise CodecError(
                f"codec {self.name!r}: the message holds {values.size} values, the chunk of shape {spec.shape} "
                f"needs {math.prod(spec.shape)}"
            )
        return values.reshape(spec.shape)


def register_grib_codecs() -> None:
    """Register :class:`GribMessageCodec` with numcodecs and :class:`GribCodec` with zarrkit (idempotent)."""
    numcodecs.register_codec(GribMessageCodec)
    register_codec(GribCodec)
