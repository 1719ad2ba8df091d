"""Record files of the parquet reference layout: one file holds the references of ``record_size``
consecutive chunks of one array, a row per chunk (see :mod:`zarrkit.refs.parquet_format`).

Decoded records are kept column-wise in NumPy arrays, a few bytes per row, and never as a Python
object per row. pyarrow (the ``parquet`` extra) is imported on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np

from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Entry, Reference
from zarrkit.storage.optional import import_optional

_REFERENCE_COLUMNS = ("path", "offset", "size")
# fsspec dictionary-encodes the path column when each distinct URL appears more than this many times.
_CATEGORICAL_THRESHOLD = 10


def pyarrow_module() -> ModuleType:
    """The pyarrow package with its parquet module loaded; UnsupportedFeature when not installed."""
    return import_optional("pyarrow", "pyarrow.parquet", needed_for="parquet reference sets", extra="parquet")


class Record:
    """The decoded rows of one record file, held column-wise in NumPy arrays (a few bytes per row).

    ``url_codes`` index ``urls`` (-1 where the path is null); ``raw`` is the pyarrow array of inline
    values, or None when no row is inline.
    """

    __slots__ = ("offsets", "raw", "raw_present", "sizes", "url_codes", "urls")

    def __init__(
        self,
        urls: list[str],
        url_codes: np.ndarray,
        offsets: np.ndarray,
        sizes: np.ndarray,
        raw: Any,
        raw_present: np.ndarray | None,
    ) -> None:
        self.urls = urls
        self.url_codes = url_codes
        self.offsets = offsets
        self.sizes = sizes
        self.raw = raw
        self.raw_present = raw_present

    def entry(self, row: int) -> Entry | None:
        """The entry of ``row``: inline bytes, a reference, or None for a missing chunk."""
        if self.raw_present is not None and self.raw_present[row]:
            return self.raw[row].as_py()
        code = self.url_codes[row]
        if code < 0:
            return None
        offset, size = int(self.offsets[row]), int(self.sizes[row])
        if offset == 0 and size == 0:
            return Reference(self.urls[code])
        return Reference(self.urls[code], offset, size)

    def present_rows(self, row_count: int) -> np.ndarray:
        """The rows below ``row_count`` that hold an entry."""
        present = self.url_codes[:row_count] >= 0
        if self.raw_present is not None:
            present |= self.raw_present[:row_count]
        return np.flatnonzero(present)


def decode_record(data: bytes, location: str, rows_needed: int) -> Record:
    """Decode the record file at ``location`` (for error messages), which must hold ``rows_needed`` rows.

    Raises ReferenceError naming the file (and the column) when it is not parquet, lacks columns,
    has columns of the wrong type, has too few rows, or has a negative or null offset or size for a path.
    """
    pyarrow = pyarrow_module()
    try:
        # ParquetFile rather than read_table, which loads pyarrow's dataset machinery (some 70 MB);
        # one thread, as this already runs in the codec pool.
        table = pyarrow.parquet.ParquetFile(pyarrow.BufferReader(data)).read(use_threads=False)
    except (pyarrow.ArrowException, OSError) as error:
        raise ReferenceError(f"record file {location} is not a readable parquet file ({error})") from None
    present = set(table.column_names)
    reference_columns = [name for name in _REFERENCE_COLUMNS if name in present]
    if (reference_columns and len(reference_columns) < len(_REFERENCE_COLUMNS)) or (
        not reference_columns and "raw" not in present
    ):
        missing = [name for name in (*_REFERENCE_COLUMNS, "raw") if name not in present]
        raise ReferenceError(
            f"record file {location} lacks the column(s) {missing}: a record file has the columns "
            "'path', 'offset', 'size' and 'raw' (or only the first three, or only 'raw')"
        )
    if table.num_rows < rows_needed:
        raise ReferenceError(f"record file {location} has {table.num_rows} rows; the chunk grid needs {rows_needed}")
    row_count = table.num_rows
    if reference_columns:
        urls, url_codes = _path_column(pyarrow, table.column("path"), location)
        has_path = url_codes >= 0
        offsets = _count_column(pyarrow, table.column("offset"), location, "offset", has_path)
        sizes = _count_column(pyarrow, table.column("size"), location, "size", has_path)
    else:
        urls, url_codes = [], np.full(row_count, -1, dtype=np.int32)
        offsets = sizes = np.zeros(row_count, dtype=np.int64)
    raw, raw_present = _raw_column(pyarrow, table.column("raw"), location) if "raw" in present else (None, None)
    return Record(urls, url_codes, offsets, sizes, raw, raw_present)


# The columns are read through their Arrow buffers: pyarrow's own conversions of arrays with nulls
# import pandas and its compute functions, which would cost some 50 MB on the first record file.


def _valid_rows(pyarrow: ModuleType, array: Any) -> np.ndarray:
    """A boolean mask of the rows of a pyarrow array that are not null, from its validity bitmap."""
    if pyarrow.types.is_null(array.type):
        return np.zeros(len(array), dtype=bool)
    validity = array.buffers()[0]
    if array.null_count == 0 or validity is None:
        return np.ones(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


def _integers(pyarrow: ModuleType, array: Any) -> np.ndarray:
    """The values of a pyarrow integer array as int64 (whatever null rows hold; unsigned values
    beyond the int64 range wrap to negative)."""
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    kind = "u" if pyarrow.types.is_unsigned_integer(array.type) else "i"
    values = np.frombuffer(array.buffers()[1], dtype=np.dtype(f"<{kind}{array.type.bit_width // 8}"))
    return values[array.offset : array.offset + len(array)].astype(np.int64)


def _wrong_type(location: str, column: str, found: Any, expected: str) -> ReferenceError:
    return ReferenceError(f"record file {location}: column {column!r} has type {found}; expected {expected}")


def _path_column(pyarrow: ModuleType, column: Any, location: str) -> tuple[list[str], np.ndarray]:
    """The distinct URLs of the ``path`` column and each row's index into them (-1 for null)."""
    types = pyarrow.types
    value_type = column.type.value_type if types.is_dictionary(column.type) else column.type
    if types.is_null(value_type):
        return [], np.full(len(column), -1, dtype=np.int32)
    if not (types.is_string(value_type) or types.is_large_string(value_type)):
        raise _wrong_type(location, "path", column.type, "strings")
    code_of_url: dict[str, int] = {}
    codes = []
    for chunk in column.chunks:
        encoded = chunk if types.is_dictionary(chunk.type) else chunk.dictionary_encode()
        # Each chunk has its own dictionary: map its codes onto the URLs of the whole column. An
        # all-null chunk has an empty dictionary; the -1 stands in so that indexing works.
        shared_codes = np.array(
            [code_of_url.setdefault(url, len(code_of_url)) for url in encoded.dictionary.to_pylist()] or [-1],
            dtype=np.int32,
        )
        valid = _valid_rows(pyarrow, encoded.indices)
        local_codes = np.where(valid, _integers(pyarrow, encoded.indices), 0)
        chunk_codes = np.where(valid, shared_codes[local_codes], -1).astype(np.int32)
        codes.append(chunk_codes)
    url_codes = np.concatenate(codes) if codes else np.zeros(0, dtype=np.int32)
    return list(code_of_url), url_codes


def _count_column(pyarrow: ModuleType, column: Any, location: str, name: str, has_path: np.ndarray) -> np.ndarray:
    """The ``offset`` or ``size`` column as int64; it must be a non-negative integer wherever a path is set."""
    if not pyarrow.types.is_integer(column.type):
        raise _wrong_type(location, name, column.type, "integers")
    chunks = column.chunks
    numbers = np.concatenate([_integers(pyarrow, chunk) for chunk in chunks]) if chunks else np.zeros(0, np.int64)
    valid = np.concatenate([_valid_rows(pyarrow, chunk) for chunk in chunks]) if chunks else np.zeros(0, bool)
    numbers[~valid] = 0
    invalid = np.flatnonzero(has_path & (~valid | (numbers < 0)))
    if len(invalid):
        row = int(invalid[0])
        value = int(numbers[row]) if valid[row] else None
        raise ReferenceError(
            f"record file {location}: column {name!r} holds {value} in row {row}, which has a path; "
            "expected an integer >= 0"
        )
    return numbers


def _raw_column(pyarrow: ModuleType, column: Any, location: str) -> tuple[Any, np.ndarray | None]:
    """The ``raw`` column as a pyarrow array and a mask of its non-null rows, or (None, None) if all are null."""
    types = pyarrow.types
    if not (types.is_null(column.type) or types.is_binary(column.type) or types.is_large_binary(column.type)):
        raise _wrong_type(location, "raw", column.type, "binary")
    if column.null_count == len(column):
        return None, None
    values = column.combine_chunks()
    return values, _valid_rows(pyarrow, values)


def encode_record(rows: np.ndarray, entries: Sequence[Entry], record_size: int) -> bytes:
    """A record file of ``record_size`` rows holding ``entries`` at ``rows``, as fsspec writes one."""
    url_codes = np.full(record_size, -1, dtype=np.int32)
    offsets = np.zeros(record_size, dtype=np.int64)
    sizes = np.zeros(record_size, dtype=np.int64)
    raw: list[bytes | None] = [None] * record_size
    codes_of_urls: dict[str, int] = {}
    reference_rows: list[int] = []
    reference_codes: list[int] = []
    reference_offsets: list[int] = []
    reference_sizes: list[int] = []
    for row, entry in zip(rows.tolist(), entries):
        if isinstance(entry, bytes):
            raw[row] = entry
            continue
        reference_rows.append(row)
        reference_codes.append(codes_of_urls.setdefault(entry.url, len(codes_of_urls)))  # type: ignore[arg-type]
        reference_offsets.append(entry.offset)
        reference_sizes.append(0 if entry.length is None else entry.length)
    url_codes[reference_rows] = reference_codes
    offsets[reference_rows] = reference_offsets
    sizes[reference_rows] = reference_sizes
    return _record_file(list(codes_of_urls), url_codes, offsets, sizes, raw)


def encode_table_record(url: str, offsets: np.ndarray, lengths: np.ndarray, record_size: int) -> bytes:
    """A record file of ``record_size`` rows whose first rows are ``lengths[i]`` bytes at
    ``offsets[i]`` of ``url``: one record file's share of a chunk table, padded as fsspec pads."""
    count = len(offsets)
    # A row of offset and size 0 reads as the whole file, so an empty range is stored as empty raw bytes.
    empty = (offsets == 0) & (lengths == 0)
    url_codes = np.full(record_size, -1, dtype=np.int32)
    url_codes[:count] = np.where(empty, -1, 0)
    padded_offsets = np.zeros(record_size, dtype=np.int64)
    padded_offsets[:count] = offsets
    padded_sizes = np.zeros(record_size, dtype=np.int64)
    padded_sizes[:count] = lengths
    raw: list[bytes | None] = [None] * record_size
    for row in np.flatnonzero(empty).tolist():
        raw[row] = b""
    return _record_file([url], url_codes, padded_offsets, padded_sizes, raw)


def _record_file(
    urls: list[str], url_codes: np.ndarray, offsets: np.ndarray, sizes: np.ndarray, raw: list[bytes | None]
) -> bytes:
    """The parquet file of the columns: ``path`` (``urls[url_codes[row]]``, null where the code is
    -1), ``offset``, ``size`` and ``raw``."""
    pyarrow = pyarrow_module()
    table = pyarrow.table(
        {
            "path": _path_array(pyarrow, url_codes, urls, int(np.count_nonzero(url_codes >= 0))),
            "offset": pyarrow.array(offsets),
            "size": pyarrow.array(sizes),
            "raw": pyarrow.array(raw, type=pyarrow.binary())
            if any(value is not None for value in raw)
            else pyarrow.nulls(len(raw)),
        }
    )
    sink = pyarrow.BufferOutputStream()
    pyarrow.parquet.write_table(table, sink, compression="zstd", write_statistics=False)
    return sink.getvalue().to_pybytes()


def _path_array(pyarrow: ModuleType, url_codes: np.ndarray, urls: list[str], path_count: int) -> Any:
    """The ``path`` column: dictionary-encoded when URLs repeat as fsspec's threshold says (its
    pandas categorical, with the smallest index type that fits), else large strings."""
    if len(urls) < 2**7:
        index_type = pyarrow.int8()
    elif len(urls) < 2**15:
        index_type = pyarrow.int16()
    else:
        index_type = pyarrow.int32()
    indices = pyarrow.array(url_codes, mask=url_codes < 0).cast(index_type)
    paths = pyarrow.DictionaryArray.from_arrays(indices, pyarrow.array(urls, type=pyarrow.string()))
    if path_count / (len(urls) or 1) > _CATEGORICAL_THRESHOLD:
        return paths
    return paths.cast(pyarrow.large_string())
