"""Importing the optional libraries some stores need (obstore, redis, fsspec), only when used."""

from __future__ import annotations

import importlib
from types import ModuleType

from zarrkit.errors import UnsupportedFeature


def import_optional(*modules: str, needed_for: str, extra: str) -> ModuleType:
    """Import ``modules`` (a package and any submodules it needs) and return the first one.

    Raises UnsupportedFeature naming what the package is ``needed_for`` and the zarrkit ``extra``
    that installs it, so ``import zarrkit`` works without the optional libraries and their absence is explained.
    """
    try:
        imported = [importlib.import_module(module) for module in modules]
    except ImportError:
        raise UnsupportedFeature(
            f"{needed_for}: the {modules[0]} package is not installed; pip install 'zarrkit[{extra}]'"
        ) from None
    return imported[0]
