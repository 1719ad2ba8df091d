"""Best-of-N wall-clock timing and the markdown table of throughputs and ratios."""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

MIB = 2**20


@dataclass(frozen=True)
class Measurement:
    """The outcome of one operation of one case with one library.

    ``seconds`` is the best wall time, or None when the library failed; ``problem`` then says why
    (an exception, or data that differs from the source).
    """

    case: str
    operation: str
    library: str
    nbytes: int
    seconds: float | None
    problem: str | None = None

    @property
    def mib_per_second(self) -> float | None:
        """Throughput in MiB of uncompressed array data per second, or None for a failed run."""
        if self.seconds is None:
            return None
        return self.nbytes / MIB / self.seconds


def best_of(
    repeat: int,
    prepare: Callable[[], Any],
    timed: Callable[[Any], Any],
    check: Callable[[Any], None],
    around_timed: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> float:
    """The shortest wall time of ``repeat`` runs of ``timed(prepare())``.

    Only ``timed`` is inside the clock; ``prepare`` (which builds its argument) and ``check`` (which
    receives its result and raises when it is wrong) are not. ``around_timed`` wraps each timed call,
    for a profiler. Raises whatever the three callables raise.
    """
    best = math.inf
    for _ in range(repeat):
        subject = prepare()
        # Collect the previous run's garbage now rather than inside the next clock.
        gc.collect()
        with around_timed():
            start = time.perf_counter()
            outcome = timed(subject)
            elapsed = time.perf_counter() - start
        check(outcome)
        del outcome
        best = min(best, elapsed)
    return best


def _throughput_cell(measurement: Measurement | None) -> str:
    if measurement is None:
        return "-"
    if measurement.mib_per_second is None:
        return "failed"
    return f"{measurement.mib_per_second:,.0f}"


def _ratio_cell(ours: Measurement | None, theirs: Measurement | None) -> str:
    if ours is None or theirs is None or ours.mib_per_second is None or theirs.mib_per_second is None:
        return "-"
    return f"{ours.mib_per_second / theirs.mib_per_second:.2f}x"


def format_table(measurements: Sequence[Measurement], libraries: Sequence[str]) -> str:
    """A markdown table with one row per (case, operation), in the order first measured.

    Columns: case, operation, MiB/s of each library, then the ratio of the first library's
    throughput to each other library's ("failed" or "-" where a run failed or is missing).
    """
    reference, *peers = libraries
    by_key = {(m.case, m.operation, m.library): m for m in measurements}
    rows = list(dict.fromkeys((m.case, m.operation) for m in measurements))
    header = ["case", "operation"]
    header += [f"{name} MiB/s" for name in libraries]
    header += [f"{reference}/{peer}" for peer in peers]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 2 + ["---:"] * (len(header) - 2)) + "|"]
    for case, operation in rows:
        cells = [case, operation]
        cells += [_throughput_cell(by_key.get((case, operation, name))) for name in libraries]
        ours = by_key.get((case, operation, reference))
        cells += [_ratio_cell(ours, by_key.get((case, operation, peer))) for peer in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
