"""The router loop: packets, timers and link events into routers, their actions out.

Every router's deadline (`next_deadline()`, read after every input; no polling tick)
goes to one `Deadlines` (timers.py): one asyncio timer at the earliest, routers due
together fired in one callback. Packets from each interface's raw socket go through the
RFC 3768 7.1 receive checks; every drop is counted by reason. Adverts are sent at once;
address changes and gratuitous ARPs go to the address worker's ordered queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from functools import partial

from failover.daemon.addresses import AddressWorker, LinkChange
from failover.daemon.events import EventBus
from failover.daemon.hooks import HookEvent, HookQueue
from failover.daemon.logs import fields
from failover.daemon.metrics import LAG_BUCKETS, Histogram
from failover.daemon.model import Group, Interface, Model, Router
from failover.daemon.timers import Deadlines
from failover.daemon.tracker import STATUS_WORDS, Tracker
from failover.protocol.packet import DropReason, IPAddress
from failover.protocol.receive import Rejected
from failover.protocol.router import (
    TIMER_SLACK,
    Action,
    AddAddresses,
    Announce,
    RemoveAddresses,
    SendAdvert,
    State,
    StateChanged,
)
from failover.protocol.syncgroup import Settlement
from failover.ratelimit import RateLimiter

log = logging.getLogger("failover")

QUIET_DROPS = {DropReason.UNKNOWN_VRID}  # routine on a LAN shared with other groups
HOOK_TIMEOUT = 30.0  # seconds one notify hook may run (then its process group is killed)


class RouterLoop:
    """Feeds every input of the routers into their cores and carries out the actions."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        addresses: AddressWorker,
        model: Model,
        bus: EventBus,
    ) -> None:
        self.loop = loop
        self.addresses = addresses
        self.model = model
        self.bus = bus
        self.tracker = Tracker(self.check_changed)
        self.lag = Histogram(LAG_BUCKETS)  # how late the routers' timers fire
        self.deadlines: Deadlines[Router] = Deadlines(
            loop, self.on_timer, TIMER_SLACK, self.lag.observe
        )
        self._limiter = RateLimiter()
        self._closing: set[asyncio.Task[None]] = set()  # hooks finishing their queue

    # -- wiring -----------------------------------------------------------------------
    def attach(self, iface: Interface) -> None:
        """Read the interface's VRRP socket from now on (`iface.close()` stops it)."""
        fd = iface.sock.fileno()
        self.loop.add_reader(fd, self.on_readable, iface)
        iface.detach = partial(self.loop.remove_reader, fd)
        if not iface.running:
            log.warning("%s: link is down; its virtual routers start when it is up", iface.name)

    def start(self, r: Router) -> None:
        """RFC 3768 6.4.1 Startup (to FAULT while its link is down or a check holds it)."""
        now = self.loop.time()
        r.core.track(now, self.tracker.statuses(), r.iface.running)
        self.feed(r, r.core.start(now))

    def stop(self, r: Router, reason: str = "shutdown") -> None:
        """RFC 3768 6.4.2/6.4.3 Shutdown (a master sends priority 0, gives VIPs up)."""
        self.deadlines.set(r, None)
        self.execute(r, r.core.stop(self.loop.time(), reason))

    # -- inputs -----------------------------------------------------------------------
    def feed(self, r: Router, actions: list[Action]) -> None:
        self.execute(r, actions)
        self._arm(r)
        if r.core.sync_group is not None:
            group = self.model.groups[r.core.sync_group]
            self.settled(group, group.core.settle(self.loop.time()))

    def settled(self, group: Group, settlement: Settlement) -> None:
        """Carry out what a sync group decided (docs/sync-groups.md) and report its change."""
        by_core = self.model.by_core()
        for core, actions in settlement.actions.items():
            r = by_core.get(core)
            if r is not None:
                self.execute(r, actions)
                self._arm(r)
        change = settlement.change
        if change is None:
            return
        name = group.config.name
        log.info("sync group %s %s -> %s (%s)", name, change.old.value, change.new.value,
                 change.reason, extra=fields(event="group_state", group=name,
                 old=change.old.value, new=change.new.value, reason=change.reason))  # fmt: skip
        event = self.bus.publish(
            "state", group=name, old=change.old.value, new=change.new.value, reason=change.reason
        )
        if group.hook is not None:
            state = "STOP" if change.new is State.INITIALIZE else change.new.value
            group.hook.submit(
                HookEvent("GROUP", name, state, change.old.value, 0, change.reason, event["seq"])
            )

    def _arm(self, r: Router) -> None:
        """The router's timer at the core's next deadline (timers.py)."""
        self.deadlines.set(r, r.core.next_deadline())

    def on_timer(self, r: Router) -> None:
        self.feed(r, r.core.expire(self.loop.time()))

    def on_readable(self, iface: Interface) -> None:
        try:
            packets = iface.sock.receive()
        except OSError as err:
            log.error("%s: receive failed: %s", iface.name, err)
            return
        now = self.loop.time()
        for packet in packets:
            result = iface.received.validate(packet, iface.policies, iface.local)
            if isinstance(result, Rejected):
                self._drop(iface, result, now)
                continue
            r = iface.routers[result.advert.vrid]
            r.adverts_received += 1
            if result.advert.priority == 0:
                r.priority_zero_received += 1
            if result.mismatch is not None:
                self._owner_mismatch(r, result.source, result.mismatch, now)
            periods = r.core.dual_master_periods
            self.feed(r, r.core.receive(result.advert, result.source, now))
            if r.core.dual_master_periods != periods:
                log.warning("%s: another master on the LAN: %s (priority %d); dual-master "
                            "period %d", r.label, result.source, result.advert.priority,
                            r.core.dual_master_periods)  # fmt: skip

    def check_changed(self, name: str, now: float) -> None:
        """A check's status changed: the routers tracking it weigh it again."""
        check = self.tracker.checks[name]
        self.bus.publish(
            "check",
            check=name,
            status=STATUS_WORDS[check.status.healthy],
            detail=None if check.last is None else check.last.detail,
        )
        statuses = self.tracker.statuses()
        for r in self.model.routers:
            if any(t.check == name for t in r.core.config.track):
                before = r.core.priority
                self.feed(r, r.core.track(now, statuses))
                if r.core.priority != before:
                    self.bus.publish(
                        "priority", **_names(r), old=before, new=r.core.priority, check=name
                    )

    def link_changed(self, iface: Interface, running: bool, deleted: bool = False) -> None:
        """Link down: its routers go to FAULT (masters remove VIPs); up: out of FAULT."""
        if deleted:
            log.error("%s was deleted: its virtual routers stay down until a restart", iface.name)
        else:
            log.warning("%s: link %s", iface.name, "up" if running else "down")
        iface.running = running
        now = self.loop.time()
        for r in list(iface.routers.values()):
            self.feed(r, r.core.track(now, link_up=running))

    def _drop(self, iface: Interface, rej: Rejected, now: float) -> None:
        """Count every drop (per router, or per interface for unknown VRIDs); log a few."""
        r = iface.routers.get(rej.vrid) if rej.vrid is not None else None
        (r.drops if r else iface.drops)[rej.reason.value] += 1
        held_back = self._limiter.allow((iface.name, rej.vrid, rej.reason), now)
        if held_back is None:
            return
        level = logging.INFO if rej.reason in QUIET_DROPS else logging.WARNING
        more = f" ({held_back} more since last logged)" if held_back else ""
        log.log(
            level,
            "%s: dropped advert from %s vrid=%s: %s: %s%s",
            r.label if r else iface.name,
            rej.source or "?",
            rej.vrid,
            rej.reason.value,
            rej.detail,
            more,
            extra=fields(event="drop", router=r.core.config.name if r else None,
                         interface=iface.name, vrid=rej.vrid, source=rej.source,
                         reason=rej.reason.value, detail=rej.detail,
                         total=(r.drops if r else iface.drops)[rej.reason.value],
                         unlogged=held_back),
        )  # fmt: skip

    def _owner_mismatch(self, r: Router, source: IPAddress, detail: str, now: float) -> None:
        """RFC 3768 7.1 (RFC 5798 7.1): an advert of the address owner (priority 255)
        whose address list differs from ours is processed, and the event logged (a few)."""
        held_back = self._limiter.allow((r.label, "owner_addresses"), now)
        if held_back is None:
            return
        more = f" ({held_back} more since last logged)" if held_back else ""
        log.warning("%s: accepted an owner's (priority 255) advert from %s although its %s%s",
                    r.label, source, detail, more,
                    extra=fields(event="owner_address_mismatch", **_names(r), source=source,
                                 detail=detail, unlogged=held_back))  # fmt: skip

    # -- actions ----------------------------------------------------------------------
    def execute(self, r: Router, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case StateChanged(old, new, reason):
                    r.transitions[new.value] += 1
                    log.info("%s %s -> %s (%s)", r.label, old.value, new.value, reason,
                             extra=fields(event="state", **_names(r), old=old.value,
                                          new=new.value, reason=reason,
                                          priority=r.core.priority))  # fmt: skip
                    self._vmac_link(r, old, new)
                    event = self.bus.publish(
                        "state", **_names(r), old=old.value, new=new.value, reason=reason,
                        priority=r.core.priority,
                    )  # fmt: skip
                    self._notify(r, old, new, reason, event["seq"])
                case SendAdvert(priority):
                    self._send(r, priority)
                case AddAddresses(addresses):
                    self.addresses.add(r, addresses)
                case RemoveAddresses(addresses):
                    self.addresses.remove(r, addresses)
                case Announce(ips):
                    self.addresses.announce(r, ips)

    def _vmac_link(self, r: Router, old: State, new: State) -> None:
        """An IPv6 vmac is up only while master (runtime/vmac.py): up before its VIPs
        are added, down after they are removed (the actions come in that order)."""
        if r.vmac is None or r.core.config.family != 6:
            return
        if new is State.MASTER:
            self.addresses.vmac_link(r, LinkChange.UP)
        elif old is State.MASTER:
            self.addresses.vmac_link(r, LinkChange.DOWN)

    # -- notify hooks -------------------------------------------------------------------
    def _notify(self, r: Router, old: State, new: State, reason: str, seq: int) -> None:
        """Queue the change for the router's hook (keepalived's states: INITIALIZE at
        shutdown is STOP)."""
        if r.hook is None:
            return
        state = "STOP" if new is State.INITIALIZE else new.value
        event = HookEvent(
            "ROUTER", r.core.config.name, state, old.value, r.core.priority, reason, seq
        )
        r.hook.submit(event)

    def set_hook(self, r: Router | Group, argv: Sequence[str]) -> None:
        """A router's or group's hook from now on (none if empty); the old one finishes."""
        old, r.hook = r.hook, None
        if old is not None:
            task = self.loop.create_task(old.close(HOOK_TIMEOUT))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        if argv:
            name = r.core.config.name if isinstance(r, Router) else f"group {r.config.name}"
            r.hook = HookQueue(argv, HOOK_TIMEOUT, name)

    async def close_hooks(self, owners: Sequence[Router | Group]) -> None:
        """At shutdown: every hook finishes its queue (STOP events included), bounded."""
        for owner in owners:
            self.set_hook(owner, ())
        if self._closing:
            await asyncio.wait(list(self._closing))

    def _send(self, r: Router, priority: int) -> None:
        if not r.iface.running:
            return  # no carrier: nobody would hear it (a FAULT's priority 0, say)
        source = r.core.config.unicast_source
        try:
            for destination, message in r.wire(priority):
                r.sender.send(message, destination, source)
        except OSError as err:
            r.send_errors += 1
            held_back = self._limiter.allow((r.label, "send"), self.loop.time())
            if held_back is not None:
                more = f" ({held_back} more since last logged)" if held_back else ""
                log.warning("%s: sending advert failed: %s%s", r.label, err, more)
            return
        r.adverts_sent += 1
        if priority == 0:
            r.priority_zero_sent += 1


def _names(r: Router) -> dict[str, str | int]:
    """Who an event is about: the router's name, VRID and interface."""
    c = r.core.config
    return {"router": c.name, "vrid": c.vrid, "interface": c.interface}
