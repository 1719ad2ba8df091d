"""The public functions of zarrkit: the one place where the layers meet.

They speak zarr-python 3's language, so switching is a change of import: ``open``, ``open_array``,
``open_group``, ``create_array``, ``create_group`` and ``consolidate_metadata`` take a store or
anything :func:`zarrkit.storage.open_store` understands (a path, a URL, a ``MutableMapping``), or a
reference set (:class:`~zarrkit.refs.References`, as :func:`load_refs` returns; read-only), plus
``storage_options`` for the backend. ``load_refs`` and ``save_refs`` read and write reference sets;
``scan`` makes one from a NetCDF, HDF5, TIFF, MAT or GRIB file.

Modes (:data:`MODES`): ``"r"`` reads an existing node from a read-only store; ``"r+"`` reads and
writes an existing node; ``"a"`` opens a node or creates it; ``"w"`` creates it, replacing what was
there; ``"w-"`` creates it and fails if something is there.
"""

from __future__ import annotations

from typing import Any

from zarrkit.core.array import Array
from zarrkit.core.creation import check_array_keywords
from zarrkit.core.creation import create_array as _create_array
from zarrkit.core.group import Group, open_node
from zarrkit.core.group import consolidate_metadata as _consolidate
from zarrkit.core.group import create_group as _create_group
from zarrkit.errors import MetadataError, NodeNotFound
from zarrkit.metadata.paths import normalize_path
from zarrkit.refs.load import load_refs as load_refs
from zarrkit.refs.load import save_refs as save_refs
from zarrkit.refs.load import store_for_references
from zarrkit.refs.model import References
from zarrkit.scan import scan as scan
from zarrkit.scan.combine import combine as combine
from zarrkit.storage import MemoryStore, Store, open_store
from zarrkit.storage.url import MODES as MODES

_GROUP_KEYWORDS = frozenset({"attributes"})
"""The keywords :func:`open` passes on when it creates a group."""


def _store(store: Any, mode: str, storage_options: dict[str, Any] | None) -> Store:
    """The store ``store`` names (a new MemoryStore for None; a ReferenceStore for References);
    StoreError for a mode not in MODES."""
    if isinstance(store, References):
        return store_for_references(store, mode=mode, storage_options=storage_options)
    return open_store(MemoryStore() if store is None else store, mode=mode, storage_options=storage_options)


def open(  # noqa: A001 - zarr-python's name
    store: Any = None,
    *,
    mode: str = "a",
    path: str | None = None,
    zarr_format: int | None = None,
    storage_options: dict[str, Any] | None = None,
    **create_kwargs: Any,
) -> Array | Group:
    """Open the array or group at ``path`` in ``store``.

    Modes ``"r"``, ``"r+"`` and ``"a"`` open the node that is there. With ``mode`` ``"a"``, ``"w"``
    or ``"w-"`` a missing node is created: an array when ``shape`` is given (with the keywords of
    :func:`create_array`), else a group (which takes ``attributes`` only). Raises NodeNotFound when
    the node is missing in modes ``"r"`` and ``"r+"``, MetadataError for a keyword that the array
    or group would not take (checked in every mode, so a misspelt keyword is never dropped), and
    StoreError for an unknown mode.
    """
    resolved = _store(store, mode, storage_options)
    node_path = normalize_path(path)
    is_array = "shape" in create_kwargs
    if is_array:
        check_array_keywords(create_kwargs, where=f"array {'/' + node_path!r}")
    elif not _GROUP_KEYWORDS.issuperset(create_kwargs):
        raise MetadataError(
            f"group {'/' + node_path!r}: keywords {sorted(set(create_kwargs) - _GROUP_KEYWORDS)} do not apply "
            "to a group, which takes only 'attributes'; pass shape=... to open or create an array"
        )
    if mode in ("r", "r+", "a"):
        try:
            return open_node(resolved, node_path)
        except NodeNotFound:
            if mode != "a":
                raise
    overwrite = mode == "w"
    format_ = zarr_format or 3
    if is_array:
        return _create_array(resolved, path=node_path, zarr_format=format_, overwrite=overwrite, **create_kwargs)
    return _create_group(
        resolved, path=node_path, zarr_format=format_, attributes=create_kwargs.get("attributes"), overwrite=overwrite
    )


def open_array(
    store: Any,
    *,
    path: str | None = None,
    mode: str = "r",
    storage_options: dict[str, Any] | None = None,
) -> Array:
    """Open the existing array at ``path``. Raises NodeNotFound if there is none (or a group is there)."""
    node = open_node(_store(store, mode, storage_options), normalize_path(path))
    if not isinstance(node, Array):
        raise NodeNotFound(f"{node.name!r} is a group, not an array")
    return node


def open_group(
    store: Any = None,
    *,
    path: str | None = None,
    mode: str = "r",
    storage_options: dict[str, Any] | None = None,
    zarr_format: int | None = None,
    attributes: dict[str, Any] | None = None,
) -> Group:
    """Open the group at ``path``; in modes ``"a"``, ``"w"`` and ``"w-"`` create it if needed.

    Raises NodeNotFound when it is missing in modes ``"r"``/``"r+"`` or an array is there, and
    NodeExists in mode ``"w-"`` when a node exists.
    """
    resolved = _store(store, mode, storage_options)
    node_path = normalize_path(path)
    if mode in ("w", "w-"):
        return _create_group(
            resolved, path=node_path, zarr_format=zarr_format or 3, attributes=attributes, overwrite=mode == "w"
        )
    try:
        node = open_node(resolved, node_path)
    except NodeNotFound:
        if mode != "a":
            raise
        return _create_group(resolved, path=node_path, zarr_format=zarr_format or 3, attributes=attributes)
    if not isinstance(node, Group):
        raise NodeNotFound(f"{node.name!r} is an array, not a group")
    return node


def create_array(
    store: Any,
    *,
    name: str | None = None,
    storage_options: dict[str, Any] | None = None,
    overwrite: bool = False,
    **kwargs: Any,
) -> Array:
    """Create an array at ``name`` in ``store`` and return it.

    Keywords as zarr-python 3: ``shape``, ``dtype``, ``chunks="auto"``, ``shards=None``,
    ``filters="auto"``, ``compressors="auto"``, ``serializer="auto"``, ``fill_value=None``,
    ``order=None``, ``zarr_format=3``, ``attributes=None``, ``chunk_key_encoding=None``,
    ``dimension_names=None``, and ``write_empty_chunks=False``. Raises NodeExists when a node is
    there and ``overwrite`` is false, MetadataError for an invalid combination.
    """
    resolved = _store(store, "w" if overwrite else "a", storage_options)
    return _create_array(resolved, path=normalize_path(name), overwrite=overwrite, **kwargs)


def create_group(
    store: Any,
    *,
    path: str | None = None,
    zarr_format: int = 3,
    attributes: dict[str, Any] | None = None,
    overwrite: bool = False,
    storage_options: dict[str, Any] | None = None,
) -> Group:
    """Create a group at ``path`` in ``store``. Raises NodeExists when a node is there and not ``overwrite``."""
    resolved = _store(store, "w" if overwrite else "a", storage_options)
    return _create_group(
        resolved, path=normalize_path(path), zarr_format=zarr_format, attributes=attributes, overwrite=overwrite
    )


def consolidate_metadata(
    store: Any, path: str | None = None, *, storage_options: dict[str, Any] | None = None
) -> Group:
    """Gather the metadata of every node below the group at ``path`` into that group's metadata.

    Afterwards, opening the group and reading the metadata of all its members costs one store read.
    Writes v2 ``.zmetadata`` or v3 inline ``consolidated_metadata`` as zarr-python does.
    """
    return _consolidate(_store(store, "r+", storage_options), normalize_path(path))

