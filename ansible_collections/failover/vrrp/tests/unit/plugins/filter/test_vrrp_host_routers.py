"""vrrp_host_routers: the daemon role's input to vrrp_config, one host's routers."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_host_routers import (
    FilterModule,
    default_name,
    vrrp_host_routers,
)

PEERS = ["r1", "r2", "r3"]
VR1 = {"name": "VR_1", "vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"]}
UNNAMED = {"vrid": 52, "interface": "eth0", "addresses": ["192.0.2.253/24"], "priority_rotate": 1}


def priorities(routers, **kwargs):
    """{host: [priority of each router]}."""
    return {
        h: [r["priority"] for r in vrrp_host_routers(routers, h, PEERS, **kwargs)] for h in PEERS
    }


def test_priorities_from_the_place_in_the_group_and_the_rotation():
    assert priorities([VR1, UNNAMED]) == {"r1": [200, 180], "r2": [190, 200], "r3": [180, 190]}


def test_the_router_is_passed_on_with_its_priority_and_without_rotate():
    got = vrrp_host_routers([VR1, UNNAMED], "r2", PEERS)
    assert got == [
        dict(VR1, priority=190),
        {k: v for k, v in UNNAMED.items() if k != "priority_rotate"} | {"priority": 200},
    ]
    assert "name" not in got[1], "an unnamed router is left for the daemon to name"


def test_a_fixed_priority_wins():
    assert priorities([dict(VR1, priority=77)])["r3"] == [77]


def test_host_and_per_router_overrides():
    got = priorities(
        [VR1, UNNAMED],
        priorities={"r3": 150},
        overrides={"r3": {"VR_1": 250}, "r1": {"VR_52_eth0": 120}},
    )
    assert got == {"r1": [200, 120], "r2": [190, 200], "r3": [250, 150]}


def test_default_name_is_the_daemons():
    assert default_name({"vrid": 52, "interface": "eth0"}) == "VR_52_eth0"
    assert default_name({"vrid": 52, "interface_name": "bond0"}) == "VR_52_bond0"


def test_colliding_priorities_are_an_error():
    with pytest.raises(AnsibleFilterError, match="two hosts would share a priority"):
        vrrp_host_routers([VR1], "r1", PEERS, priorities={"r2": 200})


def test_host_must_be_a_peer():
    with pytest.raises(AnsibleFilterError, match="r9 is not among the peers"):
        vrrp_host_routers([VR1], "r9", PEERS)


@pytest.mark.parametrize("bad", ["VR_1", [["vrid", 51]]])
def test_bad_input(bad):
    with pytest.raises(AnsibleFilterError):
        vrrp_host_routers(bad, "r1", PEERS)


def test_registered_as_a_filter():
    assert FilterModule().filters()["vrrp_host_routers"] is vrrp_host_routers
