"""What the daemon needs of the kernel, as interfaces it is handed (tests pass fakes).

`system_kernel()` opens the real ones (rtnetlink, raw VRRP sockets for IPv4 and IPv6,
AF_PACKET for gratuitous ARP and unsolicited NA) from `failover.runtime`, the only code
that touches the kernel.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Protocol, TypeVar

from failover.protocol.packet import IPAddress
from failover.protocol.receive import Datagram
from failover.runtime.netlink import InterfaceAddress, LinkEvent
from failover.runtime.vmac import SysctlChange, Vmac

A = TypeVar("A", IPv4Address, IPv6Address, contravariant=True)


class AddressTable(Protocol):
    """Interfaces and their addresses (rtnetlink); see `runtime.netlink.Netlink`."""

    async def index(self, name: str) -> int: ...
    async def addresses(self, index: int, family: int = ...) -> list[InterfaceAddress]: ...
    async def link_local(
        self, index: int, exclude: Collection[IPAddress] = ...
    ) -> IPv6Address | None: ...
    async def running(self, index: int) -> bool: ...
    async def add(self, index: int, address: IPv4Interface | IPv6Interface) -> bool: ...
    async def remove(self, index: int, address: IPv4Interface | IPv6Interface) -> bool: ...


class LinkSource(Protocol):
    """Link up/down events of every interface; see `runtime.netlink.LinkMonitor`."""

    async def bind(self) -> None: ...
    def events(self) -> AsyncIterator[LinkEvent]: ...


class PacketPort(Protocol):
    """One interface's VRRP socket for one family; see `runtime.sockets.VrrpSocket`
    (IPv4: packets with their header) and `VrrpSocket6` (IPv6: Datagrams)."""

    def fileno(self) -> int: ...
    def send(
        self,
        vrrp_message: bytes,
        destination: IPAddress | None = None,
        source: IPAddress | None = None,
    ) -> None: ...
    def receive(self) -> Sequence[bytes | Datagram]: ...
    def close(self) -> None: ...


class AnnouncePort(Protocol[A]):
    """One interface's announcer of where addresses are: gratuitous ARP for IPv4
    (`runtime.arp.GarpSender`), unsolicited NA for IPv6 (`runtime.ndisc.NeighborAdvertiser`)."""

    def schedule(
        self,
        loop: asyncio.AbstractEventLoop,
        addresses: tuple[A, ...],
        repeat: int,
        delay: float,
        still_wanted: Callable[[], bool],
        on_error: Callable[[OSError], None],
        on_sent: Callable[[], object] | None = None,
    ) -> list[asyncio.TimerHandle]: ...
    def close(self) -> None: ...


ArpPort = AnnouncePort[IPv4Address]
NdPort = AnnouncePort[IPv6Address]


class VmacTable(Protocol):
    """Virtual MAC interfaces (`use_vmac`) and their sysctls; see `runtime.vmac.Vmacs`."""

    async def ensure(self, parent: str, vrid: int, family: int) -> Vmac: ...
    async def up(self, vmac: Vmac) -> None: ...
    async def down(self, vmac: Vmac) -> None: ...
    async def remove(self, name: str) -> bool: ...
    async def remove_all(self) -> list[str]: ...
    def restore(self, changes: Iterable[SysctlChange]) -> list[SysctlChange]: ...


@dataclass(frozen=True, slots=True)
class Kernel:
    """Everything kernel-facing the daemon uses; the socket openers raise OSError."""

    netlink: AddressTable
    links: LinkSource
    open_vrrp: Callable[[str, int, IPv4Address], PacketPort]
    open_arp: Callable[[str], ArpPort]
    open_vrrp6: Callable[[str, int, IPv6Address], PacketPort]
    open_ndisc: Callable[[str], NdPort]
    vmacs: VmacTable
    open_sender: Callable[[str, int, IPv4Address], PacketPort]  # a vmac's: joins nothing


@asynccontextmanager
async def system_kernel() -> AsyncIterator[Kernel]:
    """The real kernel of the current network namespace; closed on exit."""
    from failover.runtime.arp import GarpSender
    from failover.runtime.ndisc import NeighborAdvertiser
    from failover.runtime.netlink import LinkMonitor, Netlink
    from failover.runtime.sockets import VrrpSocket, VrrpSocket6
    from failover.runtime.vmac import Vmacs

    async with Netlink() as netlink, Vmacs() as vmacs:
        links = LinkMonitor()
        try:
            yield Kernel(
                netlink,
                links,
                VrrpSocket,
                GarpSender,
                VrrpSocket6,
                NeighborAdvertiser,
                vmacs,
                partial(VrrpSocket, join=False),
            )
        finally:
            links.close()
