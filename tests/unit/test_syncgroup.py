"""Sync groups (syncgroup.py, router.py's sync-group inputs), on a fake clock.

One test per row of docs/sync-groups.md's state table (`test_row_N_...`), then two
hosts on a fake LAN (a firewall pair: inside and outside VIPs), then a random walk of
every member input asserting that the group is never split and every change is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from failover.protocol.packet import Advertisement
from failover.protocol.router import (
    TRANSITIONS,
    Action,
    AddAddresses,
    Announce,
    IllegalTransition,
    RemoveAddresses,
    SendAdvert,
    State,
    StateChanged,
    VirtualRouter,
    skew_time,
)
from failover.protocol.settings import Track
from failover.protocol.syncgroup import Settlement, SyncGroup
from failover.protocol.tracking import CheckStatus

from .builders import router_config
from .fakelan import FakeLan
from .test_transitions import STEP, TRACK, feed

IP = IPv4Address
INIT, BACKUP, MASTER, FAULT = State.INITIALIZE, State.BACKUP, State.MASTER, State.FAULT
OK, FAIL = CheckStatus(True), CheckStatus(False)

# name -> (vrid, interface, VIP)
LANS = {
    "inside": (51, "eth0", "192.0.2.100/24"),
    "outside": (52, "eth1", "198.51.100.1/24"),
    "dmz": (53, "eth2", "203.0.113.1/24"),
}


def member(name: str, priority: int = 100, ip: str = "10.0.0.1", **kw: Any) -> VirtualRouter:
    vrid, interface, vip = LANS[name]
    config = router_config(vrid, priority, (vip,), name=name, interface=interface, **kw)
    return VirtualRouter(config, IP(ip))


def fw(*members: VirtualRouter) -> SyncGroup:
    return SyncGroup("fw", members or (member("inside"), member("outside")))


def pair(group: SyncGroup) -> tuple[VirtualRouter, VirtualRouter]:
    return group.members[0], group.members[1]


def adv(r: VirtualRouter, priority: int) -> Advertisement:
    return r.advertisement(priority)


def started(group: SyncGroup, now: float = 0.0) -> SyncGroup:
    for m in group.members:
        m.start(now)
        group.settle(now)
    return group


def all_master(group: SyncGroup) -> float:
    """Start the group and let every Master_Down_Timer fire; the time it is MASTER."""
    started(group)
    now = 0.0
    for m in group.members:
        now = max(now, m.next_deadline() or now)
        m.expire(now)
        group.settle(now)
    assert group.state is MASTER and all(m.state is MASTER for m in group.members)
    return now


def inside_waiting() -> tuple[SyncGroup, VirtualRouter, VirtualRouter, float]:
    """A started group whose inside (150) is waiting and outside (100) is not yet."""
    group = started(fw(member("inside", 150), member("outside", 100)))
    inside, outside = pair(group)
    t = inside.next_deadline() or 0.0
    assert t < (outside.next_deadline() or 0.0)
    assert inside.expire(t) == []  # no advert, no VIPs: the group decides
    assert group.settle(t) == Settlement()
    return group, inside, outside, t


def fault_of(group: SyncGroup, who: str) -> str:
    return f"sync group {group.name}: {who} in FAULT"


def became_master(r: VirtualRouter, reason: str) -> list[Action]:
    """A router's own 6.4.2 transition: advert, addresses, gratuitous ARP."""
    return [
        StateChanged(BACKUP, MASTER, reason),
        SendAdvert(r.priority),
        AddAddresses(r.config.addresses),
        Announce(tuple(a.ip for a in r.config.addresses)),
    ]


# -- the group and its members ------------------------------------------------------------


def test_a_router_belongs_to_one_group_and_is_listed_once() -> None:
    inside, outside = member("inside"), member("outside")
    with pytest.raises(ValueError, match="listed twice"):
        SyncGroup("fw", [inside, inside])
    SyncGroup("fw", [inside, outside])
    with pytest.raises(ValueError, match="inside is already in sync group fw"):
        SyncGroup("other", [member("dmz"), inside])
    assert inside.sync_group == outside.sync_group == "fw"


def test_follow_only_moves_between_master_and_backup() -> None:
    group = started(fw())
    inside, _ = pair(group)
    assert inside.follow(BACKUP, 1.0, "already") == []
    with pytest.raises(IllegalTransition, match="BACKUP -> FAULT"):
        inside.follow(FAULT, 1.0, "not the group's")


def test_a_settled_group_settles_to_nothing() -> None:
    group = fw()
    all_master(group)
    assert group.settle(9.0) == Settlement()


# -- rule 1: FAULT -------------------------------------------------------------------------


@pytest.mark.parametrize("master", [True, False])
def test_row_1_a_member_in_fault_puts_the_others_in_fault(master: bool) -> None:
    group = fw()
    now = all_master(group) + 1 if master else 1.0
    if not master:
        started(group)
    inside, outside = pair(group)
    before = group.state
    inside.track(now, link_up=False)
    s = group.settle(now)
    reason = "fault: " + fault_of(group, "inside")
    # outside leaves as its own FAULT does: a master sends priority 0, gives its VIPs up.
    handover = [SendAdvert(0), RemoveAddresses(outside.config.addresses)] if master else []
    assert s.actions == {outside: [*handover, StateChanged(before, FAULT, reason)]}
    assert s.change == StateChanged(before, FAULT, "inside in FAULT (interface eth0 down)")
    assert outside.faults == (fault_of(group, "inside"),) and outside.own_faults == ()
    assert outside.next_deadline() is None  # FAULT sends nothing


def test_row_1_a_member_not_started_yet_is_held_and_starts_in_fault() -> None:
    group = fw()
    inside, outside = pair(group)
    inside.start(0.0)
    group.settle(0.0)
    inside.track(1.0, link_up=False)
    assert group.settle(1.0).actions == {}  # inside's own FAULT; outside is not running
    assert outside.faults == (fault_of(group, "inside"),)
    assert outside.start(2.0) == [
        StateChanged(INIT, FAULT, f"startup: fault: {fault_of(group, 'inside')}")
    ]


def test_row_1_a_member_with_an_unknown_weight_zero_item_holds_the_group() -> None:
    group = fw(member("inside", track=(Track("svc", 0),)), member("outside"))
    inside, outside = pair(group)
    started(group)
    assert inside.state is FAULT and outside.state is FAULT and group.state is FAULT
    inside.track(1.0, {"svc": OK})
    group.settle(1.0)
    assert inside.state is BACKUP and outside.state is BACKUP


def test_row_2_a_second_fault_is_one_more_cause() -> None:
    group = started(fw(member("inside"), member("outside"), member("dmz")))
    inside, outside, dmz = group.members
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    assert outside.track(2.0, link_up=False) == []  # already in FAULT (held)
    s = group.settle(2.0)
    assert s == Settlement()  # nothing moves
    assert dmz.faults == (fault_of(group, "inside"), fault_of(group, "outside"))
    assert inside.faults == ("interface eth0 down", fault_of(group, "outside"))
    assert outside.faults == ("interface eth1 down", fault_of(group, "inside"))


def test_row_3_a_member_whose_fault_clears_stays_held_by_another() -> None:
    group = started(fw())
    inside, outside = pair(group)
    inside.track(1.0, link_up=False)
    outside.track(1.0, link_up=False)
    group.settle(1.0)
    assert inside.track(2.0, link_up=True) == []  # no FAULT -> BACKUP -> FAULT flap
    assert group.settle(2.0).actions == {}
    assert inside.state is FAULT and inside.faults == (fault_of(group, "outside"),)
    assert outside.faults == ("interface eth1 down",)  # inside holds nobody now


def test_row_4_the_last_fault_clearing_restarts_every_member() -> None:
    group = started(fw())
    inside, outside = pair(group)
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    assert inside.track(2.0, link_up=True) == [
        StateChanged(FAULT, BACKUP, "fault cleared (interface eth0 down)")
    ]
    s = group.settle(2.0)
    reason = f"fault cleared ({fault_of(group, 'inside')})"
    assert s.actions == {outside: [StateChanged(FAULT, BACKUP, reason)]}
    assert s.change == StateChanged(FAULT, BACKUP, "no member has a fault")
    for m in (inside, outside):  # 6.4.1: Backup, Master_Down_Timer = Master_Down_Interval
        assert m.next_deadline() == 2.0 + m.master_down_interval and not m.waiting


def test_row_4_owners_leaving_fault_together_are_master_at_once() -> None:
    group = fw(member("inside", 255), member("outside", 255))
    inside, outside = pair(group)
    started(group)
    assert group.state is MASTER
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    inside.track(2.0, link_up=True)  # an owner in a group waits for the group
    assert inside.state is BACKUP and inside.waiting
    s = group.settle(2.0)
    assert s.change == StateChanged(FAULT, MASTER, "every member can be master")
    assert all(m.state is MASTER for m in (inside, outside))


def test_row_4_an_owner_among_others_waits_for_them() -> None:
    group = fw(member("inside", 255), member("outside", 100))
    inside, outside = pair(group)
    started(group)
    assert inside.state is BACKUP and inside.waiting and inside.next_deadline() is None
    assert outside.state is BACKUP and not outside.waiting
    deadline = outside.next_deadline() or 0.0
    outside.expire(deadline)
    s = group.settle(deadline)
    reason = "sync group fw: every member can be master"
    assert s.actions == {
        inside: became_master(inside, reason),
        outside: became_master(outside, reason),
    }


# -- rule 2: MASTER -> BACKUP --------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "source", "why"),
    [
        (200, "10.0.0.9", "higher priority"),
        (100, "10.0.0.9", "equal priority, greater primary IP"),
    ],
)
def test_row_5_a_master_going_backup_takes_the_other_masters_along(
    priority: int, source: str, why: str
) -> None:
    group = fw()
    now = all_master(group) + 0.5
    inside, outside = pair(group)
    own = inside.receive(adv(inside, priority), IP(source), now)
    assert own[0] == SendAdvert(100)  # its last (router.py: "another master")
    assert own[1] == RemoveAddresses(inside.config.addresses)
    assert own[2] == StateChanged(
        MASTER, BACKUP, f"{why} advert from {source} (priority {priority})"
    )
    s = group.settle(now)
    # 6.4.3's transition: VIPs given up, Master_Down_Timer armed, no advert.
    assert s.actions == {
        outside: [
            RemoveAddresses(outside.config.addresses),
            StateChanged(MASTER, BACKUP, "sync group fw: inside in BACKUP"),
        ]
    }
    assert s.change == StateChanged(MASTER, BACKUP, "inside in BACKUP")
    assert outside.next_deadline() == now + outside.master_down_interval


# -- rule 3: BACKUP -> MASTER --------------------------------------------------------------


def test_row_6_a_member_whose_master_down_timer_fires_alone_waits() -> None:
    group, inside, _, _ = inside_waiting()
    assert group.state is BACKUP
    assert inside.state is BACKUP and inside.waiting and inside.next_deadline() is None


def test_row_6_a_member_cannot_be_master_while_another_is_in_fault() -> None:
    group = started(fw())
    inside, outside = pair(group)
    outside.track(1.0, link_up=False)
    group.settle(1.0)
    assert inside.state is FAULT and inside.next_deadline() is None  # no timer to fire
    assert inside.expire(10.0) == [] and group.settle(10.0) == Settlement()


def test_row_7_the_last_member_ready_makes_every_member_master() -> None:
    group, inside, outside, _ = inside_waiting()
    t = outside.next_deadline() or 0.0
    assert outside.expire(t) == []
    s = group.settle(t)
    reason = "sync group fw: every member can be master"
    assert s.actions == {
        inside: became_master(inside, reason),
        outside: became_master(outside, reason),
    }
    assert s.change == StateChanged(BACKUP, MASTER, "every member can be master")
    assert inside.next_deadline() == outside.next_deadline() == t + 1  # Adver_Timer


@pytest.mark.parametrize(
    ("priority", "still_waiting", "deadline"),
    [
        (150, False, "master_down"),  # 6.4.2: priority >= ours: a master is there
        (120, True, None),  # 6.4.2: preempt, lower priority: discarded
        (0, False, "skew"),  # 6.4.2: the master left: Skew_Time
    ],
)
def test_row_8_a_waiting_member_hearing_a_master_waits_no_more(
    priority: int, still_waiting: bool, deadline: str | None
) -> None:
    group, inside, outside, t = inside_waiting()
    assert inside.receive(adv(inside, priority), IP("10.0.0.9"), t + 0.5) == []
    assert group.settle(t + 0.5) == Settlement()
    assert inside.waiting is still_waiting
    expected = {
        "master_down": t + 0.5 + inside.master_down_interval,
        "skew": t + 0.5 + skew_time(150),
        None: None,
    }[deadline]
    assert inside.next_deadline() == expected
    t2 = outside.next_deadline() or 0.0
    outside.expire(t2)
    group.settle(t2)
    assert group.state is (MASTER if still_waiting else BACKUP)


def test_row_9_members_start_as_backups() -> None:
    group = fw()
    inside, _ = pair(group)
    assert group.state is INIT
    inside.start(0.0)
    s = group.settle(0.0)
    assert s.actions == {}
    assert s.change == StateChanged(INIT, BACKUP, "inside BACKUP, outside INITIALIZE")
    owner = member("dmz", 255)
    SyncGroup("dmz", [owner])
    assert owner.start(0.0) == [StateChanged(INIT, BACKUP, "address owner (priority 255)")]
    assert owner.waiting


def test_row_10_a_member_started_in_a_master_group_follows_it_at_once() -> None:
    group = fw()
    now = all_master(group) + 5
    dmz = member("dmz")
    assert group.add(dmz, now) == Settlement()  # a reload adds it, then starts it
    dmz.start(now)
    s = group.settle(now)
    reason = "sync group fw: dmz started while the group is MASTER"
    assert s.actions == {dmz: became_master(dmz, reason)}
    assert s.change is None


def test_row_11_a_member_started_in_a_fault_group_starts_in_fault() -> None:
    group = started(fw())
    inside, _ = pair(group)
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    dmz = member("dmz")
    group.add(dmz, 2.0)
    assert dmz.start(2.0) == [
        StateChanged(INIT, FAULT, f"startup: fault: {fault_of(group, 'inside')}")
    ]


# -- rule 4: shutdown and reload -----------------------------------------------------------


def test_row_12_shutdown_stops_each_member_as_usual() -> None:
    group = fw()
    now = all_master(group) + 1
    inside, outside = pair(group)
    assert inside.stop(now) == [
        SendAdvert(0),
        RemoveAddresses(inside.config.addresses),
        StateChanged(MASTER, INIT, "shutdown"),
    ]
    assert group.settle(now) == Settlement()  # the others do not move
    assert outside.state is MASTER
    outside.stop(now)
    assert group.settle(now).change == StateChanged(
        MASTER, INIT, "inside INITIALIZE, outside INITIALIZE"
    )


def test_row_12_a_stopped_member_does_not_let_a_waiting_one_be_master() -> None:
    group, inside, outside, t = inside_waiting()
    outside.stop(t + 0.1)
    assert group.settle(t + 0.1) == Settlement() and inside.state is BACKUP


def test_row_12_a_stopped_member_in_fault_still_holds_the_others() -> None:
    group = started(fw())
    inside, outside = pair(group)
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    inside.stop(2.0)
    assert group.settle(2.0) == Settlement()  # no restart on the way out
    assert outside.state is FAULT and outside.stop(2.0) == [StateChanged(FAULT, INIT, "shutdown")]


def test_row_13_a_member_removed_by_reload_no_longer_holds_the_others() -> None:
    group = started(fw())
    inside, outside = pair(group)
    inside.track(1.0, link_up=False)
    group.settle(1.0)
    inside.stop(2.0)  # reload: removed routers stop first
    s = group.remove(inside, 2.0)
    reason = f"fault cleared ({fault_of(group, 'inside')})"
    assert s.actions == {outside: [StateChanged(FAULT, BACKUP, reason)]}
    assert inside.sync_group is None and group.members == [outside]


def test_row_13_a_waiting_member_leaving_its_group_is_master() -> None:
    group, inside, outside, t = inside_waiting()
    s = group.remove(inside, t + 1)
    assert s.actions == {
        inside: became_master(inside, "master down timer had expired (left sync group)")
    }
    # and a group removed by reload: each member goes on alone
    assert group.dissolve(t + 2) == {} and outside.sync_group is None
    deadline = outside.next_deadline() or 0.0
    assert outside.expire(deadline)[0] == StateChanged(BACKUP, MASTER, "master down timer expired")


def test_row_14_a_masters_priority_change_moves_nobody() -> None:
    group = fw(member("inside", 150, track=(Track("web", -100),)), member("outside"))
    now = all_master(group) + 1
    inside, _ = pair(group)
    assert inside.track(now, {"web": FAIL}) == [SendAdvert(50)]
    assert group.settle(now) == Settlement()


def test_row_15_a_group_formed_over_a_split_settles_as_backup() -> None:
    inside, outside = member("inside"), member("outside")
    inside.start(0.0)
    inside.expire(inside.next_deadline() or 0.0)  # alone: master
    outside.start(0.0)
    group = SyncGroup("fw", [inside, outside])
    assert group.state is MASTER
    s = group.settle(5.0)
    assert s.actions == {
        inside: [
            RemoveAddresses(inside.config.addresses),
            StateChanged(MASTER, BACKUP, "sync group fw: outside in BACKUP"),
        ]
    }
    assert s.change == StateChanged(MASTER, BACKUP, "outside in BACKUP")


# -- two hosts on a fake LAN (one LAN per VRID) ---------------------------------------------


@dataclass
class GroupLan(FakeLan):
    """A FakeLan whose routers' groups settle after each input, as the daemon will."""

    groups: list[SyncGroup] = field(default_factory=list)

    def group(self, name: str, *members: str) -> SyncGroup:
        g = SyncGroup(name, [self.router(m) for m in members])
        self.groups.append(g)
        return g

    def track(self, name: str, **kw: Any) -> None:
        self._handle(name, self.router(name).track(self.now, **kw))

    def _handle(self, name: str, actions: list[Action]) -> None:
        super()._handle(name, actions)
        names = {id(n.router): n.name for n in self.nodes.values()}
        for g in self.groups:
            if self.router(name) in g.members:
                for m, more in g.settle(self.now).actions.items():
                    super()._handle(names[id(m)], more)


def firewall_pair() -> GroupLan:
    lan = GroupLan()
    for host, priority, last in (("h1", 150, 1), ("h2", 100, 2)):
        for name, (vrid, interface, vip) in list(LANS.items())[:2]:
            config = router_config(vrid, priority, (vip,), name=name, interface=interface)
            lan.add(f"{host}{name}", config, f"10.0.{vrid}.{last}")
        lan.group(f"fw{host}", f"{host}inside", f"{host}outside")
    lan.start(*lan.nodes)
    lan.advance(5)
    assert lan.masters() == ["h1inside", "h1outside"]
    return lan


def test_pair_a_cut_link_moves_both_vips_to_the_other_host_and_back() -> None:
    lan = firewall_pair()
    cut = lan.now
    lan.set_link("h1outside", False)
    lan.track("h1outside", link_up=False)
    assert lan.router("h1inside").faults == ("sync group fwh1: outside in FAULT",)
    assert (cut, 0) in lan.adverts("h1inside")  # priority 0 on the inside LAN
    lan.advance(5)
    assert lan.masters() == ["h2inside", "h2outside"]
    # the inside LAN heard priority 0: h2inside was ready after Skew_Time; outside heard
    # nothing, so the group became master when outside's Master_Down_Timer fired.
    (when,) = {t for t, _, _, new in lan.transitions() if new is MASTER and t > cut}
    assert cut < when <= cut + 3 + skew_time(100)
    lan.set_link("h1outside", True)
    lan.track("h1outside", link_up=True)
    lan.advance(5)  # h1 preempts (6.4.2), h2's masters go back together (rule 2)
    assert lan.masters() == ["h1inside", "h1outside"]
    back = [(n, old, new) for t, n, old, new in lan.transitions() if t > cut + 5]
    assert ("h2outside", MASTER, BACKUP) in back and ("h2inside", MASTER, BACKUP) in back


def test_pair_a_member_hearing_no_master_does_not_pull_its_group_up() -> None:
    # h2inside is cut off its LAN (no link event): alone it would be master after
    # Master_Down_Interval; in the group it waits, because h2outside still hears h1.
    # No thrashing: h2's VIPs never move.
    lan = firewall_pair()
    cut = lan.now
    lan.set_link("h2inside", False)
    lan.advance(60)
    assert lan.router("h2inside").waiting
    assert lan.transitions("h2inside")[-1][0] < cut
    assert lan.transitions("h2outside")[-1][0] < cut
    assert lan.masters() == ["h1inside", "h1outside"]


# -- a random walk over the members' inputs ----------------------------------------------------


def check_changes(states: dict[int, State], r: VirtualRouter, actions: Sequence[Action]) -> None:
    for change in (a for a in actions if isinstance(a, StateChanged)):
        assert change.old is states[id(r)] and change.new in TRANSITIONS[change.old]
        states[id(r)] = change.new
    assert r.state is states[id(r)]


@settings(max_examples=300, deadline=None)
@given(
    owner=st.sampled_from((None, 0, 1, 2)),
    begin=st.sampled_from((INIT, BACKUP, MASTER)),
    steps=st.lists(
        st.tuples(
            st.integers(0, 2),  # which member
            st.sampled_from((False, False, True)),  # or: time passes to the earliest timer
            STEP,  # test_transitions.py's: any input of the core
        ),
        max_size=50,
    ),
)
def test_any_inputs_leave_no_group_split_and_only_allowed_transitions(
    owner: int | None,
    begin: State,
    steps: list[tuple[int, bool, tuple[str, float, int, bool, int]]],
) -> None:
    members = [
        member(name, 255 if i == owner else 100, f"10.0.0.{100 + i}", track=TRACK)
        for i, name in enumerate(LANS)
    ]
    for m in members:
        m.track(0.0, {"svc": OK})  # known and healthy: FAULT only when the walk says so
    group = SyncGroup("fw", members)
    now = {INIT: 0.0, BACKUP: 0.0, MASTER: all_master(group)}[begin]
    if begin is BACKUP:
        started(group)
    states = {id(m): m.state for m in members}
    for which, tick, (name, dt, priority, greater, new) in steps:
        r = members[which]
        now += dt
        armed = [m for m in members if m.next_deadline() is not None]
        if tick and armed:  # as the daemon's loop does
            r = min(armed, key=lambda m: m.next_deadline() or 0.0)
            name = "expire"
        if name == "expire":
            now = max(now, r.next_deadline() or now)
        source = IP("10.0.0.200" if greater else "10.0.0.0")
        check_changes(states, r, feed(r, name, now, adv(r, priority), source, new))
        old_group = group.state
        s = group.settle(now)
        for m, actions in s.actions.items():
            check_changes(states, m, actions)
        # never split: MASTER only with MASTER (or stopped) members
        running = {m.state for m in members} - {INIT}
        assert MASTER not in running or running == {MASTER}, [m.state for m in members]
        # FAULT exactly while some member has a fault of its own
        if any(m.own_faults for m in members):
            assert running <= {FAULT}
        else:
            assert FAULT not in running
        assert all(m.faults for m in members if m.state is FAULT)
        if s.change is not None:
            assert s.change.old is old_group and s.change.new in TRANSITIONS[old_group]
        assert group.settle(now) == Settlement()  # settled means settled
