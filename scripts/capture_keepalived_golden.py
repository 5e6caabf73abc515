#!/usr/bin/env python3
"""Capture real keepalived 2.2.x VRRPv2 advertisements as golden bytes for the unit tests.

Run as root:  python scripts/capture_keepalived_golden.py [--stops]

It creates two network namespaces named "fogold-<pid>-ka" and "fogold-<pid>-cap" joined
by a veth pair (addresses from 192.0.2.0/24 only), runs keepalived in the first, listens
for protocol 112 on a raw socket in the second, and prints, per config, the keepalived
config and each captured IPv4 packet as hex: a few adverts while keepalived is master,
then the priority-0 advert it sends when stopped. The output is what
tests/unit/keepalived_golden.py holds.

Whatever happens (error, Ctrl-C, SIGTERM), keepalived is killed and both namespaces are
deleted; `ip netns list` is left as it was found.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

PREFIX = f"fogold-{os.getpid()}-"
NS_KA = PREFIX + "ka"
NS_CAP = PREFIX + "cap"
IF_KA = "vka"  # both ends are created inside the namespaces, never in the host's
IF_CAP = "vcap"
ADDR_KA = "192.0.2.1/24"
ADDR_CAP = "192.0.2.2/24"
VRRP_GROUP = "224.0.0.18"
ADVERTS_PER_CASE = 2


@dataclass(frozen=True)
class Case:
    name: str
    instance: str  # the body of the vrrp_instance block


CASES = [
    Case(
        "no_auth",
        """\
        state MASTER
        interface vka
        virtual_router_id 51
        priority 100
        advert_int 1
        virtual_ipaddress {
            192.0.2.100/24
        }""",
    ),
    Case(
        "auth_pass",
        """\
        state MASTER
        interface vka
        virtual_router_id 52
        priority 150
        advert_int 1
        authentication {
            auth_type PASS
            auth_pass secret
        }
        virtual_ipaddress {
            192.0.2.101/24
        }""",
    ),
    Case(
        "auth_pass_long",
        """\
        state MASTER
        interface vka
        virtual_router_id 53
        priority 120
        advert_int 1
        authentication {
            auth_type PASS
            auth_pass longpassword
        }
        virtual_ipaddress {
            192.0.2.102/24
        }""",
    ),
    Case(
        "three_vips_interval_2",
        """\
        state MASTER
        interface vka
        virtual_router_id 54
        priority 200
        advert_int 2
        virtual_ipaddress {
            192.0.2.110/24
            192.0.2.111/24
            192.0.2.112/24
        }""",
    ),
    Case(
        "owner_255",
        """\
        state MASTER
        interface vka
        virtual_router_id 55
        priority 255
        advert_int 1
        virtual_ipaddress {
            192.0.2.120/24
        }""",
    ),
]


def config_text(case: Case) -> str:
    return (
        "global_defs {\n    router_id fogold\n    vrrp_version 2\n}\n"
        f"vrrp_instance VI_{case.name} {{\n"
        + textwrap.indent(textwrap.dedent(case.instance), "    ")
        + "\n}\n"
    )


# -- the listener, run inside the capture namespace -----------------------------------


def listen(ifname: str, seconds: float) -> int:
    """Print each VRRP packet (IP header included) as one hex line; 'ready' first."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    ifindex = socket.if_nametoindex(ifname)
    mreq = struct.pack("=4s4si", socket.inet_aton(VRRP_GROUP), bytes(4), ifindex)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except TimeoutError:
            break
        print(data.hex(), flush=True)
    return 0


# -- the orchestration, as root in the host namespace ---------------------------------


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


class Lab:
    """Two namespaces and a veth pair; `close` undoes everything it made."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []

    def setup(self) -> None:
        for ns in (NS_KA, NS_CAP):
            self.namespaces.append(ns)  # first: a signal may land mid-command
            run(["ip", "netns", "add", ns])
        run(
            [
                *("ip", "-n", NS_KA, "link", "add", IF_KA, "type", "veth"),
                *("peer", "name", IF_CAP, "netns", NS_CAP),
            ]
        )
        for ns, ifname, addr in ((NS_KA, IF_KA, ADDR_KA), (NS_CAP, IF_CAP, ADDR_CAP)):
            run(["ip", "-n", ns, "addr", "add", addr, "dev", ifname])
            run(["ip", "-n", ns, "link", "set", ifname, "up"])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def spawn(self, cmd: list[str], **kw: object) -> subprocess.Popen[str]:
        proc: subprocess.Popen[str] = subprocess.Popen(  # type: ignore[call-overload]
            cmd, text=True, start_new_session=True, **kw
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
        """Send `sig` to `proc` (by its id); SIGKILL its process group if it lingers."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                continue  # reaped: its id may belong to someone else by now
            # Each was started in a session of its own: its pid is its process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", ns], check=False, capture_output=True)
        self.namespaces.clear()


def next_line(proc: subprocess.Popen[str], until: float) -> str | None:
    """The listener's next line, or None if none comes before `until` (monotonic)."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        left = until - time.monotonic()
        if left <= 0 or not sel.select(left):
            return None
    line = proc.stdout.readline()
    return line.strip() or None


def priority_of(packet_hex: str) -> int:
    data = bytes.fromhex(packet_hex)
    ihl = (data[0] & 0x0F) * 4
    return data[ihl + 2]


def capture(lab: Lab, case: Case) -> tuple[list[str], list[str]]:
    """Return (adverts while master, adverts after SIGTERM) as hex IP packets."""
    d = lab.tmp / case.name
    d.mkdir()
    conf = d / "keepalived.conf"
    conf.write_text(config_text(case))
    listener = lab.spawn(
        ["ip", "netns", "exec", NS_CAP, sys.executable, __file__, "--listen", IF_CAP, "30"],
        stdout=subprocess.PIPE,
    )
    if next_line(listener, time.monotonic() + 10) != "ready":
        raise RuntimeError("listener did not start")
    log = (d / "keepalived.log").open("w")
    ka = lab.spawn(
        [
            *("ip", "netns", "exec", NS_KA, "keepalived", "-n", "-l", "-D", "-f", str(conf)),
            *("-p", str(d / "k.pid"), "-r", str(d / "vrrp.pid"), "-c", str(d / "checker.pid")),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    running: list[str] = []
    deadline = time.monotonic() + 15
    while len(running) < ADVERTS_PER_CASE and (line := next_line(listener, deadline)):
        running.append(line)
    if len(running) < ADVERTS_PER_CASE:
        log.flush()
        text = (d / "keepalived.log").read_text()
        raise RuntimeError(f"{case.name}: no adverts; keepalived said:\n{text}")
    lab.stop(ka)
    log.close()
    stopped: list[str] = []
    deadline = time.monotonic() + 3
    while line := next_line(listener, deadline):
        stopped.append(line)
        if priority_of(line) == 0:
            break
    lab.stop(listener, signal.SIGKILL)
    return running, stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", nargs=2, metavar=("IFNAME", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listen:
        return listen(args.listen[0], float(args.listen[1]))
    if os.geteuid() != 0:
        print("needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwinds into the finally below

    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in stop_signals:  # SIGINT too: a background job starts with it ignored
        signal.signal(sig, on_signal)

    with tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        lab = Lab(Path(tmp))
        try:
            lab.setup()
            version = subprocess.run(["keepalived", "--version"], capture_output=True, text=True)
            print(f"# {(version.stderr or version.stdout).splitlines()[0]}")
            for case in CASES:
                running, stopped = capture(lab, case)
                print(f"\n## {case.name}\n# config:")
                print(textwrap.indent(config_text(case), "#   "), end="")
                for h in running:
                    print(f"running {h}")
                for h in stopped:
                    print(f"stopped {h}")
        finally:
            for sig in stop_signals:  # a second Ctrl-C must not cut the cleanup short
                signal.signal(sig, signal.SIG_IGN)
            lab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
