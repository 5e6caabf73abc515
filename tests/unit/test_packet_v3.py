"""VRRPv3 codec (RFC 5798 5.2): fields, 12-bit centisecond interval, the checksum over a
pseudo-header (RFC 5798 5.2.8) for IPv6 and, as keepalived and FRR send it, IPv4; and
without one for IPv4 peers that follow RFC 9568. scapy's VRRPv3 layer is the referee."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.layers.vrrp import VRRPv3

from failover.protocol.packet import (
    VRRP_GROUP,
    VRRP_GROUP6,
    Advertisement,
    AuthType,
    DecodeError,
    DropReason,
    checksum,
    decode,
    encode,
    message_length,
    pseudo_header,
)

SRC4, SRC6 = IPv4Address("192.0.2.1"), IPv6Address("fe80::1")
VIPS4 = (IPv4Address("192.0.2.100"), IPv4Address("192.0.2.101"))
VIPS6 = (IPv6Address("fe80::100"), IPv6Address("2001:db8::100"))


def v3(
    addresses: tuple[IPv4Address, ...] | tuple[IPv6Address, ...] = VIPS4,
    vrid: int = 51,
    priority: int = 150,
    advert_interval: int = 100,
) -> Advertisement:
    return Advertisement(vrid, priority, addresses, advert_interval, version=3)


def pseudo(
    adv: Advertisement, src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address
) -> bytes:
    return pseudo_header(src, dst, message_length(len(adv.addresses), 3, adv.ipv6))


@pytest.mark.parametrize("interval", [1, 10, 100, 4095])
def test_ipv4_with_pseudo_header_is_what_scapy_builds(interval: int) -> None:
    adv = v3(advert_interval=interval)
    ours = encode(adv, pseudo(adv, SRC4, VRRP_GROUP))
    theirs = VRRPv3(
        vrid=51, priority=150, ipcount=2, adv=interval, addrlist=[str(a) for a in VIPS4]
    )
    assert ours == bytes((IP(src=str(SRC4), dst=str(VRRP_GROUP), proto=112) / theirs)[VRRPv3])


def test_ipv6_is_what_scapy_builds() -> None:
    adv = v3(VIPS6, advert_interval=10)
    ours = encode(adv, pseudo(adv, SRC6, VRRP_GROUP6))
    theirs = VRRPv3(vrid=51, priority=150, ipcount=2, adv=10, addrlist=[str(a) for a in VIPS6])
    built = IPv6(src=str(SRC6), dst=str(VRRP_GROUP6), nh=112, hlim=255) / theirs
    assert ours == bytes(built[VRRPv3])
    assert len(ours) == 8 + 2 * 16  # no authentication data in v3


@pytest.mark.parametrize(
    ("addresses", "src", "dst"),
    [
        (VIPS4, SRC4, VRRP_GROUP),
        (VIPS6, SRC6, VRRP_GROUP6),
        (VIPS4, SRC4, IPv4Address("192.0.2.2")),
    ],
    ids=["ipv4", "ipv6", "ipv4-unicast"],
)
def test_round_trip(addresses: tuple[IPv4Address, ...], src: IPv4Address, dst: IPv4Address) -> None:
    adv = v3(addresses, advert_interval=7)
    head = pseudo(adv, src, dst)
    assert decode(encode(adv, head), adv.ipv6, head) == adv
    assert decode(encode(adv, head), adv.ipv6, head).interval == pytest.approx(0.07)


def test_rfc_9568_ipv4_checksum_covers_the_message_only() -> None:
    adv = v3()
    bare = encode(adv)
    assert checksum(bare) == 0
    assert decode(bare) == adv  # no pseudo-header expected
    with_head = pseudo(adv, SRC4, VRRP_GROUP)
    with pytest.raises(DecodeError) as info:
        decode(bare, pseudo=with_head)  # a peer that expects one drops it
    assert info.value.reason is DropReason.BAD_CHECKSUM
    with pytest.raises(DecodeError):
        decode(encode(adv, with_head))  # and the other way round


def test_the_pseudo_header_binds_source_and_destination() -> None:
    adv = v3(VIPS6)
    data = encode(adv, pseudo(adv, SRC6, VRRP_GROUP6))
    with pytest.raises(DecodeError) as info:
        decode(data, True, pseudo(adv, IPv6Address("fe80::2"), VRRP_GROUP6))
    assert info.value.reason is DropReason.BAD_CHECKSUM


def test_reserved_bits_are_zero_on_send_and_ignored_on_receive() -> None:
    adv = v3(advert_interval=0x0FFF)
    data = bytearray(encode(adv))
    assert data[4] >> 4 == 0  # RFC 5798 5.2.6
    data[4] |= 0xA0
    data[6:8] = b"\0\0"
    data[6:8] = struct.pack("!H", checksum(bytes(data)))
    assert decode(bytes(data)) == adv


def test_version_is_checked_against_the_routers() -> None:
    data = encode(v3())
    with pytest.raises(DecodeError) as info:
        decode(data, expected_version=2)
    assert info.value.reason is DropReason.BAD_VERSION
    v2 = encode(Advertisement(51, 100, VIPS4[:1]))
    with pytest.raises(DecodeError) as info:
        decode(v2, ipv6=True)  # IPv6 is VRRPv3 only
    assert info.value.reason is DropReason.BAD_VERSION


def test_truncated_and_trailing_bytes() -> None:
    adv = v3(VIPS6)
    head = pseudo(adv, SRC6, VRRP_GROUP6)
    data = encode(adv, head)
    for bad, reason in (
        (data[:-1], DropReason.TRUNCATED),
        (data + b"\0" * 16, DropReason.LENGTH_MISMATCH),
    ):
        with pytest.raises(DecodeError) as info:
            decode(bad, True, head)
        assert info.value.reason is reason


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"advert_interval": 4096}, "advert_interval must be 0-4095"),
        ({"auth_type": AuthType.SIMPLE}, "VRRPv3 has no authentication"),
        ({"addresses": (VIPS4[0], VIPS6[1])}, "must all be IPv4 or all IPv6"),
    ],
)
def test_invalid_fields(kw: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {"vrid": 1, "priority": 1, "addresses": VIPS4, "version": 3, **kw}
    with pytest.raises(ValueError, match=message):
        Advertisement(**fields)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="VRRPv2 carries IPv4 addresses only"):
        Advertisement(1, 1, VIPS6)
