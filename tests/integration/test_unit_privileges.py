"""The daemon with only what the systemd unit leaves it: root, CAP_NET_ADMIN and
CAP_NET_RAW in the bounding set (no CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_SYS_ADMIN, ...),
no new privileges. `setpriv` sets the same limits systemd would; the daemon must still
open its raw sockets, take over, add and remove the VIP, and answer on its socket."""

from __future__ import annotations

import os
import shutil

import pytest

from failover.lab import DEFAULT_VIP, wait_until
from failover.lab.nodes import Node, converged, failover_argv, router
from tests.support import MakeLab, require

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
CAP_NET_ADMIN, CAP_NET_RAW = 12, 13
UNIT_CAPS = (1 << CAP_NET_ADMIN) | (1 << CAP_NET_RAW)


def start_confined(node: Node) -> Node:
    """Start `node`'s daemon as the unit would run it (setpriv instead of systemd)."""
    argv = [
        "setpriv", "--no-new-privs", "--bounding-set=-all,+net_admin,+net_raw",
        *failover_argv("run", "--config", str(node.config_path),
                       "--control-socket", node.socket_path),
    ]  # fmt: skip
    node.proc = node.lab.start(node.host, argv, name=f"{node.host_name}-confined")
    return node


def capabilities(pid: int) -> dict[str, int]:
    with open(f"/proc/{pid}/status") as f:
        return {k: int(v, 16) for k, v in (line.split(":\t") for line in f) if k.startswith("Cap")}


@pytest.mark.parametrize("vmac", [False, True], ids=["plain", "use_vmac"])
def test_the_daemon_needs_only_the_units_capabilities(make_lab: MakeLab, vmac: bool) -> None:
    """use_vmac too: a macvlan and its sysctls (/proc/sys/net, root-owned files, no
    CAP_DAC_OVERRIDE)."""
    require(shutil.which("setpriv") is not None, "setpriv (util-linux) is not installed")
    lab = make_lab(routers=2)
    r1 = start_confined(Node(lab, "r1", [router(VRID, 150, use_vmac=vmac)]))
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="confined r1 master")
    caps = capabilities(r1.running.pid)
    assert caps["CapEff"] == caps["CapBnd"] == UNIT_CAPS, caps
    wait_until(lambda: DEFAULT_VIP.ip in lab.addresses("r1"), TIMEOUT,
               what="the VIP on r1 (the address worker adds it just after MASTER)")  # fmt: skip

    r2 = Node(lab, "r2", [router(VRID, 100, use_vmac=vmac)]).start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    assert r1.stop() == 0  # priority 0, VIP removed: netlink and raw sockets, confined
    wait_until(lambda: [h.name for h in lab.holders(DEFAULT_VIP)] == ["r2"], TIMEOUT,
               what="r2 sole VIP holder")  # fmt: skip
    assert os.path.exists(r1.socket_path) is False  # it removed its socket on the way out
    problems = [line for line in r1.log().splitlines() if " ERROR " in line or " WARNING " in line]
    assert problems == []  # nothing refused (a sysctl, a socket option, an address)
