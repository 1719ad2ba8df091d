"""Where :func:`zarrkit.scan.combine.combine` writes: a reference set in memory, or a parquet
reference directory written while the inputs stream through.

The parquet output keeps a buffer per open record file (``record_size`` consecutive chunks of one
array) and writes a record file as soon as no later input can add to it: combine tells it, before
the inputs stream, which input is the last to touch each record (:func:`closing_schedule`). When
the concatenated dimensions come first in the arrays (a new dimension always does; ``time`` usually
does), each record closes after a few inputs and memory stays bounded by one input plus the open
records.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from zarrkit.errors import ReferenceError
from zarrkit.metadata import ArrayMetadata, NodeMetadata, join_path
from zarrkit.refs import json_format
from zarrkit.refs.model import Entry, References, ReferenceSet
from zarrkit.refs.parquet_format import open_parquet, record_file_key, remove_layout, write_layout_document
from zarrkit.refs.parquet_records import encode_record, pyarrow_module
from zarrkit.runtime import run_in_pool
from zarrkit.storage.url import open_store


def closing_schedule(
    grid: tuple[int, ...], record_size: int, ranks: Sequence[int], lower: np.ndarray, upper: np.ndarray
) -> dict[int, list[int]]:
    """For one array with chunk ``grid``: the record files that each input closes, by the input's
    rank in the streaming order.

    Input ``ranks[i]`` writes chunks inside the box from ``lower[i]`` to ``upper[i]`` (chunk
    coordinates, inclusive). Its chunk numbers (C order) lie between those of the two corners, so
    it can add to no record outside that range; a record closes after the last input that can add
    to it. Records nobody writes are absent.
    """
    if not ranks or any(extent == 0 for extent in grid):
        return {}
    if grid:
        first_numbers = np.ravel_multi_index(tuple(lower.T), grid)
        last_numbers = np.ravel_multi_index(tuple(upper.T), grid)
    else:
        first_numbers = last_numbers = np.zeros(len(ranks), dtype=np.int64)
    record_count = -(-int(np.prod(grid, dtype=np.int64)) // record_size)
    last_rank = np.full(record_count, -1, dtype=np.int64)
    order = np.argsort(ranks, kind="stable")
    for index in order.tolist():
        last_rank[first_numbers[index] // record_size : last_numbers[index] // record_size + 1] = ranks[index]
    schedule: dict[int, list[int]] = {}
    for record in np.flatnonzero(last_rank >= 0).tolist():
        schedule.setdefault(int(last_rank[record]), []).append(record)
    return schedule


class MemoryOutput:
    """Builds the combined reference set in memory; ``output`` names a JSON file to save it to, if any."""

    def __init__(self, output: str | None = None, *, storage_options: Mapping[str, Any] | None = None) -> None:
        self.references = ReferenceSet()
        self._output = output
        self._storage_options = storage_options

    def add_node(self, path: str, metadata: NodeMetadata) -> None:
        """Add the metadata documents of the node at ``path``."""
        for name, document in metadata.to_documents().items():
            self.references[join_path(path, name)] = document

    async def add_chunks(
        self, path: str, metadata: ArrayMetadata, coordinates: np.ndarray, entries: Sequence[Entry]
    ) -> None:
        """Add the chunks at ``coordinates`` (a row per chunk) of the array at ``path``."""
        for row, entry in zip(coordinates.tolist(), entries):
            self.references[join_path(path, metadata.chunk_key(tuple(row)))] = entry

    async def input_done(self, rank: int) -> None:
        """Nothing to do: everything stays in memory."""

    async def finish(self) -> References:
        """The combined reference set, saved as JSON first when an output file was named."""
        if self._output is not None:
            await json_format.save_json(self.references, self._output, storage_options=self._storage_options)
        return self.references


class ParquetOutput:
    """Writes the combined reference set to the parquet directory at ``url`` while inputs stream in.

    ``schedule`` maps an input's rank to the ``(array path, record)`` pairs it closes (see
    :func:`closing_schedule`); ``grids`` gives each array's chunk grid. Existing ``.zmetadata`` and
    record files under ``url`` are removed first. Raises UnsupportedFeature without pyarrow and
    StoreError when ``url`` cannot be written.
    """

    def __init__(
        self,
        url: str,
        *,
        record_size: int,
        grids: Mapping[str, tuple[int, ...]],
        schedule: Mapping[int, Sequence[tuple[str, int]]],
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        pyarrow_module()
        self._url = os.fsdecode(url)
        self._record_size = record_size
        self._grids = dict(grids)
        self._schedule = {rank: list(pairs) for rank, pairs in schedule.items()}
        self._storage_options = storage_options
        self._store = open_store(self._url, mode="w", storage_options=dict(storage_options or {}))
        self._metadata: dict[str, dict[str, Any]] = {}
        self._buffers: dict[tuple[str, int], tuple[list[int], list[Entry]]] = {}
        self._started = False

    async def _start(self) -> None:
        """Remove the ``.zmetadata`` and record files of an earlier set at the URL, once."""
        if self._started:
            return
        self._started = True
        await remove_layout(self._store)

    def add_node(self, path: str, metadata: NodeMetadata) -> None:
        """Add the metadata documents of the node at ``path`` (written into ``.zmetadata`` at the end)."""
        for name, document in metadata.to_json_documents().items():
            self._metadata[join_path(path, name)] = document

    async def add_chunks(
        self, path: str, metadata: ArrayMetadata, coordinates: np.ndarray, entries: Sequence[Entry]
    ) -> None:
        """Buffer the chunks at ``coordinates`` (a row per chunk) of the array at ``path`` in their
        records. Each entry must have a URL, and none may be an empty range at offset 0 (which the
        layout would read as the whole file): combine makes those inline empty values."""
        await self._start()
        grid = self._grids[path]
        numbers = np.ravel_multi_index(tuple(coordinates.T), grid) if grid else np.zeros(len(entries), np.int64)
        records, rows = np.divmod(numbers, self._record_size)
        # Chunks come in runs of one record: each run joins its buffer at once.
        boundaries = (np.flatnonzero(np.diff(records)) + 1).tolist()
        for start, stop in zip([0, *boundaries], [*boundaries, len(records)]):
            buffer = self._buffers.setdefault((path, int(records[start])), ([], []))
            buffer[0].extend(rows[start:stop].tolist())
            buffer[1].extend(entries[start:stop])

    async def input_done(self, rank: int) -> None:
        """Write the record files that the input of ``rank`` was the last to add to."""
        for path, record in self._schedule.pop(rank, ()):
            await self._write_record(path, record)

    async def _write_record(self, path: str, record: int) -> None:
        buffer = self._buffers.pop((path, record), None)
        if buffer is None:
            return
        rows, entries = buffer
        data = await run_in_pool(encode_record, np.asarray(rows, dtype=np.int64), entries, self._record_size)
        await self._store.set(record_file_key(path, record), data)

    async def finish(self) -> References:
        """Write the records still open and ``.zmetadata`` (last, so that a reader never sees
        metadata whose records are still being written); returns the written set, opened."""
        await self._start()
        for path, record in sorted(self._buffers):
            await self._write_record(path, record)
        await write_layout_document(self._store, self._metadata, self._record_size)
        self._store.close()
        try:
            return await open_parquet(self._url, storage_options=self._storage_options)
        except ReferenceError as error:
            raise ReferenceError(f"the references combined into {self._url!r} cannot be opened: {error}") from error
