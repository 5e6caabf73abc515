"""kill -9 the master, again and again, at random moments, while a client pings the VIP
(issue 12).

r1 (priority 200) and r2 (150) share the VIP. Each round: a random wait, then SIGKILL to
whichever daemon is MASTER at that moment (r1 once stable; r2 in the window where r2
holds the VIP before a restarted r1 preempts), and at once a restart of it, as
systemd's Restart=on-failure would, with a second start beside it (an operator's, say):
one of the two runs, the other exits 5 ("already running"), whichever won the race to
the crashed daemon's stale socket. After every restart:

- the VIP is only on the routers that are MASTER (every router's addresses read each
  time): a restarted daemon that comes up BACKUP has removed the VIP the kill left;
- the killed daemon's control socket is no obstacle: the new daemon answers `status`
  (and `failover status`, the CLI, on the first and last rounds and every tenth);
- each router namespace runs exactly one failover daemon (its process list);
- on the first, middle and last rounds: a second `failover run` on the same host is
  refused (exit 5, "already running") and the running daemon goes on undisturbed.

At the end r1 is the one master and sole VIP holder for several adverts. The longest
client outage of each round is printed (median, max).

FAILOVER_CRASHES rounds (default 15, to stay within a few minutes in CI; the issue asks
for 50: `FAILOVER_CRASHES=50` takes about five minutes). FAILOVER_CHAOS_SEED seeds the
random moments (printed; random otherwise).
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

import pytest

from failover.daemon.errors import ExitCode
from failover.lab import DEFAULT_VIP, Lab, wait_until
from failover.lab.netns import pids
from failover.lab.nodes import Node, converged, failover_argv, router
from tests.integration.test_partitions import answers_after, chaos_seed
from tests.support import MakeLab, adverts, holds_over_adverts

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
CRASHES = int(os.environ.get("FAILOVER_CRASHES") or 15)


def daemons(lab: Lab, node: Node) -> list[int]:
    """Pids of the failover daemons (`python -m failover run`) in the node's namespace."""
    found = []
    for pid in pids(node.host.ns):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if b"failover" in argv and b"run" in argv:
            found.append(pid)
    return found


def vip_only_on_masters(lab: Lab, nodes: list[Node]) -> bool:
    """Every router holding the VIP is MASTER, every MASTER holds it (one snapshot)."""
    states = {n.host.name: n.state(VRID) for n in nodes}
    holders = {h.name for h in lab.holders(DEFAULT_VIP)}
    masters = {name for name, state in states.items() if state == "MASTER"}
    return None not in states.values() and holders == masters


def second_daemon_is_refused(lab: Lab, node: Node) -> None:
    """`failover run` beside a running daemon: exit 5 with the reason; the first goes on."""
    pid = node.running.pid
    argv = failover_argv("run", "--config", str(node.config_path),
                         "--control-socket", node.socket_path)  # fmt: skip
    done = lab.run(node.host, argv, check=False, timeout=TIMEOUT)
    assert done.returncode == ExitCode.ALREADY_RUNNING, done.stderr
    assert f"another failover daemon (pid {pid}) is already running" in done.stderr
    assert node.running.alive() and daemons(lab, node) == [pid]
    assert node.status()[0]["state"] in ("MASTER", "BACKUP")


def restart_twice_at_once(lab: Lab, node: Node) -> None:
    """Start the node's daemon twice at once: one runs (it becomes `node.proc`), the
    other is refused. Both running (a lost race for the stale socket) times out here."""
    argv = failover_argv("run", "--config", str(node.config_path),
                         "--control-socket", node.socket_path)  # fmt: skip
    first = node.start().running
    second = lab.start(node.host, argv, name=f"{node.host.name}-failover")
    wait_until(
        lambda: first.returncode is not None or second.returncode is not None,
        TIMEOUT,
        what=f"one of two daemons started at once on {node.host.name} to be refused",
    )
    loser, winner = (first, second) if first.returncode is not None else (second, first)
    assert loser.returncode == ExitCode.ALREADY_RUNNING, loser.log()
    assert "is already running" in loser.log()
    assert winner.alive(), winner.log()
    node.proc = winner


def cli_status(lab: Lab, node: Node) -> str:
    """`failover status` in the node's namespace, as an operator runs it."""
    argv = failover_argv("status", "--control-socket", node.socket_path)
    return lab.run(node.host, argv, timeout=TIMEOUT).stdout


def test_master_killed_at_random_moments_and_restarted(make_lab: MakeLab) -> None:
    rng = random.Random(chaos_seed())
    lab = make_lab(routers=2)
    r1 = Node(lab, "r1", [router(VRID, 200)]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", [router(VRID, 150)]).start()
    nodes = [r1, r2]
    wait_until(lambda: converged(nodes, VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    pinger = lab.ping(DEFAULT_VIP.ip)
    answers_after(pinger, time.monotonic())
    killed: dict[str, int] = {"r1": 0, "r2": 0}
    outages: list[float] = []
    checks = {0, CRASHES // 2, CRASHES - 1}
    for round_ in range(CRASHES):
        time.sleep(rng.uniform(0.0, 4.0))  # a random moment, not a wait for a condition
        masters = wait_until(
            lambda: [n for n in nodes if n.state(VRID) == "MASTER"], TIMEOUT, what="a master"
        )
        victim = rng.choice(masters)
        t_kill = time.monotonic()
        victim.kill()
        restart_twice_at_once(lab, victim)  # Restart=on-failure, and a rival
        killed[victim.host.name] += 1
        wait_until(victim.states, TIMEOUT, what=f"round {round_}: the restarted daemon answers")
        for n in nodes:
            assert daemons(lab, n) == [n.running.pid], f"round {round_}: {n.host.name}"
        wait_until(lambda: vip_only_on_masters(lab, nodes), TIMEOUT,
                   what=f"round {round_}: the VIP on the masters only")  # fmt: skip
        answers_after(pinger, time.monotonic())
        outages.append(pinger.outage(t_kill, time.monotonic()).longest_gap)
        if round_ in checks:
            second_daemon_is_refused(lab, victim)
        if round_ in checks or round_ % 10 == 0:
            assert "VR_51" in cli_status(lab, victim)
        print(f"round {round_}: killed {victim.host.name} (master), client outage "
              f"{outages[-1]:.3f}s")  # fmt: skip
    wait_until(lambda: converged(nodes, VRID) is r1, TIMEOUT, what="r1 master at the end")
    holds_over_adverts(
        lambda: [h.name for h in lab.holders(DEFAULT_VIP)] == ["r1"],
        lambda: adverts(r1, VRID),
        3,
        what="r1 the sole VIP holder",
        poll=0.05,
    )
    print(f"{CRASHES} kills ({killed}); longest client outage per restart: "
          f"median {statistics.median(outages):.3f}s, max {max(outages):.3f}s")  # fmt: skip
    for n in nodes:
        assert "Traceback" not in n.log()
