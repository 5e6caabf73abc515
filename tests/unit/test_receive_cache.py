"""ReceiveCache: the same verdict as `validate`, without decoding a repeated advert."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address, IPv6Address
from unittest import mock

from hypothesis import given
from hypothesis import strategies as st

from failover.protocol import receive
from failover.protocol.packet import (
    VRRP_GROUP6,
    Advertisement,
    encode,
    message_length,
    pseudo_header,
)
from failover.protocol.receive import Accepted, Datagram, ReceiveCache, ReceivePolicy, validate

from .builders import ip_packet

VIP = IPv4Address("192.0.2.100")
PEER, ME = IPv4Address("192.0.2.2"), IPv4Address("192.0.2.3")
POLICY = ReceivePolicy(priority=100, advert_interval=1, addresses=frozenset({VIP}))
LOCAL = frozenset({ME})
GOOD = ip_packet(encode(Advertisement(51, 150, (VIP,))), src=PEER)


def test_a_repeat_is_not_decoded_again() -> None:
    cache = ReceiveCache()
    first = cache.validate(GOOD, {51: POLICY}, LOCAL)
    assert isinstance(first, Accepted)
    with mock.patch.object(receive, "validate", side_effect=AssertionError("decoded")):
        again = bytearray(GOOD)
        again[4:6] = b"\x12\x34"  # another IP ID: the same advert
        assert cache.validate(bytes(again), {51: POLICY}, LOCAL) is first


def test_a_new_policy_or_local_set_goes_the_whole_way() -> None:
    cache = ReceiveCache()
    assert isinstance(cache.validate(GOOD, {51: POLICY}, LOCAL), Accepted)
    stricter = dataclasses.replace(POLICY, addresses=frozenset({IPv4Address("192.0.2.101")}))
    assert not isinstance(cache.validate(GOOD, {51: stricter}, LOCAL), Accepted)
    assert not isinstance(cache.validate(GOOD, {51: POLICY}, frozenset({PEER})), Accepted)
    assert isinstance(cache.validate(GOOD, {51: POLICY}, LOCAL), Accepted)


def test_ipv6_datagrams_are_remembered_too() -> None:
    vip6, src = IPv6Address("2001:db8::100"), IPv6Address("fe80::2")
    adv = Advertisement(61, 150, (vip6,), 100, version=3)
    payload = encode(adv, pseudo_header(src, VRRP_GROUP6, message_length(1, 3, True)))
    policy = ReceivePolicy(100, 100, frozenset({vip6}), version=3, ipv6=True)
    cache = ReceiveCache()
    first = cache.validate(Datagram(src, VRRP_GROUP6, 255, payload), {61: policy})
    assert isinstance(first, Accepted)
    assert cache.validate(Datagram(src, VRRP_GROUP6, 255, payload), {61: policy}) is first
    low = cache.validate(Datagram(src, VRRP_GROUP6, 254, payload), {61: policy})
    assert not isinstance(low, Accepted)  # the hop limit is part of what is remembered


@given(st.binary(min_size=0, max_size=60), st.integers(0, 59), st.integers(0, 255))
def test_same_verdict_as_validate_for_any_edit(tail: bytes, at: int, value: int) -> None:
    cache = ReceiveCache()
    cache.validate(GOOD, {51: POLICY}, LOCAL)  # remembered
    edited = bytearray(GOOD + tail)
    if at < len(edited):
        edited[at] = value
    packet = bytes(edited)
    assert cache.validate(packet, {51: POLICY}, LOCAL) == validate(packet, {51: POLICY}, LOCAL)
