"""The VRRPv2 codec (RFC 3768 section 5) and the RFC 1071 checksum."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.vrrp import VRRP

from failover.protocol.packet import (
    MAX_ADDRESSES,
    Advertisement,
    AuthType,
    DecodeError,
    DropReason,
    checksum,
    decode,
    encode,
)

from .builders import restamp

IP = IPv4Address


def adv(**kw: object) -> Advertisement:
    fields: dict[str, object] = {"vrid": 51, "priority": 100, "addresses": (IP("192.0.2.100"),)}
    fields.update(kw)
    return Advertisement(**fields)  # type: ignore[arg-type]


# -- RFC 1071 checksum ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # RFC 1071 section 3's worked example: sum ddf2, checksum its complement.
        (bytes.fromhex("0001f203f4f5f6f7"), 0x220D),
        # The textbook IPv4 header (checksum field zeroed) -> b861.
        (bytes.fromhex("450000730000400040110000c0a80001c0a800c7"), 0xB861),
        (b"", 0xFFFF),
        (b"\x01", 0xFEFF),  # odd length: padded with a zero byte at the end
        (b"\xff\xff\x00\x01", 0xFFFE),  # end-around carry: ffff + 0001 = 1 0000 -> 0001
        (b"\x80\x00\x80\x00\x80\x00", 0x7FFE),  # 18000 folds to 8001
        (b"\xff\xff\xff\xff\x00\x01", 0xFFFE),  # 1ffff folds to 10000: fold again
    ],
)
def test_checksum_rfc1071_vectors(data: bytes, expected: int) -> None:
    assert checksum(data) == expected


@given(st.binary(max_size=64).filter(lambda b: len(b) % 2 == 0))
def test_checksum_of_data_with_its_checksum_is_zero(data: bytes) -> None:
    csum = checksum(data)
    assert checksum(data + csum.to_bytes(2, "big")) == 0


# -- encoding: field layout (RFC 3768 5.3) --------------------------------------------


def test_encode_field_layout_no_auth() -> None:
    wire = encode(adv())
    assert wire.hex() == (
        "21"  # version 2, type 1 (5.3.1, 5.3.2)
        "33"  # VRID 51
        "64"  # priority 100
        "01"  # count IP addrs
        "00"  # auth type 0
        "01"  # adver int 1 s
        "b865"  # checksum over the VRRP message (5.3.8)
        "c0000264"  # 192.0.2.100
        "0000000000000000"  # auth data: zero without authentication (5.3.10)
    )


def test_encode_auth_simple_is_zero_padded_to_8_bytes() -> None:
    wire = encode(adv(auth_type=AuthType.SIMPLE, auth_data=b"secret"))
    assert wire[4] == 1
    assert wire[-8:] == b"secret\x00\x00"
    assert len(wire) == 8 + 4 + 8


def test_encode_auth_simple_full_8_bytes() -> None:
    assert encode(adv(auth_type=AuthType.SIMPLE, auth_data=b"12345678"))[-8:] == b"12345678"


def test_encode_auth_none_ignores_auth_data() -> None:
    """5.3.6.1: with no authentication the field is zero on transmission."""
    assert encode(adv(auth_data=b"leak"))[-8:] == bytes(8)


def test_encode_several_addresses_in_order() -> None:
    addrs = (IP("192.0.2.110"), IP("198.51.100.7"), IP("203.0.113.255"))
    wire = encode(adv(addresses=addrs, advert_interval=2))
    assert wire[3] == 3
    assert wire[5] == 2
    assert wire[8:20] == b"".join(a.packed for a in addrs)
    assert len(wire) == 8 + 12 + 8
    assert checksum(wire) == 0


def test_encode_priority_zero_and_255() -> None:
    assert encode(adv(priority=0))[2] == 0
    assert encode(adv(priority=255))[2] == 255


@pytest.mark.parametrize(
    "kw",
    [
        {"vrid": 0},
        {"vrid": 256},
        {"priority": -1},
        {"priority": 256},
        {"advert_interval": 256},
        {"auth_type": 256},
        {"auth_data": b"123456789"},
        {"addresses": tuple(IP(0xC0000200 + i % 256) for i in range(MAX_ADDRESSES + 1))},
    ],
)
def test_advertisement_rejects_fields_that_do_not_fit(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        adv(**kw)


# -- decoding ---------------------------------------------------------------------------


def test_decode_fields() -> None:
    got = decode(bytes.fromhex("2133640100 01b865 c0000264 0000000000000000".replace(" ", "")))
    assert got == adv()


def test_decode_auth_simple_strips_padding() -> None:
    got = decode(encode(adv(auth_type=AuthType.SIMPLE, auth_data=b"pw")))
    assert (got.auth_type, got.auth_data) == (AuthType.SIMPLE, b"pw")


@pytest.mark.parametrize(
    "a",
    [
        adv(),
        adv(priority=0),
        adv(priority=255, vrid=255, advert_interval=255),
        adv(addresses=(IP("192.0.2.1"), IP("192.0.2.2"), IP("192.0.2.3"))),
        adv(auth_type=AuthType.SIMPLE, auth_data=b"secret"),
        adv(auth_type=AuthType.SIMPLE, auth_data=b"12345678"),
        adv(addresses=tuple(IP(0xC6336400 + i) for i in range(MAX_ADDRESSES))),
    ],
)
def test_round_trip(a: Advertisement) -> None:
    assert decode(encode(a)) == a


def test_decode_keeps_unknown_auth_type_for_the_receive_check() -> None:
    """Auth type 2 (AH) decodes; rejecting it is 7.1's auth type check, not the codec's."""
    assert decode(encode(adv(auth_type=AuthType.AH))).auth_type == AuthType.AH


# -- every DecodeError reason -------------------------------------------------------------

GOOD = encode(adv())


def edited(offset: int, value: int, data: bytes = GOOD) -> bytes:
    """`data` with one byte replaced and the checksum recomputed."""
    out = bytearray(data)
    out[offset] = value
    return restamp(out)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", DropReason.TRUNCATED),
        (GOOD[:15], DropReason.TRUNCATED),  # less than header + auth data
        (GOOD[:-1], DropReason.TRUNCATED),  # last auth byte missing
        (edited(3, 2), DropReason.TRUNCATED),  # count says 2, only 1 address present
        (edited(3, 0), DropReason.LENGTH_MISMATCH),  # count says 0, 1 address present
        (restamp(GOOD + bytes(4)), DropReason.LENGTH_MISMATCH),  # trailing bytes
        (edited(0, 0x31), DropReason.BAD_VERSION),  # VRRPv3 header
        (edited(0, 0x11), DropReason.BAD_VERSION),  # version 1
        (edited(0, 0x22), DropReason.BAD_TYPE),  # type 2
        (edited(0, 0x20), DropReason.BAD_TYPE),  # type 0
        (GOOD[:6] + b"\x00\x00" + GOOD[8:], DropReason.BAD_CHECKSUM),
        (GOOD[:-1] + b"\x01", DropReason.BAD_CHECKSUM),  # auth data is covered too
        (GOOD[:8] + b"\xc0\x00\x02\x65" + GOOD[12:], DropReason.BAD_CHECKSUM),
        (edited(1, 0), DropReason.UNKNOWN_VRID),  # VRID 0 is never valid
    ],
    ids=lambda v: v.value if isinstance(v, DropReason) else None,
)
def test_decode_error_reasons(data: bytes, reason: DropReason) -> None:
    with pytest.raises(DecodeError) as info:
        decode(data, expected_version=2)
    assert info.value.reason is reason
    assert str(info.value).startswith(reason.value + ": ")


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError)


# -- hypothesis --------------------------------------------------------------------------


@st.composite
def adverts(draw: st.DrawFn) -> Advertisement:
    """Any advertisement the codec must carry unchanged."""
    auth_type = draw(st.one_of(st.just(int(AuthType.SIMPLE)), st.integers(0, 255)))
    auth_data = b""
    if auth_type == AuthType.SIMPLE:
        # trailing zero bytes are padding on the wire, so a password cannot end with one
        auth_data = draw(st.binary(max_size=8).filter(lambda b: not b.endswith(b"\x00")))
    return Advertisement(
        vrid=draw(st.integers(1, 255)),
        priority=draw(st.integers(0, 255)),
        addresses=tuple(draw(st.lists(st.integers(0, 2**32 - 1).map(IP), max_size=MAX_ADDRESSES))),
        advert_interval=draw(st.integers(0, 255)),
        auth_type=auth_type,
        auth_data=auth_data,
    )


@given(adverts())
def test_property_round_trip(a: Advertisement) -> None:
    wire = encode(a)
    assert len(wire) == 16 + 4 * len(a.addresses)
    assert checksum(wire) == 0
    assert decode(wire) == a


def _decode_or_reason(data: bytes) -> Advertisement | DropReason:
    try:
        return decode(data)
    except DecodeError as err:  # anything else propagates and fails the test
        assert isinstance(err.reason, DropReason)
        return err.reason


@given(st.binary(max_size=128))
def test_property_decode_arbitrary_bytes_raises_only_decode_error(data: bytes) -> None:
    _decode_or_reason(data)


@given(
    st.binary(min_size=1, max_size=40),
    st.integers(0, 255),
    st.binary(max_size=1100),
)
def test_property_decode_plausible_headers_raises_only_decode_error(
    head: bytes, count: int, rest: bytes
) -> None:
    """Arbitrary bytes rarely pass the version byte; these start like an advert."""
    data = bytearray(b"\x21" + head[:7].ljust(7, b"\x00") + rest)
    data[3] = count
    got = _decode_or_reason(restamp(data))
    if isinstance(got, Advertisement):
        assert len(got.addresses) == count


@given(adverts(), st.integers(0, 2**16), st.integers(1, 255))
def test_property_any_single_byte_change_is_caught_or_decodes(
    a: Advertisement, where: int, xor: int
) -> None:
    """Changing any one byte of a valid message never lets decode raise anything else,
    and never yields the original advert back (the checksum catches it)."""
    data = bytearray(encode(a))
    data[where % len(data)] ^= xor
    assert _decode_or_reason(bytes(data)) != a


# -- cross-check against scapy's VRRP layer -------------------------------------------------


def scapy_bytes(a: Advertisement) -> bytes:
    auth = a.auth_data.ljust(8, b"\x00") if a.auth_type == AuthType.SIMPLE else bytes(8)
    pkt = VRRP(
        version=2,
        type=1,
        vrid=a.vrid,
        priority=a.priority,
        authtype=a.auth_type,
        adv=a.advert_interval,
        addrlist=[str(x) for x in a.addresses],
        auth1=int.from_bytes(auth[:4], "big"),
        auth2=int.from_bytes(auth[4:], "big"),
    )
    return bytes(pkt)


@pytest.mark.parametrize(
    "a",
    [
        adv(),
        adv(vrid=1, priority=1),
        adv(vrid=255, priority=255, advert_interval=255),
        adv(priority=0),
        adv(addresses=(IP("192.0.2.10"), IP("198.51.100.20"), IP("203.0.113.30"))),
        adv(auth_type=AuthType.SIMPLE, auth_data=b"secret"),
        adv(auth_type=AuthType.SIMPLE, auth_data=b"8bytes!!", priority=0),
        adv(vrid=53, priority=110, advert_interval=3, auth_type=AuthType.SIMPLE, auth_data=b"x"),
    ],
)
def test_encoder_matches_scapy(a: Advertisement) -> None:
    ours = encode(a)
    assert ours == scapy_bytes(a)
    parsed = VRRP(ours)
    assert (parsed.vrid, parsed.priority, parsed.ipcount, parsed.adv) == (
        a.vrid,
        a.priority,
        len(a.addresses),
        a.advert_interval,
    )


@given(adverts())
def test_property_encoder_matches_scapy(a: Advertisement) -> None:
    assert encode(a) == scapy_bytes(a)
