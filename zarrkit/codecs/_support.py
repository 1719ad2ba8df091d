"""Small helpers shared by the codec modules: buffers and reading codec configurations.

Codecs pass bytes between each other without copying where they can, so a "bytes" value inside a
codec chain may be ``bytes``, ``bytearray``, ``memoryview`` or a contiguous NumPy array; only the
end of a chain turns it into ``bytes``.

The configuration checks raise :class:`~zarrkit.errors.MetadataError` naming the codec and the
field; the registry adds the array path. Codec constructors run them once on their arguments, and
``from_json`` only picks the fields out of the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numcodecs
import numpy as np

from zarrkit.errors import MetadataError
from zarrkit.storage.optional import import_optional

BytesLike = bytes | bytearray | memoryview | np.ndarray
"""Anything with the buffer protocol that codecs hand each other inside a chain."""


def to_bytes(data: BytesLike) -> bytes:
    """``data`` as ``bytes``, copying only when it is not ``bytes`` already."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, np.ndarray):
        return np.ascontiguousarray(data).tobytes()
    return bytes(data)


def byte_length(data: BytesLike) -> int:
    """The number of bytes in ``data`` (``len`` counts elements for arrays and memoryviews)."""
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, np.ndarray):
        return data.nbytes
    return memoryview(data).nbytes


def check_configuration(codec: str, configuration: Any, allowed: set[str]) -> Mapping[str, Any]:
    """Return ``configuration`` as a mapping after checking it has no field outside ``allowed``.

    Raises MetadataError when it is not an object or has an unknown field.
    """
    if configuration is None:
        return {}
    if not isinstance(configuration, Mapping):
        raise MetadataError(f"codec {codec!r}: configuration must be an object, got {configuration!r}")
    unknown = sorted(set(configuration) - allowed)
    if unknown:
        names = ", ".join(map(repr, unknown))
        raise MetadataError(f"codec {codec!r}: unknown configuration field(s) {names}")
    return configuration


def required(codec: str, configuration: Mapping[str, Any], field: str) -> Any:
    """``configuration[field]``; raises MetadataError when the field is missing."""
    if field not in configuration:
        raise MetadataError(f"codec {codec!r}: configuration field {field!r} is required")
    return configuration[field]


def check_int(codec: str, field: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as a Python int, for the configuration field ``field`` of ``codec``.

    Raises MetadataError when it is not an integer (booleans are not integers here) or lies outside
    ``[minimum, maximum]``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise MetadataError(f"codec {codec!r}: configuration field {field!r} must be an integer, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise MetadataError(f"codec {codec!r}: configuration field {field!r} must be {bounds}, got {value!r}")
    return int(value)


def check_choice(codec: str, field: str, value: Any, choices: tuple[str, ...]) -> str:
    """``value``, which must be one of the strings ``choices``; MetadataError otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise MetadataError(
            f"codec {codec!r}: configuration field {field!r} must be one of {', '.join(map(repr, choices))}, "
            f"got {value!r}"
        )
    return value


def check_bool(codec: str, field: str, value: Any) -> bool:
    """``value``, which must be ``True`` or ``False``; MetadataError otherwise."""
    if not isinstance(value, bool):
        raise MetadataError(f"codec {codec!r}: configuration field {field!r} must be true or false, got {value!r}")
    return value


_IMAGECODECS_PREFIX = "imagecodecs_"


def get_numcodec(config: Mapping[str, Any]) -> Any:
    """The numcodecs codec ``config`` (``{"id": ..., ...}``) describes.

    imagecodecs' codecs (ids ``imagecodecs_*``: the LZW, JPEG, PackBits and predictor codecs of
    TIFF files) are registered with numcodecs on first use, since imagecodecs does not announce
    them. Raises whatever numcodecs raises for an unknown id or a bad configuration, and
    UnsupportedFeature when an ``imagecodecs_*`` id is asked for without imagecodecs installed.
    """
    try:
        return numcodecs.get_codec(dict(config))
    except ValueError:
        codec_id = config.get("id")
        if not (isinstance(codec_id, str) and codec_id.startswith(_IMAGECODECS_PREFIX)):
            raise
    imagecodecs_numcodecs = import_optional("imagecodecs.numcodecs", needed_for=f"codec {codec_id!r}", extra="tiff")
    imagecodecs_numcodecs.register_codecs(codecs=[codec_id], verbose=False)
    return numcodecs.get_codec(dict(config))
