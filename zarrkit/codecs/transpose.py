"""The ``transpose`` codec (array -> array): permutes the dimensions of a chunk.

Encoding gives ``array.transpose(order)``, so dimension ``i`` of the encoded array is dimension
``order[i]`` of the decoded one. Both directions return views; the next codec copies when it needs
contiguous memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zarrkit.codecs._support import check_configuration
from zarrkit.codecs.base import ArrayArrayCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError


@dataclass(frozen=True)
class TransposeCodec(ArrayArrayCodec):
    """Permute the dimensions of a chunk by ``order``.

    Raises MetadataError when ``order`` is not a permutation of ``0 .. n-1``.
    """

    name = "transpose"

    order: Iterable[int]
    inverse_order: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        order = tuple(self.order)
        integers = all(isinstance(axis, (int, np.integer)) and not isinstance(axis, bool) for axis in order)
        if not integers or sorted(order) != list(range(len(order))):
            raise MetadataError(
                f"codec 'transpose': order must be a permutation of 0..n-1, got {list(order)!r}"
            )
        order = tuple(int(axis) for axis in order)
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "inverse_order", tuple(int(axis) for axis in np.argsort(order)))

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> TransposeCodec:
        """Build the codec from ``{"order": [...]}``."""
        configuration = check_configuration(cls.name, configuration, {"order"})
        order = configuration.get("order")
        if not isinstance(order, (list, tuple)):
            raise MetadataError(
                f"codec 'transpose': configuration field 'order' must be a list of integers, got {order!r}"
            )
        return cls(order)

    def to_json(self) -> dict[str, Any]:
        """``{"name": "transpose", "configuration": {"order": [...]}}``."""
        return {"name": self.name, "configuration": {"order": list(self.order)}}

    def evolve(self, spec: ChunkSpec) -> TransposeCodec:
        """This codec, after checking that ``order`` has one entry per dimension of ``spec``.

        Raises MetadataError otherwise.
        """
        self.resolve(spec)
        return self

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the transposed chunk: the shape permuted by ``order``.

        Raises MetadataError when ``order`` does not have one entry per dimension of ``spec``.
        """
        if len(self.order) != len(spec.shape):
            raise MetadataError(
                f"codec 'transpose': order {list(self.order)} does not match a chunk of "
                f"{len(spec.shape)} dimensions"
            )
        return ChunkSpec(tuple(spec.shape[axis] for axis in self.order), spec.dtype, spec.fill_value)

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """A transposed view of ``array``; CodecError when its dimensions do not match ``order``."""
        self._check_dimensions(array)
        return array.transpose(self.order)

    def decode(self, array: np.ndarray, spec: ChunkSpec) -> np.ndarray:
        """A view of ``array`` with its dimensions put back in the decoded order."""
        self._check_dimensions(array)
        return array.transpose(self.inverse_order)

    def _check_dimensions(self, array: np.ndarray) -> None:
        if array.ndim != len(self.order):
            raise CodecError(
                f"codec 'transpose': order {list(self.order)} does not fit an array of shape {array.shape}"
            )
