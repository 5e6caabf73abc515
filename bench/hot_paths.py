"""Micro-benchmark of the per-advert hot paths (issue 11), µs per advert, timeit.

- `encode`: one VRRPv2 advert to bytes; `validate`: one received IPv4 packet through
  RFC 3768 7.1; `core receive`: the state machine taking an accepted advert.
- `daemon receive`: a real `Daemon` on the fake kernel (tests/unit/harness.py), a
  backup of --routers VRIDs, a batch of one advert per VRID from a higher-priority
  master read from its socket: all of `RouterLoop.on_readable` (validate, core,
  counters, re-arming the Master_Down timer).
- `daemon send`: the same daemon as master of every VRID, each Adver_Timer firing:
  what `RouterLoop.on_timer` does at the deadline (core, encode, send on the fake
  socket, re-arm).

Best of --repeat rounds (the least disturbed). No root needed.

    .venv/bin/python bench/hot_paths.py [--routers 255] [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import timeit
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from failover.protocol.packet import Advertisement, encode
from failover.protocol.receive import ReceivePolicy, validate
from failover.protocol.router import VirtualRouter
from tests.unit.builders import ip_packet, router_config
from tests.unit.harness import Harness, router

PEER, ME = IPv4Address("192.0.2.2"), IPv4Address("192.0.2.1")


def best(fn: Callable[[], object], per: int, repeat: int, number: int) -> float:
    """µs per item: the best of `repeat` rounds of `number` calls doing `per` items."""
    times = timeit.repeat(fn, repeat=repeat, number=number)
    return min(times) / (number * per) * 1e6


def vip(vrid: int) -> str:
    return f"203.0.113.{vrid}/24" if vrid <= 254 else "198.51.100.254/24"


def protocol(repeat: int) -> dict[str, float]:
    config = router_config()
    core = VirtualRouter(config, ME)
    core.start(0.0)
    adv = Advertisement(51, 150, (IPv4Address("192.0.2.100"),))
    packet = ip_packet(encode(adv), src=PEER)
    policies = {51: core.policy}
    local = frozenset({ME})
    assert isinstance(core.policy, ReceivePolicy)
    return {
        "encode": best(lambda: encode(adv), 1, repeat, 20000),
        "validate": best(lambda: validate(packet, policies, local), 1, repeat, 20000),
        "core receive": best(lambda: core.receive(adv, PEER, 1.0), 1, repeat, 20000),
    }


async def daemon(routers: int, repeat: int) -> dict[str, float]:
    vrids = range(1, routers + 1)
    with tempfile.TemporaryDirectory() as tmp:
        configs = [router(v, 100, ip_addresses=[vip(v)]) for v in vrids]
        async with Harness(Path(tmp), configs) as h:
            iface = h.d.model.interfaces[("eth0", 4)]
            sock = h.kernel.socks["eth0"]
            batch = [
                ip_packet(encode(Advertisement(v, 150, (IPv4Address(vip(v)[:-3]),))), src=PEER)
                for v in vrids
            ]

            def receive() -> None:
                sock.inbox = list(batch)
                h.d.routers.on_readable(iface)

            rx = best(receive, routers, repeat, 20)
            assert all(r.core.master_ip == PEER for r in h.d.model.routers)
            for v in vrids:  # every Master_Down timer fires: master of all
                h.master(v)
            all_routers = list(h.d.model.routers)
            sock.sent.clear()
            sock.sent_to.clear()

            def send() -> None:
                for r in all_routers:  # as on_timer at the Adver_Timer's deadline
                    deadline = r.core.next_deadline()
                    assert deadline is not None
                    h.d.routers.feed(r, r.core.expire(deadline))
                assert len(sock.sent) == len(all_routers)
                sock.sent.clear()
                sock.sent_to.clear()

            tx = best(send, routers, repeat, 20)
    return {"daemon receive": rx, "daemon send": tx}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routers", type=int, default=255)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    figures = protocol(args.repeat) | asyncio.run(daemon(args.routers, args.repeat))
    print(f"| path ({args.routers} routers for the daemon's) | µs per advert |")
    print("|---|---|")
    for name, us in figures.items():
        print(f"| {name} | {us:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
