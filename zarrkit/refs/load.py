"""Loading and saving reference sets in any of their formats, and the ``reference://`` protocol.

The format follows from the source: a dict is the reference spec itself; a URL ending in
``.json``, ``.json.gz`` or ``.json.zst`` is a JSON file; any other URL is a parquet reference
directory (it holds a ``.zmetadata`` with a ``record_size``). Mounted parts (the ``mounts`` of a
JSON reference set) load on first use, their URLs taken relative to the file that names them.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from zarrkit.errors import ReadOnlyError, ReferenceError, StoreError
from zarrkit.refs import json_format, parquet_format
from zarrkit.refs.model import References, ReferenceSet
from zarrkit.refs.mount import LazyReferences
from zarrkit.refs.spec import parse_references
from zarrkit.refs.store import ReferenceStore
from zarrkit.refs.targets import split_target
from zarrkit.runtime import sync
from zarrkit.storage.base import Store
from zarrkit.storage.url import register_protocol

_JSON_SUFFIXES = (".json", ".json.gz", ".json.zst")

ReferencesLike = References | Mapping[str, Any] | str | os.PathLike[str]


def is_json_url(url: str) -> bool:
    """True when ``url`` names a JSON reference file (by its suffix), False for a parquet directory."""
    return url.lower().endswith(_JSON_SUFFIXES)


async def load_references_async(
    source: ReferencesLike, *, storage_options: Mapping[str, Any] | None = None
) -> References:
    """The reference set ``source`` names: References as they are, a spec dict parsed, a JSON file
    loaded, a parquet directory opened (its record files load on demand).

    ``storage_options`` go to the store the file is read from, and to the mounted parts.
    Raises ReferenceError for a malformed set or a file that cannot be read.
    """
    if isinstance(source, References):
        return source
    if isinstance(source, Mapping):
        return parse_references(source, mount_loader=_mount_loader(None, storage_options))
    if not isinstance(source, (str, os.PathLike)):
        raise ReferenceError(
            f"cannot load references from {type(source).__name__}: pass References, a dict, a path or a URL"
        )
    url = os.fsdecode(source)
    if is_json_url(url):
        return await json_format.load_json(
            url, storage_options=storage_options, mount_loader=_mount_loader(url, storage_options)
        )
    return await parquet_format.open_parquet(url, storage_options=storage_options)


def load_refs(source: ReferencesLike, *, storage_options: Mapping[str, Any] | None = None) -> References:
    """Load a reference set (see :func:`load_references_async`); blocking. Raises ReferenceError."""
    return sync(load_references_async(source, storage_options=storage_options))


def save_refs(
    references: References,
    url: str | os.PathLike[str],
    *,
    record_size: int = 10_000,
    storage_options: Mapping[str, Any] | None = None,
) -> None:
    """Write ``references`` to ``url``: JSON for a ``.json``/``.json.gz``/``.json.zst`` URL (an
    in-memory ReferenceSet only), else a parquet directory with ``record_size`` chunks per record file.

    Raises ReferenceError when the set cannot be written in that format.
    """
    url = os.fsdecode(url)
    if is_json_url(url):
        if not isinstance(references, ReferenceSet):
            raise ReferenceError(f"cannot save {references!r} as JSON to {url!r}: load it into a ReferenceSet first")
        sync(json_format.save_json(references, url, storage_options=storage_options))
    else:
        sync(parquet_format.save_parquet(references, url, record_size=record_size, storage_options=storage_options))


def _mount_loader(base_url: str | None, storage_options: Mapping[str, Any] | None) -> Callable[[str], References]:
    """The loader for mounted parts named in a reference set read from ``base_url``: relative URLs
    are taken relative to the directory of that file."""

    async def load(url: str) -> References:
        return await load_references_async(url, storage_options=storage_options)

    def loader(url: str) -> LazyReferences:
        return LazyReferences(_relative_to(base_url, url), load)

    return loader


def _relative_to(base_url: str | None, url: str) -> str:
    if base_url is None or "://" in url or "::" in url or os.path.isabs(url):
        return url
    protocol, _, _ = split_target(base_url)
    if protocol == "file":
        return os.path.join(os.path.dirname(os.path.abspath(base_url.removeprefix("file://"))), url)
    return posixpath.join(posixpath.dirname(base_url), url)


def store_for_references(
    references: References, *, mode: str = "r", storage_options: Mapping[str, Any] | None = None
) -> ReferenceStore:
    """The ReferenceStore over ``references``, for ``zarrkit.open(references, ...)``.

    ``storage_options`` may hold ``default_target`` and ``target_options`` (see
    :class:`ReferenceStore`). Raises ReadOnlyError for modes ``"w"`` and ``"w-"`` (other modes
    open the read-only store, as for HTTP: a write through it raises ReadOnlyError) and StoreError
    for other options.
    """
    if mode in ("w", "w-"):
        raise ReadOnlyError(f"cannot open {references!r} with mode {mode!r}: reference sets are read-only")
    options = dict(storage_options or {})
    default_target = options.pop("default_target", None)
    target_options = options.pop("target_options", None)
    if options:
        raise StoreError(
            f"storage_options {sorted(options)} do not apply to reference sets; they accept 'default_target' and "
            "'target_options' (which maps a protocol such as 's3' to the options of the stores that hold the "
            "targets), and 'reference_options' for reading the set from a reference:// URL"
        )
    return ReferenceStore(references, default_target=default_target, target_options=target_options)


def open_reference_store(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """The opener of ``reference://<url of a reference set>`` for :func:`~zarrkit.storage.open_store`.

    ``storage_options``: ``reference_options`` (the storage options for reading the reference
    set), and those of :func:`store_for_references`. Raises as that does, and ReferenceError when
    the set cannot be loaded.
    """
    options = dict(storage_options)
    reference_options = options.pop("reference_options", None)
    references = load_refs(url[len("reference://") :], storage_options=reference_options)
    return store_for_references(references, mode=mode, storage_options=options)


register_protocol("reference", open_reference_store)
