"""Reference sets as data: keys mapped to inline bytes or to byte ranges of target files.

A reference set is what the fsspec reference spec describes once its templates and ``gen`` are
expanded: every key maps either to its value inline (``bytes``) or to a :class:`Reference`, a byte
range of a target file named by URL. :class:`ReferenceSet` holds one in memory; other sources
(parquet record files, reference sets mounted under a prefix) load their entries on demand and
implement the same small :class:`References` interface, which is all
:class:`~zarrkit.refs.store.ReferenceStore` needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass

from zarrkit.errors import ReferenceError
from zarrkit.storage.base import ByteRange


@dataclass(frozen=True, slots=True)
class Reference:
    """Bytes ``offset`` to ``offset + length`` of the file at ``url``; the whole file when ``length``
    is None (then ``offset`` is 0). A ``url`` of None stands for the default target given when the
    reference set is opened.

    Raises ReferenceError for a negative or non-integer offset or length, or an offset without a
    length.
    """

    url: str | None
    offset: int = 0
    length: int | None = None

    def __post_init__(self) -> None:
        if self.url is not None and not isinstance(self.url, str):
            raise ReferenceError(f"invalid reference {self!r}: the url must be a string or None")
        if not _is_count(self.offset) or (self.length is not None and not _is_count(self.length)):
            raise ReferenceError(
                f"invalid reference {self!r}: offset and length must be integers >= 0 "
                f"(got offset {self.offset!r}, length {self.length!r})"
            )
        if self.length is None and self.offset != 0:
            raise ReferenceError(f"invalid reference {self!r}: an offset needs a length")

    @property
    def byte_range(self) -> ByteRange | None:
        """The range of the target this reference covers: ``(offset, length)``, or None for the whole file."""
        return None if self.length is None else (self.offset, self.length)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


Entry = bytes | Reference
"""What a key maps to: its value inline, or a reference to bytes of a target file."""


class References(ABC):
    """A source of reference entries, as :class:`~zarrkit.refs.store.ReferenceStore` reads them.

    :class:`ReferenceSet` holds its entries in memory; lazy sources (parquet record files,
    reference sets mounted under a prefix) load them when first asked.
    """

    @abstractmethod
    async def lookup(self, keys: Sequence[str]) -> list[Entry | None]:
        """The entry of each key, in order; None where the set has no such key.

        Raises ReferenceError when a lazy source cannot be loaded or is malformed.
        """

    @abstractmethod
    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted. Raises as :meth:`lookup` does."""


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise ReferenceError(f"invalid reference key {key!r}: keys are non-empty strings")
    return key


def check_mount_prefix(prefix: object) -> str:
    """``prefix`` if it can mount references (a relative path ending in ``/``); else ReferenceError."""
    if not isinstance(prefix, str) or not prefix.endswith("/") or prefix.startswith("/") or "//" in prefix:
        raise ReferenceError(f"invalid mount prefix {prefix!r}: use a relative path ending in '/', such as 'part1/'")
    return prefix


class ReferenceSet(References, MutableMapping[str, Entry]):
    """A reference set in memory: a mutable mapping from keys to entries, plus mounts.

    ``entries`` maps keys to ``bytes`` (inline values; any bytes-like object is copied to bytes)
    or :class:`Reference` objects. ``mounts`` maps prefixes (``"part1/"``) to other
    :class:`References` whose keys appear under that prefix (see :meth:`mount`). Target URLs are
    shared between entries, so a million references to one file hold that URL once.

    Raises ReferenceError for an empty or non-string key, a value that is neither bytes-like nor a
    Reference, or a malformed mount prefix.
    """

    def __init__(
        self,
        entries: Mapping[str, Entry] | Iterable[tuple[str, Entry]] = (),
        *,
        mounts: Mapping[str, References] | None = None,
    ) -> None:
        self._entries: dict[str, Entry] = {}
        self._urls: dict[str | None, str | None] = {}
        self._mounts: dict[str, References] = {}
        self.update(entries)
        for prefix, references in (mounts or {}).items():
            self.mount(prefix, references)

    def __repr__(self) -> str:
        mounts = f", mounts {sorted(self._mounts)}" if self._mounts else ""
        return f"<ReferenceSet of {len(self._entries)} keys{mounts}>"

    # -- the mapping of this set's own entries ---------------------------------------------------

    def __getitem__(self, key: str) -> Entry:
        return self._entries[key]

    def __setitem__(self, key: str, value: Entry) -> None:
        _check_key(key)
        if isinstance(value, Reference):
            shared_url = self._urls.setdefault(value.url, value.url)
            if shared_url is not value.url:
                value = Reference(shared_url, value.offset, value.length)
        elif type(value) is not bytes:
            try:
                value = memoryview(value).tobytes()  # type: ignore[arg-type]
            except TypeError:
                raise ReferenceError(
                    f"invalid entry for key {key!r}: expected bytes or a Reference, got {type(value).__name__}"
                ) from None
        self._entries[key] = value

    def __delitem__(self, key: str) -> None:
        del self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    # -- mounts -----------------------------------------------------------------------------------

    @property
    def mounts(self) -> Mapping[str, References]:
        """The mounted sources by prefix (read-only view; change it with :meth:`mount`)."""
        return dict(self._mounts)

    def mount(self, prefix: str, references: References) -> None:
        """Make the keys of ``references`` appear under ``prefix`` (``"part1/"``): a lookup of
        ``part1/a/0.0`` asks ``references`` for ``a/0.0``. Entries of this set under the prefix are
        hidden by the mount. Raises ReferenceError for a malformed or overlapping prefix."""
        check_mount_prefix(prefix)
        for existing in self._mounts:
            if existing != prefix and (existing.startswith(prefix) or prefix.startswith(existing)):
                raise ReferenceError(f"mount prefix {prefix!r} overlaps the mount at {existing!r}")
        if not isinstance(references, References):
            raise ReferenceError(f"cannot mount {type(references).__name__} at {prefix!r}: expected References")
        self._mounts[prefix] = references

    def _mount_of(self, key: str) -> str | None:
        for prefix in self._mounts:
            if key.startswith(prefix):
                return prefix
        return None

    # -- the References interface ---------------------------------------------------------------

    async def lookup(self, keys: Sequence[str]) -> list[Entry | None]:
        """The entry of each key (own entries and mounted ones), None where there is none.

        Raises ReferenceError when a mounted source fails to load.
        """
        if not self._mounts:
            return [self._entries.get(key) for key in keys]
        results: list[Entry | None] = [None] * len(keys)
        mounted: dict[str, list[int]] = {}
        for position, key in enumerate(keys):
            prefix = self._mount_of(key)
            if prefix is None:
                results[position] = self._entries.get(key)
            else:
                mounted.setdefault(prefix, []).append(position)
        for prefix, positions in mounted.items():
            entries = await self._mounts[prefix].lookup([keys[position][len(prefix) :] for position in positions])
            for position, entry in zip(positions, entries, strict=True):
                results[position] = entry
        return results

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (own entries outside mounts, and mounted keys), sorted."""
        keys = [key for key in self._entries if key.startswith(prefix) and self._mount_of(key) is None]
        for mount_prefix, references in self._mounts.items():
            if mount_prefix.startswith(prefix):
                keys.extend(mount_prefix + key for key in await references.list_keys())
            elif prefix.startswith(mount_prefix):
                inner = await references.list_keys(prefix[len(mount_prefix) :])
                keys.extend(mount_prefix + key for key in inner)
        return sorted(keys)

    def target_urls(self) -> list[str | None]:
        """The distinct target URLs of this set's own references (not of mounts), in first-use order."""
        seen: dict[str | None, None] = {}
        for entry in self._entries.values():
            if isinstance(entry, Reference):
                seen.setdefault(entry.url)
        return list(seen)
