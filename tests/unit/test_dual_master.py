"""Two masters on one LAN (router.py, "another master"; not RFC 3768's): the winner
announces its addresses again, rate-limited, the loser's last advert tells it, and each
router counts its dual-master periods. On the core with a fake clock and LAN."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from failover.protocol.router import Announce, SendAdvert, State, VirtualRouter

from .fakelan import FakeLan
from .test_router import adv, lan_of, master_at, vr

IP = IPv4Address
PEER = IP("192.0.2.9")


def announce(r: VirtualRouter) -> Announce:
    return Announce(tuple(a.ip for a in r.config.addresses))


def test_a_master_announces_again_on_a_lower_priority_advert() -> None:
    r = master_at(vr(200, ip="192.0.2.5"), 10.0)
    assert r.receive(adv(150), PEER, 12.0) == [announce(r)]
    assert r.state is State.MASTER
    assert r.next_deadline() == 11.0  # 6.4.3: the advert is discarded, Adver_Timer untouched


def test_a_tie_won_is_a_lower_priority_advert_too() -> None:
    r = master_at(vr(150, ip="192.0.2.5"), 10.0)
    assert r.receive(adv(150), IP("192.0.2.4"), 12.0) == [announce(r)]
    assert r.dual_master_periods == 1


def test_announcing_again_waits_an_advertisement_interval() -> None:
    """Its own announcements on becoming master count: one burst per interval at most,
    whatever a flapping peer sends (here an advert every 50 ms for 10 s)."""
    r = master_at(vr(200), 10.0)
    times = [10.0 + n * 0.05 for n in range(1, 201)]
    announced = [t for t in times if r.receive(adv(150), PEER, t)]
    assert announced == pytest.approx([11.0 + n for n in range(10)])


def test_a_priority_zero_advert_is_a_master_leaving_not_a_dual_master() -> None:
    r = master_at(vr(200), 10.0)
    assert r.receive(adv(0), PEER, 12.0) == [SendAdvert(200)]
    assert r.dual_master_periods == 0


def test_a_period_lasts_while_adverts_come_and_ends_after_a_master_down_interval() -> None:
    r = master_at(vr(200), 10.0)
    assert r.dual_master_periods == 0
    for t in (12.0, 13.0, 14.0, 14.0 + r.master_down_interval):  # gaps up to one MDI
        r.receive(adv(150), PEER, t)
    assert r.dual_master_periods == 1
    r.receive(adv(150), PEER, 14.0 + 2 * r.master_down_interval + 0.001)  # silence > MDI
    assert r.dual_master_periods == 2


def test_stepping_down_ends_the_period_and_counts_it() -> None:
    r = master_at(vr(100), 10.0)
    r.receive(adv(150), PEER, 10.5)  # the loser's side: counted, then BACKUP
    assert (r.state, r.dual_master_periods) == (State.BACKUP, 1)
    deadline = r.next_deadline()  # the other master gone: Master_Down_Timer fires
    assert deadline is not None
    r.expire(deadline)
    assert r.state is State.MASTER
    r.receive(adv(50), PEER, deadline + 0.5)  # well within the old period's MDI: a new one
    assert r.dual_master_periods == 2


def test_the_loser_sends_one_last_advert_before_stepping_down() -> None:
    r = master_at(vr(100), 10.0)
    actions = r.receive(adv(150), PEER, 10.5)
    assert actions[0] == SendAdvert(100)
    assert r.next_deadline() == 10.5 + r.master_down_interval  # then a plain backup


def split(lan: FakeLan, until: float) -> None:
    """r1 off the wire (carrier kept: no FAULT) until r2 is master and settled."""
    lan.set_link("r1", False)
    lan.run_until(until)
    assert lan.masters() == ["r1", "r2"]


@pytest.mark.parametrize("phase", [0.0, 0.1, 0.35, 0.5, 0.75, 0.9])
def test_lan_every_heal_ends_with_one_master_that_announced_again(phase: float) -> None:
    """{r1} / {r2, r3}, healed 20 times: whichever master's advert crosses first after
    the heal (the phase moves it), r1 stays the one master within an interval, announces
    its addresses again, and both masters count one period per heal."""
    lan = lan_of(("r1", 200, "192.0.2.1"), ("r2", 150, "192.0.2.2"), ("r3", 100, "192.0.2.3"))
    lan.start("r1")
    lan.run_until(1.0)
    lan.start("r2", "r3")
    t = 10.0
    lan.run_until(t)
    r1, r2 = lan.router("r1"), lan.router("r2")
    for n in range(1, 21):
        split(lan, t + 5.0)
        t += 5.0 + phase + n * 0.013  # the heal's moment moves against both masters' adverts
        lan.run_until(t)
        lan.set_link("r1", True)
        lan.run_until(t + 1.0)  # one Advertisement_Interval
        assert lan.masters() == ["r1"], f"heal {n}"
        assert announce(r1) in lan.actions("r1", since=t), f"heal {n}: no GARP again"
        assert (r1.dual_master_periods, r2.dual_master_periods) == (n, n)
        t += 3.0
        lan.run_until(t)
        assert lan.masters() == ["r1"]
