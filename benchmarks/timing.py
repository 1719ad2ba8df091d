"""Timing one run, the order of the libraries in each round, and the tables of medians and spreads."""

from __future__ import annotations

import gc
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

MIB = 2**20

T = TypeVar("T")


@dataclass(frozen=True)
class Measurement:
    """The outcome of one operation of one case with one library, over all rounds.

    ``seconds`` holds the wall time of each round in round order, or is empty when the library
    failed; ``problem`` then says why (an exception, data that differs from the source, or an
    earlier failure on the same case).
    """

    case: str
    operation: str
    library: str
    nbytes: int
    seconds: tuple[float, ...] = ()
    problem: str | None = None

    @property
    def throughputs(self) -> list[float]:
        """MiB of uncompressed array data per second in each round (empty for a failed measurement)."""
        return [self.nbytes / MIB / seconds for seconds in self.seconds]

    @property
    def median_mib_per_second(self) -> float | None:
        """The median throughput over the rounds, or None for a failed measurement."""
        if self.problem is not None or not self.seconds:
            return None
        return statistics.median(self.throughputs)


def time_once(
    prepare: Callable[[], Any],
    timed: Callable[[Any], Any],
    check: Callable[[Any], None],
    around_timed: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> float:
    """The wall time of one run of ``timed(prepare())``.

    Only ``timed`` is inside the clock; ``prepare`` (which builds its argument) and ``check`` (which
    receives its result and raises when it is wrong) are not. ``around_timed`` wraps the timed call,
    for a profiler. The result is dropped after the check, so a large read is not kept alive while
    the next library runs. Raises whatever the three callables raise.
    """
    subject = prepare()
    # Collect the previous run's garbage now rather than inside the clock.
    gc.collect()
    with around_timed():
        start = time.perf_counter()
        outcome = timed(subject)
        elapsed = time.perf_counter() - start
    check(outcome)
    return elapsed


def round_order(items: Sequence[T], round_index: int) -> list[T]:
    """The order in which ``items`` run in round ``round_index`` (counted from 0).

    The list is rotated by one place per round, so each item goes first equally often; every
    ``len(items)`` rounds the direction flips, so over ``2 * len(items)`` rounds each item also
    follows each other one equally often (a write leaves dirty pages that the next one may pay for).
    """
    count = len(items)
    if count == 0:
        return []
    base = list(items) if (round_index // count) % 2 == 0 else list(reversed(items))
    shift = round_index % count
    return base[shift:] + base[:shift]


class TimedStep(Protocol):
    """One library's operation: ``prepare()`` off the clock, ``timed(prepared)`` on it, ``check(result)`` off it."""

    prepare: Callable[[], Any]
    timed: Callable[[Any], Any]
    check: Callable[[Any], None]


@dataclass(frozen=True)
class Step:
    """A :class:`TimedStep` made of three functions."""

    prepare: Callable[[], Any]
    timed: Callable[[Any], Any]
    check: Callable[[Any], None]


class WrongData(Exception):
    """A library returned data that differs from what was written."""


def data_check(expected: np.ndarray, what: str) -> Callable[[Any], None]:
    """A check that raises WrongData naming ``what`` unless a result equals ``expected`` (values,
    shape and dtype)."""

    def check(result: Any) -> None:
        result = np.asarray(result)
        if result.shape != expected.shape or result.dtype != expected.dtype:
            raise WrongData(f"{what}: got {result.dtype} {result.shape}, expected {expected.dtype} {expected.shape}")
        if not np.array_equal(result, expected):
            raise WrongData(f"{what}: the values differ from the source")

    return check


def no_check(_: Any) -> None:
    """The check of steps whose result says nothing (writes)."""
    return None


def time_rounds(
    label: str,
    operation: str,
    nbytes: int,
    steps: Mapping[str, TimedStep],
    libraries: Sequence[Any],
    repeat: int,
    problems: dict[str, str],
    *,
    around_timed: Callable[[], AbstractContextManager[Any]] = nullcontext,
    progress: Callable[[str], None],
) -> list[Measurement]:
    """Time each library's step in ``repeat`` interleaved rounds (order from :func:`round_order`).

    A library that raises (or whose check fails) is recorded in ``problems`` and gets a failed
    measurement naming the problem; one already in ``problems`` from an earlier step is skipped.
    ``progress`` receives one line per round.
    """
    failed_before = set(problems)
    seconds: dict[str, list[float]] = {library.name: [] for library in libraries}
    for round_index in range(repeat):
        outcomes = []
        for library in round_order(libraries, round_index):
            if library.name in problems:
                continue
            step = steps[library.name]
            # A failing peer is reported in the table rather than ending the run.
            try:
                elapsed = time_once(step.prepare, step.timed, step.check, around_timed)
            except Exception as error:
                problems[library.name] = f"{type(error).__name__}: {error}"
                outcomes.append(f"{library.name} FAILED ({problems[library.name]})")
            else:
                seconds[library.name].append(elapsed)
                outcomes.append(f"{library.name} {nbytes / MIB / elapsed:,.0f}")
        progress(f"{label} | {operation} | round {round_index + 1}/{repeat} (MiB/s): {', '.join(outcomes)}")
    measurements = []
    for library in libraries:
        problem = "skipped after an earlier failure" if library.name in failed_before else problems.get(library.name)
        times = () if problem else tuple(seconds[library.name])
        measurements.append(Measurement(label, operation, library.name, nbytes, times, problem))
    return measurements


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 2) -> str:
    alignment = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(alignment) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _grouped(
    measurements: Sequence[Measurement],
) -> tuple[list[tuple[str, str]], dict[tuple[str, str, str], Measurement]]:
    """The (case, operation) rows in the order first measured, and each measurement by its key."""
    by_key = {(m.case, m.operation, m.library): m for m in measurements}
    rows = list(dict.fromkeys((m.case, m.operation) for m in measurements))
    return rows, by_key


def _median(measurement: Measurement | None) -> float | None:
    return None if measurement is None else measurement.median_mib_per_second


def _median_cell(measurement: Measurement | None) -> str:
    if measurement is None:
        return "-"
    median = measurement.median_mib_per_second
    return "failed" if median is None else f"{median:,.0f}"


def _ratio_of_medians_cell(ours: Measurement | None, theirs: Measurement | None) -> str:
    our_median, their_median = _median(ours), _median(theirs)
    if our_median is None or their_median is None:
        return "-"
    return f"{our_median / their_median:.2f}x"


def format_table(measurements: Sequence[Measurement], libraries: Sequence[str]) -> str:
    """A markdown table of medians with one row per (case, operation), in the order first measured.

    Columns: case, operation, the median MiB/s of each library, then the ratio of the first
    library's median to each other library's ("failed" or "-" where a run failed or is missing).
    """
    reference, *peers = libraries
    rows, by_key = _grouped(measurements)
    header = ["case", "operation"]
    header += [f"{name} MiB/s" for name in libraries]
    header += [f"{reference}/{peer}" for peer in peers]
    table_rows = []
    for case, operation in rows:
        ours = by_key.get((case, operation, reference))
        cells = [case, operation]
        cells += [_median_cell(by_key.get((case, operation, name))) for name in libraries]
        cells += [_ratio_of_medians_cell(ours, by_key.get((case, operation, peer))) for peer in peers]
        table_rows.append(cells)
    return _markdown(header, table_rows)


def _range_cell(values: Sequence[float], digits: int, suffix: str = "") -> str:
    return f"{min(values):,.{digits}f}-{max(values):,.{digits}f}{suffix}"


def _throughput_range_cell(measurement: Measurement | None) -> str:
    if measurement is None or _median(measurement) is None:
        return "-"
    return _range_cell(measurement.throughputs, 0)


def _round_ratio_range_cell(ours: Measurement | None, theirs: Measurement | None) -> str:
    if ours is None or theirs is None or _median(ours) is None or _median(theirs) is None:
        return "-"
    # Both ran once in every round, so the i-th times were taken a few seconds apart.
    ratios = [our / their for our, their in zip(ours.throughputs, theirs.throughputs, strict=True)]
    return _range_cell(ratios, 2, "x")


def format_spread_table(measurements: Sequence[Measurement], libraries: Sequence[str]) -> str:
    """A markdown table of how much the rounds varied, with the rows of :func:`format_table`.

    Columns: case, operation, the lowest and highest MiB/s of each library over the rounds, then
    the lowest and highest ratio of the first library to each other one within the same round
    ("-" where a run failed or is missing).
    """
    reference, *peers = libraries
    rows, by_key = _grouped(measurements)
    header = ["case", "operation"]
    header += [f"{name} MiB/s" for name in libraries]
    header += [f"{reference}/{peer} per round" for peer in peers]
    table_rows = []
    for case, operation in rows:
        ours = by_key.get((case, operation, reference))
        cells = [case, operation]
        cells += [_throughput_range_cell(by_key.get((case, operation, name))) for name in libraries]
        cells += [_round_ratio_range_cell(ours, by_key.get((case, operation, peer))) for peer in peers]
        table_rows.append(cells)
    return _markdown(header, table_rows)


def print_progress(line: str) -> None:
    """Report one finished measurement on stderr, where it does not mix with the tables."""
    print(line, file=sys.stderr, flush=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, for the header of a report ("unknown" where the
    platform does not report them)."""
    try:
        return ", ".join(f"{load:.1f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def versions(distributions: Sequence[str]) -> str:
    """``"name version, ..."`` of the installed ``distributions``."""
    return ", ".join(f"{name} {importlib.metadata.version(name)}" for name in distributions)


def report_failures(problems: Sequence[str]) -> int:
    """Print ``problems`` under a heading, if any; returns the exit status of the run (1 if any)."""
    if problems:
        print()
        print("Failures:")
        print("\n".join(problems))
    return 1 if problems else 0


def process_status_bytes(field_name: str) -> int:
    """A memory figure of this process from Linux's /proc/self/status (``VmHWM``: peak resident
    memory, ``VmRSS``: resident memory now), in bytes. Not ru_maxrss: Linux carries that over exec
    from the process that forked, so a worker would start at the benchmark's own peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field_name} line: the memory measurement needs Linux")


def run_worker(module: str, arguments: Sequence[str]) -> dict[str, float]:
    """Run ``python -m <module> <arguments>`` in a fresh process from the repository and return the
    JSON object it prints. Raises RuntimeError with the last line of its stderr when it fails."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the worker exited with status {completed.returncode}: {last_line}")
    return json.loads(completed.stdout)
