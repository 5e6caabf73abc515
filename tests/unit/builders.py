"""Small builders shared by the unit tests: IPv4 packets around VRRP, router configs."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, ip_interface

from failover.protocol.packet import VRRP_GROUP, VRRP_PROTOCOL, checksum
from failover.protocol.settings import RouterConfig


def ip_packet(
    payload: bytes,
    *,
    src: str | IPv4Address = "192.0.2.2",
    dst: str | IPv4Address = VRRP_GROUP,
    ttl: int = 255,
    proto: int = VRRP_PROTOCOL,
    version: int = 4,
    options: bytes = b"",
    total_len: int | None = None,
) -> bytes:
    """An IPv4 packet as a raw socket hands it over: header (with checksum) + payload."""
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    length = ihl * 4 + len(payload) if total_len is None else total_len
    head = (
        struct.pack(
            "!BBHHHBBH4s4s",
            (version << 4) | ihl,
            0xC0,  # DSCP CS6, as keepalived sends
            length,
            0,
            0,
            ttl,
            proto,
            0,
            IPv4Address(src).packed,
            IPv4Address(dst).packed,
        )
        + options
    )
    csum = checksum(head)
    return head[:10] + struct.pack("!H", csum) + head[12:] + payload


def restamp(vrrp: bytes | bytearray) -> bytes:
    """Recompute the VRRP checksum (bytes 6-7) after editing other fields by hand."""
    data = bytearray(vrrp)
    data[6:8] = b"\x00\x00"
    data[6:8] = struct.pack("!H", checksum(bytes(data)))
    return bytes(data)


def router_config(
    vrid: int = 51,
    priority: int = 100,
    addresses: tuple[str, ...] = ("192.0.2.100/24",),
    **kw: object,
) -> RouterConfig:
    """A RouterConfig with the original sample's shape; keyword overrides for the rest."""
    return RouterConfig(
        name=str(kw.pop("name", f"VR_{vrid}_p{priority}")),
        vrid=vrid,
        interface=str(kw.pop("interface", "eth0")),
        addresses=tuple(ip_interface(a) for a in addresses),
        priority=priority,
        **kw,  # type: ignore[arg-type]
    )
