"""Reference sets as data: keys mapped to inline bytes or to byte ranges of target files.

A reference set is what the fsspec reference spec describes once its templates and ``gen`` are
expanded: every key maps either to its value inline (``bytes``) or to a :class:`Reference`, a byte
range of a target file named by URL. :class:`ReferenceSet` holds one in memory (the chunks of an
array that differ only in offset and length can be held as a
:class:`~zarrkit.refs.chunk_table.ChunkTable`, two columns instead of an object per chunk); other sources
(parquet record files, reference sets mounted under a prefix) load their entries on demand and
implement the same small :class:`References` interface, which is all
:class:`~zarrkit.refs.store.ReferenceStore` needs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping, Sequence, ValuesView
from itertools import chain
from types import MappingProxyType

from zarrkit.errors import ReferenceError
from zarrkit.refs.chunk_table import ChunkGrid, ChunkTable, locate
from zarrkit.refs.reference import Reference

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
    """A reference set in memory: a mutable mapping from keys to entries, plus chunk tables and mounts.

    ``entries`` maps keys to ``bytes`` (inline values; any bytes-like object is copied to bytes)
    or :class:`Reference` objects. Chunk tables (see :meth:`add_chunk_table`) hold the references of
    all chunks of an array as columns; their keys are keys of the mapping like any other, and
    changing one of them turns its table into ordinary entries first. ``mounts`` maps prefixes
    (``"part1/"``) to other :class:`References` whose keys appear under that prefix (see
    :meth:`mount`). Target URLs are shared between entries, so a million references to one file
    hold that URL once.

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
        self._tables: dict[str, ChunkTable] = {}
        self._grids: dict[str, ChunkGrid] = {}
        self._mounts: dict[str, References] = {}
        self.update(entries)
        for prefix, references in (mounts or {}).items():
            self.mount(prefix, references)

    def __repr__(self) -> str:
        mounts = f", mounts {sorted(self._mounts)}" if self._mounts else ""
        return f"<ReferenceSet of {len(self)} keys{mounts}>"

    # -- the mapping of this set's own entries ---------------------------------------------------

    def __getitem__(self, key: str) -> Entry:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._table_entry(key)
            if entry is None:
                raise KeyError(key)
        return entry

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
        self._unpack_table_of(key)
        self._entries[key] = value

    def __delitem__(self, key: str) -> None:
        self._unpack_table_of(key)
        del self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return chain(self._entries, *(table.keys() for table in self._tables.values()))

    def __len__(self) -> int:
        return len(self._entries) + sum(len(table) for table in self._tables.values())

    def items(self) -> ItemsView[str, Entry]:
        """A view of the (key, entry) pairs; iterating it reads chunk tables column by column."""
        return _Items(self)

    def values(self) -> ValuesView[Entry]:
        """A view of the entries; iterating it reads chunk tables column by column."""
        return _Values(self)

    # -- chunk tables -----------------------------------------------------------------------------

    @property
    def single_entries(self) -> Mapping[str, Entry]:
        """The entries held one by one, without those of chunk tables (read-only view)."""
        return MappingProxyType(self._entries)

    @property
    def chunk_tables(self) -> Mapping[str, ChunkTable]:
        """The chunk tables by array path (read-only view; add them with :meth:`add_chunk_table`)."""
        return dict(self._tables)

    def add_chunk_table(self, table: ChunkTable) -> None:
        """Hold the references of every chunk of ``table.grid`` as ``table``, replacing any entries
        (or earlier table) for those chunks. Raises ReferenceError when the key of a chunk of the
        table falls under a mount."""
        path = table.grid.path
        if any(
            table.grid.directory.startswith(prefix) or prefix.startswith(table.grid.directory)
            for prefix in self._mounts
        ):
            raise ReferenceError(f"the chunk table of array {path!r} overlaps a mount")
        directory, grid = table.grid.directory, table.grid
        replaced = [
            key
            for key in self._entries
            if key.startswith(directory) and grid.chunk_number(key[len(directory) :]) is not None
        ]
        for key in replaced:
            del self._entries[key]
        shared_url = self._urls.setdefault(table.url, table.url)
        if shared_url is not table.url:
            table = ChunkTable(table.grid, shared_url, table.offsets, table.lengths)
        self._tables[path] = table
        self._grids[path] = table.grid

    def _table_entry(self, key: str) -> Reference | None:
        if not self._tables:
            return None
        located = locate(self._grids, key)
        if located is None:
            return None
        grid, number = located
        return self._tables[grid.path].reference(number)

    def _unpack_table_of(self, key: str) -> None:
        """Turn the chunk table that ``key`` belongs to, if any, into ordinary entries, so that
        setting or deleting the key changes one entry only."""
        if not self._tables:
            return
        located = locate(self._grids, key)
        if located is not None:
            path = located[0].path
            table = self._tables.pop(path)
            del self._grids[path]
            self._entries.update(table.items())

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
        if any(
            prefix.startswith(table.grid.directory) or table.grid.directory.startswith(prefix)
            for table in self._tables.values()
        ):
            raise ReferenceError(f"mount prefix {prefix!r} overlaps a chunk table")
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
            return [self._own_entry(key) for key in keys]
        results: list[Entry | None] = [None] * len(keys)
        mounted: dict[str, list[int]] = {}
        for position, key in enumerate(keys):
            prefix = self._mount_of(key)
            if prefix is None:
                results[position] = self._own_entry(key)
            else:
                mounted.setdefault(prefix, []).append(position)
        for prefix, positions in mounted.items():
            entries = await self._mounts[prefix].lookup([keys[position][len(prefix) :] for position in positions])
            for position, entry in zip(positions, entries, strict=True):
                results[position] = entry
        return results

    def _own_entry(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        return entry if entry is not None else self._table_entry(key)

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (own entries outside mounts, and mounted keys), sorted."""
        keys = [key for key in self._entries if key.startswith(prefix) and self._mount_of(key) is None]
        for table in self._tables.values():
            if table.grid.directory.startswith(prefix) or prefix.startswith(table.grid.directory):
                keys.extend(key for key in table.keys() if key.startswith(prefix))
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
        for table in self._tables.values():
            seen.setdefault(table.url)
        return list(seen)


class _Items(ItemsView[str, Entry]):
    """The items of a ReferenceSet: its own entries, then each chunk table's, without looking keys up."""

    _mapping: ReferenceSet

    def __iter__(self) -> Iterator[tuple[str, Entry]]:
        references = self._mapping
        yield from references._entries.items()
        for table in references._tables.values():
            yield from table.items()


class _Values(ValuesView[Entry]):
    """The entries of a ReferenceSet, in the order of :class:`_Items`."""

    _mapping: ReferenceSet

    def __iter__(self) -> Iterator[Entry]:
        for _, entry in _Items(self._mapping):
            yield entry
