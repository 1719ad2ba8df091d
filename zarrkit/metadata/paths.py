"""Node paths inside a hierarchy: normalization, node-name rules and joining.

A path here is the store-key form of a hierarchy path: ``""`` for the root and ``"a/b"`` for
the node the Zarr specification calls ``/a/b``.
"""

from __future__ import annotations

from zarrkit.errors import MetadataError


def normalize_path(path: str | None) -> str:
    """The canonical form of a node path: ``""`` for the root, no leading or trailing ``/``.

    ``None``, ``""`` and ``"/"`` all mean the root. Raises MetadataError for a path with an empty
    segment (``"a//b"``) or a ``.`` or ``..`` segment, which would escape or alias other nodes.
    """
    if path is None:
        return ""
    if not isinstance(path, str):
        raise MetadataError(f"node path must be a string, got {path!r}")
    stripped = path.strip("/")
    if not stripped:
        return ""
    segments = stripped.split("/")
    for segment in segments:
        if segment == "":
            raise MetadataError(f"node path {path!r} has an empty segment")
        if segment in (".", ".."):
            raise MetadataError(f"node path {path!r} has a {segment!r} segment")
    return stripped


def check_node_name(name: str) -> None:
    """Check ``name`` against the Zarr v3 node-name rules.

    A name must not be empty, contain ``/``, consist only of periods, or start with the reserved
    prefix ``__``. Raises MetadataError naming the rule it breaks.
    """
    if not isinstance(name, str):
        raise MetadataError(f"node name must be a string, got {name!r}")
    if name == "":
        raise MetadataError("node name must not be empty")
    if "/" in name:
        raise MetadataError(f"node name {name!r} must not contain '/'")
    if name.strip(".") == "":
        raise MetadataError(f"node name {name!r} must not consist only of periods")
    if name.startswith("__"):
        raise MetadataError(f"node name {name!r} must not start with the reserved prefix '__'")


def join_path(parent: str, name: str) -> str:
    """The path of ``name`` under ``parent`` (``join_path("", "a") == "a"``), normalized.

    ``name`` may hold several segments (``"b/c"``). Raises MetadataError as normalize_path does.
    """
    parent = normalize_path(parent)
    child = normalize_path(name)
    if not parent:
        return child
    if not child:
        return parent
    return f"{parent}/{child}"


def child_path(parent: str, name: str) -> str:
    """The path of a new node called ``name`` under ``parent``, checked against the node-name rules.

    ``name`` may hold several segments (``"b/c"``, creating intermediate groups); each one must pass
    :func:`check_node_name`, so ``"__b"``, ``"..."`` and ``"a//b"`` are refused. Slashes at either
    end of ``name`` are ignored. Use this when creating nodes; reading stays lenient and uses
    :func:`join_path`. Raises MetadataError naming the rule a segment breaks.
    """
    if not isinstance(name, str):
        raise MetadataError(f"node name must be a string, got {name!r}")
    for segment in name.strip("/").split("/"):
        try:
            check_node_name(segment)
        except MetadataError as error:
            raise MetadataError(f"cannot create node {name!r} under '{parent or '/'}': {error}") from None
    return join_path(parent, name)
