"""VRRPv3 over IPv4 on a real kernel: sub-second adverts, and unicast peers across a LAN
whose bridge drops every advert to the multicast group."""

from __future__ import annotations

from typing import Any

import pytest

from failover.lab import DEFAULT_VIP, DEFAULT_VIP6, Lab, wait_until
from failover.lab.nodes import Node, converged, router
from failover.protocol.router import master_down_interval
from tests.support import MakeLab, adverts

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30


def holders(lab: Lab) -> list[str]:
    return [h.name for h in lab.holders(DEFAULT_VIP)]


def pair(lab: Lab, **kw: Any) -> tuple[Node, Node]:
    """r1 (150) master, r2 (100) backup of a v3 router, converged."""
    r1 = Node(lab, "r1", [router(VRID, 150, version=3, **kw)]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100, version=3, **kw)]).start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    return r1, r2


def test_v3_at_a_tenth_of_a_second(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1, r2 = pair(lab, interval=0.1)
    # At 0.1 s the group counts 100 adverts in 10 s; at 1 s it could not in TIMEOUT.
    start = adverts(r2, VRID)
    wait_until(lambda: adverts(r2, VRID) - start >= 100, TIMEOUT, what="100 adverts heard")
    assert r2.status()[0]["drops"] == {}  # every v3 advert passed 7.1, checksum included
    pinger = lab.ping(DEFAULT_VIP.ip)
    outage = pinger.measure(
        lambda: lab.cut(r1.host), lambda: r2.state(VRID) == "MASTER" and holders(lab) == ["r2"]
    )
    bound = master_down_interval(100, 0.1, 3)
    print(f"v3 0.1 s: client outage {outage.longest_gap:.3f}s (bound {bound:.3f}s)")
    lab.heal(r1.host)
    wait_until(lambda: converged([r1, r2], VRID) is r1 and holders(lab) == ["r1"], TIMEOUT,
               what="r1 to take the VIP back")  # fmt: skip


@pytest.mark.parametrize("version", [2, 3])
def test_unicast_peers_work_where_multicast_is_dropped(make_lab: MakeLab, version: int) -> None:
    lab = make_lab(routers=2)
    lab.add_loss(100, match="ip daddr 224.0.0.18")  # the bridge drops adverts to the group
    ips = {h: str(lab.host(h).ip) for h in ("r1", "r2")}

    def unicast(me: str) -> dict[str, Any]:
        return {"unicast_peers": [ips[h] for h in ips if h != me]}

    r1 = Node(lab, "r1", [router(VRID, 150, version=version, **unicast("r1"))]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100, version=version, **unicast("r2"))]).start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    assert holders(lab) == ["r1"]
    r1.running.signal(15)  # a graceful stop: its priority 0 reaches r2 by unicast too
    wait_until(lambda: r2.state(VRID) == "MASTER" and holders(lab) == ["r2"], TIMEOUT,
               what="r2 to take over")  # fmt: skip


def test_without_unicast_the_dropped_group_splits_the_pair(make_lab: MakeLab) -> None:
    """The control: the same LAN without unicast peers ends with two masters."""
    lab = make_lab(routers=2)
    lab.add_loss(100, match="ip daddr 224.0.0.18")
    r1 = Node(lab, "r1", [router(VRID, 150, version=3)]).start()
    r2 = Node(lab, "r2", [router(VRID, 100, version=3)]).start()
    wait_until(lambda: r1.state(VRID) == r2.state(VRID) == "MASTER", TIMEOUT,
               what="both to be master, each deaf to the other")  # fmt: skip


def test_a_stranger_is_dropped_as_not_a_peer(make_lab: MakeLab) -> None:
    lab = make_lab(routers=3)
    ips = {h: str(lab.host(h).ip) for h in ("r1", "r2", "r3")}
    r1 = Node(lab, "r1", [router(VRID, 100, version=3, unicast_peers=[ips["r2"]])]).start()
    r3 = Node(lab, "r3", [router(VRID, 200, version=3, unicast_peers=[ips["r1"]])]).start()
    wait_until(lambda: r3.state(VRID) == "MASTER", TIMEOUT, what="r3 master")
    wait_until(lambda: r1.status()[0]["drops"].get("not_a_peer", 0) >= 3, TIMEOUT,
               what="r1 to drop r3's adverts")  # fmt: skip
    assert r1.state(VRID) == "MASTER"  # r3 is no peer of r1: its adverts count for nothing


def test_ipv6_failover_with_neighbor_advertisements(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    vip = DEFAULT_VIP6
    r1, r2 = pair(lab, vips=[vip], interval=0.5)
    assert [h.name for h in lab.holders(vip)] == ["r1"]
    pinger = lab.ping(vip.ip)
    outage = pinger.measure(
        lambda: lab.cut(r1.host),
        lambda: r2.state(VRID) == "MASTER" and [h.name for h in lab.holders(vip)] == ["r2"],
    )
    bound = master_down_interval(100, 0.5, 3)
    print(f"v3 IPv6 0.5 s: client outage {outage.longest_gap:.3f}s (bound {bound:.3f}s)")
    # r2's unsolicited NA (override) moved the client's neighbour entry to r2's MAC
    mac = lab.run("r2", ["cat", "/sys/class/net/eth0/address"]).stdout.strip()
    neigh = lab.run("client", ["ip", "-6", "neigh", "show", str(vip.ip)]).stdout
    assert mac in neigh, neigh
    lab.heal(r1.host)
    wait_until(
        lambda: converged([r1, r2], VRID) is r1 and [h.name for h in lab.holders(vip)] == ["r1"],
        TIMEOUT,
        what="r1 to take the IPv6 VIP back",
    )


def test_unicast_source_is_the_source_on_the_wire(make_lab: MakeLab) -> None:
    """r1 sends from a second address of its interface; r2 accepts only that source, so
    it hears r1 only if the adverts really come from it (and the checksum covers it)."""
    lab = make_lab(routers=2)
    extra = "192.0.2.11"
    lab.run("r1", ["ip", "addr", "add", f"{extra}/24", "dev", "eth0"])
    r2_ip = str(lab.host("r2").ip)
    r1 = Node(lab, "r1", [router(VRID, 150, version=3, unicast_peers=[r2_ip],
                                 unicast_source=extra)]).start()  # fmt: skip
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100, version=3, unicast_peers=[extra])]).start()
    wait_until(lambda: r2.status()[0]["adverts_received"] >= 3, TIMEOUT, what="r2 to hear r1")
    assert converged([r1, r2], VRID) is r1
    assert r2.status()[0]["drops"] == {}
