"""Combine many reference sets into one virtual dataset: ``combine(inputs, concat_dims=[...])``.

Each input is a reference set of the same layout (typically one scanned file): the same groups and
variables, with dimension names (``_ARRAY_DIMENSIONS`` in v2, ``dimension_names`` in v3). Along each
of ``concat_dims`` the inputs are placed by their coordinate values (see
:mod:`zarrkit.scan.combine_coords`) and sorted, and:

- a variable with concatenated dimensions gets its chunks from every input, their indices shifted
  by the input's place; a dimension no input has (a *new* dimension) is put in front of every
  variable except the dimension coordinates (``lat``, ``lon``...) and ``identical_dims``;
- a variable that lacks a concatenated dimension must be identical in the inputs that share its
  place (all of them, for a variable without any): same references, or else same values; its
  chunks come from the first of them;
- the coordinate variable of each concatenated dimension is written anew from the collected
  values, inline;
- metadata and attributes come from the first input in the output's order.

Nothing is combined silently wrong: inputs that differ in chunking, data type, fill value, codecs
or the attributes that decode the values (``scale_factor``, ``add_offset``, ``units``...) of a
variable, duplicate or overlapping coordinates, and chunks that a regular chunk grid cannot place
raise ReferenceError naming the inputs and the variable.

Inputs need not fill every place of the output: with two concatenated dimensions (``member`` and
``time``), a missing file leaves its chunks missing, and they read as the fill value.

Inputs are read in two passes, one at a time: the first collects coordinates, checks the metadata
and keeps small digests; the second streams the chunk references into the output, in the output's
order. A parquet output writes each record file as soon as it is complete, so memory stays bounded
by one input plus a record per array when the concatenated dimensions lead the arrays (as ``time``
usually does, and a new dimension always does); otherwise records stay open until the end (see
:mod:`zarrkit.scan.combine_output`).

Compared with kerchunk's ``MultiZarrToZarr(path, concat_dims=..., identical_dims=..., coo_map=...)``:
``coords`` replaces ``coo_map`` (``"data"``, :func:`variable`, :func:`attribute`, :func:`regex`, a
list); variables without a concatenated dimension are checked, not copied from the first input
unseen, and never get an existing concatenated dimension added; coordinate values are not decoded
with cftime: inputs whose ``units`` or ``calendar`` differ are refused rather than re-encoded; there
is no ``preprocess``/``postprocess`` (use :mod:`zarrkit.refs.ops` before and after).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zarrkit.core.chunk_grid import RegularChunkGrid
from zarrkit.errors import ReferenceError
from zarrkit.metadata import ArrayMetadata
from zarrkit.refs.load import ReferencesLike, is_json_url
from zarrkit.refs.model import Entry, References
from zarrkit.runtime import run_in_pool, sync
from zarrkit.scan.combine_coords import (
    AxisPlacement,
    CoordinateSource,
    CoordSource,
    FromAttribute,
    FromRegex,
    FromValues,
    FromVariable,
    attribute,
    check_unique_cells,
    coordinate_source,
    coordinate_source_from_text,
    coordinate_values,
    place_along,
    processing_order,
    regex,
    variable,
)
from zarrkit.scan.combine_inputs import (
    DescribedInput,
    InputSource,
    LoadedInput,
    check_same_array,
    check_same_nodes,
    chunks_by_array,
    input_sources,
    load_input,
    read_array_values,
    references_digest,
    values_digest,
)
from zarrkit.scan.combine_metadata import (
    coordinate_metadata,
    encode_coordinate,
    output_array_metadata,
    output_format,
    output_groups,
)
from zarrkit.scan.combine_output import MemoryOutput, ParquetOutput, closing_schedule

__all__ = [
    "CoordSource",
    "FromAttribute",
    "FromRegex",
    "FromValues",
    "FromVariable",
    "attribute",
    "combine",
    "combine_async",
    "coordinate_source_from_text",
    "regex",
    "variable",
]


def combine(
    inputs: Sequence[ReferencesLike] | Mapping[str, ReferencesLike],
    *,
    concat_dims: Sequence[str],
    identical_dims: Sequence[str] = (),
    coords: Mapping[str, CoordSource] | None = None,
    output: str | os.PathLike[str] | None = None,
    record_size: int = 100_000,
    storage_options: Mapping[str, Any] | None = None,
    target_options: Mapping[str, Mapping[str, Any]] | None = None,
    zarr_format: int | None = None,
) -> References:
    """Combine the reference sets ``inputs`` along ``concat_dims`` into one (see the module docs).

    ``inputs``: reference sets in memory (References or spec dicts) or URLs of reference files
    (JSON or parquet), loaded one at a time; or a mapping from names to those (names are what
    :func:`regex` matches; a URL is its own name). ``concat_dims``: the dimensions to concatenate
    along, existing or new. ``identical_dims``: variables that never get a new dimension (they
    must be identical in every input). ``coords``: where each dimension's values come from
    (default ``"data"``: the variable named as the dimension). ``output``: a parquet directory to
    stream the result into (with ``record_size`` chunks per record file; the opened set is
    returned), or a ``.json`` file to save it to; None keeps it in memory (a ReferenceSet).
    ``storage_options`` apply to reading the inputs and writing the output; ``target_options``
    (protocol -> options) to reading values from the files the references point to. ``zarr_format``
    is that of the inputs by default; 3 converts v2 inputs.

    Raises ReferenceError naming the inputs and variables for inputs that cannot be combined (see
    the module docs) or arguments that make no sense; UnsupportedFeature for a conversion from v3
    to v2 or a new dimension on a v3 array with transpose or sharding codecs.
    """
    return sync(
        combine_async(
            inputs,
            concat_dims=concat_dims,
            identical_dims=identical_dims,
            coords=coords,
            output=output,
            record_size=record_size,
            storage_options=storage_options,
            target_options=target_options,
            zarr_format=zarr_format,
        )
    )


async def combine_async(
    inputs: Sequence[ReferencesLike] | Mapping[str, ReferencesLike],
    *,
    concat_dims: Sequence[str],
    identical_dims: Sequence[str] = (),
    coords: Mapping[str, CoordSource] | None = None,
    output: str | os.PathLike[str] | None = None,
    record_size: int = 100_000,
    storage_options: Mapping[str, Any] | None = None,
    target_options: Mapping[str, Mapping[str, Any]] | None = None,
    zarr_format: int | None = None,
) -> References:
    """:func:`combine` for code that runs on an event loop; same arguments, same errors."""
    request = _request(concat_dims, identical_dims, coords, record_size, zarr_format, storage_options, target_options)
    sources = input_sources(inputs)
    survey = await _survey(sources, request)
    plan = _plan(survey, request)
    output_url = None if output is None else os.fsdecode(output)
    if output_url is None or is_json_url(output_url):
        sink: MemoryOutput | ParquetOutput = MemoryOutput(output_url, storage_options=storage_options)
    else:
        sink = ParquetOutput(
            output_url,
            record_size=record_size,
            grids={path: array.grid for path, array in plan.arrays.items()} | {name: (1,) for name in plan.axes},
            schedule=_closing_schedules(plan, record_size),
            storage_options=storage_options,
        )
    await _stream(sources, survey, plan, sink, request)
    return await sink.finish()


# -- the request ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """The checked arguments of one combine call."""

    dimensions: tuple[str, ...]
    identical: frozenset[str]
    sources: dict[str, CoordinateSource]
    zarr_format: int | None
    storage_options: Mapping[str, Any] | None
    target_options: Mapping[str, Mapping[str, Any]] | None


def _names(value: Any, argument: str) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(name, str) and name for name in names):
        raise ReferenceError(f"{argument} must be a list of names, got {value!r}")
    if len(set(names)) != len(names):
        raise ReferenceError(f"{argument} names a dimension twice: {list(names)}")
    return names


def _request(
    concat_dims: Sequence[str],
    identical_dims: Sequence[str],
    coords: Mapping[str, CoordSource] | None,
    record_size: int,
    zarr_format: int | None,
    storage_options: Mapping[str, Any] | None,
    target_options: Mapping[str, Mapping[str, Any]] | None,
) -> _Request:
    dimensions = _names(concat_dims, "concat_dims")
    if not dimensions:
        raise ReferenceError("concat_dims must name at least one dimension to concatenate along")
    identical = frozenset(_names(identical_dims, "identical_dims"))
    if identical & set(dimensions):
        raise ReferenceError(f"{sorted(identical & set(dimensions))} cannot be both concatenated and identical")
    unknown = sorted(set(coords or {}) - set(dimensions))
    if unknown:
        raise ReferenceError(f"coords names {unknown}, which are not in concat_dims {list(dimensions)}")
    if isinstance(record_size, bool) or not isinstance(record_size, int) or record_size < 1:
        raise ReferenceError(f"record_size must be a positive integer, got {record_size!r}")
    if zarr_format not in (None, 2, 3):
        raise ReferenceError(f"zarr_format must be 2, 3 or None, got {zarr_format!r}")
    sources = {name: coordinate_source(name, (coords or {}).get(name, "data")) for name in dimensions}
    return _Request(dimensions, identical, sources, zarr_format, storage_options, target_options)


# -- pass 1: coordinates, checks and digests ------------------------------------------------------


@dataclass(frozen=True)
class _Role:
    """What combine does with one variable of the inputs (other than a rebuilt coordinate)."""

    path: str
    new_dimensions: tuple[str, ...]
    """The new dimensions put in front of it."""
    spanned: tuple[tuple[str, int], ...]
    """The existing concatenated dimensions it has, with their axis in the inputs."""
    identical: bool
    """Whether it lacks a concatenated dimension, so that inputs sharing its place must agree."""


@dataclass
class _Survey:
    """What pass 1 keeps: the first input's description, the roles of its variables, and per input
    its label, coordinate values and the digests of the variables that must be identical."""

    template: DescribedInput
    new_dimensions: tuple[str, ...]
    roles: dict[str, _Role]
    labels: list[str]
    values: dict[str, list[np.ndarray]]
    digests: dict[str, list[bytes]]


def _roles(template: DescribedInput, request: _Request) -> tuple[tuple[str, ...], dict[str, _Role]]:
    """The new dimensions, and the role of every variable but the rebuilt coordinates, from the first input."""
    arrays = template.structure.arrays
    all_dimensions = {name for info in arrays.values() for name in info.dimensions or ()}
    new_dimensions = tuple(name for name in request.dimensions if name not in all_dimensions)
    coordinates = tuple(name for name in request.dimensions if name in arrays)
    unknown = sorted(request.identical - set(arrays))
    if unknown:
        raise ReferenceError(f"identical_dims names {unknown}, which {template.label} does not have")
    roles = {}
    for path, info in arrays.items():
        if path in coordinates:
            continue
        names = info.dimensions or ()
        spanned = tuple((name, names.index(name)) for name in request.dimensions if name in names)
        if path in request.identical and spanned:
            raise ReferenceError(
                f"variable {path!r} is in identical_dims but has the concatenated dimension {spanned[0][0]!r}"
            )
        is_dimension_coordinate = path.rpartition("/")[2] in all_dimensions
        gets_new = info.dimensions is not None and path not in request.identical and not is_dimension_coordinate
        added = new_dimensions if gets_new else ()
        roles[path] = _Role(path, added, spanned, len(added) + len(spanned) < len(request.dimensions))
    return new_dimensions, roles


async def _survey(sources: Sequence[InputSource], request: _Request) -> _Survey:
    survey: _Survey | None = None
    known_digests: dict[tuple[str, bytes], bytes] = {}
    for source in sources:
        loaded = await load_input(source, storage_options=request.storage_options)
        if survey is None:
            new_dimensions, roles = _roles(loaded, request)
            survey = _Survey(
                template=loaded.described(),
                new_dimensions=new_dimensions,
                roles=roles,
                labels=[],
                values={name: [] for name in request.dimensions},
                digests={path: [] for path, role in roles.items() if role.identical},
            )
        _check_like_template(survey, loaded)
        survey.labels.append(loaded.label)
        extents = loaded.structure.dimension_extents(loaded.label, request.dimensions)
        for name in request.dimensions:
            values = await coordinate_values(
                request.sources[name], name, loaded, input_count=len(sources), target_options=request.target_options
            )
            expected = extents.get(name, 1)
            if len(values) != expected:
                raise ReferenceError(
                    f"{loaded.label}: coordinate {name!r} has {len(values)} values, but the dimension has {expected}"
                )
            survey.values[name].append(values)
        await _add_digests(survey, loaded, known_digests, request)
    assert survey is not None  # input_sources refuses an empty list
    return survey


def _check_like_template(survey: _Survey, loaded: DescribedInput) -> None:
    """Raise ReferenceError when ``loaded`` differs from the first input in what combining needs."""
    template = survey.template
    check_same_nodes(template, loaded)
    for path, info in template.structure.arrays.items():
        role = survey.roles.get(path)
        if role is None:  # a rebuilt coordinate: only its values and their meaning matter
            check_same_array(template, loaded, path, concatenated_axes=range(info.metadata.ndim), layout_matters=False)
        else:
            check_same_array(template, loaded, path, concatenated_axes=[axis for _, axis in role.spanned])


async def _add_digests(
    survey: _Survey, loaded: LoadedInput, known_digests: dict[tuple[str, bytes], bytes], request: _Request
) -> None:
    """Add the digests of ``loaded``'s variables that must be identical across inputs: from their
    references, and when those are new, from their values."""
    if not survey.digests:
        return
    chunks = chunks_by_array(loaded, list(survey.digests))
    for path, (keys, _) in chunks.items():
        reference_digest = references_digest(keys, await loaded.references.lookup(keys))
        digest = known_digests.get((path, reference_digest))
        if digest is None:
            info = loaded.structure.arrays[path]
            values = await read_array_values(loaded, info, target_options=request.target_options)
            digest = known_digests[(path, reference_digest)] = values_digest(values)
        survey.digests[path].append(digest)


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ArrayPlan:
    """One output variable: its role, output shape and chunks, and which inputs write its chunks."""

    role: _Role
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    writers: np.ndarray
    """Per input (given order): whether it writes this variable's chunks."""

    @property
    def grid(self) -> tuple[int, ...]:
        return RegularChunkGrid(self.shape, self.chunks).grid_shape


@dataclass(frozen=True)
class _Plan:
    """Where everything goes: the placement along each dimension, the order the inputs stream in
    (``order[rank]`` is an input's position), and the output variables."""

    axes: dict[str, AxisPlacement]
    order: list[int]
    arrays: dict[str, _ArrayPlan]


def _plan(survey: _Survey, request: _Request) -> _Plan:
    labels = survey.labels
    axes = {
        name: place_along(name, is_new=name in survey.new_dimensions, values=survey.values[name], labels=labels)
        for name in request.dimensions
    }
    check_unique_cells(list(axes.values()), labels)
    order = processing_order([axes[name] for name in _streaming_dimensions(survey, request)])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    arrays = {}
    for path, role in survey.roles.items():
        metadata = survey.template.structure.arrays[path].metadata
        shape = [axes[name].size for name in role.new_dimensions] + list(metadata.shape)
        for name, axis in role.spanned:
            shape[len(role.new_dimensions) + axis] = axes[name].size
            _check_alignment(path, axes[name], metadata.chunks[axis], labels)
        writers = np.ones(len(labels), dtype=bool)
        if role.identical:
            writers = _identical_writers(path, role, axes, survey, rank)
        chunks = (1,) * len(role.new_dimensions) + tuple(metadata.chunks)
        arrays[path] = _ArrayPlan(role, tuple(shape), chunks, writers)
    return _Plan(axes, order, arrays)


def _streaming_dimensions(survey: _Survey, request: _Request) -> list[str]:
    """The concatenated dimensions in the order the inputs stream: new ones (which lead every
    array) first, then the others by their axis in the variables, so that chunk numbers mostly grow."""
    axis_of: dict[str, int] = {}
    for role in survey.roles.values():
        for name, axis in role.spanned:
            axis_of[name] = min(axis, axis_of.get(name, axis))
    existing = [name for name in request.dimensions if name not in survey.new_dimensions]
    return list(survey.new_dimensions) + sorted(existing, key=lambda name: axis_of.get(name, 0))


def _check_alignment(path: str, axis: AxisPlacement, chunk: int, labels: Sequence[str]) -> None:
    """Raise ReferenceError when an input other than the last along ``axis`` has an extent that is
    no multiple of the variable's chunk length: the next input's chunks would start mid-chunk."""
    for first_input, extent in zip(axis.block_inputs[:-1], axis.block_extents[:-1]):
        if extent % chunk:
            raise ReferenceError(
                f"variable {path!r}: {labels[first_input]} has {extent} values along {axis.name!r}, not a multiple of "
                f"the chunk length {chunk}, and is not the last input along {axis.name!r}; Zarr's regular chunk grid "
                "cannot place the chunks of the inputs after it (rechunk the inputs, or combine them in groups)"
            )


def _identical_writers(
    path: str, role: _Role, axes: Mapping[str, AxisPlacement], survey: _Survey, rank: np.ndarray
) -> np.ndarray:
    """Which inputs write a variable that lacks a concatenated dimension: in each group of inputs
    that share its place, the first one streamed. Raises ReferenceError naming two inputs of a
    group whose values differ."""
    names = [*role.new_dimensions, *(name for name, _ in role.spanned)]
    digests = survey.digests[path]
    writers = np.zeros(len(digests), dtype=bool)
    first_of_group: dict[tuple[int, ...], int] = {}
    for position in np.argsort(rank, kind="stable").tolist():
        group = tuple(int(axes[name].blocks[position]) for name in names)
        first = first_of_group.setdefault(group, position)
        if first == position:
            writers[position] = True
        elif digests[first] != digests[position]:
            lacking = [name for name in axes if name not in names]
            raise ReferenceError(
                f"variable {path!r} differs between {survey.labels[first]} and {survey.labels[position]}; it lacks the "
                f"concatenated dimension(s) {lacking}, so those inputs must hold the same values for it"
            )
    return writers


def _closing_schedules(plan: _Plan, record_size: int) -> dict[int, list[tuple[str, int]]]:
    """For the parquet output: the records each input closes, by its rank (see ``closing_schedule``)."""
    rank = np.empty(len(plan.order), dtype=np.int64)
    rank[plan.order] = np.arange(len(plan.order))
    schedule: dict[int, list[tuple[str, int]]] = {}
    for path, array in plan.arrays.items():
        writers = np.flatnonzero(array.writers)
        role = array.role
        lower = np.zeros((len(writers), len(array.grid)), dtype=np.int64)
        upper = np.tile(np.asarray(array.grid, dtype=np.int64) - 1, (len(writers), 1))
        for index, name in enumerate(role.new_dimensions):
            lower[:, index] = upper[:, index] = plan.axes[name].blocks[writers]
        for name, axis in role.spanned:
            column, chunk = len(role.new_dimensions) + axis, array.chunks[len(role.new_dimensions) + axis]
            placement = plan.axes[name]
            lower[:, column] = placement.offsets[writers] // chunk
            upper[:, column] = (placement.offsets[writers] + placement.extents[writers] - 1) // chunk
        closing = closing_schedule(array.grid, record_size, rank[writers].tolist(), lower, upper)
        for input_rank, records in closing.items():
            schedule.setdefault(input_rank, []).extend((path, record) for record in records)
    return schedule


# -- pass 2: streaming the chunks -----------------------------------------------------------------


async def _stream(
    sources: Sequence[InputSource],
    survey: _Survey,
    plan: _Plan,
    sink: MemoryOutput | ParquetOutput,
    request: _Request,
) -> None:
    output_metadata: dict[str, ArrayMetadata] = {}
    for rank, position in enumerate(plan.order):
        loaded = await load_input(sources[position], storage_options=request.storage_options)
        _check_like_template(survey, loaded)
        _check_extents(loaded, plan, position)
        if rank == 0:
            output_metadata = await _write_metadata(sink, loaded, plan, request)
        paths = [path for path, array in plan.arrays.items() if array.writers[position]]
        chunks = chunks_by_array(loaded, paths)
        all_keys = [key for keys, _ in chunks.values() for key in keys]
        entries = await loaded.references.lookup(all_keys)
        start = 0
        for path, (keys, coordinates) in chunks.items():
            array_entries = _checked_entries(loaded, keys, entries[start : start + len(keys)])
            start += len(keys)
            output_coordinates = _placed(coordinates, plan.arrays[path], plan.axes, position)
            await sink.add_chunks(path, output_metadata[path], output_coordinates, array_entries)
        await sink.input_done(rank)


def _check_extents(loaded: LoadedInput, plan: _Plan, position: int) -> None:
    """Raise ReferenceError when an input changed between the passes (its extents moved)."""
    extents = loaded.structure.dimension_extents(loaded.label, plan.axes)
    for name, placement in plan.axes.items():
        if not placement.is_new and extents.get(name) != placement.extents[position]:
            raise ReferenceError(
                f"{loaded.label} changed while being combined: dimension {name!r} had {placement.extents[position]} "
                f"values in the first pass and {extents.get(name)} now"
            )


def _checked_entries(loaded: LoadedInput, keys: Sequence[str], entries: Sequence[Entry | None]) -> list[Entry]:
    """The entries of ``keys``, an empty range at offset 0 made the empty inline value it stands for
    (the parquet layout would read it as the whole file). Raises ReferenceError naming the input
    and key for a missing entry or a reference without URL."""
    checked: list[Entry] = list(entries)  # type: ignore[arg-type]
    for index, (key, entry) in enumerate(zip(keys, entries)):
        if type(entry) is bytes:
            continue
        if entry is None:
            raise ReferenceError(f"{loaded.label}: key {key!r} was listed but has no entry")
        if entry.url is None:
            raise ReferenceError(
                f"{loaded.label}: key {key!r} refers to the default target (no URL), which differs between inputs; "
                "give its references URLs (zarrkit.refs.rewrite_urls) before combining"
            )
        if entry.length == 0:
            checked[index] = b""
    return checked


def _placed(coordinates: np.ndarray, array: _ArrayPlan, axes: Mapping[str, AxisPlacement], position: int) -> np.ndarray:
    """The output chunk coordinates of an input's chunks at ``coordinates``."""
    role = array.role
    placed = coordinates.copy()
    for name, axis in role.spanned:
        placed[:, axis] += axes[name].offsets[position] // array.chunks[len(role.new_dimensions) + axis]
    if role.new_dimensions:
        front = np.array([axes[name].blocks[position] for name in role.new_dimensions], dtype=np.int64)
        placed = np.hstack([np.tile(front, (len(placed), 1)), placed])
    return placed


async def _write_metadata(
    sink: MemoryOutput | ParquetOutput, loaded: LoadedInput, plan: _Plan, request: _Request
) -> dict[str, ArrayMetadata]:
    """Add the output's groups and arrays (from ``loaded``, the first input in the output's order)
    and the rebuilt coordinates to ``sink``; returns the metadata of every output array."""
    zarr_format = output_format(loaded, request.zarr_format)
    for path, group in output_groups(loaded, zarr_format).items():
        sink.add_node(path, group)
    metadata: dict[str, ArrayMetadata] = {}
    for path, array in plan.arrays.items():
        info = loaded.structure.arrays[path]
        metadata[path] = output_array_metadata(info, array.shape, array.chunks, array.role.new_dimensions, zarr_format)
    for name, placement in plan.axes.items():
        existing = loaded.structure.arrays.get(name)
        metadata[name] = coordinate_metadata(name, placement.values, existing, zarr_format)
    for path, array_metadata in metadata.items():
        sink.add_node(path, array_metadata)
    for name, placement in plan.axes.items():
        encoded = await run_in_pool(encode_coordinate, name, placement.values, metadata[name])
        await sink.add_chunks(name, metadata[name], np.zeros((1, 1), dtype=np.int64), [encoded])
    return metadata
