"""Reference sets in JSON files (the fsspec reference spec, versions 0 and 1), plain or compressed.

Files may be compressed with gzip or zstd; loading recognises the compression by its magic
number, so the name does not matter, and saving picks it from the extension (``.gz``, ``.zst``).

Reference files get large (millions of references), so loading does not build the whole JSON
document first: the members of the references object are read one by one and added to the
:class:`ReferenceSet` as they come, and the common ``"key": ["url", offset, length]`` member is
matched by one regular expression. Peak memory stays below that of ``json.loads`` on the same file.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from numcodecs import Zstd

from zarrkit.errors import ReferenceError, ZarrkitError
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
_INTEGER = r"(0|[1-9][0-9]*)"
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
    """Reads the JSON text of a reference file member by member, keeping a position in the text."""

    def __init__(self, text: str, where: str) -> None:
        self.text = text
        self.where = where
        self.position = 0
        self._decoder = json.JSONDecoder()

    def read(self, mount_loader: MountLoader | None) -> ReferenceSet:
        """The reference set the text holds; see :func:`load_json_bytes`."""
        top_level = ReferenceSet()  # the members of a version 0 set
        refs = ReferenceSet()  # the members of a version 1 "refs" object
        refs_start: int | None = None
        header: dict[str, object] = {}

        def read_field(name: str) -> None:
            nonlocal refs_start
            if name == "refs" and self._next_character() == "{":
                refs_start = self.position
                # Templates written before the references (as zarrkit and kerchunk write them) are
                # rendered as the references are read, so each is built once; later ones are
                # rendered afterwards by complete_version_1.
                templates = parse_templates(header["templates"], self.where) if "templates" in header else {}
                self._read_entries(refs, templates=templates)
            else:
                header[name] = self._read_value()

        if self._next_character() != "{":
            raise ReferenceError(f"{self.where} does not hold a reference set: its JSON is not an object")
        self._read_entries(top_level, special_keys=VERSION_1_FIELDS, read_special=read_field)
        self._expect_end()
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
    ) -> None:
        """Read the object at the current position into ``references``, handing the values of
        ``special_keys`` to ``read_special(key)`` instead; URLs are rendered with ``templates``."""
        urls: dict[str, str] = {}  # as written -> as rendered, one string object per distinct URL
        for member in self._members(special_keys):
            if isinstance(member, re.Match):
                key, written_url, offset, length, _ = member.groups()
                url = urls.get(written_url)
                if url is None:
                    url = urls[written_url] = _rendered(written_url, templates)
                references[key] = Reference(url, int(offset), int(length))
            elif member in special_keys:
                read_special(member)  # type: ignore[misc]
            else:
                references[member] = parse_value(member, self._read_value(), self.where)

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
