"""Pre-signed URLs and SignedURLStore: moto for presigning and reading in a process without
credentials (and through fsspec and zarr-python), a local signing service, the scripted server for
the HTTP rules, and SeaweedFS and Azurite, which really check signatures and permissions."""

from __future__ import annotations

import functools
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import fsspec
import numpy as np
import obstore
import pytest
import zarr

import zarrkit
from tests.servers.azurite import AzuriteServer
from tests.servers.http import ScriptedHTTPServer
from tests.servers.process import LOOPBACK, free_port
from tests.servers.s3 import S3Server
from tests.servers.seaweedfs import SeaweedServer
from zarrkit.cli import main
from zarrkit.errors import (
    NodeNotFound,
    PermissionDenied,
    ReadOnlyError,
    StoreError,
    TransientStoreError,
    UnsupportedFeature,
)
from zarrkit.runtime import sync
from zarrkit.storage import ObjectStore, SignedURLStore, open_store, presign, presign_to_file

QUICK = {"retry_delays": (0.01, 0.02), "timeout": 5.0}
REPOSITORY = Path(__file__).resolve().parents[2]


# Run with the repository as working directory, in a process whose environment holds no credentials.
READER_SCRIPT = """
import sys
import numpy as np
import zarrkit

np.save(sys.argv[2], zarrkit.open_array("reference://" + sys.argv[1])[...])
"""


def _credential_free_environment(home: Path) -> dict[str, str]:
    """PATH only, and a HOME without ~/.aws: nothing a cloud SDK could take credentials from."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}


def _write_array(url: str, storage_options: dict, zarr_format: int = 3) -> np.ndarray:
    values = np.arange(40 * 30, dtype="int32").reshape(40, 30)
    values[20:, :] = 0  # the chunks of the lower half equal the fill value and are not stored
    array = zarrkit.create_array(
        url,
        storage_options=storage_options,
        shape=values.shape,
        dtype="int32",
        chunks=(10, 10),
        fill_value=0,
        zarr_format=zarr_format,
    )
    array[...] = values
    return values


def test_a_presigned_array_reads_in_a_process_without_credentials(s3_server: S3Server, tmp_path: Path) -> None:
    url = s3_server.fresh_url()
    values = _write_array(url, s3_server.storage_options)
    options = [
        f"--option={name}={value}" for name, value in s3_server.storage_options.items() if name != "retry_config"
    ]
    refs_path = tmp_path / "refs.json"

    assert main(["presign", url, "--expires", "600", "-o", str(refs_path), *options]) == 0

    refs = json.loads(refs_path.read_text())
    assert refs["version"] == 1
    assert json.loads(refs["refs"]["zarr.json"])["shape"] == [40, 30]
    chunk_keys = sorted(key for key in refs["refs"] if key != "zarr.json")
    assert chunk_keys == sorted(f"c/{row}/{column}" for row in range(2) for column in range(3))
    assert all(
        "X-Amz-Signature=" in refs["refs"][key][0] and "X-Amz-Expires=600" in refs["refs"][key][0] for key in chunk_keys
    )
    output = tmp_path / "values.npy"
    finished = subprocess.run(
        [sys.executable, "-c", READER_SCRIPT, str(refs_path), str(output)],
        env=_credential_free_environment(tmp_path),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    np.testing.assert_array_equal(np.load(output), values)


def test_zarr_python_reads_a_presigned_reference_set_through_fsspec(s3_server: S3Server) -> None:
    # The set follows the fsspec reference spec: fsspec's ReferenceFileSystem serves it to zarr-python.
    url = s3_server.fresh_url()
    values = _write_array(url, s3_server.storage_options)
    refs = presign(url, expires=60, storage_options=s3_server.storage_options)
    filesystem = fsspec.filesystem(
        "reference", fo=refs, remote_protocol="http", remote_options={"asynchronous": True}, asynchronous=True
    )

    array = zarr.open_array(zarr.storage.FsspecStore(filesystem, read_only=True, path=""), mode="r")

    np.testing.assert_array_equal(array[...], values)


def test_presign_inlines_every_metadata_document_of_a_v2_group(s3_server: S3Server, tmp_path: Path) -> None:
    url = s3_server.fresh_url()
    group = zarrkit.open_group(
        url, mode="w", zarr_format=2, storage_options=s3_server.storage_options, attributes={"a": 1}
    )
    array = group.create_array("x", shape=(4,), dtype="uint8", chunks=(2,), fill_value=0)
    array[...] = np.arange(1, 5, dtype="uint8")
    store = open_store(url, mode="r", storage_options=s3_server.storage_options)
    assert isinstance(store, ObjectStore)

    refs = presign_to_file(store, tmp_path / "refs.json", expires=60)

    assert refs == json.loads((tmp_path / "refs.json").read_text())
    assert set(refs["refs"]) == set(sync(store.list("")))
    assert json.loads(refs["refs"][".zattrs"]) == {"a": 1}
    assert json.loads(refs["refs"]["x/.zarray"])["chunks"] == [2]
    assert isinstance(refs["refs"][".zgroup"], str)
    assert [len(refs["refs"][key]) for key in ("x/0", "x/1")] == [1, 1]


@pytest.mark.parametrize("expires", [0, -5, 7 * 24 * 3600 + 1, 1.5, True])
def test_presign_refuses_a_validity_out_of_range(s3_server: S3Server, expires: object) -> None:
    with pytest.raises(StoreError, match="expires"):
        presign(s3_server.fresh_url(), expires=expires, storage_options=s3_server.storage_options)  # type: ignore[arg-type]


def test_presign_raises_node_not_found_where_there_is_no_array_or_group(s3_server: S3Server) -> None:
    url = s3_server.fresh_url()
    with pytest.raises(NodeNotFound, match="test-"):
        presign(url, expires=60, storage_options={**s3_server.storage_options, "check_on_open": False})


def test_the_cli_reports_bad_options_as_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "presign",
                "s3://zarrkit-tests/x",
                "--expires",
                "60",
                "-o",
                str(tmp_path / "r.json"),
                "--option",
                "nonsense",
            ]
        )
        == 1
    )
    assert "NAME=VALUE" in capsys.readouterr().err


# -- a signing service ----------------------------------------------------------------------------


class _SigningHandler(BaseHTTPRequestHandler):
    """POST a JSON list of keys, get {key: pre-signed URL}; only with the right token."""

    backend: object = None
    token = "secret-token"
    seen: list[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        keys = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(keys)
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            body, status = b'{"error": "who are you?"}', 403
        else:
            wanted = [key for key in keys if not key.startswith("hidden/")]
            urls = obstore.sign(self.backend, "GET", wanted, timedelta(seconds=60)) if wanted else []
            body, status = json.dumps(dict(zip(wanted, urls, strict=True))).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def signing_service(s3_server: S3Server) -> Iterator[tuple[str, str, np.ndarray]]:
    """A signing service for a fresh array on the S3 server: (service URL, array URL, values)."""
    url = s3_server.fresh_url()
    values = _write_array(url, s3_server.storage_options)
    store = open_store(url, mode="r", storage_options=s3_server.storage_options)
    handler = type("Handler", (_SigningHandler,), {"backend": store._backend, "seen": []})
    port = free_port()
    httpd = ThreadingHTTPServer((LOOPBACK, port), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{port}/sign", handler, values
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def test_an_array_reads_through_a_signing_service(signing_service: tuple) -> None:
    endpoint, handler, values = signing_service
    store = SignedURLStore.from_service(endpoint, service_headers={"Authorization": "Bearer secret-token"}, **QUICK)

    np.testing.assert_array_equal(zarrkit.open_array(store)[...], values)
    # The metadata documents first, then every chunk, stored or not, in batches of keys.
    assert "zarr.json" in handler.seen[0]
    asked = {key for batch in handler.seen[1:] for key in batch}
    assert asked == {f"c/{row}/{column}" for row in range(4) for column in range(3)}


def test_keys_the_service_does_not_sign_are_missing(signing_service: tuple) -> None:
    endpoint, _, _ = signing_service
    store = SignedURLStore.from_service(endpoint, service_headers={"Authorization": "Bearer secret-token"}, **QUICK)
    assert sync(store.get_many([("hidden/zarr.json", None), ("zarr.json", (0, 1))])) == [None, b"{"]


def test_a_service_that_refuses_the_caller_raises_permission_denied(signing_service: tuple) -> None:
    endpoint, _, _ = signing_service
    store = SignedURLStore.from_service(endpoint, service_headers={"Authorization": "Bearer wrong"}, **QUICK)
    with pytest.raises(PermissionDenied, match="signing service"):
        sync(store.get("zarr.json"))


# -- the HTTP rules, on the scripted server -------------------------------------------------------


def _scripted_store(scripted_http: ScriptedHTTPServer, **options: object) -> SignedURLStore:
    # Query strings stand in for signatures: messages must never show them.
    return SignedURLStore(lambda key: f"{scripted_http.url}/{key}?X-Amz-Signature=s3cr3t", **{**QUICK, **options})


def test_byte_ranges_are_read_and_near_ranges_share_a_request(scripted_http: ScriptedHTTPServer) -> None:
    data = bytes(range(256)) * 4
    scripted_http.objects["/a"] = data
    store = _scripted_store(scripted_http)

    got = sync(store.get_many([("a", (0, 10)), ("a", (20, 5)), ("a", (1020, 100)), ("a", (5000, 3))]))

    assert got == [data[0:10], data[20:25], data[1020:], b""]
    assert len(scripted_http.targets()) == 1
    scripted_http.requests.clear()
    assert sync(store.get_many([("a", (-6, None)), ("a", (1000, None)), ("a", None), ("a", (3, 0))])) == [
        data[-6:],
        data[1000:],
        data,
        b"",
    ]
    assert len(scripted_http.targets()) == 1


def test_a_range_and_the_size_come_in_one_request(nginx_server) -> None:
    directory, url = nginx_server.fresh_directory()
    data = os.urandom(1000)
    (directory / "blob").write_bytes(data)
    (directory / "empty").write_bytes(b"")
    store = SignedURLStore(lambda key: f"{url}/{key}?X-Amz-Signature=s3cr3t", **QUICK)
    calls = [
        (store.get_with_size("blob", (10, 20)), (data[10:30], 1000)),
        (store.get_with_size("blob", (995, 100)), (data[995:], 1000)),  # clipped at the end
        (store.get_with_size("blob", (1005, 10)), (b"", 1000)),  # past the end: 416 names the size
        (store.get_with_size("blob", (-3, None)), (data[-3:], 1000)),
        (store.get_with_size("blob"), (data, 1000)),
        (store.get_with_size("empty", (0, 10)), (b"", 0)),
        (store.get_with_size("missing", (0, 10)), None),
        (store.getsize("blob"), 1000),
        (store.getsize("empty"), 0),
        (store.getsize("missing"), None),
    ]
    for call, expected in calls:
        assert sync(call) == expected
    assert [request.method for request in nginx_server.requests("/" + directory.name + "/")] == ["GET"] * len(calls)


@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_requests_run_concurrently_under_the_bound(scripted_http: ScriptedHTTPServer, max_concurrency: int) -> None:
    scripted_http.objects.update({f"/k{number}": b"v" for number in range(8)})
    scripted_http.delay = 0.1
    store = _scripted_store(scripted_http, max_concurrency=max_concurrency)

    assert sync(store.get_many([(f"k{number}", None) for number in range(8)])) == [b"v"] * 8
    # The bound is never exceeded, and with room for several, requests do overlap.
    assert min(2, max_concurrency) <= scripted_http.max_in_flight <= max_concurrency


def test_signed_url_stores_survive_pickling(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects["/k"] = b"value"
    store = SignedURLStore(functools.partial(_urls_below, scripted_http.url), batched=True, **QUICK)

    copy = pickle.loads(pickle.dumps(store))

    assert sync(copy.get("k", (1, 3))) == b"alu"


def _urls_below(base: str, keys: list[str]) -> dict[str, str]:
    return {key: f"{base}/{key}" for key in keys}


def test_signed_reads_map_statuses_to_values_and_errors(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects.update({"/ok": b"x" * 100, "/short": b"y" * 100, "/cut": b"z" * 100})
    scripted_http.faults.update({"/denied": 403, "/gone": 401, "/busy": 503, "/short": "short", "/cut": "cut"})
    store = _scripted_store(scripted_http)

    assert sync(store.get("missing")) is None
    assert sync(store.get("ok", (98, 10))) == b"xx"
    for key, error in [
        ("denied", PermissionDenied),
        ("gone", PermissionDenied),
        ("busy", TransientStoreError),
        ("short", StoreError),
        ("cut", TransientStoreError),
    ]:
        with pytest.raises(error, match=key) as raised:
            sync(store.get(key, (0, 50)))
        assert "s3cr3t" not in str(raised.value)
    assert len([target for target in scripted_http.targets() if target.startswith("/busy")]) == 3


def test_signed_url_stores_refuse_writes_listing_and_bad_signers(scripted_http: ScriptedHTTPServer) -> None:
    store = _scripted_store(scripted_http)
    with pytest.raises(ReadOnlyError):
        sync(store.set("a", b"1"))
    with pytest.raises(UnsupportedFeature):
        sync(store.list())
    with pytest.raises(StoreError, match="http"):
        sync(SignedURLStore(lambda key: "file:///etc/passwd").get("a"))
    with pytest.raises(StoreError, match="mapping"):
        sync(SignedURLStore(lambda keys: ["x"], batched=True).get("a"))
    with pytest.raises(StoreError, match="max_concurrency"):
        SignedURLStore(lambda key: None, max_concurrency=0)


def test_async_and_batched_signers_are_awaited(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects["/k"] = b"value"
    calls: list[list[str]] = []

    async def sign(keys: list[str]) -> dict[str, str]:
        calls.append(keys)
        return {key: f"{scripted_http.url}/{key}" for key in keys}

    store = SignedURLStore(sign, batched=True, **QUICK)
    assert sync(store.get_many([("k", None), ("k", (1, 2)), ("nope", None)])) == [b"value", b"al", None]
    assert calls == [["k", "nope"]]


# -- SeaweedFS: signatures and permissions are checked ---------------------------------------------


def test_presigned_urls_are_checked_tampering_and_expiry_are_refused(seaweedfs_server: SeaweedServer) -> None:
    url = seaweedfs_server.fresh_url()
    values = _write_array(url, seaweedfs_server.storage_options())
    refs = presign(url, expires=600, storage_options=seaweedfs_server.storage_options())["refs"]
    short_lived = presign(url, expires=1, storage_options=seaweedfs_server.storage_options())["refs"]
    started = time.monotonic()

    np.testing.assert_array_equal(zarrkit.open_array(zarrkit.load_refs(refs))[...], values)

    tampered = SignedURLStore(lambda key: refs[key][0].replace("/c/0/0?", "/c/0/1?"), **QUICK)
    with pytest.raises(PermissionDenied, match="SignatureDoesNotMatch"):
        sync(tampered.get("c/0/0"))
    # The last hex digit of the signature, changed.
    forged = SignedURLStore(lambda key: refs[key][0][:-1] + ("1" if refs[key][0].endswith("0") else "0"), **QUICK)
    with pytest.raises(PermissionDenied, match="SignatureDoesNotMatch"):
        sync(forged.get("c/0/0"))

    time.sleep(max(0.0, 2.5 - (time.monotonic() - started)))
    expired = SignedURLStore(lambda key: short_lived[key][0], **QUICK)
    with pytest.raises(PermissionDenied, match="Request has expired"):
        sync(expired.get("c/0/0"))


def test_a_read_only_identity_reads_but_cannot_write(seaweedfs_server: SeaweedServer) -> None:
    url = seaweedfs_server.fresh_url()
    values = _write_array(url, seaweedfs_server.storage_options())
    reader = zarrkit.open_array(url, mode="r+", storage_options=seaweedfs_server.storage_options(read_only=True))

    np.testing.assert_array_equal(reader[...], values)
    with pytest.raises(PermissionDenied, match="403"):
        reader[0, 0] = 7


# -- Azurite: Azure's shared access signatures are checked too --------------------------------------


def test_presigned_azure_blobs_read_and_refuse_tampering(azurite_server: AzuriteServer) -> None:
    url = azurite_server.fresh_url()
    values = _write_array(url, azurite_server.storage_options)
    refs = presign(url, expires=600, storage_options=azurite_server.storage_options)["refs"]

    assert all("sig=" in refs[key][0] for key in refs if key != "zarr.json")
    np.testing.assert_array_equal(zarrkit.open_array(zarrkit.load_refs(refs))[...], values)
    tampered = SignedURLStore(lambda key: refs[key][0].replace("sig=", "sig=A"), **QUICK)
    with pytest.raises(PermissionDenied, match="AuthorizationFailure"):
        sync(tampered.get("c/0/0"))
