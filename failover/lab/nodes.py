"""failover daemons on lab hosts: config files, start/stop/kill, state over the control socket."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Interface, IPv6Interface
from typing import Any

from failover.lab.lab import DEFAULT_VIP, LANS, Host, Lab
from failover.lab.procs import Service

RouterJson = dict[str, Any]


def failover_argv(*args: str) -> list[str]:
    """The `failover` command as this interpreter runs it (works in a venv without PATH)."""
    return [sys.executable, "-m", "failover", *args]


def router(
    vrid: int,
    priority: int = 100,
    *,
    interface: str = LANS[0].ifname,
    vips: Sequence[IPv4Interface | IPv6Interface | str] = (DEFAULT_VIP,),
    interval: float = 1,
    preempt: bool = True,
    name: str | None = None,
    **extra: Any,
) -> RouterJson:
    """One virtual router in the original failover's JSON format.

    `extra` keys go into the router's object as they are (e.g. version=3,
    unicast_peers=[...], use_vmac=True): the lab does not judge the daemon's schema.
    """
    return {
        "name": name or f"VR_{vrid}",
        "vrid": vrid,
        "interface_name": interface,
        "ip_addresses": [str(v) for v in vips],
        "priority": priority,
        "advert_interval": interval,
        "preempt_mode": preempt,
        **extra,
    }


class Node(Service):
    """A failover daemon on a lab host, with its own config file and control socket."""

    what = "the failover daemon"

    def __init__(
        self,
        lab: Lab,
        host: Host | str,
        routers: Iterable[RouterJson],
        log_level: str = "info",
        env: Mapping[str, str] | None = None,
        **top: Any,
    ) -> None:
        """`top`: object-form keys beside the routers (checks, sync_groups, ...);
        `env`: variables added to the daemon's environment (e.g. NOTIFY_SOCKET).

        Each router object is written as given, keys the lab does not know included.
        """
        self.lab = lab
        self.host = lab.host(host)
        self.host_name = self.host.name
        self.routers = list(routers)
        self.log_level = log_level
        self.env = env
        self.config_path = lab.path(f"{self.host.name}-vrrp-config.json")
        self.socket_path = str(lab.path(f"{self.host.name}.sock"))
        data: Any = {"virtual_routers": self.routers, **top} if top else self.routers
        self.config_path.write_text(json.dumps(data, indent=2) + "\n")

    def __repr__(self) -> str:
        return f"Node({self.host.name}, {self.proc!r})"

    def start(self) -> Node:
        """Start (or restart) the daemon; a fresh log file per start."""
        argv = failover_argv(
            "run", "--config", str(self.config_path), "--control-socket", self.socket_path,
            "--log-level", self.log_level,
        )  # fmt: skip
        self.proc = self.lab.start(self.host, argv, name=f"{self.host.name}-failover", env=self.env)
        return self

    def status(self) -> list[dict[str, Any]]:
        """Each router's status from the daemon (raises ControlError if it does not answer)."""
        from failover.control import ControlError, request

        reply = request(self.socket_path, {"command": "status"}, timeout=2.0)
        if not reply.get("ok"):
            raise ControlError(str(reply.get("error")))
        routers: list[dict[str, Any]] = reply["routers"]
        return routers

    def states(self) -> dict[int, str]:
        """vrid -> state; empty if the daemon does not answer (yet, or any more)."""
        from failover.control import ControlError

        try:
            return {r["vrid"]: r["state"] for r in self.status()}
        except ControlError:
            return {}

    def state(self, vrid: int) -> str | None:
        return self.states().get(vrid)


def masters(nodes: Iterable[Node], vrid: int) -> list[Node]:
    """The nodes whose router `vrid` is MASTER."""
    return [n for n in nodes if n.state(vrid) == "MASTER"]


def converged(nodes: Sequence[Node], vrid: int) -> Node | None:
    """The single master of `vrid` if every other node is BACKUP, else None."""
    states = [n.state(vrid) for n in nodes]
    if states.count("MASTER") == 1 and states.count("BACKUP") == len(nodes) - 1:
        return nodes[states.index("MASTER")]
    return None


def group(
    lab: Lab, priorities: Sequence[int], vrid: int = 51, log_level: str = "info", **kw: Any
) -> list[Node]:
    """Start one daemon per router (r1, r2, ...) with one virtual router `vrid` each.

    `priorities[i]` is ri's priority; `kw` goes to `router()` (vips, interval, preempt).
    """
    hosts = lab.routers[: len(priorities)]
    return [
        Node(lab, h, [router(vrid, p, **kw)], log_level).start()
        for h, p in zip(hosts, priorities, strict=True)
    ]
