"""The daemon with IPv6 routers on the fake kernel: one interface per family, adverts from
the link-local address with their pseudo-header, NAs on becoming master, nodad VIPs."""

from __future__ import annotations

import asyncio
from ipaddress import IPv6Address
from pathlib import Path
from typing import Any

import pytest

from failover.daemon.errors import ExitCode
from failover.protocol.packet import VRRP_GROUP6, decode, message_length, pseudo_header
from failover.protocol.router import State

from .harness import Harness, router

V6 = "2001:db8::100/64"
LINK_LOCAL = IPv6Address("fe80::1")


def v6(vrid: int = 61, **kw: Any) -> dict[str, Any]:
    return router(vrid, version=3, ip_addresses=[V6], **kw)


def harness(tmp_path: Path, *routers: dict[str, Any], link_local: bool = True) -> Harness:
    h = Harness(tmp_path, list(routers))
    if link_local:
        h.kernel.netlink.links["eth0"][1].append(f"{LINK_LOCAL}/64")
    return h


def test_an_ipv6_router_beside_an_ipv4_one(tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(tmp_path, router(51), v6(61)) as h:
            assert set(h.d.model.interfaces) == {("eth0", 4), ("eth0", 6)}
            r = h.router(61, family=6)
            assert r.iface.primary == LINK_LOCAL and r.core.state is State.BACKUP
            deadline = r.core.next_deadline()
            assert deadline is not None
            h.d.routers.feed(r, r.core.expire(deadline))
            assert r.core.state == State.MASTER  # type: ignore[comparison-overlap]
            (message,) = h.kernel.socks["eth0/6"].sent
            head = pseudo_header(LINK_LOCAL, VRRP_GROUP6, message_length(1, 3, True))
            advert = decode(message, ipv6=True, pseudo=head)
            assert (advert.vrid, advert.version, advert.advert_interval) == (61, 3, 100)
            assert h.kernel.socks["eth0/6"].sent_to == [None]  # the group, ff02::12
            assert await h.changes() == [("add", V6)]
            assert h.kernel.ndiscs["eth0"].bursts == [(IPv6Address("2001:db8::100"),)]
            assert h.kernel.socks["eth0"].sent == []  # nothing on the IPv4 socket
            status = h.d.status({})
            assert {(i["name"], i["family"]) for i in status["interfaces"]} == {
                ("eth0", 4),
                ("eth0", 6),
            }

    asyncio.run(main())


def test_an_interface_without_a_link_local_address_is_refused(tmp_path: Path) -> None:
    async def main() -> None:
        h = harness(tmp_path, v6(61), link_local=False)
        with pytest.raises(Exception) as info:
            await h.start()
        assert getattr(info.value, "code", None) == ExitCode.INTERFACE
        assert "no usable link-local IPv6 address" in str(info.value)

    asyncio.run(main())


def test_a_left_over_link_local_vip_is_not_the_source(tmp_path: Path) -> None:
    async def main() -> None:
        vip = "fe80::1:100/64"  # a crashed run left the router's link-local VIP first
        h = Harness(tmp_path, [router(61, version=3, ip_addresses=[vip, V6])])
        h.kernel.netlink.links["eth0"][1][:0] = [vip]
        h.kernel.netlink.links["eth0"][1].append(f"{LINK_LOCAL}/64")
        async with h:
            assert h.router(61, family=6).iface.primary == LINK_LOCAL
            assert await h.changes() == [("remove", vip)]  # and it is cleared as stale

    asyncio.run(main())
