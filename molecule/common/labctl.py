"""Molecule's lab: keep a `failover.lab.Lab` up between Molecule steps, and ping through it.

    labctl.py up --state S --routers 3    build the LAN in a detached keeper process,
                                          write S (JSON: namespaces, addresses, ports)
    labctl.py down --state S              stop the keeper (the lab tears itself down:
                                          processes in the namespaces, namespaces, temp dir)
    labctl.py ping-start --state S --target IP --out F [--http PORT]
    labctl.py ping-stop --out F           the client pings IP every 10 ms meanwhile (or GETs
                                          http://IP:PORT/); F gets the longest gap without
                                          a reply, in seconds

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

from failover.lab import HttpGetter, Lab, Pinger, netns, sweep
from failover.lab.probe import longest_gap
from failover.supervise import daemonize, write_pidfile


def on_signal() -> list[int]:
    """A list that gets an item when SIGTERM, SIGINT or SIGHUP arrives."""
    stop: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signo, _frame: stop.append(signo))
    return stop


def keep(state: Path, routers: int) -> None:
    """In the keeper: build the lab, publish its layout, wait for SIGTERM, tear down."""
    try:
        with Lab(routers=routers) as lab:
            hosts = {}
            for h in [*lab.routers, lab.client]:
                if h is None:
                    continue
                hosts[h.name] = {
                    "ns": h.ns,
                    "ip": str(h.ip),
                    "address": str(h.addresses["eth0"]),
                    "port": h.ports["eth0"],
                }
            tmp = state.with_suffix(".tmp")
            tmp.write_text(
                json.dumps(
                    {
                        "keeper_pid": os.getpid(),
                        "prefix": lab.prefix,
                        "switch": lab.switch.ns,
                        "dir": str(lab.dir),
                        "hosts": hosts,
                    },
                    indent=2,
                )
            )
            tmp.rename(state)
            # SIGTERM from `down`: the lab's guard turns it into SystemExit, so the
            # context manager tears everything down.
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
            keep(state, args.routers)
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
            client = data["hosts"]["client"]["ns"]
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
    up.add_argument("--routers", type=int, default=3)
    up.set_defaults(func=cmd_up)
    down = sub.add_parser("down")
    down.add_argument("--state", required=True)
    down.set_defaults(func=cmd_down)
    ps = sub.add_parser("ping-start")
    ps.add_argument("--state", required=True)
    ps.add_argument("--target", required=True)
    ps.add_argument("--out", required=True)
    ps.add_argument("--period", type=float, default=0.01)
    ps.add_argument("--http", type=int, metavar="PORT", help="GET http://TARGET:PORT/ instead")
    ps.set_defaults(func=cmd_ping_start)
    pe = sub.add_parser("ping-stop")
    pe.add_argument("--out", required=True)
    pe.set_defaults(func=cmd_ping_stop)
    args = parser.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
