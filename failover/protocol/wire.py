"""Where one router's adverts go and their bytes for each destination (sans-IO).

RFC 3768 5.2.2 / RFC 5798 5.1.1.2, 5.1.2.2: to the VRRP group (224.0.0.18, ff02::12);
with `unicast_peers` (not the RFCs'; keepalived's and FRR's) to each peer instead. A
VRRPv3 checksum covers a pseudo-header naming source and destination (RFC 5798 5.2.8),
so each destination has its own bytes; VRRPv2, and v3 over IPv4 for RFC 9568 peers
(`checksum_ipv4_pseudo_header: false`), have one message for all.
"""

from __future__ import annotations

from failover.protocol.packet import (
    VRRP_GROUP,
    VRRP_GROUP6,
    VRRP_VERSION,
    Advertisement,
    IPAddress,
    encode,
    message_length,
    pseudo_header,
)
from failover.protocol.settings import RouterConfig


def destinations(config: RouterConfig) -> tuple[IPAddress, ...]:
    """The router's unicast peers, or its family's VRRP group."""
    if config.unicast_peers:
        return config.unicast_peers
    return (VRRP_GROUP6,) if config.family == 6 else (VRRP_GROUP,)


def covers_pseudo_header(config: RouterConfig) -> bool:
    """Does the router's checksum cover a pseudo-header (RFC 5798 5.2.8, RFC 9568)?"""
    if config.version == VRRP_VERSION:
        return False
    return config.family == 6 or config.checksum_ipv4_pseudo_header


def packets(
    config: RouterConfig, advert: Advertisement, source: IPAddress
) -> list[tuple[IPAddress, bytes]]:
    """(destination, VRRP message) for each destination, `source` being the sender's."""
    targets = destinations(config)
    if not covers_pseudo_header(config):
        message = encode(advert)
        return [(d, message) for d in targets]
    length = message_length(len(advert.addresses), advert.version, advert.ipv6)
    return [(d, encode(advert, pseudo_header(source, d, length))) for d in targets]
