"""The sync facade's machinery: one private event loop for I/O and one thread pool for codecs.

The public API is synchronous. Each call hands its coroutine to an event loop that runs in a
background thread (:func:`sync`), so stores can overlap many requests, and CPU work (compression,
local file I/O) runs in a thread pool (:func:`run_in_pool`) because the libraries behind it release
the GIL. Both are created on first use and rebuilt after a fork.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pool: ThreadPoolExecutor | None = None
_owner_pid: int | None = None


def pool_size() -> int:
    """The number of codec threads: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _ensure_started() -> tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]:
    global _loop, _pool, _owner_pid
    if _loop is not None and _pool is not None and _owner_pid == os.getpid():
        return _loop, _pool
    with _lock:
        if _loop is None or _owner_pid != os.getpid():
            # After a fork the parent's loop thread does not exist in the child: start afresh.
            _pool = ThreadPoolExecutor(max_workers=pool_size(), thread_name_prefix="zarrkit-codec")
            loop = asyncio.new_event_loop()
            loop.set_default_executor(_pool)
            thread = threading.Thread(target=loop.run_forever, name="zarrkit-io", daemon=True)
            thread.start()
            _loop, _owner_pid = loop, os.getpid()
    assert _loop is not None and _pool is not None
    return _loop, _pool


def io_loop() -> asyncio.AbstractEventLoop:
    """The background event loop on which all store I/O runs."""
    return _ensure_started()[0]


def codec_pool() -> ThreadPoolExecutor:
    """The thread pool that runs codecs and blocking file I/O."""
    return _ensure_started()[1]


def sync(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` on the background loop and return its result (or raise its exception).

    Raises RuntimeError when called from the background loop itself, where waiting would deadlock:
    code already running on the loop must ``await`` the async variant instead.
    """
    loop = io_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError("zarrkit's synchronous API was called from its own I/O loop; await the async variant")
    future = asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop)
    return future.result()


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def run_in_pool(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking ``function(*args)`` in the codec pool without blocking the running loop."""
    return await asyncio.get_running_loop().run_in_executor(codec_pool(), function, *args)
