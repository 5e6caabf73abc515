"""Config reload on a real kernel: SIGHUP and `failover reload` apply a new file in place.

A kept virtual router keeps its state (no flap: no state-change line in the log, the
client keeps reaching the VIP), an invalid file changes nothing, a removed router hands
over like a graceful stop (priority 0: the backup takes over after Skew_Time).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from ipaddress import IPv4Interface
from typing import Any

import pytest

from failover.lab.lab import DEFAULT_VIP, Lab
from failover.lab.nodes import Node, converged, failover_argv, router
from failover.lab.wait import wait_until
from failover.protocol.router import skew_time
from tests.support import MakeLab, TakeoverWatch, adverts, holds_over_adverts

pytestmark = pytest.mark.root
TIMEOUT = 30
A = DEFAULT_VIP  # 192.0.2.254/24
B = IPv4Interface("192.0.2.253/24")
C = IPv4Interface("192.0.2.252/24")
STATE_CHANGE = re.compile(r" (INITIALIZE|BACKUP|MASTER|FAULT) -> (INITIALIZE|BACKUP|MASTER|FAULT) ")


def rewrite(node: Node, *routers: dict[str, Any]) -> None:
    node.routers = list(routers)
    node.config_path.write_text(json.dumps(node.routers, indent=2) + "\n")


def sighup(node: Node) -> None:
    node.running.signal(signal.SIGHUP)


def reloads(node: Node, count: int = 1) -> None:
    """Wait until the daemon has logged `count` finished reloads (applied or refused)."""
    wait_until(
        lambda: len(re.findall(r"reload of .* done|reload refused", node.log())) >= count,
        TIMEOUT,
        what=f"{node.host.name} to finish reload #{count}",
    )


def state_changes_after(node: Node, marker: str, who: str = "") -> list[str]:
    """State-change log lines after the first `marker` line (of router `who` only)."""
    log = node.log()
    assert marker in log, f"{marker!r} not in {node.host.name}'s log"
    after = log.split(marker, 1)[1]
    return [line for line in after.splitlines() if STATE_CHANGE.search(line) and who in line]


def cli_reload(lab: Lab, node: Node) -> subprocess.CompletedProcess[str]:
    argv = failover_argv("reload", "--control-socket", node.socket_path)
    return lab.run(node.host, argv, check=False, timeout=TIMEOUT)


def holders(lab: Lab, vip: IPv4Interface) -> list[str]:
    return [h.name for h in lab.holders(vip)]


def pings(lab: Lab, vip: IPv4Interface) -> bool:
    assert lab.client is not None
    done = lab.run(lab.client, ["ping", "-n", "-c1", "-W1", str(vip.ip)], check=False)
    return done.returncode == 0


def test_sighup_adds_a_vip_and_a_priority_without_a_flap(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    r1 = Node(lab, "r1", [router(51, 150, vips=[A])], "info").start()
    r2 = Node(lab, "r2", [router(51, 100, vips=[A])], "info").start()
    wait_until(lambda: converged([r1, r2], 51) is r1, TIMEOUT, what="r1 master, r2 backup")
    pinger = lab.ping(A.ip)
    wait_until(lambda: pinger.reachable(0.1), TIMEOUT, what="the client to reach VIP A")

    # Every member of the group gets the new VIP list (RFC 3768 7.1 drops adverts whose
    # addresses differ), the master a new priority; both reload within milliseconds.
    rewrite(r2, router(51, 100, vips=[A, B]))
    rewrite(r1, router(51, 200, vips=[A, B]))
    t0 = time.monotonic()
    sighup(r2)
    sighup(r1)
    reloads(r1)
    reloads(r2)

    wait_until(lambda: holders(lab, B) == ["r1"], TIMEOUT, what="r1 to add VIP B")
    wait_until(
        lambda: r2.status()[0]["master_priority"] == 200,
        TIMEOUT,
        what="the backup to learn the master's new priority",
    )
    (s1,) = r1.status()
    assert (s1["state"], s1["priority"]) == ("MASTER", 200)
    assert sorted(s1["addresses"]) == sorted([str(A), str(B)])
    assert r2.state(51) == "BACKUP"
    assert holders(lab, A) == ["r1"]
    wait_until(lambda: pings(lab, B), TIMEOUT, what="the client to reach VIP B")
    assert pings(lab, A)

    # No flap: no state change on either daemon since the SIGHUP, and the client kept
    # reaching VIP A through the reload.
    assert state_changes_after(r1, "SIGHUP received") == []
    assert state_changes_after(r2, "SIGHUP received") == []
    assert "reload: VR_51 vrid=51 eth0: priority 150 -> 200, addresses +192.0.2.253/24" in r1.log()
    # ... over several adverts at the new values
    holds_over_adverts(
        lambda: converged([r1, r2], 51) is r1, lambda: adverts(r2, 51), 3, what="r1 master"
    )
    outage = pinger.outage(t0 - 0.05)
    print(f"client outage on VIP A across the reload: {outage.longest_gap:.3f}s")
    assert outage.longest_gap < 0.5


def test_invalid_reload_changes_nothing_and_the_cli_reports_it(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    r1 = Node(lab, "r1", [router(51, 100, vips=[A])], "info").start()
    wait_until(lambda: r1.state(51) == "MASTER", TIMEOUT, what="r1 master")
    before = r1.status()[0]

    # An invalid file, by SIGHUP: refused, logged, the daemon runs on unchanged.
    r1.config_path.write_text('[{"vrid": 0, "interface_name": "eth0", "ip_addresses": []}]')
    sighup(r1)
    reloads(r1)
    assert "reload refused, nothing changed" in r1.log()
    assert "[0].vrid: must be at least 1 (got 0)" in r1.log()
    assert r1.running.alive()

    # The same file through the CLI: exit 1 and every error.
    done = cli_reload(lab, r1)
    assert done.returncode == 1, done
    assert "reload refused, nothing changed" in done.stderr
    assert "[0].vrid: must be at least 1 (got 0)" in done.stderr

    # A valid file that needs a missing interface: the whole reload is refused, the
    # priority change in the same file included.
    rewrite(r1, router(51, 200, vips=[A]), router(52, 100, vips=[B], interface="eth7"))
    done = cli_reload(lab, r1)
    assert done.returncode == 1, done
    assert "interface 'eth7' does not exist (used by VR_52)" in done.stderr

    (after,) = r1.status()
    keys = ("state", "priority", "addresses", "since")
    assert [after[k] for k in keys[:3]] == [before[k] for k in keys[:3]]
    assert after["since"] >= before["since"]  # the same MASTER period
    assert holders(lab, A) == ["r1"]
    assert state_changes_after(r1, "SIGHUP received") == []

    # And a valid one applies: the summary on stdout, exit 0.
    rewrite(r1, router(51, 200, vips=[A]))
    done = cli_reload(lab, r1)
    assert done.returncode == 0, done
    assert done.stdout.splitlines()[1:] == [
        "added: -",
        "removed: -",
        "changed: VR_51",
        "unchanged: -",
    ]
    assert r1.status()[0]["priority"] == 200 and r1.state(51) == "MASTER"
    assert state_changes_after(r1, "SIGHUP received") == []


def test_cli_reload_removing_a_router_hands_it_over_in_skew_time(make_lab: MakeLab) -> None:
    lab = make_lab(routers=2)
    both = [router(51, 150, vips=[A]), router(52, 150, vips=[C])]
    r1 = Node(lab, "r1", both, "info").start()
    r2 = Node(lab, "r2", [router(51, 100, vips=[A]), router(52, 100, vips=[C])], "info").start()
    # r1 wins both groups (preempt on), maybe after r2 was master for a moment
    wait_until(
        lambda: all(converged([r1, r2], v) is r1 for v in (51, 52)),
        TIMEOUT,
        what="r1 master of 51 and 52, r2 backup",
    )
    wait_until(lambda: holders(lab, C) == ["r1"], TIMEOUT, what="r1 to hold VIP C")
    pinger = lab.ping(C.ip)
    wait_until(lambda: pinger.reachable(0.1), TIMEOUT, what="the client to reach VIP C")

    watch = TakeoverWatch(r2, 52)
    wait_until(lambda: watch.knows(str(r1.host.ip)), TIMEOUT, what="r2 backup of r1 in 52")
    rewrite(r1, router(51, 150, vips=[A]))
    t0 = time.monotonic()
    argv = r1.host.argv(failover_argv("reload", "--control-socket", r1.socket_path))
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as cli:
        # watched while the CLI runs: r2's Skew_Time may pass before the CLI has exited
        wait_until(watch.master, TIMEOUT, interval=0.005, what="r2 master of 52")
        took = time.monotonic() - t0
        out, _ = cli.communicate(timeout=TIMEOUT)
    assert cli.returncode == 0, out
    assert "removed: VR_52" in out and "unchanged: VR_51" in out
    print(f"reload removed VR_52: r2 MASTER {took:.3f}s after `failover reload` started "
          f"(Skew_Time {skew_time(100):.3f}s)")  # fmt: skip
    # the removed router handed over as on shutdown: priority 0 (RFC 3768 6.4.3), not
    # silence (the time above includes starting the CLI: a figure, not a bound)
    assert watch.saw_priority_zero(), f"r2 never showed the priority-0 advert: {watch.seen()}"

    wait_until(lambda: holders(lab, C) == ["r2"], TIMEOUT, what="VIP C on r2 only")
    t1 = time.monotonic()
    wait_until(lambda: pinger.replied_after(t1), TIMEOUT, what="VIP C to answer from r2")
    assert [r["vrid"] for r in r1.status()] == [51]
    # the kept router did not move
    assert r1.state(51) == "MASTER" and holders(lab, A) == ["r1"]
    assert state_changes_after(r1, "reload: removing", who="VR_51 ") == []
    assert "VR_52 vrid=52 eth0 MASTER -> INITIALIZE (removed from the config)" in r1.log()
