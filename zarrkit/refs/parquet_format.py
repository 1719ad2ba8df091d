"""The parquet layout of reference sets, as fsspec's ``LazyReferenceMapper`` and kerchunk read and write it.

Under a root URL:

- ``.zmetadata`` holds the JSON document ``{"metadata": {key: JSON object}, "record_size": N}``:
  every metadata key of the set (``.zgroup``, ``.zattrs``, ``var/.zarray``, ``var/zarr.json``, ...).
- ``<array path>/refs.<k>.parq`` holds the references of chunks ``k * N`` to ``k * N + N - 1`` of that
  array, where a chunk's number ravels its index in C order over the chunk grid (the grid comes from
  the array's shape and chunks in the metadata). Row ``i`` is chunk ``k * N + i``.
- The columns are ``path`` (strings; dictionary-encoded when each URL appears more than 10 times on average), ``offset``
  and ``size`` (int64) and ``raw`` (binary; of the null type when no row is inline). A row with
  ``raw`` is an inline value; a ``path`` with offset = size = 0 is the whole file; a row with
  neither is a missing chunk. fsspec pads every record file to N rows and writes no file for a
  record without references, so a missing record file means its chunks are missing.

fsspec also reads record files that hold only ``path``, ``offset`` and ``size``, or only ``raw``;
so do we. fsspec itself understands Zarr v2 arrays with ``.`` chunk keys only; this module also
handles ``/``-separated v2 keys and v3 arrays (``chunk_key_encoding`` ``default`` or ``v2``).

pyarrow (the ``parquet`` extra) reads and writes the record files; it is imported on first use.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.errors import ReferenceError
from zarrkit.metadata import METADATA_KEYS
from zarrkit.refs.chunk_table import ChunkGrid, ChunkTable, array_grids, locate
from zarrkit.refs.model import Entry, References, ReferenceSet
from zarrkit.refs.parquet_records import Record, decode_record, encode_record, encode_table_record, pyarrow_module
from zarrkit.refs.spec import compact_json
from zarrkit.runtime import run_in_pool
from zarrkit.storage.base import Store
from zarrkit.storage.url import open_store

_LAYOUT_FILE = ".zmetadata"
_RECORD_FILE_NAME = re.compile(r"refs\.(\d+)\.parq")


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _record_key(grid: ChunkGrid, record: int) -> str:
    return record_file_key(grid.directory, record)


def _record_count(grid: ChunkGrid, record_size: int) -> int:
    return -(-grid.chunk_count // record_size)


def _rows_in_record(grid: ChunkGrid, record: int, record_size: int) -> int:
    """How many rows of record file ``record`` fall inside the chunk grid."""
    return min(record_size, grid.chunk_count - record * record_size)


def _is_metadata_key(key: str) -> bool:
    return key.rpartition("/")[2] in METADATA_KEYS


# -- reading ----------------------------------------------------------------------------------------


class ParquetReferences(References):
    """A reference set in the parquet layout, loaded lazily: record files are read when a lookup
    needs them and the last ``cache_records`` of them are kept.

    Open one with :func:`open_parquet`. ``store`` is the layout's root (read-only), ``url`` names
    it in messages, ``metadata`` and ``record_size`` come from its ``.zmetadata``. Raises
    ReferenceError when the metadata of an array lacks its shape, chunks or chunk key encoding.
    """

    def __init__(
        self,
        store: Store,
        *,
        url: str,
        metadata: Mapping[str, Mapping[str, Any]],
        record_size: int,
        cache_records: int = 64,
    ) -> None:
        if not _is_positive_int(cache_records):
            raise ReferenceError(f"cache_records must be a positive integer, got {cache_records!r}")
        self.url = url
        self.record_size = record_size
        self._store = store
        self._documents = {key: compact_json(document) for key, document in metadata.items()}
        self._arrays = array_grids(metadata, source=self._location(_LAYOUT_FILE))
        self._cache_records = cache_records
        self._cache: OrderedDict[str, Record | None] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Record | None]] = {}
        self._records_read = 0

    def __repr__(self) -> str:
        return f"<ParquetReferences {self.url!r}: {len(self._arrays)} arrays, record_size {self.record_size}>"

    @property
    def records_read(self) -> int:
        """How many record files have been read from the store since opening (missing ones included)."""
        return self._records_read

    @property
    def cached_records(self) -> list[str]:
        """The keys of the record files in the cache, least recently used first."""
        return list(self._cache)

    def _location(self, key: str) -> str:
        return f"{self.url.rstrip('/')}/{key}"

    async def lookup(self, keys: Sequence[str]) -> list[Entry | None]:
        """The entry of each key, None where there is none.

        Metadata keys are answered from ``.zmetadata`` as compact JSON; chunk keys from their
        record files, each read at most once per call. A key that is no valid chunk key of a known
        array (or lies beyond its grid), or whose record file is missing, is None. Raises
        ReferenceError naming the file (and column) when a record file is malformed.
        """
        results: list[Entry | None] = [None] * len(keys)
        rows_needed: dict[str, int] = {}
        wanted: dict[str, list[tuple[int, int]]] = {}
        for position, key in enumerate(keys):
            document = self._documents.get(key)
            if document is not None:
                results[position] = document
                continue
            located = locate(self._arrays, key)
            if located is None:
                continue
            array, number = located
            record, row = divmod(number, self.record_size)
            record_key = _record_key(array, record)
            if record_key not in wanted:
                rows_needed[record_key] = _rows_in_record(array, record, self.record_size)
                wanted[record_key] = []
            wanted[record_key].append((position, row))
        if wanted:
            records = await self._records(rows_needed)
            for record_key, positions in wanted.items():
                record = records[record_key]
                if record is not None:
                    for position, row in positions:
                        results[position] = record.entry(row)
        return results

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every metadata key and every chunk key with an entry that starts with ``prefix``, sorted.

        Reads the record files of the arrays under ``prefix`` (those the store lists, when it can
        list). Raises as :meth:`lookup` does.
        """
        keys = [key for key in self._documents if key.startswith(prefix)]
        for array in self._arrays.values():
            if array.directory.startswith(prefix) or prefix.startswith(array.directory):
                keys.extend(key for key in await self._chunk_keys(array) if key.startswith(prefix))
        return sorted(keys)

    async def _chunk_keys(self, array: ChunkGrid) -> list[str]:
        """The keys of the chunks of ``array`` that have entries, reading its record files in
        batches no larger than the cache."""
        keys: list[str] = []
        records = await self._existing_records(array)
        for start in range(0, len(records), self._cache_records):
            batch = records[start : start + self._cache_records]
            rows_needed = {
                _record_key(array, record): _rows_in_record(array, record, self.record_size) for record in batch
            }
            loaded = await self._records(rows_needed)
            for record in batch:
                decoded = loaded[_record_key(array, record)]
                if decoded is not None:
                    rows = decoded.present_rows(_rows_in_record(array, record, self.record_size))
                    keys.extend(array.chunk_keys(rows + record * self.record_size))
        return keys

    async def _existing_records(self, array: ChunkGrid) -> list[int]:
        """The record numbers of ``array`` whose files may exist: those listed, when the store lists."""
        record_count = _record_count(array, self.record_size)
        if not self._store.supports_listing:
            return list(range(record_count))
        listed, _ = await self._store.list_dir(array.directory)
        records = set()
        for key in listed:
            match = _RECORD_FILE_NAME.fullmatch(key.rpartition("/")[2])
            if match and int(match.group(1)) < record_count:
                records.add(int(match.group(1)))
        return sorted(records)

    async def _records(self, rows_needed: Mapping[str, int]) -> dict[str, Record | None]:
        """The decoded record files named by ``rows_needed`` (None for a missing file).

        Cached ones come from the cache; files another call is loading are awaited; the rest are
        fetched in one batch and decoded in the codec pool, then cached.
        """
        found: dict[str, Record | None] = {}
        waiting: dict[str, asyncio.Future[Record | None]] = {}
        to_load: list[str] = []
        for key in rows_needed:
            if key in self._cache:
                self._cache.move_to_end(key)
                found[key] = self._cache[key]
            elif key in self._loading:
                waiting[key] = self._loading[key]
            else:
                to_load.append(key)
        if to_load:
            found.update(await self._load(to_load, rows_needed))
        for key, future in waiting.items():
            # Shielded: cancelling this call must not cancel the load another call started.
            found[key] = await asyncio.shield(future)
        return found

    async def _load(self, keys: list[str], rows_needed: Mapping[str, int]) -> dict[str, Record | None]:
        loop = asyncio.get_running_loop()
        futures = {key: loop.create_future() for key in keys}
        self._loading.update(futures)
        try:
            data = await self._store.get_many([(key, None) for key in keys])
            self._records_read += len(keys)
            decoded = await asyncio.gather(
                *(self._decode(key, value, rows_needed[key]) for key, value in zip(keys, data, strict=True))
            )
        except BaseException as error:
            failure = (
                error
                if isinstance(error, Exception)
                else ReferenceError(f"reading record files {keys} of {self.url!r} was interrupted")
            )
            for future in futures.values():
                if not future.done():
                    future.set_exception(failure)
                    future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        finally:
            for key in keys:
                self._loading.pop(key, None)
        loaded = dict(zip(keys, decoded, strict=True))
        for key, record in loaded.items():
            futures[key].set_result(record)
            self._cache[key] = record
            self._cache.move_to_end(key)
        while len(self._cache) > self._cache_records:
            self._cache.popitem(last=False)
        return loaded

    async def _decode(self, key: str, data: bytes | None, rows_needed: int) -> Record | None:
        if data is None:
            return None
        return await run_in_pool(decode_record, data, self._location(key), rows_needed)


def _parse_layout_document(data: bytes, location: str) -> tuple[dict[str, dict[str, Any]], int]:
    """The metadata and record size held by the ``.zmetadata`` file at ``location``.

    Raises ReferenceError naming the file when it is not JSON, or lacks a metadata object of JSON
    objects or a positive integer ``record_size``.
    """
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ReferenceError(f"{location} is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ReferenceError(f"{location} must hold a JSON object, got {type(document).__name__}")
    if "record_size" not in document:
        raise ReferenceError(f"{location} has no 'record_size': not a parquet reference set")
    if not _is_positive_int(document["record_size"]):
        raise ReferenceError(f"{location}: 'record_size' must be a positive integer, got {document['record_size']!r}")
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        raise ReferenceError(f"{location}: 'metadata' must be a JSON object, got {metadata!r}")
    for key, value in metadata.items():
        if not key or not isinstance(value, dict):
            raise ReferenceError(f"{location}: metadata key {key!r} must map to a JSON object, got {value!r}")
    return metadata, document["record_size"]


async def open_parquet(
    url: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    cache_records: int = 64,
) -> ParquetReferences:
    """Open the parquet reference set at ``url`` (a directory or any URL the storage layer opens).

    Reads ``.zmetadata`` only; record files load when lookups need them, and the last
    ``cache_records`` stay in memory. ``storage_options`` go to the store of ``url``.

    Raises ReferenceError naming the file when ``.zmetadata`` is missing or malformed (not JSON, no
    metadata object, no positive integer ``record_size``, array metadata without shape or chunks)
    or ``cache_records`` is not a positive integer; UnsupportedFeature when pyarrow is not installed;
    StoreError when the store cannot be opened.
    """
    pyarrow_module()
    url = os.fsdecode(url)
    store = open_store(url, mode="r", storage_options=dict(storage_options or {}))
    location = f"{url.rstrip('/')}/{_LAYOUT_FILE}"
    data = await store.get(_LAYOUT_FILE)
    if data is None:
        raise ReferenceError(f"{location} does not exist: {url!r} is not a parquet reference set")
    metadata, record_size = _parse_layout_document(data, location)
    return ParquetReferences(store, url=url, metadata=metadata, record_size=record_size, cache_records=cache_records)


# -- writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """What :func:`save_parquet` writes: the metadata documents, each record file's rows and
    entries, and the record files of chunk tables (each a table and the slice of its chunks)."""

    metadata: dict[str, dict[str, Any]]
    records: list[tuple[str, np.ndarray, list[Entry]]]
    table_records: list[tuple[str, ChunkTable, slice]]


def _metadata_document(key: str, entry: Entry) -> dict[str, Any]:
    if not isinstance(entry, bytes):
        raise ReferenceError(
            f"cannot save metadata key {key!r} to the parquet layout: its value is a reference to "
            f"{entry.url!r}, and the layout holds metadata inline only"
        )
    try:
        document = json.loads(entry)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ReferenceError(f"cannot save metadata key {key!r}: its value is not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise ReferenceError(f"cannot save metadata key {key!r}: its value must be a JSON object")
    return document


def _storable(key: str, entry: Entry) -> Entry:
    """``entry`` as a record file can hold it. A zero-length range at offset 0 would read back as
    the whole file, so it becomes the empty inline value it stands for."""
    if isinstance(entry, bytes):
        return entry
    if entry.url is None:
        raise ReferenceError(
            f"cannot save key {key!r} to the parquet layout: its reference has no URL (it means the "
            "default target), and the layout's null path means a missing chunk"
        )
    if entry.length == 0 and entry.offset == 0:
        return b""
    return entry


def _plan_layout(
    keys: Sequence[str], entries: Sequence[Entry | None], tables: Mapping[str, ChunkTable], record_size: int
) -> _Layout:
    """Sort the entries into metadata documents and record files, and the chunk tables into record
    files; see :func:`save_parquet` for errors."""
    metadata: dict[str, dict[str, Any]] = {}
    chunk_positions: list[int] = []
    for position, key in enumerate(keys):
        entry = entries[position]
        if entry is None:
            continue
        if _is_metadata_key(key):
            metadata[key] = _metadata_document(key, entry)
        else:
            chunk_positions.append(position)
    arrays = array_grids(metadata, source="the references")
    numbers_by_array: dict[str, list[int]] = {path: [] for path in arrays}
    entries_by_array: dict[str, list[Entry]] = {path: [] for path in arrays}
    for position in chunk_positions:
        key = keys[position]
        located = locate(arrays, key)
        if located is None:
            raise ReferenceError(
                f"cannot save key {key!r} to the parquet layout: it is neither a metadata key "
                f"({', '.join(METADATA_KEYS)}) nor a chunk key inside the grid of an array of the references "
                f"(arrays: {sorted(arrays)})"
            )
        array, number = located
        numbers_by_array[array.path].append(number)
        entries_by_array[array.path].append(_storable(key, entries[position]))  # type: ignore[arg-type]
    records: list[tuple[str, np.ndarray, list[Entry]]] = []
    for path, array in arrays.items():
        numbers = np.asarray(numbers_by_array[path], dtype=np.int64)
        array_entries = entries_by_array[path]
        order = np.argsort(numbers, kind="stable")
        numbers = numbers[order]
        record_of_each = numbers // record_size
        boundaries = np.flatnonzero(np.diff(record_of_each)) + 1
        for start, stop in zip([0, *boundaries.tolist()], [*boundaries.tolist(), len(numbers)]):
            if start == stop:
                continue
            record = int(record_of_each[start])
            rows = numbers[start:stop] - record * record_size
            records.append((_record_key(array, record), rows, [array_entries[index] for index in order[start:stop]]))
    return _Layout(metadata, records, _plan_table_records(tables, arrays, record_size))


def _plan_table_records(
    tables: Mapping[str, ChunkTable], arrays: Mapping[str, ChunkGrid], record_size: int
) -> list[tuple[str, ChunkTable, slice]]:
    table_records = []
    for path, table in tables.items():
        if arrays.get(path) != table.grid:
            raise ReferenceError(
                f"cannot save the chunk table of array {path!r} to the parquet layout: the array's metadata "
                f"({'missing' if path not in arrays else f'a grid of {list(arrays[path].grid)} chunks'}) does not "
                f"match the table's grid of {list(table.grid.grid)} chunks"
            )
        if table.url is None:
            raise ReferenceError(
                f"cannot save the chunk table of array {path!r} to the parquet layout: it has no URL (the "
                "default target), and the layout's null path means a missing chunk"
            )
        for record in range(_record_count(table.grid, record_size)):
            start = record * record_size
            chunks = slice(start, start + _rows_in_record(table.grid, record, record_size))
            table_records.append((_record_key(table.grid, record), table, chunks))
    return table_records


async def save_parquet(
    references: References,
    url: str | os.PathLike[str],
    *,
    record_size: int = 10_000,
    storage_options: Mapping[str, Any] | None = None,
) -> None:
    """Write ``references`` to ``url`` in the parquet layout that fsspec and kerchunk read.

    Metadata keys (``.zgroup``, ``.zattrs``, ``.zarray``, ``zarr.json``, ``.zmetadata`` at any path)
    go into ``.zmetadata``; every other key must be a chunk key inside the grid of an array that
    the references describe (v2 ``.zarray``, or v3 ``zarr.json`` of node type array), and goes into
    that array's record files of ``record_size`` rows. Inline values go into the ``raw`` column.
    Existing ``.zmetadata`` and record files under ``url`` are removed first; other files stay.
    A reference of length 0 at offset 0 is written as an empty inline value (the layout would read
    such a row as the whole file).

    Raises ReferenceError naming the key for a key that is neither a metadata key nor a chunk key
    of a known array, for metadata that is not an inline JSON object, for array metadata without
    shape, chunks or chunk key encoding, and for a reference without URL (the default target); and
    for a ``record_size`` that is not a positive integer. UnsupportedFeature when pyarrow is not
    installed; StoreError when ``url`` cannot be written.
    """
    if not _is_positive_int(record_size):
        raise ReferenceError(f"record_size must be a positive integer, got {record_size!r}")
    pyarrow_module()
    url = os.fsdecode(url)
    tables: Mapping[str, ChunkTable] = {}
    if isinstance(references, ReferenceSet) and references.chunk_tables:
        # The tables' record files come straight from their columns; only the rest is looked up.
        tables = references.chunk_tables
        references = ReferenceSet(references.single_entries, mounts=references.mounts)
    keys = await references.list_keys()
    entries = await references.lookup(keys)
    layout = await run_in_pool(_plan_layout, keys, entries, tables, record_size)
    store = open_store(url, mode="w", storage_options=dict(storage_options or {}))
    await remove_layout(store)
    for record_key, rows, record_entries in layout.records:
        await store.set(record_key, await run_in_pool(encode_record, rows, record_entries, record_size))
    for record_key, table, chunks in layout.table_records:
        record = await run_in_pool(
            encode_table_record, table.url, table.offsets[chunks], table.lengths[chunks], record_size
        )
        await store.set(record_key, record)
    await write_layout_document(store, layout.metadata, record_size)


def record_file_key(array_path: str, record: int) -> str:
    """The key of record file ``record`` of the array at ``array_path`` (``""`` for the root array)."""
    directory = array_path.rstrip("/")
    return f"{directory}/refs.{record}.parq" if directory else f"refs.{record}.parq"


async def remove_layout(store: Store) -> None:
    """Delete the ``.zmetadata`` and record files of a layout in ``store`` (other files stay), so
    that record files of an earlier set cannot reappear in a new one."""
    if store.supports_listing:
        stale = [
            key
            for key in await store.list()
            if key == _LAYOUT_FILE or _RECORD_FILE_NAME.fullmatch(key.rpartition("/")[2])
        ]
        await store.delete_many(stale)


async def write_layout_document(store: Store, metadata: Mapping[str, Any], record_size: int) -> None:
    """Write ``.zmetadata``: the metadata documents by key, and the record size. Write it after the
    record files, so that a reader never finds the metadata of record files still being written."""
    await store.set(_LAYOUT_FILE, compact_json({"metadata": dict(metadata), "record_size": record_size}))
