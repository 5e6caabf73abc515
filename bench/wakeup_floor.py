"""What one wake-up of a Python event loop costs on this machine (issue 11's N=1 floor).

An asyncio timer that does nothing, --rate times a second, and a bare epoll_wait loop
at the same rate, each for --seconds: CPU (user + system, getrusage) per wake-up. A
daemon that must wake once per advert cannot cost less per advert than this.

    .venv/bin/python bench/wakeup_floor.py [--rate 10] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import select
import sys
import time


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def asyncio_ticks(rate: float, seconds: float) -> tuple[int, float]:
    loop = asyncio.get_running_loop()
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        loop.call_at(loop.time() + 1 / rate, tick)

    tick()
    before = cpu()
    await asyncio.sleep(seconds)
    return ticks, cpu() - before


def epoll_ticks(rate: float, seconds: float) -> tuple[int, float]:
    ep, ticks = select.epoll(), 0
    before, end = cpu(), time.monotonic() + seconds
    while time.monotonic() < end:
        ep.poll(1 / rate)
        ticks += 1
    return ticks, cpu() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print("| loop | wake-ups | CPU % | µs per wake-up |\n|---|---|---|---|")
    for name, (n, used) in (
        ("asyncio timer", asyncio.run(asyncio_ticks(args.rate, args.seconds))),
        ("bare epoll_wait", epoll_ticks(args.rate, args.seconds)),
    ):
        print(f"| {name} | {n} | {100 * used / args.seconds:.3f} % | {used / n * 1e6:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
