"""A fake LAN for the sans-IO state machine: a fake clock and instant (or delayed) wire.

Each SendAdvert is encoded, wrapped in an IPv4 packet (TTL 255, from the sender's
primary address) and handed to every router on the LAN, the sender included (multicast
loops back), through `receive.validate`, exactly as the daemon will do. Time only moves
by jumping to the next event: a packet arrival or a router's `next_deadline()`.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from failover.protocol.packet import encode
from failover.protocol.receive import Accepted, Rejected, validate
from failover.protocol.router import Action, SendAdvert, State, StateChanged, VirtualRouter
from failover.protocol.settings import RouterConfig

from .builders import ip_packet


@dataclass
class Node:
    name: str
    router: VirtualRouter
    running: bool = True  # False once crashed: no timers, no packets, no goodbye
    link_up: bool = True  # False: cut off the wire, but its timers still run


@dataclass(frozen=True)
class Event:
    time: float
    node: str
    action: Action


@dataclass
class FakeLan:
    latency: float = 0.0
    now: float = 0.0
    nodes: dict[str, Node] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    drops: list[tuple[float, str, Rejected]] = field(default_factory=list)
    _wire: list[tuple[float, int, str, bytes]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    # -- building and driving ---------------------------------------------------------
    def add(self, name: str, config: RouterConfig, primary_ip: str) -> VirtualRouter:
        router = VirtualRouter(config, IPv4Address(primary_ip))
        self.nodes[name] = Node(name, router)
        return router

    def router(self, name: str) -> VirtualRouter:
        return self.nodes[name].router

    def start(self, *names: str) -> None:
        for name in names:
            node = self.nodes[name]
            node.running = True
            self._handle(name, node.router.start(self.now))

    def stop(self, name: str) -> list[Action]:
        actions = self.router(name).stop(self.now)
        self._handle(name, actions)
        return actions

    def reconfigure(self, name: str, config: RouterConfig) -> None:
        """A reload of `name` with a new config for its router, applied in place."""
        self._handle(name, self.router(name).reconfigure(config, self.now))

    def crash(self, name: str) -> None:
        """Power loss: the router vanishes without a priority-0 advert."""
        self.nodes[name].running = False

    def reboot(self, name: str) -> None:
        """A crashed router comes back as a fresh process and starts."""
        old = self.nodes[name].router
        self.nodes[name] = Node(name, VirtualRouter(old.config, old.primary_ip))
        self.start(name)

    def set_link(self, name: str, up: bool) -> None:
        self.nodes[name].link_up = up

    def run_until(self, until: float, max_steps: int = 100_000) -> None:
        """Process every arrival and deadline up to `until` in time order, then stop there."""
        for _ in range(max_steps):
            nxt = self._next()
            if nxt is None or nxt[0] > until:
                break
            self.now = nxt[0]
            if nxt[1] == "wire":
                _, _, receiver, packet = heapq.heappop(self._wire)
                self._receive(receiver, packet)
            else:
                node = self.nodes[nxt[1]]
                self._handle(node.name, node.router.expire(self.now))
        else:
            raise AssertionError("fake LAN did not settle: too many steps")
        self.now = until

    def advance(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    # -- what happened ------------------------------------------------------------------
    def adverts(self, name: str) -> list[tuple[float, int]]:
        """(time, priority) of each advert `name` sent."""
        return [
            (e.time, e.action.priority)
            for e in self.events
            if e.node == name and isinstance(e.action, SendAdvert)
        ]

    def transitions(self, name: str | None = None) -> list[tuple[float, str, State, State]]:
        return [
            (e.time, e.node, e.action.old, e.action.new)
            for e in self.events
            if isinstance(e.action, StateChanged) and name in (None, e.node)
        ]

    def masters(self) -> list[str]:
        return sorted(
            n.name for n in self.nodes.values() if n.running and n.router.state is State.MASTER
        )

    def actions(self, name: str, since: float = 0.0) -> list[Action]:
        return [e.action for e in self.events if e.node == name and e.time >= since]

    # -- internals ------------------------------------------------------------------------
    def _next(self) -> tuple[float, str] | None:
        """The earliest event; at equal times packets arrive before timers fire."""
        candidates: list[tuple[float, int, str]] = []
        if self._wire:
            candidates.append((self._wire[0][0], 0, "wire"))
        for node in self.nodes.values():
            deadline = node.router.next_deadline()
            if node.running and deadline is not None:
                candidates.append((deadline, 1, node.name))
        if not candidates:
            return None
        when, _, what = min(candidates)
        return when, what

    def _handle(self, name: str, actions: list[Action]) -> None:
        for action in actions:
            self.events.append(Event(self.now, name, action))
            if isinstance(action, SendAdvert):
                self._send(name, action.priority)

    def _send(self, name: str, priority: int) -> None:
        sender = self.nodes[name]
        if not sender.link_up:
            return
        vrrp = encode(sender.router.advertisement(priority))
        packet = ip_packet(vrrp, src=str(sender.router.primary_ip))
        for receiver in self.nodes.values():
            if receiver.running and receiver.link_up:
                arrival = self.now + self.latency
                heapq.heappush(self._wire, (arrival, next(self._seq), receiver.name, packet))

    def _receive(self, name: str, packet: bytes) -> None:
        node = self.nodes[name]
        if not (node.running and node.link_up):
            return
        router = node.router
        verdict = validate(
            packet,
            {router.config.vrid: router.receive_policy()},
            frozenset({router.primary_ip}),
        )
        if isinstance(verdict, Accepted):
            self._handle(name, router.receive(verdict.advert, verdict.source, self.now))
        else:
            self.drops.append((self.now, name, verdict))
