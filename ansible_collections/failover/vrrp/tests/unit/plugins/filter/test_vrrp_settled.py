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
