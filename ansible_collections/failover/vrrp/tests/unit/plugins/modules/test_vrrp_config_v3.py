"""vrrp_config carries VRRPv3, IPv6, unicast and vmac keys, and refuses wrong ones first."""

from __future__ import annotations

import json

import pytest

from ansible_collections.failover.vrrp.plugins.modules import vrrp_config
from ansible_collections.failover.vrrp.tests.unit.plugins.modules.test_vrrp_config import (
    ROUTER,
    args,
    needs_failover,
)

V6 = {
    "name": "gw6",
    "vrid": 61,
    "interface": "eth0",
    "addresses": ["fe80::61/64", "2001:db8::61/64"],
    "version": 3,
    "advert_interval": 0.1,
    "unicast_peers": ["fe80::12", "fe80::13"],
}
V4 = {
    "name": "gw",
    "vrid": 51,
    "interface": "eth0",
    "addresses": ["192.0.2.254/24"],
    "version": 3,
    "advert_interval": 1.0,
    "unicast_peers": ["192.0.2.12"],
    "unicast_source": "192.0.2.11",
    "use_vmac": True,
    "checksum_ipv4_pseudo_header": False,
}
OWN = ["192.0.2.11/24", "2001:db8::11/64", "fe80::11/64"]


@pytest.fixture
def host_addresses(monkeypatch):
    """This host's addresses as vrrp_config reads them (and whether it read them)."""
    calls = []

    def fake(module):
        calls.append(module)
        return list(OWN)

    monkeypatch.setattr(vrrp_config, "local_addresses", fake)
    return calls


@pytest.fixture
def cfg(tmp_path):
    return tmp_path / "vrrp-config.json"


def test_the_new_keys_reach_the_file_under_the_daemons_names(run_module, cfg, host_addresses):
    res = run_module(vrrp_config.main, args(cfg, V6, V4))
    assert res["changed"] is True
    assert json.loads(cfg.read_text()) == [
        {
            "name": "gw6",
            "vrid": 61,
            "interface_name": "eth0",
            "ip_addresses": ["fe80::61/64", "2001:db8::61/64"],
            "advert_interval": 0.1,
            "version": 3,
            "unicast_peers": ["fe80::12", "fe80::13"],
        },
        {
            "name": "gw",
            "vrid": 51,
            "interface_name": "eth0",
            "ip_addresses": ["192.0.2.254/24"],
            "advert_interval": 1,
            "version": 3,
            "unicast_peers": ["192.0.2.12"],
            "unicast_source": "192.0.2.11",
            "use_vmac": True,
            "checksum_ipv4_pseudo_header": False,
        },
    ]
    assert len(host_addresses) == 1, "the host's addresses are read once"
    assert run_module(vrrp_config.main, args(cfg, V6, V4))["changed"] is False


def test_a_whole_interval_is_written_as_a_whole_number(run_module, cfg):
    """An interval in seconds is a float now; `3` stays `3` in the file, as before."""
    run_module(vrrp_config.main, args(cfg, dict(ROUTER, advert_interval="3")))
    assert '"advert_interval": 3\n' in cfg.read_text()


def test_multicast_routers_do_not_read_the_hosts_addresses(run_module, cfg, host_addresses):
    run_module(vrrp_config.main, args(cfg, ROUTER))
    assert host_addresses == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_wrong_v3_keys_fail_before_anything_is_written(run_module, cfg, check_mode):
    bad = [
        dict(V6, version=2),
        dict(V4, advert_interval=0.015),
        dict(V4, unicast_peers=[]),
    ]
    res = run_module(vrrp_config.main, args(cfg, *bad), check_mode=check_mode)
    assert res["failed"] is True
    assert res["msg"].splitlines() == [
        "invalid routers:",
        "routers[0].advert_interval: must be whole seconds from 1 to 255 with version 2 "
        "(got 0.1); fractions of a second need version 3",
        "routers[0].addresses: IPv6 needs version 3 (RFC 5798)",
        "routers[1].advert_interval: must be 0.01 to 40.95 s in steps of 0.01 with version 3 "
        "(RFC 5798 5.2.7; got 0.015)",
        "routers[2].unicast_peers: must list at least one peer address; leave it out to use "
        "multicast (an empty list never falls back to multicast)",
    ]
    assert not cfg.exists()


def test_the_version_is_one_of_two(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg, dict(V4, version=4)))
    assert res["failed"] is True
    assert "version" in res["msg"] and "2, 3" in res["msg"]
    assert not cfg.exists()


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize(
    ("router", "own"),
    [
        (dict(V4, unicast_peers=["192.0.2.12", "192.0.2.11"]), "192.0.2.11"),
        (dict(V6, unicast_peers=["FE80::11"]), "fe80::11"),
    ],
)
def test_a_peer_that_is_this_host_is_an_error(
    run_module, cfg, host_addresses, router, own, check_mode
):
    res = run_module(vrrp_config.main, args(cfg, router), check_mode=check_mode)
    assert res["failed"] is True
    assert (
        f"routers[0].unicast_peers: {own} is this host's own address; list the other "
        "routers of the group" in res["msg"]
    )
    assert not cfg.exists()


def test_validated_by_the_daemon(run_module, cfg, host_addresses):
    res = run_module(
        vrrp_config.main, args(cfg, V6, validate=True, failover_command=needs_failover())
    )
    assert res["validated"] is True
    assert res["check_output"][0].startswith("gw6: vrid=61 interface=eth0")
    assert json.loads(cfg.read_text())[0]["version"] == 3
