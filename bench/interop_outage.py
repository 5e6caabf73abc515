"""Client-visible outage in homogeneous and mixed VRRPv2 groups (issue 4's figures).

For each pair (master implementation, backup implementation) and each event (master
cut off the LAN, master stopped gracefully), a lab client pings the VIP every 10 ms and
the longest reply gap is the outage; the median over --runs runs is printed next to
the protocol bounds (interval 1 s, backup priority 100: Master_Down_Interval 3.609 s,
Skew_Time 0.609 s). Needs root.

    sudo .venv/bin/python bench/interop_outage.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from failover.lab.lab import DEFAULT_VIP, Host, Lab
from failover.lab.nodes import Node, router
from failover.lab.wait import wait_until
from failover.protocol.router import master_down_interval, skew_time
from tests.interop.peers import FrrPeer, Instance, KeepalivedPeer

VRID = 51
MASTER_PRIORITY, BACKUP_PRIORITY = 150, 100


class Peer(Protocol):
    host: Host

    def start(self) -> object: ...
    def stop(self, timeout: float = 10.0) -> object: ...
    def state(self, vrid: int) -> str | None: ...


Factory = Callable[[Lab, str, int], Peer]
IMPLEMENTATIONS: dict[str, Factory] = {
    "failover": lambda lab, host, prio: Node(lab, host, [router(VRID, prio)]),
    "keepalived": lambda lab, host, prio: KeepalivedPeer(lab, host, [Instance(VRID, prio)]),
    "frr": lambda lab, host, prio: FrrPeer(lab, host, [Instance(VRID, prio)]),
}
PAIRS = [
    ("failover", "failover"),
    ("keepalived", "keepalived"),
    ("failover", "keepalived"),
    ("keepalived", "failover"),
    ("failover", "frr"),
    ("frr", "failover"),
]


def one_run(master_impl: str, backup_impl: str, event: str) -> float:
    """Build a lab, converge, cause `event`, return the client's longest gap (s)."""
    with Lab(routers=2) as lab:
        master = IMPLEMENTATIONS[master_impl](lab, "r1", MASTER_PRIORITY)
        backup = IMPLEMENTATIONS[backup_impl](lab, "r2", BACKUP_PRIORITY)
        master.start()
        backup.start()
        wait_until(
            lambda: master.state(VRID) == "MASTER" and backup.state(VRID) == "BACKUP",
            30,
            what="convergence",
        )
        pinger = lab.ping(DEFAULT_VIP.ip, period=0.01)
        action = (lambda: lab.cut(master.host)) if event == "cut" else master.stop
        outage = pinger.measure(action, lambda: backup.state(VRID) == "MASTER")
        return outage.longest_gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pairs", nargs="*", help="e.g. failover/keepalived (default: all)")
    args = parser.parse_args()
    pairs = [tuple(p.split("/")) for p in args.pairs] if args.pairs else PAIRS
    bounds = {
        "cut": master_down_interval(BACKUP_PRIORITY, 1),
        "graceful": skew_time(BACKUP_PRIORITY),
    }
    print(f"{'master -> backup':<26} {'event':<9} {'median':>8} {'min':>7} {'max':>7} bound")
    for master_impl, backup_impl in pairs:
        for event in ("cut", "graceful"):
            gaps = [one_run(master_impl, backup_impl, event) for _ in range(args.runs)]
            print(
                f"{master_impl + ' -> ' + backup_impl:<26} {event:<9} "
                f"{statistics.median(gaps):7.3f}s {min(gaps):6.3f}s {max(gaps):6.3f}s "
                f"{bounds[event]:.3f}s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
