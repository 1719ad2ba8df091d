"""Azurite, Microsoft's Azure Storage emulator, for the tests: its blob service only, one per test
session on a free loopback port, keeping everything in memory, with one container; each test takes
a prefix of its own (:meth:`AzuriteServer.fresh_url`).

Azurite comes from npm (``npm install --prefix .venv/node azurite``, which ``make test`` runs) and
checks Shared Key signatures, so requests need the emulator's well-known account and key.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
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

CONTAINER = "zarrkit-tests"

# The development account every Azure Storage emulator accepts (published in Azurite's README).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

_API_VERSION = "2021-08-06"


@dataclass(frozen=True)
class AzuriteServer:
    """A running Azurite blob service with the container :data:`CONTAINER`."""

    port: int
    log: Path

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:<port>/devstoreaccount1``: Azurite serves accounts path-style."""
        return f"http://{LOOPBACK}:{self.port}/{ACCOUNT_NAME}"

    @property
    def storage_options(self) -> dict:
        """storage_options (obstore ``AzureConfig`` keys) that reach this server."""
        return {
            "endpoint": self.endpoint,
            "account_name": ACCOUNT_NAME,
            "account_key": ACCOUNT_KEY,
            "retry_config": quick_retries(),
        }

    def fresh_url(self) -> str:
        """``az://<container>/test-<unique>``: a prefix no other caller gets."""
        return f"az://{CONTAINER}/test-{uuid.uuid4().hex}"

    def create_container(self, name: str) -> None:
        """Create the container ``name`` with a Shared Key signed request (obstore cannot create
        containers); raises urllib's HTTPError if Azurite refuses."""
        headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": _API_VERSION}
        canonical_headers = "".join(f"{header}:{value}\n" for header, value in sorted(headers.items()))
        # Path-style URLs repeat the account name in the signed resource.
        resource = f"/{ACCOUNT_NAME}/{ACCOUNT_NAME}/{name}\nrestype:container"
        # The eleven empty standard headers of a PUT without a body, as the Shared Key scheme lists them.
        string_to_sign = "PUT\n" + "\n" * 11 + canonical_headers + resource
        digest = hmac.new(base64.b64decode(ACCOUNT_KEY), string_to_sign.encode(), hashlib.sha256).digest()
        headers["Authorization"] = f"SharedKey {ACCOUNT_NAME}:{base64.b64encode(digest).decode()}"
        request = urllib.request.Request(
            f"{self.endpoint}/{name}?restype=container", method="PUT", headers={**headers, "Content-Length": "0"}
        )
        urllib.request.urlopen(request, timeout=30).close()


def _azurite_blob_executable() -> str:
    """``azurite-blob`` as ``make test`` installs it below the virtualenv, else from ``PATH``."""
    installed = Path(sys.executable).parent.parent / "node" / "node_modules" / ".bin" / "azurite-blob"
    if installed.exists():
        return str(installed)
    found = shutil.which("azurite-blob")
    if found is None:
        raise RuntimeError(
            f"azurite-blob is not installed (looked at {installed} and PATH): run `make servers`, "
            "or `npm install --prefix .venv/node azurite`"
        )
    return found


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service, in memory, with the container :data:`CONTAINER` created."""
    directory = tmp_path_factory.mktemp("azurite")
    port = free_port()
    command = [
        _azurite_blob_executable(),
        "--blobHost", LOOPBACK,
        "--blobPort", str(port),
        "--inMemoryPersistence",
        "--extentMemoryLimit", "512",
        "--disableTelemetry",
        # obstore may send a newer x-ms-version than this Azurite knows; the tests need no newer feature.
        "--skipApiVersionCheck",
    ]  # fmt: skip
    log = directory / "azurite.log"
    with running(command, port=port, log=log, cwd=directory):
        server = AzuriteServer(port, log)
        server.create_container(CONTAINER)
        yield server
