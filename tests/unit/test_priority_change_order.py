"""A group's priority changes, host by host, never make an intermediate master.

The collection's `vrrp_reload_order` filter ranks the hosts' reloads; here each host's
new config is applied on the fake LAN in that order, one rank at a time, the group
settled before the next rank (what the daemon role waits for), and every router must go
from its old master to its new one in at most one transition (RFC 3768 6.4.2: a backup
with preempt on takes over from a lower-priority master; 6.4.3: a master yields to a
higher-priority advert). The same change in an arbitrary order makes a host master in
between, which is what the issue saw (r3 -> r1 for 0.29 s -> r2); so does the right
order without the wait (a reload re-arms the new master's Master_Down_Timer, 6.4.2, so
a backup whose timer runs from the last advert can fire first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.failover.vrrp.plugins.filter.vrrp_reload_order import (
    vrrp_reload_order,
)
from failover.protocol.router import State
from failover.protocol.settings import RouterConfig

from .builders import router_config
from .fakelan import FakeLan

IPS = {"r1": "192.0.2.11", "r2": "192.0.2.12", "r3": "192.0.2.13"}
VRIDS = {"VR_1": 51, "VR_2": 52}
Priorities = Mapping[str, Mapping[str, int]]  # router -> host -> priority


def cfg(router: str, priority: int, preempt: bool = True) -> RouterConfig:
    vrid = VRIDS[router]
    return router_config(
        vrid=vrid, priority=priority, addresses=(f"192.0.2.{200 + vrid}/24",),
        name=router, preempt_mode=preempt,
    )  # fmt: skip


class Group:
    """One fake LAN per virtual router, sharing one clock (they never interact)."""

    def __init__(self, old: Priorities, preempt: bool = True) -> None:
        self.preempt = preempt
        self.lans = {name: FakeLan() for name in old}
        for name, hosts in old.items():
            for host, priority in hosts.items():
                self.lans[name].add(host, cfg(name, priority, preempt), IPS[host])
            self.lans[name].start(*hosts)
        self.advance(30.0)
        self.mark = {name: len(lan.events) for name, lan in self.lans.items()}

    def advance(self, seconds: float) -> None:
        for lan in self.lans.values():
            lan.advance(seconds)

    def status(self) -> dict[str, Any]:
        """What vrrp_info would return on each host."""
        out: dict[str, Any] = {h: {"running": False, "routers": []} for h in IPS}
        for name, lan in self.lans.items():
            for host, node in lan.nodes.items():
                if node.running:
                    r = node.router
                    out[host]["running"] = True
                    out[host]["routers"].append({
                        "name": name, "interface": "eth0", "vrid": VRIDS[name],
                        "priority": r.config.priority, "state": r.state.value,
                    })  # fmt: skip
        return out

    def reload(self, host: str, new: Priorities) -> None:
        """`host` applies its new config: each router reconfigured, added or removed."""
        for name, hosts in new.items():
            lan = self.lans.setdefault(name, FakeLan(now=self.now))
            self.mark.setdefault(name, 0)
            if host in hosts and host in lan.nodes and lan.nodes[host].running:
                lan.reconfigure(host, cfg(name, hosts[host], self.preempt))
            elif host in hosts:
                lan.add(host, cfg(name, hosts[host], self.preempt), IPS[host])
                lan.start(host)
        for name, lan in self.lans.items():
            gone = host not in new.get(name, {})
            if gone and host in lan.nodes and lan.nodes[host].running:
                lan.stop(host)
                lan.crash(host)  # the removed router's process part is gone

    @property
    def now(self) -> float:
        return next(iter(self.lans.values())).now

    def masters_entered(self, name: str) -> list[str]:
        """Hosts that became MASTER of `name` since the change began, in order."""
        lan = self.lans[name]
        return [
            e.node
            for e in lan.events[self.mark[name] :]
            if getattr(e.action, "new", None) is State.MASTER
        ]

    def master(self, name: str) -> list[str]:
        return self.lans[name].masters()


def desired(new: Priorities) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {h: [] for h in IPS}
    for name, hosts in new.items():
        for host, priority in hosts.items():
            out[host].append(
                {"name": name, "interface": "eth0", "vrid": VRIDS[name], "priority": priority}
            )
    return out


def batches(rank: Mapping[str, int]) -> list[list[str]]:
    levels = sorted(set(rank.values()))
    return [sorted(h for h, r in rank.items() if r == level) for level in levels]


SETTLE = 10.0  # > Master_Down_Interval (3 * 1 s + Skew_Time): the group has settled


def apply(
    group: Group, new: Priorities, order: Sequence[Sequence[str]], gap: float = SETTLE
) -> None:
    for batch in order:
        for host in batch:
            group.reload(host, new)
        group.advance(gap)
    group.advance(30.0)


def changed_hosts(old: Priorities, new: Priorities) -> list[str]:
    return sorted(
        h for h in IPS
        if any(old.get(n, {}).get(h) != new.get(n, {}).get(h) for n in set(old) | set(new))
    )  # fmt: skip


def assert_one_move(group: Group, old_masters: dict[str, list[str]], new: Priorities) -> None:
    for name, hosts in new.items():
        final = max(hosts, key=lambda h: hosts[h])
        assert group.master(name) == [final]
        expected = [] if old_masters.get(name) == [final] else [final]
        assert group.masters_entered(name) == expected, name


# The issue's case: r3 (override 250) master; r2 raised to the top, r3 lowered.
ISSUE = ({"VR_1": {"r1": 200, "r2": 190, "r3": 250}},
         {"VR_1": {"r1": 200, "r2": 250, "r3": 180}})  # fmt: skip
# The master stays and falls; the others fall further.
ALL_FALL = ({"VR_1": {"r1": 200, "r2": 190, "r3": 180}},
            {"VR_1": {"r1": 170, "r2": 160, "r3": 150}})  # fmt: skip
# The master stays and rises; a backup rises above the master's old priority.
ALL_RISE = ({"VR_1": {"r1": 150, "r2": 140, "r3": 130}},
            {"VR_1": {"r1": 250, "r2": 200, "r3": 130}})  # fmt: skip
# A new router whose master is the last host in name order.
NEW_ROUTER = ({"VR_1": {"r1": 200, "r2": 190, "r3": 180}},
              {"VR_1": {"r1": 200, "r2": 190, "r3": 180},
               "VR_2": {"r1": 180, "r2": 190, "r3": 200}})  # fmt: skip
# Both at once on different routers: VR_1 moves r1 -> r3, VR_2 is new with master r3.
MIXED = ({"VR_1": {"r1": 200, "r2": 190, "r3": 180}},
         {"VR_1": {"r1": 150, "r2": 190, "r3": 220},
          "VR_2": {"r1": 150, "r2": 180, "r3": 200}})  # fmt: skip
# The new master's new priority is below the old master's old one.
SWAP_LOW = ({"VR_1": {"r1": 200, "r2": 190, "r3": 180}},
            {"VR_1": {"r1": 170, "r2": 160, "r3": 195}})  # fmt: skip
CASES = {"issue": ISSUE, "all_fall": ALL_FALL, "all_rise": ALL_RISE,
         "new_router": NEW_ROUTER, "mixed": MIXED, "swap_low": SWAP_LOW}  # fmt: skip
# An order that makes an intermediate master for each case (what arbitrary order did).
WRONG = {"issue": [["r3"], ["r2"]], "all_fall": [["r1"], ["r2"], ["r3"]],
         "all_rise": [["r2"], ["r1"]], "new_router": [["r1"], ["r2"], ["r3"]],
         "mixed": [["r1"], ["r2"], ["r3"]], "swap_low": [["r1"], ["r3"], ["r2"]]}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_filters_order_moves_each_router_at_most_once(case: str) -> None:
    old, new = CASES[case]
    group = Group(old)
    old_masters = {name: group.master(name) for name in old}
    rank = vrrp_reload_order(group.status(), desired(new))
    assert set(rank) == set(IPS)
    apply(group, new, batches({h: rank[h] for h in changed_hosts(old, new)}))
    assert_one_move(group, old_masters, new)


def test_the_right_order_without_waiting_for_the_new_master_still_goes_wrong() -> None:
    old, new = ISSUE
    group = Group(old)
    rank = vrrp_reload_order(group.status(), desired(new))
    apply(group, new, batches({h: rank[h] for h in changed_hosts(old, new)}), gap=0.0)
    assert group.masters_entered("VR_1") == ["r1", "r2"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_arbitrary_order_makes_an_intermediate_master(case: str) -> None:
    old, new = CASES[case]
    group = Group(old)
    old_masters = {name: group.master(name) for name in old}
    apply(group, new, WRONG[case])
    with pytest.raises(AssertionError):
        assert_one_move(group, old_masters, new)


def test_the_issue_case_ranks_the_new_master_first_and_the_old_one_last() -> None:
    old, new = ISSUE
    rank = vrrp_reload_order(Group(old).status(), desired(new))
    assert rank["r2"] < rank["r3"]


def test_a_removed_router_leaves_its_master_last() -> None:
    old = {"VR_1": {"r1": 200, "r2": 190, "r3": 180}}
    group = Group(old)
    rank = vrrp_reload_order(group.status(), desired({}))
    assert rank["r1"] > max(rank["r2"], rank["r3"])
    apply(group, {}, batches(rank))
    assert group.masters_entered("VR_1") == []  # no backup took over on the way out


def test_without_preempt_no_order_is_imposed_and_none_moves_the_master() -> None:
    old, new = ISSUE
    group = Group(old, preempt=False)
    want = {h: [dict(r, preempt=False) for r in rs] for h, rs in desired(new).items()}
    assert set(vrrp_reload_order(group.status(), want).values()) == {0}
    apply(group, new, WRONG["issue"])
    assert group.masters_entered("VR_1") == []  # 6.4.2: preempt off, backups accept
    assert group.master("VR_1") == ["r3"]


def test_opposite_swaps_on_two_routers_are_refused_with_the_hosts_named() -> None:
    old = {"VR_1": {"r1": 200, "r2": 190}, "VR_2": {"r1": 190, "r2": 200}}
    new = {"VR_1": {"r1": 190, "r2": 200}, "VR_2": {"r1": 200, "r2": 190}}
    group = Group(old)
    with pytest.raises(AnsibleFilterError, match=r"r1 before r2 .eth0 VRID 5.*two runs"):
        vrrp_reload_order(group.status(), desired(new))


def test_a_fresh_group_whose_routers_prefer_different_hosts_is_ranked() -> None:
    new = {"VR_1": {"r1": 200, "r2": 190, "r3": 180}, "VR_2": {"r1": 180, "r2": 200, "r3": 190}}
    nothing = {h: {"running": False} for h in IPS}
    rank = vrrp_reload_order(nothing, desired(new))
    assert rank["r1"] < rank["r3"]  # VR_1's master first; VR_2's would make a cycle


def test_a_new_router_beside_a_moving_one_yields_to_the_move() -> None:
    old = {"VR_1": {"r1": 200, "r2": 190, "r3": 180}}
    new = {"VR_1": {"r1": 180, "r2": 200, "r3": 170},  # r2 first, r1 last
           "VR_2": {"r1": 200, "r2": 190, "r3": 180}}  # fmt: skip # new: r1 first, dropped
    group = Group(old)
    rank = vrrp_reload_order(group.status(), desired(new))
    assert rank["r2"] < rank["r1"]
    apply(group, new, batches(rank))
    assert group.masters_entered("VR_1") == ["r2"]


def with_addresses(
    want: Mapping[str, Sequence[Mapping[str, Any]]], extra: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """`want` with each named router's address list grown by one address."""
    return {
        h: [
            dict(
                r,
                addresses=[f"192.0.2.{200 + r['vrid']}/24"]
                + ([extra[r["name"]]] if r["name"] in extra else []),
            )
            for r in rs
        ]
        for h, rs in want.items()
    }


def status_with_addresses(status: Mapping[str, Any]) -> dict[str, Any]:
    return {
        h: dict(
            info,
            routers=[dict(r, addresses=[f"192.0.2.{200 + r['vrid']}"]) for r in info["routers"]],
        )
        for h, info in status.items()
    }


def test_a_new_address_reloads_every_host_of_the_router_in_one_rank() -> None:
    """RFC 3768 7.1: hosts with different address lists drop each other's adverts."""
    old = {"VR_1": {"r1": 200, "r2": 190, "r3": 180}, "VR_2": {"r1": 180, "r2": 200, "r3": 190}}
    group = Group(old)
    want = with_addresses(desired(old), {"VR_1": "192.0.2.99/24"})
    rank = vrrp_reload_order(status_with_addresses(group.status()), want)
    assert set(rank.values()) == {0}


def test_a_new_address_beside_a_priority_move_on_other_hosts_keeps_both() -> None:
    """VR_1 (r1, r2) gains an address while VR_2's master moves from r2 to r3, a host
    without VR_1: r1 and r2 share a rank, and r3 still goes before r2."""
    old = {"VR_1": {"r1": 200, "r2": 190}, "VR_2": {"r2": 200, "r3": 190}}
    new = {"VR_1": {"r1": 200, "r2": 190}, "VR_2": {"r2": 190, "r3": 200}}
    group = Group(old)
    want = with_addresses(desired(new), {"VR_1": "192.0.2.99/24"})
    rank = vrrp_reload_order(status_with_addresses(group.status()), want)
    assert rank["r1"] == rank["r2"]
    assert rank["r3"] < rank["r2"]


def test_a_new_address_and_a_master_move_on_the_same_hosts_are_refused() -> None:
    old = {"VR_1": {"r1": 200, "r2": 190, "r3": 180}, "VR_2": {"r1": 180, "r2": 200, "r3": 190}}
    new = {"VR_1": old["VR_1"], "VR_2": {"r1": 180, "r2": 190, "r3": 200}}
    group = Group(old)
    want = with_addresses(desired(new), {"VR_1": "192.0.2.99/24"})
    with pytest.raises(AnsibleFilterError, match=r"eth0 VRID 51 changes its addresses.*r3 must "
                       r"reload before r2 .*two runs"):  # fmt: skip
        vrrp_reload_order(status_with_addresses(group.status()), want)
