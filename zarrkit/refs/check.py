"""Checking a reference set: every target exists, every range lies inside its target, and (on
request) every chunk decodes.

The target check costs one size request per distinct target, not one per reference. The decode
check (run only when the targets are sound) reads each array of the hierarchy in slabs of chunks;
only a slab that fails is read again chunk by chunk, to name every bad chunk.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from zarrkit.core.array import Array
from zarrkit.core.chunk_grid import ceil_div
from zarrkit.core.group import Group, open_node
from zarrkit.errors import CodecError, ReferenceError, ZarrkitError
from zarrkit.refs.load import ReferencesLike, load_refs
from zarrkit.refs.model import Reference, References
from zarrkit.refs.store import ReferenceStore
from zarrkit.refs.targets import TargetStores
from zarrkit.runtime import sync

LOOKUP_BATCH = 10_000
"""Keys looked up per call while walking a reference set."""

DECODE_SLAB_BYTES = 64 * 2**20
"""Decoded bytes read at once by the decode check."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a reference set: the key it concerns, its target URL (None for an
    inline value or a default target), and what is wrong."""

    key: str
    target: str | None
    message: str


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_targets` (and the decode check) found: how many keys, references and
    distinct targets were checked, and the problems, in key order."""

    keys: int
    references: int
    targets: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


async def check_targets(references: References, targets: TargetStores) -> CheckReport:
    """Check that every target of ``references`` exists and holds every range referenced in it.

    Raises ReferenceError only when the set itself cannot be read (a lazy part fails to load);
    problems with targets are reported, not raised.
    """
    keys = await references.list_keys()
    ranges_by_url: dict[str | None, list[tuple[str, Reference]]] = {}
    for start in range(0, len(keys), LOOKUP_BATCH):
        batch = keys[start : start + LOOKUP_BATCH]
        for key, entry in zip(batch, await references.lookup(batch), strict=True):
            if isinstance(entry, Reference):
                ranges_by_url.setdefault(entry.url, []).append((key, entry))
    problem_lists = await asyncio.gather(
        *(_check_target(url, referenced, targets) for url, referenced in ranges_by_url.items())
    )
    problems = sorted(itertools.chain.from_iterable(problem_lists), key=lambda problem: problem.key)
    count = sum(len(referenced) for referenced in ranges_by_url.values())
    return CheckReport(keys=len(keys), references=count, targets=len(ranges_by_url), problems=problems)


async def _check_target(
    url: str | None, referenced: list[tuple[str, Reference]], targets: TargetStores
) -> list[Problem]:
    try:
        store, target_key = targets.resolve(url)
        size = await store.getsize(target_key)
    except ZarrkitError as error:
        return [Problem(key, url, f"cannot read the target: {error}") for key, _ in referenced]
    if size is None:
        return [Problem(key, url, "the target does not exist") for key, _ in referenced]
    return [
        Problem(key, url, f"bytes {ref.offset}-{ref.offset + ref.length} lie past the end of the target ({size} bytes)")
        for key, ref in referenced
        if ref.length is not None and ref.offset + ref.length > size
    ]


def check_decoding(node: Array | Group) -> list[Problem]:
    """Read every chunk of ``node`` (an Array, or every array below a Group, opened on a
    ReferenceStore) and report the chunks that cannot be read or decoded, naming their keys.

    Raises ReferenceError when ``node`` is neither an Array nor a Group.
    """
    if isinstance(node, Array):
        arrays = [node]
    elif isinstance(node, Group):
        arrays = [member for _, member in node.members(max_depth=None) if isinstance(member, Array)]
    else:
        raise ReferenceError(f"check_decoding needs an Array or Group, got {type(node).__name__}")
    problems: list[Problem] = []
    for array in arrays:
        # A key holds a chunk, or a whole shard of a sharded array.
        stored_shape = array.shards or array.chunks
        for slab in _slabs(array.shape, stored_shape, array.dtype.itemsize):
            try:
                array[slab]
            except (CodecError, ReferenceError):
                problems.extend(_problems_in(array, stored_shape, slab))
    return problems


def _slabs(shape: Sequence[int], stored_shape: Sequence[int], itemsize: int) -> Iterator[tuple[slice, ...]]:
    """Selections of whole rows of stored chunks along the first axis, each about DECODE_SLAB_BYTES decoded."""
    if not shape:
        yield ()
        return
    row_bytes = max(1, math.prod(shape[1:]) * stored_shape[0] * itemsize)
    step = max(1, DECODE_SLAB_BYTES // row_bytes) * stored_shape[0]
    for start in range(0, shape[0], step):
        yield (slice(start, min(start + step, shape[0])), *(slice(0, extent) for extent in shape[1:]))


def _problems_in(array: Array, stored_shape: Sequence[int], slab: tuple[slice, ...]) -> list[Problem]:
    """Read ``slab`` of ``array`` one stored chunk at a time and report each that fails."""
    index_ranges = [
        range(part.start // size, ceil_div(part.stop, size)) for part, size in zip(slab, stored_shape, strict=True)
    ]
    problems = []
    for coords in itertools.product(*index_ranges):
        selection = tuple(
            slice(index * size, min((index + 1) * size, extent))
            for index, size, extent in zip(coords, stored_shape, array.shape, strict=True)
        )
        try:
            array[selection]
        except (CodecError, ReferenceError) as error:
            problems.append(Problem(array.storage_key(coords), None, str(error)))
    return problems


def check_refs(
    source: ReferencesLike,
    *,
    storage_options: Mapping[str, Any] | None = None,
    default_target: str | None = None,
    target_options: Mapping[str, Mapping[str, Any]] | None = None,
    decode: bool = False,
) -> CheckReport:
    """Check the reference set ``source`` (anything :func:`~zarrkit.refs.load.load_refs` takes):
    its targets and ranges, and with ``decode`` every chunk of the hierarchy at its root.

    ``storage_options`` are for reading the set; ``default_target`` and ``target_options`` as for
    :class:`~zarrkit.refs.store.ReferenceStore`. Raises ReferenceError when the set cannot be loaded.
    """
    references = load_refs(source, storage_options=storage_options)
    store = ReferenceStore(references, default_target=default_target, target_options=target_options)
    try:
        report = sync(check_targets(references, store.targets))
        if decode and report.ok:
            report = replace(report, problems=check_decoding(open_node(store, "")))
    finally:
        store.close()
    return report
