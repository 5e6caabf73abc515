"""The daemon role's systemd unit and the one shipped in the package stay the same unit."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "daemon"
SHIPPED = Path(__file__).resolve().parents[6] / "failover" / "data" / "failover.service"


def role_unit(**overrides):
    """The role's template rendered with its defaults and vars (and `overrides`)."""
    ctx = {}
    for name in ("defaults/main.yml", "vars/main.yml"):
        ctx.update(yaml.safe_load((ROLE / name).read_text()))
    ctx.update(overrides, ansible_managed="managed by Ansible")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
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
