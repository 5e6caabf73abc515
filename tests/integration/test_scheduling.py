"""The global `realtime_priority` and `nice` keys on a running daemon (real kernel).

Asked for, every thread of the daemon runs SCHED_RR at that priority with that nice
value; not asked for, the default policy; refused (no CAP_SYS_NICE, as `setpriv` drops
it), the daemon says so in its log, naming the key, and serves all the same.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from failover.control import request
from failover.lab.nodes import Node, failover_argv, router
from failover.lab.wait import wait_until
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51


def master_pid(node: Node) -> int:
    """The daemon's pid (from its status) once its router is MASTER."""
    wait_until(lambda: node.state(VRID) == "MASTER", 30, what="the router MASTER")
    pid: int = request(node.socket_path, {"command": "status"}, timeout=5)["pid"]
    return pid


def threads(pid: int) -> list[int]:
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


def test_realtime_priority_and_nice_apply_to_every_thread(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    node = Node(lab, "r1", [router(VRID, 200)], realtime_priority=10, nice=-5).start()
    pid = master_pid(node)
    for tid in threads(pid):
        assert os.sched_getscheduler(tid) == os.SCHED_RR, tid
        assert os.sched_getparam(tid).sched_priority == 10, tid
        assert os.getpriority(os.PRIO_PROCESS, tid) == -5, tid
    # the kernel's own report: policy 2 is SCHED_RR
    assert re.search(r"^policy\s+:\s+2$", Path(f"/proc/{pid}/sched").read_text(), re.M)


def test_without_the_keys_the_default_policy(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    pid = master_pid(Node(lab, "r1", [router(VRID, 200)]).start())
    assert {os.sched_getscheduler(t) for t in threads(pid)} == {os.SCHED_OTHER}


def test_a_refusal_is_logged_with_the_key_and_the_daemon_serves(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    node = Node(lab, "r1", [router(VRID, 200)], realtime_priority=10, nice=-5)
    drop = ["setpriv", "--bounding-set=-sys_nice", "--inh-caps=-sys_nice"]
    argv = failover_argv("run", "--config", str(node.config_path),
                         "--control-socket", node.socket_path)  # fmt: skip
    node.proc = lab.start(node.host, [*drop, *argv], name="r1-failover")
    pid = master_pid(node)
    assert os.sched_getscheduler(pid) == os.SCHED_OTHER
    log = node.running.log()
    assert "scheduling: realtime_priority 10: cannot set SCHED_RR: Operation not permitted" in log
    assert "scheduling: nice -5: cannot set it: Permission denied" in log
