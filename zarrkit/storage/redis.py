"""RedisStore: a store in a redis database, one string value per key, on redis-py's asyncio client.

URL: ``redis://[user[:password]@]host[:port][/db[/prefix]]``. ``db`` is the database number (0 by
default) and ``prefix`` a key prefix inside it, so several hierarchies can share a database:
``redis://localhost:6379/2/surveys/2024`` keeps key ``a/zarr.json`` under the redis key
``surveys/2024/a/zarr.json``.

What each redis outcome becomes: a missing key is ``None``; authentication and ACL refusals raise
PermissionDenied; connection failures and timeouts that survive the retries raise
TransientStoreError; any other redis error (such as a non-string value under a key) raises
StoreError. Every message names the URL and the key.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from zarrkit.errors import PermissionDenied, StoreError, TransientStoreError
from zarrkit.runtime import io_loop, sync
from zarrkit.storage.base import ByteRange, ReadRequest, Store, as_bytes, check_byte_range
from zarrkit.storage.optional import import_optional
from zarrkit.storage.url import register_protocol

DEFAULT_PORT = 6379
DEFAULT_TIMEOUT = 10.0
"""Seconds a single redis command (or connecting) may take before it counts as failed and is retried."""
RETRIES = 3
"""Retries of a command that failed to connect or timed out, with exponential backoff (50 ms doubling):
a dead server is reported within ``(RETRIES + 1) * timeout`` plus 0.35 s. Refused credentials and
every other redis error are not retried."""

_BATCH_SIZE = 256
"""Requests per pipeline: a large batch becomes several pipelines that run concurrently, so no single
reply (or transaction) holds the whole batch in the server's memory at once."""
_SCAN_COUNT = 1000
_MAX_CONNECTIONS = 32
_MAX_REASON = 300
_GLOB_SPECIALS = frozenset("*?[]\\")
_STORAGE_OPTIONS = ("username", "password", "timeout")
_PASSWORD_IN_URL = re.compile(r"(//[^/@:]*:)[^/@]*@")

T = TypeVar("T")


def _redis_module() -> ModuleType:
    return import_optional(
        "redis", "redis.asyncio", "redis.asyncio.retry", "redis.backoff", needed_for="redis:// stores", extra="redis"
    )


def _on_io_loop(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Run the decorated coroutine method on zarrkit's I/O loop, whatever loop awaits it.

    redis-py's connections belong to the loop that opened them; running every command on the one
    I/O loop lets callers await the store from any loop.
    """

    @functools.wraps(method)
    async def on_io_loop(*args: Any, **kwargs: Any) -> T:
        loop = io_loop()
        coroutine = method(*args, **kwargs)
        if asyncio.get_running_loop() is loop:
            return await coroutine
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, loop))

    return on_io_loop


def escape_glob(text: str) -> str:
    """``text`` with redis glob characters escaped, for a SCAN MATCH pattern that matches it literally."""
    return "".join("\\" + character if character in _GLOB_SPECIALS else character for character in text)


def _getrange_bounds(byte_range: ByteRange) -> tuple[int, int]:
    """GETRANGE's inclusive ``(start, end)`` for a valid byte range; redis clips both to the value."""
    offset, length = byte_range
    if length is None:
        return offset, -1
    if length == 0:
        return 1, 0  # start after end: redis answers an empty string for any value
    return offset, offset + length - 1


class RedisStore(Store):
    """A store in a redis database: each key one redis string under an optional key prefix.

    Open it from a URL (``RedisStore("redis://host:6379/0/prefix")``) or with :func:`open_store`,
    which also checks that the server answers. Byte ranges are served by GETRANGE; a batch of reads
    is sent as pipelines of up to 256 requests (one round trip each, all at once), each a MULTI/EXEC
    transaction so a ranged read never mixes an existence check and a value from different writes.
    ``set`` replaces a value atomically (SET); listing scans the prefix with SCAN.

    ``timeout`` bounds each command in seconds; ``username`` and ``password`` override the URL's.
    """

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Describe the store; no connection is made until first use (see :meth:`check`).

        Raises StoreError for a URL that is not ``redis://host[:port][/db[/prefix]]`` or a timeout
        that is not a positive number; UnsupportedFeature when redis-py is not installed.
        """
        super().__init__(read_only=read_only)
        redis = _redis_module()
        parts = _parse_url(url)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise StoreError(f"timeout for {_redacted(url)!r} must be a positive number of seconds, got {timeout!r}")
        self.host, self.port, self.db, self.prefix = parts.host, parts.port, parts.db, parts.prefix
        self.url = f"redis://{self.host}:{self.port}/{self.db}" + (f"/{self.prefix}" if self.prefix else "")
        self._key_prefix = self.prefix + "/" if self.prefix else ""
        self._arguments = (
            url,
            {"read_only": read_only, "timeout": timeout, "username": username, "password": password},
        )
        self._exceptions = redis.exceptions
        # A blocking pool makes a burst of concurrent commands wait for a free connection (for at
        # most ``timeout``) instead of failing once the connection limit is reached.
        pool = redis.asyncio.BlockingConnectionPool(
            host=self.host,
            port=self.port,
            db=self.db,
            username=username if username is not None else parts.username,
            password=password if password is not None else parts.password,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # This store retries whole operations itself (see _run), and never on refused credentials,
            # which redis-py counts as connection errors.
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 0),
            max_connections=_MAX_CONNECTIONS,
            timeout=timeout,
        )
        self._client = redis.asyncio.Redis.from_pool(pool)

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, read_only={self.read_only})"

    def __eq__(self, other: object) -> bool:
        """Two stores are equal when they see the same keys (server, database, prefix) the same way."""
        if not isinstance(other, RedisStore):
            return NotImplemented
        return (self.url, self.read_only) == (other.url, other.read_only)

    def __hash__(self) -> int:
        return hash((self.url, self.read_only))

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickled store opens its own connections: it carries the settings, not the client.
        url, options = self._arguments
        return (functools.partial(RedisStore, **options), (url,))

    # -- keys and errors --------------------------------------------------------------------------

    def _redis_key(self, key: str) -> bytes:
        if not isinstance(key, str):
            raise StoreError(f"invalid key {key!r} for {self!r}: keys are strings")
        return (self._key_prefix + key).encode()

    def _store_key(self, redis_key: bytes) -> str:
        try:
            return redis_key.decode()[len(self._key_prefix) :]
        except UnicodeDecodeError:
            raise StoreError(f"redis key {redis_key!r} in {self.url!r} is not UTF-8, so not a zarrkit key") from None

    def _error(self, action: str, key: str | None, error: Exception) -> StoreError:
        exceptions = self._exceptions
        where = f"{action} {self.url}" if key is None else f"{action} {key!r} in {self.url}"
        # redis-py quotes a failed pipeline command with its arguments, values included: keep it short.
        reason = str(error)
        reason = reason if len(reason) <= _MAX_REASON else reason[:_MAX_REASON] + "..."
        if isinstance(
            error, (exceptions.AuthenticationError, exceptions.AuthorizationError, exceptions.NoPermissionError)
        ):
            return PermissionDenied(f"{where}: permission denied ({reason})")
        if isinstance(error, (exceptions.ConnectionError, exceptions.TimeoutError)):
            return TransientStoreError(f"{where} failed after {RETRIES} retries: {reason}")
        return StoreError(f"{where} failed: {reason}")

    async def _run(self, action: str, key: str | None, call: Callable[[], Awaitable[T]]) -> T:
        """``await call()``, retried with backoff on connection failures and timeouts; any redis
        error that remains becomes the StoreError subclass that :meth:`_error` picks."""
        exceptions = self._exceptions
        attempt = 0
        while True:
            try:
                return await call()
            except (exceptions.AuthenticationError, exceptions.AuthorizationError) as error:
                raise self._error(action, key, error) from error
            except (exceptions.ConnectionError, exceptions.TimeoutError) as error:
                if attempt == RETRIES:
                    raise self._error(action, key, error) from error
                await asyncio.sleep(0.05 * 2**attempt)
                attempt += 1
            except exceptions.RedisError as error:
                raise self._error(action, key, error) from error

    async def _pipeline(
        self, action: str, key: str, commands: Sequence[tuple[object, ...]], *, transaction: bool
    ) -> list[Any]:
        """The replies to ``commands`` sent in one round trip (in MULTI/EXEC if ``transaction``)."""

        async def execute() -> list[Any]:
            # A pipeline forgets its commands once executed, so each attempt builds its own.
            pipeline = self._client.pipeline(transaction=transaction)
            for command in commands:
                pipeline.execute_command(*command)
            return await pipeline.execute()

        return await self._run(action, key, execute)

    # -- connection -------------------------------------------------------------------------------

    @_on_io_loop
    async def check(self) -> None:
        """Make sure the server answers (PING). Raises StoreError naming the URL when it does not:
        PermissionDenied for refused credentials, TransientStoreError when it cannot be reached."""
        await self._run("connecting to", None, self._client.ping)

    def close(self) -> None:
        """Close the store's connections. Call it from outside the I/O loop (it waits for them)."""
        sync(self._close())

    @_on_io_loop
    async def _close(self) -> None:
        await self._client.aclose()

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the byte range of it), or ``None`` if it is missing.

        Raises StoreError for a malformed range or a redis failure (see the module docstring).
        """
        return (await self.get_many([(key, byte_range)]))[0]

    @_on_io_loop
    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        for key, byte_range in requests:
            check_byte_range(key, byte_range)
        batches = [requests[start : start + _BATCH_SIZE] for start in range(0, len(requests), _BATCH_SIZE)]
        results = await asyncio.gather(*(self._read_batch(batch) for batch in batches))
        return [value for batch_values in results for value in batch_values]

    async def _read_batch(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        commands: list[tuple[object, ...]] = []
        for key, byte_range in requests:
            redis_key = self._redis_key(key)
            if byte_range is None:
                commands.append(("GET", redis_key))
            else:
                # GETRANGE answers "" for a missing key; EXISTS in the same transaction tells them apart.
                commands.append(("EXISTS", redis_key))
                commands.append(("GETRANGE", redis_key, *_getrange_bounds(byte_range)))
        replies = iter(await self._pipeline("reading", requests[0][0], commands, transaction=True))
        values: list[bytes | None] = []
        for _, byte_range in requests:
            if byte_range is None:
                values.append(next(replies))
            else:
                exists, value = next(replies), next(replies)
                values.append(value if exists else None)
        return values

    @_on_io_loop
    async def exists(self, key: str) -> bool:
        """True if ``key`` holds a value."""
        redis_key = self._redis_key(key)
        return bool(await self._run("checking", key, lambda: self._client.exists(redis_key)))

    @_on_io_loop
    async def getsize(self, key: str) -> int | None:
        """The size of the value at ``key`` in bytes, or ``None`` if it is missing."""
        redis_key = self._redis_key(key)
        commands = [("EXISTS", redis_key), ("STRLEN", redis_key)]
        exists, size = await self._pipeline("sizing", key, commands, transaction=True)
        return size if exists else None

    async def _scan(self, prefix: str) -> AsyncIterator[list[bytes]]:
        """The redis keys below the store prefix that start with ``prefix``, a page at a time."""
        pattern = escape_glob(self._key_prefix + prefix).encode() + b"*"
        cursor = 0
        while True:
            cursor, page = await self._run(
                "listing", prefix, functools.partial(self._client.scan, cursor, match=pattern, count=_SCAN_COUNT)
            )
            if page:
                yield page
            if cursor == 0:
                return

    @_on_io_loop
    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted (SCAN may repeat a key; it is listed once)."""
        keys: set[str] = set()
        async for page in self._scan(prefix):
            keys.update(self._store_key(redis_key) for redis_key in page)
        return sorted(keys)

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (atomically: SET). Raises ReadOnlyError on a read-only store."""
        await self.set_many([(key, value)])

    @_on_io_loop
    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Store a batch of ``(key, value)`` pairs, each atomically. Raises as :meth:`set` does."""
        if not items:
            return
        self._check_writable(items[0][0])
        commands = [("SET", self._redis_key(key), as_bytes(key, value)) for key, value in items]
        await asyncio.gather(
            *(
                self._pipeline("writing", items[start][0], commands[start : start + _BATCH_SIZE], transaction=False)
                for start in range(0, len(commands), _BATCH_SIZE)
            )
        )

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error. Raises ReadOnlyError on a read-only store."""
        await self.delete_many([key])

    @_on_io_loop
    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys; missing keys are not an error."""
        if not keys:
            return
        self._check_writable(keys[0])
        redis_keys = [self._redis_key(key) for key in keys]
        await self._unlink(redis_keys, keys[0])

    async def _unlink(self, redis_keys: Sequence[bytes], first_key: str) -> None:
        # UNLINK frees large values in the background instead of blocking the server.
        for start in range(0, len(redis_keys), _SCAN_COUNT):
            await self._run(
                "deleting", first_key, functools.partial(self._client.unlink, *redis_keys[start : start + _SCAN_COUNT])
            )

    @_on_io_loop
    async def delete_prefix(self, prefix: str) -> None:
        """Remove every key that starts with ``prefix``, a SCAN page at a time.

        Raises ReadOnlyError on a read-only store.
        """
        self._check_writable(prefix)
        async for page in self._scan(prefix):
            await self._unlink(page, prefix)


@dataclass(frozen=True)
class _UrlParts:
    host: str
    port: int
    db: int
    prefix: str
    username: str | None
    password: str | None


def _redacted(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``, for messages."""
    return _PASSWORD_IN_URL.sub(r"\1***@", url)


def _parse_url(given_url: str) -> _UrlParts:
    """The parts of ``redis://[user[:password]@]host[:port][/db[/prefix]]``; raises StoreError naming the URL."""
    if not isinstance(given_url, str):
        raise StoreError(f"a redis store needs a redis:// URL, got {given_url!r}")
    split = urlsplit(given_url)
    url = _redacted(given_url)
    if split.scheme.lower() != "redis" or not split.hostname:
        raise StoreError(f"invalid redis URL {url!r}: use redis://host[:port][/db[/prefix]]")
    try:
        port = split.port or DEFAULT_PORT
    except ValueError:
        raise StoreError(f"invalid port in redis URL {url!r}") from None
    db_text, _, prefix = split.path.lstrip("/").partition("/")
    if db_text and not db_text.isdigit():
        raise StoreError(f"invalid database {db_text!r} in redis URL {url!r}: it must be a number")
    if split.query or split.fragment:
        raise StoreError(f"redis URL {url!r} may not have a query or fragment; pass options as storage_options")
    return _UrlParts(
        host=split.hostname,
        port=port,
        db=int(db_text or 0),
        prefix=unquote(prefix).strip("/"),
        username=unquote(split.username) if split.username else None,
        password=unquote(split.password) if split.password else None,
    )


def open_redis(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """The opener of ``redis://`` URLs: a RedisStore, read-only in mode ``"r"``, checked with a PING.

    ``storage_options`` may hold ``username``, ``password`` and ``timeout`` (seconds). Raises
    StoreError naming the URL for unknown options, a malformed URL or a server that does not answer.
    """
    unknown = sorted(set(storage_options) - set(_STORAGE_OPTIONS))
    if unknown:
        raise StoreError(
            f"storage_options {unknown} do not apply to {_redacted(url)!r}; it accepts {list(_STORAGE_OPTIONS)}"
        )
    store = RedisStore(url, read_only=mode == "r", **storage_options)
    try:
        sync(store.check())
    except StoreError:
        store.close()
        raise
    return store


register_protocol("redis", open_redis)
