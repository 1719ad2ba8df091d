"""The Zarr v2 chunk encoding: numcodecs filters, then a numcodecs compressor, in C or F order.

Encoding lays the chunk out in the array's ``order``, runs the filters in order and then the
compressor; decoding runs them backwards and views the result as the logical chunk. Any numcodecs id
works, through ``numcodecs.get_codec``. Object arrays need an object codec to turn their elements
into bytes: array metadata names one of :data:`~zarrkit.metadata.dtypes.OBJECT_CODECS` (``vlen-utf8``
or ``vlen-bytes``) among its filters, and refuses the other numcodecs object codecs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
from numcodecs.abc import Codec as Numcodec

from zarrkit.codecs._support import BytesLike, byte_length, get_numcodec, to_bytes
from zarrkit.codecs.base import ChunkSpec
from zarrkit.errors import CodecError, MetadataError
from zarrkit.metadata import describe_node


def _build(config: Mapping[str, Any] | Numcodec, where: str) -> Numcodec:
    if isinstance(config, Numcodec):
        return config
    if not isinstance(config, Mapping) or not isinstance(config.get("id"), str):
        raise MetadataError(f"{where} must be an object with an 'id', got {config!r}")
    try:
        return get_numcodec(config)
    except Exception as error:
        raise MetadataError(
            f"{where}: numcodecs cannot build codec {config['id']!r} from {dict(config)!r}: {error}"
        ) from error


class V2Pipeline:
    """The v2 encoding of the chunks of one array: ``filters``, ``compressor`` and ``order``.

    ``filters`` and ``compressor`` are numcodecs configs (``{"id": ...}``) or numcodecs objects.
    Raises MetadataError naming the array at ``path`` for an unknown codec or an invalid order.
    """

    sharding = None
    """Always None: v2 has no sharding."""

    def __init__(
        self,
        filters: Iterable[Mapping[str, Any] | Numcodec] | None,
        compressor: Mapping[str, Any] | Numcodec | None,
        order: Literal["C", "F"] = "C",
        *,
        path: str | None = None,
    ) -> None:
        where = describe_node("array", path)
        if order not in ("C", "F"):
            raise MetadataError(f"{where}: field 'order' must be 'C' or 'F', got {order!r}")
        self.order = order
        self.filters = tuple(_build(config, f"{where}: field 'filters'") for config in filters or ())
        self.compressor: Numcodec | None = None
        if compressor is not None:
            self.compressor = _build(compressor, f"{where}: field 'compressor'")
        codecs = (*self.filters, *([self.compressor] if self.compressor else []))
        self._names = [codec.codec_id for codec in codecs]

    def __repr__(self) -> str:
        filters = list(self.filters)
        return f"V2Pipeline(filters={filters!r}, compressor={self.compressor!r}, order={self.order!r})"

    def encode(self, array: np.ndarray, spec: ChunkSpec) -> bytes:
        """The stored bytes of the chunk ``array`` (of ``spec.shape``, in logical order).

        Raises CodecError when a codec fails, or for an object array without an object codec.
        """
        if array.shape != spec.shape:
            raise CodecError(f"expected a chunk of shape {spec.shape}, got {array.shape}")
        if array.dtype != spec.dtype:
            array = array.astype(spec.dtype)
        # The codecs get an array, not bytes, so blosc shuffles over its item size as zarr-python's do.
        data: Any = array.reshape(-1, order=self.order)
        for codec in self.filters:
            data = self._run(codec, "encode", data)
        if self.compressor is not None:
            data = self._run(self.compressor, "encode", data)
        if isinstance(data, np.ndarray) and data.dtype.hasobject:
            raise CodecError(
                f"cannot store an object array without an object codec among {self._codec_list()}"
            )
        return to_bytes(data)

    def decode(self, data: BytesLike, spec: ChunkSpec) -> np.ndarray:
        """The logical chunk of ``spec.shape`` and ``spec.dtype`` stored as ``data``.

        The result may be a read-only view, and is Fortran-contiguous for ``order`` "F".
        Raises CodecError when ``data`` is corrupt, truncated or of the wrong size.
        """
        decoded: Any = data
        if self.compressor is not None:
            decoded = self._run(self.compressor, "decode", decoded)
        for codec in reversed(self.filters):
            decoded = self._run(codec, "decode", decoded)
        count = math.prod(spec.shape)
        if spec.dtype.hasobject:
            if not isinstance(decoded, np.ndarray) or not decoded.dtype.hasobject:
                raise CodecError(
                    f"cannot read an object array without an object codec among {self._codec_list()}"
                )
            if decoded.size != count:
                raise CodecError(
                    f"chunk of shape {spec.shape} needs {count} elements, decoded {decoded.size}"
                )
            return decoded.reshape(-1).reshape(spec.shape, order=self.order)
        expected = count * spec.dtype.itemsize
        size = byte_length(decoded)
        if size != expected:
            raise CodecError(
                f"chunk of shape {spec.shape} and type {spec.dtype} needs {expected} bytes, decoded {size}"
            )
        if isinstance(decoded, np.ndarray):
            decoded = np.ascontiguousarray(decoded)
        return np.frombuffer(decoded, dtype=spec.dtype).reshape(spec.shape, order=self.order)

    def _codec_list(self) -> str:
        return ", ".join(repr(name) for name in self._names) or "no codecs"

    @staticmethod
    def _run(codec: Numcodec, action: str, data: Any) -> Any:
        try:
            return getattr(codec, action)(data)
        except Exception as error:
            problem = "corrupt or truncated data" if action == "decode" else "cannot encode"
            raise CodecError(f"codec {codec.codec_id!r}: {problem}: {error}") from error
