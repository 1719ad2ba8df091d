"""What the metadata classes of both formats share: equality, documents, and JSON made once."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import zarrkit.metadata.v2 as v2_module
import zarrkit.metadata.v3 as v3_module
from zarrkit.errors import MetadataError
from zarrkit.metadata import (
    ArrayMetadataV2,
    ArrayMetadataV3,
    GroupMetadataV2,
    GroupMetadataV3,
    data_type_from_user,
    parse_chunk_key_encoding,
    parse_v3_data_type,
)


def v2_array(**fields) -> ArrayMetadataV2:
    return ArrayMetadataV2(shape=[4], chunks=[2], data_type=data_type_from_user("<f4", zarr_format=2), **fields)


def v3_array(**fields) -> ArrayMetadataV3:
    data_type = data_type_from_user("f4", zarr_format=3)
    return ArrayMetadataV3(shape=[4], chunks=[2], data_type=data_type, codecs=["bytes"], **fields)


@pytest.mark.parametrize("make", [v2_array, v3_array], ids=["v2", "v3"])
def test_array_metadata_shares_dtype_ndim_chunk_keys_and_equality(make):
    nan = make(fill_value=np.nan)
    assert nan.dtype == np.dtype("float32") and nan.ndim == 1
    assert nan.chunk_key((3,)) in ("3", "c/3")
    # NaN fill values are equal by bits; derived fields do not take part.
    assert nan == make(fill_value=float("nan"))
    assert nan != make(fill_value=0.0)
    assert replace(nan, fill_value=1.5) == make(fill_value=1.5)
    assert replace(nan, fill_value=1.5).to_json()["fill_value"] == 1.5
    assert nan != GroupMetadataV2() and nan != GroupMetadataV3()
    with pytest.raises(TypeError):
        hash(nan)


@pytest.mark.parametrize(("group_class", "document"), [(GroupMetadataV2, ".zgroup"), (GroupMetadataV3, "zarr.json")])
def test_group_metadata_shares_documents_and_equality(group_class, document):
    group = group_class(attributes={"a": 1})
    assert group == group_class(attributes={"a": 1}) and group != group_class()
    encoded = group.to_documents()
    assert json.loads(encoded[document])["zarr_format"] in (2, 3)
    with pytest.raises(MetadataError, match="group: metadata cannot be encoded as JSON"):
        group_class(attributes={"a": object()}).to_documents()


@pytest.mark.parametrize(
    ("module", "make", "functions"),
    [
        (v2_module, v2_array, ["fill_value_json"]),
        (v3_module, v3_array, ["fill_value_json", "v3_data_type_json"]),
    ],
    ids=["v2", "v3"],
)
def test_json_forms_are_made_once_not_at_every_write(monkeypatch, module, make, functions):
    calls = {name: 0 for name in functions}

    def counting(name):
        original = getattr(module, name)

        def count(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        return count

    for name in functions:
        monkeypatch.setattr(module, name, counting(name))
    metadata = make(fill_value=np.nan)
    for _ in range(3):
        assert metadata.to_json()["fill_value"] == "NaN"
        metadata.to_documents()
    assert calls == {name: 1 for name in functions}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"name": 5}, "must be a name or an object with a string 'name'"),
        ({"name": "x", "configuration": {}, "extra": 1}, r"has unknown members \['extra'\]"),
        ({"name": "x", "configuration": 3}, "'configuration' of 'x' must be an object"),
        ({"name": "x", "must_understand": "no"}, "'must_understand' of 'x' must be a boolean"),
    ],
)
def test_extension_objects_are_checked_alike_everywhere(entry, problem):
    with pytest.raises(MetadataError, match=f"array 'a': field 'data_type'.*{problem}"):
        parse_v3_data_type(entry, path="a")
    with pytest.raises(MetadataError, match=f"array 'a': field 'chunk_key_encoding'.*{problem}"):
        parse_chunk_key_encoding(entry, path="a")
    document = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": [2],
        "data_type": "int8",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default"},
        "fill_value": 0,
        "codecs": [entry],
    }
    with pytest.raises(MetadataError, match=f"array 'a': field 'codecs'.*{problem}"):
        v3_module.parse_array_v3(document, path="a")
