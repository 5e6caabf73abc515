"""vrrp_config: health tracking (checks, track, notify, sync_groups) under the daemon's keys."""

from __future__ import annotations

import json

import pytest

from ansible_collections.failover.vrrp.plugins.module_utils.failover import build_config
from ansible_collections.failover.vrrp.plugins.modules import vrrp_config
from ansible_collections.failover.vrrp.tests.unit.plugins.modules.test_vrrp_config import (
    args,
    needs_failover,
)

INSIDE = {
    "name": "inside",
    "vrid": 51,
    "interface": "eth0",
    "addresses": ["192.0.2.100/24"],
    "priority": 150,
    "track": [{"check": "web", "weight": -100}, {"check": "uplink"}],
    "notify": ["/usr/bin/logger", "--tag", "vrrp"],
}
OUTSIDE = {
    "name": "outside",
    "vrid": 52,
    "interface": "eth1",
    "addresses": ["198.51.100.1/24"],
    "priority": 150,
}
CHECKS = {
    "web": {
        "type": "http",
        "url": "http://192.0.2.11:8080/healthz",
        "interval": 1,
        "timeout": "0.5",  # as an inventory gives it: converted to its type
        "rise": 2,
        "fall": "2",
    },
    "proxy": {"type": "exec", "command": ["/usr/bin/pgrep", "-x", "haproxy"], "interval": 2.0},
    "db": {"type": "tcp", "host": "192.0.2.20", "port": "5432"},
    "uplink": {"type": "interface", "interface": "eth1"},
    "drain": {"type": "file", "path": "/var/lib/failover/drain"},
    "api": {"type": "http", "url": "http://192.0.2.11/", "expect_status": [200, 399]},
}
GROUPS = [{"name": "fw", "routers": ["inside", "outside"], "notify": ["/usr/bin/logger"]}]

# What the daemon reads: its own keys, in its README's order, types converted.
EXPECTED = {
    "checks": {
        "web": {
            "type": "http",
            "interval": 1,
            "timeout": 0.5,
            "rise": 2,
            "fall": 2,
            "url": "http://192.0.2.11:8080/healthz",
        },
        "proxy": {"type": "exec", "interval": 2, "command": ["/usr/bin/pgrep", "-x", "haproxy"]},
        "db": {"type": "tcp", "host": "192.0.2.20", "port": 5432},
        "uplink": {"type": "interface", "interface": "eth1"},
        "drain": {"type": "file", "path": "/var/lib/failover/drain"},
        "api": {"type": "http", "url": "http://192.0.2.11/", "expect_status": [200, 399]},
    },
    "virtual_routers": [
        {
            "name": "inside",
            "vrid": 51,
            "interface_name": "eth0",
            "ip_addresses": ["192.0.2.100/24"],
            "priority": 150,
            "track": [{"check": "web", "weight": -100}, {"check": "uplink"}],
            "notify": ["/usr/bin/logger", "--tag", "vrrp"],
        },
        {
            "name": "outside",
            "vrid": 52,
            "interface_name": "eth1",
            "ip_addresses": ["198.51.100.1/24"],
            "priority": 150,
        },
    ],
    "sync_groups": [
        {"name": "fw", "routers": ["inside", "outside"], "notify": ["/usr/bin/logger"]}
    ],
}


@pytest.fixture
def cfg(tmp_path):
    return tmp_path / "vrrp-config.json"


def tracking(cfg, **extra):
    return args(cfg, INSIDE, OUTSIDE, checks=CHECKS, sync_groups=GROUPS, **extra)


def test_renders_the_daemons_keys(run_module, cfg):
    res = run_module(vrrp_config.main, tracking(cfg))
    assert res["changed"] is True
    assert json.loads(cfg.read_text()) == EXPECTED
    assert res["config"] == EXPECTED
    assert list(json.loads(cfg.read_text())) == ["checks", "virtual_routers", "sync_groups"]


def test_settings_stay_beside_the_tracking(run_module, cfg):
    run_module(vrrp_config.main, tracking(cfg, control_socket="/run/x.sock", garp_delay=1.0))
    doc = json.loads(cfg.read_text())
    assert doc == dict(EXPECTED, control_socket="/run/x.sock", garp_delay=1)


def test_validated_by_failover_check(run_module, cfg):
    res = run_module(
        vrrp_config.main, tracking(cfg, validate=True, failover_command=needs_failover())
    )
    assert not res.get("failed"), res.get("msg")
    assert res["validated"] is True
    out = "\n".join(res["check_output"])
    assert "track=web:-100" in out
    assert "check web: http http://192.0.2.11:8080/healthz" in out
    assert "sync group fw: inside, outside" in out
    assert json.loads(cfg.read_text()) == EXPECTED


def test_the_daemon_judges_the_tracking(run_module, cfg):
    """Its rules are not copied here: an unknown check, a bad interval, a relative hook,
    a group naming an unknown router reach `failover check`, which refuses them all."""
    router = dict(INSIDE, track=[{"check": "nope", "weight": -10}])
    other = dict(OUTSIDE, notify=["logger"])
    checks = {"web": dict(CHECKS["web"], interval=0)}
    groups = [{"name": "fw", "routers": ["inside", "ghost"]}]
    res = run_module(
        vrrp_config.main,
        args(
            cfg,
            router,
            other,
            checks=checks,
            sync_groups=groups,
            validate=True,
            failover_command=needs_failover(),
        ),
    )
    assert res["failed"] is True
    for why in (
        "checks.web.interval: must be at least 0.1 (got 0)",
        "track[0].check: no check named 'nope'",
        "notify",
        "sync_groups[0].routers[1]: no virtual router named 'ghost'",
    ):
        assert why in res["msg"]
    assert not cfg.exists()


def test_idempotent_and_truthful_in_check_mode(run_module, cfg):
    assert run_module(vrrp_config.main, tracking(cfg), check_mode=True)["changed"] is True
    assert not cfg.exists()
    assert run_module(vrrp_config.main, tracking(cfg))["changed"] is True
    mtime = cfg.stat().st_mtime_ns
    assert run_module(vrrp_config.main, tracking(cfg))["changed"] is False
    assert run_module(vrrp_config.main, tracking(cfg), check_mode=True)["changed"] is False
    changed = dict(CHECKS, web=dict(CHECKS["web"], fall=3))
    res = run_module(
        vrrp_config.main,
        args(cfg, INSIDE, OUTSIDE, checks=changed, sync_groups=GROUPS),
        check_mode=True,
        diff=True,
    )
    assert res["changed"] is True
    assert '"fall": 3' in res["diff"]["after"]
    assert cfg.stat().st_mtime_ns == mtime
    assert json.loads(cfg.read_text()) == EXPECTED


def test_a_weight_change_is_a_change(run_module, cfg):
    run_module(vrrp_config.main, tracking(cfg))
    heavier = dict(INSIDE, track=[{"check": "web", "weight": -120}, {"check": "uplink"}])
    res = run_module(
        vrrp_config.main, args(cfg, heavier, OUTSIDE, checks=CHECKS, sync_groups=GROUPS)
    )
    assert res["changed"] is True
    assert json.loads(cfg.read_text())["virtual_routers"][0]["track"][0]["weight"] == -120


@pytest.mark.parametrize(
    "check, why",
    [
        ({"type": "tcp", "host": "h", "port": 80, "prot": 1}, "checks.db: unknown key prot"),
        ({"type": "tcp", "host": "h", "port": "eighty"}, "checks.db: argument 'port'"),
        ({"host": "h", "port": 80}, "checks.db: missing required arguments: type"),
        ("tcp", "checks.db: must be a mapping"),
    ],
)
def test_check_values_need_their_types(run_module, cfg, check, why):
    checks = {"web": CHECKS["web"], "db": check}
    res = run_module(vrrp_config.main, args(cfg, INSIDE, checks=checks))
    assert res["failed"] is True
    assert why in res["msg"]
    assert not cfg.exists()


def test_track_or_notify_alone_make_the_object_form():
    plain = {"vrid": 1, "interface": "e", "addresses": ["192.0.2.1/24"]}
    written = {"vrid": 1, "interface_name": "e", "ip_addresses": ["192.0.2.1/24"]}
    assert build_config([plain], {}) == [written]
    assert build_config([dict(plain, notify=["/bin/true"])], {}) == {
        "virtual_routers": [dict(written, notify=["/bin/true"])]
    }
    assert build_config([dict(plain, track=[{"check": "c", "weight": None}])], {}) == {
        "virtual_routers": [dict(written, track=[{"check": "c"}])]
    }
    assert build_config([plain], {"checks": {}}) == {"checks": {}, "virtual_routers": [written]}


def test_the_keys_are_the_daemons():
    """The module knows the daemon's key names (it must, to type them), not its rules:
    the names follow the daemon's loader."""
    tracking_config = pytest.importorskip("failover.tracking_config")
    from ansible_collections.failover.vrrp.plugins.module_utils import failover as utils

    daemon_checks = {str(k) for s in tracking_config.CHECK_SCHEMAS.values() for k in s.schema}
    assert set(utils.CHECK_KEYS) == set(vrrp_config.CHECK_SPEC) == daemon_checks
    daemon_groups = {str(k) for k in tracking_config.SYNC_GROUP_SCHEMA.schema}
    assert set(utils.SYNC_GROUP_KEYS) == set(vrrp_config.SYNC_GROUP_SPEC) == daemon_groups
    assert {str(k) for k in tracking_config.ROUTER_KEYS} <= set(vrrp_config.ROUTER_SPEC)
    assert set(utils.TRACK_KEYS) == set(vrrp_config.ROUTER_SPEC["track"]["options"])
