"""Fixtures for the metadata tests: documents written by zarr-python, and documents served back to it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pytest
import zarr
from zarr.core.buffer import cpu
from zarr.storage import MemoryStore


def documents_of(store: MemoryStore) -> dict[str, bytes]:
    """Every key of a zarr-python MemoryStore with its bytes."""
    return {key: value.to_bytes() for key, value in store._store_dict.items()}


@pytest.fixture
def zarr_python_array() -> Callable[..., tuple[Any, dict[str, bytes]]]:
    """Create an array with zarr-python; returns the array and the documents it wrote."""

    def create(**kwargs: Any) -> tuple[Any, dict[str, bytes]]:
        store = MemoryStore()
        with warnings.catch_warnings():
            # zarr-python warns that some v3 data types have no stable specification yet.
            warnings.simplefilter("ignore")
            array = zarr.create_array(store, shape=(3,), chunks=(2,), **kwargs)
        return array, documents_of(store)

    return create


@pytest.fixture
def zarr_python_open() -> Callable[[Mapping[str, bytes]], Any]:
    """Open documents written by zarrkit with zarr-python (read-only), as an array or group."""

    def open_documents(documents: Mapping[str, bytes], **kwargs: Any) -> Any:
        store = MemoryStore({key: cpu.Buffer.from_bytes(value) for key, value in documents.items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return zarr.open(store, mode="r", **kwargs)

    return open_documents
