"""The fsspec reference spec v0/v1 (values, templates, gen, mounts) and writing it back."""

from __future__ import annotations

import json

import pytest

from zarrkit.errors import ReferenceError
from zarrkit.refs import Reference, ReferenceSet
from zarrkit.refs.spec import parse_references, to_spec
from zarrkit.runtime import sync

# The example of kerchunk's docs/source/spec.rst and the version 0 set it stands for.
SPEC_EXAMPLE = {
    "version": 1,
    "templates": {"u": "server.domain/path", "f": "{{c}}"},
    "gen": [
        {
            "key": "gen_key{{i}}",
            "url": "http://{{u}}_{{i}}",
            "offset": "{{(i + 1) * 1000}}",
            "length": "1000",
            "dimensions": {"i": {"stop": 5}},
        }
    ],
    "refs": {
        "key0": "data",
        "key1": ["http://target_url", 10000, 100],
        "key2": ["http://{{u}}", 10000, 100],
        "key3": ["http://{{f(c='text')}}", 10000, 100],
    },
}
SPEC_EXAMPLE_EXPANDED = {
    "key0": b"data",
    "key1": Reference("http://target_url", 10000, 100),
    "key2": Reference("http://server.domain/path", 10000, 100),
    "key3": Reference("http://text", 10000, 100),
    **{f"gen_key{i}": Reference(f"http://server.domain/path_{i}", (i + 1) * 1000, 1000) for i in range(5)},
}


class FileBackedReferences(ReferenceSet):
    """A reference set that says which file it was loaded from, as lazily loaded mounts do."""

    def __init__(self, url: str, entries: dict) -> None:
        super().__init__(entries)
        self.url = url


def gen_set(gen_item: dict, templates: dict | None = None) -> dict:
    return {"version": 1, "templates": templates or {}, "gen": [gen_item], "refs": {}}


# -- version 0 values -------------------------------------------------------------------------------


def test_version_0_values_become_entries() -> None:
    references = parse_references(
        {
            ".zgroup": '{"zarr_format": 2}',
            "x/.zarray": {"chunks": [3], "compressor": None, "dtype": "<f8"},
            "x/.zattrs": {"note": "d\u00e9j\u00e0"},
            "x/0": ["s3://bucket/file.nc", 294094376, 73825960],
            "x/1": ["s3://bucket/whole.bin"],
            "x/2": [None, 10, 20],
            "x/3": [None],
            "bin": "base64:AAEC/w==",
            "numbers": 5,
            "caf\u00e9/\u00e9t\u00e9": "\u00fcnicode text",
            "tuple": ("s3://bucket/file.nc", 1, 2),
            "raw": b"\x00\xff",
        }
    )
    assert references[".zgroup"] == b'{"zarr_format": 2}'
    # JSON objects stand for their compact JSON text.
    assert references["x/.zarray"] == b'{"chunks":[3],"compressor":null,"dtype":"<f8"}'
    assert json.loads(references["x/.zattrs"]) == {"note": "d\u00e9j\u00e0"}
    assert references["x/0"] == Reference("s3://bucket/file.nc", 294094376, 73825960)
    assert references["x/1"] == Reference("s3://bucket/whole.bin")
    assert references["x/2"] == Reference(None, 10, 20)
    assert references["x/3"] == Reference(None)
    assert references["bin"] == b"\x00\x01\x02\xff"
    assert references["numbers"] == b"5"
    assert references["caf\u00e9/\u00e9t\u00e9"] == "\u00fcnicode text".encode()
    assert references["tuple"] == Reference("s3://bucket/file.nc", 1, 2)
    assert references["raw"] == b"\x00\xff"


def test_version_0_urls_are_not_templates() -> None:
    references = parse_references({"a": ["http://host/{{u}}", 0, 1]})
    assert references["a"].url == "http://host/{{u}}"


def test_integer_strings_are_accepted_as_offsets_and_lengths() -> None:
    references = parse_references({"a": ["f.bin", "12", "34"]})
    assert references["a"] == Reference("f.bin", 12, 34)


def test_equal_urls_are_one_string_object() -> None:
    # json.loads makes a new string for every occurrence; the set keeps one.
    spec = json.loads(json.dumps({f"k{i}": ["s3://bucket/one/long/url.nc", i, 1] for i in range(50)}))
    references = parse_references(spec)
    assert len({id(references[f"k{i}"].url) for i in range(50)}) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("base64:not base64!", "invalid base64 value of key 'bad'"),
        (["f.bin", -1, 10], "the offset of key 'bad'"),
        (["f.bin", 0, -10], "the length of key 'bad'"),
        (["f.bin", 1.5, 10], "the offset of key 'bad'"),
        (["f.bin", True, 10], "the offset of key 'bad'"),
        (["f.bin", 0, "ten"], "the length of key 'bad'"),
        (["f.bin", 0], "expected [url] or [url, offset, length]"),
        (["f.bin", 0, 1, 2], "expected [url] or [url, offset, length]"),
        ([], "expected [url] or [url, offset, length]"),
        ([5, 0, 1], "the url 5 is not a string"),
        ("\udc80", "the text value of key 'bad'"),
    ],
)
def test_bad_values_are_refused_naming_the_key(value: object, message: str) -> None:
    with pytest.raises(ReferenceError, match="'bad'") as raised:
        parse_references({"bad": value}, where="refs.json")
    assert message in str(raised.value)
    assert "refs.json" in str(raised.value)


# -- versions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 0, "1", True, None])
def test_unknown_versions_are_refused(version: object) -> None:
    with pytest.raises(ReferenceError, match=f"unsupported reference spec version {version!r}"):
        parse_references({"version": version, "refs": {}})


def test_unknown_top_level_fields_of_version_1_are_refused() -> None:
    with pytest.raises(ReferenceError, match="unknown top-level field 'extra'"):
        parse_references({"version": 1, "refs": {}, "extra": "x"})


def test_refs_without_version_is_version_1() -> None:
    references = parse_references({"templates": {"u": "s3://b/f.nc"}, "refs": {"a": ["{{u}}", 0, 4]}})
    assert dict(references) == {"a": Reference("s3://b/f.nc", 0, 4)}


def test_a_version_0_key_named_refs_is_inline_json() -> None:
    references = parse_references({"refs": {"a": 1}, ".zgroup": '{"zarr_format":2}'})
    assert references["refs"] == b'{"a":1}'
    assert references[".zgroup"] == b'{"zarr_format":2}'


def test_refs_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ReferenceError, match="'refs' in <dict> must be a JSON object"):
        parse_references({"version": 1, "refs": [1, 2]})


# -- templates and gen ------------------------------------------------------------------------------


def test_the_spec_example_expands_as_the_spec_says() -> None:
    references = parse_references(SPEC_EXAMPLE)
    assert dict(references) == SPEC_EXAMPLE_EXPANDED


def test_gen_is_a_cartesian_product_with_the_first_dimension_slowest() -> None:
    references = parse_references(
        gen_set(
            {
                "key": "v/{{t}}.{{y}}",
                "url": "{{root}}/{{t}}.bin",
                "offset": "{{y * 100}}",
                "length": 100,
                "dimensions": {"t": [3, 1], "y": {"start": 10, "stop": 4, "step": -3}},
            },
            templates={"root": "s3://bucket/data"},
        )
    )
    assert list(references) == ["v/3.10", "v/3.7", "v/1.10", "v/1.7"]
    assert references["v/1.7"] == Reference("s3://bucket/data/1.bin", 700, 100)


def test_gen_without_offset_and_length_makes_whole_file_references() -> None:
    references = parse_references(gen_set({"key": "k{{i}}", "url": "f{{i}}.bin", "dimensions": {"i": ["a", "b"]}}))
    assert dict(references) == {"ka": Reference("fa.bin"), "kb": Reference("fb.bin")}


def test_gen_overrides_refs_of_the_same_key() -> None:
    spec = gen_set({"key": "a", "url": "new.bin", "dimensions": {"i": [0]}})
    spec["refs"] = {"a": ["old.bin"]}
    assert parse_references(spec)["a"] == Reference("new.bin")


def test_gen_urls_share_string_objects() -> None:
    references = parse_references(
        gen_set(
            {"key": "k{{i}}", "url": "{{u}}", "offset": "{{i}}", "length": "1", "dimensions": {"i": {"stop": 3}}},
            templates={"u": "s3://bucket/file"},
        )
    )
    assert references["k0"].url is references["k2"].url


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{{ 17 // 5 }}", "3"),
        ("{{ 17 % 5 }}", "2"),
        ("{{ 18 / 6 }}", "3"),
        ("{{ -(2 - 7) }}", "5"),
        ("{{ 'a' + \"b\" }}", "ab"),
        ("{{(i + 1) * 1000}}", "4000"),
        ("x{{i}}y{{ i*2 }}z", "x3y6z"),
        ("{{ f(c='in' + 'ner', d=i + 1) }}", "inner-4"),
        ("{{ u }}", "plain"),
    ],
)
def test_template_expressions(expression: str, expected: str) -> None:
    references = parse_references(
        gen_set(
            {"key": "k", "url": expression, "dimensions": {"i": [3]}},
            templates={"f": "{{c}}-{{d}}", "u": "plain"},
        )
    )
    assert references["k"].url == expected


@pytest.mark.parametrize(
    "expression",
    [
        "{{ ().__class__ }}",
        "{{ __import__('os').system('true') }}",
        "{{ i ** 2 }}",
        "{{ 7 / 2 }}",
        "{{ 1 // 0 }}",
        "{{ 'a' * 3 }}",
        "{{ i | string }}",
        "{{ i if i else 0 }}",
        "{{ f('positional') }}",
        "{{ unknown }}",
        "{{ i + 'a' }}",
        "{{ [i] }}",
        "{{ 1.5 }}",
        "{{ i",
        "{% for x in y %}{{x}}{% endfor %}",
    ],
)
def test_unsafe_or_unsupported_expressions_are_refused(expression: str) -> None:
    spec = gen_set({"key": "k", "url": expression, "dimensions": {"i": [3]}}, templates={"f": "{{c}}"})
    with pytest.raises(ReferenceError, match=r"gen item 0 \('k'\).*'url'|gen item 0 \('k'\) in <dict> at"):
        parse_references(spec)


def test_a_template_that_cannot_render_names_the_key() -> None:
    spec = {"version": 1, "templates": {"f": "{{c}}"}, "refs": {"ok": "x", "bad": ["{{ f }}", 0, 1]}}
    with pytest.raises(ReferenceError, match="the url of key 'bad'.*unknown name 'c'"):
        parse_references(spec)


def test_a_bad_template_definition_names_the_template() -> None:
    with pytest.raises(ReferenceError, match="template 'f'"):
        parse_references({"version": 1, "templates": {"f": "{{ 1 +"}, "refs": {}})


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"url": "u", "dimensions": {"i": [1]}}, "gen item 0 (None) in <dict> has no 'key' field"),
        ({"key": "k", "dimensions": {"i": [1]}}, "gen item 0 ('k') in <dict> has no 'url' field"),
        ({"key": "k", "url": "u"}, "gen item 0 ('k') in <dict> has no 'dimensions' field"),
        ({"key": "k", "url": "u", "offset": "1", "dimensions": {"i": [1]}}, "has no 'length' field"),
        ({"key": "k", "url": "u", "length": "1", "dimensions": {"i": [1]}}, "has no 'offset' field"),
        ({"key": "k", "url": "u", "dimensions": {}}, "'dimensions' must be an object naming at least one"),
        ({"key": "k", "url": "u", "dimensions": {"i": {"start": 1}}}, "dimension 'i' has no 'stop' field"),
        ({"key": "k", "url": "u", "dimensions": {"i": {"stop": 3, "step": 0}}}, "'step' of dimension 'i'"),
        ({"key": "k", "url": "u", "dimensions": {"i": {"stop": 2.5}}}, "'stop' of dimension 'i' must be an integer"),
        ({"key": "k", "url": "u", "dimensions": {"i": [True]}}, "dimension 'i' lists values"),
        ({"key": "k", "url": "u", "dimensions": {"u": [1]}}, "the dimensions ['u'] have the names of templates"),
        ({"key": "k", "url": 5, "dimensions": {"i": [1]}}, "'url' must be a string"),
        (
            {"key": "k{{i}}", "url": "u", "offset": "{{i - 5}}", "length": "1", "dimensions": {"i": [1]}},
            "the offset of gen item 0 ('k{{i}}') in <dict> must be an integer >= 0, got '-4'",
        ),
        (
            {"key": "{{i}}", "url": "u", "offset": "x{{i}}", "length": "1", "dimensions": {"i": [1]}},
            "must be an integer >= 0, got 'x1'",
        ),
    ],
)
def test_malformed_gen_items_are_refused_naming_item_and_field(item: dict, message: str) -> None:
    with pytest.raises(ReferenceError) as raised:
        parse_references(gen_set(item, templates={"u": "s3://b/f"}))
    assert message in str(raised.value)


# -- mounts ---------------------------------------------------------------------------------------


def test_mounts_are_loaded_with_the_mount_loader() -> None:
    loaded: list[str] = []

    def load(url: str) -> ReferenceSet:
        loaded.append(url)
        return ReferenceSet({"a/0": Reference(url, 0, 8)})

    references = parse_references(
        {"version": 1, "refs": {".zgroup": "{}"}, "mounts": {"part1/": "one.json", "part2/": "two.json"}},
        mount_loader=load,
    )
    assert loaded == ["one.json", "two.json"]
    assert sync(references.lookup(["part2/a/0", ".zgroup", "part1/missing"])) == [
        Reference("two.json", 0, 8),
        b"{}",
        None,
    ]


def test_mounts_without_a_loader_are_refused() -> None:
    with pytest.raises(ReferenceError, match="mounts \\['part1/'\\], but no mount loader"):
        parse_references({"version": 1, "refs": {}, "mounts": {"part1/": "one.json"}}, where="main.json")


def test_malformed_mounts_are_refused() -> None:
    with pytest.raises(ReferenceError, match="'mounts' in <dict> must map prefixes"):
        parse_references({"version": 1, "mounts": {"part1/": 5}}, mount_loader=lambda url: ReferenceSet())


# -- writing --------------------------------------------------------------------------------------


def test_to_spec_writes_text_as_text_and_other_bytes_as_base64() -> None:
    spec = to_spec(
        ReferenceSet(
            {
                "text": "h\u00e9llo".encode(),
                "binary": b"\xff\x00",
                "looks_encoded": b"base64:abc",
                "empty": b"",
            }
        )
    )
    assert spec == {
        "version": 1,
        "refs": {
            "text": "h\u00e9llo",
            "binary": "base64:/wA=",
            "looks_encoded": "base64:YmFzZTY0OmFiYw==",
            "empty": "",
        },
    }


def test_to_spec_writes_urls_used_more_than_once_as_templates() -> None:
    long_url = "s3://bucket/a/rather/long/path/file.nc"
    spec = to_spec(
        ReferenceSet(
            {
                "a": Reference(long_url, 0, 10),
                "b": Reference(long_url),
                "c": Reference("s3://bucket/once.nc", 5, 6),
                "d": Reference(None, 1, 2),
                "e": Reference(None),
            }
        )
    )
    assert spec["templates"] == {"u0": long_url}
    assert spec["refs"] == {
        "a": ["{{u0}}", 0, 10],
        "b": ["{{u0}}"],
        "c": ["s3://bucket/once.nc", 5, 6],
        "d": [None, 1, 2],
        "e": [None],
    }


def test_to_spec_refuses_urls_with_template_syntax() -> None:
    with pytest.raises(ReferenceError, match="cannot write the target URL 'http://h/\\{\\{x\\}\\}'"):
        to_spec(ReferenceSet({"a": Reference("http://h/{{x}}", 0, 1)}))


def test_to_spec_writes_mounts_that_name_their_file() -> None:
    references = ReferenceSet({"x": b"1"})
    references.mount("part1/", FileBackedReferences("s3://bucket/part1.json", {"k": b"v"}))
    assert to_spec(references)["mounts"] == {"part1/": "s3://bucket/part1.json"}


def test_to_spec_refuses_mounts_without_a_file() -> None:
    references = ReferenceSet()
    references.mount("part1/", ReferenceSet({"k": b"v"}))
    with pytest.raises(ReferenceError, match="cannot write the mount at 'part1/'.*flatten"):
        to_spec(references)


def test_round_trip() -> None:
    original = ReferenceSet(
        {
            ".zgroup": b'{"zarr_format":2}',
            "x/.zarray": json.dumps({"shape": [4], "fill_value": None}).encode(),
            "bin": bytes(range(256)),
            "looks_encoded": b"base64:AAAA",
            "\u00e9t\u00e9/\u65e5\u672c/0.0": "\u00fcml\u00e4ut".encode(),
            "range": Reference("s3://bucket/data/file.nc", 1234, 5678),
            "range2": Reference("s3://bucket/data/file.nc", 0, 1),
            "whole": Reference("https://host/path/file.bin"),
            "default_range": Reference(None, 3, 4),
            "default_whole": Reference(None),
        }
    )
    spec = json.loads(json.dumps(to_spec(original)))
    assert parse_references(spec) == original


def test_round_trip_keeps_mounts() -> None:
    original = ReferenceSet({"a": b"1"})
    original.mount("sub/", FileBackedReferences("sub.json", {"b": Reference("f.bin", 0, 2)}))
    loaded = parse_references(
        to_spec(original), mount_loader=lambda url: FileBackedReferences(url, {"b": Reference("f.bin", 0, 2)})
    )
    assert dict(loaded) == {"a": b"1"}
    assert sync(loaded.lookup(["sub/b"])) == [Reference("f.bin", 0, 2)]
    assert loaded.mounts["sub/"].url == "sub.json"
