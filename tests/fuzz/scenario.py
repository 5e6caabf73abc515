"""One fuzz input through what the daemon does with a received packet (`on_readable` in
failover/daemon/loop.py), with the checks that must hold on the way.

An input is a selector byte, then the packet as a raw socket hands it over. The selector
picks the receiving interface (its virtual routers: VRRPv2 with and without a password,
VRRPv3 over IPv4 with and without the pseudo-header, IPv6, unicast peers, an owner), the
state its routers are in (INITIALIZE, BACKUP, MASTER, FAULT), how `decode` is also called
on its own, and when the packet arrives. For IPv4 the packet is the whole IP packet
(`parse_ipv4` reads its header); for IPv6 its first 40 bytes are an IPv6 header standing
for what the kernel's ancillary data says (source, destination, hop limit).

What may happen: `validate` returns a verdict (Accepted or Rejected), never raises;
`ReceiveCache` gives the same verdict, for the first packet and its repeat; `decode`
raises nothing but the typed `DecodeError`; an accepted advert has the version its router
runs and reaches that router's state machine, whose `receive` and next `expire` raise
nothing (an `IllegalTransition` is a bug). Anything else raised is a crash.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface

from failover.protocol.packet import (
    VRRP_GROUP6,
    VRRP_PROTOCOL,
    VRRP_TTL,
    DecodeError,
    IPAddress,
    decode,
    pseudo_header,
)
from failover.protocol.receive import (
    Accepted,
    Datagram,
    ReceiveCache,
    ReceivePolicy,
    Rejected,
    parse_ipv4,
    validate,
)
from failover.protocol.router import ADVERT_GRID, State, StateChanged, VirtualRouter
from failover.protocol.settings import RouterConfig
from failover.protocol.wire import packets
from failover.runtime.ndisc import IPV6_HEADER
from tests.unit import golden_v3, keepalived_golden
from tests.unit.builders import ip_packet

STATES = (State.INITIALIZE, State.BACKUP, State.MASTER, State.FAULT)
DECODE_VERSIONS = (None, 2, 3)  # decode's `expected_version` in the direct call
LATENESS = (0.0, 0.7, 2.5, 4.0)  # seconds from the routers' last change to the packet
START = 1000.0  # the fake clock at startup
PEER4 = IPv4Address("192.0.2.1")  # the golden captures' sender
PEER6 = IPv6Address("fe80::1")


@dataclass(frozen=True)
class Interface:
    """A receiving interface: its primary address, its routers by VRID and their policies
    (derived as the daemon derives them), and the adverts its seeds start from."""

    name: str
    primary: IPAddress
    configs: dict[int, RouterConfig]
    captured: tuple[bytes, ...] = ()  # golden packets for these routers
    policies: dict[int, ReceivePolicy] = field(init=False)
    local: frozenset[IPAddress] = field(init=False)  # one object: ReceiveCache checks `is`

    def __post_init__(self) -> None:
        policies = {v: VirtualRouter(c, self.primary).policy for v, c in self.configs.items()}
        object.__setattr__(self, "policies", policies)
        object.__setattr__(self, "local", frozenset({self.primary}))

    @property
    def ipv6(self) -> bool:
        return self.primary.version == 6

    def received(self, packet: bytes) -> bytes | Datagram:
        """What the daemon's socket gives `validate` for these bytes."""
        if not self.ipv6:
            return packet  # IPv4: the whole packet, header included
        if len(packet) < IPV6_HEADER.size:
            return Datagram(PEER6, VRRP_GROUP6, VRRP_TTL, packet)
        *_, hops, source, destination = IPV6_HEADER.unpack_from(packet)
        payload = packet[IPV6_HEADER.size :]
        return Datagram(IPv6Address(source), IPv6Address(destination), hops, payload)

    def router(self, vrid: int, state: State) -> VirtualRouter:
        """A router of this interface driven into `state` (from a fake clock's START)."""
        r = VirtualRouter(self.configs[vrid], self.primary, ADVERT_GRID)
        if state is State.FAULT:
            r.track(START, link_up=False)
        if state is not State.INITIALIZE:
            r.start(START)
        deadline = r.next_deadline()
        if state is State.MASTER and r.state is State.BACKUP and deadline is not None:
            r.expire(deadline)  # 6.4.2: Master_Down_Timer fires
        return r

    def adverts(self) -> Iterator[bytes]:
        """Its captures, then a peer's adverts for each router, as the codec sends them:
        priority 0 (shutdown), lower, equal and higher than ours."""
        yield from self.captured
        peer: IPAddress = PEER6 if self.ipv6 else PEER4
        for config in self.configs.values():
            # the peer's config: ours, with us as its unicast peer if we have peers
            theirs = dataclasses.replace(
                config, unicast_peers=(self.primary,) if config.unicast_peers else ()
            )
            for priority in (0, 50, config.priority, 200):
                sender = VirtualRouter(dataclasses.replace(theirs, priority=priority), peer)
                for destination, message in packets(theirs, sender.advertisement(), peer):
                    yield wrap(message, peer, destination)


def wrap(message: bytes, source: IPAddress, destination: IPAddress) -> bytes:
    """A VRRP message in the IP header a raw socket (or, IPv6, ancillary data) shows."""
    if source.version == 4:
        return ip_packet(message, src=IPv4Address(source), dst=IPv4Address(destination))
    return (
        IPV6_HEADER.pack(
            6 << 28, len(message), VRRP_PROTOCOL, VRRP_TTL, source.packed, destination.packed
        )
        + message
    )


def _config(vrid: int, addresses: tuple[IPAddress, ...], **kw: object) -> RouterConfig:
    prefix = "/64" if addresses and addresses[0].version == 6 else "/24"
    return RouterConfig(
        name=f"VR_{vrid}",
        vrid=vrid,
        interface="eth0",
        addresses=tuple(ip_interface(f"{a}{prefix}") for a in addresses),
        **kw,  # type: ignore[arg-type]
    )


def _addrs(*text: str) -> tuple[IPAddress, ...]:
    return tuple(ip_address(a) for a in text)


def _keepalived_v2() -> Interface:
    """keepalived 2.2.7's VRRPv2 captures, and our own routers beside them."""
    configs = {
        g.expected.vrid: _config(
            g.expected.vrid,
            g.expected.addresses,
            advert_interval=g.expected.advert_interval,
            auth_type=g.expected.auth_type,
            auth_password=g.expected.auth_data,
        )
        for g in keepalived_golden.GOLDEN
    }
    configs |= {
        1: _config(1, _addrs("192.0.2.10"), auth_type=1, auth_password=b"pw", preempt_mode=False),
        2: _config(2, _addrs("192.0.2.20"), priority=255),
        3: _config(
            3, _addrs("192.0.2.30"), priority=150, unicast_peers=(PEER4,), preempt_delay=2.0
        ),
        4: _config(
            4,
            _addrs("192.0.2.40", "192.0.2.41"),
            version=3,
            advert_interval=0.5,
            checksum_ipv4_pseudo_header=False,
        ),
    }
    captured = tuple(
        bytes.fromhex(h) for g in keepalived_golden.GOLDEN for h in (g.running, g.stopped)
    )
    return Interface("v2", IPv4Address("192.0.2.2"), configs, captured)


def _golden_v3(family: int) -> Interface:
    """keepalived's and FRR's VRRPv3 captures of one family, and our own routers."""
    goldens = [g for g in golden_v3.GOLDEN if g.family == family]
    configs = {
        g.vrid: _config(
            g.vrid,
            g.addresses,
            version=3,
            advert_interval=g.max_adver_int / 100,
            checksum_ipv4_pseudo_header=g.pseudo_header,
        )
        for g in goldens
    }
    captured = tuple(bytes.fromhex(h) for g in goldens for h in (g.running, g.stopped) if h)
    if family == 4:
        configs |= {
            5: _config(5, _addrs("192.0.2.50"), priority=120, advert_interval=3),
            6: _config(6, _addrs("192.0.2.60"), version=3, advert_interval=0.05, preempt_delay=1.0),
        }
        return Interface("v3", IPv4Address("192.0.2.2"), configs, captured)
    configs |= {
        7: _config(7, _addrs("2001:db8::7"), version=3, unicast_peers=(PEER6,)),
        8: _config(8, _addrs("2001:db8::8"), version=3, priority=255),
        9: _config(
            9,
            _addrs("2001:db8::9", "2001:db8::19"),
            version=3,
            advert_interval=0.3,
            preempt_mode=False,
        ),
    }
    return Interface("v6", IPv6Address("fe80::2"), configs, captured)


INTERFACES = (_keepalived_v2(), _golden_v3(4), _golden_v3(6))


@dataclass(frozen=True)
class Selector:
    """What an input's first byte picks."""

    interface: Interface
    state: State
    decode_version: int | None
    decode_pseudo: bool  # the direct `decode` call covers the pseudo-header (v3)
    lateness: float

    @staticmethod
    def of(byte: int) -> Selector:
        n = len(INTERFACES)
        rest, interface = divmod(byte, n)
        rest, state = divmod(rest, len(STATES))
        rest, how = divmod(rest, 2 * len(DECODE_VERSIONS))
        return Selector(
            INTERFACES[interface],
            STATES[state],
            DECODE_VERSIONS[how % len(DECODE_VERSIONS)],
            how < len(DECODE_VERSIONS),
            LATENESS[rest % len(LATENESS)],
        )

    @staticmethod
    def in_state(byte: int, state: int) -> int:
        """`byte` with the router state `STATES[state]` instead (the rest as it was)."""
        n = len(INTERFACES)
        rest, interface = divmod(byte, n)
        changed = interface + n * (rest - rest % len(STATES) + state)
        return changed if changed <= 0xFF else byte

    @staticmethod
    def byte(interface: int, state: int) -> int:
        """The selector byte for these (the direct decode: any version, pseudo-header)."""
        return interface + len(INTERFACES) * state


def run(data: bytes, tally: Counter[str] | None = None) -> None:
    """One input through parse, validate (plain and cached), decode and the router."""
    if not data:
        return
    pick = Selector.of(data[0])
    iface = pick.interface
    received = iface.received(data[1:])
    verdict = validate(received, iface.policies, iface.local)
    cache = ReceiveCache()
    for attempt in ("first", "repeat"):  # the repeat may be answered from the cache
        cached = cache.validate(received, iface.policies, iface.local)
        assert cached == verdict, f"ReceiveCache, {attempt}: {cached} != validate's {verdict}"
    _decode_alone(received, pick)
    if isinstance(verdict, Rejected):
        if tally is not None:
            tally[f"rejected {verdict.reason}"] += 1
        return
    assert isinstance(verdict, Accepted)
    advert = verdict.advert
    policy = iface.policies[advert.vrid]
    assert advert.version == policy.version and policy.ipv6 == iface.ipv6, verdict
    router = iface.router(advert.vrid, pick.state)
    now = (router.state_since or START) + pick.lateness
    actions = router.receive(advert, verdict.source, now)
    deadline = router.next_deadline()
    if deadline is not None:
        actions += router.expire(max(deadline, now))
    if tally is not None:
        tally[f"accepted {iface.name} {pick.state}"] += 1
        for a in actions:
            if isinstance(a, StateChanged):
                tally[f"{a.old}->{a.new}"] += 1


def _decode_alone(received: bytes | Datagram, pick: Selector) -> None:
    """`decode` with the selector's arguments: a message or a `DecodeError`, nothing else."""
    got = parse_ipv4(received) if isinstance(received, bytes) else received
    if isinstance(got, Rejected):
        return
    pseudo = b""
    if pick.decode_pseudo and got.source.version == got.destination.version:
        pseudo = pseudo_header(got.source, got.destination, len(got.payload))
    with contextlib.suppress(DecodeError):  # the typed error: a verdict, not a crash
        decode(got.payload, got.source.version == 6, pseudo, pick.decode_version)


def seeds() -> Iterator[bytes]:
    """Every interface's adverts (captured and encoded), in each router state."""
    for i, iface in enumerate(INTERFACES):
        for packet in iface.adverts():
            for s in range(len(STATES)):
                yield bytes([Selector.byte(i, s)]) + packet
