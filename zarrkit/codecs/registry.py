"""The registry of v3 codecs by name, and the parsing of codec metadata entries.

Each codec module registers its classes when imported, and ``zarrkit.codecs`` imports them all, so
the registry is complete whenever this module is reachable. Other packages add codecs with
:func:`register_codec`.

An entry is an object ``{"name": ..., "configuration": {...}, "must_understand": ...}`` or, for a
codec without configuration, its bare name. The v3 core spec says an implementation must refuse
unknown extensions unless they say ``"must_understand": false``, in which case it may ignore them;
:func:`codec_from_json` returns None for those, and the chain built from the rest must still be
valid (an unknown codec cannot be skipped when it was the chain's only array->bytes codec).
"""

from __future__ import annotations

from typing import Any, TypeVar

from zarrkit.codecs.base import Codec
from zarrkit.errors import MetadataError
from zarrkit.metadata import describe_node, parse_named_object

CodecType = TypeVar("CodecType", bound=type[Codec])

_codecs: dict[str, type[Codec]] = {}


def register_codec(cls: CodecType) -> CodecType:
    """Register ``cls`` under ``cls.name`` (replacing any codec of that name) and return it.

    Raises MetadataError when ``cls`` has no name.
    """
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise MetadataError(f"codec class {cls.__qualname__} has no name to register")
    _codecs[name] = cls
    return cls


def registered_codec(name: str) -> type[Codec] | None:
    """The codec class registered under ``name``, or None."""
    return _codecs.get(name)


def parse_codec(entry: Any, *, where: str = "array", field: str = "codecs") -> Codec | None:
    """The codec that ``entry``, an item of the list ``field`` of what ``where`` names, describes.

    Returns None for an unknown codec marked ``"must_understand": false``. Raises MetadataError,
    starting with ``where``, for a malformed entry, an unknown codec that must be understood, or an
    invalid configuration.
    """
    codec = parse_named_object(entry, where=where, field=field)
    name = codec["name"]
    cls = _codecs.get(name)
    if cls is None:
        if not codec.get("must_understand", True):
            return None
        raise MetadataError(
            f"{where}: unknown codec {name!r} (it does not say \"must_understand\": false, so it cannot be ignored)"
        )
    try:
        return cls.from_json(codec["configuration"])
    except MetadataError as error:
        raise MetadataError(f"{where}: {error}") from None
    except (TypeError, ValueError) as error:
        invalid = codec["configuration"]
        raise MetadataError(f"{where}: codec {name!r}: invalid configuration {invalid!r}: {error}") from error


def codec_from_json(entry: Any, *, path: str | None) -> Codec | None:
    """The codec described by ``entry`` in the ``codecs`` list of the array at ``path``.

    Returns None for an unknown codec marked ``"must_understand": false``. Raises MetadataError naming
    the array and the codec for anything else that cannot be parsed.
    """
    return parse_codec(entry, where=describe_node("array", path))
