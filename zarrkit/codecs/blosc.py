"""The ``blosc`` codec (bytes -> bytes), through numcodecs' Blosc.

``typesize`` and ``shuffle`` may be left to the data type, as zarr-python does: :meth:`BloscCodec.evolve`
fills them in from the chunk's item size (``shuffle`` becomes "bitshuffle" for one-byte items and
"shuffle" otherwise), and the filled-in values are what the metadata records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from numcodecs.abc import Codec as Numcodec
from numcodecs.blosc import Blosc

from zarrkit.codecs._support import BytesLike, check_choice, check_configuration, check_int, required
from zarrkit.codecs.base import ChunkSpec
from zarrkit.codecs.wrapped import NumcodecsBackedCodec
from zarrkit.errors import MetadataError

Shuffle = Literal["noshuffle", "shuffle", "bitshuffle"]

CNAMES = ("lz4", "lz4hc", "blosclz", "zstd", "snappy", "zlib")
SHUFFLES: tuple[Shuffle, ...] = ("noshuffle", "shuffle", "bitshuffle")
_SHUFFLE_NUMBERS = {"noshuffle": Blosc.NOSHUFFLE, "shuffle": Blosc.SHUFFLE, "bitshuffle": Blosc.BITSHUFFLE}

_HEADER_SIZE = 16


def declares_empty_content(frame: BytesLike) -> bool:
    """True when ``frame`` is a complete blosc frame holding zero bytes.

    The header stores the uncompressed size at bytes 4-8 and the frame size at 12-16.
    """
    view = memoryview(frame).cast("B")
    if len(view) < _HEADER_SIZE:
        return False
    uncompressed = int.from_bytes(view[4:8], "little")
    return uncompressed == 0 and int.from_bytes(view[12:16], "little") == len(view)


def item_size(spec: ChunkSpec) -> int:
    """The item size blosc shuffles over for chunks of ``spec`` (1 for variable-length data)."""
    return 1 if spec.dtype.hasobject else spec.dtype.itemsize


@dataclass(frozen=True)
class BloscCodec(NumcodecsBackedCodec):
    """Compress with blosc: ``cname`` at ``clevel`` after ``shuffle`` over ``typesize``-byte items.

    ``typesize=None`` and ``shuffle=None`` mean "from the data type" (see :meth:`evolve`); such a
    codec still works, but builds its numcodecs object for every chunk, so pipelines evolve it first.
    Raises MetadataError for an unknown ``cname`` or ``shuffle``, or a level outside 0..9.
    """

    name = "blosc"

    cname: str = "zstd"
    clevel: int = 5
    shuffle: Shuffle | None = None
    typesize: int | None = None
    blocksize: int = 0
    _numcodec: Numcodec | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_choice(self.name, "cname", self.cname, CNAMES)
        object.__setattr__(self, "clevel", check_int(self.name, "clevel", self.clevel, minimum=0, maximum=9))
        object.__setattr__(self, "blocksize", check_int(self.name, "blocksize", self.blocksize, minimum=0))
        if self.shuffle is not None:
            check_choice(self.name, "shuffle", self.shuffle, SHUFFLES)
        if self.typesize is not None:
            object.__setattr__(self, "typesize", check_int(self.name, "typesize", self.typesize, minimum=1))
        numcodec = None
        if self.shuffle is not None and self.typesize is not None:
            numcodec = Blosc(
                cname=self.cname,
                clevel=self.clevel,
                shuffle=_SHUFFLE_NUMBERS[self.shuffle],
                blocksize=self.blocksize,
                typesize=self.typesize,
            )
        object.__setattr__(self, "_numcodec", numcodec)

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> BloscCodec:
        """Build the codec from its configuration.

        ``cname``, ``clevel`` and ``shuffle`` are required, ``typesize`` too unless ``shuffle`` is
        "noshuffle"; ``blocksize`` defaults to 0. Raises MetadataError otherwise.
        """
        fields = {"cname", "clevel", "shuffle", "typesize", "blocksize"}
        configuration = check_configuration(cls.name, configuration, fields)
        shuffle = required(cls.name, configuration, "shuffle")
        codec = cls(
            cname=required(cls.name, configuration, "cname"),
            clevel=required(cls.name, configuration, "clevel"),
            shuffle=check_choice(cls.name, "shuffle", shuffle, SHUFFLES),  # type: ignore[arg-type]
            typesize=configuration.get("typesize"),
            blocksize=configuration.get("blocksize", 0),
        )
        if codec.typesize is None and codec.shuffle != "noshuffle":
            raise MetadataError(
                f"codec 'blosc': configuration field 'typesize' is required with shuffle {codec.shuffle!r}"
            )
        return codec

    def to_json(self) -> dict[str, Any]:
        """The metadata entry, as zarr-python writes it; ``typesize`` and ``shuffle`` only once known."""
        configuration: dict[str, Any] = {}
        if self.typesize is not None:
            configuration["typesize"] = self.typesize
        configuration["cname"] = self.cname
        configuration["clevel"] = self.clevel
        if self.shuffle is not None:
            configuration["shuffle"] = self.shuffle
        configuration["blocksize"] = self.blocksize
        return {"name": self.name, "configuration": configuration}

    def evolve(self, spec: ChunkSpec) -> BloscCodec:
        """This codec with ``typesize`` and ``shuffle`` filled in from the item size of ``spec``."""
        if self._numcodec is not None:
            return self
        size = item_size(spec)
        shuffle = self.shuffle or ("bitshuffle" if size == 1 else "shuffle")
        return BloscCodec(self.cname, self.clevel, shuffle, self.typesize or size, self.blocksize)

    def numcodec_for(self, spec: ChunkSpec) -> Numcodec:
        """The numcodecs Blosc for chunks of ``spec``: this codec's own once ``typesize`` and
        ``shuffle`` are known, else one built for the chunk's item size."""
        if self._numcodec is not None:
            return self._numcodec
        return self.evolve(spec).numcodec_for(spec)

    def is_empty_frame(self, data: BytesLike) -> bool:
        """True for the frame numcodecs writes for empty input (it holds zero bytes)."""
        return declares_empty_content(data)
