"""Gratuitous ARP on AF_PACKET (RFC 3768 6.4.1, 6.4.2; RFC 5227 3 "ARP Announcement").

On becoming master, a router broadcasts an ARP request per virtual address with
sender and target protocol address both the virtual address, so that hosts and
switches update their tables. The frame comes from, and announces, the interface's
own MAC unless a MAC (a virtual one, RFC 5798 7.3) is given.

`Announcer` is what gratuitous ARP and unsolicited Neighbor Advertisements
(`runtime/ndisc.py`) share: a send-only AF_PACKET socket on one interface, the frame
per address, and bursts repeated on the event loop.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address
from typing import Generic, TypeVar

ETH_P_ARP = 0x0806
ETH_P_IP = 0x0800
ARPHRD_ETHER = 1
ARPOP_REQUEST = 1
BROADCAST = b"\xff" * 6
ETH_MIN_FRAME = 60  # without FCS; pad short frames ourselves
MAC_LEN = 6

A = TypeVar("A", IPv4Address, IPv6Address)


def check_mac(mac: bytes) -> bytes:
    if len(mac) != MAC_LEN:
        raise ValueError(f"need a 6-byte MAC, got {len(mac)} bytes")
    return mac


def ethernet_header(destination: bytes, source: bytes, ethertype: int) -> bytes:
    return check_mac(destination) + check_mac(source) + struct.pack("!H", ethertype)


def garp_frame(mac: bytes, address: IPv4Address) -> bytes:
    """An Ethernet broadcast ARP request: sender = target = `address`, from `mac`."""
    eth = ethernet_header(BROADCAST, mac, ETH_P_ARP)
    arp = struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
    arp += mac + address.packed + bytes(6) + address.packed
    return (eth + arp).ljust(ETH_MIN_FRAME, b"\x00")


def schedule_bursts(
    loop: asyncio.AbstractEventLoop,
    burst: Callable[[], None],
    repeat: int,
    delay: float,
    still_wanted: Callable[[], bool],
    on_error: Callable[[OSError], None],
    on_sent: Callable[[], object] | None = None,
) -> list[asyncio.TimerHandle]:
    """Run `burst` now and `repeat - 1` more times `delay` apart, while `still_wanted()`;
    an OSError goes to `on_error`, each burst sent to `on_sent`."""

    def once() -> None:
        if not still_wanted():
            return
        try:
            burst()
        except OSError as err:
            on_error(err)
            return
        if on_sent is not None:
            on_sent()

    once()
    return [loop.call_later(i * delay, once) for i in range(1, repeat)]


class Announcer(Generic[A]):
    """A send-only AF_PACKET socket on one interface announcing addresses at a MAC.

    `mac` is the MAC announced and the frames' Ethernet source: the interface's own
    by default. Protocol 0 on the socket: it receives nothing, so nothing queues up.
    """

    ethertype = 0  # of the frames `frame` builds

    def __init__(self, ifname: str, mac: bytes | None = None) -> None:
        self.ifname = ifname
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            sock.bind((ifname, 0))
            sock.setblocking(False)
            self.mac: bytes = check_mac(sock.getsockname()[4] if mac is None else mac)
        except BaseException:
            sock.close()
            raise
        self._sock = sock

    def frame(self, address: A) -> bytes:
        """The whole Ethernet frame announcing `address`."""
        raise NotImplementedError

    def send(self, addresses: Iterable[A]) -> None:
        for a in addresses:
            self._sock.sendto(self.frame(a), (self.ifname, self.ethertype))

    def schedule(
        self,
        loop: asyncio.AbstractEventLoop,
        addresses: tuple[A, ...],
        repeat: int,
        delay: float,
        still_wanted: Callable[[], bool],
        on_error: Callable[[OSError], None],
        on_sent: Callable[[], object] | None = None,
    ) -> list[asyncio.TimerHandle]:
        """Send now and `repeat - 1` more times `delay` apart, while `still_wanted()`."""

        def burst() -> None:
            self.send(addresses)

        return schedule_bursts(loop, burst, repeat, delay, still_wanted, on_error, on_sent)

    def close(self) -> None:
        self._sock.close()


class GarpSender(Announcer[IPv4Address]):
    """Gratuitous ARPs on one interface (RFC 3768 6.4.1)."""

    ethertype = ETH_P_ARP

    def frame(self, address: IPv4Address) -> bytes:
        return garp_frame(self.mac, address)
