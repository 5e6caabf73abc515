"""Loss soak (issue 12): spurious takeovers under random VRRP loss, failover next to
keepalived 2.2.7, all labs of one configuration side by side.

For each loss level (--levels, default 10,20,30 %) and implementation, its own lab: r1
master (priority 200) and r2 backup (100) of one VRID; once converged, the bridge drops
that share of every VRRP packet it forwards (nftables `numgen random`, per packet and
per egress port: Lab.add_loss) for --minutes; then the loss stops and the pair must
come back to exactly one master (r1 MASTER, r2 BACKUP, by both daemons' own view:
failover's status, keepalived's notify files) and stay so.

Counted the same way for both, from captures (bench/vrrp_capture.py) on eth0 inside r1
(the adverts it sent) and inside r2 (what reached r2 through the loss, and what r2 sent):

- a spurious takeover is r2 sending an advert while it last heard r1 (it became MASTER);
  it ends at the next advert of r1 that reaches r2 (r2 goes back to BACKUP, RFC 3768
  6.4.3); the sum of these spans is the dual-master time;
- `late gaps`: gaps between r1's adverts as r2 received them longer than r2's
  Master_Down_Interval: the takeovers RFC 3768 6.4.2 demands, given what r2 heard.

Expected count from the loss model: adverts every T, r2's Master_Down_Interval
MDI = 3 T + Skew_Time (RFC 3768 6.1: Skew_Time = (256 - 100) / 256 s at T = 1 s; RFC
5798 6.1: (256 - 100) / 256 x T), here 3.609 T. After the last advert r2 heard, at t0,
r1 sends at t0 + T, t0 + 2T, ...; r2's timer fires at t0 + MDI unless one of the
k = ceil(MDI / T) - 1 = 3 adverts sent before it arrives. So a takeover needs a run of
at least k consecutive losses on the r1 -> r2 path, one per run (it ends at the first
advert that arrives), and with N adverts each lost with probability p independently:

    expected takeovers = N x (1 - p) x p^k        (runs of >= k losses, N >> k)

    .venv/bin/python bench/loss_soak.py --write                       # v2, 1 s: 10 min
    .venv/bin/python bench/loss_soak.py --version 3 --interval 0.1 --write
    .venv/bin/python bench/loss_soak.py --minutes 1 --levels 30       # a short look

--write puts the table in docs/reliability.md (its own section per version and
interval, refreshed in place). Needs root.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loss_model import (
    consecutive_losses,
    expected_takeovers,
    late_gaps,
    poisson_range,
    sent,
    takeovers,
)
from bench.reliability import RELIABILITY, measured_run, write_section
from bench.scale import CAPTURE, IMPLS, PRIORITIES, Settings, converged, runnable
from bench.scale import start_pair as start_scale_pair
from bench.v3_outage import Peer
from bench.vrrp_capture import read as read_adverts
from failover.lab.lab import LANS, Lab
from failover.lab.wait import wait_until
from failover.protocol.router import master_down_interval


@dataclass
class Soak:
    """One lab: a loss level and an implementation."""

    level: int
    impl: str
    lab: Lab
    master: Peer
    backup: Peer
    start: float = 0.0  # time.time() when the loss began
    stop: float = 0.0  # ... and ended
    settled: float | None = None  # s from the end of the loss to exactly one master

    @property
    def paths(self) -> tuple[str, str]:
        return str(self.lab.path("r1-adverts.txt")), str(self.lab.path("r2-adverts.txt"))


@dataclass(frozen=True)
class Row:
    level: int
    impl: str
    adverts: int  # r1's, during the loss
    heard: int  # of those, reaching r2
    expected: float
    late_gaps: int
    takeovers: int
    dual_master: float  # s, summed
    dual_master_max: float
    settled: float | None


def open_soak(level: int, impl: str, settings: Settings) -> Soak:
    lab = Lab(routers=2, client=False, ipv6=False).up()
    try:
        for host, path in zip(lab.routers, ("r1-adverts.txt", "r2-adverts.txt"), strict=True):
            lab.start(host, [sys.executable, str(CAPTURE), LANS[0].ifname, str(lab.path(path))])
        master, backup, _ = start_scale_pair(lab, impl, 1, settings)
    except BaseException:
        lab.close()
        raise
    return Soak(level, impl, lab, master, backup)


def row(soak: Soak, settings: Settings) -> Row:
    mdi = master_down_interval(PRIORITIES[1], settings.interval, settings.version)
    k = consecutive_losses(mdi, settings.interval)
    r1, r2 = (str(h.ip) for h in soak.lab.routers)
    at_r1, at_r2 = (read_adverts(p) for p in soak.paths)
    adverts = sent(at_r1, r1, soak.start, soak.stop)
    heard = sent(at_r2, r1, soak.start, soak.stop)
    spans = takeovers(at_r2, r1, r2, soak.start, soak.stop + mdi)
    lengths = [(end if end is not None else soak.stop) - began for began, end in spans]
    return Row(
        soak.level, soak.impl, len(adverts), len(heard),
        expected_takeovers(len(adverts), soak.level / 100, k),
        late_gaps(sent(at_r2, r1, 0.0, math.inf), mdi, soak.start, soak.stop),
        len(spans), sum(lengths), max(lengths, default=0.0), soak.settled,
    )  # fmt: skip


def one_master(soaks: Sequence[Soak], settings: Settings) -> None:
    """Each soak's seconds from the end of its loss until r1 MASTER and r2 BACKUP (both
    daemons' views), in `settled`; then all must stay so for 3 Master_Down_Intervals."""

    def pending() -> list[str]:
        for soak in soaks:
            if soak.settled is None and converged(soak.master, soak.backup, 1):
                soak.settled = time.time() - soak.stop
        return [f"{s.impl} {s.level} %" for s in soaks if s.settled is None]

    wait_until(lambda: not pending(), 30, 0.02, what="one master in every lab after the loss")
    time.sleep(3 * master_down_interval(PRIORITIES[1], settings.interval, settings.version))
    for soak in soaks:
        if not converged(soak.master, soak.backup, 1):
            raise RuntimeError(f"{soak.impl} {soak.level} %: not one master after the loss")


def soak_all(
    levels: Sequence[int], settings: Settings, minutes: float
) -> tuple[list[Row], list[float]]:
    """The rows, and the 1-minute load average sampled each minute of the loss."""
    loads: list[float] = []
    with contextlib.ExitStack() as stack:
        soaks = []
        for level in levels:
            for impl in IMPLS:
                soak = open_soak(level, impl, settings)
                stack.callback(soak.lab.close)
                soaks.append(soak)
                print(f"  {impl} {level} %: converged", flush=True)
        for soak in soaks:
            soak.start = time.time()
            soak.lab.add_loss(soak.level)
        end = time.monotonic() + minutes * 60
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(60.0, left))
            loads.append(os.getloadavg()[0])
            progress = ", ".join(f"{s.impl} {s.level} %: {len(so_far(s))}" for s in soaks)
            print(f"  {minutes - max(end - time.monotonic(), 0) / 60:.1f} min, load "
                  f"{loads[-1]:.2f}; takeovers so far: {progress}", flush=True)  # fmt: skip
        for soak in soaks:
            soak.lab.clear_loss()
            soak.stop = time.time()
        one_master(soaks, settings)
        rows = [row(s, settings) for s in soaks]
    return rows, loads


def so_far(soak: Soak) -> list[tuple[float, float | None]]:
    r1, r2 = (str(h.ip) for h in soak.lab.routers)
    return takeovers(read_adverts(soak.paths[1]), r1, r2, soak.start, math.inf)


def table(rows: Sequence[Row], settings: Settings, minutes: float) -> list[str]:
    mdi = master_down_interval(PRIORITIES[1], settings.interval, settings.version)
    k = consecutive_losses(mdi, settings.interval)
    lines = [
        f"VRRPv{settings.version}, adverts every {settings.interval:g} s, loss for "
        f"{minutes:g} min; r2's Master_Down_Interval {mdi:.3f} s, so k = {k} consecutive "
        f"losses make a takeover; expected = adverts x (1 - p) x p^{k}.",
        "",
        "| loss | implementation | adverts (r1) | reached r2 | expected takeovers (95 %) "
        "| late gaps at r2 | spurious takeovers | dual-master time (sum / longest) "
        "| one master after the loss |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reached = f"{r.heard} ({100 * (1 - r.heard / r.adverts):.1f} % lost)" if r.adverts else "0"
        settled = "n/a" if r.settled is None else f"{r.settled:.2f} s"
        low, high = poisson_range(r.expected)
        lines.append(f"| {r.level} % | {r.impl} | {r.adverts} | {reached} | {r.expected:.1f} "
                     f"({low}-{high}) "
                     f"| {r.late_gaps} | {r.takeovers} | {r.dual_master:.2f} s / "
                     f"{r.dual_master_max:.2f} s | {settled} |")  # fmt: skip
    return lines


def reading(rows: Sequence[Row]) -> str:
    """What the table says, in words: takeovers against the RFC and against the model."""
    exact = [r for r in rows if r.takeovers == r.late_gaps]
    inside = [r for r in rows if poisson_range(r.expected)[0] <= r.takeovers
              <= poisson_range(r.expected)[1]]  # fmt: skip
    return (
        f"Spurious takeovers equal the late gaps in {len(exact)} of {len(rows)} rows (a "
        "daemon that took over exactly when RFC 3768 6.4.2 says, given what it heard, and "
        f"never otherwise); {len(inside)} of {len(rows)} counts lie in the model's 95 % "
        "Poisson range."
    )


def section(rows: Sequence[Row], loads: Sequence[float], settings: Settings, minutes: float,
            command: str, machine: dict[str, str]) -> str:  # fmt: skip
    load = f"{statistics.mean(loads):.2f}" if loads else "n/a"
    return "\n".join([
        f"## Loss: VRRPv{settings.version} at {settings.interval:g} s adverts "
        f"(`bench/loss_soak.py`)",
        "",
        "```",
        command,
        "```",
        "",
        f"All {len(rows)} labs side by side, each its own bridge; loss by nftables on the "
        "bridge (`numgen random`, every VRRP packet, each egress port drawn alone). "
        "Counts from captures inside r1 and r2 (method: bench/loss_soak.py's docstring); "
        "`late gaps`: gaps longer than Master_Down_Interval between r1's adverts as r2 "
        "received them, the takeovers the RFC demands given what r2 heard. `one master "
        "after the loss`: from the end of the loss until r1 MASTER and r2 BACKUP by both "
        "daemons' own views, which then held for 3 Master_Down_Intervals.",
        "",
        *table(rows, settings, minutes),
        "",
        reading(rows),
        "",
        f"Load: the 1-minute load average during the loss, sampled each minute, mean "
        f"{load} (max {max(loads, default=0.0):.2f}) on {machine.get('nproc', '?')} cores, "
        "other labs running beside.",
        "",
        "| fact | value |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine.items()),
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="10,20,30", help="loss percentages, comma list")
    parser.add_argument("--minutes", type=float, default=10.0, help="loss duration")
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--interval", type=float, default=1.0, help="advert interval, s")
    write = f"write the section in {RELIABILITY.relative_to(RELIABILITY.parents[1])}"
    parser.add_argument("--write", action="store_true", help=write)
    args = parser.parse_args()
    levels = [int(v) for v in str(args.levels).split(",")]
    if not all(0 < v < 100 for v in levels):
        parser.error("--levels: percentages between 1 and 99")
    if not runnable(parser, args.version, args.interval):
        return 2
    command = ".venv/bin/python bench/loss_soak.py " + " ".join(sys.argv[1:])
    settings = Settings(args.version, args.interval, 0.0, 0.0)
    print(f"{command}\nlevels {levels} %, {args.minutes:g} min, VRRPv{args.version} at "
          f"{args.interval:g} s", flush=True)  # fmt: skip
    with measured_run() as machine:
        rows, loads = soak_all(levels, settings, args.minutes)
    print()
    print("\n".join(table(rows, settings, args.minutes)))
    if args.write:
        key = f"loss-v{args.version}-{args.interval:g}s"
        write_section(key, section(rows, loads, settings, args.minutes, command, machine))
        print(f"wrote section {key} of {RELIABILITY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
