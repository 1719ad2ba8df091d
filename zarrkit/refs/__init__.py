"""Reference sets: keys mapped to inline bytes or byte ranges of existing files (the fsspec
reference spec), their JSON and parquet formats, and the read-only store that serves them."""

from zarrkit.refs.model import Entry, Reference, References, ReferenceSet

__all__ = ["Entry", "Reference", "ReferenceSet", "References"]
