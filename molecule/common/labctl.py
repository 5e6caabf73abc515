"""Molecule's lab: keep a `failover.lab.Lab` up between Molecule steps, and ping through it.

    labctl.py up --state S --routers 3    build the LAN in a detached keeper process,
                                          write S (JSON: namespaces, addresses, ports)
    labctl.py up --state S --routers 4 --groups 5
                                          a fleet: one lab per group, each on its own
                                          LAN (FLEET_LANS) with its own client; routers
                                          r1..r20 across the groups, clients client1..5
    labctl.py down --state S              stop the keeper (the lab tears itself down:
                                          processes in the namespaces, namespaces, temp dir)
    labctl.py ping-start --state S --target IP --out F [--http PORT]
    labctl.py ping-stop --out F           the client pings IP every 10 ms meanwhile (or GETs
                                          http://IP:PORT/); F gets the longest gap without
                                          a reply, in seconds, and every gap over --gap

The keeper owns the lab (its pid is in the namespace names, fo-<pid>-<token>-), so a lab
whose keeper died is swept by the next `up` (failover.lab.sweep).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path

# This tree's lab (the scenario tests this tree), before an installed `failover`.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from failover.lab import HttpGetter, Lab, Pinger, netns, sweep
from failover.lab.lab import FLEET_LANS, Host
from failover.lab.probe import gaps_over, longest_gap
from failover.supervise import daemonize, write_pidfile


def on_signal() -> list[int]:
    """A list that gets an item when SIGTERM, SIGINT or SIGHUP arrives."""
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signo, _frame: stop.append(signo))
    return stop


def describe(h: Host, **extra: object) -> dict[str, object]:
    """A host's entry in the state file."""
    return {
        "ns": h.ns,
        "ip": str(h.ip),
        "address": str(h.addresses["eth0"]),
        "port": h.ports["eth0"],
        **extra,
    }


def single(lab: Lab) -> dict[str, object]:
    """The layout of one lab: r1..rN and the client on one LAN."""
    hosts = {h.name: describe(h) for h in [*lab.routers, lab.client] if h is not None}
    return {"prefix": lab.prefix, "switch": lab.switch.ns, "dir": str(lab.dir), "hosts": hosts}


def fleet(labs: list[Lab]) -> dict[str, object]:
    """The layout of a fleet: group g's lab holds routers r((g-1)N+1)..r(gN) and client<g>.

    Its `prefix` is the keeper's (`fo-<pid>-`), which every group's namespaces start with.
    """
    hosts: dict[str, object] = {}
    groups = []
    for g, lab in enumerate(labs, 1):
        assert lab.client is not None
        names = [f"r{(g - 1) * len(lab.routers) + i}" for i in range(1, len(lab.routers) + 1)]
        for name, h in zip(names, lab.routers, strict=True):
            hosts[name] = describe(h, group=g, switch=lab.switch.ns)
        hosts[f"client{g}"] = describe(lab.client, group=g, switch=lab.switch.ns)
        groups.append(
            {
                "group": g,
                "prefix": lab.prefix,
                "switch": lab.switch.ns,
                "network": str(lab.lans[0].network),
                "routers": names,
                "client": f"client{g}",
            }
        )
    prefix = f"fo-{os.getpid()}-"
    return {"prefix": prefix, "switch": labs[0].switch.ns, "dir": str(labs[0].dir),
            "hosts": hosts, "groups": groups}  # fmt: skip


def keep(state: Path, routers: int, groups: int) -> None:
    """In the keeper: build the lab(s), publish the layout, wait for SIGTERM, tear down."""
    try:
        with contextlib.ExitStack() as stack:
            if groups:
                labs = [
                    stack.enter_context(Lab(routers=routers, lans=(lan,), ipv6=False))
                    for lan in FLEET_LANS[:groups]
                ]
                layout = fleet(labs)
            else:
                layout = single(stack.enter_context(Lab(routers=routers)))
            tmp = state.with_suffix(".tmp")
            tmp.write_text(json.dumps({"keeper_pid": os.getpid(), **layout}, indent=2))
            tmp.rename(state)
            # SIGTERM from `down`: the lab's guard turns it into SystemExit, so the
            # context managers tear everything down.
            while True:
                time.sleep(1)
    except BaseException as err:  # report and exit in every case
        print(f"labctl keeper: {type(err).__name__}: {err}", file=sys.stderr)
        raise


def cmd_up(args: argparse.Namespace) -> int:
    sweep()
    state = Path(args.state).absolute()  # the keeper runs in /
    state.unlink(missing_ok=True)
    log = state.with_suffix(".log")
    if daemonize(log):
        try:
            keep(state, args.routers, args.groups)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if state.exists():
            print(state.read_text())
            return 0
        time.sleep(0.1)
    print(f"the lab did not come up; {log}:\n{log.read_text()}", file=sys.stderr)
    return 1


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def cmd_down(args: argparse.Namespace) -> int:
    state = Path(args.state)
    if not state.exists():
        print("no lab")
        return 0
    data = json.loads(state.read_text())
    pid = data["keeper_pid"]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    # belt and braces: whatever is left of this lab goes too
    left = [ns for ns in netns.names() if ns.startswith(data["prefix"])]
    for ns in left:
        netns.kill_all(ns)
        netns.remove(ns)
    state.unlink()
    print(f"lab {data['prefix']} removed" + (f" (swept {', '.join(left)})" if left else ""))
    return 0


def cmd_ping_start(args: argparse.Namespace) -> int:
    data = json.loads(Path(args.state).read_text())
    out = Path(args.out).absolute()  # the pinger runs in /
    out.unlink(missing_ok=True)
    pidfile = out.with_suffix(".pid")
    if daemonize(out.with_suffix(".log")):
        try:
            stop = on_signal()
            client = data["hosts"][args.client]["ns"]
            pinger = (
                HttpGetter(client, args.target, args.http, args.period)
                if args.http
                else Pinger(client, args.target, args.period)
            )
            write_pidfile(pidfile)  # pinging: ping-start may return
            while not stop:
                time.sleep(0.2)
            end = time.monotonic()
            pinger.stop()
            gap, began = longest_gap(pinger.replies, pinger.started, end)
            out.write_text(
                json.dumps(
                    {
                        "target": args.target,
                        "probe": pinger.kind,
                        "seconds": round(end - pinger.started, 3),
                        "sent": len(pinger.sent),
                        "answered": len(pinger.replies),
                        "longest_gap": round(gap, 3),
                        "gap_began_after": round(began - pinger.started, 3),
                        "gaps": [
                            [round(began - pinger.started, 3), round(length, 3)]
                            for began, length in gaps_over(
                                args.gap, pinger.replies, pinger.started, end
                            )
                        ],
                    }
                )
            )
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return 0 if pidfile.exists() else 1


def cmd_ping_stop(args: argparse.Namespace) -> int:
    out = Path(args.out)
    pidfile = out.with_suffix(".pid")
    if not pidfile.exists():
        print("{}")
        return 0
    pid = int(pidfile.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pidfile.unlink()
    print(out.read_text() if out.exists() else "{}")
    return 0 if out.exists() else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--state", required=True)
    up.add_argument("--routers", type=int, default=3, help="routers (per group)")
    up.add_argument("--groups", type=int, default=0, help=f"a fleet of 1..{len(FLEET_LANS)} groups")
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down")
    down.add_argument("--state", required=True)
    down.set_defaults(func=cmd_down)
    ps = sub.add_parser("ping-start")
    ps.add_argument("--state", required=True)
    ps.add_argument("--target", required=True)
    ps.add_argument("--out", required=True)
    ps.add_argument("--period", type=float, default=0.01)
    ps.add_argument("--client", default="client", help="the host that pings (client<g>)")
    ps.add_argument("--gap", type=float, default=0.1, help="list every gap longer than this")
    ps.add_argument("--http", type=int, metavar="PORT", help="GET http://TARGET:PORT/ instead")
    ps.set_defaults(func=cmd_ping_start)
    pe = sub.add_parser("ping-stop")
    pe.add_argument("--out", required=True)
    pe.set_defaults(func=cmd_ping_stop)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
