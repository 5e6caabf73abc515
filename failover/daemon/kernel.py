"""What the daemon needs of the kernel, as interfaces it is handed (tests pass fakes).

`system_kernel()` opens the real ones (rtnetlink, raw VRRP sockets, AF_PACKET for ARP)
from `failover.runtime`, the only code that touches the kernel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Interface
from typing import Protocol

from failover.protocol.packet import IPAddress
from failover.runtime.netlink import InterfaceAddress, LinkEvent


class AddressTable(Protocol):
    """Interfaces and their IPv4 addresses (rtnetlink); see `runtime.netlink.Netlink`."""

    async def index(self, name: str) -> int: ...
    async def addresses(self, index: int) -> list[InterfaceAddress]: ...
    async def running(self, index: int) -> bool: ...
    async def add(self, index: int, address: IPv4Interface | IPv6Interface) -> bool: ...
    async def remove(self, index: int, address: IPv4Interface | IPv6Interface) -> bool: ...


class LinkSource(Protocol):
    """Link up/down events of every interface; see `runtime.netlink.LinkMonitor`."""

    async def bind(self) -> None: ...
    def events(self) -> AsyncIterator[LinkEvent]: ...


class PacketPort(Protocol):
    """One interface's VRRP socket; see `runtime.sockets.VrrpSocket`."""

    def fileno(self) -> int: ...
    def send(self, vrrp_message: bytes, destination: IPAddress | None = None) -> None: ...
    def receive(self) -> list[bytes]: ...
    def close(self) -> None: ...


class ArpPort(Protocol):
    """One interface's gratuitous-ARP sender; see `runtime.arp.GarpSender`."""

    def schedule(
        self,
        loop: asyncio.AbstractEventLoop,
        addresses: tuple[IPv4Address, ...],
        repeat: int,
        delay: float,
        still_wanted: Callable[[], bool],
        on_error: Callable[[OSError], None],
    ) -> list[asyncio.TimerHandle]: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Kernel:
    """Everything kernel-facing the daemon uses; the socket openers raise OSError."""

    netlink: AddressTable
    links: LinkSource
    open_vrrp: Callable[[str, int, IPv4Address], PacketPort]
    open_arp: Callable[[str], ArpPort]


@asynccontextmanager
async def system_kernel() -> AsyncIterator[Kernel]:
    """The real kernel of the current network namespace; closed on exit."""
    from failover.runtime.arp import GarpSender
    from failover.runtime.netlink import LinkMonitor, Netlink
    from failover.runtime.sockets import VrrpSocket

    async with Netlink() as netlink:
        links = LinkMonitor()
        try:
            yield Kernel(netlink, links, VrrpSocket, GarpSender)
        finally:
            links.close()
