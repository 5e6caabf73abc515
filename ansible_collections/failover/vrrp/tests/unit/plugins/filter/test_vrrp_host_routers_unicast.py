"""vrrp_host_routers: unicast peers from the inventory, and the daemon's v3 rules, early."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_host_routers import (
    addresses_on,
    vrrp_host_routers,
)

PEERS = ["r1", "r2", "r3"]
V4 = {"name": "VR_1", "vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"]}
V6 = {
    "name": "gw6",
    "vrid": 61,
    "interface": "eth0",
    "version": 3,
    "advert_interval": 0.1,
    "addresses": ["fe80::61/64", "2001:db8:1::61/64"],
    "unicast": True,
}


def facts(n, *, vips=(), interface="eth0"):
    """Host rN's network facts as `setup` gathers them (a master also shows its VIPs)."""
    return {
        interface: {
            "ipv4": {"address": f"192.0.2.1{n}", "prefix": "24"},
            "ipv4_secondaries": [{"address": v, "prefix": "24"} for v in vips if "." in v],
            "ipv6": [{"address": v, "prefix": "64", "scope": "link"} for v in vips if ":" in v]
            + [
                {"address": f"2001:db8:1::1{n}", "prefix": "64", "scope": "global"},
                {"address": f"fe80::1{n}", "prefix": "64", "scope": "link"},
            ],
        },
        "lo": {"ipv4": {"address": "127.0.0.1"}},
    }


FACTS = {"r1": facts(1, vips=["192.0.2.254", "fe80::61"]), "r2": facts(2), "r3": facts(3)}


def peers_of(router, host, **kwargs):
    kwargs.setdefault("facts", FACTS)
    (got,) = vrrp_host_routers([router], host, PEERS, **kwargs)
    return got


def test_ipv4_peers_are_the_other_hosts_primary_addresses():
    got = peers_of(dict(V4, unicast=True), "r2")
    assert got == dict(V4, priority=190, unicast_peers=["192.0.2.11", "192.0.2.13"])
    assert "unicast" not in got


def test_ipv6_peers_are_the_other_hosts_link_local_addresses_never_a_vip():
    assert peers_of(V6, "r2")["unicast_peers"] == ["fe80::11", "fe80::13"]
    assert peers_of(V6, "r1")["unicast_peers"] == ["fe80::12", "fe80::13"]


def test_a_multicast_router_is_left_alone_and_needs_no_facts():
    got = peers_of(dict(V6, unicast=False), "r1", facts={})
    assert "unicast_peers" not in got and "unicast" not in got
    assert peers_of(V4, "r1", facts={}) == dict(V4, priority=200)


def test_the_inventorys_addresses_win_over_facts():
    given = {"r3": {"eth0": ["192.0.2.99/24", "fe80::99"]}, "r2": {"eth1": ["192.0.2.98"]}}
    got = peers_of(dict(V4, unicast=True), "r1", interface_addresses=given)
    assert got["unicast_peers"] == ["192.0.2.12", "192.0.2.99"]
    got = peers_of(V6, "r1", interface_addresses={"r3": {"eth0": "fe80::99"}}, facts=FACTS)
    assert got["unicast_peers"] == ["fe80::12", "fe80::99"]


def test_interface_names_as_facts_spell_them():
    seen = {"r1": {"br_lan": {"ipv4": {"address": "192.0.2.11"}}}}
    assert addresses_on("r1", "br-lan", {}, seen) == ["192.0.2.11"]
    assert addresses_on("r1", "eth9", {}, seen) is None
    assert addresses_on("r9", "br-lan", {}, seen) is None


def test_an_unknown_peer_address_fails_naming_the_router_and_the_peer():
    without_r3 = {k: v for k, v in FACTS.items() if k != "r3"}
    with pytest.raises(AnsibleFilterError) as err:
        peers_of(V6, "r1", facts=without_r3)
    assert (
        "router gw6: unicast: the addresses of r3 on eth0 are unknown; gather its facts "
        "(run the play on r3 too) or set failover_daemon_interface_addresses in its host_vars"
    ) in str(err.value)


def test_a_peer_without_a_link_local_address_fails():
    only_global = dict(FACTS, r2={"eth0": {"ipv6": [{"address": "2001:db8:1::12"}]}})
    with pytest.raises(AnsibleFilterError) as err:
        peers_of(V6, "r1", facts=only_global)
    assert (
        "router gw6: unicast: r2 has no IPv6 link-local address on eth0 "
        "(found: 2001:db8:1::12) (IPv6 advertisements come from link-local addresses, "
        "RFC 5798 5.1.2.1)"
    ) in str(err.value)


def test_a_peer_without_an_ipv4_address_fails():
    with pytest.raises(AnsibleFilterError, match=r"r3 has no IPv4 address on eth0 \(found: none\)"):
        peers_of(dict(V4, unicast=True), "r1", facts=dict(FACTS, r3={"eth0": {}}))


def test_two_hosts_with_one_address_fail():
    twin = dict(FACTS, r3=facts(2))
    with pytest.raises(
        AnsibleFilterError, match=r"router VR_1: unicast: r2 and r3 both have 192\.0\.2\.12 on eth0"
    ):
        peers_of(dict(V4, unicast=True), "r1", facts=twin)


def test_the_host_never_lists_itself_even_when_a_peer_shares_its_address():
    twin = dict(FACTS, r2=facts(1))
    with pytest.raises(AnsibleFilterError, match=r"r1 and r2 both have 192\.0\.2\.11"):
        peers_of(dict(V4, unicast=True), "r1", facts=twin)


def test_a_lone_host_has_no_peer():
    with pytest.raises(
        AnsibleFilterError, match=r"unicast needs another host among the peers \(r1 only\)"
    ):
        vrrp_host_routers([dict(V4, unicast=True)], "r1", ["r1"], facts=FACTS)


@pytest.mark.parametrize("key", ["unicast_peers", "unicast_source"])
def test_hand_written_peers_are_refused(key):
    with pytest.raises(AnsibleFilterError) as err:
        peers_of(dict(V4, **{key: "192.0.2.12"}), "r1")
    assert f"router VR_1: {key} are derived from the inventory, never written by hand: " in str(
        err.value
    )
    assert "set unicast: true" in str(err.value)


def test_unicast_must_be_a_boolean():
    with pytest.raises(
        AnsibleFilterError, match="router VR_1: unicast must be true or false, not 'maybe'"
    ):
        peers_of(dict(V4, unicast="maybe"), "r1")


def test_unknown_keys_fail():
    with pytest.raises(AnsibleFilterError, match=r"router VR_1: unknown key\(s\) unicst"):
        peers_of(dict(V4, unicst=True), "r1")


def test_aliases_are_known_keys():
    router = {"vrid": 52, "interface_name": "eth0", "ip_addresses": ["192.0.2.253/24"]}
    assert peers_of(dict(router, preempt_mode=True), "r1")["preempt_mode"] is True


def test_the_daemons_rules_fail_every_router_on_the_controller():
    routers = [
        dict(V6, version=2, unicast=False),
        dict(V4, name="VR_2", advert_interval=0.5),
        dict(V4, name="VR_3", version=3, auth_type="simple", auth_password="x"),
    ]
    with pytest.raises(AnsibleFilterError) as err:
        vrrp_host_routers(routers, "r1", PEERS)
    message = str(err.value)
    assert "router gw6: addresses: IPv6 needs version 3 (RFC 5798)" in message
    assert "router VR_2: advert_interval: must be whole seconds from 1 to 255" in message
    assert "router VR_3: auth_type: VRRPv3 has no authentication (RFC 5798)" in message


@pytest.mark.parametrize("missing", ["interface", "addresses"])
def test_unicast_needs_the_interface_and_addresses(missing):
    router = {k: v for k, v in V6.items() if k != missing}
    with pytest.raises(
        AnsibleFilterError, match="unicast needs the router's interface and addresses"
    ):
        vrrp_host_routers([router], "r1", PEERS, facts=FACTS)
