"""The MAT-file scanner: files written by scipy.io.savemat (and by hand, for what scipy never writes),
read through zarrkit, equal to scipy.io.loadmat's values."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

import zarrkit
from zarrkit.errors import MetadataError, UnsupportedFeature
from zarrkit.refs import Reference, ReferenceSet
from zarrkit.scan.mat import is_mat, scan_mat
from zarrkit.scan.source import ScanSource

RNG = np.random.default_rng(7)

VARIABLES = {
    "double_matrix": RNG.random((4, 6)),
    "single_cube": RNG.random((3, 4, 5)).astype(np.float32),
    "int8_row": np.arange(-5, 5, dtype=np.int8),
    "uint8_matrix": RNG.integers(0, 255, (7, 3), dtype=np.uint8),
    "int16_matrix": RNG.integers(-3000, 3000, (5, 5), dtype=np.int16),
    "uint16_matrix": RNG.integers(0, 60000, (2, 9), dtype=np.uint16),
    "int32_cube": RNG.integers(-(2**30), 2**30, (2, 3, 4), dtype=np.int32),
    "uint32_column": RNG.integers(0, 2**32 - 1, (6, 1), dtype=np.uint32),
    "int64_matrix": RNG.integers(-(2**60), 2**60, (3, 3), dtype=np.int64),
    "uint64_row": np.array([0, 1, 2**63, 2**64 - 1], dtype=np.uint64),
    "logical_matrix": RNG.random((4, 4)) > 0.5,
    "complex_matrix": RNG.random((3, 4)) + 1j * RNG.random((3, 4)),
    "complex_single": (RNG.random((2, 2)) + 1j * RNG.random((2, 2))).astype(np.complex64),
    "scalar": 3.25,
    "int_scalar": np.int32(-7),
    "empty_matrix": np.zeros((0, 3)),
    "four_dimensions": RNG.random((2, 3, 2, 2)),
    "text": "hello, world",
    "text_rows": np.array(["abc", "xyz"]),
}


@pytest.fixture(scope="module")
def mat_files(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    folder = tmp_path_factory.mktemp("mat")
    files = {}
    for compressed in (False, True):
        files[compressed] = folder / f"variables_{'compressed' if compressed else 'plain'}.mat"
        scipy.io.savemat(files[compressed], VARIABLES, do_compression=compressed, format="5")
    return files


def _scan(path: Path, **options) -> ReferenceSet:
    with ScanSource(path) as source:
        return scan_mat(source, **options)


def _assert_same_as_loadmat(path: Path, references: ReferenceSet, **loadmat_options) -> None:
    expected = {
        name: value for name, value in scipy.io.loadmat(path, **loadmat_options).items() if not name.startswith("__")
    }
    group = zarrkit.open_group(references)
    assert sorted(name for name, _ in group.arrays()) == sorted(expected)
    for name, values in expected.items():
        array = zarrkit.open_array(references, path=name)
        read = array[...]
        assert read.shape == values.shape, name
        if array.attrs["matlab_class"] == "logical":
            # loadmat gives MATLAB's logicals as the uint8 they are stored in (bool with mat_dtype).
            assert read.dtype == bool and values.dtype in (np.uint8, bool)
            read = read.astype(values.dtype)
        assert read.dtype.newbyteorder("=") == values.dtype.newbyteorder("="), name
        np.testing.assert_array_equal(read, values, err_msg=name)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
def test_every_variable_reads_as_loadmat_reads_it(
    mat_files: dict[bool, Path], compressed: bool, zarr_format: int
) -> None:
    references = _scan(mat_files[compressed], zarr_format=zarr_format)
    _assert_same_as_loadmat(mat_files[compressed], references)
    assert zarrkit.open_group(references).attrs["description"].startswith("MATLAB 5.0 MAT-file")


def test_plain_numbers_are_referenced_in_column_major_order(mat_files: dict[bool, Path]) -> None:
    references = _scan(mat_files[False])
    zarray = json.loads(references["double_matrix/.zarray"])
    assert zarray["order"] == "F" and zarray["shape"] == [4, 6] and zarray["compressor"] is None
    chunk = references["double_matrix/0.0"]
    assert isinstance(chunk, Reference) and chunk.length == 4 * 6 * 8
    assert isinstance(references["int32_cube/0.0.0"], Reference)
    assert isinstance(references["logical_matrix/0.0"], Reference)
    assert json.loads(references["logical_matrix/.zarray"])["dtype"] == "|b1"
    # Complex parts are stored apart and characters as code units: both are inline.
    assert isinstance(references["complex_matrix/0.0"], bytes)
    assert isinstance(references["text/0"], bytes)
    assert "empty_matrix/0.0" not in references


def test_compressed_variables_are_inline_zlib_chunks(mat_files: dict[bool, Path]) -> None:
    references = _scan(mat_files[True])
    assert isinstance(references["double_matrix/0.0"], bytes)
    assert json.loads(references["double_matrix/.zarray"])["compressor"]["id"] == "zlib"


def test_inline_limit_refuses_or_skips_big_variables(mat_files: dict[bool, Path]) -> None:
    with pytest.raises(UnsupportedFeature, match=r"variable 'double_matrix': its 192 bytes .* inline_limit=100"):
        _scan(mat_files[True], inline_limit=100)
    with pytest.warns(UserWarning) as warnings:
        references = _scan(mat_files[True], inline_limit=100, on_unsupported="skip")
    messages = [str(warning.message) for warning in warnings]
    assert any(message.startswith("skipped: ") and "'double_matrix'" in message for message in messages)
    skipped = zarrkit.open_group(references).attrs["skipped_variables"]
    assert "double_matrix" in skipped and "inline_limit" in skipped["double_matrix"]
    np.testing.assert_array_equal(zarrkit.open_array(references, path="int8_row")[...], VARIABLES["int8_row"][None])


@pytest.mark.parametrize(
    ("value", "class_name"),
    [
        ({"a": 1.0, "b": np.arange(3)}, "struct"),
        (np.array([np.arange(2), "text"], dtype=object), "cell"),
        (__import__("scipy.sparse").sparse.csc_matrix(np.eye(3)), "sparse"),
    ],
)
def test_cells_structs_and_sparse_are_refused_or_skipped(tmp_path: Path, value: object, class_name: str) -> None:
    path = tmp_path / "containers.mat"
    scipy.io.savemat(path, {"container": value, "plain": np.arange(4.0)})
    with pytest.raises(UnsupportedFeature, match=f"containers.mat: variable 'container': MATLAB class '{class_name}'"):
        _scan(path)
    with pytest.warns(UserWarning, match="variable 'container'"):
        references = _scan(path, on_unsupported="skip")
    assert list(zarrkit.open_group(references).attrs["skipped_variables"]) == ["container"]
    np.testing.assert_array_equal(zarrkit.open_array(references, path="plain")[...], [np.arange(4.0)])


# Files written by hand: what MATLAB writes and scipy does not (big-endian files, numbers stored in a
# smaller type than their class, the small data element format).

MI_INT8, MI_UINT8, MI_INT16, MI_UINT16, MI_INT32, MI_UINT32, MI_DOUBLE = 1, 2, 3, 4, 5, 6, 9
MI_MATRIX, MI_COMPRESSED = 14, 15
MX_CHAR, MX_DOUBLE, MX_INT32, MX_UINT8 = 4, 6, 12, 9
GLOBAL, LOGICAL = 0x04, 0x02


def _header(byte_order: str) -> bytes:
    text = b"MATLAB 5.0 MAT-file, written by hand for zarrkit's tests".ljust(116, b" ")
    return text + b"\x00" * 8 + struct.pack(byte_order + "H", 0x0100) + (b"IM" if byte_order == "<" else b"MI")


def _element(byte_order: str, data_type: int, payload: bytes) -> bytes:
    if 0 < len(payload) <= 4:
        # The small data element format: size and type share the first word.
        return struct.pack(byte_order + "I", (len(payload) << 16) | data_type) + payload.ljust(4, b"\x00")
    padding = b"\x00" * (-len(payload) % 8)
    return struct.pack(byte_order + "II", data_type, len(payload)) + payload + padding


def _matrix(
    byte_order: str, name: str, array_class: int, dims: tuple[int, ...], data_type: int, data: bytes, flags: int = 0
) -> bytes:
    content = b"".join(
        [
            _element(byte_order, MI_UINT32, struct.pack(byte_order + "II", array_class | (flags << 8), 0)),
            _element(byte_order, MI_INT32, struct.pack(f"{byte_order}{len(dims)}i", *dims)),
            _element(byte_order, MI_INT8, name.encode()),
            _element(byte_order, data_type, data),
        ]
    )
    return struct.pack(byte_order + "II", MI_MATRIX, len(content)) + content


def _hand_written_variables(byte_order: str) -> bytes:
    doubles_as_uint8 = np.array([[1, 2, 3], [250, 0, 7]], dtype=np.uint8)
    doubles_as_int16 = np.array([[-300, 2], [5, 1000]], dtype=byte_order + "i2")
    # A 2 x 3 char matrix of UTF-16 code units (as MATLAB's -v6 writes them), column by column.
    characters = np.array([ord(c) for c in "héllo!"], dtype=byte_order + "u2").reshape(2, 3).tobytes(order="F")
    return b"".join(
        [
            _matrix(byte_order, "compact", MX_DOUBLE, (2, 3), MI_UINT8, doubles_as_uint8.tobytes(order="F")),
            _matrix(byte_order, "compact16", MX_DOUBLE, (2, 2), MI_INT16, doubles_as_int16.tobytes(order="F")),
            _matrix(byte_order, "small", MX_INT32, (1, 1), MI_INT32, struct.pack(byte_order + "i", -123456)),
            _matrix(byte_order, "flag", MX_UINT8, (1, 3), MI_UINT8, bytes([1, 0, 1]), flags=LOGICAL),
            _matrix(byte_order, "wide", MX_DOUBLE, (1, 2), MI_DOUBLE, struct.pack(byte_order + "2d", 1.5, -2), GLOBAL),
            _matrix(byte_order, "names", MX_CHAR, (2, 3), MI_UINT16, characters),
        ]
    )


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("byte_order", ["<", ">"], ids=["little", "big"])
def test_hand_written_files_read_as_loadmat_reads_them(tmp_path: Path, byte_order: str, zarr_format: int) -> None:
    path = tmp_path / "hand.mat"
    path.write_bytes(_header(byte_order) + _hand_written_variables(byte_order))
    references = _scan(path, zarr_format=zarr_format)
    # mat_dtype: values in their MATLAB class, as zarrkit gives them, not in the type they are stored in;
    # uint16_codec: MATLAB's uint16 characters are UTF-16 code units (scipy's default is the system encoding).
    utf16 = "utf-16-le" if byte_order == "<" else "utf-16-be"
    _assert_same_as_loadmat(path, references, mat_dtype=True, uint16_codec=utf16)
    compact = zarrkit.open_array(references, path="compact")
    assert compact.dtype.newbyteorder("=") == np.float64
    np.testing.assert_array_equal(compact[...], [[1, 2, 3], [250, 0, 7]])
    assert isinstance(references["small/0.0" if zarr_format == 2 else "small/c/0/0"], Reference)
    assert zarrkit.open_array(references, path="wide").attrs["global"] is True
    assert list(zarrkit.open_array(references, path="names")[...]) == ["hél", "lo!"]


def test_hand_written_compressed_variable(tmp_path: Path) -> None:
    import zlib

    path = tmp_path / "compressed.mat"
    plain = _matrix(">", "compact", MX_DOUBLE, (2, 2), MI_INT16, np.array([1, -2, 3, -4], ">i2").tobytes())
    compressed = zlib.compress(plain)
    path.write_bytes(_header(">") + struct.pack(">II", MI_COMPRESSED, len(compressed)) + compressed)
    references = _scan(path)
    _assert_same_as_loadmat(path, references, mat_dtype=True)
    np.testing.assert_array_equal(zarrkit.open_array(references, path="compact")[...], [[1, 3], [-2, -4]])


def test_is_mat(mat_files: dict[bool, Path]) -> None:
    assert is_mat(mat_files[False].read_bytes()[:4096])
    assert is_mat(_header(">"))
    assert not is_mat(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200)
    assert not is_mat(_header("<")[:100])
    assert not is_mat(b"MATLAB" + b" " * 122)  # no version and endian mark


# MAT v7.3: HDF5 behind a 512-byte MAT header, handed to the HDF5 scanner.


def test_v73_files_go_to_the_hdf5_scanner(tmp_path: Path) -> None:
    path = tmp_path / "v73.mat"
    values = np.arange(12.0).reshape(3, 4)
    with h5py.File(path, "w", userblock_size=512) as file:
        dataset = file.create_dataset("x", data=values)
        dataset.attrs["MATLAB_class"] = np.bytes_("double")
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Sat Nov 21 00:00:00 2026 HDF5 schema 1.00 ."
    with open(path, "r+b") as file:
        file.write(header.ljust(116, b" ") + b"\x00" * 8 + struct.pack("<H", 0x0200) + b"IM")
    assert is_mat(path.read_bytes()[:4096])
    references = _scan(path)
    np.testing.assert_array_equal(zarrkit.open_array(references, path="x")[...], values)


# Bad input


def test_truncated_file_is_refused(tmp_path: Path, mat_files: dict[bool, Path]) -> None:
    data = mat_files[False].read_bytes()
    path = tmp_path / "cut.mat"
    path.write_bytes(data[:-20])
    with pytest.raises(MetadataError, match=r"cut.mat: the element at offset \d+ says \d+ bytes of data at offset \d+ "
                       r"but the file has \d+ bytes"):
        _scan(path)


def test_truncated_header_is_refused(tmp_path: Path, mat_files: dict[bool, Path]) -> None:
    path = tmp_path / "cut.mat"
    path.write_bytes(mat_files[False].read_bytes()[:100])
    with pytest.raises(MetadataError, match="cut.mat: not a MAT-file"):
        _scan(path)


def test_dimensions_that_lie_about_the_data_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lying.mat"
    path.write_bytes(_header("<") + _matrix("<", "v", MX_DOUBLE, (3, 3), MI_DOUBLE, np.arange(4.0).tobytes()))
    with pytest.raises(MetadataError, match=r"variable 'v': its data holds 32 bytes, but \(3, 3\) values of 8 bytes"):
        _scan(path)


def test_corrupt_compressed_variable_is_refused(tmp_path: Path, mat_files: dict[bool, Path]) -> None:
    data = bytearray(mat_files[True].read_bytes())
    data[128 + 8 + 2 : 128 + 8 + 40] = b"\xff" * 38  # inside the first compressed stream, after its zlib header
    path = tmp_path / "corrupt.mat"
    path.write_bytes(bytes(data))
    with pytest.raises(MetadataError, match="corrupt.mat: variable at offset 128: corrupt compressed data"):
        _scan(path)


def test_element_that_is_no_variable_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stray.mat"
    path.write_bytes(_header("<") + _element("<", MI_DOUBLE, np.arange(2.0).tobytes()))
    with pytest.raises(MetadataError, match="top-level element of type 9 is not a variable"):
        _scan(path)
