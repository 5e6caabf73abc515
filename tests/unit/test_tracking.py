"""Tracked items (tracking.py) and what they do to a router (router.py), on a fake clock.

Effective priority, clamping, the owner, rise/fall hysteresis, FAULT entry and exit with
its priority-0 advert, and the effective priority in the RFC 3768 timers and adverts.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from failover.protocol.packet import Advertisement
from failover.protocol.router import (
    AddAddresses,
    Announce,
    RemoveAddresses,
    SendAdvert,
    State,
    StateChanged,
    VirtualRouter,
    master_down_interval,
    skew_time,
)
from failover.protocol.settings import Track
from failover.protocol.tracking import (
    CheckStatus,
    Hysteresis,
    assess,
    contribution,
    effective_priority,
    is_fault,
)

from .builders import router_config

OK, FAIL, UNKNOWN = CheckStatus(True), CheckStatus(False), CheckStatus()


# -- weights and the effective priority ----------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "status", "added"),
    [
        (30, OK, 30),  # a positive weight is added while healthy
        (30, FAIL, 0),
        (-30, OK, 0),
        (-30, FAIL, -30),  # a negative weight is added while failing
        (30, UNKNOWN, 0),  # nothing until the first result
        (-30, UNKNOWN, 0),
        (0, FAIL, 0),  # weight 0 is FAULT, never a number
        (10, CheckStatus(True, 3), 30),  # a file check: value x weight
        (-10, CheckStatus(True, 2), -20),
    ],
)
def test_contribution(weight: int, status: CheckStatus, added: int) -> None:
    assert contribution(Track("c", weight), status) == added


@pytest.mark.parametrize(
    ("configured", "added", "effective"),
    [
        (100, [20, -50], 70),
        (200, [100], 254),  # never raised to 255 (only an owner is 255)
        (100, [-200], 1),  # never below 1 (0 means "stop", RFC 3768 5.3.4)
        (255, [-200], 255),  # the owner's priority never moves
        (254, [], 254),
    ],
)
def test_effective_priority_is_clamped_and_the_owner_never_moves(
    configured: int, added: list[int], effective: int
) -> None:
    assert effective_priority(configured, added) == effective


def test_weight_zero_is_fault_while_failing_or_unknown() -> None:
    track = Track("svc", 0)
    assert is_fault(track, FAIL) and is_fault(track, UNKNOWN) and not is_fault(track, OK)
    assert is_fault(track, CheckStatus(True, 1))  # a file check: non-zero is FAULT
    assert not is_fault(track, CheckStatus(True, 0))
    assert not is_fault(Track("svc", -10), FAIL)


def test_assess_names_what_causes_fault_and_what_each_item_adds() -> None:
    tracks = (Track("web", -50), Track("uplink", 0), Track("drain", 5))
    a = assess(150, tracks, {"web": FAIL, "drain": CheckStatus(True, 4)})
    assert a.priority == 150 - 50 + 20
    assert a.faults == ("uplink",)  # never reported yet
    assert a.contributions == (("web", -50), ("uplink", 0), ("drain", 20))


# -- rise and fall -----------------------------------------------------------------------------


def test_the_first_result_decides_at_once() -> None:
    h = Hysteresis(rise=3, fall=3)
    assert h.result(False) and h.status == FAIL


def test_rise_and_fall_need_that_many_results_in_a_row() -> None:
    h = Hysteresis(rise=2, fall=3)
    h.result(True)
    assert [h.result(False), h.result(False)] == [False, False] and h.status == OK
    assert h.result(True) is False  # the run of failures is broken
    assert [h.result(False), h.result(False), h.result(False)] == [False, False, True]
    assert h.status == FAIL
    assert [h.result(True), h.result(True)] == [False, True] and h.status == OK


def test_a_file_value_change_is_a_change() -> None:
    h = Hysteresis()
    h.result(True, 1)
    assert h.result(True, 2) and h.status == CheckStatus(True, 2)
    assert not h.result(True, 2)


def test_rise_and_fall_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Hysteresis(rise=0)


# -- the router --------------------------------------------------------------------------------


def vr(priority: int = 100, *track: Track) -> VirtualRouter:
    return VirtualRouter(router_config(priority=priority, track=track), IPv4Address("192.0.2.1"))


def master(r: VirtualRouter, now: float = 10.0) -> VirtualRouter:
    r.start(now - r.master_down_interval)
    r.expire(now)
    assert r.state is State.MASTER
    return r


def test_an_unknown_weight_zero_check_keeps_the_router_in_fault_until_it_passes() -> None:
    r = vr(100, Track("svc", 0))
    assert r.start(0.0) == [StateChanged(State.INITIALIZE, State.FAULT, "startup: fault: svc")]
    assert r.next_deadline() is None
    assert r.track(0.5, {"svc": OK}) == [
        StateChanged(State.FAULT, State.BACKUP, "fault cleared (svc)")
    ]
    assert r.next_deadline() == 0.5 + master_down_interval(100, 1)  # RFC 3768 6.4.1


def test_a_master_entering_fault_sends_priority_zero_and_gives_the_vips_up() -> None:
    r = vr(100, Track("svc", 0))
    r.track(0.0, {"svc": OK})
    master(r)
    assert r.track(12.0, {"svc": FAIL}) == [
        SendAdvert(0),  # backups take over after Skew_Time (6.4.2)
        RemoveAddresses(r.config.addresses),
        StateChanged(State.MASTER, State.FAULT, "fault: svc"),
    ]
    assert r.next_deadline() is None and r.expire(20.0) == []  # FAULT sends nothing
    # an advert heard in FAULT changes nothing
    adv = Advertisement(51, 200, (IPv4Address("192.0.2.100"),))
    assert r.receive(adv, IPv4Address("192.0.2.9"), 21.0) == []


def test_an_owner_leaving_fault_is_master_at_once() -> None:
    r = vr(255, Track("svc", 0))
    r.start(0.0)
    assert r.state is State.FAULT
    actions = r.track(1.0, {"svc": OK})
    assert [type(a) for a in actions] == [StateChanged, SendAdvert, AddAddresses, Announce]
    assert actions[1] == SendAdvert(255)


def test_a_master_advertises_a_changed_effective_priority_at_once() -> None:
    r = vr(150, Track("web", -100))
    master(r)
    assert r.track(12.3, {"web": FAIL}) == [SendAdvert(50)]
    assert r.next_deadline() == 12.3 + 1  # Adver_Timer reset
    assert r.advertisement().priority == 50 and r.master_priority == 50
    assert r.track(12.5, {"web": FAIL}) == []  # no change, no advert


def test_the_timers_use_the_effective_priority() -> None:
    r = vr(100, Track("web", 50))
    r.track(0.0, {"web": OK})
    assert r.priority == 150
    assert r.skew_time == skew_time(150)
    assert r.start(1.0)[0] == StateChanged(State.INITIALIZE, State.BACKUP, "startup")
    assert r.next_deadline() == 1.0 + master_down_interval(150, 1)


def test_a_backup_lifted_above_the_master_preempts_when_master_down_expires() -> None:
    # RFC 3768 6.4.2 with the effective priority: the lower master's adverts are
    # discarded once the backup's own priority is higher, so Master_Down runs out.
    r = vr(100, Track("web", 60))
    r.start(0.0)
    low = Advertisement(51, 120, (IPv4Address("192.0.2.100"),))
    r.receive(low, IPv4Address("192.0.2.9"), 1.0)
    deadline = r.next_deadline()
    r.track(1.5, {"web": OK})  # now 160 > 120
    assert r.receive(low, IPv4Address("192.0.2.9"), 2.0) == []
    assert r.next_deadline() == deadline  # not reset by the lower master
    assert r.expire(deadline or 0)[0] == StateChanged(
        State.BACKUP, State.MASTER, "master down timer expired"
    )


def test_a_reload_that_adds_a_failing_weight_zero_item_puts_a_master_in_fault() -> None:
    r = master(vr(100))
    old = r.config.addresses
    actions = r.reconfigure(router_config(track=(Track("svc", 0),)), 11.0)
    assert actions[:2] == [SendAdvert(0), RemoveAddresses(old)]
    assert r.state is State.FAULT and r.faults == ("svc",)
