"""The servers of the remote benchmarks: SeaweedFS's S3 gateway and nginx, on free loopback ports.

They are started by the same functions the test fixtures in ``tests/servers`` use; here they are
described in the terms the benchmarks need. Both stop when their block ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers.http import run_nginx
from tests.servers.process import LOOPBACK
from tests.servers.seaweedfs import BUCKET, WRITER, run_seaweedfs


@dataclass(frozen=True)
class S3Server:
    """A running S3 gateway with the bucket ``bucket``, and the read-write identity's keys."""

    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"


@dataclass(frozen=True)
class HTTPServer:
    """A running nginx serving the directory ``root`` at ``url``."""

    url: str
    root: Path


@contextlib.contextmanager
def seaweedfs(directory: Path) -> Iterator[S3Server]:
    """SeaweedFS's S3 gateway keeping its data under ``directory``; raises RuntimeError if it does not start."""
    with run_seaweedfs(directory) as server:
        yield S3Server(server.endpoint, BUCKET, *WRITER)


@contextlib.contextmanager
def nginx(directory: Path) -> Iterator[HTTPServer]:
    """nginx serving ``directory / "root"`` (created here); raises RuntimeError if it does not start."""
    with run_nginx(directory) as (port, root):
        yield HTTPServer(f"http://{LOOPBACK}:{port}", root)
