"""ZipOverStore: a zip archive read from any store through byte ranges, and ``zip::<url>`` URLs.

Opening reads the archive's size and its last 64 KiB (which hold the end-of-central-directory
record, and for small archives the whole central directory) in one round trip, and the central
directory with one more range request when it is larger. Reading a member then costs its local
header once (30 bytes, remembered) and its bytes: an uncompressed member serves any byte range by
itself, a compressed one is read whole and decompressed. Whole reads are checked against the
member's CRC-32, so a damaged archive raises instead of returning wrong data.
"""

from __future__ import annotations

import asyncio
import bz2
import lzma
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zarrkit.errors import ReadOnlyError, StoreError, UnsupportedFeature
from zarrkit.runtime import run_in_pool, sync
from zarrkit.storage.base import ByteRange, ReadRequest, Store, check_byte_range, resolve_byte_range
from zarrkit.storage.url import open_store

_END_RECORD = struct.Struct("<4s4H2LH")  # signature, disks, entries, directory size and offset, comment length
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the zip64 end record, disks
_ZIP64_END_RECORD = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries, directory size and offset
_CENTRAL_HEADER = struct.Struct("<4s6H3L5H2L")
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_END_SIGNATURE = b"PK\x06\x06"
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_LOCAL_SIGNATURE = b"PK\x03\x04"
_ZIP64_EXTRA_ID = 0x0001
_ENCRYPTED_FLAG = 0x1
_UTF8_FLAG = 0x800
_TAIL_SIZE = _END_RECORD.size + 0xFFFF + _ZIP64_LOCATOR.size + _ZIP64_END_RECORD.size

_STORED, _DEFLATED, _BZIP2, _LZMA = 0, 8, 12, 14


@dataclass(frozen=True)
class ZipMember:
    """One file in the archive, as its central directory entry describes it."""

    name: str
    header_offset: int
    compress_type: int
    compressed_size: int
    file_size: int
    crc: int
    flags: int


class ZipOverStore(Store):
    """A read-only store over the zip archive held under ``key`` in another store.

    The archive is read through ``store``'s byte ranges, so it can sit anywhere a store reaches
    (local files, memory, object storage, HTTP). Its central directory is read on first use or by
    :meth:`load`; each read batch becomes one ``get_many`` on ``store`` (plus one for the local
    headers of members not read before). Stored (uncompressed) members serve byte ranges without
    reading the rest; deflate, bzip2 and LZMA members are read whole. Writes raise ReadOnlyError.

    ``close_store`` makes :meth:`close` close ``store`` too (for stores opened on its behalf).
    """

    def __init__(self, store: Store, key: str, *, close_store: bool = False) -> None:
        super().__init__(read_only=True)
        self.store = store
        self.key = key
        self._close_store = close_store
        self._members: dict[str, ZipMember] | None = None
        self._data_offsets: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"ZipOverStore({self.store!r}, {self.key!r})"

    # -- the central directory --------------------------------------------------------------------

    async def load(self) -> None:
        """Read the archive's central directory, if not done yet.

        Raises StoreError naming the archive when it is missing, is not a zip archive or is damaged.
        """
        if self._members is None:
            self._members = await self._read_directory()

    async def _directory(self) -> dict[str, ZipMember]:
        if self._members is None:
            await self.load()
        assert self._members is not None
        return self._members

    def _damaged(self, detail: str) -> StoreError:
        return StoreError(f"zip archive {self.key!r} in {self.store!r} is damaged or not a zip archive: {detail}")

    async def _read_directory(self) -> dict[str, ZipMember]:
        size, tail = await asyncio.gather(self.store.getsize(self.key), self.store.get(self.key, (-_TAIL_SIZE, None)))
        if size is None or tail is None:
            raise StoreError(f"zip archive {self.key!r} not found in {self.store!r}")
        tail_start = size - len(tail)
        end = self._find_end_record(tail)
        _, disk, _, _, entries, directory_size, directory_offset, _ = _END_RECORD.unpack_from(tail, end)
        # The central directory ends where the end records start. Its recorded offset is relative to
        # the archive's start, so the difference is the length of data prepended to the archive
        # (as self-extracting archives have).
        directory_end = tail_start + end
        locator = end - _ZIP64_LOCATOR.size
        if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR_SIGNATURE:
            record = locator - _ZIP64_END_RECORD.size
            if record < 0 or tail[record : record + 4] != _ZIP64_END_SIGNATURE:
                raise self._damaged("its zip64 end record is missing")
            fields = _ZIP64_END_RECORD.unpack_from(tail, record)
            disk, entries, directory_size, directory_offset = fields[4], fields[7], fields[8], fields[9]
            directory_end = tail_start + record
        if disk != 0:
            raise UnsupportedFeature(f"zip archive {self.key!r} in {self.store!r} spans several disks")
        prepended = directory_end - directory_size - directory_offset
        directory_start = directory_offset + prepended
        if prepended < 0:
            raise self._damaged("its central directory lies outside the archive")
        if directory_start >= tail_start:
            directory = tail[directory_start - tail_start : directory_end - tail_start]
        else:
            directory = await self.store.get(self.key, (directory_start, directory_size))
            if directory is None or len(directory) != directory_size:
                raise self._damaged("its central directory is truncated")
        members = self._parse_directory(directory, prepended)
        if len(members) > entries:
            raise self._damaged(f"its central directory holds more than the {entries} entries it announces")
        return {member.name: member for member in members if not member.name.endswith("/")}

    def _find_end_record(self, tail: bytes) -> int:
        """The position in ``tail`` of the end-of-central-directory record whose comment ends the file."""
        position = tail.rfind(_END_SIGNATURE, 0, len(tail) - _END_RECORD.size + len(_END_SIGNATURE))
        while position >= 0:
            comment_length = _END_RECORD.unpack_from(tail, position)[-1]
            if position + _END_RECORD.size + comment_length == len(tail):
                return position
            position = tail.rfind(_END_SIGNATURE, 0, position)
        raise self._damaged("no end-of-central-directory record")

    def _parse_directory(self, directory: bytes, prepended: int) -> list[ZipMember]:
        members: list[ZipMember] = []
        position = 0
        while position + _CENTRAL_HEADER.size <= len(directory):
            fields = _CENTRAL_HEADER.unpack_from(directory, position)
            if fields[0] != _CENTRAL_SIGNATURE:
                raise self._damaged(f"bad central directory entry at byte {position}")
            flags, method, crc, compressed_size, file_size = fields[3], fields[4], fields[7], fields[8], fields[9]
            name_length, extra_length, comment_length, header_offset = fields[10], fields[11], fields[12], fields[16]
            start = position + _CENTRAL_HEADER.size
            raw_name = directory[start : start + name_length]
            extra = directory[start + name_length : start + name_length + extra_length]
            name = raw_name.decode("utf-8" if flags & _UTF8_FLAG else "cp437")
            file_size, compressed_size, header_offset = _apply_zip64_extra(
                extra, file_size, compressed_size, header_offset
            )
            members.append(ZipMember(name, header_offset + prepended, method, compressed_size, file_size, crc, flags))
            position = start + name_length + extra_length + comment_length
        if position != len(directory):
            raise self._damaged("its central directory ends in the middle of an entry")
        return members

    # -- reads ------------------------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of member ``key`` (or the byte range of it), or ``None`` if there is no such member.

        Raises StoreError for a malformed range or a damaged archive, UnsupportedFeature for an
        encrypted member or an unknown compression method.
        """
        return (await self.get_many([(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        members = await self._directory()
        found: list[tuple[int, ZipMember, ByteRange | None]] = []
        for index, (key, byte_range) in enumerate(requests):
            check_byte_range(key, byte_range)
            member = members.get(key)
            if member is not None:
                if member.flags & _ENCRYPTED_FLAG:
                    raise UnsupportedFeature(f"zip member {key!r} of {self.key!r} in {self.store!r} is encrypted")
                found.append((index, member, byte_range))
        await self._learn_data_offsets([member for _, member, _ in found])
        reads = [(self.key, self._archive_range(member, byte_range)) for _, member, byte_range in found]
        raw = await self.store.get_many(reads) if reads else []
        values: list[bytes | None] = [None] * len(requests)
        to_decode: list[tuple[int, ZipMember, bytes, ByteRange | None]] = []
        for (index, member, byte_range), data, (_, (_, length)) in zip(found, raw, reads):
            if data is None or len(data) != length:
                raise self._damaged(f"member {member.name!r} is truncated")
            if byte_range is not None and member.compress_type == _STORED:
                values[index] = data  # exactly the bytes asked for
            else:
                to_decode.append((index, member, data, byte_range))
        if to_decode:
            decoded = await run_in_pool(self._decode_all, to_decode)
            for (index, *_), value in zip(to_decode, decoded):
                values[index] = value
        return values

    async def _learn_data_offsets(self, members: Sequence[ZipMember]) -> None:
        """Read the local headers of members whose data offset is not known yet, in one batch."""
        unknown = list({member.name: member for member in members if member.name not in self._data_offsets}.values())
        if not unknown:
            return
        headers = await self.store.get_many(
            [(self.key, (member.header_offset, _LOCAL_HEADER.size)) for member in unknown]
        )
        for member, header in zip(unknown, headers):
            if header is None or len(header) != _LOCAL_HEADER.size or header[:4] != _LOCAL_SIGNATURE:
                raise self._damaged(f"member {member.name!r} has no valid local header")
            name_length, extra_length = _LOCAL_HEADER.unpack(header)[-2:]
            self._data_offsets[member.name] = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length

    def _archive_range(self, member: ZipMember, byte_range: ByteRange | None) -> tuple[int, int]:
        """The ``(offset, length)`` in the archive to read for ``byte_range`` of ``member``."""
        data_offset = self._data_offsets[member.name]
        if byte_range is not None and member.compress_type == _STORED:
            start, stop = resolve_byte_range(byte_range, member.file_size)
            return data_offset + start, stop - start
        return data_offset, member.compressed_size

    def _decode_all(self, items: Sequence[tuple[int, ZipMember, bytes, ByteRange | None]]) -> list[bytes]:
        return [self._decode(member, data, byte_range) for _, member, data, byte_range in items]

    def _decode(self, member: ZipMember, data: bytes, byte_range: ByteRange | None) -> bytes:
        """The member's content from its stored bytes, checked against its CRC-32, then ranged."""
        try:
            value = _decompress(member, data)
        except (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError) as error:
            raise self._damaged(f"member {member.name!r} does not decompress: {error}") from error
        if len(value) != member.file_size or zlib.crc32(value) != member.crc:
            raise self._damaged(f"member {member.name!r} fails its CRC-32 check")
        if byte_range is None:
            return value
        start, stop = resolve_byte_range(byte_range, len(value))
        return value[start:stop]

    async def getsize(self, key: str) -> int | None:
        """The uncompressed size of member ``key``, or ``None`` if there is none."""
        member = (await self._directory()).get(key)
        return None if member is None else member.file_size

    async def list(self, prefix: str = "") -> list[str]:
        """Every member name that starts with ``prefix``, sorted."""
        return sorted(name for name in await self._directory() if name.startswith(prefix))

    # -- writes -----------------------------------------------------------------------------------

    async def set(self, key: str, value: bytes) -> None:
        """Raises ReadOnlyError: an archive read through byte ranges cannot be written."""
        self._check_writable(key)

    async def delete(self, key: str) -> None:
        """Raises ReadOnlyError: an archive read through byte ranges cannot be written."""
        self._check_writable(key)

    def close(self) -> None:
        """Close the underlying store if this store was told to (``close_store``)."""
        if self._close_store:
            self.store.close()


def _apply_zip64_extra(extra: bytes, file_size: int, compressed_size: int, header_offset: int) -> tuple[int, int, int]:
    """The sizes and offset with the zip64 extra field's values in place of the 32-bit placeholders."""
    position = 0
    while position + 4 <= len(extra):
        field_id, field_size = struct.unpack_from("<2H", extra, position)
        if field_id == _ZIP64_EXTRA_ID:
            values = iter(struct.unpack_from(f"<{field_size // 8}Q", extra, position + 4))
            # The field holds, in this order, only the values whose 32-bit field is all ones.
            if file_size == 0xFFFFFFFF:
                file_size = next(values)
            if compressed_size == 0xFFFFFFFF:
                compressed_size = next(values)
            if header_offset == 0xFFFFFFFF:
                header_offset = next(values)
            break
        position += 4 + field_size
    return file_size, compressed_size, header_offset


def _decompress(member: ZipMember, data: bytes) -> bytes:
    if member.compress_type == _STORED:
        return data
    if member.compress_type == _DEFLATED:
        return zlib.decompress(data, -zlib.MAX_WBITS)
    if member.compress_type == _BZIP2:
        return bz2.decompress(data)
    if member.compress_type == _LZMA:
        return _lzma_decompress(data)
    raise UnsupportedFeature(f"zip member {member.name!r} uses compression method {member.compress_type}")


def _lzma_decompress(data: bytes) -> bytes:
    """Decompress a zip LZMA member: a 4-byte header (version, properties size), the LZMA1
    properties (lc/lp/pb in one byte, then the dictionary size), then the raw stream."""
    properties_size = struct.unpack_from("<H", data, 2)[0]
    properties = data[4 : 4 + properties_size]
    if len(properties) < 5:
        raise ValueError("LZMA properties are truncated")
    packed, dictionary_size = properties[0], struct.unpack_from("<L", properties, 1)[0]
    lzma_filter = {
        "id": lzma.FILTER_LZMA1,
        "lc": packed % 9,
        "lp": packed // 9 % 5,
        "pb": packed // 45,
        "dict_size": dictionary_size,
    }
    decompressor = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter])
    return decompressor.decompress(data[4 + properties_size :])


def split_archive_url(url: str) -> tuple[str, str]:
    """``(store URL, archive key)`` for the URL of an archive: the store at its parent, and its name.

    ``s3://bucket/data/a.zip`` gives ``("s3://bucket/data", "a.zip")``; ``memory://a.zip`` gives
    ``("memory://", "a.zip")``; a bare ``a.zip`` gives ``(".", "a.zip")``. (So ``memory://name/a.zip``
    is the key ``a.zip`` of the memory store ``name``.) Raises StoreError when the URL ends in ``/``
    (it names no file).
    """
    parent, _, name = url.rpartition("/")
    if not name:
        raise StoreError(f"zip archive URL {url!r} names a directory, not an archive")
    if not parent and "/" not in url:
        return ".", name
    if parent.endswith(":/"):  # "memory://a.zip": the archive sits at the root of the store
        return parent + "/", name
    return parent or "/", name


def open_zip_over_url(url: str, mode: str, storage_options: dict[str, Any]) -> Store:
    """The opener of ``zip::<url>``: a ZipOverStore over the archive that ``<url>`` names.

    The store at the archive's parent is opened read-only with ``storage_options`` (see
    :func:`split_archive_url`), and the central directory is read at once, so a missing or damaged
    archive fails here. Raises ReadOnlyError for a mode other than ``"r"``, StoreError otherwise.
    """
    if mode != "r":
        raise ReadOnlyError(f"cannot open {url!r} with mode {mode!r}: zip archives inside other stores are read-only")
    inner_url = url[len("zip::") :]
    parent, name = split_archive_url(inner_url)
    inner = open_store(parent, mode="r", storage_options=storage_options)
    store = ZipOverStore(inner, name, close_store=True)
    try:
        sync(store.load())
    except BaseException:
        store.close()
        raise
    return store
