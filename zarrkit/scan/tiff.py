"""TIFF, BigTIFF, GeoTIFF and Cloud-Optimized GeoTIFF files as reference sets (through tifffile).

Layout: every image file directory (IFD, a "page") becomes one array in the root group. Top-level
pages are named by their index (``"0"``, ``"1"``, ...; a single-image file gives one array at
``"0"``); the SubIFDs of a page are named after it (``"0_sub0"``, ``"0_sub1"``, ...), which is where
tifffile writes pyramid levels. The overviews of a COG are top-level pages, so they are arrays
``"1"``, ``"2"``... with ``subfile_type`` 1 (reduced resolution) in their attributes. The root
attribute ``series`` lists, for each image series tifffile recognises, its axes, shape and pyramid
levels as lists of array names.

Each array has the shape tifffile reads: ``(length, width)``, ``(length, width, samples)`` for
interleaved samples and ``(samples, length, width)`` for separate planes. A chunk is one tile or one
strip, referenced where it lies in the file; a tile or strip that is not in the file (offset or byte
count 0) reads as the fill value, which is the GDAL nodata value or 0, as in tifffile. Dimension
names are ``y``, ``x`` and ``sample``, suffixed with ``_<array name>`` for every array but ``"0"``
so that arrays of different sizes never share a dimension name.

Codecs: no compression, Deflate (``zlib``), Zstandard (``zstd``), LZW, PackBits and JPEG (the last
three through imagecodecs' numcodecs codecs ``imagecodecs_lzw``, ``imagecodecs_packbits`` and
``imagecodecs_jpeg``, which the scan registers with numcodecs), and the horizontal-differencing and
floating-point predictors (``imagecodecs_delta``, ``imagecodecs_floatpred``). A reader needs those
registered too (``imagecodecs.numcodecs.register_codecs()``). In Zarr v3 they are named as zarrkit
names numcodecs codecs (``numcodecs.imagecodecs_lzw``...), a name only zarrkit reads so far.

TIFF stores edge tiles full size, as Zarr does, but the last strip of an image holds only the rows
that are left. Such a short strip is decoded at scan time, padded to a full strip and stored inline,
encoded with the array's own codecs (JPEG, being lossy, cannot be encoded again: refused).

GeoTIFF tags (ModelPixelScale, ModelTiepoint, ModelTransformation and the decoded GeoKey directory,
as tifffile's ``geotiff_tags`` gives them) go to the array's ``geotiff`` attribute, the
ImageDescription to ``description``.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.errors import MetadataError, UnsupportedFeature, ZarrkitError
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.scan.attributes import json_attribute
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource
from zarrkit.storage.optional import import_optional

TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
"""The first four bytes of classic TIFF and BigTIFF files, little- and big-endian."""

# TIFF Compression tag values and the numcodecs codec id that decodes each; None: stored raw.
_COMPRESSION_CODECS: dict[int, str | None] = {
    1: None,
    5: "imagecodecs_lzw",
    7: "imagecodecs_jpeg",
    8: "zlib",  # Adobe Deflate: a zlib stream
    32773: "imagecodecs_packbits",
    32946: "zlib",  # the old Deflate code: a zlib stream too
    50000: "zstd",
}
_JPEG = 7

# TIFF Predictor tag values and the imagecodecs filter that undoes each.
_PREDICTOR_CODECS = {2: "imagecodecs_delta", 3: "imagecodecs_floatpred"}

# SampleFormat tag values that map to NumPy integer and float types.
_SAMPLE_FORMATS = {1: "unsigned integer", 2: "signed integer", 3: "floating point"}
_PHOTOMETRIC_YCBCR = 6
_PLANAR_SEPARATE = 2


def is_tiff(header: bytes) -> bool:
    """True when ``header`` (the first bytes of a file) starts like a TIFF or BigTIFF file."""
    return header[:4] in TIFF_MAGICS


def scan_tiff(source: ScanSource, *, zarr_format: int = 2) -> ReferenceSet:
    """The reference set of the TIFF file ``source``: one array per page (see the module docstring
    for the names), Zarr v2 metadata by default or v3 with ``zarr_format=3``.

    Raises UnsupportedFeature naming the file, the page and the feature for what cannot be
    referenced (compressions without a codec, bit depths other than 8/16/32/64, volumetric tiles,
    short JPEG strips, imagecodecs codecs in Zarr v3), MetadataError for a damaged or truncated file,
    and UnsupportedFeature when tifffile is not installed.
    """
    tifffile = import_optional("tifffile", needed_for="scanning TIFF files", extra="tiff")
    builder = ReferenceBuilder(zarr_format=zarr_format)
    with _tifffile_errors() as errors, _open_tiff(tifffile, source) as tiff:
        pages = list(_named_pages(tifffile, tiff, source))
        if errors:
            raise MetadataError(f"{source.url}: damaged TIFF file: {errors[0]}")
        names_by_offset = {page.offset: name for name, page in pages}
        builder.add_group("", _series_attributes(tiff, names_by_offset))
        for name, page in pages:
            _add_page(builder, source, name, page, tiff.byteorder)
    return builder.references


def _open_tiff(tifffile: Any, source: ScanSource) -> Any:
    try:
        return tifffile.TiffFile(source)
    except ZarrkitError:
        raise
    except Exception as error:
        raise MetadataError(f"{source.url}: not a readable TIFF file: {error}") from error


class _ErrorCollector(logging.Handler):
    """Collects the error messages tifffile logs from this thread (it logs damage and goes on)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextlib.contextmanager
def _tifffile_errors() -> Iterator[list[str]]:
    """The messages tifffile logs as errors while the block runs: a damaged IFD is logged, not raised."""
    collector = _ErrorCollector()
    tifffile_logger = logging.getLogger("tifffile")
    tifffile_logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        tifffile_logger.removeHandler(collector)


def _named_pages(tifffile: Any, tiff: Any, source: ScanSource) -> Iterator[tuple[str, Any]]:
    """Every page of ``tiff`` with its array name: top-level pages, then each one's SubIFDs after it."""
    try:
        for index, page in enumerate(tiff.pages):
            yield from _page_and_subifds(tifffile, str(index), page)
    except ZarrkitError:
        raise
    except Exception as error:
        raise MetadataError(f"{source.url}: damaged TIFF file: {error}") from error


def _page_and_subifds(tifffile: Any, name: str, page: Any) -> Iterator[tuple[str, Any]]:
    yield name, page
    if page.subifds:
        for index, subpage in enumerate(tifffile.TiffPages(page)):
            yield from _page_and_subifds(tifffile, f"{name}_sub{index}", subpage)


def _series_attributes(tiff: Any, names_by_offset: dict[int, str]) -> dict[str, Any]:
    """``{"series": [...]}``: tifffile's image series with their levels as array names, or nothing
    when tifffile cannot tell them (series are a reading aid; the arrays do not depend on them)."""
    described = []
    with _tifffile_errors() as errors:
        try:
            all_series = tiff.series
        except Exception:
            return {}
    if errors:
        return {}
    for series in all_series:
        levels = []
        for level in series.levels:
            offsets = [page.offset for page in level.pages if page is not None]
            if not all(offset in names_by_offset for offset in offsets):
                break  # pages in other files (multi-file OME-TIFF): not arrays of this scan
            levels.append([names_by_offset[offset] for offset in offsets])
        else:
            described.append({"axes": series.axes, "shape": [int(n) for n in series.shape], "levels": levels})
    return {"series": described} if described else {}


@dataclass(frozen=True)
class _Layout:
    """How the tiles or strips of a page tile its array."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dimension_names: tuple[str, ...]
    planes: int  # sample planes stored one after the other (planar configuration "separate")
    chunk_rows: int
    chunk_columns: int
    row_axis: int

    @property
    def rows_of_chunks(self) -> int:
        return math.ceil(self.shape[self.row_axis] / self.chunk_rows)

    @property
    def columns_of_chunks(self) -> int:
        return math.ceil(self.shape[self.row_axis + 1] / self.chunk_columns)

    def chunk_coords(self, plane: int, row: int, column: int) -> tuple[int, ...]:
        """The chunk coordinates of the tile or strip at ``(plane, row, column)`` of the segment grid."""
        if self.row_axis == 1:
            return (plane, row, column)
        return (row, column, 0)[: len(self.shape)]

    def chunk_shape_with_rows(self, rows: int) -> tuple[int, ...]:
        """The chunk shape with only ``rows`` rows (the shape of a short last strip)."""
        shape = list(self.chunks)
        shape[self.row_axis] = rows
        return tuple(shape)


def _page_layout(page: Any, name: str) -> _Layout:
    length, width, samples = int(page.imagelength), int(page.imagewidth), int(page.samplesperpixel)
    if page.is_tiled:
        chunk_rows, chunk_columns = int(page.tilelength), int(page.tilewidth)
    else:
        # RowsPerStrip may exceed the image length (2**32 - 1 means "one strip").
        chunk_rows, chunk_columns = max(1, min(int(page.rowsperstrip or length), length)), width
    suffix = "" if name == "0" else f"_{name}"
    y, x, sample = f"y{suffix}", f"x{suffix}", f"sample{suffix}"
    if samples == 1:
        return _Layout((length, width), (chunk_rows, chunk_columns), (y, x), 1, chunk_rows, chunk_columns, 0)
    if page.planarconfig == _PLANAR_SEPARATE:
        return _Layout(
            (samples, length, width), (1, chunk_rows, chunk_columns), (sample, y, x),
            samples, chunk_rows, chunk_columns, 1,
        )
    return _Layout(
        (length, width, samples), (chunk_rows, chunk_columns, samples), (y, x, sample),
        1, chunk_rows, chunk_columns, 0,
    )


def _add_page(builder: ReferenceBuilder, source: ScanSource, name: str, page: Any, byteorder: str) -> None:
    """Add the array of ``page`` at ``name`` and its tiles or strips."""
    where = f"{source.url}: page {name}"
    dtype = _page_dtype(page, where, byteorder)
    layout = _page_layout(page, name)
    predictor = _predictor_codec(page, layout, dtype, where)
    compression = _compression_codec(page, where)
    if builder.zarr_format == 2:
        codec_keywords = {
            "filters": [predictor] if predictor else [],
            "compressors": [compression] if compression else [],
        }
    else:
        # Without array->array filters of these kinds, v3 runs the predictor on the serialized bytes.
        codec_keywords = {"filters": [], "compressors": [codec for codec in (predictor, compression) if codec]}
    builder.add_array(
        name,
        shape=layout.shape,
        dtype=dtype,
        chunks=layout.chunks,
        fill_value=_fill_value(page, dtype),
        order="C",
        attributes=_page_attributes(page),
        dimension_names=layout.dimension_names,
        **codec_keywords,
    )
    _add_segments(builder, source, name, page, layout, dtype, predictor, compression, where)


def _page_dtype(page: Any, where: str, byteorder: str) -> np.dtype:
    """The page's sample type in the file's byte order; UnsupportedFeature for what Zarr cannot hold."""
    if int(page.imagedepth) > 1:
        raise UnsupportedFeature(f"{where}: volumetric images (ImageDepth {page.imagedepth}) are not supported")
    if int(page.fillorder) != 1:
        raise UnsupportedFeature(f"{where}: FillOrder {int(page.fillorder)} (bits in reversed order) is not supported")
    bits = page.bitspersample
    sample_format = int(page.sampleformat)
    if sample_format not in _SAMPLE_FORMATS or bits not in (8, 16, 32, 64) or page.dtype is None:
        raise UnsupportedFeature(
            f"{where}: {bits}-bit samples of SampleFormat {sample_format} are not supported "
            "(8, 16, 32 or 64-bit integers and floats are)"
        )
    if int(page.photometric) == _PHOTOMETRIC_YCBCR and int(page.compression) != _JPEG:
        raise UnsupportedFeature(f"{where}: YCbCr samples outside JPEG compression are not supported")
    dtype = np.dtype(page.dtype)
    return dtype if dtype.itemsize == 1 else dtype.newbyteorder(byteorder)


def _imagecodecs_codec(config: dict[str, Any]) -> Numcodec:
    """The imagecodecs numcodecs codec of ``config``, after registering its id with numcodecs."""
    imagecodecs_numcodecs = import_optional(
        "imagecodecs.numcodecs", needed_for="the codecs of TIFF files", extra="tiff"
    )
    imagecodecs_numcodecs.register_codecs(codecs=[config["id"]], verbose=False)
    return numcodecs.get_codec(config)


def _compression_codec(page: Any, where: str) -> Numcodec | None:
    compression = int(page.compression)
    if compression not in _COMPRESSION_CODECS:
        raise UnsupportedFeature(
            f"{where}: compression {_enum_name(page.compression)} ({compression}) has no codec zarrkit can use"
        )
    codec_id = _COMPRESSION_CODECS[compression]
    if codec_id is None:
        return None
    if compression != _JPEG and codec_id.startswith("imagecodecs_"):
        return _imagecodecs_codec({"id": codec_id})
    if compression != _JPEG:
        return numcodecs.get_codec({"id": codec_id})
    if page.jpegheader is not None:
        raise UnsupportedFeature(f"{where}: JPEG tiles that share one header (NDPI) are not supported")
    tifffile = import_optional("tifffile", needed_for="scanning TIFF files", extra="tiff")
    colorspace_jpeg, colorspace_data = tifffile.tifffile.jpeg_decode_colorspace(
        int(page.photometric), int(page.planarconfig), page.extrasamples, page.is_jfif
    )
    tables = page.jpegtables
    return _imagecodecs_codec(
        {
            "id": codec_id,
            "tables": None if tables is None else base64.b64encode(tables).decode("ascii"),
            "bitspersample": int(page.bitspersample),
            "colorspace_jpeg": colorspace_jpeg,
            "colorspace_data": colorspace_data,
        }
    )


def _predictor_codec(page: Any, layout: _Layout, dtype: np.dtype, where: str) -> Numcodec | None:
    predictor = int(page.predictor)
    if predictor == 1:
        return None
    if predictor not in _PREDICTOR_CODECS:
        raise UnsupportedFeature(f"{where}: predictor {_enum_name(page.predictor)} ({predictor}) is not supported")
    # Differences run along each row, sample by sample: the row is the second-last axis when samples
    # are interleaved (the last axis holds the samples), the last axis otherwise.
    axis = -2 if len(layout.shape) == 3 and layout.row_axis == 0 else -1
    return _imagecodecs_codec(
        {"id": _PREDICTOR_CODECS[predictor], "shape": list(layout.chunks), "dtype": dtype.str, "axis": axis, "dist": 1}
    )


def _fill_value(page: Any, dtype: np.dtype) -> Any:
    """What a missing tile reads as: the GDAL nodata value (or 0), as tifffile fills it."""
    nodata = page.nodata
    if dtype.kind == "f":
        return float(nodata)
    return int(nodata)


def _page_attributes(page: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "subfile_type": int(page.subfiletype),
        "photometric": _enum_name(page.photometric),
        "compression": _enum_name(page.compression),
    }
    if page.description:
        attributes["description"] = page.description
    if page.is_geotiff:
        attributes["geotiff"] = {key: json_attribute(value) for key, value in page.geotiff_tags.items()}
    return attributes


def _enum_name(value: Any) -> str:
    return value.name if isinstance(value, enum.Enum) else str(value)


def _add_segments(
    builder: ReferenceBuilder,
    source: ScanSource,
    name: str,
    page: Any,
    layout: _Layout,
    dtype: np.dtype,
    predictor: Numcodec | None,
    compression: Numcodec | None,
    where: str,
) -> None:
    """Reference every tile or strip of ``page`` (and inline the short last strips)."""
    offsets, byte_counts = page.dataoffsets, page.databytecounts
    kind = "tile" if page.is_tiled else "strip"
    expected = layout.planes * layout.rows_of_chunks * layout.columns_of_chunks
    if len(offsets) != expected or len(byte_counts) != expected:
        raise MetadataError(
            f"{where}: {len(offsets)} {kind} offsets and {len(byte_counts)} byte counts for an image of "
            f"{expected} {kind}s"
        )
    length = layout.shape[layout.row_axis]
    index = 0
    for plane in range(layout.planes):
        for row in range(layout.rows_of_chunks):
            for column in range(layout.columns_of_chunks):
                offset, byte_count = int(offsets[index]), int(byte_counts[index])
                if offset and byte_count:
                    if offset + byte_count > source.size:
                        raise MetadataError(
                            f"{where}: {kind} {index} says {byte_count} bytes at offset {offset} but the file "
                            f"has {source.size} bytes"
                        )
                    coords = layout.chunk_coords(plane, row, column)
                    rows_left = length - row * layout.chunk_rows
                    if not page.is_tiled and rows_left < layout.chunk_rows:
                        entry: bytes | Reference = _padded_last_strip(
                            source, page, index, layout, rows_left, dtype, predictor, compression, where
                        )
                    else:
                        entry = Reference(source.url, offset, byte_count)
                    builder.add_chunk(name, coords, entry)
                index += 1


def _padded_last_strip(
    source: ScanSource,
    page: Any,
    index: int,
    layout: _Layout,
    rows: int,
    dtype: np.dtype,
    predictor: Numcodec | None,
    compression: Numcodec | None,
    where: str,
) -> bytes:
    """The short last strip ``index``, decoded, padded to a full strip and encoded with the array's codecs.

    A short strip decodes to fewer rows than a chunk holds, which Zarr refuses.
    """
    if int(page.compression) == _JPEG:
        raise UnsupportedFeature(
            f"{where}: its last JPEG strip holds {rows} rows, not {layout.chunk_rows} (the image length is not a "
            "multiple of RowsPerStrip), and JPEG cannot be encoded again without loss"
        )
    data = source.read_range(int(page.dataoffsets[index]), int(page.databytecounts[index]))
    try:
        segment = page.decode(data, index, jpegtables=page.jpegtables)[0]
        values = np.asarray(segment).reshape(layout.chunk_shape_with_rows(rows))
    except Exception as error:
        raise MetadataError(f"{where}: cannot decode strip {index}: {error}") from error
    padded = np.zeros(layout.chunks, dtype=dtype)
    rows_selection = [slice(None)] * len(layout.chunks)
    rows_selection[layout.row_axis] = slice(0, rows)
    padded[tuple(rows_selection)] = values
    encoded: Any = padded
    for codec in (predictor, compression):
        if codec is not None:
            encoded = codec.encode(encoded)
    return bytes(np.asarray(encoded).tobytes() if isinstance(encoded, np.ndarray) else encoded)
