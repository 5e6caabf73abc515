"""The router loop with a fake kernel: receive path, drop counters, timers, actions.

The daemon runs through its own `run()` (tests/unit/harness.py); the kernel is fake.
"""

from __future__ import annotations

import asyncio
import logging
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from failover.control import StatusReply
from failover.protocol.packet import Advertisement, decode, encode
from failover.protocol.router import State
from failover.runtime.netlink import LinkEvent
from tests.control_replies import problems

from .builders import ip_packet
from .harness import A, Harness, router, until

VIP = [A]
ROUTERS = [router(51, 100, name="VR_1"), router(52, 110, name="VR_2")]  # sharing VIP A


def advert(vrid: int, priority: int, src: str = "192.0.2.2", ttl: int = 255) -> bytes:
    adv = Advertisement(vrid, priority, (IPv4Address("192.0.2.100"),))
    return ip_packet(encode(adv), src=src, ttl=ttl)


def test_start_arms_one_timer_per_router_at_master_down(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, ROUTERS) as h:
            deadlines = h.d.routers.deadlines
            for vrid in (51, 52):
                r = h.router(vrid)
                assert r.core.state is State.BACKUP
                assert deadlines.get(r) == r.core.next_deadline() is not None
            # one asyncio timer, at the earliest of them
            assert deadlines.wakeup == min(h.router(v).core.next_deadline() or 0 for v in (51, 52))
            assert h.sent() == []

    asyncio.run(main())


def test_receive_path_counts_adverts_and_drops_by_reason(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, ROUTERS) as h:
            r1, r2 = h.router(51), h.router(52)
            iface = r1.iface
            deadlines = h.d.routers.deadlines
            before = deadlines.get(r1)
            h.kernel.socks["eth0"].inbox = [
                advert(51, 200),  # accepted: a higher-priority master
                advert(51, 200, ttl=64),  # RFC 3768 7.1: TTL must be 255
                advert(99, 200),  # VRID not configured here: counted on the interface
                b"\x45",  # truncated
            ]
            h.d.routers.on_readable(iface)
            assert r1.adverts_received == 1
            assert r1.core.master_ip == IPv4Address("192.0.2.2")
            assert r1.drops == {"bad_ttl": 1}
            assert iface.drops == {"unknown_vrid": 1, "truncated": 1}
            after = deadlines.get(r1)
            assert after is not None and before is not None and after > before
            assert after == r1.core.next_deadline()  # moved on by the advert
            assert r2.adverts_received == 0 and r2.drops == {}

    asyncio.run(main())


def test_an_owner_advert_with_other_addresses_is_accepted_and_logged_a_few_times(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """RFC 3768 7.1: processed (not a drop), the event logged, rate-limited."""
    caplog.set_level(logging.WARNING, logger="failover")
    other = Advertisement(51, 255, (IPv4Address("192.0.2.101"),))

    async def main() -> None:
        async with Harness(tmp_path, ROUTERS) as h:
            r = h.router(51)
            h.kernel.socks["eth0"].inbox = [ip_packet(encode(other))] * 3
            h.d.routers.on_readable(r.iface)
            assert r.adverts_received == 3 and r.drops == {}
            assert r.core.master_priority == 255

    asyncio.run(main())
    logged = [m for m in caplog.messages if "owner's (priority 255) advert" in m]
    assert logged == [
        "VR_1 vrid=51 eth0: accepted an owner's (priority 255) advert from 192.0.2.2 although its "
        "addresses ['192.0.2.101'] differ from ours"
    ]


def test_master_sends_adverts_adds_vips_and_garps_then_shuts_down(tmp_path: Path) -> None:
    async def main() -> None:
        h = await Harness(tmp_path, ROUTERS).start()
        # Both routers' Master_Down timers fire: both become master of the shared VIP.
        for vrid in (51, 52):
            assert h.master(vrid).adverts_sent == 1
        assert h.sent() == [(51, 100), (52, 110)]
        assert await h.changes() == [("add", A), ("add", A)]
        assert h.kernel.arps["eth0"].bursts == [(IPv4Address("192.0.2.100"),)] * 2

        status = h.d.status({})
        assert problems(StatusReply, status) == []  # the real daemon keeps the contract
        assert status["ok"] is True and isinstance(status["pid"], int)
        row = status["routers"][1]
        assert row["name"] == "VR_2" and row["state"] == "MASTER"
        assert row["master_ip"] == "192.0.2.1" and row["adverts_sent"] == 1

        # RFC 3768 6.4.3 Shutdown: priority 0 adverts; the shared VIP is removed once,
        # by the last router holding it; every socket is closed.
        r1, r2 = h.router(51), h.router(52)
        assert await h.stop() == 0
        assert h.sent()[2:] == [(51, 0), (52, 0)]
        assert (await h.changes())[2:] == [("remove", A)]
        assert h.d.routers.deadlines.get(r1) is h.d.routers.deadlines.get(r2) is None
        assert h.kernel.socks["eth0"].closed and h.kernel.arps["eth0"].closed
        assert not h.control.exists()

    asyncio.run(main())


def test_link_down_is_fault_and_link_up_starts_again(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, ROUTERS) as h:
            r1, r2 = h.router(51), h.router(52)
            h.master(52)
            h.kernel.links.queue.put_nowait(LinkEvent(index=2, running=False))
            await until(lambda: not r1.iface.running)
            assert r1.core.state is r2.core.state is State.FAULT
            assert r1.core.faults == ("interface eth0 down",)
            deadlines = h.d.routers.deadlines
            assert deadlines.get(r1) is deadlines.get(r2) is None  # nothing to time without a link
            assert await h.changes() == [("add", A), ("remove", A)]
            assert len(h.kernel.socks["eth0"].sent) == 1  # no priority-0 advert on a dead link
            assert h.d.status({})["routers"][0]["faults"] == ["interface eth0 down"]

            h.kernel.links.queue.put_nowait(LinkEvent(index=2, running=True))
            await until(lambda: r1.iface.running)
            assert {r1.core.state, r2.core.state} == {State.BACKUP}  # RFC 3768 6.4.1 Startup
            assert deadlines.get(r1) is not None and deadlines.get(r2) is not None

    asyncio.run(main())


def test_adverts_on_the_wire_are_what_the_core_says(tmp_path: Path) -> None:
    async def main() -> None:
        async with Harness(tmp_path, [router(51, 200)]) as h:
            h.master(51)
            (sent,) = h.kernel.socks["eth0"].sent
            assert decode(sent) == h.router(51).core.advertisement()

    asyncio.run(main())


def test_another_master_is_counted_logged_and_announced_to(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """router.py "another master": the daemon carries it out (status, log, ARP burst);
    a burst still under way stays cancellable beside the new one."""

    async def main() -> None:
        async with Harness(tmp_path, [router(51, 200)]) as h:
            r = h.master(51)
            became = r.core.state_since
            assert became is not None
            arps = h.kernel.arps["eth0"]
            under_way = asyncio.get_running_loop().call_later(60, lambda: None)
            r.garp = [under_way]  # as a long garp_repeat/garp_delay burst leaves it
            h.kernel.socks["eth0"].inbox = [advert(51, 150)]
            h.d.routers.on_readable(r.iface)  # within an interval of its own ARPs: no burst
            (row,) = h.d.status({})["routers"]
            assert row["state"] == "MASTER" and row["dual_master_periods"] == 1
            logged = "eth0: another master on the LAN: 192.0.2.2 (priority 150); dual-master"
            assert f"{logged} period 1" in caplog.text
            lower = Advertisement(51, 150, (IPv4Address("192.0.2.100"),))
            h.d.routers.feed(r, r.core.receive(lower, IPv4Address("192.0.2.2"), became + 1.5))
            assert await h.d.addresses.drain(5)
            assert arps.bursts == [(IPv4Address("192.0.2.100"),)] * 2  # became master, again
            assert r.garp == [under_way]
            h.kernel.socks["eth0"].inbox = [advert(51, 250)]  # 6.4.3: a higher one: backup
            h.d.routers.on_readable(r.iface)
            assert r.core.state is State.BACKUP and under_way.cancelled()
            assert h.sent()[-1] == (51, 200)  # its last advert (router.py)

    asyncio.run(main())
