"""Benchmarks of whole arrays in a local directory: write, read, and read a 10% window.

Every library writes its own copy of the same float32 array into its own directory, then reads it
back; each read is compared with the source outside the clock. The libraries take turns round by
round (see :func:`run_case`). Reads follow the writes, so the files are in the page cache (warm
cache). A timed write covers only storing the data: the previous copy is removed and the empty array
created before the clock starts.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from benchmarks.libraries import Layout, Library
from benchmarks.timing import Measurement, data_check, no_check, print_progress, time_rounds

FULL_SIDE = 8192
"""The side of the full benchmark's square array: 8192 x 8192 float32 is 256 MiB."""

QUICK_SIDE = 4096
"""The side used by ``--quick``: 64 MiB."""

WINDOW_FRACTION = 0.1
"""The share of the array's elements that the window read covers."""


@dataclass(frozen=True)
class ArrayCase:
    """One way of cutting the array: ``name`` for ``--only``, ``label`` for the table."""

    name: str
    label: str
    chunks: tuple[int, int]
    shards: tuple[int, int] | None = None

    def layout(self, side: int) -> Layout:
        """The layout of this case for a ``side`` x ``side`` array."""
        return Layout(shape=(side, side), chunks=self.chunks, shards=self.shards)


CASES = (
    ArrayCase("chunks-1mib", "1 MiB chunks", chunks=(512, 512)),
    ArrayCase("chunks-16kib", "16 KiB chunks", chunks=(64, 64)),
    ArrayCase("sharded", "16 KiB chunks in 4 MiB shards", chunks=(64, 64), shards=(1024, 1024)),
)
CASES_BY_NAME = {case.name: case for case in CASES}





def realistic_field(side: int, seed: int = 0) -> np.ndarray:
    """A ``side`` x ``side`` float32 field like a gridded measurement: smooth waves plus noise.

    Values are rounded to two decimals, so the low mantissa bits are partly redundant and zstd
    compresses the field to about half, as it would a real temperature grid.
    """
    axis = np.linspace(0.0, 6 * np.pi, side, dtype=np.float32)
    field = np.multiply.outer(np.sin(axis), np.cos(0.7 * axis))
    field *= 20
    field += 15
    noise = np.random.default_rng(seed).standard_normal((side, side), dtype=np.float32)
    noise *= 0.05
    field += noise
    del noise
    return np.round(field, 2, out=field)


def window_selection(side: int) -> tuple[slice, slice]:
    """A square window of about ``WINDOW_FRACTION`` of a ``side`` x ``side`` array, near the middle.

    It is shifted 3 elements off the centred position so that, for the sizes and chunks benchmarked
    here, neither of its edges falls on a chunk border and every library must cut partial chunks.
    """
    window_side = round(side * math.sqrt(WINDOW_FRACTION))
    start = (side - window_side) // 2 + 3
    return (slice(start, start + window_side), slice(start, start + window_side))


def _fresh_directory(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _stored_bytes(path: str) -> int:
    return sum(
        os.path.getsize(os.path.join(directory, name)) for directory, _, names in os.walk(path) for name in names
    )





class _Step(NamedTuple):
    operation: str
    nbytes: int
    prepare: Callable[[], Any]
    timed: Callable[[Any], Any]
    check: Callable[[Any], None]


def _steps(library: Library, case: ArrayCase, data: np.ndarray, path: str) -> list[_Step]:
    """Write, read, window read: each with what it prepares untimed, times, and checks untimed."""
    side = data.shape[0]
    whole = (slice(0, side), slice(0, side))
    window = window_selection(side)

    def create_fresh() -> Any:
        _fresh_directory(path)
        return library.create(path, case.layout(side))

    def open_array() -> Any:
        return library.open(path)

    return [
        _Step("write", data.nbytes, create_fresh, lambda array: library.write(array, data), no_check),
        _Step(
            "read",
            data.nbytes,
            open_array,
            lambda array: library.read(array, whole),
            data_check(data, f"{library.name} read of {case.name}"),
        ),
        _Step(
            f"read {WINDOW_FRACTION:.0%} window",
            data[window].nbytes,
            open_array,
            lambda array: library.read(array, window),
            data_check(data[window], f"{library.name} window read of {case.name}"),
        ),
    ]


@dataclass(frozen=True)
class CaseResult:
    """The measurements of one case, and how many bytes each library stored (None when it failed)."""

    measurements: list[Measurement]
    stored_bytes: dict[str, int | None]


def run_case(
    case: ArrayCase,
    libraries: Sequence[Library],
    data: np.ndarray,
    directory: str,
    repeat: int,
    around_timed: Callable[[], AbstractContextManager[Any]] = nullcontext,
    progress: Callable[[str], None] | None = None,
) -> CaseResult:
    """Write, read and window-read ``data`` with each library under ``directory``, ``repeat`` rounds each.

    The libraries take turns: each operation runs ``repeat`` rounds, and every round times each
    library once, in the order :func:`round_order` gives, so a slow spell of the machine falls on
    all of them instead of on one library's whole series. All writes come before the reads, which
    then find each library's last write. A library that raises, or returns wrong data, gets a failed
    measurement naming the problem, its later rounds and steps on this case are skipped, and the
    others still run. The copies are deleted once the case is measured. ``around_timed`` wraps every
    timed call (for a profiler); ``progress`` receives a line per round (default: printed to stderr).
    """
    progress = progress or print_progress
    paths = {library.name: os.path.join(directory, f"{case.name}-{library.name}.zarr") for library in libraries}
    steps = {library.name: _steps(library, case, data, paths[library.name]) for library in libraries}
    operations = [step.operation for step in steps[libraries[0].name]] if libraries else []
    problems: dict[str, str] = {}
    measurements: list[Measurement] = []
    for index, operation in enumerate(operations):
        nbytes = steps[libraries[0].name][index].nbytes
        by_library = {name: library_steps[index] for name, library_steps in steps.items()}
        measurements += time_rounds(
            case.label,
            operation,
            nbytes,
            by_library,
            libraries,
            repeat,
            problems,
            around_timed=around_timed,
            progress=progress,
        )
    stored = {name: None if name in problems else _stored_bytes(path) for name, path in paths.items()}
    for path in paths.values():
        _fresh_directory(path)
    return CaseResult(measurements, stored)
