"""What the daemon keeps about each interface and virtual router, each with one `close()`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from failover.config import Config
from failover.control import InterfaceStatus, RouterStatus, TrackStatus
from failover.daemon.hooks import HookQueue
from failover.daemon.kernel import ArpPort, NdPort, PacketPort
from failover.daemon.tracker import STATUS_WORDS, Check
from failover.protocol.packet import IPAddress
from failover.protocol.receive import ReceiveCache, ReceivePolicy
from failover.protocol.router import VirtualRouter
from failover.protocol.settings import RouterConfig, SyncGroupConfig, Track
from failover.protocol.syncgroup import SyncGroup
from failover.protocol.wire import packets
from failover.runtime.vmac import Vmac


class Policies(Mapping[int, ReceivePolicy]):
    """An interface's RFC 3768 7.1 receive policies by VRID: a view of its routers."""

    def __init__(self, routers: dict[int, Router]) -> None:
        self._routers = routers

    def __getitem__(self, vrid: int) -> ReceivePolicy:
        return self._routers[vrid].core.policy

    def get(self, vrid: int, default: Any = None) -> Any:
        """Per packet: no KeyError for the routine unknown VRID of a shared LAN."""
        r = self._routers.get(vrid)
        return default if r is None else r.core.policy

    def __iter__(self) -> Iterator[int]:
        return iter(self._routers)

    def __len__(self) -> int:
        return len(self._routers)


@dataclass(eq=False)
class Interface:
    """One interface in use for one address family: its VRRP socket and its announcer
    (gratuitous ARP for IPv4, unsolicited NA for IPv6), its routers by VRID, drops for
    unknown VRIDs."""

    name: str
    index: int
    primary: IPAddress  # adverts' source: RFC 3768 5.2.1 (IPv4), 5798 5.1.2.1 (link-local)
    sock: PacketPort
    arp: ArpPort | None = None  # IPv4
    ndisc: NdPort | None = None  # IPv6
    running: bool = True  # link up with carrier
    routers: dict[int, Router] = field(default_factory=dict)
    drops: Counter[str] = field(default_factory=Counter)
    detach: Callable[[], object] | None = None  # stops reading the socket (set by the loop)
    local: frozenset[IPAddress] = field(init=False)  # our own adverts, looped back
    policies: Policies = field(init=False)
    received: ReceiveCache = field(default_factory=ReceiveCache)  # verdicts on repeats

    def __post_init__(self) -> None:
        self.local = frozenset({self.primary})
        self.policies = Policies(self.routers)

    def stop_reading(self) -> None:
        """No more packets from this interface (idempotent)."""
        if self.detach is not None:
            self.detach()
            self.detach = None

    @property
    def family(self) -> int:
        return self.primary.version

    @property
    def key(self) -> tuple[str, int]:
        """The model's key for it: one Interface per name and family."""
        return self.name, self.family

    def close(self) -> None:
        """Stop reading and close both sockets (idempotent)."""
        self.stop_reading()
        self.sock.close()
        for announcer in (self.arp, self.ndisc):
            if announcer is not None:
                announcer.close()

    def status(self) -> InterfaceStatus:
        return {
            "name": self.name,
            "family": self.family,
            "index": self.index,
            "primary_ip": str(self.primary),
            "drops": dict(sorted(self.drops.items())),
        }


@dataclass(eq=False)
class VmacPort:
    """A router's virtual MAC interface (`use_vmac`, runtime/vmac.py): the VIPs go on it,
    its announcer sends from the VRRP MAC, and (IPv4) so do the adverts."""

    vmac: Vmac
    tx: PacketPort | None = None  # IPv4: adverts from the vmac (IPv6: from the parent)
    arp: ArpPort | None = None
    ndisc: NdPort | None = None

    def close(self) -> None:
        """Close its sockets (the interface itself goes through the address worker)."""
        for port in (self.tx, self.arp, self.ndisc):
            if port is not None:
                port.close()


@dataclass(eq=False)
class Router:
    """One virtual router: its core, its interface, its timers and counters."""

    core: VirtualRouter
    iface: Interface
    garp: list[asyncio.TimerHandle] = field(default_factory=list)
    adverts_sent: int = 0
    adverts_received: int = 0
    send_errors: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)  # by the state entered
    priority_zero_sent: int = 0
    priority_zero_received: int = 0
    announcements_sent: int = 0  # gratuitous ARPs / unsolicited NAs, one per address
    hook: HookQueue | None = None  # its `notify`, one event at a time
    vmac: VmacPort | None = None  # with use_vmac
    _wire: tuple[int, RouterConfig, list[tuple[IPAddress | None, bytes]]] | None = None

    def wire(self, priority: int) -> list[tuple[IPAddress | None, bytes]]:
        """(unicast destination or None for the group, message) of its advert with
        `priority`, encoded once per priority and config: an advert only changes with
        them (RFC 3768 5.3, RFC 5798 5.2), so a master's steady adverts cost no encoding."""
        config = self.core.config
        cached = self._wire
        if cached is None or cached[0] != priority or cached[1] is not config:
            source = config.unicast_source or self.iface.primary
            advert = self.core.advertisement(priority)
            out = [(None if d.is_multicast else d, m) for d, m in packets(config, advert, source)]
            cached = self._wire = (priority, config, out)
        return cached[2]

    @property
    def vip_index(self) -> int:
        """The interface its VIPs go on: its vmac's, or its interface's."""
        return self.vmac.vmac.index if self.vmac is not None else self.iface.index

    @property
    def sender(self) -> PacketPort:
        """The socket its adverts leave by."""
        if self.vmac is not None and self.vmac.tx is not None:
            return self.vmac.tx
        return self.iface.sock

    @property
    def announcers(self) -> tuple[ArpPort | None, NdPort | None]:
        """Its gratuitous ARP and NA senders: its vmac's, or its interface's."""
        owner = self.vmac if self.vmac is not None else self.iface
        return owner.arp, owner.ndisc

    @property
    def label(self) -> str:
        return self.core.config.label

    @property
    def key(self) -> str:
        """Who holds an address in `VipClaims`: stable across reloads (names may change)."""
        interface, vrid = self.core.config.key
        return f"{interface}/{vrid}"

    def announced(self, frames: int) -> None:
        """A burst of gratuitous ARPs or NAs went out: `frames` of them."""
        self.announcements_sent += frames

    def cancel_garp(self) -> None:
        for handle in self.garp:
            handle.cancel()
        self.garp.clear()

    def close(self) -> None:
        """Cancel its ARP bursts and leave the interface (the core has been stopped; its
        deadline is gone from the loop's `Deadlines`)."""
        self.cancel_garp()
        if self.vmac is not None:
            self.vmac.close()
        if self.iface.routers.get(self.core.config.vrid) is self:
            del self.iface.routers[self.core.config.vrid]

    def status(self, now: float, checks: Mapping[str, Check]) -> RouterStatus:
        core, c = self.core, self.core.config
        since = None if core.state_since is None else round(now - core.state_since, 1)
        return {
            "name": c.name,
            "vrid": c.vrid,
            "interface": c.interface,
            "state": core.state.value,
            "priority": c.priority,
            "effective_priority": core.priority,
            "faults": list(core.faults),
            "tracks": [
                _track_status(t, added, t.check in core.assessment.faults, checks.get(t.check), now)
                for t, (_, added) in zip(c.track, core.assessment.contributions, strict=True)
            ],
            "master_ip": None if core.master_ip is None else str(core.master_ip),
            "master_priority": core.master_priority,
            "since": since,
            "primary_ip": str(core.primary_ip),
            "addresses": [str(a) for a in c.addresses],
            "adverts_sent": self.adverts_sent,
            "adverts_received": self.adverts_received,
            "send_errors": self.send_errors,
            "dual_master_periods": core.dual_master_periods,
            "drops": dict(sorted(self.drops.items())),
            "transitions": dict(sorted(self.transitions.items())),
        }


def _track_status(
    track: Track, added: int, fault: bool, check: Check | None, now: float
) -> TrackStatus:
    """One tracked item in a router's status: its state and what it does to the router
    (`added`, `fault`: the core's own assessment, not worked out again here)."""
    status = check.status if check is not None else None
    healthy = None if status is None else status.healthy
    last = None if check is None else check.last
    return {
        "check": track.check,
        "kind": "" if check is None else check.config.kind,
        "weight": track.weight,
        "status": STATUS_WORDS[healthy],
        "value": None if status is None else status.value,
        "adds": added,
        "fault": fault,
        "detail": None if last is None else last.detail,
        "age": None if check is None or check.last_at is None else round(now - check.last_at, 1),
    }


@dataclass(eq=False)
class Group:
    """A running sync group: its core (protocol/syncgroup.py), settings and hook."""

    core: SyncGroup
    config: SyncGroupConfig
    hook: HookQueue | None = None


@dataclass(eq=False)
class Model:
    """What runs now: the applied config, its interfaces and routers (in config order)."""

    config: Config = field(default_factory=lambda: Config(()))
    interfaces: dict[tuple[str, int], Interface] = field(default_factory=dict)  # (name, family)
    routers: list[Router] = field(default_factory=list)
    groups: dict[str, Group] = field(default_factory=dict)  # sync groups by name

    def by_key(self) -> dict[tuple[str, int], Router]:
        return {r.core.config.key: r for r in self.routers}

    def by_core(self) -> dict[VirtualRouter, Router]:
        return {r.core: r for r in self.routers}

    def close(self) -> None:
        """Cancel every router's timers and close every interface."""
        for r in self.routers:
            r.close()
        self.routers.clear()
        for iface in self.interfaces.values():
            iface.close()
        self.interfaces.clear()
