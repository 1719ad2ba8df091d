"""The inputs of :func:`zarrkit.scan.combine.combine`: loading one, reading its structure (groups,
arrays and their dimension names), finding the chunks of each array, and checking that two inputs
agree on everything a combined array must share.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.codecs.pipeline import chunk_spec, pipeline_for
from zarrkit.core.array import Array
from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.errors import MetadataError, NodeNotFound, ReferenceError
from zarrkit.metadata import METADATA_KEYS, ArrayMetadata, GroupMetadata, NodeMetadata, join_path, parse_node
from zarrkit.metadata.v2 import ArrayMetadataV2, GroupMetadataV2
from zarrkit.metadata.v3 import GroupMetadataV3
from zarrkit.refs.load import ReferencesLike, load_references_async
from zarrkit.refs.model import Entry, Reference, References, ReferenceSet
from zarrkit.refs.store import ReferenceStore
from zarrkit.runtime import run_in_pool

DECODING_ATTRIBUTES = ("scale_factor", "add_offset", "_FillValue", "missing_value", "units", "calendar")
"""Attributes that change what an array's numbers mean (CF conventions): inputs whose values are
concatenated must agree on them, or the combined values would be decoded wrongly."""

_V2_LAYOUT_FIELDS = ("dtype", "chunks", "fill_value", "order", "compressor", "filters")
_V3_LAYOUT_FIELDS = ("data_type", "chunk_grid", "fill_value", "codecs")
_TYPE_FIELDS = {"dtype", "data_type"}


# -- naming and loading inputs --------------------------------------------------------------------


@dataclass(frozen=True)
class InputSource:
    """One input as the caller gave it: its ``position`` in the given order, what to load, and its
    name (its URL, or the name the caller gave it), if any."""

    position: int
    source: ReferencesLike
    name: str | None


def input_sources(inputs: Sequence[ReferencesLike] | Mapping[str, ReferencesLike]) -> list[InputSource]:
    """The inputs in the given order with their names: a mapping gives names to its values; a path
    or URL is its own name; a loaded parquet reference set is named by its URL.

    Raises ReferenceError for no inputs, or for a single string (a list of one URL is meant).
    """
    if isinstance(inputs, str | bytes | os.PathLike):
        raise ReferenceError(f"combine takes a list of inputs, got the single {inputs!r}; pass [{inputs!r}]")
    if isinstance(inputs, Mapping):
        sources = [InputSource(position, source, str(name)) for position, (name, source) in enumerate(inputs.items())]
    else:
        sources = [InputSource(position, source, _name_of(source)) for position, source in enumerate(inputs)]
    if not sources:
        raise ReferenceError("combine needs at least one input")
    return sources


def _name_of(source: ReferencesLike) -> str | None:
    if isinstance(source, str | os.PathLike):
        return os.fsdecode(source)
    url = getattr(source, "url", None)
    return url if isinstance(url, str) else None


@dataclass(frozen=True)
class ArrayInfo:
    """An array of an input: its path, metadata, and dimension names (None unless every dimension
    is named, by ``_ARRAY_DIMENSIONS`` in v2 or ``dimension_names`` in v3)."""

    path: str
    metadata: ArrayMetadata
    dimensions: tuple[str, ...] | None


@dataclass(frozen=True)
class Structure:
    """The groups and arrays of an input, by path, and its Zarr format."""

    zarr_format: int
    groups: dict[str, GroupMetadata]
    arrays: dict[str, ArrayInfo]
    chunk_count: int
    """How many of the input's keys are not metadata."""

    @property
    def root_attributes(self) -> dict[str, Any]:
        """The attributes of the root group (empty when the root group is implicit)."""
        root = self.groups.get("")
        return {} if root is None else root.attributes

    def dimension_extents(self, label: str, names: Collection[str]) -> dict[str, int]:
        """The extent of each of the dimensions ``names`` that the arrays have. Raises
        ReferenceError naming the input (``label``) and the arrays when two arrays disagree on it."""
        extents: dict[str, tuple[int, str]] = {}
        for info in self.arrays.values():
            for name, extent in zip(info.dimensions or (), info.metadata.shape):
                if name not in names:
                    continue
                known, other = extents.setdefault(name, (extent, info.path))
                if known != extent:
                    raise ReferenceError(
                        f"{label}: dimension {name!r} has {known} values in variable {other!r} but {extent} in "
                        f"{info.path!r}"
                    )
        return {name: extent for name, (extent, _) in extents.items()}


@dataclass(frozen=True)
class DescribedInput:
    """An input's name and structure: what combine keeps of an input it is not reading.

    ``name`` is the source's name or, for a reference set in memory without one, the URL of the
    one file its references point to.
    """

    source: InputSource
    name: str | None
    structure: Structure

    @property
    def label(self) -> str:
        """How messages name this input."""
        return repr(self.name) if self.name is not None else f"input #{self.source.position}"


@dataclass(frozen=True)
class LoadedInput(DescribedInput):
    """An input loaded: its description, its references and every key it holds."""

    references: References
    keys: list[str]

    def described(self) -> DescribedInput:
        """This input without its references."""
        return DescribedInput(self.source, self.name, self.structure)


_METADATA_NAMES = frozenset(METADATA_KEYS)
_METADATA_KEY_LINE = re.compile(
    r"^(?:.*/)?(?:" + "|".join(re.escape(name) for name in METADATA_KEYS) + r")$", re.MULTILINE
)


def _metadata_keys(keys: list[str]) -> list[str]:
    """The metadata keys among ``keys``: one regular expression over all of them, as there are
    many keys and few metadata keys (one key per line, unless a key holds a line break)."""
    text = "\n".join(keys)
    if text.count("\n") == max(len(keys) - 1, 0):
        return _METADATA_KEY_LINE.findall(text)
    return [key for key in keys if key.rpartition("/")[2] in _METADATA_NAMES]


async def load_input(source: InputSource, *, storage_options: Mapping[str, Any] | None) -> LoadedInput:
    """Load ``source`` and read its structure.

    Raises ReferenceError naming the input when it cannot be loaded, its metadata is malformed,
    its root is an array, or it mixes Zarr formats.
    """
    label = repr(source.name) if source.name is not None else f"input #{source.position}"
    try:
        references = await load_references_async(source.source, storage_options=storage_options)
        if isinstance(references, ReferenceSet) and not references.mounts:
            keys = sorted(references)  # what list_keys() gives, without its per-key prefix test
        else:
            keys = await references.list_keys()
        metadata_keys = _metadata_keys(keys)
        documents = await references.lookup(metadata_keys)
    except ReferenceError as error:
        raise ReferenceError(f"{label}: {error}") from None
    structure = _parse_structure(dict(zip(metadata_keys, documents)), label, len(keys) - len(metadata_keys))
    name = source.name
    if name is None and isinstance(references, ReferenceSet):
        targets = references.target_urls()
        if len(targets) == 1 and targets[0] is not None:
            name = targets[0]
    return LoadedInput(source, name, structure, references, keys)


# Inputs made by one tool mostly share their metadata documents: each distinct node is parsed once.
_parsed_nodes: OrderedDict[tuple[str, tuple[tuple[str, bytes], ...]], NodeMetadata | None] = OrderedDict()
_PARSED_NODES_KEPT = 256


def _parse_node_cached(path: str, documents: dict[str, bytes]) -> NodeMetadata | None:
    """The metadata of the node at ``path`` (None for attributes without a node); MetadataError if malformed."""
    cache_key = (path, tuple(sorted(documents.items())))
    if cache_key in _parsed_nodes:
        _parsed_nodes.move_to_end(cache_key)
        return _parsed_nodes[cache_key]
    try:
        metadata: NodeMetadata | None = parse_node(documents, path=path)
    except NodeNotFound:
        metadata = None
    _parsed_nodes[cache_key] = metadata
    if len(_parsed_nodes) > _PARSED_NODES_KEPT:
        _parsed_nodes.popitem(last=False)
    return metadata


def _parse_structure(documents: Mapping[str, Entry | None], label: str, chunk_count: int) -> Structure:
    by_node: dict[str, dict[str, bytes]] = {}
    for key, entry in documents.items():
        path, _, name = key.rpartition("/")
        if not isinstance(entry, bytes):
            raise ReferenceError(f"{label}: metadata key {key!r} is a reference to {entry!r}; metadata must be inline")
        by_node.setdefault(path, {})[name] = entry
    groups: dict[str, GroupMetadata] = {}
    arrays: dict[str, ArrayInfo] = {}
    formats: dict[int, str] = {}
    for path, node_documents in by_node.items():
        try:
            metadata = _parse_node_cached(path, node_documents)
        except MetadataError as error:
            raise ReferenceError(f"{label}: {error}") from None
        if metadata is None:
            continue  # attributes without a node: nothing to combine
        formats.setdefault(metadata.zarr_format, path)
        if isinstance(metadata, GroupMetadataV2 | GroupMetadataV3):
            groups[path] = metadata
        else:
            arrays[path] = ArrayInfo(path, metadata, _dimension_names(metadata))
    if len(formats) > 1:
        raise ReferenceError(
            f"{label} mixes Zarr formats: {', '.join(f'v{fmt} at {path!r}' for fmt, path in formats.items())}"
        )
    if "" in arrays:
        raise ReferenceError(f"{label}: its root is an array; combine takes inputs whose root is a group")
    return Structure(next(iter(formats), 2), groups, arrays, chunk_count)


def _dimension_names(metadata: ArrayMetadata) -> tuple[str, ...] | None:
    names = metadata.dimension_names
    if names is None or any(name is None for name in names):
        return None
    return tuple(names)  # type: ignore[arg-type]


# -- the chunks of an input -----------------------------------------------------------------------


def chunks_by_array(loaded: LoadedInput, paths: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    """The chunk keys of the arrays at ``paths`` in ``loaded`` and their chunk coordinates (an
    integer array with a row per key).

    Raises ReferenceError naming the input and key for a key that is neither metadata nor a key
    under one of the input's arrays, or a key under one of ``paths`` that is no chunk key inside
    its grid (either would be lost in the output).
    """
    keys = loaded.keys  # sorted, as References.list_keys returns them
    arrays = loaded.structure.arrays
    keys_of: dict[str, list[str]] = {}
    for path in arrays:
        # The keys under "<path>/" sort between it and "<path>0", "0" being the character after "/".
        first, last = bisect.bisect_left(keys, path + "/"), bisect.bisect_left(keys, path + "0")
        prefix_length = len(path) + 1
        keys_of[path] = [key for key in keys[first:last] if key[prefix_length:] not in _METADATA_NAMES]
    if sum(len(array_keys) for array_keys in keys_of.values()) != loaded.structure.chunk_count:
        under_arrays = {key for array_keys in keys_of.values() for key in array_keys}
        for key in keys:
            if key not in under_arrays and key.rpartition("/")[2] not in _METADATA_NAMES:
                raise _stray_key(loaded, key)
    result = {}
    for path in paths:
        metadata = arrays[path].metadata
        array_keys = keys_of[path]
        grid = RegularChunkGrid(metadata.shape, metadata.chunks).grid_shape
        coordinates = _decode_names([key[len(path) + 1 :] for key in array_keys], metadata, grid)
        if coordinates is None:  # a malformed or out-of-grid name: look at each to name it
            for key in array_keys:
                name = key[len(path) + 1 :]
                decoded = metadata.chunk_key_encoding.decode(name, ndim=metadata.ndim)
                if decoded is None or not all(index < extent for index, extent in zip(decoded, grid)):
                    raise _stray_key(loaded, key)
        result[path] = (array_keys, coordinates)
    return result


def _stray_key(loaded: LoadedInput, key: str) -> ReferenceError:
    return ReferenceError(
        f"{loaded.label}: key {key!r} is neither metadata nor a chunk key inside the grid of one of its arrays "
        f"({sorted(loaded.structure.arrays)})"
    )


@functools.lru_cache(maxsize=64)
def _chunk_names_pattern(separator: str, ndim: int) -> re.Pattern[str]:
    """Matches line-separated chunk names of ``ndim`` ASCII integers joined by ``separator``."""
    name = r"\d+" + (re.escape(separator) + r"\d+") * (ndim - 1)
    return re.compile(rf"{name}(?:\n{name})*", re.ASCII)


def _decode_names(names: list[str], metadata: ArrayMetadata, grid: tuple[int, ...]) -> np.ndarray | None:
    """The coordinates of the chunks with the key ``names`` (relative to the array), a row per
    name, decoded together; None when a name is malformed or lies outside ``grid``."""
    ndim = metadata.ndim
    if not names:
        return np.zeros((0, ndim), dtype=np.int64)
    if ndim == 0:
        scalar_key = metadata.chunk_key(())
        return np.zeros((len(names), 0), dtype=np.int64) if all(name == scalar_key for name in names) else None
    separator = metadata.chunk_key_encoding.separator
    first_key = metadata.chunk_key((0,) * ndim)
    prefix = first_key[: len(first_key) - (2 * ndim - 1)]  # "c/" for the v3 default encoding, else ""
    if prefix:
        if not all(name.startswith(prefix) for name in names):
            return None
        names = [name[len(prefix) :] for name in names]
    text = "\n".join(names)
    if _chunk_names_pattern(separator, ndim).fullmatch(text) is None:
        return None
    coordinates = np.array(text.replace("\n", separator).split(separator), dtype=np.int64).reshape(len(names), ndim)
    if not np.all(coordinates < np.asarray(grid, dtype=np.int64)):
        return None
    return coordinates


async def read_array_values(
    loaded: LoadedInput, info: ArrayInfo, *, target_options: Mapping[str, Mapping[str, Any]] | None
) -> np.ndarray:
    """All values of the array ``info`` of ``loaded``, read through its references.

    Raises ReferenceError naming the input and the array when a chunk cannot be read or decoded.
    """
    metadata = info.metadata
    try:
        if RegularChunkGrid(metadata.shape, metadata.chunks).nchunks == 1:
            # One chunk, often inline (a coordinate): decoded here, without a store and an engine.
            (entry,) = await loaded.references.lookup([join_path(info.path, metadata.chunk_key((0,) * metadata.ndim))])
            pipeline = pipeline_for(metadata, path=info.path)
            if isinstance(entry, bytes) and pipeline.sharding is None:
                decoded = await run_in_pool(pipeline.decode, entry, chunk_spec(metadata))
                return np.asarray(decoded)[tuple(slice(0, extent) for extent in metadata.shape)]
        store = ReferenceStore(loaded.references, target_options=target_options)
        return np.asarray(await Array(store, info.path, metadata).get_async())
    except Exception as error:
        raise ReferenceError(f"{loaded.label}: cannot read the values of variable {info.path!r}: {error}") from error


def references_digest(keys: Sequence[str], entries: Sequence[Entry | None]) -> bytes:
    """A digest of an array's chunk keys and entries: equal digests mean identical references."""
    digest = hashlib.blake2b(digest_size=16)
    for key, entry in sorted(zip(keys, entries), key=lambda item: item[0]):
        digest.update(key.encode() + b"\0")
        if isinstance(entry, Reference):
            digest.update(f"R{entry.url}\0{entry.offset}\0{entry.length}\0".encode())
        elif entry is not None:
            digest.update(b"B%d\0" % len(entry) + entry)
    return digest.digest()


def values_digest(values: np.ndarray) -> bytes:
    """A digest of an array's values, its dtype and shape: equal digests mean equal arrays."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{values.dtype.str}{values.shape}".encode())
    if values.dtype.hasobject:
        digest.update(json.dumps(values.ravel().tolist(), default=repr).encode())
    else:
        digest.update(np.ascontiguousarray(values).tobytes())
    return digest.digest()


# -- agreement between inputs ---------------------------------------------------------------------


def check_same_nodes(template: DescribedInput, other: DescribedInput) -> None:
    """Raise ReferenceError naming both inputs when their arrays or groups differ."""
    for kind, mine, theirs in (
        ("variables", template.structure.arrays, other.structure.arrays),
        ("groups", template.structure.groups, other.structure.groups),
    ):
        missing, extra = sorted(set(mine) - set(theirs)), sorted(set(theirs) - set(mine))
        if missing or extra:
            parts = [f"lacks the {kind} {missing}" if missing else "", f"has the extra {kind} {extra}" if extra else ""]
            raise ReferenceError(
                f"{other.label} {' and '.join(part for part in parts if part)} that {template.label} "
                f"{'has' if missing else 'lacks'}; combined inputs hold the same {kind}"
            )


def check_same_array(
    template: DescribedInput,
    other: DescribedInput,
    path: str,
    *,
    concatenated_axes: Sequence[int],
    layout_matters: bool = True,
) -> None:
    """Raise ReferenceError naming both inputs and the variable at ``path`` when they differ in
    what the combined array must share: dimension names, shape (except along
    ``concatenated_axes``), data type, and, when ``layout_matters``, chunking, fill value and
    codecs; and the attributes of :data:`DECODING_ATTRIBUTES`.

    ``layout_matters`` is false for a coordinate that combine writes anew (only its values matter).
    """
    mine, theirs = template.structure.arrays[path], other.structure.arrays[path]
    if mine == theirs:
        return

    def differs(what: str, first: Any, second: Any) -> ReferenceError:
        return ReferenceError(
            f"variable {path!r} has {what} {first} in {template.label} but {second} in {other.label}; inputs "
            "must agree on it to be combined"
        )

    if mine.dimensions != theirs.dimensions:
        raise differs("the dimensions", mine.dimensions, theirs.dimensions)
    if mine.metadata.zarr_format != theirs.metadata.zarr_format:
        raise differs("Zarr format", mine.metadata.zarr_format, theirs.metadata.zarr_format)
    mine_shape = [extent for axis, extent in enumerate(mine.metadata.shape) if axis not in concatenated_axes]
    theirs_shape = [extent for axis, extent in enumerate(theirs.metadata.shape) if axis not in concatenated_axes]
    if len(mine.metadata.shape) != len(theirs.metadata.shape) or mine_shape != theirs_shape:
        raise differs("the shape", list(mine.metadata.shape), list(theirs.metadata.shape))
    mine_document, theirs_document = mine.metadata.to_json(), theirs.metadata.to_json()
    fields = _V2_LAYOUT_FIELDS if isinstance(mine.metadata, ArrayMetadataV2) else _V3_LAYOUT_FIELDS
    for field in fields:
        if not (layout_matters or field in _TYPE_FIELDS):
            continue
        if not _same_json(mine_document.get(field), theirs_document.get(field)):
            raise differs(f"{field!r}", _json(mine_document.get(field)), _json(theirs_document.get(field)))
    missing = object()
    for name in DECODING_ATTRIBUTES:
        first, second = mine.metadata.attributes.get(name, missing), theirs.metadata.attributes.get(name, missing)
        if (first is missing) != (second is missing) or not _same_json(first, second):
            raise differs(
                f"attribute {name!r} =",
                "(none)" if first is missing else _json(first),
                "(none)" if second is missing else _json(second),
            )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _comparable(value: Any) -> Any:
    """``value`` with NaN replaced by a marker, so that two NaN attributes compare equal."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, list | tuple):
        return [_comparable(item) for item in value]
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    return value


def _same_json(first: Any, second: Any) -> bool:
    return _comparable(first) == _comparable(second)
