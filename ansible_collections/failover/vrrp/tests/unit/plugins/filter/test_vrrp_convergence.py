"""vrrp_convergence judges vrrp_info results as the daemon keys routers: (interface, VRID)."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_convergence import (
    FilterModule,
    vrrp_convergence,
)
from tests.control_replies import router_status

VIP = "192.0.2.254/24"
IP = {"r1": "192.0.2.11", "r2": "192.0.2.12", "r3": "192.0.2.13"}


def master(host, **values):
    """`host` as the MASTER of VR_1 (eth0, VRID 51), as the daemon reports it."""
    return router_status(primary_ip=IP[host], master_ip=IP[host], **values)


def backup(host, of, priority=190, **values):
    """`host` as a BACKUP that sees `of` as its master."""
    return router_status(
        state="BACKUP",
        priority=priority,
        primary_ip=IP[host],
        master_ip=IP[of],
        master_priority=200,
        adverts_sent=0,
        **values,
    )


def info(*routers, addresses=(), running=True):
    """One host's vrrp_info result (with_addresses)."""
    return {"running": running, "routers": list(routers), "local_addresses": list(addresses)}


def cells(table):
    """The table's rows as lists of cells (columns are two or more spaces apart)."""
    return [re.split(r"\s{2,}", line) for line in table.splitlines()]


def healthy():
    return {
        "r1": info(master("r1"), addresses=[IP["r1"] + "/24", VIP]),
        "r2": info(backup("r2", "r1"), addresses=[IP["r2"] + "/24"]),
        "r3": info(backup("r3", "r1", priority=180), addresses=[IP["r3"] + "/24"]),
    }


def test_a_converged_fleet():
    verdict = vrrp_convergence(healthy(), preferred=True)
    assert verdict["problems"] == []
    assert verdict["converged"] is True
    assert verdict["masters"] == {"eth0/51": "r1"}
    assert cells(verdict["table"]) == [
        ["router", "interface", "vrid", "master", "r1", "r2", "r3"],
        ["VR_1", "eth0", "51", "r1", "MASTER p200 m=192.0.2.11 +vip", "BACKUP p190 m=192.0.2.11",
         "BACKUP p180 m=192.0.2.11"],
    ]  # fmt: skip
    assert (verdict["split_brain"], verdict["no_master"]) == ([], [])


def test_same_name_on_two_interfaces_of_different_hosts_is_two_routers():
    """Two hosts each call a router VR_1, but on different interfaces: not one group."""
    fleet = {
        "r1": info(master("r1"), addresses=[VIP]),
        "r2": info(master("r2", interface="eth1", addresses=["198.51.100.254/24"]),
                   addresses=["198.51.100.254/24"]),
    }  # fmt: skip
    verdict = vrrp_convergence(fleet)
    assert verdict["problems"] == []
    assert verdict["masters"] == {"eth0/51": "r1", "eth1/51": "r2"}


def test_same_name_for_two_vrids_is_two_routers():
    fleet = {
        "r1": info(master("r1"), addresses=[VIP]),
        "r2": info(master("r2", vrid=52, addresses=["192.0.2.253/24"]),
                   addresses=["192.0.2.253/24"]),
    }  # fmt: skip
    verdict = vrrp_convergence(fleet)
    assert verdict["converged"] is True
    assert verdict["masters"] == {"eth0/51": "r1", "eth0/52": "r2"}


def test_two_masters_sharing_a_name_on_different_hosts_are_caught():
    fleet = healthy()
    fleet["r2"] = info(master("r2", priority=190), addresses=[IP["r2"] + "/24", VIP])
    verdict = vrrp_convergence(fleet)
    assert verdict["converged"] is False
    assert "VR_1 (eth0, VRID 51): 2 masters (r1, r2), expected exactly 1" in verdict["problems"]
    assert verdict["split_brain"] == ["VR_1 (eth0, VRID 51)"]
    assert cells(verdict["table"])[1][3] == "r1+r2"


def test_names_differing_across_hosts_are_one_router():
    """The daemon's default name on one host, a chosen one on another: same (eth0, 51)."""
    fleet = healthy()
    fleet["r2"]["routers"][0]["name"] = "VR_51_eth0"
    fleet["r3"]["routers"][0]["name"] = "gw"
    verdict = vrrp_convergence(fleet, preferred=True)
    assert verdict["problems"] == []
    assert verdict["masters"] == {"eth0/51": "r1"}
    assert cells(verdict["table"])[1][:3] == ["VR_1/VR_51_eth0/gw", "eth0", "51"]


def test_names_differing_and_no_master_names_every_label():
    fleet = healthy()
    fleet["r1"] = info(backup("r1", "r2", priority=200, name="gw"), addresses=[IP["r1"] + "/24"])
    verdict = vrrp_convergence(fleet)
    assert "gw/VR_1 (eth0, VRID 51): 0 masters, expected exactly 1" in verdict["problems"]
    assert verdict["no_master"] == ["gw/VR_1 (eth0, VRID 51)"]
    assert cells(verdict["table"])[1][3] == "NONE"


def test_a_backup_that_sees_another_master():
    fleet = healthy()
    fleet["r3"] = info(backup("r3", "r2", priority=180))
    verdict = vrrp_convergence(fleet)
    assert verdict["problems"] == [
        "VR_1 (eth0, VRID 51): r3 sees master 192.0.2.12, but the master is r1 (192.0.2.11)"
    ]


def test_initialize_is_not_converged():
    fleet = healthy()
    fleet["r3"] = info(router_status(state="INITIALIZE", priority=180, master_ip=None))
    assert vrrp_convergence(fleet)["problems"] == ["VR_1 (eth0, VRID 51): r3 is INITIALIZE"]


def test_preferred_master_waits_for_preemption():
    fleet = healthy()
    fleet["r3"] = info(backup("r3", "r1", priority=250))
    assert vrrp_convergence(fleet)["converged"] is True
    assert vrrp_convergence(fleet, preferred=True)["problems"] == [
        "VR_1 (eth0, VRID 51): master is r1 (priority 200), but r3 has priority 250 "
        "(preemption pending?)"
    ]


@pytest.mark.parametrize(
    ("where", "addresses", "problem"),
    [
        ("r1", [IP["r1"] + "/24"], "VR_1 (eth0, VRID 51): VIP 192.0.2.254 is not on the master r1"),
        ("r2", [IP["r2"] + "/24", VIP], "VR_1 (eth0, VRID 51): VIP 192.0.2.254 is also on r2"),
    ],
)
def test_vip_placement(where, addresses, problem):
    fleet = healthy()
    fleet[where]["local_addresses"] = addresses
    assert vrrp_convergence(fleet)["problems"] == [problem]


def test_a_host_not_running():
    fleet = healthy()
    fleet["r3"] = info(running=False)
    fleet["r3"]["msg"] = "no control socket"
    verdict = vrrp_convergence(fleet)
    assert verdict["problems"] == ["r3: not running (no control socket)"]
    assert cells(verdict["table"])[1][-1] == "-"


def test_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="must map host names"):
        vrrp_convergence([healthy()])


def test_registered_as_a_filter():
    assert FilterModule().filters()["vrrp_convergence"] is vrrp_convergence


def test_a_given_master_must_be_the_master():
    # After a health change the verify role names the host that must now be master.
    assert vrrp_convergence(healthy(), master="r1")["problems"] == []
    assert vrrp_convergence(healthy(), master="r2")["problems"] == [
        "VR_1 (eth0, VRID 51): master is r1, not r2"
    ]


def test_a_host_in_fault_is_a_problem_unless_allowed_and_never_the_preferred_master():
    fleet = healthy()
    # r2 took over after r1's tracked service stopped: r1 in FAULT with its configured 200
    fleet["r1"] = info(router_status(state="FAULT", primary_ip=IP["r1"], master_ip=None))
    fleet["r2"] = info(master("r2", priority=190), addresses=[IP["r2"] + "/24", VIP])
    fleet["r3"] = info(backup("r3", "r2", priority=180), addresses=[IP["r3"] + "/24"])
    assert vrrp_convergence(fleet, preferred=True)["problems"] == [
        "VR_1 (eth0, VRID 51): r1 is FAULT"
    ]
    verdict = vrrp_convergence(fleet, preferred=True, master="r2", fault_ok=["r1"])
    assert verdict["problems"] == [] and verdict["masters"] == {"eth0/51": "r2"}


# -- what the failover.vrrp.check playbook fails on ---------------------------------------


def test_a_stale_vip_on_a_backup_is_a_split_brain():
    fleet = healthy()
    fleet["r3"]["local_addresses"].append(VIP)
    verdict = vrrp_convergence(fleet)
    assert verdict["split_brain"] == ["VR_1 (eth0, VRID 51)"]
    assert verdict["no_master"] == []


def test_an_expected_router_that_no_host_runs_has_no_master():
    expected = [
        {"name": "VR_1", "vrid": 51, "interface": "eth0"},
        {"vrid": 52, "interface": "eth0", "addresses": ["192.0.2.253/24"]},
    ]
    verdict = vrrp_convergence(healthy(), expected=expected)
    assert verdict["no_master"] == ["VR_52_eth0 (eth0, VRID 52)"]
    assert "VR_52_eth0 (eth0, VRID 52): no running host reports it" in verdict["problems"]
    assert verdict["split_brain"] == []


def test_every_daemon_down_is_no_master_for_every_expected_router():
    fleet = {h: info(running=False) for h in IP}
    verdict = vrrp_convergence(fleet, expected=[{"name": "VR_1", "vrid": 51, "interface": "eth0"}])
    assert verdict["no_master"] == ["VR_1 (eth0, VRID 51)"]
    assert verdict["converged"] is False


def test_a_priority_moved_by_tracking_shows_both():
    fleet = healthy()
    fleet["r1"]["routers"][0]["effective_priority"] = 100
    row = cells(vrrp_convergence(fleet)["table"])[1]
    assert row[4].startswith("MASTER p100(200) ")
    assert row[5].startswith("BACKUP p190 ")
