"""The settings one virtual router runs with, as the core needs them (RFC 3768 5.3, 6.1).

Plain frozen dataclasses, standard library only: the loader (`failover.config`) builds
them from the JSON file, tests build them directly, and the core never sees the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface

from failover.protocol.packet import AuthType


@dataclass(frozen=True, slots=True)
class Track:
    """A router's use of a check: `weight` -254..254, 0 = failure is FAULT (tracking.py)."""

    check: str
    weight: int = 0


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """One virtual router: identity (interface, VRID), addresses and RFC 3768 parameters."""

    name: str
    vrid: int  # 5.3.3
    interface: str
    addresses: tuple[IPv4Interface, ...]  # 5.3.9, with the prefix the VIP is added with
    priority: int = 100  # 5.3.4; 255 = the address owner
    advert_interval: int = 1  # 5.3.7, seconds
    preempt_mode: bool = True  # 6.1
    preempt_delay: float = 0.0  # seconds a backup tolerates a lower-priority master
    auth_type: int = AuthType.NONE  # 5.3.6
    auth_password: bytes = b""  # 5.3.10, at most 8 bytes
    track: tuple[Track, ...] = ()  # checks weighed into the effective priority

    @property
    def key(self) -> tuple[str, int]:
        """A virtual router's identity across reloads: its interface and VRID."""
        return self.interface, self.vrid

    @property
    def label(self) -> str:
        """How log lines name a virtual router: `VR_1 vrid=51 eth0`."""
        return f"{self.name} vrid={self.vrid} {self.interface}"
