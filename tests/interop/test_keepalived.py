"""failover + keepalived 2.2.x in one VRRPv2 group (RFC 3768), both directions."""

from __future__ import annotations

import time
from ipaddress import IPv4Interface
from typing import Any, Protocol

import pytest

from failover.lab.lab import DEFAULT_VIP, Host, Lab
from failover.lab.nodes import Node, router
from failover.lab.wait import wait_until
from tests.support import adverts, holds_over_adverts

from .peers import Instance, KeepalivedPeer

pytestmark = [pytest.mark.root, pytest.mark.interop]
VRID = 51
EITHER_MASTER = pytest.mark.parametrize(
    "failover_wins", [True, False], ids=["failover-master", "keepalived-master"]
)


class Peer(Protocol):
    host: Host

    def state(self, vrid: int) -> str | None: ...
    def start(self) -> object: ...
    def stop(self, timeout: float = 10.0) -> object: ...
    def log(self) -> str: ...


def pair(
    lab: Lab,
    failover_priority: int,
    keepalived_priority: int,
    *,
    preempt: bool = True,
    auth_pass: str | None = None,
    keepalived_auth: str | None = None,
    keepalived_interval: int = 1,
    start: bool = True,
) -> tuple[Node, KeepalivedPeer]:
    """failover on r1 and keepalived on r2, both for VRID 51 with the lab's VIP."""
    vr = router(VRID, failover_priority, preempt=preempt)
    if auth_pass is not None:
        vr |= {"auth_type": "simple", "auth_password": auth_pass}
    ours = Node(lab, "r1", [vr])
    theirs = KeepalivedPeer(
        lab,
        "r2",
        [
            Instance(
                VRID,
                keepalived_priority,
                preempt=preempt,
                auth_pass=keepalived_auth if keepalived_auth is not None else auth_pass,
                interval=keepalived_interval,
            )
        ],
    )
    if start:
        ours.start()
        theirs.start()
    return ours, theirs


def roles(lab: Lab, failover_wins: bool, **options: Any) -> tuple[Peer, Peer]:
    """`pair()` with priorities 150/100 so the chosen side wins: (master, backup)."""
    ours, theirs = pair(lab, 150 if failover_wins else 100, 100 if failover_wins else 150,
                        **options)  # fmt: skip
    return (ours, theirs) if failover_wins else (theirs, ours)


def settled(lab: Lab, master: Peer, backup: Peer, vrid: int = VRID) -> bool:
    """Both implementations agree: `master` is MASTER holding the VIP, `backup` BACKUP."""
    return (
        master.state(vrid) == "MASTER"
        and backup.state(vrid) == "BACKUP"
        and [h.name for h in lab.holders(DEFAULT_VIP)] == [master.host.name]
    )


def wait_settled(lab: Lab, master: Peer, backup: Peer, timeout: float = 20.0) -> None:
    wait_until(
        lambda: settled(lab, master, backup),
        timeout,
        what=f"{master.host.name} master, {backup.host.name} backup "
        f"(states {master.state(VRID)}/{backup.state(VRID)}, "
        f"holders {[h.name for h in lab.holders(DEFAULT_VIP)]})",
    )


@EITHER_MASTER
def test_converge(lab: Lab, keepalived: str, failover_wins: bool) -> None:
    master, backup = roles(lab, failover_wins)
    wait_settled(lab, master, backup)
    pinger = lab.ping()
    wait_until(lambda: pinger.reachable(0.2), 10, what="client reaches the VIP")
    assert [h.name for h in lab.holders(DEFAULT_VIP)] == [master.host.name]


@EITHER_MASTER
def test_master_cut_and_heal(lab: Lab, keepalived: str, failover_wins: bool) -> None:
    master, backup = roles(lab, failover_wins)
    wait_settled(lab, master, backup)
    pinger = lab.ping()
    outage = pinger.measure(
        lambda: lab.cut(master.host),
        lambda: backup.state(VRID) == "MASTER" and backup.host in lab.holders(DEFAULT_VIP),
    )
    print(f"cut {master.host.name}: client outage {outage.longest_gap:.3f}s (bound 3.609s + ARP)")
    assert backup.state(VRID) == "MASTER"
    lab.heal(master.host)
    # preempt on both sides: the higher priority takes the group back.
    wait_settled(lab, master, backup, timeout=30)
    wait_until(lambda: pinger.reachable(0.2), 10, what="client reaches the VIP after heal")


@EITHER_MASTER
def test_heal_without_preempt_keeps_new_master(
    lab: Lab, keepalived: str, failover_wins: bool
) -> None:
    master, backup = roles(lab, failover_wins, preempt=False, start=False)
    # Preempt off: the first to time out keeps the group, so start the master first.
    master.start()
    wait_until(lambda: master.state(VRID) == "MASTER", 15, what="first master")
    backup.start()
    wait_settled(lab, master, backup)
    lab.cut(master.host)
    wait_until(lambda: backup.state(VRID) == "MASTER", 15, what="takeover after cut")
    lab.heal(master.host)
    # The healed router comes back as a backup and, preempt off, leaves the new master be
    # for 6 adverts (a preempting one would take over within one Master_Down_Interval).
    wait_settled(lab, backup, master, timeout=30)
    ours = master if isinstance(master, Node) else backup
    assert isinstance(ours, Node)
    holds_over_adverts(
        lambda: settled(lab, backup, master),
        lambda: adverts(ours, VRID),
        6,
        what=f"{backup.host.name} master (preempt off)",
    )


@EITHER_MASTER
def test_graceful_stop_takeover_in_skew_time(
    lab: Lab, keepalived: str, failover_wins: bool
) -> None:
    master, backup = roles(lab, failover_wins)
    wait_settled(lab, master, backup)
    t0 = time.monotonic()
    master.stop()
    wait_until(lambda: backup.state(VRID) == "MASTER", 10, interval=0.01, what="takeover")
    took = time.monotonic() - t0
    print(f"graceful stop of {master.host.name}: takeover after {took:.3f}s "
          f"(Skew_Time of priority 100: 0.609s; Master_Down_Interval 3.609s)")  # fmt: skip
    # The priority-0 advert must cut the wait to Skew_Time, far below Master_Down_Interval.
    assert took < 2.5


def test_equal_priority_higher_primary_ip_wins_no_flap(lab: Lab, keepalived: str) -> None:
    ours, theirs = pair(lab, 100, 100)
    # RFC 3768 6.4.3: equal priority, greater primary IP wins: r2 (192.0.2.2) > r1.
    wait_settled(lab, theirs, ours)
    changes = ours.log().count("-> MASTER")
    # 10 adverts accepted from keepalived, nearly three Master_Down_Intervals: a failover
    # that discarded equal-priority adverts would have taken over in one.
    holds_over_adverts(
        lambda: settled(lab, theirs, ours), lambda: adverts(ours, VRID), 10, what="no flap"
    )
    assert ours.log().count("-> MASTER") == changes, "failover flapped"


def test_simple_password_converges(lab: Lab, keepalived: str) -> None:
    ours, theirs = pair(lab, 150, 100, auth_pass="s3cret")
    wait_settled(lab, ours, theirs)


def drops(node: Node, reason: str) -> int:
    return int(node.status()[0]["drops"].get(reason, 0))


MISMATCHES = {
    # reason our daemon counts: (pair() arguments, what keepalived 2.2.7 logs)
    "auth_mismatch": ({"auth_pass": "s3cret", "keepalived_auth": "other"}, "invalid passwd"),
    "interval_mismatch": ({"keepalived_interval": 2}, "advertisement interval mismatch"),
}


@pytest.mark.parametrize("reason", sorted(MISMATCHES))
def test_mismatch_both_drop_and_act_alone(lab: Lab, keepalived: str, reason: str) -> None:
    options, their_line = MISMATCHES[reason]
    ours, theirs = pair(lab, 150, 100, **options)  # type: ignore[arg-type]
    # Each side drops the other's adverts (RFC 3768 7.1) and so acts as if alone:
    # both become master.
    wait_until(
        lambda: ours.state(VRID) == "MASTER" and theirs.state(VRID) == "MASTER",
        20,
        what="both masters",
    )
    wait_until(lambda: drops(ours, reason) > 0, 10, what=f"{reason} counted")
    assert reason in ours.log()
    wait_until(lambda: their_line in theirs.log(), 10, what=f"keepalived logs {their_line!r}")


def test_several_virtual_routers_one_process(lab: Lab, keepalived: str) -> None:
    vrids = (51, 52, 53)
    ours_wins = {51: True, 52: False, 53: True}
    ours = Node(
        lab,
        "r1",
        [router(v, 150 if ours_wins[v] else 100, vips=[_vip(i)]) for i, v in enumerate(vrids)],
    ).start()
    theirs = KeepalivedPeer(
        lab,
        "r2",
        [Instance(v, 100 if ours_wins[v] else 150, vips=(_vip(i),)) for i, v in enumerate(vrids)],
    ).start()

    def all_settled() -> bool:
        for i, v in enumerate(vrids):
            m, b = (ours, theirs) if ours_wins[v] else (theirs, ours)
            if m.state(v) != "MASTER" or b.state(v) != "BACKUP":
                return False
            if [h.name for h in lab.holders(_vip(i))] != [m.host.name]:
                return False
        return True

    wait_until(all_settled, 25, what="three groups settled")


def _vip(i: int) -> IPv4Interface:
    return IPv4Interface(f"192.0.2.{200 + i}/24")


def test_keepalived_takes_over_when_failovers_master_loses_priority_to_a_check(
    lab: Lab, keepalived: str
) -> None:
    flag = lab.path("service-up")
    flag.write_text("0")
    checks = {"svc": {"type": "file", "path": str(flag), "interval": 0.5}}
    vr = dict(router(VRID, 150), track=[{"check": "svc", "weight": -100}])
    ours = Node(lab, "r1", [vr], checks=checks).start()
    wait_until(lambda: ours.state(VRID) == "MASTER", 30, what="failover master")
    theirs = KeepalivedPeer(lab, "r2", [Instance(VRID, 100)]).start()
    wait_until(lambda: settled(lab, ours, theirs), 30, what="failover master, keepalived backup")
    flag.unlink()  # failover's effective priority 150 - 100 = 50 < keepalived's 100
    wait_until(lambda: settled(lab, theirs, ours), 30, what="keepalived to take over")
    assert ours.status()[0]["effective_priority"] == 50
    flag.write_text("0")
    wait_until(lambda: settled(lab, ours, theirs), 30, what="failover to take it back")


def test_failover_takes_over_behind_a_keepalived_master_with_a_failing_vrrp_script(
    lab: Lab, keepalived: str
) -> None:
    flag = lab.path("their-service-up")
    flag.write_text("")
    theirs = KeepalivedPeer(
        lab, "r2", [Instance(VRID, 150, track_script=f"/usr/bin/test -e {flag}", track_weight=-100)]
    ).start()
    wait_until(lambda: theirs.state(VRID) == "MASTER", 30, what="keepalived master")
    ours = Node(lab, "r1", [router(VRID, 100)]).start()
    wait_until(lambda: settled(lab, theirs, ours), 30, what="keepalived master, failover backup")
    flag.unlink()  # keepalived's vrrp_script fails: 150 - 100 = 50 < failover's 100
    wait_until(lambda: settled(lab, ours, theirs), 30, what="failover to take over")
    flag.write_text("")
    wait_until(lambda: settled(lab, theirs, ours), 30, what="keepalived to take it back")
