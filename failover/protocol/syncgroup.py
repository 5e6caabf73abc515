"""Sync groups: virtual routers on one host that change state together (pure).

Not RFC 3768: keepalived's `vrrp_sync_group` (the inside and outside VIPs of a firewall
pair), with the rules of docs/sync-groups.md. The caller feeds a member's input as
usual, carries out the member's own actions, then calls `settle(now)` and carries out
the actions it returns for the members the group moved. `settle` reads only the members'
states (and what each was at the last settle), so it may be called after any input,
any number of times: a second call returns nothing.

- A member with a fault of its own (its link, a weight-0 item) holds every other member
  in FAULT, each with the cause `sync group G: M in FAULT` in its `faults` (`hold`:
  a master sends priority 0 and gives its addresses up, as its own FAULT does). When no
  member has one, all leave FAULT together: the 6.4.1 Startup.
- In a group a router never becomes master on its own: where it would (6.4.1 owner,
  6.4.2 Master_Down_Timer) it is `waiting` in BACKUP. When every member is waiting, all
  become master, each by its own 6.4.2 transition. Unlike a literal "when one becomes
  master the others follow", a member whose LAN still hears a better master keeps the
  group in BACKUP: the group never claims addresses one member must give back at the
  next advert (keepalived: "only sync to master if everyone wants to, to avoid
  thrashing").
- A master that goes BACKUP (6.4.3) takes the other masters with it (`follow`).
- A member started while the group is MASTER (a reload added it) follows it at once.
- A stopped member (INITIALIZE) never moves the others, except that its own faults
  still hold them (so a shutdown, member by member, restarts nobody); a member removed
  by a reload leaves the group (`remove`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from failover.protocol.router import Action, State, StateChanged, VirtualRouter

_Do = Callable[[VirtualRouter, list[Action]], None]  # records a member's actions


@dataclass(frozen=True, slots=True)
class Settlement:
    """What `settle` decided: actions per member it moved, and the group's own change."""

    actions: dict[VirtualRouter, list[Action]] = field(default_factory=dict)
    change: StateChanged | None = None  # the group's state, for its log line and hook


class SyncGroup:
    """Members (on any interfaces) that are MASTER together or not at all."""

    def __init__(self, name: str, members: Sequence[VirtualRouter]) -> None:
        if len({id(m) for m in members}) != len(members):
            raise ValueError(f"sync group {name}: a router is listed twice")
        for m in members:
            if m.sync_group is not None:
                raise ValueError(f"{m.config.name} is already in sync group {m.sync_group}")
        self.name = name
        self.members: list[VirtualRouter] = []
        self._last: dict[VirtualRouter, State] = {}  # each member's state at the last settle
        for m in members:
            self._join(m)
        self.state = self._observe()

    def _join(self, member: VirtualRouter) -> None:
        member.join_group(self.name)
        self.members.append(member)
        self._last[member] = member.state

    # -- changes of membership (reload) ---------------------------------------------------
    def add(self, member: VirtualRouter, now: float) -> Settlement:
        """A router joins (a reload): best before it starts, then it follows the group."""
        self._join(member)
        return self.settle(now)

    def remove(self, member: VirtualRouter, now: float) -> Settlement:
        """A router leaves (a reload removed it, or its group): the rest settle without it."""
        self.members.remove(member)
        del self._last[member]
        own = member.leave_group(now)
        settled = self.settle(now)
        actions = {member: own, **settled.actions} if own else settled.actions
        return Settlement(actions, settled.change)

    def dissolve(self, now: float) -> dict[VirtualRouter, list[Action]]:
        """Every member leaves (a reload removed the group); each goes on alone."""
        actions = {m: m.leave_group(now) for m in self.members}
        self.members.clear()
        self._last.clear()
        self.state = State.INITIALIZE
        return {m: a for m, a in actions.items() if a}

    # -- the rules (docs/sync-groups.md) ----------------------------------------------------
    def settle(self, now: float) -> Settlement:
        """Bring every member in line with the group's rules after any member's input."""
        actions: dict[VirtualRouter, list[Action]] = {}

        def do(member: VirtualRouter, done: list[Action]) -> None:
            if done:
                actions.setdefault(member, []).extend(done)

        why: str | None = None
        faulty = [m for m in self.members if m.own_faults]
        for m in self.members:  # rule 1: held while another has a fault, released when none
            do(m, m.hold(now, tuple(self._held_by(o) for o in faulty if o is not m)))
        if faulty:
            why = "; ".join(f"{m.config.name} in FAULT ({', '.join(m.own_faults)})" for m in faulty)
        else:
            why = self._follow(now, do)
            if why is None and self.state is State.FAULT:
                why = "no member has a fault"
        self._last = {m: m.state for m in self.members}
        new = self._observe()
        change = None
        if new is not self.state:
            change = StateChanged(self.state, new, why or self._describe())
            self.state = new
        return Settlement(actions, change)

    def _follow(self, now: float, do: _Do) -> str | None:
        """Rules 2 and 3 (no member has a fault): all MASTER or none; the reason, if any."""
        masters = [m for m in self.members if m.state is State.MASTER]
        backups = [m for m in self.members if m.state is State.BACKUP]
        decided = [  # BACKUP for a reason of its own: not waiting, not just started
            m for m in backups if not m.waiting and self._last.get(m) is not State.INITIALIZE
        ]
        if masters and decided:
            why = f"{self._names(decided)} in BACKUP"
            for m in masters:  # rule 2: the group cannot be master
                do(m, m.follow(State.BACKUP, now, f"sync group {self.name}: {why}"))
            return why
        if masters and backups:
            why = f"{self._names(backups)} started while the group is MASTER"
        elif len(backups) == len(self.members) and all(m.waiting for m in backups):
            why = "every member can be master"
        else:
            return None
        for m in backups:  # rule 3: all become master, each by its own 6.4.2 transition
            do(m, m.follow(State.MASTER, now, f"sync group {self.name}: {why}"))
        return why

    # -- what the group is ----------------------------------------------------------------
    def _observe(self) -> State:
        """The group's state from its members': INITIALIZE when none runs."""
        running = [m for m in self.members if m.state is not State.INITIALIZE]
        if not running:
            return State.INITIALIZE
        if any(m.own_faults for m in self.members):
            return State.FAULT
        if any(m.state is State.MASTER for m in running):
            return State.MASTER
        return State.BACKUP

    def _held_by(self, member: VirtualRouter) -> str:
        return f"sync group {self.name}: {member.config.name} in FAULT"

    def _describe(self) -> str:
        return ", ".join(f"{m.config.name} {m.state.value}" for m in self.members)

    @staticmethod
    def _names(members: Sequence[VirtualRouter]) -> str:
        return ", ".join(m.config.name for m in members)
