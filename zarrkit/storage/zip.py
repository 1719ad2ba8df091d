"""ZipStore: a whole hierarchy in one zip archive, readable by any zip tool and by zarr-python."""

from __future__ import annotations

import lzma
import os
import secrets
import shutil
import struct
import threading
import time
import weakref
import zipfile
import zlib
from collections.abc import Sequence
from typing import IO

from zarrkit.errors import PermissionDenied, StoreError, UnsupportedFeature
from zarrkit.runtime import run_in_pool
from zarrkit.storage.base import (
    ByteRange,
    ReadRequest,
    Store,
    as_bytes,
    check_byte_range,
    resolve_byte_range,
    slice_byte_range,
)

_MODES = ("r", "w", "a")
_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
_LOCAL_HEADER_SIZE = 30
_LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
_ENCRYPTED_FLAG = 0x1
_FILE_PERMISSIONS = 0o644 << 16  # what an unzip tool gives the extracted file; zipfile's default is 0o600
# What a damaged entry raises while zipfile decompresses it (bz2 raises OSError).
_CORRUPTION_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)


class _Archive:
    """The open zip file, its member index and the lock that serializes access to them.

    This is everything that finishing the archive needs, kept apart from the ZipStore so that the
    store's finalizer can finish it without keeping the store alive. All methods block.
    """

    def __init__(self, path: str, mode: str, compression: int) -> None:
        self.path = path
        self.name = f"ZipStore({path!r}, mode={mode!r})"
        self.compression = compression
        self.lock = threading.Lock()
        self.zip: zipfile.ZipFile | None = _open_zip_file(path, mode, compression)
        members = [info for info in self.zip.infolist() if not info.is_dir()]
        # Later members override earlier ones of the same name, as zipfile itself resolves names.
        self.entries: dict[str, zipfile.ZipInfo] = {info.filename: info for info in members}
        self.names_in_archive = set(self.entries)
        self.data_offsets: dict[int, int] = {}
        self.rewrite_on_close = False

    def opened(self, key: str) -> zipfile.ZipFile:
        """The open zip file; raises StoreError naming ``key`` once the archive is closed."""
        if self.zip is None:
            raise StoreError(f"cannot access {key!r}: {self.name} is closed")
        return self.zip

    # -- reads ------------------------------------------------------------------------------------

    def read_batch(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        with self.lock:
            return [self._read(key, byte_range) for key, byte_range in requests]

    def _read(self, key: str, byte_range: ByteRange | None) -> bytes | None:
        check_byte_range(key, byte_range)
        archive = self.opened(key)
        info = self.entries.get(key)
        if info is None:
            return None
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise UnsupportedFeature(f"zip member {key!r} of {self.path!r} is encrypted")
        try:
            if byte_range is not None and info.compress_type == zipfile.ZIP_STORED:
                return self._read_stored_range(archive, key, info, byte_range)
            # Whole reads go through zipfile, which checks the member's CRC.
            with archive.open(info) as member:
                value = member.read()
        except _CORRUPTION_ERRORS as error:
            raise StoreError(f"cannot read {key!r} from {self.path!r}: {error}") from error
        return slice_byte_range(value, byte_range)

    def _read_stored_range(
        self, archive: zipfile.ZipFile, key: str, info: zipfile.ZipInfo, byte_range: ByteRange
    ) -> bytes:
        """Read just the requested bytes of an uncompressed member, straight from the archive file."""
        start, stop = resolve_byte_range(byte_range, info.file_size)
        if start >= stop:
            return b""
        file = archive.fp
        assert file is not None  # an open ZipFile always has its file
        file.seek(self._data_offset(file, key, info) + start)
        data = file.read(stop - start)
        if len(data) != stop - start:
            raise StoreError(f"zip member {key!r} of {self.path!r} is truncated")
        return data

    def _data_offset(self, file: IO[bytes], key: str, info: zipfile.ZipInfo) -> int:
        """Where a member's data starts: after its local header, whose name and extra field may
        differ in length from the central directory's copy, so the header itself is read (once)."""
        offset = self.data_offsets.get(info.header_offset)
        if offset is None:
            file.seek(info.header_offset)
            header = file.read(_LOCAL_HEADER_SIZE)
            if len(header) != _LOCAL_HEADER_SIZE or header[:4] != _LOCAL_HEADER_SIGNATURE:
                raise StoreError(f"zip member {key!r} of {self.path!r} has a corrupt local header")
            name_length, extra_length = struct.unpack_from("<HH", header, 26)
            offset = info.header_offset + _LOCAL_HEADER_SIZE + name_length + extra_length
            self.data_offsets[info.header_offset] = offset
        return offset

    # -- writes -----------------------------------------------------------------------------------

    def write_batch(self, items: Sequence[tuple[str, bytes]]) -> None:
        with self.lock:
            for key, value in items:
                self._write(key, value)

    def _write(self, key: str, value: bytes) -> None:
        archive = self.opened(key)
        if not isinstance(key, str) or not key or key.endswith("/") or "\0" in key:
            raise StoreError(
                f"invalid key {key!r} for {self.name}: keys are non-empty, without NUL or a final '/'"
            )
        data = as_bytes(key, value)
        info = zipfile.ZipInfo(key, date_time=time.localtime()[:6])
        info.compress_type = self.compression
        info.external_attr = _FILE_PERMISSIONS
        # Appending a newer member of the same name is how a zip overwrites. zipfile warns when the
        # name is in its index, so take it out first (the member stays in the archive, and this
        # store keeps its own index). Silencing the warning instead would not do: catch_warnings
        # swaps the filter list of the whole process under other threads, and a filter installed
        # once is overridden by any caller's "error" filter (pytest -W error), which would turn
        # every overwrite into an exception.
        archive.NameToInfo.pop(key, None)
        try:
            archive.writestr(info, data)
        except OSError as error:
            raise StoreError(f"cannot write {key!r} to {self.path!r}: {error}") from error
        if key in self.names_in_archive:
            self.rewrite_on_close = True
        self.entries[key] = info
        self.names_in_archive.add(key)

    def forget(self, keys: Sequence[str]) -> None:
        """Drop ``keys`` from the index; :meth:`close` drops them from the archive."""
        self.opened(keys[0])
        for key in keys:
            if self.entries.pop(key, None) is not None:
                self.rewrite_on_close = True

    # -- finishing --------------------------------------------------------------------------------

    def close(self) -> None:
        """Write the central directory and drop superseded and deleted members; idempotent.

        Raises StoreError when the archive cannot be written.
        """
        with self.lock:
            if self.zip is None:
                return
            archive, self.zip = self.zip, None
            try:
                archive.close()
            except OSError as error:
                raise StoreError(f"cannot finish zip archive {self.path!r}: {error}") from error
            if self.rewrite_on_close:
                self._rewrite_live_members()

    def _rewrite_live_members(self) -> None:
        """Replace the archive by a copy that holds only the members this store still maps."""
        temp_path = f"{self.path}.{secrets.token_hex(4)}.zarrkit-tmp"
        try:
            with (
                zipfile.ZipFile(self.path) as source,
                zipfile.ZipFile(temp_path, "w", allowZip64=True) as target,
            ):
                for key in list(self.entries):
                    # The last member of a name is the live one, and getinfo answers the last.
                    source_info = source.getinfo(key)
                    copy = zipfile.ZipInfo(key, date_time=source_info.date_time)
                    copy.compress_type = source_info.compress_type
                    copy.external_attr = source_info.external_attr
                    copy.file_size = source_info.file_size  # lets zipfile choose zip64 up front
                    with source.open(source_info) as reader, target.open(copy, "w") as writer:
                        shutil.copyfileobj(reader, writer, 1 << 20)
            os.replace(temp_path, self.path)
        except _CORRUPTION_ERRORS as error:
            try:
                os.unlink(temp_path)
            except OSError:
                pass  # the error that made us clean up is the one worth reporting
            raise StoreError(
                f"cannot drop overwritten and deleted members from {self.path!r}: {error}"
            ) from error


def _open_zip_file(path: str, mode: str, compression: int) -> zipfile.ZipFile:
    try:
        if mode == "a" and os.path.getsize(path) > 0 and not zipfile.is_zipfile(path):
            # zipfile would append a new archive to the end of whatever the file holds.
            raise StoreError(f"cannot append to {path!r}: it exists and is not a zip archive")
    except FileNotFoundError:
        pass
    try:
        return zipfile.ZipFile(path, mode=mode, compression=compression, allowZip64=True)
    except FileNotFoundError:
        raise StoreError(f"zip archive {path!r} does not exist") from None
    except PermissionError as error:
        raise PermissionDenied(f"cannot open zip archive {path!r}: permission denied") from error
    except zipfile.BadZipFile as error:
        raise StoreError(f"{path!r} is not a valid zip archive: {error}") from error
    except OSError as error:
        raise StoreError(f"cannot open zip archive {path!r}: {error}") from error


class ZipStore(Store):
    """A store in the zip archive at ``path``; each key is one archive member.

    ``mode`` is ``"r"`` (read-only), ``"w"`` (create, truncating an existing file) or ``"a"``
    (append to an existing archive, or create one). Members are written with ``compression``
    (``zipfile.ZIP_STORED`` by default: Zarr chunks are compressed already, and only stored members
    can serve a byte range without reading the whole member). Reads and writes of the archive file
    are serialized by a lock, so the store may be used from several threads.

    Overwriting a key appends a new member of the same name; reads see the latest. ``delete``
    removes a key from the store at once. Zip readers disagree on which of two same-named members
    wins, so :meth:`close` rewrites the archive without superseded and deleted members whenever
    this store overwrote or deleted a key. The archive is complete only after :meth:`close` (the
    zip central directory is written then). A store that is never closed is closed when it is
    garbage collected or, at the latest, when the interpreter exits; close a writable ZipStore
    yourself to know when the archive is complete and to see any error in finishing it.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, mode: str = "r", compression: int = zipfile.ZIP_STORED
    ) -> None:
        """Open the archive.

        Raises StoreError for an unknown mode or compression, a missing archive in mode ``"r"``, or a
        file that is not a zip archive; PermissionDenied when the file may not be opened.
        """
        if mode not in _MODES:
            raise StoreError(f"ZipStore mode must be one of {_MODES}, got {mode!r} (for {path!r})")
        if compression not in _COMPRESSIONS:
            raise StoreError(
                f"unsupported zip compression {compression!r} for {path!r}; use one of {_COMPRESSIONS}"
            )
        super().__init__(read_only=mode == "r")
        self.path = os.path.abspath(os.fsdecode(path))
        self.mode = mode
        self.compression = compression
        self._archive = _Archive(self.path, mode, compression)
        # The finalizer holds the archive, not the store, so it can run when the store is collected.
        self._finalizer = weakref.finalize(self, self._archive.close)

    def __repr__(self) -> str:
        return self._archive.name

    # -- the Store protocol -----------------------------------------------------------------------

    async def get(self, key: str, byte_range: ByteRange | None = None) -> bytes | None:
        """The value of ``key`` (or the range of it), or ``None`` if the archive has no such member.

        Raises StoreError for a malformed range, a damaged member or a closed store, and
        UnsupportedFeature for an encrypted member.
        """
        return (await run_in_pool(self._archive.read_batch, [(key, byte_range)]))[0]

    async def get_many(self, requests: Sequence[ReadRequest]) -> list[bytes | None]:
        """The values for a batch of ``(key, byte_range)`` requests, in order; ``None`` where missing."""
        return await run_in_pool(self._archive.read_batch, requests)

    # getsize, list and delete only touch the member index. Each does one dict operation, which is
    # atomic, so they skip the lock: a long read may hold it, and waiting for it here would stall
    # the event loop and every other store on it.

    async def getsize(self, key: str) -> int | None:
        """The uncompressed size of the member ``key``, or ``None`` if there is none."""
        self._archive.opened(key)
        info = self._archive.entries.get(key)
        return None if info is None else info.file_size

    async def list(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        self._archive.opened(prefix)
        return sorted(key for key in list(self._archive.entries) if key.startswith(prefix))

    async def set(self, key: str, value: bytes) -> None:
        """Append ``value`` as the member ``key``.

        Raises ReadOnlyError in mode ``"r"``, StoreError for an invalid key, a closed store or an
        OS error.
        """
        self._check_writable(key)
        await run_in_pool(self._archive.write_batch, [(key, value)])

    async def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Append a batch of ``(key, value)`` members. Raises as :meth:`set` does."""
        if items:
            self._check_writable(items[0][0])
            await run_in_pool(self._archive.write_batch, items)

    async def delete(self, key: str) -> None:
        """Remove ``key`` from the store now and from the archive at :meth:`close`.

        A missing key is not an error. Raises ReadOnlyError in mode ``"r"``.
        """
        await self.delete_many([key])

    async def delete_many(self, keys: Sequence[str]) -> None:
        """Remove a batch of keys as :meth:`delete` does."""
        if keys:
            self._check_writable(keys[0])
            self._archive.forget(keys)

    def close(self) -> None:
        """Finish the archive (and drop superseded and deleted members); closing twice is harmless.

        Raises StoreError when the archive cannot be written.
        """
        self._finalizer()
