"""use_vmac on a real kernel: the client's neighbour entry for the VIP keeps the VRRP
MAC across a failover (RFC 5798 7.3), and the daemon leaves no vmac behind."""

from __future__ import annotations

from typing import Any

import pytest

from failover.lab import DEFAULT_VIP, DEFAULT_VIP6, Lab, wait_until
from failover.lab.nodes import Node, converged, failover_argv, router
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30


def links(lab: Lab, host: str) -> set[str]:
    out = lab.run(host, ["ip", "-o", "link", "show"]).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()}


def neighbour(lab: Lab, vip: Any) -> str:
    flag = "-6" if vip.version == 6 else "-4"
    return lab.run("client", ["ip", flag, "neigh", "show", str(vip)]).stdout


@pytest.mark.parametrize(
    ("vip", "extra", "mac"),
    [
        (DEFAULT_VIP, {}, "00:00:5e:00:01:33"),
        (DEFAULT_VIP6, {"version": 3}, "00:00:5e:00:02:33"),
    ],
    ids=["ipv4", "ipv6"],
)
def test_the_client_keeps_the_vrrp_mac_across_a_failover(
    make_lab: MakeLab, vip: Any, extra: dict[str, Any], mac: str
) -> None:
    lab = make_lab(routers=2)
    vr = {"use_vmac": True, "vips": [vip], **extra}
    r1 = Node(lab, "r1", [router(VRID, 150, **vr)]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 100, **vr)]).start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    pinger = lab.ping(vip.ip)
    wait_until(lambda: pinger.reachable(0.1), TIMEOUT, what="the client to reach the VIP")
    assert mac in neighbour(lab, vip.ip)
    outage = pinger.measure(
        lambda: r1.running.signal(15),
        lambda: r2.state(VRID) == "MASTER" and [h.name for h in lab.holders(vip)] == ["r2"],
    )
    print(f"use_vmac {vip}: client outage {outage.longest_gap:.3f}s on a graceful stop")
    assert mac in neighbour(lab, vip.ip)  # the same MAC: the client had nothing to learn
    assert r1.running.wait(TIMEOUT) == 0
    vmac = f"fo{vip.version}33.eth0"
    assert vmac not in links(lab, "r1")  # removed at shutdown
    assert vmac in links(lab, "r2")


def test_teardown_after_a_crash_removes_the_vmac_and_its_vip(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    node = Node(lab, "r1", [router(VRID, 150, use_vmac=True)]).start()
    wait_until(lambda: node.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    node.running.kill()  # kill -9: no goodbye, the vmac and the VIP stay
    assert "fo433.eth0" in links(lab, "r1")
    assert [h.name for h in lab.holders(DEFAULT_VIP)] == ["r1"]
    argv = ["teardown", "--config", str(node.config_path), "--control-socket", node.socket_path]
    done = lab.run("r1", failover_argv(*argv))
    assert "removed vmac fo433.eth0" in done.stdout, done.stdout
    assert "fo433.eth0" not in links(lab, "r1")
    assert lab.holders(DEFAULT_VIP) == []
