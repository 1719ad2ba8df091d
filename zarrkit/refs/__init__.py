"""Reference sets: keys mapped to inline bytes or byte ranges of existing files (the fsspec
reference spec), their JSON and parquet formats, operations on them, and the read-only store that
serves them. Importing this package registers the ``reference://`` protocol."""

from zarrkit.refs.check import CheckReport, Problem, check_refs
from zarrkit.refs.load import load_refs, save_refs
from zarrkit.refs.model import Entry, Reference, References, ReferenceSet
from zarrkit.refs.mount import LazyReferences, split_by_prefix
from zarrkit.refs.ops import (
    ReferenceCounts,
    TargetStats,
    count_references,
    inline_small,
    merge,
    prefixed,
    rewrite_urls,
)
from zarrkit.refs.store import ReferenceStore

__all__ = [
    "CheckReport",
    "Entry",
    "LazyReferences",
    "Problem",
    "Reference",
    "ReferenceCounts",
    "ReferenceSet",
    "ReferenceStore",
    "References",
    "TargetStats",
    "check_refs",
    "count_references",
    "inline_small",
    "load_refs",
    "merge",
    "prefixed",
    "rewrite_urls",
    "save_refs",
    "split_by_prefix",
]
