"""A namespaced LAN for watching and testing failover: `failover lab`, tests, Molecule."""

from failover.lab.lab import DEFAULT_VIP, LANS, Host, Lab, LabError
from failover.lab.netns import sweep, unavailable
from failover.lab.probe import Outage, Pinger
from failover.lab.procs import Proc
from failover.lab.wait import WaitTimeout, wait_until

__all__ = [
    "DEFAULT_VIP",
    "LANS",
    "Host",
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
