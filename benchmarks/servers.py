"""The servers of the remote benchmarks: SeaweedFS's S3 gateway and nginx, on free loopback ports.

They are started the way the test fixtures in ``tests/servers`` start them, reusing those modules'
configuration and process handling; the fixtures themselves need pytest to run, so each server has
a plain context manager here. Both stop when their block ends.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.servers.http import _NGINX_CONFIG, INJECTED_STATUSES, _user_directive
from tests.servers.process import LOOPBACK, free_port, running
from tests.servers.seaweedfs import _PORT_FLAGS, BUCKET, WRITER, _create_bucket, _identities


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
    """``weed server -s3`` keeping its data under ``directory``; raises RuntimeError if it does not start."""
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
        server = S3Server(f"http://{LOOPBACK}:{ports['s3.port']}", BUCKET, *WRITER)
        client = boto3.client(
            "s3",
            endpoint_url=server.endpoint,
            region_name=server.region,
            aws_access_key_id=server.access_key_id,
            aws_secret_access_key=server.secret_access_key,
        )
        _create_bucket(client)
        yield server
        # weed takes over 10 s to stop on SIGTERM; its data is temporary, so it is killed at once.
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def nginx(directory: Path) -> Iterator[HTTPServer]:
    """nginx serving ``directory / "root"`` (created here); raises RuntimeError if it does not start."""
    root = directory / "root"
    root.mkdir()
    (directory / "temp").mkdir()
    port = free_port()
    status_locations = "\n".join(
        f"        location ^~ /status-{status}/ {{ return {status}; }}" for status in INJECTED_STATUSES
    )
    config = directory / "nginx.conf"
    config.write_text(
        _NGINX_CONFIG.format(
            directory=directory,
            root=root,
            host=LOOPBACK,
            port=port,
            user=_user_directive(),
            status_locations=status_locations,
        )
    )
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    command = [executable, "-c", str(config), "-p", str(directory), "-e", str(directory / "error.log")]
    with running(command, port=port, log=directory / "nginx.log"):
        yield HTTPServer(f"http://{LOOPBACK}:{port}", root)
