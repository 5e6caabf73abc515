"""`failover run` refuses to start with a clear message and a distinct exit code.

Bad config (3), missing interface or one without IPv4 (4), a second daemon on the same
control socket (5), no privilege for raw sockets (6): never a silent exit 0. The
namespaced cases need root and skip with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest

from failover.control import request
from failover.daemon.errors import ExitCode
from failover.lab.lab import Lab
from failover.lab.netns import unavailable
from failover.lab.wait import wait_until
from tests.support import require

FAILOVER = [sys.executable, "-m", "failover"]
VIP = "192.0.2.200/24"


def router(**kw: Any) -> dict[str, Any]:
    return {"name": "VR_1", "vrid": 51, "interface_name": "eth0", "ip_addresses": [VIP]} | kw


def write_config(path: Path, *routers: dict[str, Any]) -> Path:
    path.write_text(json.dumps(list(routers)))
    return path


@pytest.fixture
def lab() -> Iterator[Lab]:
    """One router namespace (r1, eth0 = 192.0.2.1/24), no client."""
    reason = unavailable()
    require(reason is None, f"daemon error tests in namespaces: {reason}")
    with Lab(routers=1, client=False) as built:
        yield built


def run_once(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return lab.run("r1", [*FAILOVER, *args], check=False, timeout=30)


def test_bad_config_exits_3(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "bad.json", router(vrid=0, ip_addresses=["192.0.2.200"]))
    done = subprocess.run(
        [*FAILOVER, "run", "--config", str(conf), "--control-socket", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == int(ExitCode.CONFIG) == 3
    assert done.stderr == (
        f"{conf}: invalid configuration:\n"
        "  [0].ip_addresses[0]: must be an IP address with prefix length, "
        'e.g. 192.0.2.10/24 or 2001:db8::10/64 (got "192.0.2.200")\n'
        "  [0].vrid: must be at least 1 (got 0)\n"
    )
    assert not (tmp_path / "s").exists()


def test_unreadable_config_exits_3(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    done = subprocess.run(
        [*FAILOVER, "run", "--config", str(missing)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == ExitCode.CONFIG
    assert done.stderr == (
        f"{missing}: invalid configuration:\n  {missing}: cannot read: No such file or directory\n"
    )


def test_missing_interface_exits_4(lab: Lab) -> None:
    conf = write_config(
        lab.path("c.json"), router(interface_name="eth9"), router(name="VR_2", vrid=52)
    )
    sock = lab.path("c.sock")
    done = run_once(lab, "run", "--config", str(conf), "--control-socket", str(sock))
    assert done.returncode == int(ExitCode.INTERFACE) == 4
    assert done.stderr == "failover: error: interface 'eth9' does not exist (used by VR_1)\n"
    assert not sock.exists()  # the control socket is cleaned up on the way out
    assert IPv4Address("192.0.2.200") not in lab.addresses("r1")


def test_interface_without_ipv4_exits_4(lab: Lab) -> None:
    ipr = lab.ipr("r1")
    ipr.link("add", ifname="bare0", kind="veth", peer={"ifname": "bare1"})
    ipr.link("set", index=ipr.link_lookup(ifname="bare0")[0], state="up")
    conf = write_config(lab.path("c.json"), router(interface_name="bare0"))
    done = run_once(lab, "run", "--config", str(conf), "--control-socket", str(lab.path("s")))
    assert done.returncode == ExitCode.INTERFACE
    assert done.stderr == (
        "failover: error: interface 'bare0' has no IPv4 address (used by VR_1); adverts "
        "are sent from its primary IPv4 address (RFC 3768 5.2.1)\n"
    )


def test_second_instance_exits_5_and_leaves_the_first_alone(lab: Lab) -> None:
    conf = write_config(lab.path("c.json"), router(priority=254))
    sock = str(lab.path("c.sock"))
    first = lab.start("r1", [*FAILOVER, "run", "--config", str(conf), "--control-socket", sock])
    vip = IPv4Address(VIP.split("/")[0])
    wait_until(lambda: vip in lab.addresses("r1"), timeout=15, what="the first daemon's VIP")

    done = run_once(lab, "run", "--config", str(conf), "--control-socket", sock)
    assert done.returncode == int(ExitCode.ALREADY_RUNNING) == 5
    assert done.stderr == (
        f"failover: error: another failover daemon (pid {first.pid}) is already running on {sock}\n"
    )
    # The second did not touch the first one's VIP (no stale-address clean-up) or socket.
    assert first.alive() and vip in lab.addresses("r1")
    assert request(sock, {"command": "status"})["routers"][0]["state"] == "MASTER"

    assert first.stop() == ExitCode.OK
    assert vip not in lab.addresses("r1")
    assert not os.path.exists(sock)


def test_without_privilege_exits_6(lab: Lab) -> None:
    require(shutil.which("setpriv") is not None, "needs setpriv (util-linux) to drop root")
    lab.dir.chmod(0o755)
    conf = write_config(lab.path("c.json"), router())
    conf.chmod(0o644)
    sockdir = lab.path("nobody")
    sockdir.mkdir()
    os.chown(sockdir, 65534, 65534)
    drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    argv = [*drop, *FAILOVER, "run", "--config", str(conf)]
    done = lab.run("r1", [*argv, "--control-socket", str(sockdir / "s")], check=False)
    assert done.returncode == int(ExitCode.SYSTEM) == 6
    assert done.stderr == (
        "failover: error: cannot open a raw VRRP socket on eth0: Operation not permitted "
        "(failover run needs root or CAP_NET_RAW)\n"
    )
