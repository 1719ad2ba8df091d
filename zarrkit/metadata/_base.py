"""What the metadata classes of both formats share: encoding their documents, equality, and for
arrays the dtype, the number of dimensions and chunk keys.

The classes themselves are frozen dataclasses; these mixins hold no fields, only behaviour that
reads the fields the dataclasses define.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from ._common import describe_node, dump_json_document
from .fill_value import fill_value_key


class NodeMetadataBase:
    """Behaviour shared by the array and group metadata of both formats."""

    node_kind: ClassVar[str]

    def to_documents(self) -> dict[str, bytes]:
        """The documents of this node (see ``to_json_documents()``), encoded as UTF-8 JSON.

        Raises MetadataError when a value (typically an attribute) cannot be encoded as JSON.
        """
        where = describe_node(self.node_kind, None)
        documents = self.to_json_documents()  # type: ignore[attr-defined]
        return {key: dump_json_document(document, where=where) for key, document in documents.items()}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _fields_equal(self, other)


class ArrayMetadataBase(NodeMetadataBase):
    """Behaviour shared by the array metadata of both formats."""

    node_kind = "array"

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements: in the byte order of the chunks on disk for Zarr v2, in
        native byte order for Zarr v3 (whose ``bytes`` codec holds the byte order)."""
        return self.data_type.dtype  # type: ignore[attr-defined]

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return len(self.shape)  # type: ignore[attr-defined]

    def chunk_key(self, chunk_coords: tuple[int, ...]) -> str:
        """The store key of the chunk at ``chunk_coords``, relative to the array (``"c/1/2"`` with the
        v3 default encoding, ``"1.2"`` in v2)."""
        return self.chunk_key_encoding.encode(chunk_coords)  # type: ignore[attr-defined]


def _fields_equal(first: Any, second: Any) -> bool:
    """Whether two metadata dataclasses of one type hold equal fields, fill values compared by bits.

    NaN never equals NaN, so fill values are compared through their bits; derived fields (those
    with ``compare=False``) are left out.
    """
    for item in fields(first):
        if not item.compare:
            continue
        if item.name == "fill_value":
            first_key = fill_value_key(first.fill_value, first.data_type)
            if first_key != fill_value_key(second.fill_value, second.data_type):
                return False
        elif getattr(first, item.name) != getattr(second, item.name):
            return False
    return True
