"""RFC 3768 section 6: the virtual router state machine, on a fake clock and a fake LAN.

Times are exact: every Skew_Time is a multiple of 1/256 s, which a float holds exactly,
so transitions are checked to the microsecond (`at`) rather than merely the millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any

import pytest

from failover.protocol.packet import Advertisement, DropReason
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
from failover.protocol.settings import RouterConfig

from .builders import router_config
from .fakelan import FakeLan

IP = IPv4Address
INIT, BACKUP, MASTER, FAULT = State.INITIALIZE, State.BACKUP, State.MASTER, State.FAULT


def at(t: float) -> object:
    return pytest.approx(t, abs=1e-6)


def vr(priority: int = 100, ip: str = "192.0.2.1", **kw: Any) -> VirtualRouter:
    return VirtualRouter(router_config(priority=priority, **kw), IP(ip))


def adv(priority: int, config: RouterConfig | None = None) -> Advertisement:
    c = config or router_config()
    return Advertisement(c.vrid, priority, tuple(a.ip for a in c.addresses), int(c.advert_interval))


def kinds(actions: Sequence[object]) -> list[type]:
    return [type(a) for a in actions]


def master_at(router: VirtualRouter, now: float) -> VirtualRouter:
    """Bring a non-owner router to Master by letting its Master_Down_Timer fire."""
    router.start(now - router.master_down_interval)
    router.expire(now)
    assert router.state is MASTER
    return router


# -- 6.1 timers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "interval", "skew", "down"),
    [
        (1, 1, 255 / 256, 3 + 255 / 256),
        (100, 1, 0.609375, 3.609375),
        (200, 1, 0.21875, 3.21875),
        (254, 1, 0.0078125, 3.0078125),
        (150, 3, 0.4140625, 9.4140625),
        (100, 255, 0.609375, 765.609375),
    ],
)
def test_skew_time_and_master_down_interval(
    priority: int, interval: int, skew: float, down: float
) -> None:
    assert skew_time(priority) == skew
    assert master_down_interval(priority, interval) == down
    r = vr(priority, advert_interval=interval)
    assert (r.skew_time, r.master_down_interval) == (skew, down)


# -- 6.4.1 Initialize -----------------------------------------------------------------------


def test_owner_starts_as_master_with_advert_and_garp_at_once() -> None:
    r = vr(255)
    actions = r.start(10.0)
    assert kinds(actions) == [StateChanged, SendAdvert, AddAddresses, Announce]
    assert actions[0] == StateChanged(INIT, MASTER, "address owner (priority 255)")
    assert actions[1:] == [
        SendAdvert(255),
        AddAddresses(r.config.addresses),
        Announce((IP("192.0.2.100"),)),
    ]
    assert r.state is MASTER
    assert r.next_deadline() == 11.0  # Adver_Timer = Advertisement_Interval


@pytest.mark.parametrize(("priority", "interval"), [(1, 1), (100, 1), (254, 1), (150, 3)])
def test_non_owner_starts_as_backup_with_master_down_interval(priority: int, interval: int) -> None:
    r = vr(priority, advert_interval=interval)
    actions = r.start(10.0)
    assert actions == [StateChanged(INIT, BACKUP, "startup")]
    assert r.next_deadline() == 10.0 + 3 * interval + (256 - priority) / 256


def test_master_down_fires_at_its_deadline_and_not_a_millisecond_before() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.expire(3.609375 - 0.002) == []
    assert r.state is BACKUP
    actions = r.expire(3.609375)
    assert kinds(actions) == [StateChanged, SendAdvert, AddAddresses, Announce]
    assert actions[1] == SendAdvert(100)
    assert r.state is MASTER
    assert r.next_deadline() == 4.609375


def test_inputs_before_start_do_nothing() -> None:
    r = vr(100)
    assert r.receive(adv(200), IP("192.0.2.2"), 1.0) == []
    assert r.expire(100.0) == []
    assert r.stop(1.0) == []
    assert r.next_deadline() is None
    assert r.state is INIT


def test_start_twice_is_ignored() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.start(1.0) == []
    assert r.next_deadline() == 3.609375


# -- 6.4.2 Backup ------------------------------------------------------------------------------


def test_backup_priority_zero_sets_master_down_to_skew_time() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.receive(adv(0), IP("192.0.2.2"), 1.5) == []
    assert r.next_deadline() == 1.5 + 0.609375


@pytest.mark.parametrize("preempt", [True, False])
@pytest.mark.parametrize("priority", [100, 101, 254, 255])
def test_backup_higher_or_equal_priority_restarts_master_down(preempt: bool, priority: int) -> None:
    r = vr(100, preempt_mode=preempt)
    r.start(0.0)
    assert r.receive(adv(priority), IP("192.0.2.2"), 2.25) == []
    assert r.next_deadline() == 2.25 + 3.609375
    assert (r.master_ip, r.master_priority) == (IP("192.0.2.2"), priority)


def test_backup_preempt_off_lower_priority_restarts_master_down() -> None:
    r = vr(100, preempt_mode=False)
    r.start(0.0)
    assert r.receive(adv(50), IP("192.0.2.2"), 2.25) == []
    assert r.next_deadline() == 2.25 + 3.609375


def test_backup_preempt_on_lower_priority_is_discarded_not_taken_over() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.receive(adv(99), IP("192.0.2.2"), 2.25) == []
    assert r.state is BACKUP  # no take-over at once (the original failover's defect)
    assert r.next_deadline() == 3.609375  # Master_Down_Timer not reset either
    assert r.expire(3.609375)[0] == StateChanged(BACKUP, MASTER, "master down timer expired")


def test_preempt_delay_defaults_to_zero() -> None:
    assert router_config().preempt_delay == 0


def test_preempt_delay_accepts_a_lower_master_until_it_has_lasted_that_long() -> None:
    r = vr(200, preempt_delay=5)
    r.start(0.0)
    r.receive(adv(100), IP("192.0.2.2"), 1.0)  # first lower advert: the delay starts
    assert r.next_deadline() == 1.0 + 3.21875
    r.receive(adv(100), IP("192.0.2.2"), 5.5)  # 4.5 s < 5 s: still accepted
    assert r.next_deadline() == 5.5 + 3.21875
    r.receive(adv(100), IP("192.0.2.2"), 6.0)  # 5 s: now discarded
    assert r.next_deadline() == 5.5 + 3.21875
    assert r.expire(8.71875)[0].new is MASTER  # type: ignore[union-attr]


def test_preempt_delay_restarts_after_a_higher_priority_master() -> None:
    r = vr(200, preempt_delay=5)
    r.start(0.0)
    r.receive(adv(100), IP("192.0.2.2"), 1.0)
    r.receive(adv(250), IP("192.0.2.3"), 2.0)  # a higher master: nothing to preempt
    r.receive(adv(100), IP("192.0.2.2"), 6.5)  # lower again: a new 5 s delay
    assert r.next_deadline() == 6.5 + 3.21875


def test_preempt_delay_is_ignored_with_preempt_off() -> None:
    r = vr(200, preempt_mode=False, preempt_delay=5)
    r.start(0.0)
    for t in (1.0, 7.0, 20.0):
        r.receive(adv(100), IP("192.0.2.2"), t)
        assert r.next_deadline() == t + 3.21875


def test_stop_while_backup_only_leaves() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.stop(1.0) == [StateChanged(BACKUP, INIT, "shutdown")]
    assert r.next_deadline() is None


def test_link_down_while_backup_is_fault_and_link_up_starts_again() -> None:
    r = vr(100)
    r.start(0.0)
    assert r.track(1.0, link_up=False) == [
        StateChanged(BACKUP, FAULT, "fault: interface eth0 down")
    ]
    assert r.next_deadline() is None
    assert r.track(5.0, link_up=True) == [
        StateChanged(FAULT, BACKUP, "fault cleared (interface eth0 down)")
    ]
    assert r.next_deadline() == 5.0 + 3.609375


# -- 6.4.3 Master ---------------------------------------------------------------------------------


def test_master_priority_zero_advertises_at_once() -> None:
    r = master_at(vr(100), 10.0)
    assert r.receive(adv(0), IP("192.0.2.2"), 10.25) == [SendAdvert(100)]
    assert r.next_deadline() == 11.25  # Adver_Timer reset
    assert r.state is MASTER


def test_master_higher_priority_goes_backup() -> None:
    r = master_at(vr(100), 10.0)
    actions = r.receive(adv(101), IP("192.0.2.0"), 10.25)
    assert actions == [
        SendAdvert(100),  # not the RFC's: the winner learns of the dual master
        RemoveAddresses(r.config.addresses),
        StateChanged(MASTER, BACKUP, "higher priority advert from 192.0.2.0 (priority 101)"),
    ]
    assert r.next_deadline() == 10.25 + 3.609375  # Master_Down_Timer
    assert (r.master_ip, r.master_priority) == (IP("192.0.2.0"), 101)


def test_master_equal_priority_greater_primary_ip_goes_backup() -> None:
    r = master_at(vr(100, ip="192.0.2.5"), 10.0)
    actions = r.receive(adv(100), IP("192.0.2.6"), 10.25)
    assert kinds(actions) == [SendAdvert, RemoveAddresses, StateChanged]
    assert "equal priority, greater primary IP" in actions[2].reason  # type: ignore[union-attr]
    assert r.state is BACKUP


def test_master_primary_ip_compared_as_numbers_not_text() -> None:
    r = master_at(vr(100, ip="192.0.2.9"), 10.0)
    assert r.receive(adv(100), IP("192.0.2.10"), 10.25) != []  # "10" < "9" as text
    assert r.state is BACKUP


@pytest.mark.parametrize(
    ("priority", "source"), [(100, "192.0.2.4"), (99, "192.0.2.6"), (1, "192.0.2.6")]
)
def test_master_discards_lower_priority_or_equal_priority_smaller_ip(
    priority: int, source: str
) -> None:
    r = master_at(vr(100, ip="192.0.2.5"), 10.0)
    assert r.receive(adv(priority), IP(source), 10.25) == []
    assert r.state is MASTER
    assert r.next_deadline() == 11.0  # Adver_Timer untouched


def test_master_adverts_every_advertisement_interval() -> None:
    r = master_at(vr(100, advert_interval=3), 10.0)
    sent = []
    for t in (12.998, 13.0, 15.9, 16.0, 19.0):
        if r.expire(t):
            sent.append(t)
    assert sent == [13.0, 16.0, 19.0]


def test_master_adverts_do_not_drift_on_slightly_early_expiry() -> None:
    r = master_at(vr(100, advert_interval=1), 10.0)
    for n in range(1, 101):
        assert r.expire(10.0 + n - 0.0009) == [SendAdvert(100)]  # within the timer slack
    assert r.next_deadline() == 111.0


def test_master_that_fell_behind_does_not_burst_adverts() -> None:
    r = master_at(vr(100, advert_interval=1), 10.0)
    assert r.expire(15.5) == [SendAdvert(100)]
    assert r.next_deadline() == 16.5
    assert r.expire(16.0) == []


def test_stop_while_master_sends_priority_zero_then_removes_addresses() -> None:
    r = master_at(vr(100), 10.0)
    assert r.stop(12.5) == [
        SendAdvert(0),
        RemoveAddresses(r.config.addresses),
        StateChanged(MASTER, INIT, "shutdown"),
    ]
    assert r.next_deadline() is None
    assert r.expire(13.0) == []


def test_link_down_while_master_is_fault_with_a_priority_zero_advert() -> None:
    # The daemon does not put it on a wire without carrier; a FAULT from a failing
    # check sends it, so a backup takes over after Skew_Time.
    r = master_at(vr(100), 10.0)
    assert r.track(12.5, link_up=False) == [
        SendAdvert(0),
        RemoveAddresses(r.config.addresses),
        StateChanged(MASTER, FAULT, "fault: interface eth0 down"),
    ]
    assert r.next_deadline() is None
    assert r.expire(20.0) == []


def test_owner_link_up_is_master_at_once() -> None:
    r = vr(255)
    r.start(0.0)
    r.track(1.0, link_up=False)
    assert kinds(r.track(2.0, link_up=True)) == [
        StateChanged,
        SendAdvert,
        AddAddresses,
        Announce,
    ]
    assert r.next_deadline() == 3.0


def test_start_with_the_link_down_is_fault() -> None:
    r = vr(100)
    r.track(0.0, link_up=False)
    assert r.start(1.0) == [StateChanged(INIT, FAULT, "startup: fault: interface eth0 down")]
    assert r.stop(2.0) == [StateChanged(FAULT, INIT, "shutdown")]


def test_restart_after_stop() -> None:
    r = master_at(vr(100), 10.0)
    r.stop(12.5)
    assert r.start(20.0) == [StateChanged(INIT, BACKUP, "startup")]
    assert r.next_deadline() == 23.609375


# -- the fake LAN: several routers on one wire -----------------------------------------------------


def lan_of(*routers: tuple[str, int, str]) -> FakeLan:
    """A LAN with routers (name, priority, primary IP) of one VRID, not started."""
    lan = FakeLan()
    for name, priority, ip in routers:
        lan.add(name, router_config(priority=priority, name=name), ip)
    return lan


A = ("a", 100, "192.0.2.1")
B = ("b", 150, "192.0.2.2")
C = ("c", 200, "192.0.2.3")


def test_lan_owner_sends_advert_and_garp_at_start_then_every_interval() -> None:
    lan = lan_of(("o", 255, "192.0.2.1"))
    lan.start("o")
    assert kinds(lan.actions("o")) == [StateChanged, SendAdvert, AddAddresses, Announce]
    lan.run_until(10.0)
    assert lan.adverts("o") == [(float(t), 255) for t in range(11)]
    assert [r.reason for _, _, r in lan.drops] == [DropReason.OWN_ADVERT] * 11


def test_lan_two_routers_converge_on_the_higher_priority() -> None:
    lan = lan_of(A, C)
    lan.start("a", "c")
    lan.run_until(60.0)
    assert lan.transitions() == [
        (0.0, "a", INIT, BACKUP),
        (0.0, "c", INIT, BACKUP),
        (3.21875, "c", BACKUP, MASTER),
    ]
    assert lan.adverts("c") == [(3.21875 + k, 200) for k in range(57)]
    assert lan.adverts("a") == []
    assert lan.router("a").master_ip == IP("192.0.2.3")


def test_lan_three_routers_converge_and_never_flap_in_an_hour() -> None:
    lan = lan_of(A, B, C)
    lan.start("a", "b", "c")
    lan.run_until(3600.0)
    assert lan.masters() == ["c"]
    assert [(t, n, new) for t, n, _, new in lan.transitions() if new is MASTER] == [
        (3.21875, "c", MASTER)
    ]
    assert len(lan.adverts("c")) == 3597
    assert lan.drops and {r.reason for _, _, r in lan.drops} == {DropReason.OWN_ADVERT}


def test_lan_failover_when_the_master_vanishes_takes_master_down_interval() -> None:
    lan = lan_of(A, B, C)
    lan.start("a", "b", "c")
    lan.run_until(10.5)  # c's last advert was at 10.21875
    lan.crash("c")
    lan.run_until(30.0)
    assert lan.masters() == ["b"]
    # b: 10.21875 + 3 + 106/256; a would have waited 3 + 156/256, b's advert came first.
    assert lan.transitions("b")[-1][0] == at(10.21875 + 3.4140625)
    assert [new for *_, new in lan.transitions("a")] == [BACKUP]


def test_lan_graceful_stop_hands_over_after_skew_time() -> None:
    lan = lan_of(A, B, C)
    lan.start("a", "b", "c")
    lan.run_until(10.5)
    lan.stop("c")
    assert lan.adverts("c")[-1] == (10.5, 0)
    lan.run_until(30.0)
    assert lan.masters() == ["b"]
    assert lan.transitions("b")[-1] == (at(10.5 + 0.4140625), "b", BACKUP, MASTER)
    assert [new for *_, new in lan.transitions("a")] == [BACKUP]
    # a heard b's first advert before its own Skew_Time (10.5 + 0.609375) ran out
    assert lan.router("a").next_deadline() == at(lan.adverts("b")[-1][0] + 3.609375)


def test_lan_preemption_on_return_waits_for_master_down_interval() -> None:
    lan = lan_of(A, B, C)
    lan.start("a", "b", "c")
    lan.run_until(10.5)
    lan.crash("c")
    lan.run_until(20.0)
    lan.reboot("c")
    lan.run_until(60.0)
    assert lan.masters() == ["c"]
    assert lan.transitions("c")[-2:] == [
        (20.0, "c", INIT, BACKUP),
        (20.0 + 3.21875, "c", BACKUP, MASTER),  # not at b's first advert after 20.0
    ]
    assert lan.transitions("b")[-1] == (20.0 + 3.21875, "b", MASTER, BACKUP)


def test_lan_no_preemption_on_return_with_preempt_off() -> None:
    lan = FakeLan()
    lan.add("b", router_config(priority=150, name="b"), "192.0.2.2")
    lan.add("c", router_config(priority=200, name="c", preempt_mode=False), "192.0.2.3")
    lan.start("b")
    lan.run_until(20.0)
    lan.start("c")
    lan.run_until(3600.0)
    assert lan.masters() == ["b"]
    assert [new for *_, new in lan.transitions("c")] == [BACKUP]


def test_lan_owner_returning_takes_over_at_once() -> None:
    lan = lan_of(B, ("o", 255, "192.0.2.9"))
    lan.start("b")
    lan.run_until(20.0)
    lan.start("o")
    lan.run_until(20.0)  # deliver what is on the wire now
    assert lan.masters() == ["o"]
    assert lan.transitions("b")[-1] == (20.0, "b", MASTER, BACKUP)
    lan.run_until(100.0)
    assert lan.masters() == ["o"]


@pytest.mark.parametrize(("delay", "takeover"), [(0, 10.0 + 3.21875), (5, 14.609375 + 3.21875)])
def test_lan_preempt_delay(delay: float, takeover: float) -> None:
    lan = FakeLan()
    lan.add("a", router_config(priority=100, name="a"), "192.0.2.1")
    lan.add("c", router_config(priority=200, name="c", preempt_delay=delay), "192.0.2.3")
    lan.start("a")  # a is master from 3.609375, adverts at .609375 past each second
    lan.run_until(10.0)
    lan.start("c")
    lan.run_until(60.0)
    assert lan.transitions("c")[-1] == (at(takeover), "c", BACKUP, MASTER)
    assert lan.masters() == ["c"]


@pytest.mark.parametrize("names", [("lo", "hi"), ("hi", "lo")])
def test_lan_equal_priority_greater_primary_ip_wins_without_flapping(
    names: tuple[str, str],
) -> None:
    """Both start together, both become Master at once; the greater primary IP stays."""
    lan = FakeLan(latency=0.01)
    ips = {"lo": "192.0.2.1", "hi": "192.0.2.2"}
    for name in names:
        lan.add(name, router_config(priority=100, name=name), ips[name])
    lan.start(*names)
    lan.run_until(3600.0)
    assert lan.masters() == ["hi"]
    assert sorted(lan.transitions(), key=lambda e: (e[0], e[1])) == [
        (0.0, "hi", INIT, BACKUP),
        (0.0, "lo", INIT, BACKUP),
        (3.609375, "hi", BACKUP, MASTER),
        (3.609375, "lo", BACKUP, MASTER),
        (at(3.619375), "lo", MASTER, BACKUP),
    ]


def test_lan_partition_heals_to_one_master() -> None:
    lan = lan_of(("lo", 100, "192.0.2.1"), ("hi", 100, "192.0.2.2"))
    lan.start("hi")
    lan.run_until(5.0)
    lan.start("lo")
    lan.run_until(10.0)
    assert lan.masters() == ["hi"]
    lan.set_link("lo", False)  # lo stops hearing hi at 10.0; hi's last advert was 9.609375
    lan.run_until(20.0)
    assert lan.masters() == ["hi", "lo"]
    assert lan.transitions("lo")[-1][0] == 9.609375 + 3.609375
    lan.set_link("lo", True)
    lan.run_until(3600.0)
    assert lan.masters() == ["hi"]
    assert lan.transitions("lo")[-1] == (20.609375, "lo", MASTER, BACKUP)  # hi's next advert
    assert [new for *_, new in lan.transitions("hi")] == [BACKUP, MASTER]


def test_lan_other_vrid_does_not_interact() -> None:
    lan = FakeLan()
    lan.add("x", router_config(vrid=51, priority=100, name="x"), "192.0.2.1")
    lan.add("y", router_config(vrid=52, priority=200, name="y"), "192.0.2.2")
    lan.start("x", "y")
    lan.run_until(30.0)
    assert lan.masters() == ["x", "y"]
    assert DropReason.UNKNOWN_VRID in {r.reason for _, _, r in lan.drops}


def test_lan_password_mismatch_means_no_peer_is_heard() -> None:
    lan = FakeLan()
    for name, pw, ip in (("x", b"one", "192.0.2.1"), ("y", b"two", "192.0.2.2")):
        lan.add(name, router_config(name=name, auth_type=1, auth_password=pw), ip)
    lan.start("x", "y")
    lan.run_until(30.0)
    assert lan.masters() == ["x", "y"]
    assert DropReason.AUTH_MISMATCH in {r.reason for _, _, r in lan.drops}


def test_the_daemons_advert_grid_lines_masters_up_never_later() -> None:
    """With an advert grid (the daemon's ADVERT_GRID, 10 ms), Adver_Timers are snapped
    back to it: masters that became master a few ms apart advert together, never later
    than the RFC's Advertisement_Interval and at most one step early."""
    a = VirtualRouter(router_config(priority=255), IP("192.0.2.1"), advert_grid=0.01)
    b = VirtualRouter(router_config(vrid=52, priority=255), IP("192.0.2.1"), advert_grid=0.01)
    a.start(3.601)
    b.start(3.6085)
    for r, started in ((a, 3.601), (b, 3.6085)):
        deadline = r.next_deadline()
        assert deadline is not None and started + 1 - 0.01 < deadline <= started + 1
    assert a.next_deadline() == pytest.approx(b.next_deadline())  # the same wake-up
    first = a.next_deadline()
    assert first is not None
    assert a.expire(first) == [SendAdvert(255)]
    assert a.next_deadline() == pytest.approx(first + 1)  # and so on, on the grid
    fast = VirtualRouter(
        router_config(priority=255, version=3, advert_interval=0.05), IP("192.0.2.1"), 0.01
    )
    fast.start(1.0033)  # a 0.05 s interval: a 5 ms step, a tenth of it
    assert fast.next_deadline() == pytest.approx(1.05)
