"""A namespaced LAN for watching and testing failover: `failover lab`, tests, Molecule.

The names below load on first use (PEP 562), so that importing `failover.lab.cli` to
register the `lab` subcommand does not load pyroute2 into every `failover` command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from failover.lab.lab import DEFAULT_VIP, DEFAULT_VIP6, LANS, Host, Lab, LabError
    from failover.lab.netns import sweep, unavailable
    from failover.lab.probe import HttpGetter, Outage, Pinger
    from failover.lab.procs import Proc
    from failover.lab.wait import WaitTimeout, wait_until

_HOME = {
    "DEFAULT_VIP": "lab",
    "DEFAULT_VIP6": "lab",
    "LANS": "lab",
    "Host": "lab",
    "Lab": "lab",
    "LabError": "lab",
    "sweep": "netns",
    "unavailable": "netns",
    "HttpGetter": "probe",
    "Outage": "probe",
    "Pinger": "probe",
    "Proc": "procs",
    "WaitTimeout": "wait",
    "wait_until": "wait",
}

__all__ = [
    "DEFAULT_VIP",
    "DEFAULT_VIP6",
    "LANS",
    "Host",
    "HttpGetter",
    "Lab",
    "LabError",
    "Outage",
    "Pinger",
    "Proc",
    "WaitTimeout",
    "sweep",
    "unavailable",
    "wait_until",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
