"""Coordinates for :func:`zarrkit.scan.combine.combine`: where each input's values along a
concatenated dimension come from, and where each input lands in the output.

A dimension's values come from a variable of each input (``"data"``, the default, or
:func:`variable`), from an attribute (:func:`attribute`), from a regular expression on the input's
name (:func:`regex`), or from a list given by the caller. Along a dimension the inputs already have,
an input contributes as many values as its extent; along a new dimension, exactly one.

Inputs with the same values along a dimension form a *block*; blocks are sorted by their first
value and must not overlap, so the output coordinate is increasing. Each input then sits in one
*cell*: its block along every dimension. Two inputs in one cell are duplicates and an error.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from zarrkit.errors import ReferenceError
from zarrkit.scan.combine_inputs import LoadedInput, read_array_values


@dataclass(frozen=True)
class FromVariable:
    """Coordinate values read from an array of each input: the one named ``name``, or by default
    the array named as the dimension (kerchunk's ``data:<name>``)."""

    name: str | None = None


@dataclass(frozen=True)
class FromAttribute:
    """Coordinate values taken from the attribute ``name`` of each input's root group, or of the
    array ``variable`` when given (kerchunk's ``attr:`` and ``vattr:``)."""

    name: str
    variable: str | None = None


@dataclass(frozen=True)
class FromRegex:
    """One coordinate value per input from a regular expression searched in the input's name (its
    URL): the first group, or the whole match when the pattern has no group.

    The text becomes an integer, else a float, else stays a string; with ``datetime_format`` (a
    ``strptime`` format) it is parsed as a date and time; with ``dtype`` it is converted by NumPy
    (``"M8[D]"`` parses ISO dates).
    """

    pattern: re.Pattern[str]
    dtype: np.dtype | None = None
    datetime_format: str | None = None


@dataclass(frozen=True)
class FromValues:
    """Coordinate values given by the caller: one entry per input, in the order the inputs were
    given; an entry is a value or, along a dimension the inputs have, a sequence of values."""

    values: tuple[Any, ...]


CoordinateSource = FromVariable | FromAttribute | FromRegex | FromValues
CoordSource = Literal["data"] | CoordinateSource | Sequence[Any] | np.ndarray
"""What ``combine`` takes for a dimension's coordinate: ``"data"``, one of the ``From*`` objects
(as :func:`variable`, :func:`attribute` and :func:`regex` make them), or a list of values."""


def variable(name: str) -> FromVariable:
    """Coordinate values from the array ``name`` of each input (when it is not named as the dimension)."""
    return FromVariable(name)


def attribute(name: str, *, variable: str | None = None) -> FromAttribute:
    """Coordinate values from the attribute ``name`` of each input's root group, or of the array ``variable``."""
    return FromAttribute(name, variable)


def regex(pattern: str | re.Pattern[str], *, dtype: Any = None, datetime_format: str | None = None) -> FromRegex:
    """One coordinate value per input, matched by ``pattern`` in the input's name; see :class:`FromRegex`.

    Raises ReferenceError for a pattern that does not compile or a dtype NumPy does not know.
    """
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ReferenceError(f"invalid coordinate pattern {pattern!r}: {error}") from None
    try:
        numpy_dtype = None if dtype is None else np.dtype(dtype)
    except TypeError as error:
        raise ReferenceError(f"invalid dtype {dtype!r} for the coordinate pattern {pattern!r}: {error}") from None
    return FromRegex(compiled, numpy_dtype, datetime_format)


def coordinate_source(dimension: str, source: CoordSource) -> CoordinateSource:
    """``source`` as one of the ``From*`` objects: ``"data"`` is :class:`FromVariable`, a list or
    array of values is :class:`FromValues`. Raises ReferenceError for anything else."""
    if isinstance(source, FromVariable | FromAttribute | FromRegex | FromValues):
        return source
    if isinstance(source, str):
        if source == "data":
            return FromVariable()
        raise ReferenceError(
            f"unknown coordinate source {source!r} for dimension {dimension!r}: use 'data', variable(...), "
            "attribute(...), regex(...) or a list of values (see coordinate_source_from_text for the text forms)"
        )
    if isinstance(source, np.ndarray | Sequence) and not isinstance(source, bytes):
        return FromValues(tuple(source))
    raise ReferenceError(f"unknown coordinate source {source!r} for dimension {dimension!r}")


def coordinate_source_from_text(text: str) -> CoordinateSource:
    """A coordinate source written as text, as the command line takes it: ``data``,
    ``data:VARIABLE``, ``attr:NAME``, ``attr:VARIABLE:NAME``, ``regex:PATTERN`` (the first group
    becomes an integer, a float or a string) or ``values:V1,V2,...`` (each an integer, a float or a
    string). Raises ReferenceError for other text.
    """
    kind, _, rest = text.partition(":")
    if kind == "data":
        return FromVariable(rest or None)
    if kind == "attr" and rest:
        variable_name, _, name = rest.rpartition(":")
        return FromAttribute(name, variable_name or None)
    if kind == "regex" and rest:
        return regex(rest)
    if kind == "values" and rest:
        return FromValues(tuple(_parse_scalar(item) for item in rest.split(",")))
    raise ReferenceError(
        f"invalid coordinate source {text!r}: use data, data:VARIABLE, attr:NAME, attr:VARIABLE:NAME, "
        "regex:PATTERN or values:V1,V2,..."
    )


def _parse_scalar(text: str) -> int | float | str:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            continue
    return text


async def coordinate_values(
    source: CoordinateSource,
    dimension: str,
    loaded: LoadedInput,
    *,
    input_count: int,
    target_options: Mapping[str, Mapping[str, Any]] | None,
) -> np.ndarray:
    """The values of ``loaded`` along ``dimension`` from ``source``, as a 1-D array.

    Raises ReferenceError naming the input when the variable or attribute is missing, the name
    does not match, or the list of values does not have one entry per input.
    """
    where = f"{loaded.label}: coordinate {dimension!r}"
    if isinstance(source, FromVariable):
        name = source.name or dimension
        info = loaded.structure.arrays.get(name)
        if info is None:
            raise ReferenceError(f"{where}: there is no variable {name!r} to read the coordinate values from")
        if info.metadata.ndim > 1:
            raise ReferenceError(f"{where}: variable {name!r} has {info.metadata.ndim} dimensions; expected 0 or 1")
        value: Any = await read_array_values(loaded, info, target_options=target_options)
    elif isinstance(source, FromAttribute):
        value = _attribute_value(source, loaded, where)
    elif isinstance(source, FromRegex):
        value = _regex_value(source, loaded, where)
    else:
        if len(source.values) != input_count:
            raise ReferenceError(
                f"coordinate {dimension!r}: {len(source.values)} values given for {input_count} inputs; "
                "give one entry per input"
            )
        value = source.values[loaded.source.position]
    try:
        values = np.atleast_1d(np.asarray(value))
    except (TypeError, ValueError) as error:
        raise ReferenceError(f"{where}: the values {value!r} do not form an array ({error})") from None
    if values.ndim != 1:
        raise ReferenceError(f"{where}: expected a value or a list of values, got an array of shape {values.shape}")
    return values


def _attribute_value(source: FromAttribute, loaded: LoadedInput, where: str) -> Any:
    if source.variable is None:
        owner, attributes = "the root group", loaded.structure.root_attributes
    else:
        info = loaded.structure.arrays.get(source.variable)
        if info is None:
            raise ReferenceError(f"{where}: there is no variable {source.variable!r} to read attribute from")
        owner, attributes = f"variable {source.variable!r}", info.metadata.attributes
    if source.name not in attributes:
        raise ReferenceError(f"{where}: {owner} has no attribute {source.name!r}")
    return attributes[source.name]


def _regex_value(source: FromRegex, loaded: LoadedInput, where: str) -> Any:
    if loaded.name is None:
        raise ReferenceError(
            f"{where}: this input has no name for the pattern {source.pattern.pattern!r} to match; pass inputs as "
            "URLs, or as a mapping from names to reference sets"
        )
    match = source.pattern.search(loaded.name)
    if match is None:
        raise ReferenceError(f"{where}: the pattern {source.pattern.pattern!r} does not match the name {loaded.name!r}")
    text = match.group(1) if source.pattern.groups else match.group(0)
    try:
        if source.datetime_format is not None:
            value = np.datetime64(datetime.datetime.strptime(text, source.datetime_format))
            return value if source.dtype is None else value.astype(source.dtype)
        if source.dtype is not None:
            return np.asarray(text).astype(source.dtype)
    except ValueError as error:
        raise ReferenceError(f"{where}: cannot convert {text!r} matched in {loaded.name!r}: {error}") from None
    return _parse_scalar(text)


# -- placing the inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AxisPlacement:
    """Where the inputs land along one concatenated dimension.

    ``values`` is the output coordinate. Per input (indexed by position in the given order):
    ``blocks`` is its block (the inputs with its values) in sorted order, ``offsets`` where its
    first value sits along the output dimension, ``extents`` how many values it has.
    ``block_inputs`` names, per block, the first input in it; ``block_extents`` its size.
    """

    name: str
    is_new: bool
    values: np.ndarray
    blocks: np.ndarray
    offsets: np.ndarray
    extents: np.ndarray
    block_inputs: tuple[int, ...]
    block_extents: tuple[int, ...]

    @property
    def size(self) -> int:
        """The length of the output dimension."""
        return len(self.values)

    def values_of(self, position: int) -> np.ndarray:
        """The values of the input at ``position``."""
        start = int(self.offsets[position])
        return self.values[start : start + int(self.extents[position])]


def _check_values(values: np.ndarray, dimension: str, label: str) -> None:
    if len(values) == 0:
        raise ReferenceError(f"{label}: no values along dimension {dimension!r}; an input must add at least one")
    if (values.dtype.kind in "fc" and np.isnan(values).any()) or (values.dtype.kind in "mM" and np.isnat(values).any()):
        raise ReferenceError(f"{label}: the coordinate {dimension!r} holds NaN or NaT, which cannot be sorted")
    try:
        increasing = bool(np.all(values[1:] > values[:-1]))
    except TypeError as error:
        raise ReferenceError(f"{label}: the values of coordinate {dimension!r} cannot be compared ({error})") from None
    if not increasing:
        raise ReferenceError(
            f"{label}: the values of coordinate {dimension!r} do not increase ({_preview(values)}); "
            "an input's chunks keep their order, so its values must increase"
        )


def _preview(values: np.ndarray) -> str:
    items = values.tolist()
    return str(items) if len(items) <= 4 else f"[{items[0]!r}, {items[1]!r}, ..., {items[-1]!r}]"


def place_along(name: str, *, is_new: bool, values: Sequence[np.ndarray], labels: Sequence[str]) -> AxisPlacement:
    """Sort the inputs along the dimension ``name`` by their ``values`` (one array per input).

    Inputs with equal values share a block; blocks are ordered by their first value (stably).
    Raises ReferenceError naming the inputs when an input's values are empty, contain NaN/NaT or
    do not increase, when a new dimension gets more than one value from an input, or when the
    values of two blocks overlap (a coordinate value that two inputs both hold).
    """
    block_of_key: dict[tuple[Any, ...], int] = {}
    block_values: list[np.ndarray] = []
    first_inputs: list[int] = []
    input_blocks = np.zeros(len(values), dtype=np.int64)
    for position, input_values in enumerate(values):
        label = labels[position]
        if is_new and len(input_values) != 1:
            raise ReferenceError(
                f"{label}: dimension {name!r} is new (no array of the inputs has it), so each input gives it one "
                f"value; got {len(input_values)}"
            )
        _check_values(input_values, name, label)
        key = (input_values.dtype.str, *input_values.tolist())
        block = block_of_key.setdefault(key, len(block_values))
        if block == len(block_values):
            block_values.append(input_values)
            first_inputs.append(position)
        input_blocks[position] = block
    try:
        firsts = np.array([block[0] for block in block_values])
        order = np.argsort(firsts, kind="stable")
    except (TypeError, ValueError) as error:
        raise ReferenceError(f"the values of coordinate {name!r} cannot be sorted ({error})") from None
    rank_of_block = np.empty(len(order), dtype=np.int64)
    rank_of_block[order] = np.arange(len(order))
    sorted_blocks = [block_values[index] for index in order.tolist()]
    for previous, following in zip(order[:-1].tolist(), order[1:].tolist()):
        if not block_values[previous][-1] < block_values[following][0]:
            raise ReferenceError(
                f"coordinate {name!r}: {labels[first_inputs[previous]]} has the values "
                f"{_preview(block_values[previous])} and {labels[first_inputs[following]]} has "
                f"{_preview(block_values[following])}; they overlap, so the output would hold duplicate values"
            )
    extents = [len(block) for block in sorted_blocks]
    starts = np.concatenate([[0], np.cumsum(extents)[:-1]]).astype(np.int64)
    blocks = rank_of_block[input_blocks]
    try:
        output_values = np.concatenate(sorted_blocks)
    except (TypeError, ValueError) as error:
        raise ReferenceError(f"the values of coordinate {name!r} have no common type ({error})") from None
    return AxisPlacement(
        name=name,
        is_new=is_new,
        values=output_values,
        blocks=blocks,
        offsets=starts[blocks],
        extents=np.array([len(input_values) for input_values in values], dtype=np.int64),
        block_inputs=tuple(first_inputs[index] for index in order.tolist()),
        block_extents=tuple(extents),
    )


def check_unique_cells(axes: Sequence[AxisPlacement], labels: Sequence[str]) -> None:
    """Raise ReferenceError naming both inputs when two inputs have the same values along every
    concatenated dimension (they would fill the same place of the output)."""
    first_in_cell: dict[tuple[int, ...], int] = {}
    for position in range(len(labels)):
        cell = tuple(int(axis.blocks[position]) for axis in axes)
        other = first_in_cell.setdefault(cell, position)
        if other != position:
            where = ", ".join(f"{axis.name}={_preview(axis.values_of(position))}" for axis in axes)
            raise ReferenceError(
                f"duplicate coordinates: {labels[other]} and {labels[position]} both have {where}; "
                "each input must hold its own coordinate values"
            )


def processing_order(axes: Sequence[AxisPlacement]) -> list[int]:
    """The input positions sorted by their cells, the first of ``axes`` varying slowest."""
    if not axes:
        return []
    keys = [axis.blocks for axis in reversed(axes)]
    return np.lexsort(keys).tolist()
