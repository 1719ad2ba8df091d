"""moto's S3 server for the tests: one per test session on a free loopback port, with one bucket;
each test takes a prefix of its own (:meth:`S3Server.fresh_url`), so tests never see each other's keys.

moto does not check signatures, so any credentials pass; its log records every request, which
lets tests count them.
"""

from __future__ import annotations

import re
import shutil
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.http import quick_retries
from tests.servers.process import LOOPBACK, free_port, running

BUCKET = "zarrkit-tests"

# moto logs like werkzeug: 127.0.0.1 - - [date] "GET /bucket/key HTTP/1.1" 206 -  (maybe in colour)
_LOG_LINE = re.compile(r'"(?:\x1b\[[0-9;]*m)*([A-Z]+) (\S+) HTTP/[0-9.]+(?:\x1b\[[0-9;]*m)*" (\d{3})')


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server with the bucket :data:`BUCKET`."""

    port: int
    log: Path

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def storage_options(self) -> dict:
        """storage_options that reach this server (moto takes any credentials)."""
        return {
            "endpoint": self.endpoint,
            "region": "us-east-1",
            "access_key_id": "testing",
            "secret_access_key": "testing",
            "retry_config": quick_retries(),
        }

    def fresh_url(self) -> str:
        """``s3://<bucket>/test-<unique>``: a prefix no other caller gets."""
        return f"s3://{BUCKET}/test-{uuid.uuid4().hex}"

    def requests(self, fragment: str) -> list[tuple[str, str, int]]:
        """``(method, target, status)`` of each logged request whose target contains ``fragment``."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            match = _LOG_LINE.search(line)
            if match and fragment in match.group(2):
                found.append((match.group(1), match.group(2), int(match.group(3))))
        return found


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto_server with the bucket :data:`BUCKET` created."""
    directory = tmp_path_factory.mktemp("moto")
    port = free_port()
    executable = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    log = directory / "moto.log"
    with running([executable, "-H", LOOPBACK, "-p", str(port)], port=port, log=log):
        server = S3Server(port, log)
        # moto does not check signatures: an unsigned PUT creates the bucket.
        urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/{BUCKET}", method="PUT"), timeout=30)
        yield server
