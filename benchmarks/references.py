"""Benchmarks of reference sets: a NetCDF4 variable read through kerchunk's references, and the
cost of opening a reference set of a million chunks.

Case A: one NetCDF4 file holds a float32 variable of 12,800 chunks (``time x 512 x 1024`` in chunks
of ``1 x 64 x 128``, 32 KiB each uncompressed), deflated with shuffle; kerchunk scans it into a
JSON reference set. The whole variable is read by zarrkit (``load_refs`` + ``ReferenceStore``), by
zarr-python 3 over fsspec's ``ReferenceFileSystem`` (through its ``FsspecStore``, as kerchunk's
own ``refs_as_store`` builds it) and, locally, by netCDF4 straight from the file. Then the file
goes to an S3 server (SeaweedFS, as in :mod:`benchmarks.remote_arrays`), the references are
rewritten to its ``s3://`` URL, and zarrkit and zarr-python (s3fs under fsspec) read it again;
netCDF4 cannot read S3. Opening is outside the clock; timing and tables come from
:mod:`benchmarks.timing`.

Case B: a reference set of 1000 x 1000 chunk references (one Zarr v2 array of 8-byte chunks, all
in one target file at increasing offsets), saved by zarrkit as JSON and as parquet. Each round
runs, for each library and format, a fresh Python process that imports everything first, then
opens the set and the array and reads one chunk; it reports the times of the two steps and how
far its peak resident memory rose above the peak after the imports. fsspec reads the parquet
directory through a ``LazyReferenceMapper`` told to use pyarrow (its default reader, fastparquet,
is not installed), and every fsspec filesystem gets ``remote_protocol="file"``: without it fsspec
scans the references for a protocol, which with pyarrow under pandas 3 fails on any empty row.

This module is also the worker of case B: ``python -m benchmarks.references LIBRARY PATH SIDE``
prints that process's measurements as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import netCDF4
import numpy as np
import pandas  # noqa: F401 - fsspec's parquet reader imports it on first use; case B's baseline includes it
import pyarrow.parquet  # noqa: F401 - both parquet readers import it on first use; likewise
import zarr
import zarr.storage
from fsspec.implementations.reference import LazyReferenceMapper, ReferenceFileSystem

import zarrkit
from benchmarks.servers import S3Server, seaweedfs
from benchmarks.timing import (
    MIB,
    Measurement,
    Step,
    WrongData,
    data_check,
    format_spread_table,
    format_table,
    load_average,
    print_progress,
    process_status_bytes,
    report_failures,
    round_order,
    run_worker,
    time_rounds,
    versions,
)
from tests.helpers import kerchunk_hdf5

FULL_TIME_STEPS = 200
"""Case A's time steps: 200 x 8 x 8 = 12,800 chunks, 400 MiB uncompressed."""

QUICK_TIME_STEPS = 25
"""Case A's time steps with ``--quick``: 1,600 chunks, 50 MiB."""

GRID = (512, 1024)
CHUNKS = (1, 64, 128)
"""8192 float32 values, 32 KiB, per chunk."""

FULL_ROUNDS = 5
QUICK_ROUNDS = 2
S3_FULL_ROUNDS = 3
S3_QUICK_ROUNDS = 2

FULL_CHUNK_GRID_SIDE = 1000
"""Case B's array has this many chunks along each of its two axes: a million references."""

QUICK_CHUNK_GRID_SIDE = 400
"""Case B's side with ``--quick``: 160,000 references."""

RECORD_SIZE = 100_000
"""References per parquet record file in case B."""

LIBRARY_NAMES = ("zarrkit", "zarr-python+fsspec", "netCDF4")
VARIABLE = "temperature"


def write_netcdf(path: Path, time_steps: int, seed: int = 0) -> np.ndarray:
    """Write case A's file and return the variable's values.

    Each time step is a smooth field (waves over latitude and longitude, drifting in time) plus
    noise, rounded to one decimal like a temperature record; deflate level 4 with shuffle (the
    netCDF default level) stores it in about 40% of its size.
    """
    latitudes, longitudes = GRID
    waves = np.multiply.outer(
        np.cos(np.linspace(-np.pi, np.pi, latitudes, dtype=np.float32)),
        np.sin(np.linspace(0, 4 * np.pi, longitudes, dtype=np.float32)),
    )
    rng = np.random.default_rng(seed)
    data = np.empty((time_steps, latitudes, longitudes), dtype=np.float32)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as dataset:
        dataset.createDimension("time", time_steps)
        dataset.createDimension("lat", latitudes)
        dataset.createDimension("lon", longitudes)
        variable = dataset.createVariable(
            VARIABLE, "f4", ("time", "lat", "lon"), zlib=True, shuffle=True, complevel=4, chunksizes=CHUNKS
        )
        for step in range(time_steps):
            noise = rng.standard_normal(GRID, dtype=np.float32) * np.float32(0.2)
            data[step] = np.round(15 + 20 * waves + np.float32(0.1 * step) + noise, 1)
            variable[step] = data[step]
    return data


def scan_netcdf(path: Path) -> dict[str, Any]:
    """kerchunk's reference set of the file (nothing inlined: every chunk is a byte range)."""
    return kerchunk_hdf5(str(path), inline_threshold=0)


def with_target_url(references: Mapping[str, Any], url: str) -> dict[str, Any]:
    """``references`` (kerchunk's version 1 dict) with every byte range pointing into ``url``."""
    refs = {key: [url, *value[1:]] if isinstance(value, list) else value for key, value in references["refs"].items()}
    return {**references, "refs": refs}


def write_json(document: Mapping[str, Any], path: Path) -> Path:
    """Save ``document`` as JSON at ``path`` and return the path."""
    path.write_text(json.dumps(document))
    return path


@dataclass(frozen=True)
class VariableReader:
    """One library's way to read the variable: ``open()`` off the clock, ``read(opened)`` on it."""

    name: str
    open: Callable[[], Any]
    read: Callable[[Any], np.ndarray]


def zarrkit_reader(references_path: Path, target_options: Mapping[str, Any] | None = None) -> VariableReader:
    """zarrkit: the reference file loaded with ``load_refs``, served by a ReferenceStore."""

    def open_variable() -> zarrkit.Array:
        store = zarrkit.ReferenceStore(zarrkit.load_refs(references_path), target_options=target_options)
        return zarrkit.open_array(store, path=VARIABLE)

    return VariableReader("zarrkit", open_variable, lambda array: array[...])


def zarr_python_reader(
    references: Any, remote_protocol: str = "file", remote_options: Mapping[str, Any] | None = None
) -> VariableReader:
    """zarr-python 3 over fsspec's ReferenceFileSystem, wrapped in its FsspecStore (what kerchunk's
    ``refs_as_store`` and xarray's kerchunk engine do). ``references`` is fsspec's ``fo``."""

    def open_variable() -> zarr.Array:
        filesystem = ReferenceFileSystem(
            fo=references,
            remote_protocol=remote_protocol,
            remote_options={**(remote_options or {}), "asynchronous": True},
            asynchronous=True,
        )
        store = zarr.storage.FsspecStore(filesystem, read_only=True)
        return zarr.open_array(store, path=VARIABLE, mode="r", zarr_format=2)

    return VariableReader("zarr-python+fsspec", open_variable, lambda array: array[...])


def netcdf4_reader(path: Path) -> VariableReader:
    """netCDF4 reading the file itself, without masking (the variable has no fill value to mask)."""

    def open_variable() -> Any:
        variable = netCDF4.Dataset(path)[VARIABLE]
        variable.set_auto_mask(False)
        return variable

    return VariableReader("netCDF4", open_variable, lambda variable: variable[...])


def measure_reads(
    label: str, readers: Sequence[VariableReader], expected: np.ndarray, repeat: int
) -> list[Measurement]:
    """Time each reader's whole read in ``repeat`` interleaved rounds, each checked off the clock."""
    steps = {
        reader.name: Step(reader.open, reader.read, data_check(expected, f"{reader.name} read of {label}"))
        for reader in readers
    }
    return time_rounds(label, "read", expected.nbytes, steps, readers, repeat, {}, progress=print_progress)


def s3_options(server: S3Server) -> tuple[dict[str, Any], dict[str, Any]]:
    """The storage options for the server: zarrkit's (obstore) and s3fs's."""
    zarrkit_options = {
        "endpoint": server.endpoint,
        "region": server.region,
        "access_key_id": server.access_key_id,
        "secret_access_key": server.secret_access_key,
    }
    s3fs_options = {
        "key": server.access_key_id,
        "secret": server.secret_access_key,
        "endpoint_url": server.endpoint,
        "client_kwargs": {"region_name": server.region},
    }
    return zarrkit_options, s3fs_options


def upload(server: S3Server, path: Path, key: str) -> str:
    """Put the file at ``path`` into the server's bucket under ``key``; its ``s3://`` URL."""
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
    )
    client.upload_file(str(path), server.bucket, key)
    return f"s3://{server.bucket}/{key}"


def run_case_a(directory: Path, time_steps: int, repeat: int, s3_repeat: int) -> tuple[list[Measurement], str]:
    """Case A locally, then on S3; the measurements and a line describing the file."""
    netcdf_path = directory / "case-a.nc"
    print_progress(f"case A: writing {netcdf_path.name} ({time_steps} time steps) and scanning it with kerchunk")
    expected = write_netcdf(netcdf_path, time_steps)
    scanned = scan_netcdf(netcdf_path)
    local_references = write_json(scanned, directory / "case-a.json")
    chunk_count = sum(
        1 for key in scanned["refs"] if key.startswith(f"{VARIABLE}/") and not key.endswith((".zarray", ".zattrs"))
    )
    ratio = expected.nbytes / netcdf_path.stat().st_size
    description = (
        f"{VARIABLE}: {' x '.join(map(str, expected.shape))} float32 ({expected.nbytes / MIB:,.0f} MiB) in "
        f"{chunk_count:,} chunks of {' x '.join(map(str, CHUNKS))} (32 KiB), deflate level 4 + shuffle, "
        f"the file {ratio:.1f}x smaller than the data; JSON references {local_references.stat().st_size / MIB:.1f} MiB"
    )
    label = f"local file, {chunk_count:,} chunks"
    readers = [zarrkit_reader(local_references), zarr_python_reader(str(local_references)), netcdf4_reader(netcdf_path)]
    measurements = measure_reads(label, readers, expected, repeat)

    (directory / "seaweedfs").mkdir()
    with seaweedfs(directory / "seaweedfs") as server:
        print_progress("case A: uploading the file to SeaweedFS")
        url = upload(server, netcdf_path, "references-benchmark/case-a.nc")
        s3_references = write_json(with_target_url(scanned, url), directory / "case-a-s3.json")
        zarrkit_options, s3fs_options = s3_options(server)
        readers = [
            zarrkit_reader(s3_references, target_options={"s3": zarrkit_options}),
            zarr_python_reader(str(s3_references), remote_protocol="s3", remote_options=s3fs_options),
        ]
        measurements += measure_reads(f"S3 (SeaweedFS), {chunk_count:,} chunks", readers, expected, s3_repeat)
    return measurements, description


# -- case B: opening a million references ----------------------------------------------------------


def write_large_reference_set(directory: Path, side: int) -> tuple[Path, Path]:
    """Case B's target file and zarrkit's JSON and parquet reference sets of it; the two paths.

    The array ``data`` is ``side x side`` float64 in 1 x 1 chunks, so chunk ``i.j`` is the 8 bytes
    at offset ``8 * (i * side + j)`` of the target, which holds the numbers 0, 1, 2, ...
    """
    target = directory / "case-b-target.bin"
    np.arange(side * side, dtype="<f8").tofile(target)
    array_metadata = {
        "zarr_format": 2,
        "shape": [side, side],
        "chunks": [1, 1],
        "dtype": "<f8",
        "compressor": None,
        "filters": None,
        "fill_value": None,
        "order": "C",
    }
    references = zarrkit.ReferenceSet(
        {".zgroup": json.dumps({"zarr_format": 2}).encode(), "data/.zarray": json.dumps(array_metadata).encode()}
    )
    url = str(target)
    for row in range(side):
        for column in range(side):
            references[f"data/{row}.{column}"] = zarrkit.Reference(url, 8 * (row * side + column), 8)
    json_path, parquet_path = directory / "case-b.json", directory / "case-b.parq"
    zarrkit.save_refs(references, json_path)
    zarrkit.save_refs(references, parquet_path, record_size=RECORD_SIZE)
    return json_path, parquet_path


def open_and_read_one_chunk(library: str, path: str, side: int) -> dict[str, float]:
    """In this process: open the reference set at ``path`` and its array with ``library``
    (``zarrkit`` or ``fsspec``), read the middle chunk; seconds of each step and the rise of peak
    memory over the peak after the imports. Raises WrongData for a wrong value."""
    baseline = process_status_bytes("VmHWM")
    start = time.perf_counter()
    if library == "zarrkit":
        array: Any = zarrkit.open_array(zarrkit.ReferenceStore(zarrkit.load_refs(path)), path="data")
    else:
        references: Any = path if path.endswith(".json") else LazyReferenceMapper(path, engine="pyarrow")
        filesystem = ReferenceFileSystem(fo=references, remote_protocol="file", asynchronous=True)
        array = zarr.open_array(
            zarr.storage.FsspecStore(filesystem, read_only=True), path="data", mode="r", zarr_format=2
        )
    opened = time.perf_counter()
    middle = side // 2
    value = array[middle, middle]
    read = time.perf_counter()
    if value != middle * side + middle:
        raise WrongData(f"{library} read {value!r} from chunk {middle}.{middle} of {path}")
    return {"open": opened - start, "read": read - opened, "memory": process_status_bytes("VmHWM") - baseline}


@dataclass(frozen=True)
class OpenResult:
    """Case B's outcome for one library and format over all rounds (empty lists when it failed)."""

    library: str
    layout: str
    open_seconds: list[float]
    read_seconds: list[float]
    memory_bytes: list[int]
    problem: str | None = None


def run_case_b(directory: Path, side: int, repeat: int) -> tuple[list[OpenResult], str]:
    """Case B: write the reference sets, then run the workers in interleaved rounds."""
    print_progress(f"case B: writing {side * side:,} references as JSON and parquet")
    paths = dict(zip(("JSON", "parquet"), write_large_reference_set(directory, side), strict=True))
    runs = [(library, layout) for layout in paths for library in ("zarrkit", "fsspec")]
    outcomes: dict[tuple[str, str], list[dict[str, float]]] = {run: [] for run in runs}
    problems: dict[tuple[str, str], str] = {}
    for round_index in range(repeat):
        for library, layout in round_order(runs, round_index):
            if (library, layout) in problems:
                continue
            try:
                outcome = run_worker("benchmarks.references", [library, str(paths[layout]), str(side)])
            except (RuntimeError, ValueError) as error:
                problems[(library, layout)] = str(error)
                print_progress(f"case B | {layout} | {library} | round {round_index + 1}: FAILED ({error})")
                continue
            outcomes[(library, layout)].append(outcome)
            print_progress(
                f"case B | {layout} | {library} | round {round_index + 1}/{repeat}: open {outcome['open']:.3f} s, "
                f"read {outcome['read'] * 1000:.1f} ms, memory +{outcome['memory'] / MIB:.0f} MiB"
            )
    results = [
        OpenResult(
            library,
            layout,
            [outcome["open"] for outcome in outcomes[(library, layout)]],
            [outcome["read"] for outcome in outcomes[(library, layout)]],
            [int(outcome["memory"]) for outcome in outcomes[(library, layout)]],
            problems.get((library, layout)),
        )
        for library, layout in runs
    ]
    json_size = paths["JSON"].stat().st_size
    parquet_size = sum(file.stat().st_size for file in paths["parquet"].rglob("*") if file.is_file())
    description = (
        f"{side * side:,} references ({side} x {side} chunks of one float64 array, 8 bytes each, all into one "
        f"file); zarrkit's JSON {json_size / MIB:.1f} MiB, parquet {parquet_size / MIB:.1f} MiB "
        f"({RECORD_SIZE:,} references per record file)"
    )
    return results, description


def _median_cell(values: Sequence[float], scale: float, digits: int) -> str:
    return f"{statistics.median(values) * scale:,.{digits}f}" if values else "failed"


def _advantage_cell(ours: Sequence[float], theirs: Sequence[float]) -> str:
    if not ours or not theirs or statistics.median(ours) == 0:
        return "-"
    return f"{statistics.median(theirs) / statistics.median(ours):.1f}x"


def format_open_table(results: Sequence[OpenResult]) -> str:
    """A markdown table of case B: per format and measure, the medians of zarrkit and fsspec and how
    many times more fsspec needs."""
    by_key = {(result.library, result.layout): result for result in results}
    measures = (
        ("open (s)", lambda result: result.open_seconds, 1, 3),
        ("read one chunk (ms)", lambda result: result.read_seconds, 1000, 1),
        ("open + read (s)", lambda result: [o + r for o, r in zip(result.open_seconds, result.read_seconds)], 1, 3),
        ("peak memory rise (MiB)", lambda result: result.memory_bytes, 1 / MIB, 0),
    )
    lines = [
        "| reference set | measure | zarrkit | fsspec + zarr-python | fsspec/zarrkit |",
        "|---|---|---:|---:|---:|",
    ]
    for layout in dict.fromkeys(result.layout for result in results):
        ours, theirs = by_key[("zarrkit", layout)], by_key[("fsspec", layout)]
        for measure, values_of, scale, digits in measures:
            cells = [_median_cell(values_of(ours), scale, digits), _median_cell(values_of(theirs), scale, digits)]
            lines.append(
                f"| {layout} | {measure} | {' | '.join(cells)} | {_advantage_cell(values_of(ours), values_of(theirs))} |"
            )
    return "\n".join(lines)


# -- the report ------------------------------------------------------------------------------------


def _header(case_a: str, case_b: str, repeat: int, s3_repeat: int) -> str:
    installed = versions(("zarrkit", "zarr", "fsspec", "s3fs", "kerchunk", "netCDF4", "pyarrow", "pandas"))
    return "\n".join(
        [
            f"# zarrkit reference-set benchmarks: {installed}",
            "",
            f"- machine: Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}; load average at the end {load_average()} "
            "(other processes skew the numbers)",
            f"- case A: {case_a}; read whole by each library, the file in the page cache; S3 is SeaweedFS on "
            "loopback; zarr-python reads through fsspec's ReferenceFileSystem in its FsspecStore",
            f"- case A timing: median of {repeat} (S3: {s3_repeat}) interleaved round(s) of wall time, the order "
            "rotating per round; opening is outside the clock; MiB/s counts uncompressed bytes; ratios are ratios "
            "of medians; every read is checked against the data written, outside the clock",
            f"- case B: {case_b}; each run is a fresh process that imports everything, then opens the set and the "
            "array and reads the middle chunk; memory is the rise of peak resident memory (VmHWM) over the peak "
            f"after the imports; medians of {repeat} interleaved round(s); the last column is how many times more "
            "time or memory fsspec needs",
        ]
    )


def run_references(arguments: argparse.Namespace) -> int:
    """Run cases A and B, print the report; 1 when any library failed or read wrong data."""
    repeat = arguments.repeat or (QUICK_ROUNDS if arguments.quick else FULL_ROUNDS)
    s3_repeat = arguments.repeat or (S3_QUICK_ROUNDS if arguments.quick else S3_FULL_ROUNDS)
    time_steps = QUICK_TIME_STEPS if arguments.quick else FULL_TIME_STEPS
    side = QUICK_CHUNK_GRID_SIDE if arguments.quick else FULL_CHUNK_GRID_SIDE
    with tempfile.TemporaryDirectory(prefix="zarrkit-refs-bench-", dir=arguments.dir) as directory:
        measurements, case_a = run_case_a(Path(directory), time_steps, repeat, s3_repeat)
        open_results, case_b = run_case_b(Path(directory), side, repeat)
    print(_header(case_a, case_b, repeat, s3_repeat))
    print()
    print("Case A, reading the variable (targets: zarrkit at least 3x zarr-python+fsspec, and ahead of netCDF4):")
    print()
    print(format_table(measurements, list(LIBRARY_NAMES)))
    print()
    if repeat > 1:
        print("Spread over the rounds (lowest-highest MiB/s, and per-round ratios):")
        print()
        print(format_spread_table(measurements, list(LIBRARY_NAMES)))
        print()
    print("Case B, opening a large reference set and reading one chunk (medians):")
    print()
    print(format_open_table(open_results))
    problems = [f"- case A | {m.case} | {m.library}: {m.problem}" for m in measurements if m.problem]
    problems += [f"- case B | {r.layout} | {r.library}: {r.problem}" for r in open_results if r.problem]
    return report_failures(problems)


def _worker_main(argv: Sequence[str]) -> int:
    library, path, side = argv
    print(json.dumps(open_and_read_one_chunk(library, path, int(side))))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
