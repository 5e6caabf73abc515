"""The daemon role's systemd unit and the one shipped in the package stay the same unit."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from tests.support import require

ROLE = Path(__file__).resolve().parents[3] / "roles" / "daemon"
SHIPPED = Path(__file__).resolve().parents[6] / "failover" / "data" / "failover.service"


def role_unit(**overrides):
    """The role's template rendered with its defaults and vars (and `overrides`)."""
    ctx = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        ctx.update(yaml.safe_load((ROLE / name).read_text()))
    ctx.update(overrides, ansible_managed="managed by Ansible")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True)  # as Ansible
    env.filters.update(quote=shlex.quote, dirname=os.path.dirname)

    def render(value):
        if isinstance(value, list):
            return [render(v) for v in value]
        return env.from_string(value).render(ctx) if isinstance(value, str) else value

    for _round in range(3):  # vars refer to vars
        for key in ("failover_daemon_command", "failover_daemon_run_argv"):
            ctx[key] = render(ctx[key])
    return env.from_string((ROLE / "templates" / "failover.service.j2").read_text()).render(ctx)


def directives(text):
    """(section, key, value) of every setting, comments and blank lines left out."""
    section, out = None, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        key, _eq, value = line.partition("=")
        out.append((section, key, value))
    return out


def test_the_shipped_unit_is_the_roles_with_its_defaults():
    assert directives(SHIPPED.read_text()) == directives(role_unit())


def test_reload_asks_the_daemon_for_its_verdict():
    settings = dict((k, v) for _s, k, v in directives(role_unit()))
    assert settings["ExecReload"] == (
        "/opt/failover/bin/failover reload --control-socket /run/failover/failover.sock"
    )
    assert settings["ExecStart"].startswith("/opt/failover/bin/failover run --config ")


def test_paths_follow_the_roles_variables():
    unit = role_unit(failover_daemon_venv="/srv/fo", failover_daemon_control_socket="/run/x/c s")
    settings = dict((k, v) for _s, k, v in directives(unit))
    assert settings["ExecReload"] == "/srv/fo/bin/failover reload --control-socket '/run/x/c s'"
    writable = [v for _s, k, v in directives(unit) if k == "ReadWritePaths"]
    assert writable == ["/run/x", "/proc/sys/net"]


def test_the_unit_is_a_notify_service_with_a_watchdog():
    settings = dict((k, v) for _s, k, v in directives(role_unit()))
    assert (settings["Type"], settings["NotifyAccess"]) == ("notify", "main")
    assert settings["WatchdogSec"] == "10s"
    assert settings["CapabilityBoundingSet"] == "CAP_NET_ADMIN CAP_NET_RAW"
    assert "AmbientCapabilities" not in settings  # root keeps its bounding set
    assert "AF_INET6" in settings["RestrictAddressFamilies"].split()  # VRRPv3 over IPv6


# -- what the scheduling settings and control_group open, and nothing else ---------------

BASE = ["CAP_NET_ADMIN", "CAP_NET_RAW"]
FILTER = ["@system-service", "~@privileged @resources"]  # the default, allow list first


def changed(**overrides):
    """{key: [values]} of every directive that differs from the default unit's."""
    base, unit = directives(role_unit()), directives(role_unit(**overrides))
    keys = {k for _s, k, _v in base + unit}
    values = {
        k: ([v for _s, kk, v in base if kk == k], [v for _s, kk, v in unit if kk == k])
        for k in keys
    }
    return {k: new for k, (old, new) in values.items() if old != new}


def test_unset_the_hardening_is_the_shipped_units():
    settings = directives(role_unit())
    assert [v for _s, k, v in settings if k == "SystemCallFilter"] == FILTER
    assert ("[Service]", "RestrictRealtime", "yes") in settings
    assert "Group" not in [k for _s, k, _v in settings]
    nulls = dict.fromkeys(
        [
            "failover_daemon_realtime_priority",
            "failover_daemon_nice",
            "failover_daemon_control_group",
        ]
    )
    assert changed(**nulls) == {}


def test_realtime_priority_opens_sched_rr_only():
    assert changed(failover_daemon_realtime_priority=10) == {
        "CapabilityBoundingSet": [" ".join([*BASE, "CAP_SYS_NICE"])],
        "RestrictRealtime": ["no"],
        "SystemCallFilter": [*FILTER, "sched_setscheduler"],
    }


@pytest.mark.parametrize("nice", [-20, -1, "-5"])  # "-5": as an inventory may give it
def test_a_negative_nice_opens_setpriority_and_cap_sys_nice(nice):
    assert changed(failover_daemon_nice=nice) == {
        "CapabilityBoundingSet": [" ".join([*BASE, "CAP_SYS_NICE"])],
        "SystemCallFilter": [*FILTER, "setpriority"],
    }


@pytest.mark.parametrize("nice", [0, 5, 19])
def test_a_nice_of_0_or_more_opens_setpriority_only(nice):
    """No capability needed to lower the priority, but the call is in @resources."""
    assert changed(failover_daemon_nice=nice) == {"SystemCallFilter": [*FILTER, "setpriority"]}


def test_both_scheduling_settings():
    assert changed(failover_daemon_realtime_priority=1, failover_daemon_nice=-5) == {
        "CapabilityBoundingSet": [" ".join([*BASE, "CAP_SYS_NICE"])],
        "RestrictRealtime": ["no"],
        "SystemCallFilter": [*FILTER, "sched_setscheduler setpriority"],
    }


def test_control_group_runs_the_daemon_in_that_group():
    """The daemon cannot chown: the socket's folder and file get its own group."""
    assert changed(failover_daemon_control_group="monitoring") == {"Group": ["monitoring"]}


def test_the_allowed_calls_are_the_ones_resources_denies():
    """systemd's own list: what the unit gives back is in @resources (else the allow line
    would be needless) and is what the daemon calls (failover/daemon/scheduling.py)."""
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    listed = subprocess.run(
        ["systemd-analyze", "syscall-filter", "@resources"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert {"sched_setscheduler", "setpriority"} <= set(listed)


@pytest.mark.parametrize(
    ("overrides", "exposure"),
    [
        ({}, 2.1),
        ({"failover_daemon_control_group": "root"}, 2.1),
        ({"failover_daemon_nice": 5}, 2.2),
        ({"failover_daemon_nice": -5}, 2.3),
        ({"failover_daemon_realtime_priority": 10, "failover_daemon_nice": -5}, 2.4),
    ],
)
def test_systemd_reads_each_variant(tmp_path, overrides, exposure):
    """`systemd-analyze verify` has no complaint, and the exposure rises only by what
    each setting opens (`security --offline`)."""
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    unit = tmp_path / "failover.service"
    unit.write_text(role_unit(**overrides).replace("/opt/failover/bin/failover", "/usr/bin/true"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for failover.service: ([\d.]+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    assert float(found[1]) <= exposure
