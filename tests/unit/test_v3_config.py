"""The v3 keys: version, fractional intervals, IPv6 VIPs, unicast peers, use_vmac and the
IPv4 pseudo-header option, each rule with its error (failover/v3_config.py)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Interface
from typing import Any

import pytest

from failover.config import ConfigError, parse

V4: dict[str, Any] = {"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.10/24"]}
V6: dict[str, Any] = {**V4, "version": 3, "ip_addresses": ["fe80::1:100/64", "2001:db8::100/64"]}


def errors(**kw: Any) -> list[str]:
    item = {k: v for k, v in {**V4, **kw}.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        parse({"virtual_routers": [item]})
    return [e.removeprefix("virtual_routers[0].") for e in info.value.errors]


def test_an_ipv6_v3_router_with_everything() -> None:
    config = parse(
        {"virtual_routers": [{**V6, "advert_interval": 0.1, "unicast_peers": ["fe80::2"],
                              "unicast_source": "fe80::3", "use_vmac": True}]}
    )  # fmt: skip
    (r,) = config.routers
    assert r.version == 3 and r.family == 6 and r.advert_interval == 0.1
    assert r.addresses == (IPv6Interface("fe80::1:100/64"), IPv6Interface("2001:db8::100/64"))
    assert r.unicast_peers == (IPv6Address("fe80::2"),) and r.unicast_source == IPv6Address(
        "fe80::3"
    )
    assert r.use_vmac and r.checksum_ipv4_pseudo_header
    assert config.warnings == ()  # its first address is link-local


def test_the_originals_files_keep_their_meaning() -> None:
    (r,) = parse(V4).routers
    assert (r.version, r.advert_interval, r.unicast_peers, r.use_vmac) == (2, 1, (), False)


@pytest.mark.parametrize("interval", [0.01, 0.1, 0.25, 1, 40.95])
def test_v3_intervals_in_10_ms_steps(interval: float) -> None:
    assert (
        parse({**V4, "version": 3, "advert_interval": interval}).routers[0].advert_interval
        == interval
    )


@pytest.mark.parametrize("interval", [0.005, 0.015, 40.96, 41])
def test_v3_intervals_off_the_grid_or_too_long(interval: float) -> None:
    assert errors(version=3, advert_interval=interval) == [
        "advert_interval: must be 0.01 to 40.95 s in steps of 0.01 with version 3 "
        f"(RFC 5798 5.2.7; got {interval:g})"
    ]


def test_v2_needs_whole_seconds_and_ipv4() -> None:
    assert errors(advert_interval=0.1) == [
        "advert_interval: must be whole seconds from 1 to 255 with version 2 (got 0.1); "
        'fractions of a second need "version": 3'
    ]
    assert errors(ip_addresses=["2001:db8::100/64"]) == [
        'ip_addresses: IPv6 needs "version": 3 (RFC 5798)'
    ]


def test_v3_has_no_authentication() -> None:
    assert errors(version=3, auth_type="simple", auth_password="x") == [
        "auth_type: VRRPv3 has no authentication (RFC 5798)"
    ]


def test_one_family_per_router() -> None:
    assert errors(version=3, ip_addresses=["192.0.2.10/24", "2001:db8::10/64"]) == [
        "ip_addresses: mixes IPv4 and IPv6; a router is one family"
    ]


def test_unicast_peers_never_fall_back_to_multicast() -> None:
    assert errors(unicast_peers=[]) == [
        "unicast_peers: must list at least one peer address; leave the key out to use "
        "multicast (an empty list never falls back to multicast)"
    ]
    assert errors(unicast_peers=["192.0.2.2", "224.0.0.18", "nope"]) == [
        "unicast_peers[1]: 224.0.0.18 cannot be a unicast peer",
        'unicast_peers[2]: is not an IP address (got "nope")',
    ]
    assert errors(unicast_peers=["192.0.2.2", "192.0.2.2"]) == [
        "unicast_peers: lists 192.0.2.2 more than once"
    ]
    assert errors(unicast_peers=["2001:db8::2"]) == [
        "unicast_peers: 2001:db8::2 is not IPv4 like the router"
    ]
    assert errors(unicast_source="192.0.2.3") == ["unicast_source: only applies with unicast_peers"]
    (r,) = parse({**V4, "unicast_peers": ["192.0.2.2"]}).routers
    assert r.unicast_peers == (IPv4Address("192.0.2.2"),) and r.unicast_source is None


def test_the_pseudo_header_option_is_for_v3_over_ipv4_only() -> None:
    (r,) = parse({**V4, "version": 3, "checksum_ipv4_pseudo_header": False}).routers
    assert r.checksum_ipv4_pseudo_header is False
    where = "checksum_ipv4_pseudo_header: only applies to version 3 over IPv4"
    assert errors(checksum_ipv4_pseudo_header=False) == [where]
    assert errors(**{**V6, "checksum_ipv4_pseudo_header": True}) == [where]


def test_a_global_first_ipv6_address_is_a_warning() -> None:
    config = parse({**V6, "ip_addresses": ["2001:db8::100/64"]})
    (warning,) = config.warnings
    assert "first IPv6 address 2001:db8::100 is not link-local" in warning
    assert "RFC 5798 5.2.9" in warning


def test_ipv6_vip_checks() -> None:
    assert errors(version=3, ip_addresses=["ff02::12/64"]) == [
        "ip_addresses[0]: ff02::12 cannot be a virtual address"
    ]
    assert errors(version=3, ip_addresses=["2001:db8::zz/64"])[0].startswith(
        "ip_addresses[0]: is not an IPv6 address/prefix"
    )
