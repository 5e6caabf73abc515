#!/usr/bin/env python3
"""Capture real VRRPv3 advertisements from keepalived and FRR as golden bytes.

Run as root from the repository:  .venv/bin/python scripts/capture_golden_v3.py [--write]

Per case it builds a lab (failover.lab.Lab: namespaces named fo-<pid>-<token>-*, unique
to the run, torn down on every exit path, Ctrl-C and SIGTERM included), runs one peer
(tests/interop/peers.py: KeepalivedPeer or FrrPeer) on r1, and reads the LAN on an
AF_PACKET socket in the client's namespace: the first adverts the peer sends as master,
then, after a graceful stop, its priority-0 advert. Each packet is kept whole from
the IP header on (IPv4 or IPv6), so the source and destination addresses that the
checksum's pseudo-header covers travel with it.

Without --write it prints the data module; with --write it rewrites the GOLDEN list
of tests/unit/golden_v3.py (the rest of that module, its docs and the Golden class, is
kept as it is). The field values each case expects (VRID, priority, count,
Max Adver Int, addresses) come from its configuration, never from the captured bytes.
"""

from __future__ import annotations

import argparse
import queue
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from ipaddress import IPv4Interface, IPv6Interface, ip_address
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from failover.lab.lab import DEFAULT_VIP6, Lab  # noqa: E402
from tests.interop.peers import FrrPeer, Instance, KeepalivedPeer  # noqa: E402

OUTPUT = ROOT / "tests" / "unit" / "golden_v3.py"
ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
PACKET_OUTGOING = 4
VRRP = 112
ADVERTS = 2  # captured while master; the first is kept
Peer = KeepalivedPeer | FrrPeer


@dataclass(frozen=True)
class Case:
    name: str
    peer: str  # "keepalived" or "frr"
    instance: Instance
    note: str = ""


def v4(*addresses: str) -> tuple[IPv4Interface, ...]:
    return tuple(IPv4Interface(a) for a in addresses)


def v6(*addresses: str) -> tuple[IPv6Interface, ...]:
    return tuple(IPv6Interface(a) for a in addresses)


KA = Instance(51, 100, version=3)
FRR = Instance(61, 100, version=3, vips=v4("192.0.2.110/24"))
CASES = [
    Case("keepalived_ipv4", "keepalived", KA, "IPv4 pseudo-header in the checksum (default)"),
    Case(
        "keepalived_ipv4_three_vips",
        "keepalived",
        replace(
            KA,
            vrid=54,
            priority=200,
            interval=2,
            vips=v4("192.0.2.111/24", "192.0.2.112/24", "192.0.2.113/24"),
        ),
    ),
    Case("keepalived_ipv4_10cs", "keepalived", replace(KA, vrid=52, interval=0.1)),
    Case(
        "keepalived_ipv4_unicast",
        "keepalived",
        replace(
            KA, vrid=53, priority=150, unicast_source="192.0.2.1", unicast_peers=("192.0.2.100",)
        ),
        "unicast to the client's address: the pseudo-header has it as destination",
    ),
    Case("keepalived_ipv6", "keepalived", replace(KA, vrid=56, vips=(DEFAULT_VIP6,))),
    Case(
        "keepalived_ipv6_unicast",
        "keepalived",
        replace(
            KA,
            vrid=59,
            vips=v6("2001:db8::159/64"),
            unicast_source="2001:db8::1",
            unicast_peers=("2001:db8::64",),
        ),
        "unicast between global addresses: the pseudo-header has both",
    ),
    Case(
        "keepalived_ipv6_link_local",
        "keepalived",
        replace(KA, vrid=57, priority=200, vips=v6("fe80::57/64", "2001:db8::157/64")),
        "a link-local VIP first, then a global one",
    ),
    Case(
        "keepalived_ipv6_10cs",
        "keepalived",
        replace(KA, vrid=58, interval=0.1, vips=v6("2001:db8::158/64")),
    ),
    Case("frr_ipv4", "frr", FRR, "IPv4 pseudo-header in the checksum (FRR 8.4 always)"),
    Case(
        "frr_ipv4_10cs",
        "frr",
        replace(
            FRR, vrid=62, priority=200, interval=0.1, vips=v4("192.0.2.120/24", "192.0.2.121/24")
        ),
    ),
    Case("frr_ipv6", "frr", replace(FRR, vrid=63, vips=v6("2001:db8::163/64"))),
    Case(
        "frr_ipv6_link_local",
        "frr",
        replace(FRR, vrid=64, priority=254, vips=v6("fe80::64/64", "2001:db8::164/64")),
        "a link-local VIP first, then a global one",
    ),
]


# -- capture ---------------------------------------------------------------------------


def vrrp_of(frame: bytes) -> bytes | None:
    """The IP packet (header included) of an Ethernet frame carrying VRRP, else None."""
    if len(frame) < 14:
        return None
    (ethertype,) = struct.unpack("!H", frame[12:14])
    packet = frame[14:]
    if ethertype == ETH_P_IP and len(packet) >= 20 and packet[9] == VRRP:
        total = struct.unpack("!H", packet[2:4])[0]
        return packet[:total]
    if ethertype == ETH_P_IPV6 and len(packet) >= 40 and packet[6] == VRRP:
        return packet[: 40 + struct.unpack("!H", packet[4:6])[0]]
    return None


def header_length(packet: bytes) -> int:
    return 40 if packet[0] >> 4 == 6 else (packet[0] & 0x0F) * 4


def priority_of(packet: bytes) -> int:
    return packet[header_length(packet) + 2]


class Listener:
    """VRRP packets arriving on the client's eth0, read by a thread on AF_PACKET."""

    def __init__(self, lab: Lab) -> None:
        from pyroute2 import netns

        assert lab.client is not None
        self.sock = netns.create_socket(
            lab.client.ns, socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)
        )
        self.sock.bind(("eth0", 0))
        self.sock.settimeout(0.2)
        self.packets: queue.Queue[bytes] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            packet = vrrp_of(frame)
            if packet is not None and addr[2] != PACKET_OUTGOING:
                self.packets.put(packet)

    def take(self, until: Callable[[bytes], bool], timeout: float) -> bytes | None:
        """The first packet for which `until` holds, or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                packet = self.packets.get(timeout=left)
            except queue.Empty:
                return None
            if until(packet):
                return packet
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@dataclass(frozen=True)
class Captured:
    case: Case
    config: list[str]
    running: bytes
    stopped: bytes | None


def start_peer(lab: Lab, case: Case) -> Peer:
    if case.peer == "keepalived":
        return KeepalivedPeer(lab, "r1", [case.instance]).start()
    return FrrPeer(lab, "r1", [case.instance]).start()


def config_of(peer: Peer, case: Case) -> list[str]:
    """The lines of the peer's config that make this case (no paths, no notify)."""
    text = peer.render()
    if case.peer == "frr":
        return [ln.strip() for ln in text.splitlines() if ln.startswith(" vrrp")]
    body = text.split("vrrp_instance", 1)[1].splitlines()[1:-1]
    skip = ("state ", "interface ", "notify ")
    lines: list[str] = []
    block: list[str] | None = None  # the items of an open `name {` block
    for line in (ln.strip() for ln in body if not ln.strip().startswith(skip)):
        if line.endswith("{"):
            lines.append(line)
            block = []
        elif line == "}" and block is not None:
            lines[-1] += f" {'; '.join(block)} }}"
            block = None
        elif block is not None:
            block.append(line)
        else:
            lines.append(line)
    return lines


def capture(case: Case) -> Captured:
    with Lab(routers=1) as lab:
        listener = Listener(lab)
        try:
            peer = start_peer(lab, case)
            running = [listener.take(lambda p: priority_of(p) != 0, 20) for _ in range(ADVERTS)]
            first = running[0]
            if first is None or running[-1] is None:
                raise RuntimeError(f"{case.name}: no adverts; the peer said:\n{peer.log()}")
            peer.stop()
            stopped = listener.take(lambda p: priority_of(p) == 0, 3)
            return Captured(case, config_of(peer, case), first, stopped)
        finally:
            listener.close()


# -- the data module -------------------------------------------------------------------


def version_of(peer: str) -> str:
    argv = ["keepalived", "--version"] if peer == "keepalived" else ["/usr/lib/frr/vrrpd", "-v"]
    done = subprocess.run(argv, capture_output=True, text=True)
    first = (done.stderr or done.stdout).splitlines()[0]
    return first.replace("Keepalived v", "keepalived ").replace("vrrpd version", "FRR vrrpd")


def hex_lines(data: bytes) -> str:
    """`data` as hex, in 80-character string literals (implicitly joined)."""
    text = data.hex()
    chunks = [f'"{text[i : i + 80]}"' for i in range(0, len(text), 80)]
    return chunks[0] if len(chunks) == 1 else f"({' '.join(chunks)})"


def entry(c: Captured, versions: dict[str, str]) -> str:
    i = c.case.instance
    packet = c.running
    if packet[0] >> 4 == 6:
        src, dst = ip_address(packet[8:24]), ip_address(packet[24:40])
    else:
        src, dst = ip_address(packet[12:16]), ip_address(packet[16:20])
    addresses = ", ".join(f'"{v.ip}"' for v in i.vips)
    config = "".join(f"{line!r}, " for line in c.config)
    stopped = "None" if c.stopped is None else hex_lines(c.stopped)
    return f"""    Golden(
        name={c.case.name!r},
        peer={versions[c.case.peer]!r},
        config=({config}),
        note={c.case.note!r},
        source=ip_address("{src}"),
        destination=ip_address("{dst}"),
        running={hex_lines(packet)},
        stopped={stopped},
        vrid={i.vrid},
        priority={i.priority},
        max_adver_int={round(i.interval * 100)},
        addresses=_addrs({addresses}),
        pseudo_header={not i.v3_checksum_as_v2 or src.version == 6},
    ),
"""


START, END = "GOLDEN = [\n", "]\n\nBY_NAME"


def module_with(entries: str) -> str:
    """tests/unit/golden_v3.py with its GOLDEN list's items replaced by `entries`."""
    text = OUTPUT.read_text()
    head, rest = text.split(START, 1)
    return head + START + entries + END + rest.split(END, 1)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUTPUT}")
    parser.add_argument("--only", nargs="*", help="capture only these cases (names)")
    args = parser.parse_args()
    if args.write and args.only:
        parser.error("--write rewrites every case: not with --only")
    from failover.lab.netns import unavailable

    reason = unavailable()
    if reason:
        print(f"cannot capture: {reason}", file=sys.stderr)
        return 2
    versions = {p: version_of(p) for p in ("keepalived", "frr")}
    cases = [c for c in CASES if not args.only or c.name in args.only]
    captured = []
    for case in cases:
        print(f"capturing {case.name} ...", file=sys.stderr, flush=True)
        captured.append(capture(case))
    text = module_with("".join(entry(c, versions) for c in captured))
    if args.write:
        OUTPUT.write_text(text)
        ruff = ROOT / ".venv" / "bin" / "ruff"
        subprocess.run([str(ruff) if ruff.exists() else "ruff", "format", str(OUTPUT)], check=True)
        print(f"wrote {OUTPUT}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
