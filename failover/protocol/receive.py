"""Receive validation of an IP packet carrying VRRP (RFC 3768 section 7.1).

One function, `validate`, takes the packet as a raw socket hands it over (IPv4 header
included) and the local virtual routers of the receiving interface, and says whether
the advertisement is accepted or, if not, why. Each `DropReason` is a counter.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address

from failover.protocol.packet import (
    VRRP_PROTOCOL,
    VRRP_TTL,
    Advertisement,
    AuthType,
    DecodeError,
    DropReason,
    IPAddress,
    auth_field,
    decode,
)

IPV4_MIN_HEADER = 20


@dataclass(frozen=True, slots=True)
class Datagram:
    """A received VRRP message with what its IP header said (RFC 5798 7.1 checks these).

    An IPv4 raw socket hands the header over; an IPv6 raw socket does not, so its
    `hop_limit` and `destination` come from ancillary data (IPV6_HOPLIMIT, IPV6_PKTINFO).
    """

    source: IPAddress
    destination: IPAddress
    hop_limit: int  # IPv4 TTL or IPv6 Hop Limit
    payload: bytes  # the VRRP message, without the IP header


@dataclass(frozen=True, slots=True)
class ReceivePolicy:
    """What one local virtual router expects of the adverts it hears."""

    priority: int
    advert_interval: int
    addresses: frozenset[IPv4Address]
    auth_type: int = AuthType.NONE
    auth_data: bytes = b""

    @property
    def is_owner(self) -> bool:
        """RFC 3768 5.3.4: priority 255 is the IP address owner."""
        return self.priority == 255


@dataclass(frozen=True, slots=True)
class Accepted:
    source: IPv4Address
    advert: Advertisement


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: DropReason
    detail: str
    vrid: int | None = None
    source: IPv4Address | None = None


def validate(
    packet: bytes,
    policies: Mapping[int, ReceivePolicy],
    local_addresses: frozenset[IPv4Address] = frozenset(),
) -> Accepted | Rejected:
    """Apply every RFC 3768 7.1 receive check, in the RFC's order.

    `policies` maps VRID -> policy for the VRIDs configured on the receiving interface;
    `local_addresses` are this host's own addresses there (our own looped-back adverts).
    """
    if len(packet) < IPV4_MIN_HEADER:
        return Rejected(DropReason.TRUNCATED, f"{len(packet)} bytes, no IPv4 header")
    ver_ihl, _tos, total_len, _id, _frag, ttl, proto, _csum = struct.unpack_from(
        "!BBHHHBBH", packet
    )
    ihl = (ver_ihl & 0x0F) * 4
    if ver_ihl >> 4 != 4 or ihl < IPV4_MIN_HEADER or len(packet) < ihl:
        return Rejected(DropReason.BAD_IP_HEADER, f"version/ihl byte {ver_ihl:#04x}")
    source = IPv4Address(packet[12:16])
    if proto != VRRP_PROTOCOL:
        return Rejected(DropReason.BAD_PROTOCOL, f"IP protocol {proto}", source=source)
    if source in local_addresses:
        return Rejected(DropReason.OWN_ADVERT, "sent by this host", source=source)
    if total_len < ihl:
        return Rejected(DropReason.BAD_IP_HEADER, f"total length {total_len}", source=source)
    if total_len > len(packet):
        return Rejected(DropReason.TRUNCATED, f"{len(packet)} of {total_len} bytes", source=source)
    payload = packet[ihl:total_len]
    # The claimed VRID (unverified), so the caller can count a drop on its router.
    vrid = payload[1] if len(payload) > 1 else None
    # 7.1: MUST verify that the IP TTL is 255.
    if ttl != VRRP_TTL:
        return Rejected(DropReason.BAD_TTL, f"TTL {ttl}, expected 255", vrid, source)
    # 7.1: version 2, complete packet, checksum: all inside decode.
    try:
        adv = decode(payload)
    except DecodeError as err:
        return Rejected(err.reason, err.detail, vrid=vrid, source=source)
    # 7.1: MUST verify the VRID is configured on the receiving interface ...
    policy = policies.get(adv.vrid)
    if policy is None:
        return Rejected(DropReason.UNKNOWN_VRID, "VRID not configured here", adv.vrid, source)
    # ... and the local router is not the IP address owner (Priority = 255).
    if policy.is_owner:
        return Rejected(DropReason.LOCAL_OWNER, "local router is the owner", adv.vrid, source)
    # 7.1: MUST verify that the Auth Type matches the locally configured one ...
    if adv.auth_type != policy.auth_type:
        return Rejected(
            DropReason.AUTH_TYPE_MISMATCH,
            f"auth type {adv.auth_type}, configured {policy.auth_type}",
            adv.vrid,
            source,
        )
    # ... and, for simple text, that the password matches (5.3.10).
    if policy.auth_type == AuthType.SIMPLE and not hmac.compare_digest(
        auth_field(AuthType.SIMPLE, adv.auth_data), auth_field(AuthType.SIMPLE, policy.auth_data)
    ):
        return Rejected(DropReason.AUTH_MISMATCH, "password differs", adv.vrid, source)
    # 7.1: MUST verify the Adver Interval equals the locally configured one.
    if adv.advert_interval != policy.advert_interval:
        return Rejected(
            DropReason.INTERVAL_MISMATCH,
            f"interval {adv.advert_interval}s, configured {policy.advert_interval}s",
            adv.vrid,
            source,
        )
    # 7.1: MAY verify the address list; if it differs and the sender is not the owner
    # (priority != 255), MUST drop. We always check.
    if frozenset(adv.addresses) != policy.addresses and adv.priority != 255:
        return Rejected(
            DropReason.ADDRESS_MISMATCH,
            f"addresses {sorted(map(str, adv.addresses))} differ from ours",
            adv.vrid,
            source,
        )
    return Accepted(source, adv)
