"""URL dispatch: turn whatever a user passes as a store (an object, a path, a URL) into a Store.

Protocols live in one registry. This module registers ``file``, ``memory`` and ``zip``; packages
that add backends (``reference``, ``s3``, ``http``, ...) call :func:`register_protocol` when they
are imported, so this layer never imports them. A chained URL such as ``cache::s3://bucket/x`` goes
to the opener of its first protocol (``cache``), which opens the rest itself.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

from zarrkit.errors import ReadOnlyError, StoreError
from zarrkit.storage.base import Store, StoreMapping
from zarrkit.storage.local import LocalStore
from zarrkit.storage.mapping import MappingStore
from zarrkit.storage.memory import MemoryStore
from zarrkit.storage.zip import ZipStore

Opener = Callable[[str, str, dict[str, Any]], Store]
"""``opener(url, mode, storage_options) -> Store``; ``mode`` is one of :data:`MODES`."""

MODES = ("r", "r+", "a", "w", "w-")
"""``"r"`` opens read-only; the others open writable. What ``"w"`` and ``"w-"`` mean for existing
content (delete it, refuse it) is for the caller to enforce, not the store."""

StoreLike = Store | MutableMapping[str, bytes] | str | os.PathLike[str]

# "s3://...", "zip::...": a scheme of letters, digits, "+", "-", "." then "://" or "::".
_PROTOCOL_PATTERN = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*)(://|::)")

_openers: dict[str, Opener] = {}
_memory_stores: dict[str, dict[str, bytes]] = {}
_memory_lock = threading.Lock()


def register_protocol(name: str, opener: Opener) -> None:
    """Make ``open_store`` hand URLs of protocol ``name`` (``"s3"`` for ``s3://...``) to ``opener``.

    Registering a name again replaces its opener. Raises StoreError for a name that is not a valid
    URL scheme.
    """
    if not _PROTOCOL_PATTERN.fullmatch(name + "://"):
        raise StoreError(f"invalid protocol name {name!r}: use letters, digits, '+', '-' or '.'")
    _openers[name.lower()] = opener


def registered_protocols() -> list[str]:
    """The names of the protocols ``open_store`` understands, sorted."""
    return sorted(_openers)


def open_store(
    store_like: StoreLike, *, mode: str = "r", storage_options: dict[str, Any] | None = None
) -> Store:
    """The store that ``store_like`` names.

    ``store_like`` is a Store (returned as is; in mode ``"r"`` a writable one comes back as its
    read-only view, :meth:`Store.with_read_only`), a ``MutableMapping`` (wrapped in a MappingStore;
    a store's own mapping view stands for its store), a local path (``str`` or ``os.PathLike``) or
    a URL: ``file://path``, ``memory://name`` (the same name gives the same data within a process),
    ``zip://path.zip``, or any protocol added with :func:`register_protocol`. ``mode`` is one of
    :data:`MODES`; ``"r"`` opens read-only. ``storage_options`` go to the backend of a URL.

    Raises StoreError for an unknown mode or protocol (naming the URL and the known protocols), or
    for ``storage_options`` that cannot apply; ReadOnlyError when a writable mode is asked of a
    read-only Store.
    """
    if mode not in MODES:
        raise StoreError(f"invalid mode {mode!r} for {store_like!r}: use one of {MODES}")
    if isinstance(store_like, (str, os.PathLike)):
        url = os.fsdecode(store_like)
        protocol = protocol_of(url)
        opener = _openers.get(protocol)
        if opener is None:
            # Any other protocol that fsspec knows (sftp, hdfs, ...) goes through the fsspec bridge.
            from zarrkit.storage.fsspec import fsspec_knows, open_with_fsspec

            if fsspec_knows(protocol):
                return open_with_fsspec(url, mode, dict(storage_options or {}))
            raise StoreError(
                f"unknown protocol {protocol!r} in {url!r}; "
                f"known protocols: {', '.join(registered_protocols())}"
            )
        return opener(url, mode, dict(storage_options or {}))
    if storage_options:
        raise StoreError(
            f"storage_options {sorted(storage_options)} were given with {store_like!r}; "
            "they apply only to URLs"
        )
    if isinstance(store_like, StoreMapping):
        store_like = store_like.store
    if isinstance(store_like, Store):
        if store_like.read_only and mode != "r":
            raise ReadOnlyError(f"cannot open {store_like!r} with mode {mode!r}: the store is read-only")
        return store_like.with_read_only() if mode == "r" else store_like
    if isinstance(store_like, MutableMapping):
        return MappingStore(store_like, read_only=mode == "r")
    raise StoreError(
        f"cannot open a store from {type(store_like).__name__} {store_like!r}: "
        "pass a Store, a MutableMapping, a path or a URL"
    )


def protocol_of(url: str) -> str:
    """The protocol of ``url``, lower case (``"s3"`` for ``s3://b/k``, ``"zip"`` for ``zip::...``);
    ``"file"`` for a plain path."""
    match = _PROTOCOL_PATTERN.match(url)
    return match.group(1).lower() if match else "file"


def _refuse_options(url: str, storage_options: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    unused = sorted(set(storage_options) - set(allowed))
    if unused:
        accepted = f"; it accepts {list(allowed)}" if allowed else ""
        raise StoreError(f"storage_options {unused} do not apply to {url!r}{accepted}")


def _strip_scheme(url: str, scheme: str) -> str:
    return url[len(scheme) :] if url.lower().startswith(scheme) else url


def _open_file(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """A plain path or ``file://path`` as a LocalStore."""
    _refuse_options(url, storage_options)
    return LocalStore(_strip_scheme(url, "file://"), read_only=mode == "r")


def _open_memory(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """``memory://name``: a MemoryStore over the process-wide dict of that name, created on first use.

    The data lives as long as the process; every store opened with the name shares it.
    """
    _refuse_options(url, storage_options)
    name = _strip_scheme(url, "memory://").rstrip("/")
    with _memory_lock:
        data = _memory_stores.setdefault(name, {})
    return MemoryStore(data, read_only=mode == "r")


def _open_zip(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """``zip://path.zip``: a ZipStore, read-only in mode ``"r"`` and appending otherwise;
    ``zip::<url>``: a read-only archive read through the byte ranges of any store.

    ``storage_options`` may hold ``compression`` (a ``zipfile.ZIP_*`` constant) for new members of a
    local archive; for ``zip::<url>`` they go to the store of ``<url>``.
    """
    if url.lower().startswith("zip::"):
        from zarrkit.storage.zip_over_store import open_zip_over_url

        return open_zip_over_url(url, mode, storage_options)
    _refuse_options(url, storage_options, allowed=("compression",))
    return ZipStore(_strip_scheme(url, "zip://"), mode="r" if mode == "r" else "a", **storage_options)


register_protocol("file", _open_file)
register_protocol("memory", _open_memory)
register_protocol("zip", _open_zip)
