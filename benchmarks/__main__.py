"""``python -m benchmarks``: measure zarrkit against zarr-python and tensorstore and print a table.

Progress goes to stderr as each measurement finishes; the header and the markdown table go to
stdout. The exit status is 1 when any library failed or returned wrong data, else 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from collections.abc import Sequence

import numpy as np

from benchmarks.libraries import Library, Zarrkit, all_libraries
from benchmarks.local_arrays import (
    CASES,
    CASES_BY_NAME,
    FULL_SIDE,
    QUICK_SIDE,
    WINDOW_FRACTION,
    CaseResult,
    realistic_field,
    run_case,
    window_selection,
)
from benchmarks.profiling import ThreadProfiler
from benchmarks.references import run_references
from benchmarks.remote_arrays import FULL_ROUNDS as REMOTE_FULL_ROUNDS
from benchmarks.remote_arrays import QUICK_ROUNDS as REMOTE_QUICK_ROUNDS
from benchmarks.remote_arrays import REMOTE_CASES, REMOTE_CASES_BY_NAME, run_remote
from benchmarks.scanning import run_scanning
from benchmarks.timing import MIB, format_spread_table, format_table, load_average, report_failures

PROFILE_DEFAULT_CASE = "chunks-16kib"
PROFILE_LIMIT = 25
FULL_ROUNDS = 7
QUICK_ROUNDS = 3


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line options; argparse exits with a usage message on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare zarrkit with zarr-python and tensorstore on the same arrays in a local directory.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a {QUICK_SIDE}x{QUICK_SIDE} (64 MiB) array and {QUICK_ROUNDS} rounds, to check the harness",
    )
    parser.add_argument("--only", choices=[case.name for case in (*CASES, *REMOTE_CASES)], help="run only this case")
    parser.add_argument(
        "--remote",
        action="store_true",
        help="run the remote cases instead (S3 on SeaweedFS, HTTP on nginx, both started on loopback ports); "
        "implied by --only with a remote case",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        help="rounds per measurement, each running every library once; the median counts "
        f"(default {FULL_ROUNDS}, {QUICK_ROUNDS} with --quick; remote: {REMOTE_FULL_ROUNDS}, "
        f"{REMOTE_QUICK_ROUNDS} with --quick)",
    )
    parser.add_argument(
        "--refs",
        action="store_true",
        help="run the reference-set benchmarks instead: a NetCDF4 file read through kerchunk's references "
        "(locally and on SeaweedFS), and opening a million references",
    )
    parser.add_argument(
        "--scan",
        action="store_true",
        help="run the scanning benchmarks instead: an HDF5 file of 100,000 chunks and a NetCDF3 file of 80,000 "
        "records scanned by zarrkit and kerchunk (locally, over HTTP and on SeaweedFS), and 1,000 NetCDF4 files "
        "combined",
    )
    parser.add_argument("--dir", help="parent directory of the temporary data directory (default: the system's, /tmp)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"run only zarrkit on one case (--only, default {PROFILE_DEFAULT_CASE}) under cProfile and print the "
        f"top {PROFILE_LIMIT} functions by cumulative time",
    )
    arguments = parser.parse_args(argv)
    if arguments.repeat is not None and arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    if arguments.dir is not None and not os.path.isdir(arguments.dir):
        parser.error(f"--dir {arguments.dir!r} is not a directory")
    if arguments.only in REMOTE_CASES_BY_NAME:
        arguments.remote = True
    elif arguments.remote and arguments.only is not None:
        parser.error(
            f"--only {arguments.only!r} is a local case; the remote ones are {', '.join(REMOTE_CASES_BY_NAME)}"
        )
    if arguments.refs and (arguments.remote or arguments.only or arguments.profile):
        parser.error("--refs runs on its own; it takes --quick, --repeat and --dir")
    if arguments.scan and (arguments.refs or arguments.remote or arguments.only or arguments.profile):
        parser.error("--scan runs on its own; it takes --quick, --repeat and --dir")
    if arguments.remote and arguments.profile:
        parser.error("--profile covers the local cases only")
    return arguments


def _header(libraries: Sequence[Library], side: int, repeat: int, directory: str) -> str:
    versions = ", ".join(f"{library.name} {library.version}" for library in libraries)
    window = window_selection(side)
    window_side = window[0].stop - window[0].start
    return "\n".join(
        [
            f"# zarrkit benchmarks: {versions}",
            "",
            f"- machine: Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}; load average at the end {load_average()} "
            "(other processes skew the numbers)",
            f"- array: {side} x {side} float32 ({side * side * 4 / MIB:.0f} MiB), Zarr v3, bytes (little endian) "
            "+ zstd level 1 without checksum; sharded: index at the end, bytes + crc32c",
            "- data: a smooth field plus noise rounded to 2 decimals, the same for every library "
            "(zstd halves it; the stored sizes are listed below the table)",
            f"- window: {window_side} x {window_side} ({WINDOW_FRACTION:.0%} of the array) starting at "
            f"({window[0].start}, {window[1].start}), not aligned to chunks",
            f"- timing: median of {repeat} interleaved round(s) of wall time; each round runs every library once, "
            "in an order that rotates from round to round, so a slow spell of the machine hits all of them; "
            "ratios are ratios of medians; MiB/s counts uncompressed array bytes; a write stores the data into "
            "a freshly created empty array",
            "- warm page cache: each library reads the files of its last write round, nothing is evicted",
            f"- storage: a local directory under {directory}; every read is checked against the source outside "
            "the timed region",
        ]
    )


def _stored_sizes(results: Sequence[tuple[str, CaseResult]]) -> str:
    lines = ["Stored size (MiB):"]
    for label, result in results:
        sizes = ", ".join(
            f"{name} {'-' if size is None else f'{size / MIB:.1f}'}" for name, size in result.stored_bytes.items()
        )
        lines.append(f"- {label}: {sizes}")
    return "\n".join(lines)


def _problems(results: Sequence[tuple[str, CaseResult]]) -> list[str]:
    return [
        f"- {m.case} | {m.operation} | {m.library}: {m.problem}"
        for _, result in results
        for m in result.measurements
        if m.problem is not None
    ]


def run_benchmarks(arguments: argparse.Namespace, data: np.ndarray, directory: str) -> int:
    """Run every selected case with all three libraries, print the report; 1 when any run failed."""
    libraries = all_libraries()
    repeat = arguments.repeat or (QUICK_ROUNDS if arguments.quick else FULL_ROUNDS)
    cases = [CASES_BY_NAME[arguments.only]] if arguments.only else list(CASES)
    results = [(case.label, run_case(case, libraries, data, directory, repeat)) for case in cases]
    print(_header(libraries, data.shape[0], repeat, directory))
    print()
    measurements = [m for _, result in results for m in result.measurements]
    names = [library.name for library in libraries]
    print(format_table(measurements, names))
    print()
    if repeat > 1:
        print(
            f"Spread over the {repeat} rounds: lowest-highest MiB/s of each library, and lowest-highest ratio "
            "of the two libraries' runs within the same round:"
        )
        print()
        print(format_spread_table(measurements, names))
        print()
    print(_stored_sizes(results))
    problems = _problems(results)
    return report_failures(problems)


def run_profile(arguments: argparse.Namespace, data: np.ndarray, directory: str) -> int:
    """Profile zarrkit's write, read and window read of one case; print the merged profile."""
    case = CASES_BY_NAME[arguments.only or PROFILE_DEFAULT_CASE]
    profiler = ThreadProfiler()
    profiler.install()
    try:
        result = run_case(case, [Zarrkit()], data, directory, repeat=1, around_timed=profiler.main_thread)
    finally:
        profiler.uninstall()
    side = data.shape[0]
    print(
        f"# cProfile of zarrkit, {case.label}, {side} x {side} float32: write, read and "
        f"{WINDOW_FRACTION:.0%} window read, once each"
    )
    print(
        "Times are summed over the calling thread (inside the timed calls only), the I/O loop thread and the "
        "codec threads (from their start, so their entry functions include idle waiting)."
    )
    print()
    print(profiler.report(PROFILE_LIMIT))
    problems = _problems([(case.label, result)])
    return report_failures(problems)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, generate the data, run the benchmarks (or the profile); the exit status."""
    arguments = parse_arguments(argv)
    if arguments.refs:
        return run_references(arguments)
    if arguments.scan:
        return run_scanning(arguments)
    if arguments.remote:
        return run_remote(arguments)
    side = QUICK_SIDE if arguments.quick else FULL_SIDE
    data = realistic_field(side)
    with tempfile.TemporaryDirectory(prefix="zarrkit-bench-", dir=arguments.dir) as directory:
        if arguments.profile:
            return run_profile(arguments, data, directory)
        return run_benchmarks(arguments, data, directory)


if __name__ == "__main__":
    sys.exit(main())
