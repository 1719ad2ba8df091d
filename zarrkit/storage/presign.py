"""Pre-signed URLs: share an array or group on S3, GCS or Azure with readers who hold no credentials.

:func:`presign` builds a reference set (the fsspec reference spec, version 1:
``{"version": 1, "refs": {key: value}}``) for every key below a store's root: metadata documents
(``zarr.json``, ``.zarray``, ``.zgroup``, ``.zattrs``, ``.zmetadata``) inline as their JSON text,
every other key as ``[pre-signed HTTPS URL]``, valid for ``expires`` seconds. Anyone can read the
data through those URLs until they expire; nothing else is reachable with them. Signing happens
locally with the store's credentials (obstore's signing API): no request per key.
:func:`presign_to_file` writes the set as JSON.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from zarrkit.errors import NodeNotFound, StoreError, UnsupportedFeature
from zarrkit.runtime import sync
from zarrkit.storage.object import ObjectStore, describe_obstore_error, import_obstore

METADATA_NAMES = frozenset({"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"})
"""Names of the documents a reference set holds inline instead of as a URL."""

MAX_EXPIRES = 7 * 24 * 3600
"""The longest validity S3 accepts for a pre-signed URL (7 days), in seconds."""

_NODE_DOCUMENTS = ("zarr.json", ".zarray", ".zgroup")
_SIGNABLE_BACKENDS = ("S3Store", "GCSStore", "AzureStore")


def _open(url_or_store: str | ObjectStore, storage_options: dict[str, Any] | None) -> ObjectStore:
    if isinstance(url_or_store, ObjectStore):
        if storage_options:
            raise StoreError(f"storage_options apply to a URL, not to the store {url_or_store!r}")
        return url_or_store
    if not isinstance(url_or_store, str):
        raise StoreError(f"presign takes an s3://, gs:// or az:// URL or an ObjectStore, got {url_or_store!r}")
    from zarrkit.storage.object_urls import open_object_store

    return open_object_store(url_or_store, mode="r", storage_options=storage_options)


def _inline(key: str, value: bytes) -> str:
    """A reference set's inline form of ``value``: the text itself, or ``base64:`` for non-UTF-8 bytes."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


async def presign_async(
    url_or_store: str | ObjectStore, *, expires: int, storage_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`presign` for code already running in an event loop (the URL is opened without a check)."""
    if not isinstance(expires, int) or isinstance(expires, bool) or not 1 <= expires <= MAX_EXPIRES:
        raise StoreError(f"expires must be a whole number of seconds from 1 to {MAX_EXPIRES}, got {expires!r}")
    store = _open(url_or_store, storage_options)
    backend = store.backend
    if type(backend).__name__ not in _SIGNABLE_BACKENDS:
        raise UnsupportedFeature(f"cannot pre-sign {store.url!r}: only S3, GCS and Azure stores sign URLs")
    keys = sorted(await store.list(""))
    if not any(key.rsplit("/", 1)[-1] in _NODE_DOCUMENTS for key in keys):
        raise NodeNotFound(f"no Zarr array or group at {store.url!r}: found no zarr.json, .zarray or .zgroup")
    documents = [key for key in keys if key.rsplit("/", 1)[-1] in METADATA_NAMES]
    others = [key for key in keys if key.rsplit("/", 1)[-1] not in METADATA_NAMES]
    values = await store.get_many([(key, None) for key in documents])
    refs: dict[str, Any] = {
        key: _inline(key, value) for key, value in zip(documents, values, strict=True) if value is not None
    }
    if others:
        obstore = import_obstore()
        try:
            urls = await obstore.sign_async(backend, "GET", others, timedelta(seconds=expires))
        except Exception as error:
            raise StoreError(f"cannot pre-sign keys of {store.url!r}: {describe_obstore_error(error)}") from error
        refs.update((key, [url]) for key, url in zip(others, urls, strict=True))
    return {"version": 1, "refs": dict(sorted(refs.items()))}


def presign(
    url_or_store: str | ObjectStore, *, expires: int, storage_options: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A reference set pointing every key of the array or group at ``url_or_store`` at a pre-signed URL.

    ``url_or_store`` is an ``s3://``, ``gs://`` or ``az://`` URL (opened read-only with
    ``storage_options``, which must carry credentials that may sign) or an
    :class:`~zarrkit.storage.object.ObjectStore`. The URLs are valid for ``expires`` seconds (1 to
    :data:`MAX_EXPIRES`). Returns ``{"version": 1, "refs": {...}}`` as described in the module notes.

    Raises StoreError for a bad ``expires`` or when signing fails, UnsupportedFeature for a store
    that cannot sign (HTTP), NodeNotFound when no Zarr metadata document lies at the root, and
    whatever opening and listing the store raise.
    """
    return sync(presign_async(url_or_store, expires=expires, storage_options=storage_options))


def presign_to_file(
    url_or_store: str | ObjectStore,
    path: str | Path,
    *,
    expires: int,
    storage_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`presign`, then write the reference set as JSON to ``path``; returns the set.

    Raises what :func:`presign` raises, and StoreError naming ``path`` when it cannot be written.
    """
    refs = presign(url_or_store, expires=expires, storage_options=storage_options)
    try:
        Path(path).write_text(json.dumps(refs, indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        raise StoreError(f"cannot write the reference set to {str(path)!r}: {error}") from error
    return refs
