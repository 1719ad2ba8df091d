"""The sync facade: background loop and codec pool."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading

import numpy as np
import pytest

import zarrkit
from zarrkit.runtime import io_loop, sync


def test_sync_returns_results_and_raises_errors():
    async def answer():
        return 42

    async def fail():
        raise ValueError("inner")

    assert sync(answer()) == 42
    with pytest.raises(ValueError, match="inner"):
        sync(fail())


def test_sync_refuses_to_run_on_its_own_loop():
    async def nested():
        inner = answer_later()
        try:
            return sync(inner)
        finally:
            inner.close()

    async def answer_later():
        return 1

    with pytest.raises(RuntimeError, match="await the async variant"):
        asyncio.run_coroutine_threadsafe(nested(), io_loop()).result()


def test_an_interrupted_sync_cancels_its_work():
    # A real SIGINT, as Ctrl-C sends: the wait in sync() is interrupted in the main thread.
    assert threading.current_thread() is threading.main_thread()
    finished: list[bool] = []
    cancelled = threading.Event()

    async def slow_write():
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        finished.append(True)

    threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        sync(slow_write())
    assert cancelled.wait(timeout=10)
    assert finished == []


def _read_in_child(path: str, queue: multiprocessing.Queue) -> None:
    queue.put(zarrkit.open_array(path)[...].sum())


def test_a_forked_child_gets_its_own_loop_and_pool(tmp_path):
    array = zarrkit.create_array(str(tmp_path), shape=(100,), dtype="int64", chunks=(10,))
    array[...] = np.arange(100)  # the parent's loop and pool are running now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_read_in_child, args=(str(tmp_path), queue))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert queue.get(timeout=1) == sum(range(100))
