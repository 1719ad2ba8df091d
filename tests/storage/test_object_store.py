"""ObjectStore beyond the conformance suite: coalescing and its request counts, the concurrency
bound, status handling (403, 401, 503, timeouts, resets, short bodies), errors at open, credentials,
and arrays end to end over S3 (moto) and HTTP (nginx)."""

from __future__ import annotations

import asyncio
import pickle
import sys
import time
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zarrkit
from tests.servers.http import NginxServer, ScriptedHTTPServer, quick_retries
from tests.servers.process import free_port
from tests.servers.s3 import S3Server
from zarrkit.errors import PermissionDenied, ReadOnlyError, StoreError, TransientStoreError, UnsupportedFeature
from zarrkit.runtime import sync
from zarrkit.storage import LocalStore, MemoryStore, ObjectStore, open_store
from zarrkit.storage.object import DEFAULT_COALESCE_BLOCK, DEFAULT_COALESCE_GAP, coalesce_ranges
from zarrkit.storage.object_urls import open_object_store

KIB = 1024
BLOB = bytes(range(256)) * 4 * KIB  # 1 MiB
# 64 ranges of 1 KiB, one every 16 KiB: near enough to coalesce by default, never adjacent.
SPARSE_RANGES = [(index * 16 * KIB, KIB) for index in range(64)]


def expected_slices(ranges: list[tuple[int, int]]) -> list[bytes]:
    return [BLOB[offset : offset + length] for offset, length in ranges]


def s3_options(server: S3Server, **extra: object) -> dict:
    return {**server.storage_options, **extra}


def scripted_s3_options(server: ScriptedHTTPServer, **extra: object) -> dict:
    """storage_options for an S3 store whose endpoint is the scripted server."""
    return {
        "endpoint": server.url,
        "region": "us-east-1",
        "access_key_id": "scripted",
        "secret_access_key": "scripted",
        "retry_config": quick_retries(),
        "check_on_open": False,
        **extra,
    }


def http_store(server: ScriptedHTTPServer | NginxServer, path: str = "", **extra: object) -> ObjectStore:
    options = {"retry_config": quick_retries(), "check_on_open": False, **extra}
    return open_object_store(f"{server.url}/{path}", storage_options=options)


# -- coalescing ---------------------------------------------------------------------------------


def test_coalescing_merges_near_ranges_within_the_block_limit() -> None:
    ranges = [(0, 10), (15, 20), (100, 110), (105, 300), (5000, 5001)]
    assert coalesce_ranges(ranges, max_gap=50, max_block=1000) == [(0, 20, [0, 1]), (100, 300, [2, 3]), (5000, 5001, [4])]
    assert coalesce_ranges(ranges, max_gap=0, max_block=1000) == [
        (0, 10, [0]),
        (15, 20, [1]),
        (100, 300, [2, 3]),
        (5000, 5001, [4]),
    ]
    assert coalesce_ranges([(0, 500), (500, 900)], max_gap=10, max_block=600) == [(0, 500, [0]), (500, 900, [1])]
    assert coalesce_ranges([(0, 5000)], max_gap=10, max_block=600) == [(0, 5000, [0])]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 3_000)), max_size=30),
    st.integers(0, 2_000),
    st.integers(1, 8_000),
)
def test_coalesced_blocks_cover_every_range_and_respect_the_limits(
    spans: list[tuple[int, int]], max_gap: int, max_block: int
) -> None:
    ranges = [(start, start + length) for start, length in spans]
    blocks = coalesce_ranges(ranges, max_gap=max_gap, max_block=max_block)
    assert sorted(position for _, _, members in blocks for position in members) == list(range(len(ranges)))
    for start, stop, members in blocks:
        assert all(start <= ranges[member][0] and ranges[member][1] <= stop for member in members)
        assert stop - start <= max_block or len(members) == 1
        assert start == min(ranges[member][0] for member in members)
        assert stop == max(ranges[member][1] for member in members)
    for (start, stop, _), (next_start, _, next_members) in zip(blocks, blocks[1:]):
        # The range that opened the next block could not have joined this one.
        opener_stop = ranges[next_members[0]][1]
        assert next_start - stop > max_gap or max(stop, opener_stop) - start > max_block


def test_stores_built_on_obstore_stores_name_their_urls_and_use_the_documented_defaults() -> None:
    from obstore.store import HTTPStore, S3Store

    http = ObjectStore(HTTPStore("http://example.invalid/data"))
    s3 = ObjectStore(S3Store("bucket", prefix="p/q", skip_signature=True))
    assert (http.url, http.read_only, s3.url, s3.read_only) == (
        "http://example.invalid/data",
        True,
        "s3://bucket/p/q",
        False,
    )
    assert (s3.coalesce_gap, s3.coalesce_block, s3.max_concurrency) == (1 << 20, 16 << 20, 32)
    assert (DEFAULT_COALESCE_GAP, DEFAULT_COALESCE_BLOCK) == (1 << 20, 16 << 20)
    with pytest.raises(StoreError, match="coalesce_gap"):
        ObjectStore(S3Store("bucket"), coalesce_gap=-1)


def nginx_blob(server: NginxServer) -> tuple[str, str]:
    """A directory on nginx holding ``blob`` (BLOB) and ``small/<i>`` files; its URL and path."""
    directory, url = server.fresh_directory()
    store = LocalStore(directory)
    sync(store.set_many([("blob", BLOB)] + [(f"small/{index}", bytes([index]) * 100) for index in range(50)]))
    return url, "/" + directory.name + "/"


def ranged_gets(server: NginxServer, path: str) -> list[str]:
    return [request.range for request in server.requests(path) if request.method == "GET"]


def test_near_ranges_of_one_object_take_one_request_over_http(nginx_server: NginxServer) -> None:
    url, path = nginx_blob(nginx_server)
    store = open_store(url, storage_options=nginx_server.storage_options)
    assert sync(store.get_many([("blob", byte_range) for byte_range in SPARSE_RANGES])) == expected_slices(
        SPARSE_RANGES
    )
    assert ranged_gets(nginx_server, path + "blob") == [f"bytes=0-{63 * 16 * KIB + KIB - 1}"]


@pytest.mark.parametrize(
    ("options", "expected_requests"),
    [
        ({"coalesce_gap": 0}, 64),
        ({"coalesce_gap": 15 * KIB - 1}, 64),
        ({"coalesce_gap": 15 * KIB}, 1),
        ({"coalesce_block": 256 * KIB}, 4),
    ],
)
def test_coalescing_limits_are_configurable(nginx_server: NginxServer, options: dict, expected_requests: int) -> None:
    url, path = nginx_blob(nginx_server)
    store = open_store(url, storage_options={**nginx_server.storage_options, **options})
    assert sync(store.get_many([("blob", byte_range) for byte_range in SPARSE_RANGES])) == expected_slices(
        SPARSE_RANGES
    )
    assert len(ranged_gets(nginx_server, path + "blob")) == expected_requests


def test_a_whole_object_request_serves_every_range_of_it(nginx_server: NginxServer) -> None:
    url, path = nginx_blob(nginx_server)
    store = open_store(url, storage_options=nginx_server.storage_options)
    requests = [("blob", (10, 5)), ("blob", None), ("blob", (-3, None)), ("blob", (len(BLOB) + 5, 2))]
    assert sync(store.get_many(requests)) == [BLOB[10:15], BLOB, BLOB[-3:], b""]
    assert ranged_gets(nginx_server, path + "blob") == ["-"]


def test_distinct_objects_are_never_merged(nginx_server: NginxServer) -> None:
    url, path = nginx_blob(nginx_server)
    store = open_store(url, storage_options=nginx_server.storage_options)
    keys = [f"small/{index}" for index in range(50)]
    assert sync(store.get_many([(key, (0, 10)) for key in keys])) == [bytes([index]) * 10 for index in range(50)]
    assert len(ranged_gets(nginx_server, path + "small/")) == 50


def test_a_block_reaching_past_the_end_is_clipped(nginx_server: NginxServer) -> None:
    url, path = nginx_blob(nginx_server)
    store = open_store(url, storage_options=nginx_server.storage_options)
    end = len(BLOB)
    requests = [("blob", (end - 10, 4)), ("blob", (end - 2, 100)), ("blob", (end + 10, 5))]
    assert sync(store.get_many(requests)) == [BLOB[-10:-6], BLOB[-2:], b""]
    assert len(ranged_gets(nginx_server, path + "blob")) == 1


def test_near_ranges_of_one_object_take_one_request_over_s3(s3_server: S3Server) -> None:
    url = s3_server.fresh_url()
    store = open_store(url, mode="a", storage_options=s3_server.storage_options)
    sync(store.set("blob", BLOB))
    prefix = url.removeprefix("s3://")
    assert sync(store.get_many([("blob", byte_range) for byte_range in SPARSE_RANGES])) == expected_slices(
        SPARSE_RANGES
    )
    assert [method for method, _, _ in s3_server.requests(prefix + "/blob")] == ["PUT", "GET"]
    separate = open_store(url, storage_options=s3_options(s3_server, coalesce_gap=0))
    assert sync(separate.get_many([("blob", byte_range) for byte_range in SPARSE_RANGES])) == expected_slices(
        SPARSE_RANGES
    )
    assert [method for method, _, _ in s3_server.requests(prefix + "/blob")].count("GET") == 1 + 64


def test_stores_survive_pickling(s3_server: S3Server) -> None:
    store = open_store(s3_server.fresh_url(), mode="a", storage_options=s3_server.storage_options)
    sync(store.set("k", b"value"))
    copy = pickle.loads(pickle.dumps(store))
    assert copy == store and hash(copy) == hash(store)
    assert copy != open_store(store.url, mode="r", storage_options=s3_server.storage_options)
    assert sync(copy.get_many([("k", (1, 3)), ("k", (-1, None))])) == [b"alu", b"e"]


# -- concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("max_concurrency", [4, 32])
def test_requests_run_concurrently_under_the_bound(scripted_http: ScriptedHTTPServer, max_concurrency: int) -> None:
    scripted_http.objects = {f"/data/{index}": b"x" * 10 for index in range(max_concurrency + 8)}
    scripted_http.delay = 0.2
    store = http_store(scripted_http, "data", max_concurrency=max_concurrency)
    keys = [str(index) for index in range(max_concurrency + 8)]
    assert sync(store.get_many([(key, None) for key in keys])) == [b"x" * 10] * len(keys)
    # The bound is never exceeded, and requests do overlap (how many at once depends on the machine).
    assert 2 <= scripted_http.max_in_flight <= max_concurrency


def test_the_bound_holds_on_the_callers_own_event_loop(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects = {f"/data/{index}": b"y" for index in range(12)}
    scripted_http.delay = 0.1
    store = http_store(scripted_http, "data", max_concurrency=3)
    values = asyncio.run(store.get_many([(str(index), None) for index in range(12)]))
    assert values == [b"y"] * 12
    assert 2 <= scripted_http.max_in_flight <= 3
    assert sync(store.get("0")) == b"y"


# -- 401 and 403 --------------------------------------------------------------------------------


def test_403_raises_permission_denied_naming_the_url(nginx_server: NginxServer) -> None:
    store = http_store(nginx_server, "status-403/data")
    url = f"{nginx_server.url}/status-403/data/c/0"
    for read in [store.get("c/0"), store.get("c/0", (0, 4)), store.getsize("c/0"), store.exists("c/0")]:
        with pytest.raises(PermissionDenied, match=url):
            sync(read)
    with pytest.raises(PermissionDenied, match="403"):
        sync(store.get_many([("c/0", None), ("c/1", (0, 2))]))
    with pytest.raises(PermissionDenied, match=f"{nginx_server.url}/status-403/data/c/"):
        sync(store.list_dir("c"))


def test_403_reads_as_missing_when_the_store_is_told_so(nginx_server: NginxServer) -> None:
    store = http_store(nginx_server, "status-403/data", forbidden_as_missing=True)
    assert sync(store.get("c/0")) is None
    assert sync(store.get_many([("c/0", (0, 4)), ("c/1", (-2, None)), ("c/2", (1, 0))])) == [None, None, None]
    assert sync(store.getsize("c/0")) is None
    assert sync(store.exists("c/0")) is False
    with pytest.raises(PermissionDenied):  # a listing is not a key
        sync(store.list("c/"))


def test_401_is_never_read_as_missing(nginx_server: NginxServer) -> None:
    store = http_store(nginx_server, "status-401/data", forbidden_as_missing=True)
    with pytest.raises(PermissionDenied, match=f"{nginx_server.url}/status-401/data/zarr.json.*401"):
        sync(store.get("zarr.json"))
    with pytest.raises(PermissionDenied, match="401"):
        open_store(f"{nginx_server.url}/status-401/data", storage_options=nginx_server.storage_options)


def s3_without_list_permission(server: ScriptedHTTPServer) -> None:
    """Make the scripted server answer as S3 does to a reader without s3:ListBucket: 403 for a
    missing key and for every listing."""
    server.missing_status = 403
    server.faults = {"/bucket?": 403}


def test_s3_readers_without_list_permission_read_missing_keys_as_missing(scripted_http: ScriptedHTTPServer) -> None:
    s3_without_list_permission(scripted_http)
    scripted_http.objects = {"/bucket/data/present": b"value"}
    options = scripted_s3_options(scripted_http, check_on_open=True)
    with pytest.raises(PermissionDenied, match=r"s3://bucket/data.*AccessDenied"):
        open_store("s3://bucket/data", storage_options=options)
    store = open_store("s3://bucket/data", storage_options={**options, "forbidden_as_missing": True})
    assert sync(store.get_many([("present", None), ("missing", None), ("missing", (0, 3))])) == [b"value", None, None]
    assert sync(store.get("present", (1, 3))) == b"alu"
    with pytest.raises(PermissionDenied, match="s3://bucket/data"):
        sync(store.list())
    plain = open_store("s3://bucket/data", storage_options=options | {"check_on_open": False})
    with pytest.raises(PermissionDenied, match="s3://bucket/data/missing"):
        sync(plain.get("missing"))


def test_an_s3_array_opens_for_a_reader_without_list_permission(scripted_http: ScriptedHTTPServer) -> None:
    written: dict[str, bytes] = {}
    array = zarrkit.create_array(MemoryStore(written), shape=(6, 6), chunks=(3, 3), dtype="i4", fill_value=-1)
    array[:3, :] = np.arange(18).reshape(3, 6)  # the lower chunks stay unwritten
    s3_without_list_permission(scripted_http)
    scripted_http.objects = {f"/bucket/arr/{key}": value for key, value in written.items()}
    options = scripted_s3_options(scripted_http, forbidden_as_missing=True, check_on_open=True)
    opened = zarrkit.open_array("s3://bucket/arr", storage_options=options)
    expected = np.full((6, 6), -1, dtype="i4")
    expected[:3, :] = np.arange(18).reshape(3, 6)
    np.testing.assert_array_equal(opened[...], expected)


# -- retries, timeouts, resets, short bodies ----------------------------------------------------


def test_server_errors_are_retried_then_raise_transient_errors(nginx_server: NginxServer) -> None:
    store = http_store(nginx_server, "status-503/data")
    with pytest.raises(TransientStoreError, match=r"'c/0'.*status-503/data/c/0.*503"):
        sync(store.get("c/0"))
    attempts = [request for request in nginx_server.requests("/status-503/data/c/0") if request.method == "GET"]
    assert len(attempts) == 1 + quick_retries()["max_retries"]
    with pytest.raises(TransientStoreError, match="503"):
        open_store(f"{nginx_server.url}/status-503/data", storage_options=nginx_server.storage_options)


def test_timeouts_are_retried_then_raise_transient_errors(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects = {"/slow/k": b"late"}
    scripted_http.delay = 0.5
    store = http_store(scripted_http, "slow", client_options={"timeout": timedelta(milliseconds=100)})
    with pytest.raises(TransientStoreError, match="'k'"):
        sync(store.get("k"))
    assert len(scripted_http.targets()) == 1 + quick_retries()["max_retries"]


def test_a_reset_connection_raises_a_transient_error(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects = {"/data/k": bytes(1000)}
    scripted_http.faults = {"/data/k": "cut"}
    store = http_store(scripted_http, "data")
    with pytest.raises(TransientStoreError, match=f"'k' at {scripted_http.url}/data/k"):
        sync(store.get("k"))
    assert len(scripted_http.targets()) == 1 + quick_retries()["max_retries"]
    scripted_http.faults = {}
    assert sync(store.get("k", (990, 20))) == bytes(10)


def test_a_short_response_is_an_error_not_data(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.objects = {"/data/k": bytes(range(100))}
    scripted_http.faults = {"/data/k": "short"}
    store = http_store(scripted_http, "data")
    with pytest.raises(StoreError, match=f"{scripted_http.url}/data/k.*bytes 10-30 of 100.*10 bytes"):
        sync(store.get("k", (10, 20)))
    assert sync(store.getsize("k")) == 100


def test_s3_server_errors_name_the_key_and_the_url(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.faults = {"/bucket/data/c/0": 503}
    store = open_store("s3://bucket/data", storage_options=scripted_s3_options(scripted_http))
    with pytest.raises(TransientStoreError, match=r"'c/0' at s3://bucket/data/c/0.*SlowDown"):
        sync(store.get("c/0"))
    assert len(scripted_http.targets()) == 1 + quick_retries()["max_retries"]


# -- opening ------------------------------------------------------------------------------------


def test_a_missing_bucket_fails_at_open(s3_server: S3Server) -> None:
    with pytest.raises(StoreError, match=r"s3://no-such-bucket/x.*does not exist.*NoSuchBucket"):
        open_store("s3://no-such-bucket/x", storage_options=s3_server.storage_options)


def test_an_unreachable_server_fails_at_open() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    options = {"endpoint": endpoint, "key": "k", "secret": "s", "retry_config": quick_retries()}
    with pytest.raises(TransientStoreError, match="s3://bucket/x"):
        open_store("s3://bucket/x", storage_options=options)
    with pytest.raises(TransientStoreError, match=endpoint):
        open_store(endpoint + "/data", storage_options={"retry_config": quick_retries()})
    assert time.monotonic() - started < 10


def test_wrong_credentials_fail_at_open(scripted_http: ScriptedHTTPServer) -> None:
    scripted_http.faults = {"/bucket": 403}
    with pytest.raises(PermissionDenied, match=r"s3://bucket/data.*403.*AccessDenied"):
        open_store("s3://bucket/data", storage_options=scripted_s3_options(scripted_http, check_on_open=True))


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3:///prefix",
        "s3://b/prefix",
        "s3://bucket name/x",
        "s3://bucket/a//b",
        "gs://bucket/../x",
        "http://",
        "https://example.com/data?token=1",
        "az://container/x#part",
    ],
)
def test_malformed_urls_fail_at_open_naming_the_url(url: str) -> None:
    with pytest.raises(StoreError, match="malformed URL " + repr(url).replace("?", r"\?")):
        open_store(url, storage_options={"check_on_open": False})


def test_bad_storage_options_fail_at_open_naming_them(s3_server: S3Server) -> None:
    url = s3_server.fresh_url()
    with pytest.raises(StoreError, match=f"{url}.*nonsense"):
        open_store(url, storage_options=s3_options(s3_server, nonsense=1))
    with pytest.raises(StoreError, match=f"{url}.*region"):
        open_store(url, storage_options=s3_options(s3_server, region=5))
    with pytest.raises(StoreError, match="max_concurrency"):
        open_store(url, storage_options=s3_options(s3_server, max_concurrency=0))
    with pytest.raises(StoreError, match="retry_config"):
        open_store(url, storage_options=s3_options(s3_server, retry_config=3))
    with pytest.raises(StoreError, match=r"\['anonymous'\] do not apply to 'http://127.0.0.1"):
        open_store("http://127.0.0.1:1/x", storage_options={"anonymous": True})


def test_http_is_read_only(nginx_server: NginxServer) -> None:
    directory, url = nginx_server.fresh_directory()
    with pytest.raises(ReadOnlyError, match=url):
        open_store(url, mode="w", storage_options=nginx_server.storage_options)
    store = open_store(url, mode="a", storage_options=nginx_server.storage_options)
    assert store.read_only
    with pytest.raises(ReadOnlyError, match=url):
        sync(store.set("k", b"v"))
    assert not (directory / "k").exists()


def test_a_missing_obstore_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "obstore", None)
    with pytest.raises(UnsupportedFeature, match=r"zarrkit\[cloud\]"):
        open_store("s3://bucket/x")


def test_gcs_and_azure_urls_build_their_stores() -> None:
    gcs = open_store("gs://bucket/a/b", mode="a", storage_options={"anonymous": True, "check_on_open": False})
    azure = open_store(
        "az://container/c", storage_options={"account_name": "account", "anonymous": True, "check_on_open": False}
    )
    assert (gcs.url, gcs.read_only, azure.url, azure.read_only) == ("gs://bucket/a/b", False, "az://container/c", True)
    with pytest.raises(StoreError, match="gs://bucket.*nonsense"):
        open_store("gs://bucket", storage_options={"nonsense": 1, "check_on_open": False})


# -- credentials --------------------------------------------------------------------------------


def test_credentials_come_from_the_environment(scripted_http: ScriptedHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-from-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-environment")
    monkeypatch.setenv("AWS_ENDPOINT_URL", scripted_http.url)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    scripted_http.objects = {"/bucket/data/k": b"signed"}
    store = open_store("s3://bucket/data", storage_options={"check_on_open": False, "retry_config": quick_retries()})
    assert sync(store.get("k")) == b"signed"
    (request,) = scripted_http.requests
    assert "Credential=key-from-environment/" in request.authorization
    assert "/eu-west-1/s3/" in request.authorization


def test_explicit_and_anonymous_access(scripted_http: ScriptedHTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-from-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-environment")
    scripted_http.objects = {"/bucket/data/k": b"public"}
    explicit = open_store("s3://bucket/data", storage_options=scripted_s3_options(scripted_http, key="explicit-key"))
    anonymous = open_store("s3://bucket/data", storage_options=scripted_s3_options(scripted_http, anon=True))
    assert sync(explicit.get("k")) == sync(anonymous.get("k")) == b"public"
    explicit_request, anonymous_request = scripted_http.requests
    assert "Credential=explicit-key/" in explicit_request.authorization
    assert anonymous_request.authorization is None


def test_credentials_come_from_an_aws_profile(
    scripted_http: ScriptedHTTPServer, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[analysis]\naws_access_key_id = key-from-profile\naws_secret_access_key = secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    scripted_http.objects = {"/bucket/data/k": b"v"}
    options = {"endpoint": scripted_http.url, "region": "us-east-1", "check_on_open": False}
    by_option = open_store("s3://bucket/data", storage_options={**options, "profile": "analysis"})
    monkeypatch.setenv("AWS_PROFILE", "analysis")
    by_variable = open_store("s3://bucket/data", storage_options=options)
    assert sync(by_option.get("k")) == sync(by_variable.get("k")) == b"v"
    assert all("Credential=key-from-profile/" in request.authorization for request in scripted_http.requests)
    with pytest.raises(StoreError, match="'missing-profile'.*s3://bucket/data"):
        open_store("s3://bucket/data", storage_options={**options, "profile": "missing-profile"})


# -- arrays end to end --------------------------------------------------------------------------


def test_arrays_written_and_read_through_s3(s3_server: S3Server) -> None:
    url = s3_server.fresh_url()
    options = s3_server.storage_options
    data = np.arange(60 * 40, dtype="f8").reshape(60, 40)
    zarrkit.create_group(url, storage_options=options)
    plain = zarrkit.create_array(url + "/plain", shape=data.shape, chunks=(16, 16), dtype="f8", storage_options=options)
    plain[...] = data
    v2 = zarrkit.create_array(
        url + "/v2", shape=data.shape, chunks=(25, 25), dtype="f8", zarr_format=2, storage_options=options
    )
    v2[...] = data
    sharded = zarrkit.create_array(
        url + "/sharded", shape=data.shape, chunks=(10, 10), shards=(30, 40), dtype="f8", storage_options=options
    )
    sharded[...] = data
    for name in ["plain", "v2", "sharded"]:
        opened = zarrkit.open_array(f"{url}/{name}", mode="r", storage_options=options)
        np.testing.assert_array_equal(opened[...], data)
        np.testing.assert_array_equal(opened[5:33, 7:9], data[5:33, 7:9])
    group = zarrkit.open_group(url, mode="r", storage_options=options)
    assert sorted(group.array_keys()) == ["plain", "sharded", "v2"]
    prefix = url.removeprefix("s3://")
    before = len(s3_server.requests(prefix + "/sharded/c/"))
    reopened = zarrkit.open_array(f"{url}/sharded", storage_options=options)
    np.testing.assert_array_equal(reopened[:30, :20], data[:30, :20])
    shard_reads = [entry for entry in s3_server.requests(prefix + "/sharded/c/")[before:] if entry[0] == "GET"]
    # Six of the twelve inner chunks of one shard: its index, then one coalesced request.
    assert [(target.rsplit("/", 3)[-2:], status) for _, target, status in shard_reads] == [(["0", "0"], 206)] * 2


def test_arrays_read_over_http(nginx_server: NginxServer) -> None:
    directory, url = nginx_server.fresh_directory()
    data = np.arange(50 * 30, dtype="i2").reshape(50, 30)
    root = zarrkit.create_group(LocalStore(directory))
    root.create_array("a", shape=data.shape, chunks=(16, 16), dtype="i2")[...] = data
    root.create_group("g").create_array("b", shape=(10,), chunks=(4,), dtype="u1", shards=(8,))[...] = np.arange(10)
    options = nginx_server.storage_options
    group = zarrkit.open(url, mode="r", storage_options=options)
    assert sorted(group.keys()) == ["a", "g"]
    np.testing.assert_array_equal(group["a"][...], data)
    np.testing.assert_array_equal(group["g"]["b"][2:9], np.arange(2, 9))
    array = zarrkit.open_array(url + "/a", storage_options=options)
    np.testing.assert_array_equal(array[40:, ::3], data[40:, ::3])
    with pytest.raises(ReadOnlyError):
        array[0, 0] = 1
