"""The lab itself: addresses, reachability, cut/heal, loss, and teardown on every exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from functools import partial
from ipaddress import IPv4Interface, IPv6Address, IPv6Interface, IPv6Network
from pathlib import Path

import pytest

from failover.lab import DEFAULT_VIP6, Lab, sweep, wait_until
from failover.lab.netns import names, pids
from failover.lab.nodes import Node, router
from tests.support import MakeLab

pytestmark = pytest.mark.root


def addresses(lab: Lab, host: str) -> set[str]:
    out = lab.run(host, ["ip", "-j", "-4", "addr", "show"]).stdout
    return {f"{a['local']}/{a['prefixlen']}" for i in json.loads(out) for a in i["addr_info"]}


def test_hosts_use_documentation_addresses_only(make_lab: MakeLab) -> None:
    lab = make_lab(routers=3, lans=2)
    assert set(lab.hosts) == {"r1", "r2", "r3", "client"}
    assert addresses(lab, "r2") == {"127.0.0.1/8", "192.0.2.2/24", "198.51.100.2/24"}
    assert addresses(lab, "client") == {"127.0.0.1/8", "192.0.2.100/24", "198.51.100.100/24"}
    assert lab.routers[2].addresses["eth0"] == IPv4Interface("192.0.2.3/24")
    assert addresses(lab, "switch") == {"127.0.0.1/8"}  # the switch only bridges
    lab.run("client", ["ping", "-c1", "-W2", "192.0.2.3"])
    lab.run("r1", ["ping", "-c1", "-W2", "198.51.100.2"])
    lab.run("r1", ["ping", "-c1", "-W2", "127.0.0.1"])  # loopback is up
    assert [h.name for h in lab.holders("192.0.2.3")] == ["r3"]


def test_cut_heal_and_loss(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    pinger = lab.ping("192.0.2.1")
    wait_until(lambda: pinger.reachable(0.05), 10, what="r1 to answer")
    lab.cut("r1")
    wait_until(lambda: not pinger.reachable(0.3), 10, what="r1 to go silent")
    lab.heal("r1")
    wait_until(lambda: pinger.reachable(0.05), 10, what="r1 to answer again")
    lab.add_loss(100, proto=1)  # drop every bridged ICMP packet
    wait_until(lambda: not pinger.reachable(0.3), 10, what="ICMP to be dropped")
    lab.clear_loss()
    wait_until(lambda: pinger.reachable(0.05), 10, what="ICMP to flow again")


def test_the_http_probe_sees_a_service_not_just_an_address(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    web = lab.start("r1", [sys.executable, "-m", "http.server", "--bind", "0.0.0.0", "8080"])
    getter = lab.http("192.0.2.1", 8080)
    pinger = lab.ping("192.0.2.1")
    wait_until(lambda: getter.reachable(0.1), 30, what="r1's web service to answer")
    web.stop()  # the address stays: pings go on, GETs fail
    wait_until(lambda: not getter.reachable(0.5), 10, what="GETs to fail")
    assert pinger.reachable(0.2)
    outage = getter.outage()
    assert outage.lost > 0 and outage.answered > 0


def addresses6(lab: Lab, host: str) -> dict[str, tuple[str, int, list[str]]]:
    """address -> (interface, prefix length, flags such as "tentative") from `ip -6`."""
    out = lab.run(host, ["ip", "-j", "-6", "addr", "show"]).stdout
    return {
        a["local"]: (i["ifname"], a["prefixlen"], [k for k in a if a[k] is True])
        for i in json.loads(out)
        for a in i["addr_info"]
    }


def test_ipv6_documentation_and_link_local_addresses_usable_at_once(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2, lans=2)
    r2 = addresses6(lab, "r2")
    assert r2["2001:db8::2"] == ("eth0", 64, [])  # no "tentative": DAD is off
    assert r2["2001:db8:1::2"] == ("eth1", 64, [])
    client = lab.hosts["client"]
    assert client.addresses6 == {
        "eth0": IPv6Interface("2001:db8::64/64"),
        "eth1": IPv6Interface("2001:db8:1::64/64"),
    }
    for host in lab.hosts.values():
        assert set(host.link_local) == {"eth0", "eth1"}
        for ifname, local in host.link_local.items():
            assert local.is_link_local
            assert addresses6(lab, host.name)[str(local)][:2] == (ifname, 64)
        assert all(  # nothing outside the documentation prefix and fe80::/10
            IPv6Address(a) in IPv6Network("2001:db8::/32") or IPv6Address(a).is_link_local
            for a in addresses6(lab, host.name)
            if a != "::1"
        )
    assert addresses6(lab, "switch") == {}  # the switch only bridges
    assert lab.routers[0].ip6 == IPv6Address("2001:db8::1")
    lab.run("client", ["ping", "-6", "-c1", "-W2", "2001:db8:1::2"])
    lab.run("r1", ["ping", "-6", "-c1", "-W2", f"{lab.routers[1].link_local['eth0']}%eth0"])
    assert [h.name for h in lab.holders("2001:db8::2/64")] == ["r2"]
    assert IPv6Address("2001:db8::1") in lab.addresses("r1")
    assert lab.holders(DEFAULT_VIP6) == []
    lab.run("r2", ["ip", "addr", "add", str(DEFAULT_VIP6), "dev", "eth0", "nodad"])
    assert [h.name for h in lab.holders(DEFAULT_VIP6.ip)] == ["r2"]


def test_ipv6_can_be_left_off() -> None:
    with Lab(routers=1, client=False, ipv6=False) as lab:
        assert addresses6(lab, "r1") == {}
        assert lab.routers[0].addresses6 == {} and lab.routers[0].link_local == {}
        assert all(a.version == 4 for a in lab.addresses("r1"))


def test_ipv6_ping_measures_an_outage(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    lab.run("r1", ["ip", "addr", "add", str(DEFAULT_VIP6), "dev", "eth0", "nodad"])
    pinger = lab.ping(DEFAULT_VIP6)
    assert pinger.v6
    wait_until(lambda: pinger.reachable(0.05), 10, what="the IPv6 VIP to answer")

    def blackout() -> None:  # r1 off the LAN until the client has missed replies
        lab.cut("r1")
        wait_until(lambda: not pinger.reachable(0.3), 10, what="the VIP to go silent")
        lab.heal("r1")

    outage = pinger.measure(blackout, lambda: lab.holders(DEFAULT_VIP6) == [lab.host("r1")])
    assert outage.longest_gap >= 0.3  # at least the silence `move` waited for
    assert outage.lost > 0 and outage.answered > 0
    assert pinger.reachable(0.2)


def test_http_probe_over_ipv6(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    web = lab.start("r1", [sys.executable, "-m", "http.server", "--bind", "::", "8080"])
    getter = lab.http("2001:db8::1", 8080)
    wait_until(lambda: getter.reachable(0.1), 30, what="r1's web service over IPv6")
    web.stop()
    wait_until(lambda: not getter.reachable(0.5), 10, what="GETs to fail")
    outage = getter.outage()
    assert outage.lost > 0 and outage.answered > 0


def test_node_passes_unknown_router_keys_through(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    vr = router(51, 200, vips=[DEFAULT_VIP6], interval=0.1, version=3,
                unicast_peers=["2001:db8::2"], use_vmac=True)  # fmt: skip
    node = Node(lab, "r1", [vr])
    (written,) = json.loads(node.config_path.read_text())
    assert written == {
        "name": "VR_51",
        "vrid": 51,
        "interface_name": "eth0",
        "ip_addresses": ["2001:db8::100/64"],
        "priority": 200,
        "advert_interval": 0.1,
        "preempt_mode": True,
        "version": 3,
        "unicast_peers": ["2001:db8::2"],
        "use_vmac": True,
    }


CHILD = textwrap.dedent(
    """
    import sys, time
    from failover.lab import Lab
    from failover.lab.netns import names
    lab = Lab(routers=2).up()
    proc = lab.start("r1", ["sleep", "600"])
    mine = sum(n.startswith(lab.prefix) for n in names())
    print(lab.prefix, lab.dir, proc.pid, mine, flush=True)
    {body}
    """
)


def spawn_lab_owner(body: str) -> tuple[subprocess.Popen[str], str, Path, int]:
    """A child that builds a lab (r1, r2, client, switch) and runs `body`.

    The child counts its namespaces itself: with `pass` it may exit, and tear down,
    before the parent could look.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(body=body)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    prefix, tmp, pid, mine = child.stdout.readline().split()
    assert int(mine) == 4
    return child, prefix, Path(tmp), int(pid)


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def reaped(pid: int) -> bool:
    return not alive(pid)


def gone(prefix: str, tmp: Path, pid: int) -> bool:
    return not any(n.startswith(prefix) for n in names()) and not tmp.exists() and reaped(pid)


@pytest.mark.parametrize(
    ("sig", "body"),
    [
        (signal.SIGTERM, "time.sleep(600)"),
        (signal.SIGINT, "time.sleep(600)"),
        (signal.SIGHUP, "time.sleep(600)"),
        (signal.SIGTERM, "with lab:\n    time.sleep(600)"),
    ],
    ids=["SIGTERM", "SIGINT", "SIGHUP", "SIGTERM-in-with"],
)
def test_signals_tear_the_lab_down(sig: int, body: str) -> None:
    child, prefix, tmp, pid = spawn_lab_owner(body)
    child.send_signal(sig)
    # SystemExit(128 + sig); an uncaught KeyboardInterrupt re-raises SIGINT: -SIGINT
    assert child.wait(30) in {128 + sig, -sig}
    wait_until(lambda: gone(prefix, tmp, pid), 10, what=f"{prefix}* to be gone")


def test_normal_exit_and_exception_tear_down() -> None:
    for body, code in (("pass", 0), ("raise RuntimeError('boom')", 1)):
        child, prefix, tmp, pid = spawn_lab_owner(body)
        assert child.wait(30) == code
        # torn down before the exit: namespaces and temp dir; the killed process is
        # then reaped by init, not by the child
        assert not any(n.startswith(prefix) for n in names()) and not tmp.exists()
        wait_until(partial(reaped, pid), 10, what=f"{pid} to be reaped")


def test_sweep_removes_a_killed_runs_leftovers() -> None:
    child, prefix, tmp, pid = spawn_lab_owner("time.sleep(600)")
    child.kill()  # SIGKILL: nothing runs, everything is left behind
    child.wait(30)
    leftovers = sorted(n for n in names() if n.startswith(prefix))
    assert len(leftovers) == 4 and tmp.exists()
    assert pid in pids(prefix + "r1")
    removed = sweep()
    assert set(leftovers) | {str(tmp)} <= set(removed)
    wait_until(lambda: gone(prefix, tmp, pid), 10, what=f"{prefix}* to be swept")
