"""cProfile over every Python thread, for ``python -m benchmarks --profile``.

cProfile sees only the thread that enables it, and zarrkit does its work elsewhere: on a background
I/O loop and in a codec thread pool, while the calling thread waits. So each thread started while the
profiler is installed gets its own profile from its first Python call on, and the main thread is
profiled only inside :meth:`ThreadProfiler.main_thread` blocks; the report merges them all.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
from typing import Any


class _Snapshot:
    """Hands pstats a profile's statistics without disabling it: a profile can only be disabled
    from its own thread, and the worker threads are still alive (and idle) when the report is made.
    """

    def __init__(self, profile: cProfile.Profile) -> None:
        self._profile = profile
        self.stats: dict[Any, Any] = {}

    def create_stats(self) -> None:
        self._profile.snapshot_stats()
        self.stats = self._profile.stats


class ThreadProfiler:
    """Profiles the main thread inside :meth:`main_thread` and every thread started after :meth:`install`.

    Install it before zarrkit's first call, since zarrkit starts its I/O thread and codec threads on
    first use and threads that already run are not profiled.
    """

    def __init__(self) -> None:
        self._main = cProfile.Profile()
        self._thread_profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        """Start profiling each thread that starts from now on."""
        threading.setprofile(self._start_in_thread)

    def uninstall(self) -> None:
        """Stop profiling threads that start from now on (those already profiled stay profiled)."""
        threading.setprofile(None)

    def _start_in_thread(self, frame: Any, event: str, arg: Any) -> None:
        # Called on the new thread's first profiling event: replace this hook with a real profiler.
        profile = cProfile.Profile()
        with self._lock:
            self._thread_profiles.append(profile)
        profile.enable()

    def main_thread(self) -> cProfile.Profile:
        """A context manager that profiles the calling thread inside its block."""
        return self._main

    def report(self, limit: int) -> str:
        """The ``limit`` functions with the most cumulative time, summed over all profiled threads."""
        with self._lock:
            profiles = [self._main, *self._thread_profiles]
        output = io.StringIO()
        stats = pstats.Stats(_Snapshot(profiles[0]), stream=output)
        for profile in profiles[1:]:
            stats.add(_Snapshot(profile))
        stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(limit)
        return output.getvalue()
