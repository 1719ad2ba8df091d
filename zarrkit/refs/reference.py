"""A reference: a byte range of a target file, named by URL, that a key of a reference set stands for."""

from __future__ import annotations

from dataclasses import dataclass

from zarrkit.errors import ReferenceError
from zarrkit.storage.base import ByteRange


@dataclass(frozen=True, slots=True)
class Reference:
    """Bytes ``offset`` to ``offset + length`` of the file at ``url``; the whole file when ``length``
    is None (then ``offset`` is 0). A ``url`` of None stands for the default target given when the
    reference set is opened.

    Raises ReferenceError for a negative or non-integer offset or length, or an offset without a
    length.
    """

    url: str | None
    offset: int = 0
    length: int | None = None

    def __post_init__(self) -> None:
        # Reference sets hold millions of these: the common valid case is checked in one expression.
        length = self.length
        if type(self.offset) is int and self.offset >= 0 and type(length) is int and length >= 0:
            if self.url is None or type(self.url) is str:
                return
        if self.url is not None and not isinstance(self.url, str):
            raise ReferenceError(f"invalid reference {self!r}: the url must be a string or None")
        if not _is_count(self.offset) or (self.length is not None and not _is_count(self.length)):
            raise ReferenceError(
                f"invalid reference {self!r}: offset and length must be integers >= 0 "
                f"(got offset {self.offset!r}, length {self.length!r})"
            )
        if self.length is None and self.offset != 0:
            raise ReferenceError(f"invalid reference {self!r}: an offset needs a length")

    @property
    def byte_range(self) -> ByteRange | None:
        """The range of the target this reference covers: ``(offset, length)``, or None for the whole file."""
        return None if self.length is None else (self.offset, self.length)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
