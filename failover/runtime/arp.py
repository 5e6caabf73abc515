"""Gratuitous ARP on AF_PACKET (RFC 3768 6.4.1, 6.4.2; RFC 5227 3 "ARP Announcement").

On becoming master, a router broadcasts an ARP request per virtual address with
sender and target protocol address both the virtual address, so that hosts and
switches update their tables. The frame comes from the interface's own MAC (as the
original failover did; no virtual MAC yet).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
BROADCAST = b"\xff" * 6
ETH_MIN_FRAME = 60  # without FCS; pad short frames ourselves


def garp_frame(mac: bytes, address: IPv4Address) -> bytes:
    """An Ethernet broadcast ARP request: sender = target = `address`, from `mac`."""
    if len(mac) != 6:
        raise ValueError(f"need a 6-byte MAC, got {len(mac)} bytes")
    eth = BROADCAST + mac + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
    arp += mac + address.packed + bytes(6) + address.packed
    return (eth + arp).ljust(ETH_MIN_FRAME, b"\x00")


class GarpSender:
    """An AF_PACKET socket on one interface that sends gratuitous ARPs."""

    def __init__(self, ifname: str) -> None:
        self.ifname = ifname
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
        try:
            sock.bind((ifname, ETH_P_ARP))
            sock.setblocking(False)
            self.mac: bytes = sock.getsockname()[4]
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def send(self, addresses: Iterable[IPv4Address]) -> None:
        for a in addresses:
            self._sock.send(garp_frame(self.mac, a))

    def schedule(
        self,
        loop: asyncio.AbstractEventLoop,
        addresses: tuple[IPv4Address, ...],
        repeat: int,
        delay: float,
        still_wanted: Callable[[], bool],
        on_error: Callable[[OSError], None],
    ) -> list[asyncio.TimerHandle]:
        """Send now and `repeat - 1` more times `delay` apart, while `still_wanted()`."""

        def burst() -> None:
            if not still_wanted():
                return
            try:
                self.send(addresses)
            except OSError as err:
                on_error(err)

        burst()
        return [loop.call_later(i * delay, burst) for i in range(1, repeat)]

    def close(self) -> None:
        self._sock.close()
