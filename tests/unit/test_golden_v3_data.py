"""The golden VRRPv3 captures (tests/unit/golden_v3.py) say what their records claim.

Independent of failover's codec: the IP headers and VRRP fields are read with struct,
the checksums are summed (RFC 1071, the lab's helper) over the recorded pseudo-header and checked
again with scapy's VRRPv3 layer.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRPv3

from failover.lab.probe import checksum  # RFC 1071, not the codec's
from tests.unit.golden_v3 import BY_NAME, GOLDEN, VRRP_GROUP, VRRP_GROUP6, Golden

PROTOCOL = 112
IDS = [g.name for g in GOLDEN]


def packets(g: Golden) -> list[tuple[str, bytes, int]]:
    """(which, whole packet, priority expected) for the running and stopped adverts."""
    found = [("running", bytes.fromhex(g.running), g.priority)]
    if g.stopped is not None:
        found.append(("stopped", bytes.fromhex(g.stopped), 0))
    return found


def pseudo_header(g: Golden, length: int) -> bytes:
    """RFC 8200 8.1 for IPv6; for IPv4 the one TCP/UDP use (RFC 768/793)."""
    if g.family == 6:
        return g.source.packed + g.destination.packed + struct.pack("!I3xB", length, PROTOCOL)
    return g.source.packed + g.destination.packed + struct.pack("!xBH", PROTOCOL, length)


def verifies(g: Golden, vrrp: bytes, with_pseudo_header: bool) -> bool:
    covered = (pseudo_header(g, len(vrrp)) if with_pseudo_header else b"") + vrrp
    return checksum(covered) == 0


@pytest.mark.parametrize("g", GOLDEN, ids=IDS)
def test_ip_header_matches_the_recorded_addresses(g: Golden) -> None:
    src: IPv4Address | IPv6Address
    dst: IPv4Address | IPv6Address
    for which, packet, _ in packets(g):
        if g.family == 4:
            assert packet[0] >> 4 == 4 and g.header_length == 20, which
            total, ttl, proto = struct.unpack("!H", packet[2:4])[0], packet[8], packet[9]
            src, dst = IPv4Address(packet[12:16]), IPv4Address(packet[16:20])
            assert total == len(packet)
            assert checksum(packet[:20]) == 0, f"{which}: IPv4 header checksum"
        else:
            assert packet[0] >> 4 == 6 and g.header_length == 40, which
            payload, proto, ttl = struct.unpack("!H", packet[4:6])[0], packet[6], packet[7]
            src, dst = IPv6Address(packet[8:24]), IPv6Address(packet[24:40])
            assert payload == len(packet) - 40
            # RFC 5798 5.1.2.1: from the interface's link-local address (to the group)
            assert src.is_link_local or not dst.is_multicast
        assert (proto, ttl) == (PROTOCOL, 255), which  # RFC 5798 5.1.1.3 / 5.1.2.3
        assert (src, dst) == (g.source, g.destination), which


@pytest.mark.parametrize("g", GOLDEN, ids=IDS)
def test_vrrp_fields_are_the_configured_ones(g: Golden) -> None:
    for which, packet, priority in packets(g):
        vrrp = packet[g.header_length :]
        version_type, vrid, prio, count, rsvd_int = struct.unpack("!BBBBH", vrrp[:6])
        assert version_type == 0x31, which  # version 3, type 1 (advertisement)
        assert (vrid, prio, count) == (g.vrid, priority, len(g.addresses)), which
        assert rsvd_int >> 12 == 0 and rsvd_int & 0x0FFF == g.max_adver_int, which
        size = 4 if g.family == 4 else 16
        assert len(vrrp) == 8 + size * count  # no authentication data in VRRPv3
        assert vrrp[8:] == b"".join(a.packed for a in g.addresses), which


@pytest.mark.parametrize("g", GOLDEN, ids=IDS)
def test_checksum_covers_the_pseudo_header_as_recorded(g: Golden) -> None:
    for which, packet, _ in packets(g):
        vrrp = packet[g.header_length :]
        assert verifies(g, vrrp, g.pseudo_header), which
        if g.family == 4:  # and not the other way (RFC 9568's), so the flag means something
            assert not verifies(g, vrrp, not g.pseudo_header), which


@pytest.mark.parametrize("g", GOLDEN, ids=IDS)
def test_scapy_computes_the_same_checksum(g: Golden) -> None:
    assert g.pseudo_header  # scapy's VRRPv3 sums the pseudo-header for IPv4 too
    layer = IP if g.family == 4 else IPv6
    for which, packet, priority in packets(g):
        parsed = layer(packet)
        advert = parsed[VRRPv3]
        assert (advert.vrid, advert.priority, advert.ipcount) == (
            g.vrid,
            priority,
            len(g.addresses),
        ), which
        assert advert.adv == g.max_adver_int
        captured = advert.chksum
        del advert.chksum  # scapy recomputes it when the packet is built again
        assert layer(bytes(parsed))[VRRPv3].chksum == captured, which


@pytest.mark.parametrize("g", GOLDEN, ids=IDS)
def test_stop_advert_differs_only_in_priority(g: Golden) -> None:
    """The priority-0 advert on stop (RFC 5798 6.4.3): same router, addresses, interval."""
    assert g.vrrp_stopped is not None  # both peers send one on a graceful stop
    running, stopped = g.vrrp_running, g.vrrp_stopped
    assert stopped[2] == 0 and running[2] == g.priority
    assert running[:2] + running[3:6] + running[8:] == stopped[:2] + stopped[3:6] + stopped[8:]
    if g.family == 6:
        assert bytes.fromhex(g.running)[:40] == bytes.fromhex(g.stopped or "")[:40]


def test_the_captures_cover_what_the_codec_needs() -> None:
    for peer in ("keepalived", "frr"):
        mine = [g for g in GOLDEN if g.name.startswith(peer)]
        assert {4, 6} <= {g.family for g in mine}, peer
        assert any(g.max_adver_int == 10 for g in mine), f"{peer}: a 0.1 s interval"
        six = [g for g in mine if g.family == 6]
        assert any(len(g.addresses) == 1 and not g.addresses[0].is_link_local for g in six)
        assert any([a.is_link_local for a in g.addresses] == [True, False] for g in six)
        assert all(g.stopped is not None for g in mine), f"{peer}: priority-0 adverts"
    assert {g.destination for g in GOLDEN} == {
        VRRP_GROUP,
        VRRP_GROUP6,
        IPv4Address("192.0.2.100"),  # keepalived's unicast cases: to the client
        IPv6Address("2001:db8::64"),
    }
    unicast = BY_NAME["keepalived_ipv6_unicast"]
    assert unicast.source == IPv6Address("2001:db8::1")  # unicast_src_ip, not link-local
