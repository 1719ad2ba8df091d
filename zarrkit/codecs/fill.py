"""Telling whether a chunk holds nothing but the fill value, so that it need not be stored.

Fixed-size types are compared by bit pattern, so a NaN fill value matches NaN elements with the same
bits and ``-0.0`` is not taken for ``0.0``; variable-length (object) elements are compared by value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrkit.errors import MetadataError

# Item sizes that one unsigned integer covers, so the comparison is one scalar per element.
_WORD_SIZES = (1, 2, 4, 8)


class FillMatcher:
    """Answers "does this chunk hold only ``fill_value``?" for chunks of ``dtype``.

    Build one per array (or per shard encode), not per chunk: the fill value's bit pattern is worked
    out once. Raises MetadataError when ``fill_value`` is not one value of ``dtype``.
    """

    def __init__(self, fill_value: Any, dtype: np.dtype) -> None:
        self.fill_value = fill_value
        self.dtype = np.dtype(dtype)
        self._word: np.dtype | None = None
        self._fill_bits: Any = None
        if not self.dtype.hasobject:
            try:
                fill = np.array(fill_value, dtype=self.dtype)
            except (TypeError, ValueError, OverflowError) as error:
                raise MetadataError(f"fill value {fill_value!r} does not fit the data type {dtype}: {error}") from None
            if fill.ndim != 0:
                raise MetadataError(f"fill value {fill_value!r} is not one value of the data type {dtype}")
            fill_bytes = fill.tobytes()
            if self.dtype.itemsize in _WORD_SIZES:
                self._word = np.dtype(f"u{self.dtype.itemsize}")
                self._fill_bits = np.frombuffer(fill_bytes, dtype=self._word)[0]
            else:
                self._fill_bits = np.frombuffer(fill_bytes, dtype=np.uint8)

    def matches(self, chunk: np.ndarray) -> bool:
        """True when every element of ``chunk`` is the fill value (also for an empty chunk).

        A chunk of another dtype is converted to this matcher's dtype first. The first element is
        checked on its own, so chunks holding data are usually refused without scanning them.
        """
        if chunk.dtype != self.dtype:
            chunk = chunk.astype(self.dtype)
        if chunk.size == 0:
            return True
        if self.dtype.hasobject:
            flat = chunk.reshape(-1)
            if flat[0] != self.fill_value:
                return False
            return bool(np.all(flat == self.fill_value))
        contiguous = np.ascontiguousarray(chunk).reshape(-1)
        if self._word is not None:
            words = contiguous.view(self._word)
            return bool(words[0] == self._fill_bits) and not bool((words != self._fill_bits).any())
        rows = contiguous.view(np.uint8).reshape(-1, self.dtype.itemsize)
        if not np.array_equal(rows[0], self._fill_bits):
            return False
        return bool((rows == self._fill_bits).all())
