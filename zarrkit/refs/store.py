"""ReferenceStore: a reference set served as a read-only store.

Each key's entry is its value inline or a byte range of a target file. A batch of reads looks its
keys up once, groups the references by the store that holds their targets (one store per local
directory, bucket or host; see :mod:`zarrkit.refs.targets`), and hands each store one ``get_many``
batch of ranges, so the target stores coalesce near ranges and run requests concurrently as they
do for any batch. The answers are checked against the lengths the references promise.

A target that is missing, unreachable or shorter than a reference says raises ReferenceError
naming the key and the target URL: a chunk whose bytes cannot be had is never read as the fill
value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from zarrkit.errors import ReferenceError, ZarrkitError
from zarrkit.refs.model import Entry, Reference, References, ReferenceSet
from zarrkit.refs.targets import TargetStores, split_target
from zarrkit.runtime import sync
from zarrkit.storage.base import ByteRange, ReadRequest, Store, check_byte_range, resolve_byte_range, slice_byte_range

BlockingReader = Callable[[Sequence[ReadRequest]], list[bytes | None]]


@dataclass(slots=True)
class _TargetRead:
    """One reference's share of a batch: where its answer goes and what it must look like."""

    position: int
    key: str
    url: str | None
    target_key: str
    byte_range: ByteRange | None
    expected_length: int | None


def _range_in_target(reference: Reference, byte_range: ByteRange | None) -> tuple[ByteRange | None, int | None]:
    """The range of the target that ``byte_range`` of the referenced value covers, and its length
    (None when the reference is a whole file of unknown size)."""
    if reference.length is None:
        return byte_range, None
    start, stop = resolve_byte_range(byte_range, reference.length)
    return (reference.offset + start, stop - start), stop - start


class ReferenceStore(Store):
    """A read-only store over :class:`~zarrkit.refs.model.References`.

    ``default_target`` is the URL for references whose URL is None; ``target_options`` maps a
    protocol (``"s3"``, ``"https"``, ...) to the ``storage_options`` of the stores that open its
    targets. Reads raise ReferenceError naming the key and target when a target is missing,
    unreachable or too short; every write raises ReadOnlyError.
    """

    def __init__(
        self,
        references: References,
        *,
        default_target: str | None = None,
        target_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        super().__init__(read_only=True)
        if not isinstance(references, References):
            raise ReferenceError(
                f"ReferenceStore needs References (such as a ReferenceSet), got {type(references).__name__}"
            )
        self.references = references
        self.targets = TargetStores(default_target=default_target, target_options=target_options)
        self._local_targets_only = _local_targets_only(references, default_target)

    def __repr__(self) -> str:
        return f"ReferenceStore({self.references!r})"

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the range of it), or None when the set has no such key.

        Raises ReferenceError when its target cannot be read, StoreError for a malformed range.
        """
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; None where missing.

        One ``get_many`` per target store, all running at once. Raises as :meth:`get` does.
        """
        entries = await self.references.lookup([key for key, _ in requests])
        results, reads_by_store = self._plan(requests, entries)
        await asyncio.gather(*(self._read_targets(store, reads, results) for store, reads in reads_by_store))
        return results

    def blocking_reader(self) -> BlockingReader | None:
        """A reader for the chunk engine's pool threads when the references are in memory and
        every target is a local file; otherwise None (reads go through :meth:`get_many`)."""
        if not self._local_targets_only:
            return None
        return self._read_blocking

    def _read_blocking(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        references = self.references
        assert isinstance(references, ReferenceSet)  # _local_targets_only says so
        entries = [references.get(key) for key, _ in requests]
        results, reads_by_store = self._plan(requests, entries)
        for store, reads in reads_by_store:
            reader = store.blocking_reader()
            target_requests = [(read.target_key, read.byte_range) for read in reads]
            try:
                # A target added after the store was made may be remote: read it on the I/O loop.
                answers = reader(target_requests) if reader is not None else sync(store.get_many(target_requests))
            except ZarrkitError as error:
                raise _unreadable(reads, error) from error
            _check_answers(reads, answers, results)
        return results

    def _plan(
        self, requests: Sequence[ReadRequest], entries: Sequence[Entry | None]
    ) -> tuple[list[bytes | None], list[tuple[Store, list[_TargetRead]]]]:
        """Answer inline and missing entries into the results; group the rest by target store."""
        results: list[bytes | None] = [None] * len(requests)
        reads_by_store: dict[int, tuple[Store, list[_TargetRead]]] = {}
        for position, ((key, byte_range), entry) in enumerate(zip(requests, entries, strict=True)):
            check_byte_range(key, byte_range)
            if entry is None:
                continue
            if isinstance(entry, bytes):
                results[position] = slice_byte_range(entry, byte_range)
                continue
            target_range, expected_length = _range_in_target(entry, byte_range)
            if expected_length == 0:
                results[position] = b""
                continue
            try:
                store, target_key = self.targets.resolve(entry.url)
            except ReferenceError as error:
                raise ReferenceError(f"key {key!r}: {error}") from error
            read = _TargetRead(position, key, entry.url, target_key, target_range, expected_length)
            reads_by_store.setdefault(id(store), (store, []))[1].append(read)
        return results, list(reads_by_store.values())

    async def _read_targets(self, store: Store, reads: list[_TargetRead], results: list[bytes | None]) -> None:
        try:
            answers = await store.get_many([(read.target_key, read.byte_range) for read in reads])
        except ZarrkitError as error:
            raise _unreadable(reads, error) from error
        _check_answers(reads, answers, results)

    # -- sizes and listing ------------------------------------------------------------------------

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key``, or None if missing; a whole-file reference costs one
        size request to its target. Raises ReferenceError when that target is missing."""
        entry = (await self.references.lookup([key]))[0]
        if entry is None:
            return None
        if isinstance(entry, bytes):
            return len(entry)
        if entry.length is not None:
            return entry.length
        store, target_key = self.targets.resolve(entry.url)
        size = await store.getsize(target_key)
        if size is None:
            raise ReferenceError(f"key {key!r}: target {entry.url!r} does not exist")
        return size

    async def exists(self, key: str) -> bool:
        """True if the reference set has ``key`` (its target is not checked; reading it is)."""
        return (await self.references.lookup([key]))[0] is not None

    async def list(self, prefix: str = "") -> list[str]:
        """Every key of the reference set that starts with ``prefix``, sorted."""
        return await self.references.list_keys(prefix)

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: bytes) -> None:
        """Always raises ReadOnlyError: reference sets are changed as data (see :mod:`zarrkit.refs.ops`)."""
        self._check_writable(key)

    async def delete(self, key: str) -> None:
        """Always raises ReadOnlyError."""
        self._check_writable(key)

    def close(self) -> None:
        """Close the target stores opened so far; later reads open them again."""
        self.targets.close()


def _local_targets_only(references: References, default_target: str | None) -> bool:
    if not isinstance(references, ReferenceSet) or references.mounts:
        return False
    urls = [default_target if url is None else url for url in references.target_urls()]
    return all(url is not None and split_target(url)[0] == "file" for url in urls)


def _unreadable(reads: list[_TargetRead], error: ZarrkitError) -> ReferenceError:
    first = reads[0]
    others = f" (and {len(reads) - 1} more keys of the same store)" if len(reads) > 1 else ""
    return ReferenceError(f"key {first.key!r}{others}: cannot read target {first.url!r}: {error}")


def _check_answers(reads: list[_TargetRead], answers: Sequence[bytes | None], results: list[bytes | None]) -> None:
    for read, answer in zip(reads, answers, strict=True):
        if answer is None:
            raise ReferenceError(f"key {read.key!r}: target {read.url!r} does not exist")
        if read.expected_length is not None and len(answer) != read.expected_length:
            offset = read.byte_range[0] if read.byte_range else 0
            raise ReferenceError(
                f"key {read.key!r}: bytes {offset}-{offset + read.expected_length} of target {read.url!r} lie "
                f"past its end (only {len(answer)} of {read.expected_length} bytes could be read)"
            )
        results[read.position] = answer
