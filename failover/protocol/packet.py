"""VRRP advertisement codec: version 2 (RFC 3768 section 5) and 3 (RFC 5798 section 5).

Version 2, IPv4 only:

 0                   1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|   Auth Type   |   Adver Int   |          Checksum             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                         IP Address (1..n)                     |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                     Authentication Data (1)                   |
|                     Authentication Data (2)                   |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Version 3, IPv4 or IPv6 (4- or 16-byte addresses; no authentication):

+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|(rsvd) |     Max Adver Int     |          Checksum             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                       IPvX Address(es)                        |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The version 3 checksum covers a pseudo-header (RFC 5798 5.2.8) that the caller builds
with `pseudo_header`: always for IPv6; for IPv4 what keepalived and FRR send by default,
and nothing for peers that follow RFC 9568 (which says IPv4 has none).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from ipaddress import IPv4Address, IPv6Address

VRRP_PROTOCOL = 112  # RFC 3768 5.2.4
VRRP_GROUP = IPv4Address("224.0.0.18")  # RFC 3768 5.2.2
VRRP_GROUP6 = IPv6Address("ff02::12")  # RFC 5798 5.1.2.2
VRRP_TTL = 255  # RFC 3768 5.2.3
VRRP_VERSION = 2  # RFC 3768 5.3.1
VRRP_V3 = 3  # RFC 5798 5.2.1
VERSIONS = (VRRP_VERSION, VRRP_V3)
TYPE_ADVERTISEMENT = 1  # RFC 3768 5.3.2, RFC 5798 5.2.2
HEADER_LEN = 8
MAX_ADVER_INT = 0x0FFF  # RFC 5798 5.2.7: 12 bits, centiseconds
AUTH_DATA_LEN = 8  # RFC 3768 5.3.10
# An advertisement must fit one IPv4 packet on a 1500-byte Ethernet:
# 20 (IP) + 8 (header) + 4n + 8 (auth) <= 1500, and Count IP Addrs is one byte.
MAX_ADDRESSES = 255

IPAddress = IPv4Address | IPv6Address


class AuthType(IntEnum):
    """RFC 3768 5.3.6: Authentication Type."""

    NONE = 0
    SIMPLE = 1  # simple text password, deprecated by RFC 3768 but still deployed
    AH = 2  # IP Authentication Header, removed from VRRPv2 by RFC 3768


class DropReason(StrEnum):
    """Every reason a received packet is not accepted; each is a counter."""

    TRUNCATED = "truncated"
    BAD_IP_HEADER = "bad_ip_header"
    BAD_PROTOCOL = "bad_protocol"
    BAD_TTL = "bad_ttl"
    BAD_VERSION = "bad_version"
    BAD_TYPE = "bad_type"
    BAD_CHECKSUM = "bad_checksum"
    LENGTH_MISMATCH = "length_mismatch"
    UNKNOWN_VRID = "unknown_vrid"
    LOCAL_OWNER = "local_owner"
    AUTH_TYPE_MISMATCH = "auth_type_mismatch"
    AUTH_MISMATCH = "auth_mismatch"
    INTERVAL_MISMATCH = "interval_mismatch"
    ADDRESS_MISMATCH = "address_mismatch"
    OWN_ADVERT = "own_advert"
    NOT_A_PEER = "not_a_peer"  # unicast: the source is not in unicast_peers


class DecodeError(ValueError):
    """The one error `decode` raises; `reason` is machine-readable."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Advertisement:
    """An advertisement's fields: VRRPv2 (RFC 3768 5.3) or VRRPv3 (RFC 5798 5.2).

    `advert_interval` is the field as sent: Adver Int in seconds (v2), Max Adver Int in
    centiseconds (v3); `interval` is it in seconds. v3 has no authentication.
    """

    vrid: int
    priority: int
    addresses: tuple[IPAddress, ...]
    advert_interval: int = 1
    auth_type: int = AuthType.NONE
    auth_data: bytes = field(default=b"", repr=False)  # a password: never in a repr
    version: int = VRRP_VERSION

    def __post_init__(self) -> None:
        if self.version not in VERSIONS:
            raise ValueError(f"version must be 2 or 3 (got {self.version})")
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"vrid must be 1-255 (got {self.vrid})")
        if not 0 <= self.priority <= 255:
            raise ValueError(f"priority must be 0-255 (got {self.priority})")
        top = 255 if self.version == VRRP_VERSION else MAX_ADVER_INT
        if not 0 <= self.advert_interval <= top:
            raise ValueError(f"advert_interval must be 0-{top} (got {self.advert_interval})")
        if not 0 <= self.auth_type <= 255:
            raise ValueError(f"auth_type must be 0-255 (got {self.auth_type})")
        if len(self.addresses) > MAX_ADDRESSES:
            raise ValueError(f"at most {MAX_ADDRESSES} addresses fit (got {len(self.addresses)})")
        if len(self.auth_data) > AUTH_DATA_LEN:
            raise ValueError(f"auth_data is at most {AUTH_DATA_LEN} bytes")
        if len({a.version for a in self.addresses}) > 1:
            raise ValueError("addresses must all be IPv4 or all IPv6")
        if self.version == VRRP_VERSION and self.ipv6:
            raise ValueError("VRRPv2 carries IPv4 addresses only")
        if self.version == VRRP_V3 and (self.auth_type or self.auth_data):
            raise ValueError("VRRPv3 has no authentication")

    @property
    def ipv6(self) -> bool:
        return bool(self.addresses) and self.addresses[0].version == 6

    @property
    def interval(self) -> float:
        """The advertisement interval in seconds."""
        return self.advert_interval if self.version == VRRP_VERSION else self.advert_interval / 100


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum: 16-bit one's complement of the one's complement sum."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def auth_field(auth_type: int, password: bytes) -> bytes:
    """The 8-byte Authentication Data field (RFC 3768 5.3.10): zero padded, or zero."""
    if auth_type == AuthType.SIMPLE:
        return password[:AUTH_DATA_LEN].ljust(AUTH_DATA_LEN, b"\x00")
    return bytes(AUTH_DATA_LEN)


def pseudo_header(source: IPAddress, destination: IPAddress, length: int) -> bytes:
    """The pseudo-header a VRRPv3 checksum covers (RFC 5798 5.2.8): RFC 8200 8.1's for
    IPv6, the TCP/UDP one (RFC 793) for IPv4; `length` is the VRRP message's."""
    if source.version == 6:
        return source.packed + destination.packed + struct.pack("!I3xB", length, VRRP_PROTOCOL)
    return source.packed + destination.packed + struct.pack("!xBH", VRRP_PROTOCOL, length)


def message_length(count: int, version: int = VRRP_VERSION, ipv6: bool = False) -> int:
    """Bytes in a VRRP message with `count` addresses."""
    if version == VRRP_VERSION:
        return HEADER_LEN + 4 * count + AUTH_DATA_LEN
    return HEADER_LEN + (16 if ipv6 else 4) * count


def encode(adv: Advertisement, pseudo: bytes = b"") -> bytes:
    """Encode an advertisement. The checksum covers the VRRP message (RFC 3768 5.3.8),
    after `pseudo` for v3 (RFC 5798 5.2.8; see `pseudo_header`)."""
    if adv.version == VRRP_VERSION:
        second = struct.pack("!BB", adv.auth_type, adv.advert_interval)
        tail = auth_field(adv.auth_type, adv.auth_data)
    else:  # RFC 5798 5.2.6/5.2.7: 4 reserved bits, zero on send, then Max Adver Int
        second = struct.pack("!H", adv.advert_interval)
        tail = b""
    head = struct.pack(
        "!BBBB", (adv.version << 4) | TYPE_ADVERTISEMENT, adv.vrid, adv.priority, len(adv.addresses)
    )
    body = b"".join(a.packed for a in adv.addresses) + tail
    csum = checksum(pseudo + head + second + b"\x00\x00" + body)
    return head + second + struct.pack("!H", csum) + body


def decode(
    data: bytes, ipv6: bool = False, pseudo: bytes = b"", expected_version: int | None = None
) -> Advertisement:
    """Decode a VRRP message (no IP header). Raises only `DecodeError`.

    `ipv6`: the message came over IPv6 (v3 addresses are 16 bytes). `pseudo`: what a v3
    checksum covers before the message (see `pseudo_header`); v2 ignores it.
    `expected_version`: the one the receiving router runs (None: 2 or 3, as it says).
    """
    if len(data) < HEADER_LEN:
        raise DecodeError(DropReason.TRUNCATED, f"{len(data)} bytes, need at least {HEADER_LEN}")
    ver_type, vrid, priority, count = struct.unpack_from("!BBBB", data)
    version, ptype = ver_type >> 4, ver_type & 0x0F
    # RFC 3768 7.1 / RFC 5798 7.1: MUST verify the version field (2 or 3, each its own)
    wanted = (VRRP_V3,) if ipv6 else (expected_version,) if expected_version else VERSIONS
    if version not in wanted:
        raise DecodeError(
            DropReason.BAD_VERSION, f"version {version}, expected {' or '.join(map(str, wanted))}"
        )
    if ptype != TYPE_ADVERTISEMENT:  # RFC 3768 5.3.2: unknown types MUST be discarded
        raise DecodeError(DropReason.BAD_TYPE, f"type {ptype}, expected 1")
    size = 16 if ipv6 else 4
    expected = message_length(count, version, ipv6)
    if len(data) < expected:  # 7.1: MUST verify the packet holds the whole message
        raise DecodeError(DropReason.TRUNCATED, f"{len(data)} bytes for {count} addresses")
    if len(data) > expected:
        raise DecodeError(
            DropReason.LENGTH_MISMATCH, f"{len(data)} bytes, {count} addresses need {expected}"
        )
    # 7.1: MUST verify the checksum
    if checksum(data if version == VRRP_VERSION else pseudo + data) != 0:
        raise DecodeError(DropReason.BAD_CHECKSUM, "checksum does not verify")
    if vrid == 0:
        raise DecodeError(DropReason.UNKNOWN_VRID, "vrid 0 is not valid")
    make = IPv6Address if ipv6 else IPv4Address
    addresses = tuple(
        make(data[HEADER_LEN + size * i : HEADER_LEN + size * (i + 1)]) for i in range(count)
    )
    if version == VRRP_V3:  # RFC 5798 5.2.6: the reserved bits are ignored on receive
        (interval,) = struct.unpack_from("!H", data, 4)
        return Advertisement(vrid, priority, addresses, interval & MAX_ADVER_INT, version=VRRP_V3)
    auth_type, interval = data[4], data[5]
    auth = data[HEADER_LEN + 4 * count :]
    return Advertisement(
        vrid=vrid,
        priority=priority,
        addresses=addresses,
        advert_interval=interval,
        auth_type=auth_type,
        auth_data=auth.rstrip(b"\x00"),
    )
