"""RedisStore beyond the conformance suite: URLs, key prefixes, glob characters, errors, timeouts."""

from __future__ import annotations

import asyncio
import pickle
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import redis

from tests.servers.process import LOOPBACK
from tests.servers.redis import RedisServer
from zarrkit.errors import PermissionDenied, ReadOnlyError, StoreError, TransientStoreError, UnsupportedFeature
from zarrkit.runtime import sync
from zarrkit.storage import open_store
from zarrkit.storage.redis import RedisStore, escape_glob


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the same server, to see what the store really wrote."""
    client = redis.Redis(host=LOOPBACK, port=redis_server.port, db=0)
    yield client
    client.close()


def test_keys_live_under_the_prefix_of_the_url(redis_server: RedisServer, raw: redis.Redis) -> None:
    prefix = f"surveys/{uuid.uuid4().hex}"
    with RedisStore(f"{redis_server.url}/0/{prefix}/") as store:
        assert store.prefix == prefix and store.db == 0
        sync(store.set_many([("a/zarr.json", b"{}"), ("a/c/0", b"\x01\x02")]))
    assert raw.get(f"{prefix}/a/zarr.json") == b"{}"
    assert raw.get(f"{prefix}/a/c/0") == b"\x01\x02"
    raw.set(f"{prefix}-sibling/x", b"not ours")
    with RedisStore(f"{redis_server.url}/0/{prefix}", read_only=True) as reader:
        assert sync(reader.list()) == ["a/c/0", "a/zarr.json"]
        assert sync(reader.list_dir("")) == ([], ["a/"])


def test_databases_and_prefixes_keep_stores_apart(redis_server: RedisServer) -> None:
    tag = uuid.uuid4().hex
    urls = [f"{redis_server.url}/1/{tag}", f"{redis_server.url}/2/{tag}", f"{redis_server.url}/1/{tag}-2"]
    stores = [RedisStore(url) for url in urls]
    try:
        for index, store in enumerate(stores):
            sync(store.set("k", bytes([index])))
        assert [sync(store.get("k")) for store in stores] == [b"\x00", b"\x01", b"\x02"]
        sync(stores[0].delete_prefix(""))
        assert [sync(store.list()) for store in stores] == [[], ["k"], ["k"]]
    finally:
        for store in stores:
            store.close()


@pytest.mark.parametrize("special", ["*", "?", "[ab]", "\\", "[", "]", "^"])
def test_glob_characters_in_keys_and_prefixes_are_literal(redis_server: RedisServer, special: str) -> None:
    prefix = f"glob{special}{uuid.uuid4().hex}"
    url = f"{redis_server.url}/0/{quote(prefix)}"  # "?" would start a query: the URL path is percent-encoded
    with RedisStore(url) as store, RedisStore(f"{redis_server.url}/0/globX") as other:
        assert store.prefix == prefix
        keys = [f"a{special}/0", f"a{special}/1", "a/0", "ab/0", "aX/0", f"{special}"]
        sync(store.set_many([(key, key.encode()) for key in keys]))
        sync(other.set("a/0", b"other prefix"))
        assert sync(store.list()) == sorted(keys)
        assert sync(store.list(f"a{special}/")) == [f"a{special}/0", f"a{special}/1"]
        assert sync(store.list(special)) == sorted(key for key in keys if key.startswith(special))
        sync(store.delete_prefix(f"a{special}"))
        assert sync(store.list()) == sorted(key for key in keys if not key.startswith(f"a{special}"))
        assert sync(other.list()) == ["a/0"]
        sync(other.delete_prefix(""))


def test_escape_glob_escapes_only_what_redis_treats_as_a_pattern() -> None:
    assert escape_glob("a*b?c[d]e\\f-^g") == "a\\*b\\?c\\[d\\]e\\\\f-^g"


def test_open_store_opens_redis_urls_read_only_in_mode_r(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url(db=3)
    with open_store(url, mode="w") as writer:
        assert isinstance(writer, RedisStore) and not writer.read_only
        sync(writer.set("k", b"v"))
    with open_store(url, storage_options={"timeout": 2}) as reader:
        assert reader.read_only
        assert sync(reader.get("k", (-1, None))) == b"v"
        with pytest.raises(ReadOnlyError, match="'k'"):
            sync(reader.set("k", b"changed"))


def test_the_store_can_be_awaited_from_any_event_loop(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url()
    with RedisStore(url) as store:

        async def round_trip() -> list[bytes | None]:
            await store.set("k", b"value")
            return await store.get_many([("k", (1, 3)), ("missing", None)])

        # asyncio.run makes a new loop each time; the store's connections stay on zarrkit's loop.
        assert asyncio.run(round_trip()) == [b"alu", None]
        assert asyncio.run(round_trip()) == [b"alu", None]
        assert sync(store.get("k")) == b"value"


def test_a_value_that_is_not_a_string_raises_naming_the_key(redis_server: RedisServer, raw: redis.Redis) -> None:
    prefix = f"typed-{uuid.uuid4().hex}"
    raw.rpush(f"{prefix}/a/list", b"x")
    with RedisStore(f"{redis_server.url}/0/{prefix}") as store:
        for read in [store.get("a/list"), store.get("a/list", (0, 1)), store.getsize("a/list")]:
            with pytest.raises(StoreError, match=r"'a/list'.*WRONGTYPE"):
                sync(read)
        assert sync(store.list()) == ["a/list"]


def test_an_unreachable_server_fails_at_open_naming_the_url() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    url = f"redis://{LOOPBACK}:{port}/0/x"
    started = time.monotonic()
    with pytest.raises(TransientStoreError, match=f"redis://{LOOPBACK}:{port}/0/x"):
        open_store(url, storage_options={"timeout": 1})
    assert time.monotonic() - started < 10


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never replies
        silent.bind((LOOPBACK, 0))
        silent.listen(16)
        url = f"redis://{LOOPBACK}:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TransientStoreError, match="retries"):
            open_store(url, storage_options={"timeout": 0.2})
        assert time.monotonic() - started < 5


def test_acl_refusals_raise_permission_denied(redis_server: RedisServer, raw: redis.Redis) -> None:
    user = f"reader-{uuid.uuid4().hex[:8]}"
    raw.acl_setuser(user, enabled=True, passwords=["+secret"], keys=["*"], commands=["+@read", "+@connection", "+multi", "+exec"])
    try:
        url = f"redis://{user}:secret@{LOOPBACK}:{redis_server.port}/0/acl-{uuid.uuid4().hex}"
        with open_store(url, mode="a") as store:
            assert sync(store.get("k")) is None
            with pytest.raises(PermissionDenied, match="'k'"):
                sync(store.set("k", b"v"))
        wrong = f"redis://{user}:wrong@{LOOPBACK}:{redis_server.port}/0"
        with pytest.raises(PermissionDenied, match=f"redis://{LOOPBACK}"):
            open_store(wrong)
        with pytest.raises(PermissionDenied):
            open_store(f"redis://{LOOPBACK}:{redis_server.port}/0", storage_options={"username": user, "password": "no"})
    finally:
        raw.acl_deluser(user)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://", "invalid redis URL"),
        ("redis://host:notaport/0", "invalid port"),
        ("redis://host/first/prefix", "invalid database 'first'"),
        ("redis://host/0?ssl=1", "query"),
        ("http://host/0", "invalid redis URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        RedisStore(url)


def test_unknown_storage_options_and_bad_timeouts_are_refused(redis_server: RedisServer) -> None:
    with pytest.raises(StoreError, match=r"\['anon'\].*timeout"):
        open_store(redis_server.url, storage_options={"anon": True})
    with pytest.raises(StoreError, match="positive number"):
        RedisStore(redis_server.url, timeout=0)


def test_keys_must_be_strings(redis_server: RedisServer) -> None:
    with RedisStore(redis_server.fresh_url()) as store:
        with pytest.raises(StoreError, match="keys are strings"):
            sync(store.get(b"k"))  # type: ignore[arg-type]


def test_a_pickled_store_reconnects_to_the_same_keys(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url()
    with RedisStore(url, timeout=3) as store:
        sync(store.set("k", b"v"))
        copy = pickle.loads(pickle.dumps(store))
        assert copy == store and copy is not store and hash(copy) == hash(store)
        assert sync(copy.get("k")) == b"v"
        copy.close()
        assert store != RedisStore(url, read_only=True) and store != RedisStore(redis_server.fresh_url())


def test_messages_never_show_the_password() -> None:
    with pytest.raises(StoreError) as raised:
        RedisStore("redis://user:secret@host:notaport/0")
    assert "secret" not in str(raised.value) and "user:***@host" in str(raised.value)


def test_without_redis_py_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # as if redis-py were not installed
    with pytest.raises(UnsupportedFeature, match=r"zarrkit\[redis\]"):
        open_store("redis://localhost/0")
