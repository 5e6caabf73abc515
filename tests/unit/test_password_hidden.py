"""The simple-auth password (RFC 3768 5.3.10) is in no repr, error or summary line."""

from __future__ import annotations

import dataclasses
from ipaddress import IPv4Address
from typing import Any

import pytest

from failover.cli import describe_router
from failover.config import ConfigError, parse
from failover.daemon.reload import describe_change
from failover.protocol.packet import Advertisement, AuthType
from failover.protocol.receive import ReceivePolicy

SECRET = "s3cr3tPw"
ROUTER: dict[str, Any] = {
    "vrid": 1,
    "interface_name": "eth0",
    "ip_addresses": ["192.0.2.10/24"],
    "auth_type": "simple",
    "auth_password": SECRET,
}


def test_reprs_and_summaries_leave_it_out() -> None:
    rc = parse([ROUTER]).routers[0]
    assert rc.auth_password == SECRET.encode()
    adv = Advertisement(1, 100, (IPv4Address("192.0.2.10"),), 1, AuthType.SIMPLE, rc.auth_password)
    policy = ReceivePolicy(100, 1, frozenset(), AuthType.SIMPLE, rc.auth_password)
    changed = dataclasses.replace(rc, auth_password=b"other")
    for text in (
        repr(rc),
        repr(adv),
        repr(policy),
        describe_router(rc),
        describe_change(rc, changed),
    ):
        assert SECRET not in text and repr(SECRET.encode()) not in text
    assert describe_change(rc, changed) == "authentication"


@pytest.mark.parametrize(
    "router",
    [
        {**ROUTER, "auth_password": SECRET + "-too-long"},
        {**ROUTER, "auth_type": "none"},  # a password without simple auth
        {**ROUTER, "vrid": 0},
        {**{k: v for k, v in ROUTER.items() if k != "auth_password"}, "auth_pass": SECRET},
    ],
)
def test_config_errors_do_not_echo_it(router: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        parse([router])
    assert SECRET not in str(err.value)
