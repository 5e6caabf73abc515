"""RFC 3768 section 7.1: one test per receive rule, on whole IPv4 packets."""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from failover.protocol.packet import Advertisement, AuthType, DropReason, encode
from failover.protocol.receive import Accepted, ReceivePolicy, Rejected, validate

from .builders import ip_packet, restamp

IP = IPv4Address
VIP = IP("192.0.2.100")
PEER = IP("192.0.2.2")
ME = IP("192.0.2.3")

OURS = ReceivePolicy(priority=100, advert_interval=1, addresses=frozenset({VIP}))
SIMPLE = ReceivePolicy(
    priority=100,
    advert_interval=1,
    addresses=frozenset({VIP}),
    auth_type=AuthType.SIMPLE,
    auth_data=b"secret",
)


def advert(**kw: object) -> bytes:
    fields: dict[str, object] = {"vrid": 51, "priority": 110, "addresses": (VIP,)}
    fields.update(kw)
    return encode(Advertisement(**fields))  # type: ignore[arg-type]


def check(packet: bytes, policy: ReceivePolicy = OURS, vrid: int = 51) -> Accepted | Rejected:
    return validate(packet, {vrid: policy}, frozenset({ME}))


def rejected(packet: bytes, reason: DropReason, policy: ReceivePolicy = OURS) -> Rejected:
    got = check(packet, policy)
    assert isinstance(got, Rejected), got
    assert got.reason is reason, got
    return got


def test_accepts_a_good_advert() -> None:
    got = check(ip_packet(advert()))
    assert got == Accepted(PEER, Advertisement(51, 110, (VIP,)))


def test_accepts_priority_zero_from_a_non_owner() -> None:
    """A leaving master's priority-0 advert must reach the state machine (6.4.2)."""
    got = check(ip_packet(advert(priority=0)))
    assert isinstance(got, Accepted)
    assert got.advert.priority == 0


# -- 7.1: MUST verify that the IP TTL is 255 -----------------------------------------------


@pytest.mark.parametrize("ttl", [0, 1, 64, 254])
def test_ttl_not_255_is_dropped(ttl: int) -> None:
    got = rejected(ip_packet(advert(), ttl=ttl), DropReason.BAD_TTL)
    assert (got.source, got.vrid) == (PEER, 51)


# -- 7.1: MUST verify the VRRP version is 2 (and 5.3.2: type 1) -------------------------


@pytest.mark.parametrize("first_byte", [0x31, 0x11, 0x01])
def test_version_not_2_is_dropped(first_byte: int) -> None:
    data = bytearray(advert())
    data[0] = first_byte
    rejected(ip_packet(restamp(data)), DropReason.BAD_VERSION)


def test_type_not_advertisement_is_dropped() -> None:
    data = bytearray(advert())
    data[0] = 0x22
    rejected(ip_packet(restamp(data)), DropReason.BAD_TYPE)


# -- 7.1: MUST verify the packet contains the complete VRRP packet -----------------------


def test_short_vrrp_message_is_dropped() -> None:
    rejected(ip_packet(advert()[:-2]), DropReason.TRUNCATED)


def test_count_larger_than_the_addresses_sent_is_dropped() -> None:
    data = bytearray(advert())
    data[3] = 2
    rejected(ip_packet(restamp(data)), DropReason.TRUNCATED)


def test_ip_total_length_beyond_the_packet_is_dropped() -> None:
    packet = ip_packet(advert())
    rejected(ip_packet(advert(), total_len=len(packet) + 4), DropReason.TRUNCATED)


def test_fewer_bytes_than_an_ip_header_are_dropped() -> None:
    rejected(ip_packet(advert())[:19], DropReason.TRUNCATED)


# -- 7.1: MUST verify the VRRP checksum --------------------------------------------------------


def test_bad_checksum_is_dropped() -> None:
    data = bytearray(advert())
    data[2] = 200  # priority changed in flight, checksum not updated
    got = rejected(ip_packet(bytes(data)), DropReason.BAD_CHECKSUM)
    assert got.vrid == 51


# -- 7.1: MUST verify the VRID is configured on the receiving interface ---------------------


def test_vrid_not_configured_is_dropped() -> None:
    got = rejected(ip_packet(advert(vrid=52)), DropReason.UNKNOWN_VRID)
    assert (got.vrid, got.source) == (52, PEER)


def test_vrid_lookup_uses_the_packets_vrid() -> None:
    policies = {51: OURS, 52: ReceivePolicy(100, 1, frozenset({IP("192.0.2.200")}))}
    got = validate(ip_packet(advert(vrid=52, addresses=(IP("192.0.2.200"),))), policies)
    assert isinstance(got, Accepted)
    assert got.advert.vrid == 52


# -- 7.1: ... and that the local router is not the IP address owner (priority 255) ----------


def test_local_owner_drops_every_advert() -> None:
    owner = ReceivePolicy(priority=255, advert_interval=1, addresses=frozenset({VIP}))
    assert owner.is_owner
    rejected(ip_packet(advert(priority=254)), DropReason.LOCAL_OWNER, owner)
    rejected(ip_packet(advert(priority=255)), DropReason.LOCAL_OWNER, owner)


def test_priority_254_is_not_the_owner() -> None:
    policy = ReceivePolicy(priority=254, advert_interval=1, addresses=frozenset({VIP}))
    assert not policy.is_owner
    assert isinstance(check(ip_packet(advert()), policy), Accepted)


# -- 7.1: MUST verify the Auth Type matches, and perform that authentication -----------------


def test_auth_type_simple_received_without_auth_configured_is_dropped() -> None:
    packet = ip_packet(advert(auth_type=AuthType.SIMPLE, auth_data=b"secret"))
    rejected(packet, DropReason.AUTH_TYPE_MISMATCH, OURS)


def test_auth_type_none_received_with_simple_configured_is_dropped() -> None:
    rejected(ip_packet(advert()), DropReason.AUTH_TYPE_MISMATCH, SIMPLE)


def test_auth_type_ah_is_dropped() -> None:
    rejected(ip_packet(advert(auth_type=AuthType.AH)), DropReason.AUTH_TYPE_MISMATCH, OURS)


def test_password_mismatch_is_dropped() -> None:
    packet = ip_packet(advert(auth_type=AuthType.SIMPLE, auth_data=b"secreT"))
    rejected(packet, DropReason.AUTH_MISMATCH, SIMPLE)


def test_password_prefix_is_not_enough() -> None:
    packet = ip_packet(advert(auth_type=AuthType.SIMPLE, auth_data=b"secre"))
    rejected(packet, DropReason.AUTH_MISMATCH, SIMPLE)


def test_password_match_is_accepted() -> None:
    packet = ip_packet(advert(auth_type=AuthType.SIMPLE, auth_data=b"secret"))
    assert isinstance(check(packet, SIMPLE), Accepted)


def test_no_auth_ignores_auth_data_on_reception() -> None:
    """5.3.6.1: with no authentication the Authentication Data is ignored on reception."""
    data = bytearray(advert())
    data[-8:] = b"garbage!"
    assert isinstance(check(ip_packet(restamp(data))), Accepted)


# -- 7.1: MUST verify the Adver Interval matches the local one ------------------------------


@pytest.mark.parametrize("interval", [2, 0, 255])
def test_interval_mismatch_is_dropped(interval: int) -> None:
    rejected(ip_packet(advert(advert_interval=interval)), DropReason.INTERVAL_MISMATCH)


# -- 7.1: MAY verify the address list; from a non-owner a mismatch MUST be dropped ----------


@pytest.mark.parametrize(
    "addrs",
    [
        (IP("192.0.2.101"),),  # different
        (VIP, IP("192.0.2.101")),  # one more
        (),  # none
    ],
)
def test_address_list_mismatch_from_non_owner_is_dropped(addrs: tuple[IPv4Address, ...]) -> None:
    rejected(ip_packet(advert(addresses=addrs)), DropReason.ADDRESS_MISMATCH)


def test_address_list_mismatch_from_non_owner_at_priority_0_is_dropped() -> None:
    rejected(ip_packet(advert(priority=0, addresses=())), DropReason.ADDRESS_MISMATCH)


def test_address_list_mismatch_from_owner_is_accepted_and_said() -> None:
    """... otherwise continue processing; the event SHOULD be logged (the loop logs it)."""
    got = check(ip_packet(advert(priority=255, addresses=(IP("192.0.2.101"),))))
    assert isinstance(got, Accepted)
    assert got.advert.priority == 255
    assert got.mismatch == "addresses ['192.0.2.101'] differ from ours"


def test_owner_with_our_address_list_is_no_mismatch() -> None:
    got = check(ip_packet(advert(priority=255)))
    assert isinstance(got, Accepted) and got.mismatch is None


def test_address_list_in_another_order_is_the_same_list() -> None:
    a, b = IP("192.0.2.100"), IP("192.0.2.101")
    policy = ReceivePolicy(priority=100, advert_interval=1, addresses=frozenset({a, b}))
    assert isinstance(check(ip_packet(advert(addresses=(b, a))), policy), Accepted)


# -- the IP header around it --------------------------------------------------------------------


def test_ip_version_6_is_dropped() -> None:
    rejected(ip_packet(advert(), version=6), DropReason.BAD_IP_HEADER)


def test_ihl_below_5_is_dropped() -> None:
    packet = bytearray(ip_packet(advert()))
    packet[0] = 0x44
    rejected(bytes(packet), DropReason.BAD_IP_HEADER)


def test_ihl_beyond_the_packet_is_dropped() -> None:
    packet = bytearray(ip_packet(advert()))
    packet[0] = 0x4F  # 60-byte header claimed
    rejected(bytes(packet[:40]), DropReason.BAD_IP_HEADER)


def test_total_length_shorter_than_the_header_is_dropped() -> None:
    rejected(ip_packet(advert(), total_len=12), DropReason.BAD_IP_HEADER)


def test_other_ip_protocol_is_dropped() -> None:
    rejected(ip_packet(advert(), proto=17), DropReason.BAD_PROTOCOL)


def test_ip_options_are_skipped() -> None:
    packet = ip_packet(advert(), options=b"\x94\x04\x00\x00")  # router alert
    assert isinstance(check(packet), Accepted)


def test_link_layer_padding_after_total_length_is_ignored() -> None:
    assert isinstance(check(ip_packet(advert()) + bytes(6)), Accepted)


def test_own_looped_back_advert_is_dropped() -> None:
    got = rejected(ip_packet(advert(), src=ME), DropReason.OWN_ADVERT)
    assert got.source == ME


def test_source_is_reported_for_the_state_machine() -> None:
    got = check(ip_packet(advert(), src="192.0.2.77"))
    assert isinstance(got, Accepted)
    assert got.source == IP("192.0.2.77")


# -- never raises ---------------------------------------------------------------------------------


@given(st.binary(max_size=96), st.integers(0, 255), st.integers(0, 2**16 - 1))
def test_property_validate_never_raises(data: bytes, ttl: int, total_len: int) -> None:
    head = bytearray(ip_packet(b"", ttl=ttl, total_len=total_len))
    for packet in (data, bytes(head) + data):
        assert isinstance(check(packet), Accepted | Rejected)


@given(st.binary(min_size=4, max_size=4))
def test_property_vrrp_bytes_behind_a_valid_header_never_raise(tail: bytes) -> None:
    data = bytearray(advert())
    data[:4] = tail
    got = check(ip_packet(restamp(data)))
    assert isinstance(got, Accepted | Rejected)
    if isinstance(got, Accepted):
        assert struct.unpack("!B", tail[1:2])[0] == 51
