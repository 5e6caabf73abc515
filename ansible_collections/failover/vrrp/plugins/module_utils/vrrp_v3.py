# Copyright: failover developers
# MIT License (see https://opensource.org/licenses/MIT)
"""A router's VRRPv3, IPv6 and unicast keys: the daemon's rules, said before any host.

The daemon's failover/v3_config.py is the authority (`failover check` runs it on each
host before a file is written); this file repeats its rules, in its words, so that the
failover.vrrp.daemon role can refuse a wrong group on the controller, before it touches
any host, and failover.vrrp.vrrp_config before it writes anything, daemon or not.

    version 2 (default)   advert_interval whole seconds 1-255, IPv4 only
    version 3             advert_interval 0.01-40.95 s in 0.01 steps, IPv4 or IPv6
                          (one family per router), no authentication
    unicast_peers         a non-empty list of distinct addresses of the router's family
                          (an empty list never falls back to multicast)
    unicast_source        one address of the router's family, only with unicast_peers
    checksum_ipv4_pseudo_header   only for version 3 over IPv4
"""

from __future__ import annotations

import ipaddress

VRRP_V2 = 2
VRRP_V3 = 3
MAX_ADVER_INT = 4095  # RFC 5798 5.2.7: 12 bits of centiseconds
INTERVAL_STEP = 0.01


def first(router, *names):
    """The router's value under the first of `names` (an option and its aliases) set."""
    for name in names:
        if router.get(name) is not None:
            return router[name]
    return None


def _version(value):
    """2 or 3 from an int or a string of digits; None when it is neither."""
    if value is None:
        return VRRP_V2
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if value in (VRRP_V2, VRRP_V3) and isinstance(value, int) else None


def _seconds(value):
    """A number of seconds from a number or a numeric string; None when it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def _ip(value):
    """An address (a bare one, or the address part of `addr/len`), or None."""
    try:
        return ipaddress.ip_address(str(value).split("/", 1)[0])
    except ValueError:
        return None


def interval_problem(version, value):
    """Why `value` is no advert_interval for `version` (the daemon's words), or None."""
    interval = _seconds(value)
    if interval is None or interval <= 0:
        return f"must be a positive number of seconds (got {value!r})"
    if version == VRRP_V2:
        if interval != int(interval) or not 1 <= interval <= 255:
            return (
                f"must be whole seconds from 1 to 255 with version 2 (got {interval:g}); "
                "fractions of a second need version 3"
            )
        return None
    steps = round(interval / INTERVAL_STEP)
    if abs(steps * INTERVAL_STEP - interval) > 1e-9 or not 1 <= steps <= MAX_ADVER_INT:
        return (
            "must be 0.01 to 40.95 s in steps of 0.01 with version 3 "
            f"(RFC 5798 5.2.7; got {interval:g})"
        )
    return None


def family(router):
    """4 or 6: the family of the router's first address (None when it has none)."""
    for value in first(router, "addresses", "ip_addresses") or []:
        ip = _ip(value)
        if ip is not None:
            return ip.version
    return None


def _peer_problems(peers, fam):
    if not isinstance(peers, (list, tuple)) or not peers:
        return [
            "must list at least one peer address; leave it out to use multicast "
            "(an empty list never falls back to multicast)"
        ]
    out, seen = [], set()
    for value in peers:
        ip = _ip(value)
        if ip is None or "/" in str(value):
            out.append(f"{value!r} is not an IP address")
        elif ip.is_multicast or ip.is_unspecified or ip.is_loopback:
            out.append(f"{ip} cannot be a unicast peer")
        elif fam is not None and ip.version != fam:
            out.append(f"{ip} is not IPv{fam} like the router")
        elif ip in seen:
            out.append(f"{ip} is listed twice")
        seen.add(ip)
    return out


def router_problems(router):
    """The daemon's rules for one router's version, interval, address families and
    unicast keys: a list of `key: problem` lines (empty when none), keys as the module's
    options name them."""
    out = []
    version = _version(router.get("version"))
    if version is None:
        out.append(f"version: must be 2 or 3 (got {router.get('version')!r})")
        return out
    if router.get("advert_interval") is not None:
        why = interval_problem(version, router["advert_interval"])
        if why:
            out.append(f"advert_interval: {why}")
    addresses = [_ip(a) for a in first(router, "addresses", "ip_addresses") or []]
    families = {ip.version for ip in addresses if ip is not None}
    fam = family(router)
    if len(families) > 1:
        out.append("addresses: mixes IPv4 and IPv6; a router is one family")
    if version == VRRP_V2 and 6 in families:
        out.append("addresses: IPv6 needs version 3 (RFC 5798)")
    if version == VRRP_V3 and (router.get("auth_type") or "none") != "none":
        out.append("auth_type: VRRPv3 has no authentication (RFC 5798)")
    peers = router.get("unicast_peers")
    if peers is not None:
        out.extend(f"unicast_peers: {p}" for p in _peer_problems(peers, fam))
    source = router.get("unicast_source")
    if source is not None:
        if peers is None:
            out.append("unicast_source: only applies with unicast_peers")
        out.extend(f"unicast_source: {p}" for p in _peer_problems([source], fam))
    if router.get("checksum_ipv4_pseudo_header") is not None and (version != VRRP_V3 or fam != 4):
        out.append("checksum_ipv4_pseudo_header: only applies to version 3 over IPv4")
    return out


def own_peers(peers, own):
    """The peers that are one of the host's own addresses `own` (any form)."""
    mine = {_ip(a) for a in own or []} - {None}
    return [str(_ip(p)) for p in peers or [] if _ip(p) is not None and _ip(p) in mine]
