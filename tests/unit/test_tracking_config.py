"""The config's health tracking (tracking_config.py): checks, track, notify, sync groups."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from failover.config import ConfigError, parse
from failover.protocol.settings import CheckConfig, SyncGroupConfig, Track
from tests.support import require

SAMPLE: dict[str, Any] = {  # the issue's example, with hooks that exist on any host
    "checks": {
        "web": {
            "type": "http",
            "url": "http://192.0.2.11:8080/healthz",
            "interval": 1,
            "timeout": 1,
            "rise": 2,
            "fall": 2,
        },
        "proxy": {"type": "exec", "command": ["/usr/bin/pgrep", "-x", "haproxy"], "interval": 2},
        "db": {"type": "tcp", "host": "192.0.2.20", "port": 5432},
        "uplink": {"type": "interface", "interface": "eth1"},
        "drain": {"type": "file", "path": "/var/lib/failover/drain"},
    },
    "virtual_routers": [
        {
            "name": "inside",
            "vrid": 51,
            "interface_name": "eth0",
            "ip_addresses": ["192.0.2.100/24"],
            "priority": 150,
            "track": [{"check": "web", "weight": -100}, {"check": "uplink", "weight": 0}],
            "notify": ["/bin/true", "--site", "a"],
        },
        {
            "name": "outside",
            "vrid": 52,
            "interface_name": "eth1",
            "ip_addresses": ["198.51.100.1/24"],
            "priority": 150,
        },
    ],
    "sync_groups": [{"name": "fw", "routers": ["inside", "outside"], "notify": ["/bin/true"]}],
}


def errors_of(data: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(data)
    return info.value.errors


def sample(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SAMPLE)
    data.update(changes)
    return data


def test_the_issues_example_loads() -> None:
    config = parse(sample())
    checks = {c.name: c for c in config.checks}
    assert checks["web"] == CheckConfig(
        "web", "http", 1.0, 1.0, 2, 2, url="http://192.0.2.11:8080/healthz"
    )
    assert checks["proxy"].command == ("/usr/bin/pgrep", "-x", "haproxy")
    assert checks["proxy"].timeout == 2.0  # the timeout defaults to the interval
    assert (checks["db"].host, checks["db"].port) == ("192.0.2.20", 5432)
    assert checks["uplink"].interface == "eth1" and checks["drain"].kind == "file"
    inside, outside = config.routers
    assert inside.track == (Track("web", -100), Track("uplink", 0))
    assert inside.notify == ("/bin/true", "--site", "a") and outside.track == ()
    assert config.sync_groups == (SyncGroupConfig("fw", ("inside", "outside"), ("/bin/true",)),)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"interval": 0}, "checks.web.interval: must be at least 0.1 (got 0)"),
        ({"url": "ftp://x"}, 'checks.web.url: must be an http:// URL with a host (got "ftp://x")'),
        ({"expect_status": [300, 200]}, "checks.web.expect_status: must be [lowest, highest]"),
        ({"type": "ping"}, "checks.web.type: must be one of exec, tcp, http, file, interface"),
        ({"rise": 0}, "checks.web.rise: must be at least 1 (got 0)"),
        ({"command": ["/bin/true"]}, "checks.web.command: is not a known key"),
    ],
)
def test_check_errors_name_their_place(change: dict[str, Any], message: str) -> None:
    data = sample()
    data["checks"]["web"].update(change)
    assert any(e.startswith(message) for e in errors_of(data)), errors_of(data)


def test_an_interface_check_is_not_polled() -> None:
    data = sample()
    data["checks"]["uplink"]["interval"] = 2
    assert errors_of(data) == ["checks.uplink.interval: is not a known key (see the README's "
                               "config reference)"]  # fmt: skip


def test_commands_are_argv_lists_from_an_absolute_path() -> None:
    data = sample()
    data["checks"]["proxy"]["command"] = "pgrep -x haproxy"
    data["virtual_routers"][0]["notify"] = ["logger"]
    assert errors_of(data) == [
        'virtual_routers[0].notify: must start with an absolute path (got "logger")',
        "checks.proxy.command: must be a list: the program's absolute path, then its "
        'arguments, e.g. ["/usr/bin/pgrep", "-x", "haproxy"] (never a shell command line)',
    ]


def test_as_root_a_program_others_can_change_is_refused(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "the ownership rules apply when the config is loaded as root")
    script = tmp_path / "check.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o777)
    data = sample()
    data["checks"]["proxy"]["command"] = [str(script)]
    (message,) = errors_of(data)
    assert message.startswith(f"checks.proxy.command: {script}") and "writable" in message


def test_tracking_an_unknown_check_names_the_defined_ones() -> None:
    data = sample()
    data["virtual_routers"][1]["track"] = [{"check": "dns", "weight": -10}]
    assert errors_of(data) == [
        "virtual_routers[1].track[0].check: no check named 'dns' "
        "(defined: db, drain, proxy, uplink, web)"
    ]


def test_track_entries_are_checked() -> None:
    data = sample()
    data["virtual_routers"][0]["track"] = [
        {"check": "web", "weight": 300},
        {"check": "web", "weight": -1},
    ]
    assert errors_of(data) == ["virtual_routers[0].track[0].weight: must be at most 254 (got 300)"]
    data["virtual_routers"][0]["track"] = [{"check": "web"}, {"check": "web", "weight": -1}]
    assert errors_of(data) == ["virtual_routers[0].track: tracks web more than once"]


def test_the_list_form_has_no_checks_to_track() -> None:
    router = dict(SAMPLE["virtual_routers"][0], track=[{"check": "web"}])
    assert errors_of([router]) == [
        "[0].track[0].check: no check named 'web' (defined: none; define them under the "
        "top-level `checks`)"
    ]


def test_sync_group_errors() -> None:
    data = sample(
        sync_groups=[
            {"name": "fw", "routers": ["inside", "ghost"]},
            {"name": "fw", "routers": ["inside", "outside"]},
            {"name": "solo", "routers": ["outside"]},
        ]
    )
    assert errors_of(data) == [
        "sync_groups[0].routers[1]: no virtual router named 'ghost'",
        "sync_groups[1].name: 'fw' names another group too",
        "sync_groups[1].routers[0]: 'inside' is already in sync group 'fw'",
        "sync_groups[2].routers: length of value must be at least 2",
    ]


def test_an_invalid_router_is_still_a_known_group_member() -> None:
    data = sample()
    data["virtual_routers"][1]["vrid"] = 0
    assert errors_of(data) == ["virtual_routers[1].vrid: must be at least 1 (got 0)"]
