"""Parsing codec entries (unknown codecs, ``must_understand``) and validating codec chains."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import numpy as np
import pytest

from zarrkit.codecs import (
    BloscCodec,
    BytesCodec,
    ChunkSpec,
    CodecPipeline,
    Crc32cCodec,
    GzipCodec,
    ShardingCodec,
    TransposeCodec,
    VLenBytesCodec,
    VLenUTF8Codec,
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
        (3, "must be a name or an object with a string 'name', got 3"),
        ({"configuration": {}}, "must be a name or an object with a string 'name'"),
        ({"name": "gzip", "configuration": [1]}, "'configuration' of 'gzip' must be an object"),
        ({"name": "gzip", "configuration": {"level": 1}, "extra": 1}, r"unknown members \['extra'\]"),
        ({"name": "crc32c", "must_understand": "no"}, "'must_understand' of 'crc32c' must be a boolean"),
    ]:
        with pytest.raises(MetadataError, match="array 'a': field 'codecs'.*" + problem):
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
    fitted = pipeline.evolve(SPEC)
    assert fitted == pipeline and fitted.evolve(SPEC) is fitted
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


class CountingTranspose(TransposeCodec):
    """A transpose that counts how often the pipeline asks it for the spec it produces."""

    resolved = 0

    def resolve(self, spec: ChunkSpec) -> ChunkSpec:
        CountingTranspose.resolved += 1
        return super().resolve(spec)


def test_a_fitted_pipeline_works_out_the_codec_specs_once() -> None:
    data = np.arange(12, dtype="<i4").reshape(4, 3)
    fitted = CodecPipeline([CountingTranspose((1, 0)), BytesCodec(), ZstdCodec(1)]).evolve(SPEC)
    CountingTranspose.resolved = 0
    for _ in range(5):
        np.testing.assert_array_equal(fitted.decode(fitted.encode(data, SPEC), SPEC), data)
    # An equal spec built elsewhere (as the engine does for inner chunks) finds them too.
    same = ChunkSpec(SPEC.shape, SPEC.dtype, SPEC.fill_value)
    np.testing.assert_array_equal(fitted.decode(fitted.encode(data, same), same), data)
    assert CountingTranspose.resolved == 0
    # A chunk of another spec still works, resolving its specs on the fly.
    other = ChunkSpec((3, 4), np.dtype("<i4"), 0)
    np.testing.assert_array_equal(fitted.decode(fitted.encode(data.T, other), other), data.T)
    assert CountingTranspose.resolved > 0


ALL_CODECS = [
    BytesCodec("big"),
    TransposeCodec((1, 0)),
    GzipCodec(3),
    ZstdCodec(2, True),
    BloscCodec("lz4", 4, "shuffle", 4),
    Crc32cCodec(),
    VLenUTF8Codec(),
    VLenBytesCodec(),
    ShardingCodec((2, 2), [BytesCodec(), GzipCodec(1)]),
]


@pytest.mark.parametrize("codec", ALL_CODECS, ids=lambda codec: type(codec).__name__)
def test_codecs_are_frozen_values(codec) -> None:
    field = next(iter(vars(codec)), "name")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(codec, field, None)
    copy = type(codec).from_json(codec.to_json().get("configuration", {}))
    assert copy == codec and hash(copy) == hash(codec)
    assert pickle.loads(pickle.dumps(codec)) == codec
    assert len({codec, copy}) == 1


def test_constructors_validate_their_arguments_once() -> None:
    assert ZstdCodec(np.int64(3)).level == 3 and type(ZstdCodec(np.int64(3)).level) is int
    assert TransposeCodec([np.int8(1), 0]).order == (1, 0)
    assert ShardingCodec([2, 2]).chunk_shape == (2, 2)
    for build, message in [
        (lambda: ZstdCodec(True), "'level' must be an integer"),
        (lambda: ZstdCodec(1, "yes"), "'checksum' must be true or false"),
        (lambda: GzipCodec(10), "'level' must be from 0 to 9"),
        (lambda: BloscCodec("brotli"), "'cname' must be one of"),
        (lambda: BloscCodec(shuffle="byte"), "'shuffle' must be one of"),
        (lambda: BloscCodec(typesize=0), "'typesize' must be at least 1"),
        (lambda: BytesCodec("middle"), "'endian' must be one of"),
        (lambda: ShardingCodec("ab"), "field 'chunk_shape' must be a list of positive integers"),
        (lambda: ShardingCodec((2, 0)), "field 'chunk_shape' must be a list of positive integers"),
    ]:
        with pytest.raises(MetadataError, match=message):
            build()


def test_sharding_codecs_compare_by_their_codecs() -> None:
    plain = ShardingCodec((2,), [BytesCodec(), ZstdCodec(1)])
    assert plain == ShardingCodec((2,), CodecPipeline([BytesCodec(), {"id": "zstd", "level": 1}]))
    assert plain != ShardingCodec((2,), [BytesCodec(), ZstdCodec(2)])
    assert plain.codecs == (BytesCodec(), ZstdCodec(1))
    assert plain.index_codecs == (BytesCodec(), Crc32cCodec())
