"""The address worker: VIP claims and one ordered queue of kernel jobs.

Routers' `AddAddresses`, `RemoveAddresses` and `Announce` actions (RFC 3768
6.4.2/6.4.3) become jobs run one at a time, in order, because netlink is asynchronous
and an add must never overtake the remove before it. `VipClaims` decides whether an
address a router gives up is still held by another router (a VIP shared by two VRIDs)
or is an owner's real address, so that only free addresses leave the interface.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface

from failover.config import Config, Settings
from failover.daemon.kernel import AddressTable, VmacTable
from failover.daemon.model import Router
from failover.protocol.packet import IPAddress
from failover.protocol.router import State
from failover.protocol.settings import RouterConfig
from failover.runtime.netlink import InterfaceAddress, InterfaceError
from failover.runtime.vmac import SysctlChange, Vmac

log = logging.getLogger("failover")


class VipClaims:
    """Which virtual routers hold which (interface, address) as master.

    `protected` addresses (an owner's real addresses present before it started) are
    never given back for removal.
    """

    def __init__(self) -> None:
        self._holders: dict[tuple[str, IPAddress], set[str]] = {}
        self._protected: set[tuple[str, IPAddress]] = set()

    def claim(
        self, router: str, interface: str, addresses: Iterable[IPv4Interface | IPv6Interface]
    ) -> None:
        for a in addresses:
            self._holders.setdefault((interface, a.ip), set()).add(router)

    def release(
        self, router: str, interface: str, addresses: Iterable[IPv4Interface | IPv6Interface]
    ) -> list[IPv4Interface | IPv6Interface]:
        """Drop `router`'s claims; return the addresses nobody holds any more."""
        free = []
        for a in addresses:
            key = (interface, a.ip)
            holders = self._holders.get(key, set())
            holders.discard(router)
            if not holders:
                self._holders.pop(key, None)
                if key not in self._protected:
                    free.append(a)
        return free

    def holders(self, interface: str, address: IPAddress) -> frozenset[str]:
        return frozenset(self._holders.get((interface, address), ()))

    def protect(self, interface: str, addresses: Iterable[IPAddress]) -> None:
        """Never give these back for removal (an owner's real addresses)."""
        self._protected.update((interface, a) for a in addresses)

    def unclaimed(self, interface: str, address: IPAddress) -> bool:
        """Neither held by a master nor protected: if present, nobody put it there now."""
        key = (interface, address)
        return key not in self._holders and key not in self._protected


class Change(StrEnum):
    ADD = "add"
    REMOVE = "remove"
    STALE = "stale"  # present before the router started, held by nobody here


@dataclass(frozen=True, slots=True)
class AddressJob:
    change: Change
    router: Router
    addresses: tuple[IPv4Interface | IPv6Interface, ...]


@dataclass(frozen=True, slots=True)
class ArpJob:
    router: Router
    ips: tuple[IPAddress, ...]


class LinkChange(StrEnum):
    UP = "up"
    DOWN = "down"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class VmacJob:
    """A router's virtual MAC interface goes up, down or away (runtime/vmac.py)."""

    change: LinkChange
    router: Router
    vmac: Vmac


Job = AddressJob | ArpJob | VmacJob


class AddressWorker:
    """Carries out routers' address and ARP actions, in order (see the module doc)."""

    def __init__(
        self,
        netlink: AddressTable,
        loop: asyncio.AbstractEventLoop,
        vmacs: VmacTable | None = None,
    ) -> None:
        self.netlink = netlink
        self.vmacs = vmacs
        self._held: dict[str, Vmac] = {}  # the vmacs the routers use, by name
        self._sysctls: list[SysctlChange] = []  # what making them changed, in order
        self.claims = VipClaims()
        self.settings = Settings()  # garp_repeat/garp_delay; replaced on (re)load
        self._loop = loop
        self._queue: asyncio.Queue[Job] = asyncio.Queue()

    def pending(self) -> list[Job]:
        """The jobs not started yet, in order."""
        return list(self._queue._queue)  # type: ignore[attr-defined]

    # -- actions, called synchronously by the router loop -----------------------------
    def add(self, r: Router, addresses: tuple[IPv4Interface | IPv6Interface, ...]) -> None:
        """6.4.2: claim the VIPs and add them."""
        self.claims.claim(r.key, r.iface.name, addresses)
        self._queue.put_nowait(AddressJob(Change.ADD, r, addresses))

    def remove(self, r: Router, addresses: tuple[IPv4Interface | IPv6Interface, ...]) -> None:
        """6.4.3: give the VIPs up; those another router holds (or owns) stay."""
        r.cancel_garp()
        free = self.claims.release(r.key, r.iface.name, addresses)
        kept = [a for a in addresses if a not in free]
        if kept:
            log.info(
                "%s: keeping %s (held by another router or owned)",
                r.label,
                ", ".join(map(str, kept)),
            )
        if free:
            self._queue.put_nowait(AddressJob(Change.REMOVE, r, tuple(free)))

    def announce(self, r: Router, ips: tuple[IPAddress, ...]) -> None:
        """6.4.1/6.4.2: gratuitous ARPs for the VIPs, `garp_repeat` times."""
        self._queue.put_nowait(ArpJob(r, ips))

    def hold_vmac(self, vmac: Vmac) -> None:
        """A router took this vmac over: its sysctl changes are undone with the last one."""
        self._held[vmac.name] = vmac
        self._sysctls += vmac.sysctls

    def vmac_link(self, r: Router, change: LinkChange) -> None:
        """Its vmac up (an IPv6 one as it becomes master), down or removed, in order with
        its address jobs."""
        if r.vmac is not None:
            self._queue.put_nowait(VmacJob(change, r, r.vmac.vmac))

    def clear_ground(self, r: Router, present: list[InterfaceAddress]) -> None:
        """Before a router starts: its VIPs already on the interface that nobody here holds.

        An owner's (priority 255) are real (RFC 3768 5.3.4) and protected for good;
        anyone else's are left-overs (a crashed run) and go before the router starts.
        """
        rc, name = r.core.config, r.iface.name
        vips = {a.ip for a in rc.addresses}
        loose = [
            p.address
            for p in present
            if p.address.ip in vips and self.claims.unclaimed(name, p.address.ip)
        ]
        if rc.priority == 255:
            self.claims.protect(name, [a.ip for a in loose])
        elif loose:
            self._queue.put_nowait(AddressJob(Change.STALE, r, tuple(loose)))

    # -- the worker -------------------------------------------------------------------
    async def run(self) -> None:
        """Run jobs one at a time, in order, until cancelled; a failed job is logged."""
        while True:
            job = await self._queue.get()
            try:
                if isinstance(job, ArpJob):
                    self._garp(job)
                elif isinstance(job, VmacJob):
                    await self._vmac(job)
                else:
                    await self._change(job)
            except Exception:
                log.exception("address job failed")
            finally:
                self._queue.task_done()

    async def drain(self, timeout: float) -> bool:
        """Wait until every queued job has run; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def _change(self, job: AddressJob) -> None:
        r, add = job.router, job.change is Change.ADD
        change = self.netlink.add if add else self.netlink.remove
        for a in job.addresses:
            try:
                changed = await change(r.vip_index, a)
            except OSError as err:
                log.error("%s: cannot %s %s: %s", r.label, "add" if add else "remove", a, err)
                continue
            if not changed:
                continue
            if job.change is Change.STALE:
                log.warning("%s: removed stale %s (nobody here holds it)", r.label, a)
            else:
                log.info("%s: %s %s", r.label, "added" if add else "removed", a)

    async def _vmac(self, job: VmacJob) -> None:
        assert self.vmacs is not None, "a vmac without a vmac table"
        name = job.vmac.name
        try:
            if job.change is LinkChange.UP:
                await self.vmacs.up(job.vmac)
            elif job.change is LinkChange.DOWN:
                await self.vmacs.down(job.vmac)
            else:
                await self.vmacs.remove(name)
        except OSError as err:
            log.error("%s: cannot %s %s: %s", job.router.label, job.change.value, name, err)
            return
        log.info("%s: %s %s", job.router.label, name, job.change.value)
        if job.change is LinkChange.REMOVE:
            self._held.pop(name, None)
            if not self._held and self._sysctls:  # the last one: sysctls as they were
                undone = self.vmacs.restore(reversed(self._sysctls))
                self._sysctls.clear()
                log.info("restored %d sysctl(s) the vmacs needed", len(undone))

    def _garp(self, job: ArpJob) -> None:
        """Gratuitous ARPs (RFC 3768 6.4.1/6.4.2) or unsolicited NAs (RFC 5798 6.4.1/
        6.4.2), repeated, while the router stays master."""
        r, s = job.router, self.settings
        arp, ndisc = r.announcers
        what = "gratuitous ARP" if arp is not None else "neighbor advertisement"

        def failed(err: OSError) -> None:
            log.warning("%s: %s failed: %s", r.label, what, err)

        args = (s.garp_repeat, s.garp_delay, lambda: r.core.state is State.MASTER, failed)
        # A burst still under way stays cancellable (`cancel_garp`) beside the new one.
        now = self._loop.time()
        pending = [h for h in r.garp if not h.cancelled() and h.when() > now]
        if arp is not None:
            v4 = tuple(ip for ip in job.ips if isinstance(ip, IPv4Address))
            r.garp = pending + arp.schedule(self._loop, v4, *args, partial(r.announced, len(v4)))
        elif ndisc is not None:
            v6 = tuple(ip for ip in job.ips if isinstance(ip, IPv6Address))
            r.garp = pending + ndisc.schedule(self._loop, v6, *args, partial(r.announced, len(v6)))
        log.debug("%s: %s for %s", r.label, what, ", ".join(map(str, job.ips)))


async def remove_vips(
    netlink: AddressTable, rc: RouterConfig, index: int, present: list[InterfaceAddress]
) -> list[IPv4Interface | IPv6Interface]:
    """Remove `rc`'s virtual addresses from the interface; the ones that were there."""
    vips = {a.ip for a in rc.addresses}
    return [
        a.address
        for a in present
        if a.address.ip in vips and await netlink.remove(index, a.address)
    ]


async def teardown(config: Config, netlink: AddressTable, vmacs: VmacTable) -> list[str]:
    """`failover teardown`: remove every configured VIP and every vmac failover made
    (runtime/vmac.py tells them from others'); one line per thing done."""
    lines = [f"removed vmac {name}" for name in await vmacs.remove_all()]
    for rc in config.routers:
        if rc.priority == 255:
            lines.append(f"{rc.label}: skipped: priority 255, its addresses are real")
            continue
        try:
            index = await netlink.index(rc.interface)
        except InterfaceError as err:
            lines.append(f"{rc.label}: skipped: {err}")
            continue
        family = socket.AF_INET6 if rc.family == 6 else socket.AF_INET
        present = await netlink.addresses(index, family)
        removed = await remove_vips(netlink, rc, index, present)
        lines += [f"{rc.label}: removed {a}" for a in removed]
    return lines
