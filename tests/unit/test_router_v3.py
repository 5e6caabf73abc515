"""VRRPv3 in the one state machine (RFC 5798 6): centisecond timers scaled by
Master_Adver_Interval, which a backup learns from its master, and the v3 receive rules
(RFC 5798 7.1) on IPv4 and IPv6 datagrams; unicast peers' own drop reason."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest

from failover.protocol.packet import (
    VRRP_GROUP,
    VRRP_GROUP6,
    Advertisement,
    DropReason,
    IPAddress,
    encode,
    message_length,
    pseudo_header,
)
from failover.protocol.receive import Accepted, Datagram, Rejected, validate
from failover.protocol.router import (
    SendAdvert,
    State,
    VirtualRouter,
    master_down_interval,
    skew_time,
)

from .builders import router_config

PEER4, ME4 = IPv4Address("192.0.2.2"), IPv4Address("192.0.2.3")
PEER6, ME6 = IPv6Address("fe80::2"), IPv6Address("fe80::3")


def v3_router(
    priority: int = 100, interval: float = 1.0, ipv6: bool = False, **kw: Any
) -> VirtualRouter:
    vips = ("fe80::100/64", "2001:db8::100/64") if ipv6 else ("192.0.2.100/24",)
    config = router_config(
        priority=priority, addresses=vips, version=3, advert_interval=interval, **kw
    )
    return VirtualRouter(config, ME6 if ipv6 else ME4)


def advert_from(r: VirtualRouter, priority: int, centiseconds: int) -> Advertisement:
    c = r.config
    return Advertisement(
        c.vrid, priority, tuple(a.ip for a in c.addresses), centiseconds, version=3
    )


# -- timers (RFC 5798 6.1), to the millisecond --------------------------------------------


@pytest.mark.parametrize(
    ("priority", "interval", "skew", "down"),
    [
        (100, 1.0, 0.609375, 3.609375),  # the same figures as v2 at 1 s
        (100, 0.1, 0.0609375, 0.3609375),  # the "about 0.34 s" at 0.1 s
        (254, 0.01, 0.000078125, 0.030078125),
        (1, 40.95, 40.790039, 163.640039),
    ],
)
def test_v3_skew_and_master_down_scale_with_the_interval(
    priority: int, interval: float, skew: float, down: float
) -> None:
    assert skew_time(priority, interval, 3) == pytest.approx(skew, abs=1e-6)
    assert master_down_interval(priority, interval, 3) == pytest.approx(down, abs=1e-6)
    assert skew_time(priority, interval, 2) == pytest.approx((256 - priority) / 256)


def test_backup_starts_with_its_own_interval_as_master_adver_interval() -> None:
    r = v3_router(200, 0.1)
    r.start(10.0)
    assert r.state is State.BACKUP and r.master_adver_interval == 0.1
    assert r.next_deadline() == pytest.approx(10.0 + 0.3 + 56 * 0.1 / 256, abs=1e-9)


def test_backup_learns_the_masters_interval_and_rearms_with_it() -> None:
    r = v3_router(100, 1.0)
    r.start(0.0)
    r.receive(advert_from(r, 150, 50), PEER4, 1.0)  # a master every 0.5 s
    assert r.master_adver_interval == 0.5
    assert r.next_deadline() == pytest.approx(1.0 + 1.5 + 156 * 0.5 / 256, abs=1e-9)
    r.receive(advert_from(r, 0, 50), PEER4, 1.2)  # it leaves: Skew_Time, learned scale
    assert r.next_deadline() == pytest.approx(1.2 + 156 * 0.5 / 256, abs=1e-9)


def test_an_interval_of_0_is_not_learned() -> None:
    """Found by the fuzzer: a master sending Max Adver Int 0 made a backup's
    Master_Down_Interval Skew_Time alone, so it took over between every two adverts."""
    r = v3_router(100, 1.0)
    r.start(0.0)
    r.receive(advert_from(r, 150, 50), PEER4, 1.0)
    r.receive(advert_from(r, 150, 0), PEER4, 1.5)  # accepted as an advert; 0 not learned
    assert r.state is State.BACKUP and r.master_adver_interval == 0.5
    assert r.next_deadline() == pytest.approx(1.5 + 1.5 + 156 * 0.5 / 256, abs=1e-9)
    assert r.expire(1.6) == [] and r.state is State.BACKUP


def test_a_preempting_backup_does_not_learn_from_a_lower_master() -> None:
    r = v3_router(200, 1.0)
    r.start(0.0)
    r.receive(advert_from(r, 100, 20), PEER4, 1.0)  # discarded (6.4.2)
    assert r.master_adver_interval == 1.0
    assert r.next_deadline() == pytest.approx(3.0 + 56 / 256, abs=1e-9)


def test_a_master_that_yields_takes_the_new_masters_interval() -> None:
    r = v3_router(100, 1.0)
    r.start(0.0)
    r.expire(r.next_deadline() or 0.0)
    assert r.state is State.MASTER
    r.receive(advert_from(r, 200, 25), PEER4, 5.0)
    assert (r.state, r.master_adver_interval) == (State.BACKUP, 0.25)
    assert r.next_deadline() == pytest.approx(5.0 + 0.75 + 156 * 0.25 / 256, abs=1e-9)


def test_master_adverts_carry_centiseconds_every_interval() -> None:
    r = v3_router(255, 0.1)
    actions = r.start(0.0)
    assert SendAdvert(255) in actions
    assert r.advertisement().advert_interval == 10 and r.advertisement().version == 3
    assert r.expire(0.1) == [SendAdvert(255)]
    assert r.next_deadline() == pytest.approx(0.2)


# -- receive (RFC 5798 7.1) -----------------------------------------------------------------


def datagram(
    adv: Advertisement, src: IPAddress, dst: IPAddress, hop_limit: int = 255, pseudo: bool = True
) -> Datagram:
    head = b""
    if pseudo:
        head = pseudo_header(src, dst, message_length(len(adv.addresses), 3, adv.ipv6))
    return Datagram(src, dst, hop_limit, encode(adv, head))


def judge(r: VirtualRouter, d: Datagram) -> Accepted | Rejected:
    return validate(d, {r.config.vrid: r.policy}, frozenset({r.primary_ip}))


def test_v3_accepts_another_interval_where_v2_would_drop() -> None:
    r = v3_router(100, 1.0)
    got = judge(r, datagram(advert_from(r, 150, 30), PEER4, VRRP_GROUP))
    assert isinstance(got, Accepted) and got.advert.interval == 0.3


def test_ipv6_datagrams_are_checked_like_ipv4_ones() -> None:
    r = v3_router(100, ipv6=True)
    good = datagram(advert_from(r, 150, 100), PEER6, VRRP_GROUP6)
    assert isinstance(judge(r, good), Accepted)
    low = datagram(advert_from(r, 150, 100), PEER6, VRRP_GROUP6, hop_limit=254)
    assert isinstance(got := judge(r, low), Rejected) and got.reason is DropReason.BAD_TTL
    own = datagram(advert_from(r, 150, 100), ME6, VRRP_GROUP6)
    assert isinstance(got := judge(r, own), Rejected) and got.reason is DropReason.OWN_ADVERT
    bare = datagram(advert_from(r, 150, 100), PEER6, VRRP_GROUP6, pseudo=False)
    assert isinstance(got := judge(r, bare), Rejected) and got.reason is DropReason.BAD_CHECKSUM


@pytest.mark.parametrize("ours", [True, False], ids=["pseudo-header", "rfc9568"])
def test_ipv4_checksum_follows_the_routers_setting(ours: bool) -> None:
    r = v3_router(100, checksum_ipv4_pseudo_header=ours)
    adv = advert_from(r, 150, 100)
    same = judge(r, datagram(adv, PEER4, VRRP_GROUP, pseudo=ours))
    other = judge(r, datagram(adv, PEER4, VRRP_GROUP, pseudo=not ours))
    assert isinstance(same, Accepted)
    assert isinstance(other, Rejected) and other.reason is DropReason.BAD_CHECKSUM


def test_a_v2_advert_for_a_v3_router_is_a_version_drop() -> None:
    r = v3_router(100)
    v2 = Advertisement(r.config.vrid, 150, (IPv4Address("192.0.2.100"),))
    got = judge(r, Datagram(PEER4, VRRP_GROUP, 255, encode(v2)))
    assert isinstance(got, Rejected) and got.reason is DropReason.BAD_VERSION


def test_unicast_peers_drop_adverts_from_anyone_else() -> None:
    r = v3_router(100, unicast_peers=(PEER4,))
    adv = advert_from(r, 150, 100)
    assert isinstance(judge(r, datagram(adv, PEER4, ME4)), Accepted)
    stranger = judge(r, datagram(adv, IPv4Address("192.0.2.9"), ME4))
    assert isinstance(stranger, Rejected) and stranger.reason is DropReason.NOT_A_PEER
