"""The ``transpose`` codec: permuted shapes, round trips, and agreement with zarr-python."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from zarrkit.codecs import BytesCodec, ChunkSpec, CodecPipeline, TransposeCodec
from zarrkit.errors import MetadataError


@settings(max_examples=40, deadline=None)
@given(
    data=hnp.arrays(np.int16, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4)),
    seed=st.integers(0, 1000),
)
def test_round_trip_through_bytes(data: np.ndarray, seed: int) -> None:
    order = tuple(np.random.default_rng(seed).permutation(data.ndim).tolist())
    pipeline = CodecPipeline([TransposeCodec(order), BytesCodec("little")])
    spec = ChunkSpec(data.shape, data.dtype, 0)
    encoded = pipeline.encode(data, spec)
    assert encoded == np.ascontiguousarray(data.transpose(order)).astype("<i2").tobytes()
    np.testing.assert_array_equal(pipeline.decode(encoded, spec), data)


def test_resolve_permutes_the_shape() -> None:
    spec = ChunkSpec((2, 3, 4), np.dtype("f4"), 0.0)
    assert TransposeCodec((2, 0, 1)).resolve(spec) == ChunkSpec((4, 2, 3), np.dtype("f4"), 0.0)


def test_json_and_validation() -> None:
    assert TransposeCodec((1, 0)).to_json() == {"name": "transpose", "configuration": {"order": [1, 0]}}
    assert TransposeCodec.from_json({"order": [0, 2, 1]}) == TransposeCodec((0, 2, 1))
    for bad in ([0, 0], [1, 2], "F", [0.0, 1.0]):
        with pytest.raises(MetadataError, match="transpose"):
            TransposeCodec.from_json({"order": bad})
    with pytest.raises(MetadataError, match="2 dimensions"):
        TransposeCodec((0, 2, 1)).evolve(ChunkSpec((3, 3), np.dtype("f4"), 0.0))


def test_matches_zarr_python(write_with_zarr) -> None:
    data = np.arange(4 * 6 * 2, dtype="<f4").reshape(4, 6, 2)
    written = write_with_zarr(
        data,
        chunks=(2, 3, 2),
        filters=[zarr.codecs.TransposeCodec(order=(2, 0, 1))],
        compressors=[zarr.codecs.ZstdCodec(level=1)],
    )
    pipeline = CodecPipeline.from_json(written.metadata["codecs"])
    assert pipeline.to_json() == written.metadata["codecs"]
    spec = written.spec()
    assert pipeline.encode(data[2:, 3:], spec) == written.chunk("c/1/1/0")
    np.testing.assert_array_equal(pipeline.decode(written.chunk("c/0/1/0"), spec), data[:2, 3:])


def test_resolve_refuses_an_order_of_other_dimensions() -> None:
    with pytest.raises(MetadataError, match="order \\[1, 0\\] does not match a chunk of 3 dimensions"):
        TransposeCodec((1, 0)).resolve(ChunkSpec((2, 3, 4), np.dtype("f4"), 0.0))
