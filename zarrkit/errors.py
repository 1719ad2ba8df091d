"""The one exception hierarchy of zarrkit.

Every error zarrkit raises on purpose is a subclass of :class:`ZarrkitError`, and its message names
what went wrong and where (the node path, the chunk key, the field or the URL), so a user can act on
it. Missing is a value, failure is an exception: a store answers ``None`` for a missing key and
raises one of these for anything else.
"""

from __future__ import annotations


class ZarrkitError(Exception):
    """Base class of every error zarrkit raises on purpose."""


class NodeNotFound(ZarrkitError, KeyError):
    """No array or group exists at the given path.

    It is also a ``KeyError`` so that ``group["missing"]`` behaves as a mapping lookup does.
    """

    def __str__(self) -> str:
        # KeyError quotes its argument; a message reads better unquoted.
        return str(self.args[0]) if self.args else ""


class NodeExists(ZarrkitError, FileExistsError):
    """An array or group already exists where a new one was to be created without ``overwrite``."""


class MetadataError(ZarrkitError, ValueError):
    """Metadata is malformed, invalid or inconsistent; the message names the node path and field."""


class CodecError(ZarrkitError):
    """A chunk cannot be encoded or decoded (checksum mismatch, truncated or corrupt data).

    The message names the chunk key.
    """


class StoreError(ZarrkitError):
    """A store operation failed for a reason other than a missing key."""


class PermissionDenied(StoreError, PermissionError):
    """The backend refused access (HTTP 401/403, file permissions); never read as a missing key."""


class ReadOnlyError(StoreError):
    """A write was attempted on a store (or array) that was opened read-only."""


class TransientStoreError(StoreError):
    """A backend error that survived the retries (server errors, timeouts, resets); names the key."""


class ReferenceError(ZarrkitError):  # noqa: A001 - the name the design gives it
    """A reference set is malformed, or a reference cannot be resolved; names the key and target."""


class UnsupportedFeature(ZarrkitError, NotImplementedError):
    """The data uses a feature zarrkit does not support; names the feature and where it was met."""


class SelectionError(ZarrkitError, IndexError):
    """A selection is malformed or out of bounds for the array it indexes.

    It is also an ``IndexError`` so that NumPy-style code that catches ``IndexError`` keeps working.
    """


class ShapeError(ZarrkitError, ValueError):
    """A value does not fit the selection it is assigned to (shape or dtype mismatch)."""
