"""vrrp_track_weights: a failing check with a negative weight must move the master."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_host_routers import vrrp_host_routers
from ansible_collections.failover.vrrp.plugins.filter.vrrp_track_weights import (
    FilterModule,
    vrrp_track_weights,
    weight_problems,
)

GROUP = {"r1": 200, "r2": 190, "r3": 180}


def track(weight, check="web"):
    return [{"check": check, "weight": weight}]


def test_a_weight_that_is_enough():
    assert vrrp_track_weights(GROUP, track(-11), router="VR_1") is GROUP
    assert vrrp_track_weights(GROUP, track(-100)) is GROUP


def test_a_weight_that_is_not_enough_names_everything():
    with pytest.raises(AnsibleFilterError) as caught:
        vrrp_track_weights(GROUP, track(-5), router="VR_1")
    msg = str(caught.value)
    for part in (
        "router VR_1",
        "check 'web'",
        "weight -5",
        "master r1 from priority 200 to 195",
        "backup r2's 190",
        "a weight of -11 or lower",
    ):
        assert part in msg


def test_a_tie_is_not_enough():
    """Master + weight == backup: the tie goes to the greater primary address, which may
    be the master's, so the effective priority must be strictly below."""
    (problem,) = weight_problems("VR_1", track(-10), GROUP)
    assert "to 190, not below the backup r2's 190" in problem
    assert "-11 or lower" in problem


def test_weight_zero_and_positive_weights_are_not_checked():
    assert weight_problems("VR_1", track(0) + track(None, "x") + track(20, "y"), GROUP) == []


def test_the_owner_is_never_moved_by_weights():
    (problem,) = weight_problems("VR_1", track(-254), dict(GROUP, r1=255))
    assert "priority 255 (the address owner)" in problem
    assert "weight 0 (FAULT)" in problem
    assert weight_problems("VR_1", track(0), dict(GROUP, r1=255)) == []


def test_clamped_at_one():
    """An effective priority stops at 1: a backup at 1 is never passed by a weight."""
    assert weight_problems("VR_1", track(-254), {"r1": 100, "r2": 2}) == []
    (problem,) = weight_problems("VR_1", track(-254), {"r1": 100, "r2": 1})
    assert "from priority 100 to 1, not below" in problem
    assert "weight 0 (FAULT) is needed" in problem


def test_every_problem_at_once_and_file_checks_left_out():
    items = track(-5, "web") + track(-1, "drain") + track(-3, "db")
    problems = weight_problems("VR_1", items, GROUP, {"drain": {"type": "file"}})
    assert ["'web'" in problems[0], "'db'" in problems[1], len(problems)] == [True, True, 2]


def test_one_host_has_no_backup_to_move_to():
    assert weight_problems("VR_1", track(-1), {"r1": 200}) == []


def test_strings_from_an_ini_inventory():
    items = [{"check": "web", "weight": "-100"}]
    assert weight_problems("VR_1", items, {"r1": "200", "r2": "190"}) == []


@pytest.mark.parametrize(
    "priorities, items", [(["r1"], track(-1)), (GROUP, "web"), (GROUP, ["web"])]
)
def test_bad_input(priorities, items):
    with pytest.raises(AnsibleFilterError):
        vrrp_track_weights(priorities, items)


def test_registered_as_a_filter():
    assert FilterModule().filters()["vrrp_track_weights"] is vrrp_track_weights


# -- through vrrp_host_routers, as the daemon role uses it -----------------------------

PEERS = ["r1", "r2", "r3"]
VR1 = {
    "name": "VR_1",
    "vrid": 51,
    "interface": "eth0",
    "addresses": ["192.0.2.254/24"],
    "track": track(-100) + track(0, "uplink"),
    "notify": ["/usr/local/bin/vrrp-event", "--site", "a"],
}


def test_host_routers_pass_track_and_notify_on():
    (got,) = vrrp_host_routers([VR1], "r2", PEERS)
    assert got == dict(VR1, priority=190)


def test_host_routers_check_the_weights_across_the_group():
    """Each host computes every peer's priority: the error is the same on all of them,
    and it comes before any host is touched."""
    weak = dict(VR1, track=track(-10))
    for host in PEERS:
        with pytest.raises(AnsibleFilterError, match=r"router VR_1: check 'web' with weight -10"):
            vrrp_host_routers([weak], host, PEERS)


def test_host_routers_see_overrides_and_rotation():
    weak = dict(VR1, track=track(-15), priority_rotate=1)  # r2 200, r3 190, r1 180
    vrrp_host_routers([weak], "r1", PEERS)  # 185 < 190
    with pytest.raises(AnsibleFilterError, match=r"backup r1's 180.*-21 or lower"):
        vrrp_host_routers([weak], "r1", PEERS, overrides={"r3": {"VR_1": 150}})


def test_host_routers_leave_file_checks_out():
    drain = dict(VR1, track=track(-1, "drain"))
    with pytest.raises(AnsibleFilterError):
        vrrp_host_routers([drain], "r1", PEERS)
    assert vrrp_host_routers([drain], "r1", PEERS, checks={"drain": {"type": "file"}})
