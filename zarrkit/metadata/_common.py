"""Helpers shared by the metadata modules: JSON documents, error messages and field checks.

Every check takes the ``where`` prefix of its error message ("array 'a/b'") and the field name, so
that each :class:`~zarrkit.errors.MetadataError` says which node and which field is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from zarrkit.errors import MetadataError


def describe_node(kind: str, path: str | None) -> str:
    """The prefix of an error message about a node: ``array 'a/b'``, ``group '/'`` for the root.

    Metadata objects do not know where they are stored, so their constructors describe themselves
    with ``path=None`` (just ``array``); the parsers then put the path in with :func:`relocate`.
    """
    if path is None:
        return kind
    return f"{kind} '{path or '/'}'"


def relocate(error: MetadataError, kind: str, path: str) -> MetadataError:
    """``error`` with the node's path put into a message that a constructor raised without it."""
    message = str(error)
    unplaced = describe_node(kind, None) + ":"
    if message.startswith(unplaced):
        message = describe_node(kind, path) + message[len(unplaced) - 1 :]
    return MetadataError(message)


def load_json_document(
    data: bytes | bytearray | memoryview | str | Mapping[str, Any], *, path: str, key: str
) -> dict[str, Any]:
    """Decode the metadata document stored under ``key`` at node ``path`` into a JSON object.

    Accepts bytes, text, or an already decoded mapping (consolidated metadata holds decoded
    documents). Raises MetadataError when the value is none of those, when the bytes are not UTF-8
    JSON (or nest too deeply to decode), or when they do not hold a JSON object.
    """
    if isinstance(data, Mapping):
        return dict(data)
    where = f"{describe_node('node', path)}: document '{key}'"
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, (bytes, bytearray, str)):
        raise MetadataError(f"{where} must be a JSON object, got {type(data).__name__} {data!r}")
    try:
        # NaN and Infinity are not JSON, but zarr-python writes them in attributes; accept them.
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MetadataError(f"{where} is not valid JSON ({error})") from None
    except RecursionError:
        raise MetadataError(f"{where} nests too deeply to be decoded") from None
    if not isinstance(document, dict):
        raise MetadataError(f"{where} must hold a JSON object, got {type(document).__name__}")
    return document


def _to_json_value(value: Any) -> Any:
    """``json.dumps`` fallback for NumPy values users put in attributes."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_json_document(document: Mapping[str, Any], *, where: str) -> bytes:
    """Encode a metadata document as UTF-8 JSON with an indent of 4.

    Fill values never reach this point as floats (they are encoded as strings first); NaN and
    Infinity inside attributes are written as bare tokens, as zarr-python does. Raises MetadataError
    naming ``where`` when a value (typically an attribute) cannot be encoded.
    """
    try:
        text = json.dumps(document, indent=4, ensure_ascii=False, default=_to_json_value)
    except (TypeError, ValueError) as error:
        raise MetadataError(f"{where}: metadata cannot be encoded as JSON ({error})") from None
    return text.encode("utf-8")


def is_json_int(value: Any) -> bool:
    """Whether ``value`` is a JSON integer (Python ``bool`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return is_json_int(value) or isinstance(value, np.integer)


def is_integral_number(value: Any) -> bool:
    """Whether ``value`` is a JSON integer, or a float with no fractional part such as ``2.0``."""
    if is_json_int(value):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def require_field(document: Mapping[str, Any], field: str, *, where: str) -> Any:
    """The value of a mandatory ``field``; raises MetadataError when it is missing."""
    if field not in document:
        raise MetadataError(f"{where}: mandatory field '{field}' is missing")
    return document[field]


def parse_int_tuple(value: Any, *, where: str, field: str, minimum: int) -> tuple[int, ...]:
    """A list of integers (Python or NumPy), each at least ``minimum``, as a tuple of Python ints.

    Raises MetadataError otherwise.
    """
    if isinstance(value, (list, tuple)) and all(_is_integer(item) for item in value):
        if all(item >= minimum for item in value):
            return tuple(int(item) for item in value)
    kind = "positive" if minimum == 1 else "non-negative"
    raise MetadataError(f"{where}: field '{field}' must be a list of {kind} integers, got {value!r}")


def parse_attributes(value: Any, *, where: str, field: str = "attributes") -> dict[str, Any]:
    """User attributes: a JSON object; raises MetadataError otherwise."""
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise MetadataError(f"{where}: field '{field}' must be a JSON object, got {value!r}")
    return dict(value)


def parse_named_object(value: Any, *, where: str, field: str) -> dict[str, Any]:
    """An extension object in its normal form ``{"name", "configuration"[, "must_understand"]}``.

    Accepts the short-hand name string. ``configuration`` defaults to ``{}``; ``must_understand``
    is kept only when given. Raises MetadataError for any other shape or member.
    """
    if isinstance(value, str):
        return {"name": value, "configuration": {}}
    if not isinstance(value, Mapping) or not isinstance(value.get("name"), str):
        raise MetadataError(
            f"{where}: field '{field}' must be a name or an object with a string 'name', got {value!r}"
        )
    unknown = set(value) - {"name", "configuration", "must_understand"}
    if unknown:
        raise MetadataError(f"{where}: field '{field}' has unknown members {sorted(unknown)}")
    configuration = value.get("configuration", {})
    if not isinstance(configuration, Mapping):
        raise MetadataError(
            f"{where}: field '{field}': 'configuration' of '{value['name']}' must be an object, "
            f"got {configuration!r}"
        )
    normalized: dict[str, Any] = {"name": value["name"], "configuration": dict(configuration)}
    if "must_understand" in value:
        if not isinstance(value["must_understand"], bool):
            raise MetadataError(
                f"{where}: field '{field}': 'must_understand' of '{value['name']}' must be a boolean"
            )
        normalized["must_understand"] = value["must_understand"]
    return normalized
