"""Record every VRRP advert seen on an interface: one line per packet, flushed at once.

    ip netns exec <client ns> python3 bench/vrrp_capture.py eth0 adverts.txt

Each line is `<arrival, s since the epoch> <source IPv4> <vrid> <priority>`; the arrival
time is the kernel's receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME), so a reader in
another process compares it with its own time.time(). Both ways: in a router's namespace
it records the adverts the router sends too. IPv4 only (VRRPv2, and VRRPv3 over IPv4);
standard library only, so it runs in any namespace as a plain script. Stops on SIGTERM
or SIGINT.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import time
from typing import TextIO

ETH_P_ALL = 0x0003  # not ETH_P_IP: a socket of one protocol never sees what its host sends
IPPROTO_VRRP = 112
SO_TIMESTAMPNS = 35  # == SCM_TIMESTAMPNS (asm-generic/socket.h)
TIMESPEC = struct.Struct("@qq")


def parse(packet: bytes) -> tuple[str, int, int] | None:
    """(source, vrid, priority) of an IPv4 VRRP packet, or None for anything else."""
    if len(packet) < 20 or packet[0] >> 4 != 4 or packet[9] != IPPROTO_VRRP:
        return None
    header = (packet[0] & 0x0F) * 4
    if len(packet) < header + 8:
        return None
    return socket.inet_ntoa(packet[12:16]), packet[header + 1], packet[header + 2]


def arrival(ancillary: list[tuple[int, int, bytes]]) -> float:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            sec, nsec = TIMESPEC.unpack_from(data)
            return float(sec + nsec / 1e9)
    return time.time()


def capture(ifname: str, out: TextIO) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind((ifname, ETH_P_ALL))
    while True:
        packet, ancillary, _, _ = sock.recvmsg(2048, socket.CMSG_SPACE(TIMESPEC.size))
        parsed = parse(packet)
        if parsed is not None:
            source, vrid, priority = parsed
            out.write(f"{arrival(ancillary):.6f} {source} {vrid} {priority}\n")
            out.flush()


def read(path: str) -> list[tuple[float, str, int, int]]:
    """The adverts recorded so far in `path`: (arrival, source, vrid, priority)."""
    adverts = []
    try:
        with open(path) as f:
            for line in f:
                fields = line.split()
                if len(fields) == 4:  # a line being written is skipped until it is whole
                    adverts.append((float(fields[0]), fields[1], int(fields[2]), int(fields[3])))
    except FileNotFoundError:
        pass
    return adverts


def main() -> int:
    ifname, path = sys.argv[1:3]
    with open(path, "w") as out, contextlib.suppress(KeyboardInterrupt):
        capture(ifname, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
