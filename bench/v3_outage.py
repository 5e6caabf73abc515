"""VRRPv3 at a tenth of a second (issue 10): client outage and CPU, failover next to
keepalived 2.2.7 in the same run.

A pair of one implementation (r1 priority 150, r2 100), one VRRPv3 router at
`advert_int 0.1`: the client pings the VIP every 10 ms; the longest gap when the master
is cut off the LAN (bound: Master_Down_Interval = 3 x 0.1 + Skew_Time = 0.361 s at
priority 100) and when it stops gracefully (bound: Skew_Time 0.061 s), median of --runs
fresh labs. Then, converged, the CPU each router's processes use over --window seconds
(all processes in its namespace: keepalived's parent and its VRRP child; failover's
one), from /proc/<pid>/stat. Needs root.

    .venv/bin/python bench/v3_outage.py --runs 5 [--interval 0.1] [--window 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.failover_outage import cpu_seconds
from failover.lab.lab import DEFAULT_VIP, Host, Lab
from failover.lab.netns import pids
from failover.lab.nodes import Node, router
from failover.lab.wait import wait_until
from failover.protocol.router import master_down_interval, skew_time
from tests.interop.peers import Instance, KeepalivedPeer

VRID = 51
PRIORITIES = (150, 100)


class Peer(Protocol):
    host: Host

    def start(self) -> object: ...
    def stop(self, timeout: float = 10.0) -> object: ...
    def state(self, vrid: int) -> str | None: ...


Factory = Callable[[Lab, str, int, float], Peer]
IMPLEMENTATIONS: dict[str, Factory] = {
    "failover": lambda lab, host, prio, interval: Node(
        lab, host, [router(VRID, prio, version=3, interval=interval)]
    ),
    "keepalived": lambda lab, host, prio, interval: KeepalivedPeer(
        lab, host, [Instance(VRID, prio, version=3, interval=interval)]
    ),
}


def pair(lab: Lab, impl: str, interval: float) -> tuple[Peer, Peer]:
    master, backup = (IMPLEMENTATIONS[impl](lab, h, p, interval)
                      for h, p in zip(("r1", "r2"), PRIORITIES, strict=True))  # fmt: skip
    master.start()
    wait_until(lambda: master.state(VRID) == "MASTER", 30, what="r1 master")
    backup.start()
    wait_until(lambda: backup.state(VRID) == "BACKUP", 30, what="r2 backup")
    return master, backup


def outage(impl: str, event: str, interval: float) -> float:
    with Lab(routers=2) as lab:
        master, backup = pair(lab, impl, interval)
        pinger = lab.ping(DEFAULT_VIP.ip, period=0.01)
        action = (lambda: lab.cut(master.host)) if event == "cut" else master.stop
        return pinger.measure(action, lambda: backup.state(VRID) == "MASTER").longest_gap


def cpu(impl: str, interval: float, window: float) -> tuple[float, float]:
    """CPU % of the master's and the backup's processes over `window` s, converged."""
    with Lab(routers=2, client=False) as lab:
        master, backup = pair(lab, impl, interval)
        time.sleep(3 * interval + 1)  # settle: the backup has heard a few adverts
        procs = [pids(p.host.ns) for p in (master, backup)]
        before = [sum(cpu_seconds(p) for p in ps) for ps in procs]
        start = time.monotonic()
        time.sleep(window)  # the measurement window itself
        elapsed = time.monotonic() - start
        after = [sum(cpu_seconds(p) for p in ps) for ps in procs]
        assert master.state(VRID) == "MASTER" and backup.state(VRID) == "BACKUP"
        return 100 * (after[0] - before[0]) / elapsed, 100 * (after[1] - before[1]) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--window", type=float, default=20.0)
    args = parser.parse_args()
    bounds = {
        "cut": master_down_interval(PRIORITIES[1], args.interval, 3),
        "graceful": skew_time(PRIORITIES[1], args.interval, 3),
    }
    print(f"VRRPv3, advert_int {args.interval:g} s, median of {args.runs} runs\n")
    print("| implementation | event | median | min | max | bound |")
    print("|---|---|---|---|---|---|")
    for event in ("cut", "graceful"):
        for impl in IMPLEMENTATIONS:
            gaps = [outage(impl, event, args.interval) for _ in range(args.runs)]
            print(f"| {impl} | {event} | {statistics.median(gaps):.3f} s | {min(gaps):.3f} s "
                  f"| {max(gaps):.3f} s | {bounds[event]:.3f} s |", flush=True)  # fmt: skip
    print(f"\nCPU over {args.window:g} s, one router at {args.interval:g} s, median of "
          f"{args.runs} runs\n")  # fmt: skip
    print("| implementation | master | backup |")
    print("|---|---|---|")
    for impl in IMPLEMENTATIONS:
        runs = [cpu(impl, args.interval, args.window) for _ in range(args.runs)]
        m = statistics.median(r[0] for r in runs)
        b = statistics.median(r[1] for r in runs)
        print(f"| {impl} | {m:.2f} % | {b:.2f} % |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
