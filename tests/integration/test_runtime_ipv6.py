"""The kernel-facing IPv6 pieces on a real kernel: VrrpSocket6, NeighborAdvertiser,
Netlink's IPv6 addresses (and VrrpSocket's unicast), in the lab's namespaces.

Sockets are opened inside a host's namespace (`inside`) and used from the test; `ip`
in the namespaces is the independent judge of addresses and neighbour entries.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager
from ipaddress import IPv4Address, IPv6Address, IPv6Interface
from typing import Any, TypeVar

import pytest
from pyroute2 import netns

from failover.lab import DEFAULT_VIP, DEFAULT_VIP6, Lab, wait_until
from failover.protocol.packet import VRRP_GROUP6
from failover.protocol.receive import Datagram
from failover.runtime.arp import GarpSender
from failover.runtime.ndisc import NeighborAdvertiser
from failover.runtime.netlink import Netlink
from failover.runtime.sockets import VrrpSocket, VrrpSocket6
from tests.support import MakeLab

pytestmark = pytest.mark.root
TIMEOUT = 30
IFNAME = "eth0"
VIP = DEFAULT_VIP6.ip
STALE_MAC = "02:00:00:00:00:01"
# The checksum field is deliberately wrong: the kernel must neither fix nor check it.
MESSAGE = bytes.fromhex("31 33 64 01 00 64 de ad") + IPv6Address("fe80::100").packed
T = TypeVar("T")


@contextmanager
def inside(lab: Lab, host: str) -> Iterator[None]:
    """Run the block in `host`'s namespace (sockets made there stay there)."""
    netns.pushns(lab.host(host).ns)
    try:
        yield
    finally:
        netns.popns()


def with_netlink(lab: Lab, host: str, use: Callable[[Netlink, int], Awaitable[T]]) -> T:
    """`use(netlink, index of eth0)` run to completion inside `host`'s namespace."""

    async def run() -> T:
        async with Netlink() as nl:
            return await use(nl, await nl.index(IFNAME))

    with inside(lab, host):
        return asyncio.run(run())


def link_local(lab: Lab, host: str) -> IPv6Address | None:
    return with_netlink(lab, host, lambda nl, index: nl.link_local(index))


def ip_json(lab: Lab, host: str, *argv: str) -> Any:
    return json.loads(lab.run(host, ["ip", "-j", *argv]).stdout or "[]")


def ip_addrs6(lab: Lab, host: str) -> list[dict[str, Any]]:
    """`ip -6 addr` of eth0: one dict per address (local, prefixlen, flags as keys)."""
    (link,) = ip_json(lab, host, "-6", "addr", "show", "dev", IFNAME)
    return list(link["addr_info"])


def mac(lab: Lab, host: str) -> str:
    (link,) = ip_json(lab, host, "link", "show", "dev", IFNAME)
    return str(link["address"])


def ipv6_lab(make_lab: MakeLab) -> tuple[Lab, dict[str, IPv6Address]]:
    """Two routers and a client with IPv6 (the lab's), and each router's link-local
    address as `Netlink.link_local` finds it, checked against the lab's own reading."""
    lab = make_lab(routers=2)
    local = {}
    for host in ("r1", "r2"):
        found = link_local(lab, host)
        assert found is not None and found == lab.host(host).link_local[IFNAME]
        usable = {a["local"] for a in ip_addrs6(lab, host) if not a.get("tentative")}
        assert str(found) in usable and found.is_link_local
        local[host] = found
    return lab, local


def open6(lab: Lab, host: str, source: IPv6Address) -> VrrpSocket6:
    with inside(lab, host):
        return VrrpSocket6(IFNAME, socket.if_nametoindex(IFNAME), source)


def received(sock: VrrpSocket6, into: list[Datagram], count: int) -> bool:
    into.extend(sock.receive())
    return len(into) >= count


def test_multicast_advert_reaches_the_peer_and_not_the_sender(make_lab: MakeLab) -> None:
    lab, local = ipv6_lab(make_lab)
    with closing(open6(lab, "r1", local["r1"])) as s1, closing(open6(lab, "r2", local["r2"])) as s2:
        s1.send(MESSAGE)
        at_r2: list[Datagram] = []
        wait_until(lambda: received(s2, at_r2, 1), TIMEOUT, what="r2 to hear r1's advert")
        # RFC 5798 5.1.2: from r1's link-local to ff02::12, hop limit 255, bytes intact.
        assert at_r2 == [Datagram(local["r1"], VRRP_GROUP6, 255, MESSAGE)]
        reply = MESSAGE[:2] + b"\x32" + MESSAGE[3:]
        s2.send(reply)
        at_r1: list[Datagram] = []
        wait_until(lambda: received(s1, at_r1, 1), TIMEOUT, what="r1 to hear r2's advert")
        # A loop-back of r1's own advert would have been queued before r2's reply.
        assert at_r1 == [Datagram(local["r2"], VRRP_GROUP6, 255, reply)]
        assert s2.receive() == []  # nor did r2 hear its own


def test_unicast_to_the_link_local_and_the_global_address(make_lab: MakeLab) -> None:
    lab, local = ipv6_lab(make_lab)
    with closing(open6(lab, "r1", local["r1"])) as s1, closing(open6(lab, "r2", local["r2"])) as s2:
        s1.send(MESSAGE, local["r2"])
        s1.send(MESSAGE[::-1], lab.host("r2").ip6)
        got: list[Datagram] = []
        wait_until(lambda: received(s2, got, 2), TIMEOUT, what="r2 to hear both unicasts")
        assert sorted(got, key=lambda d: d.payload) == sorted(
            [
                Datagram(local["r1"], local["r2"], 255, MESSAGE),
                Datagram(local["r1"], lab.host("r2").ip6, 255, MESSAGE[::-1]),
            ],
            key=lambda d: d.payload,
        )


def test_ipv4_socket_unicasts_from_its_source_and_still_multicasts(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1, r2 = lab.routers
    socks = []
    for host in (r1, r2):
        with inside(lab, host.name):
            socks.append(VrrpSocket(IFNAME, socket.if_nametoindex(IFNAME), host.ip))
    with closing(socks[0]) as s1, closing(socks[1]) as s2:
        s1.send(b"unicast", r2.ip)
        s1.send(b"multicast")
        got: list[bytes] = []

        def heard() -> bool:
            got.extend(s2.receive())
            return len(got) >= 2

        wait_until(heard, TIMEOUT, what="r2 to hear both")
        seen = {p[20:]: (p[8], IPv4Address(p[12:16]), IPv4Address(p[16:20])) for p in got}
        assert seen == {
            b"unicast": (255, r1.ip, r2.ip),
            b"multicast": (255, r1.ip, IPv4Address("224.0.0.18")),
        }


def neighbour(lab: Lab, address: IPv4Address | IPv6Address) -> dict[str, Any]:
    """The client's neighbour entry for `address` on eth0 ({} if none)."""
    family = f"-{address.version}"
    entries = ip_json(lab, "client", family, "neigh", "show", str(address), "dev", IFNAME)
    return dict(entries[0]) if entries else {}


def make_stale(lab: Lab, address: IPv4Address | IPv6Address) -> None:
    """The client believes `address` is at STALE_MAC (an entry an announcement updates)."""
    lab.run("client", ["ip", "neigh", "replace", str(address), "lladdr", STALE_MAC,
                       "dev", IFNAME, "nud", "stale"])  # fmt: skip
    assert neighbour(lab, address)["lladdr"] == STALE_MAC


def points_to(lab: Lab, address: IPv4Address | IPv6Address, want: str) -> None:
    what = f"the client's entry for {address} to point to {want}"
    wait_until(lambda: neighbour(lab, address).get("lladdr") == want, TIMEOUT, what=what)


def test_gratuitous_arp_overrides_the_clients_entry(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    vip = DEFAULT_VIP.ip
    make_stale(lab, vip)
    with inside(lab, "r1"):
        sender = GarpSender(IFNAME)
    with closing(sender):
        assert sender.mac.hex(":") == mac(lab, "r1")
        sender.send([vip])
        points_to(lab, vip, mac(lab, "r1"))


@pytest.mark.parametrize("virtual", [False, True], ids=["own-mac", "given-mac"])
def test_neighbor_advert_overrides_the_clients_entry(make_lab: MakeLab, virtual: bool) -> None:
    lab, _ = ipv6_lab(make_lab)
    make_stale(lab, VIP)
    with_netlink(lab, "r1", lambda nl, index: nl.add(index, IPv6Interface(f"{VIP}/64")))
    want = "02:00:5e:00:02:07" if virtual else mac(lab, "r1")
    given = bytes.fromhex(want.replace(":", "")) if virtual else None
    with inside(lab, "r1"):
        advertiser = NeighborAdvertiser(IFNAME, mac=given)
    errors: list[OSError] = []

    async def announce() -> None:  # as the daemon does: a burst now, one more later
        loop = asyncio.get_running_loop()
        (later,) = advertiser.schedule(loop, (VIP,), 2, 0.01, lambda: True, errors.append)
        while loop.time() <= later.when():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)

    with closing(advertiser):
        assert advertiser.mac.hex(":") == want
        asyncio.run(announce())
        assert errors == []
        points_to(lab, VIP, want)
    assert "router" in neighbour(lab, VIP)  # the R flag (RFC 5798 6.4.2)


def test_netlink_ipv6_addresses_flags_and_link_local(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    # Duplicate address detection on and slow (60 s), then the link bounced: its own
    # link-local address is tentative for the whole test.
    lab.run("r1", ["sysctl", "-qw", f"net.ipv6.conf.{IFNAME}.accept_dad=1",
                   f"net.ipv6.conf.{IFNAME}.dad_transmits=1",
                   f"net.ipv6.neigh.{IFNAME}.retrans_time_ms=60000"])  # fmt: skip
    lab.run("r1", ["ip", "link", "set", IFNAME, "down"])
    lab.run("r1", ["ip", "link", "set", IFNAME, "up"])

    def tentative_link_local() -> bool:
        return any(
            a["local"].startswith("fe80:") and a.get("tentative") for a in ip_addrs6(lab, "r1")
        )

    wait_until(tentative_link_local, TIMEOUT, what="r1's tentative link-local address")
    assert link_local(lab, "r1") is None

    vip, control = IPv6Interface("2001:db8::200/64"), "2001:db8::201/64"
    local = IPv6Interface("fe80::a1/64")

    async def add(nl: Netlink, index: int) -> list[bool]:
        return [await nl.add(index, vip), await nl.add(index, vip), await nl.add(index, local)]

    assert with_netlink(lab, "r1", add) == [True, False, True]  # the second: already there
    lab.run("r1", ["ip", "-6", "addr", "add", control, "dev", IFNAME])  # with DAD

    listed = with_netlink(lab, "r1", lambda nl, index: nl.addresses(index, socket.AF_INET6))
    mine = {str(a.address): a for a in listed}
    assert mine[str(vip)].usable and mine[str(vip)].nodad
    assert mine[control].tentative and not mine[control].usable and not mine[control].nodad
    by_ip = {f"{a['local']}/{a['prefixlen']}": a for a in ip_addrs6(lab, "r1")}
    assert set(mine) == set(by_ip)
    assert {k for k, a in by_ip.items() if a.get("tentative")} == {
        k for k, a in mine.items() if a.tentative
    }
    assert link_local(lab, "r1") == local.ip  # the auto one is still tentative
    ipv4 = with_netlink(lab, "r1", lambda nl, index: nl.addresses(index))  # the default
    assert [a.address for a in ipv4] == [lab.routers[0].addresses[IFNAME]]

    async def remove(nl: Netlink, index: int) -> list[bool]:
        return [await nl.remove(index, vip), await nl.remove(index, vip)]

    assert with_netlink(lab, "r1", remove) == [True, False]
    assert str(vip) not in {f"{a['local']}/{a['prefixlen']}" for a in ip_addrs6(lab, "r1")}
