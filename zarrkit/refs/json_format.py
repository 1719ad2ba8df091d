"""Reference sets in JSON files (the fsspec reference spec, versions 0 and 1), plain or compressed.

Files may be compressed with gzip or zstd; loading recognises the compression by its magic
number, so the name does not matter, and saving picks it from the extension (``.gz``, ``.zst``).

Reference files get large (millions of references), so loading does not build the whole JSON
document first: the members of the references object are read one by one, and the common
``"key": ["url", offset, length]`` member is matched by one regular expression. Those members are
gathered as columns (:class:`_RangeColumns`) rather than as one :class:`Reference` each: an array
whose every chunk they reference, in one file, becomes a chunk table; the rest become ordinary
entries. Peak memory stays well below that of ``json.loads`` on the same file.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import zlib
from array import array
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
from numcodecs import Zstd

from zarrkit.errors import ReferenceError, ZarrkitError
from zarrkit.refs.chunk_table import ChunkGrid, ChunkTable, array_grids
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.refs.spec import (
    VERSION_1_FIELDS,
    MountLoader,
    complete_version_1,
    parse_templates,
    parse_value,
    render_url,
    spec_version,
    to_spec_json,
)
from zarrkit.refs.targets import read_target, split_target
from zarrkit.runtime import run_in_pool
from zarrkit.storage.url import open_store

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# One member "key": ["url", offset, length] and the "," or "}" after it, for strings without escapes.
_SPACE = r"[ \t\n\r]*"
_PLAIN_STRING = r'"([^"\\\x00-\x1f]*)"'
_INTEGER = r"(0|[1-9][0-9]{0,17})"  # below 2**63, so that it fits the int64 columns; longer: the general path
_RANGE_MEMBER = re.compile(
    rf"{_SPACE}{_PLAIN_STRING}{_SPACE}:{_SPACE}\[{_SPACE}{_PLAIN_STRING}{_SPACE},{_SPACE}{_INTEGER}{_SPACE},"
    rf"{_SPACE}{_INTEGER}{_SPACE}\]{_SPACE}([,}}])"
)


async def load_json(
    url: str, *, storage_options: Mapping[str, Any] | None = None, mount_loader: MountLoader | None = None
) -> ReferenceSet:
    """The reference set in the JSON file at ``url`` (any path or URL the storage layer opens).

    ``storage_options`` go to the store of ``url``. ``mount_loader`` loads the sets that the file's
    ``mounts`` name, as they are written (resolving relative URLs is the loader's job). Parsing runs
    in the codec pool, so ``mount_loader`` is called there too: it should return a References that
    loads on first lookup rather than block on I/O. Raises ReferenceError when the file is missing or unreadable, cannot
    be decompressed, is not JSON (naming the position) or is not a valid reference set.
    """
    data = await read_target(url, storage_options)
    return await run_in_pool(functools.partial(load_json_bytes, data, where=url, mount_loader=mount_loader))


def load_json_bytes(data: bytes, *, where: str, mount_loader: MountLoader | None = None) -> ReferenceSet:
    """The reference set in ``data``, the content of a JSON reference file (gzip or zstd compressed,
    or not). ``where`` names the file in messages; ``mount_loader`` loads the sets its ``mounts`` name.

    Raises ReferenceError for data that cannot be decompressed, is not UTF-8 JSON (naming the line,
    column and offset), or is not a valid reference set.
    """
    data = _decompress(data, where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ReferenceError(f"{where} is not UTF-8 text: invalid byte at offset {error.start}") from None
    del data  # the decompressed copy is not needed once decoded
    return _ReferenceFileReader(text, where).read(mount_loader)


def _decompress(data: bytes, where: str) -> bytes:
    try:
        if data.startswith(_GZIP_MAGIC):
            return gzip.decompress(data)
        if data.startswith(_ZSTD_MAGIC):
            return Zstd().decode(data)
    except (OSError, EOFError, zlib.error, RuntimeError, ValueError) as error:
        raise ReferenceError(f"cannot decompress {where}: {error}") from None
    return data


def _rendered(url: str, templates: Mapping[str, Any] | None) -> str:
    if not templates:
        return url
    try:
        return render_url(url, templates)
    except ReferenceError:
        return url  # left for complete_version_1, which names the key in its message


class _ReferenceFileReader:
    """Reads the JSON text of a reference file member by member, keeping a position in the text.

    With ``columns`` (the default), ``"key": ["url", offset, length]`` members are gathered as
    columns and become chunk tables where they can; without, every member becomes an entry as it
    is read, which is what a file that repeats a key needs (the last one wins, as in JSON).
    """

    def __init__(self, text: str, where: str, *, columns: bool = True) -> None:
        self.text = text
        self.where = where
        self.columns = columns
        self.position = 0
        self.members_read = 0
        self._decoder = json.JSONDecoder()

    def read(self, mount_loader: MountLoader | None) -> ReferenceSet:
        """The reference set the text holds; see :func:`load_json_bytes`."""
        top_level = ReferenceSet()  # the members of a version 0 set
        refs = ReferenceSet()  # the members of a version 1 "refs" object
        refs_start: int | None = None
        refs_columns: _RangeColumns | None = None
        header: dict[str, object] = {}

        def read_field(name: str) -> None:
            nonlocal refs_start, refs_columns
            if name == "refs" and self._next_character() == "{":
                refs_start = self.position
                # Templates written before the references (as zarrkit and kerchunk write them) are
                # rendered as the references are read, so each is built once; later ones are
                # rendered afterwards by complete_version_1.
                templates = parse_templates(header["templates"], self.where) if "templates" in header else {}
                refs_columns = self._read_entries(refs, templates=templates)
            else:
                header[name] = self._read_value()

        if self._next_character() != "{":
            raise ReferenceError(f"{self.where} does not hold a reference set: its JSON is not an object")
        top_level_columns = self._read_entries(top_level, special_keys=VERSION_1_FIELDS, read_special=read_field)
        self._expect_end()
        # Added only now, when the mounts are known: no chunk table may overlap one.
        mounts = header.get("mounts")
        for references, columns in ((top_level, top_level_columns), (refs, refs_columns)):
            if columns is not None:
                columns.add_to(references, mounted=mounts if isinstance(mounts, Mapping) else {}, where=self.where)
        if self.columns and len(top_level) + len(refs) != self.members_read:
            # A key written twice: read again, entry by entry, so that the last one wins.
            return _ReferenceFileReader(self.text, self.where, columns=False).read(mount_loader)
        version = spec_version(header, refs_is_object=refs_start is not None, other_keys=top_level, where=self.where)
        if version == 1:
            complete_version_1(refs, header, mount_loader=mount_loader, where=self.where)
            return refs
        for name, value in header.items():
            top_level[name] = parse_value(name, value, self.where)
        if refs_start is not None:
            # In version 0 a member named "refs" is an ordinary key, and its object is inline JSON.
            self.position = refs_start
            top_level["refs"] = parse_value("refs", self._read_value(), self.where)
        return top_level

    def _read_entries(
        self,
        references: ReferenceSet,
        *,
        special_keys: frozenset[str] = frozenset(),
        read_special: Callable[[str], None] | None = None,
        templates: Mapping[str, Any] | None = None,
    ) -> _RangeColumns | None:
        """Read the object at the current position into ``references``, handing the values of
        ``special_keys`` to ``read_special(key)`` instead; URLs are rendered with ``templates``.
        With ``self.columns``, the ``"key": [url, offset, length]`` members are returned as columns
        for the caller to add (once it knows the mounts), the other members added at once."""
        urls: dict[str, str] = {}  # as written -> as rendered, one string object per distinct URL
        columns = _RangeColumns() if self.columns else None
        for member in self._members(special_keys):
            if isinstance(member, re.Match):
                key, written_url, offset, length, _ = member.groups()
                url = urls.get(written_url)
                if url is None:
                    url = urls[written_url] = _rendered(written_url, templates)
                if columns is None:
                    references[key] = Reference(url, int(offset), int(length))
                else:
                    columns.add(key, url, int(offset), int(length))
            elif member in special_keys:
                read_special(member)  # type: ignore[misc]
                continue
            else:
                references[member] = parse_value(member, self._read_value(), self.where)
            self.members_read += 1
        return columns

    def _members(self, special_keys: frozenset[str]) -> Iterator[str | re.Match[str]]:
        """The members of the object at the current position, in order.

        A ``"key": ["url", offset, length]`` member whose key is not special comes as its match of
        ``_RANGE_MEMBER``; for any other, the key comes, and the caller reads the value before
        asking for the next.
        """
        self._expect("{")
        if self._next_character() == "}":
            self.position += 1
            return
        text = self.text
        while True:
            match = _RANGE_MEMBER.match(text, self.position)
            if match is not None and match.group(1) not in special_keys:
                self.position = match.end()
                yield match
                separator = match.group(match.lastindex)  # type: ignore[arg-type]
            else:
                if self._next_character() != '"':
                    raise self._error("expected a key in double quotes", self.position)
                key = self._read_value()
                self._expect(":")
                yield key
                separator = self._next_character()
                self.position += 1
            if separator == "}":
                return
            if separator != ",":
                raise self._error("expected ',' or '}' after an object member", self.position - 1)

    def _read_value(self) -> object:
        self._skip_whitespace()
        try:
            value, self.position = self._decoder.raw_decode(self.text, self.position)
        except json.JSONDecodeError as error:
            raise self._error(error.msg, error.pos) from None
        return value

    def _skip_whitespace(self) -> None:
        self.position = _WHITESPACE.match(self.text, self.position).end()  # type: ignore[union-attr]

    def _next_character(self) -> str:
        """The next character that is not whitespace ("" at the end), without consuming it."""
        self._skip_whitespace()
        return self.text[self.position : self.position + 1]

    def _expect(self, character: str) -> None:
        if self._next_character() != character:
            raise self._error(f"expected {character!r}", self.position)
        self.position += 1

    def _expect_end(self) -> None:
        if self._next_character():
            raise self._error("extra data after the top-level object", self.position)

    def _error(self, message: str, position: int) -> ReferenceError:
        line = self.text.count("\n", 0, position) + 1
        column = position - self.text.rfind("\n", 0, position)
        return ReferenceError(
            f"malformed JSON in {self.where}: {message} at line {line} column {column} (char {position})"
        )


class _RangeColumns:
    """The ``"key": [url, offset, length]`` members of one JSON object, as columns.

    Keys come in runs that share a directory (an array's chunks are written together); the runs
    are noted as the keys arrive, so that grouping them by array costs nothing per key later.
    """

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.urls: list[str] = []  # the same string object for members of the same URL
        self.offsets = array("q")
        self.lengths = array("q")
        self.runs: list[tuple[str, int]] = []  # (directory with its "/", first index)
        self._directory: str | None = None

    def add(self, key: str, url: str, offset: int, length: int) -> None:
        """Append one member."""
        directory = self._directory
        if directory is None or not key.startswith(directory) or key.find("/", len(directory)) >= 0:
            self._directory = directory = key[: key.rfind("/") + 1]
            self.runs.append((directory, len(self.keys)))
        self.keys.append(key)
        self.urls.append(url)
        self.offsets.append(offset)
        self.lengths.append(length)

    def add_to(self, references: ReferenceSet, *, mounted: Mapping[str, object], where: str) -> None:
        """Add the members to ``references``: as a chunk table for each array (described by the
        metadata in ``references``) whose every chunk they point into one file, as single entries
        otherwise. Arrays under a prefix of ``mounted`` keep single entries (tables and mounts may
        not overlap)."""
        if not self.keys:
            return
        grids = _array_grids(references, where)
        ranges_of: dict[str | None, list[range]] = {}  # by array path; None: no array's chunks
        for (directory, start), (_, stop) in zip(self.runs, [*self.runs[1:], ("", len(self.keys))], strict=True):
            ranges_of.setdefault(_array_of(directory, grids), []).append(range(start, stop))
        for path, ranges in ranges_of.items():
            grid = None if path is None else grids[path]
            if grid is not None and not any(
                grid.directory.startswith(prefix) or prefix.startswith(grid.directory) for prefix in mounted
            ):
                table = self._table(grid, ranges)
                if table is not None:
                    references.add_chunk_table(table)
                    continue
            for members in ranges:
                for index in members:
                    references[self.keys[index]] = Reference(self.urls[index], self.offsets[index], self.lengths[index])

    def _table(self, grid: ChunkGrid, ranges: list[range]) -> ChunkTable | None:
        """The chunk table of ``grid`` that the members in ``ranges`` make, or None when they are not
        one reference per chunk into one file."""
        count = grid.chunk_count
        if count == 0 or sum(len(members) for members in ranges) != count:
            return None
        url = self.urls[ranges[0].start]
        if any(self.urls[members.start : members.stop].count(url) != len(members) for members in ranges):
            return None
        indexes = np.concatenate([np.arange(members.start, members.stop) for members in ranges])
        numbers = self._chunk_numbers(grid, indexes)
        if numbers is None:
            return None
        offsets, lengths = np.empty(count, dtype=np.int64), np.empty(count, dtype=np.int64)
        offsets[numbers] = np.frombuffer(self.offsets, dtype=np.int64)[indexes]
        lengths[numbers] = np.frombuffer(self.lengths, dtype=np.int64)[indexes]
        return ChunkTable(grid, url, offsets, lengths)

    def _chunk_numbers(self, grid: ChunkGrid, indexes: np.ndarray) -> np.ndarray | None:
        """The chunk number of the key of each member at ``indexes``, or None when one is not a chunk
        key of ``grid`` or two name the same chunk (``indexes`` has one item per chunk)."""
        keys = self.keys
        # Files list an array's chunks in order: compare with the grid's keys, a slice at a time so
        # that the keys built for the comparison never fill memory.
        step = 1 << 16
        for start in range(0, len(indexes), step):
            stop = min(start + step, len(indexes))
            if [keys[index] for index in indexes[start:stop].tolist()] != grid.chunk_keys(np.arange(start, stop)):
                break
        else:
            return np.arange(len(indexes))
        skip = len(grid.directory)
        numbers = [grid.chunk_number(keys[index][skip:]) for index in indexes.tolist()]
        if None in numbers:
            return None
        found = np.array(numbers, dtype=np.int64)
        return found if np.bincount(found, minlength=grid.chunk_count).max() == 1 else None


def _array_of(directory: str, grids: Mapping[str, ChunkGrid]) -> str | None:
    """The path of the array among ``grids`` whose chunk keys ``directory`` (ending in "/", or "" at
    the root) may hold: the array at the directory or at the nearest directory above it."""
    path = directory[:-1]
    while path not in grids:
        if not path:
            return None
        path = path.rpartition("/")[0]
    return path


def _array_grids(references: ReferenceSet, where: str) -> dict[str, ChunkGrid]:
    """The chunk grids of the arrays whose metadata ``references`` holds inline; none when some of
    that metadata does not parse (opening the array will say what is wrong with it)."""
    documents = {}
    for key, entry in references.single_entries.items():
        if isinstance(entry, bytes) and key.rpartition("/")[2] in (".zarray", "zarr.json"):
            try:
                document = json.loads(entry)
            except ValueError:
                return {}
            if isinstance(document, dict):
                documents[key] = document
    try:
        return array_grids(documents, source=where)
    except ReferenceError:
        return {}


async def save_json(references: ReferenceSet, url: str, *, storage_options: Mapping[str, Any] | None = None) -> None:
    """Write ``references`` to ``url`` as a compact version 1 JSON reference file.

    The extension picks the compression: ``.gz`` gzip, ``.zst`` zstd, anything else none. The file
    is written through the storage layer (atomically on local disks). Raises ReferenceError when
    the set cannot be written as JSON (see :func:`~zarrkit.refs.spec.to_spec`) or the file cannot
    be written.
    """
    data = await run_in_pool(_encode, references, url)
    _, root, key = split_target(url)
    if not root:
        raise ReferenceError(f"cannot write a reference file to the pre-signed URL {url!r}")
    try:
        store = open_store(root, mode="a", storage_options=dict(storage_options or {}))
        try:
            await store.set(key, data)
        finally:
            store.close()
    except ZarrkitError as error:
        raise ReferenceError(f"cannot write the reference file {url!r}: {error}") from error


def _encode(references: ReferenceSet, url: str) -> bytes:
    try:
        data = to_spec_json(references)
    except UnicodeEncodeError as error:
        raise ReferenceError(f"cannot write {url!r}: a key or value is not valid unicode ({error})") from None
    if url.endswith(".gz"):
        # mtime 0 keeps the output the same from one run to the next.
        return gzip.compress(data, mtime=0)
    if url.endswith(".zst"):
        return Zstd().encode(data)
    return data
