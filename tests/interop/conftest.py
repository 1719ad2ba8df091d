"""Helpers for the interop tests: sample values that exercise every bit, and bit-exact comparison.

The peers (zarr-python, tensorstore) and zarrkit must agree on every stored bit, so the sample
values include what a value comparison would miss: NaNs with payloads (quiet and signalling), -0.0,
infinities, subnormals, NaT, NUL bytes inside fixed-length strings, and non-ASCII text.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Bit patterns that a comparison of values would not tell apart (or would call unequal to
# themselves), per float size: a quiet NaN with a payload, a signalling NaN, a negative NaN, -0.0,
# -infinity and the smallest subnormal.
SPECIAL_FLOAT_BITS = {
    2: (0x7E01, 0x7C01, 0xFE00, 0x8000, 0xFC00, 0x0001),
    4: (0x7FC00123, 0x7F800001, 0xFFC00000, 0x80000000, 0xFF800000, 0x00000001),
    8: (0x7FF8000000000123, 0x7FF0000000000001, 0xFFF8000000000000, 0x8000000000000000, 0xFFF0000000000000, 1),
}

# The names of the metadata documents; everything else a store holds is a chunk (or a shard).
METADATA_NAMES = (".zarray", ".zgroup", ".zattrs", ".zmetadata", "zarr.json")


def sample_values(dtype: Any, shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Deterministic values of ``dtype`` (a NumPy dtype, or "string"/"bytes" for variable length)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    if dtype in ("string", "bytes"):
        values = np.empty(size, dtype=object)
        if dtype == "string":
            # Lengths 0..6, code points from ASCII to astral planes (no surrogates: not UTF-8).
            code_points = np.concatenate([np.arange(0x20, 0x7F), np.arange(0xA0, 0x800), [0x1F600, 0x10FFFF]])
            values[:] = ["".join(map(chr, rng.choice(code_points, rng.integers(0, 7)))) for _ in range(size)]
        else:
            values[:] = [rng.bytes(int(rng.integers(0, 7))) for _ in range(size)]
        return values.reshape(shape)
    dtype = np.dtype(dtype)
    if dtype.fields is not None:
        values = np.zeros(size, dtype=dtype)
        for index, name in enumerate(dtype.names):
            values[name] = sample_values(dtype.fields[name][0], (size,), seed + index + 1)
        return values.reshape(shape)
    if dtype.kind == "b":
        return (rng.integers(0, 2, size) == 1).reshape(shape)
    if dtype.kind == "U":
        code_points = rng.integers(0x20, 0xD800, size * (dtype.itemsize // 4)).astype("<u4")
        # NumPy strips trailing NULs anyway; put none there so the stored width is really used.
        return code_points.view(dtype.newbyteorder("<")).astype(dtype).reshape(shape)
    values = np.frombuffer(rng.bytes(size * dtype.itemsize), dtype=dtype).copy()
    if dtype.kind in "fc" and size:
        _insert_special_floats(values)
    if dtype.kind in "mM" and size:
        values[0] = np.array("NaT", dtype=dtype)
    return values.reshape(shape)


def _insert_special_floats(values: np.ndarray) -> None:
    """Overwrite the first floats of ``values`` (float or complex) with the special bit patterns."""
    part_size = values.dtype.itemsize // (2 if values.dtype.kind == "c" else 1)
    bits = SPECIAL_FLOAT_BITS[part_size]
    parts = values.view(np.dtype(f"u{part_size}").newbyteorder(values.dtype.byteorder))
    count = min(len(bits), parts.size)
    parts[:count] = np.array(bits[:count], dtype=parts.dtype)


def assert_bit_identical(actual: Any, expected: np.ndarray) -> None:
    """Assert that ``actual`` has the dtype, shape and every stored bit of ``expected``.

    Variable-length values must be equal element by element and of the same Python type (str or
    bytes); they may come as object arrays, NumPy string arrays or (zarr-python, 0-d) a scalar.
    """
    actual = np.asarray(actual, dtype=object if expected.dtype.kind == "O" else None)
    assert actual.shape == expected.shape
    if expected.dtype.kind == "O":
        actual_list, expected_list = actual.ravel().tolist(), expected.ravel().tolist()
        assert [type(value) for value in actual_list] == [type(value) for value in expected_list]
        assert actual_list == expected_list
        return
    assert actual.dtype == expected.dtype
    # Comparing the raw bytes catches what == cannot: NaN payloads, -0.0, bytes after a NUL.
    np.testing.assert_array_equal(as_raw_bytes(actual), as_raw_bytes(expected))


def as_raw_bytes(values: np.ndarray) -> np.ndarray:
    """The bytes of each element, as a uint8 array of shape ``values.shape + (itemsize,)``."""
    contiguous = np.ascontiguousarray(values)
    return contiguous.view(np.uint8).reshape(values.shape + (values.dtype.itemsize,))


def stored_files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` by its store key (a path relative to ``root`` with "/")."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def chunk_files(root: Path) -> dict[str, bytes]:
    """The files below ``root`` that are chunks or shards, not metadata documents."""
    return {key: data for key, data in stored_files(root).items() if key.rsplit("/", 1)[-1] not in METADATA_NAMES}


def metadata_documents(root: Path) -> dict[str, Any]:
    """The parsed metadata documents below ``root`` by store key, without the optional empty parts.

    Writers differ in what they leave out when it is empty, and these differences mean nothing: an
    empty ``.zattrs`` (also inside ``.zmetadata``), ``"storage_transformers": []``, a codec's
    ``"configuration": {}``, and the empty ``consolidated_metadata`` that zarr-python gives every
    group inside consolidated metadata.
    Two forms mean the same value: zarr-python names the variable-length bytes type
    ``variable_length_bytes`` where the registered name is ``bytes``, and it writes the base64 fill
    value of fixed-length bytes without the trailing NULs that zarrkit keeps. Everything else must
    be equal.
    """
    documents = {}
    for key, data in stored_files(root).items():
        if key.rsplit("/", 1)[-1] not in METADATA_NAMES:
            continue
        document = _normalized(json.loads(data))
        if document != {} or not key.endswith(".zattrs"):
            documents[key] = document
    return documents


def _normalized(document: Any) -> Any:
    if isinstance(document, list):
        return [_normalized(item) for item in document]
    if not isinstance(document, dict):
        return document
    cleaned = {
        key: _normalized(value)
        for key, value in document.items()
        # Consolidated v2 metadata lists attribute documents by key: ".zattrs", "a/.zattrs"...
        if not (key.endswith(".zattrs") and value == {})
    }
    if cleaned.get("storage_transformers") == []:
        del cleaned["storage_transformers"]
    if "name" in cleaned and cleaned.get("configuration") == {}:
        del cleaned["configuration"]
    consolidated = cleaned.get("consolidated_metadata")
    if isinstance(consolidated, dict) and consolidated.get("metadata") == {}:
        del cleaned["consolidated_metadata"]
    if cleaned.get("data_type") == "variable_length_bytes":
        cleaned["data_type"] = "bytes"
    if _is_fixed_bytes(cleaned) and isinstance(cleaned.get("fill_value"), str):
        stripped = base64.b64decode(cleaned["fill_value"]).rstrip(b"\x00")
        cleaned["fill_value"] = base64.b64encode(stripped).decode()
    return cleaned


def _is_fixed_bytes(document: dict[str, Any]) -> bool:
    dtype = document.get("dtype")
    data_type = document.get("data_type")
    return (isinstance(dtype, str) and dtype.startswith("|S")) or (
        isinstance(data_type, dict) and data_type.get("name") == "null_terminated_bytes"
    )


@pytest.fixture
def make_values() -> Callable[..., np.ndarray]:
    """:func:`sample_values`: deterministic values of a data type that exercise every bit."""
    return sample_values


@pytest.fixture
def expect_bit_identical() -> Callable[[Any, np.ndarray], None]:
    """:func:`assert_bit_identical`: the same dtype, shape and bits (or equal variable-length values)."""
    return assert_bit_identical


@pytest.fixture(name="chunk_files")
def chunk_files_fixture() -> Callable[[Path], dict[str, bytes]]:
    """:func:`chunk_files`: the chunk and shard files below a directory, by store key."""
    return chunk_files


@pytest.fixture(name="metadata_documents")
def metadata_documents_fixture() -> Callable[[Path], dict[str, Any]]:
    """:func:`metadata_documents`: the parsed metadata documents below a directory, by store key."""
    return metadata_documents

