"""``python -m benchmarks.transport``: what the servers of the remote benchmarks can deliver at all.

Fetches the same objects the remote cases read (4 MiB and 64 KiB, random bytes, no decoding) from
SeaweedFS's S3 gateway and from nginx, three ways: obstore alone with 32 and 128 requests in
flight (the client with the least overhead there is), and zarrkit's ``ObjectStore.get_many``.
The result bounds what any Zarr reader can reach on this machine, where the servers share the
cores with the client: if fetching 64 KiB objects without decoding them is slower than half the
decoded 4 MiB throughput, "64 KiB within 2x of 4 MiB" cannot be met here.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import obstore

from benchmarks.servers import nginx, seaweedfs
from benchmarks.timing import MIB
from zarrkit.runtime import sync
from zarrkit.storage.object import ObjectStore
from zarrkit.storage.url import open_store

SIZES = {"4 MiB": (4 * MIB, 128), "64 KiB": (64 * 1024, 2048)}
"""Object size and count per case (512 MiB and 128 MiB)."""
ROUNDS = 3


async def _fetch_all(backend: object, keys: list[str], in_flight: int) -> int:
    limit = asyncio.Semaphore(in_flight)

    async def fetch(key: str) -> int:
        async with limit:
            result = await obstore.get_async(backend, key)
            return len(await result.bytes_async())

    return sum(await asyncio.gather(*(fetch(key) for key in keys)))


def _throughputs(store: ObjectStore, keys: list[str], nbytes: int) -> dict[str, float]:
    """MiB/s of each way of fetching ``keys``, median of :data:`ROUNDS` interleaved rounds."""
    ways: dict[str, Callable[[], object]] = {
        "obstore, 32 in flight": lambda: asyncio.run(_fetch_all(store.backend, keys, 32)),
        "obstore, 128 in flight": lambda: asyncio.run(_fetch_all(store.backend, keys, 128)),
        "zarrkit get_many": lambda: sync(store.get_many([(key, None) for key in keys])),
    }
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(ROUNDS):
        for name, fetch in ways.items():
            started = time.perf_counter()
            fetch()
            samples[name].append(nbytes / MIB / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in samples.items()}


def _fill(store: ObjectStore, size: int, count: int) -> list[str]:
    blob = os.urandom(size)
    keys = [f"{size}/{index}" for index in range(count)]
    sync(store.set_many([(key, blob) for key in keys]))
    return keys


def main() -> None:
    """Print a markdown table of fetch throughputs per server, object size and client."""
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "s3").mkdir()
        (Path(directory) / "http").mkdir()
        with seaweedfs(Path(directory) / "s3") as s3, nginx(Path(directory) / "http") as http:
            s3_options = {
                "endpoint": s3.endpoint,
                "region": s3.region,
                "access_key_id": s3.access_key_id,
                "secret_access_key": s3.secret_access_key,
            }
            s3_store = open_store(f"s3://{s3.bucket}/transport", mode="a", storage_options=s3_options)
            for label, (size, count) in SIZES.items():
                keys = _fill(s3_store, size, count)
                for way, speed in _throughputs(s3_store, keys, size * count).items():
                    rows.append(("S3 (SeaweedFS)", label, way, speed))
            for label, (size, count) in SIZES.items():
                directory_of_size = http.root / str(size)
                directory_of_size.mkdir()
                blob = os.urandom(size)
                for index in range(count):
                    (directory_of_size / str(index)).write_bytes(blob)
                http_store = open_store(http.url)
                keys = [f"{size}/{index}" for index in range(count)]
                for way, speed in _throughputs(http_store, keys, size * count).items():
                    rows.append(("HTTP (nginx)", label, way, speed))
    print("| server | object size | client | MiB/s |")
    print("|---|---|---|---:|")
    for server, label, way, speed in rows:
        print(f"| {server} | {label} | {way} | {speed:,.0f} |")


if __name__ == "__main__":
    main()
