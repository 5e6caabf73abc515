"""A fake kernel for the daemon's unit tests, handed in through `Daemon(kernel=...)`.

Interfaces are a dict; address changes are recorded in order; link events are queued by
the test; sockets record what is sent and hand over what the test puts in their inbox.
No root, no netlink: the kernel half runs in tests/integration/.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_interface
from pathlib import Path
from typing import Generic, TypeVar

from failover.daemon.kernel import Kernel
from failover.protocol.packet import IPAddress
from failover.runtime.netlink import InterfaceAddress, InterfaceError, LinkEvent, link_local
from failover.runtime.vmac import SysctlChange, Vmac, vmac_name

A = TypeVar("A", IPv4Address, IPv6Address)


class FakeSock:
    """An interface's VRRP socket: `sent` messages, `inbox` packets to receive."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.sent_to: list[IPAddress | None] = []  # each message's destination (None: group)
        self.inbox: list[bytes] = []
        self.closed = False
        self._pair = socket.socketpair()  # a real fd for add_reader, never readable

    def fileno(self) -> int:
        return self._pair[0].fileno()

    def send(
        self,
        vrrp_message: bytes,
        destination: IPAddress | None = None,
        source: IPAddress | None = None,
    ) -> None:
        self.sent.append(vrrp_message)
        self.sent_to.append(destination)

    def receive(self) -> list[bytes]:
        out, self.inbox = self.inbox, []
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for s in self._pair:
                s.close()


class FakeAnnouncer(Generic[A]):
    """An interface's ARP (IPv4) or NA (IPv6) sender: records each burst it is asked for."""

    def __init__(self) -> None:
        self.bursts: list[tuple[A, ...]] = []
        self.closed = False

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
        self.bursts.append(addresses)
        if on_sent is not None:
            on_sent()  # the first burst goes at once
        return []

    def close(self) -> None:
        self.closed = True


FakeArp = FakeAnnouncer[IPv4Address]
FakeNdisc = FakeAnnouncer[IPv6Address]


@dataclass
class FakeNetlink:
    """Interfaces by name: index and addresses; `changes` records add/remove in order."""

    links: dict[str, tuple[int, list[str]]]
    changes: list[tuple[str, int, IPv4Interface | IPv6Interface]] = field(default_factory=list)
    down: set[int] = field(default_factory=set)
    gate: asyncio.Event | None = None  # when set by a test, `index` waits for it

    async def index(self, name: str) -> int:
        if self.gate is not None:
            await self.gate.wait()
        if name not in self.links:
            raise InterfaceError(f"interface {name!r} does not exist")
        return self.links[name][0]

    def _entry(self, index: int) -> list[str]:
        return next(addrs for i, addrs in self.links.values() if i == index)

    async def addresses(self, index: int, family: int = socket.AF_INET) -> list[InterfaceAddress]:
        version = 6 if family == socket.AF_INET6 else 4
        entries = [ip_interface(a) for a in self._entry(index)]
        return [InterfaceAddress(a) for a in entries if a.version == version]

    async def link_local(
        self, index: int, exclude: Collection[IPAddress] = ()
    ) -> IPv6Address | None:
        return link_local(await self.addresses(index, socket.AF_INET6), exclude)

    async def running(self, index: int) -> bool:
        return index not in self.down

    async def add(self, index: int, address: IPv4Interface | IPv6Interface) -> bool:
        self.changes.append(("add", index, address))
        entry = self._entry(index)
        if str(address) in entry:
            return False
        entry.append(str(address))
        return True

    async def remove(self, index: int, address: IPv4Interface | IPv6Interface) -> bool:
        self.changes.append(("remove", index, address))
        entry = self._entry(index)
        if str(address) not in entry:
            return False
        entry.remove(str(address))
        return True


class FakeLinks:
    """Link events the test puts in; `fail()` makes the monitor die."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[LinkEvent | Exception] = asyncio.Queue()
        self.bound = False

    async def bind(self) -> None:
        self.bound = True

    async def events(self) -> AsyncIterator[LinkEvent]:
        while True:
            item = await self.queue.get()
            if isinstance(item, Exception):
                raise item
            yield item


@dataclass
class FakeVmacs:
    """Virtual MAC interfaces as links of the fake netlink; `log` records what was done."""

    netlink: FakeNetlink
    log: list[tuple[str, str]] = field(default_factory=list)
    restored: list[SysctlChange] = field(default_factory=list)
    refuse: bool = False  # ensure fails, as the kernel refusing a macvlan

    async def ensure(self, parent: str, vrid: int, family: int) -> Vmac:
        if self.refuse:
            raise PermissionError(1, "Operation not permitted")
        name = vmac_name(parent, vrid, family)
        if name not in self.netlink.links:
            self.netlink.links[name] = (100 + len(self.netlink.links), [])
        self.log.append(("ensure", name))
        change = SysctlChange(Path(f"/proc/sys/net/ipv4/conf/{name}/arp_ignore"), "0", "1")
        index, parent_index = self.netlink.links[name][0], self.netlink.links[parent][0]
        return Vmac(name, index, parent, parent_index, vrid, family, (change,))

    async def up(self, vmac: Vmac) -> None:
        self.log.append(("up", vmac.name))

    async def down(self, vmac: Vmac) -> None:
        self.log.append(("down", vmac.name))

    async def remove(self, name: str) -> bool:
        self.log.append(("remove", name))
        return self.netlink.links.pop(name, None) is not None

    async def remove_all(self) -> list[str]:
        names = [n for n in self.netlink.links if n.startswith("fo")]
        for name in names:
            await self.remove(name)
        return names

    def restore(self, changes: Iterable[SysctlChange]) -> list[SysctlChange]:
        self.restored += changes
        return list(changes)


@dataclass
class FakeKernel:
    """The kernel a test daemon sees; `socks`/`arps` by interface name, once opened."""

    netlink: FakeNetlink
    links: FakeLinks = field(default_factory=FakeLinks)
    socks: dict[str, FakeSock] = field(default_factory=dict)
    arps: dict[str, FakeArp] = field(default_factory=dict)
    ndiscs: dict[str, FakeNdisc] = field(default_factory=dict)
    vmacs: FakeVmacs = field(init=False)
    refuse_arp: set[str] = field(default_factory=set)  # names whose ARP socket fails
    closed: bool = False

    def __post_init__(self) -> None:
        self.vmacs = FakeVmacs(self.netlink)

    def open_vrrp(self, name: str, index: int, primary: IPv4Address) -> FakeSock:
        self.socks[name] = FakeSock()
        return self.socks[name]

    def open_arp(self, name: str) -> FakeArp:
        if name in self.refuse_arp:
            raise PermissionError(1, "Operation not permitted")
        self.arps[name] = FakeArp()
        return self.arps[name]

    def open_sender(self, name: str, index: int, primary: IPv4Address) -> FakeSock:
        self.socks[name] = FakeSock()
        return self.socks[name]

    def open_vrrp6(self, name: str, index: int, primary: IPv6Address) -> FakeSock:
        self.socks[f"{name}/6"] = FakeSock()
        return self.socks[f"{name}/6"]

    def open_ndisc(self, name: str) -> FakeNdisc:
        self.ndiscs[name] = FakeNdisc()
        return self.ndiscs[name]

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Kernel]:
        """The factory `Daemon(kernel=...)` enters."""
        try:
            yield Kernel(
                self.netlink,
                self.links,
                self.open_vrrp,
                self.open_arp,
                self.open_vrrp6,
                self.open_ndisc,
                self.vmacs,
                self.open_sender,
            )
        finally:
            self.closed = True
