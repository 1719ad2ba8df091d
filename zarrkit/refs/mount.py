"""Reference sets in parts: sets loaded on first use, and the split of one set into a base and parts.

A reference set of millions of keys is expensive to load whole. Split it with
:func:`split_by_prefix` into a base and one part per prefix, save each part on its own, and mount
the saved parts on the base as :class:`LazyReferences`: a part is then loaded only when a key under
its prefix is first looked up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from zarrkit.errors import ReferenceError
from zarrkit.refs.model import Entry, References, ReferenceSet, check_mount_prefix


class LazyReferences(References):
    """The reference set at ``url``, loaded with ``await load(url)`` on the first lookup or listing.

    The set is loaded once, even when several coroutines ask at the same time, and every later call
    is delegated to it. ``url`` is kept as given, so a writer can save the mount as that URL.

    Raises ReferenceError naming ``url`` when ``load`` fails or returns something that is not
    :class:`References`; the failure is not remembered, so the next call tries to load again.
    """

    def __init__(self, url: str, load: Callable[[str], Awaitable[References]]) -> None:
        self.url = url
        self._load = load
        self._references: References | None = None
        # Created on first use, inside the loop that runs the lookups.
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        state = "loaded" if self._references is not None else "not loaded"
        return f"LazyReferences({self.url!r}, {state})"

    @property
    def loaded(self) -> bool:
        """True once the set has been loaded."""
        return self._references is not None

    async def _loaded_references(self) -> References:
        if self._references is not None:
            return self._references
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._references is None:
                try:
                    references = await self._load(self.url)
                except Exception as error:
                    raise ReferenceError(f"cannot load the reference set at {self.url!r}: {error}") from error
                if not isinstance(references, References):
                    raise ReferenceError(
                        f"loading the reference set at {self.url!r} gave {type(references).__name__}, not References"
                    )
                self._references = references
        return self._references

    async def lookup(self, keys: Sequence[str]) -> list[Entry | None]:
        """The entry of each key in the loaded set, None where it has none.

        Raises ReferenceError naming the URL when the set cannot be loaded.
        """
        return await (await self._loaded_references()).lookup(keys)

    async def list_keys(self, prefix: str = "") -> list[str]:
        """Every key of the loaded set that starts with ``prefix``, sorted. Raises as :meth:`lookup` does."""
        return await (await self._loaded_references()).list_keys(prefix)


def split_by_prefix(references: ReferenceSet, prefixes: Sequence[str]) -> tuple[ReferenceSet, dict[str, ReferenceSet]]:
    """Split ``references`` into a base and one part per prefix (``"part1/"``).

    Each part holds the entries (and mounts) under its prefix, with keys relative to the prefix;
    the base holds everything else. Mounting each part on the base at its prefix gives back a set
    that looks up and lists every key as ``references`` does, so the caller can save the parts
    separately and mount them as :class:`LazyReferences`. ``references`` is not changed.

    Raises ReferenceError for a malformed prefix (see :meth:`ReferenceSet.mount`), for two
    prefixes that overlap, and for a prefix at or inside a mount of ``references`` (the mounted
    set would have to be split, and it may not even be loaded).
    """
    prefixes = list(prefixes)
    for prefix in prefixes:
        check_mount_prefix(prefix)
    # Sorted, a prefix comes right before the first prefix that starts with it.
    ordered = sorted(prefixes)
    for prefix, following in zip(ordered, ordered[1:]):
        if following.startswith(prefix):
            raise ReferenceError(f"cannot split at overlapping prefixes {prefix!r} and {following!r}")
    mount_prefixes = set(references.mounts)
    for prefix in prefixes:
        mount_prefix = _split_prefix_of(prefix, mount_prefixes)
        if mount_prefix is not None:
            raise ReferenceError(f"cannot split at {prefix!r}: it lies in the mount at {mount_prefix!r}")

    split_prefixes = set(prefixes)
    base = ReferenceSet()
    parts = {prefix: ReferenceSet() for prefix in prefixes}
    for key, entry in references.items():
        prefix = _split_prefix_of(key, split_prefixes)
        if prefix is None:
            base[key] = entry
        else:
            parts[prefix][key[len(prefix) :]] = entry
    for mount_prefix, mounted in references.mounts.items():
        prefix = _split_prefix_of(mount_prefix, split_prefixes)
        if prefix is None:
            base.mount(mount_prefix, mounted)
        else:
            parts[prefix].mount(mount_prefix[len(prefix) :], mounted)
    return base, parts


def _split_prefix_of(key: str, prefixes: set[str]) -> str | None:
    # Trying each directory prefix of the key ("a/", "a/b/", ...) costs one set lookup per "/" in
    # the key, however many prefixes there are; the prefixes do not overlap, so one at most matches.
    end = key.find("/")
    while end != -1:
        if key[: end + 1] in prefixes:
            return key[: end + 1]
        end = key.find("/", end + 1)
    return None
