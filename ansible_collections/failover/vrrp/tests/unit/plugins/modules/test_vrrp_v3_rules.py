"""module_utils/vrrp_v3: the daemon's version/interval/family/unicast rules, said early."""

from __future__ import annotations

import pytest

from ansible_collections.failover.vrrp.plugins.module_utils.vrrp_v3 import (
    family,
    own_peers,
    router_problems,
)

V4 = {"vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"]}
V6 = {"vrid": 61, "interface": "eth0", "addresses": ["2001:db8::61/64"], "version": 3}


@pytest.mark.parametrize(
    "router",
    [
        V4,
        dict(V4, advert_interval=1),
        dict(V4, advert_interval=255.0, version=2),
        dict(V4, version=3, advert_interval=0.01),
        dict(V4, version="3", advert_interval=40.95, checksum_ipv4_pseudo_header=False),
        dict(V4, version=3, advert_interval=0.1, auth_type="none"),
        dict(V4, unicast_peers=["192.0.2.12", "192.0.2.13"], unicast_source="192.0.2.11"),
        V6,
        dict(V6, addresses=["fe80::61/64", "2001:db8::61/64"], unicast_peers=["fe80::12"]),
        {"vrid": 1, "interface_name": "e", "ip_addresses": ["2001:db8::1/64"], "version": 3},
        dict(V4, use_vmac=True),
    ],
)
def test_routers_the_daemon_accepts_pass(router):
    assert router_problems(router) == []


@pytest.mark.parametrize(
    ("router", "problem"),
    [
        (dict(V4, version=4), "version: must be 2 or 3 (got 4)"),
        (dict(V4, version=True), "version: must be 2 or 3 (got True)"),
        (
            dict(V4, advert_interval=0.5),
            "advert_interval: must be whole seconds from 1 to 255 with version 2 (got 0.5); "
            "fractions of a second need version 3",
        ),
        (
            dict(V4, advert_interval=256),
            "advert_interval: must be whole seconds from 1 to 255 with version 2 (got 256)",
        ),
        (
            dict(V4, version=3, advert_interval=0.015),
            "advert_interval: must be 0.01 to 40.95 s in steps of 0.01 with version 3 "
            "(RFC 5798 5.2.7; got 0.015)",
        ),
        (
            dict(V4, version=3, advert_interval=41),
            "advert_interval: must be 0.01 to 40.95 s in steps of 0.01 with version 3",
        ),
        (dict(V4, advert_interval=0), "advert_interval: must be a positive number of seconds"),
        (dict(V4, advert_interval="fast"), "advert_interval: must be a positive number"),
        (dict(V6, version=2), "addresses: IPv6 needs version 3 (RFC 5798)"),
        (dict(V6, version=None), "addresses: IPv6 needs version 3 (RFC 5798)"),
        (
            dict(V6, addresses=["2001:db8::61/64", "192.0.2.1/24"]),
            "addresses: mixes IPv4 and IPv6; a router is one family",
        ),
        (
            dict(V4, version=3, auth_type="simple", auth_password="x"),
            "auth_type: VRRPv3 has no authentication (RFC 5798)",
        ),
        (
            dict(V4, unicast_peers=[]),
            "unicast_peers: must list at least one peer address; leave it out to use "
            "multicast (an empty list never falls back to multicast)",
        ),
        (dict(V4, unicast_peers=["2001:db8::12"]), "2001:db8::12 is not IPv4 like the router"),
        (dict(V6, unicast_peers=["192.0.2.12"]), "192.0.2.12 is not IPv6 like the router"),
        (dict(V4, unicast_peers=["224.0.0.18"]), "224.0.0.18 cannot be a unicast peer"),
        (dict(V4, unicast_peers=["127.0.0.1"]), "127.0.0.1 cannot be a unicast peer"),
        (dict(V4, unicast_peers=["r2"]), "unicast_peers: 'r2' is not an IP address"),
        (dict(V4, unicast_peers=["192.0.2.12/24"]), "'192.0.2.12/24' is not an IP address"),
        (
            dict(V4, unicast_peers=["192.0.2.12", "192.0.2.12"]),
            "unicast_peers: 192.0.2.12 is listed twice",
        ),
        (
            dict(V4, unicast_source="192.0.2.11"),
            "unicast_source: only applies with unicast_peers",
        ),
        (
            dict(V6, unicast_peers=["fe80::12"], unicast_source="192.0.2.11"),
            "unicast_source: 192.0.2.11 is not IPv6 like the router",
        ),
        (
            dict(V4, checksum_ipv4_pseudo_header=True),
            "checksum_ipv4_pseudo_header: only applies to version 3 over IPv4",
        ),
        (
            dict(V6, checksum_ipv4_pseudo_header=False),
            "checksum_ipv4_pseudo_header: only applies to version 3 over IPv4",
        ),
    ],
)
def test_the_daemons_rules_in_its_words(router, problem):
    problems = router_problems(router)
    assert any(problem in p for p in problems), problems


def test_every_problem_at_once():
    bad = dict(V6, version=2, advert_interval=0.5, unicast_peers=[])
    assert [p.split(":")[0] for p in router_problems(bad)] == [
        "advert_interval",
        "addresses",
        "unicast_peers",
    ]


def test_family_of_the_first_address():
    assert family(V4) == 4
    assert family(V6) == 6
    assert family({"ip_addresses": ["fe80::1/64"]}) == 6
    assert family({"addresses": []}) is None


def test_own_peers_in_any_form():
    own = ["192.0.2.11/24", "2001:DB8::11/64", "fe80::11/64"]
    assert own_peers(["192.0.2.12", "192.0.2.11"], own) == ["192.0.2.11"]
    assert own_peers(["2001:db8:0::11", "fe80::12"], own) == ["2001:db8::11"]
    assert own_peers(["192.0.2.12"], own) == []
