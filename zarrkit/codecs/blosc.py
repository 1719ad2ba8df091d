"""The ``blosc`` codec (bytes -> bytes), through numcodecs' Blosc (which releases the GIL).

``typesize`` and ``shuffle`` may be left to the data type, as zarr-python does: :meth:`BloscCodec.evolve`
fills them in from the chunk's item size (``shuffle`` becomes "bitshuffle" for one-byte items and
"shuffle" otherwise), and the filled-in values are what the metadata records.
"""

from __future__ import annotations

from typing import Any, Literal

from numcodecs.blosc import Blosc

from zarrkit.codecs._support import BytesLike, check_configuration, read_choice, read_int
from zarrkit.codecs.base import BytesBytesCodec, ChunkSpec
from zarrkit.errors import CodecError, MetadataError

Shuffle = Literal["noshuffle", "shuffle", "bitshuffle"]

CNAMES = ("lz4", "lz4hc", "blosclz", "zstd", "snappy", "zlib")
SHUFFLES: tuple[Shuffle, ...] = ("noshuffle", "shuffle", "bitshuffle")
_SHUFFLE_NUMBERS = {"noshuffle": Blosc.NOSHUFFLE, "shuffle": Blosc.SHUFFLE, "bitshuffle": Blosc.BITSHUFFLE}


_HEADER_SIZE = 16


def declares_empty_content(frame: BytesLike) -> bool:
    """True when ``frame`` is a complete blosc frame holding zero bytes.

    numcodecs refuses to decode such frames (which it writes for empty input), so the codec answers
    them itself. The header stores the uncompressed size at bytes 4-8 and the frame size at 12-16.
    """
    view = memoryview(frame).cast("B")
    if len(view) < _HEADER_SIZE:
        return False
    uncompressed = int.from_bytes(view[4:8], "little")
    return uncompressed == 0 and int.from_bytes(view[12:16], "little") == len(view)


def item_size(spec: ChunkSpec) -> int:
    """The item size blosc shuffles over for chunks of ``spec`` (1 for variable-length data)."""
    return 1 if spec.dtype.hasobject else spec.dtype.itemsize


class BloscCodec(BytesBytesCodec):
    """Compress with blosc: ``cname`` at ``clevel`` after ``shuffle`` over ``typesize``-byte items.

    ``typesize=None`` and ``shuffle=None`` mean "from the data type" (see :meth:`evolve`).
    Raises MetadataError for an unknown ``cname`` or ``shuffle``, or a level outside 0..9.
    """

    name = "blosc"

    def __init__(
        self,
        cname: str = "zstd",
        clevel: int = 5,
        shuffle: Shuffle | None = None,
        typesize: int | None = None,
        blocksize: int = 0,
    ) -> None:
        fields: dict[str, Any] = {"cname": cname, "clevel": clevel, "blocksize": blocksize}
        self.cname = read_choice(self.name, fields, "cname", CNAMES)
        self.clevel = read_int(self.name, fields, "clevel", minimum=0, maximum=9)
        self.blocksize = read_int(self.name, fields, "blocksize", minimum=0)
        self.shuffle = None
        if shuffle is not None:
            self.shuffle = read_choice(self.name, {"shuffle": shuffle}, "shuffle", SHUFFLES)
        self.typesize = None
        if typesize is not None:
            self.typesize = read_int(self.name, {"typesize": typesize}, "typesize", minimum=1)
        # One numcodecs object per item size; a fixed typesize needs only one.
        self._blosc_by_size: dict[int, Blosc] = {}

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> BloscCodec:
        """Build the codec from its configuration.

        ``cname``, ``clevel`` and ``shuffle`` are required, ``typesize`` too unless ``shuffle`` is
        "noshuffle"; ``blocksize`` defaults to 0. Raises MetadataError otherwise.
        """
        fields = {"cname", "clevel", "shuffle", "typesize", "blocksize"}
        configuration = check_configuration(cls.name, configuration, fields)
        shuffle = read_choice(cls.name, configuration, "shuffle", SHUFFLES)
        typesize = configuration.get("typesize")
        if typesize is None and shuffle != "noshuffle":
            raise MetadataError(
                f"codec 'blosc': configuration field 'typesize' is required with shuffle {shuffle!r}"
            )
        return cls(
            cname=read_choice(cls.name, configuration, "cname", CNAMES),
            clevel=read_int(cls.name, configuration, "clevel"),
            shuffle=shuffle,  # type: ignore[arg-type]
            typesize=typesize,
            blocksize=read_int(cls.name, configuration, "blocksize", default=0),
        )

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
        if self.typesize is not None and self.shuffle is not None:
            return self
        size = item_size(spec)
        shuffle = self.shuffle or ("bitshuffle" if size == 1 else "shuffle")
        return BloscCodec(self.cname, self.clevel, shuffle, self.typesize or size, self.blocksize)

    def _blosc(self, spec: ChunkSpec) -> Blosc:
        typesize = self.typesize or item_size(spec)
        blosc = self._blosc_by_size.get(typesize)
        if blosc is None:
            shuffle = self.shuffle or ("bitshuffle" if typesize == 1 else "shuffle")
            blosc = Blosc(
                cname=self.cname,
                clevel=self.clevel,
                shuffle=_SHUFFLE_NUMBERS[shuffle],
                blocksize=self.blocksize,
                typesize=typesize,
            )
            self._blosc_by_size[typesize] = blosc
        return blosc

    def encode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """The blosc frame holding ``data``; CodecError when blosc refuses (e.g. an unavailable cname)."""
        try:
            return self._blosc(spec).encode(data)
        except Exception as error:
            raise CodecError(f"codec 'blosc': cannot compress with cname {self.cname!r}: {error}") from error

    def decode(self, data: BytesLike, spec: ChunkSpec) -> bytes:
        """The decompressed bytes; CodecError when ``data`` is not a complete blosc frame."""
        try:
            return self._blosc(spec).decode(data)
        except Exception as error:
            if declares_empty_content(data):
                return b""
            raise CodecError(f"codec 'blosc': corrupt or truncated data: {error}") from error
