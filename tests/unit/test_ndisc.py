"""The pure parts of the kernel-facing IPv6 code: NA and gratuitous-ARP frames (scapy
is the independent judge of the bytes and checksums), the burst scheduling, the socket
structs, and netlink's address records."""

from __future__ import annotations

import asyncio
import struct
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from failover.protocol.packet import checksum
from failover.runtime.arp import check_mac, garp_frame, schedule_bursts
from failover.runtime.ndisc import (
    ALL_NODES,
    icmpv6_checksum,
    multicast_mac,
    na_frame,
    neighbor_advert,
)
from failover.runtime.netlink import InterfaceAddress, primary_address
from failover.runtime.sockets import in6_pktinfo, ipv6_mreq

MAC = bytes.fromhex("02005e000207")
VIP = IPv6Address("2001:db8::100")


def test_multicast_mac_is_33_33_and_the_low_32_bits() -> None:  # RFC 2464 7
    assert multicast_mac(ALL_NODES) == bytes.fromhex("333300000001")
    assert multicast_mac(IPv6Address("ff02::1:ff00:1234")) == bytes.fromhex("3333ff001234")


def test_na_frame_fields() -> None:
    frame = Ether(na_frame(MAC, VIP))
    assert (frame.dst, frame.src, frame.type) == ("33:33:00:00:00:01", "02:00:5e:00:02:07", 0x86DD)
    ip = frame[IPv6]
    assert (ip.src, ip.dst, ip.hlim, ip.nh, ip.plen) == (str(VIP), "ff02::1", 255, 58, 32)
    assert (ip.tc, ip.fl) == (0, 0)
    na = frame[ICMPv6ND_NA]
    # RFC 5798 6.4.2: Router set, Solicited unset, Override set; the target is the VIP.
    assert (na.type, na.code, na.R, na.S, na.O, na.tgt) == (136, 0, 1, 0, 1, str(VIP))
    option = frame[ICMPv6NDOptDstLLAddr]  # type 2: Target Link-Layer Address
    assert (option.type, option.len, option.lladdr) == (2, 1, "02:00:5e:00:02:07")
    assert len(bytes(frame)) == 14 + 40 + 32


def test_na_checksum_is_what_scapy_computes() -> None:
    frame = Ether(na_frame(MAC, VIP))
    ours = frame[ICMPv6ND_NA].cksum
    frame[ICMPv6ND_NA].cksum = None
    assert Ether(bytes(frame))[ICMPv6ND_NA].cksum == ours


@pytest.mark.parametrize("target", [VIP, IPv6Address("fe80::1"), IPv6Address("2001:db8::ffff")])
def test_neighbor_advert_is_what_scapy_builds(target: IPv6Address) -> None:
    message = neighbor_advert(target, target, MAC)
    pseudo = target.packed + ALL_NODES.packed + struct.pack("!I3xB", len(message), 58)
    assert checksum(pseudo + message) == 0  # RFC 1071: a correct sum verifies to zero
    theirs = (
        IPv6(src=str(target), dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(tgt=str(target), R=1, S=0, O=1)
        / ICMPv6NDOptDstLLAddr(lladdr="02:00:5e:00:02:07")
    )
    built = IPv6(bytes(theirs))[ICMPv6ND_NA]  # checksum filled in by scapy
    assert message == bytes(built)
    zeroed = message[:2] + b"\x00\x00" + message[4:]
    assert icmpv6_checksum(target, ALL_NODES, zeroed) == built.cksum


def test_garp_frame_fields() -> None:
    frame = Ether(garp_frame(MAC, IPv4Address("192.0.2.100")))
    assert (frame.dst, frame.src) == ("ff:ff:ff:ff:ff:ff", "02:00:5e:00:02:07")
    arp = frame[ARP]
    assert (arp.op, arp.psrc, arp.pdst, arp.hwsrc) == (
        1,
        "192.0.2.100",
        "192.0.2.100",
        "02:00:5e:00:02:07",
    )
    assert len(bytes(frame)) == 60


@pytest.mark.parametrize("bad", [b"", b"\x02" * 5, b"\x02" * 7])
def test_a_mac_has_six_bytes(bad: bytes) -> None:
    with pytest.raises(ValueError, match="6-byte MAC"):
        check_mac(bad)
    with pytest.raises(ValueError, match="6-byte MAC"):
        na_frame(bad, VIP)


def test_socket_structs() -> None:
    group = IPv6Address("ff02::12")
    assert ipv6_mreq(group, 7) == group.packed + struct.pack("@I", 7)
    assert in6_pktinfo(VIP, 3) == VIP.packed + struct.pack("@I", 3)


def run_bursts(repeat: int, wanted_for: int, fail_on: int = 0) -> tuple[list[int], list[str]]:
    """schedule_bursts on a real event loop: which bursts ran, which errors came back."""
    ran: list[int] = []
    errors: list[str] = []
    asked = 0

    def burst() -> None:
        ran.append(len(ran) + 1)
        if len(ran) == fail_on:
            raise OSError("no buffer space")

    def still_wanted() -> bool:
        nonlocal asked
        asked += 1
        return asked <= wanted_for

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handles = schedule_bursts(
            loop, burst, repeat, 0.001, still_wanted, lambda e: errors.append(str(e))
        )
        assert len(handles) == repeat - 1
        while asked < repeat:  # every timer has fired once it asked
            await asyncio.sleep(0.001)

    asyncio.run(asyncio.wait_for(main(), 30))
    return ran, errors


def test_bursts_run_now_and_repeat() -> None:
    assert run_bursts(repeat=3, wanted_for=3) == ([1, 2, 3], [])


def test_bursts_stop_once_no_longer_wanted() -> None:
    assert run_bursts(repeat=4, wanted_for=2) == ([1, 2], [])


def test_a_failing_burst_is_reported_and_the_next_still_runs() -> None:
    assert run_bursts(repeat=3, wanted_for=3, fail_on=2) == ([1, 2, 3], ["no buffer space"])


def test_address_flags_and_the_ipv4_primary_among_ipv6_addresses() -> None:
    # linux/if_addr.h: IFA_F_NODAD 0x02, IFA_F_DADFAILED 0x08, IFA_F_TENTATIVE 0x40
    fresh = InterfaceAddress(IPv6Interface("fe80::1/64"), flags=0x40)
    failed = InterfaceAddress(IPv6Interface("fe80::2/64"), flags=0x40 | 0x08)
    vip = InterfaceAddress(IPv6Interface("2001:db8::100/64"), flags=0x02)
    assert (fresh.tentative, fresh.dad_failed, fresh.usable) == (True, False, False)
    assert (failed.tentative, failed.dad_failed, failed.usable) == (True, True, False)
    assert (vip.tentative, vip.usable, vip.nodad) == (False, True, True)
    ipv4 = InterfaceAddress(IPv4Interface("192.0.2.1/24"))
    assert primary_address([vip, ipv4]) == IPv4Address("192.0.2.1")
    assert primary_address([vip, fresh]) is None
