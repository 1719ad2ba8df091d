"""Starting real servers for the tests: a free loopback port, a process, a readiness wait, cleanup."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on the loopback address that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def port_accepts(port: int) -> bool:
    """True when something accepts TCP connections on ``port`` of the loopback address."""
    with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def running(
    command: Sequence[str],
    *,
    port: int,
    log: Path,
    ready: Callable[[], bool] | None = None,
    timeout: float = 30.0,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends; wait until ``ready()`` (default: ``port`` accepts).

    Raises RuntimeError with the server's log when it exits early or is not ready in time, so a
    test fails with the reason instead of hanging or skipping.
    """
    is_ready = ready or (lambda: port_accepts(port))
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        deadline = time.monotonic() + timeout
        while not is_ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"server {command[0]} did not start (exit code {process.poll()}):\n{log.read_text(errors='replace')}"
                )
            time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
