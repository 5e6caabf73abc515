"""The lab itself: addresses, reachability, cut/heal, loss, and teardown on every exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from functools import partial
from ipaddress import IPv4Interface
from pathlib import Path

import pytest

from failover.lab import Lab, sweep, wait_until
from failover.lab.netns import names, pids
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
