"""The v3 codec chain: array->array codecs, one array->bytes codec, then bytes->bytes codecs.

:class:`CodecPipeline` is what the chunk engine calls for every chunk of a v3 array, so it keeps the
per-chunk work to the codecs themselves: the chain is classified once, the specs each codec sees are
worked out once when the pipeline is fitted to the array's chunks (:meth:`CodecPipeline.evolve`),
bytes pass between codecs without copies, and decoding returns views where the codecs allow.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from zarrkit.codecs._support import BytesLike, to_bytes
from zarrkit.codecs.base import ArrayArrayCodec, ArrayBytesCodec, BytesBytesCodec, ChunkSpec, Codec
from zarrkit.codecs.bytes import BytesCodec
from zarrkit.codecs.numcodecs_codec import as_codec
from zarrkit.codecs.registry import codec_from_json
from zarrkit.errors import MetadataError
from zarrkit.metadata import describe_node

if TYPE_CHECKING:
    from zarrkit.codecs.sharding import ShardingCodec


def _kind(codec: Codec) -> str:
    if isinstance(codec, ArrayArrayCodec):
        return "array->array"
    if isinstance(codec, ArrayBytesCodec):
        return "array->bytes"
    if isinstance(codec, BytesBytesCodec):
        return "bytes->bytes"
    raise MetadataError(f"codec {codec!r} is neither array->array, array->bytes nor bytes->bytes")


class CodecPipeline:
    """A v3 codec chain that encodes chunks to bytes and decodes them back.

    ``codecs`` may hold zarrkit codecs, numcodecs objects or metadata entries (see
    :func:`~zarrkit.codecs.numcodecs_codec.as_codec`). Raises MetadataError unless they form zero or
    more array->array codecs, exactly one array->bytes codec, then zero or more bytes->bytes codecs.
    """

    def __init__(self, codecs: Iterable[Any]) -> None:
        self._codecs = tuple(as_codec(codec) for codec in codecs)
        kinds = [_kind(codec) for codec in self._codecs]
        if kinds.count("array->bytes") != 1:
            raise MetadataError(
                f"the codecs {self._names()} must include exactly one array->bytes codec (such as 'bytes'), "
                f"found {kinds.count('array->bytes')}"
            )
        serializer_at = kinds.index("array->bytes")
        if any(kind != "array->array" for kind in kinds[:serializer_at]) or any(
            kind != "bytes->bytes" for kind in kinds[serializer_at + 1 :]
        ):
            raise MetadataError(
                f"the codecs {self._names()} are out of order: array->array codecs must come before the "
                "array->bytes codec and bytes->bytes codecs after it"
            )
        self._array_array = cast("tuple[ArrayArrayCodec, ...]", self._codecs[:serializer_at])
        self._array_bytes = cast(ArrayBytesCodec, self._codecs[serializer_at])
        self._bytes_bytes = cast("tuple[BytesBytesCodec, ...]", self._codecs[serializer_at + 1 :])
        # With compressors after it, the bytes codec can hand them the array's memory instead of a copy.
        self._serialize_as_view = isinstance(self._array_bytes, BytesCodec) and bool(self._bytes_bytes)
        self._sharding = self._only_sharding_codec()
        # Set by evolve(): the chunk spec this pipeline is fitted to, and the spec each codec sees.
        self._chunk_spec: ChunkSpec | None = None
        self._codec_specs: tuple[ChunkSpec, ...] = ()

    @classmethod
    def from_json(cls, entries: Any, *, path: str | None = None) -> CodecPipeline:
        """The chain described by the ``codecs`` list of the metadata of the array at ``path``.

        Unknown codecs marked ``"must_understand": false`` are left out. Raises MetadataError naming
        the array when the list is malformed, a codec is unknown or invalid, or the chain is invalid.
        """
        where = describe_node("array", path)
        if not isinstance(entries, (list, tuple)) or not entries:
            raise MetadataError(f"{where}: 'codecs' must be a non-empty list, got {entries!r}")
        parsed = (codec_from_json(entry, path=path) for entry in entries)
        codecs = [codec for codec in parsed if codec is not None]
        try:
            return cls(codecs)
        except MetadataError as error:
            raise MetadataError(f"{where}: {error}") from error

    def _names(self) -> list[str]:
        return [codec.name for codec in self._codecs]

    def _only_sharding_codec(self) -> ShardingCodec | None:
        # sharding.py builds on this module, so the class is imported here rather than at the top.
        from zarrkit.codecs.sharding import ShardingCodec

        if len(self._codecs) == 1 and isinstance(self._array_bytes, ShardingCodec):
            return self._array_bytes
        return None

    @property
    def codecs(self) -> tuple[Codec, ...]:
        """All codecs of the chain, in encoding order."""
        return self._codecs

    @property
    def array_array(self) -> tuple[ArrayArrayCodec, ...]:
        """The array->array codecs, in encoding order."""
        return self._array_array

    @property
    def array_bytes(self) -> ArrayBytesCodec:
        """The one array->bytes codec."""
        return self._array_bytes

    @property
    def bytes_bytes(self) -> tuple[BytesBytesCodec, ...]:
        """The bytes->bytes codecs, in encoding order."""
        return self._bytes_bytes

    @property
    def sharding(self) -> ShardingCodec | None:
        """The sharding codec when it is the chain's only codec (the engine then reads partial shards)."""
        return self._sharding

    def to_json(self) -> list[dict[str, Any]]:
        """The ``codecs`` list of the array metadata."""
        return [codec.to_json() for codec in self._codecs]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodecPipeline) and other._codecs == self._codecs

    def __hash__(self) -> int:
        return hash(self._codecs)

    def __repr__(self) -> str:
        return f"CodecPipeline({list(self._codecs)!r})"

    def evolve(self, spec: ChunkSpec) -> CodecPipeline:
        """This chain fitted to chunks of ``spec``: parameters left to the data type filled in.

        Fills blosc's ``typesize``/``shuffle``, drops ``endian`` for one-byte types, checks that
        ``transpose`` fits the chunk's dimensions, and works out once the spec each codec sees, so
        that encoding and decoding chunks of ``spec`` do not. Returns this pipeline when it is already
        fitted to ``spec``. Raises MetadataError when a codec cannot handle the chunks it would see.
        """
        if self._fitted_to(spec):
            return self
        evolved: list[Codec] = []
        specs = [spec]
        for codec in self._codecs:
            evolve = getattr(codec, "evolve", None)
            evolved.append(codec if evolve is None else evolve(specs[-1]))
            if isinstance(codec, ArrayArrayCodec):
                specs.append(codec.resolve(specs[-1]))
        fitted = CodecPipeline(evolved)
        fitted._chunk_spec = spec
        fitted._codec_specs = tuple(specs)
        return fitted

    def _fitted_to(self, spec: ChunkSpec) -> bool:
        fitted = self._chunk_spec
        if spec is fitted:
            return True
        # The fill value must be the same object: equal values may differ in bits (0.0 and -0.0).
        return (
            fitted is not None
            and spec.fill_value is fitted.fill_value
            and spec.shape == fitted.shape
            and spec.dtype == fitted.dtype
        )

    def _specs(self, spec: ChunkSpec) -> tuple[ChunkSpec, ...]:
        """``spec``, then the spec each array->array codec produces from the one before."""
        if self._fitted_to(spec):
            return self._codec_specs
        specs = [spec]
        for codec in self._array_array:
            specs.append(codec.resolve(specs[-1]))
        return tuple(specs)

    def bytes_spec(self, spec: ChunkSpec) -> ChunkSpec:
        """The spec of the array the array->bytes codec sees, given the spec of a chunk."""
        return self._specs(spec)[-1]

    def encoded_size(self, spec: ChunkSpec) -> int | None:
        """The encoded size of a chunk of ``spec`` when the chain's output has a fixed size, else None."""
        if not isinstance(self._array_bytes, BytesCodec):
            return None
        array_spec = self.bytes_spec(spec)
        size: int | None = int(np.prod(array_spec.shape, dtype=np.int64)) * array_spec.dtype.itemsize
        for codec in self._bytes_bytes:
            size = codec.encoded_size(size)
            if size is None:
                return None
        return size

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """The stored bytes of the chunk ``array`` (of ``spec.shape``).

        Raises CodecError when a codec cannot encode it.
        """
        if self._array_array:
            specs = self._specs(spec)
            for codec, codec_spec in zip(self._array_array, specs):
                array = codec.encode(array, codec_spec)
            spec = specs[-1]
        data: BytesLike
        if self._serialize_as_view:
            data = self._array_bytes.encode_view(array, spec)  # type: ignore[attr-defined]
        else:
            data = self._array_bytes.encode(array, spec)
        for codec in self._bytes_bytes:
            data = codec.encode(data, spec)
        return to_bytes(data)

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """The chunk of ``spec.shape`` and ``spec.dtype`` stored as ``data``.

        The result may be a read-only view of ``data`` or of a decompressed buffer, and need not be
        C-contiguous (``transpose`` returns a transposed view); index it, do not write to it.
        Raises CodecError when ``data`` is corrupt, truncated or of the wrong size.
        """
        if not self._array_array:
            for codec in reversed(self._bytes_bytes):
                data = codec.decode(data, spec)
            return self._array_bytes.decode(data, spec)
        specs = self._specs(spec)
        for codec in reversed(self._bytes_bytes):
            data = codec.decode(data, specs[-1])
        array = self._array_bytes.decode(data, specs[-1])
        for codec, codec_spec in zip(reversed(self._array_array), reversed(specs[:-1])):
            array = codec.decode(array, codec_spec)
        return array
