"""failover's own figures (issue 3): client outage on failover, and the cost of 255 VRs.

1. Master cut off the LAN (backup priority 100, interval 1 s): the client's longest gap
   in replies (ICMP every 10 ms to the VIP), median over --runs fresh labs, next to the
   protocol bound Master_Down_Interval = 3 x 1 + Skew_Time = 3.609 s. The event comes
   at a random phase of the master's advert timer, so a cut lands anywhere between two
   adverts (expect about the bound minus U(0, 1) s).
2. Master stopped gracefully (SIGTERM: priority-0 advert): median outage, next to
   Skew_Time 0.609 s.
3. 255 virtual routers on one interface, two daemons (r1 master of all, r2 backup of
   all): CPU % and RSS of each daemon over --window seconds once converged, read from
   /proc/<pid>/stat and /proc/<pid>/status.

Needs root:  sudo .venv/bin/python bench/failover_outage.py [--runs 5] [--window 20]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from ipaddress import IPv4Interface

from failover.lab import DEFAULT_VIP, Lab, unavailable, wait_until
from failover.lab.nodes import Node, converged, group, router
from failover.protocol.router import master_down_interval, skew_time

VRID = 51
MASTER_PRIORITY, BACKUP_PRIORITY = 150, 100
TIMEOUT = 60.0


def outage_once(event: str) -> float:
    """One fresh lab: converge, cause `event` ("cut" or "stop"), the client's longest gap."""
    with Lab(routers=2) as lab:
        r1, r2 = group(lab, (MASTER_PRIORITY, BACKUP_PRIORITY), VRID, interval=1)
        wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master")
        pinger = lab.ping(DEFAULT_VIP.ip, period=0.01)
        time.sleep(random.uniform(0, 1))  # a random phase against r1's 1 s advert timer
        action = (lambda: lab.cut(r1.host)) if event == "cut" else r1.stop
        outage = pinger.measure(
            action,
            lambda: r2.state(VRID) == "MASTER" and DEFAULT_VIP.ip in lab.addresses(r2.host),
            TIMEOUT,
        )
        return outage.longest_gap


def vip(vrid: int) -> IPv4Interface:
    """A distinct documentation address (RFC 5737) per VRID."""
    if vrid <= 254:
        return IPv4Interface(f"203.0.113.{vrid}/24")
    return IPv4Interface("198.51.100.254/24")


@dataclass(frozen=True)
class Usage:
    cpu_percent: float
    rss_mib: float
    peak_rss_mib: float


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (/proc/<pid>/stat fields 14 and 15), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) from /proc/<pid>/status, in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def many_routers(count: int, window: float) -> list[tuple[str, Usage, dict[str, int]]]:
    """Two daemons with `count` VRs each; usage over `window` s after convergence."""
    with Lab(routers=2, client=False) as lab:
        nodes = [
            Node(lab, host, [router(v, prio, vips=[vip(v)]) for v in range(1, count + 1)])
            for host, prio in zip(lab.routers, (200, BACKUP_PRIORITY), strict=True)
        ]
        for node in nodes:
            node.start()
        master, backup = nodes
        want = (
            {v: "MASTER" for v in range(1, count + 1)},
            {v: "BACKUP" for v in range(1, count + 1)},
        )
        t0 = time.monotonic()
        wait_until(lambda: (master.states(), backup.states()) == want, TIMEOUT, 0.2,
                   what=f"r1 master and r2 backup of all {count}")  # fmt: skip
        print(f"  {count} VRs converged {time.monotonic() - t0:.1f}s after start", flush=True)
        pids = [n.running.pid for n in nodes]
        for pid in pids:  # `ip netns exec` execs: the pid is the daemon's own
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                assert b"failover" in f.read()
        before = [cpu_seconds(p) for p in pids]
        counts0 = [_counts(n) for n in nodes]
        start = time.monotonic()
        time.sleep(window)  # the measurement window itself, not a wait for a condition
        elapsed = time.monotonic() - start
        after = [cpu_seconds(p) for p in pids]
        counts1 = [_counts(n) for n in nodes]
        out = []
        for name, node, pid, b, a, c0, c1 in zip(
            ("r1 (master of all)", "r2 (backup of all)"), nodes, pids, before, after,
            counts0, counts1, strict=True,
        ):  # fmt: skip
            rss, peak = memory_mib(pid)
            usage = Usage(100 * (a - b) / elapsed, rss, peak)
            delta = {k: c1[k] - c0[k] for k in c0}
            assert node.running.alive()
            out.append((name, usage, delta))
        return out


def _counts(node: Node) -> dict[str, int]:
    status = node.status()
    return {
        "sent": sum(r["adverts_sent"] for r in status),
        "received": sum(r["adverts_received"] for r in status),
        "drops": sum(sum(r["drops"].values()) for r in status),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per outage figure")
    parser.add_argument("--window", type=float, default=20.0, help="CPU/RSS window, s")
    parser.add_argument("--routers", type=int, default=255, help="VRs per daemon")
    args = parser.parse_args()
    reason = unavailable()
    if reason:
        print(f"bench: {reason}", file=sys.stderr)
        return 2

    rows = []
    bounds = {
        "cut": (master_down_interval(BACKUP_PRIORITY, 1), "Master_Down_Interval 3 x 1 + 0.609"),
        "stop": (skew_time(BACKUP_PRIORITY), "Skew_Time (256 - 100) / 256"),
    }
    for event, label in (("cut", "master cut off the LAN"), ("stop", "master stopped (SIGTERM)")):
        gaps = []
        for i in range(args.runs):
            gaps.append(outage_once(event))
            print(f"  {label}: run {i + 1}/{args.runs}: outage {gaps[-1]:.3f}s", flush=True)
        rows.append((label, gaps, *bounds[event]))
    usage = many_routers(args.routers, args.window)

    print(f"\nClient-visible outage, pinging the VIP every 10 ms (backup priority "
          f"{BACKUP_PRIORITY}, advert interval 1 s, {args.runs} runs)\n")  # fmt: skip
    print("| event | median | min | max | protocol bound |")
    print("|---|---|---|---|---|")
    for label, gaps, bound, why in rows:
        print(f"| {label} | {statistics.median(gaps):.3f} s | {min(gaps):.3f} s | "
              f"{max(gaps):.3f} s | {bound:.3f} s ({why}) |")  # fmt: skip
    print(f"\n{args.routers} virtual routers on one interface, one VIP each, "
          f"over {args.window:g} s once converged\n")  # fmt: skip
    print("| daemon | CPU | RSS | peak RSS | adverts sent | received | drops |")
    print("|---|---|---|---|---|---|---|")
    for name, u, d in usage:
        mem = f"{u.rss_mib:.1f} MiB | {u.peak_rss_mib:.1f} MiB"
        print(f"| {name} | {u.cpu_percent:.1f} % | {mem} | {d['sent']} | {d['received']} | "
              f"{d['drops']} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
