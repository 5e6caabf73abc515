"""VRRPv2 advertisement codec (RFC 3768 section 5).

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
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from ipaddress import IPv4Address, IPv6Address

VRRP_PROTOCOL = 112  # RFC 3768 5.2.4
VRRP_GROUP = IPv4Address("224.0.0.18")  # RFC 3768 5.2.2
VRRP_GROUP6 = IPv6Address("ff02::12")  # RFC 5798 5.1.2.2
VRRP_TTL = 255  # RFC 3768 5.2.3
VRRP_VERSION = 2  # RFC 3768 5.3.1
TYPE_ADVERTISEMENT = 1  # RFC 3768 5.3.2
HEADER_LEN = 8
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


class DecodeError(ValueError):
    """The one error `decode` raises; `reason` is machine-readable."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Advertisement:
    """A VRRPv2 advertisement's fields (RFC 3768 5.3)."""

    vrid: int
    priority: int
    addresses: tuple[IPv4Address, ...]
    advert_interval: int = 1
    auth_type: int = AuthType.NONE
    auth_data: bytes = b""

    def __post_init__(self) -> None:
        if not 1 <= self.vrid <= 255:
            raise ValueError(f"vrid must be 1-255 (got {self.vrid})")
        if not 0 <= self.priority <= 255:
            raise ValueError(f"priority must be 0-255 (got {self.priority})")
        if not 0 <= self.advert_interval <= 255:
            raise ValueError(f"advert_interval must be 0-255 (got {self.advert_interval})")
        if not 0 <= self.auth_type <= 255:
            raise ValueError(f"auth_type must be 0-255 (got {self.auth_type})")
        if len(self.addresses) > MAX_ADDRESSES:
            raise ValueError(f"at most {MAX_ADDRESSES} addresses fit (got {len(self.addresses)})")
        if len(self.auth_data) > AUTH_DATA_LEN:
            raise ValueError(f"auth_data is at most {AUTH_DATA_LEN} bytes")


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


def encode(adv: Advertisement) -> bytes:
    """Encode an advertisement; the checksum covers the whole VRRP message (RFC 3768 5.3.8)."""
    head = struct.pack(
        "!BBBBBBH",
        (VRRP_VERSION << 4) | TYPE_ADVERTISEMENT,
        adv.vrid,
        adv.priority,
        len(adv.addresses),
        adv.auth_type,
        adv.advert_interval,
        0,
    )
    body = b"".join(a.packed for a in adv.addresses) + auth_field(adv.auth_type, adv.auth_data)
    csum = checksum(head + body)
    return head[:6] + struct.pack("!H", csum) + body


def decode(data: bytes) -> Advertisement:
    """Decode a VRRP message (no IP header). Raises only `DecodeError`."""
    if len(data) < HEADER_LEN + AUTH_DATA_LEN:
        raise DecodeError(DropReason.TRUNCATED, f"{len(data)} bytes, need at least 16")
    ver_type, vrid, priority, count, auth_type, interval, _ = struct.unpack_from("!BBBBBBH", data)
    version, ptype = ver_type >> 4, ver_type & 0x0F
    if version != VRRP_VERSION:  # RFC 3768 7.1: MUST verify the version field is 2
        raise DecodeError(DropReason.BAD_VERSION, f"version {version}, expected 2")
    if ptype != TYPE_ADVERTISEMENT:  # RFC 3768 5.3.2: unknown types MUST be discarded
        raise DecodeError(DropReason.BAD_TYPE, f"type {ptype}, expected 1")
    expected = HEADER_LEN + 4 * count + AUTH_DATA_LEN
    if len(data) < expected:
        raise DecodeError(DropReason.TRUNCATED, f"{len(data)} bytes for {count} addresses")
    if len(data) > expected:
        raise DecodeError(
            DropReason.LENGTH_MISMATCH, f"{len(data)} bytes, {count} addresses need {expected}"
        )
    if checksum(data) != 0:  # RFC 3768 7.1: MUST verify the checksum
        raise DecodeError(DropReason.BAD_CHECKSUM, "checksum does not verify")
    if vrid == 0:
        raise DecodeError(DropReason.UNKNOWN_VRID, "vrid 0 is not valid")
    addresses = tuple(
        IPv4Address(data[HEADER_LEN + 4 * i : HEADER_LEN + 4 * i + 4]) for i in range(count)
    )
    auth = data[HEADER_LEN + 4 * count :]
    return Advertisement(
        vrid=vrid,
        priority=priority,
        addresses=addresses,
        advert_interval=interval,
        auth_type=auth_type,
        auth_data=auth.rstrip(b"\x00"),
    )
