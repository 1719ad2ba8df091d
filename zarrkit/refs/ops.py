"""Operations on reference sets: merge, move under a prefix, rewrite target URLs, inline small
references, and count what a set refers to.

Each operation returns a new :class:`~zarrkit.refs.model.ReferenceSet` and leaves its input as it
was. They work on a set's own entries; mounted sets are carried over as they are (a mounted set
may not even be loaded), so apply an operation to the parts themselves before mounting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zarrkit.errors import ReferenceError, ZarrkitError
from zarrkit.refs.model import Entry, Reference, References, ReferenceSet, check_mount_prefix
from zarrkit.refs.mount import LazyReferences
from zarrkit.refs.targets import TargetStores
from zarrkit.storage.base import ReadRequest, Store

CONFLICT_RULES = ("error", "first", "last")
"""The values of ``merge(on_conflict=...)``."""


def merge(*sets: ReferenceSet, on_conflict: str = "error") -> ReferenceSet:
    """The union of the entries and mounts of ``sets``.

    A key that several sets hold with equal entries is no conflict. For different entries (or
    different sources mounted at the same prefix), ``on_conflict`` decides: ``"error"`` raises,
    ``"first"`` keeps the entry of the earliest set that has the key, ``"last"`` the latest.
    Two mounts are the same source when they are the same object, or lazy sets of the same URL.

    Raises ReferenceError naming the key (or mount prefix) of a conflict under ``"error"``, for an
    unknown ``on_conflict``, for mounts of different sets that overlap, and for an entry that a
    mount of another set would hide (whatever ``on_conflict`` says: the result could not serve it).
    """
    if on_conflict not in CONFLICT_RULES:
        raise ReferenceError(f"invalid on_conflict {on_conflict!r}: use one of {CONFLICT_RULES}")
    ordered = list(sets) if on_conflict != "last" else list(reversed(sets))
    mounts: dict[str, References] = {}
    for references in ordered:
        for prefix, mounted in references.mounts.items():
            existing_mount = mounts.get(prefix)
            if existing_mount is None:
                mounts[prefix] = mounted
            elif not _same_source(existing_mount, mounted) and on_conflict == "error":
                raise ReferenceError(
                    f"cannot merge: different sources are mounted at {prefix!r} ({existing_mount!r} and {mounted!r})"
                )
    mount_prefixes = tuple(mounts)

    entries: dict[str, Entry] = {}
    for references in ordered:
        own_mount_prefixes = tuple(references.mounts)
        for key, entry in references.items():
            # An entry its own set hides under a mount stays hidden; one it serves must stay served.
            if key.startswith(mount_prefixes) and not key.startswith(own_mount_prefixes):
                prefix = next(prefix for prefix in mount_prefixes if key.startswith(prefix))
                raise ReferenceError(f"cannot merge: key {key!r} would be hidden by the mount at {prefix!r}")
            existing = entries.get(key)
            if existing is None:
                entries[key] = entry
            elif existing != entry and on_conflict == "error":
                raise ReferenceError(
                    f"cannot merge: key {key!r} has different entries ({_describe(existing)} and {_describe(entry)})"
                )
    if on_conflict == "last":
        # Keep the keys in the order of the sets as given, not of the reversed walk.
        entries = {key: entries[key] for references in sets for key in references}
    return ReferenceSet(entries, mounts=mounts)


def _describe(entry: Entry) -> str:
    return repr(entry) if isinstance(entry, Reference) else f"{len(entry)} inline bytes"


def _same_source(first: References, second: References) -> bool:
    if first is second:
        return True
    return isinstance(first, LazyReferences) and isinstance(second, LazyReferences) and first.url == second.url


def prefixed(references: ReferenceSet, prefix: str) -> ReferenceSet:
    """``references`` with every key and mount moved under ``prefix`` (``"group1/"``): key ``a/0``
    becomes ``group1/a/0``.

    Raises ReferenceError for a prefix that is not a relative path ending in ``/``.
    """
    check_mount_prefix(prefix)
    return ReferenceSet(
        ((prefix + key, entry) for key, entry in references.items()),
        mounts={prefix + mount_prefix: mounted for mount_prefix, mounted in references.mounts.items()},
    )


def rewrite_urls(
    references: ReferenceSet, mapping: Mapping[str, str], *, default_target: str | None = None
) -> ReferenceSet:
    """``references`` with target URLs rewritten: a URL that starts with a key of ``mapping`` has
    that part replaced by its value; when several keys match, the longest wins. URLs that match
    no key stay as they are. When ``default_target`` is given, references without a URL (those
    that use the default target) get it as their URL.

    Raises ReferenceError when a key or value of ``mapping`` is not a string.
    """
    for old, new in mapping.items():
        if not isinstance(old, str) or not isinstance(new, str):
            raise ReferenceError(f"invalid URL mapping {old!r} -> {new!r}: both must be strings")
    longest_first = sorted(mapping, key=len, reverse=True)
    # Many references share a few URLs, so each distinct URL is rewritten once.
    rewritten: dict[str, str] = {}

    def rewritten_entry(entry: Entry) -> Entry:
        if not isinstance(entry, Reference):
            return entry
        if entry.url is None:
            return entry if default_target is None else Reference(default_target, entry.offset, entry.length)
        new_url = rewritten.get(entry.url)
        if new_url is None:
            new_url = rewritten[entry.url] = _rewritten_url(entry.url, mapping, longest_first)
        return entry if new_url == entry.url else Reference(new_url, entry.offset, entry.length)

    return ReferenceSet(((key, rewritten_entry(entry)) for key, entry in references.items()), mounts=references.mounts)


def _rewritten_url(url: str, mapping: Mapping[str, str], longest_first: Sequence[str]) -> str:
    for old in longest_first:
        if url.startswith(old):
            return mapping[old] + url[len(old) :]
    return url


async def inline_small(references: ReferenceSet, threshold: int, targets: TargetStores) -> ReferenceSet:
    """``references`` with every reference of at most ``threshold`` bytes replaced by those bytes.

    A ranged reference is inlined when its length is at most ``threshold``; a whole-file reference
    when the file is (its size is asked of the target's store). The bytes are read through
    ``targets`` with one ``get_many`` per target store, the stores read concurrently.

    Raises ReferenceError for a negative ``threshold``, and naming the key and the URL when a
    target is missing, cannot be read, or is shorter than the reference says.
    """
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        raise ReferenceError(f"invalid inline threshold {threshold!r}: use an integer >= 0")
    locations = _TargetLocations(targets)
    sizes = await _whole_file_sizes(references, locations)

    # Per store: the store and the (key, reference) pairs to read from it.
    batches: dict[int, tuple[Store, list[tuple[str, Reference]]]] = {}
    for key, entry in references.items():
        if not isinstance(entry, Reference):
            continue
        size = sizes[entry.url] if entry.length is None else entry.length
        if size <= threshold:
            store, _ = locations.resolve(key, entry.url)
            batches.setdefault(id(store), (store, []))[1].append((key, entry))

    results = await asyncio.gather(*(_read_batch(store, batch, locations, sizes) for store, batch in batches.values()))
    inlined: dict[str, bytes] = {}
    for batch_result in results:
        inlined.update(batch_result)
    return ReferenceSet(((key, inlined.get(key, entry)) for key, entry in references.items()), mounts=references.mounts)


class _TargetLocations:
    """Resolves target URLs through ``targets`` once per URL, naming the key in errors."""

    def __init__(self, targets: TargetStores) -> None:
        self.targets = targets
        self._locations: dict[str | None, tuple[Store, str]] = {}

    def resolve(self, key: str, url: str | None) -> tuple[Store, str]:
        location = self._locations.get(url)
        if location is None:
            try:
                location = self._locations[url] = self.targets.resolve(url)
            except ReferenceError as error:
                raise ReferenceError(f"cannot inline {key!r}: {error}") from error
        return location


def _target_name(url: str | None, targets: TargetStores) -> str:
    if url is None:
        return f"the default target {targets.default_target!r}"
    return f"target {url!r}"


async def _whole_file_sizes(references: ReferenceSet, locations: _TargetLocations) -> dict[str | None, int]:
    """The size of each distinct file that ``references`` refers to as a whole."""
    first_key_of: dict[str | None, str] = {}
    for key, entry in references.items():
        if isinstance(entry, Reference) and entry.length is None:
            first_key_of.setdefault(entry.url, key)

    async def size_of(url: str | None, key: str) -> int:
        store, target_key = locations.resolve(key, url)
        name = _target_name(url, locations.targets)
        try:
            size = await store.getsize(target_key)
        except ZarrkitError as error:
            raise ReferenceError(f"cannot inline {key!r}: cannot get the size of {name}: {error}") from error
        if size is None:
            raise ReferenceError(f"cannot inline {key!r}: {name} does not exist")
        return size

    urls = list(first_key_of)
    sizes = await asyncio.gather(*(size_of(url, first_key_of[url]) for url in urls))
    return dict(zip(urls, sizes, strict=True))


async def _read_batch(
    store: Store, batch: list[tuple[str, Reference]], locations: _TargetLocations, sizes: Mapping[str | None, int]
) -> dict[str, bytes]:
    """The bytes of each key of ``batch``, read from ``store`` in one ``get_many``."""
    requests: list[ReadRequest] = [
        (locations.resolve(key, reference.url)[1], reference.byte_range) for key, reference in batch
    ]
    try:
        values = await store.get_many(requests)
    except ZarrkitError as error:
        key, reference = batch[0]
        raise ReferenceError(
            f"cannot inline {len(batch)} references such as {key!r} "
            f"({_target_name(reference.url, locations.targets)}): {error}"
        ) from error
    inlined: dict[str, bytes] = {}
    for (key, reference), value in zip(batch, values, strict=True):
        name = _target_name(reference.url, locations.targets)
        if value is None:
            raise ReferenceError(f"cannot inline {key!r}: {name} does not exist")
        expected = sizes[reference.url] if reference.length is None else reference.length
        if len(value) != expected:
            raise ReferenceError(
                f"cannot inline {key!r}: {name} gave {len(value)} bytes where the reference needs {expected}"
            )
        inlined[key] = value
    return inlined


@dataclass(frozen=True)
class TargetStats:
    """What a reference set refers to in one target file.

    ``references``: how many references point into the file (whole-file ones included).
    ``bytes``: the sum of the lengths of its ranged references.
    ``whole_files``: how many of the references cover the whole file; their size is not in
    ``bytes``, since knowing it would cost a request.
    """

    references: int
    bytes: int
    whole_files: int


@dataclass(frozen=True)
class ReferenceCounts:
    """What a reference set holds: ``inline`` entries totalling ``inline_bytes`` bytes, and the
    :class:`TargetStats` of each target URL in ``by_target`` (None for the default target)."""

    inline: int
    inline_bytes: int
    by_target: dict[str | None, TargetStats]

    @property
    def references(self) -> int:
        """The number of references over all targets."""
        return sum(stats.references for stats in self.by_target.values())


def count_references(references: ReferenceSet) -> ReferenceCounts:
    """Count the inline entries and the references per target of ``references``'s own entries
    (mounted sets are not loaded, so not counted)."""
    inline = inline_bytes = 0
    # Per URL: [references, bytes, whole files], in first-use order.
    totals: dict[str | None, list[int]] = {}
    for entry in references.values():
        if isinstance(entry, Reference):
            total = totals.get(entry.url)
            if total is None:
                total = totals[entry.url] = [0, 0, 0]
            total[0] += 1
            if entry.length is None:
                total[2] += 1
            else:
                total[1] += entry.length
        else:
            inline += 1
            inline_bytes += len(entry)
    return ReferenceCounts(
        inline=inline,
        inline_bytes=inline_bytes,
        by_target={url: TargetStats(*total) for url, total in totals.items()},
    )
