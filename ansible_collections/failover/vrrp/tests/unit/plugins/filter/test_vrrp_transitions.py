"""vrrp_transitions: a change may move a router's master once, and nothing else."""

from __future__ import annotations

from ansible_collections.failover.vrrp.plugins.filter.vrrp_transitions import vrrp_transitions


def info(pid, state, **transitions):
    router = {"name": "VR_1", "interface": "eth0", "vrid": 51, "state": state,
              "transitions": transitions}  # fmt: skip
    return {"running": True, "pid": pid, "routers": [router]}


BEFORE = {
    "r1": info(1, "BACKUP", BACKUP=1),
    "r2": info(2, "BACKUP", BACKUP=1),
    "r3": info(3, "MASTER", BACKUP=1, MASTER=1),
}


def test_one_move_from_the_old_master_to_the_new_one_is_fine():
    after = {
        "r1": info(1, "BACKUP", BACKUP=1),
        "r2": info(2, "MASTER", BACKUP=1, MASTER=1),
        "r3": info(3, "BACKUP", BACKUP=2, MASTER=1),
    }
    assert vrrp_transitions(BEFORE, after) == []


def test_an_intermediate_master_is_named():
    after = {
        "r1": info(1, "BACKUP", BACKUP=2, MASTER=1),  # r3 -> r1 -> r2, as in the issue
        "r2": info(2, "MASTER", BACKUP=1, MASTER=1),
        "r3": info(3, "BACKUP", BACKUP=2, MASTER=1),
    }
    assert vrrp_transitions(BEFORE, after) == [
        "r1: VR_1 (eth0, VRID 51): was master in between (1 time(s))"
    ]


def test_a_master_that_left_and_came_back_is_named():
    after = dict(BEFORE, r3=info(3, "MASTER", BACKUP=2, MASTER=2))
    assert vrrp_transitions(BEFORE, after) == ["r3: VR_1 (eth0, VRID 51): entered MASTER 1 times"]


def test_a_restarted_daemon_counts_from_its_start():
    after = dict(BEFORE, r3=info(9, "MASTER", BACKUP=1, MASTER=1))
    assert vrrp_transitions(BEFORE, after) == []
    twice = dict(BEFORE, r3=info(9, "MASTER", BACKUP=2, MASTER=2))
    assert vrrp_transitions(BEFORE, twice) == ["r3: VR_1 (eth0, VRID 51): entered MASTER 2 times"]


def test_a_new_routers_first_election_is_not_judged():
    before = {h: {"running": True, "pid": i, "routers": []} for i, h in enumerate(BEFORE)}
    after = {
        "r1": info(0, "BACKUP", BACKUP=2, MASTER=1),
        "r2": info(1, "BACKUP", BACKUP=1),
        "r3": info(2, "MASTER", BACKUP=1, MASTER=1),
    }
    assert vrrp_transitions(before, after) == []


def test_a_daemon_without_counters_is_not_judged():
    old = {"running": True, "pid": 1, "routers": [{"interface": "eth0", "vrid": 51}]}
    new = {"running": True, "pid": 1, "routers": [{"interface": "eth0", "vrid": 51,
                                                   "state": "BACKUP"}]}  # fmt: skip
    assert vrrp_transitions({"r1": old}, {"r1": new}) == []
