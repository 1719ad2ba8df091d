"""ObjectStore: a Store over S3, Google Cloud Storage, Azure Blob Storage or HTTP(S), through obstore.

Keys live below the store's prefix (``s3://bucket/prefix``; :mod:`zarrkit.storage.object_urls`
opens a store from such a URL). HTTP(S) is read-only. obstore is an optional dependency
(``zarrkit[cloud]``), imported on first use.

Reads. ``get_many``, the chunk engine's only read path, groups its requests by object. A request
for a whole object serves every other range of that object. Bounded ranges ``(offset, length)`` of
one object that lie at most ``coalesce_gap`` bytes apart are merged into one request spanning at
most ``coalesce_block`` bytes (defaults :data:`DEFAULT_COALESCE_GAP` = 1 MiB and
:data:`DEFAULT_COALESCE_BLOCK` = 16 MiB: below about 1 MiB, one more round trip costs more than the
bytes skipped). Each store runs at most ``max_concurrency`` requests at a time per event loop
(default :data:`DEFAULT_MAX_CONCURRENCY` = 32). Ranges are validated and resolved here, never handed
to obstore's ``get_ranges`` (which panics on a range past the end of an object): a range that starts
past the end, or any range of an empty object, reads as ``b""`` after a HEAD request shows the size.
``get_with_size`` takes the object's size from the GET answer itself, so a reader that needs a
range and the size (a scanner opening a file) pays one request, not a HEAD and a GET.

What each answer becomes, on every backend (S3, GCS, Azure, HTTP):

- 200/206 with the bytes asked for: the value. A body shorter than the range it claims, or a range
  other than the one asked for, raises StoreError: it is never returned as data.
- 404: ``None`` for reads (``get``, ``getsize``); an empty listing over HTTP; StoreError naming the
  URL when a bucket or container listing answers 404 (it does not exist).
- 401 and 403: PermissionDenied naming the URL, on reads, writes and listings. With the option
  ``forbidden_as_missing`` a 403 on reading a key reads as missing instead: real S3 answers 403, not
  404, for a missing key when the reader lacks ``s3:ListBucket``. Open-time checks then accept a 403
  on listing too; 401 always raises.
- 416 (range not satisfiable): the clipped, empty value (or ``None`` if the object is missing).
- 5xx, 408, 429, timeouts, refused or reset connections: retried with exponential backoff
  (obstore's retry configuration, defaults in :data:`DEFAULT_RETRY_CONFIG`; a body cut off after
  the answer began is retried here on the same schedule), then TransientStoreError naming the key
  and URL.
- Anything else: StoreError naming the URL.

Listing. S3, GCS and Azure list through the service's delimiter listing. HTTP has no listing
protocol: ``list_dir`` reads the directory index page the server generates (nginx ``autoindex``,
Apache, ``python -m http.server``; see :mod:`zarrkit.storage.http_index`), so listing over HTTP
needs such pages. A key that names a directory should answer 404 (nginx: ``try_files $uri =404``);
a redirect to the directory's index page raises StoreError.
"""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any

from zarrkit.errors import PermissionDenied, StoreError, TransientStoreError
from zarrkit.storage.base import ByteRange, ReadRequest, Store, as_bytes, check_byte_range, resolve_byte_range
from zarrkit.storage.http_index import read_directory_index, walk_directory_indexes
from zarrkit.storage.optional import import_optional

DEFAULT_COALESCE_GAP = 1 << 20
"""Ranges of one object at most this many bytes apart are fetched in one request (1 MiB)."""

DEFAULT_COALESCE_BLOCK = 16 << 20
"""A coalesced request spans at most this many bytes (16 MiB), so big reads still run in parallel."""

DEFAULT_MAX_CONCURRENCY = 32
"""Requests one store runs at a time (per event loop)."""

DEFAULT_RETRY_CONFIG: dict[str, Any] = {
    "max_retries": 5,
    "retry_timeout": timedelta(seconds=60),
    "backoff": {"init_backoff": timedelta(milliseconds=100), "max_backoff": timedelta(seconds=5), "base": 2},
}
"""obstore's retry configuration unless ``storage_options["retry_config"]`` overrides parts of it:
at most 5 retries within 60 s, waiting 0.1 s, 0.2 s, 0.4 s, ... (at most 5 s, with jitter)."""

_DELETE_BATCH = 1000  # S3's limit of keys per bulk delete request
_STATUS_PATTERN = re.compile(r"status code: (\d{3})")
_S3_ERROR_PATTERN = re.compile(r"<Code>([^<]*)</Code>\s*<Message>([^<]*)</Message>")
_TRANSIENT_MARKERS = (
    "error sending request",
    "body error",
    "timed out",
    "timeout",
    "connection",
    "retries, max_retries",
)
_BODY_CUT_SHORT = "body error"  # obstore's words for a connection lost while the body streamed
# How obstore words a range the server (or obstore itself, on Azure) refused: "Wanted range
# starting at N, but object was only N bytes long" comes from a range starting at the very end.
_RANGE_MARKERS = ("non-partial response", "Range request not supported", "NotPartial", "Wanted range starting at")
_METADATA_SERVICE = "169.254.169.254"  # where obstore asks for instance credentials when none are given


def import_obstore() -> ModuleType:
    """The obstore module; raises UnsupportedFeature naming the extra to install when it is missing."""
    return import_optional("obstore", needed_for="object stores (s3://, gs://, az://, http(s)://)", extra="cloud")


def check_read_tuning(coalesce_gap: Any, coalesce_block: Any, max_concurrency: Any, *, where: str) -> None:
    """Raise StoreError (naming the option and ``where``) unless the read tuning values are integers
    with ``coalesce_gap >= 0``, ``coalesce_block >= 1`` and ``max_concurrency >= 1``."""
    for name, value, least in [
        ("coalesce_gap", coalesce_gap, 0),
        ("coalesce_block", coalesce_block, 1),
        ("max_concurrency", max_concurrency, 1),
    ]:
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise StoreError(f"{name} {where} must be an integer >= {least}, got {value!r}")


def coalesce_ranges(
    ranges: Sequence[tuple[int, int]], *, max_gap: int, max_block: int
) -> list[tuple[int, int, list[int]]]:
    """Group ``(start, stop)`` ranges of one object into blocks to fetch with one request each.

    Returns ``(block_start, block_stop, positions)`` per block, ``positions`` indexing ``ranges``.
    Taken in order of start, a range joins the current block when it starts at most ``max_gap``
    bytes after the block's end and the block then spans at most ``max_block`` bytes; a range longer
    than ``max_block`` is a block of its own. Overlapping ranges always share a block when it fits.
    """
    blocks: list[list[Any]] = []
    for position in sorted(range(len(ranges)), key=lambda index: ranges[index][0]):
        start, stop = ranges[position]
        if blocks:
            block = blocks[-1]
            if start - block[1] <= max_gap and max(block[1], stop) - block[0] <= max_block:
                block[1] = max(block[1], stop)
                block[2].append(position)
                continue
        blocks.append([start, stop, [position]])
    return [(start, stop, positions) for start, stop, positions in blocks]


class ObjectStore(Store):
    """A store over an obstore store (``S3Store``, ``GCSStore``, ``AzureStore``, ``HTTPStore``).

    ``backend`` is the obstore store, already configured with its bucket, prefix, credentials and
    retry configuration (:func:`zarrkit.storage.object_urls.open_object_store` builds one from a
    URL). ``url`` names the store's root in messages (derived from ``backend`` when omitted); over
    HTTP it is also where listings read directory indexes. A store over HTTP is always read-only.
    ``forbidden_as_missing`` reads a 403 on a key as a missing key (see the module notes);
    ``coalesce_gap``, ``coalesce_block`` and ``max_concurrency`` tune ``get_many``. Raises
    StoreError for a tuning value out of range.
    """

    def __init__(
        self,
        backend: Any,
        *,
        url: str | None = None,
        read_only: bool = False,
        forbidden_as_missing: bool = False,
        coalesce_gap: int = DEFAULT_COALESCE_GAP,
        coalesce_block: int = DEFAULT_COALESCE_BLOCK,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        self._is_http = type(backend).__name__ == "HTTPStore"
        # obstore refuses suffix ranges on Azure ("Azure does not support suffix range requests").
        self._suffix_ranges = type(backend).__name__ != "AzureStore"
        super().__init__(read_only=read_only or self._is_http)
        self._backend = backend
        self.url = (url or _url_of_backend(backend)).rstrip("/")
        check_read_tuning(coalesce_gap, coalesce_block, max_concurrency, where=f"for {self.url!r}")
        self.forbidden_as_missing = bool(forbidden_as_missing)
        self.coalesce_gap = coalesce_gap
        self.coalesce_block = coalesce_block
        self.max_concurrency = max_concurrency
        # obstore retries a failed request, but not a body cut off after the answer began: reads
        # retry those themselves, on the schedule of the backend's retry configuration.
        retry = {**DEFAULT_RETRY_CONFIG, **(getattr(backend, "retry_config", None) or {})}
        backoff = {**DEFAULT_RETRY_CONFIG["backoff"], **(retry.get("backoff") or {})}
        self._body_retry_delays = [
            min(backoff["init_backoff"] * backoff["base"] ** attempt, backoff["max_backoff"]).total_seconds()
            for attempt in range(retry["max_retries"])
        ]
        self._limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"ObjectStore({self.url!r}, read_only={self.read_only})"

    def __eq__(self, other: object) -> bool:
        """Equal when both reach the same objects with the same settings (a pickled copy is equal)."""
        return (
            isinstance(other, ObjectStore) and self._settings() == other._settings() and self._backend == other._backend
        )

    def __hash__(self) -> int:
        return hash(self._settings())

    def _settings(self) -> tuple[Any, ...]:
        return (
            self.url,
            self.read_only,
            self.forbidden_as_missing,
            self.coalesce_gap,
            self.coalesce_block,
            self.max_concurrency,
        )

    def __getstate__(self) -> dict[str, Any]:
        # Pickled for other processes (dask workers): the semaphores belong to this process's loops.
        return {name: value for name, value in self.__dict__.items() if name != "_limiters"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._limiters = weakref.WeakKeyDictionary()

    @property
    def backend(self) -> Any:
        """The obstore store this store reads and writes through (to sign URLs with, for example)."""
        return self._backend

    def url_of(self, key: str) -> str:
        """The URL of ``key`` in this store, as messages name it."""
        return f"{self.url}/{key}" if key else self.url

    # -- helpers ----------------------------------------------------------------------------------

    def _limiter(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; the sync facade's loop and a caller's own loop
        # each get theirs.
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = asyncio.Semaphore(self.max_concurrency)
        return limiter

    def _check_key(self, key: str) -> None:
        if not isinstance(key, str) or not key or any(part in ("", ".", "..") for part in key.split("/")):
            raise StoreError(
                f"invalid key {key!r} for {self!r}: a key is a relative '/'-separated path without empty, "
                "'.' or '..' segments"
            )

    def _failure(self, action: str, key: str, error: Exception) -> StoreError:
        """The zarrkit error for an obstore error that is not a missing key."""
        status = _status_of(error)
        where = self.url_of(key)
        detail = describe_obstore_error(error)
        if _METADATA_SERVICE in detail:
            return PermissionDenied(
                f"{action} {where}: no credentials found (the instance metadata service refused: {detail}); pass "
                "credentials in storage_options or the environment, or anonymous=True for public data"
            )
        if status in (401, 403):
            return PermissionDenied(
                f"{action} {where}: access denied (HTTP {status}); check the credentials ({detail})"
            )
        if _is_transient(error, status):
            subject = f"key {key!r} at {where}" if key else where
            return TransientStoreError(f"{action} {subject} failed after retries: {detail}")
        return StoreError(f"{action} {where} failed: {detail}")

    def _reads_as_missing(self, error: Exception) -> bool:
        return isinstance(error, FileNotFoundError) or (self.forbidden_as_missing and _status_of(error) == 403)

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the range of it), or ``None`` if missing; raises as the module
        notes say (PermissionDenied, TransientStoreError, StoreError for malformed keys or ranges)."""
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing.

        Requests are grouped by key, near ranges of one key coalesced and at most
        ``max_concurrency`` requests run at a time. Raises as :meth:`get` does.
        """
        by_key: dict[str, list[int]] = {}
        for position, (key, byte_range) in enumerate(requests):
            self._check_key(key)
            check_byte_range(key, byte_range)
            by_key.setdefault(key, []).append(position)
        results: list[bytes | None] = [None] * len(requests)
        await asyncio.gather(
            *(self._read_object(key, positions, requests, results) for key, positions in by_key.items())
        )
        return results

    async def _read_object(
        self, key: str, positions: list[int], requests: Sequence[ReadRequest], results: list[bytes | None]
    ) -> None:
        """Answer every request for ``key`` (at ``positions`` of ``requests``) into ``results``."""
        ranges = [requests[position][1] for position in positions]
        if len(ranges) == 1 and (ranges[0] is None or (ranges[0][0] >= 0 and ranges[0][1])):
            # The common case, one whole chunk or one bounded range: nothing to share or coalesce.
            fetched = await self._fetch(key, ranges[0])
            results[positions[0]] = None if fetched is None else bytes(fetched)
            return
        if any(byte_range is None or byte_range == (0, None) for byte_range in ranges):
            fetched = await self._fetch(key, None)
            if fetched is not None:
                whole = memoryview(fetched)
                for position, byte_range in zip(positions, ranges):
                    start, stop = resolve_byte_range(byte_range, len(whole))
                    results[position] = whole[start:stop].tobytes()
            return
        bounded: list[tuple[int, int]] = []
        bounded_positions: list[int] = []
        reads = []
        for position, (offset, length) in zip(positions, ranges):
            if offset >= 0 and length:
                bounded.append((offset, offset + length))
                bounded_positions.append(position)
            else:
                reads.append(self._read_single(key, position, (offset, length), results))
        for start, stop, members in coalesce_ranges(bounded, max_gap=self.coalesce_gap, max_block=self.coalesce_block):
            member_ranges = [(bounded_positions[member], *bounded[member]) for member in members]
            reads.append(self._read_block(key, (start, stop), member_ranges, results))
        await asyncio.gather(*reads)

    async def _read_block(
        self, key: str, block: tuple[int, int], members: list[tuple[int, int, int]], results: list[bytes | None]
    ) -> None:
        """Fetch bytes ``block`` of ``key`` once and cut each member ``(position, start, stop)`` from it."""
        block_start, block_stop = block
        fetched = await self._fetch(key, (block_start, block_stop - block_start))
        if fetched is None:
            return
        data = memoryview(fetched)
        for position, start, stop in members:
            # Slicing clips at the end of the data, as reading past the end of the object clips.
            results[position] = data[start - block_start : stop - block_start].tobytes()

    async def _read_single(self, key: str, position: int, byte_range: ByteRange, results: list[bytes | None]) -> None:
        """A suffix, a range to the end, or a zero-length range (which needs only the size)."""
        if byte_range[1] == 0:
            size = await self.getsize(key)
            results[position] = None if size is None else b""
            return
        fetched = await self._fetch(key, byte_range)
        results[position] = None if fetched is None else bytes(fetched)

    async def get_with_size(self, key: str, byte_range: ByteRange | None = None) -> tuple[bytes, int] | None:
        """The bytes of ``byte_range`` of ``key`` (clipped at the end) and the object's size, from one GET
        (the answer carries the size); ``None`` if the key is missing. A zero-length range, and a range
        the server refuses because it lies past the end, cost a HEAD instead or as well. Raises as
        :meth:`get` does."""
        self._check_key(key)
        check_byte_range(key, byte_range)
        if byte_range is not None and byte_range[1] == 0:
            size = await self.getsize(key)
            return None if size is None else (b"", size)
        fetched = await self._fetch_with_size(key, byte_range)
        if fetched is None:
            return None
        data, size = fetched
        return bytes(data), size

    async def _fetch(self, key: str, byte_range: ByteRange | None) -> Any:
        """One GET: a buffer holding the bytes of ``byte_range``, or None when the key is missing."""
        fetched = await self._fetch_with_size(key, byte_range)
        return None if fetched is None else fetched[0]

    async def _fetch_with_size(self, key: str, byte_range: ByteRange | None) -> tuple[Any, int] | None:
        """One GET: a buffer holding the bytes of ``byte_range`` and the object's size, or None when the
        key is missing.

        The answer is checked against the range asked for, resolved with the object's size.
        """
        obstore = import_obstore()
        if byte_range is not None and byte_range[0] < 0 and not self._suffix_ranges:
            # Turn the suffix into an offset with the size. An empty object needs no request:
            # Azurite answers an offset range on it with a header obstore cannot parse.
            size = await self.getsize(key)
            if size is None:
                return None
            if size == 0:
                return b"", 0
            byte_range = (max(size + byte_range[0], 0), None)
        options: dict[str, Any] = {}
        if byte_range is not None:
            offset, length = byte_range
            if offset < 0:
                options["range"] = {"suffix": -offset}
            elif length is None:
                options["range"] = {"offset": offset}
            else:
                options["range"] = (offset, offset + length)
        delays = iter(self._body_retry_delays)
        while True:
            try:
                async with self._limiter():
                    result = await obstore.get_async(self._backend, key, options=options)
                    data = await result.bytes_async()
                break
            except Exception as error:
                delay = next(delays, None) if _BODY_CUT_SHORT in str(error) else None
                if delay is not None:
                    await asyncio.sleep(delay)
                    continue
                if self._reads_as_missing(error):
                    return None
                if byte_range is not None and _is_range_error(error):
                    return await self._empty_range(key, byte_range, error)
                raise self._failure("reading", key, error) from error
        size = result.meta["size"]
        expected = resolve_byte_range(byte_range, size)
        if tuple(result.range) != expected or len(data) != expected[1] - expected[0]:
            raise StoreError(
                f"reading {self.url_of(key)}: asked for bytes {expected[0]}-{expected[1]} of {size}, the server "
                f"answered bytes {result.range[0]}-{result.range[1]} with {len(data)} bytes of data; "
                "a short or mismatched response is not data"
            )
        return data, size

    async def _empty_range(self, key: str, byte_range: ByteRange, error: Exception) -> tuple[bytes, int] | None:
        """After a server refused ``byte_range`` of ``key``: the empty value and the object's size if the
        range lies outside the object (past its end, or any range of an empty object), None if the key
        is missing."""
        size = await self.getsize(key)
        if size is None:
            return None
        start, stop = resolve_byte_range(byte_range, size)
        if start == stop:
            return b"", size
        raise self._failure("reading", key, error) from error

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` (one HEAD request), or ``None`` if it is missing."""
        self._check_key(key)
        obstore = import_obstore()
        try:
            async with self._limiter():
                meta = await obstore.head_async(self._backend, key)
        except Exception as error:
            if self._reads_as_missing(error):
                return None
            raise self._failure("reading the size of", key, error) from error
        return meta["size"]

    # -- listing ----------------------------------------------------------------------------------

    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted.

        Object stores list by path segments, so this lists the directory part of ``prefix``
        (``"a/b"`` lists ``a/``) and keeps the keys that start with ``prefix``. Raises
        PermissionDenied or StoreError when the listing fails.
        """
        directory = prefix[: prefix.rfind("/") + 1]
        if self._is_http:
            keys = await walk_directory_indexes(
                self.url, directory, headers=self._index_headers(), limiter=self._limiter()
            )
        else:
            keys, _ = await self._list_objects(directory, recursive=True)
        return sorted(key for key in keys if key.startswith(prefix))

    async def list_dir(self, prefix: str = "") -> tuple[list[str], list[str]]:
        """The keys directly below the directory ``prefix`` and its sub-prefixes (``"a/b/"``), sorted."""
        directory = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        if self._is_http:
            keys, prefixes = await read_directory_index(
                self.url, directory, headers=self._index_headers(), limiter=self._limiter()
            )
        else:
            keys, prefixes = await self._list_objects(directory, recursive=False)
        return sorted(keys), sorted(prefixes)

    async def _list_objects(self, directory: str, *, recursive: bool) -> tuple[list[str], list[str]]:
        """The keys below ``directory`` (all, or the direct ones and the sub-prefixes) from S3, GCS or Azure."""
        obstore = import_obstore()
        location = directory.rstrip("/") or None
        try:
            async with self._limiter():
                if recursive:
                    found = await obstore.list(self._backend, location).collect_async()
                    return [entry["path"] for entry in found], []
                listing = await obstore.list_with_delimiter_async(self._backend, location)
        except Exception as error:
            raise self._listing_failure(directory, error) from error
        return [entry["path"] for entry in listing["objects"]], [name + "/" for name in listing["common_prefixes"]]

    def _index_headers(self) -> dict[str, str]:
        """The headers the HTTP backend sends, for fetching directory index pages the same way."""
        return dict((self._backend.client_options or {}).get("default_headers") or {})

    def _listing_failure(self, directory: str, error: Exception) -> StoreError:
        if _status_of(error) == 404:
            detail = describe_obstore_error(error)
            return StoreError(f"listing {self.url_of(directory)}: the bucket or container does not exist ({detail})")
        return self._failure("listing", directory, error)

    async def _change(self, action: str, key: str, function: str, *args: Any) -> None:
        """``obstore.<function>(backend, *args)`` for a write or delete; a missing key is no error."""
        obstore = import_obstore()
        try:
            async with self._limiter():
                await getattr(obstore, function)(self._backend, *args)
        except FileNotFoundError:
            return
        except Exception as error:
            raise self._failure(action, key, error) from error

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (one PUT; obstore switches to multipart uploads for large
        values). Raises ReadOnlyError on a read-only store, StoreError or a subclass if the PUT fails."""
        self._check_writable(key)
        self._check_key(key)
        await self._change("writing", key, "put_async", key, as_bytes(key, value))

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""
        await self.delete_many([key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error.

        S3 deletes up to 1000 keys per request. Other backends delete key by key, because their
        batch stops at the first missing key.
        """
        if not keys:
            return
        self._check_writable(keys[0])
        for key in keys:
            self._check_key(key)
        batch_size = _DELETE_BATCH if type(self._backend).__name__ == "S3Store" else 1
        batches = [list(keys[start : start + batch_size]) for start in range(0, len(keys), batch_size)]
        await asyncio.gather(*(self._change("deleting", batch[0], "delete_async", batch) for batch in batches))

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix``. Raises ReadOnlyError on a read-only store."""
        self._check_writable(prefix)
        await self.delete_many(await self.list(prefix))

    # -- opening ----------------------------------------------------------------------------------

    async def check(self) -> None:
        """Make one cheap request, so that a wrong bucket, wrong credentials or an unreachable server
        fail when the store is opened rather than at the first read.

        S3, GCS and Azure list one page under the prefix; HTTP asks for the head of ``zarr.json``
        (any answer from the server will do, except 401). Raises StoreError (bucket missing),
        PermissionDenied (403 is accepted with ``forbidden_as_missing``), TransientStoreError
        (server unreachable after the retries).
        """
        obstore = import_obstore()
        try:
            async with self._limiter():
                if self._is_http:
                    await obstore.head_async(self._backend, "zarr.json")
                else:
                    await obstore.list(self._backend, None, chunk_size=1).__anext__()
        except StopAsyncIteration:
            return
        except Exception as error:
            status = _status_of(error)
            if status == 401 or _is_transient(error, status):
                raise self._failure("opening", "", error) from error
            if self._is_http or (status == 403 and self.forbidden_as_missing):
                return
            raise self._listing_failure("", error) from error


def _status_of(error: BaseException) -> int | None:
    """The HTTP status the store answered, when an obstore error tells one (a refusal from the
    instance metadata service while looking for credentials is not the store's answer)."""
    if isinstance(error, FileNotFoundError):
        return 404
    if _METADATA_SERVICE in str(error):
        return None
    name = type(error).__name__
    if name == "PermissionDeniedError":
        return 403
    if name == "UnauthenticatedError":
        return 401
    match = _STATUS_PATTERN.search(str(error))
    return int(match.group(1)) if match else None


def _is_transient(error: BaseException, status: int | None) -> bool:
    if status is not None:
        return status >= 500 or status in (408, 429)
    text = str(error).split("\n\nDebug source:")[0].lower()
    return any(marker in text for marker in _TRANSIENT_MARKERS)


def _is_range_error(error: BaseException) -> bool:
    return _status_of(error) == 416 or any(marker in str(error) for marker in _RANGE_MARKERS)


def describe_obstore_error(error: BaseException) -> str:
    """obstore's message for ``error`` without its debug dump or the response body, plus an S3 error code
    (``"... (NoSuchBucket: The specified bucket does not exist)"``). Raises nothing."""
    text = str(error)
    summary = text.split("\n")[0]
    summary = summary.split(": <", 1)[0].rstrip(": ")
    code = _S3_ERROR_PATTERN.search(text)
    return f"{summary} ({code.group(1)}: {code.group(2)})" if code else summary


def _url_of_backend(backend: Any) -> str:
    kind = type(backend).__name__
    if kind == "HTTPStore":
        return backend.url
    scheme = {"S3Store": "s3", "GCSStore": "gs", "AzureStore": "az"}.get(kind)
    if scheme is None:
        return repr(backend)
    config = backend.config
    bucket = config.get("bucket") or config.get("container_name") or ""
    return f"{scheme}://{bucket}/{backend.prefix or ''}".rstrip("/")
