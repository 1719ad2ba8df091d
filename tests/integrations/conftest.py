"""Run the ``async def`` tests of this directory (zarr-python's store test suite has many).

Each one runs on zarr-python's own event loop thread, through ``zarr.core.sync.sync``: that is
where zarr-python awaits store methods in real use, so the bridge is tested where it must work.
"""

from __future__ import annotations

import inspect

import pytest
from zarr.core.sync import sync


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a coroutine test function to completion on zarr-python's loop; leave others to pytest."""
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    sync(function(**arguments), timeout=60)
    return True
