"""The daemon's glue with fake sockets: receive path, drop counters, timers, actions.

No root and no kernel: the interface's VRRP socket and ARP sender are fakes, address
jobs are only queued (their netlink half runs in the integration tests).
"""

from __future__ import annotations

import asyncio
import socket
from ipaddress import IPv4Address
from typing import Any

from failover.config import Config
from failover.daemon import Daemon, Interface, Router
from failover.protocol.packet import Advertisement, decode, encode
from failover.protocol.router import State

from .builders import ip_packet, router_config

VIP = ("192.0.2.100/24",)


class FakeSock:
    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.inbox: list[bytes] = []
        self._pair = socket.socketpair()  # a real fd for add_reader, never readable

    def fileno(self) -> int:
        return self._pair[0].fileno()

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def receive(self) -> list[bytes]:
        out, self.inbox = self.inbox, []
        return out

    def close(self) -> None:
        for s in self._pair:
            s.close()


def advert(vrid: int, priority: int, src: str = "192.0.2.2", ttl: int = 255) -> bytes:
    adv = Advertisement(vrid, priority, (IPv4Address("192.0.2.100"),))
    return ip_packet(encode(adv), src=src, ttl=ttl)


def jobs(d: Daemon) -> list[tuple[str, Any]]:
    """The queued address/ARP jobs as (kind, addresses)."""
    out = []
    for job in list(d._jobs._queue):  # type: ignore[attr-defined]
        if job.func.__name__ == "_apply":
            out.append(("add" if job.args[1] else "remove", job.args[2]))
        else:
            out.append(("garp", job.args[1]))
    return out


def run(test: Any) -> None:
    """Build a daemon with two routers sharing a VIP on one fake interface; run `test`."""

    async def main() -> None:
        rc1 = router_config(vrid=51, priority=100, addresses=VIP, name="VR_1")
        rc2 = router_config(vrid=52, priority=110, addresses=VIP, name="VR_2")
        d = Daemon(Config((rc1, rc2)), "/nonexistent/failover.sock")
        sock = FakeSock()
        iface = Interface("eth0", 2, IPv4Address("192.0.2.1"), sock, None)  # type: ignore[arg-type]
        d.interfaces = {"eth0": iface}
        d._build_routers()
        d._start()
        try:
            test(d, iface, sock, *d.routers)
        finally:
            for r in d.routers:
                if r.timer:
                    r.timer.cancel()
            loop = asyncio.get_running_loop()
            loop.remove_reader(sock.fileno())
            sock.close()

    asyncio.run(main())


def test_start_arms_one_timer_per_router_at_master_down() -> None:
    def check(d: Daemon, iface: Interface, sock: FakeSock, r1: Router, r2: Router) -> None:
        for r in (r1, r2):
            assert r.core.state is State.BACKUP
            assert r.timer is not None and r.armed == r.core.next_deadline()
            assert r.timer.when() == r.armed
        assert sock.sent == []

    run(check)


def test_receive_path_counts_adverts_and_drops_by_reason() -> None:
    def check(d: Daemon, iface: Interface, sock: FakeSock, r1: Router, r2: Router) -> None:
        before = r1.armed
        sock.inbox = [
            advert(51, 200),  # accepted: a higher-priority master
            advert(51, 200, ttl=64),  # RFC 3768 7.1: TTL must be 255
            advert(99, 200),  # VRID not configured here: counted on the interface
            b"\x45",  # truncated
        ]
        d._on_readable(iface)
        assert r1.adverts_received == 1
        assert r1.core.master_ip == IPv4Address("192.0.2.2")
        assert r1.drops == {"bad_ttl": 1}
        assert iface.drops == {"unknown_vrid": 1, "truncated": 1}
        assert r1.armed is not None and before is not None and r1.armed > before
        assert r1.timer is not None and r1.timer.when() == r1.armed  # re-armed, one timer
        assert r2.adverts_received == 0 and r2.drops == {}

    run(check)


def test_master_sends_adverts_adds_vips_and_garps_then_shuts_down() -> None:
    def check(d: Daemon, iface: Interface, sock: FakeSock, r1: Router, r2: Router) -> None:
        # Both routers' Master_Down timers fire: both become master of the shared VIP.
        for r in (r1, r2):
            deadline = r.core.next_deadline()
            assert deadline is not None
            d._feed(r, r.core.expire(deadline))
            assert r.core.state is State.MASTER and r.adverts_sent == 1
        sent = [decode(p) for p in sock.sent]
        assert [(a.vrid, a.priority) for a in sent] == [(51, 100), (52, 110)]
        assert [kind for kind, _ in jobs(d)] == ["add", "garp", "add", "garp"]

        status = d.status({})
        assert status["ok"] is True and isinstance(status["pid"], int)
        row = status["routers"][1]
        assert row["name"] == "VR_2" and row["state"] == "MASTER"
        assert row["master_ip"] == "192.0.2.1" and row["adverts_sent"] == 1
        assert set(row) >= {
            "name", "vrid", "interface", "state", "priority", "master_ip", "since",
            "adverts_sent", "adverts_received", "drops",
        }  # fmt: skip

        # RFC 3768 6.4.3 Shutdown: priority 0 adverts; the shared VIP is removed once,
        # by the last router holding it.
        d._shutdown()
        assert [(a.vrid, a.priority) for a in map(decode, sock.sent[2:])] == [(51, 0), (52, 0)]
        assert [kind for kind, _ in jobs(d)][4:] == ["remove"]
        assert all(r.timer is None for r in (r1, r2))

    run(check)


def test_link_down_gives_up_and_link_up_starts_again() -> None:
    def check(d: Daemon, iface: Interface, sock: FakeSock, r1: Router, r2: Router) -> None:
        deadline = r2.core.next_deadline()
        assert deadline is not None
        d._feed(r2, r2.core.expire(deadline))
        assert r2.core.state is State.MASTER

        d._link_changed(iface, running=False)
        assert not iface.running
        assert r1.core.state is r2.core.state is State.INITIALIZE
        assert r1.timer is None and r2.timer is None  # nothing to time without a link
        assert [kind for kind, _ in jobs(d)] == ["add", "garp", "remove"]
        assert len(sock.sent) == 1  # no priority-0 advert on a dead link

        d._link_changed(iface, running=True)
        assert r1.core.state is r2.core.state is State.BACKUP  # RFC 3768 6.4.1 Startup
        assert r1.timer is not None and r2.timer is not None

    run(check)
