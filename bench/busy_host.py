"""Busy host (issue 12): takeover timing with every core busy in the backup's namespace,
next to idle, failover next to keepalived 2.2.7 in the same run.

As bench/scale.py measures timer precision: a pair (r1 priority 200, r2 100, one VRID),
r1 cut off the LAN --cuts times at a random phase of its advert timer; a capture in the
client's namespace (bench/vrrp_capture.py) gives the takeover delay, r2's first advert
minus r1's last minus r2's Master_Down_Interval, and the client's ping outage (VIP every
10 ms). `hog`: as many busy-loop processes as the machine has cores (`nproc`, --hogs)
run in r2's namespace from the pair's start to the lab's end, at the default nice 0.

--realtime-priority N (1..99) adds a run of failover with its global `realtime_priority`
(SCHED_RR at N, as keepalived's `vrrp_rt_priority`) and --nice M one with `nice`
(as keepalived's `vrrp_priority`), each idle and hogged. Needs root.

    .venv/bin/python bench/busy_host.py --cuts 10 --realtime-priority 10 --write
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reliability import RELIABILITY, measured_run, write_section
from bench.scale import (
    PRIORITIES,
    Settings,
    Takeover,
    retried,
    runnable,
    spread,
    takeovers,
)
from failover.protocol.router import master_down_interval

CONDITIONS = ("idle", "hog")


@dataclass(frozen=True)
class Variant:
    impl: str
    label: str
    daemon: dict[str, Any] = field(default_factory=dict)  # failover's global keys


def variants(args: argparse.Namespace) -> list[Variant]:
    out = [Variant("failover", "failover"), Variant("keepalived", "keepalived")]
    if args.realtime_priority is not None:
        rt = {"realtime_priority": args.realtime_priority}
        out.append(Variant("failover", f"failover, realtime_priority {args.realtime_priority}", rt))
    if args.nice is not None:
        out.append(Variant("failover", f"failover, nice {args.nice}", {"nice": args.nice}))
    return out


def table(results: dict[tuple[str, str], list[Takeover]], bound: float) -> list[str]:
    lines = [
        f"Delay beyond Master_Down_Interval ({bound:.3f} s), ms; client outage: longest gap "
        "in replies to a ping of the VIP every 10 ms.",
        "",
        "| implementation | host | cuts | delay median | min | p25 | p75 | max "
        "| client outage median | max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, condition), got in results.items():
        d = spread([t.delay * 1000 for t in got])
        o = spread([t.outage for t in got])
        lines.append(f"| {label} | {condition} | {len(got)} | "
                     + " | ".join(f"{v:+.1f}" for v in d)
                     + f" | {o[0]:.3f} s | {o[4]:.3f} s |")  # fmt: skip
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", type=int, default=10, help="cuts per implementation and host")
    parser.add_argument("--hogs", type=int, default=os.cpu_count() or 1, help="busy loops")
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--interval", type=float, default=1.0, help="advert interval, s")
    parser.add_argument("--realtime-priority", type=int, help="also failover at SCHED_RR N")
    parser.add_argument("--nice", type=int, help="also failover at this nice value")
    write = f"write the section in {RELIABILITY.relative_to(RELIABILITY.parents[1])}"
    parser.add_argument("--write", action="store_true", help=write)
    args = parser.parse_args()
    if not runnable(parser, args.version, args.interval):
        return 2
    command = ".venv/bin/python bench/busy_host.py " + " ".join(sys.argv[1:])
    print(f"{command}\n{args.cuts} cuts each, {args.hogs} busy loops", flush=True)
    results: dict[tuple[str, str], list[Takeover]] = {}
    with measured_run() as machine:
        for condition in CONDITIONS:
            hogs = args.hogs if condition == "hog" else 0
            for v in variants(args):
                s = Settings(args.version, args.interval, 0.0, 0.0, v.daemon)
                print(f"{v.label}, {condition}:", flush=True)
                results[v.label, condition] = retried(
                    f"{v.label} {condition}", partial(takeovers, v.impl, args.cuts, s, hogs)
                )
    bound = master_down_interval(PRIORITIES[1], args.interval, args.version)
    lines = table(results, bound)
    print("\n" + "\n".join(lines))
    if args.write:
        body = [
            f"## Busy host: VRRPv{args.version} at {args.interval:g} s, {args.hogs} busy "
            "loops in the backup's namespace (`bench/busy_host.py`)",
            "",
            "```",
            command,
            "```",
            "",
            f"VRRPv{args.version} at {args.interval:g} s; r1 (priority 200) cut off the LAN "
            f"at a random phase of its timer, {args.cuts} times per row; `hog`: "
            f"{args.hogs} `while True: pass` processes in r2's namespace (nice 0) for the "
            "whole lab, so r2's daemon competes for every core. Measured from a capture in "
            "the client's namespace, as bench/scale.py does.",
            "",
            *lines,
            "",
            "| fact | value |",
            "|---|---|",
            *(f"| {k} | {v} |" for k, v in machine.items()),
        ]
        key = f"busy-host-v{args.version}-{args.interval:g}s"
        write_section(key, "\n".join(body))
        print(f"wrote section {key} of {RELIABILITY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
