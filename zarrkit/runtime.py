"""The sync facade's machinery: one private event loop for I/O and one thread pool for codecs.

The public API is synchronous. Each call hands its coroutine to an event loop that runs in a
background thread (:func:`sync`), so stores can overlap many requests, and CPU work (compression,
local file I/O) runs in a thread pool (:func:`run_in_pool`) because the libraries behind it release
the GIL. Both are created on first use and again in a forked child.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pool: ThreadPoolExecutor | None = None


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_pool_size = _cores()


def pool_size() -> int:
    """The number of codec threads: the cores this process could use when zarrkit was imported."""
    return _pool_size


def _forget_after_fork() -> None:
    # The parent's loop thread and pool threads do not exist in a forked child, and the lock may
    # have been held by one of them: start afresh on first use.
    global _lock, _loop, _pool
    _lock, _loop, _pool = threading.Lock(), None, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _ensure_started() -> tuple[asyncio.AbstractEventLoop, ThreadPoolExecutor]:
    global _loop, _pool
    if _loop is not None and _pool is not None:
        return _loop, _pool
    with _lock:
        if _loop is None or _pool is None:
            pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="zarrkit-codec")
            loop = asyncio.new_event_loop()
            loop.set_default_executor(pool)
            threading.Thread(target=loop.run_forever, name="zarrkit-io", daemon=True).start()
            _loop, _pool = loop, pool
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
    try:
        return future.result()
    except BaseException:
        # Interrupted (Ctrl-C) or failed: stop the work, so no write lands after the caller moved on.
        future.cancel()
        raise


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def run_in_pool(function: Callable[..., T], *args: Any) -> T:
    """Run a blocking ``function(*args)`` in the codec pool without blocking the running loop."""
    return await asyncio.get_running_loop().run_in_executor(codec_pool(), function, *args)


_collector_lock = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep Python's garbage collector from running inside the block.

    For code that holds a library's global lock while it waits for an I/O thread: h5py holds its
    lock while it reads through a file object that waits for zarrkit's I/O loop (and kerchunk
    holds it while zarr-python waits for its own loop). A collection on that thread that frees an
    h5py object needs the same lock and would wait forever. Pauses nest across threads: the
    collector runs again when the last block ends.
    """
    global _collector_pauses, _collector_was_enabled
    with _collector_lock:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()
