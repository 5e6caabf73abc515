"""Health checks on a real kernel: an HTTP service per router, its master moves with it.

Each router namespace runs `python3 -m http.server`; each daemon tracks its own service
with an `http` check. Stopping the master's service moves the VIP; starting it again
brings it back (preempt). With a weight the backup takes over when the master's lowered
priority lets its Master_Down timer run out; with weight 0 the master enters FAULT and
sends priority 0, so the backup takes over after Skew_Time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from failover.lab import DEFAULT_VIP, Lab, Proc, wait_until
from failover.lab.nodes import Node, converged, router
from tests.support import MakeLab

pytestmark = pytest.mark.root
VRID = 51
TIMEOUT = 30
PORT = 8080


def serve(lab: Lab, host: str) -> Proc:
    """A tiny HTTP service in the host's namespace."""
    argv = [sys.executable, "-m", "http.server", "--bind", "0.0.0.0", str(PORT)]
    return lab.start(host, argv, name=f"{host}-web")


def pair(make_lab: MakeLab, weight: int) -> tuple[Lab, Node, Node, Proc]:
    """r1 (150) and r2 (100), each tracking its own web service; r1 master."""
    lab = make_lab(routers=2)
    webs = {h: serve(lab, h) for h in ("r1", "r2")}
    nodes = []
    for host, priority in (("r1", 150), ("r2", 100)):
        check = {
            "type": "http",
            "url": f"http://127.0.0.1:{PORT}/",
            "interval": 0.2,
            "timeout": 1,
            "fall": 2,
            "rise": 2,
        }
        track = [{"check": "web", "weight": weight}]
        nodes.append(
            Node(lab, host, [dict(router(VRID, priority), track=track)], checks={"web": check})
        )
    r1, r2 = nodes
    r1.start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    r2.start()
    wait_until(lambda: converged([r1, r2], VRID) is r1, TIMEOUT, what="r1 master, r2 backup")
    return lab, r1, r2, webs["r1"]


def holds(lab: Lab, node: Node) -> bool:
    return node.state(VRID) == "MASTER" and [h.name for h in lab.holders(DEFAULT_VIP)] == [
        node.host.name
    ]


@pytest.mark.parametrize("weight", [-100, 0], ids=["weight", "fault"])
def test_the_vip_follows_the_service(make_lab: MakeLab, weight: int) -> None:
    lab, r1, r2, web = pair(make_lab, weight)
    web.stop()
    wait_until(lambda: holds(lab, r2), TIMEOUT, what="r2 to take over from r1")
    (row,) = r1.status()
    if weight:
        assert (row["state"], row["effective_priority"]) == ("BACKUP", 50)
        assert "MASTER -> BACKUP (higher priority advert" in r1.log()
    else:
        assert row["state"] == "FAULT" and row["faults"] == ["web"]
        assert "MASTER -> FAULT (fault: web)" in r1.log()  # with its priority-0 advert
    assert row["tracks"][0]["status"] == "failing"

    serve(lab, "r1")  # the service is back: r1 takes the VIP back (preempt)
    wait_until(lambda: holds(lab, r1), TIMEOUT, what="r1 to take the VIP back")
    assert r1.status()[0]["effective_priority"] == 150


def lingering(marker: str) -> list[int]:
    """Pids of processes whose command line carries `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_hanging_exec_check_is_killed_with_its_children(make_lab: MakeLab) -> None:
    lab = make_lab(routers=1)
    marker = "987.654321"  # an unusual sleep length: our processes' signature
    command = ["/bin/sh", "-c", f"sleep {marker} & sleep {marker}; true"]
    check = {"type": "exec", "command": command, "interval": 0.5, "timeout": 0.5}
    track = [{"check": "hang", "weight": 0}]
    node = Node(lab, "r1", [dict(router(VRID, 150), track=track)], checks={"hang": check})
    node.start()

    def timed_out_runs() -> bool:
        rows = node.status() if node.states() else []
        detail = rows[0]["tracks"][0]["detail"] if rows else None
        return detail is not None and "timed out" in detail

    wait_until(timed_out_runs, TIMEOUT, what="the check to time out")
    assert node.state(VRID) == "FAULT"
    # A run that timed out left nothing: only the run in flight may have processes.
    assert len(lingering(marker)) <= 3  # its sh and two sleeps at most
    node.stop()
    wait_until(lambda: not lingering(marker), TIMEOUT, what="no process of the check left")


def test_a_slow_hook_sees_every_event_in_order_and_never_twice_at_once(
    make_lab: MakeLab,
) -> None:
    lab = make_lab(routers=2)
    out, busy = lab.path("events"), lab.path("busy")
    hook = lab.path("hook")
    hook.write_text(
        "#!/bin/sh\n"
        f"[ -e {busy} ] && echo OVERLAP >> {out}\n"
        f"touch {busy}\nsleep 2\n"
        f'echo "$FAILOVER_SEQ $3 $FAILOVER_OLD_STATE" >> {out}\n'
        f"rm -f {busy}\n"
    )
    hook.chmod(0o755)
    r1 = Node(lab, "r1", [dict(router(VRID, 150), notify=[str(hook)])]).start()
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master")
    lab.cut(r1.host)  # MASTER -> FAULT, then back: several events within seconds
    wait_until(lambda: r1.state(VRID) == "FAULT", TIMEOUT, what="r1 in FAULT")
    lab.heal(r1.host)
    wait_until(lambda: r1.state(VRID) == "MASTER", TIMEOUT, what="r1 master again")
    r1.stop()  # STOP: the daemon waits for its hook's queue
    lines = out.read_text().splitlines()
    assert "OVERLAP" not in lines
    states = [line.split()[1] for line in lines]
    seqs = [int(line.split()[0]) for line in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert states[:2] == ["BACKUP", "MASTER"] and states[-1] == "STOP"
    assert "FAULT" in states[2:-1]


def test_a_sync_group_moves_both_vips_when_one_link_is_cut(make_lab: MakeLab) -> None:
    # A firewall pair: inside on eth0 (192.0.2.0/24), outside on eth1 (198.51.100.0/24).
    lab = make_lab(routers=2, lans=2)
    outside_vip = "198.51.100.254/24"
    groups = [{"name": "fw", "routers": ["inside", "outside"]}]

    def pair(priority: int) -> list[dict[str, object]]:
        return [
            router(51, priority, name="inside"),
            router(52, priority, name="outside", interface="eth1", vips=[outside_vip]),
        ]

    r1 = Node(lab, "r1", pair(150), sync_groups=groups).start()
    wait_until(lambda: r1.states() == {51: "MASTER", 52: "MASTER"}, TIMEOUT, what="r1 master")
    r2 = Node(lab, "r2", pair(100), sync_groups=groups).start()
    wait_until(lambda: r2.states() == {51: "BACKUP", 52: "BACKUP"}, TIMEOUT, what="r2 backup")

    lab.cut(r1.host, lan=1)  # only the outside link
    wait_until(lambda: r2.states() == {51: "MASTER", 52: "MASTER"}, TIMEOUT,
               what="r2 master of both")  # fmt: skip
    assert r1.states() == {51: "FAULT", 52: "FAULT"}
    inside = next(r for r in r1.status() if r["vrid"] == 51)
    assert inside["faults"] == ["sync group fw: outside in FAULT"]
    assert [h.name for h in lab.holders(DEFAULT_VIP)] == ["r2"]  # the inside VIP moved too

    lab.heal(r1.host, lan=1)
    wait_until(lambda: r1.states() == {51: "MASTER", 52: "MASTER"}, TIMEOUT,
               what="r1 master of both again")  # fmt: skip
    wait_until(lambda: r2.states() == {51: "BACKUP", 52: "BACKUP"}, TIMEOUT, what="r2 backup")
