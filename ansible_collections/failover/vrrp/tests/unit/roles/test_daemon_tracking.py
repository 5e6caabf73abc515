"""The daemon role passes health tracking through, and checks weights across the group."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

VRRP = Path(__file__).resolve().parents[3]
ROLE = VRRP / "roles" / "daemon"
ROOT = VRRP.parents[2]  # the folder holding ansible_collections/
PEERS = ["r1", "r2"]
WEB = {"type": "http", "url": "http://127.0.0.1:8080/healthz", "fall": 2}
VR1 = {
    "name": "VR_1",
    "vrid": 51,
    "interface": "eth0",
    "addresses": ["192.0.2.254/24"],
    "track": [{"check": "web", "weight": -100}],
    "notify": ["/usr/local/bin/vrrp-event"],
}


def load(name):
    return yaml.safe_load((ROLE / name).read_text())


# Ansible's templating needs its collection loader, which must not take over the test
# process's imports: each rendering runs in a Python of its own.
RENDER = """
import json, sys
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

root, variables = json.load(sys.stdin)
init_plugin_loader([root])


def trust(x):  # the role's files are trusted templates
    if isinstance(x, str):
        return trust_as_template(x)
    if isinstance(x, list):
        return [trust(i) for i in x]
    if isinstance(x, dict):
        return {k: trust(i) for k, i in x.items()}
    return x


variables = trust(variables)
try:
    got = Templar(loader=DataLoader(), variables=variables).template(
        variables["failover_daemon_host_routers"]
    )
except Exception as err:
    print(json.dumps({"error": str(err)}))
else:
    print(json.dumps({"routers": got}))
"""


def host_routers(host, **variables):
    """The role's failover_daemon_host_routers as Ansible templates it for `host`."""
    v = dict(load("defaults/main.yml"), **load("vars/main.yml"))
    v.update(inventory_hostname=host, groups={"routers": PEERS}, hostvars={h: {} for h in PEERS})
    v.update(variables)
    done = subprocess.run(
        [sys.executable, "-c", RENDER],
        input=json.dumps([str(ROOT), v]),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_track_and_notify_reach_vrrp_config():
    got = host_routers("r2", failover_daemon_routers=[VR1], failover_daemon_checks={"web": WEB})
    assert got == {"routers": [dict(VR1, priority=190)]}


def test_a_weight_too_small_fails_every_host():
    weak = dict(VR1, track=[{"check": "web", "weight": -10}])
    for host in PEERS:
        error = host_routers(host, failover_daemon_routers=[weak])["error"]
        assert "router VR_1: check 'web' with weight -10" in error
        assert "-11 or lower" in error


def test_file_checks_are_left_out_through_the_roles_checks():
    drain = dict(VR1, track=[{"check": "drain", "weight": -1}])
    checks = {"drain": {"type": "file", "path": "/var/lib/failover/drain"}}
    got = host_routers("r1", failover_daemon_routers=[drain], failover_daemon_checks=checks)
    assert got["routers"][0]["priority"] == 200


def test_checks_and_sync_groups_are_documented_with_their_defaults():
    specs = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults/main.yml")
    for name, default in (("failover_daemon_checks", {}), ("failover_daemon_sync_groups", [])):
        assert specs[name]["default"] == defaults[name] == default


def test_config_passes_them_to_vrrp_config():
    (task,) = [t for t in load("tasks/config.yml") if "failover.vrrp.vrrp_config" in t]
    params = task["failover.vrrp.vrrp_config"]
    assert "failover_daemon_checks" in params["checks"]
    assert "failover_daemon_sync_groups" in params["sync_groups"]
    assert "checks=failover_daemon_checks" in load("vars/main.yml")["failover_daemon_host_routers"]


def test_the_group_is_checked_before_the_install():
    names = [
        n
        for t in load("tasks/main.yml")
        for n in [t["name"]] + [b["name"] for b in t.get("block", [])]
    ]
    assert names.index("Validate and plan before touching any host") < names.index(
        "Install the daemon"
    )
    plan = [t["name"] for t in load("tasks/plan.yml")]
    check = plan.index(
        "Check the routers across the group (priorities, tracking weights, unicast peers)"
    )
    # then every host's own config, and a failure anywhere stops every host
    assert (
        check
        < plan.index("Validate this host's new config (whether it changes, the daemon's own check)")
        < plan.index("Stop unless every host passed (nothing has been changed anywhere)")
    )
