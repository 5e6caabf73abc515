"""The daemon role derives unicast peers from the inventory (facts or host_vars)."""

from __future__ import annotations

from ansible_collections.failover.vrrp.tests.unit.roles.test_daemon_tracking import (
    PEERS,
    host_routers,
    load,
)

GW6 = {
    "name": "gw6",
    "vrid": 61,
    "interface": "eth0",
    "version": 3,
    "advert_interval": 0.1,
    "addresses": ["2001:db8:1::61/64"],
    "unicast": True,
}


def facts(n):
    return {
        "eth0": {
            "ipv4": {"address": f"192.0.2.1{n}"},
            "ipv6": [
                {"address": f"2001:db8:1::1{n}", "scope": "global"},
                {"address": f"fe80::1{n}", "scope": "link"},
            ],
        }
    }


def test_each_host_gets_the_others_link_local_addresses_from_their_facts():
    hostvars = {h: {"ansible_facts": facts(i + 1)} for i, h in enumerate(PEERS)}
    got = host_routers("r1", failover_daemon_routers=[GW6], hostvars=hostvars)
    expected = {k: v for k, v in GW6.items() if k != "unicast"}
    assert got == {"routers": [dict(expected, priority=200, unicast_peers=["fe80::12"])]}


def test_host_vars_name_addresses_where_facts_are_missing():
    hostvars = {
        "r1": {"ansible_facts": facts(1)},
        "r2": {"failover_daemon_interface_addresses": {"eth0": ["192.0.2.12/24"]}},
    }
    v4 = {"vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"], "unicast": True}
    got = host_routers("r2", failover_daemon_routers=[v4], hostvars=hostvars)
    assert got["routers"][0]["unicast_peers"] == ["192.0.2.11"]
    assert host_routers("r1", failover_daemon_routers=[v4], hostvars=hostvars)["routers"][0][
        "unicast_peers"
    ] == ["192.0.2.12"]


def test_a_peer_without_facts_fails_the_group_check():
    hostvars = {"r1": {"ansible_facts": facts(1)}, "r2": {}}
    error = host_routers("r1", failover_daemon_routers=[GW6], hostvars=hostvars)["error"]
    assert "router gw6: unicast: the addresses of r2 on eth0 are unknown" in error


def test_facts_are_gathered_before_the_group_check_only_for_unicast():
    tasks = load("tasks/plan.yml")
    names = [t["name"] for t in tasks]
    gather = names.index("Learn the hosts' addresses for the unicast routers' peers")
    assert gather < names.index(
        "Check the routers across the group (priorities, tracking weights, unicast peers)"
    )
    assert tasks[gather]["when"] == "failover_daemon_unicast | bool"
    assert "network" in tasks[gather]["ansible.builtin.setup"]["gather_subset"]


def unicast_wanted(*routers):
    """The role's failover_daemon_unicast, templated by Ansible."""
    got = host_routers(
        "r1",
        failover_daemon_routers=list(routers),
        failover_daemon_host_routers="{{ failover_daemon_unicast | bool }}",
    )
    return got["routers"]


def test_the_unicast_switch_is_what_the_routers_say():
    assert unicast_wanted(dict(GW6, unicast=False), {"vrid": 1}) is False
    assert unicast_wanted({"vrid": 1}, GW6) is True


def test_interface_addresses_are_documented_with_their_default():
    specs = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    name = "failover_daemon_interface_addresses"
    assert specs[name]["default"] == load("defaults/main.yml")[name] == {}
    routers = " ".join(specs["failover_daemon_routers"]["description"])
    for key in ("V(version", "V(unicast", "V(use_vmac)", "V(checksum_ipv4_pseudo_header)"):
        assert key in routers
