"""`VirtualRouter.reconfigure`: a reload applies a new config in place, without a flap.

The fake clock makes every deadline exact; the fake LAN shows what the other routers of
the group make of the change (RFC 3768 6.4.2/6.4.3 on their side).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface
from typing import Any

import pytest

from failover.protocol.packet import Advertisement, AuthType, DropReason
from failover.protocol.router import (
    AddAddresses,
    Announce,
    RemoveAddresses,
    SendAdvert,
    State,
    StateChanged,
    VirtualRouter,
    master_down_interval,
)
from failover.protocol.settings import RouterConfig

from .builders import router_config
from .fakelan import FakeLan

IP = IPv4Address
INIT, BACKUP, MASTER = State.INITIALIZE, State.BACKUP, State.MASTER
A = IPv4Interface("192.0.2.100/24")
B = IPv4Interface("192.0.2.101/24")


def cfg(priority: int = 100, addresses: tuple[str, ...] = (str(A),), **kw: Any) -> RouterConfig:
    return router_config(priority=priority, addresses=addresses, name="VR_51", **kw)


def master(config: RouterConfig, now: float = 10.0) -> VirtualRouter:
    """A router that became Master at `now` through its Master_Down_Timer."""
    r = VirtualRouter(config, IP("192.0.2.1"))
    r.start(now - r.master_down_interval)
    assert r.expire(now)[0] == StateChanged(BACKUP, MASTER, "master down timer expired")
    return r


def backup(config: RouterConfig, now: float = 10.0) -> VirtualRouter:
    """A backup that heard a priority-200 master at `now`."""
    r = VirtualRouter(config, IP("192.0.2.1"))
    r.start(now - 1.0)
    c = config
    r.receive(Advertisement(c.vrid, 200, tuple(a.ip for a in c.addresses)), IP("192.0.2.9"), now)
    assert r.state is BACKUP and r.master_priority == 200
    return r


# -- identity ----------------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"vrid": 52}, {"interface": "eth1"}])
def test_the_interface_and_vrid_cannot_change(change: dict[str, Any]) -> None:
    r = master(cfg())
    with pytest.raises(ValueError, match="keeps the interface and VRID"):
        r.reconfigure(replace(r.config, **change), 11.0)
    assert r.config == cfg() and r.state is MASTER


# -- as Master (RFC 3768 6.4.3) -----------------------------------------------------------


def test_master_adds_a_vip_with_garp_and_advertises_the_new_list_at_once() -> None:
    r = master(cfg())
    new = cfg(addresses=(str(A), str(B)))
    actions = r.reconfigure(new, 10.4)
    assert actions == [SendAdvert(100), AddAddresses((B,)), Announce((B.ip,))]
    assert r.state is MASTER and r.config == new
    assert r.advertisement().addresses == (A.ip, B.ip)
    assert r.next_deadline() == 11.4  # Adver_Timer reset from the advert just sent


def test_master_removes_a_dropped_vip() -> None:
    r = master(cfg(addresses=(str(A), str(B))))
    actions = r.reconfigure(cfg(addresses=(str(B),)), 10.5)
    assert actions == [SendAdvert(100), RemoveAddresses((A,))]
    assert r.state is MASTER


def test_master_replaces_a_vip_whose_prefix_changed() -> None:
    r = master(cfg())
    actions = r.reconfigure(cfg(addresses=("192.0.2.100/25",)), 10.5)
    wider = IPv4Interface("192.0.2.100/25")
    # The advert carries addresses without prefixes: it is unchanged, not re-sent.
    assert actions == [
        RemoveAddresses((A,)),
        AddAddresses((wider,)),
        Announce((wider.ip,)),
    ]
    assert r.next_deadline() == 11.0


@pytest.mark.parametrize("priority", [1, 99, 101, 254, 255])
def test_master_advertises_a_new_priority_at_once_and_stays_master(priority: int) -> None:
    r = master(cfg(100))
    assert r.reconfigure(cfg(priority), 10.25) == [SendAdvert(priority)]
    assert r.state is MASTER and r.state_since == 10.0
    assert r.master_priority == priority
    assert r.next_deadline() == 11.25
    assert r.expire(11.25) == [SendAdvert(priority)]  # and every advert after it


def test_master_new_interval_takes_effect_from_the_advert_sent_at_once() -> None:
    r = master(cfg(advert_interval=1))
    assert r.reconfigure(cfg(advert_interval=3), 10.5) == [SendAdvert(100)]
    assert r.advertisement().advert_interval == 3
    assert r.next_deadline() == 13.5
    assert r.expire(13.5) == [SendAdvert(100)]
    assert r.next_deadline() == 16.5


def test_master_new_auth_is_advertised_at_once() -> None:
    r = master(cfg())
    new = cfg(auth_type=AuthType.SIMPLE, auth_password=b"secret")
    assert r.reconfigure(new, 10.5) == [SendAdvert(100)]
    assert (r.advertisement().auth_type, r.advertisement().auth_data) == (
        AuthType.SIMPLE,
        b"secret",
    )


@pytest.mark.parametrize(
    "change", [{"name": "renamed"}, {"preempt_mode": False}, {"preempt_delay": 30.0}]
)
def test_master_name_or_preempt_change_puts_nothing_on_the_wire(change: dict[str, Any]) -> None:
    r = master(cfg())
    assert r.reconfigure(replace(cfg(), **change), 10.5) == []
    assert r.state is MASTER and r.next_deadline() == 11.0  # Adver_Timer untouched


def test_master_same_config_is_a_no_op() -> None:
    r = master(cfg())
    assert r.reconfigure(cfg(), 10.5) == []
    assert r.next_deadline() == 11.0


# -- as Backup (RFC 3768 6.4.2) -----------------------------------------------------------


@pytest.mark.parametrize(("priority", "interval"), [(150, 1), (50, 1), (100, 2), (254, 3)])
def test_backup_rearms_master_down_from_now_with_the_new_values(
    priority: int, interval: int
) -> None:
    r = backup(cfg(100))
    assert r.reconfigure(cfg(priority, advert_interval=interval), 11.0) == []
    assert r.state is BACKUP
    assert r.next_deadline() == 11.0 + master_down_interval(priority, interval)
    assert r.master_ip == IP("192.0.2.9")  # it still knows who the master is


@pytest.mark.parametrize(
    "change",
    [
        {"name": "renamed"},
        {"addresses": (B,)},
        {"preempt_mode": False},
        {"auth_type": AuthType.SIMPLE, "auth_password": b"pw"},
    ],
)
def test_backup_other_changes_keep_the_master_down_timer(change: dict[str, Any]) -> None:
    r = backup(cfg())
    before = r.next_deadline()
    assert r.reconfigure(replace(cfg(), **change), 11.0) == []
    assert r.state is BACKUP and r.next_deadline() == before


def test_backup_checks_adverts_against_the_new_addresses() -> None:
    r = backup(cfg())
    r.reconfigure(cfg(addresses=(str(A), str(B))), 11.0)
    assert r.receive_policy().addresses == frozenset({A.ip, B.ip})


def test_backup_becoming_the_owner_is_master_at_once_as_at_startup() -> None:
    r = backup(cfg(100, addresses=(str(A), str(B))))
    actions = r.reconfigure(cfg(255, addresses=(str(A), str(B))), 11.0)
    assert actions == [
        StateChanged(BACKUP, MASTER, "reconfigured as address owner (priority 255)"),
        SendAdvert(255),
        AddAddresses((A, B)),
        Announce((A.ip, B.ip)),
    ]
    assert r.state is MASTER and r.next_deadline() == 12.0


def test_backup_preempt_turned_off_accepts_the_lower_master() -> None:
    r = VirtualRouter(cfg(150), IP("192.0.2.1"))
    r.start(0.0)
    low = Advertisement(51, 100, (A.ip,))
    r.receive(low, IP("192.0.2.9"), 1.0)  # preempt on: discarded
    assert r.next_deadline() == master_down_interval(150, 1)
    r.reconfigure(cfg(150, preempt_mode=False), 2.0)
    r.receive(low, IP("192.0.2.9"), 2.5)  # preempt off: accepted, timer reset
    assert r.next_deadline() == 2.5 + master_down_interval(150, 1)
    assert r.master_priority == 100


def test_backup_preempt_turned_on_discards_the_lower_master_and_takes_over() -> None:
    r = VirtualRouter(cfg(150, preempt_mode=False), IP("192.0.2.1"))
    r.start(0.0)
    low = Advertisement(51, 100, (A.ip,))
    r.receive(low, IP("192.0.2.9"), 1.0)
    r.reconfigure(cfg(150), 2.0)
    r.receive(low, IP("192.0.2.9"), 2.5)  # discarded now: Master_Down runs out
    assert r.next_deadline() == 1.0 + master_down_interval(150, 1)
    assert r.expire(1.0 + master_down_interval(150, 1))[0].new is MASTER  # type: ignore[union-attr]


# -- Initialize ----------------------------------------------------------------------------


def test_initialize_takes_the_config_for_the_next_startup() -> None:
    r = VirtualRouter(cfg(100), IP("192.0.2.1"))
    assert r.reconfigure(cfg(255), 1.0) == []
    assert r.state is INIT and r.next_deadline() is None
    assert r.start(2.0)[0] == StateChanged(INIT, MASTER, "address owner (priority 255)")


def test_link_down_router_takes_the_config_for_link_up() -> None:
    r = master(cfg(100))
    r.track(11.0, link_up=False)
    assert r.reconfigure(cfg(120, advert_interval=2), 12.0) == []
    r.track(13.0, link_up=True)
    assert r.state is BACKUP and r.next_deadline() == 13.0 + master_down_interval(120, 2)


# -- the group on a fake LAN ---------------------------------------------------------------


def lan_pair(p1: int = 150, p2: int = 100, **kw: Any) -> FakeLan:
    """r1 (p1) and r2 (p2) converged with r1 master, at t=10."""
    lan = FakeLan()
    lan.add("r1", cfg(p1, **kw), "192.0.2.1")
    lan.add("r2", cfg(p2, **kw), "192.0.2.2")
    lan.start("r1", "r2")
    lan.run_until(10.0)
    assert lan.masters() == ["r1"]
    return lan


def reconfigure(lan: FakeLan, name: str, config: RouterConfig) -> list[Any]:
    actions = lan.router(name).reconfigure(config, lan.now)
    lan._handle(name, actions)
    return actions


def test_group_backup_learns_the_new_master_priority_at_once() -> None:
    lan = lan_pair()
    assert reconfigure(lan, "r1", cfg(200)) == [SendAdvert(200)]
    lan.advance(0.0)
    assert lan.router("r2").master_priority == 200
    lan.advance(30.0)
    assert lan.masters() == ["r1"]
    assert len(lan.transitions()) == 3  # the two startups and r1's take-over only


def test_group_master_dropping_below_the_backup_is_preempted_after_master_down() -> None:
    lan = lan_pair()
    last_accepted = lan.adverts("r1")[-1][0]  # r2 reset its Master_Down_Timer then
    reconfigure(lan, "r1", cfg(50))
    lan.advance(2.5)  # r2 discards the lower adverts (preempt on) but waits (6.4.2)
    assert lan.masters() == ["r1"]
    lan.advance(2.5)
    assert lan.masters() == ["r2"]
    (when, who, old, new), (_, who2, old2, new2) = lan.transitions()[-2:]
    assert (who, old, new, who2, old2, new2) == ("r2", BACKUP, MASTER, "r1", MASTER, BACKUP)
    assert when == last_accepted + master_down_interval(100, 1)


def test_group_vip_change_reloaded_on_both_keeps_the_master() -> None:
    lan = lan_pair()
    both = cfg(addresses=(str(A), str(B)))
    reconfigure(lan, "r2", replace(both, priority=100))
    reconfigure(lan, "r1", replace(both, priority=150))
    lan.advance(30.0)
    assert lan.masters() == ["r1"]
    assert [d for d in lan.drops if d[2].reason is not DropReason.OWN_ADVERT] == []
    assert len(lan.transitions()) == 3


def test_group_backup_reconfigured_above_the_master_preempts() -> None:
    lan = lan_pair()
    t = lan.now
    assert reconfigure(lan, "r2", cfg(200)) == []
    assert lan.router("r2").next_deadline() == t + master_down_interval(200, 1)
    lan.advance(master_down_interval(200, 1) + 0.01)
    assert lan.masters() == ["r2"]
    assert [x[1:] for x in lan.transitions() if x[0] >= t] == [
        ("r2", BACKUP, MASTER),
        ("r1", MASTER, BACKUP),
    ]
