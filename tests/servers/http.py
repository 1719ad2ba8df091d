"""HTTP servers for the tests.

- ``nginx_server``: a real nginx serving a temporary directory, with Range support and directory
  indexes, on a free loopback port; one per test session. Paths under ``/status-<code>/`` answer
  that status, for error handling against a real server. Its access log records every request
  with its Range header, so tests can count requests.
- ``scripted_http``: a small HTTP server in the test process whose answers a test scripts (objects,
  injected statuses, short or cut bodies, delays), for faults nginx cannot produce. It records each
  request and the most requests it ever had in flight at once.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from tests.servers.process import LOOPBACK, free_port, running

INJECTED_STATUSES = (401, 403, 503)
"""nginx answers status ``code`` for every path under ``/status-<code>/``."""

_NGINX_CONFIG = """\
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
{user}
events {{ worker_connections 1024; }}
http {{
    log_format ranges '$request_method $request_uri $status "$http_range"';
    access_log {directory}/access.log ranges;
    client_body_temp_path {directory}/temp/body;
    proxy_temp_path {directory}/temp/proxy;
    fastcgi_temp_path {directory}/temp/fastcgi;
    uwsgi_temp_path {directory}/temp/uwsgi;
    scgi_temp_path {directory}/temp/scgi;
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen {host}:{port};
        root {root};
        # Directory indexes only for paths ending in "/"; a directory named without its trailing
        # slash is not a key, so it answers 404 rather than redirecting to its index.
        location ~ /$ {{ autoindex on; }}
        location / {{ try_files $uri =404; }}
{status_locations}
    }}
}}
"""

_ACCESS_LINE = re.compile(r'(\S+) (\S+) (\d{3}) "(.*)"')


@dataclass(frozen=True)
class LoggedRequest:
    """One line of nginx's access log."""

    method: str
    path: str
    status: int
    range: str


@dataclass(frozen=True)
class NginxServer:
    """A running nginx: its port, the directory it serves and its access log."""

    port: int
    root: Path
    access_log: Path

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, the served directory's root."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def storage_options(self) -> dict:
        """storage_options for HTTP stores on this server: quick retries, so error tests stay fast."""
        return {"retry_config": quick_retries()}

    def fresh_directory(self) -> tuple[Path, str]:
        """A new empty directory below the root, and its URL."""
        name = f"test-{uuid.uuid4().hex}"
        directory = self.root / name
        directory.mkdir()
        return directory, f"{self.url}/{name}"

    def requests(self, path_prefix: str) -> list[LoggedRequest]:
        """The logged requests whose path starts with ``path_prefix`` (``"/test-.../"``), including
        every request answered before this call. Raises RuntimeError if the log stops growing."""
        self._wait_for_earlier_requests()
        found = []
        for line in self.access_log.read_text().splitlines():
            match = _ACCESS_LINE.fullmatch(line)
            if match and match.group(2).startswith(path_prefix):
                found.append(LoggedRequest(match.group(1), match.group(2), int(match.group(3)), match.group(4)))
        return found

    def _wait_for_earlier_requests(self) -> None:
        # nginx writes a request's log line just after the client has its answer, so a test that
        # reads the log at once can miss the last line. nginx runs one worker, which handles requests
        # in turn: once a marker request sent now is logged, every earlier request is logged too.
        marker = f"/log-marker-{uuid.uuid4().hex}"
        with contextlib.suppress(urllib.error.HTTPError):  # the marker path does not exist: 404
            urllib.request.urlopen(self.url + marker, timeout=10).close()
        deadline = time.monotonic() + 10
        while marker not in self.access_log.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not log {marker} within 10 s")
            time.sleep(0.002)


def quick_retries() -> dict:
    """An obstore retry configuration that gives up after two quick retries."""
    from datetime import timedelta

    return {
        "max_retries": 2,
        "retry_timeout": timedelta(seconds=10),
        "backoff": {"init_backoff": timedelta(milliseconds=5), "max_backoff": timedelta(milliseconds=20)},
    }


def _user_directive() -> str:
    # As root, nginx's workers would run as "nobody" and could not read files the tests write.
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"


@contextlib.contextmanager
def run_nginx(directory: Path) -> Iterator[tuple[int, Path]]:
    """nginx serving ``directory / "root"`` (created here) as a foreground process with its config,
    pid and logs in ``directory``; yields the port and the root. Raises RuntimeError if it does not start.
    """
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
        yield port, root


@pytest.fixture(scope="session")
def nginx_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxServer]:
    """nginx serving a temporary directory (see :func:`run_nginx`)."""
    directory = tmp_path_factory.mktemp("nginx")
    with run_nginx(directory) as (port, root):
        yield NginxServer(port, root, directory / "access.log")


# -- the scripted server --------------------------------------------------------------------------

_S3_CODES = {401: "Unauthorized", 403: "AccessDenied", 404: "NoSuchKey", 503: "SlowDown"}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the scripted server answered."""

    method: str
    target: str
    range: str | None
    authorization: str | None


@dataclass
class ScriptedHTTPServer:
    """What the scripted server serves, which faults it injects, and what it saw.

    ``objects`` maps paths (``"/bucket/key"``, not percent-encoded) to bytes, served with Range
    support. ``faults`` maps the start of a request target (path and query) to a status code to
    answer (with an S3-style XML error body), or to ``"short"`` (a ranged request gets a 206 whose
    body is half the range its Content-Range claims, with a matching Content-Length) or ``"cut"``
    (half the body, then the connection closes). ``missing_status`` answers paths that are not objects. ``delay`` seconds
    pass before each answer.
    """

    port: int
    objects: dict[str, bytes] = field(default_factory=dict)
    faults: dict[str, int | str] = field(default_factory=dict)
    missing_status: int = 404
    delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    # Requests still running from an earlier test (a delay the client gave up on) must not count
    # toward the next test's peak: each reset starts a new generation.
    _generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    def reset(self) -> None:
        """Forget objects, faults, settings and recorded requests."""
        with self._lock:
            self.objects, self.faults, self.requests = {}, {}, []
            self.missing_status, self.delay, self.max_in_flight = 404, 0.0, 0
            self._in_flight, self._generation = 0, self._generation + 1

    def targets(self, method: str = "GET") -> list[str]:
        """The targets of the recorded requests with ``method``, in order."""
        return [request.target for request in self.requests if request.method == method]

    def _enter(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return self._generation

    def _leave(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._in_flight -= 1


def _handler_for(server: ScriptedHTTPServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Quiet: the server records requests itself."""

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
            self._answer(with_body=False)

        def _answer(self, with_body: bool) -> None:
            request = RecordedRequest(
                self.command, self.path, self.headers.get("Range"), self.headers.get("Authorization")
            )
            # In flight means "in the delay": once the answer is being written the client may
            # already send its next request, which must not count as overlapping this one.
            generation = server._enter(request)
            try:
                time.sleep(server.delay)
            finally:
                server._leave(generation)
            self._respond(with_body)

        def _respond(self, with_body: bool) -> None:
            fault = next((fault for start, fault in server.faults.items() if self.path.startswith(start)), None)
            data = server.objects.get(unquote(urlsplit(self.path).path))
            partial = self.headers.get("Range") is not None
            start, stop = _parse_range(self.headers.get("Range"), len(data or b""))
            if isinstance(fault, int):
                self._status(fault, with_body)
            elif data is None:
                self._status(server.missing_status, with_body)
            elif partial and start >= stop:
                self._status(416, with_body)
            else:
                self._data(data[start:stop], f"bytes {start}-{stop - 1}/{len(data)}" if partial else None, fault, with_body)

        def _data(self, body: bytes, content_range: str | None, fault: str | None, with_body: bool) -> None:
            length = len(body)
            if fault == "short" and content_range:
                body = body[: length // 2]
                length = len(body)  # consistent with the body, not with the Content-Range
            elif fault == "cut":
                body = body[: length // 2]
                self.close_connection = True
            self.send_response(206 if content_range else 200)
            if content_range:
                self.send_header("Content-Range", content_range)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def _status(self, status: int, with_body: bool) -> None:
            code = _S3_CODES.get(status, "InternalError")
            body = f"<Error><Code>{code}</Code><Message>scripted {status}</Message></Error>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

    return Handler


def _parse_range(header: str | None, size: int) -> tuple[int, int]:
    """``(start, stop)`` of a single ``bytes=`` range within ``size`` bytes (the whole for None)."""
    if header is None:
        return 0, size
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first:
        return max(size - int(last), 0), size
    stop = size if not last else min(int(last) + 1, size)
    return int(first), stop


class _QuietThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default of 5 would hold back a burst of concurrent requests

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that give up mid-answer (timeouts, resets) are part of the tests, not failures."""


@pytest.fixture(scope="session")
def scripted_http_server() -> Iterator[ScriptedHTTPServer]:
    """The scripted server, running in a thread of this process for the whole session."""
    port = free_port()
    state = ScriptedHTTPServer(port)
    httpd = _QuietThreadingServer((LOOPBACK, port), _handler_for(state))
    thread = threading.Thread(target=httpd.serve_forever, name="scripted-http", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def scripted_http(scripted_http_server: ScriptedHTTPServer) -> ScriptedHTTPServer:
    """The scripted server, reset for this test."""
    scripted_http_server.reset()
    return scripted_http_server
