"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from zarrkit.storage import LocalStore, MemoryStore
from zarrkit.storage.base import Store


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path) -> Store:
    """A fresh writable store of each local kind."""
    if request.param == "memory":
        return MemoryStore()
    return LocalStore(tmp_path / "store")
