"""Pure helpers of the daemon's runtime: primary address, VIP claims, ARP frame, limits."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Interface

import pytest

from failover.daemon.addresses import VipClaims
from failover.ratelimit import RateLimiter
from failover.runtime.arp import garp_frame
from failover.runtime.netlink import (
    InterfaceAddress,
    LinkEvent,
    link_event,
    link_running,
    primary_address,
)
from failover.runtime.sockets import ip_mreqn

IP = IPv4Address
VIP = IPv4Interface("192.0.2.100/24")


def addr(text: str, secondary: bool = False) -> InterfaceAddress:
    return InterfaceAddress(IPv4Interface(text), secondary)


class TestPrimaryAddress:
    def test_first_primary_address_wins(self) -> None:
        found = [addr("192.0.2.1/24"), addr("192.0.2.9/24", True), addr("198.51.100.1/24")]
        assert primary_address(found) == IP("192.0.2.1")

    def test_virtual_addresses_are_skipped(self) -> None:
        # A stale VIP listed first (other subnet, so not secondary) is not the primary.
        found = [addr("203.0.113.100/24"), addr("192.0.2.1/24")]
        assert primary_address(found, [IP("203.0.113.100")]) == IP("192.0.2.1")

    def test_secondary_only_is_a_fallback(self) -> None:
        assert primary_address([addr("192.0.2.7/24", True)]) == IP("192.0.2.7")

    def test_nothing_usable(self) -> None:
        assert primary_address([]) is None
        assert primary_address([addr("192.0.2.100/24")], [IP("192.0.2.100")]) is None


class TestVipClaims:
    def test_shared_vip_is_removed_by_the_last_holder_only(self) -> None:
        claims = VipClaims()
        claims.claim("VR_1", "eth0", [VIP])
        claims.claim("VR_2", "eth0", [VIP])
        assert claims.release("VR_1", "eth0", [VIP]) == []
        assert claims.holders("eth0", VIP.ip) == {"VR_2"}
        assert claims.release("VR_2", "eth0", [VIP]) == [VIP]
        assert claims.holders("eth0", VIP.ip) == frozenset()

    def test_same_address_on_another_interface_is_separate(self) -> None:
        claims = VipClaims()
        claims.claim("VR_1", "eth0", [VIP])
        claims.claim("VR_2", "eth1", [VIP])
        assert claims.release("VR_1", "eth0", [VIP]) == [VIP]

    def test_protected_addresses_are_never_freed(self) -> None:
        claims = VipClaims()
        claims.protect("eth0", [VIP.ip])
        claims.claim("OWNER", "eth0", [VIP])
        assert claims.release("OWNER", "eth0", [VIP]) == []

    def test_release_is_idempotent(self) -> None:
        claims = VipClaims()
        claims.claim("VR_1", "eth0", [VIP])
        assert claims.release("VR_1", "eth0", [VIP]) == [VIP]
        assert claims.release("VR_1", "eth0", [VIP]) == [VIP]  # removing again is harmless


class TestGarpFrame:
    MAC = bytes.fromhex("02aabbccddee")

    def test_layout(self) -> None:
        frame = garp_frame(self.MAC, IP("192.0.2.100"))
        assert len(frame) == 60  # padded to the Ethernet minimum
        assert frame[0:6] == b"\xff" * 6 and frame[6:12] == self.MAC
        assert frame[12:14] == b"\x08\x06"
        htype, ptype, hlen, plen, op = struct.unpack("!HHBBH", frame[14:22])
        assert (htype, ptype, hlen, plen, op) == (1, 0x0800, 6, 4, 1)  # ARP request
        sha, spa, tha, tpa = frame[22:28], frame[28:32], frame[32:38], frame[38:42]
        assert sha == self.MAC and tha == bytes(6)
        assert spa == tpa == IP("192.0.2.100").packed  # sender = target = VIP
        assert frame[42:] == bytes(18)

    def test_bad_mac(self) -> None:
        with pytest.raises(ValueError, match="6-byte MAC"):
            garp_frame(b"\x00" * 5, IP("192.0.2.100"))


def test_ip_mreqn_layout() -> None:
    raw = ip_mreqn(IP("224.0.0.18"), IP("192.0.2.1"), 7)
    assert raw[:4] == IP("224.0.0.18").packed and raw[4:8] == IP("192.0.2.1").packed
    assert struct.unpack("@i", raw[8:]) == (7,)


class TestRateLimiter:
    def test_first_event_passes_then_quiet_then_counts(self) -> None:
        limit = RateLimiter(interval=10)
        assert limit.allow("k", 0.0) == 0
        assert limit.allow("k", 1.0) is None
        assert limit.allow("k", 9.9) is None
        assert limit.allow("other", 5.0) == 0
        assert limit.allow("k", 10.0) == 2  # two held back since the last line
        assert limit.allow("k", 25.0) == 0


class TestLinkEvents:
    UP, LOWER_UP = 0x1, 0x10000

    def test_running_needs_up_and_carrier(self) -> None:
        assert link_running(self.UP | self.LOWER_UP)
        assert not link_running(self.UP)  # no carrier: the bridge port is down
        assert not link_running(self.LOWER_UP)

    def test_messages(self) -> None:
        up = {"event": "RTM_NEWLINK", "index": 3, "flags": self.UP | self.LOWER_UP}
        assert link_event(up) == LinkEvent(3, True)
        assert link_event({**up, "flags": self.UP}) == LinkEvent(3, False)
        assert link_event({**up, "event": "RTM_DELLINK"}) == LinkEvent(3, False, deleted=True)
        assert link_event({**up, "event": "RTM_NEWADDR"}) is None
        assert link_event({"event": "RTM_NEWLINK"}) is None
