"""What every scanner produces: a reference set holding Zarr metadata (v2 or v3) and chunk references.

A scanner describes each array with the keywords of :func:`zarrkit.core.creation.array_metadata`
(the ones ``create_array`` takes), so the metadata is validated and written exactly as zarrkit
writes it for arrays of its own, and adds its chunks by chunk coordinates: the builder turns them
into the keys of the array's chunk key encoding.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from zarrkit.codecs import BytesCodec
from zarrkit.core.creation import array_metadata
from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    ArrayMetadata,
    GroupMetadataV2,
    GroupMetadataV3,
    dump_json_document,
    join_path,
    normalize_path,
)
from zarrkit.refs.chunk_table import ChunkGrid, ChunkTable
from zarrkit.refs.model import Reference, ReferenceSet


def _is_big_endian(dtype: Any) -> bool:
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return False
    return dtype.byteorder == ">" or (dtype.byteorder == "=" and sys.byteorder == "big")


class ReferenceBuilder:
    """Builds the reference set of one scanned file: groups, arrays and their chunks.

    ``zarr_format`` is 2 (the default, what kerchunk writes) or 3. Raises MetadataError for an
    invalid array description (naming the array and the keyword) or an unknown format.
    """

    def __init__(self, *, zarr_format: int = 2) -> None:
        if zarr_format not in (2, 3):
            raise MetadataError(f"zarr_format must be 2 or 3, got {zarr_format!r}")
        self.zarr_format = zarr_format
        self.references = ReferenceSet()
        self._arrays: dict[str, ArrayMetadata] = {}
        self._chunk_key_prefixes: dict[str, str] = {}

    def add_group(self, path: str, attributes: dict[str, Any] | None = None) -> None:
        """Add the group at ``path`` (``""`` for the root) with ``attributes``."""
        if self.zarr_format == 2:
            metadata = GroupMetadataV2(attributes=attributes or {})
        else:
            metadata = GroupMetadataV3(attributes=attributes or {})
        self._add_documents(path, metadata.to_json_documents())

    def add_array(self, path: str, **keywords: Any) -> ArrayMetadata:
        """Add the array at ``path`` described by ``keywords`` (those of ``array_metadata``:
        ``shape``, ``dtype``, ``chunks``, ``filters``, ``compressors``, ``fill_value``, ``order``,
        ``attributes``, ``dimension_names``, ...); returns its metadata.

        The byte order of ``dtype`` is the order of the data in the file: in Zarr v3 a big-endian
        dtype gets a big-endian ``bytes`` serializer unless ``serializer`` is given.
        """
        dtype = keywords.get("dtype")
        if self.zarr_format == 3 and "serializer" not in keywords and _is_big_endian(dtype):
            keywords["serializer"] = BytesCodec(endian="big")
        metadata = array_metadata(path=path, zarr_format=self.zarr_format, **keywords)
        self._add_documents(path, metadata.to_json_documents())
        self._arrays[path] = metadata
        normalized = normalize_path(path)
        self._chunk_key_prefixes[path] = f"{normalized}/" if normalized else ""
        return metadata

    def add_chunk(self, path: str, chunk_coords: tuple[int, ...], entry: bytes | Reference) -> None:
        """Point the chunk at ``chunk_coords`` of the array at ``path`` at ``entry``: its encoded
        bytes inline, or a reference to them in the scanned file."""
        # Scanners add millions of chunks: the path was checked once, when the array was added.
        self.references[self._chunk_key_prefixes[path] + self._arrays[path].chunk_key(chunk_coords)] = entry

    def chunk_grid(self, path: str) -> tuple[int, ...]:
        """The number of chunks along each dimension of the array at ``path``."""
        return self._grid(path).grid

    def _grid(self, path: str) -> ChunkGrid:
        metadata = self._arrays[path]
        return ChunkGrid.of_array(normalize_path(path), metadata.shape, metadata.chunks, metadata.chunk_key_encoding)

    def add_chunk_table(self, path: str, url: str, offsets: np.ndarray, lengths: np.ndarray) -> None:
        """Point every chunk of the array at ``path`` at ``lengths[n]`` bytes from ``offsets[n]`` of
        ``url``, where ``n`` numbers the chunks in C order over the chunk grid. The references are
        held as columns (a :class:`~zarrkit.refs.chunk_table.ChunkTable`), which costs a scanner
        nothing per chunk. Raises ReferenceError when the columns do not hold one value per chunk."""
        self.references.add_chunk_table(ChunkTable(self._grid(path), url, offsets, lengths))

    def _add_documents(self, path: str, documents: dict[str, Any]) -> None:
        for name, document in documents.items():
            key = join_path(path, name)
            self.references[key] = dump_json_document(document, where=key)
