"""Bridges between zarrkit and other libraries.

Each bridge lives in its own module and imports its library there, so ``import zarrkit`` (and
``import zarrkit.integrations``) never imports them; nothing else in zarrkit imports this package.

- :mod:`zarrkit.integrations.zarr_python`: any zarrkit store as a zarr-python 3 store.
"""
