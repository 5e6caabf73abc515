"""Several virtual routers in one process: on one interface, and on two interfaces."""

from __future__ import annotations

import pytest

from failover.lab import Lab, wait_until
from failover.lab.nodes import Node, router
from tests.support import MakeLab

pytestmark = pytest.mark.root
TIMEOUT = 30


def owners(lab: Lab, vips: dict[int, str]) -> dict[int, list[str]]:
    """vrid -> names of the hosts holding its VIP."""
    return {vrid: [h.name for h in lab.holders(vip)] for vrid, vip in vips.items()}


def test_several_routers_on_one_interface(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    vips = {1: "192.0.2.201/24", 2: "192.0.2.202/24", 3: "192.0.2.203/24"}
    prio = {"r1": {1: 150, 2: 100, 3: 120}, "r2": {1: 100, 2: 150, 3: 110}}
    nodes = [
        Node(lab, name, [router(v, prio[name][v], vips=[vip]) for v, vip in vips.items()])
        .start()
        for name in ("r1", "r2")
    ]  # fmt: skip
    expected = {1: ["r1"], 2: ["r2"], 3: ["r1"]}
    wait_until(lambda: owners(lab, vips) == expected, TIMEOUT, what=f"VIP owners {expected}")
    states = [n.states() for n in nodes]
    assert states == [
        {1: "MASTER", 2: "BACKUP", 3: "MASTER"},
        {1: "BACKUP", 2: "MASTER", 3: "BACKUP"},
    ]
    pingers = [lab.ping(vip.split("/")[0]) for vip in vips.values()]
    wait_until(lambda: all(p.reachable(0.1) for p in pingers), TIMEOUT, what="every VIP")
    lab.cut("r1")
    everything_r2 = {1: ["r2"], 2: ["r2"], 3: ["r2"]}
    wait_until(lambda: owners(lab, vips) == everything_r2, TIMEOUT, what="r2 to hold all")
    assert nodes[1].states() == {1: "MASTER", 2: "MASTER", 3: "MASTER"}
    wait_until(lambda: all(p.reachable(0.1) for p in pingers), TIMEOUT, what="every VIP")


def test_routers_on_two_interfaces_same_vrid(make_lab: MakeLab) -> None:
    """VRID 51 on both LANs: a VRID is scoped to its interface (RFC 3768 5.3.3)."""
    lab = make_lab(routers=2, lans=2)
    vips = {"eth0": "192.0.2.254/24", "eth1": "198.51.100.254/24"}
    prio = {"r1": {"eth0": 150, "eth1": 100}, "r2": {"eth0": 100, "eth1": 150}}
    nodes = {
        name: Node(lab, name, [
            router(51, prio[name][i], interface=i, vips=[vip], name=f"VR_{i}")
            for i, vip in vips.items()
        ]).start()
        for name in ("r1", "r2")
    }  # fmt: skip

    def holders() -> dict[str, list[str]]:
        return {i: [h.name for h in lab.holders(vip)] for i, vip in vips.items()}

    want = {"eth0": ["r1"], "eth1": ["r2"]}
    wait_until(lambda: holders() == want, TIMEOUT, what=f"VIP owners {want}")
    pingers = [lab.ping(vip.split("/")[0]) for vip in vips.values()]
    wait_until(lambda: all(p.reachable(0.1) for p in pingers), TIMEOUT, what="both VIPs")
    status = {r["interface"]: r["state"] for r in nodes["r1"].status()}
    assert status == {"eth0": "MASTER", "eth1": "BACKUP"}
    # cut r2 off the second LAN only: r1 takes eth1 over, eth0 is untouched
    lab.cut("r2", lan=1)
    want = {"eth0": ["r1"], "eth1": ["r1"]}
    wait_until(lambda: holders() == want, TIMEOUT, what=f"VIP owners {want}")
    assert {r["interface"]: r["state"] for r in nodes["r1"].status()} == {
        "eth0": "MASTER",
        "eth1": "MASTER",
    }
    assert {r["interface"]: r["state"] for r in nodes["r2"].status()}["eth0"] == "BACKUP"
    wait_until(lambda: all(p.reachable(0.1) for p in pingers), TIMEOUT, what="both VIPs")
