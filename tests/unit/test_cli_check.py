"""`failover check FILE`, as Ansible's `validate:` will run it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from ipaddress import ip_address
from pathlib import Path

from failover.cli import local_addresses
from failover.config import parse
from failover.v3_config import self_peers

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-vrrp-config.json"


def check(path: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "failover", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sample_exits_0_with_one_line_per_router() -> None:
    done = check(SAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "VR_1: vrid=51 interface=wlo1 priority=101 interval=1s preempt=on auth=none "
        "addresses=192.168.100.100/24",
        "VR_2: vrid=53 interface=wlo1 priority=110 interval=1s preempt=on auth=none "
        "addresses=192.168.100.100/24",
    ]
    # the sample puts one address in both routers: legal, but worth a warning
    assert "warning: [1].ip_addresses: 192.168.100.100 on wlo1 is also in VR_1" in done.stderr


def test_summary_shows_owner_auth_and_preempt_delay(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    router = {
        "name": "edge",
        "vrid": 7,
        "interface_name": "eth1",
        "ip_addresses": ["192.0.2.10/24", "192.0.2.11/24"],
        "priority": 255,
        "advert_interval": 2,
        "preempt_delay": 30,
        "auth_type": "simple",
        "auth_password": "secret",
    }
    path.write_text(json.dumps({"virtual_routers": [router]}))
    done = check(path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (
        "edge: vrid=7 interface=eth1 priority=255 (owner) interval=2s preempt=on (delay 30s) "
        "auth=simple addresses=192.0.2.10/24,192.0.2.11/24\n"
    )


def test_broken_file_exits_1_with_every_error_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(
        json.dumps(
            {
                "virtual_routers": [
                    {"vrid": 1, "interface_name": "eth0", "ip_addresses": ["192.0.2.10/24"]},
                    {"vrid": 300, "interface_name": "eth0", "ip_addresses": ["192.0.2.11"]},
                ]
            }
        )
    )
    done = check(path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0] == f"{path}: invalid configuration:"
    assert sorted(lines[1:]) == [
        "  virtual_routers[1].ip_addresses[0]: must be an IP address with prefix length, "
        'e.g. 192.0.2.10/24 or 2001:db8::10/64 (got "192.0.2.11")',
        "  virtual_routers[1].vrid: must be at most 255 (got 300)",
    ]


def test_invalid_json_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[{"vrid": 1,}]')
    done = check(path)
    assert done.returncode == 1
    assert "line 1 column 13: invalid JSON" in done.stderr


def test_missing_file_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    done = check(path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert f"{path}: cannot read: No such file or directory" in done.stderr


def test_a_unicast_peer_naming_this_host_is_an_error_on_it() -> None:
    vr = {"vrid": 5, "interface_name": "eth0", "ip_addresses": ["192.0.2.5/24"],
          "unicast_peers": ["192.0.2.9", "192.0.2.1"]}  # fmt: skip
    config = parse([vr])
    local = {ip_address("192.0.2.1"), ip_address("2001:db8::1")}
    assert self_peers(config.routers, local) == [
        "VR_5_eth0 vrid=5 eth0: unicast_peers names 192.0.2.1, an address of this host"
    ]
    assert self_peers(config.routers, set()) == []
    assert ip_address("127.0.0.1") in local_addresses()  # read from `ip -json addr`


def test_summary_shows_version_unicast_and_vmac() -> None:
    from failover.cli import describe_router

    vr = {"vrid": 5, "interface_name": "eth0", "ip_addresses": ["2001:db8::5/64"],
          "version": 3, "unicast_peers": ["fe80::2"], "use_vmac": True}  # fmt: skip
    (r,) = parse([vr]).routers
    assert describe_router(r).endswith(" version=3 unicast=fe80::2 vmac")
