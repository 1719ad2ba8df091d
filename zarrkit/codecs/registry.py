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

from collections.abc import Mapping
from typing import Any, TypeVar

from zarrkit.codecs.base import Codec
from zarrkit.errors import MetadataError

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


def describe_array(path: str | None) -> str:
    """How error messages name the array at ``path``, as the metadata layer does: ``array 'a/b'``.

    A path of None (not known to the caller) gives just ``array``.
    """
    if path is None:
        return "array"
    return f"array '{path.strip('/') or '/'}'"


def parse_codec(entry: Any) -> Codec | None:
    """The codec described by the metadata entry ``entry``, or None for an unknown codec to ignore.

    Raises MetadataError (naming the codec, not the array) for a malformed entry, an unknown codec
    that must be understood, or an invalid configuration.
    """
    if isinstance(entry, str):
        name, configuration, must_understand = entry, {}, True
    elif isinstance(entry, Mapping):
        unknown = sorted(set(entry) - {"name", "configuration", "must_understand"})
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise MetadataError(f"codec entry {dict(entry)!r} has unknown field(s) {names}")
        name = entry.get("name")
        configuration = entry.get("configuration", {})
        must_understand = entry.get("must_understand", True)
        if not isinstance(must_understand, bool):
            raise MetadataError(
                f"codec {name!r}: 'must_understand' must be true or false, got {must_understand!r}"
            )
    else:
        raise MetadataError(f"a codec entry must be an object or a name, got {entry!r}")
    if not isinstance(name, str) or not name:
        raise MetadataError(f"codec entry {entry!r} has no name")
    if not isinstance(configuration, Mapping):
        raise MetadataError(f"codec {name!r}: configuration must be an object, got {configuration!r}")
    cls = _codecs.get(name)
    if cls is None:
        if not must_understand:
            return None
        raise MetadataError(
            f"unknown codec {name!r} (it does not say \"must_understand\": false, so it cannot be ignored)"
        )
    try:
        return cls.from_json(dict(configuration))
    except MetadataError:
        raise
    except (TypeError, ValueError) as error:
        invalid = dict(configuration)
        raise MetadataError(f"codec {name!r}: invalid configuration {invalid!r}: {error}") from error


def codec_from_json(entry: Any, *, path: str | None) -> Codec | None:
    """The codec described by ``entry`` in the metadata of the array at ``path``.

    Returns None for an unknown codec marked ``"must_understand": false``. Raises MetadataError naming
    the array and the codec for anything else that cannot be parsed.
    """
    try:
        return parse_codec(entry)
    except MetadataError as error:
        raise MetadataError(f"{describe_array(path)}: {error}") from error
