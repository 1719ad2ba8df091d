"""Scanning HDF5 and netCDF4 files into reference sets: every group becomes a Zarr group, every
dataset a Zarr array whose chunks point at their bytes in the file.

h5py reads the file's structure through a :class:`~zarrkit.scan.source.ScanSource`; chunk
locations come from ``DatasetID.chunk_iter`` (one call per dataset, HDF5 >= 1.12.3), so a dataset
of 100,000 chunks costs one pass over HDF5's chunk index and a few vectorized steps.

How the file's features become Zarr:

- Layouts: chunked datasets keep their chunk grid and reference the chunks HDF5 allocated (missing
  chunks read as the fill value, as in HDF5); a contiguous dataset is one chunk, absent while no
  storage was allocated; compact data lives in the object header and is read and stored inline.
- Filters map to codecs as :mod:`zarrkit.scan.hdf5_filters` describes. Chunks that skipped an
  optional filter (HDF5's filter mask) are described by the filters all chunks share when they all
  skipped the same ones.
- Fill values: the Zarr ``fill_value`` is HDF5's fill value, which is what HDF5 (and netCDF4 with
  masking off) returns for unwritten chunks. ``_FillValue`` and the other CF attributes are kept as
  attributes; ``_FillValue`` in xarray's Zarr encoding of it (floats as base64 of a little-endian
  double, bytes as base64), so xarray masks the same values in v2 and v3.
- Dimensions follow netCDF-C, as netCDF4-python and xarray see the file: the name of the dimension
  scale attached to an axis, the variable's own name for a coordinate variable, and for axes
  without a scale ``phony_dim_<n>``, reusing a dimension of the group with the same length and
  unlimitedness, numbered by netCDF-C's dimension ids (the group's scales first, then the phony
  dimensions of its subgroups, then its own). Datasets that are netCDF dimensions but not
  variables are not arrays, and the ``_nc4_non_coord_`` prefix netCDF-C gives variables named like
  a dimension is dropped. The attributes that implement dimensions (``CLASS``, ``NAME``,
  ``DIMENSION_LIST``, ``REFERENCE_LIST``, ``_Netcdf4Dimid``, ``_Netcdf4Coordinates``) and the
  netCDF-internal ``_nc3_strict`` and ``_NCProperties`` are not copied.
- Unlimited dimensions: as in netCDF, a variable is as long as its unlimited dimension (the
  longest variable using it); past its own extent it reads the fill value.
- Data types (:mod:`zarrkit.scan.hdf5_types`, which also converts fill values and attributes): the
  file's byte order is kept; fixed-length strings are ``S<n>``; compound types are structured
  types; variable-length strings are read through h5py and stored inline as a ``vlen-utf8``
  string array.
- Soft and external links and committed data types are not followed.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.pipeline import chunk_spec, pipeline_for
from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.metadata import ArrayMetadata
from zarrkit.refs.model import Reference, ReferenceSet
from zarrkit.runtime import collector_paused
from zarrkit.scan.hdf5_filters import codec_configs, dataset_filters
from zarrkit.scan.hdf5_types import has_big_endian_fields, hdf5_fill_value, zarr_attributes, zarr_dtype
from zarrkit.scan.output import ReferenceBuilder
from zarrkit.scan.source import ScanSource
from zarrkit.storage.optional import import_optional

SIGNATURE = b"\x89HDF\r\n\x1a\n"
"""The HDF5 superblock signature."""

DEFAULT_INLINE_LIMIT = 1 << 20
"""Bytes of values ``on_unsupported="inline"`` reads and inlines per variable at most."""

ON_UNSUPPORTED_CHOICES = ("raise", "inline", "skip")

NOT_A_VARIABLE = b"This is a netCDF dimension but not a netCDF variable."
NON_COORDINATE_PREFIX = "_nc4_non_coord_"

# The superblock starts at 0 or after a user block of 512 bytes times a power of two.
_SIGNATURE_OFFSETS = (0, 512, 1024, 2048)

_CHUNKS_PER_INDEX_NODE = 64
"""Chunks per node of HDF5's (version 1) chunk B-tree: at most 2K, and K is 32 unless the file says
otherwise."""


def is_hdf5(header: bytes) -> bool:
    """True when ``header`` (the first 4096 bytes of a file) holds the HDF5 signature at offset 0 or
    after a user block (MATLAB v7.3 files have one of 512 bytes)."""
    return any(header[offset : offset + len(SIGNATURE)] == SIGNATURE for offset in _SIGNATURE_OFFSETS)


def scan_hdf5(
    source: ScanSource,
    *,
    zarr_format: int = 2,
    inline_threshold: int = 0,
    on_unsupported: str = "raise",
    inline_limit: int = DEFAULT_INLINE_LIMIT,
) -> ReferenceSet:
    """The reference set of the HDF5 or netCDF4 file ``source``: Zarr ``zarr_format`` (2 or 3)
    metadata for its groups and datasets, and references to their chunks.

    Options:

    - ``inline_threshold``: chunks smaller than this many bytes are read and stored inline (0, the
      default, references every chunk).
    - ``on_unsupported``: what to do with a variable whose data cannot be referenced (filters
      without a codec such as szip or scale-offset, chunks that skipped different filters, object
      references, virtual datasets, external storage): ``"raise"`` (the default) raises
      UnsupportedFeature naming the file, the variable and the feature; ``"inline"`` reads its
      values through h5py and stores them inline, when they fit in ``inline_limit`` bytes (else it
      raises); ``"skip"`` leaves the variable out with a warning naming it.
    - ``inline_limit``: bytes of values ``"inline"`` stores per variable at most (default 1 MiB).

    Raises MetadataError naming the file when it is not a readable HDF5 file (truncated, corrupt)
    or a chunk lies beyond its end, or for invalid options; UnsupportedFeature as described; and
    UnsupportedFeature when h5py is not installed.
    """
    if on_unsupported not in ON_UNSUPPORTED_CHOICES:
        raise MetadataError(
            f"scan_hdf5: on_unsupported must be one of {ON_UNSUPPORTED_CHOICES}, got {on_unsupported!r}"
        )
    for name, value in (("inline_threshold", inline_threshold), ("inline_limit", inline_limit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MetadataError(f"scan_hdf5: {name} must be an integer >= 0, got {value!r}")
    h5py = import_optional("h5py", needed_for="scanning HDF5 and netCDF4 files", extra="hdf5")
    builder = ReferenceBuilder(zarr_format=zarr_format)
    with collector_paused():
        try:
            file = h5py.File(source, "r")
        except OSError as error:
            raise MetadataError(f"{source.url!r} is not a readable HDF5 file: {error}") from error
        with file:
            scanner = _Scanner(h5py, source, builder, inline_threshold, on_unsupported, inline_limit)
            try:
                scanner.scan_group(file, "")
            except (OSError, KeyError) as error:
                # h5py reports corrupt object headers and B-trees as OSError, and some as KeyError.
                raise MetadataError(f"{source.url!r}: cannot read the HDF5 structure: {error}") from error
    return builder.references


@dataclass(frozen=True)
class _Variable:
    """A dataset to scan: where its array goes (``path``), how errors name it (``where``), its
    dimension names and its shape as netCDF sees it (None for a null dataspace)."""

    dataset: Any
    path: str
    where: str
    dimension_names: tuple[str, ...]
    shape: tuple[int, ...] | None


@dataclass(frozen=True)
class _Dimension:
    """A dimension of a group as netCDF-C sees it: a dimension scale or a phony dimension."""

    name: str
    size: int
    unlimited: bool


class _Scanner:
    """The walk over one file: groups in netCDF-C's order, the dimensions it assigns, and the
    arrays and chunks each dataset becomes."""

    def __init__(
        self,
        h5py: Any,
        source: ScanSource,
        builder: ReferenceBuilder,
        inline_threshold: int,
        on_unsupported: str,
        inline_limit: int,
    ) -> None:
        self._h5py = h5py
        self._source = source
        self._builder = builder
        self._inline_threshold = inline_threshold
        self._on_unsupported = on_unsupported
        self._inline_limit = inline_limit
        self._next_dimension_id = 0
        self._scales_by_id: dict[int, Any] = {}
        self._unlimited_lengths: dict[str, int] = {}
        self._visited_groups: set[Any] = set()

    # -- groups and dimensions ---------------------------------------------------------------

    def scan_group(self, group: Any, path: str) -> None:
        """Add ``group`` at ``path`` with its attributes, then its subgroups and datasets."""
        self._visited_groups.add(group.id)
        self._builder.add_group(path, zarr_attributes(self._h5py, group, f"{self._source.url}: group {group.name!r}"))
        datasets, subgroups = self._members(group)
        dimensions = [self._scale_dimension(dataset) for _, dataset in datasets if self._is_scale(dataset)]
        # netCDF-C reads the subgroups before it gives this group's unlabeled axes their phony dimensions.
        for name, subgroup in subgroups:
            if subgroup.id not in self._visited_groups:
                self.scan_group(subgroup, _child_path(path, name))
        array_names = {name for name, dataset in datasets if not _is_pure_dimension(dataset)}
        for name, dataset in datasets:
            dimension_names, shape = self._axes(dataset, dimensions)
            if name not in array_names:
                continue
            bare = name.removeprefix(NON_COORDINATE_PREFIX)
            array_path = _child_path(path, bare if bare not in array_names else name)
            where = f"{self._source.url}: variable {dataset.name!r}"
            self._scan_dataset(_Variable(dataset, array_path, where, dimension_names, shape))

    def _members(self, group: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        """The datasets and the groups hard-linked from ``group``, in h5py's (netCDF-C's) order."""
        datasets, subgroups = [], []
        for name in group:
            if not isinstance(group.get(name, getlink=True), self._h5py.HardLink):
                continue
            item = group[name]
            if isinstance(item, self._h5py.Dataset):
                datasets.append((name, item))
            elif isinstance(item, self._h5py.Group):
                subgroups.append((name, item))
        return datasets, subgroups

    def _is_scale(self, dataset: Any) -> bool:
        return bool(self._h5py.h5ds.is_scale(dataset.id))

    def _scale_dimension(self, scale: Any) -> _Dimension:
        """The dimension the dimension scale ``scale`` defines, numbered as netCDF-C numbers it."""
        stored_id = scale.attrs.get("_Netcdf4Dimid")
        if stored_id is None:
            dimension_id = self._next_dimension_id
        else:
            dimension_id = int(np.asarray(stored_id).reshape(-1)[0])
        self._next_dimension_id = max(self._next_dimension_id, dimension_id + 1)
        self._scales_by_id[dimension_id] = scale
        shape, maxshape = scale.shape or (0,), scale.maxshape or (0,)
        return _Dimension(_basename(scale.name), shape[0], maxshape[0] is None)

    def _axes(self, dataset: Any, dimensions: list[_Dimension]) -> tuple[tuple[str, ...], tuple[int, ...] | None]:
        """The dimension name of each axis of ``dataset``, and the shape netCDF gives it: along an
        unlimited dimension, the dimension's length (the longest variable using it), where the
        values past the dataset's own extent read as the fill value. Phony dimensions the axes need
        are added to ``dimensions``."""
        if dataset.shape is None:
            return (), None
        names: list[str] = []
        shape: list[int] = []
        for axis, scale in enumerate(self._axis_scales(dataset)):
            length = dataset.shape[axis]
            if scale is None:
                names.append(self._phony_dimension(dimensions, length, dataset.maxshape[axis] is None, names))
            else:
                names.append(_basename(scale.name))
                dimension_length = self._unlimited_length(scale)
                if dimension_length > length and self._fills_past_extent(dataset, axis):
                    length = dimension_length
            shape.append(length)
        return tuple(names), tuple(shape)

    def _axis_scales(self, dataset: Any) -> list[Any]:
        """Per axis: the dimension scale labelling it, or None."""
        ndim = len(dataset.shape)
        if self._is_scale(dataset):
            coordinates = dataset.attrs.get("_Netcdf4Coordinates") if ndim > 1 else None
            if coordinates is not None:
                ids = np.asarray(coordinates).reshape(-1).tolist()
                if len(ids) == ndim and all(id_ in self._scales_by_id for id_ in ids):
                    return [self._scales_by_id[id_] for id_ in ids]
            return [dataset] + [None] * (ndim - 1)
        scales: list[Any] = []
        for axis in range(ndim):
            attached = dataset.dims[axis]
            count = len(attached)
            # netCDF-C takes the last scale attached to an axis.
            scales.append(attached[count - 1] if count else None)
        return scales

    def _unlimited_length(self, scale: Any) -> int:
        """The length netCDF gives the dimension of ``scale``: for an unlimited one, the longest
        extent of the datasets it labels (0 when it is not unlimited: nothing to extend)."""
        if scale.maxshape is None or len(scale.maxshape) != 1 or scale.maxshape[0] is not None:
            return 0
        if scale.name not in self._unlimited_lengths:
            length = scale.shape[0]
            references = scale.attrs.get("REFERENCE_LIST")
            for reference, axis in references.tolist() if references is not None else ():
                labelled = scale.file[reference]
                length = max(length, labelled.shape[int(axis)])
            self._unlimited_lengths[scale.name] = length
        return self._unlimited_lengths[scale.name]

    def _fills_past_extent(self, dataset: Any, axis: int) -> bool:
        """Whether values past the extent of ``dataset`` along ``axis`` read as its fill value in
        Zarr: no chunk there, or an edge chunk that HDF5 filled before writing into it."""
        chunks = dataset.chunks
        if chunks is None or dataset.shape[axis] % chunks[axis] == 0:
            return True
        return dataset.id.get_create_plist().get_fill_time() != self._h5py.h5d.FILL_TIME_NEVER

    def _phony_dimension(self, dimensions: list[_Dimension], size: int, unlimited: bool, taken: list[str]) -> str:
        """netCDF-C's name for an unlabeled axis: the group's first dimension of that length and
        unlimitedness not used by an earlier axis, else a new ``phony_dim_<next dimension id>``."""
        for dimension in dimensions:
            if dimension.size == size and dimension.unlimited == unlimited and dimension.name not in taken:
                return dimension.name
        name = f"phony_dim_{self._next_dimension_id}"
        self._next_dimension_id += 1
        dimensions.append(_Dimension(name, size, unlimited))
        return name

    # -- datasets ----------------------------------------------------------------------------

    def _scan_dataset(self, variable: _Variable) -> None:
        """Add the array of ``variable``, or apply ``on_unsupported`` when it cannot be referenced."""
        try:
            self._reference_dataset(variable)
        except UnsupportedFeature as error:
            if self._on_unsupported == "raise":
                raise
            if self._on_unsupported == "skip":
                warnings.warn(f"{error}; the variable is left out", UserWarning, stacklevel=2)
                return
            self._inline_dataset(variable, reason=str(error), limit=self._inline_limit)

    def _reference_dataset(self, variable: _Variable) -> None:
        """Add the array with references to the chunks of ``variable``. Raises UnsupportedFeature
        before adding anything when its data cannot be referenced."""
        dataset, where = variable.dataset, variable.where
        if dataset.shape is None:
            raise UnsupportedFeature(f"{where}: a null dataspace (a dataset without a shape) has no Zarr form")
        dtype = zarr_dtype(self._h5py, dataset.dtype, where)
        plist = dataset.id.get_create_plist()
        layout = plist.get_layout()
        h5d = self._h5py.h5d
        if dtype is str or layout == h5d.COMPACT:
            self._inline_dataset(variable, reason=None, limit=None)
            return
        if layout == h5d.VIRTUAL:
            raise UnsupportedFeature(
                f"{where}: a virtual dataset (its data lives in other datasets) cannot be referenced"
            )
        if plist.get_external_count():
            raise UnsupportedFeature(f"{where}: external storage (its data lives in other files) cannot be referenced")
        if self._builder.zarr_format == 3 and has_big_endian_fields(dtype):
            raise UnsupportedFeature(
                f"{where}: a compound type with big-endian members cannot be referenced in Zarr v3, "
                "whose structured types store their members little-endian"
            )
        if layout == h5d.CONTIGUOUS:
            self._reference_contiguous(variable, dtype)
        else:
            self._reference_chunked(variable, dtype)

    def _reference_contiguous(self, variable: _Variable, dtype: np.dtype) -> None:
        dataset = variable.dataset
        # One chunk of the dataset's own extent: past it (along an unlimited dimension) reads the fill value.
        metadata = self._add_array(variable, dtype, _whole_chunk(dataset.shape), codecs=[])
        offset = dataset.id.get_offset()
        if offset is None or dataset.size == 0:
            return  # never written: no storage was allocated
        size = dataset.id.get_storage_size()
        expected = dataset.size * dtype.itemsize
        if size != expected:
            raise MetadataError(
                f"{variable.where}: its contiguous storage holds {size} bytes, its values need {expected}"
            )
        coords = np.zeros((1, dataset.ndim), dtype=np.int64)
        self._add_references(variable, metadata, coords, np.array([offset]), np.array([size]))

    def _reference_chunked(self, variable: _Variable, dtype: np.dtype) -> None:
        dataset, where = variable.dataset, variable.where
        chunks = tuple(dataset.chunks)
        chunk_grid = RegularChunkGrid(dataset.shape, chunks)
        grid = chunk_grid.grid_shape
        if chunk_grid.nchunks >= _CHUNKS_PER_INDEX_NODE * self._source.block_count:
            # HDF5 writes a chunk index's nodes among the chunks as they are written: an index of
            # at least a node per block has one in nearly every block, and h5py visits them out of
            # order, so the walk is cheapest read in long runs.
            self._source.expect_long_walk()
        coords, offsets, sizes, masks = _allocated_chunks(dataset, chunks)
        # HDF5 keeps chunks beyond a shrunken extent; no read may reach them.
        inside = np.all(coords < np.array(grid, dtype=np.int64), axis=1)
        coords, offsets, sizes, masks = coords[inside], offsets[inside], sizes[inside], masks[inside]
        filters = dataset_filters(dataset)
        common_mask = _most_common(masks)
        active = tuple(item for index, item in enumerate(filters) if not (common_mask >> index) & 1)
        codecs = codec_configs(active, dtype, where=where, chunk_shape=chunks)
        odd = masks != common_mask
        odd_count = int(np.count_nonzero(odd))
        if odd_count:
            odd_masks = sorted({int(mask) for mask in masks[odd]})
            problem = (
                f"{where}: {odd_count} of its {len(masks)} chunks skipped other filters than the rest "
                f"(filter masks {odd_masks}, not {common_mask}), so no single codec list decodes them all"
            )
            if self._on_unsupported != "inline":
                raise UnsupportedFeature(problem)
            needed = odd_count * math.prod(chunks) * dtype.itemsize
            if needed > self._inline_limit:
                raise UnsupportedFeature(f"{problem}; inlining them needs {needed} bytes, over inline_limit")
        metadata = self._add_array(variable, dtype, chunks, codecs=codecs)
        regular = ~odd
        self._add_references(variable, metadata, coords[regular], offsets[regular], sizes[regular])
        if odd_count:
            pipeline, spec = pipeline_for(metadata, path=variable.path), chunk_spec(metadata)
            for chunk_coords in coords[odd].tolist():
                region = _chunk_region(chunk_coords, chunks, dataset.shape)
                block = _padded(self._read_values(variable, dtype, region), chunks, spec)
                self._set_chunk(variable, metadata, tuple(chunk_coords), bytes(pipeline.encode(block, spec)))

    def _inline_dataset(self, variable: _Variable, *, reason: str | None, limit: int | None) -> None:
        """Read the values of ``variable`` through h5py and store them inline, chunked as in the file.

        ``reason`` says why the data cannot be referenced (None when inlining is the normal way:
        compact data and variable-length strings); ``limit`` bounds the bytes of values. Raises
        UnsupportedFeature when the values cannot be read or described, or exceed ``limit``.
        """
        dataset, where, shape = variable.dataset, variable.where, variable.shape
        try:
            if shape is None:
                raise UnsupportedFeature(f"{where}: a null dataspace has no values to inline")
            plist = dataset.id.get_create_plist()
            if plist.get_layout() == self._h5py.h5d.VIRTUAL or plist.get_external_count():
                # HDF5 finds those files relative to the file's name or the working directory, and
                # reads a source it cannot find as fill values.
                raise UnsupportedFeature(f"{where}: h5py cannot locate the other files its values live in")
            dtype = zarr_dtype(self._h5py, dataset.dtype, where)
            if limit is not None and dtype is not str and math.prod(shape) * dtype.itemsize > limit:
                raise UnsupportedFeature(
                    f"{where}: its {math.prod(shape) * dtype.itemsize} bytes of values exceed inline_limit ({limit})"
                )
        except UnsupportedFeature as error:
            if reason is None:
                raise
            detail = str(error).removeprefix(f"{where}: ")
            raise UnsupportedFeature(f"{reason}; it cannot be inlined either: {detail}") from None
        chunks = tuple(dataset.chunks) if dataset.chunks else _whole_chunk(shape)
        values = self._read_values(variable, dtype, ())
        metadata = self._add_array(variable, dtype, chunks, codecs=[])
        pipeline, spec = pipeline_for(metadata, path=variable.path), chunk_spec(metadata)
        values = _padded(values, shape, spec)  # netCDF's extent along unlimited dimensions
        grid = tuple(math.ceil(length / chunk) for length, chunk in zip(shape, chunks, strict=True))
        for chunk_coords in np.ndindex(grid):
            # The Ellipsis keeps 0-d selections arrays.
            block = _padded(values[(*_chunk_region(chunk_coords, chunks, shape), ...)], chunks, spec)
            self._set_chunk(variable, metadata, chunk_coords, bytes(pipeline.encode(block, spec)))

    def _read_values(self, variable: _Variable, dtype: np.dtype | type[str], region: tuple[slice, ...]) -> Any:
        """The values of ``variable`` in ``region`` (all of them for ``()``) as an array of ``dtype``."""
        _load_filter_plugins()
        dataset = variable.dataset
        try:
            if dtype is str:
                return np.asarray(dataset.asstr()[region], dtype=object)
            return np.asarray(dataset[region]).astype(dtype, copy=False)
        except (OSError, UnicodeDecodeError) as error:
            raise UnsupportedFeature(f"{variable.where}: h5py cannot read its values either: {error}") from error

    def _add_array(
        self, variable: _Variable, dtype: np.dtype | type[str], chunks: tuple[int, ...], *, codecs: list[dict[str, Any]]
    ) -> ArrayMetadata:
        """Add the array of ``variable``; UnsupportedFeature when Zarr cannot describe it."""
        zarr_format = self._builder.zarr_format
        if zarr_format == 2:
            codec_keywords: dict[str, Any] = {"filters": codecs or None, "compressors": None}
        else:
            codec_keywords = {"filters": (), "compressors": codecs}
        dataset = variable.dataset
        try:
            return self._builder.add_array(
                variable.path,
                shape=variable.shape,
                dtype=dtype,
                chunks=chunks,
                fill_value=None if dtype is str else hdf5_fill_value(dataset, dtype),
                order="C",
                attributes=zarr_attributes(self._h5py, dataset, variable.where, dtype),
                dimension_names=variable.dimension_names,
                **codec_keywords,
            )
        except MetadataError as error:
            raise UnsupportedFeature(f"{variable.where}: Zarr v{zarr_format} cannot describe it: {error}") from error

    def _add_references(
        self, variable: _Variable, metadata: ArrayMetadata, coords: np.ndarray, offsets: np.ndarray, sizes: np.ndarray
    ) -> None:
        """Point the chunks at ``coords`` at their ``sizes`` bytes at ``offsets``; chunks under the
        inline threshold are read and stored inline. MetadataError when one lies beyond the file's end."""
        beyond = np.flatnonzero(offsets + sizes > self._source.size)
        if beyond.size:
            index = int(beyond[0])
            raise MetadataError(
                f"{variable.where}: chunk {tuple(coords[index].tolist())} is {int(sizes[index])} bytes at offset "
                f"{int(offsets[index])}, but {self._source.url!r} has {self._source.size} bytes (truncated file?)"
            )
        url, threshold, source = self._source.url, self._inline_threshold, self._source
        grid = self._builder.chunk_grid(variable.path)
        if len(offsets) == math.prod(grid) and (sizes >= threshold).all():
            # Every chunk is written and none is inlined: the references fit in a chunk table.
            numbers = np.ravel_multi_index(tuple(coords.T), grid) if grid else np.zeros(1, dtype=np.int64)
            order = np.argsort(numbers)
            if np.array_equal(numbers[order], np.arange(len(numbers))):
                self._builder.add_chunk_table(variable.path, url, offsets[order], sizes[order])
                return
        add_chunk = self._builder.add_chunk
        for chunk_coords, offset, size in zip(coords.tolist(), offsets.tolist(), sizes.tolist(), strict=True):
            entry = source.read_range(offset, size) if size < threshold else Reference(url, offset, size)
            add_chunk(variable.path, tuple(chunk_coords), entry)

    def _set_chunk(
        self, variable: _Variable, metadata: ArrayMetadata, chunk_coords: tuple[int, ...], data: bytes
    ) -> None:
        self._builder.add_chunk(variable.path, tuple(chunk_coords), data)


# -- helpers without state ---------------------------------------------------------------------


def _child_path(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def _basename(hdf5_path: str) -> str:
    return hdf5_path.rsplit("/", 1)[-1]


def _is_pure_dimension(dataset: Any) -> bool:
    """True for the datasets netCDF-C writes for a dimension without a coordinate variable."""
    name = dataset.attrs.get("NAME")
    if isinstance(name, str):
        name = name.encode("utf-8")
    return isinstance(name, bytes) and name.startswith(NOT_A_VARIABLE)


def _whole_chunk(shape: tuple[int, ...]) -> tuple[int, ...]:
    """One chunk covering ``shape`` (at least 1 long, as chunk lengths must be)."""
    return tuple(max(length, 1) for length in shape)


def _allocated_chunks(dataset: Any, chunks: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Chunk coordinates (n x ndim), file offsets, sizes and filter masks of the allocated chunks."""
    dataset_id = dataset.id
    if hasattr(dataset_id, "chunk_iter"):
        records: list[Any] = []
        # list.append as the callback keeps Python frames out of the per-chunk path.
        dataset_id.chunk_iter(records.append)
    else:
        records = [dataset_id.get_chunk_info(index) for index in range(dataset_id.get_num_chunks())]
    if not records:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros((0, len(chunks)), dtype=np.int64), empty, empty, empty
    chunk_offsets, masks, offsets, sizes = zip(*records, strict=True)
    coords = np.array(chunk_offsets, dtype=np.int64).reshape(len(records), len(chunks))
    coords //= np.array(chunks, dtype=np.int64)
    return coords, *(np.array(column, dtype=np.int64) for column in (offsets, sizes, masks))


def _most_common(masks: np.ndarray) -> int:
    """The filter mask most chunks share (0 without chunks)."""
    if not len(masks):
        return 0
    values, counts = np.unique(masks, return_counts=True)
    return int(values[np.argmax(counts)])


def _chunk_region(chunk_coords: Any, chunks: tuple[int, ...], shape: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(
        slice(index * chunk, min((index + 1) * chunk, length))
        for index, chunk, length in zip(chunk_coords, chunks, shape, strict=True)
    )


def _padded(values: np.ndarray, shape: tuple[int, ...], spec: ChunkSpec) -> np.ndarray:
    """``values`` grown to ``shape`` with the fill value of ``spec``."""
    if values.shape == shape:
        return values
    block = np.full(shape, spec.fill_value, dtype=spec.dtype)
    block[tuple(slice(0, length) for length in values.shape)] = values
    return block


def _load_filter_plugins() -> None:
    """Make the hdf5plugin filters (zstd, blosc, lz4, bitshuffle...) available to h5py when the
    package is installed, so values can be read through h5py."""
    try:
        import hdf5plugin  # noqa: F401
    except ImportError:
        pass
