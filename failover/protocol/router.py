"""One virtual router's state machine (RFC 3768 section 6; RFC 5798 section 6), sans-IO.

One machine for VRRPv2 and VRRPv3; what differs is data: v3 timers count in centiseconds
and scale Skew_Time by Master_Adver_Interval, which a backup learns from its master's
adverts (RFC 5798 6.1, 6.4.2), where v2 drops an advert with another interval.

Inputs are `start`, `stop`, `receive` (an accepted advertisement and its sender's
primary address), `expire` (a timer deadline reached), `track` (tracked items' results
and the interface's link, see tracking.py), `reconfigure` (a new config for the same
interface and VRID, on reload) and, for a member of a sync group, `hold` and `follow`
(what syncgroup.py decides), each with `now` in seconds on any monotonic clock.
The priority used everywhere the RFC says "priority" is the *effective* one. Outputs
are lists of actions; `next_deadline()` tells the caller when to call `expire` next.
The object never reads a clock or touches a socket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Interface, IPv6Interface

from failover.protocol.packet import VRRP_VERSION, Advertisement, IPAddress
from failover.protocol.receive import ReceivePolicy
from failover.protocol.settings import RouterConfig
from failover.protocol.tracking import CheckStatus, assess

# asyncio may run a timer callback up to its clock resolution early; a deadline that
# is this close counts as reached, so the caller never has to re-arm for a sliver.
TIMER_SLACK = 0.001
ADVERT_GRID = 0.01  # seconds: the daemon's grid for masters' Adver_Timers (`_next_advert`)


class State(StrEnum):
    """RFC 3768 6.4: the three states; FAULT is keepalived's (not the RFC's)."""

    INITIALIZE = "INITIALIZE"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"  # a weight-0 tracked item fails, or the link is down: no VIPs, silent


# Every allowed state change, checked on each one (`IllegalTransition` is a bug).
# RFC 3768 6.4.1: Initialize -> Master (owner) or Backup on Startup; 6.4.2: Backup ->
# Master (Master_Down_Timer) or Initialize (Shutdown); 6.4.3: Master -> Backup (a
# higher priority or a lost tie) or Initialize (Shutdown). Not the RFC's: any running
# state -> Fault when a fault appears (Startup finds one: Initialize -> Fault); Fault ->
# Backup, or Master for the owner, when the last fault clears (the 6.4.1 Startup again);
# Fault -> Initialize on Shutdown.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.INITIALIZE: frozenset({State.BACKUP, State.MASTER, State.FAULT}),
    State.BACKUP: frozenset({State.MASTER, State.INITIALIZE, State.FAULT}),
    State.MASTER: frozenset({State.BACKUP, State.INITIALIZE, State.FAULT}),
    State.FAULT: frozenset({State.BACKUP, State.MASTER, State.INITIALIZE}),
}


class IllegalTransition(RuntimeError):
    """A state change `TRANSITIONS` does not allow: a bug in the core, never input."""


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send one advertisement with this priority (0 on shutdown)."""

    priority: int


VirtualAddresses = tuple[IPv4Interface | IPv6Interface, ...]  # one family (config)


@dataclass(frozen=True, slots=True)
class AddAddresses:
    addresses: VirtualAddresses


@dataclass(frozen=True, slots=True)
class RemoveAddresses:
    addresses: VirtualAddresses


@dataclass(frozen=True, slots=True)
class Announce:
    """Tell the LAN where each address is now: a gratuitous ARP per IPv4 address (RFC
    3768 6.4.1/6.4.2), an unsolicited Neighbor Advertisement per IPv6 one (RFC 5798
    6.4.1/6.4.2)."""

    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State
    reason: str


Action = SendAdvert | AddAddresses | RemoveAddresses | Announce | StateChanged


def skew_time(priority: int, interval: float = 1.0, version: int = VRRP_VERSION) -> float:
    """Skew_Time in seconds. RFC 3768 6.1: (256 - Priority) / 256 s; RFC 5798 6.1:
    ((256 - Priority) * Master_Adver_Interval) / 256, `interval` being the latter."""
    return (256 - priority) / 256 * (1.0 if version == VRRP_VERSION else interval)


def master_down_interval(
    priority: int, advert_interval: float, version: int = VRRP_VERSION
) -> float:
    """Master_Down_Interval = 3 * (Master_)Advert_Interval + Skew_Time (RFC 3768 6.1,
    RFC 5798 6.1)."""
    return 3 * advert_interval + skew_time(priority, advert_interval, version)


def wire_interval(seconds: float, version: int) -> int:
    """The interval as an advert carries it: seconds (v2), centiseconds (v3, 5.2.7)."""
    return int(seconds) if version == VRRP_VERSION else round(seconds * 100)


class VirtualRouter:
    """RFC 3768 section 6 for one (interface, VRID)."""

    def __init__(
        self, config: RouterConfig, primary_ip: IPAddress, advert_grid: float = 0.0
    ) -> None:
        self.config = config
        self.advert_grid = advert_grid  # 0: RFC-exact Adver_Timers (see `_next_advert`)
        self.policy = self.receive_policy()  # refreshed by `reconfigure`
        self.primary_ip = primary_ip
        self.state = State.INITIALIZE
        self.state_since: float | None = None
        self.master_ip: IPAddress | None = None
        self.master_priority: int | None = None
        # RFC 5798 6.1: learned from the master's adverts (v3); v2: always ours
        self.master_adver_interval: float = config.advert_interval
        self._deadline: float | None = None
        self._lower_since: float | None = None  # preempt_delay: first lower-priority advert
        # Dual-master periods (see "another master"): how many, when the last
        # advert of another master was heard in the current one, the last Announce.
        self.dual_master_periods = 0
        self._other_master_at: float | None = None
        self._announced_at: float | None = None
        self._statuses: dict[str, CheckStatus] = {}  # the checks' latest (see `track`)
        self._link_up = True
        self.sync_group: str | None = None  # its group's name (see "sync groups" below)
        self._group_faults: tuple[str, ...] = ()  # the group's causes, set by `hold`
        self.assessment = assess(config.priority, config.track, self._statuses)
        self.own_faults: tuple[str, ...] = ()  # its link and weight-0 items
        self.faults: tuple[str, ...] = ()  # what holds it in FAULT (or would, once started)
        self._reassess()

    # -- derived values -------------------------------------------------------------
    @property
    def priority(self) -> int:
        """The effective priority (tracking.py): configured + tracked items' weights."""
        return self.assessment.priority

    @property
    def skew_time(self) -> float:
        return skew_time(self.priority, self.master_adver_interval, self.config.version)

    @property
    def master_down_interval(self) -> float:
        return master_down_interval(self.priority, self.master_adver_interval, self.config.version)

    def receive_policy(self) -> ReceivePolicy:
        """What RFC 3768 7.1 checks against for this router (cached as `policy`)."""
        c = self.config
        return ReceivePolicy(
            priority=c.priority,
            advert_interval=wire_interval(c.advert_interval, c.version),
            addresses=frozenset(a.ip for a in c.addresses),
            auth_type=c.auth_type,
            auth_data=c.auth_password,
            version=c.version,
            pseudo_header=c.checksum_ipv4_pseudo_header,
            peers=frozenset(c.unicast_peers),
            ipv6=c.family == 6,
        )

    def advertisement(self, priority: int | None = None) -> Advertisement:
        """The advertisement this router sends (RFC 3768 5.3, RFC 5798 5.2)."""
        c = self.config
        return Advertisement(
            vrid=c.vrid,
            priority=self.priority if priority is None else priority,
            addresses=tuple(a.ip for a in c.addresses),
            advert_interval=wire_interval(c.advert_interval, c.version),
            auth_type=c.auth_type,
            auth_data=c.auth_password,
            version=c.version,
        )

    def _next_advert(self, now: float) -> float:
        """The Adver_Timer, Advertisement_Interval from now (RFC 3768 6.4.1-6.4.3, RFC 5798
        6.4.1-6.4.3). With an `advert_grid` (the daemon's ADVERT_GRID) it is snapped back
        to that grid on the clock (a tenth of the interval if that is less): never later,
        at most a step early. Masters whose adverts fall due within one step then send
        together (one wake-up for the daemon, one burst for the backups, issue 11), and
        stay so: the step divides every allowed interval (whole, or 10 ms, seconds)."""
        due = now + self.config.advert_interval
        if not self.advert_grid:
            return due
        step = min(self.advert_grid, self.config.advert_interval / 10)
        return max(now, math.floor(due / step) * step)

    def next_deadline(self) -> float | None:
        """When `expire` must next be called: Adver_Timer or Master_Down_Timer."""
        return self._deadline

    # -- inputs -----------------------------------------------------------------------
    def start(self, now: float, reason: str = "startup") -> list[Action]:
        """RFC 3768 6.4.1: the Startup event in Initialize."""
        if self.state is not State.INITIALIZE:
            return []
        if self.faults:
            return self._enter(State.FAULT, now, f"{reason}: {self._fault_text()}", None)
        if self.config.priority == 255:
            # 6.4.1: the address owner sends an advert, broadcasts a gratuitous ARP,
            # arms the Adver_Timer and becomes Master.
            return self._become_master(now, "address owner (priority 255)")
        # 6.4.1: else Master_Down_Timer = Master_Down_Interval, go Backup.
        return self._become_backup(now, reason)

    def track(
        self,
        now: float,
        statuses: dict[str, CheckStatus] | None = None,
        link_up: bool | None = None,
    ) -> list[Action]:
        """Tracked items' statuses (by check name) or the link changed (tracking.py).

        FAULT while a weight-0 item fails or the link is down: a master sends priority 0
        and gives its addresses up (as at Shutdown, 6.4.3), so a backup takes over after
        Skew_Time; FAULT sends nothing. When the last fault clears: the 6.4.1 Startup. A
        master whose effective priority changes advertises it at once (6.4.3).
        """
        if statuses is not None:
            self._statuses = dict(statuses)
        if link_up is not None:
            self._link_up = link_up
        old_priority, old_faults = self.priority, self.faults
        self._reassess()
        if self.state is State.INITIALIZE:
            return []  # `start` decides
        if self.faults and self.state is not State.FAULT:
            return self._enter_fault(now)
        if not self.faults and self.state is State.FAULT:
            return self._restart(now, f"fault cleared ({', '.join(old_faults)})")
        if self.state is State.MASTER and self.priority != old_priority:
            self.master_priority = self.priority
            self._deadline = self._next_advert(now)
            return [SendAdvert(self.priority)]
        return []

    def stop(self, now: float, reason: str = "shutdown") -> list[Action]:
        """RFC 3768 6.4.2/6.4.3: the Shutdown event (also when a reload removes the router)."""
        if self.state is State.MASTER:
            # 6.4.3: cancel the Adver_Timer, send an advert with priority 0,
            # transition to Initialize (and give the addresses up).
            actions: list[Action] = [
                SendAdvert(0),
                RemoveAddresses(self.config.addresses),
            ]
            return actions + self._enter(State.INITIALIZE, now, reason, None)
        if self.state in (State.BACKUP, State.FAULT):
            # 6.4.2: cancel the Master_Down_Timer, transition to Initialize.
            return self._enter(State.INITIALIZE, now, reason, None)
        return []

    def reconfigure(self, config: RouterConfig, now: float) -> list[Action]:
        """A new config for this (interface, VRID), applied in place: no state change.

        Not an RFC 3768 event; the rules below keep the RFC's: a master stays master
        and advertises the new values at once (section 6.4.3 then decides, on the
        backups' side, whether one of them preempts), a backup re-arms its
        Master_Down_Timer (6.4.2) with the new Master_Down_Interval (6.1). Only a
        backup that becomes the address owner (priority 255) changes state, as the
        owner does at startup (6.4.1).
        """
        old = self.config
        if (config.interface, config.vrid) != (old.interface, old.vrid):
            raise ValueError(
                f"reconfigure keeps the interface and VRID ({old.interface} vrid={old.vrid}); "
                f"got {config.interface} vrid={config.vrid}"
            )
        old_advert = self.advertisement()
        old_priority = self.priority
        self.config = config
        self.policy = self.receive_policy()
        if config.version == VRRP_VERSION or config.version != old.version:
            self.master_adver_interval = config.advert_interval  # v3 keeps what it learned
        self._reassess()  # new priority or tracked items: new effective priority and faults
        if self.state is State.FAULT and not self.faults:
            return self._restart(now, "reconfigured without its fault")
        if self.faults and self.state is State.MASTER:
            # As `_enter_fault`, giving up the addresses it held (the old config's).
            actions: list[Action] = [SendAdvert(0), RemoveAddresses(old.addresses)]
            return actions + self._enter(State.FAULT, now, self._fault_text(), None)
        if self.faults and self.state is State.BACKUP:
            return self._enter_fault(now)
        if self.state is State.MASTER:
            return self._reconfigure_master(old, old_advert, now)
        if self.state is State.BACKUP:
            return self._reconfigure_backup(old_priority, old, now)
        return []  # Initialize/Fault: the new config is used at the next Startup (6.4.1).

    def receive(self, advert: Advertisement, source: IPAddress, now: float) -> list[Action]:
        """An advertisement that passed `receive.validate` (RFC 3768 7.1)."""
        if self.state is State.BACKUP:
            return self._backup_receive(advert, source, now)
        if self.state is State.MASTER:
            return self._master_receive(advert, source, now)
        return []

    def expire(self, now: float) -> list[Action]:
        """The armed timer's deadline has been reached (or not yet: then nothing)."""
        if self._deadline is None or now + TIMER_SLACK < self._deadline:
            return []
        if self.state is State.MASTER:
            # 6.4.3: Adver_Timer fires: send an advert, reset the Adver_Timer (from the
            # deadline, so adverts do not drift; from now if the caller fell behind).
            self._deadline += self.config.advert_interval
            if self._deadline <= now:
                self._deadline = self._next_advert(now)
            return [SendAdvert(self.priority)]
        if self.state is State.BACKUP:
            # 6.4.2: Master_Down_Timer fires: advert, gratuitous ARP, go Master.
            return self._become_master(now, "master down timer expired")
        return []

    # -- sync groups (not RFC 3768; keepalived's vrrp_sync_group) ----------------------
    # syncgroup.py decides, for all members at once; these carry its decisions out with
    # this router's own transitions, each checked against TRANSITIONS. In a group a
    # router never becomes master on its own: where it would (`_become_master`) it is
    # `waiting` in BACKUP, its Master_Down_Timer spent, until the group says so.
    @property
    def waiting(self) -> bool:
        """BACKUP with nothing armed: in a group, ready to be master once all are."""
        return self.state is State.BACKUP and self._deadline is None

    def join_group(self, name: str) -> None:
        if self.sync_group is not None:
            raise ValueError(f"{self.config.name} is already in sync group {self.sync_group}")
        self.sync_group = name

    def leave_group(self, now: float) -> list[Action]:
        """Out of the group: its FAULT causes go, and a waiting member is master (6.4.2)."""
        self.sync_group = None
        actions = self.hold(now, ())
        if self.waiting:
            actions += self._become_master(now, "master down timer had expired (left sync group)")
        return actions

    def hold(self, now: float, causes: tuple[str, ...]) -> list[Action]:
        """The group's reasons for this member to be in FAULT (none: released), as `track`."""
        if causes == self._group_faults:
            return []
        self._group_faults = causes
        return self.track(now)

    def follow(self, new: State, now: float, reason: str) -> list[Action]:
        """The group's BACKUP or MASTER: this router's own 6.4.3 or 6.4.2 transition to it."""
        if new is self.state:
            return []
        if new is State.BACKUP and self.state is State.MASTER:
            # 6.4.3: cancel the Adver_Timer, give the addresses up, arm the
            # Master_Down_Timer, go Backup (what a higher-priority advert does).
            return [RemoveAddresses(self.config.addresses), *self._become_backup(now, reason)]
        if new is State.MASTER and self.state is State.BACKUP:
            return self._enter_master(now, reason)  # 6.4.2: advert, addresses, ARP
        raise IllegalTransition(f"{self.state} -> {new} ({reason}): not a sync group's to make")

    def _wait_for_group(self, now: float, reason: str) -> list[Action]:
        actions = [] if self.state is State.BACKUP else self._become_backup(now, reason)
        self._deadline = None  # `waiting`: the group promotes it (syncgroup.py)
        return actions

    # -- RFC 3768 6.4.2 ------------------------------------------------------------------
    def _backup_receive(self, advert: Advertisement, source: IPAddress, now: float) -> list[Action]:
        if advert.priority == 0:
            # 6.4.2: the master left: Master_Down_Timer = Skew_Time.
            self._deadline = now + self.skew_time
            self.master_ip = None
            self.master_priority = None
            return []
        lower = advert.priority < self.priority
        if lower and self.config.preempt_mode and not self._preempt_delayed(now):
            # 6.4.2: preempt on and a lower priority: discard; Master_Down expires.
            return []
        if not lower:
            self._lower_since = None
        # 6.4.2: preempt off, or priority >= ours: (v3: Master_Adver_Interval = the
        # advert's, Master_Down_Interval recomputed) reset Master_Down_Timer.
        self._learn_interval(advert)
        self._deadline = now + self.master_down_interval
        self.master_ip = source
        self.master_priority = advert.priority
        return []

    def _preempt_delayed(self, now: float) -> bool:
        """preempt_delay: accept a lower-priority master until it has lasted this long."""
        if self.config.preempt_delay <= 0:
            return False
        if self._lower_since is None:
            self._lower_since = now
        return now - self._lower_since < self.config.preempt_delay

    def _reconfigure_backup(self, old_priority: int, old: RouterConfig, now: float) -> list[Action]:
        c = self.config
        if c.priority == 255:
            # 6.4.1: the address owner advertises, sends gratuitous ARPs and is Master.
            return self._become_master(now, "reconfigured as address owner (priority 255)")
        if (self.priority, c.advert_interval) != (old_priority, old.advert_interval):
            # 6.4.2: Master_Down_Timer = Master_Down_Interval (6.1: from the new priority's
            # Skew_Time and the new Advertisement_Interval), counted from now.
            self._deadline = now + self.master_down_interval
        # Preempt_Mode/preempt_delay are read on the next advert (6.4.2); the new
        # addresses and auth are what `receive_policy` checks from now on (7.1).
        return []

    # -- RFC 3768 6.4.3 ------------------------------------------------------------------
    def _reconfigure_master(
        self, old: RouterConfig, old_advert: Advertisement, now: float
    ) -> list[Action]:
        c = self.config
        actions: list[Action] = []
        self.master_priority = self.priority
        if self.advertisement() != old_advert:
            # 6.4.3: the adverts carry the new Priority, Adver Int, addresses and auth;
            # send one at once so backups apply 6.4.2 to the new values, and reset the
            # Adver_Timer to the new Advertisement_Interval. A new priority below a
            # backup's lets that backup preempt (6.4.2); 255 stays the owner.
            actions.append(SendAdvert(self.priority))
            self._deadline = self._next_advert(now)
        dropped = tuple(a for a in old.addresses if a not in c.addresses)
        added = tuple(a for a in c.addresses if a not in old.addresses)
        if dropped:
            actions.append(RemoveAddresses(dropped))
        if added:
            # 6.4.2 (as on becoming Master): claim the new addresses and broadcast a
            # gratuitous ARP for each.
            actions += [AddAddresses(added), Announce(tuple(a.ip for a in added))]
        return actions

    def _master_receive(self, advert: Advertisement, source: IPAddress, now: float) -> list[Action]:
        if advert.priority == 0:
            # 6.4.3: another router left: send an advert at once, reset Adver_Timer.
            self._deadline = self._next_advert(now)
            return [SendAdvert(self.priority)]
        self._heard_other_master(now)
        higher = advert.priority > self.priority
        tie_lost = advert.priority == self.priority and int(source) > int(self.primary_ip)
        if higher or tie_lost:
            # 6.4.3: cancel Adver_Timer, (v3: learn Master_Adver_Interval, recompute
            # Skew_Time and Master_Down_Interval) Master_Down_Timer = it, Backup.
            # Not the RFC's: first one last advert of its own, so that the winner,
            # which may not have heard this master yet, learns there were two.
            why = "higher priority" if higher else "equal priority, greater primary IP"
            actions: list[Action] = [
                SendAdvert(self.priority),
                RemoveAddresses(self.config.addresses),
            ]
            actions += self._become_backup(
                now, f"{why} advert from {source} (priority {advert.priority})"
            )
            self._learn_interval(advert)
            self._deadline = now + self.master_down_interval
            self.master_ip = source
            self.master_priority = advert.priority
            return actions
        # 6.4.3: else discard; but (not the RFC's) the LAN's ARP caches may point at
        # the other master: tell them again where the addresses are.
        return self._announce_again(now)

    # -- another master (not RFC 3768; keepalived's vrrp_garp_lower_prio_repeat) ----------
    # Only a master sends adverts (6.4.3), so a master that hears one with a priority
    # above 0 shares the LAN with another master: a split LAN just healed, a peer that
    # does not hear it, or (briefly) a preemption. A dual-master period starts then and
    # lasts while such adverts keep coming (none for a Master_Down_Interval ends it), or
    # until it steps down. The loser (6.4.3: lower priority, or the smaller primary
    # address on a tie) steps down, sending one last advert first; the winner stays
    # master, but the hosts that took the loser's gratuitous ARPs still send it the
    # traffic: on the loser's advert the winner announces its addresses again, at most
    # once per Advertisement_Interval (its announcements on becoming master included),
    # so a flapping peer cannot make it flood the LAN.
    def _heard_other_master(self, now: float) -> None:
        last = self._other_master_at
        if last is None or now - last > self.master_down_interval:
            self.dual_master_periods += 1
        self._other_master_at = now

    def _announce_again(self, now: float) -> list[Action]:
        last = self._announced_at
        if last is not None and now - last < self.config.advert_interval:
            return []
        self._announced_at = now
        return [Announce(tuple(a.ip for a in self.config.addresses))]

    # -- transitions -----------------------------------------------------------------------
    def _become_master(self, now: float, reason: str) -> list[Action]:
        """This router's own decision to be master (6.4.1 owner, 6.4.2 Master_Down)."""
        if self.sync_group is not None:
            return self._wait_for_group(now, reason)  # the group decides (sync groups)
        return self._enter_master(now, reason)

    def _enter_master(self, now: float, reason: str) -> list[Action]:
        actions = self._enter(State.MASTER, now, reason, self._next_advert(now))
        self.master_ip = self.primary_ip
        self.master_priority = self.priority
        self._announced_at = now
        return [
            *actions,
            SendAdvert(self.priority),
            AddAddresses(self.config.addresses),
            Announce(tuple(a.ip for a in self.config.addresses)),
        ]

    def _reassess(self) -> None:
        """Effective priority and faults from the config, the statuses and the link."""
        self.assessment = assess(self.config.priority, self.config.track, self._statuses)
        link = () if self._link_up else (f"interface {self.config.interface} down",)
        self.own_faults = link + self.assessment.faults
        self.faults = self.own_faults + self._group_faults

    def _fault_text(self) -> str:
        return "fault: " + ", ".join(self.faults)

    def _enter_fault(self, now: float) -> list[Action]:
        """Leave Master or Backup for Fault (a master hands over as at 6.4.3 Shutdown)."""
        actions: list[Action] = []
        if self.state is State.MASTER:
            actions = [SendAdvert(0), RemoveAddresses(self.config.addresses)]
        return actions + self._enter(State.FAULT, now, self._fault_text(), None)

    def _restart(self, now: float, reason: str) -> list[Action]:
        """Out of Fault: the 6.4.1 Startup (the owner is Master at once, others Backup)."""
        if self.config.priority == 255:
            return self._become_master(now, f"{reason}; address owner (priority 255)")
        return self._become_backup(now, reason)

    def _become_backup(self, now: float, reason: str) -> list[Action]:
        # RFC 5798 6.4.1: Master_Adver_Interval = Advertisement_Interval, then the timer
        self.master_adver_interval = self.config.advert_interval
        return self._enter(State.BACKUP, now, reason, now + self.master_down_interval)

    def _learn_interval(self, advert: Advertisement) -> None:
        """RFC 5798 6.4.2/6.4.3: a v3 backup takes its master's advertisement interval."""
        if self.config.version != VRRP_VERSION:
            self.master_adver_interval = advert.interval

    def _enter(self, new: State, now: float, reason: str, deadline: float | None) -> list[Action]:
        if new not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state} -> {new} ({reason})")
        old, self.state = self.state, new
        self.state_since = now
        self._deadline = deadline
        self._lower_since = None
        self._other_master_at = None  # a dual-master period ends with the state
        self.master_ip = None
        self.master_priority = None
        return [StateChanged(old, new, reason)]
