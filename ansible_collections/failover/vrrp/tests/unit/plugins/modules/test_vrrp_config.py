from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from ansible_collections.failover.vrrp.plugins.module_utils.failover import REDACTED
from ansible_collections.failover.vrrp.plugins.modules import vrrp_config
from tests.support import require

ROUTER = {"name": "VR_1", "vrid": 51, "interface": "eth0", "addresses": ["192.0.2.254/24"]}


def failover_bin():
    """The daemon's CLI next to this Python (the repo's venv), or on PATH."""
    here = Path(sys.executable).with_name("failover")
    return str(here) if here.exists() else shutil.which("failover")


def needs_failover():
    """The daemon's CLI (skipped without it, except in CI)."""
    found = failover_bin()
    require(found is not None, "failover CLI not installed")
    return found


@pytest.fixture
def cfg(tmp_path):
    return tmp_path / "vrrp-config.json"


def args(path, *routers, **extra):
    out = {"path": str(path), "routers": list(routers) or [ROUTER], "validate": False}
    out.update(extra)
    return out


def test_writes_original_list_format(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg, dict(ROUTER, priority=200, preempt=False)))
    assert res["changed"] is True
    assert json.loads(cfg.read_text()) == [
        {
            "name": "VR_1",
            "vrid": 51,
            "interface_name": "eth0",
            "ip_addresses": ["192.0.2.254/24"],
            "priority": 200,
            "preempt_mode": False,
        }
    ]
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_object_form_with_settings(run_module, cfg):
    run_module(
        vrrp_config.main,
        args(cfg, control_socket="/run/x.sock", garp_repeat=5, garp_delay=0.5),
    )
    doc = json.loads(cfg.read_text())
    assert doc["control_socket"] == "/run/x.sock"
    assert doc["garp_repeat"] == 5
    assert doc["garp_delay"] == 0.5
    assert doc["virtual_routers"][0]["vrid"] == 51


def test_idempotent(run_module, cfg):
    assert run_module(vrrp_config.main, args(cfg))["changed"] is True
    mtime = cfg.stat().st_mtime_ns
    assert run_module(vrrp_config.main, args(cfg))["changed"] is False
    assert cfg.stat().st_mtime_ns == mtime


def test_same_json_other_formatting_is_unchanged(run_module, cfg):
    run_module(vrrp_config.main, args(cfg))
    cfg.write_text(json.dumps(json.loads(cfg.read_text())))  # one line, same content
    assert run_module(vrrp_config.main, args(cfg))["changed"] is False


def test_check_mode_writes_nothing(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg), check_mode=True)
    assert res["changed"] is True
    assert not cfg.exists()


def test_diff_masks_password(run_module, cfg):
    first = dict(ROUTER, auth_type="simple", auth_password="s3cret")
    run_module(vrrp_config.main, args(cfg, first))
    assert json.loads(cfg.read_text())[0]["auth_password"] == "s3cret"
    second = dict(first, auth_password="0ther", priority=150)
    res = run_module(vrrp_config.main, args(cfg, second), diff=True)
    assert res["changed"] is True
    text = json.dumps(res)
    assert "s3cret" not in text
    assert "0ther" not in text
    assert '"priority": 150' in res["diff"]["after"]
    assert res["config"][0]["auth_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_auth_password_is_no_log():
    assert vrrp_config.ROUTER_SPEC["auth_password"]["no_log"] is True


def test_keeps_mode_of_existing_file(run_module, cfg):
    cfg.write_text("[]")
    os.chmod(cfg, 0o640)
    run_module(vrrp_config.main, args(cfg))
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640


def test_mode_parameter(run_module, cfg):
    run_module(vrrp_config.main, args(cfg, mode="0644"))
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o644
    assert run_module(vrrp_config.main, args(cfg, mode="0644"))["changed"] is False


def test_backup(run_module, cfg):
    run_module(vrrp_config.main, args(cfg))
    res = run_module(vrrp_config.main, args(cfg, dict(ROUTER, priority=99), backup=True))
    assert Path(res["backup_file"]).exists()


def test_empty_router_list_fails(run_module, cfg):
    res = run_module(vrrp_config.main, {"path": str(cfg), "routers": [], "validate": False})
    assert res["failed"] is True


def test_missing_folder_fails(run_module, tmp_path):
    res = run_module(vrrp_config.main, args(tmp_path / "nope" / "c.json"))
    assert res["failed"] is True
    assert "does not exist" in res["msg"]


def test_no_leftover_temp_files(run_module, cfg):
    run_module(vrrp_config.main, args(cfg))
    assert sorted(p.name for p in cfg.parent.iterdir()) == ["vrrp-config.json"]


def test_validated_with_failover_check(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg, validate=True, failover_command=needs_failover()))
    assert res["validated"] is True
    assert res["check_output"][0].startswith("VR_1: vrid=51 interface=eth0")


def test_invalid_config_is_not_written(run_module, cfg):
    bad = dict(ROUTER, vrid=0)
    res = run_module(
        vrrp_config.main, args(cfg, bad, validate=True, failover_command=needs_failover())
    )
    assert res["failed"] is True
    assert "failover check rejected" in res["msg"]
    assert "vrid" in res["msg"]
    assert not cfg.exists()
    assert list(cfg.parent.iterdir()) == []


def test_fake_failover_check_failure(run_module, cfg, tmp_path):
    fake = tmp_path / "failover"
    fake.write_text(
        "#!/bin/sh\necho \"$2: invalid configuration:\" >&2\necho '  [0].vrid: bad' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    res = run_module(vrrp_config.main, args(cfg, validate=True, failover_command=str(fake)))
    assert res["failed"] is True
    assert "[0].vrid: bad" in res["msg"]
    assert "<new config>" in res["msg"]
    assert not cfg.exists()


def test_missing_failover_command_fails(run_module, cfg, tmp_path):
    res = run_module(
        vrrp_config.main, args(cfg, validate=True, failover_command=str(tmp_path / "no"))
    )
    assert res["failed"] is True


def test_daemon_not_installed_warns(run_module, cfg, monkeypatch):
    from ansible.module_utils import basic

    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda self, *a, **k: None)
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, w: warnings.append(w))
    res = run_module(vrrp_config.main, args(cfg, validate=True))
    assert res["validated"] is False
    assert res["changed"] is True
    assert "not validated" in warnings[0]


# -- state: absent ----------------------------------------------------------------------


def test_absent_removes_the_file_and_says_what_it_held(run_module, cfg):
    run_module(vrrp_config.main, args(cfg, dict(ROUTER, auth_type="simple", auth_password="pw")))
    res = run_module(vrrp_config.main, {"path": str(cfg), "state": "absent"}, diff=True)
    assert res["changed"] is True
    assert not cfg.exists()
    assert res["config"][0]["auth_password"] == REDACTED
    assert "pw" not in res["diff"]["before"] and res["diff"]["after"] == ""


def test_absent_twice_is_unchanged(run_module, cfg):
    res = run_module(vrrp_config.main, {"path": str(cfg), "state": "absent"})
    assert (res["changed"], res["config"]) == (False, None)


def test_absent_in_check_mode_keeps_the_file(run_module, cfg):
    run_module(vrrp_config.main, args(cfg))
    res = run_module(vrrp_config.main, {"path": str(cfg), "state": "absent"}, check_mode=True)
    assert res["changed"] is True
    assert cfg.exists()


def test_absent_with_backup_keeps_a_copy(run_module, cfg):
    run_module(vrrp_config.main, args(cfg))
    res = run_module(vrrp_config.main, {"path": str(cfg), "state": "absent", "backup": True})
    assert not cfg.exists()
    assert json.loads(Path(res["backup_file"]).read_text())[0]["vrid"] == 51


def test_present_needs_routers(run_module, cfg):
    res = run_module(vrrp_config.main, {"path": str(cfg)})
    assert res["failed"] is True
    assert "routers" in res["msg"]
    assert not cfg.exists()


# -- the settings the daemon reads at start: control_group, realtime_priority, nice -------

START_SETTINGS = {"control_group": "root", "realtime_priority": 10, "nice": -5}


def test_start_settings_land_in_the_object_form(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg, **START_SETTINGS))
    doc = json.loads(cfg.read_text())
    assert doc == {
        "virtual_routers": [
            {
                "name": "VR_1",
                "vrid": 51,
                "interface_name": "eth0",
                "ip_addresses": ["192.0.2.254/24"],
            }
        ],
        **START_SETTINGS,
    }
    assert res["config"] == doc


@pytest.mark.parametrize("key", sorted(START_SETTINGS))
def test_each_start_setting_alone_makes_the_object_form(run_module, cfg, key):
    run_module(vrrp_config.main, args(cfg, **{key: START_SETTINGS[key]}))
    assert json.loads(cfg.read_text())[key] == START_SETTINGS[key]


def test_nice_zero_is_written(run_module, cfg):
    """0 is a value (the daemon sets it), not `unset`."""
    run_module(vrrp_config.main, args(cfg, nice=0))
    assert json.loads(cfg.read_text())["nice"] == 0


def test_unset_start_settings_keep_the_original_list_form(run_module, cfg):
    unset = dict.fromkeys(START_SETTINGS)  # what the role passes as omit/None
    run_module(vrrp_config.main, args(cfg, **unset))
    assert isinstance(json.loads(cfg.read_text()), list)


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ({"realtime_priority": 0}, "realtime_priority: must be at least 1 (got 0)"),
        ({"realtime_priority": 100}, "realtime_priority: must be at most 99 (got 100)"),
        ({"nice": -21}, "nice: must be at least -20 (got -21)"),
        ({"nice": 20}, "nice: must be at most 19 (got 20)"),
    ],
)
def test_out_of_range_fails_before_the_daemon_is_asked(
    run_module, cfg, tmp_path, check_mode, setting, why
):
    asked = tmp_path / "asked"
    fake = tmp_path / "failover"  # a `failover check` that accepts all, and notes it ran
    fake.write_text(f"#!/bin/sh\ntouch {asked}\nexit 0\n")
    fake.chmod(0o755)
    res = run_module(
        vrrp_config.main,
        args(cfg, validate=True, failover_command=str(fake), **setting),
        check_mode=check_mode,
    )
    assert res["failed"] is True
    assert res["msg"].splitlines() == ["invalid settings:", why]
    assert not cfg.exists() and not asked.exists()


def test_every_out_of_range_setting_is_named_at_once(run_module, cfg):
    res = run_module(vrrp_config.main, args(cfg, realtime_priority=-1, nice=40))
    assert res["msg"].splitlines() == [
        "invalid settings:",
        "realtime_priority: must be at least 1 (got -1)",
        "nice: must be at most 19 (got 40)",
    ]


@pytest.mark.parametrize(
    "edge", [{"realtime_priority": 1, "nice": -20}, {"realtime_priority": 99, "nice": 19}]
)
def test_the_daemon_accepts_the_written_start_settings(run_module, cfg, edge):
    """The real `failover check` on the produced file, at both ends of each range."""
    settings = dict(START_SETTINGS, **edge)
    res = run_module(
        vrrp_config.main, args(cfg, validate=True, failover_command=needs_failover(), **settings)
    )
    assert res["validated"] is True, res.get("msg")
    assert {k: json.loads(cfg.read_text())[k] for k in settings} == settings


def test_the_daemon_refuses_a_group_that_does_not_exist(run_module, cfg):
    res = run_module(
        vrrp_config.main,
        args(cfg, validate=True, failover_command=needs_failover(), control_group="no-such-grp"),
    )
    assert res["failed"] is True
    assert "control_group: group 'no-such-grp' does not exist" in res["msg"]
    assert not cfg.exists()


def test_the_settings_and_ranges_are_the_daemons():
    """The module's setting keys are the daemon's global keys, and its early range check
    draws the line where the daemon's schema does."""
    config = pytest.importorskip("failover.config")
    import voluptuous as vol
    import yaml

    from ansible_collections.failover.vrrp.plugins.module_utils import failover as utils

    schema = {str(k): v for k, v in config.SETTINGS_SCHEMA.items()}
    assert set(utils.SETTING_KEYS) == set(schema)
    assert set(utils.SETTING_KEYS) <= set(yaml.safe_load(vrrp_config.DOCUMENTATION)["options"])
    for key, lo, hi in utils.SETTING_RANGES:
        for inside in (lo, hi):
            assert schema[key](inside) == inside
            assert utils.setting_problems({key: inside}) == []
        for outside in (lo - 1, hi + 1):
            with pytest.raises(vol.Invalid):
                schema[key](outside)
            assert len(utils.setting_problems({key: outside})) == 1
