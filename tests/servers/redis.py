"""A real redis-server for the tests: one per test session, on a free loopback port, in memory only."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.servers.process import LOOPBACK, free_port, running


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: its port, and URLs for RedisStore."""

    port: int

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>``: database 0, no key prefix."""
        return f"redis://{LOOPBACK}:{self.port}"

    def fresh_url(self, db: int = 0) -> str:
        """A URL with a key prefix no other caller gets, so tests sharing the server never see each
        other's keys."""
        return f"{self.url}/{db}/test-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server that keeps nothing on disk (no snapshots, no append-only file)."""
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    executable = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [
        executable,
        "--port", str(port),
        "--bind", LOOPBACK,
        "--save", "",
        "--appendonly", "no",
        "--dir", str(directory),
    ]  # fmt: skip
    with running(command, port=port, log=directory / "redis.log"):
        yield RedisServer(port)
