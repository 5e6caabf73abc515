"""The VRRPv3 peers themselves: keepalived pairs and FRR pairs, no failover daemon.

Proves each new rendering of tests/interop/peers.py with a real run before failover is
put beside it: two peers of one kind (r1 priority 150, r2 100) converge to one MASTER
(r1) and one BACKUP by their own reports, only the master's VIP is live, and the client
reaches it. VRRPv3 over IPv4 at a sub-second interval, over IPv6, and (keepalived)
over unicast with the multicast group's VRRP dropped on the LAN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Interface, IPv6Interface
from pathlib import Path
from typing import Protocol

import pytest

from failover.lab.lab import DEFAULT_VIP, DEFAULT_VIP6, Host, Lab
from failover.lab.wait import wait_until

from .peers import FrrPeer, Instance, KeepalivedPeer

pytestmark = [pytest.mark.root, pytest.mark.interop]
VRID = 51
PRIORITIES = (150, 100)  # r1 wins

V3_IPV4 = Instance(VRID, version=3, interval=0.5)
V3_IPV6 = Instance(VRID, version=3, vips=(DEFAULT_VIP6,))
CASES = {"v3-ipv4": V3_IPV4, "v3-ipv6": V3_IPV6}


class Peer(Protocol):
    host: Host

    def state(self, vrid: int) -> str | None: ...
    def log(self) -> str: ...


def vip(instance: Instance) -> IPv4Interface | IPv6Interface:
    return instance.vips[0]


def settled(peers: Sequence[Peer], holds: Sequence[bool]) -> bool:
    """r1 MASTER and r2 BACKUP by their own reports, and the VIP live on r1 only."""
    states = [p.state(VRID) for p in peers]
    return states == ["MASTER", "BACKUP"] and list(holds) == [True, False]


def client_reaches(lab: Lab, address: IPv4Interface | IPv6Interface) -> None:
    pinger = lab.ping(address)
    wait_until(lambda: pinger.reachable(0.2), 15, what=f"the client to reach {address.ip}")


def keepalived_pair(lab: Lab, instances: Sequence[Instance]) -> list[KeepalivedPeer]:
    return [
        KeepalivedPeer(lab, host, [replace(i, priority=p)]).start()
        for host, i, p in zip(lab.routers, instances, PRIORITIES, strict=True)
    ]


def keepalived_converge(lab: Lab, peers: list[KeepalivedPeer], instance: Instance) -> None:
    def holds() -> list[bool]:
        return [p.host in lab.holders(vip(instance)) for p in peers]

    wait_until(
        lambda: settled(peers, holds()),
        30,
        what=f"r1 MASTER, r2 BACKUP (states {[p.state(VRID) for p in peers]}, holds {holds()})",
    )


@pytest.mark.parametrize("instance", CASES.values(), ids=CASES.keys())
def test_keepalived_pair_converges(lab: Lab, keepalived: str, instance: Instance) -> None:
    peers = keepalived_pair(lab, [instance, instance])
    conf = peers[0].conf.read_text()
    assert "version 3" in conf and f"advert_int {instance.interval:g}\n" in conf
    keepalived_converge(lab, peers, instance)
    client_reaches(lab, vip(instance))
    log = peers[1].log()
    assert "Unknown keyword" not in log, log[-2000:]


UNICAST = {
    "ipv4": (DEFAULT_VIP, ("192.0.2.1", "192.0.2.2"), "ip daddr 224.0.0.18"),
    "ipv6": (DEFAULT_VIP6, ("2001:db8::1", "2001:db8::2"), "ip6 daddr ff02::12"),
}


@pytest.mark.parametrize(("address", "sources", "group"), UNICAST.values(), ids=UNICAST.keys())
def test_keepalived_pair_over_unicast(
    lab: Lab,
    keepalived: str,
    address: IPv4Interface | IPv6Interface,
    sources: tuple[str, str],
    group: str,
) -> None:
    """VRRP to the multicast group is dropped on the LAN: they agree over unicast only."""
    lab.add_loss(100, match=group)
    instances = [
        Instance(VRID, version=3, vips=(address,), unicast_source=mine, unicast_peers=(peer,))
        for mine, peer in (sources, sources[::-1])
    ]
    peers = keepalived_pair(lab, instances)
    conf = peers[0].conf.read_text()
    assert f"unicast_src_ip {sources[0]}\n" in conf
    assert f"unicast_peer {{\n    {sources[1]}\n  }}" in conf
    keepalived_converge(lab, peers, instances[0])
    client_reaches(lab, address)


@pytest.mark.parametrize("instance", CASES.values(), ids=CASES.keys())
def test_frr_pair_converges(lab: Lab, frr: Path, instance: Instance) -> None:
    peers = [
        FrrPeer(lab, host, [replace(instance, priority=p)]).start()
        for host, p in zip(lab.routers, PRIORITIES, strict=True)
    ]
    conf = (peers[0].dir / "frr.conf").read_text()
    assert f" vrrp {VRID} version 3\n" in conf
    assert f" vrrp {VRID} advertisement-interval {instance.interval_ms}\n" in conf
    wait_until(
        lambda: settled(peers, [p.holds(VRID) for p in peers]),
        30,
        what=f"r1 MASTER, r2 BACKUP (FRR says {[p.state(VRID) for p in peers]})",
    )
    client_reaches(lab, vip(instance))


def test_instances_refuse_what_the_peers_cannot_do() -> None:
    with pytest.raises(ValueError, match="IPv6 needs 3"):
        Instance(VRID, vips=(DEFAULT_VIP6,))
    with pytest.raises(ValueError, match="whole seconds"):
        Instance(VRID, interval=0.5)
    with pytest.raises(ValueError, match="interval"):
        Instance(VRID, version=3, interval=0.005)
    with pytest.raises(ValueError, match="one family"):
        Instance(VRID, version=3, vips=(DEFAULT_VIP, DEFAULT_VIP6))
    with pytest.raises(ValueError, match="no authentication"):
        Instance(VRID, version=3, auth_pass="secret")
    assert Instance(VRID, version=3, interval=40.95).interval_ms == 40950
