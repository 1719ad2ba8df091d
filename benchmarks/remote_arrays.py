"""Benchmarks of whole arrays on an S3 server (SeaweedFS) and an HTTP server (nginx).

zarrkit, through ``s3://`` and ``http://`` URLs with storage_options, is compared with zarr-python
over its fsspec store (s3fs, or fsspec's HTTP filesystem) and over its obstore store (obstore's
S3Store or HTTPStore). Two arrays: one of 4 MiB chunks and one of 64 KiB chunks, both bytes + zstd
level 1. On S3 each library writes its own copy and reads it back; the HTTP server is read only, so
zarrkit stores the array once (untimed) into the directory nginx serves and all three read it. Each
read is compared with the source outside the clock. Timing and tables come from
:mod:`benchmarks.timing`, with the same interleaved rounds as the local benchmarks.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import obstore.store
import zarr
import zarr.codecs
import zarr.storage

import zarrkit
import zarrkit.codecs
from benchmarks.libraries import ZSTD_LEVEL
from benchmarks.local_arrays import realistic_field
from benchmarks.servers import HTTPServer, S3Server, nginx, seaweedfs
from benchmarks.timing import (
    MIB,
    Measurement,
    Step,
    data_check,
    format_spread_table,
    format_table,
    no_check,
    print_progress,
    report_failures,
    time_rounds,
)

FULL_ROUNDS = 3
QUICK_ROUNDS = 2
QUICK_SIDE = 4096
"""The side of both arrays with ``--quick``: 4096 x 4096 float32 is 64 MiB."""


@dataclass(frozen=True)
class RemoteCase:
    """One array: ``name`` for ``--only``, its side (square, float32) and its chunks' side."""

    name: str
    side: int
    chunk_side: int

    def label(self, side: int) -> str:
        """The table's label for a ``side`` x ``side`` array of this case's chunks."""
        chunk_bytes = self.chunk_side**2 * 4
        chunk_size = f"{chunk_bytes // MIB} MiB" if chunk_bytes >= MIB else f"{chunk_bytes // 1024} KiB"
        return f"{side * side * 4 / MIB:,.0f} MiB array, {chunk_size} chunks"


REMOTE_CASES = (
    RemoteCase("remote-4mib", side=16384, chunk_side=1024),
    RemoteCase("remote-64kib", side=8192, chunk_side=128),
)
REMOTE_CASES_BY_NAME = {case.name: case for case in REMOTE_CASES}


@dataclass(frozen=True)
class Location:
    """Where an array lives: an ``s3://`` URL with its server, or an ``http://`` URL (server None)."""

    url: str
    s3: S3Server | None = None

    @property
    def prefix(self) -> str:
        """The key prefix inside the bucket (S3 only)."""
        return self.url.removeprefix("s3://").partition("/")[2]


class RemoteLibrary(ABC):
    """A library reading and writing remote arrays; subclasses inherit these docstrings."""

    name: str
    distributions: tuple[str, ...]

    @property
    def version(self) -> str:
        """The installed versions of the library and of the store package it goes through."""
        return " + ".join(f"{name} {importlib.metadata.version(name)}" for name in self.distributions)

    @abstractmethod
    def create(self, location: Location, side: int, chunk_side: int) -> Any:
        """Create an empty float32 array of bytes + zstd at ``location`` and return it."""

    @abstractmethod
    def open(self, location: Location) -> Any:
        """Open the array at ``location`` for reading."""

    def write(self, array: Any, data: np.ndarray) -> None:
        """Store ``data`` over the whole array."""
        array[...] = data

    def read(self, array: Any) -> np.ndarray:
        """Read the whole array into a new NumPy array."""
        return array[...]


class ZarrkitRemote(RemoteLibrary):
    """zarrkit with URLs and storage_options, its default configuration otherwise."""

    name = "zarrkit"
    distributions = ("zarrkit",)

    @staticmethod
    def _options(location: Location) -> dict[str, Any] | None:
        if location.s3 is None:
            return None
        return {
            "endpoint": location.s3.endpoint,
            "region": location.s3.region,
            "access_key_id": location.s3.access_key_id,
            "secret_access_key": location.s3.secret_access_key,
        }

    def create(self, location: Location, side: int, chunk_side: int) -> zarrkit.Array:
        return zarrkit.create_array(
            location.url,
            storage_options=self._options(location),
            shape=(side, side),
            dtype="float32",
            chunks=(chunk_side, chunk_side),
            compressors=zarrkit.codecs.ZstdCodec(level=ZSTD_LEVEL),
            overwrite=True,
        )

    def open(self, location: Location) -> zarrkit.Array:
        return zarrkit.open_array(location.url, mode="r", storage_options=self._options(location))


class ZarrPythonStore(RemoteLibrary):
    """zarr-python 3 with its default configuration over a store that a subclass builds."""

    @abstractmethod
    def store(self, location: Location, read_only: bool) -> zarr.abc.store.Store:
        """zarr-python's store for ``location``."""

    def create(self, location: Location, side: int, chunk_side: int) -> zarr.Array:
        return zarr.create_array(
            store=self.store(location, read_only=False),
            shape=(side, side),
            dtype="float32",
            chunks=(chunk_side, chunk_side),
            compressors=zarr.codecs.ZstdCodec(level=ZSTD_LEVEL),
            overwrite=True,
        )

    def open(self, location: Location) -> zarr.Array:
        return zarr.open_array(store=self.store(location, read_only=True), mode="r")


class ZarrPythonFsspec(ZarrPythonStore):
    """zarr-python's FsspecStore: s3fs for S3, fsspec's HTTPFileSystem for HTTP."""

    name = "zarr-python-fsspec"
    distributions = ("zarr", "s3fs")

    def store(self, location: Location, read_only: bool) -> zarr.storage.FsspecStore:
        options: dict[str, Any] = {}
        if location.s3 is not None:
            options = {
                "key": location.s3.access_key_id,
                "secret": location.s3.secret_access_key,
                "endpoint_url": location.s3.endpoint,
                "client_kwargs": {"region_name": location.s3.region},
            }
        return zarr.storage.FsspecStore.from_url(location.url, storage_options=options, read_only=read_only)


class ZarrPythonObstore(ZarrPythonStore):
    """zarr-python's ObjectStore over obstore's S3Store or HTTPStore."""

    name = "zarr-python-obstore"
    distributions = ("zarr", "obstore")

    def store(self, location: Location, read_only: bool) -> zarr.storage.ObjectStore:
        # The servers listen on plain HTTP, which obstore refuses unless allowed.
        client_options = {"allow_http": True}
        if location.s3 is None:
            backend: Any = obstore.store.HTTPStore.from_url(location.url, client_options=client_options)
        else:
            backend = obstore.store.S3Store(
                location.s3.bucket,
                prefix=location.prefix,
                endpoint=location.s3.endpoint,
                region=location.s3.region,
                access_key_id=location.s3.access_key_id,
                secret_access_key=location.s3.secret_access_key,
                client_options=client_options,
            )
        return zarr.storage.ObjectStore(backend, read_only=read_only)


def remote_libraries() -> list[RemoteLibrary]:
    """zarrkit first (the reference of every ratio), then zarr-python over its two stores."""
    return [ZarrkitRemote(), ZarrPythonFsspec(), ZarrPythonObstore()]





def _s3_measurements(
    case: RemoteCase, side: int, data: np.ndarray, server: S3Server, libraries: Sequence[RemoteLibrary], repeat: int
) -> list[Measurement]:
    """Write then read the array on S3 with each library; every write round goes to a fresh prefix."""
    label = f"S3, {case.label(side)}"
    latest: dict[str, Location] = {}

    def write_step(library: RemoteLibrary) -> Step:
        def create_fresh() -> Any:
            # A new prefix instead of overwriting, so deleting the previous copy costs nothing.
            location = Location(f"s3://{server.bucket}/{case.name}-{library.name}-{uuid.uuid4().hex}", server)
            latest[library.name] = location
            return library.create(location, side, case.chunk_side)

        return Step(create_fresh, lambda array: library.write(array, data), no_check)

    def read_step(library: RemoteLibrary) -> Step:
        return Step(
            lambda: library.open(latest[library.name]),
            library.read,
            data_check(data, f"{library.name} read of {label}"),
        )

    problems: dict[str, str] = {}
    measurements = time_rounds(
        label,
        "write",
        data.nbytes,
        {lib.name: write_step(lib) for lib in libraries},
        libraries,
        repeat,
        problems,
        progress=print_progress,
    )
    measurements += time_rounds(
        label,
        "read",
        data.nbytes,
        {lib.name: read_step(lib) for lib in libraries},
        libraries,
        repeat,
        problems,
        progress=print_progress,
    )
    return measurements


def _http_measurements(
    case: RemoteCase, side: int, data: np.ndarray, server: HTTPServer, libraries: Sequence[RemoteLibrary], repeat: int
) -> list[Measurement]:
    """Store the array once into nginx's directory with zarrkit, then read it over HTTP with each library."""
    label = f"HTTP, {case.label(side)}"
    directory = f"{case.name}.zarr"
    source = zarrkit.create_array(
        str(server.root / directory),
        shape=(side, side),
        dtype="float32",
        chunks=(case.chunk_side, case.chunk_side),
        compressors=zarrkit.codecs.ZstdCodec(level=ZSTD_LEVEL),
        overwrite=True,
    )
    source[...] = data
    location = Location(f"{server.url}/{directory}")
    steps = {
        library.name: Step(
            lambda library=library: library.open(location),
            library.read,
            data_check(data, f"{library.name} read of {label}"),
        )
        for library in libraries
    }
    return time_rounds(label, "read", data.nbytes, steps, libraries, repeat, {}, progress=print_progress)


def _within_two_times_table(
    measurements: Sequence[Measurement], cases: Sequence[RemoteCase], side_of: dict[str, int]
) -> str:
    """Per server and operation, each library's 64 KiB-chunk throughput as a share of its 4 MiB one."""
    large, small = (REMOTE_CASES_BY_NAME["remote-4mib"], REMOTE_CASES_BY_NAME["remote-64kib"])
    if large not in cases or small not in cases:
        return "(needs both arrays; run without --only)"
    by_key = {(m.case, m.operation, m.library): m.median_mib_per_second for m in measurements}
    names = list(dict.fromkeys(m.library for m in measurements))
    lines = ["| server | operation | " + " | ".join(names) + " |", "|---|---|" + "---:|" * len(names)]
    for server in ("S3", "HTTP"):
        for operation in ("write", "read"):
            large_label = f"{server}, {large.label(side_of[large.name])}"
            small_label = f"{server}, {small.label(side_of[small.name])}"
            if (large_label, operation, names[0]) not in by_key:
                continue
            cells = []
            for name in names:
                large_speed, small_speed = (
                    by_key[(large_label, operation, name)],
                    by_key[(small_label, operation, name)],
                )
                if large_speed is None or small_speed is None:
                    cells.append("-")
                else:
                    share = small_speed / large_speed
                    cells.append(f"{share:.2f}x ({'yes' if share >= 0.5 else 'no'})")
            lines.append(f"| {server} | {operation} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _header(
    libraries: Sequence[RemoteLibrary], cases: Sequence[RemoteCase], side_of: dict[str, int], repeat: int
) -> str:
    versions = "; ".join(f"{library.name}: {library.version}" for library in libraries)
    arrays = "; ".join(
        f"{side_of[case.name]} x {side_of[case.name]} float32 in {case.chunk_side} x {case.chunk_side} chunks"
        for case in cases
    )
    return "\n".join(
        [
            f"# zarrkit remote benchmarks: {versions}",
            "",
            f"- machine: Python {platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.machine()}; the servers run on the same machine, over loopback",
            f"- arrays: {arrays}; Zarr v3, bytes (little endian) + zstd level 1 without checksum",
            "- S3: SeaweedFS (`weed server -s3`); each library writes its own copy (a fresh prefix per round) "
            "and reads its last one",
            "- HTTP: nginx serving a directory; zarrkit stores the array there once, untimed; read only",
            f"- timing: median of {repeat} interleaved round(s) of wall time, the order rotating per round; "
            "MiB/s counts uncompressed array bytes; ratios are ratios of medians; opening or creating the "
            "array is outside the clock; every read is checked against the source outside the clock",
        ]
    )


def run_remote(arguments: argparse.Namespace) -> int:
    """Start the servers, run the selected remote cases, print the report; 1 when any run failed."""
    libraries = remote_libraries()
    repeat = arguments.repeat or (QUICK_ROUNDS if arguments.quick else FULL_ROUNDS)
    cases = [REMOTE_CASES_BY_NAME[arguments.only]] if arguments.only else list(REMOTE_CASES)
    side_of = {case.name: QUICK_SIDE if arguments.quick else case.side for case in cases}
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="zarrkit-remote-bench-", dir=arguments.dir) as directory:
        root = Path(directory)
        (root / "seaweedfs").mkdir()
        (root / "nginx").mkdir()
        with seaweedfs(root / "seaweedfs") as s3_server, nginx(root / "nginx") as http_server:
            for case in cases:
                side = side_of[case.name]
                data = realistic_field(side)
                measurements += _s3_measurements(case, side, data, s3_server, libraries, repeat)
                measurements += _http_measurements(case, side, data, http_server, libraries, repeat)
                del data
    names = [library.name for library in libraries]
    print(_header(libraries, cases, side_of, repeat))
    print()
    print(format_table(measurements, names))
    print()
    if repeat > 1:
        print(f"Spread over the {repeat} rounds (lowest-highest MiB/s, and per-round ratios):")
        print()
        print(format_spread_table(measurements, names))
        print()
    print("64 KiB chunks' throughput as a share of 4 MiB chunks' (target: within 2x, i.e. at least 0.50x):")
    print()
    print(_within_two_times_table(measurements, cases, side_of))
    problems = [f"- {m.case} | {m.operation} | {m.library}: {m.problem}" for m in measurements if m.problem]
    return report_failures(problems)
