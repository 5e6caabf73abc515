"""Where adverts go and their bytes per destination (failover/protocol/wire.py)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRPv3

from failover.protocol.packet import VRRP_GROUP, VRRP_GROUP6, checksum, decode
from failover.protocol.router import VirtualRouter
from failover.protocol.wire import covers_pseudo_header, destinations, packets

from .builders import router_config

ME4, ME6 = IPv4Address("192.0.2.3"), IPv6Address("fe80::3")
PEERS4 = (IPv4Address("192.0.2.2"), IPv4Address("192.0.2.4"))


def sent(source: Any, **kw: Any) -> list[tuple[Any, bytes]]:
    r = VirtualRouter(router_config(**kw), source)
    return packets(r.config, r.advertisement(), source)


def test_v2_goes_to_the_group_with_one_message() -> None:
    ((to, message),) = sent(ME4)
    assert to == VRRP_GROUP and checksum(message) == 0 and decode(message).version == 2
    assert not covers_pseudo_header(router_config())


def test_unicast_peers_replace_the_group_for_v2_and_v3() -> None:
    for version in (2, 3):
        out = sent(ME4, version=version, unicast_peers=PEERS4)
        assert [to for to, _ in out] == list(PEERS4)


def test_v3_ipv4_bytes_differ_per_destination_as_scapy_computes_them() -> None:
    out = sent(ME4, version=3, unicast_peers=PEERS4)
    assert out[0][1] != out[1][1]  # the pseudo-header names the destination
    for to, message in out:
        theirs = VRRPv3(vrid=51, priority=100, ipcount=1, adv=100, addrlist=["192.0.2.100"])
        built = IP(src=str(ME4), dst=str(to), proto=112) / theirs
        assert bytes(built[VRRPv3]) == message


def test_rfc_9568_ipv4_has_one_message_for_all() -> None:
    config = router_config(version=3, checksum_ipv4_pseudo_header=False, unicast_peers=PEERS4)
    assert not covers_pseudo_header(config)
    (_, first), (_, second) = sent(
        ME4, version=3, checksum_ipv4_pseudo_header=False, unicast_peers=PEERS4
    )
    assert first == second and checksum(first) == 0


@pytest.mark.parametrize("peers", [(), (IPv6Address("fe80::2"),)], ids=["group", "unicast"])
def test_ipv6_always_covers_the_pseudo_header(peers: tuple[IPv6Address, ...]) -> None:
    kw: dict[str, Any] = {"version": 3, "addresses": ("fe80::1:100/64",), "unicast_peers": peers}
    assert destinations(router_config(**kw)) == (peers or (VRRP_GROUP6,))
    ((to, message),) = sent(ME6, **kw)
    built = IPv6(src=str(ME6), dst=str(to), nh=112) / VRRPv3(
        vrid=51, priority=100, ipcount=1, adv=100, addrlist=["fe80::1:100"]
    )
    assert bytes(built[VRRPv3]) == message
