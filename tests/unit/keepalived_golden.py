"""VRRPv2 advertisements captured from real keepalived 2.2.7 (Debian 12 package).

Captured with scripts/capture_keepalived_golden.py: keepalived ran in a network namespace
on a veth with 192.0.2.1/24, the packets were read on a raw socket (protocol 112) in a
second namespace on the other end, IPv4 header included. `running` is an advert sent
while master, `stopped` the priority-0 advert keepalived sent on SIGTERM. Every config
had `global_defs { router_id fogold  vrrp_version 2 }` and `state MASTER` and
`interface vka` in its vrrp_instance; the rest of each instance is in `config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from failover.protocol.packet import Advertisement, AuthType

SOURCE = IPv4Address("192.0.2.1")  # keepalived's interface address


@dataclass(frozen=True)
class Golden:
    name: str
    config: str  # the vrrp_instance lines that differ between cases
    running: str  # hex, IPv4 header + VRRP
    stopped: str
    expected: Advertisement  # the running advert's fields; `stopped` has priority 0

    @property
    def vrrp_running(self) -> bytes:
        return bytes.fromhex(self.running)[20:]

    @property
    def vrrp_stopped(self) -> bytes:
        return bytes.fromhex(self.stopped)[20:]


def _a(vrid: int, priority: int, *addrs: str, interval: int = 1, pw: bytes = b"") -> Advertisement:
    return Advertisement(
        vrid=vrid,
        priority=priority,
        addresses=tuple(IPv4Address(a) for a in addrs),
        advert_interval=interval,
        auth_type=AuthType.SIMPLE if pw else AuthType.NONE,
        auth_data=pw,
    )


GOLDEN = [
    Golden(
        "no_auth",
        "virtual_router_id 51; priority 100; advert_int 1; virtual_ipaddress { 192.0.2.100/24 }",
        "45c0002800010000ff701891c0000201e0000012213364010001b865c00002640000000000000000",
        "45c0002800030000ff70188fc0000201e00000122133000100011c66c00002640000000000000000",
        _a(51, 100, "192.0.2.100"),
    ),
    Golden(
        "auth_pass",
        "virtual_router_id 52; priority 150; advert_int 1; "
        "authentication { auth_type PASS; auth_pass secret }; "
        "virtual_ipaddress { 192.0.2.101/24 }",
        "45c0002800010000ff701891c0000201e00000122134960101014917c00002657365637265740000",
        "45c0002800030000ff70188fc0000201e0000012213400010101df17c00002657365637265740000",
        _a(52, 150, "192.0.2.101", pw=b"secret"),
    ),
    Golden(
        # keepalived keeps the first 8 characters of a longer auth_pass
        "auth_pass_long",
        "virtual_router_id 53; priority 120; advert_int 1; "
        "authentication { auth_type PASS; auth_pass longpassword }; "
        "virtual_ipaddress { 192.0.2.102/24 }",
        "45c0002800010000ff701891c0000201e0000012213578010101e4b5c00002666c6f6e6770617373",
        "45c0002800030000ff70188fc0000201e00000122135000101015cb6c00002666c6f6e6770617373",
        _a(53, 120, "192.0.2.102", pw=b"longpass"),
    ),
    Golden(
        "three_vips_interval_2",
        "virtual_router_id 54; priority 200; advert_int 2; "
        "virtual_ipaddress { 192.0.2.110/24; 192.0.2.111/24; 192.0.2.112/24 }",
        "45c0003000010000ff701889c0000201e00000122136c8030002cf74"
        "c000026ec000026fc00002700000000000000000",
        "45c0003000030000ff701887c0000201e00000122136000300029775"
        "c000026ec000026fc00002700000000000000000",
        _a(54, 200, "192.0.2.110", "192.0.2.111", "192.0.2.112", interval=2),
    ),
    Golden(
        # keepalived accepts priority 255 for a VIP that is not the interface's address
        "owner_255",
        "virtual_router_id 55; priority 255; advert_int 1; virtual_ipaddress { 192.0.2.120/24 }",
        "45c0002800010000ff701891c0000201e00000122137ff0100011d4dc00002780000000000000000",
        "45c0002800030000ff70188fc0000201e00000122137000100011c4ec00002780000000000000000",
        _a(55, 255, "192.0.2.120"),
    ),
]
