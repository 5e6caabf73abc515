"""The only code that touches the kernel: sockets, netlink, ARP, namespaces.

pyroute2's package `__init__` imports all of pyroute2 (NDB, IPDB, conntrack, WireGuard,
nl80211, ...): about 6 MB of a daemon's memory for modules it never uses. Importing
this package first puts a stand-in for `pyroute2` in `sys.modules` that only finds its
submodules (`pyroute2.iproute.linux`, ...), what failover imports; the first use of a
top-level name (`from pyroute2 import IPRoute`, in the lab, say) runs the real
`__init__` then, so nothing else notices (issue 11).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def _lean_pyroute2() -> None:
    if "pyroute2" in sys.modules:
        return  # imported whole already
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or spec.loader is None:
        return  # not installed: the import itself will say so
    package = importlib.util.module_from_spec(spec)  # its __path__, not yet run

    def __getattr__(name: str) -> Any:
        if importlib.util.find_spec(f"pyroute2.{name}") is not None:
            return importlib.import_module(f"pyroute2.{name}")  # `from pyroute2 import config`
        del package.__getattr__
        assert spec.loader is not None
        spec.loader.exec_module(package)  # the whole package, as `import pyroute2`
        return getattr(package, name)

    setattr(package, "__getattr__", __getattr__)  # noqa: B010 (a module attribute)
    sys.modules["pyroute2"] = package


_lean_pyroute2()
