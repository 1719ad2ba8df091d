"""The LZF codec of HDF5 files: the numcodecs codec ``zarrkit_lzf``, reading and writing what h5py's LZF
filter (HDF5 filter 32000) stores per chunk.

That filter stores a bare LZF stream (liblzf's format, no header) and no decoded length, so the codec's
configuration carries it: ``decoded_size``, the number of bytes the stream decodes to. For a chunk that
LZF is the first filter of, that is the chunk's full byte size (HDF5 stores edge chunks full size):
the product of the chunk shape times the item size.

When LZF does not shrink a chunk, h5py's filter gives up, and HDF5, for which the filter is optional,
stores that chunk unfiltered and sets the filter's bit in the chunk's filter mask. Such a chunk is no
LZF stream; the HDF5 scanner reads the masks and never hands it to this codec.

imagecodecs does the compressing; it is imported only to encode or decode, so registering the codec
(which ``import zarrkit.codecs`` does) works without it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numcodecs.abc import Codec as Numcodec
from numcodecs.compat import ensure_contiguous_ndarray, ndarray_copy

from zarrkit.codecs._support import check_int
from zarrkit.errors import CodecError
from zarrkit.storage.optional import import_optional

LZF_CODEC_ID = "zarrkit_lzf"
"""The numcodecs id of the codec."""


class LzfCodec(Numcodec):
    """The numcodecs codec ``zarrkit_lzf``: a bare LZF stream (as h5py's LZF filter writes it) that
    decodes to ``decoded_size`` bytes.

    Raises MetadataError naming ``decoded_size`` when it is not an integer of at least 0.
    """

    codec_id = LZF_CODEC_ID

    def __init__(self, decoded_size: int) -> None:
        self.decoded_size = check_int(LZF_CODEC_ID, "decoded_size", decoded_size, minimum=0)

    def encode(self, buf: Any) -> bytes:
        """The LZF stream of the ``decoded_size`` bytes of ``buf``, which h5py's LZF filter decodes.

        Incompressible data makes a stream a little longer than the data (h5py would store such a
        chunk unfiltered instead); it still decodes. Raises CodecError when ``buf`` is not
        ``decoded_size`` bytes long, and UnsupportedFeature without imagecodecs.
        """
        data = memoryview(ensure_contiguous_ndarray(buf).view(np.uint8))
        if len(data) != self.decoded_size:
            raise CodecError(
                f"codec {LZF_CODEC_ID!r}: cannot encode {len(data)} bytes with decoded_size {self.decoded_size}: "
                "the stream would not decode to the configured size"
            )
        if not data:
            return b""  # liblzf refuses empty input; an empty stream decodes to nothing
        return bytes(_imagecodecs().lzf_encode(data))

    def decode(self, buf: Any, out: Any = None) -> Any:
        """The ``decoded_size`` bytes the LZF stream ``buf`` holds, copied into ``out`` when given.

        Raises CodecError when the stream is corrupt or decodes to another number of bytes (a
        truncated stream decodes to fewer), and UnsupportedFeature without imagecodecs.
        """
        data = memoryview(ensure_contiguous_ndarray(buf).view(np.uint8))
        if not data:
            decoded = b""
        else:
            imagecodecs = _imagecodecs()
            try:
                decoded = imagecodecs.lzf_decode(data, out=self.decoded_size)
            except imagecodecs.LzfError as error:
                raise CodecError(
                    f"codec {LZF_CODEC_ID!r}: cannot decode the {len(data)}-byte LZF stream to "
                    f"{self.decoded_size} bytes (corrupt chunk, or decoded_size too small?): {error}"
                ) from error
        if len(decoded) != self.decoded_size:
            raise CodecError(
                f"codec {LZF_CODEC_ID!r}: the {len(data)}-byte LZF stream decodes to {len(decoded)} bytes, "
                f"not the configured decoded_size {self.decoded_size} (truncated or corrupt chunk?)"
            )
        return decoded if out is None else ndarray_copy(decoded, out)


def _imagecodecs() -> Any:
    return import_optional("imagecodecs", needed_for=f"codec {LZF_CODEC_ID!r}", extra="hdf5")
