"""Golden VRRPv3 adverts from keepalived 2.2.7 and FRR 8.4 (tests/unit/golden_v3.py):
decoded by our codec and validator with the fields their config says, and re-encoded
byte for byte, priority-0 adverts too."""

from __future__ import annotations

import dataclasses

import pytest

from failover.protocol.packet import Advertisement, decode, encode, message_length, pseudo_header
from failover.protocol.receive import Accepted, Datagram, ReceivePolicy, validate

from .golden_v3 import GOLDEN, Golden


def head(g: Golden, message: bytes) -> bytes:
    if not g.pseudo_header:
        return b""
    count = message[3]
    return pseudo_header(g.source, g.destination, message_length(count, 3, g.family == 6))


def expected(g: Golden, priority: int | None = None) -> Advertisement:
    return Advertisement(
        g.vrid, g.priority if priority is None else priority, g.addresses, g.max_adver_int,
        version=3,
    )  # fmt: skip


@pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.name)
def test_decoded_and_reproduced_byte_for_byte(g: Golden) -> None:
    message = g.vrrp_running
    advert = decode(message, g.family == 6, head(g, message), expected_version=3)
    assert advert == expected(g)
    assert encode(advert, head(g, message)) == message


@pytest.mark.parametrize("g", [g for g in GOLDEN if g.stopped], ids=lambda g: g.name)
def test_the_priority_zero_advert_on_stop(g: Golden) -> None:
    message = g.vrrp_stopped
    assert message is not None
    advert = decode(message, g.family == 6, head(g, message), expected_version=3)
    assert advert == expected(g, priority=0)
    assert encode(advert, head(g, message)) == message


@pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.name)
def test_accepted_by_a_v3_router_of_the_same_group(g: Golden) -> None:
    policy = ReceivePolicy(
        priority=50,
        advert_interval=100,
        addresses=frozenset(g.addresses),
        version=3,
        pseudo_header=g.pseudo_header,
        ipv6=g.family == 6,
    )
    whole = bytes.fromhex(g.running)
    packet: bytes | Datagram = (
        Datagram(g.source, g.destination, whole[7], g.vrrp_running) if g.family == 6 else whole
    )
    got = validate(packet, {g.vrid: policy})
    assert isinstance(got, Accepted), got
    assert got.source == g.source and got.advert == expected(g)
    other = dataclasses.replace(policy, pseudo_header=not g.pseudo_header)
    if g.family == 4:  # the other IPv4 checksum setting refuses it
        assert not isinstance(validate(packet, {g.vrid: other}), Accepted)
