"""failover + FRR 8.x vrrpd (version 2) in one group: convergence and failover both ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from failover.lab.lab import DEFAULT_VIP, Lab
from failover.lab.nodes import Node, router
from failover.lab.wait import wait_until

from .peers import FrrPeer, Instance

pytestmark = [pytest.mark.root, pytest.mark.interop]
VRID = 51
EITHER_MASTER = pytest.mark.parametrize(
    "failover_wins", [True, False], ids=["failover-master", "frr-master"]
)


def frr_holds_vip(peer: FrrPeer) -> bool:
    """FRR keeps the VIP on its macvlan; the macvlan carries traffic only as master."""
    out = peer.lab.run(peer.host, ["ip", "-o", "link", "show", peer.macvlan(VRID)], check=False)
    return "protodown" not in out.stdout and ",UP" in out.stdout


def settled(lab: Lab, ours: Node, theirs: FrrPeer, failover_master: bool) -> bool:
    our_vip = lab.host("r1") in lab.holders(DEFAULT_VIP)
    if failover_master:
        return (
            ours.state(VRID) == "MASTER"
            and theirs.state(VRID) == "BACKUP"
            and our_vip
            and not frr_holds_vip(theirs)
        )
    return (
        theirs.state(VRID) == "MASTER"
        and ours.state(VRID) == "BACKUP"
        and not our_vip
        and frr_holds_vip(theirs)
    )


@EITHER_MASTER
def test_converge_cut_and_heal(lab: Lab, frr: Path, failover_wins: bool) -> None:
    ours = Node(lab, "r1", [router(VRID, 150 if failover_wins else 100)]).start()
    theirs = FrrPeer(lab, "r2", [Instance(VRID, 100 if failover_wins else 150)]).start()
    wait_until(
        lambda: settled(lab, ours, theirs, failover_wins),
        30,
        what=f"converged (failover {ours.state(VRID)}, FRR {theirs.state(VRID)})",
    )
    pinger = lab.ping()
    wait_until(lambda: pinger.reachable(0.2), 10, what="client reaches the VIP")

    master_host = lab.host("r1" if failover_wins else "r2")
    outage = pinger.measure(
        lambda: lab.cut(master_host),
        lambda: (theirs.state(VRID) if failover_wins else ours.state(VRID)) == "MASTER",
    )
    print(f"cut {master_host.name}: client outage {outage.longest_gap:.3f}s")
    lab.heal(master_host)
    wait_until(
        lambda: settled(lab, ours, theirs, failover_wins),
        30,
        what="the higher priority takes the group back (preempt on)",
    )
    wait_until(lambda: pinger.reachable(0.2), 10, what="client reaches the VIP after heal")


@EITHER_MASTER
def test_graceful_stop(lab: Lab, frr: Path, failover_wins: bool) -> None:
    ours = Node(lab, "r1", [router(VRID, 150 if failover_wins else 100)]).start()
    theirs = FrrPeer(lab, "r2", [Instance(VRID, 100 if failover_wins else 150)]).start()
    wait_until(lambda: settled(lab, ours, theirs, failover_wins), 30, what="converged")
    if failover_wins:
        ours.stop()
        wait_until(lambda: theirs.state(VRID) == "MASTER", 10, what="FRR takes over")
    else:
        theirs.stop()
        wait_until(lambda: ours.state(VRID) == "MASTER", 10, what="failover takes over")
        assert lab.host("r1") in lab.holders(DEFAULT_VIP)
        assert not frr_holds_vip(theirs)
