"""Interfaces and addresses over rtnetlink (pyroute2); the daemon never runs `ip`.

`Netlink` is a thin async wrapper over one `AsyncIPRoute`: interface lookup, link
state, IPv4 and IPv6 address listing, idempotent add/remove, the link-local address.
`LinkMonitor` reports link state changes (RTMGRP_LINK).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import AsyncIterator, Collection, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from types import TracebackType

from pyroute2.iproute.linux import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from failover.protocol.packet import IPAddress

IFA_F_SECONDARY = 0x01  # linux/if_addr.h
IFA_F_NODAD = 0x02
IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40
IFF_UP = 0x1  # linux/if.h: administratively up
IFF_LOWER_UP = 0x10000  # linux/if.h: the driver signals L1 up (carrier)
RTMGRP_LINK = 0x1  # linux/rtnetlink.h


def link_running(flags: int) -> bool:
    """Can the interface carry adverts: up and with carrier."""
    return bool(flags & IFF_UP) and bool(flags & IFF_LOWER_UP)


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """An interface's link state as one RTM_NEWLINK/RTM_DELLINK says it is now."""

    index: int
    running: bool
    deleted: bool = False


def link_event(msg: Mapping[str, object]) -> LinkEvent | None:
    """The link event in a netlink message, or None for other messages."""
    event, index, flags = msg.get("event"), msg.get("index"), msg.get("flags")
    if not isinstance(index, int) or not isinstance(flags, int):
        return None
    if event == "RTM_DELLINK":
        return LinkEvent(index, False, deleted=True)
    if event == "RTM_NEWLINK":
        return LinkEvent(index, link_running(flags))
    return None


class InterfaceError(Exception):
    """An interface is missing or unusable (no IPv4 address)."""


IPInterface = IPv4Interface | IPv6Interface


@dataclass(frozen=True, slots=True)
class InterfaceAddress:
    """One address on an interface, in the kernel's order, with its IFA_F_* flags."""

    address: IPInterface
    secondary: bool = False  # IPv4's IFA_F_SECONDARY; always False for IPv6
    flags: int = 0  # IFA_F_* (linux/if_addr.h)

    @property
    def tentative(self) -> bool:
        """In duplicate address detection (RFC 4862 5.4): not usable yet."""
        return bool(self.flags & IFA_F_TENTATIVE)

    @property
    def dad_failed(self) -> bool:
        """Duplicate address detection found the address in use: never usable."""
        return bool(self.flags & IFA_F_DADFAILED)

    @property
    def usable(self) -> bool:
        """Can be a source address now: neither tentative nor failed DAD."""
        return not self.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)

    @property
    def nodad(self) -> bool:
        """Added without duplicate address detection (IFA_F_NODAD)."""
        return bool(self.flags & IFA_F_NODAD)


def link_local(
    addresses: Iterable[InterfaceAddress], exclude: Collection[IPAddress] = ()
) -> IPv6Address | None:
    """The first usable link-local address not in `exclude` (see `Netlink.link_local`)."""
    for a in addresses:
        ip = a.address.ip
        if ip.version == 6 and ip.is_link_local and a.usable and ip not in exclude:
            return IPv6Address(ip.packed)
    return None


def primary_address(
    addresses: Iterable[InterfaceAddress], exclude: Iterable[IPv4Address] = ()
) -> IPv4Address | None:
    """The address adverts are sent from (RFC 3768 5.2.1 / 6.4.3 primary IP address).

    The first non-secondary IPv4 address not in `exclude` (our virtual addresses), else
    the first IPv4 address not excluded, else None.
    """
    skip = set(exclude)
    usable = [
        (a.address.ip, a.secondary)
        for a in addresses
        if isinstance(a.address, IPv4Interface) and a.address.ip not in skip
    ]
    for ip, secondary in usable:
        if not secondary:
            return ip
    return usable[0][0] if usable else None


class Netlink:
    """Async rtnetlink access for the current network namespace."""

    def __init__(self) -> None:
        self._ipr = AsyncIPRoute()

    async def __aenter__(self) -> Netlink:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._ipr.close()

    async def index(self, name: str) -> int:
        """The interface index of `name`; InterfaceError if there is no such interface."""
        found: list[int] = await self._ipr.link_lookup(ifname=name)
        if not found:
            raise InterfaceError(f"interface {name!r} does not exist")
        return found[0]

    async def running(self, index: int) -> bool:
        """Is the link up with carrier now (see `link_running`)."""
        links = await self._ipr.link("get", index=index)
        return any(link_running(int(link["flags"])) for link in links)

    async def addresses(self, index: int, family: int = socket.AF_INET) -> list[InterfaceAddress]:
        """The addresses of `family` (AF_INET or AF_INET6) on an interface, in the
        kernel's order, with their flags."""
        out = []
        async for msg in await self._ipr.get_addr(family=family, index=index):
            text = f"{msg.get('address')}/{msg['prefixlen']}"
            iface = IPv6Interface(text) if family == socket.AF_INET6 else IPv4Interface(text)
            flags = int(msg.get("IFA_FLAGS") or msg["flags"])  # IFA_FLAGS has all 32 bits
            # The same bit is IFA_F_TEMPORARY for IPv6 (RFC 8981), not "secondary".
            secondary = family == socket.AF_INET and bool(flags & IFA_F_SECONDARY)
            out.append(InterfaceAddress(iface, secondary, flags))
        return out

    async def link_local(
        self, index: int, exclude: Collection[IPAddress] = ()
    ) -> IPv6Address | None:
        """The interface's first usable fe80::/10 address (not tentative, DAD not
        failed) not in `exclude` (link-local VIPs), or None (RFC 5798 5.1.2.1: the
        source of IPv6 adverts)."""
        return link_local(await self.addresses(index, socket.AF_INET6), exclude)

    async def add(self, index: int, address: IPInterface) -> bool:
        """Add an address; False (not an error) if it is already there.

        IPv6 ones without duplicate address detection (IFA_F_NODAD), as keepalived and
        FRR add virtual addresses: a tentative one could not be used for a second or
        more (RFC 4862 5.4), and the VRRP election already settled who holds it.
        """
        flags = IFA_F_NODAD if address.version == 6 else 0
        return await self._change("add", index, address, {errno.EEXIST}, flags)

    async def remove(self, index: int, address: IPInterface) -> bool:
        """Remove an address; False (not an error) if it is not there."""
        return await self._change("del", index, address, {errno.EADDRNOTAVAIL, errno.ENODEV})

    async def _change(
        self, command: str, index: int, address: IPInterface, harmless: set[int], flags: int = 0
    ) -> bool:
        """One RTM_NEWADDR/RTM_DELADDR; a harmless error code means nothing to do.

        Other netlink errors are raised as OSError, so callers need not know pyroute2.
        """
        extra = {"flags": flags} if flags else {}
        try:
            await self._ipr.addr(
                command,
                index=index,
                address=str(address.ip),
                prefixlen=address.network.prefixlen,
                **extra,
            )
        except NetlinkError as err:
            if err.code in harmless:
                return False
            raise OSError(err.code, os.strerror(err.code)) from None
        return True


class LinkMonitor:
    """Link state changes of every interface, from the RTMGRP_LINK multicast group."""

    def __init__(self) -> None:
        self._ipr = AsyncIPRoute()

    async def bind(self) -> None:
        """Subscribe; events from here on are reported (bind before reading states)."""
        await self._ipr.bind(groups=RTMGRP_LINK)

    async def events(self) -> AsyncIterator[LinkEvent]:
        while True:
            async for msg in self._ipr.get():
                event = link_event(msg)
                if event is not None:
                    yield event

    def close(self) -> None:
        self._ipr.close()
