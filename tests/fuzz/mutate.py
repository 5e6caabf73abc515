"""Structure-aware help for the fuzzer: after a random mutation, make the fields a random
byte rarely gets right right again, so mutants reach the checks behind them.

A VRRP message whose checksum does not verify stops at the checksum (RFC 3768 7.1);
so does one whose address count does not match its length, or whose TTL is not 255.
`fix_up` repairs some of these (which, `choice` says) and leaves the rest as mutated,
so the fields behind them (VRID, priority, auth, interval, addresses) get fuzzed too.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address

from failover.protocol.packet import (
    HEADER_LEN,
    VRRP_TTL,
    VRRP_V3,
    IPAddress,
    checksum,
    message_length,
)
from failover.protocol.packet import pseudo_header as make_pseudo_header
from failover.runtime.ndisc import IPV6_HEADER
from tests.fuzz.scenario import Selector

FIX_TTL, FIX_LENGTH, FIX_COUNT, PSEUDO_HEADER = 1, 2, 4, 8
Mutator = Callable[[bytes, int], bytes]  # libFuzzer's (atheris.Mutate): data, max size


def mutate(data: bytes, max_size: int, seed: int, base: Mutator) -> bytes:
    """One mutation of a fuzz input; `seed`'s low bits say which kind, a quarter each:
    `base` on the whole input (raw bytes into the real parse path); the same, then
    `fix_up`; `base` on the VRRP message alone (selector and IP header kept), then
    `fix_up`; new values in the fields the state machine reads (priority, the sender's
    address, the v3 interval), then `fix_up`: an advert the routers accept, mostly."""
    kind, choice = seed & 3, seed >> 2  # libFuzzer's seed: 32 bits, so `choice` has 30
    head = _head_length(data)
    if kind == 0:
        return base(data, max_size)
    if kind == 1 or head is None or head + HEADER_LEN > min(len(data), max_size):
        return fix_up(base(data, max_size), choice)
    if kind == 2:
        return fix_up(data[:head] + base(data[head:], max_size - head), choice | FIX_LENGTH)
    return fix_up(_new_fields(data, head, choice), choice | FIX_COUNT)


def _new_fields(data: bytes, head: int, choice: int) -> bytes:
    """`data` with another priority, and by `choice`'s bits another sender, v3 interval
    and router state (its selector's)."""
    out = bytearray(data)
    if choice & 0x4000000:
        out[0] = Selector.in_state(data[0], (choice >> 27) & 3)
    out[head + 2] = choice & 0xFF  # Priority (RFC 3768 5.3.4, RFC 5798 5.2.4)
    if choice & 0x100:  # the last byte of the IP source: a tie's tie-breaker (6.4.3)
        out[1 + (23 if Selector.of(data[0]).interface.ipv6 else 15)] = (choice >> 9) & 0xFF
    if choice & 0x20000 and out[head] >> 4 == VRRP_V3:  # Max Adver Int (RFC 5798 5.2.7)
        out[head + 4 : head + 6] = ((choice >> 18) & 0xFF).to_bytes(2)  # 0-2.55 s
    return bytes(out)


def _head_length(data: bytes) -> int | None:
    """Bytes before the VRRP message: the selector and the IP header (None: no header)."""
    if len(data) < 2:
        return None
    if Selector.of(data[0]).interface.ipv6:
        return 1 + IPV6_HEADER.size if len(data) > IPV6_HEADER.size else None
    ihl = (data[1] & 0x0F) * 4
    return 1 + ihl if ihl >= 20 and len(data) > ihl else None


def fix_up(data: bytes, choice: int) -> bytes:
    """`data` (a fuzz input: selector byte + packet) with some fields made consistent:
    TTL / Hop Limit 255, the IPv4 total length, the address count, the VRRP checksum
    (over a pseudo-header if v3 and IPv6, or IPv4 and `choice` says). Same length."""
    if len(data) < 2:
        return data
    packet = bytearray(data[1:])
    source: IPAddress
    destination: IPAddress
    if Selector.of(data[0]).interface.ipv6:
        if len(packet) < IPV6_HEADER.size + HEADER_LEN:
            return data
        if choice & FIX_TTL:
            packet[7] = VRRP_TTL
        start, end = IPV6_HEADER.size, len(packet)
        source, destination = IPv6Address(bytes(packet[8:24])), IPv6Address(bytes(packet[24:40]))
        ipv6 = True
    else:
        ihl = (packet[0] & 0x0F) * 4 if packet else 0
        if len(packet) < ihl + HEADER_LEN or ihl < 20:
            return data
        if choice & FIX_TTL:
            packet[8] = VRRP_TTL
        if choice & FIX_LENGTH:
            packet[2:4] = struct.pack("!H", len(packet))
        start, end = ihl, min(len(packet), int.from_bytes(packet[2:4]))
        source, destination = IPv4Address(bytes(packet[12:16])), IPv4Address(bytes(packet[16:20]))
        ipv6 = False
    message = packet[start:end]
    if len(message) < HEADER_LEN:
        return data
    version = message[0] >> 4
    if choice & FIX_COUNT:  # as many addresses as the length holds
        empty = message_length(0, version, ipv6)
        message[3] = min(255, max(0, len(message) - empty) // (16 if ipv6 else 4))
    pseudo = b""
    if version == VRRP_V3 and (ipv6 or choice & PSEUDO_HEADER):
        pseudo = make_pseudo_header(source, destination, len(message))
    message[6:8] = b"\x00\x00"
    message[6:8] = struct.pack("!H", checksum(pseudo + bytes(message)))
    packet[start:end] = message
    return data[:1] + bytes(packet)
