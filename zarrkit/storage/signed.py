"""SignedURLStore: a read-only store that reads each key through a URL someone else signed.

A data provider hands out access key by key: either a signing function (``key -> URL``, or
batched ``[keys] -> {key: URL}``, sync or async) or a signing service, an HTTP endpoint that takes
a POSTed JSON list of keys and answers a JSON object ``{key: URL}``. A key the signer leaves out
(or maps to ``null``) is missing. The bytes are then fetched with plain HTTP(S) GET requests,
ranged where the batch allows: bounded ranges of one key that lie close together are fetched in one
request (the same coalescing as :class:`~zarrkit.storage.object.ObjectStore`); a key with any
open-ended or suffix range is fetched whole once.

What each answer becomes:

- 200/206: the value (a body shorter than the range the server claims raises StoreError);
- 404: ``None``; 416 (range past the end): ``b""``;
- 401/403: PermissionDenied naming the key and the URL without its query string (the signature):
  an expired or tampered signature, or a service that refuses the caller;
- 5xx, 408, 429, timeouts and dropped connections: retried with exponential backoff
  (:data:`DEFAULT_RETRY_DELAYS`), then TransientStoreError naming the key;
- anything else: StoreError.

The same rules apply to the signing service's own answers.
"""

from __future__ import annotations

import asyncio
import http.client
import inspect
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from zarrkit.errors import PermissionDenied, StoreError, TransientStoreError, UnsupportedFeature
from zarrkit.storage.base import ByteRange, ReadRequest, Store, check_byte_range, slice_byte_range
from zarrkit.storage.object import (
    DEFAULT_COALESCE_BLOCK,
    DEFAULT_COALESCE_GAP,
    DEFAULT_MAX_CONCURRENCY,
    check_read_tuning,
    coalesce_ranges,
)

DEFAULT_RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8, 1.6)
"""Seconds to wait before each retry of a transient failure (5 retries, about 3 s in all)."""

DEFAULT_TIMEOUT = 30.0
"""Seconds one HTTP request may take before it counts as a transient failure."""

Signer = Callable[[Any], Any]
"""``key -> URL | None`` or, batched, ``[keys] -> {key: URL | None}``; either may be a coroutine function."""

_TRANSIENT_STATUSES = {408, 429, 500, 502, 503, 504}
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class _Answer:
    """One HTTP answer: status, body and the Content-Range header."""

    __slots__ = ("body", "content_range", "status")

    def __init__(self, status: int, body: bytes, content_range: str | None) -> None:
        self.status = status
        self.body = body
        self.content_range = content_range


def _public_url(url: str) -> str:
    """``url`` without its query string, so messages never carry a signature."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _request(
    url: str,
    *,
    what: str,
    headers: Mapping[str, str],
    data: bytes | None,
    timeout: float,
    retry_delays: Sequence[float],
) -> _Answer:
    """One HTTP request with retries; raises PermissionDenied, TransientStoreError or StoreError.

    Blocking: callers run it in a worker thread. ``what`` names the key (or service) in messages.
    """
    for attempt in range(len(retry_delays) + 1):
        request = urllib.request.Request(url, data=data, headers=dict(headers), method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return _Answer(response.status, response.read(), response.headers.get("Content-Range"))
        except urllib.error.HTTPError as error:
            body = _error_body(error)
            if error.code in (401, 403):
                detail = body[:300].decode("utf-8", "replace")
                raise PermissionDenied(
                    f"{what}: {_public_url(url)} answered {error.code} (expired or invalid signature, or no access): {detail}"
                ) from None
            if error.code not in _TRANSIENT_STATUSES:
                return _Answer(error.code, body, error.headers.get("Content-Range"))
            failure = f"HTTP {error.code}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            # Refused or reset connections, timeouts, bodies cut off (IncompleteRead).
            failure = f"{type(error).__name__}: {error}"
        if attempt < len(retry_delays):
            time.sleep(retry_delays[attempt])
    raise TransientStoreError(f"{what}: {_public_url(url)} failed after {len(retry_delays)} retries: {failure}")


def _error_body(error: urllib.error.HTTPError) -> bytes:
    """The body of an error answer, or what arrived of it before the connection dropped."""
    with error:
        try:
            return error.read()
        except (http.client.IncompleteRead, OSError) as cut:
            return getattr(cut, "partial", b"")


class SigningService:
    """A batched signer that asks an HTTP endpoint: POST a JSON list of keys, get ``{key: URL}``.

    ``headers`` go with every request (e.g. an API token). Calling it blocks; raises
    PermissionDenied on 401/403, TransientStoreError after retries, StoreError for any other
    failure or an answer that is not a JSON object of strings (or nulls).
    """

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        if urllib.parse.urlsplit(endpoint).scheme not in ("http", "https"):
            raise StoreError(f"signing service {endpoint!r} must be an http:// or https:// URL")
        self.endpoint = endpoint
        self.headers = {"Content-Type": "application/json", **(headers or {})}
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)

    def __repr__(self) -> str:
        return f"SigningService({self.endpoint!r})"

    def __call__(self, keys: Sequence[str]) -> dict[str, str | None]:
        what = f"signing service {self.endpoint!r}"
        answer = _request(
            self.endpoint,
            what=what,
            headers=self.headers,
            data=json.dumps(list(keys)).encode(),
            timeout=self.timeout,
            retry_delays=self.retry_delays,
        )
        if answer.status != 200:
            raise StoreError(f"{what} answered {answer.status}: {answer.body[:300].decode('utf-8', 'replace')}")
        try:
            urls = json.loads(answer.body)
        except ValueError as error:
            raise StoreError(f"{what} answered with invalid JSON: {error}") from None
        if not isinstance(urls, dict) or not all(url is None or isinstance(url, str) for url in urls.values()):
            raise StoreError(f"{what} must answer a JSON object mapping keys to URLs, got {answer.body[:200]!r}")
        return urls


class SignedURLStore(Store):
    """A read-only store whose keys are read through URLs from a signing function or service.

    ``signer`` is ``key -> URL | None`` or, with ``batched=True``, ``[keys] -> {key: URL | None}``
    (one call per ``get_many`` batch); plain functions run in a worker thread, coroutine functions
    on the event loop. ``headers`` go with every fetch; ``coalesce_gap``, ``coalesce_block`` and
    ``max_concurrency`` tune ``get_many`` as for :class:`~zarrkit.storage.object.ObjectStore`.
    Raises StoreError for a tuning value out of range. Listing is not possible
    (UnsupportedFeature); every write raises ReadOnlyError.
    """

    supports_listing = False

    def __init__(
        self,
        signer: Signer,
        *,
        batched: bool = False,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        coalesce_gap: int = DEFAULT_COALESCE_GAP,
        coalesce_block: int = DEFAULT_COALESCE_BLOCK,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        super().__init__(read_only=True)
        if not callable(signer):
            raise StoreError(f"signer must be callable, got {signer!r}")
        check_read_tuning(coalesce_gap, coalesce_block, max_concurrency, where="of a SignedURLStore")
        self.signer = signer
        self.batched = batched
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.coalesce_gap = coalesce_gap
        self.coalesce_block = coalesce_block
        self.max_concurrency = max_concurrency
        self._signer_is_async = inspect.iscoroutinefunction(signer) or inspect.iscoroutinefunction(
            type(signer).__call__
        )
        self._pool = self._new_pool()

    @classmethod
    def from_service(
        cls, endpoint: str, *, service_headers: Mapping[str, str] | None = None, **options: Any
    ) -> SignedURLStore:
        """A store that signs each batch of keys through the :class:`SigningService` at ``endpoint``.

        ``service_headers`` go to the service only; ``options`` are :class:`SignedURLStore`'s.
        """
        service = SigningService(
            endpoint,
            headers=service_headers,
            timeout=options.get("timeout", DEFAULT_TIMEOUT),
            retry_delays=options.get("retry_delays", DEFAULT_RETRY_DELAYS),
        )
        return cls(service, batched=True, **options)

    def __repr__(self) -> str:
        return f"SignedURLStore({self.signer!r})"

    def _new_pool(self) -> ThreadPoolExecutor:
        # Threads start on demand, at most max_concurrency: that bounds the requests in flight.
        return ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="zarrkit-signed-url")

    async def _in_thread(self, function: Callable[[], Any]) -> Any:
        """``function()`` in one of this store's threads."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function)

    def close(self) -> None:
        """Let this store's idle threads end; a later read starts new ones."""
        pool, self._pool = self._pool, self._new_pool()
        pool.shutdown(wait=False)

    def __getstate__(self) -> dict[str, Any]:
        # Pickled for other processes (dask workers): threads stay in this one.
        return {name: value for name, value in self.__dict__.items() if name != "_pool"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pool = self._new_pool()

    # -- signing ----------------------------------------------------------------------------------

    async def sign(self, keys: Sequence[str]) -> dict[str, str | None]:
        """The signed URL of each key (``None`` where the signer has none, so the key is missing).

        Raises StoreError when the signer answers something that is not a URL, and whatever the
        signer raises (a :class:`SigningService` raises StoreError subclasses).
        """
        if self.batched:
            batch = list(keys)
            answer = await (
                self.signer(batch) if self._signer_is_async else self._in_thread(lambda: self.signer(batch))
            )
            if not isinstance(answer, Mapping):
                raise StoreError(
                    f"batched signer {self.signer!r} must return a mapping of keys to URLs, got {answer!r}"
                )
            urls = {key: answer.get(key) for key in keys}
        else:
            if self._signer_is_async:
                found = await asyncio.gather(*(self.signer(key) for key in keys))
            else:
                found = await self._in_thread(lambda: [self.signer(key) for key in keys])
            urls = dict(zip(keys, found, strict=True))
        for key, url in urls.items():
            if url is not None and (
                not isinstance(url, str) or urllib.parse.urlsplit(url).scheme not in ("http", "https")
            ):
                raise StoreError(
                    f"signer {self.signer!r} gave {url!r} for key {key!r}: expected an http(s) URL or None"
                )
        return urls

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or a byte range of it), or None when it is missing; see the module notes."""
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """Values for a batch: one signing call, then one request per object or coalesced block."""
        by_key: dict[str, list[int]] = {}
        for position, (key, byte_range) in enumerate(requests):
            check_byte_range(key, byte_range)
            by_key.setdefault(key, []).append(position)
        if not by_key:
            return []
        urls = await self.sign(list(by_key))
        results: list[bytes | None] = [None] * len(requests)
        reads = [
            self._read_key(key, urls[key], [requests[position][1] for position in positions])
            for key, positions in by_key.items()
            if urls[key] is not None
        ]
        read_keys = [key for key in by_key if urls[key] is not None]
        for key, values in zip(read_keys, await asyncio.gather(*reads), strict=True):
            for position, value in zip(by_key[key], values, strict=True):
                results[position] = value
        return results

    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key``, or None when it is missing: one request for its first byte,
        whose answer says the whole size. Raises as :meth:`get` does."""
        answer = await self.get_with_size(key, (0, 0))
        return None if answer is None else answer[1]

    async def get_with_size(self, key: str, byte_range: ByteRange | None = None) -> tuple[bytes, int] | None:
        """The bytes of ``byte_range`` of ``key`` and the whole value's size, with one signing call and
        one request (a ranged answer names the size); None when the key is missing. Raises as
        :meth:`get` does, and StoreError when a ranged answer does not say the size."""
        check_byte_range(key, byte_range)
        url = (await self.sign([key]))[key]
        if url is None:
            return None
        if byte_range is None or byte_range[1] is None:
            whole, size = await self._fetch_with_size(key, url, None)
            return None if whole is None else (slice_byte_range(whole, byte_range), size)
        offset, length = byte_range
        data, size = await self._fetch_with_size(key, url, (offset, offset + length))
        if data is None:
            return None
        if size is None:
            raise StoreError(f"key {key!r}: {_public_url(url)} answered a range without saying the object's size")
        return data[:length], size

    async def _read_key(self, key: str, url: str, byte_ranges: list[ByteRange | None]) -> list[bytes | None]:
        """The values of ``byte_ranges`` of one object: whole once, or in coalesced blocks."""
        if any(byte_range is None or byte_range[1] is None for byte_range in byte_ranges):
            whole = await self._fetch(key, url, None)
            return [None if whole is None else slice_byte_range(whole, byte_range) for byte_range in byte_ranges]
        spans = [(offset, offset + length) for offset, length in byte_ranges]  # type: ignore[misc, operator]
        blocks = coalesce_ranges(spans, max_gap=self.coalesce_gap, max_block=self.coalesce_block)
        fetched = await asyncio.gather(*(self._fetch(key, url, (start, stop)) for start, stop, _ in blocks))
        values: list[bytes | None] = [None] * len(byte_ranges)
        for (block_start, _, positions), data in zip(blocks, fetched, strict=True):
            for position in positions:
                start, stop = spans[position]
                values[position] = None if data is None else data[start - block_start : stop - block_start]
        return values

    async def _fetch(self, key: str, url: str, span: tuple[int, int] | None) -> bytes | None:
        """Bytes ``[start, stop)`` of the object at ``url`` (clipped at its end), or the whole object."""
        return (await self._fetch_with_size(key, url, span))[0]

    async def _fetch_with_size(
        self, key: str, url: str, span: tuple[int, int] | None
    ) -> tuple[bytes | None, int | None]:
        """:meth:`_fetch`'s bytes, and the whole object's size when the answer says it."""
        headers = dict(self.headers)
        if span is not None:
            # A zero-length range still asks for one byte, so the answer says whether the key exists.
            headers["Range"] = f"bytes={span[0]}-{max(span[1], span[0] + 1) - 1}"
        answer = await self._in_thread(
            lambda: _request(
                url,
                what=f"key {key!r}",
                headers=headers,
                data=None,
                timeout=self.timeout,
                retry_delays=self.retry_delays,
            )
        )
        if answer.status == 404:
            return None, None
        if answer.status == 416:  # the range starts past the end: "bytes */<size>"
            return b"", _range_total(answer.content_range)
        if answer.status == 200:
            # The server ignored the range and sent the whole object.
            return (answer.body if span is None else answer.body[span[0] :]), len(answer.body)
        if answer.status == 206 and span is not None:
            return _checked_partial(key, url, span, answer), _range_total(answer.content_range)
        raise StoreError(f"key {key!r}: {_public_url(url)} answered {answer.status}: {answer.body[:300]!r}")

    # -- writes and listing -----------------------------------------------------------------------

    async def list(self, prefix: str = "") -> list[str]:
        """Raises UnsupportedFeature: a signer hands out keys one by one and cannot list them."""
        raise UnsupportedFeature(f"{self!r} cannot list keys: signed URLs are handed out key by key")

    async def set(self, key: str, value: bytes) -> None:
        """Raises ReadOnlyError: signed URLs are for reading."""
        self._check_writable(key)

    async def delete(self, key: str) -> None:
        """Raises ReadOnlyError: signed URLs are for reading."""
        self._check_writable(key)


def _range_total(content_range: str | None) -> int | None:
    """The whole size a Content-Range header names ("bytes 0-99/1000" or "bytes */1000"), if any."""
    total = (content_range or "").strip().rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _checked_partial(key: str, url: str, span: tuple[int, int], answer: _Answer) -> bytes:
    """The body of a 206 answer, after checking it is the range asked for; StoreError otherwise."""
    match = _CONTENT_RANGE.fullmatch((answer.content_range or "").strip())
    if match is None or int(match.group(1)) != span[0]:
        raise StoreError(
            f"key {key!r}: {_public_url(url)} answered range {answer.content_range!r} for bytes {span[0]}-{span[1] - 1}"
        )
    first, last = int(match.group(1)), int(match.group(2))
    size = None if match.group(3) == "*" else int(match.group(3))
    wanted = max(span[1], span[0] + 1)
    if len(answer.body) != last - first + 1 or (last + 1 < wanted and last + 1 != size):
        raise StoreError(
            f"key {key!r}: {_public_url(url)} sent {len(answer.body)} bytes for range {answer.content_range!r}; "
            f"asked for bytes {span[0]}-{wanted - 1}"
        )
    return answer.body
