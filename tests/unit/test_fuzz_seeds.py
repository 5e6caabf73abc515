"""The fuzzer's harness, seeds and mutations (tests/fuzz), checked without atheris: every
seed goes through the harness and is accepted by its router in every state (the fuzzer
starts from adverts that reach the state machine), and the structure-aware mutations
make edited adverts verify again."""

from __future__ import annotations

from collections import Counter

import pytest

from failover.protocol.packet import DropReason
from failover.protocol.receive import Accepted, Rejected, validate
from failover.protocol.router import State
from tests.fuzz.mutate import PSEUDO_HEADER, fix_up, mutate
from tests.fuzz.scenario import INTERFACES, STATES, Selector, run, seeds
from tests.unit import golden_v3, keepalived_golden


def verdict(data: bytes) -> Accepted | Rejected:
    iface = Selector.of(data[0]).interface
    return validate(iface.received(data[1:]), iface.policies, iface.local)


def seed_of(interface: int, capture: str) -> bytes:
    """The fuzz input of one golden capture on harness interface `interface`, BACKUP."""
    return bytes([Selector.byte(interface, STATES.index(State.BACKUP))]) + bytes.fromhex(capture)


def priority_at(seed: bytes) -> int:
    """Where the Priority byte is: selector, IP header (IPv4 without options), 2 bytes."""
    return 1 + (40 if Selector.of(seed[0]).interface.ipv6 else 20) + 2


V2 = seed_of(0, keepalived_golden.GOLDEN[1].running)  # auth_pass: priority 150
V3_IPV4 = seed_of(1, golden_v3.GOLDEN[0].running)  # keepalived, pseudo-header
V3_IPV6 = seed_of(2, next(g for g in golden_v3.GOLDEN if g.family == 6).running)


def test_every_seed_is_accepted_by_its_router_in_every_state() -> None:
    tally: Counter[str] = Counter()
    for seed in seeds():
        run(seed, tally)
    # RFC 3768 7.1: an owner (priority 255) accepts no advert; every other seed is accepted
    assert {k for k in tally if k.startswith("rejected")} == {f"rejected {DropReason.LOCAL_OWNER}"}
    for iface in INTERFACES:
        for state in STATES:
            assert tally[f"accepted {iface.name} {state}"] > 0, (iface.name, state)
    assert tally["BACKUP->MASTER"] > 0 and tally["MASTER->BACKUP"] > 0


def test_the_captures_are_among_the_seeds() -> None:
    inputs = set(seeds())
    assert {V2, V3_IPV4, V3_IPV6} <= inputs


@pytest.mark.parametrize("seed", [V2, V3_IPV6], ids=["v2", "v3_ipv6"])
def test_fix_up_makes_an_edited_advert_verify_again(seed: bytes) -> None:
    edited = bytearray(seed)
    edited[priority_at(seed)] = 201
    broken = verdict(bytes(edited))
    assert isinstance(broken, Rejected) and broken.reason is DropReason.BAD_CHECKSUM
    fixed = verdict(fix_up(bytes(edited), 0))
    assert isinstance(fixed, Accepted) and fixed.advert.priority == 201


def test_fix_up_covers_the_ipv4_pseudo_header_only_when_told() -> None:
    edited = bytearray(V3_IPV4)
    edited[priority_at(V3_IPV4)] = 201
    assert isinstance(verdict(fix_up(bytes(edited), 0)), Rejected)  # the router wants it
    fixed = verdict(fix_up(bytes(edited), PSEUDO_HEADER))
    assert isinstance(fixed, Accepted) and fixed.advert.priority == 201


@pytest.mark.parametrize("priority", [0, 99, 254])
def test_the_field_mutation_sets_the_priority_of_an_accepted_advert(priority: int) -> None:
    def unused(data: bytes, max_size: int) -> bytes:
        raise AssertionError("the field mutation calls no byte mutator")

    got = verdict(mutate(V2, 4096, (priority << 2) | 3, unused))
    assert isinstance(got, Accepted) and got.advert.priority == priority


def test_the_field_mutation_can_put_the_routers_in_another_state() -> None:
    def unused(data: bytes, max_size: int) -> bytes:
        raise AssertionError("the field mutation calls no byte mutator")

    master = STATES.index(State.MASTER)
    got = mutate(V2, 4096, (0x4000000 | master << 27 | 150) << 2 | 3, unused)
    assert Selector.of(got[0]).state is State.MASTER and got[1:] == V2[1:]
    for byte in range(256):
        for state in STATES:
            moved = Selector.of(Selector.in_state(byte, STATES.index(state)))
            assert moved.interface is Selector.of(byte).interface
            assert moved.state is state or Selector.in_state(byte, STATES.index(state)) == byte


def test_the_raw_mutation_is_the_byte_mutator_alone() -> None:
    def reverse(data: bytes, max_size: int) -> bytes:
        return data[::-1]

    assert mutate(V2, 4096, 0, reverse) == V2[::-1]


def test_the_message_mutation_keeps_the_selector_and_the_addresses() -> None:
    def zero(data: bytes, max_size: int) -> bytes:
        return bytes(len(data))

    got = mutate(V2, 4096, 2, zero)
    assert got[0] == V2[0] and got[13:21] == V2[13:21]  # selector; IPv4 source, destination
    assert got[21:] != V2[21:]
