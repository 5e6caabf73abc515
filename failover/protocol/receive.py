"""Receive validation of VRRP messages (RFC 3768 7.1 for v2, RFC 5798 7.1 for v3).

`validate` takes a `Datagram` (the message and what its IP header said) or, for IPv4, the
packet as a raw socket hands it over (header included, `parse_ipv4` reads it), and the
local virtual routers of the receiving interface, and says whether the advertisement is
accepted or, if not, why. Each `DropReason` is a counter.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from failover.protocol.packet import (
    VRRP_PROTOCOL,
    VRRP_TTL,
    VRRP_VERSION,
    Advertisement,
    AuthType,
    DecodeError,
    DropReason,
    IPAddress,
    auth_field,
    decode,
    pseudo_header,
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
    advert_interval: int  # the wire field: seconds (v2), centiseconds (v3, not checked)
    addresses: frozenset[IPAddress]
    auth_type: int = AuthType.NONE
    auth_data: bytes = field(default=b"", repr=False)  # a password: never in a repr
    version: int = VRRP_VERSION
    pseudo_header: bool = True  # v3 over IPv4: the checksum covers one (see packet.py)
    peers: frozenset[IPAddress] = frozenset()  # unicast: adverts only from these
    ipv6: bool = False  # its router's family: a VRID serves one family on an interface

    @property
    def is_owner(self) -> bool:
        """RFC 3768 5.3.4: priority 255 is the IP address owner."""
        return self.priority == 255


@dataclass(frozen=True, slots=True)
class Accepted:
    source: IPAddress
    advert: Advertisement
    # 7.1: the owner's (priority 255) address list differs from ours: accepted all the
    # same, but the receiver SHOULD log the event. What differs, else None.
    mismatch: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: DropReason
    detail: str
    vrid: int | None = None
    source: IPAddress | None = None


def parse_ipv4(packet: bytes) -> Datagram | Rejected:
    """The VRRP message in an IPv4 packet (header included), with its header's facts."""
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
    if total_len < ihl:
        return Rejected(DropReason.BAD_IP_HEADER, f"total length {total_len}", source=source)
    if total_len > len(packet):
        return Rejected(DropReason.TRUNCATED, f"{len(packet)} of {total_len} bytes", source=source)
    return Datagram(source, IPv4Address(packet[16:20]), ttl, packet[ihl:total_len])


def validate(
    packet: bytes | Datagram,
    policies: Mapping[int, ReceivePolicy],
    local_addresses: frozenset[IPAddress] = frozenset(),
) -> Accepted | Rejected:
    """Apply every 7.1 receive check, in the RFC's order.

    `policies` maps VRID -> policy for the VRIDs configured on the receiving interface
    (for one address family); `local_addresses` are this host's own addresses there (our
    own looped-back adverts).
    """
    got = parse_ipv4(packet) if isinstance(packet, bytes) else packet
    if isinstance(got, Rejected):
        return got
    source, payload = got.source, got.payload
    if source in local_addresses:
        return Rejected(DropReason.OWN_ADVERT, "sent by this host", source=source)
    # The claimed VRID (unverified), so the caller can count a drop on its router.
    vrid = payload[1] if len(payload) > 1 else None
    # 7.1: MUST verify that the IPv4 TTL / IPv6 Hop Limit is 255.
    if got.hop_limit != VRRP_TTL:
        return Rejected(DropReason.BAD_TTL, f"TTL {got.hop_limit}, expected 255", vrid, source)
    # 7.1: the version, a complete message, the checksum: all inside decode. The VRID's
    # policy says which version and (v3 over IPv4) whether a pseudo-header is covered.
    claimed = policies.get(vrid) if vrid is not None else None
    ipv6 = source.version == 6
    pseudo = b""
    if ipv6 or claimed is None or claimed.pseudo_header:
        pseudo = pseudo_header(source, got.destination, len(payload))
    try:
        adv = decode(payload, ipv6, pseudo, claimed.version if claimed else None)
    except DecodeError as err:
        return Rejected(err.reason, err.detail, vrid=vrid, source=source)
    # 7.1: MUST verify the VRID is configured on the receiving interface ...
    policy = policies.get(adv.vrid)
    if policy is None or policy.ipv6 != ipv6:
        return Rejected(DropReason.UNKNOWN_VRID, "VRID not configured here", adv.vrid, source)
    # Unicast peers (not the RFC's; keepalived's unicast_peer): from a listed peer only.
    if policy.peers and source not in policy.peers:
        return Rejected(DropReason.NOT_A_PEER, f"{source} is not a unicast peer", adv.vrid, source)
    # ... and the local router is not the IP address owner (Priority = 255).
    if policy.is_owner:
        return Rejected(DropReason.LOCAL_OWNER, "local router is the owner", adv.vrid, source)
    if adv.version == VRRP_VERSION:
        rejected = _check_v2(adv, policy, source)
        if rejected is not None:
            return rejected
    # 7.1: MAY verify the address list; if it differs, SHOULD log the event and, if the
    # sender is not the owner (priority != 255), MUST drop. We always check.
    if frozenset(adv.addresses) != policy.addresses:
        detail = f"addresses {sorted(map(str, adv.addresses))} differ from ours"
        if adv.priority != 255:
            return Rejected(DropReason.ADDRESS_MISMATCH, detail, adv.vrid, source)
        return Accepted(source, adv, mismatch=detail)
    return Accepted(source, adv)


def _check_v2(adv: Advertisement, policy: ReceivePolicy, source: IPAddress) -> Rejected | None:
    """RFC 3768 7.1's checks that RFC 5798 dropped: authentication, the interval."""
    # MUST verify that the Auth Type matches the locally configured one ...
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
    # MUST verify the Adver Interval equals the locally configured one (v3 learns it).
    if adv.advert_interval != policy.advert_interval:
        return Rejected(
            DropReason.INTERVAL_MISMATCH,
            f"interval {adv.advert_interval}s, configured {policy.advert_interval}s",
            adv.vrid,
            source,
        )
    return None


class ReceiveCache:
    """`validate` with a memory: the last accepted advert of each VRID, by every byte
    `validate` reads (TTL / Hop Limit, protocol, source, destination, the VRRP message).

    A steady master's adverts are byte for byte the same (their fields only change with
    its priority or config, RFC 3768 5.3 / RFC 5798 5.2), so a repeat from the same
    source is the same verdict: it skips parsing and decoding. Anything else, a policy
    that changed (reload: a new object) or new local addresses, goes the whole way.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple[bytes, ReceivePolicy, frozenset[IPAddress], Accepted]] = {}

    def validate(
        self,
        packet: bytes | Datagram,
        policies: Mapping[int, ReceivePolicy],
        local_addresses: frozenset[IPAddress] = frozenset(),
    ) -> Accepted | Rejected:
        key = _key(packet)
        if key is not None:
            vrid = _vrid(packet)
            hit = self._seen.get(vrid)
            if (
                hit is not None
                and hit[0] == key
                and hit[1] is policies.get(vrid)
                and hit[2] is local_addresses
            ):
                return hit[3]
        result = validate(packet, policies, local_addresses)
        if key is not None and isinstance(result, Accepted):
            vrid = result.advert.vrid
            self._seen[vrid] = (key, policies[vrid], local_addresses, result)
        return result


def _key(packet: bytes | Datagram) -> bytes | None:
    """The bytes that decide `validate`'s verdict, or None if not worth remembering."""
    if isinstance(packet, Datagram):
        if len(packet.payload) < 2:
            return None
        return (
            bytes((packet.hop_limit,))
            + packet.source.packed
            + packet.destination.packed
            + packet.payload
        )
    # an IPv4 header without options, the whole packet present: TTL and protocol, then
    # source, destination and the message (the ID and header checksum do not matter)
    if len(packet) < 22 or packet[0] != 0x45 or int.from_bytes(packet[2:4]) != len(packet):
        return None
    return packet[8:10] + packet[12:]


def _vrid(packet: bytes | Datagram) -> int:
    return packet.payload[1] if isinstance(packet, Datagram) else packet[21]
