"""Client outage when the master's service fails, failover next to keepalived (issue 9).

The "service" is a file on the master (present = healthy). failover tracks it with an
`exec` check (`/usr/bin/test -e FILE`), keepalived with the same command as a
`vrrp_script`; both every 1 s, fall 1, rise 1. The master (priority 150) loses the file;
the backup (100) takes over. Two ways: weight -100 (the master's priority drops to 50,
the backup preempts when its Master_Down_Interval runs out; bound: interval + 3.609 s)
and weight 0 (FAULT: the master sends priority 0, the backup takes over after Skew_Time;
bound: interval + 0.609 s). A lab client pings the VIP every 10 ms; the longest gap is
the outage; median of --runs fresh labs per case, both implementations in the same run.
Needs root.

    .venv/bin/python bench/check_outage.py --runs 5
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
from tests.interop.peers import Instance, KeepalivedPeer

VRID = 51
INTERVAL = 1.0  # seconds between check runs, both implementations


class Peer(Protocol):
    host: Host

    def start(self) -> object: ...
    def state(self, vrid: int) -> str | None: ...


def failover_peer(lab: Lab, host: str, priority: int, flag: Path, weight: int) -> Peer:
    check = {"type": "exec", "command": ["/usr/bin/test", "-e", str(flag)], "interval": INTERVAL}
    vr = dict(router(VRID, priority), track=[{"check": "svc", "weight": weight}])
    return Node(lab, host, [vr], checks={"svc": check})


def keepalived_peer(lab: Lab, host: str, priority: int, flag: Path, weight: int) -> Peer:
    instance = Instance(VRID, priority, track_exists=str(flag), track_weight=weight)
    return KeepalivedPeer(lab, host, [instance])


IMPLEMENTATIONS: dict[str, Callable[[Lab, str, int, Path, int], Peer]] = {
    "failover": failover_peer,
    "keepalived": keepalived_peer,
}


def one_run(impl: str, weight: int) -> float:
    """A fresh lab: converge, remove the master's file, the client's longest gap (s)."""
    with Lab(routers=2) as lab:
        flags = {h: lab.path(f"{h}-service-up") for h in ("r1", "r2")}
        for flag in flags.values():
            flag.write_text("")
        make = IMPLEMENTATIONS[impl]
        master = make(lab, "r1", 150, flags["r1"], weight)
        backup = make(lab, "r2", 100, flags["r2"], weight)
        master.start()
        wait_until(lambda: master.state(VRID) == "MASTER", 30, what="r1 master")
        backup.start()
        wait_until(lambda: backup.state(VRID) == "BACKUP", 30, what="r2 backup")
        pinger = lab.ping(DEFAULT_VIP.ip, period=0.01)
        outage = pinger.measure(flags["r1"].unlink, lambda: backup.state(VRID) == "MASTER")
        return outage.longest_gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bounds = {
        -100: INTERVAL + master_down_interval(100, 1),
        0: INTERVAL + skew_time(100),
    }
    print(f"{'implementation':<12} {'weight':>6} {'median':>8} {'min':>7} {'max':>7} bound")
    for weight in (-100, 0):
        for impl in IMPLEMENTATIONS:
            gaps = [one_run(impl, weight) for _ in range(args.runs)]
            print(
                f"{impl:<12} {weight:>6} {statistics.median(gaps):7.3f}s {min(gaps):6.3f}s "
                f"{max(gaps):6.3f}s {bounds[weight]:.3f}s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
