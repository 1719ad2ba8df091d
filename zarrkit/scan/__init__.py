"""Scanners: existing files (HDF5/NetCDF4, NetCDF3, TIFF, MAT, GRIB) turned into reference sets.

:func:`scan` reads one file through the storage layer (a read-ahead block cache in front of any
path or URL), recognises its format by its magic bytes and hands it to the scanner of that format;
:func:`scan_many` scans files in parallel processes and collects the failures instead of stopping
at the first. Each scanner lives in a module of this package with a ``scan_<format>(source, *,
zarr_format, **options)`` function and an ``is_<format>(header)`` magic-byte check.
"""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from zarrkit.errors import UnsupportedFeature, ZarrkitError
from zarrkit.refs.model import ReferenceSet
from zarrkit.runtime import pool_size
from zarrkit.scan.source import ScanSource

FORMATS = ("hdf5", "netcdf3", "tiff", "mat", "grib")
"""The formats :func:`scan` knows."""

# MAT before HDF5: a MAT v7.3 file is an HDF5 file behind a MAT header.
_DETECTION_ORDER = ("mat", "netcdf3", "tiff", "grib", "hdf5")
HEADER_BYTES = 4096
"""Bytes read to recognise a format (HDF5 may start after a user block of 512, 1024 or 2048 bytes)."""


def _scanner_module(name: str) -> Any:
    try:
        return importlib.import_module(f"zarrkit.scan.{name}")
    except ModuleNotFoundError as error:
        if error.name == f"zarrkit.scan.{name}":
            raise UnsupportedFeature(f"no scanner for {name!r} files in this version of zarrkit") from None
        raise


def detect_format(header: bytes, *, where: str) -> str:
    """The format whose magic bytes ``header`` (the first bytes of a file) starts with.

    Raises UnsupportedFeature naming ``where`` when no format matches.
    """
    for name in _DETECTION_ORDER:
        try:
            module = _scanner_module(name)
        except UnsupportedFeature:
            continue
        if getattr(module, f"is_{name}")(header):
            return name
    raise UnsupportedFeature(
        f"{where}: the first bytes ({header[:8]!r}) match no format zarrkit scans ({', '.join(FORMATS)}); "
        "pass format=... if you know what it is"
    )


def scan(
    url: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - the natural name, as in the command's --format
    zarr_format: int = 2,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> ReferenceSet:
    """The reference set of the file at ``url``: its arrays and groups as Zarr metadata (v2 by
    default, v3 with ``zarr_format=3``) and references to its chunks.

    ``format`` (one of :data:`FORMATS`) overrides detection by magic bytes; ``storage_options`` go
    to the store of the URL; ``options`` go to the format's scanner (see its module). Raises
    StoreError when the file cannot be read, UnsupportedFeature when its format is unknown or uses
    a feature that cannot be referenced, MetadataError when it is malformed or truncated.
    """
    references, _ = scan_with_cost(
        url, format=format, zarr_format=zarr_format, storage_options=storage_options, **options
    )
    return references


@dataclass(frozen=True)
class ScanCost:
    """What scanning one file took: requests to its store, bytes read and seconds."""

    requests: int
    bytes_read: int
    seconds: float


def scan_with_cost(
    url: str | os.PathLike[str],
    *,
    format: str | None = None,  # noqa: A002 - as in scan
    zarr_format: int = 2,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> tuple[ReferenceSet, ScanCost]:
    """:func:`scan`, and what the scan cost. Raises as :func:`scan` does."""
    if format is not None and format not in FORMATS:
        raise UnsupportedFeature(f"unknown format {format!r} for {os.fsdecode(url)!r}: use one of {FORMATS}")
    started = time.perf_counter()
    with ScanSource(url, storage_options=storage_options) as source:
        name = format or detect_format(source.read_range(0, HEADER_BYTES), where=source.url)
        scanner: Callable[..., ReferenceSet] = getattr(_scanner_module(name), f"scan_{name}")
        references = scanner(source, zarr_format=zarr_format, **options)
        return references, ScanCost(source.requests, source.bytes_read, time.perf_counter() - started)


@dataclass
class ScanResults:
    """What :func:`scan_many` produced: the reference set and the cost of each file that scanned,
    and the error of each that did not (keyed by URL, in the order the URLs were given)."""

    references: dict[str, ReferenceSet] = field(default_factory=dict)
    costs: dict[str, ScanCost] = field(default_factory=dict)
    failures: dict[str, ZarrkitError] = field(default_factory=dict)


def scan_many(
    urls: Sequence[str | os.PathLike[str]],
    *,
    workers: int | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    **scan_options: Any,
) -> ScanResults:
    """Scan every file of ``urls`` (with :func:`scan` and ``scan_options``) in ``workers`` processes
    (default: the usable cores; 1 scans in this process). A file that fails does not stop the
    others: its error is kept in the results. ``progress(done, total, url)`` is called as each
    file finishes. Errors other than zarrkit's (bugs, interrupts) are raised.
    """
    names = [os.fsdecode(url) for url in urls]
    workers = workers or pool_size()
    outcomes: dict[str, tuple[ReferenceSet, ScanCost] | ZarrkitError] = {}

    def record(url: str, outcome: tuple[ReferenceSet, ScanCost] | ZarrkitError) -> None:
        outcomes[url] = outcome
        if progress is not None:
            progress(len(outcomes), len(names), url)

    if workers == 1 or len(names) == 1:
        for url in names:
            record(url, _scan_or_error(url, scan_options))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(names))) as executor:
            futures = {executor.submit(_scan_or_error, url, scan_options): url for url in names}
            for future in as_completed(futures):
                record(futures[future], future.result())
    results = ScanResults()
    for url in names:
        outcome = outcomes[url]
        if isinstance(outcome, ZarrkitError):
            results.failures[url] = outcome
        else:
            results.references[url], results.costs[url] = outcome
    return results


def _scan_or_error(url: str, options: dict[str, Any]) -> tuple[ReferenceSet, ScanCost] | ZarrkitError:
    try:
        return scan_with_cost(url, **options)
    except ZarrkitError as error:
        return error
