"""Our codec against advertisements captured from real keepalived 2.2.7."""

from __future__ import annotations

import dataclasses

import pytest

from failover.protocol.packet import VRRP_GROUP, decode, encode
from failover.protocol.receive import Accepted, ReceivePolicy, validate

from .keepalived_golden import GOLDEN, SOURCE, Golden

cases = pytest.mark.parametrize("g", GOLDEN, ids=lambda g: g.name)


@cases
def test_golden_decodes_to_config_fields(g: Golden) -> None:
    assert decode(g.vrrp_running) == g.expected


@cases
def test_golden_stop_advert_is_priority_zero(g: Golden) -> None:
    assert decode(g.vrrp_stopped) == dataclasses.replace(g.expected, priority=0)


@cases
def test_our_encoder_produces_keepalived_bytes(g: Golden) -> None:
    assert encode(g.expected) == g.vrrp_running  # checksum included
    assert encode(dataclasses.replace(g.expected, priority=0)) == g.vrrp_stopped


@cases
def test_golden_ip_header_is_what_rfc_3768_5_2_requires(g: Golden) -> None:
    ip = bytes.fromhex(g.running)
    assert ip[8] == 255  # 5.2.3 TTL
    assert ip[9] == 112  # 5.2.4 protocol
    assert ip[12:16] == SOURCE.packed  # 5.2.1 source: the primary address
    assert ip[16:20] == VRRP_GROUP.packed  # 5.2.2 destination 224.0.0.18


@cases
def test_golden_passes_receive_validation(g: Golden) -> None:
    e = g.expected
    policy = ReceivePolicy(
        priority=100 if e.priority == 255 else e.priority + 1,  # we are not the owner
        advert_interval=e.advert_interval,
        addresses=frozenset(e.addresses),
        auth_type=e.auth_type,
        auth_data=e.auth_data,
    )
    for packet in (g.running, g.stopped):
        got = validate(bytes.fromhex(packet), {e.vrid: policy})
        assert isinstance(got, Accepted), got
        assert got.source == SOURCE
