"""vrrp_settled: what the verify role waits for on each host before judging the fleet."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_settled import (
    FilterModule,
    vrrp_settled,
)
from tests.control_replies import router_status

FLEET = ["192.0.2.11", "192.0.2.12"]
NAME = "VR_1 (eth0, VRID 51)"


def info(router, *addresses):
    return {"running": True, "routers": [router], "local_addresses": list(addresses)}


def backup(**values):
    defaults = {"state": "BACKUP", "priority": 190, "primary_ip": "192.0.2.12"}
    return router_status(**{**defaults, **values})


def test_a_master_with_its_vip_and_a_backup_under_a_fleet_master_are_settled():
    assert vrrp_settled(info(router_status(), "192.0.2.11/24", "192.0.2.254/24"), FLEET) == []
    assert vrrp_settled(info(backup(), "192.0.2.12/24"), FLEET, preferred=True) == []


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        (info(router_status(), "192.0.2.11/24"), f"{NAME}: MASTER without VIP 192.0.2.254"),
        (info(backup(), "192.0.2.254/24"), f"{NAME}: BACKUP still holds VIP 192.0.2.254"),
        (info(backup(master_ip="192.0.2.99")),
         f"{NAME}: BACKUP sees no master of the fleet (192.0.2.99)"),
        (info(backup(master_ip=None, master_priority=None)),
         f"{NAME}: BACKUP sees no master of the fleet (None)"),
        (info(router_status(state="INITIALIZE")), f"{NAME}: INITIALIZE"),
        ({"running": False, "msg": "no socket"}, "not running (no socket)"),
    ],
    ids=["master-without-vip", "backup-with-vip", "master-gone", "no-master", "init", "down"],
)  # fmt: skip
def test_not_settled(host, problem):
    assert vrrp_settled(host, FLEET) == [problem]


def test_preemption_pending_only_counts_when_preferred():
    host = info(backup(priority=250))
    assert vrrp_settled(host, FLEET) == []
    assert vrrp_settled(host, FLEET, preferred=True) == [
        f"{NAME}: BACKUP with priority 250 under a master with 200 (preemption pending)"
    ]


def test_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError):
        vrrp_settled([], FLEET)


def test_registered_as_a_filter():
    assert FilterModule().filters()["vrrp_settled"] is vrrp_settled


def fleet_of(*routers):
    """vrrp_info results of several hosts, one router each."""
    return [{"running": True, "routers": [r]} for r in routers]


# r1 .11 priority 200 (the chosen master), r2 .12 priority 190, r3 .13 priority 190
FLEET3 = fleet_of(
    router_status(priority=200, primary_ip="192.0.2.11"),
    backup(priority=190, primary_ip="192.0.2.12"),
    backup(priority=190, primary_ip="192.0.2.13"),
)


def test_a_backup_read_under_a_passing_lower_master_is_not_settled():
    # r2 read while r3 (equal priority, greater address) was briefly master: the old
    # check passed it (r3's priority is not below r2's); the chosen master is r1.
    host = info(backup(master_ip="192.0.2.13", master_priority=190), "192.0.2.12/24")
    assert vrrp_settled(host, [*FLEET, "192.0.2.13"], True) == []
    assert vrrp_settled(host, [*FLEET, "192.0.2.13"], True, FLEET3) == [
        f"{NAME}: BACKUP sees master 192.0.2.13, not 192.0.2.11"
    ]
    settled = info(backup(master_ip="192.0.2.11"), "192.0.2.12/24")
    assert vrrp_settled(settled, FLEET, True, FLEET3) == []


def test_only_the_chosen_router_may_be_master():
    r3 = info(router_status(priority=190, primary_ip="192.0.2.13"), "192.0.2.254/24")
    assert vrrp_settled(r3, FLEET, True, FLEET3) == [
        f"{NAME}: MASTER, but 192.0.2.11 should be"
    ]
    assert vrrp_settled(r3, FLEET, False, FLEET3) == []  # no preference: any one master


def test_equal_priorities_choose_the_greater_primary_address():
    # RFC 3768 6.4.3: a tie goes to the greater primary address, compared as numbers.
    fleet = fleet_of(
        backup(priority=190, primary_ip="192.0.2.9"),
        backup(priority=190, primary_ip="192.0.2.10"),
    )
    host = info(backup(priority=190, master_ip="192.0.2.9"), "192.0.2.10/24")
    assert vrrp_settled(host, ["192.0.2.9", "192.0.2.10"], True, fleet) == [
        f"{NAME}: BACKUP sees master 192.0.2.9, not 192.0.2.10"
    ]


def test_a_given_master_replaces_the_choice_by_priority():
    # After a health change the verify role waits for a named host: r2 (.12) here,
    # although r1 has the higher configured priority.
    r2_info = FLEET3[1]
    host = info(backup(master_ip="192.0.2.11"), "192.0.2.13/24")
    assert vrrp_settled(host, FLEET, True, FLEET3, r2_info) == [
        f"{NAME}: BACKUP sees master 192.0.2.11, not 192.0.2.12"
    ]
    assert vrrp_settled(info(backup(master_ip="192.0.2.12")), FLEET, False, None, r2_info) == []


def test_fault_is_settled_only_where_allowed_and_without_the_vips():
    fault = router_status(state="FAULT", master_ip=None, master_priority=None)
    assert vrrp_settled(info(fault), FLEET) == [f"{NAME}: FAULT"]
    assert vrrp_settled(info(fault), FLEET, fault_ok=True) == []
    assert vrrp_settled(info(fault, "192.0.2.254/24"), FLEET, fault_ok=True) == [
        f"{NAME}: FAULT still holds VIP 192.0.2.254"
    ]
