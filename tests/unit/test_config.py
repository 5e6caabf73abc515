"""The JSON config: the original failover's format, defaults, ranges and error wording."""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv4Interface
from pathlib import Path
from typing import Any

import pytest

from failover.config import (
    Config,
    ConfigError,
    Settings,
    load,
    parse,
    parse_text,
)
from failover.protocol.packet import AuthType
from failover.protocol.settings import RouterConfig

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-vrrp-config.json"
BASE: dict[str, Any] = {"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.10/24"]}


def errors_of(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(data)
    assert str(info.value) == "\n".join(info.value.errors)
    return info.value.errors


def one_error(**kw: Any) -> str:
    """The single error for one router object with `kw` over BASE (None deletes a key)."""
    item = {k: v for k, v in {**BASE, **kw}.items() if v is not None}
    errors = errors_of({"virtual_routers": [item]})
    assert len(errors) == 1, errors
    return errors[0]


# -- the original's forms, unchanged -----------------------------------------------------------


def test_original_sample_array_form_is_accepted() -> None:
    config = load(SAMPLE)
    assert [(r.name, r.vrid, r.interface, r.priority) for r in config.routers] == [
        ("VR_1", 51, "wlo1", 101),
        ("VR_2", 53, "wlo1", 110),
    ]
    assert config.routers[0].addresses == (IPv4Interface("192.168.100.100/24"),)
    assert all(r.advert_interval == 1 and r.preempt_mode for r in config.routers)
    assert config.settings == Settings()


def test_original_sample_same_address_twice_is_a_warning_not_an_error() -> None:
    assert load(SAMPLE).warnings == (
        "[1].ip_addresses: 192.168.100.100 on wlo1 is also in VR_1; "
        "it stays while either router is master",
    )


def test_single_object_form_is_accepted() -> None:
    sample = json.loads(SAMPLE.read_text())
    config = parse(sample[0])
    assert config.routers == load(SAMPLE).routers[:1]


def test_object_form_with_virtual_routers_and_settings() -> None:
    config = parse(
        {
            "virtual_routers": [BASE, {**BASE, "vrid": 2}],
            "control_socket": "/tmp/fo.sock",
            "garp_repeat": 5,
            "garp_delay": 1,
        }
    )
    assert [r.vrid for r in config.routers] == [1, 2]
    assert config.settings == Settings(control_socket="/tmp/fo.sock", garp_repeat=5, garp_delay=1.0)


def test_defaults() -> None:
    (r,) = parse(BASE).routers
    assert r == RouterConfig(
        name="VR_1_eth0",
        vrid=1,
        interface="eth0",
        addresses=(IPv4Interface("192.0.2.10/24"),),
        priority=100,
        advert_interval=1,
        preempt_mode=True,
        preempt_delay=0.0,
        auth_type=AuthType.NONE,
        auth_password=b"",
    )
    assert parse(BASE).settings == Settings(
        control_socket="/run/failover/failover.sock", garp_repeat=3, garp_delay=0.2
    )


def test_config_is_frozen() -> None:
    config = parse(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.routers[0].priority = 1  # type: ignore[misc]
    assert isinstance(config, Config)


def test_version_2_is_the_default_and_3_is_accepted() -> None:
    assert parse(BASE).routers[0].version == 2
    assert parse({**BASE, "version": 3}).routers[0].version == 3
    assert one_error(version=4) == "virtual_routers[0].version: must be 2 or 3 (got 4)"
    assert one_error(version="2") == 'virtual_routers[0].version: must be 2 or 3 (got "2")'
    assert one_error(version=2.0) == "virtual_routers[0].version: must be 2 or 3 (got 2.0)"


# -- ranges and types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("vrid", 0, "must be at least 1 (got 0)"),
        ("vrid", 256, "must be at most 255 (got 256)"),
        ("vrid", 1.0, "must be a whole number (got 1.0)"),
        ("vrid", "51", 'must be a whole number (got "51")'),
        ("vrid", True, "must be a whole number (got true)"),
        ("priority", 0, "must be at least 1 (got 0)"),
        ("priority", 256, "must be at most 255 (got 256)"),
        ("priority", False, "must be a whole number (got false)"),
        ("advert_interval", 0, "must be a positive number of seconds (got 0)"),
        (
            "advert_interval",
            256,
            "must be whole seconds from 1 to 255 with version 2 (got 256); "
            'fractions of a second need "version": 3',
        ),
        (
            "advert_interval",
            0.5,
            "must be whole seconds from 1 to 255 with version 2 (got 0.5); "
            'fractions of a second need "version": 3',
        ),
        ("preempt_mode", "true", 'must be true or false (got "true")'),
        ("preempt_mode", 1, "must be true or false (got 1)"),
        ("preempt_mode", None, None),  # absent: fine
        ("preempt_delay", -1, "must be at least 0 (got -1)"),
        ("preempt_delay", 3601, "must be at most 3600 (got 3601)"),
        ("preempt_delay", True, "must be a number (got true)"),
        ("name", "", 'must be a non-empty string (got "")'),
        ("name", 7, "must be a non-empty string (got 7)"),
        ("interface_name", "eth 0", 'is not a valid interface name (got "eth 0")'),
        ("interface_name", "a" * 16, f'is not a valid interface name (got "{"a" * 16}")'),
        ("interface_name", None, "is required"),
        ("vrid", None, "is required"),
        ("ip_addresses", None, "is required"),
    ],
)
def test_field_errors(key: str, value: Any, message: str | None) -> None:
    item = {k: v for k, v in {**BASE, key: value}.items() if v is not None}
    if message is None:
        assert parse(item).routers
    else:
        assert errors_of([item]) == [f"[0].{key}: {message}"]


@pytest.mark.parametrize(
    ("key", "lo", "hi"), [("vrid", 1, 255), ("priority", 1, 255), ("advert_interval", 1, 255)]
)
def test_range_bounds_are_inclusive(key: str, lo: int, hi: int) -> None:
    for value in (lo, hi):
        (r,) = parse({**BASE, key: value}).routers
        assert getattr(r, key) == value


def test_priority_255_the_address_owner_is_allowed_for_any_address() -> None:
    """As keepalived allows it: the owner rule is about behaviour (RFC 3768 5.3.4)."""
    (r,) = parse({**BASE, "priority": 255}).routers
    assert r.priority == 255


def test_unknown_key_in_a_router() -> None:
    assert one_error(colour="red") == (
        "virtual_routers[0].colour: is not a known key (see the README's config reference)"
    )


def test_unknown_top_level_setting() -> None:
    assert errors_of({"virtual_routers": [BASE], "garp_repat": 2}) == [
        "garp_repat: is not a known key (see the README's config reference)"
    ]


def test_settings_ranges() -> None:
    assert errors_of({"virtual_routers": [BASE], "garp_repeat": 0, "garp_delay": 61}) == [
        "garp_repeat: must be at least 1 (got 0)",
        "garp_delay: must be at most 60 (got 61)",
    ]


# -- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "ip_addresses: must be a non-empty list of addresses like 192.0.2.10/24"),
        ("192.0.2.10/24", "ip_addresses: must be a non-empty list of addresses like 192.0.2.10/24"),
        (
            ["192.0.2.10"],
            "ip_addresses[0]: must be an IP address with prefix length, "
            'e.g. 192.0.2.10/24 or 2001:db8::10/64 (got "192.0.2.10")',
        ),
        (
            ["192.0.2.0/24"],
            "ip_addresses[0]: 192.0.2.0 is the network or broadcast address of 192.0.2.0/24",
        ),
        (
            ["192.0.2.255/24"],
            "ip_addresses[0]: 192.0.2.255 is the network or broadcast address of 192.0.2.0/24",
        ),
        (["224.0.0.18/24"], "ip_addresses[0]: 224.0.0.18 cannot be a virtual address"),
        (["127.0.0.2/8"], "ip_addresses[0]: 127.0.0.2 cannot be a virtual address"),
        (["169.254.1.1/16"], "ip_addresses[0]: 169.254.1.1 cannot be a virtual address"),
        (["192.0.2.5/24", "192.0.2.5/32"], "ip_addresses: lists 192.0.2.5 more than once"),
    ],
)
def test_address_errors(value: Any, message: str) -> None:
    assert errors_of({**BASE, "ip_addresses": value}) == [message]


def test_bad_address_text_names_the_item() -> None:
    (error,) = errors_of({**BASE, "ip_addresses": ["192.0.2.1/24", "300.1.1.1/24"]})
    assert error.startswith("ip_addresses[1]: is not an IPv4 address/prefix (")


def test_every_bad_address_is_reported() -> None:
    errors = errors_of({**BASE, "ip_addresses": ["x", "192.0.2.1/24", "y/24"]})
    assert [e.split(":")[0] for e in errors] == ["ip_addresses[0]", "ip_addresses[2]"]


def test_address_count_fits_one_advertisement() -> None:
    many = [f"198.51.100.{i}/32" for i in range(1, 256)]
    assert len(parse({**BASE, "ip_addresses": many}).routers[0].addresses) == 255
    assert errors_of({**BASE, "ip_addresses": [*many, "203.0.113.1/32"]}) == [
        "ip_addresses: at most 255 addresses fit one advertisement (got 256)"
    ]


def test_slash_31_and_32_have_no_network_or_broadcast_address() -> None:
    config = parse({**BASE, "ip_addresses": ["192.0.2.0/31", "192.0.2.255/32"]})
    assert len(config.routers[0].addresses) == 2


# -- authentication ----------------------------------------------------------------------------


def test_simple_auth_with_password() -> None:
    (r,) = parse({**BASE, "auth_type": "simple", "auth_password": "12345678"}).routers
    assert (r.auth_type, r.auth_password) == (AuthType.SIMPLE, b"12345678")


def test_keepalived_spelling_pass_means_simple() -> None:
    (r,) = parse({**BASE, "auth_type": "PASS", "auth_password": "x"}).routers
    assert r.auth_type == AuthType.SIMPLE


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"auth_type": "simple"}, "auth_password: is required with simple auth"),
        ({"auth_password": "secret"}, 'auth_password: set auth_type to "simple" to use it'),
        (
            {"auth_type": "simple", "auth_password": "123456789"},
            "auth_password: must be at most 8 bytes, the size of the Authentication Data "
            "field (got 9)",
        ),
        (
            {"auth_type": "simple", "auth_password": "ééééé"},  # 5 characters, 10 bytes
            "auth_password: must be at most 8 bytes, the size of the Authentication Data "
            "field (got 10)",
        ),
        ({"auth_type": "simple", "auth_password": ""}, "auth_password: must be a non-empty string"),
        (
            {"auth_type": "ah"},
            'auth_type: must be "none" or "simple" (RFC 3768 5.3.6; got "ah"); '
            "IP Authentication Header is not part of VRRPv2 since RFC 3768",
        ),
    ],
)
def test_auth_errors(kw: dict[str, Any], message: str) -> None:
    assert one_error(**kw) == f"virtual_routers[0].{message}"


# -- across routers ----------------------------------------------------------------------------


def test_duplicate_vrid_on_one_interface() -> None:
    errors = errors_of([{**BASE, "name": "a"}, {**BASE, "name": "b"}])
    assert errors == ["[1].vrid: vrid 1 on eth0 is already used by [0]"]


def test_same_vrid_on_another_interface_is_fine() -> None:
    config = parse([BASE, {**BASE, "interface_name": "eth1"}])
    assert [r.name for r in config.routers] == ["VR_1_eth0", "VR_1_eth1"]


def test_duplicate_names() -> None:
    errors = errors_of(
        {"virtual_routers": [{**BASE, "name": "x"}, {**BASE, "vrid": 2, "name": "x"}]}
    )
    assert errors == ["virtual_routers[1].name: 'x' is already used by virtual_routers[0]"]


# -- wording and completeness of errors --------------------------------------------------------


def test_error_names_place_and_problem() -> None:
    errors = errors_of({"virtual_routers": [BASE, {**BASE, "vrid": 300}]})
    assert errors == ["virtual_routers[1].vrid: must be at most 255 (got 300)"]


def test_all_errors_at_once() -> None:
    errors = errors_of(
        [
            {**BASE, "vrid": 0, "priority": 256, "preempt_mode": "yes", "extra": 1},
            {"vrid": 2},
            {**BASE, "vrid": 3, "auth_type": "simple"},
            {**BASE, "advert_interval": 0, "vrid": 4},
        ]
    )
    # routers in file order; within one router voluptuous's order varies between runs
    assert [e[:3] for e in errors] == ["[0]"] * 4 + ["[1]"] * 2 + ["[2]", "[3]"]
    assert sorted(errors) == sorted(
        [
            "[0].vrid: must be at least 1 (got 0)",
            "[0].priority: must be at most 255 (got 256)",
            '[0].preempt_mode: must be true or false (got "yes")',
            "[0].extra: is not a known key (see the README's config reference)",
            "[1].interface_name: is required",
            "[1].ip_addresses: is required",
            "[2].auth_password: is required with simple auth",
            "[3].advert_interval: must be a positive number of seconds (got 0)",
        ]
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "(top level): must list at least one virtual router"),
        ({"virtual_routers": []}, "virtual_routers: must list at least one virtual router"),
        ({"virtual_routers": {}}, "virtual_routers: must be a list of virtual routers"),
        (3, "(top level): must be a list of virtual routers or an object"),
        ("x", "(top level): must be a list of virtual routers or an object"),
        ([1], "[0]: must be an object"),
    ],
)
def test_top_level_shape_errors(data: Any, message: str) -> None:
    assert errors_of(data) == [message]


@pytest.mark.parametrize(
    ("data", "found"), [({}, "none"), ({"routers": [], "garp_repeat": 3}, "garp_repeat, routers")]
)
def test_an_object_without_routers_points_at_virtual_routers(
    data: dict[str, Any], found: str
) -> None:
    (message,) = errors_of(data)
    assert message.startswith("(top level): no virtual router: list them under `virtual_routers`")
    assert message.endswith(f"(keys found: {found})")
    example = json.loads(message[message.index("{") : message.rindex("}") + 1])
    assert parse(example).routers[0].vrid == 51  # the hint itself is a valid config


def test_invalid_json() -> None:
    with pytest.raises(ConfigError) as info:
        parse_text('[\n  {"vrid": 1,}\n]')
    assert info.value.errors == [
        "line 2 column 14: invalid JSON: Expecting property name enclosed in double quotes"
    ]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as info:
        load(missing)
    assert info.value.errors == [f"{missing}: cannot read: No such file or directory"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"name": "caf\xe9"}')
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.errors == [f"{path}: not UTF-8 text"]
