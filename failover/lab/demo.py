"""The `failover lab` walk-through: a live failover on a namespaced LAN, narrated.

IPv4 with VRRPv2 by default; `--ipv6`: VRRPv3 over IPv6 (2001:db8::/32 inside the
namespaces only), the client pinging the IPv6 VIP.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from ipaddress import IPv4Interface, IPv6Interface

from failover.lab.lab import DEFAULT_VIP, DEFAULT_VIP6, Host, Lab
from failover.lab.netns import sweep
from failover.lab.nodes import Node, converged, failover_argv, group
from failover.lab.wait import WaitTimeout, wait_until
from failover.protocol.router import master_down_interval, skew_time

PRIORITIES = (150, 100, 50)
VRID = 51
INTERVAL = 1
TIMEOUT = 30.0


class Narrator:
    """Prints steps with the time since the start."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.2f}s] {message}", flush=True)


def priority(node: Node) -> int:
    """The priority of the node's (only) virtual router."""
    return int(node.routers[0]["priority"])


def show_status(nodes: list[Node]) -> None:
    """`failover status` of every router, as a user would run it."""
    for node in nodes:
        done = subprocess.run(
            failover_argv("status", "--control-socket", node.socket_path),
            capture_output=True, text=True, timeout=60,  # a loaded machine starts Python slowly
        )  # fmt: skip
        print(f"  -- {node.host.name}: failover status")
        for line in (done.stdout or done.stderr).rstrip().splitlines():
            print(f"     {line}")


def wait_for(nodes: list[Node], check: Callable[[], object], what: str) -> object:
    """wait_until, failing early with the log if a daemon died, with the logs on timeout."""

    def probe() -> object:
        for n in nodes:
            if n.proc is not None and n.proc.returncode is not None and n.proc.returncode != 0:
                raise SystemExit(f"the daemon on {n.host.name} exited:\n{n.log()}")
        return check()

    try:
        return wait_until(probe, TIMEOUT, 0.05, what)
    except WaitTimeout as err:
        logs = "".join(f"\n-- {n.host.name}'s daemon log (end):\n{n.log()[-3000:]}" for n in nodes)
        raise SystemExit(f"{err}{logs}") from None


def explore(lab: Lab, nodes: list[Node], vip: IPv4Interface | IPv6Interface) -> None:
    """Print commands to look around, then wait for Ctrl-C."""
    print("\nThe lab stays up; try (as root, in another terminal):")
    r1, client = lab.routers[0], lab.client
    assert client is not None
    proto = "ip6" if vip.version == 6 else "ip"
    port = r1.ports["eth0"]
    commands = [
        ("r1's routers", failover_argv("status", "--control-socket", nodes[0].socket_path)),
        ("r1's addresses", r1.argv(["ip", "-br", "addr", "show", "eth0"])),
        ("ping the VIP", client.argv(["ping", f"-{vip.version}", "-c3", str(vip.ip)])),
        ("watch the adverts", client.argv(["tshark", "-i", "eth0", "-f", f"{proto} proto 112"])),
        ("cut r1 off", lab.switch.argv(["ip", "link", "set", port, "down"])),
        ("heal r1", lab.switch.argv(["ip", "link", "set", port, "up"])),
        ("daemon logs", ["tail", "-f", *(str(n.running.log_path) for n in nodes)]),
    ]
    for what, argv in commands:
        print(f"  # {what}\n  {shlex.join(argv)}")
    print("Press Ctrl-C to tear everything down.", flush=True)
    while True:
        signal.pause()


def address(host: Host, ipv6: bool) -> str:
    """The host's address on the first LAN, in the demo's family."""
    return f"{host.ip6}/64" if ipv6 else str(host.addresses["eth0"])


def run_demo(routers: int = 2, keep: bool = False, ipv6: bool = False) -> int:
    """Build, converge, cut the master off, heal, (keep,) tear down. Exit code."""
    say = Narrator()
    vip = DEFAULT_VIP6 if ipv6 else DEFAULT_VIP
    version = 3 if ipv6 else 2
    for gone in sweep():
        say(f"removed a leftover of a dead lab run: {gone}")
    with Lab(routers=routers) as lab:
        say(f"built a LAN in network namespaces {lab.prefix}*: bridge br0 in {lab.switch.ns}")
        prios = PRIORITIES[:routers]
        for host, prio in zip(lab.routers, prios, strict=True):
            print(f"  {host.name:6} {address(host, ipv6):22} priority {prio}")
        assert lab.client is not None
        print(f"  client {address(lab.client, ipv6):22} pings the virtual IP {vip}")
        say(f"starting a failover daemon in each router (VRRPv{version}, vrid {VRID}, "
            f"advert every {INTERVAL}s)")  # fmt: skip
        nodes = group(lab, prios, VRID, interval=INTERVAL, vips=[vip], version=version)
        master = max(nodes, key=priority)

        def settled() -> bool:
            """`master` is the only MASTER, the rest BACKUP, and only it holds the VIP."""
            return converged(nodes, VRID) is master and lab.holders(vip) == [master.host]

        # A router that starts more than Skew_Time before the others becomes master
        # first; the highest-priority one preempts it a Master_Down_Interval later.
        wait_for(nodes, settled, f"{master.host.name} the only master")
        say(f"converged: {master.host.name} is MASTER and holds {vip.ip}")
        show_status(nodes)
        pinger = lab.ping(vip.ip)
        wait_for(nodes, lambda: pinger.reachable(0.1), f"the client to reach {vip.ip}")
        say(f"the client reaches {vip.ip} (one ping every 10 ms)")
        rest = [n for n in nodes if n is not master]
        heir = max(rest, key=priority)
        say(f"cutting {master.host.name} off the LAN (its bridge port goes down)")
        outage = pinger.measure(
            lambda: lab.cut(master.host),
            lambda: heir.state(VRID) == "MASTER" and vip.ip in lab.addresses(heir.host),
            TIMEOUT,
        )
        prio = priority(heir)
        bound = master_down_interval(prio, INTERVAL, version)
        say(f"{heir.host.name} took over: it is MASTER and holds {vip.ip}")
        print(
            f"  client outage {outage.longest_gap:.3f}s ({outage.lost} of {outage.sent} pings "
            f"lost); protocol bound {bound:.3f}s (Master_Down_Interval = 3 x {INTERVAL}s + "
            f"Skew_Time {skew_time(prio, INTERVAL, version):.3f}s, RFC 3768 6.1, RFC 5798 6.1)"
        )
        show_status(rest)
        name = master.host.name
        say(f"healing: {name} is back on the LAN as a backup; with preempt on and the "
            "highest priority it takes over when its Master_Down_Interval expires")  # fmt: skip
        lab.heal(master.host)
        wait_for(nodes, settled, f"{name} master again")
        say(f"after the heal {name} is MASTER again and the only holder of {vip.ip}")
        show_status(nodes)
        if keep:
            explore(lab, nodes, vip)
        say("tearing down: daemons stop, namespaces and temp files go")
    say("done: nothing left behind")
    return 0
