"""ReferenceBuilder: the metadata and chunk keys every scanner writes."""

from __future__ import annotations

import json
from pathlib import Path

import numcodecs
import numpy as np
import pytest

import zarrkit
from zarrkit.errors import MetadataError
from zarrkit.refs import Reference
from zarrkit.scan.output import ReferenceBuilder

VALUES = np.arange(24, dtype=">i4").reshape(4, 6)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_big_endian_chunks_in_a_file_read_back(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"head" + VALUES[:2].tobytes() + VALUES[2:].tobytes())
    builder = ReferenceBuilder(zarr_format=zarr_format)
    builder.add_group("", {"title": "test"})
    builder.add_group("g")
    builder.add_array(
        "g/v", shape=VALUES.shape, dtype=">i4", chunks=(2, 6), compressors=None, filters=None,
        dimension_names=("y", "x"), attributes={"units": "m"},
    )
    builder.add_chunk("g/v", (0, 0), Reference(str(path), 4, 48))
    builder.add_chunk("g/v", (1, 0), Reference(str(path), 52, 48))
    group = zarrkit.open_group(builder.references)
    array = group["g/v"]
    np.testing.assert_array_equal(array[...], VALUES)
    assert array.dimension_names == ("y", "x") and array.attrs["units"] == "m"
    assert group.attrs["title"] == "test"
    chunk_keys = {"g/v/0.0", "g/v/1.0"} if zarr_format == 2 else {"g/v/c/0/0", "g/v/c/1/0"}
    assert chunk_keys <= set(builder.references)


def test_v3_big_endian_data_gets_a_big_endian_serializer() -> None:
    builder = ReferenceBuilder(zarr_format=3)
    builder.add_array("v", shape=(4,), dtype=">f8", chunks=(4,), compressors=None)
    codecs = json.loads(builder.references["v/zarr.json"])["codecs"]
    assert codecs[0] == {"name": "bytes", "configuration": {"endian": "big"}}


def test_inline_compressed_chunks_read_back() -> None:
    builder = ReferenceBuilder()
    builder.add_array("v", shape=(6,), dtype="<f4", chunks=(3,), compressors=[numcodecs.Zlib()])
    values = np.arange(6, dtype="<f4")
    builder.add_chunk("v", (0,), numcodecs.Zlib().encode(values[:3].tobytes()))
    builder.add_chunk("v", (1,), numcodecs.Zlib().encode(values[3:].tobytes()))
    np.testing.assert_array_equal(zarrkit.open_array(builder.references, path="v")[...], values)


def test_invalid_descriptions_are_refused() -> None:
    with pytest.raises(MetadataError, match="zarr_format"):
        ReferenceBuilder(zarr_format=4)
    with pytest.raises(MetadataError, match="'/v'"):
        ReferenceBuilder().add_array("v", shape=(4,), dtype="<f4", chunks=(0,))
