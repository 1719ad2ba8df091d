"""The TIFF scanner: files written by tifffile, read through zarrkit, equal to tifffile's own read."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
import pytest
import tifffile

import zarrkit
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.refs import ReferenceSet
from zarrkit.scan.source import ScanSource
from zarrkit.scan.tiff import is_tiff, scan_tiff

RNG = np.random.default_rng(42)


def _values(shape: tuple[int, ...], dtype: str) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        # Smooth values, so the predictors have something to predict.
        return (np.linspace(-50, 50, int(np.prod(shape))).reshape(shape) + RNG.random(shape)).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(max(info.min, -1000), min(info.max, 1000), size=shape, endpoint=True).astype(dtype)


GRAY = (100, 70)  # 100 rows: strips of 16 rows leave a short last strip of 4
RGB = (48, 40, 3)
PLANES = (3, 50, 48)

# name -> (shape, dtype, tifffile.imwrite keywords)
CASES: dict[str, tuple[tuple[int, ...], str, dict[str, Any]]] = {
    "one_strip_raw": (GRAY, "uint16", {}),
    "strips_raw_short_last": (GRAY, "uint16", {"rowsperstrip": 16}),
    "strips_zlib_short_last": (GRAY, "int32", {"rowsperstrip": 16, "compression": "zlib"}),
    "strips_packbits_short_last": (GRAY, "uint8", {"rowsperstrip": 16, "compression": "packbits"}),
    "strips_lzw_predictor2_short_last": (GRAY, "uint16", {"rowsperstrip": 16, "compression": "lzw", "predictor": 2}),
    "strips_zlib_predictor3_short_last": (GRAY, "float64", {"rowsperstrip": 16, "compression": "zlib", "predictor": 3}),
    "strips_int8": (GRAY, "int8", {"rowsperstrip": 20}),
    "strips_int64": (GRAY, "int64", {"rowsperstrip": 20}),
    "strips_uint32": (GRAY, "uint32", {"rowsperstrip": 20}),
    "strips_float16": (GRAY, "float16", {"rowsperstrip": 20}),
    "tiles_raw": (GRAY, "float64", {"tile": (32, 32)}),
    "tiles_zlib": (GRAY, "uint8", {"tile": (32, 32), "compression": "zlib"}),
    "tiles_lzw": (GRAY, "uint8", {"tile": (32, 32), "compression": "lzw"}),
    "tiles_zstd": (GRAY, "int16", {"tile": (32, 32), "compression": "zstd"}),
    "tiles_packbits": (GRAY, "uint8", {"tile": (32, 32), "compression": "packbits"}),
    "tiles_lzw_predictor2": (GRAY, "uint16", {"tile": (32, 32), "compression": "lzw", "predictor": 2}),
    "tiles_zlib_predictor3": (GRAY, "float32", {"tile": (32, 32), "compression": "zlib", "predictor": 3}),
    "rgb_tiles_zlib_predictor2": (RGB, "uint8", {"tile": (16, 16), "compression": "zlib", "predictor": 2}),
    "rgb_tiles_jpeg": (RGB, "uint8", {"tile": (16, 16), "compression": "jpeg"}),
    "rgb_strips_jpeg": (RGB, "uint8", {"rowsperstrip": 16, "compression": "jpeg"}),
    "rgb_strips_raw_short_last": (RGB, "uint8", {"rowsperstrip": 20}),
    "gray_tiles_jpeg": (GRAY, "uint8", {"tile": (32, 32), "compression": "jpeg"}),
    "planar_tiles_zlib": (PLANES, "uint16", {"tile": (16, 16), "compression": "zlib", "planarconfig": "separate"}),
    "planar_strips_lzw_predictor2_short_last": (
        PLANES, "uint16", {"rowsperstrip": 16, "compression": "lzw", "predictor": 2, "planarconfig": "separate"},
    ),
    "big_endian_tiles_raw": (GRAY, "float32", {"tile": (32, 32), "byteorder": ">"}),
    "big_endian_tiles_lzw_predictor2": (
        GRAY, "uint16", {"tile": (32, 32), "compression": "lzw", "predictor": 2, "byteorder": ">"},
    ),
    "big_endian_strips_zlib_predictor3_short_last": (
        GRAY, "float64", {"rowsperstrip": 16, "compression": "zlib", "predictor": 3, "byteorder": ">"},
    ),
    "big_endian_strips_zstd_short_last": (GRAY, "int32", {"rowsperstrip": 16, "compression": "zstd", "byteorder": ">"}),
    "bigtiff_tiles_zlib": (GRAY, "uint16", {"tile": (32, 32), "compression": "zlib", "bigtiff": True}),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiff")
    for name, (shape, dtype, keywords) in CASES.items():
        photometric = "rgb" if shape[-1] == 3 or keywords.get("planarconfig") else "minisblack"
        tifffile.imwrite(folder / f"{name}.tif", _values(shape, dtype), photometric=photometric, **keywords)
    return folder


def _scan(path: Path, zarr_format: int = 2) -> ReferenceSet:
    with ScanSource(path) as source:
        return scan_tiff(source, zarr_format=zarr_format)


def _page_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every page of the file as tifffile reads it, by the array name the scanner gives it."""
    with tifffile.TiffFile(path) as tiff:
        arrays = {}
        for index, page in enumerate(tiff.pages):
            arrays[str(index)] = page.asarray()
            for sub_index, subpage in enumerate(tifffile.TiffPages(page) if page.subifds else []):
                arrays[f"{index}_sub{sub_index}"] = subpage.asarray()
        return arrays


def _assert_same_as_tifffile(path: Path, references: ReferenceSet) -> None:
    group = zarrkit.open_group(references)
    expected = _page_arrays(path)
    assert sorted(name for name, _ in group.arrays()) == sorted(expected)
    for name, values in expected.items():
        array = zarrkit.open_array(references, path=name)
        assert array.dtype.newbyteorder("=") == values.dtype.newbyteorder("=")
        np.testing.assert_array_equal(array[...], values, err_msg=f"{path.name} page {name}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_layout_codec_and_type_reads_as_tifffile_reads_it(files: Path, name: str) -> None:
    path = files / f"{name}.tif"
    references = _scan(path)
    _assert_same_as_tifffile(path, references)
    shape, _, keywords = CASES[name]
    if "short_last" in name:
        # The padded last strip is inline; the others point into the file.
        strip_keys = [key for key in references if key.startswith("0/") and not key.split("/")[-1].startswith(".")]
        inline = [key for key in strip_keys if isinstance(references[key], bytes)]
        assert len(inline) == (shape[0] if keywords.get("planarconfig") else 1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_zarr_v3_reads_the_same(files: Path, name: str) -> None:
    path = files / f"{name}.tif"
    references = _scan(path, zarr_format=3)
    assert json.loads(references["0/zarr.json"])["zarr_format"] == 3
    _assert_same_as_tifffile(path, references)


@pytest.mark.parametrize(
    ("name", "codec_names"),
    [
        ("tiles_lzw", ["numcodecs.imagecodecs_lzw"]),
        ("tiles_zlib_predictor3", ["numcodecs.imagecodecs_floatpred", "numcodecs.zlib"]),
        ("rgb_tiles_jpeg", ["numcodecs.imagecodecs_jpeg"]),
    ],
)
def test_zarr_v3_names_imagecodecs_codecs_as_numcodecs_codecs(files: Path, name: str, codec_names: list[str]) -> None:
    codecs = json.loads(_scan(files / f"{name}.tif", zarr_format=3)["0/zarr.json"])["codecs"]
    assert [codec["name"] for codec in codecs[1:]] == codec_names


def test_array_metadata_describes_the_page(files: Path) -> None:
    references = _scan(files / "rgb_tiles_zlib_predictor2.tif")
    zarray = json.loads(references["0/.zarray"])
    assert zarray["shape"] == [48, 40, 3] and zarray["chunks"] == [16, 16, 3]
    assert zarray["compressor"]["id"] == "zlib"
    assert [(f["id"], f["axis"]) for f in zarray["filters"]] == [("imagecodecs_delta", -2)]
    array = zarrkit.open_array(references, path="0")
    assert array.attrs["_ARRAY_DIMENSIONS"] == ["y", "x", "sample"]
    assert array.attrs["photometric"] == "RGB" and array.attrs["compression"] == "ADOBE_DEFLATE"
    assert json.loads(array.attrs["description"]) == {"shape": [48, 40, 3]}
    planar = zarrkit.open_array(_scan(files / "planar_tiles_zlib.tif"), path="0")
    assert planar.shape == PLANES and planar.chunks == (1, 16, 16)
    assert planar.attrs["_ARRAY_DIMENSIONS"] == ["sample", "y", "x"]


def test_multi_page_file_gives_one_array_per_page(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(_values((30, 20), "uint8"), compression="zlib")
        writer.write(_values((10, 40), "float32"), tile=(16, 16))
        writer.write(_values((5, 6, 3), "uint16"), photometric="rgb")
    references = _scan(path)
    _assert_same_as_tifffile(path, references)
    assert zarrkit.open_array(references, path="1").attrs["_ARRAY_DIMENSIONS"] == ["y_1", "x_1"]
    series = zarrkit.open_group(references).attrs["series"]
    assert [entry["levels"] for entry in series] == [[["0"]], [["1"]], [["2"]]]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_pyramid_in_subifds_becomes_named_levels(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "pyramid.tif"
    base = _values((128, 96), "uint16")
    with tifffile.TiffWriter(path) as writer:
        writer.write(base, tile=(32, 32), subifds=2, compression="zlib")
        writer.write(base[::2, ::2], tile=(32, 32), subfiletype=1, compression="zlib")
        writer.write(base[::4, ::4], tile=(32, 32), subfiletype=1, compression="zlib")
    references = _scan(path, zarr_format)
    _assert_same_as_tifffile(path, references)
    group = zarrkit.open_group(references)
    assert group.attrs["series"] == [
        {"axes": "YX", "shape": [128, 96], "levels": [["0"], ["0_sub0"], ["0_sub1"]]}
    ]
    assert zarrkit.open_array(references, path="0_sub1").shape == (32, 24)


def test_cog_overviews_are_top_level_pages(tmp_path: Path) -> None:
    path = tmp_path / "cog.tif"
    base = _values((128, 128), "int16")
    with tifffile.TiffWriter(path) as writer:
        writer.write(base, tile=(32, 32), compression="zstd")
        writer.write(base[::2, ::2], tile=(32, 32), subfiletype=1, compression="zstd")
        writer.write(base[::4, ::4], tile=(32, 32), subfiletype=1, compression="zstd")
    references = _scan(path)
    _assert_same_as_tifffile(path, references)
    assert [zarrkit.open_array(references, path=name).attrs["subfile_type"] for name in "012"] == [0, 1, 1]
    assert zarrkit.open_group(references).attrs["series"][0]["levels"] == [["0"], ["1"], ["2"]]


def _split_jpeg(stream: bytes) -> tuple[bytes, bytes]:
    """A JPEG stream as its quantization and Huffman tables and the abbreviated stream without them,
    the way TIFF writers share one JPEGTables tag among all tiles."""
    tables, rest, position = [], [], 2
    while True:
        marker = stream[position : position + 2]
        if marker == b"\xff\xda":  # start of scan: the entropy-coded data follows
            rest.append(stream[position:])
            break
        length = struct.unpack(">H", stream[position + 2 : position + 4])[0]
        segment = stream[position : position + 2 + length]
        (tables if marker in (b"\xff\xdb", b"\xff\xc4") else rest).append(segment)
        position += 2 + length
    return b"\xff\xd8" + b"".join(tables) + b"\xff\xd9", b"\xff\xd8" + b"".join(rest)


def test_jpeg_tiles_sharing_jpeg_tables(tmp_path: Path) -> None:
    path = tmp_path / "tables.tif"
    image = np.clip(_values((32, 48, 3), "float32") * 2 + 128, 0, 255).astype(np.uint8)
    tiles, shared_tables = [], set()
    for row in range(2):
        for column in range(3):
            encoded = imagecodecs.jpeg8_encode(image[row * 16 : row * 16 + 16, column * 16 : column * 16 + 16])
            tables, abbreviated = _split_jpeg(encoded)
            shared_tables.add(tables)
            tiles.append(abbreviated)
    assert len(shared_tables) == 1
    tables = shared_tables.pop()
    tifffile.imwrite(
        path, iter(tiles), shape=image.shape, dtype=image.dtype, tile=(16, 16), compression="jpeg",
        photometric="ycbcr", subsampling=(1, 1), extratags=[(347, "B", len(tables), tables)],
    )
    with tifffile.TiffFile(path) as tiff:
        assert tiff.pages[0].jpegtables == tables
    references = _scan(path)
    _assert_same_as_tifffile(path, references)
    compressor = json.loads(references["0/.zarray"])["compressor"]
    assert base64.b64decode(compressor["tables"]) == tables


GEO_KEYS = [1, 1, 0, 4, 1024, 0, 1, 2, 1025, 0, 1, 1, 2048, 0, 1, 4326, 2054, 0, 1, 9102]


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_geotiff_tags_nodata_and_empty_tiles(tmp_path: Path, zarr_format: int) -> None:
    path = tmp_path / "geo.tif"
    values = _values((64, 64), "float32")
    tiles = [values[:32, :32], None, values[32:, :32], values[32:, 32:]]  # the top-right tile is not written
    tifffile.imwrite(
        path, iter(tiles), shape=values.shape, dtype=values.dtype, tile=(32, 32), compression="zlib",
        extratags=[
            (33550, "d", 3, (0.5, 0.5, 0.0)),
            (33922, "d", 6, (0.0, 0.0, 0.0, 10.0, 50.0, 0.0)),
            (34735, "H", len(GEO_KEYS), GEO_KEYS),
            (42113, "s", 0, "-9999"),
        ],
    )
    references = _scan(path, zarr_format)
    _assert_same_as_tifffile(path, references)
    array = zarrkit.open_array(references, path="0")
    assert (array[:32, 32:] == -9999).all()
    assert array.fill_value == -9999
    missing_key = "0/0.1" if zarr_format == 2 else "0/c/0/1"
    present_key = "0/1.1" if zarr_format == 2 else "0/c/1/1"
    assert missing_key not in references and present_key in references
    geotiff = array.attrs["geotiff"]
    assert geotiff["ModelPixelScale"] == [0.5, 0.5, 0.0]
    assert geotiff["ModelTiepoint"] == [0.0, 0.0, 0.0, 10.0, 50.0, 0.0]
    assert geotiff["GTModelTypeGeoKey"] == 2 and geotiff["GeographicTypeGeoKey"] == 4326


def test_is_tiff_knows_the_four_magics(files: Path) -> None:
    for name in ("tiles_raw", "big_endian_tiles_raw", "bigtiff_tiles_zlib"):
        assert is_tiff((files / f"{name}.tif").read_bytes()[:4096])
    assert {(files / f"{name}.tif").read_bytes()[:4] for name in ("tiles_raw", "big_endian_tiles_raw")} == {
        b"II*\x00", b"MM\x00*",
    }
    assert not is_tiff(b"\x89HDF\r\n\x1a\n")
    assert not is_tiff(b"II")


# Bad input


def test_truncated_tile_data_is_refused(tmp_path: Path, files: Path) -> None:
    data = (files / "tiles_zlib.tif").read_bytes()
    with tifffile.TiffFile(files / "tiles_zlib.tif") as tiff:
        last_end = tiff.pages[0].dataoffsets[-1] + tiff.pages[0].databytecounts[-1]
    path = tmp_path / "cut.tif"
    path.write_bytes(data[: last_end - 10])
    with pytest.raises(MetadataError, match=r"page 0: tile 11 says \d+ bytes at offset \d+ but the file has \d+ bytes"):
        _scan(path)


@pytest.mark.parametrize("length", [3, 6, 20])
def test_truncated_header_is_refused(tmp_path: Path, files: Path, length: int) -> None:
    path = tmp_path / "cut.tif"
    path.write_bytes((files / "tiles_zlib.tif").read_bytes()[:length])
    with pytest.raises(MetadataError, match="cut.tif"):
        _scan(path)


def test_a_broken_page_chain_is_refused_not_skipped(tmp_path: Path) -> None:
    path = tmp_path / "chain.tif"
    with tifffile.TiffWriter(path) as writer:
        writer.write(_values((8, 8), "uint8"))
        writer.write(_values((8, 8), "uint8"))
    data = bytearray(path.read_bytes())
    first_ifd = struct.unpack_from("<I", data, 4)[0]
    tag_count = struct.unpack_from("<H", data, first_ifd)[0]
    struct.pack_into("<I", data, first_ifd + 2 + 12 * tag_count, len(data) + 1000)  # next IFD: past the end
    path.write_bytes(bytes(data))
    with pytest.raises(MetadataError, match="damaged TIFF file"):
        _scan(path)


def test_not_a_tiff_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.tif"
    path.write_bytes(b"hello, this is not a TIFF file at all" * 10)
    with pytest.raises(MetadataError, match="not a readable TIFF file"):
        _scan(path)


def test_compression_without_codec_is_named(tmp_path: Path) -> None:
    path = tmp_path / "lzma.tif"
    tifffile.imwrite(path, _values((16, 16), "uint8"), compression="lzma")
    with pytest.raises(UnsupportedFeature, match=r"lzma.tif: page 0: compression LZMA \(34925\)"):
        _scan(path)


def test_bilevel_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bits.tif"
    tifffile.imwrite(path, _values((16, 16), "uint8") > 0)
    with pytest.raises(UnsupportedFeature, match="page 0: 1-bit samples"):
        _scan(path)


def test_short_last_jpeg_strip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, _values((50, 40, 3), "uint8"), photometric="rgb", compression="jpeg", rowsperstrip=16)
    with pytest.raises(UnsupportedFeature, match="page 0: its last JPEG strip holds 2 rows, not 16"):
        _scan(path)


READ_IN_A_FRESH_PROCESS = """
import sys
import numpy as np
import zarrkit

np.save(sys.argv[2], zarrkit.open_array("reference://" + sys.argv[1], path="0")[...])
"""


def test_imagecodecs_codecs_need_no_registration_by_the_reader(tmp_path: Path) -> None:
    """A process that never imported imagecodecs reads LZW tiles with a predictor."""
    import subprocess
    import sys

    values = _values((64, 48), "uint16")
    tifffile.imwrite(tmp_path / "image.tif", values, tile=(16, 16), compression="lzw", predictor=True)
    zarrkit.save_refs(_scan(tmp_path / "image.tif"), tmp_path / "refs.json")
    assert "imagecodecs_lzw" in (tmp_path / "refs.json").read_text()
    subprocess.run(
        [sys.executable, "-c", READ_IN_A_FRESH_PROCESS, str(tmp_path / "refs.json"), str(tmp_path / "read.npy")],
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    np.testing.assert_array_equal(np.load(tmp_path / "read.npy"), values)
