"""Target URLs of references, opened through the storage layer.

A target URL names one file: a local path, ``file://``, ``s3://bucket/key``, ``https://host/path``
(with or without a query string, as pre-signed URLs have), or any URL ``open_store`` knows. Each
URL splits into the root of a store and a key inside it, and one store serves every target under
the same root, so a batch of references into many files of one bucket is one store's batch.
"""

from __future__ import annotations

import os
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from zarrkit.errors import ReferenceError, ZarrkitError
from zarrkit.storage.base import Store
from zarrkit.storage.local import LocalStore
from zarrkit.storage.signed import SignedURLStore
from zarrkit.storage.url import open_store, protocol_of

_OBJECT_SCHEMES = ("s3", "gs", "gcs", "az", "abfs", "abfss", "adl")
# Schemes whose first path segment names the store: a bucket, a container, a memory store.
_NAMED_ROOT_SCHEMES = (*_OBJECT_SCHEMES, "memory")
_HTTP_SCHEMES = ("http", "https")


def split_target(url: str) -> tuple[str, str, str]:
    """``(protocol, store root, key)`` for a target URL.

    Local paths and ``file://`` URLs split at the last ``/`` (relative paths are taken from the
    working directory); bucket URLs (``s3://bucket/a/b``) at the bucket; ``http(s)://`` URLs at the
    host, with the path percent-decoded. A URL with a query string (a pre-signed URL) is its own
    key under the root ``""``. Other protocols split at the last ``/``. Raises ReferenceError for a
    URL without a file name.
    """
    protocol = protocol_of(url)
    if protocol == "file":
        path = os.path.abspath(url[len("file://") :] if url.lower().startswith("file://") else url)
        root, _, key = path.rpartition(os.sep)
        return protocol, root or os.sep, key
    if protocol in _HTTP_SCHEMES:
        parts = urllib.parse.urlsplit(url)
        if parts.query:
            return protocol, "", url
        key = urllib.parse.unquote(parts.path).lstrip("/")
        if not key:
            raise ReferenceError(f"target URL {url!r} names no file")
        return protocol, f"{parts.scheme}://{parts.netloc}", key
    if protocol in _NAMED_ROOT_SCHEMES:
        scheme, _, rest = url.partition("://")
        bucket, _, key = rest.partition("/")
        if not bucket or not key:
            raise ReferenceError(f"target URL {url!r} names no file: use {scheme}://bucket/path")
        return protocol, f"{scheme}://{bucket}", key
    root, _, key = url.rpartition("/")
    if not key or root.endswith(":/") or root.endswith(":"):
        raise ReferenceError(f"target URL {url!r} names no file")
    return protocol, root, key


async def _same_urls(urls: Sequence[str]) -> dict[str, str]:
    # The keys of the pre-signed store are the URLs themselves.
    return {url: url for url in urls}


class TargetStores:
    """Opens the stores behind target URLs, once per store root, and maps URLs to ``(store, key)``.

    ``default_target`` stands in for references whose URL is None. ``target_options`` maps a
    protocol (``"s3"``, ``"https"``, ``"file"``) to the ``storage_options`` for its stores.
    Stores are opened read-only. Raises ReferenceError (naming the URL) when a store cannot be
    opened or a URL is None without a default target.
    """

    def __init__(
        self, *, default_target: str | None = None, target_options: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        self.default_target = default_target
        self.target_options = {protocol.lower(): dict(options) for protocol, options in (target_options or {}).items()}
        self._stores: dict[tuple[str, str], Store] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TargetStores(default_target={self.default_target!r}, protocols={sorted(self.target_options)})"

    def resolve(self, url: str | None) -> tuple[Store, str]:
        """The store that holds the target ``url`` and the key of the file in it."""
        if url is None:
            if self.default_target is None:
                raise ReferenceError("a reference has no target URL and no default target was given at open")
            url = self.default_target
        protocol, root, key = split_target(url)
        with self._lock:
            store = self._stores.get((protocol, root))
            if store is None:
                store = self._stores[(protocol, root)] = self._open(url, protocol, root)
        return store, key

    def _open(self, url: str, protocol: str, root: str) -> Store:
        options = dict(self.target_options.get(protocol, {}))
        try:
            if protocol == "file":
                if options:
                    raise ReferenceError(f"target_options {sorted(options)} do not apply to local files")
                return LocalStore(root, read_only=True)
            if root == "":
                return SignedURLStore(_same_urls, batched=True, **options)
            if protocol in _OBJECT_SCHEMES + _HTTP_SCHEMES:
                # Checking each bucket or host on open would cost a request; the first read reports the same.
                options.setdefault("check_on_open", False)
            return open_store(root, mode="r", storage_options=options)
        except ReferenceError:
            raise
        except ZarrkitError as error:
            raise ReferenceError(f"cannot open the store of target {url!r}: {error}") from error

    def close(self) -> None:
        """Close every store opened so far."""
        with self._lock:
            stores, self._stores = list(self._stores.values()), {}
        for store in stores:
            store.close()


async def read_target(url: str, storage_options: Mapping[str, Any] | None = None) -> bytes:
    """The whole file at ``url`` (a reference file, or a target), read through the storage layer.

    ``storage_options`` go to the store of the URL. Raises ReferenceError naming the URL when the
    file is missing or cannot be read.
    """
    protocol, _, _ = split_target(url)
    targets = TargetStores(target_options={protocol: storage_options or {}})
    store, key = targets.resolve(url)
    try:
        data = await store.get(key)
    except ZarrkitError as error:
        raise ReferenceError(f"cannot read {url!r}: {error}") from error
    finally:
        targets.close()
    if data is None:
        raise ReferenceError(f"{url!r} does not exist")
    return data
