"""A router's VRRPv3, IPv6, unicast and virtual-MAC keys, and the rules between them.

    "version": 3, "advert_interval": 0.1, "ip_addresses": ["2001:db8::100/64"],
    "unicast_peers": ["192.0.2.12"], "unicast_source": "192.0.2.11",
    "use_vmac": true, "checksum_ipv4_pseudo_header": true

Version 2 stays the default, with whole-second intervals and IPv4 only, so the
original's files keep meaning what they meant. Version 3 (RFC 5798) takes intervals in
10 ms steps from 0.01 to 40.95 s (5.2.7: 12 bits of centiseconds), IPv4 or IPv6
addresses (one family per router), and no authentication. Unicast peers replace the
multicast group: an empty list is an error, never a silent fallback to multicast.

IPv6 and the first address: RFC 5798 5.2.9 wants the advert's first address to be the
virtual router's link-local one. keepalived only warns and FRR sends one from its
macvlan; failover warns too (a config warning) when an IPv6 router's first address is not
link-local, and sends the addresses in the order given.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from ipaddress import IPv4Interface, IPv6Address, IPv6Interface, ip_address
from typing import Any

import voluptuous as vol

from failover.protocol.packet import MAX_ADVER_INT, VRRP_V3, VRRP_VERSION, AuthType, IPAddress
from failover.protocol.settings import RouterConfig
from failover.validators import boolean, distinct_items, place

INTERVAL_STEP = 0.01  # RFC 5798 5.2.7: centiseconds


def _version(value: Any) -> int:
    if type(value) is int and value in (VRRP_VERSION, VRRP_V3):
        return value
    raise vol.Invalid(f"must be 2 or 3 (got {json.dumps(value)})")


def _interval(value: Any) -> float:
    """A number of seconds; which ones a version allows is `problems`' to say."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise vol.Invalid(f"must be a positive number of seconds (got {json.dumps(value)})")
    return float(value)


def _peer(value: Any) -> IPAddress:
    if not isinstance(value, str):
        raise vol.Invalid(f"must be an IP address (got {json.dumps(value)})")
    try:
        ip = ip_address(value)
    except ValueError:
        raise vol.Invalid(f"is not an IP address (got {json.dumps(value)})") from None
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback:
        raise vol.Invalid(f"{ip} cannot be a unicast peer")
    return ip


def _peers(value: Any) -> tuple[IPAddress, ...]:
    if not isinstance(value, list) or not value:
        raise vol.Invalid(
            "must list at least one peer address; leave the key out to use multicast "
            "(an empty list never falls back to multicast)"
        )
    return distinct_items(value, _peer)


ROUTER_KEYS = {
    vol.Optional("version", default=VRRP_VERSION): _version,
    vol.Optional("advert_interval", default=1): _interval,
    vol.Optional("unicast_peers"): _peers,
    vol.Optional("unicast_source"): _peer,
    vol.Optional("use_vmac", default=False): boolean,
    vol.Optional("checksum_ipv4_pseudo_header"): boolean,
}


def problems(prefix: str, r: dict[str, Any]) -> list[str]:
    """The rules between a validated router's keys, each error with its place."""
    out = []
    version, interval = r["version"], r["advert_interval"]
    addresses: tuple[IPv4Interface | IPv6Interface, ...] = r["ip_addresses"]
    family = addresses[0].version

    def at(key: str) -> str:
        return place(prefix, [key])

    if version == VRRP_VERSION:
        if interval != int(interval) or not 1 <= interval <= 255:
            out.append(
                f"{at('advert_interval')}: must be whole seconds from 1 to 255 with version 2 "
                f'(got {interval:g}); fractions of a second need "version": 3'
            )
        if family == 6:
            out.append(f'{at("ip_addresses")}: IPv6 needs "version": 3 (RFC 5798)')
    else:
        steps = round(interval / INTERVAL_STEP)
        if abs(steps * INTERVAL_STEP - interval) > 1e-9 or not 1 <= steps <= MAX_ADVER_INT:
            out.append(
                f"{at('advert_interval')}: must be 0.01 to 40.95 s in steps of 0.01 with "
                f"version 3 (RFC 5798 5.2.7; got {interval:g})"
            )
        if r["auth_type"] != AuthType.NONE:
            out.append(f"{at('auth_type')}: VRRPv3 has no authentication (RFC 5798)")
    if len({a.version for a in addresses}) > 1:
        out.append(f"{at('ip_addresses')}: mixes IPv4 and IPv6; a router is one family")
    for key in ("unicast_peers", "unicast_source"):
        given = r.get(key)
        listed = given if isinstance(given, tuple) else () if given is None else (given,)
        others = [str(ip) for ip in listed if ip.version != family]
        if others:
            out.append(f"{at(key)}: {', '.join(others)} is not IPv{family} like the router")
    if "unicast_source" in r and "unicast_peers" not in r:
        out.append(f"{at('unicast_source')}: only applies with unicast_peers")
    if "checksum_ipv4_pseudo_header" in r and (version != VRRP_V3 or family != 4):
        out.append(f"{at('checksum_ipv4_pseudo_header')}: only applies to version 3 over IPv4")
    return out


def warnings(prefix: str, r: dict[str, Any]) -> list[str]:
    """Legal but likely to trouble peers: RFC 5798 5.2.9's link-local first address."""
    first = r["ip_addresses"][0].ip
    if isinstance(first, IPv6Address) and not first.is_link_local:
        return [
            f"{place(prefix, ['ip_addresses'])}: the first IPv6 address {first} is not "
            "link-local; RFC 5798 5.2.9 wants the virtual router's link-local address "
            "first, and some peers (FRR) expect it"
        ]
    return []


def settings(r: dict[str, Any]) -> dict[str, Any]:
    """The RouterConfig fields these keys give."""
    return {
        "version": r["version"],
        "advert_interval": r["advert_interval"],
        "unicast_peers": r.get("unicast_peers", ()),
        "unicast_source": r.get("unicast_source"),
        "use_vmac": r["use_vmac"],
        "checksum_ipv4_pseudo_header": r.get("checksum_ipv4_pseudo_header", True),
    }


def self_peers(routers: Iterable[RouterConfig], local: Collection[IPAddress]) -> list[str]:
    """A peer list naming this host itself (`local`: its addresses) would send adverts
    to itself: an error where the host's addresses are known (check, run, reload)."""
    return [
        f"{rc.label}: unicast_peers names {ip}, an address of this host"
        for rc in routers
        for ip in rc.unicast_peers
        if ip in local
    ]
