"""Benchmarks of scanning and combining against kerchunk: ``python -m benchmarks --scan``.

Three local cases, each a fresh Python process per run that imports everything first, so that both
libraries start from the same state and peak memory can be read from Linux's VmHWM:

- HDF5: one float32 dataset of 100,000 chunks (``2000 x 20000`` in chunks of ``10 x 40``, shuffle +
  deflate level 1), written with h5py; ``zarrkit.scan`` against kerchunk's
  ``SingleHdf5ToZarr(path, inline_threshold=0).translate()``.
- NetCDF3: a 64-bit offset file of 80,000 records holding four record variables (``time`` and three
  per-station variables of 20 stations, one of them int16) and one fixed variable, written with
  netCDF4; ``zarrkit.scan`` against ``NetCDF3ToZarr(path, inline_threshold=0).translate()``.
  Both reference every chunk and inline nothing.
- Scan + save: the HDF5 and NetCDF3 scans again, each followed by writing its references as JSON, as
  a user of either library does (``zarrkit.save_refs``; kerchunk's documented ``ujson.dumps`` of
  ``translate()``).
- Combine: 1,000 small NetCDF4 files of one time step each (``temperature`` of 20 x 40 float32,
  deflated, with ``time``, ``lat`` and ``lon`` coordinates), each scanned once by each library's own
  scanner with kerchunk's default inline threshold of 500 bytes (so both inline the coordinates and
  reference ``temperature``) and saved as JSON, outside every measurement. A run loads its library's
  1,000 sets into memory, then combines them along ``time``: ``zarrkit.combine(sets,
  concat_dims=["time"])`` against ``MultiZarrToZarr(dicts, concat_dims=["time"],
  identical_dims=["lat", "lon"]).translate()``, as kerchunk documents it.

A run reports its seconds and how far its peak resident memory rose above its resident memory just
before the measured call: the peak is reset there (``/proc/self/clear_refs``), so neither the imports
nor the loading of the inputs count. Each run's chunk count is checked against the file, and
zarrkit's references are read back and compared with the file once, outside the rounds.

The remote case scans the same HDF5 and NetCDF3 files over HTTP (nginx) and S3 (SeaweedFS), both on
loopback, in this process: zarrkit through its storage layer (``scan_with_cost``, which reports its
requests and bytes), kerchunk through fsspec with its defaults (fsspec's HTTP filesystem, s3fs).
Over HTTP both are counted the same way, from nginx's access log (every request, HEAD included;
bytes from each request's Range header); over S3 only zarrkit counts its requests.

This module is also the worker of the local cases: ``python -m benchmarks.scanning scan LIBRARY
PATH`` or ``python -m benchmarks.scanning combine LIBRARY DIRECTORY`` prints that run's measurements
as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import netCDF4
import numpy as np
import ujson
from kerchunk.combine import MultiZarrToZarr
from kerchunk.netCDF3 import NetCDF3ToZarr

import zarrkit
import zarrkit.scan.hdf5  # noqa: F401 - zarrkit.scan imports its scanners on first use; the baseline includes them
import zarrkit.scan.netcdf3  # noqa: F401 - likewise
from benchmarks.references import s3_options, upload
from benchmarks.servers import seaweedfs
from benchmarks.timing import (
    MIB,
    WrongData,
    load_average,
    print_progress,
    process_status_bytes,
    report_failures,
    round_order,
    run_worker,
    versions,
)
from tests.helpers import kerchunk_hdf5
from tests.servers.http import LoggedRequest, NginxServer, run_nginx
from zarrkit.scan import scan_with_cost

LIBRARIES = ("zarrkit", "kerchunk")

HDF5_COLUMNS = 20_000
HDF5_CHUNKS = (10, 40)
"""400 float32 values, 1,600 bytes, per chunk: 500 chunks per 10 rows."""

FULL_HDF5_ROWS = 2_000
"""100,000 chunks, 153 MiB of data (about 58 MiB in the file)."""

QUICK_HDF5_ROWS = 200
"""10,000 chunks with ``--quick``."""

HDF5_VARIABLE = "temperature"

FULL_RECORDS = 80_000
QUICK_RECORDS = 8_000
STATIONS = 20
RECORD_VARIABLES = ("time", "temperature", "pressure", "quality")
"""The NetCDF3 file's record variables; each record of each is one chunk."""

FULL_FILES = 1_000
QUICK_FILES = 100
SMALL_GRID = (20, 40)
"""Latitudes and longitudes of each small NetCDF4 file of the combine case."""

COMBINE_INLINE_THRESHOLD = 500
"""Both scanners inline chunks smaller than this for the combine case (kerchunk's default)."""

FULL_ROUNDS = 5
QUICK_ROUNDS = 2
REMOTE_FULL_ROUNDS = 3
REMOTE_QUICK_ROUNDS = 1

TIME_TARGET = 2.0
"""The issue's target: kerchunk needs at least this many times zarrkit's time, and never less memory."""

_METADATA_NAMES = frozenset({".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json"})


def write_hdf5(path: Path, rows: int, seed: int = 0) -> int:
    """Write the HDF5 case's file (``rows`` x :data:`HDF5_COLUMNS` float32) and return its chunk count.

    The values are waves along the columns, drifting with the row, plus noise rounded to one decimal,
    written in slabs of 200 rows so that the array never sits whole in memory.
    """
    waves = np.float32(10) * np.sin(np.linspace(0, 8 * np.pi, HDF5_COLUMNS, dtype=np.float32))
    rng = np.random.default_rng(seed)
    slab = 200
    with h5py.File(path, "w") as file:
        dataset = file.create_dataset(
            HDF5_VARIABLE,
            shape=(rows, HDF5_COLUMNS),
            dtype="f4",
            chunks=HDF5_CHUNKS,
            compression="gzip",
            compression_opts=1,
            shuffle=True,
        )
        dataset.attrs["units"] = "degC"
        for start in range(0, rows, slab):
            stop = min(start + slab, rows)
            drift = np.arange(start, stop, dtype=np.float32)[:, None] * np.float32(0.01)
            noise = rng.standard_normal((stop - start, HDF5_COLUMNS), dtype=np.float32) * np.float32(0.2)
            dataset[start:stop] = np.round(15 + waves[None, :] + drift + noise, 1)
    return (rows // HDF5_CHUNKS[0]) * (HDF5_COLUMNS // HDF5_CHUNKS[1])


def write_netcdf3(path: Path, records: int, seed: int = 0) -> int:
    """Write the NetCDF3 case's file and return its chunk count (one per record and record variable,
    plus one for the fixed ``station`` variable)."""
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w", format="NETCDF3_64BIT_OFFSET") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("station", STATIONS)
        dataset.title = "scanning benchmark"
        station = dataset.createVariable("station", "i4", ("station",))
        station[:] = np.arange(STATIONS)
        times = dataset.createVariable("time", "f8", ("time",))
        times.units = "seconds since 2000-01-01"
        temperature = dataset.createVariable("temperature", "f4", ("time", "station"))
        temperature.units = "K"
        pressure = dataset.createVariable("pressure", "f4", ("time", "station"))
        pressure.units = "hPa"
        quality = dataset.createVariable("quality", "i2", ("time", "station"))
        times[:] = np.arange(records) * 60.0
        temperature[:] = np.round(280 + 10 * rng.standard_normal((records, STATIONS), dtype=np.float32), 2)
        pressure[:] = np.round(1000 + 5 * rng.standard_normal((records, STATIONS), dtype=np.float32), 1)
        quality[:] = rng.integers(0, 5, (records, STATIONS)).astype("i2")
    return len(RECORD_VARIABLES) * records + 1


def write_small_netcdf4(path: Path, step: int, seed: int) -> None:
    """Write one file of the combine case: time step ``step`` (hours since 2000-01-01)."""
    latitudes, longitudes = SMALL_GRID
    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w", format="NETCDF4") as dataset:
        dataset.createDimension("time", None)
        dataset.createDimension("lat", latitudes)
        dataset.createDimension("lon", longitudes)
        times = dataset.createVariable("time", "f8", ("time",))
        times.units = "hours since 2000-01-01"
        times[:] = [step]
        dataset.createVariable("lat", "f4", ("lat",))[:] = np.linspace(-47.5, 47.5, latitudes, dtype=np.float32)
        dataset.createVariable("lon", "f4", ("lon",))[:] = np.linspace(0, 195, longitudes, dtype=np.float32)
        temperature = dataset.createVariable(
            "temperature", "f4", ("time", "lat", "lon"), zlib=True, chunksizes=(1, latitudes, longitudes)
        )
        temperature.units = "degC"
        temperature[:] = np.round(15 + 5 * rng.standard_normal((1, latitudes, longitudes), dtype=np.float32), 2)


def prepare_combine_inputs(directory: Path, count: int) -> Path:
    """Write the ``count`` small files, scan each with both libraries and save the reference sets as
    ``<library>/<number>.json`` below the returned directory."""
    files = directory / "small-files"
    inputs = directory / "combine-inputs"
    files.mkdir()
    for library in LIBRARIES:
        (inputs / library).mkdir(parents=True)
    for number in range(count):
        path = files / f"{number:05d}.nc"
        write_small_netcdf4(path, step=number, seed=number)
        zarrkit.save_refs(
            zarrkit.scan(path, inline_threshold=COMBINE_INLINE_THRESHOLD), inputs / "zarrkit" / f"{number:05d}.json"
        )
        kerchunk_set = kerchunk_hdf5(str(path), inline_threshold=COMBINE_INLINE_THRESHOLD)
        (inputs / "kerchunk" / f"{number:05d}.json").write_text(json.dumps(kerchunk_set))
    return inputs


# -- checks outside the measurements ---------------------------------------------------------------


def chunk_count(keys: Iterable[str]) -> int:
    """How many of ``keys`` are chunk keys (not Zarr metadata)."""
    return sum(1 for key in keys if key.rpartition("/")[2] not in _METADATA_NAMES)


def check_zarrkit_hdf5(path: Path) -> None:
    """Scan the HDF5 file with zarrkit and compare the last ten rows it reads with h5py's; raises WrongData."""
    array = zarrkit.open_array(zarrkit.scan(path), path=HDF5_VARIABLE)
    with h5py.File(path, "r") as file:
        expected = file[HDF5_VARIABLE][-10:]
    if not np.array_equal(array[-10:], expected):
        raise WrongData(f"zarrkit's references of {path} read other values than h5py in the last ten rows")


def check_zarrkit_netcdf3(path: Path) -> None:
    """Scan the NetCDF3 file with zarrkit and compare every record variable's last 100 records with netCDF4's."""
    references = zarrkit.scan(path)
    with netCDF4.Dataset(path) as dataset:
        dataset.set_auto_maskandscale(False)
        for name in RECORD_VARIABLES:
            values = zarrkit.open_array(references, path=name)[-100:]
            if not np.array_equal(values, dataset[name][-100:]):
                raise WrongData(f"zarrkit's references of {path} read other values of {name} than netCDF4")


def check_zarrkit_combine(inputs: Path, files: Path) -> None:
    """Combine zarrkit's inputs once and compare the time axis and the last step with the files."""
    paths = sorted((inputs / "zarrkit").glob("*.json"))
    combined = zarrkit.combine([zarrkit.load_refs(path) for path in paths], concat_dims=["time"])
    group = zarrkit.open_group(combined)
    if not np.array_equal(group["time"][:], np.arange(len(paths), dtype="f8")):
        raise WrongData("zarrkit's combined time axis is not 0, 1, 2, ... hours")
    last = sorted(files.glob("*.nc"))[-1]
    with netCDF4.Dataset(last) as dataset:
        expected = dataset["temperature"][:].data
    if not np.array_equal(group["temperature"][-1:], expected):
        raise WrongData(f"zarrkit's combined temperature at the last step differs from {last}")


# -- the workers -----------------------------------------------------------------------------------


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """Measure the block: the returned dict gets ``seconds`` and ``memory``, the rise of peak resident
    memory over the resident memory at the start. Linux resets the peak (VmHWM) to the current
    resident memory when "5" is written to /proc/self/clear_refs, so what ran before does not count."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    baseline = process_status_bytes("VmRSS")
    outcome: dict[str, float] = {}
    start = time.perf_counter()
    yield outcome
    outcome["seconds"] = time.perf_counter() - start
    outcome["memory"] = process_status_bytes("VmHWM") - baseline


def scan_in_this_process(library: str, path: str, output: str | None = None) -> dict[str, float]:
    """Scan the file at ``path`` (HDF5 or NetCDF3, by its suffix) with ``library``, and with ``output``
    also write the references there as JSON (kerchunk's way: ``ujson.dumps`` of ``translate()``);
    its seconds, its memory rise and the number of chunk references it made."""
    is_hdf5 = path.endswith(".h5")
    with measured() as outcome:
        if library == "zarrkit":
            references: Any = zarrkit.scan(path)
            if output is not None:
                zarrkit.save_refs(references, output)
        else:
            if is_hdf5:
                translated = kerchunk_hdf5(path, inline_threshold=0)
            else:
                translated = NetCDF3ToZarr(path, inline_threshold=0).translate()
            if output is not None:
                Path(output).write_text(ujson.dumps(translated))
            references = translated["refs"]
    outcome["chunks"] = chunk_count(references)
    return outcome


def combine_in_this_process(library: str, directory: str) -> dict[str, float]:
    """Load ``library``'s reference sets from ``directory/<library>/*.json``, then combine them along
    ``time``; the combine's seconds and memory rise, and the chunk count of ``temperature``."""
    paths = sorted((Path(directory) / library).glob("*.json"))
    if library == "zarrkit":
        sets = [zarrkit.load_refs(path) for path in paths]
        with measured() as outcome:
            combined: Any = zarrkit.combine(sets, concat_dims=["time"])
    else:
        dicts = [json.loads(path.read_text()) for path in paths]
        with measured() as outcome:
            combined = MultiZarrToZarr(
                dicts, concat_dims=["time"], identical_dims=["lat", "lon"], remote_protocol="file"
            ).translate()["refs"]
    outcome["chunks"] = chunk_count([key for key in combined if key.startswith("temperature/")])
    return outcome


# -- the local cases -------------------------------------------------------------------------------


@dataclass
class LocalResult:
    """One local case with one library over all rounds (empty lists when it failed)."""

    case: str
    library: str
    seconds: list[float] = field(default_factory=list)
    memory_bytes: list[int] = field(default_factory=list)
    problem: str | None = None


def run_local_case(
    case: str, worker_arguments: Callable[[str], list[str]], chunks: int, repeat: int
) -> list[LocalResult]:
    """Run both libraries' workers (``worker_arguments(library)``) in ``repeat`` interleaved rounds;
    a run that fails, or whose chunk count is not ``chunks``, ends that library's rounds."""
    results = {library: LocalResult(case, library) for library in LIBRARIES}
    for round_index in range(repeat):
        for library in round_order(LIBRARIES, round_index):
            result = results[library]
            if result.problem is not None:
                continue
            try:
                outcome = run_worker("benchmarks.scanning", worker_arguments(library))
                if outcome["chunks"] != chunks:
                    raise WrongData(f"{outcome['chunks']:,.0f} chunk references, expected {chunks:,}")
            except (RuntimeError, ValueError, WrongData) as error:
                result.problem = f"{type(error).__name__}: {error}"
                print_progress(f"{case} | {library} | round {round_index + 1}: FAILED ({error})")
                continue
            result.seconds.append(outcome["seconds"])
            result.memory_bytes.append(int(outcome["memory"]))
            print_progress(
                f"{case} | {library} | round {round_index + 1}/{repeat}: {outcome['seconds']:.3f} s, "
                f"memory +{outcome['memory'] / MIB:.0f} MiB"
            )
    return list(results.values())


# -- the remote case -------------------------------------------------------------------------------


@dataclass
class RemoteResult:
    """One file scanned from one server by one library, over all rounds.

    ``requests`` and ``bytes_read`` hold each round's count (empty where not counted: kerchunk on
    S3); ``reported`` holds zarrkit's own ScanCost of each round as (requests, bytes).
    """

    file: str
    server: str
    library: str
    seconds: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    bytes_read: list[int] = field(default_factory=list)
    reported: list[tuple[int, int]] = field(default_factory=list)
    problem: str | None = None


def range_length(header: str, size: int) -> int:
    """Bytes of a file of ``size`` bytes that the Range header ``header`` asks for (all of it when empty).

    Handles ``bytes=a-b``, ``bytes=a-``, ``bytes=-n`` and lists of them; a range past the end is
    clipped, as the server clips it.
    """
    if not header or header == "-":
        return size
    total = 0
    for part in header.removeprefix("bytes=").split(","):
        first, _, last = part.strip().partition("-")
        if not first:
            total += min(int(last), size)
        else:
            stop = size if not last else min(int(last) + 1, size)
            total += max(stop - int(first), 0)
    return total


def _new_requests(server: NginxServer, path: str, seen: int) -> list[LoggedRequest]:
    """The requests for ``path`` logged after the first ``seen``."""
    return server.requests(path)[seen:]


def _scan_remotely(
    library: str, url: str, zarrkit_options: dict[str, Any] | None, fsspec_options: dict[str, Any]
) -> tuple[Any, Any]:
    """Scan ``url`` with ``library``; the chunk keys, and zarrkit's ScanCost (None for kerchunk)."""
    if library == "zarrkit":
        references, cost = scan_with_cost(url, storage_options=zarrkit_options)
        return list(references), cost
    if url.endswith(".h5"):
        refs = kerchunk_hdf5(url, storage_options=fsspec_options, inline_threshold=0)["refs"]
    else:
        refs = NetCDF3ToZarr(url, storage_options=fsspec_options, inline_threshold=0).translate()["refs"]
    return list(refs), None


def run_remote_scans(directory: Path, files: dict[str, tuple[Path, int]], repeat: int) -> list[RemoteResult]:
    """Serve ``files`` (label -> (path, chunk count)) from nginx and SeaweedFS and scan each with both
    libraries in ``repeat`` interleaved rounds."""
    (directory / "nginx").mkdir()
    (directory / "seaweedfs").mkdir()
    results: list[RemoteResult] = []
    with run_nginx(directory / "nginx") as (port, root), seaweedfs(directory / "seaweedfs") as s3_server:
        http_server = NginxServer(port, root, directory / "nginx" / "access.log")
        zarrkit_s3_options, s3fs_options = s3_options(s3_server)
        for label, (path, chunks) in files.items():
            shutil.copyfile(path, root / path.name)
            print_progress(f"remote | uploading {path.name} to SeaweedFS")
            locations = {
                "HTTP (nginx)": (f"{http_server.url}/{path.name}", None, {}),
                "S3 (SeaweedFS)": (upload(s3_server, path, f"scanning/{path.name}"), zarrkit_s3_options, s3fs_options),
            }
            for server, (url, zarrkit_options, fsspec_options) in locations.items():
                by_library = {library: RemoteResult(label, server, library) for library in LIBRARIES}
                for round_index in range(repeat):
                    for library in round_order(LIBRARIES, round_index):
                        result = by_library[library]
                        if result.problem is None:
                            _remote_round(result, url, zarrkit_options, fsspec_options, chunks, http_server, path)
                            print_progress(
                                f"remote | {label} | {server} | {library} | round {round_index + 1}/{repeat}: {_remote_line(result)}"
                            )
                results += by_library.values()
    return results


def _remote_round(
    result: RemoteResult,
    url: str,
    zarrkit_options: dict[str, Any] | None,
    fsspec_options: dict[str, Any],
    chunks: int,
    http_server: NginxServer,
    path: Path,
) -> None:
    """One scan of ``url`` by ``result.library``, recorded in ``result`` (its problem on failure)."""
    logged_path = f"/{path.name}"
    seen = len(http_server.requests(logged_path))
    try:
        gc.collect()
        start = time.perf_counter()
        keys, cost = _scan_remotely(result.library, url, zarrkit_options, fsspec_options)
        elapsed = time.perf_counter() - start
        if chunk_count(keys) != chunks:
            raise WrongData(f"{chunk_count(keys):,} chunk references, expected {chunks:,}")
    except Exception as error:
        # A failing peer is reported in the table rather than ending the run.
        result.problem = f"{type(error).__name__}: {error}"
        return
    result.seconds.append(elapsed)
    if cost is not None:
        result.reported.append((cost.requests, cost.bytes_read))
    if url.startswith("http"):
        requests = _new_requests(http_server, logged_path, seen)
        size = path.stat().st_size
        result.requests.append(len(requests))
        result.bytes_read.append(sum(range_length(r.range, size) for r in requests if r.method == "GET"))
    elif cost is not None:
        result.requests.append(cost.requests)
        result.bytes_read.append(cost.bytes_read)


def _remote_line(result: RemoteResult) -> str:
    if result.problem is not None:
        return f"FAILED ({result.problem})"
    line = f"{result.seconds[-1]:.3f} s"
    if result.requests:
        line += f", {result.requests[-1]:,} requests, {result.bytes_read[-1] / MIB:.1f} MiB"
    return line


# -- the tables ------------------------------------------------------------------------------------


def _median_cell(values: Sequence[float], scale: float, digits: int, spread: bool = False) -> str:
    if not values:
        return "-"
    cell = f"{statistics.median(values) * scale:,.{digits}f}"
    if spread and len(values) > 1:
        cell += f" ({min(values) * scale:,.{digits}f}-{max(values) * scale:,.{digits}f})"
    return cell


def _ratio_cell(ours: Sequence[float], theirs: Sequence[float]) -> str:
    if not ours or not theirs or statistics.median(ours) <= 0:
        return "-"
    return f"{statistics.median(theirs) / statistics.median(ours):.2f}x"


def format_local_table(results: Sequence[LocalResult]) -> str:
    """A markdown table of the local cases: per case the medians (and ranges) of zarrkit's and
    kerchunk's seconds and memory rise, and how many times more kerchunk needs."""
    by_key = {(result.case, result.library): result for result in results}
    lines = [
        "| case | measure | zarrkit | kerchunk | kerchunk/zarrkit |",
        "|---|---|---:|---:|---:|",
    ]
    for case in dict.fromkeys(result.case for result in results):
        ours, theirs = by_key[(case, "zarrkit")], by_key[(case, "kerchunk")]
        rows = (
            ("time (s), median (range)", ours.seconds, theirs.seconds, 1, 3, True),
            ("peak memory rise (MiB)", ours.memory_bytes, theirs.memory_bytes, 1 / MIB, 1, False),
        )
        for measure, our_values, their_values, scale, digits, spread in rows:
            cells = [
                "failed" if ours.problem else _median_cell(our_values, scale, digits, spread),
                "failed" if theirs.problem else _median_cell(their_values, scale, digits, spread),
            ]
            lines.append(f"| {case} | {measure} | {' | '.join(cells)} | {_ratio_cell(our_values, their_values)} |")
    return "\n".join(lines)


def _count_cell(result: RemoteResult, values: Sequence[float], scale: float, digits: int) -> str:
    if result.problem is not None:
        return "failed"
    return _median_cell(values, scale, digits) if values else "not counted"


def format_remote_table(results: Sequence[RemoteResult]) -> str:
    """A markdown table of the remote scans: per file and server, the requests, MiB read and median
    seconds of each library, and how many times more time kerchunk needs."""
    by_key = {(result.file, result.server, result.library): result for result in results}
    lines = [
        "| file | server | zarrkit requests | kerchunk requests | zarrkit MiB read | kerchunk MiB read "
        "| zarrkit s | kerchunk s | kerchunk/zarrkit time |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for file, server in dict.fromkeys((result.file, result.server) for result in results):
        ours, theirs = by_key[(file, server, "zarrkit")], by_key[(file, server, "kerchunk")]
        cells = [_count_cell(result, result.requests, 1, 0) for result in (ours, theirs)]
        cells += [_count_cell(result, result.bytes_read, 1 / MIB, 1) for result in (ours, theirs)]
        cells += [_count_cell(result, result.seconds, 1, 3) for result in (ours, theirs)]
        cells.append(_ratio_cell(ours.seconds, theirs.seconds))
        lines.append(f"| {file} | {server} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _reported_costs(results: Sequence[RemoteResult]) -> str:
    """A line per HTTP scan by zarrkit: what its ScanCost reported against what nginx logged."""
    lines = []
    for result in results:
        if result.library == "zarrkit" and result.server.startswith("HTTP") and result.reported:
            requests, bytes_read = result.reported[-1]
            lines.append(
                f"- {result.file}: zarrkit's ScanCost says {requests:,} requests and {bytes_read / MIB:.1f} MiB; "
                f"nginx logged {result.requests[-1]:,} requests and {result.bytes_read[-1] / MIB:.1f} MiB"
            )
    return "\n".join(lines)


def _header(descriptions: Sequence[str], repeat: int, remote_repeat: int) -> str:
    installed = versions(("zarrkit", "kerchunk", "h5py", "netCDF4", "fsspec", "s3fs", "zarr"))
    return "\n".join(
        [
            f"# zarrkit scanning benchmarks: {installed}",
            "",
            f"- machine: Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}; load average at the end {load_average()} "
            "(other processes skew the numbers)",
            *(f"- {description}" for description in descriptions),
            f"- local runs: each a fresh process that imports everything first; {repeat} interleaved round(s), "
            "the order rotating per round; time is the wall time of the scan or combine call (kerchunk: "
            "constructor + translate), the files in the page cache; memory is the rise of peak resident memory "
            "(VmHWM, reset just before the call) over the resident memory then; the last column is how many "
            f"times more kerchunk needs (targets: at least {TIME_TARGET:.0f}x for time, at least 1x for memory)",
            f"- remote runs: both libraries in this process, {remote_repeat} interleaved round(s), medians; "
            "kerchunk through fsspec with its default caching (HTTPFileSystem, s3fs); HTTP requests and bytes "
            "from nginx's access log for both libraries (HEAD included, bytes from the Range headers); on S3 "
            "only zarrkit counts (its ScanCost)",
        ]
    )


def _check_zarrkit(*checks: Callable[[], None]) -> list[str]:
    """Run the checks of zarrkit's references; a line for the report per check that found wrong data."""
    problems = []
    for check in checks:
        try:
            check()
        except WrongData as error:
            problems.append(f"- check of zarrkit's references: {error}")
    return problems


def run_scanning(arguments: argparse.Namespace) -> int:
    """Write the files, run the local cases and the remote scans, print the report; 1 when any run
    failed or produced wrong references."""
    repeat = arguments.repeat or (QUICK_ROUNDS if arguments.quick else FULL_ROUNDS)
    remote_repeat = arguments.repeat or (REMOTE_QUICK_ROUNDS if arguments.quick else REMOTE_FULL_ROUNDS)
    rows = QUICK_HDF5_ROWS if arguments.quick else FULL_HDF5_ROWS
    records = QUICK_RECORDS if arguments.quick else FULL_RECORDS
    file_count = QUICK_FILES if arguments.quick else FULL_FILES
    with tempfile.TemporaryDirectory(prefix="zarrkit-scan-bench-", dir=arguments.dir) as temporary:
        directory = Path(temporary)
        hdf5_path, netcdf3_path = directory / "chunks.h5", directory / "records.nc"
        print_progress(f"writing {hdf5_path.name}, {netcdf3_path.name} and {file_count:,} small NetCDF4 files")
        hdf5_chunks = write_hdf5(hdf5_path, rows)
        netcdf3_chunks = write_netcdf3(netcdf3_path, records)
        inputs = prepare_combine_inputs(directory, file_count)
        problems = _check_zarrkit(
            lambda: check_zarrkit_hdf5(hdf5_path),
            lambda: check_zarrkit_netcdf3(netcdf3_path),
            lambda: check_zarrkit_combine(inputs, directory / "small-files"),
        )
        hdf5_label = f"HDF5, {hdf5_chunks:,} chunks: scan"
        netcdf3_label = f"NetCDF3, {records:,} records: scan"
        combine_label = f"{file_count:,} NetCDF4 files: combine"
        local_results = run_local_case(
            hdf5_label, lambda library: ["scan", library, str(hdf5_path)], hdf5_chunks, repeat
        )
        local_results += run_local_case(
            netcdf3_label, lambda library: ["scan", library, str(netcdf3_path)], netcdf3_chunks, repeat
        )
        for label, path, chunks in (
            (hdf5_label, hdf5_path, hdf5_chunks),
            (netcdf3_label, netcdf3_path, netcdf3_chunks),
        ):
            output = str(directory / f"{path.stem}-refs.json")
            local_results += run_local_case(
                f"{label} + save JSON",
                lambda library, path=path, output=output: ["scan", library, str(path), output],
                chunks,
                repeat,
            )
        local_results += run_local_case(
            combine_label, lambda library: ["combine", library, str(inputs)], file_count, repeat
        )
        remote_files = {
            f"HDF5, {hdf5_chunks:,} chunks": (hdf5_path, hdf5_chunks),
            f"NetCDF3, {records:,} records": (netcdf3_path, netcdf3_chunks),
        }
        remote_results = run_remote_scans(directory, remote_files, remote_repeat)
        descriptions = [
            f"HDF5: `{HDF5_VARIABLE}`, {rows:,} x {HDF5_COLUMNS:,} float32 in chunks of "
            f"{HDF5_CHUNKS[0]} x {HDF5_CHUNKS[1]} ({hdf5_chunks:,} chunks), shuffle + deflate 1, written with h5py; "
            f"file {hdf5_path.stat().st_size / MIB:.1f} MiB; both scanners inline nothing",
            f"NetCDF3: 64-bit offset, {records:,} records of {', '.join(RECORD_VARIABLES)} ({STATIONS} stations) "
            f"and a fixed `station`; {netcdf3_chunks:,} chunks; file {netcdf3_path.stat().st_size / MIB:.1f} MiB; "
            "both scanners inline nothing",
            f"combine: {file_count:,} NetCDF4 files of one time step (`temperature` {SMALL_GRID[0]} x "
            f"{SMALL_GRID[1]} float32 deflated, `time`, `lat`, `lon`), scanned beforehand by each library with an "
            f"inline threshold of {COMBINE_INLINE_THRESHOLD} bytes and loaded into memory before the clock starts; "
            'zarrkit.combine(sets, concat_dims=["time"]) against MultiZarrToZarr(dicts, concat_dims=["time"], '
            'identical_dims=["lat", "lon"]).translate()',
        ]
    print(_header(descriptions, repeat, remote_repeat))
    print()
    print("Local scans and combine (medians; kerchunk/zarrkit is how many times more kerchunk needs):")
    print()
    print(format_local_table(local_results))
    print()
    print("Remote scans (request and byte counts are the same every round):")
    print()
    print(format_remote_table(remote_results))
    reported = _reported_costs(remote_results)
    if reported:
        print()
        print("zarrkit's own count against nginx's log:")
        print(reported)
    problems += [f"- {r.case} | {r.library}: {r.problem}" for r in local_results if r.problem]
    problems += [f"- remote {r.file} | {r.server} | {r.library}: {r.problem}" for r in remote_results if r.problem]
    return report_failures(problems)


def _worker_main(argv: Sequence[str]) -> int:
    command, library, path, *output = argv
    if command == "scan":
        outcome = scan_in_this_process(library, path, *output)
    else:
        outcome = combine_in_this_process(library, path)
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
