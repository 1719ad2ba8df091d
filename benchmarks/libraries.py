"""The three libraries under test behind one small interface: create, write, open, read.

Every library stores the same Zarr v3 array: ``bytes`` (little endian) then ``zstd`` at level 1
without checksum; when sharded, the index sits at the end of the shard and is encoded with ``bytes``
(little endian) + ``crc32c``, which is what all three write by default. Each peer is used the way its
documentation recommends for speed; the comments on each class say what was chosen.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorstore
import zarr
import zarr.codecs

import zarrkit
import zarrkit.codecs

ZSTD_LEVEL = 1


@dataclass(frozen=True)
class Layout:
    """The shape of a float32 array and how it is cut: chunks, and shards (None when unsharded)."""

    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None


class Library(ABC):
    """What the benchmarks need from a library; ``array`` is the library's own array handle.

    ``name`` labels the library in the output; ``distribution`` is what it is installed as.
    Subclasses inherit these docstrings for their methods.
    """

    name: str
    distribution: str

    @property
    def version(self) -> str:
        """The installed version of the library."""
        return importlib.metadata.version(self.distribution)

    @abstractmethod
    def create(self, path: str, layout: Layout) -> Any:
        """Create an empty array in the directory ``path`` (replacing one there) and return it."""

    @abstractmethod
    def write(self, array: Any, data: np.ndarray) -> None:
        """Write ``data`` over the whole array and return once it is stored."""

    @abstractmethod
    def open(self, path: str) -> Any:
        """Open the existing array in the directory ``path`` for reading."""

    @abstractmethod
    def read(self, array: Any, selection: tuple[slice, ...]) -> np.ndarray:
        """Read ``selection`` of the array into a new NumPy array."""


class Zarrkit(Library):
    """zarrkit through its public synchronous API, with its default configuration."""

    name = "zarrkit"
    distribution = "zarrkit"

    def create(self, path: str, layout: Layout) -> zarrkit.Array:
        return zarrkit.create_array(
            path,
            shape=layout.shape,
            dtype="float32",
            chunks=layout.chunks,
            shards=layout.shards,
            compressors=zarrkit.codecs.ZstdCodec(level=ZSTD_LEVEL),
            overwrite=True,
        )

    def write(self, array: zarrkit.Array, data: np.ndarray) -> None:
        array[...] = data

    def open(self, path: str) -> zarrkit.Array:
        return zarrkit.open_array(path, mode="r")

    def read(self, array: zarrkit.Array, selection: tuple[slice, ...]) -> np.ndarray:
        return array[selection]


class ZarrPython(Library):
    """zarr-python 3 through its synchronous API with its default configuration.

    Its performance guide presents the defaults (``async.concurrency``, the batched codec pipeline,
    a codec thread pool sized by the machine) as good for most workloads, so nothing is tuned.
    """

    name = "zarr-python"
    distribution = "zarr"

    def create(self, path: str, layout: Layout) -> zarr.Array:
        return zarr.create_array(
            store=path,
            shape=layout.shape,
            dtype="float32",
            chunks=layout.chunks,
            shards=layout.shards,
            compressors=zarr.codecs.ZstdCodec(level=ZSTD_LEVEL),
            overwrite=True,
        )

    def write(self, array: zarr.Array, data: np.ndarray) -> None:
        array[...] = data

    def open(self, path: str) -> zarr.Array:
        return zarr.open_array(path, mode="r")

    def read(self, array: zarr.Array, selection: tuple[slice, ...]) -> np.ndarray:
        return array[selection]


def _tensorstore_codecs(layout: Layout) -> tuple[list[dict[str, Any]], tuple[int, ...]]:
    """The ``codecs`` metadata and the grid's chunk shape (the shard shape when sharded)."""
    little_endian = {"name": "bytes", "configuration": {"endian": "little"}}
    chunk_codecs = [little_endian, {"name": "zstd", "configuration": {"level": ZSTD_LEVEL, "checksum": False}}]
    if layout.shards is None:
        return chunk_codecs, layout.chunks
    sharding = {
        "name": "sharding_indexed",
        "configuration": {
            "chunk_shape": list(layout.chunks),
            "codecs": chunk_codecs,
            "index_codecs": [little_endian, {"name": "crc32c"}],
            "index_location": "end",
        },
    }
    return [sharding], layout.shards


class Tensorstore(Library):
    """tensorstore's ``zarr3`` driver over the ``file`` kvstore, through its futures API.

    Reads use ``array[selection].read().result()`` and writes ``array.write(data).result()``, as its
    tutorial does. Its context keeps the defaults (no cache pool, concurrency sized by the machine)
    except ``file_io_sync``: tensorstore fsyncs every file by default while zarrkit and zarr-python
    never do, so it is turned off for all three to do the same work.
    """

    name = "tensorstore"
    distribution = "tensorstore"

    def __init__(self) -> None:
        self._context = tensorstore.Context({"file_io_sync": False})

    def create(self, path: str, layout: Layout) -> tensorstore.TensorStore:
        codecs, grid_chunks = _tensorstore_codecs(layout)
        spec = {
            "driver": "zarr3",
            "kvstore": {"driver": "file", "path": path},
            "metadata": {
                "shape": list(layout.shape),
                "data_type": "float32",
                "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(grid_chunks)}},
                "chunk_key_encoding": {"name": "default"},
                "fill_value": 0.0,
                "codecs": codecs,
            },
        }
        return tensorstore.open(spec, create=True, delete_existing=True, context=self._context).result()

    def write(self, array: tensorstore.TensorStore, data: np.ndarray) -> None:
        # The source is never modified, so tensorstore may keep referring to it instead of copying it
        # first (the option its documentation offers for this case).
        array.write(data, can_reference_source_data_indefinitely=True).result()

    def open(self, path: str) -> tensorstore.TensorStore:
        spec = {"driver": "zarr3", "kvstore": {"driver": "file", "path": path}}
        return tensorstore.open(spec, read=True, context=self._context).result()

    def read(self, array: tensorstore.TensorStore, selection: tuple[slice, ...]) -> np.ndarray:
        return array[selection].read().result()


def all_libraries() -> list[Library]:
    """zarrkit first (the reference of every ratio), then its peers."""
    return [Zarrkit(), ZarrPython(), Tensorstore()]
