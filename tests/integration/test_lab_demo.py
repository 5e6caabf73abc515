"""`failover lab`, the first thing a newcomer runs: real namespaces, real daemons.

The demo must cut the highest-priority router, whatever order the daemons come up in,
report an outage within the protocol bound, exit 0 and leave nothing behind.
"""

from __future__ import annotations

import re
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from failover.lab import Lab, unavailable, wait_until
from failover.lab import demo as demo_module
from failover.lab.demo import INTERVAL, priority, run_demo
from failover.lab.netns import names
from failover.lab.nodes import Node, failover_argv, router
from failover.protocol.router import master_down_interval
from tests.support import require

pytestmark = pytest.mark.root
RUN_TIMEOUT = 240.0
# The gap starts at the client's last reply before the cut, the heir's timer at the last
# advert it heard (up to a ping period later); then the VIP, the gratuitous ARP and a
# busy CI machine's scheduling. Generous, as in test_failover.py.
SLACK = 1.0


@dataclass(frozen=True)
class Report:
    """What the demo printed, parsed."""

    prefix: str
    priorities: dict[str, int]
    converged: str
    cut: str
    heir: str
    outage: float
    lost: int
    sent: int
    bound: float


def _one(pattern: str, text: str) -> re.Match[str]:
    found = re.findall(pattern, text, re.MULTILINE)
    assert len(found) == 1, f"expected one line matching {pattern!r} in:\n{text}"
    match = re.search(pattern, text, re.MULTILINE)
    assert match is not None
    return match


def parse(out: str) -> Report:
    outage = _one(
        r"client outage ([\d.]+)s \((-?\d+) of (\d+) pings lost\); protocol bound ([\d.]+)s",
        out,
    )
    return Report(
        prefix=_one(r"built a LAN in network namespaces (fo-[0-9]+-[a-z0-9]+-)\*", out)[1],
        priorities={
            h: int(p) for h, p in re.findall(r"^  (r\d+) +\S+ +priority (\d+)$", out, re.M)
        },
        converged=_one(r"converged: (r\d+) is MASTER", out)[1],
        cut=_one(r"cutting (r\d+) off the LAN", out)[1],
        heir=_one(r"(r\d+) took over", out)[1],
        outage=float(outage[1]),
        lost=int(outage[2]),
        sent=int(outage[3]),
        bound=float(outage[4]),
    )


def check(out: str, routers: int) -> Report:
    """The demo's story holds: right master cut, sane outage, clean end."""
    report = parse(out)
    ranked = sorted(report.priorities, key=report.priorities.__getitem__, reverse=True)
    assert len(ranked) == routers
    assert report.converged == report.cut == ranked[0], out
    assert report.heir == ranked[1], out
    assert report.bound == pytest.approx(
        master_down_interval(report.priorities[report.heir], INTERVAL), abs=0.001
    )
    # cutting the master costs the client pings; cutting a backup (the old bug) did not
    assert 0 < report.lost <= report.sent, out
    assert report.outage <= report.bound + SLACK, out
    assert out.rstrip().endswith("done: nothing left behind"), out
    assert not [n for n in names() if n.startswith(report.prefix)]
    assert not list(Path(tempfile.gettempdir()).glob(report.prefix + "*"))
    return report


@pytest.mark.parametrize(
    ("routers", "flags"), [(2, []), (3, []), (2, ["--ipv6"])], ids=["2", "3", "ipv6"]
)
def test_failover_lab_command(routers: int, flags: list[str]) -> None:
    """`failover lab --routers N [--ipv6]` as a user runs it."""
    require(unavailable() is None, f"needs network namespaces: {unavailable()}")
    argv = failover_argv("lab", "--routers", str(routers), *flags)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the lab tears itself down on SIGTERM
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"`failover lab` still running after {RUN_TIMEOUT:g}s:\n{out}")
    assert proc.returncode == 0, out
    check(out, routers)
    if flags:  # the IPv6 walk-through: v3, IPv6 addresses only, pinged with ICMPv6
        assert "VRRPv3" in out and "pings the virtual IP 2001:db8::100/64" in out, out
        assert "r2 took over: it is MASTER and holds 2001:db8::100" in out, out


def lowest_first(
    lab: Lab, priorities: Sequence[int], vrid: int = 51, log_level: str = "info", **kw: Any
) -> list[Node]:
    """Like nodes.group, but the lowest-priority router starts alone and becomes master
    before the others start: the race the demo once lost (RFC 3768 6.4.2, it is correct
    for a lower-priority router to be master until the highest one preempts)."""
    hosts = lab.routers[: len(priorities)]
    nodes = [
        Node(lab, h, [router(vrid, p, **kw)], log_level)
        for h, p in zip(hosts, priorities, strict=True)
    ]
    first = min(nodes, key=priority)
    first.start()
    wait_until(lambda: first.state(vrid) == "MASTER", 30, what=f"{first.host.name} master")
    for node in nodes:
        if node is not first:
            node.start()
    return nodes


def test_demo_when_a_lower_priority_router_is_master_first(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require(unavailable() is None, f"needs network namespaces: {unavailable()}")
    monkeypatch.setattr(demo_module, "group", lowest_first)
    assert run_demo(3) == 0
    report = check(capsys.readouterr().out, 3)
    assert report.cut == "r1"
