"""Client outage when the master's service fails, per kind of check, next to keepalived.

Each router runs a web service (`python3 -m http.server` on port 8080) and tracks it;
the client GETs http://VIP:8080/ every 10 ms, so the outage is what a web client of
the VIP meets (a ping would still be answered by a master whose service is down). The
master (priority 150) meets the failure, the backup (100) takes over. Checks every 1 s,
fall 1, rise 1, timeout 1 s, for both implementations:

| kind | failover | keepalived (same run) | the failure |
|---|---|---|---|
| exec | `exec`: curl -fs URL | vrrp_script: the same curl | the service stops |
| tcp  | `tcp` 127.0.0.1:8080 | vrrp_script: bash's /dev/tcp | the service stops |
| http | `http` GET URL (built in) | vrrp_script: curl -fs URL | the service stops |
| file | `file` (drain file) | track_file, the same file | 1 written to it (a drain) |

Two ways each: weight -100 (the master's priority drops to 50, the backup preempts when
its Master_Down_Interval runs out; bound: interval + 3.609 s) and weight 0 (FAULT: the
master sends priority 0, the backup takes over after Skew_Time; bound: interval +
0.609 s). A drain leaves the service up, so its outage is the handoff alone. Median of
--runs fresh labs per row, both implementations in the same run. Needs root.

    .venv/bin/python bench/check_outage.py --runs 5 [--kinds exec,tcp,http,file]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from failover.lab.lab import DEFAULT_VIP, Host, Lab
from failover.lab.nodes import Node, router
from failover.lab.procs import Proc
from failover.lab.wait import wait_until
from failover.protocol.router import master_down_interval, skew_time
from tests.interop.peers import Instance, KeepalivedPeer

VRID = 51
INTERVAL = 1.0  # seconds between check runs, both implementations
PORT = 8080
LOCAL_URL = f"http://127.0.0.1:{PORT}/"
CURL = ["/usr/bin/curl", "-fs", "-o", "/dev/null", "--max-time", "1", LOCAL_URL]
TCP_SCRIPT = f"/usr/bin/bash -c '</dev/tcp/127.0.0.1/{PORT}'"


class Peer(Protocol):
    host: Host

    def start(self) -> object: ...
    def state(self, vrid: int) -> str | None: ...


@dataclass
class Site:
    """One router's service: the web server, and the drain file."""

    lab: Lab
    host: str
    drain: Path
    web: Proc | None = None

    def serve(self) -> None:
        argv = [sys.executable, "-m", "http.server", "--bind", "0.0.0.0", str(PORT)]
        self.web = self.lab.start(self.host, argv, name=f"{self.host}-web")
        url = f"http://{self.lab.host(self.host).ip}:{PORT}/"
        wait_until(lambda: self.lab.run(self.host, [*CURL[:-1], url], check=False).returncode == 0,
                   30, what=f"{self.host}'s web service")  # fmt: skip

    def stop(self) -> None:
        if self.web is not None:
            self.web.stop()

    def set_drain(self) -> None:
        self.drain.write_text("1\n")


@dataclass(frozen=True)
class Kind:
    check: Callable[[Site], dict[str, Any]]  # failover's check
    keepalived: Callable[[Site], dict[str, Any]]  # keepalived's Instance arguments
    fail: Callable[[Site], None]


KINDS = {
    "exec": Kind(
        lambda s: {"type": "exec", "command": CURL},
        lambda s: {"track_script": " ".join(CURL)},
        Site.stop,
    ),
    "tcp": Kind(
        lambda s: {"type": "tcp", "host": "127.0.0.1", "port": PORT},
        lambda s: {"track_script": TCP_SCRIPT},
        Site.stop,
    ),
    "http": Kind(
        lambda s: {"type": "http", "url": LOCAL_URL},
        lambda s: {"track_script": " ".join(CURL)},
        Site.stop,
    ),
    "file": Kind(
        lambda s: {"type": "file", "path": str(s.drain)},
        lambda s: {"track_file": str(s.drain)},
        Site.set_drain,
    ),
}


def make_peer(impl: str, kind: Kind, site: Site, priority: int, weight: int) -> Peer:
    if impl == "failover":
        check = {**kind.check(site), "interval": INTERVAL, "timeout": 1.0}
        vr = dict(router(VRID, priority), track=[{"check": "svc", "weight": weight}])
        return Node(site.lab, site.host, [vr], checks={"svc": check})
    instance = Instance(VRID, priority, track_weight=weight, **kind.keepalived(site))
    return KeepalivedPeer(site.lab, site.host, [instance])


def one_run(impl: str, kind_name: str, weight: int) -> float:
    """A fresh lab: converge, fail the master's service, the client's longest gap (s)."""
    kind = KINDS[kind_name]
    with Lab(routers=2) as lab:
        sites = [Site(lab, h, lab.path(f"{h}-drain")) for h in ("r1", "r2")]
        for site in sites:
            site.drain.write_text("0\n")
            site.serve()
        master = make_peer(impl, kind, sites[0], 150, weight)
        backup = make_peer(impl, kind, sites[1], 100, weight)
        master.start()
        wait_until(lambda: master.state(VRID) == "MASTER", 30, what="r1 master")
        backup.start()
        wait_until(lambda: backup.state(VRID) == "BACKUP", 30, what="r2 backup")
        client = lab.http(DEFAULT_VIP.ip, PORT, period=0.01)
        outage = client.measure(lambda: kind.fail(sites[0]), lambda: backup.state(VRID) == "MASTER")
        return outage.longest_gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated")
    parser.add_argument("--weights", default="-100,0", help="comma-separated")
    args = parser.parse_args()
    bounds = {-100: INTERVAL + master_down_interval(100, 1), 0: INTERVAL + skew_time(100)}
    print("| kind | weight | implementation | median | min | max | bound |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        for weight in (int(w) for w in args.weights.split(",")):
            for impl in ("failover", "keepalived"):
                gaps = [one_run(impl, kind, weight) for _ in range(args.runs)]
                print(
                    f"| {kind} | {weight} | {impl} | {statistics.median(gaps):.3f} s "
                    f"| {min(gaps):.3f} s | {max(gaps):.3f} s | {bounds[weight]:.3f} s |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
