"""Pure helpers of the lab: reply gaps, ICMP encoding and parsing, address spellings."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv4Interface

import pytest

from failover.lab.lab import as_ip
from failover.lab.probe import checksum, echo_request, longest_gap, parse_reply


def test_longest_gap_between_replies() -> None:
    replies = [10.00, 10.01, 10.02, 13.52, 13.53]
    gap, began = longest_gap(replies, 10.0, 13.6)
    assert gap == pytest.approx(3.50)
    assert began == pytest.approx(10.02)


def test_edges_count_and_no_reply_is_one_gap() -> None:
    assert longest_gap([], 5.0, 7.5) == (2.5, 5.0)
    gap, began = longest_gap([1.0, 1.1], 1.0, 4.0)  # never came back
    assert gap == pytest.approx(2.9)
    assert began == 1.1


def test_replies_outside_the_window_are_ignored() -> None:
    gap, _ = longest_gap([0.5, 2.0, 2.1, 9.0], 1.9, 2.2)
    assert gap == pytest.approx(0.1)


def test_unsorted_replies() -> None:
    assert longest_gap([3.0, 1.0, 2.0], 1.0, 3.0)[0] == pytest.approx(1.0)


def test_checksum_rfc1071_example() -> None:
    # RFC 1071 section 3: the one's complement sum of these words is 0xddf2
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert checksum(data) == ~0xDDF2 & 0xFFFF
    assert checksum(data + struct.pack("!H", checksum(data))) == 0


def test_echo_request_is_valid_icmp() -> None:
    packet = echo_request(0x1234, 7, b"abc")
    assert packet[0] == 8 and packet[1] == 0
    assert struct.unpack("!HH", packet[4:8]) == (0x1234, 7)
    assert checksum(packet) == 0  # odd-length payload padded


def _reply(ident: int, seq: int, kind: int = 0) -> bytes:
    ip = bytes([0x45]) + bytes(19)
    return ip + struct.pack("!BBHHH", kind, 0, 0, ident, seq) + b"x"


def test_parse_reply_matches_our_ident_only() -> None:
    assert parse_reply(_reply(0x1234, 9), 0x1234) == 9
    assert parse_reply(_reply(0x4321, 9), 0x1234) is None
    assert parse_reply(_reply(0x1234, 9, kind=8), 0x1234) is None  # a request
    assert parse_reply(b"\x45" + bytes(10), 0x1234) is None  # truncated


@pytest.mark.parametrize(
    "address",
    ["192.0.2.254", "192.0.2.254/24", IPv4Interface("192.0.2.254/24"), IPv4Address("192.0.2.254")],
)
def test_as_ip_takes_every_spelling(address: str | IPv4Address) -> None:
    ip = as_ip(address)
    assert ip == IPv4Address("192.0.2.254") and type(ip) is IPv4Address
