"""Parsing codec entries (unknown codecs, ``must_understand``) and validating codec chains."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from zarrkit.codecs import (
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    Crc32cCodec,
    GzipCodec,
    TransposeCodec,
    ZstdCodec,
    codec_from_json,
    register_codec,
)
from zarrkit.codecs.base import BytesBytesCodec
from zarrkit.errors import MetadataError

SPEC = ChunkSpec((4, 3), np.dtype("<i4"), 0)


class XorCodec(BytesBytesCodec):
    """A made-up extension codec, to show that registered codecs are found by name."""

    name = "test.xor"

    def __init__(self, key: int) -> None:
        self.key = key

    @classmethod
    def from_json(cls, configuration: dict[str, Any]) -> XorCodec:
        return cls(configuration["key"])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "configuration": {"key": self.key}}

    def encode(self, data: Any, spec: ChunkSpec) -> bytes:
        return bytes(b ^ self.key for b in bytes(data))

    def decode(self, data: Any, spec: ChunkSpec) -> bytes:
        return bytes(b ^ self.key for b in bytes(data))


def test_entries_may_be_short_hand_names() -> None:
    assert codec_from_json("crc32c", path="x") == Crc32cCodec()
    assert codec_from_json({"name": "gzip", "configuration": {"level": 2}}, path="x") == GzipCodec(2)


def test_unknown_codecs_name_the_array_and_the_codec() -> None:
    with pytest.raises(MetadataError, match=r"array 'group/temperature': unknown codec 'lzf'"):
        codec_from_json({"name": "lzf", "configuration": {}}, path="group/temperature")
    with pytest.raises(MetadataError, match="unknown codec 'lzf'"):
        codec_from_json({"name": "lzf", "must_understand": True}, path="a")


def test_must_understand_false_lets_an_unknown_codec_be_ignored() -> None:
    assert codec_from_json({"name": "x-hint", "must_understand": False}, path="a") is None
    hint = {"name": "x-hint", "must_understand": False}
    pipeline = CodecPipeline.from_json(["bytes", hint, "crc32c"], path="a")
    assert pipeline.codecs == (BytesCodec(None), Crc32cCodec())
    # A known codec is used whatever must_understand says.
    assert codec_from_json({"name": "crc32c", "must_understand": False}, path="a") == Crc32cCodec()


def test_an_ignored_codec_cannot_leave_the_chain_without_a_serializer() -> None:
    with pytest.raises(MetadataError, match="array 'a': .*exactly one array->bytes codec"):
        CodecPipeline.from_json([{"name": "x-serializer", "must_understand": False}, "crc32c"], path="a")


def test_malformed_entries() -> None:
    for entry, problem in [
        (3, "must be an object or a name"),
        ({"configuration": {}}, "has no name"),
        ({"name": "gzip", "configuration": [1]}, "configuration must be an object"),
        ({"name": "gzip", "configuration": {"level": 1}, "extra": 1}, "unknown field"),
        ({"name": "crc32c", "must_understand": "no"}, "must_understand"),
    ]:
        with pytest.raises(MetadataError, match=problem):
            codec_from_json(entry, path="a")
    with pytest.raises(MetadataError, match="'codecs' must be a non-empty list"):
        CodecPipeline.from_json([], path="a")


def test_registered_extension_codecs_are_found_by_name() -> None:
    register_codec(XorCodec)
    pipeline = CodecPipeline.from_json(["bytes", {"name": "test.xor", "configuration": {"key": 7}}], path="a")
    spec = ChunkSpec((2,), np.dtype("u1"), 0)
    assert pipeline.encode(np.array([1, 2], dtype="u1"), spec) == bytes([1 ^ 7, 2 ^ 7])
    assert pipeline.decode(bytes([1 ^ 7, 2 ^ 7]), spec).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("codecs", "problem"),
    [
        ([GzipCodec(1)], "exactly one array->bytes codec"),
        (["bytes", "bytes"], "exactly one array->bytes codec"),
        ([GzipCodec(1), "bytes"], "out of order"),
        (["bytes", TransposeCodec((1, 0))], "out of order"),
    ],
)
def test_chain_order_is_checked(codecs: list, problem: str) -> None:
    with pytest.raises(MetadataError, match=problem):
        CodecPipeline(codecs)


def test_chain_parts_json_and_equality() -> None:
    pipeline = CodecPipeline([TransposeCodec((1, 0)), BytesCodec("little"), ZstdCodec(1), Crc32cCodec()])
    assert pipeline.array_array == (TransposeCodec((1, 0)),)
    assert pipeline.array_bytes == BytesCodec("little")
    assert pipeline.bytes_bytes == (ZstdCodec(1), Crc32cCodec())
    assert pipeline.sharding is None
    assert CodecPipeline.from_json(pipeline.to_json()) == pipeline


def test_evolve_fills_what_the_data_type_decides() -> None:
    pipeline = CodecPipeline([BytesCodec("little"), "crc32c"])
    single_byte = ChunkSpec((4,), np.dtype("u1"), 0)
    assert pipeline.evolve(single_byte).to_json() == [{"name": "bytes"}, {"name": "crc32c"}]
    assert pipeline.evolve(SPEC) is pipeline
    with pytest.raises(MetadataError, match="'endian' is required"):
        CodecPipeline(["bytes"]).evolve(SPEC)


def test_encoded_size_is_known_only_for_fixed_size_chains() -> None:
    assert CodecPipeline(["bytes", "crc32c", "crc32c"]).encoded_size(SPEC) == 4 * 3 * 4 + 8
    assert CodecPipeline([BytesCodec(), ZstdCodec(0)]).encoded_size(SPEC) is None


def test_decode_of_a_transposed_chain_returns_the_logical_array() -> None:
    data = np.arange(12, dtype="<i4").reshape(4, 3)
    pipeline = CodecPipeline([TransposeCodec((1, 0)), BytesCodec(), GzipCodec(1)])
    decoded = pipeline.decode(pipeline.encode(data, SPEC), SPEC)
    assert decoded.shape == (4, 3)
    np.testing.assert_array_equal(decoded, data)


def test_pipelines_survive_pickling() -> None:
    pipeline = CodecPipeline(
        [
            {"name": "numcodecs.delta", "configuration": {"dtype": "<i4"}},
            BytesCodec(),
            ZstdCodec(1),
            {"name": "numcodecs.adler32", "configuration": {}},
        ]
    )
    copy = pickle.loads(pickle.dumps(pipeline))
    assert copy == pipeline
    data = np.arange(12, dtype="<i4").reshape(4, 3)
    np.testing.assert_array_equal(copy.decode(pipeline.encode(data, SPEC), SPEC), data)
