"""Helpers for the codec tests: arrays written by zarr-python 3.1.6, the reference implementation."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from zarrkit.codecs import ChunkSpec


@dataclass
class ZarrWritten:
    """An array zarr-python wrote: its metadata document, its stored objects and its data."""

    metadata: dict[str, Any]
    objects: dict[str, bytes]
    data: np.ndarray
    array: zarr.Array

    def chunk(self, key: str) -> bytes:
        """The stored bytes of ``key`` (such as ``c/0/1`` or ``0.1``)."""
        return self.objects[key]

    def spec(self, shape: tuple[int, ...] | None = None) -> ChunkSpec:
        """The ChunkSpec of the array's chunks (or of ``shape``) with zarr-python's dtype and fill value."""
        chunk_shape = shape or tuple(self.array.shards or self.array.chunks)
        return ChunkSpec(chunk_shape, np.dtype(self.array.dtype), self.array.fill_value)


@pytest.fixture
def write_with_zarr(frozen_gzip_clock: None) -> Callable[..., ZarrWritten]:
    """A function that writes ``data`` with zarr-python (keyword arguments go to ``create_array``).

    gzip headers record time 0 meanwhile, so chunks compare byte for byte with zarrkit's.
    """

    def write(data: np.ndarray, **options: Any) -> ZarrWritten:
        store: dict[str, Any] = {}
        options.setdefault("chunks", data.shape)
        options.setdefault("dtype", data.dtype)
        with warnings.catch_warnings():
            # zarr-python warns about numcodecs codecs in v3 and about v2 string types.
            warnings.simplefilter("ignore")
            array = zarr.create_array(MemoryStore(store_dict=store), shape=data.shape, **options)
            array[...] = data
        objects = {key: value.to_bytes() for key, value in store.items()}
        document = objects.get("zarr.json") or objects[".zarray"]
        return ZarrWritten(json.loads(document), objects, data, array)

    return write
