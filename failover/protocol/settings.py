"""The settings one virtual router runs with, as the core needs them (RFC 3768 5.3, 6.1;
RFC 5798 5.2, 6.1 for VRRPv3).

Plain frozen dataclasses, standard library only: the loader (`failover.config`) builds
them from the JSON file, tests build them directly, and the core never sees the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface

from failover.protocol.packet import VRRP_VERSION, AuthType, IPAddress


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """A health check, defined once and tracked by any number of routers (tracking.py).

    `kind` says which fields apply: exec (command, user), tcp (host, port), http (url,
    expect_status), file (path), interface (interface).
    """

    name: str
    kind: str
    interval: float = 1.0  # seconds between runs (polled kinds)
    timeout: float = 1.0
    rise: int = 1  # consecutive successes to count as healthy again
    fall: int = 1  # consecutive failures to count as failing
    command: tuple[str, ...] = ()
    user: str | None = None
    host: str = ""
    port: int = 0
    url: str = ""
    expect_status: tuple[int, int] = (200, 299)
    path: str = ""
    interface: str = ""


@dataclass(frozen=True, slots=True)
class SyncGroupConfig:
    """Routers (by name) that change state together; `notify` hears the group's events."""

    name: str
    routers: tuple[str, ...]
    notify: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Track:
    """A router's use of a check: `weight` -254..254, 0 = failure is FAULT (tracking.py)."""

    check: str
    weight: int = 0


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """One virtual router: identity (interface, VRID, family), addresses and parameters.

    One address family per router (RFC 5798 says so); IPv6 needs version 3.
    """

    name: str
    vrid: int  # 5.3.3
    interface: str
    addresses: tuple[IPv4Interface | IPv6Interface, ...]  # 5.3.9, with prefix; one family
    priority: int = 100  # 5.3.4; 255 = the address owner
    advert_interval: float = 1  # 5.3.7, seconds: whole (v2), 0.01 steps (v3, 5.2.7)
    version: int = VRRP_VERSION
    checksum_ipv4_pseudo_header: bool = True  # v3 over IPv4 (packet.py); False: RFC 9568
    unicast_peers: tuple[IPAddress, ...] = ()  # adverts go to these instead of the group
    unicast_source: IPAddress | None = None  # adverts' source then (else the primary)
    use_vmac: bool = False  # a macvlan with the virtual MAC (RFC 5798 7.3) holds the VIPs
    preempt_mode: bool = True  # 6.1
    preempt_delay: float = 0.0  # seconds a backup tolerates a lower-priority master
    auth_type: int = AuthType.NONE  # 5.3.6
    auth_password: bytes = field(default=b"", repr=False)  # 5.3.10, 8 bytes; never logged
    track: tuple[Track, ...] = ()  # checks weighed into the effective priority
    notify: tuple[str, ...] = ()  # a hook (argv) told of each state change

    @property
    def family(self) -> int:
        """4 or 6: the family of its addresses (IPv4 when it has none)."""
        return self.addresses[0].version if self.addresses else 4

    @property
    def key(self) -> tuple[str, int]:
        """A virtual router's identity across reloads: its interface and VRID."""
        return self.interface, self.vrid

    @property
    def label(self) -> str:
        """How log lines name a virtual router: `VR_1 vrid=51 eth0`."""
        return f"{self.name} vrid={self.vrid} {self.interface}"
